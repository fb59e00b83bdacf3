"""Numpy side of the scrubber (no Qt): checking a trajectory dict, the schedule's log10
SNR, noise as a picture, the steps an x0-across-steps export picks, point spacing."""
from __future__ import annotations

from typing import Any

import numpy as np


GRID_KEYS = ("xt", "x0", "eps", "x0_true", "eps_true")
TRUTH_KEYS = ("x0_true", "eps_true")
NOISE_KEYS = ("eps", "eps_true")


def log10_snr(alpha_bar: np.ndarray) -> np.ndarray:
    """log10(abar / (1 - abar)), with abar kept inside (1e-12, 1 - 1e-12) so the ends stay
    finite; non-finite inputs stay NaN."""
    ab = np.asarray(alpha_bar, np.float64)
    c = np.clip(ab, 1e-12, 1.0 - 1e-12)
    out = np.log10(c / (1.0 - c))
    out[~np.isfinite(ab)] = np.nan
    return out


def noise_to_display(eps: np.ndarray) -> np.ndarray:
    """Predicted noise (unit variance) as an image in [0, 1]: 0.5 + 0.25 eps, clipped."""
    e = np.nan_to_num(np.asarray(eps, np.float32), nan=0.0)
    return np.clip(e * 0.25 + 0.5, 0.0, 1.0)


def pick_steps(n_steps: int, k: int = 10) -> np.ndarray:
    """min(k, n_steps) step indices evenly spaced over 0..n_steps-1, first and last included,
    ascending and distinct (int64)."""
    n_steps, k = int(n_steps), int(k)
    if n_steps <= 0 or k <= 0:
        return np.zeros(0, np.int64)
    k = min(k, n_steps)
    if k == 1:
        return np.array([n_steps - 1], np.int64)
    return np.round(np.linspace(0, n_steps - 1, k)).astype(np.int64)


def x0_across_steps(traj: dict, k: int = 10) -> np.ndarray:
    """The predicted x0 at k evenly spaced steps of a trajectory: (k, N, C, H, W) (or
    (k, N, 2) for points), picked by `pick_steps` (k is capped at the number of steps)."""
    if "x0" not in traj or traj["x0"] is None:
        raise ValueError("x0_across_steps: the trajectory has no 'x0'")
    x0 = np.asarray(traj["x0"])
    return x0[pick_steps(len(x0), k)]


def _grid_channels(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) with C in {1, 3} for make_grid: 4 channels -> RGB, others -> channel 0."""
    c = images.shape[1]
    if c in (1, 3):
        return images
    if c == 4:
        return images[:, :3]
    return images[:, :1]


def _normalise_trajectory(traj: dict) -> dict:
    """Check shapes and return {"t", "xt", "x0", "eps", "mode", "kind"} (x0/eps may be None)."""
    if not isinstance(traj, dict) or "t" not in traj or "xt" not in traj:
        raise ValueError("set_trajectory: expected a dict with at least 't' and 'xt'")
    t = np.asarray(traj["t"]).reshape(-1).astype(np.int64)
    xt = np.asarray(traj["xt"])
    if xt.ndim == 5:
        kind = "images"
    elif xt.ndim == 3 and xt.shape[2] == 2:
        kind = "points"
    else:
        raise ValueError(f"set_trajectory: 'xt' must be (S, N, C, H, W) images or (S, N, 2) "
                         f"points, got shape {xt.shape}")
    if len(t) != len(xt) or len(t) == 0:
        raise ValueError(f"set_trajectory: 't' has {len(t)} steps but 'xt' has {len(xt)}")
    out: dict[str, Any] = {"t": t, "xt": xt, "kind": kind}
    for key in ("x0", "eps", *TRUTH_KEYS):
        a = traj.get(key)
        if a is not None:
            a = np.asarray(a)
            if a.shape != xt.shape:
                raise ValueError(f"set_trajectory: '{key}' has shape {a.shape}, 'xt' {xt.shape}")
        out[key] = a
    mse = traj.get("eps_mse")
    if mse is not None:
        mse = np.asarray(mse, np.float64)
        mse = mse.reshape(len(mse), -1)
        if len(mse) != len(t) or mse.shape[1] not in (1, xt.shape[1]):
            raise ValueError(f"set_trajectory: 'eps_mse' must be (S,) or (S, N), got {mse.shape}")
    out["eps_mse"] = mse
    mode = traj.get("mode")
    if mode not in ("sample", "forward"):
        mode = "forward" if len(t) > 1 and t[-1] > t[0] else "sample"
    out["mode"] = mode
    return out


def _typical_spacing(xy: np.ndarray) -> float:
    """Median distance from a point to its nearest neighbour (on a subsample of <= 400)."""
    pts = xy[np.isfinite(xy).all(axis=1)]
    if len(pts) < 2:
        return 1.0
    probe = pts[np.linspace(0, len(pts) - 1, min(len(pts), 400)).astype(np.int64)]
    d = np.linalg.norm(probe[:, None, :] - pts[None, :, :], axis=2)
    d[d <= 1e-12] = np.inf                       # itself (and duplicates)
    nearest = d.min(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    return float(np.median(nearest)) if nearest.size else 1.0

