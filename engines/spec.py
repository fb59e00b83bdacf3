"""What the engines are told about the data, and what one training batch is.

Lives in engines/ (not studio/) because engines must never import studio; studio's data
sets produce these objects.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Optional

import torch


@dataclass(frozen=True)
class DataSpec:
    """Shape of a data set. Images are NCHW float in [0, 1]; points are (N, dim) floats
    in data coordinates (engines must give samples back in the same coordinates)."""

    kind: Literal["points", "images"]
    channels: int = 0          # images only
    height: int = 0            # images only
    width: int = 0             # images only
    dim: int = 0               # points only
    num_classes: int = 0       # 0 when the data set has no labels
    # Points only: mean and std per coordinate of the training set, so networks can
    # work in standardised units and still answer in data coordinates.
    point_mean: tuple[float, ...] = ()
    point_std: tuple[float, ...] = ()

    @property
    def is_images(self) -> bool:
        return self.kind == "images"

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.is_images:
            return (self.channels, self.height, self.width)
        return (self.dim,)

    @property
    def numel(self) -> int:
        n = 1
        for s in self.sample_shape:
            n *= s
        return n


class Batch(NamedTuple):
    """One training batch, already on the engine's device.
    x: images (B, C, H, W) float32 in [0, 1], or points (B, dim) float32.
    y: (B,) int64 class labels, or None."""

    x: torch.Tensor
    y: Optional[torch.Tensor] = None
