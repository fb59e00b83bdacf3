"""Variational autoencoder (Kingma & Welling 2014) with a standard-normal prior.

Encoder: x -> (mu, logvar), q(z|x) = N(mu, diag(exp(logvar))). Reparameterisation:
z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) drawn from the global torch RNG (the training
loop checkpoints it, so resumes are exact). Decoder: z -> parameters of p(x|z).

Per sample, in nats:
  recon = -log p(x|z), summed over pixels / coordinates
      bernoulli (images): sum_i -[x_i log p_i + (1 - x_i) log(1 - p_i)], p = sigmoid(logits)
                          (x in [0, 1], not binarised, as in most MNIST VAE code)
      gaussian:           sum_i [ (x_i - m_i)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2 ]
                          (the full NLL, constant included)
  kl    = KL(q(z|x) || N(0, I)) = 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
  loss/total = mean over the batch of recon + beta * kl; elbo = -(recon + kl) (beta-free).

Gaussian decoder: mean m = sigmoid(logits) for images (pixel units), the raw output for
points (standardised units). Its std is `sigma` when `sigma > 0`, otherwise one learned
scalar log-sigma shared by all dimensions (stored as `decoder.log_sigma`, initialised to
log 0.1 and softly floored at 1e-3 by log_sigma = log(1e-3) + softplus(raw - log(1e-3))).
For points the reported NLL is in *data* coordinates: the networks work on
standardised coordinates u = (x - mean) / std, and -log p(x) = -log p(u) + sum log std,
so the constant sum(log point_std) is added to recon (gradients are unaffected). Then
`elbo` lower-bounds the log density of the data itself and is comparable across models.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import register
from ._shared import DataScaler, inference
from .base import Engine, make_optimizer
from .nets import ACTIVATIONS, make_decoder, make_encoder
from .params import OptimConfig, param
from .spec import Batch, DataSpec

LOG_2PI = math.log(2 * math.pi)
MIN_SIGMA = 1e-3
INIT_SIGMA = 0.1


@dataclass
class VAEConfig:
    """Hyperparameters of the VAE engine."""

    latent_dim: int = param(8, "Size of the latent code z (the same default for points and "
                               "images).", min=1, max=1024)
    # mlp: a CPU shows samples within seconds (conv: ~5x slower per step)
    arch: str = param("mlp", "Image networks: 'mlp' (flatten, much faster on a CPU) or 'conv' "
                             "(stride-2 conv ladder, sharper with time). Points always use an MLP.",
                      choices=("conv", "mlp"))
    hidden: int = param(256, "Width of the MLP hidden layers, and of the fully connected "
                             "layer between the conv ladder and the latent code.", min=1, max=8192)
    depth: int = param(2, "Number of hidden layers of the MLPs.", min=0, max=16)
    channels: int = param(16, "Conv channels of the first level; doubled at each level "
                              "(at most 8x).", min=1, max=512)
    act: str = param("silu", "Activation function of every hidden layer.", choices=ACTIVATIONS)
    decoder: str = param("auto", "Likelihood p(x|z): 'bernoulli' (images only), 'gaussian', "
                                 "or 'auto' (bernoulli for images, gaussian for points).",
                         choices=("auto", "bernoulli", "gaussian"))
    sigma: float = param(0.0, "Gaussian decoder std (pixel units for images, standardised "
                              "units for points); 0 learns one shared std.", min=0.0, max=100.0)
    beta: float = param(1.0, "Weight of the KL term in the loss (1 = the ELBO; beta-VAE "
                             "when > 1).", min=0.0, max=1000.0, structural=False)

    def validate(self) -> None:
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {self.latent_dim}")
        if self.arch not in ("conv", "mlp"):
            raise ValueError(f"arch {self.arch!r} is not valid; choose 'conv' or 'mlp'")
        if self.decoder not in ("auto", "bernoulli", "gaussian"):
            raise ValueError(f"decoder {self.decoder!r} is not valid; choose 'auto', "
                             "'bernoulli' or 'gaussian'")
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0 (0 = learned), got {self.sigma}")


def kl_std_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per sample, (B,):
    0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def bernoulli_nll(logits: Tensor, x: Tensor) -> Tensor:
    """-log Bernoulli(x | sigmoid(logits)) summed over all but the batch dim, (B,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_nll(x: Tensor, mean: Tensor, log_sigma: Tensor | float) -> Tensor:
    """-log N(x | mean, sigma^2 I) summed over all but the batch dim, (B,), with the
    log(2 pi sigma^2) / 2 constant per dimension included."""
    if not isinstance(log_sigma, Tensor):
        log_sigma = torch.tensor(float(log_sigma), device=x.device)
    sq = (x - mean).pow(2).flatten(1).sum(1)
    d = x[0].numel()
    return 0.5 * sq * torch.exp(-2.0 * log_sigma) + d * (log_sigma + 0.5 * LOG_2PI)


class VAEDecoder(nn.Module):
    """The decoder network plus (for a Gaussian likelihood with learned std) the raw
    log-sigma parameter, so it is saved with the decoder's weights."""

    def __init__(self, net: nn.Module, learn_sigma: bool):
        super().__init__()
        self.net = net
        if learn_sigma:
            # raw such that log_sigma() == log(INIT_SIGMA) (inverse of the soft floor).
            y = math.log(INIT_SIGMA) - math.log(MIN_SIGMA)
            self.log_sigma = nn.Parameter(torch.tensor([y + math.log(-math.expm1(-y))
                                                        + math.log(MIN_SIGMA)]))
        else:
            self.log_sigma = None

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)

    def learned_log_sigma(self) -> Tensor:
        floor = math.log(MIN_SIGMA)
        assert self.log_sigma is not None
        return (floor + F.softplus(self.log_sigma - floor)).squeeze(0)


@register
class VAEEngine(Engine):
    name = "vae"
    Config = VAEConfig
    family_capabilities = frozenset({"encode", "decode", "elbo"})
    description = "Variational autoencoder with a standard-normal prior (reports the ELBO)."

    def __init__(self, config: VAEConfig, optim: OptimConfig, spec: DataSpec, device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        lik = config.decoder
        if lik == "auto":
            lik = "bernoulli" if spec.is_images else "gaussian"
        if lik == "bernoulli" and not spec.is_images:
            raise ValueError("decoder='bernoulli' models pixel values in [0, 1] and only works on "
                             "images; this data set is points: use decoder='gaussian' (or 'auto')")
        self.likelihood = lik
        d = config.latent_dim
        net_kw = dict(arch=config.arch, hidden=config.hidden, depth=config.depth,
                      channels=config.channels, act=config.act)
        self.encoder = make_encoder(spec, 2 * d, **net_kw).to(self.device)
        self.decoder = VAEDecoder(make_decoder(spec, d, **net_kw),
                                  learn_sigma=(lik == "gaussian" and config.sigma == 0)
                                  ).to(self.device)
        self.scaler = DataScaler(spec, self.device)
        self._params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.opt = make_optimizer(self._params, optim)

    # -- the two terms ----------------------------------------------------------------------
    def log_sigma(self) -> Tensor | float:
        """log std of the Gaussian decoder (network units)."""
        if self.decoder.log_sigma is not None:
            return self.decoder.learned_log_sigma()
        return math.log(self.config.sigma)

    def recon_nll(self, out: Tensor, target: Tensor) -> Tensor:
        """-log p(x|z) per sample in nats, (B,): `out` raw decoder output, `target` the data
        in network units (standardised points). For points it includes + sum(log std), so it
        is the NLL in data coordinates."""
        if self.likelihood == "bernoulli":
            return bernoulli_nll(out, target)
        mean = torch.sigmoid(out) if self.spec.is_images else out
        nll = gaussian_nll(target, mean, self.log_sigma())
        if self.scaler.log_std_sum != 0.0:
            nll = nll + self.scaler.log_std_sum
        return nll

    def _recon_sum(self, out: Tensor, target: Tensor) -> Tensor:
        """sum over the batch of recon_nll, with fewer kernels (train_step's hot path)."""
        if self.likelihood == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, target, reduction="sum")
        mean = torch.sigmoid(out) if self.spec.is_images else out
        b = target.shape[0]
        n = target.numel()
        ls = self.log_sigma()
        sq = F.mse_loss(mean, target, reduction="sum")
        if isinstance(ls, Tensor):
            nll = 0.5 * sq * torch.exp(-2.0 * ls) + n * ls
        else:
            nll = sq * (0.5 * math.exp(-2.0 * ls)) + n * ls
        return nll + (n * 0.5 * LOG_2PI + b * self.scaler.log_std_sum)

    def encode_dist(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of q(z|x) for data x (images in [0, 1] / points in data coords)."""
        with inference(self.modules()):
            h = self.encoder(self.scaler.to_net(x.to(self.device)))
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar

    def loss_terms(self, x: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Differentiable per-sample (recon, kl, mu, logvar) for data x and noise eps
        (B, latent_dim); z = mu + exp(logvar / 2) * eps."""
        t = self.scaler.to_net(x)
        mu, logvar = self.encoder(t).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.recon_nll(self.decoder(z), t), kl_std_normal(mu, logvar), mu, logvar

    # -- training ---------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        t = self.scaler.to_net(batch.x)
        b = t.shape[0]
        mu, logvar = self.trained("encoder")(t).chunk(2, dim=1)
        eps = self.draw(lambda s: torch.randn(s, dtype=mu.dtype, device=mu.device), mu.shape)
        z = mu + torch.exp(0.5 * logvar) * eps
        out = self.trained("decoder")(z)
        recon = self._recon_sum(out, t) / b
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum() / b
        total = recon + self.config.beta * kl
        self.opt.zero_grad(set_to_none=True)
        self.backward_and_step(total, self.opt, self._params)
        recon, kl = recon.detach(), kl.detach()
        return {"loss/total": total.detach(), "loss/recon": recon, "loss/kl": kl,
                "elbo": -(recon + kl)}

    # -- encode / decode / sample -----------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """Posterior means mu (B, latent_dim) of data x."""
        return self.encode_dist(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        """Mean of p(x|z): images in [0, 1] / points in data coordinates."""
        with inference(self.modules()):
            return self.scaler.to_data(self.decoder(z.to(self.device)))

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def noise_from_latent(self, latent: Tensor) -> Tensor:
        """The z of `sample` for a code: the VAE's latent is its standard-normal input."""
        return latent

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """Decoder means at z ~ N(0, I) (from `generator` when z is None)."""
        if z is None:
            z = self.noise(n, generator)
        return self.decode(z)

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch], seed: int = 0) -> dict[str, float]:
        """Held-out metrics, means over samples: `test/elbo`, `test/recon`, `test/kl` (nats
        per sample, one z per x drawn from a CPU generator seeded with `seed`, so the result
        is deterministic and the global RNG untouched) and `test/mse` (squared error per
        pixel / coordinate in data units of the reconstruction decode(mu))."""
        gen = torch.Generator().manual_seed(seed)
        recon, kl, sq = [], [], []
        n = 0
        with inference(self.modules()):
            for batch in batches:
                x = batch.x.to(self.device)
                eps = torch.randn((x.shape[0], self.config.latent_dim), generator=gen).to(self.device)
                r, k, mu, _ = self.loss_terms(x, eps)
                recon.append(r.sum())
                kl.append(k.sum())
                sq.append((self.scaler.to_data(self.decoder(mu)) - x).pow(2).sum())
                n += x.shape[0]
        if n == 0:
            return {}
        r = float(torch.stack(recon).cpu().double().sum()) / n
        k = float(torch.stack(kl).cpu().double().sum()) / n
        s = float(torch.stack(sq).cpu().double().sum()) / (n * self.spec.numel)
        return {"test/elbo": -(r + k), "test/recon": r, "test/kl": k, "test/mse": s}

    def iwae_bound(self, x: Tensor, k: int, generator: Optional[torch.Generator] = None,
                   *, max_batch: int = 4096) -> Tensor:
        """Importance-weighted bound of Burda, Grosse & Salakhutdinov 2016 ("Importance
        Weighted Autoencoders", eq. 8), per sample, (B,), in nats:

            L_k(x) = log (1/k) sum_{i=1..k} p(x, z_i) / q(z_i|x),   z_i ~ q(z|x) i.i.d.,
            log w_i = -recon_nll(decoder(z_i), x) + log N(z_i; 0, I) - log q(z_i|x),
            log q(z|x) = sum_j [-eps_j^2 / 2 - logvar_j / 2 - log(2 pi) / 2],  z = mu + sigma eps,
            log N(z; 0, I) = sum_j [-z_j^2 / 2 - log(2 pi) / 2],

        combined with logsumexp over i minus log k (stable for any magnitude of log w).
        -recon_nll is the engine's own log p(x|z), so for points it is in data coordinates
        (the + sum(log std) correction included), like `elbo`; L_k then lower-bounds log p(x)
        of the data itself. E[L_1] = ELBO = -(recon + KL) and E[L_k] is non-decreasing in k,
        converging to log p(x) (Burda et al., Theorem 1).

        All the noise is drawn first, in one call eps = torch.randn((k, B, latent_dim)) from
        `generator` (on its device, then moved), or from the global torch RNG when generator
        is None; z_i = mu + exp(logvar / 2) * eps[i]. The decoder then runs on chunks of
        kc = max(1, max_batch // B) importance samples, so at most ~max_batch decoder
        evaluations are in memory at once and the result does not depend on max_batch
        (eps itself and the (k, B) log-weights are small: k * B * (latent_dim + 1) floats).
        Runs in eval mode without gradients; returns float32 on the engine's device."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        x = x.to(self.device)
        b = x.shape[0]
        d = self.config.latent_dim
        kc = max(1, max_batch // max(b, 1))
        log_w = []
        with inference(self.modules()):
            t = self.scaler.to_net(x)
            mu, logvar = self.encoder(t).chunk(2, dim=1)
            std = torch.exp(0.5 * logvar)
            # -log q(z|x) = sum_j (eps_j^2 + logvar_j + log 2 pi) / 2: the logvar part
            half_logvar = 0.5 * logvar.sum(1)
            eps_all = torch.randn((k, b, d), generator=generator,
                                  device=generator.device if generator is not None else self.device
                                  ).to(self.device, mu.dtype)
            done = 0
            while done < k:
                n = min(kc, k - done)
                eps = eps_all[done:done + n]
                z = mu + std * eps                                           # (n, B, d)
                target = t.unsqueeze(0).expand(n, *t.shape).reshape(n * b, *t.shape[1:])
                out = self.decoder(z.reshape(n * b, d))
                log_px_z = -self.recon_nll(out, target).view(n, b)
                # log p(z) - log q(z|x); the d/2 log(2 pi) constants cancel
                log_pz_qz = 0.5 * (eps.pow(2).sum(2) - z.pow(2).sum(2)) + half_logvar
                log_w.append(log_px_z + log_pz_qz)
                done += n
            lw = torch.cat(log_w, dim=0)                                      # (k, B)
            return torch.logsumexp(lw, dim=0) - math.log(k)

    # -- state ------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}
