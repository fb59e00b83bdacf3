"""The flow engine through the path a user takes: `genstudio train`, `eval` (exact held-out
bits/dim or nats, beside the sample metrics) and `sample --temperature`; the held-out curve
in metrics.jsonl beside the training loss."""
from __future__ import annotations

import json

import numpy as np
import pytest

from studio.core.cli import main
from studio.core.config import config_from_dict
from studio.core.runs import Run

from .helpers import tiny_mnist_config


def _flow_config(data: dict, steps: int = 12, **model):
    return config_from_dict({
        "run": {"seed": 4, "steps": steps, "batch_size": 16, "log_every": 4, "sample_every": 6,
                "checkpoint_every": 6, "preview_samples": 8, "device": "cpu", "threads": 1},
        "data": data,
        "model": {"engine": "flow", "steps": 2, "hidden": 8, "warmup": 0, **model},
        "optim": {"lr": 1e-3, "beta1": 0.9},
    })


def _train(tmp_path, cfg, name="run"):
    path = tmp_path / f"{name}.toml"
    path.write_text(cfg.to_toml())
    assert main(["train", str(path), "--out", str(tmp_path / name), "--quiet"]) == 0
    return tmp_path / name


def test_flow_on_mnist_trains_evaluates_in_bits_per_dim_and_samples_at_a_temperature(tmp_path, capsys):
    run = _train(tmp_path, _flow_config({"name": "mnist", "limit": 128}, levels=2,
                                        preprocess="logit"))
    records = Run.open(run).read_metrics()
    curve = [r for r in records if "test/bits_per_dim" in r]
    # a held-out point at the first flush of each sample_every window (flushes at 4, 6 (a
    # checkpoint), 8, 12), beside the training loss in bits/dim
    assert [r["step"] for r in curve] == [4, 6, 12]
    assert all(0 < r["test/bits_per_dim"] < 16 and "loss/total" in r for r in curve)

    capsys.readouterr()
    assert main(["eval", str(run), "--n", "200", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 < out["test/bits_per_dim"] < 16
    assert "quality/fd" in out and "test/nll" not in out

    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "cold"),
                 "--temperature", "0"]) == 0
    cold = np.load(tmp_path / "cold.npy")
    assert cold.shape == (4, 1, 28, 28) and np.allclose(cold, cold[0])   # T = 0: the prior means
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "warm"),
                 "--temperature", "1"]) == 0
    warm = np.load(tmp_path / "warm.npy")
    assert not np.allclose(warm[0], warm[1])


def test_flow_on_points_reports_nats_and_the_pacgan_protocol(tmp_path, capsys):
    run = _train(tmp_path, _flow_config({"name": "ring8", "n": 512, "n_test": 256}))
    capsys.readouterr()
    assert main(["eval", str(run), "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.isfinite(out["test/nll"]) and "test/bits_per_dim" not in out
    assert out["modes/total"] == 8


def test_temperature_is_refused_for_engines_without_one(tmp_path, capsys):
    run = _train(tmp_path, tiny_mnist_config("vae", steps=4))
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "s"),
                 "--temperature", "0.5"]) == 2
    assert "no sampling temperature" in capsys.readouterr().err
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("bad", ["-0.1", "2.5", "warm"])
def test_temperature_out_of_range_is_one_clear_line(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as e:
        main(["sample", str(tmp_path), "--n", "2", "--out", str(tmp_path / "s"),
              "--temperature", bad])
    assert e.value.code == 2
    assert "--temperature" in capsys.readouterr().err


def test_levels_too_deep_for_the_images_is_a_config_error(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(_flow_config({"name": "mnist", "limit": 64}, levels=3).to_toml())
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "levels <= 2" in err and not (tmp_path / "run").exists()


def test_mode_monitor_judges_a_flows_own_samples_not_the_tempered_gallery(monkeypatch):
    """The gallery of a flow at T < 1 is less diverse by design; the mode monitor scores the
    same fixed codes at T = 1 (the model's samples), not the tempered grid."""
    from studio.core.mode_monitor import RunMonitor
    from studio.core.training import Trainer
    trainer = Trainer(_flow_config({"name": "mnist", "limit": 64}, steps=2, levels=2,
                                   temperature=0.5))
    trainer.train()
    monitor = RunMonitor(trainer)
    scored = []
    monkeypatch.setattr(monitor, "on_samples", lambda step, s: scored.append(s))
    tempered = trainer.preview()
    monitor.on_snapshot(trainer, trainer.step, tempered)
    own = trainer.engine.sample(len(trainer.eval_z), z=trainer.eval_z).numpy()
    assert np.array_equal(scored[0], own) and not np.allclose(scored[0], tempered)
