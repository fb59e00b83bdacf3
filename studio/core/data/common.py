"""Helpers shared by the data sources: random streams, train/test splits, Dataset assembly."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from engines.spec import DataSpec

from .dataset import PAIRINGS, DataError, Dataset

# Labels are class numbers 0..K-1; beyond this many classes a label file is surely wrong
# (and one name per class would exhaust memory long before training).
MAX_CLASSES = 10_000
# The smallest image side the studio accepts (also the folder loader's smallest resolution):
# anything smaller is almost surely an array in the wrong layout.
MIN_IMAGE_SIDE = 4


def rng_streams(seed: int, n: int = 2) -> list[np.random.Generator]:
    """Independent generators (train, test, ...) from one seed: changing the size of the
    train split must not change the test split."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def split(x: np.ndarray, y: Optional[np.ndarray], test_fraction: float, seed: int,
          what: str = "data"):
    """Deterministic shuffled hold-out: (train_x, train_y, test_x, test_y).
    Keeps at least one training sample and, when test_fraction > 0, at least one test
    sample (evaluation averages over the test split); test_fraction 0 means no test split."""
    n = len(x)
    n_test = int(round(n * test_fraction))
    if test_fraction > 0:
        if n < 2:
            raise DataError(f"{what}: {n} example(s) cannot be split into a training and a "
                            "test set; give at least 2 (or set data.test_fraction = 0)")
        n_test = max(n_test, 1)
    n_test = min(n_test, max(n - 1, 0))
    order = np.random.default_rng(np.random.SeedSequence([seed, 0x5F117])).permutation(n)
    te, tr = np.sort(order[:n_test]), np.sort(order[n_test:])
    return (x[tr], None if y is None else y[tr], x[te], None if y is None else y[te])


def as_labels(y: Optional[np.ndarray], n: int, what: str) -> Optional[np.ndarray]:
    """Validate class labels: 1-D, one per sample, whole numbers 0..MAX_CLASSES-1 -> int64.
    The range is checked before anything is sized by it (one class name per label value)."""
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
    if n:
        lo, hi = y.min().item(), y.max().item()   # Python numbers: no int64 wrap-around
        if lo < 0:
            raise DataError(f"{what}: labels must be >= 0 (found {int(lo)})")
        if hi >= MAX_CLASSES:
            raise DataError(f"{what}: labels must be class numbers 0..K-1 with K at most "
                            f"{MAX_CLASSES:,} (found label {int(hi):,})")
    return y.astype(np.int64)


def class_names_from(a: Optional[np.ndarray], what: str) -> list[str]:
    """A 1-D array of class names (any dtype) -> strings."""
    if a is None:
        return []
    if a.ndim != 1 or len(a) > MAX_CLASSES:
        raise DataError(f"{what}: expected a 1-D array of at most {MAX_CLASSES:,} class "
                        f"names, found shape {a.shape}")
    return [str(s) for s in a.tolist()]


def _num_classes(*ys: Optional[np.ndarray]) -> int:
    ys = [y for y in ys if y is not None and len(y)]
    return int(max(y.max() for y in ys)) + 1 if ys else 0


def image_dataset(name: str, train_x: np.ndarray, train_y: Optional[np.ndarray],
                  test_x: np.ndarray, test_y: Optional[np.ndarray],
                  class_names: Sequence[str] = (), **extra) -> Dataset:
    """uint8 (N, C, H, W) arrays -> Dataset with its DataSpec."""
    assert train_x.dtype == np.uint8 and train_x.ndim == 4, (train_x.dtype, train_x.shape)
    _, c, h, w = train_x.shape
    if min(h, w) < MIN_IMAGE_SIDE:
        raise DataError(f"data: images are {h}x{w} pixels; the smallest accepted size is "
                        f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} (is the array in another layout?)")
    _check_not_empty(name, train_x)
    k = max(_num_classes(train_y, test_y), len(class_names)) if train_y is not None else 0
    names = list(class_names) if train_y is not None else []
    if train_y is not None and len(names) < k:
        names = [str(i) for i in range(k)]
    spec = DataSpec(kind="images", channels=c, height=h, width=w, num_classes=k)
    return Dataset(name=name, spec=spec, train_x=train_x, train_y=train_y, test_x=test_x,
                   test_y=test_y, class_names=names, **extra)


def two_sided_dataset(name: str, pairing: str, sides: tuple[str, str],
                      target: tuple, source: tuple, class_names: Sequence[str] = (),
                      **extra) -> Dataset:
    """Two image sides -> Dataset. `target` and `source` are (train_x, train_y, test_x,
    test_y) uint8 (N, C, H, W) arrays (labels may be None); each side keeps its own image
    size. The target side becomes train_x/test_x and the DataSpec's shape; the source side
    train_x2/test_x2 and spec.source_*. Paired sides must have equal lengths per split."""
    if pairing not in PAIRINGS:
        raise DataError(f"data: pairing must be one of {', '.join(PAIRINGS)} (got {pairing!r})")
    tx, ty, vx, vy = target
    sx, sy, svx, svy = source
    if pairing == "paired" and (len(sx) != len(tx) or len(svx) != len(vx)):
        raise DataError(f"data: the {name} pairs do not match: {len(sx)}/{len(svx)} source "
                        f"and {len(tx)}/{len(vx)} target images (train/test)")
    ds = image_dataset(name, tx, ty, vx, vy, class_names, **extra)
    src = image_dataset(name, sx, sy, svx, svy, class_names)   # the same checks, its own size
    ds.spec = dataclasses.replace(ds.spec, pairing=pairing, source_channels=src.spec.channels,
                                  source_height=src.spec.height, source_width=src.spec.width)
    ds.train_x2, ds.train_y2, ds.test_x2, ds.test_y2 = sx, sy, svx, svy
    ds.pairing, ds.sides = pairing, (str(sides[0]), str(sides[1]))
    return ds


def points_dataset(name: str, train_x: np.ndarray, train_y: Optional[np.ndarray],
                   test_x: np.ndarray, test_y: Optional[np.ndarray],
                   class_names: Sequence[str] = (), **extra) -> Dataset:
    """float (N, dim) arrays -> Dataset; the spec carries the train mean/std per coordinate."""
    train_x = finite_float32(train_x, "data: points")
    test_x = finite_float32(test_x, "data: test points")
    _check_not_empty(name, train_x)
    mean = train_x.astype(np.float64).mean(0)
    std = train_x.astype(np.float64).std(0)
    std = np.where(std > 0, std, 1.0)   # a constant coordinate must not divide by zero
    k = max(_num_classes(train_y, test_y), len(class_names)) if train_y is not None else 0
    names = list(class_names) if train_y is not None else []
    if train_y is not None and len(names) < k:
        names = [str(i) for i in range(k)]
    spec = DataSpec(kind="points", dim=train_x.shape[1], num_classes=k,
                    point_mean=tuple(float(v) for v in mean),
                    point_std=tuple(float(v) for v in std))
    return Dataset(name=name, spec=spec, train_x=train_x, train_y=train_y, test_x=test_x,
                   test_y=test_y, class_names=names, **extra)


def _check_not_empty(name: str, train_x: np.ndarray) -> None:
    if not len(train_x):
        raise DataError(f"data: the {name} data set has no training examples")


def finite_float32(a: np.ndarray, what: str) -> np.ndarray:
    """Numbers -> float32, refusing NaN, infinity and values float32 cannot hold (they would
    silently become infinity)."""
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise DataError(f"{what}: expected numbers, found dtype {a.dtype}")
    big = np.finfo(np.float32).max
    if a.size and not (np.all(np.isfinite(a)) and np.abs(a).max() <= big):
        raise DataError(f"{what}: values must be finite numbers within float32 range "
                        f"(|v| <= {big:.3g}); found NaN, infinity or a larger value")
    return a.astype(np.float32, order="C", copy=False)


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
