"""Run folders: atomic checkpoints, refusal of unsafe or foreign files."""
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from studio.core import atomic
from studio.core.runs import CheckpointError, Run, read_state
from studio.core.training import Trainer

from .helpers import tiny_points_config


def _weights_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _tamper(run, name, data: bytes):
    """Replace a file of the newest checkpoint and fix its manifest, as a deliberate attacker
    would: the hash check passes, so the deeper checks are what must refuse it."""
    folder = run.checkpoint_slots()[-1].folder
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _newest(run):
    return run.checkpoint_slots()[-1].folder


def test_interrupted_save_keeps_previous_checkpoint_and_leaves_no_temp(tmp_path, monkeypatch):
    trainer = Trainer.create(tiny_points_config(steps=20), tmp_path / "run")
    trainer.train()
    before = trainer.run.load_checkpoint().weights
    for _ in range(5):        # weights now differ from the saved checkpoint
        trainer.train_one_step()

    seen = []

    def power_cut(point):
        seen.append(point)
        if point.startswith("publish:"):     # every file written, not yet published
            raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(atomic, "FAULT_HOOK", power_cut)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint()
    monkeypatch.setattr(atomic, "FAULT_HOOK", None)
    assert seen[-1].startswith("publish:")
    leftovers = [p.name for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    again = Run.open(tmp_path / "run").load_checkpoint()
    assert again.step == 20 and again.skipped == []
    assert _weights_equal(again.weights, before)


def test_interrupt_while_writing_bytes(tmp_path, monkeypatch):
    """A failure half-way through writing the temp file (disk full) loses nothing."""
    target = tmp_path / "f.bin"
    atomic.write_bytes(target, b"old")

    def half_then_fail(self, data):
        with open(self, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(OSError):
        atomic.write_bytes(target, b"new content")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_stale_temp_from_a_hard_kill_is_removed_by_the_next_writer_not_by_viewers(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=5), tmp_path / "run")
    stale = tmp_path / "run" / "checkpoints" / ".tmp-ckpt-000002-step_000000005.abc123"
    stale.mkdir()
    (stale / "weights.safetensors").write_bytes(b"half a file")
    Trainer.load(tmp_path / "run")            # viewing changes nothing
    assert stale.exists()
    Trainer.resume(tmp_path / "run")          # the writer that takes the run over cleans up
    assert not stale.exists()
    assert trainer.run.has_checkpoint()


class _RunsCode:
    """Unpickling this calls a function: the classic malicious-pickle payload."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_code_executing_pickle_in_state_is_refused_and_nothing_runs(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=5), tmp_path / "run")
    marker = tmp_path / "pwned"
    state = trainer.training_state()
    state.update(format="genstudio-checkpoint-1", step=0, payload=_RunsCode(str(marker)))
    buf = tmp_path / "evil.pt"
    torch.save(state, buf)                     # writing is fine; loading must refuse
    _tamper(trainer.run, "state.pt", buf.read_bytes())
    assert not marker.exists()
    with pytest.raises(CheckpointError) as err:
        Trainer.resume(tmp_path / "run")
    assert "refused" in str(err.value) and "Nothing was executed" in str(err.value)
    assert not marker.exists()
    # and a plain pickle file pretending to be state.pt
    _tamper(trainer.run, "state.pt", pickle.dumps(_RunsCode(str(marker))))
    with pytest.raises(CheckpointError):
        read_state(trainer.run.state_path)
    with pytest.raises(CheckpointError):
        Trainer.load(tmp_path / "run")
    assert not marker.exists()


def test_checkpoint_from_another_engine_is_refused(tmp_path):
    ae = Trainer.create(tiny_points_config("ae", steps=5), tmp_path / "ae")
    Trainer.create(tiny_points_config("vae", steps=5), tmp_path / "vae")
    # drop the AE's checkpoint into the VAE run
    shutil.rmtree(tmp_path / "vae" / "checkpoints")
    shutil.copytree(tmp_path / "ae" / "checkpoints", tmp_path / "vae" / "checkpoints")
    with pytest.raises(CheckpointError) as err:
        Trainer.resume(tmp_path / "vae")
    assert "'ae'" in str(err.value) and "'vae'" in str(err.value)


def test_weights_of_another_shape_are_refused(tmp_path):
    small = Trainer.create(tiny_points_config("vae", steps=5, latent_dim=2), tmp_path / "a")
    Trainer.create(tiny_points_config("vae", steps=5, latent_dim=3), tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "checkpoints")
    shutil.copytree(tmp_path / "a" / "checkpoints", tmp_path / "b" / "checkpoints")
    with pytest.raises(CheckpointError) as err:
        Trainer.resume(tmp_path / "b")
    assert "does not fit" in str(err.value) and "shape" in str(err.value)


def test_foreign_and_corrupt_weight_files_are_refused(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=5), tmp_path / "run")
    save_file({"x": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))  # no metadata
    _tamper(trainer.run, "weights.safetensors", (tmp_path / "foreign.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="not a Generative Studio checkpoint"):
        trainer.run.load_checkpoint()
    _tamper(trainer.run, "weights.safetensors", b"\x00" * 50)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        trainer.run.load_checkpoint()


def test_mismatched_weights_and_state_steps_are_detected(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=20), tmp_path / "run")
    old_state = trainer.run.state_path.read_bytes()
    trainer.train()
    _tamper(trainer.run, "state.pt", old_state)     # a state of another step, hashes fixed
    ckpt = trainer.run.load_checkpoint()            # falls back to the previous complete one
    assert ckpt.step == 0 and len(ckpt.skipped) == 1
    assert "step 20" in ckpt.skipped[0] and "interrupted" in ckpt.skipped[0]


def test_runs_of_the_old_layout_open_resume_and_move_to_the_new_one(tmp_path):
    """Before checkpoint folders, a run held weights.safetensors and state.pt at its top."""
    t = Trainer.create(tiny_points_config(steps=20), tmp_path / "run")
    t.train()
    newest = t.run.checkpoint_slots()[-1].folder
    for name in ("weights.safetensors", "state.pt"):
        shutil.copy(newest / name, tmp_path / "run" / name)
    shutil.rmtree(tmp_path / "run" / "checkpoints")
    old = Trainer.load(tmp_path / "run")
    assert old.step == 20 and _weights_equal(old.engine.state_dict(), t.engine.state_dict())
    assert len(Run.open(tmp_path / "run").checkpoint_sha256()) == 64
    again = Trainer.resume(tmp_path / "run", t.config.replace(run={"steps": 60}))
    again.train()
    run = Run.open(tmp_path / "run")
    assert [s.step for s in run.checkpoint_slots()] == [40, 60]
    assert not (tmp_path / "run" / "weights.safetensors").exists()   # pruned like any other


def test_only_the_newest_k_checkpoints_stay(tmp_path):
    cfg = tiny_points_config(steps=50).replace(run={"checkpoint_every": 10, "keep_checkpoints": 3})
    t = Trainer.create(cfg, tmp_path / "run")
    t.train()
    assert [s.step for s in t.run.checkpoint_slots()] == [30, 40, 50]
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == \
        [s.folder.name for s in t.run.checkpoint_slots()]


def test_saved_files_follow_the_umask_not_0600(tmp_path):
    t = Trainer.create(tiny_points_config(steps=5), tmp_path / "run")
    old = os.umask(0o022)
    try:
        t.save_checkpoint()
        atomic.write_text(tmp_path / "x.txt", "hello")
    finally:
        os.umask(old)
    folder = t.run.checkpoint_slots()[-1].folder
    for p in [tmp_path / "x.txt", t.run.config_path, *folder.iterdir()]:
        assert p.stat().st_mode & 0o777 == 0o644, p
