"""`genstudio train|sample|eval` as a hostile user drives it: missing or damaged checkpoints,
signals, bad flags and paths, a poisoned run. Each case: one line on stderr, an exit code,
and nothing in the run folder rewritten that should not be."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from studio.core.cli import main
from studio.core.runs import Run
from studio.core.training import NonFiniteLoss, Trainer

from .helpers import tiny_points_config

ROOT = Path(__file__).resolve().parents[2]


def _write(cfg, path):
    path.write_text(cfg.to_toml())
    return path


def _trained(tmp_path, steps=10):
    cfg = _write(tiny_points_config("vae", steps=steps), tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    return tmp_path / "run"


def _files(run_dir):
    return {p.relative_to(run_dir): p.read_bytes() for p in Path(run_dir).rglob("*") if p.is_file()}


@pytest.mark.parametrize("damage", ["missing", "unreadable"])
def test_resume_without_a_usable_checkpoint_refuses_and_changes_nothing(tmp_path, capsys, damage):
    run_dir = _trained(tmp_path)
    ckpts = run_dir / "checkpoints"
    if damage == "missing":
        import shutil
        shutil.rmtree(ckpts)
    else:
        for f in ckpts.rglob("weights.safetensors"):
            f.write_bytes(b"garbage")
    before = _files(run_dir)
    capsys.readouterr()
    cfg = _write(tiny_points_config("vae", steps=30).replace(optim={"lr": 5e-4}), tmp_path / "d.toml")
    assert main(["train", str(cfg), "--resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "Nothing was changed" in err and "--restart" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _files(run_dir) == before          # not config.toml, not metrics.jsonl, nothing
    # asked for explicitly, it trains again from step 0
    assert main(["train", "--resume", str(run_dir), "--restart", "--steps", "12", "--quiet"]) == 0
    run = Run.open(run_dir)
    assert run.load_checkpoint().step == 12
    assert [r["step"] for r in run.read_metrics()] == [5, 10, 12]


def test_resume_falls_back_to_the_previous_checkpoint_and_says_so(tmp_path, capsys):
    cfg = _write(tiny_points_config("vae", steps=40).replace(run={"checkpoint_every": 10}),
                 tmp_path / "c.toml")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    run = Run.open(tmp_path / "run")
    newest = run.checkpoint_slots()[-1].folder
    (newest / "state.pt").write_bytes(b"\0" * 64)          # bit rot in the newest
    capsys.readouterr()
    assert main(["train", "--resume", str(run.path), "--steps", "50", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "step 40" in err and "manifest" in err
    assert run.load_checkpoint().step == 50
    # the damaged one is set aside (kept for inspection), not loaded again, not deleted
    assert (run.checkpoints_dir / ("unusable-" + newest.name)).is_dir()


def test_a_failed_start_leaves_no_run_folder(tmp_path, capsys):
    bad = tiny_points_config("vae", steps=5).to_dict()
    bad["data"] = {"name": "npz", "path": str(tmp_path / "missing.npz")}
    import tomli_w
    (tmp_path / "bad.toml").write_text(tomli_w.dumps(bad))
    out = tmp_path / "runs" / "first"
    assert main(["train", str(tmp_path / "bad.toml"), "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    good = _write(tiny_points_config("vae", steps=5), tmp_path / "good.toml")
    assert main(["train", str(good), "--out", str(out), "--quiet"]) == 0     # same --out works


@pytest.mark.parametrize("argv, words", [
    (["train", "{cfg}", "--device", "cuda"], "not available"),
    (["train", "{cfg}", "--device", "gpu7"], "device"),
    (["train", "{cfg}", "--out", "{file}/run"], "cannot use"),
    (["train", "{cfg}", "--out", "{tmp}/" + "x" * 300], "File name too long"),
    (["sample", "{run}", "--n", "100000000", "--out", "{tmp}/s"], "out of range"),
    (["sample", "{run}", "--n", "-3", "--out", "{tmp}/s"], "out of range"),
    (["sample", "{run}", "--seed", "-1", "--out", "{tmp}/s"], "out of range"),
    (["sample", "{run}", "--seed", str(2 ** 64), "--out", "{tmp}/s"], "out of range"),
    (["sample", "{run}", "--device", "cuda", "--out", "{tmp}/s"], "not available"),
    (["eval", "{run}", "--device", "cuda"], "not available"),
    (["eval", "{run}", "--seed", "abc"], "not a whole number"),
    (["train", "--restart", "{cfg}"], "--restart goes with --resume"),
])
def test_bad_flags_and_paths_are_one_line(tmp_path, capsys, argv, words):
    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run_dir = _trained(tmp_path)
    (tmp_path / "file").write_text("a file, not a folder")
    subs = {"cfg": str(tmp_path / "c.toml"), "run": str(run_dir), "tmp": str(tmp_path),
            "file": str(tmp_path / "file")}
    capsys.readouterr()
    try:
        code = main([a.format(**subs) for a in argv])
    except SystemExit as e:                  # argparse's own one-line refusal
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in err and "Traceback" not in err
    assert [l for l in err.splitlines() if "error" in l][0]


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception):
        main(["--debug", "sample", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])


def test_sample_refuses_more_than_memory_allows_before_drawing(tmp_path, capsys, monkeypatch):
    from studio.core import cli
    run_dir = _trained(tmp_path)
    monkeypatch.setattr(cli, "MAX_SAMPLE_BYTES", 4 * 2 * 1000)      # 1,000 2D points
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--n", "1001", "--out", str(tmp_path / "s")]) == 2
    assert "at most 1,000" in capsys.readouterr().err
    assert not (tmp_path / "s.npy").exists()
    assert main(["sample", str(run_dir), "--n", "1000", "--out", str(tmp_path / "s")]) == 0


def _train_subprocess(tmp_path):
    cfg = _write(tiny_points_config("vae", steps=10 ** 7), tmp_path / "c.toml")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "studio.core.cli", "train", str(cfg), "--out",
                             str(tmp_path / "run")], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:          # wait for the first progress line: training runs
        if line.startswith("step "):
            break
    return proc


@pytest.mark.parametrize("signals", [("SIGTERM",), ("SIGHUP",), ("SIGINT", "SIGINT")])
def test_signals_save_and_leave_a_final_status(tmp_path, signals):
    """SIGTERM and SIGHUP stop like Ctrl-C (save, exit 130); a second Ctrl-C right after the
    first exits quietly; status.json never stays "running"."""
    proc = _train_subprocess(tmp_path)
    try:
        for name in signals:
            proc.send_signal(getattr(signal, name))
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, rest
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest
    assert "interrupted" in rest
    run = Run.open(tmp_path / "run")
    assert run.status()["state"] == "stopped"
    assert run.load_checkpoint().step >= 0
    if len(signals) == 1:
        assert "saved at step" in rest and run.load_checkpoint().step > 0


def test_nonfinite_pause_restores_a_checkpoint_that_gives_a_finite_loss(tmp_path):
    """log_every = checkpoint_every = 1: the checkpoint saved right after the bad update holds
    huge (finite) weights whose next loss is not finite. The pause must restore the one
    before it, so resuming with a lower learning rate trains on instead of pausing at once."""
    cfg = tiny_points_config("vae", steps=40).replace(
        run={"log_every": 1, "checkpoint_every": 1, "sample_every": 100})
    t = Trainer.create(cfg, tmp_path / "run")
    real_step = t.engine.train_step

    def blow_up_at_23(batch):
        out = real_step(batch)
        if t.step == 22:            # this is step 23's update: weights go huge but finite
            with torch.no_grad():
                for p in t.engine.modules()["encoder"].parameters():
                    p.mul_(1e30)
        return out

    t.engine.train_step = blow_up_at_23
    result = t.train()
    assert result.reason == "nonfinite" and t.step == 22, result
    assert [s.step for s in t.run.checkpoint_slots()] == [22]     # 23 went with the bad update
    t.engine.train_step = real_step
    again = Trainer.resume(tmp_path / "run", cfg.replace(optim={"lr": 1e-4}))
    assert again.step == 22
    assert again.train().reason == "finished" and again.step == 40


def test_nonfinite_parameters_are_never_checkpointed(tmp_path):
    t = Trainer.create(tiny_points_config("vae", steps=10), tmp_path / "run")
    with torch.no_grad():
        next(iter(t.engine.modules()["encoder"].parameters())).fill_(float("nan"))
    with pytest.raises(NonFiniteLoss, match="parameters became non-finite"):
        t.save_checkpoint()
    assert Run.open(tmp_path / "run").load_checkpoint().step == 0


def test_train_prints_the_folders_skip_report_when_loading_succeeds(tmp_path, capsys):
    import numpy as np
    import tomli_w
    from PIL import Image
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(imgs / f"{i}.png")
    (imgs / "broken.png").write_bytes(b"\x89PNG not really")
    (imgs / ".hidden.png").write_bytes((imgs / "0.png").read_bytes())
    cfg = tiny_points_config("vae", steps=2).to_dict()
    cfg["run"].update(batch_size=4, preview_samples=4)
    cfg["data"] = {"name": "folder", "path": str(imgs), "resolution": 16, "channels": 1,
                   "test_fraction": 0.2}
    cfg["model"] = {"engine": "vae", "arch": "mlp", "latent_dim": 2}
    (tmp_path / "f.toml").write_text(tomli_w.dumps(cfg))
    capsys.readouterr()
    assert main(["train", str(tmp_path / "f.toml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    err = capsys.readouterr().err
    line = [l for l in err.splitlines() if "skipped" in l]
    assert line and "12 loaded, 2 skipped" in line[0] and "data_report.txt" in line[0]
    report = (tmp_path / "run" / "data_report.txt").read_text()
    assert "broken.png" in report and ".hidden.png" in report
