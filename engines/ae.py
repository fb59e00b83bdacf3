"""Deterministic autoencoder, with optional denoising and contractive regularisers.

x -> encoder -> z (latent_dim) -> decoder -> x_hat. Trained on a reconstruction loss
summed over the pixels / coordinates of each sample and averaged over the batch:

- `loss="mse"`: sum_i (x_hat_i - x_i)^2. Images: x_hat = sigmoid(decoder output), pixel
  units. Points: in standardised coordinates ((x - point_mean) / point_std).
- `loss="bce"` (images only): sum_i -[x_i log p_i + (1 - x_i) log(1 - p_i)], p = sigmoid(logits).

Regularisers:

- Denoising (Vincent et al. 2008), `denoise_std > 0`: the encoder sees
  x~ = x + denoise_std * eps, eps ~ N(0, I) (pixel units for images, standardised units for
  points; no clipping), and the loss compares the reconstruction with the *clean* x.
- Contractive (Rifai et al. 2011), `contractive = lambda > 0`: adds
  lambda * ||J_f(x)||_F^2 per sample, averaged over the batch like the reconstruction term,
  where J_f is the Jacobian of the latent code z = f(x) with respect to the encoder's input
  (the standardised coordinates for points; the possibly noise-corrupted input when
  denoising is on too). It is computed exactly: latent_dim vector-Jacobian products
  e_k^T J (one per latent unit, each over the whole batch at once, which is exact because
  the encoder has no cross-sample layers such as BatchNorm), with create_graph=True so the
  penalty is differentiated too. Cost: latent_dim extra encoder backward passes plus their
  double backward; measured on 2 CPU cores with latent_dim 8, batch 128, MNIST, a step
  costs ~5x a plain step (conv ~110 ms vs ~22 ms; MLP ~14 ms vs ~4 ms).

Sampling: an autoencoder has no prior, so the engine fits a Gaussian to the encoded
training codes: train_step keeps a running mean m and covariance C of the codes (a running
average over the first 1/(1 - latent_decay) steps, then an exponential moving average with
decay `latent_decay`; updated on the device with no sync), checkpointed via
`extra_tensors()` (`extra.latent_mean`, `extra.latent_cov`, `extra.latent_count`).
`sample(z=...)` maps standard-normal z to latent = m + L z, L = cholesky(C + eps I)
(eps = 1e-5), and decodes it.
"""
from __future__ import annotations

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

CHOL_EPS = 1e-5


@dataclass
class AEConfig:
    """Hyperparameters of the autoencoder engine."""

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
    loss: str = param("mse", "Reconstruction loss, summed over pixels/coordinates: 'mse' "
                             "(squared error) or 'bce' (binary cross-entropy, images only).",
                      choices=("mse", "bce"))
    denoise_std: float = param(0.0, "Denoising AE: std of the Gaussian noise added to the "
                                    "encoder's input (the target stays clean); 0 turns it off.",
                               min=0.0, max=10.0, structural=False)
    contractive: float = param(0.0, "Contractive AE: weight of the squared Frobenius norm of "
                                    "the encoder's Jacobian; 0 turns it off (it costs about "
                                    "latent_dim extra encoder passes per step).", min=0.0,
                               max=1e4)
    latent_decay: float = param(0.99, "Decay of the moving mean/covariance of the latent codes "
                                      "that sampling draws from.", min=0.0, max=0.99999,
                                structural=False)

    def validate(self) -> None:
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {self.latent_dim}")
        if self.arch not in ("conv", "mlp"):
            raise ValueError(f"arch {self.arch!r} is not valid; choose 'conv' or 'mlp'")
        if self.loss not in ("mse", "bce"):
            raise ValueError(f"loss {self.loss!r} is not valid; choose 'mse' or 'bce'")


def jacobian_sq_norm(z: Tensor, x: Tensor, create_graph: bool = True) -> Tensor:
    """Per-sample squared Frobenius norm of dz/dx: (B,) tensor, sum_k sum_i (dz_k/dx_i)^2.

    `z` (B, d) must have been computed from `x` (B, ...), with x.requires_grad, by a
    function that treats samples independently (then the gradient of sum_b z[b, k] with
    respect to x[b] is row k of sample b's Jacobian). Exact: d vector-Jacobian products
    e_k^T J, batched in one call with torch.autograd.grad(is_grads_batched=True) (vmap),
    or one call per latent unit where vmap cannot handle the graph."""
    global _BATCHED_VJP_OK
    d = z.shape[1]
    if _BATCHED_VJP_OK:
        try:
            eye = torch.eye(d, dtype=z.dtype, device=z.device).unsqueeze(1).expand(d, *z.shape)
            (g,) = torch.autograd.grad(z, x, eye, is_grads_batched=True,
                                       create_graph=create_graph, retain_graph=True)
            return g.pow(2).flatten(2).sum(2).sum(0)
        except RuntimeError:  # pragma: no cover - backend without vmap support for an op
            _BATCHED_VJP_OK = False
    sq = None
    for k in range(d):
        (g,) = torch.autograd.grad(z[:, k].sum(), x, create_graph=create_graph,
                                   retain_graph=True)
        s = g.pow(2).flatten(1).sum(1)
        sq = s if sq is None else sq + s
    assert sq is not None
    return sq


_BATCHED_VJP_OK = True


@register
class AEEngine(Engine):
    name = "ae"
    Config = AEConfig
    family_capabilities = frozenset({"encode", "decode"})
    description = ("Autoencoder (optionally denoising or contractive); samples by decoding "
                   "a Gaussian fitted to the training codes.")

    def __init__(self, config: AEConfig, optim: OptimConfig, spec: DataSpec, device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        if config.loss == "bce" and not spec.is_images:
            raise ValueError("loss='bce' needs values in [0, 1] and only works on images; "
                             "this data set is points: use loss='mse'")
        d = config.latent_dim
        net_kw = dict(arch=config.arch, hidden=config.hidden, depth=config.depth,
                      channels=config.channels, act=config.act)
        self.encoder = make_encoder(spec, d, **net_kw).to(self.device)
        self.decoder = make_decoder(spec, d, **net_kw).to(self.device)
        self.scaler = DataScaler(spec, self.device)
        self._params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.opt = make_optimizer(self._params, optim)
        # Gaussian fitted to the training codes (see module docstring).
        self.latent_mean = torch.zeros(d, device=self.device)
        self.latent_cov = torch.eye(d, device=self.device)
        self.latent_count = torch.zeros((), device=self.device)
        self._count = 0  # Python mirror of latent_count, so train_step needs no sync

    # -- losses -----------------------------------------------------------------------------
    def _recon_sum(self, out: Tensor, target: Tensor) -> Tensor:
        """Reconstruction loss summed over every element of the batch (divide by B for the
        per-sample mean). `out` is the raw decoder output, `target` in network units."""
        if self.config.loss == "bce":
            return F.binary_cross_entropy_with_logits(out, target, reduction="sum")
        pred = torch.sigmoid(out) if self.spec.is_images else out
        return F.mse_loss(pred, target, reduction="sum")

    def _recon_per_sample(self, out: Tensor, target: Tensor) -> Tensor:
        if self.config.loss == "bce":
            e = F.binary_cross_entropy_with_logits(out, target, reduction="none")
        else:
            pred = torch.sigmoid(out) if self.spec.is_images else out
            e = (pred - target).pow(2)
        return e.flatten(1).sum(1)

    def contractive_penalty(self, x_in: Tensor, create_graph: bool = True) -> Tensor:
        """Per-sample ||J_f(x_in)||_F^2 for encoder inputs `x_in` in network units, (B,)."""
        x_in = x_in.detach().requires_grad_(True)
        with torch.enable_grad():
            z = self.encoder(x_in)
            return jacobian_sq_norm(z, x_in, create_graph=create_graph)

    # -- training ---------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        cfg = self.config
        target = self.scaler.to_net(batch.x)
        x_in = target
        if cfg.denoise_std > 0:
            x_in = target + cfg.denoise_std * self.draw(
                lambda s: torch.randn(s, dtype=target.dtype, device=target.device), target.shape)
        lam = cfg.contractive
        if lam > 0:
            x_in = x_in.detach().requires_grad_(True)
        z = self.trained("encoder")(x_in)
        out = self.trained("decoder")(z)
        b = target.shape[0]
        recon = self._recon_sum(out, target) / b
        metrics: dict[str, Tensor] = {}
        if lam > 0:
            pen = jacobian_sq_norm(z, x_in).mean()
            total = recon + lam * pen
            metrics["loss/contractive"] = pen.detach()
        else:
            total = recon
        self.opt.zero_grad(set_to_none=True)
        self.backward_and_step(total, self.opt, self._params)
        # the global batch's codes, in the statistics' float32 (a bf16 autocast gives bf16 codes)
        self._update_latent_stats(self.shard.gather(z.detach()).float())
        metrics["loss/total"] = total.detach()
        metrics["loss/recon"] = recon.detach()
        return metrics

    @torch.no_grad()
    def _update_latent_stats(self, z: Tensor) -> None:
        """Merge this batch's code mean/covariance into the running Gaussian with weight
        w = max(1/n, 1 - decay): the exact covariance of the two-component mixture,
        C <- (1-w) C + w C_b + w(1-w) d d^T, m <- m + w d, with d = m_b - m."""
        self._count += 1
        w = max(1.0 / self._count, 1.0 - self.config.latent_decay)
        mb = z.mean(0)
        zc = z - mb
        delta = mb - self.latent_mean
        self.latent_cov.mul_(1.0 - w).addmm_(zc.t(), zc, alpha=w / z.shape[0])
        self.latent_cov.addr_(delta, delta, alpha=w * (1.0 - w))
        self.latent_mean.add_(delta, alpha=w)

    # -- encode / decode / sample -----------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """Latent codes (B, latent_dim) of data x (images in [0, 1] / points in data coords)."""
        with inference(self.modules()):
            return self.encoder(self.scaler.to_net(x.to(self.device)))

    def decode(self, z: Tensor) -> Tensor:
        """Data (images in [0, 1] / points in data coordinates) from codes z (B, latent_dim)."""
        with inference(self.modules()):
            return self.scaler.to_data(self.decoder(z.to(self.device)))

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def latent_cholesky(self) -> Tensor:
        """L with L L^T = C + eps I (computed on the CPU in float64; eigenvalues are clipped
        if the running covariance is numerically indefinite)."""
        d = self.config.latent_dim
        c = self.latent_cov.detach().to("cpu", torch.float64)
        c = 0.5 * (c + c.t()) + CHOL_EPS * torch.eye(d, dtype=torch.float64)
        L, info = torch.linalg.cholesky_ex(c)
        if int(info) != 0:
            evals, evecs = torch.linalg.eigh(c)
            c = evecs @ torch.diag(evals.clamp(min=CHOL_EPS)) @ evecs.t()
            L = torch.linalg.cholesky(0.5 * (c + c.t()))
        return L.to(self.device, torch.float32)

    def latent_from_noise(self, z: Tensor) -> Tensor:
        """Standard-normal z -> latent code m + L z under the fitted Gaussian."""
        z = z.to(self.device)
        return self.latent_mean + z @ self.latent_cholesky().t()

    def noise_from_latent(self, latent: Tensor) -> Tensor:
        """Inverse of latent_from_noise: z = L^-1 (latent - m), so encoded data can be edited
        with the same standard-normal sliders that sampling uses."""
        centred = (latent.to(self.device) - self.latent_mean).t()
        return torch.linalg.solve_triangular(self.latent_cholesky(), centred, upper=False).t()

    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        if z is None:
            z = self.noise(n, generator)
        with inference(self.modules()):
            return self.scaler.to_data(self.decoder(self.latent_from_noise(z)))

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch]) -> dict[str, float]:
        """Clean-input reconstruction on held-out data: `test/recon` (per-sample loss, the
        units of `loss/recon`) and `test/mse` (mean squared error per pixel / coordinate,
        in data units)."""
        recon, sq = [], []
        n = 0
        with inference(self.modules()):
            for batch in batches:
                x = batch.x.to(self.device)
                t = self.scaler.to_net(x)
                out = self.decoder(self.encoder(t))
                recon.append(self._recon_per_sample(out, t).sum())
                sq.append((self.scaler.to_data(out) - x).pow(2).sum())
                n += x.shape[0]
        if n == 0:
            return {}
        recon_sum = float(torch.stack(recon).cpu().double().sum())
        sq_sum = float(torch.stack(sq).cpu().double().sum())
        return {"test/recon": recon_sum / n, "test/mse": sq_sum / (n * self.spec.numel)}

    # -- state ------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def extra_tensors(self) -> dict[str, Tensor]:
        self.latent_count.fill_(float(self._count))
        return {"latent_mean": self.latent_mean, "latent_cov": self.latent_cov,
                "latent_count": self.latent_count}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self._count = int(round(float(self.latent_count)))
