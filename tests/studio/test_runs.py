"""Run folders: atomic checkpoints, refusal of unsafe or foreign files."""
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from studio import atomic
from studio.runs import CheckpointError, Run, read_state
from studio.training import Trainer

from .helpers import tiny_points_config


def _weights_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_interrupted_save_keeps_previous_checkpoint_and_leaves_no_temp(tmp_path, monkeypatch):
    trainer = Trainer.create(tiny_points_config(steps=20), tmp_path / "run")
    trainer.train()
    before = trainer.run.load_checkpoint().weights
    for _ in range(5):        # weights now differ from the saved checkpoint
        trainer.train_one_step()

    real_replace = os.replace
    calls = {"n": 0}

    def dying_replace(src, dst):
        # the weights file is written in full to its temp, then the process "dies"
        calls["n"] += 1
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(atomic.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint()
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert calls["n"] == 1
    leftovers = [p.name for p in (tmp_path / "run").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    again = Run.open(tmp_path / "run").load_checkpoint()
    assert again.step == 20
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


def test_stale_temp_from_a_hard_kill_is_removed_on_open(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=5), tmp_path / "run")
    stale = tmp_path / "run" / ".tmp-weights.safetensors.abc123"
    stale.write_bytes(b"half a file")
    Run.open(tmp_path / "run")
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
    torch.save(state, trainer.run.state_path)   # writing is fine; loading must refuse
    assert not marker.exists()
    with pytest.raises(CheckpointError) as err:
        Trainer.resume(tmp_path / "run")
    assert "refused" in str(err.value) and "Nothing was executed" in str(err.value)
    assert not marker.exists()
    # and a plain pickle file pretending to be state.pt
    with open(trainer.run.state_path, "wb") as f:
        pickle.dump(_RunsCode(str(marker)), f)
    with pytest.raises(CheckpointError):
        read_state(trainer.run.state_path)
    assert not marker.exists()


def test_checkpoint_from_another_engine_is_refused(tmp_path):
    ae = Trainer.create(tiny_points_config("ae", steps=5), tmp_path / "ae")
    Trainer.create(tiny_points_config("vae", steps=5), tmp_path / "vae")
    # drop the AE's weights into the VAE run
    (tmp_path / "vae" / "weights.safetensors").write_bytes(ae.run.weights_path.read_bytes())
    with pytest.raises(CheckpointError) as err:
        Trainer.resume(tmp_path / "vae")
    assert "'ae'" in str(err.value) and "'vae'" in str(err.value)


def test_weights_of_another_shape_are_refused(tmp_path):
    small = Trainer.create(tiny_points_config("vae", steps=5, latent_dim=2), tmp_path / "a")
    Trainer.create(tiny_points_config("vae", steps=5, latent_dim=3), tmp_path / "b")
    (tmp_path / "b" / "weights.safetensors").write_bytes(small.run.weights_path.read_bytes())
    (tmp_path / "b" / "state.pt").write_bytes(small.run.state_path.read_bytes())
    with pytest.raises(CheckpointError) as err:
        Trainer.resume(tmp_path / "b")
    assert "does not fit" in str(err.value) and "shape" in str(err.value)


def test_foreign_and_corrupt_weight_files_are_refused(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=5), tmp_path / "run")
    save_file({"x": torch.zeros(2)}, str(trainer.run.weights_path))   # not ours: no metadata
    with pytest.raises(CheckpointError, match="not a Generative Studio checkpoint"):
        trainer.run.load_checkpoint()
    trainer.run.weights_path.write_bytes(b"\x00" * 50)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        trainer.run.load_checkpoint()


def test_mismatched_weights_and_state_steps_are_detected(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=20), tmp_path / "run")
    old_state = trainer.run.state_path.read_bytes()
    trainer.train()
    trainer.run.state_path.write_bytes(old_state)   # as if the 2nd rename never happened
    with pytest.raises(CheckpointError, match="interrupted"):
        trainer.run.load_checkpoint()
