"""VAEEngine.iwae_bound against its definition (Burda, Grosse & Salakhutdinov 2016, eq. 8):

    L_k(x) = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_i = mu(x) + sigma(x) eps_i,

with eps drawn as torch.randn((k, B, latent_dim), generator=g)."""
from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from engines import DataSpec, OptimConfig
from engines.vae import VAEConfig, VAEEngine

POINTS = DataSpec("points", dim=2, point_mean=(3.0, -1.0), point_std=(2.0, 0.25))
IMAGES = DataSpec("images", channels=1, height=6, width=6)


def _tiny(spec: DataSpec, **kw) -> VAEEngine:
    torch.manual_seed(0)
    cfg = dict(latent_dim=3, hidden=16, depth=1, channels=4)
    cfg.update(kw)
    return VAEEngine.build(VAEConfig(**cfg), OptimConfig(), spec)


def _points(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 2, generator=g) * torch.tensor(POINTS.point_std)
            + torch.tensor(POINTS.point_mean))


@pytest.mark.parametrize("spec", [POINTS, IMAGES], ids=["points", "images"])
def test_k1_is_the_single_sample_elbo_with_the_same_noise(spec):
    """With k = 1 and eps = randn((1, B, d), generator seeded s), z = mu + sigma * eps:
    L_1(x) = log p(x|z) + log N(z; 0, I) - log N(z; mu, sigma^2)
           = -recon(x, z) - [log q(z|x) - log p(z)],
    the one-sample Monte Carlo ELBO, using the engine's recon (data coordinates for points)."""
    eng = _tiny(spec)
    x = _points(5, 1) if not spec.is_images else torch.rand(5, *spec.sample_shape,
                                                           generator=torch.Generator().manual_seed(1))
    got = eng.iwae_bound(x, 1, torch.Generator().manual_seed(7))
    assert got.shape == (5,)
    eps = torch.randn((1, 5, 3), generator=torch.Generator().manual_seed(7))[0]
    with torch.no_grad():
        recon, _, mu, logvar = eng.loss_terms(x, eps)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(1)
        log_p = Normal(0.0, 1.0).log_prob(z).sum(1)
    torch.testing.assert_close(got, -recon + log_p - log_q, rtol=1e-5, atol=1e-4)


def test_k1_mean_is_the_elbo():
    """E_eps[L_1(x)] = ELBO(x) = -(E recon + KL(q || p)): averaged over 4,000 draws per point
    it matches -(recon + KL closed form) averaged the same way, within 5 standard errors."""
    eng = _tiny(POINTS, sigma=0.5)
    x = _points(4, 2)
    reps = 4000
    l1 = eng.iwae_bound(x.repeat(reps, 1), 1, torch.Generator().manual_seed(3)).view(reps, 4)
    eps = torch.randn(reps * 4, 3, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        recon, kl, _, _ = eng.loss_terms(x.repeat(reps, 1), eps)
    elbo = -(recon + kl).view(reps, 4)
    diff = l1.double().mean(0) - elbo.double().mean(0)
    se = torch.sqrt(l1.double().var(0) / reps + elbo.double().var(0) / reps)
    assert torch.all(diff.abs() < 5 * se + 1e-4), (diff, se)


def test_bound_grows_with_k():
    """E[L_1] <= E[L_5] <= E[L_50] (Burda et al. 2016, Theorem 1), batch means over 64 points
    with 40 repeats each (fixed seed); the gaps are many standard errors wide for an untrained
    model, whose q is far from the posterior."""
    eng = _tiny(POINTS)
    x = _points(64, 5)
    reps = 40
    means = {}
    for k in (1, 5, 50):
        v = eng.iwae_bound(x.repeat(reps, 1), k, torch.Generator().manual_seed(11 + k)).double()
        means[k] = (float(v.mean()), float(v.view(reps, 64).mean(1).std() / math.sqrt(reps)))
    (m1, s1), (m5, s5), (m50, s50) = means[1], means[5], means[50]
    assert m5 - m1 > 3 * math.hypot(s1, s5), means
    assert m50 - m5 > 3 * math.hypot(s5, s50), means
    assert all(math.isfinite(m) for m, _ in means.values())


def test_chunking_does_not_change_the_result():
    """The noise is drawn once as (k, B, d); chunking the decoder calls only bounds memory."""
    eng = _tiny(IMAGES)
    x = torch.rand(6, *IMAGES.sample_shape, generator=torch.Generator().manual_seed(2))
    a = eng.iwae_bound(x, 37, torch.Generator().manual_seed(9))
    b = eng.iwae_bound(x, 37, torch.Generator().manual_seed(9), max_batch=13)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


def test_does_not_touch_training_state():
    """Evaluation only: the global RNG (with a generator given), the modules' train flags and
    the weights are unchanged."""
    eng = _tiny(POINTS)
    rng = torch.get_rng_state()
    before = {k: v.clone() for k, v in eng.encoder.state_dict().items()}
    eng.iwae_bound(_points(3, 0), 8, torch.Generator().manual_seed(0))
    assert torch.equal(rng, torch.get_rng_state())
    assert eng.encoder.training and eng.decoder.training
    assert all(torch.equal(before[k], v) for k, v in eng.encoder.state_dict().items())
    with pytest.raises(ValueError):
        eng.iwae_bound(_points(3, 0), 0)


def test_large_k_approaches_log_px_by_numerical_integration():
    """1-D latent, points: log p(x) = log int N(x; m(z), diag(sigma * std)^2) N(z; 0, 1) dz in
    data coordinates, with m(z) the decoder mean mapped back to data coordinates, computed
    independently of the engine's NLL (torch.distributions) on a grid of 24,001 z in
    [-12, 12] (Riemann sum in log space). L_k with k = 50,000 (a consistent estimator from
    below, bias O(1/k)) agrees within 0.02 nats (observed ~3e-3), and L_1 (the ELBO) does
    not exceed it on average."""
    eng = _tiny(POINTS, latent_dim=1, sigma=1.0)
    x = _points(6, 3)
    with torch.no_grad():
        zg = torch.linspace(-12.0, 12.0, 24001, dtype=torch.float64)
        m_data = eng.scaler.to_data(eng.decoder(zg.float()[:, None])).double()     # (G, 2)
        scale = 1.0 * torch.tensor(POINTS.point_std, dtype=torch.float64)
        log_px_z = Normal(m_data[None], scale).log_prob(x.double()[:, None]).sum(-1)  # (6, G)
        log_joint = log_px_z + Normal(0.0, 1.0).log_prob(zg)[None]
        log_px = torch.logsumexp(log_joint, 1) + math.log(float(zg[1] - zg[0]))
    est = eng.iwae_bound(x, 50_000, torch.Generator().manual_seed(0), max_batch=60_000).double()
    assert torch.all((est - log_px).abs() < 0.02), (est, log_px)
    elbo = eng.iwae_bound(x.repeat(2000, 1), 1, torch.Generator().manual_seed(1)).double()
    assert float(elbo.mean()) < float(log_px.mean())
