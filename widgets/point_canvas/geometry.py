"""Numpy geometry of the canvas's layers (no Qt): gradient arrows, the manifold's grid and
the mode rings as polylines, the heatmap's rectangle, bounding boxes."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import kit


ARROW_CAP = 1.5               # longer arrows are clipped to this multiple of that length
RING_SEGMENTS = 48


def arrow_segments(at: np.ndarray, vec: np.ndarray, length: float, ref: float,
                   cap: float = ARROW_CAP) -> np.ndarray:
    """`kit.arrow_segments` with the canvas's cap: (6K, 2) segments, shaft and two barbs per
    arrow; an arrow of magnitude `ref` is `length` long, longer ones stop at cap * length."""
    return kit.arrow_segments(at, vec, length, ref, cap)


def grid_polylines(m: np.ndarray) -> np.ndarray:
    """A warped grid (rows, cols, 2) as one NaN-separated polyline: each row, then each column."""
    m = np.asarray(m, np.float32)
    r, c, _ = m.shape
    rows = np.full((r, c + 1, 2), np.nan, np.float32)
    rows[:, :c] = m
    cols = np.full((c, r + 1, 2), np.nan, np.float32)
    cols[:, :r] = m.transpose(1, 0, 2)
    return np.concatenate([rows.reshape(-1, 2), cols.reshape(-1, 2)])


def ring_polylines(centres: np.ndarray, radius: float, n: int = RING_SEGMENTS) -> np.ndarray:
    """Circles of `radius` around each centre as one NaN-separated polyline."""
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    t = np.linspace(0, 2 * np.pi, n + 1)
    circle = np.stack([np.cos(t), np.sin(t)], 1) * radius                 # (n+1, 2)
    out = np.full((len(centres), n + 2, 2), np.nan)
    out[:, :n + 1] = centres[:, None, :] + circle[None]
    return out.reshape(-1, 2)


def field_rect(fx: np.ndarray, fy: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, w, h) of the image whose pixel centres are the grid's cell centres."""
    def span(a: np.ndarray) -> tuple[float, float]:
        if len(a) < 2:
            return float(a[0]) - 0.5, 1.0
        d = (float(a[-1]) - float(a[0])) / (len(a) - 1)
        return float(a[0]) - d / 2, d * len(a)
    x, w = span(fx)
    y, h = span(fy)
    return x, y, w, h


def _bbox(*arrays: Optional[np.ndarray]) -> Optional[tuple[float, float, float, float]]:
    pts = [a for a in arrays if a is not None and len(a)]
    if not pts:
        return None
    xy = np.concatenate(pts)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return None
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

