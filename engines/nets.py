"""Reusable networks for the engines (torch only).

- `MLP`: plain fully connected stack, used for 2D points and for images with `arch="mlp"`.
- `ConvEncoder` / `ConvDecoder`: a stride-2 conv ladder for (C, H, W) images of any size and
  its mirror image, which gives back *exactly* (C, H, W) (odd sizes included, e.g.
  28 -> 14 -> 7 -> 14 -> 28 and 13x11 -> 7x6 -> 13x11).
- `make_encoder` / `make_decoder`: pick the right one for a DataSpec.

No normalisation layer couples the samples of a batch (no BatchNorm): the encoders are
per-sample functions, which the contractive autoencoder's per-sample Jacobian relies on.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from .spec import DataSpec

ACTIVATIONS = ("silu", "relu", "leaky_relu", "tanh", "gelu")


def make_act(name: str) -> nn.Module:
    if name == "silu":
        return nn.SiLU()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "tanh":
        return nn.Tanh()
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


class MLP(nn.Module):
    """in_dim -> hidden[0] -> ... -> hidden[-1] -> out_dim, activation between layers,
    none after the last. Inputs with more than 2 dims are flattened from dim 1."""

    def __init__(self, in_dim: int, out_dim: int, hidden: Sequence[int] = (256, 256),
                 act: str = "silu"):
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers += [nn.Linear(d, h), make_act(act)]
            d = h
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() > 2:
            x = x.flatten(1)
        return self.net(x)


def conv_sizes(height: int, width: int, max_levels: int = 4, min_size: int = 8) -> list[tuple[int, int]]:
    """Spatial sizes of the conv ladder, input size first. Halve (ceil) while the smaller
    side is >= `min_size`, at most `max_levels` times, and at least once when the image is
    at least 2x2 (so even tiny images get one conv level)."""
    sizes = [(height, width)]
    h, w = height, width
    while len(sizes) - 1 < max_levels and min(h, w) >= min_size:
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        sizes.append((h, w))
    if len(sizes) == 1 and min(h, w) >= 2 and max_levels > 0:
        sizes.append((math.ceil(h / 2), math.ceil(w / 2)))
    return sizes


class ConvEncoder(nn.Module):
    """(B, C, H, W) -> (B, out_dim).

    One 3x3 stride-2 padding-1 conv per level (size -> ceil(size / 2)), channels
    `channels`, 2*channels, 4*channels, ... (capped at 8*channels), then flatten ->
    [Linear(fc) -> act] -> Linear(out_dim). `fc=0` drops the hidden linear layer."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, channels: int = 32,
                 fc: int = 256, act: str = "silu", max_levels: int = 4):
        super().__init__()
        c, h, w = in_shape
        self.in_shape = (c, h, w)
        self.sizes = conv_sizes(h, w, max_levels)
        self.chans = [c] + [channels * min(2 ** i, 8) for i in range(len(self.sizes) - 1)]
        layers: list[nn.Module] = []
        for cin, cout in zip(self.chans[:-1], self.chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), make_act(act)]
        self.convs = nn.Sequential(*layers)
        hl, wl = self.sizes[-1]
        flat = self.chans[-1] * hl * wl
        head: list[nn.Module] = []
        if fc > 0:
            head += [nn.Linear(flat, fc), make_act(act)]
            flat = fc
        head.append(nn.Linear(flat, out_dim))
        self.head = nn.Sequential(*head)
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.convs(x).flatten(1))


class ConvDecoder(nn.Module):
    """(B, in_dim) -> (B, C, H, W), the mirror of `ConvEncoder` with the same arguments.

    Linear [-> act -> Linear] to the encoder's last feature map, then one 3x3 stride-2
    ConvTranspose2d per level; its output_padding (per axis) is 1 where the target size is
    even and 0 where it is odd, since out = 2 * in - 1 + output_padding and
    in = ceil(target / 2). The last layer has no activation (it returns logits / raw values)."""

    def __init__(self, in_dim: int, out_shape: Sequence[int], channels: int = 32,
                 fc: int = 256, act: str = "silu", max_levels: int = 4):
        super().__init__()
        c, h, w = out_shape
        self.out_shape = (c, h, w)
        sizes = conv_sizes(h, w, max_levels)
        chans = [c] + [channels * min(2 ** i, 8) for i in range(len(sizes) - 1)]
        hl, wl = sizes[-1]
        self.top = (chans[-1], hl, wl)
        flat = chans[-1] * hl * wl
        head: list[nn.Module] = []
        if fc > 0:
            head += [nn.Linear(in_dim, fc), make_act(act), nn.Linear(fc, flat)]
        else:
            head.append(nn.Linear(in_dim, flat))
        self.head = nn.Sequential(*head)
        layers: list[nn.Module] = []
        n = len(sizes) - 1
        for i in range(n, 0, -1):  # level i: sizes[i] -> sizes[i-1], chans[i] -> chans[i-1]
            th, tw = sizes[i - 1]
            op = (1 - th % 2, 1 - tw % 2)
            layers += [make_act(act),
                       nn.ConvTranspose2d(chans[i], chans[i - 1], 3, stride=2, padding=1,
                                          output_padding=op)]
        self.convs = nn.Sequential(*layers)
        self.in_dim = in_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.convs(self.head(z).view(z.shape[0], *self.top))


class Unflatten(nn.Module):
    """Wraps a flat-output module so it returns (B, *shape)."""

    def __init__(self, net: nn.Module, shape: Sequence[int]):
        super().__init__()
        self.net = net
        self.shape = tuple(shape)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


def make_encoder(spec: DataSpec, out_dim: int, *, arch: str = "conv", hidden: int = 256,
                 depth: int = 2, channels: int = 32, act: str = "silu") -> nn.Module:
    """Encoder for a data set: (B, *spec.sample_shape) -> (B, out_dim).
    Points always use an MLP; images use `arch` ("conv" or "mlp": flatten then MLP)."""
    if spec.is_images and arch == "conv":
        return ConvEncoder(spec.sample_shape, out_dim, channels=channels, fc=hidden, act=act)
    if arch not in ("conv", "mlp"):
        raise ValueError(f"unknown arch {arch!r}; choose 'conv' or 'mlp'")
    return MLP(spec.numel, out_dim, (hidden,) * depth, act)


def make_decoder(spec: DataSpec, in_dim: int, *, arch: str = "conv", hidden: int = 256,
                 depth: int = 2, channels: int = 32, act: str = "silu") -> nn.Module:
    """Decoder for a data set: (B, in_dim) -> (B, *spec.sample_shape), raw outputs
    (logits for images, standardised coordinates for points)."""
    if spec.is_images and arch == "conv":
        return ConvDecoder(in_dim, spec.sample_shape, channels=channels, fc=hidden, act=act)
    if arch not in ("conv", "mlp"):
        raise ValueError(f"unknown arch {arch!r}; choose 'conv' or 'mlp'")
    mlp = MLP(in_dim, spec.numel, (hidden,) * depth, act)
    return Unflatten(mlp, spec.sample_shape) if spec.is_images else mlp
