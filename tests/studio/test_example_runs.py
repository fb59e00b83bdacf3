"""The ready-trained runs in assets/runs/: all there, compact, each opens and samples, a copy
resumes training in the user's runs folder, and the build command makes them reproducibly."""
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.core import example_runs
from studio.core.cli import main as cli
from studio.core.evaluation import draw_samples
from studio.core.example_runs import (MAX_TOTAL_BYTES, RECIPES, Recipe, copy_example_run,
                                 folder_bytes, list_example_runs)
from studio.core.presets import find_preset
from studio.core.runs import Run
from studio.core.training import Trainer

SHIPPED = [r.name for r in RECIPES]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_recipe_is_shipped_with_title_description_and_thumbnail():
    runs = list_example_runs()
    assert [r.name for r in runs] == SHIPPED
    for r, recipe in zip(runs, RECIPES):
        assert r.title == recipe.title and r.description == recipe.description
        assert r.thumbnail is not None and r.thumbnail.stat().st_size > 100
        preset = find_preset(recipe.preset)
        assert (r.engine, r.data) == (preset.engine, preset.data)
        assert r.step == Run(r.path).config().run.steps     # trained to the end
        assert Run(r.path).status()["state"] == "finished"


def test_shipped_runs_are_compact():
    total = sum(folder_bytes(r.path) for r in list_example_runs())
    assert 0 < total <= MAX_TOTAL_BYTES, f"{total / 1e6:.1f} MB"
    for r in list_example_runs():
        assert len(Run(r.path).checkpoint_slots()) == 1, r.name


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_run_opens_samples_and_a_copy_resumes(name, tmp_path):
    src = example_runs.example_runs_dir() / name
    before = _digest(src)
    t = Trainer.load(src, device="cpu")
    x = draw_samples(t.engine, 4, seed=0)
    assert np.isfinite(x).all() and len(x) == 4
    assert t.step > 0

    copy = copy_example_run(name, tmp_path / "runs")
    assert copy == tmp_path / "runs" / name
    assert _digest(copy) == before
    assert cli(["sample", str(copy), "--n", "4", "--out", str(tmp_path / "s")]) == 0
    steps = t.step + 2
    resumed = Trainer.resume(copy, Run(copy).config().replace(run={"steps": steps}))
    assert resumed.step == t.step
    assert resumed.train().reason == "finished" and resumed.step == steps
    assert Run(copy).load_checkpoint().step == steps
    assert _digest(src) == before                      # the shipped run never changes


def test_copies_get_free_names_and_unknown_names_are_refused(tmp_path):
    name = SHIPPED[-1]
    a = copy_example_run(name, tmp_path)
    b = copy_example_run(name, tmp_path)
    assert (a.name, b.name) == (name, f"{name}-2")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, f"{name}-2"]   # no temp left
    with pytest.raises(FileNotFoundError, match="no example run 'nope'"):
        copy_example_run("nope", tmp_path)
    with pytest.raises(FileNotFoundError):
        copy_example_run("../runs", tmp_path)


TINY = """# A tiny ring8 GAN for the build test.
[run]
seed = 0
steps = 30
batch_size = 32
log_every = 10
sample_every = 20
checkpoint_every = 10
[data]
name = "ring8"
n = 512
n_test = 256
[model]
engine = "gan"
g_hidden = 16
d_hidden = 16
"""


def test_build_trains_from_the_preset_reproducibly(tmp_path, monkeypatch):
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "tiny.toml").write_text(TINY)
    monkeypatch.setenv("GENSTUDIO_EXAMPLES_DIR", str(examples))
    recipe = Recipe("tiny-run", "tiny", "Tiny", "A tiny run.", {"keep_checkpoints": 1, "threads": 1})
    monkeypatch.setattr(example_runs, "RECIPES", (recipe,))
    made = example_runs.build(out=tmp_path / "a", say=lambda s: None)
    assert made == [tmp_path / "a" / "tiny-run"]
    run = Run(made[0])
    assert run.about() == {"title": "Tiny", "description": "A tiny run."}
    assert (made[0] / "thumbnail.png").is_file() and run.evaluations_path.is_file()
    assert [s.step for s in run.checkpoint_slots()] == [30]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["tiny-run"]   # no temp left
    monkeypatch.setenv("GENSTUDIO_EXAMPLE_RUNS_DIR", str(tmp_path / "a"))
    assert [r.name for r in list_example_runs()] == ["tiny-run"]
    again = example_runs.build(out=tmp_path / "b", say=lambda s: None)[0]
    w = lambda p: Run(p).load_checkpoint().weights
    wa, wb = w(made[0]), w(again)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
