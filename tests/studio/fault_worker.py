"""Child processes for the fault-injection tests (tests/studio/test_checkpoint_faults.py).

They run under multiprocessing's forkserver with torch preloaded, so a trial costs a fork,
not an interpreter start, and the child dies for real (os._exit or SIGKILL: no cleanup runs).
"""
from __future__ import annotations

import errno
import os

from studio.core import atomic
from studio.core.training import Trainer


def save_with_fault(run_dir: str, fault_index: int, mode: str, steps: int, conn) -> None:
    """Resume the run, train `steps` steps, then save; the `fault_index`-th fault point of the
    save kills the process (mode "kill") or fails with a full disk (mode "enospc")."""
    trainer = Trainer.resume(run_dir)
    for _ in range(steps):
        trainer.train_one_step()
    seen = []

    def hook(point: str) -> None:
        seen.append(point)
        if len(seen) - 1 == fault_index:
            conn.send(("fault", point, trainer.step))
            if mode == "kill":
                os._exit(137)
            raise OSError(errno.ENOSPC, "No space left on device")

    atomic.FAULT_HOOK = hook
    try:
        trainer.save_checkpoint()
        conn.send(("saved", seen, trainer.step))
    except Exception as e:            # the disk-full case: report what the user would see
        conn.send(("error", f"{type(e).__name__}: {e}", trainer.step))
    finally:
        atomic.FAULT_HOOK = None
        conn.close()


def train_and_save_forever(run_dir: str, conn) -> None:
    """Checkpoint after every step and report each completed save; the parent kills us."""
    trainer = Trainer.resume(run_dir)
    conn.send(("ready", trainer.step))
    while True:
        trainer.train_one_step()
        trainer.save_checkpoint()
        conn.send(("saved", trainer.step))


def _warm_up() -> None:
    """Import what building and stepping a trainer imports lazily (optimizers pull in much of
    torch on first use), so the forkserver holds it and each child starts in milliseconds."""
    from .helpers import tiny_points_config
    t = Trainer(tiny_points_config("vae", steps=1))
    t.train_one_step()


_warm_up()
