"""Defaults that work on a CPU: early sample snapshots (that leave training exactly as it
was), one thread, and fast MLP image networks for every engine's plain defaults."""
import dataclasses

import numpy as np
import pytest
import torch

from engines import OptimConfig, engine_names, get_engine
from studio.core.config import RunSection, config_from_dict, default_config
from studio.core.training import EARLY_SNAPSHOTS, Callbacks, Trainer, is_snapshot_step


def _steps(sample_every, upto):
    return [s for s in range(1, upto + 1) if is_snapshot_step(s, sample_every)]


def test_snapshot_schedule():
    assert _steps(500, 1000) == [10, 25, 50, 100, 200, 500, 1000]
    assert _steps(20, 60) == [10, 20, 40, 60]
    assert _steps(10, 30) == [10, 20, 30]            # nothing early left to add
    assert _steps(1, 3) == [1, 2, 3]
    assert EARLY_SNAPSHOTS[0] == 10


def _mnist(steps, **run):
    return config_from_dict({
        "run": {"seed": 4, "steps": steps, "batch_size": 16, "log_every": 5,
                "sample_every": 100, "checkpoint_every": 100, "preview_samples": 9,
                "device": "cpu", **run},
        "data": {"name": "mnist", "limit": 256},
        "model": {"engine": "vae", "latent_dim": 4, "hidden": 32},
    })


def test_a_new_run_shows_samples_early_and_resumes_bit_exact(tmp_path):
    """Snapshots at 10, 25 and 50 before sample_every = 100; a run stopped at 30 and resumed
    ends with the same weights, and the same step-50 picture, as one that went straight."""
    cfg = _mnist(60)
    straight = Trainer.create(cfg, tmp_path / "straight")
    seen = []
    straight.train(callbacks=Callbacks(samples=lambda s, x: seen.append(s)))
    assert seen == [10, 25, 50, 60]
    assert [s for s, _ in straight.run.snapshots()] == [10, 25, 50, 60]

    first = Trainer.create(cfg, tmp_path / "split")
    first.train(until=30)
    del first
    second = Trainer.resume(tmp_path / "split")
    second.train()
    a, b = straight.engine.state_dict(), second.engine.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    shots = dict(second.run.snapshots())
    assert sorted(shots) == [10, 25, 30, 50, 60]
    assert shots[50].read_bytes() == dict(straight.run.snapshots())[50].read_bytes()


def test_run_defaults():
    r = RunSection()
    assert r.threads == 1 and r.sample_every == 500 and r.steps == 5000
    assert OptimConfig().beta1 == 0.5


@pytest.mark.parametrize("engine", engine_names())
def test_image_defaults_are_mlps_or_small(engine):
    cfg = get_engine(engine).Config()
    if any(f.name == "arch" for f in dataclasses.fields(cfg)):
        assert cfg.arch == "mlp"
    if engine == "ddpm":
        assert cfg.patch * cfg.patch >= 4


@pytest.mark.parametrize("data", ["mnist", "ring8"])
@pytest.mark.parametrize("engine", engine_names())
def test_every_default_shows_a_first_snapshot_at_step_10(engine, data, tmp_path):
    if "translate" in get_engine(engine).capabilities:      # translators: two-sided images
        if data == "ring8":
            pytest.skip(f"{engine} translates images between the two sides of a data set")
        data = get_engine(engine).default_data
        assert default_config(engine).data_name == data
    cfg = default_config(engine, data).replace(
        data={"limit": 512} if data.startswith("mnist") else {"n": 512, "n_test": 128},
        run={"batch_size": 32, "device": "cpu"})
    t = Trainer.create(cfg, tmp_path / "run")
    got = []
    t.train(until=10, callbacks=Callbacks(samples=lambda s, x: got.append((s, x))))
    assert [s for s, _ in got] == [10] and t.threads == 1
    assert np.isfinite(got[0][1]).all()
