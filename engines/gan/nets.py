"""Networks of the GAN engine (torch only): the generators, the discriminator, and the pieces
that change only the discriminator's input or its last layer (label conditioning, PacGAN
packing, minibatch discrimination, input scaling, Fourier features).

Networks work in network units (standardised points, images in [-1, 1]; G ends in tanh for
images); the engine maps to and from data units.

- `MLPGenerator`: z (+ one-hot label) -> [Linear -> BatchNorm? -> act] x depth -> Linear
  (-> tanh for images, reshaped to (C, H, W)).
- `ConvGenerator` (DCGAN, Radford et al. 2016): z (+ one-hot label) -> Linear to the top
  feature map -> BatchNorm -> ReLU -> one stride-2 ConvTranspose2d per level -> tanh; kernel
  4 where the target side is even, 3 where it is odd, so any size comes out exactly (the
  ladder is `engines.nets.conv_sizes`).
- `Discriminator`: label per sample, then packing (Lin et al. 2018) -> MLP or strided-conv
  body -> [minibatch-discrimination features (Salimans et al. 2016)] -> Linear to one raw
  output (a logit or a critic value) per D input; optional spectral normalisation (Miyato
  et al. 2018).
- `input_scaler`, `fourier_features`: forward pre-hooks the engine puts on D for
  `d_input_scale` and `d_fourier` (Tancik et al. 2020).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ..nets import conv_sizes, make_act

NORMS = ("batch", "none")


def _prod(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def one_hot(y: Tensor, num_classes: int, dtype: torch.dtype) -> Tensor:
    """(B,) int labels -> (B, num_classes) float one-hot."""
    return F.one_hot(y.long(), num_classes).to(dtype)


def pack_samples(x: Tensor, m: int) -> Tensor:
    """PacGAN packing (Lin et al. 2018): m consecutive samples become one discriminator input,
    concatenated along the feature / channel dimension:
    (B, d) -> (B/m, m*d) and (B, C, H, W) -> (B/m, m*C, H, W); pack j holds samples
    jm, ..., jm + m - 1 in that order. B must be divisible by m (ValueError otherwise)."""
    if m == 1:
        return x
    b = x.shape[0]
    if b % m != 0:
        raise ValueError(f"pack = {m}: the discriminator's batch of {b} samples is not divisible "
                         f"by {m}; choose a batch size that is a multiple of {m}")
    return x.reshape(b // m, m * x.shape[1], *x.shape[2:])


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


# ------------------------------------------------------------------------------ generators

class MLPGenerator(nn.Module):
    """z (B, z_dim) [+ one-hot y] -> (B, *out_shape). `tanh_out` for images."""

    def __init__(self, z_dim: int, out_shape: Sequence[int], hidden: int = 256, depth: int = 3,
                 act: str = "relu", norm: str = "batch", num_classes: int = 0,
                 tanh_out: bool = False):
        super().__init__()
        self.out_shape = tuple(out_shape)
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        d = z_dim + num_classes
        for _ in range(depth):
            layers.append(nn.Linear(d, hidden, bias=(norm != "batch")))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(make_act(act))
            d = hidden
        layers.append(nn.Linear(d, _prod(self.out_shape)))
        if tanh_out:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes, z.dtype)], 1)
        return self.net(z).view(z.shape[0], *self.out_shape)

    def features(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """The first linear layer's output (GANSpace's PCA space)."""
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes, z.dtype)], 1)
        return self.net[0](z)


class ConvGenerator(nn.Module):
    """DCGAN generator for (C, H, W) images of any size (see the module docstring)."""

    def __init__(self, z_dim: int, out_shape: Sequence[int], channels: int = 32,
                 act: str = "relu", norm: str = "batch", num_classes: int = 0):
        super().__init__()
        c, h, w = out_shape
        self.out_shape = (c, h, w)
        self.num_classes = num_classes
        sizes = conv_sizes(h, w)
        n = len(sizes) - 1
        chans = [c] + [channels * min(2 ** i, 8) for i in range(n)]
        self.top = (chans[-1], *sizes[-1])
        self.fc = nn.Linear(z_dim + num_classes, _prod(self.top), bias=(norm != "batch" or n == 0))
        layers: list[nn.Module] = []
        if n > 0:
            if norm == "batch":
                layers.append(nn.BatchNorm2d(chans[-1]))
            layers.append(make_act(act))
        for i in range(n, 0, -1):          # sizes[i] -> sizes[i-1], chans[i] -> chans[i-1]
            th, tw = sizes[i - 1]
            k = (4 if th % 2 == 0 else 3, 4 if tw % 2 == 0 else 3)
            last = i == 1
            layers.append(nn.ConvTranspose2d(chans[i], chans[i - 1], k, stride=2, padding=1,
                                             bias=(last or norm != "batch")))
            if not last:
                if norm == "batch":
                    layers.append(nn.BatchNorm2d(chans[i - 1]))
                layers.append(make_act(act))
        layers.append(nn.Tanh())
        self.convs = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes, z.dtype)], 1)
        return self.convs(self.fc(z).view(z.shape[0], *self.top))

    def features(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """The first linear layer's output (GANSpace's PCA space)."""
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes, z.dtype)], 1)
        return self.fc(z)


# ------------------------------------------------------------------------------ discriminator

class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016, section 3.2. For features f(x_i) in R^A of one minibatch:
    M_i = f(x_i) T in R^{B x C} (T in R^{A x B x C}),
    c_b(i, j) = exp(-||M_{i,b} - M_{j,b}||_L1),  o(x_i)_b = sum_{j=1..n} c_b(i, j).
    The sum INCLUDES j = i, as in the paper's formula (so o_b >= 1, and o_b = n for n
    identical samples); the authors' code excludes it, which only shifts o by 1 and is
    absorbed by the bias of the linear layer that follows. `isolated=True` treats every
    sample as a minibatch of its own (o_b = 1). `double_backward=True` computes the L1
    distances with plain tensor ops (memory n^2 B C) instead of torch.cdist, whose backward
    cannot be differentiated again (needed by the gradient penalty and unrolled steps)."""

    def __init__(self, in_features: int, kernels: int, dim: int):
        super().__init__()
        self.kernels, self.dim = kernels, dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * dim) / math.sqrt(in_features))

    def forward(self, h: Tensor, isolated: bool = False, double_backward: bool = False) -> Tensor:
        n = h.shape[0]
        if isolated:
            return h.new_ones(n, self.kernels)
        m = (h @ self.T).view(n, self.kernels, self.dim).transpose(0, 1)   # (B, n, C)
        if double_backward:
            dist = (m.unsqueeze(2) - m.unsqueeze(1)).abs().sum(-1)         # (B, n, n)
        else:
            dist = torch.cdist(m, m, p=1)
        return torch.exp(-dist).sum(2).t()                                 # (n, B)


class Discriminator(nn.Module):
    """Per-sample input of shape `sample_shape` -> one raw output per D input, (B/pack,).

    `prepare`: labels (num_classes > 0) are appended per sample as a one-hot vector (MLP) or
    as num_classes constant channels (conv); then `pack` consecutive samples are
    concatenated along features / channels (`pack_samples`). Only the input layer's width
    depends on pack and num_classes. Body: `conv=False` flattens and applies
    [Linear -> norm? -> act] x depth; `conv=True` applies one strided conv per level of
    `conv_sizes` (kernel 4 on even sides, 3 on odd, stride 2, padding 1; channels
    channels, 2 channels, ... capped at 8x), LeakyReLU, normalisation on every conv but the
    first, then flattens; with minibatch discrimination a Linear(hidden) + act follows so
    the tensor T stays small. `spectral` wraps every Linear / conv weight (not T) in
    spectral normalisation (Miyato et al. 2018)."""

    def __init__(self, sample_shape: Sequence[int], *, conv: bool, num_classes: int = 0,
                 pack: int = 1, hidden: int = 256, depth: int = 2, channels: int = 32,
                 act: str = "leaky_relu", norm: str = "none", mbd_kernels: int = 0,
                 mbd_dim: int = 5, spectral: bool = False):
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        self.conv = conv
        self.num_classes = num_classes
        self.pack = pack
        layers: list[nn.Module] = []
        if conv:
            c, h, w = self.sample_shape
            sizes = conv_sizes(h, w)
            chans = [pack * (c + num_classes)] + [channels * min(2 ** i, 8)
                                                  for i in range(len(sizes) - 1)]
            for i in range(1, len(sizes)):
                ih, iw = sizes[i - 1]
                k = (4 if ih % 2 == 0 else 3, 4 if iw % 2 == 0 else 3)
                use_norm = norm == "batch" and i > 1
                layers.append(nn.Conv2d(chans[i - 1], chans[i], k, stride=2, padding=1,
                                        bias=not use_norm))
                if use_norm:
                    layers.append(nn.BatchNorm2d(chans[i]))
                layers.append(make_act(act))
            layers.append(nn.Flatten(1))
            feat = chans[-1] * _prod(sizes[-1])
            if mbd_kernels > 0:
                layers += [nn.Linear(feat, hidden), make_act(act)]
                feat = hidden
        else:
            feat = pack * (_prod(self.sample_shape) + num_classes)
            for _ in range(depth):
                layers.append(nn.Linear(feat, hidden, bias=(norm != "batch")))
                if norm == "batch":
                    layers.append(nn.BatchNorm1d(hidden))
                layers.append(make_act(act))
                feat = hidden
        self.body = nn.Sequential(*layers)
        self.features = feat
        self.mbd = MinibatchDiscrimination(feat, mbd_kernels, mbd_dim) if mbd_kernels > 0 else None
        self.head = nn.Linear(feat + mbd_kernels, 1)
        if conv:
            dcgan_init(self)
        if spectral:
            for mod in list(self.modules()):
                if isinstance(mod, (nn.Linear, nn.Conv2d)):
                    _spectral_norm(mod)

    def prepare(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """The body's input: label appended per sample, then `pack` samples per row."""
        if not self.conv and x.dim() > 2:
            x = x.flatten(1)
        if self.num_classes:
            if y is None:
                raise ValueError("this discriminator is conditional: give the labels")
            oh = one_hot(y, self.num_classes, x.dtype)
            if self.conv:
                oh = oh[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, oh], 1)
        return pack_samples(x, self.pack)

    def forward(self, x: Tensor, y: Optional[Tensor] = None, isolated: bool = False,
                double_backward: bool = False) -> Tensor:
        h = self.body(self.prepare(x, y))
        if self.mbd is not None:
            h = torch.cat([h, self.mbd(h, isolated, double_backward)], 1)
        return self.head(h).squeeze(1)


# ------------------------------------------------------------------------- D input hooks

def input_scaler(c: float):
    """A forward pre-hook that multiplies a module's first argument (x) by c."""
    def hook(module: nn.Module, args: tuple, kwargs: dict):
        if args:
            return (args[0] * c,) + tuple(args[1:]), kwargs
        return args, {**kwargs, "x": kwargs["x"] * c}
    return hook


def fourier_features(module: nn.Module, args: tuple, kwargs: dict):
    """Forward pre-hook: x (B, d) -> [x, sin(2 pi x B^T), cos(2 pi x B^T)], B = module.fourier_B."""
    def feats(x: Tensor) -> Tensor:
        a = (2.0 * torch.pi) * (x.flatten(1) @ module.fourier_B.t())
        return torch.cat([x.flatten(1), a.sin(), a.cos()], 1)
    if args:
        return (feats(args[0]),) + tuple(args[1:]), kwargs
    return args, {**kwargs, "x": feats(kwargs["x"])}
