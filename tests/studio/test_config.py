import pytest

from studio.core.config import ConfigError, config_from_dict, default_config, parse_config, structural_changes

GOOD = """
[run]
seed = 3
steps = 10
[data]
name = "ring8"
[model]
engine = "vae"
latent_dim = 2
decoder = "gaussian"
[optim]
lr = 0.002
"""


def test_round_trip_through_toml():
    cfg = parse_config(GOOD)
    assert cfg.run.seed == 3 and cfg.engine == "vae" and cfg.optim.lr == 0.002
    again = parse_config(cfg.to_toml())
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize("text, must_name", [
    ("[run]\nsteps = 10\nstpes = 3\n[model]\nengine='ae'", ["run.stpes", "steps", "did you mean"]),
    ("[model]\nengine = 'vea'", ["model.engine", "vae", "ae"]),
    ("[model]\nengine = 'vae'\ndecoder = 'poisson'", ["model.decoder", "'bernoulli'", "'gaussian'"]),
    ("[run]\ndevice = 'tpu'\n[model]\nengine='ae'", ["run.device", "'cpu'", "'cuda'", "'mps'"]),
    ("[run]\nsteps = -5\n[model]\nengine='ae'", ["run.steps", "allowed 1 to"]),
    ("[run]\nsteps = 'many'\n[model]\nengine='ae'", ["run.steps", "whole number"]),
    ("[optim]\nlr = true\n[model]\nengine='ae'", ["optim.lr", "number"]),
    ("[data]\nname = 'cifar'\n[model]\nengine='ae'", ["data.name", "mnist", "ring8"]),
    ("[modle]\nengine='ae'", ["[modle]", "[model]"]),
    ("[model]\nlatent_dim = 4", ["model.engine", "missing"]),
    ("[model\nengine='ae'", ["not valid TOML"]),
])
def test_bad_configs_name_the_key_and_the_choices(text, must_name):
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    for piece in must_name:
        assert piece in str(err.value)


def test_int_accepted_where_float_expected():
    cfg = config_from_dict({"model": {"engine": "ae"}, "optim": {"lr": 1}})
    assert isinstance(cfg.optim.lr, float)


def test_structural_changes_ignore_live_values():
    a = default_config("vae", "mnist")
    b = a.replace(optim={"lr": 0.1}, run={"steps": 99})
    assert structural_changes(a, b) == []
    c = a.replace(model={"latent_dim": a.model.latent_dim + 1})
    assert structural_changes(a, c) == ["model.latent_dim"]


def test_every_example_config_is_valid():
    from pathlib import Path
    from studio.core.config import load_config
    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))
    assert {p.stem.split("-")[0] for p in examples} >= {"ae", "vae"}
    for p in examples:
        load_config(p)


def test_live_keys_come_from_the_structural_metadata():
    """One live-parameter path: the fields marked structural=False, split by when they take
    effect; threads applies when the run is next opened, not mid-run."""
    from studio.core.config import default_config, live_keys, structural_changes
    cfg = default_config("vae", "mnist")
    step = live_keys(cfg, applies="step")
    assert {("optim", "lr"), ("run", "steps"), ("run", "log_every"), ("model", "beta")} <= step
    assert ("run", "seed") not in live_keys(cfg) and ("model", "latent_dim") not in live_keys(cfg)
    assert live_keys(cfg, applies="reopen") == {("run", "threads"), ("run", "precision")}
    assert structural_changes(cfg, cfg.replace(run={"threads": 2})) == []
    assert structural_changes(cfg, cfg.replace(run={"seed": 9})) == ["run.seed"]
