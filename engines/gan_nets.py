"""Networks of the GAN engine (torch only): generators, the discriminator, and the pieces that
change only the discriminator's input or its last layer (PacGAN packing, minibatch
discrimination, label conditioning).

Units: the networks work in "network units": standardised coordinates for points, [-1, 1]
pixels for images (the generator ends in tanh). The engine maps to and from data units.

- `MLPGenerator`: z (+ one-hot label) -> [Linear -> BatchNorm? -> act] x depth -> Linear
  (-> tanh for images, reshaped to (C, H, W)).
- `ConvGenerator` (DCGAN, Radford et al. 2016): z (+ one-hot label) -> Linear to the top
  feature map -> BatchNorm -> ReLU -> one stride-2 ConvTranspose2d per level (BatchNorm +
  ReLU between them) -> tanh. Kernel 4 / padding 1 where the target size is even
  (out = 2 in), kernel 3 / padding 1 where it is odd (out = 2 in - 1), so every size comes
  out exactly (28 -> 14 -> 7, 32 -> 16 -> 8 -> 4, 13 -> 7 ...; the ladder is
  `nets.conv_sizes`).
- `Discriminator`: input preparation (one-hot label per sample, then packing) -> body (MLP,
  or strided convs with LeakyReLU(0.2), the first without normalisation as in DCGAN) ->
  features f(x) in R^A -> [concat minibatch-discrimination features o(x) in R^B] -> Linear
  to one raw output (a logit or a critic value) per D input.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from .nets import conv_sizes, make_act

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


class MixtureLatent(nn.Module):
    """DeLiGAN's learnable mixture-of-Gaussians latent (Gurumurthy et al. 2017, sec. 4):
    N components with means mu (N, d) ~ U(-1, 1) and per-dimension scales sigma (N, d) =
    sigma0 at the start (the authors' code: `g_z` random_uniform(-1, 1), `g_sig` 0.2), both
    trained with the generator through the reparameterisation z = mu_i + sigma_i * eps.

    Input: a standard-normal code (B, d + 1) = (eps, u); the component is
    i = min(floor(N Phi(u)), N - 1) (Phi the standard normal CDF, so i is uniform on
    0..N-1 and independent of eps). Output: z = mu_i + sigma_i * eps, (B, d). The map is a
    deterministic function of the code, so fixed codes give fixed samples.
    `regulariser()` = mean over i, k of (1 - sigma_ik)^2 (the authors' code:
    reduce_mean(square(zsig - 1)); the paper's lambda / N sum_i (1 - sigma_i)^2 per dimension)."""

    def __init__(self, components: int, dim: int, sigma0: float = 0.2,
                 learn_weights: bool = False):
        super().__init__()
        self.components, self.dim = components, dim
        self.mu = nn.Parameter(torch.rand(components, dim) * 2.0 - 1.0)
        self.sigma = nn.Parameter(torch.full((components, dim), float(sigma0)))
        # pi = softmax(logits), starting uniform; only with learn_weights (older checkpoints
        # and the uniform mixture have no logits)
        self.logits = nn.Parameter(torch.zeros(components)) if learn_weights else None

    def weights(self) -> Tensor:
        """The mixture weights pi (N,)."""
        if self.logits is None:
            return torch.full((self.components,), 1.0 / self.components, device=self.mu.device)
        return torch.softmax(self.logits, 0)

    def component(self, u: Tensor) -> Tensor:
        """(B,) standard-normal u -> (B,) component indices: i = min(floor(N Phi(u)), N - 1),
        uniform on 0..N-1; with learned weights the i with C_(i-1) <= Phi(u) < C_i, C the
        cumulative weights, so P(i) = pi_i."""
        n = self.components
        if self.logits is None:
            return (torch.special.ndtr(u) * n).long().clamp_(0, n - 1)
        cdf = torch.cumsum(self.weights().detach(), 0)
        return torch.searchsorted(cdf, torch.special.ndtr(u).contiguous(),
                                  right=True).clamp_(0, n - 1)

    def log_weight(self, code: Tensor) -> Tensor:
        """(B,) log pi_i of each code's component, differentiable w.r.t. the logits."""
        i = self.component(code[:, self.dim])
        return torch.log_softmax(self.logits, 0)[i]

    def forward(self, code: Tensor) -> Tensor:
        i = self.component(code[:, self.dim])
        return self.mu[i] + self.sigma[i] * code[:, :self.dim]

    def regulariser(self) -> Tensor:
        return (1.0 - self.sigma).pow(2).mean()


class MixtureLatentGenerator(nn.Module):
    """A generator whose input goes through a `MixtureLatent` first: G(code) = net(mix(code))
    (DeLiGAN). `latent` holds mu and sigma, so they are G's parameters (trained, averaged by
    the EMA, saved with G's weights)."""

    def __init__(self, net: nn.Module, components: int, dim: int, sigma0: float = 0.2,
                 learn_weights: bool = False):
        super().__init__()
        self.net = net
        self.latent = MixtureLatent(components, dim, sigma0, learn_weights)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.net(self.latent(z), y)

    def features(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.net.features(self.latent(z), y)


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
