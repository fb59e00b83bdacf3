"""What the window may know about the open run: one plain object, posted by the host.

The host thread owns the trainer (its engine, tensors and data set live there). When a run is
created or opened, the host builds a RunSnapshot on its own thread and posts it through the
mailbox; the GUI thread reads snapshots and render results only, never the trainer. Every
field is a Python value, a tuple, a frozenset or a numpy array: nothing that can start a
torch operation or race the training loop.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from engines.capabilities import PHASES


@dataclass(frozen=True)
class Schedule:
    """A diffusion model's noise schedule, for the scrubber's axis and labels."""

    alpha_bar: np.ndarray       # (T,), alpha_bar_t for t = 1..T
    T: int
    sampler: str                # the run's sampler and step count, the scrubber's defaults
    sample_steps: int


@dataclass(frozen=True)
class RunSnapshot:
    path: Optional[Path]                 # the run folder, None for a run kept in memory
    engine: str
    data: str                            # the data set's name in the config
    config: Any                          # a deep copy of the run's RunConfig (plain dataclasses)
    device: str
    threads: int
    step: int                            # the step the model was at when the snapshot was taken
    total: int                           # [run] steps
    capabilities: frozenset[str]
    data_kind: str                       # "images" or "points"
    sample_shape: tuple[int, ...]
    num_classes: int
    class_names: tuple[str, ...]         # one per class (numbers when the data set has none)
    latent_dim: int
    eval_z: np.ndarray                   # (n, latent_dim) float32: the gallery's fixed codes
    snapshots: tuple[tuple[int, Path], ...] = ()   # the run folder's saved sample snapshots
    schedule: Optional[Schedule] = None  # capability "trajectory" only
    phases: tuple[str, ...] = ()         # capability "train_phase": the players one step moves
    # The data set the trainer loaded (with the run's seed): numpy arrays, shared read-only,
    # so the browser shows exactly the points and images the run trains on without a second load.
    dataset: Any = None

    @property
    def is_images(self) -> bool:
        return self.data_kind == "images"

    @property
    def is_2d_points(self) -> bool:
        return self.data_kind == "points" and self.sample_shape == (2,)


def snapshot_of(trainer: Any) -> RunSnapshot:
    """Read everything the window needs from a trainer. Call it on the host thread."""
    engine, spec = trainer.engine, trainer.dataset.spec
    caps = frozenset(engine.capabilities)
    schedule = None
    if "trajectory" in caps:
        s = engine.schedule
        schedule = Schedule(alpha_bar=s.alpha_bar[1:].detach().cpu().numpy().copy(), T=int(s.T),
                            sampler=str(trainer.config.model.sampler),
                            sample_steps=int(trainer.config.model.sample_steps))
    k = int(spec.num_classes)
    names = list(trainer.dataset.class_names or [])
    run = trainer.run
    eval_z = trainer.eval_z.detach().cpu().numpy()
    return RunSnapshot(
        path=run.path if run is not None else None,
        engine=engine.name, data=trainer.config.data_name,
        config=copy.deepcopy(trainer.config),
        device=str(trainer.device), threads=int(trainer.threads),
        step=int(trainer.step), total=int(trainer.config.run.steps),
        capabilities=caps, data_kind=spec.kind, sample_shape=tuple(spec.sample_shape),
        num_classes=k,
        class_names=tuple(names if len(names) == k else [str(i) for i in range(k)]),
        latent_dim=int(np.prod(engine.noise_shape)),
        eval_z=eval_z.reshape(len(eval_z), -1).astype(np.float32, copy=False),
        snapshots=tuple(sorted(dict(run.snapshots()).items())) if run is not None else (),
        schedule=schedule,
        phases=PHASES if "train_phase" in caps else (),
        dataset=trainer.dataset,
    )
