"""The numpy side of the flow view: checks of the three results it shows, the stage at a
fractional layer position, point colours, view boxes, code images and histogram bins."""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import numpy as np

HUE_BINS = 12                       # points are drawn in this many colour groups


def normalise_layers(d: Mapping[str, Any]) -> dict:
    """A "flow_layers" result checked and as float arrays: names (K,), stages (K+1, n, 2),
    grid (K+1, lines, points, 2) (grid[k] is the latent grid pulled back to stage k's
    coordinates), optional fields (field_x (R,), field_y (R,), density and log_det (R, R)
    over data space) and bounds ((2,), (2,))."""
    stages = np.asarray(d["stages"], np.float64)
    names = [str(n) for n in d["names"]]
    if stages.ndim != 3 or stages.shape[2] != 2 or stages.shape[0] != len(names) + 1:
        raise ValueError(f"stages must be (K+1, n, 2) with K = {len(names)} layer names, "
                         f"got {stages.shape}")
    grid = d.get("grid")
    grid = None if grid is None else np.asarray(grid, np.float64)
    if grid is not None and (grid.ndim != 4 or grid.shape[0] != stages.shape[0]):
        raise ValueError(f"grid must be (K+1, lines, points, 2), got {grid.shape}")
    out = {"names": names, "stages": stages, "grid": grid, "step": int(d.get("step", 0)),
           "nll": d.get("nll"), "nll_unit": str(d.get("nll_unit", "nats"))}
    for key in ("field_x", "field_y", "density", "log_det"):
        v = d.get(key)
        out[key] = None if v is None else np.asarray(v, np.float64)
    b = d.get("bounds")
    out["bounds"] = None if b is None else (np.asarray(b[0], np.float64), np.asarray(b[1], np.float64))
    return out


def at_position(frames: np.ndarray, position: float) -> np.ndarray:
    """frames[k] at an integer position, the straight line between two neighbours between."""
    last = len(frames) - 1
    p = float(np.clip(position, 0.0, last))
    k = int(math.floor(p))
    t = p - k
    if t < 1e-9 or k >= last:
        return frames[min(k, last)]
    return (1.0 - t) * frames[k] + t * frames[k + 1]


def hue_bins(points: np.ndarray, bins: int = HUE_BINS) -> np.ndarray:
    """Each point's colour group (0..bins-1): its angle around the points' mean, so a student
    can follow a region of the data through every layer."""
    p = np.asarray(points, np.float64)
    c = p - np.median(p, axis=0)
    angle = np.arctan2(c[:, 1], c[:, 0])                         # -pi .. pi
    return np.minimum(((angle + np.pi) / (2 * np.pi) * bins).astype(np.int64), bins - 1)


def view_box(points: np.ndarray, grid: Optional[np.ndarray] = None, pad: float = 0.12,
             q: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A box around a stage: the points' q..100-q percentiles and the grid's 5..95 (a pulled
    back grid's outer lines can run far into the tails), widened by `pad` of the span."""
    p = np.asarray(points, np.float64)
    p = p[np.isfinite(p).all(1)]
    if len(p) == 0:
        return np.array([-3.0, -3.0]), np.array([3.0, 3.0])
    lo, hi = np.percentile(p, q, axis=0), np.percentile(p, 100 - q, axis=0)
    if grid is not None:
        g = np.asarray(grid, np.float64).reshape(-1, 2)
        g = g[np.isfinite(g).all(1)]
        if len(g):
            lo = np.minimum(lo, np.percentile(g, 5, axis=0))
            hi = np.maximum(hi, np.percentile(g, 95, axis=0))
    span = np.maximum(hi - lo, 1e-6)
    return lo - pad * span, hi + pad * span


def grid_polyline(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lines, points, 2) -> x, y of one polyline with a NaN between lines."""
    g = np.asarray(grid, np.float64)
    sep = np.full((g.shape[0], 1, 2), np.nan)
    flat = np.concatenate([g, sep], 1).reshape(-1, 2)
    return flat[:, 0], flat[:, 1]


def mass_in_box(density: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> float:
    """sum(p) * cell area: the probability mass the density puts in the field's box (cells
    centred on the grid points)."""
    dx = (fx[-1] - fx[0]) / max(len(fx) - 1, 1)
    dy = (fy[-1] - fy[0]) / max(len(fy) - 1, 1)
    return float(np.nansum(density) * dx * dy)


def code_image(eps: np.ndarray, clip: float = 3.0) -> np.ndarray:
    """A standard-normal code channel (h, w) as a uint8 grey image: 0 is mid-grey, +-clip
    white and black."""
    e = np.nan_to_num(np.asarray(eps, np.float64))
    return ((np.clip(e / clip, -1, 1) * 0.5 + 0.5) * 255 + 0.5).astype(np.uint8)


def histogram_bins(*samples: np.ndarray, bins: int = 40) -> np.ndarray:
    """Shared bin edges for several samples (finite values, 0.5..99.5 percentiles)."""
    v = np.concatenate([np.asarray(s, np.float64).ravel() for s in samples if s is not None])
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.linspace(0, 1, bins + 1)
    lo, hi = np.percentile(v, 0.5), np.percentile(v, 99.5)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def layer_caption(names: list[str], k: int) -> str:
    """What stage k is, in words."""
    K = len(names)
    if k <= 0:
        return "k = 0: the data x"
    if k >= K:
        return f"k = {K}: the latent z (after '{names[-1]}')" if K else "k = 0"
    return f"k = {k} of {K}: after '{names[k - 1]}'"
