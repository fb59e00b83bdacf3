"""`GANEngine`: the Engine that trains a generator against a discriminator (Goodfellow et al.
2014) with the losses of `losses`, the regularisers of `regularisers`, the networks of `nets`
and the latent mixture of `latent`.

One `train_step` = K discriminator steps (K = n_critic, or the WGAN warm-up schedule), one
chunk of the trainer's batch each, then one generator step; all noise comes from the global
torch RNG, which the trainer seeds and checkpoints. The options, the metrics and the design
notes behind them are in docs/engines/gan.md.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Callable, Iterable, Optional

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .. import register
from .._shared import DataScaler, inference
from ..base import Engine, make_optimizer
from ..params import OptimConfig
from ..spec import Batch, DataSpec
from .config import GANConfig
from .latent import MixtureLatentGenerator, nearest_other_distance
from .losses import LOGIT_LOSSES, WASSERSTEIN_LOSSES, d_fake_term, d_real_term, generator_loss
from .nets import ConvGenerator, Discriminator, MLPGenerator, fourier_features, input_scaler
from .regularisers import gradient_penalty, mmd2_unbiased
from .schedule import linear_fade, lr_factor, warmup_critic_steps


def _make_optimizer(params: list, cfg: OptimConfig) -> torch.optim.Optimizer:
    """`base.make_optimizer`, but Adam / AdamW use the fused kernel where torch has one (the
    same update rule; on a CPU it is ~2x faster than the default per-tensor loop, which
    matters for the small networks of the 2D toys)."""
    if cfg.name in ("adam", "adamw"):
        cls = torch.optim.Adam if cfg.name == "adam" else torch.optim.AdamW
        try:
            return cls(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                       weight_decay=cfg.weight_decay, fused=True)
        except (RuntimeError, ValueError, TypeError):
            pass
    return make_optimizer(params, cfg)


# ---------------------------------------------------------------------------------- engine

@register
class GANEngine(Engine):
    """GAN engine (losses, options and metrics: docs/engines/gan.md).

    Beyond the Engine interface (capabilities "critic", "generator_field",
    "generator_features", "train_phase", and "conditional" when conditioned on labels):

    - `critic_label: str`: what `critic_field` returns, e.g. "D(x) = P(real)".
    - `critic_field(points, labels=None) -> Tensor (N,)`: D at data-coordinate points (or
      images (N, C, H, W) in [0, 1]), D in eval mode, no gradients: sigma(s) for minimax /
      nonsaturating, the raw score s otherwise. With pack m > 1 each point is packed with
      m - 1 copies of itself; with minibatch discrimination each point is its own minibatch
      (o_b = 1), so the field does not depend on which points are asked together. For a
      conditional model, `labels` (N,) or one int; None averages the output over all classes.
    - `generator_field(z, labels=None) -> (x, push)`: x = G(z) in data units (the same
      points as `sample(z=z)`), and push = -d(sum_i L_G,i)/dx_i, the direction and strength
      with which the generator's loss moves each generated sample, in data coordinates: the
      network-unit gradient times d t / d x (1 / point_std for points, 2 for images). The
      per-sample losses are summed (not averaged), so arrow lengths do not depend on N. D is
      in eval mode; the given samples form one minibatch as in training (minibatch
      discrimination sees all of them; packs are consecutive samples, the last pack filled
      by wrapping around, and a sample's gradient is averaged over its occurrences).
      Computed with autograd even inside the caller's no_grad.
    - `train_phase(batch, phase) -> dict[str, Tensor]`: one discriminator step on `batch`
      (phase "discriminator": clipping / penalty / wrong labels as configured) or one
      generator step with fresh z of the batch's size (phase "generator"; `batch` supplies
      the labels and the real data of the unrolled steps; counts as a generator step for
      the WGAN schedule and the EMA).
    - `unrolled_discriminator(x_real, y, fake, y_fake) -> (params, buffers)`: D's weights
      after unroll_steps differentiable optimizer steps (for torch.func.functional_call).
    - `generator_objective(x_real, y, z) -> Tensor`: the generator's loss (differentiable
      w.r.t. G's parameters) as the G step computes it, unrolling included.
    - `penalty(x_real, fake, y=None, eps=None) -> (penalty, norms)`: the WGAN-GP penalty of
      the current D (`gradient_penalty`), inputs in network units.
    """

    name = "gan"
    Config = GANConfig
    family_capabilities = frozenset({"critic", "generator_field", "generator_features",
                                     "train_phase", "conditional"})
    description = ("Generative adversarial network: minimax, non-saturating, WGAN, WGAN-GP, "
                   "LSGAN and hinge losses, with PacGAN, minibatch discrimination, unrolling, "
                   "conditioning and EMA.")

    def __init__(self, config: GANConfig, optim: OptimConfig, spec: DataSpec, device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        self.kind = config.loss
        self.conditional = bool(config.conditional and spec.num_classes > 0)
        self.num_classes = spec.num_classes if self.conditional else 0
        self.latent_dim = config.latent_dim or (64 if spec.is_images else 2)
        k = self.num_classes
        if spec.is_images and config.arch == "conv":
            g: nn.Module = ConvGenerator(self.latent_dim, spec.sample_shape, config.channels,
                                         config.g_act, config.g_norm, k)
        else:
            g = MLPGenerator(self.latent_dim, spec.sample_shape, config.g_hidden, config.g_depth,
                             config.g_act, config.g_norm, k, tanh_out=spec.is_images)
        if config.latent_mixture > 0:     # after the base G, so its initialisation is unchanged
            g = MixtureLatentGenerator(g, config.latent_mixture, self.latent_dim,
                                       config.latent_mixture_sigma,
                                       config.latent_mixture_weights)
        self.G = g.to(self.device)
        # the standard-normal code G takes: z, plus the coordinate that picks the component
        self.code_dim = self.latent_dim + (1 if config.latent_mixture > 0 else 0)
        fourier = config.d_fourier > 0 and not spec.is_images
        d_in = int(math.prod(spec.sample_shape))     # numbers per sample (points: dim)
        self.D = Discriminator(
            (d_in + 2 * config.d_fourier,) if fourier else spec.sample_shape,
            conv=spec.is_images and config.arch == "conv", num_classes=k,
            pack=config.pack, hidden=config.d_hidden, depth=config.d_depth,
            channels=config.channels, act=config.d_act, norm=config.d_norm,
            mbd_kernels=config.minibatch_disc, mbd_dim=config.minibatch_dim,
            spectral=config.spectral_norm).to(self.device)
        if config.d_input_scale != 1.0:
            self.D.register_forward_pre_hook(input_scaler(config.d_input_scale), with_kwargs=True)
        if fourier:
            b = torch.randn(config.d_fourier, d_in, device=self.device) * config.d_fourier_scale
            self.D.register_buffer("fourier_B", b)
            self.D.register_forward_pre_hook(fourier_features, with_kwargs=True)
        self.scaler = None if spec.is_images else DataScaler(spec, self.device)
        if self.scaler is not None:
            self._inv_std = 1.0 / self.scaler.std
        # D is a per-sample function when nothing couples the samples of a minibatch: then
        # real and generated samples can share one forward pass (identical results, faster).
        self._d_per_sample = config.minibatch_disc == 0 and config.d_norm == "none"
        self._g_params = list(self.G.parameters())
        self._d_params = list(self.D.parameters())
        self.opt_d = _make_optimizer(self._d_params, optim)
        g_groups: list = [{"params": self._g_params}]
        if config.latent_mixture > 0 and config.latent_mixture_weights:
            # the logits get their own rate: a score-function gradient is weak and noisy
            logits = self.G.latent.logits
            mult = config.latent_mixture_weights_lr
            g_groups = [{"params": [p for p in self._g_params if p is not logits]},
                        {"params": [logits], "lr_mult": mult,
                         "lr": optim.lr * config.g_lr_mult * mult}]
        self.opt_g = _make_optimizer(g_groups,
                                     dataclasses.replace(optim, lr=optim.lr * config.g_lr_mult))
        self.ema_G: Optional[nn.Module] = None
        self._ema_n = 0
        self.ema_updates = torch.zeros((), dtype=torch.int64, device=self.device)
        if config.ema > 0:
            self.ema_G = copy.deepcopy(self.G).eval()
            self.ema_G.requires_grad_(False)
        self._g_steps = 0
        self.g_steps = torch.zeros((), dtype=torch.int64, device=self.device)
        self.latent_restarts = torch.zeros((), dtype=torch.int64, device=self.device)

    # -- units -------------------------------------------------------------------------------
    def to_net(self, x: Tensor) -> Tensor:
        """Data -> network units: images 2 x - 1, points standardised."""
        if self.scaler is None:
            return x * 2.0 - 1.0
        return self.scaler.to_net(x)

    def to_data(self, t: Tensor) -> Tensor:
        """Network units -> data: images (t + 1) / 2 clamped to [0, 1], points de-standardised."""
        if self.scaler is None:
            return ((t + 1.0) * 0.5).clamp(0.0, 1.0)
        return self.scaler.to_data(t)

    def _grad_to_data(self, g: Tensor) -> Tensor:
        """d/dt -> d/dx by the chain rule through t = to_net(x)."""
        if self.scaler is None:
            return g * 2.0
        return g * self._inv_std

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (self.code_dim,)

    @property
    def critic_label(self) -> str:
        return {"minimax": "D(x) = P(real)", "nonsaturating": "D(x) = P(real)",
                "wgan": "critic value D(x)", "wgan-gp": "critic value D(x)",
                "lsgan": "D(x) (least squares: 1 real, 0 fake)",
                "hinge": "D(x) (hinge score: > 0 real)"}[self.kind]

    def _d_stat(self, out: Tensor) -> Tensor:
        """Mean D output as reported: probability for logit losses, raw otherwise."""
        return torch.sigmoid(out).mean() if self.kind in LOGIT_LOSSES else out.mean()

    # -- labels ------------------------------------------------------------------------------
    def _labels(self, y: Optional[Tensor], n: int) -> Optional[Tensor]:
        if not self.conditional:
            return None
        if y is None:
            raise ValueError("this GAN is conditional: its batches need class labels")
        return y

    def _wrong_labels(self, y: Tensor) -> Tensor:
        """y' = (y + U{1..K-1}) mod K: a label different from y (global RNG)."""
        k = self.num_classes
        return (y + self.draw(lambda s: torch.randint(1, k, s, device=y.device), y.shape)) % k

    def default_labels(self, n: int) -> Tensor:
        """arange(n) % num_classes: every class in turn (a fixed-z grid shows them all)."""
        return torch.arange(n, device=self.device) % self.num_classes

    # -- the discriminator's loss --------------------------------------------------------------
    def _d_terms(self, d: Callable[..., Tensor], xr: Tensor, y: Optional[Tensor], fake: Tensor,
                 y_wrong: Optional[Tensor], double_backward: bool = False
                 ) -> tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """(L_D without penalty, D(real), D(fake), D(real, wrong label)) for the D given as a
        callable d(x, y, double_backward=...)."""
        kind = self.kind
        if self._d_per_sample:
            if y_wrong is None:
                out = d(torch.cat([xr, fake]), None if y is None else torch.cat([y, y]),
                        double_backward=double_backward)
                r, f = out.split(out.shape[0] // 2)
                w = None
            else:
                out = d(torch.cat([xr, fake, xr]), torch.cat([y, y, y_wrong]),
                        double_backward=double_backward)
                r, f, w = out.split(out.shape[0] // 3)
        else:                                   # separate minibatches (BatchNorm / MBD)
            r = d(xr, y, double_backward=double_backward)
            f = d(fake, y, double_backward=double_backward)
            w = d(xr, y_wrong, double_backward=double_backward) if y_wrong is not None else None
        if w is None:
            loss = d_real_term(kind, r) + d_fake_term(kind, f)
        else:
            loss = d_real_term(kind, r) + 0.5 * (d_fake_term(kind, f) + d_fake_term(kind, w))
        return loss, r, f, w

    def penalty(self, x_real: Tensor, fake: Tensor, y: Optional[Tensor] = None,
                eps: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """The WGAN-GP penalty of the current D on network-unit samples (see
        `gradient_penalty`); conditional models score xhat with the real labels."""
        return gradient_penalty(lambda v: self.D(v, y, double_backward=True), x_real, fake, eps)

    def _generate(self, n: int, y: Optional[Tensor]) -> Tensor:
        return self.G(self._z(n), y)

    def _z(self, n: int) -> Tensor:
        """G's codes for n samples of this process's shard (global RNG; `Engine.draw`)."""
        return self.draw(lambda s: torch.randn(s, device=self.device), (n, self.code_dim))

    def noise_std(self) -> float:
        """The instance noise std after the generator steps taken so far (0 when off)."""
        s0 = self.config.instance_noise
        if s0 <= 0:
            return 0.0
        return s0 * linear_fade(self._g_steps, self.config.noise_steps)

    def _noisy(self, t: Tensor) -> Tensor:
        s = self.noise_std()
        if s <= 0:
            return t
        return t + s * self.draw(lambda sh: torch.randn(sh, dtype=t.dtype, device=t.device), t.shape)

    def _check_pack(self, b: int) -> None:
        m = self.config.pack
        if b % m != 0:
            raise ValueError(f"pack = {m}: a batch (chunk) of {b} samples is not divisible by "
                             f"{m}; choose a batch size that is a multiple of {m}")

    def _d_step(self, x: Tensor, y: Optional[Tensor],
                keep: Optional[list[tuple[Tensor, Tensor]]] = None) -> dict[str, Tensor]:
        """One discriminator step on real data x (data units). With `keep` (a list), G's
        batch is generated with its graph and (z, fake) appended to it for the G step."""
        xr = self.to_net(x)
        b = xr.shape[0]
        self._check_pack(b)
        y = self._labels(y, b)
        if keep is None:
            with torch.no_grad():
                fake = self._generate(b, y)
        else:
            z = self._z(b)
            kept = self.trained("generator")(z, y)
            keep.append((z, kept))
            fake = kept.detach()
        xr, fake = self._noisy(xr), self._noisy(fake)
        y_wrong = self._wrong_labels(y) if self.conditional else None
        loss, r, f, w = self._d_terms(self.trained("discriminator"), xr, y, fake, y_wrong)
        out = {"loss/d": loss, "gan/d_real": self._d_stat(r), "gan/d_fake": self._d_stat(f)}
        if w is not None:
            out["gan/d_wrong"] = self._d_stat(w)
        if self.kind == "wgan-gp":
            eps = self.draw(lambda s: torch.rand(s, device=xr.device, dtype=xr.dtype), (b,))
            gp, _ = self.penalty(xr, fake, y, eps)
            loss = loss + self.config.gp_lambda * gp
            out["gan/gp"] = gp
            out["loss/d"] = loss
        if self.kind in WASSERSTEIN_LOSSES:
            out["gan/wasserstein"] = r.mean() - f.mean()
        self.opt_d.zero_grad(set_to_none=True)
        self.backward_and_step(loss, self.opt_d, self._d_params)
        if self.kind == "wgan":
            with torch.no_grad():
                c = self.config.clip
                torch._foreach_clamp_min_(self._d_params, -c)
                torch._foreach_clamp_max_(self._d_params, c)
        return {k: v.detach() for k, v in out.items()}

    # -- unrolling ---------------------------------------------------------------------------
    def unrolled_discriminator(self, x_real: Tensor, y: Optional[Tensor], fake: Tensor,
                               y_fake: Optional[Tensor] = None
                               ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """D's parameters after `unroll_steps` differentiable optimizer steps (Metz et al.
        2017), as (params, buffers) for torch.func.functional_call(self.D, ...).

        Start: detached copies of D's parameters (leaves requiring grad) and clones of its
        buffers (BatchNorm statistics, spectral-norm vectors, updated in the clones only).
        Each step takes g_k = grad of L_D (the D step's loss on x_real / fake with the same
        labels, wrong labels drawn once; without the gradient penalty) with create_graph=True
        and applies the update rule of D's own optimizer: Adam / AdamW
        (m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr m_hat / (sqrt(v_hat) + eps),
        starting from the optimizer's current moments and step count; weight decay left
        out), RMSProp (v = a v + (1 - a) g^2, p -= lr g / (sqrt(v) + eps)) or SGD with
        momentum; wgan clips after each step. `fake` should carry its graph to G: then the
        gradient of a loss at the unrolled D flows through every step back into G. Neither
        D's weights nor its optimizer state change."""
        names = [n for n, _ in self.D.named_parameters()]
        live = list(self.D.parameters())
        params = [p.detach().clone().requires_grad_(True) for p in live]
        buffers = {n: b.clone() for n, b in self.D.named_buffers()}
        group = self.opt_d.param_groups[0]
        oname = self.optim_config.name
        lr = group["lr"]
        state = [self.opt_d.state.get(p, {}) for p in live]
        if oname in ("adam", "adamw"):
            b1, b2 = group["betas"]
            eps = group["eps"]
            m1 = [s["exp_avg"].detach().clone() if "exp_avg" in s else torch.zeros_like(p)
                  for s, p in zip(state, live)]
            m2 = [s["exp_avg_sq"].detach().clone() if "exp_avg_sq" in s else torch.zeros_like(p)
                  for s, p in zip(state, live)]
            step0 = float(state[0]["step"]) if state and "step" in state[0] else 0.0
        elif oname == "rmsprop":
            alpha, eps = group["alpha"], group["eps"]
            m2 = [s["square_avg"].detach().clone() if "square_avg" in s else torch.zeros_like(p)
                  for s, p in zip(state, live)]
        else:
            mom = group.get("momentum", 0.0)
            m1 = [s["momentum_buffer"].detach().clone() if s.get("momentum_buffer") is not None
                  else torch.zeros_like(p) for s, p in zip(state, live)]
        y_wrong = self._wrong_labels(y) if self.conditional else None
        for k in range(self.config.unroll_steps):
            pd = dict(zip(names, params))

            def d(v: Tensor, lab: Optional[Tensor], double_backward: bool = False) -> Tensor:
                return functional_call(self.D, (pd, buffers), (v, lab),
                                       {"double_backward": double_backward})

            loss, _, _, _ = self._d_terms(d, x_real, y, fake, y_wrong, double_backward=True)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            new = []
            if oname in ("adam", "adamw"):
                t = step0 + k + 1
                c1, c2 = 1.0 - b1 ** t, 1.0 - b2 ** t
                for i, (p, g) in enumerate(zip(params, grads)):
                    m1[i] = b1 * m1[i] + (1.0 - b1) * g
                    m2[i] = b2 * m2[i] + (1.0 - b2) * g * g
                    new.append(p - lr * (m1[i] / c1) / ((m2[i] / c2 + 1e-16).sqrt() + eps))
            elif oname == "rmsprop":
                for i, (p, g) in enumerate(zip(params, grads)):
                    m2[i] = alpha * m2[i] + (1.0 - alpha) * g * g
                    new.append(p - lr * g / ((m2[i] + 1e-16).sqrt() + eps))
            else:
                for i, (p, g) in enumerate(zip(params, grads)):
                    m1[i] = mom * m1[i] + g if mom else g
                    new.append(p - lr * m1[i])
            if self.kind == "wgan":
                c = self.config.clip
                new = [p.clamp(-c, c) for p in new]
            params = new
        return dict(zip(names, params)), buffers

    # -- the generator's loss ------------------------------------------------------------------
    def mmd_weight(self) -> float:
        """mmd_weight after the generator steps taken so far (falling to 0 over mmd_steps)."""
        w, t = self.config.mmd_weight, self.config.mmd_steps
        if w <= 0 or t <= 0:
            return w
        return w * linear_fade(self._g_steps, t)

    def generator_objective(self, x_real: Tensor, y: Optional[Tensor], z: Tensor,
                            fake: Optional[Tensor] = None) -> Tensor:
        """L_G for noise z (and labels y for a conditional model), with D unrolled on x_real
        (network units) when unroll_steps > 0, plus latent_mixture_reg * mean (1 - sigma)^2
        with latent_mixture, plus `mmd_weight()` * MMD^2_u(G(z), x_real) with mmd_weight.
        Differentiable w.r.t. G's parameters (mu, sigma included). `fake`: G(z, y) already
        computed with its graph (reuse_fake), else computed here."""
        if fake is None:
            fake = self.trained("generator")(z, y)
        if self.config.unroll_steps > 0:
            params, buffers = self.unrolled_discriminator(x_real, y, fake, y)
            out = functional_call(self.D, (params, buffers), (self._noisy(fake), y))
        else:
            out = self.D(self._noisy(fake), y)
        per = generator_loss(self.kind, out, reduce=False)
        loss = per.mean()
        if self.config.mmd_weight > 0:
            w = self.mmd_weight()
            # measured even after its weight has fallen to 0: the curve stays honest
            with torch.set_grad_enabled(w > 0 and torch.is_grad_enabled()):
                mmd = mmd2_unbiased(fake, x_real, self.config.mmd_bandwidth)
            self._last_mmd = mmd.detach()
            if w > 0:
                loss = loss + w * mmd
        if self.config.latent_mixture > 0 and self.config.latent_mixture_reg > 0:
            loss = loss + self.config.latent_mixture_reg * self.G.latent.regulariser()
        if self.config.latent_mixture > 0 and self.config.latent_mixture_weights:
            loss = loss + self.mixture_weight_surrogate(per, z)
        return loss

    def mixture_weight_surrogate(self, per_output: Tensor, z: Tensor) -> Tensor:
        """The score-function (REINFORCE) term whose gradient w.r.t. the mixture logits is an
        unbiased estimate of d E_{i ~ pi}[L_G] / d logits = E[(l - b) d log pi_i / d logits]:
        mean_j (l_j - b) log pi_(i_j), l_j the loss of the D output sample j went into (a pack's
        loss counts for each of its m samples), b = the batch mean (a baseline: lowers the
        variance, keeps the estimate unbiased since E[d log pi_i] = 0). Written with
        log pi - detach(log pi), so its value is exactly 0 (loss/g stays the GAN loss) and it
        moves no other parameter."""
        m = self.config.pack
        l = per_output.detach().repeat_interleave(m)     # (B,): B is a multiple of m
        logp = self.G.latent.log_weight(z)
        baseline = self.shard.mean(l.mean())      # the global batch's mean under torchrun
        return ((l - baseline) * (logp - logp.detach())).mean()

    def _g_step(self, x: Tensor, y: Optional[Tensor],
                kept: Optional[tuple[Tensor, Tensor]] = None) -> dict[str, Tensor]:
        """One generator step; x (data units) gives the batch size, the labels and the real
        data of the unrolled steps. `kept`: (z, G(z, y)) from the last D step (reuse_fake)."""
        b = x.shape[0]
        self._check_pack(b)
        y = self._labels(y, b)
        needs_real = self.config.unroll_steps > 0 or self.config.mmd_weight > 0
        xr = self.to_net(x) if needs_real else x
        if kept is None:
            z, fake = self._z(b), None
        else:
            z, fake = kept
        loss = self.generator_objective(xr, y, z, fake)
        # into G's .grad only (D's are left alone); backward, not autograd.grad, so that
        # DistributedDataParallel averages G's gradients under torchrun
        self.opt_g.zero_grad(set_to_none=True)
        self.backward_and_step(loss, self.opt_g, self._g_params, inputs=self._g_params)
        self._update_ema()
        self._g_steps += 1
        self.g_steps.add_(1)
        out = {"loss/g": loss.detach()}
        if self.config.latent_mixture_restart > 0:
            if self._restart_due():
                # the same decision on every rank: from the global batch
                real = self.shard.gather(xr if needs_real else self.to_net(x))
                self.restart_component(real, None if y is None else self.shard.gather(y))
            out["mixture/restarts"] = self.latent_restarts.float()
        if self.config.mmd_weight > 0:
            out["gan/mmd"] = self._last_mmd
        if self.config.latent_mixture > 0:
            out["gan/latent_sigma"] = self.G.latent.sigma.detach().abs().mean()
            if self.config.latent_mixture_weights:
                # exp(entropy) / N: 1 while the weights are uniform
                p = self.G.latent.weights().detach()
                out["gan/latent_weights_perplexity"] = (
                    torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum()) / p.numel())
        return out

    def distribute_problems(self, world: int) -> list[str]:
        """Options whose result depends on the whole minibatch in ways a shard cannot
        reproduce (BatchNorm is allowed: it uses each shard's statistics, see the README)."""
        c, out = self.config, []
        if c.minibatch_disc > 0:
            out.append("model.minibatch_disc compares the samples of a minibatch, and each "
                       "process would see only its shard; set it to 0")
        if c.unroll_steps > 0:
            out.append("model.unroll_steps differentiates through D's optimizer steps on the "
                       "batch, and each process would unroll on its own shard; set it to 0")
        if c.mmd_weight > 0:
            out.append("model.mmd_weight compares generated and real samples of a minibatch, "
                       "and each process would see only its shard; set it to 0")
        return out

    def _restart_due(self) -> bool:
        c = self.config
        n = self._g_steps
        return (c.latent_mixture_restart_start <= n < c.latent_mixture_restart_stop
                and n % c.latent_mixture_restart == 0)

    def restart_component(self, x_real: Tensor, y: Optional[Tensor] = None,
                          candidates: int = 4096, probes: int = 1000) -> int:
        """One component restart (see `latent_mixture_restart`) against real samples x_real
        (network units, labels y for a conditional model); returns the restarted component,
        or -1 when the gap is too small. Conditional models probe with every class in turn
        and search the new mean with the target's label.

        gap_j = min_i ||x_j - G(c_i)|| over `probes` random codes c_i (G in eval mode);
        scale = median_j of x_j's nearest-neighbour distance in x_real. When max_j gap_j >
        latent_mixture_restart_gap * scale, the target is x_* = argmax_j gap_j (the real
        sample worst covered by G: an empty mode), and component k, the one with the lowest
        weight (learned weights: a crowded mode's components lose weight) or, with uniform
        weights, the first of the two components whose G(mu) are closest together (a
        duplicate), restarts at mu_k = argmin_v ||G_net(v) - x_*|| over `candidates` points v
        uniform in the box of the current means widened by 0.5, sigma_k = latent_mixture_sigma
        and (learned weights) logit_k = the mean logit. Both G and its EMA copy get the new
        row, so the sampled mixture moves at once. Like Jukebox's codebook restarts (Dhariwal
        et al. 2020), a unit that is not pulling its weight is moved to where the data is not
        covered; adversarial training alone rarely moves a component across the empty space
        between modes (D's gradient is local)."""
        lat = self.G.latent
        real = x_real.flatten(1)
        if real.shape[0] < 2:
            return -1
        with inference({"g": self.G}):
            def labels(n: int) -> Optional[Tensor]:
                return self.default_labels(n) if self.conditional else None

            fake = self.G(torch.randn(probes, self.code_dim, device=self.device), labels(probes))
            gap = torch.cdist(real, fake.flatten(1)).min(1).values
            scale = nearest_other_distance(real).median()
            j = int(gap.argmax())
            if not gap[j] > self.config.latent_mixture_restart_gap * scale:
                return -1
            if lat.logits is not None:
                k = int(lat.weights().argmin())
            else:
                heads = self.G.net(lat.mu, labels(lat.components)).flatten(1)
                k = int(nearest_other_distance(heads).argmin())
            lo = lat.mu.min(0).values - 0.5
            hi = lat.mu.max(0).values + 0.5
            v = lo + (hi - lo) * torch.rand(candidates, lat.dim, device=self.device)
            out = self.G.net(v, None if y is None else y[j].expand(candidates)).flatten(1)
            best = v[int(torch.cdist(real[j:j + 1], out)[0].argmin())]
            for m in [lat] + ([self.ema_G.latent] if self.ema_G is not None else []):
                m.mu[k] = best
                m.sigma[k] = self.config.latent_mixture_sigma
                if m.logits is not None:
                    m.logits[k] = m.logits.mean()
        self.latent_restarts.add_(1)
        return k

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema_G is None:
            return
        self._ema_n += 1
        self.ema_updates.add_(1)
        n = self._ema_n
        d = min(self.config.ema, (1.0 + n) / (10.0 + n))
        torch._foreach_lerp_(list(self.ema_G.parameters()), self._g_params, 1.0 - d)
        for be, bl in zip(self.ema_G.buffers(), self.G.buffers()):
            be.copy_(bl)

    # -- training ------------------------------------------------------------------------------
    def batches_for_next_step(self) -> int:
        """n_critic, or the WGAN warm-up schedule's 100 (see `warmup_critic_steps`)."""
        if self.config.wgan_warmup and self.kind in WASSERSTEIN_LOSSES:
            return warmup_critic_steps(self._g_steps, self.config.n_critic)
        return self.config.n_critic

    def _apply_lr_schedule(self) -> None:
        """Set both optimizers' rates from the base lr and `lr_factor` (no-op when off)."""
        if self.config.lr_decay < 1.0:
            self._set_group_lrs(self.optim_config.lr)

    def _set_group_lrs(self, lr: float) -> None:
        f = lr_factor(self._g_steps, self.config.lr_decay, self.config.decay_steps)
        for group in self.opt_d.param_groups:
            group["lr"] = lr * f
        for group in self.opt_g.param_groups:
            # the mixture weights keep their rate: they even out mode shares that only show
            # once the components have settled, late in a run
            mult = group.get("lr_mult")
            group["lr"] = lr * self.config.g_lr_mult * (f if mult is None else mult)

    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        self._apply_lr_schedule()
        k = max(1, min(self.batches_for_next_step(), batch.x.shape[0]))
        xs = batch.x.chunk(k)
        ys = batch.y.chunk(k) if batch.y is not None else [None] * len(xs)
        acc: dict[str, Tensor] = {}
        kept: list[tuple[Tensor, Tensor]] = []
        for i, (x, y) in enumerate(zip(xs, ys)):
            last = self.config.reuse_fake and i == len(xs) - 1
            for key, v in self._d_step(x, y, kept if last else None).items():
                acc[key] = v if key not in acc else acc[key] + v
        if len(xs) > 1:
            acc = {key: v / len(xs) for key, v in acc.items()}
        acc.update(self._g_step(xs[-1], ys[-1], kept[0] if kept else None))
        acc["loss/total"] = acc["loss/d"] + acc["loss/g"]
        return acc

    def train_phase(self, batch: Batch, phase: str) -> dict[str, Tensor]:
        """One discriminator step ("discriminator") or one generator step ("generator")."""
        self._apply_lr_schedule()
        if phase == "discriminator":
            out = self._d_step(batch.x, batch.y)
            out["loss/total"] = out["loss/d"]
        elif phase == "generator":
            out = self._g_step(batch.x, batch.y)
            out["loss/total"] = out["loss/g"]
        else:
            raise ValueError(f"unknown phase {phase!r}; choose 'discriminator' or 'generator'")
        return out

    def set_lr(self, lr: float) -> None:
        """D's learning rate = lr, G's = lr * g_lr_mult (both times `lr_factor` with lr_decay)."""
        self.optim_config.lr = lr
        self._set_group_lrs(lr)

    def active_capabilities(self) -> frozenset[str]:
        """"conditional" only when conditioned on labels (config.conditional and labelled data)."""
        caps = set(self.family_capabilities)
        if not self.conditional:
            caps.discard("conditional")
        return frozenset(caps)

    # -- sampling ------------------------------------------------------------------------------
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples: the EMA copy when ema > 0."""
        return self.ema_G if self.ema_G is not None else self.G

    def generator_features(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """The sampling generator's first linear layer at codes z, (n, F): the space whose
        principal directions GANSpace (Haerkoenen et al. 2020) maps back to z for the latent
        explorer's sliders (studio.core.renders.ganspace_basis)."""
        with torch.no_grad():
            G = self.sampling_generator()
            return G.features(z.to(self.device), self._sample_labels(labels, z.shape[0]))

    def _sample_labels(self, labels, n: int) -> Optional[Tensor]:
        if not self.conditional:
            return None
        if labels is None:
            return self.default_labels(n)
        y = torch.as_tensor(labels, device=self.device).long()
        return y.expand(n) if y.dim() == 0 or y.numel() == 1 else y.view(n)

    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """G(z) (the EMA generator in eval mode) in data units. Conditional models use
        `labels`, or arange(n) % num_classes when None; others ignore labels."""
        if z is None:
            z = self.noise(n, generator)
        z = z.to(self.device)
        y = self._sample_labels(labels, z.shape[0])
        g = self.sampling_generator()
        with inference({"g": g}):
            return self.to_data(g(z, y))

    # -- the canvas's fields -------------------------------------------------------------------
    def critic_field(self, points: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """D at data points (N, dim) or images (N, C, H, W): (N,) (see the class docstring)."""
        x = torch.as_tensor(points, device=self.device).float()
        m = self.config.pack
        n = x.shape[0]
        with inference({"d": self.D}):
            t = self.to_net(x)
            if m > 1:
                t = t.repeat_interleave(m, dim=0)

            def at(y: Optional[Tensor]) -> Tensor:
                if y is not None and m > 1:
                    y = y.repeat_interleave(m, dim=0)
                s = self.D(t, y, isolated=True)
                return torch.sigmoid(s) if self.kind in LOGIT_LOSSES else s

            if not self.conditional:
                return at(None)
            if labels is not None:
                return at(self._sample_labels(labels, n))
            out = at(torch.zeros(n, dtype=torch.long, device=self.device))
            for k in range(1, self.num_classes):
                out = out + at(torch.full((n,), k, dtype=torch.long, device=self.device))
            return out / self.num_classes

    def generator_field(self, z: Tensor, labels: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """(G(z) in data units, -dL_G/dx per sample in data units) (see the class docstring)."""
        z = torch.as_tensor(z, device=self.device).float()
        n = z.shape[0]
        y = self._sample_labels(labels, n)
        g = self.sampling_generator()
        with inference({"g": g}):
            t = g(z, y)
        m = self.config.pack
        was_training = self.D.training
        self.D.eval()
        try:
            with torch.enable_grad():
                t = t.detach().requires_grad_(True)
                if m > 1:
                    idx = torch.arange(-(-n // m) * m, device=self.device) % n
                    out = self.D(t[idx], None if y is None else y[idx])
                else:
                    out = self.D(t, y)
                loss = generator_loss(self.kind, out, reduce=False).sum()
                (grad,) = torch.autograd.grad(loss, t)
        finally:
            self.D.train(was_training)
        if m > 1:
            counts = torch.bincount(idx, minlength=n).to(grad.dtype)
            grad = grad / counts.view(n, *([1] * (grad.dim() - 1)))
        return self.to_data(t.detach()), -self._grad_to_data(grad)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch], seed: int = 0) -> dict[str, float]:
        """`gan/d_real_test`: mean D output (as gan/d_real) on held-out data, in eval mode,
        each batch one minibatch (packs of consecutive samples; a remainder that does not
        fill a pack is left out); `gan/d_fake_test`: the same on as many samples of the
        sampling generator, z from torch.Generator().manual_seed(seed), labels those of the
        held-out batch. Deterministic; the global RNG is untouched."""
        gen = torch.Generator().manual_seed(seed)
        m = self.config.pack
        real, fake, count = [], [], 0
        g = self.sampling_generator()
        with inference({"d": self.D, "g": g}):
            for batch in batches:
                b = (batch.x.shape[0] // m) * m
                if b == 0:
                    continue
                x = batch.x[:b].to(self.device).float()
                y = self._labels(batch.y[:b].to(self.device) if batch.y is not None else None, b)
                z = torch.randn((b, self.code_dim), generator=gen).to(self.device)
                for store, v in ((real, self.to_net(x)), (fake, g(z, y))):
                    s = self.D(v, y)
                    s = torch.sigmoid(s) if self.kind in LOGIT_LOSSES else s
                    store.append(s.sum())
                count += b // m
        if count == 0:
            return {}
        return {"gan/d_real_test": float(torch.stack(real).sum().cpu()) / count,
                "gan/d_fake_test": float(torch.stack(fake).sum().cpu()) / count}

    # -- state ---------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def extra_tensors(self) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {"g_steps": self.g_steps}
        if self.config.latent_mixture_restart > 0:
            out["latent_restarts"] = self.latent_restarts
        if self.ema_G is not None:
            out.update({f"ema.{k}": v for k, v in self.ema_G.state_dict().items()})
            out["ema_updates"] = self.ema_updates
        return out

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self._ema_n = int(self.ema_updates)
        self._g_steps = int(self.g_steps)
