"""The diffusion noise schedule and its samplers: a plain object, apart from any network.

Like diffusers' schedulers, a `NoiseSchedule` is fully described by a small dict
(`to_dict()` / `from_dict()`), holds the schedule arrays, and runs the samplers given only a
model callable

    eps_fn(x_t, t_batch) -> eps      x_t (B, ...), t_batch (B,) int64 with values in 1..T,

so tests can pass an exact noise oracle and engines wrap any network (eps, x0 or v
prediction, classifier-free guidance) into this one shape.

Time convention: **1-based, as in Ho et al. 2020**. t = 1..T are the noisy steps and t = 0
is the data itself. Every schedule array has T + 1 entries and is indexed by t directly:

    betas[t]            beta_t                      (betas[0] = 0)
    alphas[t]           alpha_t = 1 - beta_t        (alphas[0] = 1)
    alpha_bar[t]        abar_t = prod_{s<=t} alpha_s (alpha_bar[0] = 1)
    alpha_bar_prev[t]   abar_{t-1}                  (alpha_bar_prev[0] = 1)
    posterior_variance[t]   beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)  (0 at t = 0, 1)
    posterior_mean_coef1[t] sqrt(abar_{t-1}) beta_t / (1 - abar_t)          (1 at t = 0)
    posterior_mean_coef2[t] sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t)   (0 at t = 0)
    snr[t]              abar_t / (1 - abar_t)       (inf at t = 0)

all float64 CPU tensors (cast to the data's dtype/device when used).

Forward process:   q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), so
                   q_sample(x0, t, eps) = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps.
Posterior:         q(x_{t-1} | x_t, x_0) = N(coef1_t x_0 + coef2_t x_t, beta~_t I).
Predictions:       x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar),
                   eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar),
                   v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022), so
                   eps = sqrt(abar) v + sqrt(1 - abar) x_t and x0 = sqrt(abar) x_t - sqrt(1 - abar) v.

Samplers run on a descending timestep sequence `timesteps(S)` = (t_0 > t_1 > ... > t_{S-1}),
"trailing" spacing t_i = round(T (S - i) / S): it always starts at t = T, ends at T / S,
and each step goes t_i -> t_{i+1} with t_S = 0 (the data). S = T gives T, T-1, ..., 1.

- DDPM ancestral (Ho et al. 2020, Algorithm 2): x_prev = mu(x0_hat, x_t) + sigma z, with the
  posterior mean mu (identical to (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t)) and
  sigma^2 = beta_t ("beta") or beta~_t ("posterior"); no noise at the last step. With
  S < T steps it uses the respaced betas beta'_i = 1 - abar_{t_i} / abar_{t_{i+1}}
  (Nichol & Dhariwal 2021, section 4) in the same formulas.
- DDIM (Song et al. 2021, eq. 12): x_prev = sqrt(abar_prev) x0_hat
  + sqrt(1 - abar_prev - sigma^2) eps + sigma z,
  sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev);
  eta = 0 is deterministic, eta = 1 with consecutive steps is DDPM with beta~.

Noise: `sample_loop` first draws one 63-bit seed per step from `generator` (or the global RNG
when generator is None), *then* x_T if it is not given; step i's noise z comes from a fresh
generator seeded with seed i. So the noise of step i does not depend on x_T or on
`start_index`: continuing a run from an edited x_t at step i with the same generator seed
reuses the original run's noise for the later steps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import torch
from torch import Tensor

EpsFn = Callable[[Tensor, Tensor], Tensor]
TimeArg = Union[int, Tensor]

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "x0", "v")
VARIANCES = ("beta", "posterior")
SAMPLERS = ("ddpm", "ddim")


@dataclass
class SampleStep:
    """One step of `sample_loop`: the state x_t at step `index` (time t), the model's
    eps and x0 predictions there, and the next state x_prev at time t_prev (0 = data)."""

    index: int
    t: int
    t_prev: int
    x_t: Tensor
    eps: Tensor
    x0: Tensor
    x_prev: Tensor


class NoiseSchedule:
    """Variance schedule beta_1..beta_T and everything derived from it (see module doc).

    kind="linear": beta_t linear from beta_start to beta_end (Ho et al. 2020). The defaults
      are 1e-4 and 0.02 at T = 1000, scaled by 1000 / T for other T (as Nichol & Dhariwal's
      code does) so abar_T stays near zero.
    kind="cosine": abar(t) = f(t) / f(0), f(t) = cos^2(((t / T + s) / (1 + s)) pi / 2),
      beta_t = min(1 - abar(t) / abar(t - 1), max_beta) with s = 0.008, max_beta = 0.999
      (Nichol & Dhariwal 2021, eq. 17); alpha_bar is then recomputed as the product of
      (1 - beta_t), so all arrays stay consistent after the clip.
    """

    def __init__(self, kind: str = "linear", timesteps: int = 1000, *,
                 beta_start: Optional[float] = None, beta_end: Optional[float] = None,
                 cosine_s: float = 0.008, max_beta: float = 0.999):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")
        if int(timesteps) < 1:
            raise ValueError(f"timesteps must be >= 1, got {timesteps}")
        T = int(timesteps)
        self.kind = kind
        self.T = T
        self.cosine_s = float(cosine_s)
        self.max_beta = float(max_beta)
        scale = 1000.0 / T
        self.beta_start = float(beta_start) if beta_start is not None else min(1e-4 * scale, 0.999)
        self.beta_end = float(beta_end) if beta_end is not None else min(0.02 * scale, 0.999)
        if kind == "linear":
            if not (0 < self.beta_start <= self.beta_end < 1):
                raise ValueError("linear schedule needs 0 < beta_start <= beta_end < 1, got "
                                 f"{self.beta_start}, {self.beta_end}")
            b = torch.linspace(self.beta_start, self.beta_end, T, dtype=torch.float64)
        else:
            s = self.cosine_s
            steps = torch.arange(T + 1, dtype=torch.float64) / T
            f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
            abar = f / f[0]
            b = (1 - abar[1:] / abar[:-1]).clamp(min=0.0, max=self.max_beta)
        zero = torch.zeros(1, dtype=torch.float64)
        one = torch.ones(1, dtype=torch.float64)
        self.betas = torch.cat([zero, b])
        self.alphas = 1.0 - self.betas
        self.alpha_bar = torch.cumprod(self.alphas, 0)
        self.alpha_bar_prev = torch.cat([one, self.alpha_bar[:-1]])
        ab, abp = self.alpha_bar, self.alpha_bar_prev
        denom = (1.0 - ab).clone()
        denom[0] = 1.0                                   # t = 0: avoid 0/0 (defined below)
        self.posterior_variance = self.betas * (1.0 - abp) / denom
        self.posterior_mean_coef1 = abp.sqrt() * self.betas / denom
        self.posterior_mean_coef2 = self.alphas.sqrt() * (1.0 - abp) / denom
        self.posterior_variance[0] = 0.0
        self.posterior_mean_coef1[0] = 1.0
        self.posterior_mean_coef2[0] = 0.0
        with torch.no_grad():
            self.snr = ab / (1.0 - ab)                   # inf at t = 0
        self.sqrt_alpha_bar = ab.sqrt()
        self.sqrt_one_minus_alpha_bar = (1.0 - ab).sqrt()

    # -- config round trip ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "timesteps": self.T, "beta_start": self.beta_start,
                "beta_end": self.beta_end, "cosine_s": self.cosine_s, "max_beta": self.max_beta}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NoiseSchedule":
        d = dict(d)
        return cls(d.pop("kind", "linear"), d.pop("timesteps", 1000), **d)

    def __repr__(self) -> str:
        return f"NoiseSchedule({', '.join(f'{k}={v!r}' for k, v in self.to_dict().items())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoiseSchedule) and self.to_dict() == other.to_dict()

    # -- indexing helpers -------------------------------------------------------------------
    def _check_t(self, t: TimeArg, allow_zero: bool = False) -> None:
        lo = 0 if allow_zero else 1
        if isinstance(t, Tensor):
            if t.numel() and (int(t.min()) < lo or int(t.max()) > self.T):
                raise ValueError(f"t must be in {lo}..{self.T}, got values in "
                                 f"{int(t.min())}..{int(t.max())}")
        elif not (lo <= int(t) <= self.T):
            raise ValueError(f"t must be in {lo}..{self.T}, got {t}")

    @staticmethod
    def _at(arr: Tensor, t: TimeArg, x: Tensor) -> Union[float, Tensor]:
        """arr[t] ready to multiply x: a python float for an int t, else a (B, 1, ...)
        tensor in x's dtype and device."""
        if not isinstance(t, Tensor):
            return float(arr[int(t)])
        if t.dim() == 0:
            return float(arr[int(t)])
        v = arr.to(x.device)[t.to(x.device).long()].to(x.dtype)
        return v.view(-1, *([1] * (x.dim() - 1)))

    # -- forward process --------------------------------------------------------------------
    def q_sample(self, x0: Tensor, t: TimeArg, eps: Tensor) -> Tensor:
        """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (closed form of q(x_t | x_0));
        t an int or a (B,) tensor in 0..T (t = 0 returns x0)."""
        return self._at(self.sqrt_alpha_bar, t, x0) * x0 \
            + self._at(self.sqrt_one_minus_alpha_bar, t, x0) * eps

    def q_step(self, x_prev: Tensor, t: TimeArg, eps: Tensor) -> Tensor:
        """One step of the forward chain: x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps."""
        return self._at(self.alphas.sqrt(), t, x_prev) * x_prev \
            + self._at(self.betas.sqrt(), t, x_prev) * eps

    def posterior_mean_var(self, x0: Tensor, xt: Tensor, t: TimeArg,
                           t_prev: Optional[int] = None) -> tuple[Tensor, Union[float, Tensor]]:
        """Mean and variance of q(x_{t_prev} | x_t, x_0) (t_prev = t - 1 by default):
        mean = sqrt(abar_prev) beta / (1 - abar_t) x0 + sqrt(alpha) (1 - abar_prev) / (1 - abar_t) x_t,
        var = beta (1 - abar_prev) / (1 - abar_t), with alpha = abar_t / abar_prev and
        beta = 1 - alpha (the respaced values; the schedule's own for t_prev = t - 1).
        The variance is a float for an int t, else a (B, 1, ...) tensor."""
        if t_prev is None:
            return (self._at(self.posterior_mean_coef1, t, xt) * x0
                    + self._at(self.posterior_mean_coef2, t, xt) * xt,
                    self._at(self.posterior_variance, t, xt))
        c1, c2, var = self._respaced(int(t), int(t_prev))
        return c1 * x0 + c2 * xt, var

    def _respaced(self, t: int, t_prev: int) -> tuple[float, float, float]:
        """(coef1, coef2, posterior variance) for a jump t -> t_prev < t."""
        if not (0 <= t_prev < t <= self.T):
            raise ValueError(f"need 0 <= t_prev < t <= T, got t={t}, t_prev={t_prev}")
        ab, abp = float(self.alpha_bar[t]), float(self.alpha_bar[t_prev])
        alpha = ab / abp
        beta = 1.0 - alpha
        c1 = math.sqrt(abp) * beta / (1.0 - ab)
        c2 = math.sqrt(alpha) * (1.0 - abp) / (1.0 - ab)
        return c1, c2, beta * (1.0 - abp) / (1.0 - ab)

    # -- prediction conversions -------------------------------------------------------------
    def x0_from_eps(self, xt: Tensor, t: TimeArg, eps: Tensor) -> Tensor:
        """x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)."""
        return (xt - self._at(self.sqrt_one_minus_alpha_bar, t, xt) * eps) \
            / self._at(self.sqrt_alpha_bar, t, xt)

    def eps_from_x0(self, xt: Tensor, t: TimeArg, x0: Tensor) -> Tensor:
        """eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t)."""
        return (xt - self._at(self.sqrt_alpha_bar, t, xt) * x0) \
            / self._at(self.sqrt_one_minus_alpha_bar, t, xt)

    def v_from(self, x0: Tensor, t: TimeArg, eps: Tensor) -> Tensor:
        """v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0 (Salimans & Ho 2022)."""
        return self._at(self.sqrt_alpha_bar, t, eps) * eps \
            - self._at(self.sqrt_one_minus_alpha_bar, t, eps) * x0

    def eps_from_v(self, xt: Tensor, t: TimeArg, v: Tensor) -> Tensor:
        """eps = sqrt(abar_t) v + sqrt(1 - abar_t) x_t."""
        return self._at(self.sqrt_alpha_bar, t, xt) * v \
            + self._at(self.sqrt_one_minus_alpha_bar, t, xt) * xt

    def x0_from_v(self, xt: Tensor, t: TimeArg, v: Tensor) -> Tensor:
        """x0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v."""
        return self._at(self.sqrt_alpha_bar, t, xt) * xt \
            - self._at(self.sqrt_one_minus_alpha_bar, t, xt) * v

    def target(self, prediction: str, x0: Tensor, t: TimeArg, eps: Tensor) -> Tensor:
        """The regression target of a network predicting `prediction` ("eps", "x0", "v")."""
        if prediction == "eps":
            return eps
        if prediction == "x0":
            return x0
        if prediction == "v":
            return self.v_from(x0, t, eps)
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {', '.join(PREDICTIONS)}")

    def to_eps(self, prediction: str, out: Tensor, xt: Tensor, t: TimeArg) -> Tensor:
        """A network output of kind `prediction` at (x_t, t), expressed as eps."""
        if prediction == "eps":
            return out
        if prediction == "x0":
            return self.eps_from_x0(xt, t, out)
        if prediction == "v":
            return self.eps_from_v(xt, t, out)
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {', '.join(PREDICTIONS)}")

    def to_x0(self, prediction: str, out: Tensor, xt: Tensor, t: TimeArg) -> Tensor:
        """A network output of kind `prediction` at (x_t, t), expressed as x0."""
        if prediction == "eps":
            return self.x0_from_eps(xt, t, out)
        if prediction == "x0":
            return out
        if prediction == "v":
            return self.x0_from_v(xt, t, out)
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {', '.join(PREDICTIONS)}")

    # -- sampler steps ----------------------------------------------------------------------
    def timesteps(self, num_steps: Optional[int] = None) -> list[int]:
        """Descending sampling times t_i = round(T (S - i) / S), i = 0..S-1 ("trailing"
        spacing): starts at T, ends at round(T / S); S = T (the default) gives T..1.
        Distinct for any S <= T (consecutive values differ by T / S >= 1)."""
        S = self.T if num_steps is None else int(num_steps)
        if not (1 <= S <= self.T):
            raise ValueError(f"steps must be in 1..{self.T} (the schedule's T), got {num_steps}")
        T = self.T
        return [(2 * (S - i) * T + S) // (2 * S) for i in range(S)]

    @staticmethod
    def _noise_like(x: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        dev = generator.device if generator is not None else x.device
        return torch.randn(x.shape, generator=generator, device=dev, dtype=x.dtype).to(x.device)

    def _x0_hat(self, x_t: Tensor, t: int, eps: Tensor,
                clip_x0: Optional[float]) -> tuple[Tensor, Tensor]:
        """(x0 prediction, eps consistent with it) at x_t; clamped to [-clip, clip]
        when clip_x0 is set, eps then recomputed from the clamped x0."""
        x0 = self.x0_from_eps(x_t, t, eps)
        if clip_x0 is not None:
            x0 = x0.clamp(-clip_x0, clip_x0)
            eps = self.eps_from_x0(x_t, t, x0)
        return x0, eps

    def ddpm_step(self, x_t: Tensor, t: int, eps: Tensor,
                  generator: Optional[torch.Generator] = None, variance: str = "beta", *,
                  t_prev: Optional[int] = None, clip_x0: Optional[float] = None,
                  noise: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """Ancestral step t -> t_prev (default t - 1), Ho et al. Algorithm 2:
        x_prev = mu(x0_hat, x_t) + sigma z, mu the posterior mean of `posterior_mean_var`
        (equal to (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) without clipping),
        sigma^2 = beta_t ("beta") or beta~_t ("posterior"); z = 0 when t_prev = 0.
        z is `noise` if given, else drawn from `generator`. Returns (x_prev, x0_hat)."""
        t = int(t)
        t_prev = t - 1 if t_prev is None else int(t_prev)
        if variance not in VARIANCES:
            raise ValueError(f"unknown variance {variance!r}; choose one of {', '.join(VARIANCES)}")
        c1, c2, post_var = self._respaced(t, t_prev)
        x0, _ = self._x0_hat(x_t, t, eps, clip_x0)
        mean = c1 * x0 + c2 * x_t
        if t_prev == 0:
            return mean, x0
        var = post_var if variance == "posterior" else \
            1.0 - float(self.alpha_bar[t]) / float(self.alpha_bar[t_prev])
        z = noise if noise is not None else self._noise_like(x_t, generator)
        return mean + math.sqrt(var) * z, x0

    def ddim_sigma(self, t: int, t_prev: int, eta: float) -> float:
        """sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)."""
        ab, abp = float(self.alpha_bar[t]), float(self.alpha_bar[t_prev])
        return eta * math.sqrt((1 - abp) / (1 - ab)) * math.sqrt(max(1 - ab / abp, 0.0))

    def ddim_step(self, x_t: Tensor, t: int, t_prev: int, eps: Tensor, eta: float = 0.0,
                  generator: Optional[torch.Generator] = None, *,
                  clip_x0: Optional[float] = None,
                  noise: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """DDIM step t -> t_prev (Song et al. 2021, eq. 12):
        x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps + sigma z,
        x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), sigma from `ddim_sigma`.
        No noise is drawn when sigma = 0 (eta = 0, or t_prev = 0). Returns (x_prev, x0_hat)."""
        t, t_prev = int(t), int(t_prev)
        if not (0 <= t_prev < t <= self.T):
            raise ValueError(f"need 0 <= t_prev < t <= T, got t={t}, t_prev={t_prev}")
        x0, eps = self._x0_hat(x_t, t, eps, clip_x0)
        abp = float(self.alpha_bar[t_prev])
        sigma = self.ddim_sigma(t, t_prev, eta)
        x_prev = math.sqrt(abp) * x0 + math.sqrt(max(1 - abp - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            z = noise if noise is not None else self._noise_like(x_t, generator)
            x_prev = x_prev + sigma * z
        return x_prev, x0

    # -- full loops -------------------------------------------------------------------------
    def sample_loop(self, eps_fn: EpsFn, shape: Sequence[int], *, sampler: str = "ddim",
                    steps: Optional[int] = None, eta: float = 0.0, variance: str = "beta",
                    generator: Optional[torch.Generator] = None, x_T: Optional[Tensor] = None,
                    start_index: int = 0, clip_x0: Optional[float] = None,
                    device: Union[str, torch.device, None] = None,
                    dtype: torch.dtype = torch.float32) -> Iterator[SampleStep]:
        """Generator over the reverse process: yields one `SampleStep` per step, from step
        `start_index` of `timesteps(steps)` (steps None = T) to the data (the last step's
        x_prev is the sample, at t_prev = 0).

        x_T is the state at step start_index (x at t = timesteps(steps)[start_index]): pass
        an edited x_t and its step index to continue a trajectory. When None it is drawn
        from N(0, I) with `generator` (on `device`). See the module doc for how the per-step
        noise is drawn (independent of x_T and start_index).
        sampler "ddpm": ancestral steps (`ddpm_step`, `variance`); "ddim": `ddim_step`, eta."""
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
        ts = self.timesteps(steps)
        S = len(ts)
        if not (0 <= start_index < S):
            raise ValueError(f"start_index must be in 0..{S - 1}, got {start_index}")
        gdev = generator.device if generator is not None else torch.device("cpu")
        seeds = torch.randint(0, 2 ** 62, (S,), generator=generator, device=gdev).tolist()
        if x_T is None:
            dev = torch.device(device) if device is not None else gdev
            x = torch.randn(tuple(shape), generator=generator, device=gdev, dtype=dtype).to(dev)
        else:
            if tuple(x_T.shape) != tuple(shape):
                raise ValueError(f"x_T has shape {tuple(x_T.shape)}, expected {tuple(shape)}")
            x = x_T.to(device) if device is not None else x_T
        n = x.shape[0]
        for i in range(start_index, S):
            t = ts[i]
            t_prev = ts[i + 1] if i + 1 < S else 0
            t_batch = torch.full((n,), t, dtype=torch.long, device=x.device)
            eps = eps_fn(x, t_batch)
            g = torch.Generator(device=gdev).manual_seed(seeds[i])
            if sampler == "ddpm":
                x_prev, x0 = self.ddpm_step(x, t, eps, g, variance, t_prev=t_prev, clip_x0=clip_x0)
            else:
                x_prev, x0 = self.ddim_step(x, t, t_prev, eps, eta, g, clip_x0=clip_x0)
            yield SampleStep(i, t, t_prev, x, eps, x0, x_prev)
            x = x_prev

    def sample(self, eps_fn: EpsFn, shape: Sequence[int], *, record: bool = False,
               **kw: Any) -> Union[Tensor, tuple[Tensor, dict[str, Any]]]:
        """Run `sample_loop` (same keywords) to the end. Returns x_0, or with record=True
        (x_0, trajectory) where trajectory = {"index": [i...], "t": [t...], "xt": [...],
        "x0": [...], "eps": [...]} lists over the steps (x_t before each step)."""
        x = kw.get("x_T")
        traj: dict[str, list] = {"index": [], "t": [], "xt": [], "x0": [], "eps": []}
        for st in self.sample_loop(eps_fn, shape, **kw):
            if record:
                traj["index"].append(st.index)
                traj["t"].append(st.t)
                traj["xt"].append(st.x_t)
                traj["x0"].append(st.x0)
                traj["eps"].append(st.eps)
            x = st.x_prev
        assert x is not None
        return (x, traj) if record else x

    def ddim_invert(self, eps_fn: EpsFn, x0: Tensor, steps: Optional[int] = None) -> Tensor:
        """Deterministic DDIM inversion x_0 -> x_T: the eta = 0 update run backwards along
        timesteps(steps) in ascending order, 0 -> t_{S-1} -> ... -> T:
        x_next = sqrt(abar_next) x0_hat + sqrt(1 - abar_next) eps,
        x0_hat = (x - sqrt(1 - abar_cur) eps) / sqrt(abar_cur), eps = eps_fn(x, t_next)
        (the model is evaluated at the current point with the *target* time, as in the usual
        inversion code, since it was never trained at t = 0). Exact in the limit of many
        steps; sampling with `sampler="ddim", eta=0` and the same steps maps it back."""
        ts = list(reversed(self.timesteps(steps)))
        x = x0
        n = x.shape[0]
        t_cur = 0
        for t_next in ts:
            t_batch = torch.full((n,), t_next, dtype=torch.long, device=x.device)
            eps = eps_fn(x, t_batch)
            ab_c, ab_n = float(self.alpha_bar[t_cur]), float(self.alpha_bar[t_next])
            x0_hat = (x - math.sqrt(1 - ab_c) * eps) / math.sqrt(ab_c)
            x = math.sqrt(ab_n) * x0_hat + math.sqrt(1 - ab_n) * eps
            t_cur = t_next
        return x
