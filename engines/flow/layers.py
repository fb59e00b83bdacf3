"""The invertible layers of the flow engine (torch only).

Every layer maps x -> y in the generative model's *inverse* direction (data -> noise), which
is the direction training evaluates:

    forward(x) -> (y, logdet)   logdet = log |det dy/dx| per sample, shape (n,)
    inverse(y) -> x

Inputs are images (n, C, H, W) or points (n, C) (treated as 1x1 images: H = W = 1), so one
set of layers serves Glow on images and RealNVP-style flows on 2D points. The log-det of a
per-position map is (number of positions) x the log-det of the per-channel map.

Equations (../shared/REFERENCES.md, "Normalizing flows"):
- ActNorm (Glow): y = (x + b) * exp(log_s) per channel; data-dependent init on the first
  training batch so that y has zero mean and unit variance per channel; logdet = HW sum log_s.
- Invertible 1x1 convolution (Glow): y = W x at every position; logdet = HW log |det W|.
  The LU form W = P L (U + diag(sign_s exp(log_s))) gives logdet = HW sum log_s in O(C).
- Affine coupling (RealNVP/Glow): x = (x_a, x_b), (t, s) = NN(x_a), y_b = (x_b + t) * s,
  logdet = sum log s; s = sigmoid(h + 2) on images (Glow's official code; here kept above
  SCALE_FLOOR = 0.05 so sampling cannot divide by ~0: s = 0.05 + 0.95 sigmoid(h + 2)) or
  exp(3 tanh(h / 3)) on points (bounded both ways: a 2D toy needs to expand as well);
  additive coupling (NICE): y_b = x_b + t, logdet = 0. The last layer of NN starts at zero,
  so every step starts as the identity.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def positions(x: Tensor) -> int:
    """H * W for images, 1 for points."""
    return x.shape[2] * x.shape[3] if x.dim() == 4 else 1


def _per_channel(v: Tensor, x: Tensor) -> Tensor:
    """A (C,) vector shaped to broadcast over x's channel dimension."""
    return v.view(1, -1, 1, 1) if x.dim() == 4 else v.view(1, -1)


def _channel_moments(x: Tensor) -> tuple[Tensor, Tensor]:
    dims = (0, 2, 3) if x.dim() == 4 else (0,)
    return x.mean(dims), x.std(dims, unbiased=False)


class ActNorm(nn.Module):
    """Per-channel affine map with Glow's data-dependent initialisation. `initialised` is a
    buffer, saved with the weights, so a resumed run never initialises twice."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.uint8))

    # under torchrun: averages a tensor over the processes (set by FlowEngine.distribute), so
    # the initialisation uses the global batch's moments; None in one process
    reduce_mean = None

    @torch.no_grad()
    def initialise(self, x: Tensor) -> None:
        if self.reduce_mean is None:
            mean, std = _channel_moments(x)
        else:       # equal shards: the global moments are means of the shards' moments
            dims = (0, 2, 3) if x.dim() == 4 else (0,)
            mean = self.reduce_mean(x.mean(dims))
            std = self.reduce_mean((x - _per_channel(mean, x)).pow(2).mean(dims)).sqrt()
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialised.fill_(1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.training and not bool(self.initialised):
            self.initialise(x)
        y = (x + _per_channel(self.bias, x)) * _per_channel(self.log_scale.exp(), x)
        logdet = positions(x) * self.log_scale.sum()
        return y, logdet.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        return y * _per_channel((-self.log_scale).exp(), y) - _per_channel(self.bias, y)


def random_rotation(c: int) -> Tensor:
    """A random orthogonal matrix with det +1 (Glow's initialisation of W), from the global
    RNG (the engine is built under the run's seed)."""
    q, _ = torch.linalg.qr(torch.randn(c, c))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _mix(x: Tensor, w: Tensor) -> Tensor:
    if x.dim() == 4:
        return F.conv2d(x, w.view(*w.shape, 1, 1))
    return x @ w.t()


class InvConv1x1(nn.Module):
    """Glow's invertible 1x1 convolution with a full matrix W; log |det W| by slogdet."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(random_rotation(channels))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        logdet = positions(x) * torch.linalg.slogdet(self.weight)[1]
        return _mix(x, self.weight), logdet.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        return _mix(y, torch.linalg.inv(self.weight))


class InvConv1x1LU(nn.Module):
    """The LU-decomposed form W = P L (U + diag(sign_s exp(log_s))): P fixed, L unit lower
    triangular, U strictly upper triangular, log-det = HW sum log_s (Glow, section 3.2)."""

    def __init__(self, channels: int):
        super().__init__()
        w = random_rotation(channels)
        p, lower, upper = torch.linalg.lu(w)
        s = torch.diagonal(upper)
        self.register_buffer("perm", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(torch.log(s.abs()))

    def matrix(self) -> Tensor:
        eye = torch.eye(self.lower.shape[0], device=self.lower.device, dtype=self.lower.dtype)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.t() + torch.diag(self.sign_s * self.log_s.exp())
        return self.perm @ lower @ upper

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        logdet = positions(x) * self.log_s.sum()
        return _mix(x, self.matrix()), logdet.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        return _mix(y, torch.linalg.inv(self.matrix()))


class Reverse(nn.Module):
    """The fixed channel reversal of RealNVP's alternating masks; log-det 0."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x.flip(1), x.new_zeros(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        return y.flip(1)


MIXINGS = {"lu": InvConv1x1LU, "plain": InvConv1x1, "reverse": lambda c: Reverse()}


class ZeroLinear(nn.Linear):
    """A linear layer that starts at exactly zero (the coupling's last layer)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__(n_in, n_out)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class ZeroConv(nn.Module):
    """Glow's Conv2dZeros: a 3x3 convolution starting at zero, its output scaled by a
    per-channel exp(3 * logs) (also zero-initialised) so it can grow quickly."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.conv = nn.Conv2d(n_in, n_out, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.logs = nn.Parameter(torch.zeros(1, n_out, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x) * torch.exp(3.0 * self.logs)


# Glow's scale sigmoid(h + 2) lies in (0, 1): sampling divides by it, and a scale near 0 at
# one coupling (a poorly trained net on an unusual input) sends a sample to inf, then NaN
# (measured: 18 of 500 samples at T = 1 after 300 MNIST steps). Kept above SCALE_FLOOR the
# inverse expands at most 1 / SCALE_FLOOR per coupling; near the initial scale the two agree.
SCALE_FLOOR = 0.05


def coupling_net(c_in: int, c_out: int, hidden: int, depth: int, images: bool) -> nn.Module:
    """NN(x_a) of a coupling: Glow's conv3x3 -> ReLU -> conv1x1 -> ReLU -> zero conv3x3 on
    images; an MLP of `depth` hidden layers with a zero last layer on points."""
    if images:
        return nn.Sequential(nn.Conv2d(c_in, hidden, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                             ZeroConv(hidden, c_out))
    layers: list[nn.Module] = []
    d = c_in
    for _ in range(max(depth, 1)):
        layers += [nn.Linear(d, hidden), nn.ReLU()]
        d = hidden
    layers.append(ZeroLinear(d, c_out))
    return nn.Sequential(*layers)


class Coupling(nn.Module):
    """Affine (RealNVP/Glow) or additive (NICE) coupling on the channel halves: x_a (the
    first floor(C/2) channels) conditions the map of x_b (the rest)."""

    def __init__(self, channels: int, hidden: int, depth: int, images: bool, kind: str = "affine"):
        super().__init__()
        if channels < 2:
            raise ValueError("a coupling layer needs at least 2 channels (dimensions)")
        if kind not in ("affine", "additive"):
            raise ValueError(f"coupling {kind!r}: choose 'affine' or 'additive'")
        self.kind, self.images = kind, images
        self.split = channels // 2
        out = channels - self.split
        self.net = coupling_net(self.split, 2 * out if kind == "affine" else out, hidden, depth,
                                images)

    def _shift_log_scale(self, xa: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        h = self.net(xa)
        if self.kind == "additive":
            return h, None
        shift, raw = h[:, 0::2], h[:, 1::2]
        if self.images:
            log_s = torch.log(SCALE_FLOOR + (1.0 - SCALE_FLOOR) * torch.sigmoid(raw + 2.0))
        else:
            log_s = 3.0 * torch.tanh(raw / 3.0)
        return shift, log_s

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        xa, xb = x[:, :self.split], x[:, self.split:]
        shift, log_s = self._shift_log_scale(xa)
        if log_s is None:
            return torch.cat([xa, xb + shift], 1), x.new_zeros(x.shape[0])
        yb = (xb + shift) * log_s.exp()
        return torch.cat([xa, yb], 1), log_s.flatten(1).sum(1)

    def inverse(self, y: Tensor) -> Tensor:
        ya, yb = y[:, :self.split], y[:, self.split:]
        shift, log_s = self._shift_log_scale(ya)
        if log_s is None:
            return torch.cat([ya, yb - shift], 1)
        return torch.cat([ya, yb * (-log_s).exp() - shift], 1)


class FlowStep(nn.Module):
    """One step of flow: actnorm -> channel mixing -> coupling (Glow's order)."""

    def __init__(self, channels: int, hidden: int, depth: int, images: bool,
                 coupling: str = "affine", mixing: str = "lu"):
        super().__init__()
        if mixing not in MIXINGS:
            raise ValueError(f"mixing {mixing!r}: choose one of {', '.join(MIXINGS)}")
        self.norm = ActNorm(channels)
        self.mix = MIXINGS[mixing](channels)
        self.coupling = Coupling(channels, hidden, depth, images, coupling)

    def layers(self) -> list[nn.Module]:
        return [self.norm, self.mix, self.coupling]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return compose(self.layers(), x)

    def inverse(self, y: Tensor) -> Tensor:
        return compose_inverse(self.layers(), y)


def compose(layers, x: Tensor) -> tuple[Tensor, Tensor]:
    """x through `layers` in order: (y, the summed log-dets)."""
    total = x.new_zeros(x.shape[0])
    for layer in layers:
        x, ld = layer(x)
        total = total + ld
    return x, total


def compose_inverse(layers, y: Tensor) -> Tensor:
    """The inverse of `compose(layers, .)`: each layer's inverse, last layer first."""
    for layer in reversed(layers):
        y = layer.inverse(y)
    return y


def squeeze(x: Tensor) -> Tensor:
    """(n, C, H, W) -> (n, 4C, H/2, W/2): each 2x2 block becomes 4 channels (RealNVP)."""
    n, c, h, w = x.shape
    x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x: Tensor) -> Tensor:
    """The inverse of `squeeze`."""
    n, c, h, w = x.shape
    x = x.view(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, 2 * h, 2 * w)


LOG_2PI = math.log(2 * math.pi)


def std_normal_logp(eps: Tensor) -> Tensor:
    """log N(eps; 0, I) summed over all but the batch dimension, (n,)."""
    return -0.5 * (eps.pow(2) + LOG_2PI).flatten(1).sum(1)
