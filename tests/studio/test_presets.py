"""Presets: every examples/*.toml is listed with a one-line description and loads as a
valid config; the folder is found from the package."""
from pathlib import Path

import pytest

import studio
from studio.core import presets
from studio.core.config import ConfigError, RunConfig

EXAMPLES = Path(studio.__file__).resolve().parents[1] / "examples"


def test_examples_folder_is_found_from_the_package():
    assert presets.examples_dir() == EXAMPLES and EXAMPLES.is_dir()


def test_every_example_is_listed_with_a_one_line_description():
    listed = presets.list_presets()
    assert [p.name for p in listed] == sorted(p.stem for p in EXAMPLES.glob("*.toml"))
    for p in listed:
        first = p.path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), p.name
        assert p.description == first[2:].strip()
        assert 20 <= len(p.description) <= 110, (p.name, len(p.description))
        assert p.description.endswith("."), p.name


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.toml")))
def test_every_example_loads_and_validates(name):
    preset = presets.find_preset(name)
    config = presets.load_preset(name)
    assert isinstance(config, RunConfig)
    assert (config.engine, config.data_name) == (preset.engine, preset.data)
    assert config.to_dict() == preset.config().to_dict()


def test_filters_by_engine_and_data():
    gans = presets.list_presets(engine="gan")
    assert gans and all(p.engine == "gan" for p in gans)
    ring = presets.list_presets(engine="gan", data="ring8")
    assert {p.name for p in ring} >= {"gan-ring8-vanilla", "gan-ring8-unrolled"}
    assert presets.list_presets(engine="nope") == []


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match="unknown preset 'nope'.*vae-mnist"):
        presets.load_preset("nope")
    with pytest.raises(ConfigError, match="unknown preset"):
        presets.load_preset("../pyproject")


def test_starter_presets_exist_and_match_their_engine_and_data():
    for (engine, data), name in presets.STARTERS.items():
        p = presets.starter_preset(engine, data)
        assert p is not None and p.name == name and (p.engine, p.data) == (engine, data)
    assert presets.starter_preset("vae", "folder") is None


def test_other_folder_and_bad_files(tmp_path, monkeypatch):
    (tmp_path / "good.toml").write_text('# A good one.\n[model]\nengine = "vae"\n')
    (tmp_path / "broken.toml").write_text("[model\n")
    (tmp_path / "bad.toml").write_text('# Bad value.\n[model]\nengine = "vae"\nlatent_dim = -1\n')
    monkeypatch.setenv("GENSTUDIO_EXAMPLES_DIR", str(tmp_path))
    assert [p.name for p in presets.list_presets()] == ["bad", "good"]   # unreadable left out
    assert presets.find_preset("good").description == "A good one."
    assert presets.find_preset("good").data == "mnist"
    with pytest.raises(ConfigError, match="latent_dim"):
        presets.load_preset("bad")
    monkeypatch.setenv("GENSTUDIO_EXAMPLES_DIR", str(tmp_path / "absent"))
    assert presets.list_presets() == []


def test_description_of():
    assert presets.description_of("\ufeff#  Hello there.\n# more\n") == "Hello there."
    assert presets.description_of("[run]\n# not first\n") == ""
