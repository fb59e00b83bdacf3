"""Denoising diffusion probabilistic model (Ho et al. 2020), with DDIM sampling (Song et al.
2021) and optional classifier-free guidance (Ho & Salimans 2022).

Units. Images are trained in [-1, 1] (x_net = 2 x - 1; back with (x + 1) / 2 clamped to
[0, 1]); points in standardised coordinates (`_shared.DataScaler`). z = x_T ~ N(0, I) is in
these network units, shape = the data sample shape.

Training (Algorithm 1): t ~ U{1..T}, eps ~ N(0, I) (both from the global torch RNG),
x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, loss = mean squared error between the
network output and its target (eps, x0 or v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0),
averaged over every element (`loss/total` = `loss/mse`). After each optimizer step the EMA
copy is updated: ema <- d ema + (1 - d) theta with d = min(ema, (1 + n) / (10 + n)) after n
updates (the usual warm-up, so early samples are not dominated by the initial weights).
The EMA weights are checkpointed (extra tensors `ema.*` and `ema_updates`) and are the
weights `sample`, the trajectory methods and `evaluate` use (the live weights when ema = 0).

Classifier-free guidance (when `conditional` and the data has labels): the network gets a
class id, or the null id num_classes; during training each label is replaced by the null id
with probability cond_drop. At sampling eps = eps_uncond + w (eps_cond - eps_uncond) with
w = `guidance`: w = 1 is the plain conditional model (one network pass), w = 0 the
unconditional one, w > 1 sharpens. labels=None samples the unconditional model.

Determinism: sample(n, z=z) is a function of z. Samplers that draw noise (ancestral DDPM,
DDIM with eta > 0) take it from a generator seeded with a 63-bit hash (BLAKE2b) of z's
float32 bytes, so sample(generator=g) == sample(z=noise(n, g)) and no global RNG is used.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import register
from ._shared import DataScaler, inference
from .base import Engine, make_optimizer
from .diffusion import PREDICTIONS, SAMPLERS, SCHEDULES, VARIANCES, NoiseSchedule
from .params import OptimConfig, param
from .spec import Batch, DataSpec
from .unet import TimeMLP, UNet

EVAL_T_POINTS = 10


@dataclass
class DDPMConfig:
    """Hyperparameters of the DDPM engine."""

    schedule: str = param("linear", "Noise schedule: 'linear' (beta 1e-4 to 0.02 at T = 1000, "
                                    "Ho et al.) or 'cosine' (Nichol & Dhariwal 2021).",
                          choices=SCHEDULES)
    timesteps: int = param(1000, "T, the number of diffusion steps. Linear betas are scaled by "
                                 "1000 / T so x_T is pure noise for any T.", min=2, max=100000)
    # x0: recognisable digits within a minute on a CPU, where eps takes several (docs/
    # benchmarks.md, "First hour"); eps gives sharper samples with time (ddpm-mnist.toml)
    prediction: str = param("x0", "What the network predicts: 'x0' (the clean data: digits "
                                  "appear soonest), 'eps' (the noise, Ho et al.: sharper with "
                                  "time) or 'v' (sqrt(abar) eps - sqrt(1-abar) x0, Salimans & "
                                  "Ho 2022).", choices=PREDICTIONS)
    sampler: str = param("ddim", "Default sampler of `sample`: 'ddim' (Song et al. 2021; "
                                 "deterministic at eta = 0) or 'ddpm' (ancestral, Algorithm 2).",
                         choices=SAMPLERS, structural=False)
    sample_steps: int = param(50, "Sampling steps, evenly spaced from T (both samplers; "
                                  "'ddpm' with fewer than T steps uses respaced betas). Set it "
                                  "to `timesteps` for the paper's full chain. Capped at T.",
                              min=1, max=100000, structural=False)
    eta: float = param(0.0, "DDIM stochasticity: 0 deterministic, 1 the DDPM posterior "
                            "variance.", min=0.0, max=1.0, structural=False)
    variance: str = param("beta", "Ancestral sampler's sigma_t^2: 'beta' (beta_t) or "
                                  "'posterior' (beta~_t); Ho et al. found both similar.",
                          choices=VARIANCES, structural=False)
    clip: bool = param(True, "Images: clamp the predicted x0 to [-1, 1] at every sampling step "
                             "(as in Ho et al.'s code). Ignored for points.", structural=False)
    ema: float = param(0.999, "EMA decay of the weights used for sampling and evaluation; "
                              "0 turns EMA off. The paper's 0.9999 averages over ~10k steps, "
                              "too slow for short CPU runs.", min=0.0, max=0.99999)
    channels: int = param(32, "Images: U-Net base width (channels at the first level; "
                              "doubled at the others).", min=4, max=512)
    levels: int = param(1, "Images: U-Net resolution levels (one stride-2 downsampling "
                           "between consecutive levels).", min=1, max=5)
    res_blocks: int = param(1, "Images: residual blocks per U-Net level.", min=1, max=4)
    # patch 4 with one level: ~4x the steps per second of patch 2 with two (the first hour)
    patch: int = param(4, "Images: the U-Net works on patch x patch pixel blocks (space to "
                          "depth); each doubling is ~4x faster on a CPU.", min=1, max=4)
    hidden: int = param(128, "Points: width of the MLP hidden layers.", min=8, max=4096)
    depth: int = param(3, "Points: number of MLP hidden layers.", min=1, max=16)
    dropout: float = param(0.0, "Dropout in the residual blocks (Ho et al. used 0.1 on "
                                "CIFAR-10).", min=0.0, max=0.9)
    conditional: bool = param(False, "Class-conditional with classifier-free guidance when "
                                     "the data has labels (ignored otherwise).")
    guidance: float = param(1.0, "Guidance scale w: eps = eps_uncond + w (eps_cond - "
                                 "eps_uncond). 1 = plain conditional, 0 = unconditional, "
                                 ">1 sharper and less diverse.", min=0.0, max=50.0,
                            structural=False)
    cond_drop: float = param(0.1, "Probability of training with the null label (teaches the "
                                  "unconditional model used by guidance).", min=0.0, max=1.0,
                             structural=False)

    def validate(self) -> None:
        for name, allowed in (("schedule", SCHEDULES), ("prediction", PREDICTIONS),
                              ("sampler", SAMPLERS), ("variance", VARIANCES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} {getattr(self, name)!r} is not valid; choose one of "
                                 + ", ".join(repr(a) for a in allowed))
        if self.timesteps < 2:
            raise ValueError(f"timesteps must be >= 2, got {self.timesteps}")
        if self.sample_steps < 1:
            raise ValueError(f"sample_steps must be >= 1, got {self.sample_steps}")
        if not (0.0 <= self.ema < 1.0):
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")


def _seed_from(z: Tensor) -> int:
    """A 63-bit seed that is a deterministic function of z's values."""
    data = z.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") >> 1


@register
class DDPMEngine(Engine):
    name = "ddpm"
    Config = DDPMConfig
    family_capabilities = frozenset({"trajectory", "invert", "eps_field", "conditional"})
    description = ("Denoising diffusion (DDPM) with DDIM sampling, EMA weights and optional "
                   "classifier-free guidance.")

    def __init__(self, config: DDPMConfig, optim: OptimConfig, spec: DataSpec, device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        self.schedule = NoiseSchedule(config.schedule, config.timesteps)
        self.conditional = bool(config.conditional and spec.num_classes > 0)
        self.num_classes = spec.num_classes if self.conditional else 0
        if spec.is_images:
            mults = tuple([1] + [2] * (config.levels - 1))
            net: nn.Module = UNet(spec.channels, channels=config.channels, mults=mults,
                                  res_blocks=config.res_blocks, dropout=config.dropout,
                                  num_classes=self.num_classes, patch=config.patch)
        else:
            net = TimeMLP(spec.dim, hidden=config.hidden, depth=config.depth,
                          num_classes=self.num_classes)
        self.net = net.to(self.device)
        self.scaler = None if spec.is_images else DataScaler(spec, self.device)
        self.ema_net: Optional[nn.Module] = None
        self._ema_n = 0
        self.ema_updates = torch.zeros((), dtype=torch.int64, device=self.device)
        if config.ema > 0:
            self.ema_net = copy.deepcopy(self.net).eval()
            self.ema_net.requires_grad_(False)
        self._params = list(self.net.parameters())
        self.opt = make_optimizer(self._params, optim)

    def active_capabilities(self) -> frozenset[str]:
        """"conditional" only when conditioned on labels (config.conditional and labelled
        data); "eps_field" only on points."""
        caps = set(self.family_capabilities)
        if not self.conditional:
            caps.discard("conditional")
        if self.spec.is_images:
            caps.discard("eps_field")
        return frozenset(caps)

    # -- units ------------------------------------------------------------------------------
    def to_net(self, x: Tensor) -> Tensor:
        """Data -> network units: images 2 x - 1, points standardised."""
        if self.scaler is None:
            return x * 2.0 - 1.0
        return self.scaler.to_net(x)

    def to_data(self, x: Tensor, clip: bool = True) -> Tensor:
        """Network units -> data: images (x + 1) / 2 (clamped to [0, 1] when clip),
        points de-standardised."""
        if self.scaler is None:
            out = (x + 1.0) * 0.5
            return out.clamp(0.0, 1.0) if clip else out
        return self.scaler.to_data(x)

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return tuple(self.spec.sample_shape)

    @property
    def null_label(self) -> int:
        return self.num_classes

    # -- training ---------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        x0 = self.to_net(batch.x)
        b = x0.shape[0]
        t = self.draw(lambda s: torch.randint(1, self.schedule.T + 1, s, device=x0.device), (b,))
        eps = self.draw(lambda s: torch.randn(s, dtype=x0.dtype, device=x0.device), x0.shape)
        xt = self.schedule.q_sample(x0, t, eps)
        y = None
        if self.conditional:
            if batch.y is None:
                y = torch.full((b,), self.null_label, dtype=torch.long, device=x0.device)
            else:
                drop = self.draw(lambda s: torch.rand(s, device=x0.device), (b,)) < self.config.cond_drop
                y = torch.where(drop, torch.full_like(batch.y, self.null_label), batch.y)
        out = self.trained("net")(xt, t, y)
        loss = F.mse_loss(out, self.schedule.target(self.config.prediction, x0, t, eps))
        self.opt.zero_grad(set_to_none=True)
        self.backward_and_step(loss, self.opt, self._params)
        self._update_ema()
        loss = loss.detach()
        return {"loss/total": loss, "loss/mse": loss}

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema_net is None:
            return
        self._ema_n += 1
        self.ema_updates.add_(1)
        n = self._ema_n
        d = min(self.config.ema, (1.0 + n) / (10.0 + n))
        ema_p = list(self.ema_net.parameters())
        torch._foreach_lerp_(ema_p, self._params, 1.0 - d)
        for be, bl in zip(self.ema_net.buffers(), self.net.buffers()):
            be.copy_(bl)

    # -- the denoiser as eps_fn ---------------------------------------------------------------
    def sampling_net(self) -> nn.Module:
        """The network used for sampling and evaluation: the EMA copy when ema > 0."""
        return self.ema_net if self.ema_net is not None else self.net

    def eps_fn(self, labels: Optional[Tensor] = None, guidance: Optional[float] = None):
        """eps_fn(x_t, t_batch) -> eps for the schedule's samplers, from the sampling
        network, with classifier-free guidance for a conditional model given labels.
        Call inside no_grad / eval (see `_inference`)."""
        net = self.sampling_net()
        pred = self.config.prediction
        sched = self.schedule
        w = self.config.guidance if guidance is None else float(guidance)
        if not self.conditional:
            return lambda x, t: sched.to_eps(pred, net(x, t), x, t)
        if labels is None:
            def fn_uncond(x: Tensor, t: Tensor) -> Tensor:
                y = torch.full((x.shape[0],), self.null_label, dtype=torch.long, device=x.device)
                return sched.to_eps(pred, net(x, t, y), x, t)
            return fn_uncond
        y = labels.to(self.device).long()

        def fn(x: Tensor, t: Tensor) -> Tensor:
            if w == 1.0:
                return sched.to_eps(pred, net(x, t, y), x, t)
            null = torch.full_like(y, self.null_label)
            out = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null]))
            e = sched.to_eps(pred, out, torch.cat([x, x]), torch.cat([t, t]))
            e_c, e_u = e.chunk(2)
            return e_u + w * (e_c - e_u)
        return fn

    def _inference(self):
        return inference({"net": self.sampling_net()})

    def _clip(self) -> Optional[float]:
        return 1.0 if (self.spec.is_images and self.config.clip) else None

    def _steps(self, steps: Optional[int]) -> int:
        s = self.config.sample_steps if steps is None else int(steps)
        return max(1, min(s, self.schedule.T))

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """n samples with the configured sampler and the EMA network, starting at x_T = z
        (drawn from `generator` when None). Images in [0, 1], points in data coordinates."""
        if z is None:
            z = self.noise(n, generator)
        z = z.to(self.device)
        cfg = self.config
        with self._inference():
            x = self.schedule.sample(
                self.eps_fn(labels), z.shape, sampler=cfg.sampler, steps=self._steps(None),
                eta=cfg.eta, variance=cfg.variance, x_T=z, clip_x0=self._clip(),
                generator=torch.Generator().manual_seed(_seed_from(z)))
            return self.to_data(x)

    def sample_trajectory(self, n: int, *, z: Optional[Tensor] = None,
                          labels: Optional[Tensor] = None, sampler: Optional[str] = None,
                          steps: Optional[int] = None, eta: Optional[float] = None,
                          seed: int = 0, start_index: int = 0,
                          x_start: Optional[Tensor] = None, every: int = 1,
                          guidance: Optional[float] = None) -> dict[str, np.ndarray]:
        """The reverse process step by step, for scrubbing in the GUI.

        z: x_T (n, *sample_shape) in network units; None draws it from
        torch.Generator().manual_seed(seed). The sampler's noise comes from a hash of z, as
        in `sample`, so with the same z/seed and the config's sampler/steps/eta the last
        frame equals sample(n, z=z). To continue from an edited state, pass the same z (or
        seed), `start_index` (a frame's "index") and `x_start` = the edited x_t in network
        units (e.g. an edited "xt_net" frame, or to_net(edited data)); the steps before
        start_index are skipped and the later steps reuse the original noise.
        sampler / steps / eta / guidance default to the config; every = keep every k-th step.

        Returns numpy arrays, F frames = the recorded steps plus the final sample:
          "index" (F,) int64 step index in timesteps(steps) (S for the final frame),
          "t" (F,) int64 time of x_t (0 for the final frame),
          "xt" (F, n, *shape) x_t in data units (images (x + 1) / 2 clamped to [0, 1]),
          "x0" (F, n, *shape) predicted x0 in data units (the final frame: the sample),
          "eps" (F, n, *shape) predicted noise, network units (zeros in the final frame),
          "xt_net" (F, n, *shape) x_t in network units (unclipped; feed back as x_start)."""
        cfg = self.config
        sampler = cfg.sampler if sampler is None else sampler
        eta = cfg.eta if eta is None else float(eta)
        S = self._steps(steps)
        if z is None:
            z = self.noise(n, torch.Generator().manual_seed(int(seed)))
        z = z.to(self.device)
        if z.shape[0] != n:
            raise ValueError(f"z has {z.shape[0]} samples, expected {n}")
        x_T = z if x_start is None else x_start.to(self.device, z.dtype)
        every = max(1, int(every))
        frames: dict[str, list] = {k: [] for k in ("index", "t", "xt", "x0", "eps", "xt_net")}

        def add(i: int, t: int, xt: Tensor, x0: Tensor, eps: Tensor) -> None:
            frames["index"].append(i)
            frames["t"].append(t)
            frames["xt"].append(self.to_data(xt).cpu().numpy())
            frames["x0"].append(self.to_data(x0).cpu().numpy())
            frames["eps"].append(eps.cpu().numpy())
            frames["xt_net"].append(xt.cpu().numpy())

        x = x_T
        with self._inference():
            loop = self.schedule.sample_loop(
                self.eps_fn(labels, guidance), z.shape, sampler=sampler, steps=S, eta=eta,
                variance=cfg.variance, x_T=x_T, start_index=start_index,
                clip_x0=self._clip(), generator=torch.Generator().manual_seed(_seed_from(z)))
            for st in loop:
                if (st.index - start_index) % every == 0:
                    add(st.index, st.t, st.x_t, st.x0, st.eps)
                x = st.x_prev
            add(S, 0, x, x, torch.zeros_like(x))
        return {"index": np.asarray(frames["index"], np.int64),
                "t": np.asarray(frames["t"], np.int64),
                **{k: np.stack(frames[k]).astype(np.float32)
                   for k in ("xt", "x0", "eps", "xt_net")}}

    def forward_trajectory(self, x0: Tensor, steps: Optional[int] = None,
                           seed: int = 0) -> dict[str, np.ndarray]:
        """Closed-form noising of real data x0 (data units) at the times of the sampling
        trajectory, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, with ONE eps per sample
        (torch.Generator().manual_seed(seed)) shared by all t, so the frames morph smoothly;
        each frame is still an exact draw from q(x_t | x_0).
        Frame order matches `sample_trajectory`: t = timesteps(steps) descending from T,
        then 0 (the data itself). Returns "t" (F,), "xt" (F, n, *shape) data units (images
        clamped), "xt_net" (F, n, *shape) network units, "eps" (n, *shape)."""
        x = self.to_net(x0.to(self.device).float())
        g = torch.Generator().manual_seed(int(seed))
        eps = torch.randn(x.shape, generator=g).to(self.device)
        ts = self.schedule.timesteps(self._steps(steps)) + [0]
        xts = [self.schedule.q_sample(x, t, eps) for t in ts]
        return {"t": np.asarray(ts, np.int64),
                "xt": np.stack([self.to_data(v).cpu().numpy() for v in xts]).astype(np.float32),
                "xt_net": np.stack([v.cpu().numpy() for v in xts]).astype(np.float32),
                "eps": eps.cpu().numpy().astype(np.float32)}

    def invert(self, x: Tensor, *, labels: Optional[Tensor] = None,
               steps: Optional[int] = None) -> Tensor:
        """Deterministic DDIM inversion of data x (data units) to x_T (network units, the
        `z` of sample): NoiseSchedule.ddim_invert with the sampling network. sample(z=...)
        with sampler 'ddim', eta 0 and the same steps maps it back (approximately)."""
        with self._inference():
            return self.schedule.ddim_invert(self.eps_fn(labels), self.to_net(x.to(self.device)),
                                             self._steps(steps))

    def decode_noise(self, z: Tensor, *, labels: Optional[Tensor] = None,
                     steps: Optional[int] = None) -> Tensor:
        """The deterministic map x_T -> data that `invert` inverts: DDIM with eta 0 over the
        same steps and, unlike `sample`, no clipping of the predicted x0 (clipping is not
        invertible, so an inverted image would not come back). The latent explorer decodes
        with this, so "Pick from data set" then shows the picked image itself."""
        z = z.to(self.device)
        with self._inference():
            # eta 0 draws no noise, but the loop still takes a generator: give it its own so
            # a decode between training steps never moves the training RNG
            x = self.schedule.sample(self.eps_fn(labels), z.shape, sampler="ddim",
                                     steps=self._steps(steps), eta=0.0, x_T=z, clip_x0=None,
                                     generator=torch.Generator(device=z.device).manual_seed(0))
            return self.to_data(x)

    def eps_field(self, t: int, grid_points: Tensor | np.ndarray,
                  labels: Optional[Tensor] = None) -> np.ndarray:
        """Points only: the predicted noise eps_theta(x_t, t) at x_t = the grid points
        (G, dim), given in DATA coordinates (standardised before the network sees them).
        Returns (G, dim) float32 in standardised units; -eps / sqrt(1 - abar_t) is the
        score, so -eps * point_std points towards the data in data coordinates."""
        if self.spec.is_images:
            raise ValueError("eps_field is for point data; this model is on images")
        g = torch.as_tensor(np.asarray(grid_points, np.float32), device=self.device)
        xt = self.to_net(g)
        if labels is not None:
            labels = torch.as_tensor(labels, device=self.device).long().expand(g.shape[0])
        with self._inference():
            tb = torch.full((g.shape[0],), int(t), dtype=torch.long, device=self.device)
            self.schedule._check_t(tb)
            eps = self.eps_fn(labels)(xt, tb)
        return eps.cpu().numpy().astype(np.float32)

    def predict(self, x_t: Tensor, t: int,
                labels: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """What the model guesses at x_t (network units, time t >= 1), deterministically:
        (the x0 it implies, in data units, with the sampler's clipping; eps_theta(x_t, t))."""
        with self._inference():
            x = x_t.to(self.device)
            eps = self.eps_fn(labels)(x, torch.full((len(x),), int(t), dtype=torch.long,
                                                    device=x.device))
            x0 = self.schedule._x0_hat(x, int(t), eps, self._clip())[0]
            return self.to_data(x0), eps

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch], seed: int = 0) -> dict[str, float]:
        """`test/mse`: the training loss (MSE on the configured target, per element) on
        held-out data with the sampling (EMA) network, deterministic: example i of the
        stream gets t = t_grid[i % 10] with t_grid_k = round((k + 0.5) T / 10), and eps from
        torch.Generator().manual_seed(seed); labels are used as given (no dropping)."""
        T = self.schedule.T
        grid = torch.tensor([max(1, min(T, round((k + 0.5) * T / EVAL_T_POINTS)))
                             for k in range(EVAL_T_POINTS)], dtype=torch.long)
        gen = torch.Generator().manual_seed(seed)
        count, seen = 0, 0
        sums = []
        net = self.sampling_net()
        with self._inference():
            for batch in batches:
                x0 = self.to_net(batch.x.to(self.device).float())
                b = x0.shape[0]
                t = grid[(torch.arange(b) + seen) % EVAL_T_POINTS].to(self.device)
                seen += b
                eps = torch.randn(x0.shape, generator=gen).to(self.device)
                xt = self.schedule.q_sample(x0, t, eps)
                y = None
                if self.conditional:
                    y = batch.y.to(self.device) if batch.y is not None else \
                        torch.full((b,), self.null_label, dtype=torch.long, device=self.device)
                out = net(xt, t, y)
                target = self.schedule.target(self.config.prediction, x0, t, eps)
                sums.append((out - target).pow(2).sum())
                count += x0.numel()
        if count == 0:
            return {}
        total = float(torch.stack(sums).cpu().double().sum())
        return {"test/mse": total / count}

    # -- state ------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def extra_tensors(self) -> dict[str, Tensor]:
        if self.ema_net is None:
            return {}
        out = {f"ema.{k}": v for k, v in self.ema_net.state_dict().items()}
        out["ema_updates"] = self.ema_updates
        return out

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self._ema_n = int(self.ema_updates)
