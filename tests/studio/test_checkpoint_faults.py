"""Fault injection: a save killed at any point, or failing on a full disk, never leaves a
run that cannot be opened, never loses the last complete checkpoint, and leaves no temp
files once a writer takes the run over.

Kills are real: the save runs in a child process (multiprocessing forkserver, torch
preloaded) that dies by os._exit at a named point of the save, or by SIGKILL at a random
moment while it checkpoints after every step; no cleanup code runs in either case.
"""
import multiprocessing
import os
import random
import signal
import time

import pytest
import torch

from studio.core.runs import Run
from studio.core.training import CheckpointSaveError, Trainer

from . import fault_worker
from .helpers import tiny_points_config

KEEP = 2


@pytest.fixture(scope="module")
def ctx():
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the forkserver start method (POSIX)")
    c = multiprocessing.get_context("forkserver")
    c.set_forkserver_preload(["torch", "studio.core.training", "tests.studio.fault_worker"])
    return c


def _new_run(tmp_path, name="run"):
    cfg = tiny_points_config("vae", steps=10 ** 6).replace(
        run={"checkpoint_every": 1, "keep_checkpoints": KEEP})
    t = Trainer.create(cfg, tmp_path / name)
    for _ in range(3):
        t.train_one_step()
    t.save_checkpoint()
    return t


def _temps(run):
    return [p for p in (list(run.path.iterdir()) + list(run.checkpoints_dir.iterdir()))
            if p.name.startswith(".tmp-")]


def _run_child(ctx, target, *args, timeout=60):
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, child))
    proc.start()
    child.close()
    msgs = []
    try:
        while True:
            if not parent.poll(timeout):
                break
            msgs.append(parent.recv())
    except EOFError:
        pass
    proc.join(timeout)
    return proc.exitcode, msgs


def _fault_points(tmp_path):
    """The named points of one save, recorded in-process."""
    from studio.core import atomic
    t = _new_run(tmp_path, "probe")
    t.train_one_step()
    seen = []
    atomic.FAULT_HOOK = seen.append
    try:
        t.save_checkpoint()
    finally:
        atomic.FAULT_HOOK = None
    return seen


def test_a_kill_at_every_point_of_a_save_leaves_a_complete_checkpoint(tmp_path, ctx):
    points = _fault_points(tmp_path)
    # weights, state, manifest written; publish; published; then the oldest removed
    assert points[:3] == ["checkpoint:weights written", "checkpoint:state written",
                          "checkpoint:manifest written"]
    assert any(p.startswith("publish:") for p in points)
    assert any(p.startswith("removing:") for p in points)
    publish_at = next(i for i, p in enumerate(points) if p.startswith("published:"))
    for k, point in enumerate(points):
        t = _new_run(tmp_path, f"kill{k}")
        before = t.step
        code, msgs = _run_child(ctx, fault_worker.save_with_fault, str(t.run.path), k, "kill", 2)
        kind, where, _ = msgs[-1]
        assert code == 137 and kind == "fault" and where.split(":")[0] == point.split(":")[0], msgs
        run = Run.open(t.run.path)
        ckpt = run.load_checkpoint()
        # killed before the rename: the previous checkpoint; after it: the new one
        assert ckpt.step == (before + 2 if k >= publish_at else before), point
        assert ckpt.skipped == [], point
        assert all(torch.isfinite(v).all() for v in ckpt.weights.values())
        # the next writer cleans up what the kill left, and can save again
        again = Trainer.resume(t.run.path)
        assert again.step == ckpt.step and _temps(run) == []
        again.train_one_step()
        again.save_checkpoint()
        assert len(run.checkpoint_slots()) == KEEP, point


def test_a_full_disk_at_every_write_keeps_the_previous_checkpoint(tmp_path, ctx):
    points = _fault_points(tmp_path)
    writes = [i for i, p in enumerate(points) if not p.startswith(("published:", "removing:"))
              and not p.startswith("checkpoint:prune")]
    assert len(writes) >= 4
    for k in writes:
        t = _new_run(tmp_path, f"full{k}")
        before = t.step
        code, msgs = _run_child(ctx, fault_worker.save_with_fault, str(t.run.path), k, "enospc", 2)
        assert code == 0
        kind, text, _ = msgs[-1]
        assert kind == "error" and "CheckpointSaveError" in text and "No space left" in text
        assert "previous checkpoint is kept" in text
        run = Run.open(t.run.path)
        assert _temps(run) == []          # the failing save removed its own temp folder
        assert run.load_checkpoint().step == before
        assert [s.step for s in run.checkpoint_slots()][-1] == before


def test_random_kills_while_checkpointing_every_step(tmp_path, ctx):
    """>= 20 SIGKILLs at random moments of a run that saves after every step: each time the
    run opens at a complete checkpoint no older than the last save the child reported."""
    t = _new_run(tmp_path)
    rng = random.Random(1234)
    reported = t.step
    kinds = set()
    for trial in range(24):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=fault_worker.train_and_save_forever, args=(str(t.run.path), child))
        proc.start()
        child.close()
        assert parent.poll(60)
        kind, step = parent.recv()
        assert kind == "ready" and step >= reported
        deadline = time.monotonic() + rng.uniform(0.0, 0.25)
        while time.monotonic() < deadline:
            if parent.poll(0.005):
                reported = max(reported, parent.recv()[1])
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        while parent.poll(0):
            try:
                reported = max(reported, parent.recv()[1])
            except EOFError:
                break
        run = Run.open(t.run.path)
        kinds.add(bool(_temps(run)))
        ckpt = run.load_checkpoint()
        assert ckpt.step >= reported, trial        # nothing older than the last complete save
        assert len(run.checkpoint_slots()) <= KEEP + 1
    # the kills landed both between saves and inside them (temp files left behind)
    assert kinds == {True, False}
    last = Trainer.resume(t.run.path)
    assert _temps(Run.open(t.run.path)) == [] and last.step >= reported


def test_a_full_disk_during_training_stops_with_a_message_and_a_final_status(tmp_path, monkeypatch):
    from studio.core import atomic
    import errno
    t = _new_run(tmp_path)
    before = t.step

    def full(point):
        if point == "checkpoint:state written":
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "FAULT_HOOK", full)
    with pytest.raises(CheckpointSaveError, match="No space left on device"):
        t.train(until=before + 3)
    monkeypatch.setattr(atomic, "FAULT_HOOK", None)
    run = Run.open(t.run.path)
    assert run.status()["state"] == "failed"
    assert "No space left" in run.status()["message"]
    assert run.load_checkpoint().step == before
