"""Trainer callbacks: small objects with named hooks, called by `Trainer.train` on the
training thread, in list order (the trainer's own `trainer.callbacks` first, then the ones
given to that `train()` call). Qt-free.

Hooks (every one a no-op in `Callback`; override the ones you need):

    on_train_start(trainer, target)      a train() call begins; it runs to step `target`
    on_step_end(trainer, step)           after every step, once the step's metrics, snapshot
                                         and checkpoint (if any fell on it) are done
    on_log(trainer, record)              a metrics record, as appended to metrics.jsonl:
                                         {"step", "time", "loss/total", ..., "perf/step_ms"}
    on_snapshot(trainer, step, samples)  the fixed-z samples (float32 numpy: images
                                         (N, C, H, W) in [0, 1], or points (N, dim))
    on_checkpoint(trainer, step)         a checkpoint of `step` was published
    on_end(trainer, result)              train() returns `result` (TrainResult); not called
                                         when train() raises

They run between training steps, so they must be cheap (copy into a mailbox, hand slow work
to another thread: `RunMonitor` takes an executor for that). `on_step_end` runs every step:
the trainer calls it only on callbacks whose class overrides it. A callback must not draw
from torch's global RNG (it is the training run's stream, checkpointed for exact resume).

None carries state of its own into checkpoints: the mode monitor's state is its history
file, cut back to the checkpoint's step when a run is resumed (studio.core.mode_monitor).

Stopping is not a hook: `Trainer.train(should_abort=...)` is the one stop condition, asked
before every step (see there).

Who adds what: the trainer always has a `SnapshotWriter` (`trainer.callbacks`); the CLI adds
a `ProgressReporter` (its progress bar) and the run's `RunMonitor`
(studio.core.mode_monitor); the GUI's engine host adds its `MailboxPoster`
(studio.core.host) and the same `RunMonitor`, scoring on the host's side thread.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from .images import samples_picture, save_png

if TYPE_CHECKING:
    from .training import Trainer, TrainResult


@dataclass
class Progress:
    step: int
    total: int
    it_per_s: float
    eta_s: float
    latest: dict[str, float]


class Callback:
    """A training callback: every hook does nothing until a subclass overrides it."""

    def on_train_start(self, trainer: "Trainer", target: int) -> None:
        pass

    def on_step_end(self, trainer: "Trainer", step: int) -> None:
        pass

    def on_log(self, trainer: "Trainer", record: dict[str, float]) -> None:
        pass

    def on_snapshot(self, trainer: "Trainer", step: int, samples: np.ndarray) -> None:
        pass

    def on_checkpoint(self, trainer: "Trainer", step: int) -> None:
        pass

    def on_end(self, trainer: "Trainer", result: "TrainResult") -> None:
        pass


def overrides(cb: Callback, hook: str) -> bool:
    """True if cb's class defines its own `hook` (the trainer skips no-op per-step hooks)."""
    return getattr(type(cb), hook) is not getattr(Callback, hook)


class SnapshotWriter(Callback):
    """Snapshots into the run folder: RUN/samples/step_NNNNNNN.png (the grid, with step,
    engine and seed in its metadata) for images, .npy for points. Nothing without a run
    folder. Every Trainer has one in `trainer.callbacks`."""

    def on_snapshot(self, trainer: "Trainer", step: int, samples: np.ndarray) -> None:
        run = trainer.run
        if run is None:
            return
        if samples.ndim == 4:
            save_png(run.snapshot_path(step, False), samples_picture(samples),
                     {"step": str(step), "engine": trainer.engine.name,
                      "seed": str(trainer.config.run.seed)})
        else:
            run.save_points_snapshot(step, samples)


class ProgressReporter(Callback):
    """Calls `report(Progress)` after a step at most every `interval_s` seconds, and always
    after the last step of a train() call. The total is the run's steps (a single Step is not
    the end of the run); the rate counts this train() call's steps."""

    def __init__(self, report: Callable[[Progress], None], interval_s: float = 0.25):
        self.report = report
        self.interval_s = interval_s
        self._start_step, self._t0, self._next, self._target = 0, 0.0, 0.0, 0

    def on_train_start(self, trainer: "Trainer", target: int) -> None:
        self._start_step, self._target = trainer.step, target
        self._t0 = self._next = time.perf_counter()

    def on_step_end(self, trainer: "Trainer", step: int) -> None:
        now = time.perf_counter()
        if now < self._next and step != self._target:
            return
        self._next = now + self.interval_s
        rate = (step - self._start_step) / max(now - self._t0, 1e-9)
        total = max(trainer.config.run.steps, self._target)
        self.report(Progress(step, total, rate, (total - step) / rate if rate > 0 else float("inf"),
                             dict(trainer.latest)))


def _ignore(*_: Any) -> None:
    pass


class Callbacks(ProgressReporter):
    """Plain functions for the common hooks, for scripts and tests:
    `trainer.train(callbacks=Callbacks(progress=..., should_abort=..., metrics=..., samples=...))`.
    `metrics(record)` is on_log, `samples(step, x)` on_snapshot, `progress(Progress)` a
    ProgressReporter's report; `should_abort` is used as train()'s when it is given none."""

    def __init__(self, progress: Optional[Callable[[Progress], None]] = None,
                 should_abort: Optional[Callable[[], bool]] = None,
                 metrics: Optional[Callable[[dict[str, float]], None]] = None,
                 samples: Optional[Callable[[int, np.ndarray], None]] = None,
                 progress_interval_s: float = 0.25):
        super().__init__(progress or _ignore, progress_interval_s)
        self.progress, self.should_abort = progress, should_abort
        self.metrics, self.samples = metrics, samples

    def on_step_end(self, trainer: "Trainer", step: int) -> None:
        if self.progress is not None:
            super().on_step_end(trainer, step)

    def on_log(self, trainer: "Trainer", record: dict[str, float]) -> None:
        if self.metrics is not None:
            self.metrics(record)

    def on_snapshot(self, trainer: "Trainer", step: int, samples: np.ndarray) -> None:
        if self.samples is not None:
            self.samples(step, samples)
