"""`genstudio train|sample|eval`: the headless path, end to end."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.cli import main
from studio.core.runs import Run

from .helpers import tiny_mnist_config, tiny_points_config

ROOT = Path(__file__).resolve().parents[2]


def _write(cfg, path):
    path.write_text(cfg.to_toml())
    return path


def test_train_sample_eval_images(tmp_path, capsys):
    cfg = _write(tiny_mnist_config("vae", steps=20), tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert Run.open(tmp_path / "run").status()["state"] == "finished"

    assert main(["sample", str(tmp_path / "run"), "--n", "6", "--out", str(tmp_path / "s"),
                 "--seed", "3"]) == 0
    x = np.load(tmp_path / "s.npy", allow_pickle=False)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    png = Image.open(tmp_path / "s.png")
    assert png.text["engine"] == "vae" and png.text["step"] == "20" and png.text["seed"] == "3"
    assert len(png.text["checkpoint_sha256"]) == 64
    # same seed, same samples
    main(["sample", str(tmp_path / "run"), "--n", "6", "--out", str(tmp_path / "t.npy"), "--seed", "3"])
    assert np.array_equal(np.load(tmp_path / "t.npy"), x)

    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run"), "--n", "300", "--iwae-k", "4", "--iwae-n", "50",
                 "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["step"] == 20 and out["test_examples"] == 10000 and out["n"] == 300
    assert out["test/elbo"] < 0 and out["test/recon"] > 0 and out["test/kl"] >= 0
    assert out["likelihood/iwae_k4"] >= out["likelihood/elbo_k1"] - 1.0
    for key in ("quality/fd", "quality/fd_floor", "quality/precision", "quality/recall",
                "quality/classifier_score", "quality/classifier_score_real", "coverage/classes"):
        assert key in out
    assert out["quality/fd"] > out["quality/fd_floor"]     # 20 steps is far from real data
    assert Run.open(tmp_path / "run").read_evaluations()[-1]["quality/fd"] == out["quality/fd"]


def test_eval_of_a_2d_mixture_reports_the_pacgan_protocol(tmp_path, capsys):
    cfg = _write(tiny_points_config("vae", steps=20), tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run"), "--iwae-k", "0", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["modes/total"] == 8 and out["modes/samples"] == 2500
    assert 0 <= out["modes/captured"] <= 8 and 0 <= out["modes/high_quality"] <= 1


def test_sample_points_gives_data_coordinates(tmp_path):
    cfg = _write(tiny_points_config("ae", steps=20), tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert main(["sample", str(tmp_path / "run"), "--n", "50", "--out", str(tmp_path / "p")]) == 0
    x = np.load(tmp_path / "p.npy")
    assert x.shape == (50, 2) and x.dtype == np.float32 and np.isfinite(x).all()
    assert np.asarray(Image.open(tmp_path / "p.png")).shape[:2] == (512, 512)


def test_resume_and_steps_override(tmp_path):
    cfg = _write(tiny_points_config("vae", steps=10), tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "25", "--quiet"]) == 0
    run = Run.open(tmp_path / "run")
    assert run.load_checkpoint().step == 25
    assert run.config().run.steps == 25


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nengine = 'vae'\nlatent_dimm = 3\n")
    assert main(["train", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "model.latent_dimm" in err and "latent_dim" in err and "Traceback" not in err
    assert main(["sample", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "missing.toml")]) == 2
    # a structural change on resume is refused, naming the key
    cfg = _write(tiny_points_config("vae", steps=5), tmp_path / "c.toml")
    main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"])
    changed = _write(tiny_points_config("vae", steps=5, latent_dim=5), tmp_path / "d.toml")
    capsys.readouterr()
    assert main(["train", str(changed), "--resume", str(tmp_path / "run")]) == 2
    assert "model.latent_dim" in capsys.readouterr().err


def test_ctrl_c_saves_and_exits_cleanly(tmp_path):
    cfg = _write(tiny_points_config("vae", steps=10 ** 7), tmp_path / "c.toml")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "studio.core.cli", "train", str(cfg), "--out",
                             str(tmp_path / "run")], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:          # wait for the first progress line: training runs
            if line.startswith("step "):
                break
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, rest
    assert "interrupted; saved at step" in rest and "Traceback" not in rest
    run = Run.open(tmp_path / "run")
    assert run.status()["state"] == "stopped"
    step = run.load_checkpoint().step
    assert 0 < step < 10 ** 7


GAN_TINY = {
    "run": {"seed": 0, "steps": 6, "batch_size": 16, "log_every": 3, "sample_every": 6,
            "checkpoint_every": 6, "preview_samples": 10, "device": "cpu"},
    "data": {"name": "mnist", "limit": 256},
    "model": {"engine": "gan", "arch": "mlp", "latent_dim": 8, "g_hidden": 32, "d_hidden": 32,
              "conditional": True},
    "optim": {"lr": 2e-4, "beta1": 0.5},
}


def test_sample_every_gan_run_and_labels_for_conditional_ones(tmp_path, capsys):
    """`genstudio sample` on a conditional GAN with --label, on an unconditional GAN, and the
    messages for a label out of range and for --label on a model without classes."""
    from studio.core.config import config_from_dict
    cfg = _write(config_from_dict(GAN_TINY), tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "cgan"), "--quiet"]) == 0
    assert main(["sample", str(tmp_path / "cgan"), "--n", "5", "--label", "7",
                 "--out", str(tmp_path / "sevens")]) == 0
    x = np.load(tmp_path / "sevens.npy")
    assert x.shape == (5, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "cgan"), "--n", "5", "--label", "10",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "classes 0..9" in capsys.readouterr().err

    plain = {**GAN_TINY, "data": {"name": "ring8", "n": 256, "n_test": 64},
             "model": {"engine": "gan", "g_hidden": 16, "d_hidden": 16}}
    cfg = _write(config_from_dict(plain), tmp_path / "p.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "gan"), "--quiet"]) == 0
    assert main(["sample", str(tmp_path / "gan"), "--n", "40", "--out", str(tmp_path / "pts")]) == 0
    assert np.load(tmp_path / "pts.npy").shape == (40, 2)
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "gan"), "--n", "4", "--label", "1",
                 "--out", str(tmp_path / "x")]) == 2
    assert "not class-conditional" in capsys.readouterr().err


def test_headless_training_keeps_the_mode_collapse_history(tmp_path):
    """`genstudio train` on images scores every snapshot as the studio's Modes panel does, so
    the run opens in the studio with its history; a resume cuts it back to the checkpoint."""
    from studio.core.mode_monitor import history_path, read_history
    cfg = _write(tiny_mnist_config("vae", steps=20), tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    recs = read_history(history_path(tmp_path / "run"))
    assert [r.step for r in recs] == [10, 20]
    assert recs[0].num_classes == 10 and 0 <= recs[-1].classes_covered <= 10
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "30", "--quiet"]) == 0
    assert [r.step for r in read_history(history_path(tmp_path / "run"))] == [10, 20, 30]
