"""Helpers shared by the data sources: random streams, train/test splits, Dataset assembly."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from engines.spec import DataSpec

from .dataset import DataError, Dataset


def rng_streams(seed: int, n: int = 2) -> list[np.random.Generator]:
    """Independent generators (train, test, ...) from one seed: changing the size of the
    train split must not change the test split."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def split(x: np.ndarray, y: Optional[np.ndarray], test_fraction: float, seed: int):
    """Deterministic shuffled hold-out: (train_x, train_y, test_x, test_y).
    Keeps at least one training sample; the test part may be empty."""
    n = len(x)
    n_test = min(int(round(n * test_fraction)), max(n - 1, 0))
    order = np.random.default_rng(np.random.SeedSequence([seed, 0x5F117])).permutation(n)
    te, tr = np.sort(order[:n_test]), np.sort(order[n_test:])
    return (x[tr], None if y is None else y[tr], x[te], None if y is None else y[te])


def as_labels(y: Optional[np.ndarray], n: int, what: str) -> Optional[np.ndarray]:
    """Validate class labels: 1-D, one per sample, non-negative integers -> int64."""
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{what}: expected {n} labels as a 1-D array, found shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError(f"{what}: labels must be whole numbers")
    elif y.dtype.kind not in "iub":
        raise DataError(f"{what}: labels must be integers, found dtype {y.dtype}")
    y = y.astype(np.int64)
    if n and y.min() < 0:
        raise DataError(f"{what}: labels must be >= 0 (found {y.min()})")
    return y


def _num_classes(*ys: Optional[np.ndarray]) -> int:
    ys = [y for y in ys if y is not None and len(y)]
    return int(max(y.max() for y in ys)) + 1 if ys else 0


def image_dataset(name: str, train_x: np.ndarray, train_y: Optional[np.ndarray],
                  test_x: np.ndarray, test_y: Optional[np.ndarray],
                  class_names: Sequence[str] = (), **extra) -> Dataset:
    """uint8 (N, C, H, W) arrays -> Dataset with its DataSpec."""
    assert train_x.dtype == np.uint8 and train_x.ndim == 4, (train_x.dtype, train_x.shape)
    _, c, h, w = train_x.shape
    k = max(_num_classes(train_y, test_y), len(class_names)) if train_y is not None else 0
    names = list(class_names) if train_y is not None else []
    if train_y is not None and len(names) < k:
        names = [str(i) for i in range(k)]
    spec = DataSpec(kind="images", channels=c, height=h, width=w, num_classes=k)
    return Dataset(name=name, spec=spec, train_x=train_x, train_y=train_y, test_x=test_x,
                   test_y=test_y, class_names=names, **extra)


def points_dataset(name: str, train_x: np.ndarray, train_y: Optional[np.ndarray],
                   test_x: np.ndarray, test_y: Optional[np.ndarray],
                   class_names: Sequence[str] = (), **extra) -> Dataset:
    """float (N, dim) arrays -> Dataset; the spec carries the train mean/std per coordinate."""
    train_x = np.ascontiguousarray(train_x, dtype=np.float32)
    test_x = np.ascontiguousarray(test_x, dtype=np.float32)
    mean = train_x.astype(np.float64).mean(0)
    std = train_x.astype(np.float64).std(0)
    std = np.where(std > 0, std, 1.0)   # a constant coordinate must not divide by zero
    k = _num_classes(train_y, test_y) if train_y is not None else 0
    names = list(class_names) if class_names else [str(i) for i in range(k)]
    spec = DataSpec(kind="points", dim=train_x.shape[1], num_classes=k,
                    point_mean=tuple(float(v) for v in mean),
                    point_std=tuple(float(v) for v in std))
    return Dataset(name=name, spec=spec, train_x=train_x, train_y=train_y, test_x=test_x,
                   test_y=test_y, class_names=names, **extra)


def user_path(value: str, key: str, what: str, *, folder: bool = False) -> Path:
    """A path option given by the user: must be set and must exist."""
    if not str(value).strip():
        raise DataError(f"data.{key}: give the {what}")
    p = Path(str(value).strip()).expanduser()
    if folder and not p.is_dir():
        raise DataError(f"data.{key}: folder not found: {p}")
    if not folder and not p.is_file():
        raise DataError(f"data.{key}: file not found: {p}")
    return p
