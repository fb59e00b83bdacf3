"""The canvas's input: `CanvasFrame` (numpy arrays of one training step) and its
validation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

FIELD_KINDS = ("critic", "density")

@dataclass
class CanvasFrame:
    """What the canvas shows for one training step (numpy only; None = the model or data set
    has no such thing, and that layer is greyed out).

    real: (N, 2) training samples; fake: (M, 2) generated samples.
    field_x (gx,), field_y (gy,): ascending, evenly spaced cell centres; field_values
        (gy, gx): the discriminator / critic output, field_values[j, i] at (field_x[i],
        field_y[j]); field_label names it for the colour bar (e.g. "D(x) = P(real)").
    field_levels: the colour range (lo, hi); None: (0, 1) for values inside [0, 1] (a
        probability), else the 1st-99th percentile, widened at once and narrowed slowly.
    field_kind: "critic" (a discriminator's or critic's judgement, a diverging colour map)
        or "density" (a model's density p(x) >= 0, a sequential colour map from the
        background up; then field_log_values (gy, gx) may hold log p(x) for the panel's
        "log p(x)" scale, named by field_log_label).
    arrows_at (K, 2) and arrows (K, 2): where the generator's gradient arrows start and the
        vectors (the direction G's update moves those points).
    manifold: (rows, cols, 2), G applied to a rows x cols grid of latent codes.
    modes: (Km, 2) mode centres; mode_sigma their standard deviation (0: unknown).
    """
    step: int
    real: Optional[np.ndarray] = None
    fake: Optional[np.ndarray] = None
    field_x: Optional[np.ndarray] = None
    field_y: Optional[np.ndarray] = None
    field_values: Optional[np.ndarray] = None
    field_label: str = ""
    field_levels: Optional[tuple[float, float]] = None
    field_kind: str = "critic"
    field_log_values: Optional[np.ndarray] = None
    field_log_label: str = ""
    arrows_at: Optional[np.ndarray] = None
    arrows: Optional[np.ndarray] = None
    manifold: Optional[np.ndarray] = None
    modes: Optional[np.ndarray] = None
    mode_sigma: float = 0.0


def _points(a: Optional[np.ndarray], name: str) -> Optional[np.ndarray]:
    if a is None:
        return None
    a = np.asarray(a, np.float32)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"CanvasFrame.{name} must be (N, 2), got shape {a.shape}")
    return a


def _check_frame(f: CanvasFrame) -> dict:
    """The frame's arrays as float32 (validated); a layer is None when its data is missing."""
    out = {"real": _points(f.real, "real"), "fake": _points(f.fake, "fake"),
           "modes": _points(f.modes, "modes"), "field": None, "field_log": None,
           "arrows": None, "manifold": None}
    if f.field_kind not in FIELD_KINDS:
        raise ValueError(f"CanvasFrame.field_kind must be one of {FIELD_KINDS}, got {f.field_kind!r}")
    if f.field_values is not None:
        v = np.asarray(f.field_values, np.float32)
        if f.field_x is None or f.field_y is None:
            raise ValueError("CanvasFrame.field_values needs field_x and field_y")
        fx = np.asarray(f.field_x, np.float64).reshape(-1)
        fy = np.asarray(f.field_y, np.float64).reshape(-1)
        if v.shape != (len(fy), len(fx)):
            raise ValueError(f"CanvasFrame.field_values must be (len(field_y), len(field_x)) = "
                             f"({len(fy)}, {len(fx)}), got {v.shape}")
        if v.size:
            out["field"] = (fx, fy, v)
        if f.field_log_values is not None and v.size:
            lv = np.asarray(f.field_log_values, np.float32)
            if lv.shape != v.shape:
                raise ValueError(f"CanvasFrame.field_log_values must have the shape of "
                                 f"field_values {v.shape}, got {lv.shape}")
            out["field_log"] = (fx, fy, lv)
    if f.arrows_at is not None and f.arrows is not None:
        at, vec = _points(f.arrows_at, "arrows_at"), _points(f.arrows, "arrows")
        if at.shape != vec.shape:
            raise ValueError(f"CanvasFrame.arrows {vec.shape} must match arrows_at {at.shape}")
        out["arrows"] = (at, vec)
    if f.manifold is not None:
        m = np.asarray(f.manifold, np.float32)
        if m.ndim != 3 or m.shape[2] != 2:
            raise ValueError(f"CanvasFrame.manifold must be (rows, cols, 2), got {m.shape}")
        out["manifold"] = m
    return out

