"""Training over several processes (torchrun, DistributedDataParallel over gloo on the CPU).

Each test starts 2 processes with torchrun (tests/studio/dist_worker.py) and compares with a
run in this process: the same weights after N steps for every engine, resume across world
sizes with the same global batch order, only rank 0 writing the run folder, and a rank
killed mid-run leaving a checkpoint that loads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from studio.core import cli
from studio.core.config import ConfigError
from studio.core.distributed import SINGLE, Dist, launched_by_torchrun
from studio.core.runs import Run
from studio.core.training import Trainer
from tests.studio.dist_worker import (EQUIV_CONFIGS, EQUIV_DATA, EQUIV_STEPS, EQUIV_STEPS_FOR,
                                     points_config)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="this torch build has no torch.distributed")


def torchrun(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """2 processes on this machine (a free port: --standalone), one thread each."""
    e = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK",
                                                          "MASTER_ADDR", "MASTER_PORT")}
    e.update({"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", "-m", "tests.studio.dist_worker", *args],
                          cwd=ROOT, env=e, capture_output=True, text=True, timeout=timeout)


def _max_diff(a: dict, b: dict) -> float:
    assert set(a) == set(b)
    return max(((a[k].double() - b[k].double()).abs().max().item() if a[k].numel() else 0.0)
               for k in a)


def test_two_processes_train_to_the_weights_of_one(tmp_path):
    """Global batch 32 split 16 + 16 over 2 ranks, 5 steps: the weights one process reaches
    on batches of 32 (AE, VAE, GANs with EMA, n_critic, instance noise, WGAN-GP, a latent
    mixture with restarts and packs, DDPM with EMA, a flow with ActNorm's data-dependent
    init, pix2pix and CycleGAN with its history pools on two-sided MNIST sets)."""
    p = torchrun("equiv", str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    for name, (engine, model, optim) in EQUIV_CONFIGS.items():
        trainer = Trainer(points_config(engine, EQUIV_STEPS_FOR.get(name, EQUIV_STEPS),
                                        optim=optim, data=EQUIV_DATA.get(name), **model), None)
        trainer.train()
        got = torch.load(tmp_path / f"{name}.pt", weights_only=True)
        # float summation order differs (two half batches, gradients averaged); Adam turns
        # that into ~1e-5 on the flow's near-zero gradients, the rest stay below 1e-6 (pix2pix:
        # 1.2e-5 on a bias of 7, 2e-6 relative; CycleGAN: see EQUIV_STEPS_FOR)
        tol = {"flow": 1e-4, "pix2pix": 3e-5}.get(name, 2e-6)
        assert _max_diff(trainer.engine.state_dict(), got) < tol, name


def _config_file(path: Path) -> Path:
    path.write_text("""
[run]
seed = 5
steps = 8
batch_size = 32
log_every = 2
sample_every = 4
checkpoint_every = 2
preview_samples = 16
device = "cpu"

[data]
name = "ring8"
n = 96
n_test = 64

[model]
engine = "ae"
latent_dim = 2
denoise_std = 0.1

[optim]
lr = 0.002
""")
    return path


def _final(run: Path):
    return Run.open(run).load_checkpoint()


def _assert_same_run(a: Path, b: Path) -> None:
    ca, cb = _final(a), _final(b)
    assert ca.step == cb.step == 8
    assert _max_diff(ca.weights, cb.weights) < 2e-6
    sa, sb = ca.state["sampler"], cb.state["sampler"]
    # 96 examples, batches of 32: 8 steps cross two epoch boundaries
    assert sa["epoch"] == sb["epoch"] == 2 and sa["pos"] == sb["pos"]
    assert torch.equal(sa["perm"], sb["perm"])
    assert torch.equal(ca.state["torch_rng"], cb.state["torch_rng"])
    steps = [json.loads(line)["step"] for line in (b / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8]


def test_resume_across_world_sizes_continues_the_same_batches_and_only_rank0_writes(tmp_path):
    cfg = _config_file(tmp_path / "ae.toml")
    ref = tmp_path / "one"
    assert cli.main(["train", str(cfg), "--out", str(ref), "--quiet"]) == 0

    # 2 processes for 4 steps, then 1 process to step 8
    two_one = tmp_path / "two-then-one"
    p = torchrun("cli", "train", str(cfg), "--out", str(two_one), "--steps", "4", "--quiet",
                 env={"WATCH": str(two_one)})
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(Path(f"{two_one}.rank1.json").read_text()) == []
    assert "2 processes (gloo)" in p.stderr
    assert cli.main(["train", "--resume", str(two_one), "--steps", "8", "--quiet"]) == 0
    _assert_same_run(ref, two_one)

    # 1 process for 4 steps, then 2 processes to step 8
    one_two = tmp_path / "one-then-two"
    assert cli.main(["train", str(cfg), "--out", str(one_two), "--steps", "4", "--quiet"]) == 0
    p = torchrun("cli", "train", "--resume", str(one_two), "--steps", "8", "--quiet",
                 env={"WATCH": str(one_two)})
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(Path(f"{one_two}.rank1.json").read_text()) == []
    _assert_same_run(ref, one_two)
    assert json.loads((one_two / "status.json").read_text())["state"] == "finished"


def test_a_killed_rank_leaves_a_checkpoint_that_loads(tmp_path):
    """Rank 1 is SIGKILLed after step 5 of a run that checkpoints every step: rank 0 fails in
    its next collective, torchrun stops; the run opens at a complete checkpoint and resumes."""
    cfg = _config_file(tmp_path / "ae.toml")
    run = tmp_path / "killed"
    p = torchrun("cli", "train", str(cfg), "--out", str(run), "--steps", "400", "--quiet",
                 env={"KILL_RANK": "1", "KILL_AT": "5"}, timeout=90)
    assert p.returncode != 0
    ckpt = _final(run)
    assert 4 <= ckpt.step <= 5 and not ckpt.skipped
    assert cli.main(["train", "--resume", str(run), "--steps", "8", "--quiet"]) == 0
    assert _final(run).step == 8


def test_one_process_sets_up_nothing(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert not launched_by_torchrun()
    trainer = Trainer(points_config("ae", latent_dim=2), None)
    assert trainer.dist is SINGLE and not trainer.dist.active
    assert not torch.distributed.is_initialized()


def test_a_batch_that_does_not_split_or_options_that_cannot_are_refused():
    """Checked before any process group is needed: one clear message each."""
    two = Dist(rank=0, world=2)
    with pytest.raises(ConfigError, match="run.batch_size = 33 does not split over 2 processes"):
        Trainer(points_config("ae", run={"batch_size": 33}, latent_dim=2), None, dist=two)
    with pytest.raises(ConfigError, match="model.pack = 4"):
        Trainer(points_config("gan", run={"batch_size": 36}, pack=4), None, dist=two)
    for option in ({"unroll_steps": 2}, {"minibatch_disc": 4}, {"mmd_weight": 0.1}):
        name = next(iter(option))
        with pytest.raises(ConfigError, match=f"several processes.*model.{name}"):
            Trainer(points_config("gan", **option), None, dist=two)
