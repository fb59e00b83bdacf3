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
    # Two-sided image sets (translation): the fields above describe the TARGET side (what a
    # translator produces); these the SOURCE side it reads, at its own size (mnist-lowres:
    # 1x14x14 -> 1x28x28). pairing "" = one side, "paired" (pix2pix, SRGAN: source i belongs
    # to target i) or "unpaired" (CycleGAN: two domains of different images).
    pairing: str = ""
    source_channels: int = 0
    source_height: int = 0
    source_width: int = 0

    @property
    def two_sided(self) -> bool:
        return self.pairing != ""

    @property
    def source_shape(self) -> tuple[int, ...]:
        """(C, H, W) of the source side; () for a one-sided data set."""
        return (self.source_channels, self.source_height, self.source_width) \
            if self.two_sided else ()

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
    y: (B,) int64 class labels, or None.
    Two-sided data (DataSpec.pairing set): x is the target side, x2 the source side
    (B, C2, H2, W2) float32 in [0, 1] and y2 its labels; when paired, x2[i] is the partner
    of x[i]; when unpaired, x2 is an independent draw from the other domain."""

    x: torch.Tensor
    y: Optional[torch.Tensor] = None
    x2: Optional[torch.Tensor] = None
    y2: Optional[torch.Tensor] = None
