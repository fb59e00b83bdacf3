"""Turning samples into pictures: image grids and 2D scatter renders, as uint8 arrays / PNGs."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Optional

import numpy as np
from PIL import Image, PngImagePlugin

from .atomic import write_with


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) float in [0, 1] -> uint8 with rounding, clipped."""
    return (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def image_grid(images: np.ndarray, ncols: Optional[int] = None, pad: int = 2,
               pad_value: int = 40) -> np.ndarray:
    """(N, C, H, W) float [0, 1] or uint8 -> (rows*H, cols*W, C) uint8 grid, C in {1, 3}."""
    if images.ndim != 4:
        raise ValueError(f"image_grid expects (N, C, H, W), got shape {images.shape}")
    imgs = images if images.dtype == np.uint8 else to_uint8(images)
    n, c, h, w = imgs.shape
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = max(1, math.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y:y + h, x:x + w] = imgs[i].transpose(1, 2, 0)
    return grid


def scatter_image(points: np.ndarray, size: int = 512, extent: Optional[tuple] = None,
                  reference: Optional[np.ndarray] = None) -> np.ndarray:
    """Render (N, 2) points as an (size, size, 3) uint8 picture: samples in orange over
    optional reference points in grey. Extent is (xmin, xmax, ymin, ymax)."""
    pts = np.asarray(points, np.float64)
    if extent is None:
        both = pts if reference is None else np.concatenate([pts, reference])
        finite = both[np.isfinite(both).all(1)]
        lo, hi = (finite.min(0), finite.max(0)) if len(finite) else (np.zeros(2) - 1, np.ones(2))
        margin = 0.08 * max(float((hi - lo).max()), 1e-6)
        cx, cy = (lo + hi) / 2
        half = float((hi - lo).max()) / 2 + margin
        extent = (cx - half, cx + half, cy - half, cy + half)
    img = np.full((size, size, 3), 250, np.uint8)
    for arr, colour in ((reference, (170, 170, 170)), (pts, (230, 110, 20))):
        if arr is None:
            continue
        a = np.asarray(arr, np.float64)
        a = a[np.isfinite(a).all(1)]
        px = ((a[:, 0] - extent[0]) / (extent[1] - extent[0]) * (size - 1)).round().astype(int)
        py = ((extent[3] - a[:, 1]) / (extent[3] - extent[2]) * (size - 1)).round().astype(int)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                x, y = px + dx, py + dy
                ok = (x >= 0) & (x < size) & (y >= 0) & (y < size)
                img[y[ok], x[ok]] = colour
    return img


def save_png(path: str | Path, pixels: np.ndarray, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Save an (H, W), (H, W, 1) or (H, W, 3) uint8 array atomically, with PNG text chunks."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    info = PngImagePlugin.PngInfo()
    for k, v in (metadata or {}).items():
        info.add_itxt(k, str(v))
    img = Image.fromarray(pixels)
    write_with(path, lambda tmp: img.save(tmp, format="PNG", pnginfo=info))


def samples_picture(samples: np.ndarray, reference: Optional[np.ndarray] = None) -> np.ndarray:
    """A picture of samples of either kind: a grid of images or a scatter of points."""
    if samples.ndim == 4:
        return image_grid(samples)
    return scatter_image(samples, reference=reference)
