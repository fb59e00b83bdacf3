"""The two flow architectures: Glow's multi-scale flow for images and a RealNVP-style stack
for points. Both are bijections data -> standard-normal noise `eps` with

    log p(x) = log N(eps(x); 0, I) + log |det d eps / dx|

(the change of variables; the learned priors of Glow's levels are affine maps inside the
bijection, so the base is always N(0, I) and temperature sampling scales eps).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from .layers import (FlowStep, ZeroConv, compose, compose_inverse, squeeze, std_normal_logp,
                     unsqueeze)


class Dequantise:
    """Uniform dequantisation of 8-bit images in [0, 1]: x -> (round(255 x) + u) / 256 with
    u ~ U[0, 1) (so a pixel's mass spreads over its own 1/256 cell); then
    bits/dim = (-log p(x_deq) + D log 256) / (D log 2)."""

    @staticmethod
    def apply(x: Tensor, u: Tensor) -> Tensor:
        return (torch.round(x * 255.0) + u) / 256.0

    @staticmethod
    def bits_per_dim(log_p: Tensor, dims: int) -> Tensor:
        return (-log_p + dims * math.log(256.0)) / (dims * math.log(2.0))


class Preprocess(nn.Module):
    """x in [0, 1] -> the flow's input. "center": y = x - 1/2 (Glow; log-det 0); "logit":
    y = logit(a + (1 - 2a) x) (RealNVP) with log-det sum log((1 - 2a) / (s (1 - s))),
    s = a + (1 - 2a) x."""

    def __init__(self, kind: str = "center", alpha: float = 1e-6):
        super().__init__()
        if kind not in ("center", "logit"):
            raise ValueError(f"preprocess {kind!r}: choose 'center' or 'logit'")
        self.kind, self.alpha = kind, float(alpha)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.kind == "center":
            return x - 0.5, x.new_zeros(x.shape[0])
        a = self.alpha
        s = a + (1 - 2 * a) * x
        y = torch.log(s) - torch.log1p(-s)
        logdet = (math.log(1 - 2 * a) - torch.log(s) - torch.log1p(-s)).flatten(1).sum(1)
        return y, logdet

    def inverse(self, y: Tensor) -> Tensor:
        if self.kind == "center":
            return y + 0.5
        return (torch.sigmoid(y) - self.alpha) / (1 - 2 * self.alpha)


class GlowFlow(nn.Module):
    """Glow (Kingma & Dhariwal 2018): `levels` levels of squeeze -> `steps` flow steps; after
    every level but the last, half the channels leave as that level's code, standardised by
    a learned prior N(mu(h), exp(logs(h))^2) conditioned on the kept half h (a zero conv);
    the top level's prior is a learned per-position mean and log-std. eps of a level is its
    code standardised: eps = (z - mu) exp(-logs), log-det -sum logs."""

    def __init__(self, shape: Sequence[int], levels: int, steps: int, hidden: int,
                 coupling: str = "affine", mixing: str = "lu"):
        super().__init__()
        c, h, w = shape
        f = 2 ** levels
        if h % f or w % f:
            most = 0
            while h % (2 ** (most + 1)) == 0 and w % (2 ** (most + 1)) == 0:
                most += 1
            raise ValueError(f"levels = {levels} squeezes the image {levels} times, so its height "
                             f"and width must be divisible by {f}; these images are {h}x{w}: use "
                             f"levels <= {most}" if most else
                             f"these images are {h}x{w}: Glow's squeeze needs an even size")
        self.levels = nn.ModuleList()
        self.priors = nn.ModuleList()
        shapes = []
        for level in range(levels):
            c, h, w = 4 * c, h // 2, w // 2
            self.levels.append(nn.ModuleList(
                FlowStep(c, hidden, 0, True, coupling, mixing) for _ in range(steps)))
            if level < levels - 1:
                out = c // 2
                self.priors.append(ZeroConv(c - out, 2 * out))
                shapes.append((out, h, w))
                c -= out
        shapes.append((c, h, w))
        self.top_mean = nn.Parameter(torch.zeros(1, c, h, w))
        self.top_logs = nn.Parameter(torch.zeros(1, c, h, w))
        self.level_shapes = [tuple(s) for s in shapes]

    def _prior(self, level: int, kept: Tensor) -> tuple[Tensor, Tensor]:
        h = self.priors[level](kept)
        return h[:, 0::2], h[:, 1::2]

    def forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        """x (preprocessed) -> (eps per level, finest first; log |det d eps / dx|)."""
        logdet = x.new_zeros(x.shape[0])
        eps: list[Tensor] = []
        h = x
        for level, steps in enumerate(self.levels):
            h = squeeze(h)
            for step in steps:
                h, ld = step(h)
                logdet = logdet + ld
            if level < len(self.levels) - 1:
                out = h.shape[1] // 2
                z, h = h[:, :out], h[:, out:]
                mean, logs = self._prior(level, h)
                eps.append((z - mean) * torch.exp(-logs))
                logdet = logdet - logs.flatten(1).sum(1)
        eps.append((h - self.top_mean) * torch.exp(-self.top_logs))
        logdet = logdet - self.top_logs.flatten(1).sum().expand(x.shape[0])
        return eps, logdet

    def inverse(self, eps: Sequence[Tensor]) -> Tensor:
        h = self.top_mean + torch.exp(self.top_logs) * eps[-1]
        for level in reversed(range(len(self.levels))):
            if level < len(self.levels) - 1:
                mean, logs = self._prior(level, h)
                h = torch.cat([mean + torch.exp(logs) * eps[level], h], 1)
            for step in reversed(self.levels[level]):
                h = step.inverse(h)
            h = unsqueeze(h)
        return h

    def log_prob(self, x: Tensor) -> Tensor:
        eps, logdet = self(x)
        return sum(std_normal_logp(e) for e in eps) + logdet


class Standardise(nn.Module):
    """Points: u = (x - mean) / std per coordinate (the training set's), log-det -sum log std."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return (x - self.mean) / self.std, -torch.log(self.std).sum().expand(x.shape[0])

    def inverse(self, u: Tensor) -> Tensor:
        return u * self.std + self.mean


class PointFlow(nn.Module):
    """RealNVP-style flow on points: standardise, then `steps` x [actnorm -> mixing (a learned
    rotation, a full matrix, or the fixed reversal of alternating masks) -> affine or
    additive coupling of one half on the other]. `layers` lists every bijection in order,
    for the layer-by-layer views."""

    def __init__(self, dim: int, mean: Sequence[float], std: Sequence[float], steps: int,
                 hidden: int, depth: int, coupling: str = "affine", mixing: str = "lu"):
        super().__init__()
        self.standardise = Standardise(mean, std)
        self.steps = nn.ModuleList(FlowStep(dim, hidden, depth, False, coupling, mixing)
                                   for _ in range(steps))

    def layers(self) -> list[nn.Module]:
        return [self.standardise] + [layer for step in self.steps for layer in step.layers()]

    def layer_names(self) -> list[str]:
        names = ["standardise"]
        for k, step in enumerate(self.steps, 1):
            mix = {"InvConv1x1LU": "rotation (LU)", "InvConv1x1": "rotation",
                   "Reverse": "swap"}[type(step.mix).__name__]
            kind = "affine" if step.coupling.kind == "affine" else "additive"
            names += [f"{k}: actnorm", f"{k}: {mix}", f"{k}: {kind} coupling"]
        return names

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return compose(self.layers(), x)

    def inverse(self, z: Tensor) -> Tensor:
        return compose_inverse(self.layers(), z)

    def log_prob(self, x: Tensor) -> Tensor:
        z, logdet = self(x)
        return std_normal_logp(z) + logdet
