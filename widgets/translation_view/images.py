"""Numpy helpers of the translation view (no Qt): a heat colour map for amplified
differences, nearest-neighbour resizing to a common size, the zoom crop, and captions."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def heat(v: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] (clipped) -> (3, H, W) float RGB, black -> red -> yellow ->
    white (the "hot" map): faint differences stay visible on black."""
    v = np.clip(np.nan_to_num(np.asarray(v, np.float32)), 0.0, 1.0)
    return np.stack([np.clip(3 * v, 0, 1), np.clip(3 * v - 1, 0, 1), np.clip(3 * v - 2, 0, 1)])


def amplified(diff: np.ndarray, gain: float) -> np.ndarray:
    """|difference| (C, H, W) or (H, W), averaged over channels, times `gain`, as a heat map."""
    d = np.abs(np.asarray(diff, np.float32))
    if d.ndim == 3:
        d = d.mean(0)
    return heat(d * float(gain))


def grey(image: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) -> (C, H, W) as is (1 or 3 channels); other channel counts: the mean."""
    a = np.asarray(image, np.float32)
    if a.ndim == 2:
        return a[None]
    if a.shape[0] in (1, 3):
        return a
    return a.mean(0, keepdims=True)


def to_size(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of (C, H, W) to (C, height, width) (pixels stay square blocks:
    a 14x14 low-res input shown at 28x28 keeps its pixels)."""
    a = grey(image)
    _, h, w = a.shape
    if (h, w) == (height, width):
        return a
    rows = np.minimum((np.arange(height) + 0.5) * h / height, h - 1).astype(int)
    cols = np.minimum((np.arange(width) + 0.5) * w / width, w - 1).astype(int)
    return a[:, rows][:, :, cols]


def zoom_crop(image: np.ndarray, centre: tuple[float, float], zoom: float,
              height: Optional[int] = None, width: Optional[int] = None) -> np.ndarray:
    """The square around `centre` (fractions (fx, fy) of the width and height) of 1/zoom of
    the image's size, kept inside the image, at `height` x `width` (default: the image's, at
    its own resolution) scaled up by pixel repetition: a magnifier."""
    a = grey(image)
    _, h, w = a.shape
    height, width = height or h, width or w
    a = to_size(a, height, width)
    z = max(1.0, float(zoom))
    ch, cw = max(1, int(round(height / z))), max(1, int(round(width / z)))
    cy = int(round(centre[1] * height - ch / 2))
    cx = int(round(centre[0] * width - cw / 2))
    cy, cx = min(max(cy, 0), height - ch), min(max(cx, 0), width - cw)
    crop = a[:, cy:cy + ch, cx:cx + cw]
    k = max(1, int(round(z)))
    return np.repeat(np.repeat(crop, k, 1), k, 2)


def score_caption(l1: Optional[Sequence[float]], psnr: Optional[Sequence[float]], i: int) -> str:
    """"L1 0.083 · 17.2 dB" for image i (what an output is scored on), "" without a truth."""
    if l1 is None or psnr is None or i >= len(l1):
        return ""
    return f"L1 {float(l1[i]):.3f} \u00b7 {float(psnr[i]):.1f} dB"


def mean_scores(l1, psnr) -> str:
    if l1 is None or psnr is None or not len(l1):
        return ""
    return f"mean L1 {float(np.mean(l1)):.3f} \u00b7 PSNR {float(np.mean(psnr)):.1f} dB"
