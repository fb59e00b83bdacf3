"""The diffusion schedule and samplers (engines/diffusion.py) against the equations of
Ho et al. 2020 (DDPM), Song et al. 2021 (DDIM), Nichol & Dhariwal 2021 (cosine schedule)
and Salimans & Ho 2022 (v), using exact noise oracles instead of networks. Times are 1-based:
t = 1..T, t = 0 is the data."""
from __future__ import annotations

import math

import pytest
import torch

from engines.diffusion import NoiseSchedule

D = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These workloads are tiny: one intra-op thread is as fast, and far faster when other
    processes share the cores (OpenMP barriers then wait for descheduled threads)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def point_mass_oracle(sched: NoiseSchedule, c: torch.Tensor):
    """Data = the single point c, so E[eps | x_t] = (x_t - sqrt(abar_t) c) / sqrt(1 - abar_t)."""
    def eps_fn(x, t):
        a = sched.sqrt_alpha_bar[t].to(x).view(-1, *([1] * (x.dim() - 1)))
        s = sched.sqrt_one_minus_alpha_bar[t].to(x).view(-1, *([1] * (x.dim() - 1)))
        return (x - a * c) / s
    return eps_fn


def gaussian_oracle(sched: NoiseSchedule, mu: float, sd: float):
    """Data ~ N(mu, sd^2) per coordinate, so x_t ~ N(a mu, a^2 sd^2 + s^2) (a = sqrt(abar_t),
    s = sqrt(1 - abar_t)) and E[eps | x_t] = s (x_t - a mu) / (a^2 sd^2 + s^2)."""
    def eps_fn(x, t):
        a = sched.sqrt_alpha_bar[t].to(x).view(-1, *([1] * (x.dim() - 1)))
        s = sched.sqrt_one_minus_alpha_bar[t].to(x).view(-1, *([1] * (x.dim() - 1)))
        return s * (x - a * mu) / (a * a * sd * sd + s * s)
    return eps_fn


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_closed_form_forward_process_matches_the_iterated_chain(kind):
    """q(x_t|x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) is the law of iterating
    x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t: mean and variance over 40k chains
    agree with the closed form (and with q_sample) within 5 standard errors."""
    sched = NoiseSchedule(kind, 1000)
    g = torch.Generator().manual_seed(0)
    n, x0 = 40000, 1.5
    x = torch.full((n,), x0, dtype=D)
    checks = {1, 10, 100, 400, 1000}
    for t in range(1, 1001):
        x = sched.q_step(x, t, torch.randn(n, generator=g, dtype=D))
        if t in checks:
            mean, var = float(sched.sqrt_alpha_bar[t]) * x0, 1.0 - float(sched.alpha_bar[t])
            assert abs(float(x.mean()) - mean) < 5 * math.sqrt(var / n)
            assert abs(float(x.var()) - var) < 5 * var * math.sqrt(2 / n) + 1e-12
            closed = sched.q_sample(torch.full((n,), x0, dtype=D), t,
                                    torch.randn(n, generator=g, dtype=D))
            assert abs(float(closed.mean()) - mean) < 5 * math.sqrt(var / n)
            assert abs(float(closed.var()) - var) < 5 * var * math.sqrt(2 / n) + 1e-12


def test_linear_schedule_values():
    """Ho et al.: beta_1 = 1e-4, beta_T = 0.02 linear, T = 1000, abar_T = prod(1 - beta_t)
    ~ 4.04e-5; arrays indexed by t with the t = 0 entries beta_0 = 0, abar_0 = 1."""
    s = NoiseSchedule("linear", 1000)
    assert s.betas.shape == (1001,) and s.alpha_bar.shape == (1001,)
    assert float(s.betas[0]) == 0.0 and float(s.alpha_bar[0]) == 1.0
    assert float(s.betas[1]) == pytest.approx(1e-4, rel=1e-12)
    assert float(s.betas[1000]) == pytest.approx(0.02, rel=1e-12)
    assert float(s.alpha_bar[1000]) == pytest.approx(4.04e-5, rel=0.01)
    assert float(s.alpha_bar[1]) == pytest.approx(1 - 1e-4)
    assert torch.equal(s.alpha_bar_prev[1:], s.alpha_bar[:-1])
    assert torch.allclose(s.alphas, 1 - s.betas)
    assert torch.allclose(s.snr[1:], s.alpha_bar[1:] / (1 - s.alpha_bar[1:]))
    # other T: betas scaled by 1000 / T
    s100 = NoiseSchedule("linear", 100)
    assert float(s100.betas[1]) == pytest.approx(1e-3) and float(s100.betas[100]) == pytest.approx(0.2)


def test_cosine_schedule_values():
    """Nichol & Dhariwal eq. 17: abar(t) = f(t) / f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2),
    s = 0.008, beta_t = min(1 - abar_t / abar_{t-1}, 0.999); so beta_T = 0.999 (clipped)."""
    T, s_ = 1000, 0.008
    s = NoiseSchedule("cosine", T)
    f = lambda t: math.cos(((t / T + s_) / (1 + s_)) * math.pi / 2) ** 2  # noqa: E731
    assert float(s.betas[1]) == pytest.approx(1 - f(1) / f(0), rel=1e-9)
    assert float(s.alpha_bar[1]) == pytest.approx(f(1) / f(0), rel=1e-9)
    assert float(s.alpha_bar[500]) == pytest.approx(f(500) / f(0), rel=1e-6)
    assert float(s.betas[T]) == pytest.approx(0.999)
    assert (s.betas[1:] <= 0.999).all() and (s.betas[1:] > 0).all()
    assert (s.alpha_bar[1:] < s.alpha_bar[:-1]).all()
    assert float(s.alpha_bar[T]) < 1e-6


def test_config_round_trip():
    """to_dict / from_dict reproduce the schedule exactly."""
    for s in (NoiseSchedule("linear", 1000), NoiseSchedule("cosine", 250),
              NoiseSchedule("linear", 50, beta_start=1e-3, beta_end=0.05)):
        again = NoiseSchedule.from_dict(s.to_dict())
        assert again == s
        assert torch.equal(again.betas, s.betas) and torch.equal(again.alpha_bar, s.alpha_bar)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_posterior_is_gaussian_conditioning(kind):
    """q(x_{t-1} | x_t, x_0) from scalar Gaussian algebra: prior x_{t-1} | x_0 ~
    N(sqrt(abar_{t-1}) x_0, 1 - abar_{t-1}), likelihood x_t | x_{t-1} ~
    N(sqrt(alpha_t) x_{t-1}, beta_t), so 1/var = 1/(1 - abar_{t-1}) + alpha_t / beta_t and
    mean = var (sqrt(abar_{t-1}) x_0 / (1 - abar_{t-1}) + sqrt(alpha_t) x_t / beta_t);
    it must equal beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t) and coef1 x_0 + coef2 x_t.
    The same for a jump t -> t_prev (x_t | x_prev ~ N(sqrt(abar_t/abar_prev) x_prev,
    1 - abar_t/abar_prev)). At t = 1 the posterior is the point x_0."""
    s = NoiseSchedule(kind, 1000)
    x0 = torch.tensor([0.7, -1.2], dtype=D)
    xt = torch.tensor([-0.3, 2.0], dtype=D)
    for t, tp in [(2, 1), (10, 9), (500, 499), (1000, 999), (700, 500), (40, 3)]:
        abp, ab = float(s.alpha_bar[tp]), float(s.alpha_bar[t])
        alpha, beta = ab / abp, 1 - ab / abp
        var = 1.0 / (1.0 / (1 - abp) + alpha / beta)
        mean = var * (math.sqrt(abp) * x0 / (1 - abp) + math.sqrt(alpha) * xt / beta)
        m, v = s.posterior_mean_var(x0, xt, t, t_prev=tp)
        assert float(v) == pytest.approx(var, rel=1e-9)
        assert torch.allclose(m, mean, rtol=1e-9, atol=1e-12)
        if tp == t - 1:
            m2, v2 = s.posterior_mean_var(x0, xt, t)
            assert float(v2) == pytest.approx(float(s.posterior_variance[t]), rel=1e-12)
            assert float(v2) == pytest.approx(var, rel=1e-9)
            assert torch.allclose(m2, mean, rtol=1e-9, atol=1e-12)
    m1, v1 = s.posterior_mean_var(x0, xt, 1)
    assert float(v1) == 0.0 and torch.allclose(m1, x0)
    # batched t
    tb = torch.tensor([5, 600])
    mb, vb = s.posterior_mean_var(x0.view(2, 1), xt.view(2, 1), tb)
    for i, t in enumerate((5, 600)):
        mi, vi = s.posterior_mean_var(x0[i:i + 1], xt[i:i + 1], t)
        assert torch.allclose(mb[i], mi) and float(vb[i]) == pytest.approx(float(vi))


def test_eps_x0_v_conversions_invert_each_other():
    """With x_t = sqrt(abar) x0 + sqrt(1-abar) eps and v = sqrt(abar) eps - sqrt(1-abar) x0:
    x0_from_eps, eps_from_x0, eps_from_v, x0_from_v recover eps and x0; to_eps/to_x0 agree
    for every prediction type."""
    s = NoiseSchedule("cosine", 1000)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(6, 3, 4, 4, generator=g, dtype=D)
    eps = torch.randn(6, 3, 4, 4, generator=g, dtype=D)
    t = torch.tensor([1, 2, 100, 500, 999, 1000])
    xt = s.q_sample(x0, t, eps)
    v = s.v_from(x0, t, eps)
    assert torch.allclose(s.x0_from_eps(xt, t, eps), x0, atol=1e-7)
    assert torch.allclose(s.eps_from_x0(xt, t, x0), eps, atol=1e-9)
    assert torch.allclose(s.eps_from_v(xt, t, v), eps, atol=1e-9)
    assert torch.allclose(s.x0_from_v(xt, t, v), x0, atol=1e-9)
    for pred, out in (("eps", eps), ("x0", x0), ("v", v)):
        assert torch.allclose(s.target(pred, x0, t, eps), out)
        assert torch.allclose(s.to_eps(pred, out, xt, t), eps, atol=1e-7)
        assert torch.allclose(s.to_x0(pred, out, xt, t), x0, atol=1e-7)
    # scalar t
    assert torch.allclose(s.x0_from_eps(xt[3], 500, eps[3]), x0[3], atol=1e-9)


def test_timesteps_are_trailing_and_start_at_T():
    """timesteps(S)_i = round(T (S - i) / S): starts at T, descending, distinct, S = T is T..1."""
    s = NoiseSchedule("linear", 1000)
    ts = s.timesteps(50)
    assert len(ts) == 50 and ts[0] == 1000 and ts[-1] == 20 and ts[1] == 980
    assert s.timesteps() == list(range(1000, 0, -1))
    for S in (1, 3, 7, 333, 999):
        ts = s.timesteps(S)
        assert len(ts) == S and ts[0] == 1000 and all(a > b for a, b in zip(ts, ts[1:]))
        assert ts[-1] >= 1
    with pytest.raises(ValueError):
        s.timesteps(1001)


def test_ddpm_step_is_algorithm_2_and_ddim_eta1_is_ddpm_posterior():
    """Algorithm 2: x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sigma_t z,
    sigma_t^2 = beta_t or beta~_t, z = 0 at t = 1. DDIM (eq. 12) with eta = 1 and t_prev = t - 1
    has sigma^2 = beta~_t and the same mean, so it equals the 'posterior' DDPM step."""
    s = NoiseSchedule("linear", 1000)
    g = torch.Generator().manual_seed(2)
    xt, eps, z = (torch.randn(4, 2, generator=g, dtype=D) for _ in range(3))
    for t in (1, 2, 37, 1000):
        beta, alpha, ab = float(s.betas[t]), float(s.alphas[t]), float(s.alpha_bar[t])
        mean = (xt - beta / math.sqrt(1 - ab) * eps) / math.sqrt(alpha)
        for variance, var in (("beta", beta), ("posterior", float(s.posterior_variance[t]))):
            x_prev, x0 = s.ddpm_step(xt, t, eps, variance=variance, noise=z)
            expect = mean if t == 1 else mean + math.sqrt(var) * z
            assert torch.allclose(x_prev, expect, atol=1e-9)
            assert torch.allclose(x0, s.x0_from_eps(xt, t, eps))
        x_ddim, _ = s.ddim_step(xt, t, t - 1, eps, eta=1.0, noise=z)
        x_post, _ = s.ddpm_step(xt, t, eps, variance="posterior", noise=z)
        assert torch.allclose(x_ddim, x_post, atol=1e-9)


def test_ddim_eta0_is_deterministic_and_inversion_round_trips():
    """DDIM eta = 0: x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps has no noise,
    so two runs with different generators agree exactly; ddim_invert (the same update run
    0 -> T) followed by DDIM sampling returns x0 (Gaussian-data oracle, a smooth eps)."""
    s = NoiseSchedule("linear", 1000)
    fn = gaussian_oracle(s, 0.5, 0.3)
    xT = torch.randn(64, 2, generator=torch.Generator().manual_seed(3), dtype=D)
    a = s.sample(fn, xT.shape, sampler="ddim", steps=50, eta=0.0, x_T=xT,
                 generator=torch.Generator().manual_seed(1))
    b = s.sample(fn, xT.shape, sampler="ddim", steps=50, eta=0.0, x_T=xT,
                 generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    x0 = 0.5 + 0.3 * torch.randn(64, 2, generator=torch.Generator().manual_seed(4), dtype=D)
    errors = {}
    for steps in (50, 200, 1000):
        z = s.ddim_invert(fn, x0, steps)
        back = s.sample(fn, x0.shape, sampler="ddim", steps=steps, x_T=z)
        errors[steps] = float((back - x0).abs().max())
        # x_T of Gaussian data under the ODE is ~N(0, 1)
        assert abs(float(z.std()) - 1.0) < 0.2
    # first-order method: the round-trip error shrinks like 1 / steps (measured ~6 / steps)
    assert errors[50] < 0.15 and errors[200] < 0.04 and errors[1000] < 0.008, errors
    assert errors[1000] < errors[200] / 3 < errors[50] / 9, errors


@pytest.mark.parametrize("sampler, steps, eta, variance", [
    ("ddpm", None, 0.0, "beta"), ("ddpm", None, 0.0, "posterior"), ("ddpm", 50, 0.0, "beta"),
    ("ddim", 50, 0.0, "beta"), ("ddim", 50, 1.0, "beta"), ("ddim", 10, 0.0, "beta")])
def test_exact_oracle_on_a_point_mass_recovers_the_point(sampler, steps, eta, variance):
    """Data = one point c, eps*(x_t, t) = (x_t - sqrt(abar_t) c) / sqrt(1 - abar_t): every
    x0 prediction is c, and the last step (t_prev = 0, no noise) lands on c from any x_T."""
    s = NoiseSchedule("linear", 1000)
    c = torch.tensor([1.5, -0.5])
    g = torch.Generator().manual_seed(5)
    out = s.sample(point_mass_oracle(s, c), (256, 2), sampler=sampler, steps=steps, eta=eta,
                   variance=variance, generator=g)
    assert (out - c).abs().max() < 1e-3


@pytest.mark.parametrize("sampler, steps, eta, variance, tol", [
    ("ddpm", None, 0.0, "beta", 0.01), ("ddpm", None, 0.0, "posterior", 0.01),
    ("ddim", 1000, 0.0, "beta", 0.01), ("ddim", 1000, 1.0, "beta", 0.01),
    ("ddim", 50, 0.0, "beta", 0.04), ("ddpm", 50, 0.0, "beta", 0.04)])
def test_samplers_reproduce_gaussian_data(sampler, steps, eta, variance, tol):
    """With the exact eps of Gaussian data N(mu, sd^2), the reverse process must give samples
    with mean mu and std sd: this checks the noise scale of every sampler, not only its
    mean. With all T = 1000 steps the std is within 0.01 of sd (20k samples); 50-step
    samplers are biased by their discretisation (measured: DDIM eta 0 std 0.272, respaced
    ancestral 'beta' 0.314, for sd = 0.3), so they get a looser bound."""
    s = NoiseSchedule("linear", 1000)
    mu, sd = 0.5, 0.3
    out = s.sample(gaussian_oracle(s, mu, sd), (20000, 1), sampler=sampler, steps=steps, eta=eta,
                   variance=variance, generator=torch.Generator().manual_seed(6),
                   dtype=torch.float64)
    assert abs(float(out.mean()) - mu) < 0.01
    assert abs(float(out.std()) - sd) < tol


def test_sample_loop_continues_from_an_edited_state():
    """The noise of step i depends only on the generator seed, not on start_index or x_T:
    continuing from the recorded x_t at step i reproduces the full run exactly (ancestral
    sampler, so noise matters), and an edited x_t changes the result."""
    s = NoiseSchedule("linear", 100)
    fn = gaussian_oracle(s, 0.0, 1.0)
    full, traj = s.sample(fn, (8, 2), sampler="ddpm", generator=torch.Generator().manual_seed(7),
                          record=True)
    assert traj["t"][0] == 100 and len(traj["t"]) == 100 and traj["index"][0] == 0
    i = 40
    again = s.sample(fn, (8, 2), sampler="ddpm", generator=torch.Generator().manual_seed(7),
                     x_T=traj["xt"][i], start_index=i)
    assert torch.equal(again, full)
    steps = list(s.sample_loop(fn, (8, 2), sampler="ddpm", x_T=traj["xt"][i] + 1.0,
                               start_index=i, generator=torch.Generator().manual_seed(7)))
    assert len(steps) == 100 - i and steps[0].t == traj["t"][i] and steps[-1].t_prev == 0
    assert not torch.allclose(steps[-1].x_prev, full)


def test_clip_x0_keeps_predictions_in_range():
    """clip_x0 = 1 clamps x0_hat to [-1, 1] (Ho et al.'s images), so the last DDIM step
    (which returns x0_hat) stays in [-1, 1] even for a point mass outside it."""
    s = NoiseSchedule("linear", 1000)
    out = s.sample(point_mass_oracle(s, torch.tensor([3.0])), (16, 1), steps=20, clip_x0=1.0,
                   generator=torch.Generator().manual_seed(0))
    assert out.abs().max() <= 1.0 + 1e-6
