"""Plain data the shell hands to the panels (no Qt, no torch): numpy arrays and dataclasses.

The studio shell builds these from engines and data sets; panels only ever see these, which
is what keeps widgets/ free of torch (checked by import-linter).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class FieldSpec:
    """One hyperparameter for a generated form."""
    name: str
    kind: str                      # "int", "float", "str", "bool"
    default: Any
    help: str = ""
    min: Optional[float] = None
    max: Optional[float] = None
    choices: Optional[tuple] = None
    structural: bool = True        # False: can change mid-run (learning rate, loss weights)


@dataclass(frozen=True)
class EngineInfo:
    name: str
    description: str
    capabilities: frozenset
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class SourceInfo:
    """A data source offered by the data set browser."""
    name: str
    description: str
    kind: str                      # "images" or "points"
    fields: tuple[FieldSpec, ...] = ()


@dataclass
class DatasetView:
    """A loaded data set as the browser shows it."""
    name: str
    kind: str                                  # "images" or "points"
    images: Optional[np.ndarray] = None        # uint8 (N, C, H, W), the training split
    points: Optional[np.ndarray] = None        # float32 (N, 2)
    labels: Optional[np.ndarray] = None        # int64 (N,)
    class_names: Sequence[str] = ()
    test_count: int = 0
    skipped: Sequence[tuple[str, str]] = ()    # (path, reason) of every file a scan skipped
    description: str = ""
    noun: str = "images"                       # what one item is ("pairs" for a paired set)
    shape_text: str = ""                       # the summary's shape ("" : from the images)

    @property
    def count(self) -> int:
        arr = self.images if self.images is not None else self.points
        return 0 if arr is None else len(arr)


@dataclass
class RunInfo:
    """What the status bar and panels show about the current run."""
    path: str = ""
    engine: str = ""
    data: str = ""
    device: str = ""
    state: str = "idle"            # idle, running, paused, finished, stopped, failed
    step: int = 0
    total: int = 0
    it_per_s: float = 0.0
    eta_s: float = float("inf")
    message: str = ""
    latent_dim: int = 0
    capabilities: frozenset = field(default_factory=frozenset)
