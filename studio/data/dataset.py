from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from engines.spec import DataSpec


class DataError(ValueError):
    """A data set cannot be loaded; the message says why in words a user can act on."""


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str   # short, human: "corrupt image (cannot identify image file)", "zero bytes", ...
    # Machine-readable category, one of SKIP_KINDS, so the GUI can group and tests can check.
    kind: str = ""


# Why a file can be skipped by a folder scan.
SKIP_KINDS = ("empty", "not_image", "corrupt", "truncated", "bomb", "unreadable", "unsupported")


@dataclass
class ScanReport:
    """What a folder scan did: every file it looked at is either loaded or listed here."""

    loaded: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)

    def summary(self) -> str:
        s = f"{self.loaded} loaded, {len(self.skipped)} skipped"
        return s + "".join(f"\n  {f.path}: {f.reason}" for f in self.skipped)

    def by_kind(self) -> dict[str, list[SkippedFile]]:
        out: dict[str, list[SkippedFile]] = {}
        for f in self.skipped:
            out.setdefault(f.kind, []).append(f)
        return out


@dataclass
class Dataset:
    name: str
    spec: DataSpec
    train_x: np.ndarray
    train_y: Optional[np.ndarray]
    test_x: np.ndarray
    test_y: Optional[np.ndarray]
    class_names: list[str] = field(default_factory=list)
    report: Optional[ScanReport] = None
    # Ground-truth generative factors per training sample (the `shapes` set), name -> (N,)
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    # Mixture toys (ring8, grid25): the true mode centres (K, dim) and their common std, so
    # evaluation can count covered modes and high-quality samples as in the PacGAN paper.
    modes: Optional[np.ndarray] = None
    mode_sigma: float = 0.0

    def __len__(self) -> int:
        return len(self.train_x)
