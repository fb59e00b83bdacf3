"""Numpy side of the mode-collapse view (no Qt): records (mappings or ModeRecord-like
objects) as plain dicts, the heatmap's resampling onto even steps, number formats, samples
as uint8."""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import numpy as np

from ..kit import to_uint8


FIELDS = ("step", "n", "class_hist", "data_hist", "classes_covered", "num_classes", "kl_to_data",
          "real_kl", "real_classes_covered", "diversity", "real_diversity", "real_diversity_std",
          "diversity_space", "duplicates", "duplicate_pairs", "duplicate_share",
          "duplicate_threshold", "alert")
MAX_HEAT_COLUMNS = 1500         # the heatmap is resampled onto at most this many steps


def _get(rec: Any, name: str, default: Any = None) -> Any:
    if isinstance(rec, Mapping):
        return rec.get(name, default)
    return getattr(rec, name, default)


def _float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def normalise_record(rec: Any = None, **fields: Any) -> dict[str, Any]:
    """A record (mapping or object with the FIELDS attributes) as a plain dict; keyword
    fields override. Missing numbers become NaN, missing arrays None."""
    d: dict[str, Any] = {name: _get(rec, name) for name in FIELDS} if rec is not None else \
        {name: None for name in FIELDS}
    d.update({k: v for k, v in fields.items() if k in FIELDS})
    if d["step"] is None:
        raise ValueError("a mode-collapse record needs a step")
    d["step"] = int(d["step"])
    d["n"] = int(d["n"]) if d["n"] is not None else 0
    for k in ("class_hist", "data_hist"):
        a = d[k]
        d[k] = None if a is None else np.nan_to_num(np.asarray(a, np.float64).reshape(-1))
    for k in ("kl_to_data", "real_kl", "real_classes_covered", "diversity", "real_diversity",
              "real_diversity_std", "duplicate_share", "duplicate_threshold"):
        d[k] = _float(d[k])
    for k in ("classes_covered", "num_classes"):
        d[k] = None if d[k] is None else int(d[k])
    if d["num_classes"] is None and d["class_hist"] is not None:
        d["num_classes"] = len(d["class_hist"])
    d["duplicates"] = [(int(p[0]), int(p[1]), _float(p[2])) for p in (d["duplicates"] or [])]
    d["duplicate_pairs"] = int(d["duplicate_pairs"]) if d["duplicate_pairs"] is not None \
        else len(d["duplicates"])
    d["diversity_space"] = str(d["diversity_space"] or "")
    d["alert"] = str(d["alert"]) if d["alert"] else None
    return d


def heat_grid(steps: np.ndarray, hists: np.ndarray, max_columns: int = MAX_HEAT_COLUMNS
              ) -> tuple[np.ndarray, float, float]:
    """Resample per-record class shares onto evenly spaced steps so each record spans its
    interval even when snapshots are irregular. steps (T,) increasing, hists (T, K).
    Returns (image (K, cols) with row = class, x0, column width in steps); column c covers
    steps x0 + c * width .. x0 + (c + 1) * width and shows the latest record at or before
    its centre."""
    steps = np.asarray(steps, np.float64)
    hists = np.asarray(hists, np.float64)
    if len(steps) == 1:
        return hists.T.copy(), steps[0] - 0.5, 1.0
    gaps = np.diff(steps)
    pos = gaps[gaps > 0]
    g = float(pos.min()) if len(pos) else 1.0
    span = float(steps[-1] - steps[0])
    cols = int(round(span / g)) + 1
    if cols > max_columns:
        cols = max_columns
        g = span / (cols - 1)
    centres = steps[0] + g * np.arange(cols)
    idx = np.searchsorted(steps, centres + 1e-6 * g, side="right") - 1
    return hists[np.clip(idx, 0, len(steps) - 1)].T.copy(), steps[0] - g / 2, g


def _fmt_int(v: float) -> str:
    return f"{int(v):,}"


def _fmt(v: float, nd: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    a = abs(v)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{v:.2e}"
    return f"{v:.{nd}g}"


def _as_uint8_images(samples: Any) -> Optional[np.ndarray]:
    """(N, C, H, W) uint8 copy of float [0, 1] or uint8 images (None for anything else)."""
    if samples is None:
        return None
    a = np.asarray(samples)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[0] == 0:
        return None
    if a.dtype == np.uint8:
        return a.copy()
    return to_uint8(a)

