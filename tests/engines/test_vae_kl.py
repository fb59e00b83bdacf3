"""The VAE's two loss terms against their textbook definitions."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from engines import Batch, DataSpec, OptimConfig
from engines.vae import VAEConfig, VAEEngine, bernoulli_nll, gaussian_nll, kl_std_normal

POINTS = DataSpec("points", dim=2, point_mean=(3.0, -1.0), point_std=(2.0, 0.25))
IMAGES = DataSpec("images", channels=1, height=6, width=6)


def _tiny(spec: DataSpec, **kw) -> VAEEngine:
    torch.manual_seed(0)
    cfg = VAEConfig(latent_dim=3, hidden=16, depth=1, channels=4, **kw)
    return VAEEngine.build(cfg, OptimConfig(), spec)


def test_kl_closed_form_matches_definition_and_torch():
    """KL(N(mu, sigma^2) || N(0, 1)) summed over dims
    = 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
    = torch.distributions.kl_divergence(Normal(mu, sigma), Normal(0, 1)).sum(-1)."""
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(5, 4, generator=g, dtype=torch.float64)
    logvar = torch.randn(5, 4, generator=g, dtype=torch.float64)
    sigma = torch.exp(0.5 * logvar)
    ours = kl_std_normal(mu, logvar)
    by_hand = 0.5 * (mu ** 2 + sigma ** 2 - 1 - torch.log(sigma ** 2)).sum(-1)
    ref = kl_divergence(Normal(mu, sigma), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    assert ours.shape == (5,)
    torch.testing.assert_close(ours, by_hand)
    torch.testing.assert_close(ours, ref)


def test_kl_matches_monte_carlo():
    """KL(q || p) = E_{z ~ q}[log q(z) - log p(z)], estimated with 400k samples, agrees with
    the closed form within 4 standard errors."""
    g = torch.Generator().manual_seed(2)
    mu = torch.tensor([[0.5, -1.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[-1.0, 0.3, 0.0]], dtype=torch.float64)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    eps = torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    z = mu + torch.exp(0.5 * logvar) * eps
    diff = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    est, se = diff.mean(), diff.std() / math.sqrt(diff.numel())
    closed = kl_std_normal(mu, logvar)[0]
    assert abs(float(est - closed)) < 4 * float(se) + 1e-6


def test_bernoulli_recon_is_binary_cross_entropy():
    """-log p(x|z) = -sum_i [x_i log p_i + (1 - x_i) log(1 - p_i)], p = sigmoid(logits), for
    x in [0, 1] (not only binary), and equals -Bernoulli(logits).log_prob(x) summed for
    binary x."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 1, 5, 5, generator=g, dtype=torch.float64) * 3
    x = torch.rand(4, 1, 5, 5, generator=g, dtype=torch.float64)
    p = torch.sigmoid(logits)
    by_hand = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
    torch.testing.assert_close(bernoulli_nll(logits, x), by_hand)
    xb = (x > 0.5).to(x.dtype)
    ref = -Bernoulli(logits=logits).log_prob(xb).flatten(1).sum(1)
    torch.testing.assert_close(bernoulli_nll(logits, xb), ref)


@pytest.mark.parametrize("log_sigma", [math.log(0.3), 0.0, math.log(2.5)])
def test_gaussian_nll_includes_constant(log_sigma):
    """-log N(x | m, sigma^2 I) = sum_i [(x_i - m_i)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2]
    = -Normal(m, sigma).log_prob(x).sum() (the constant included)."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64)
    m = torch.randn(6, 3, generator=g, dtype=torch.float64)
    ref = -Normal(m, math.exp(log_sigma)).log_prob(x).sum(-1)
    torch.testing.assert_close(gaussian_nll(x, m, log_sigma), ref)
    torch.testing.assert_close(gaussian_nll(x, m, torch.tensor(log_sigma, dtype=torch.float64)), ref)


def _expected_terms(eng: VAEEngine, x: torch.Tensor):
    """Recompute (recon, kl) per sample with the engine's current weights and the noise
    train_step is about to draw (same global RNG state, same shape)."""
    state = torch.get_rng_state()
    with torch.no_grad():
        mu, logvar = eng.encoder(eng.scaler.to_net(x)).chunk(2, dim=1)
        eps = torch.randn_like(mu)
        recon, kl, _, _ = eng.loss_terms(x, eps)
    torch.set_rng_state(state)
    return recon, kl, mu, logvar, eps


def test_points_gaussian_recon_is_nll_in_data_coordinates():
    """For points the reported recon is -log N(x | m_data, (sigma * std)^2) in data
    coordinates, where m_data = m * std + mean is the decoder mean mapped back, i.e.
    -Normal(m_data, sigma * std).log_prob(x).sum(-1); train_step's loss/recon, loss/kl,
    loss/total = recon + beta * kl and elbo = -(recon + kl) are batch means of these."""
    eng = _tiny(POINTS, beta=0.5)
    x = torch.randn(7, 2) * torch.tensor(POINTS.point_std) + torch.tensor(POINTS.point_mean)
    recon, kl, mu, logvar, eps = _expected_terms(eng, x)
    with torch.no_grad():
        z = mu + torch.exp(0.5 * logvar) * eps
        m_data = eng.scaler.to_data(eng.decoder(z))
        sigma = torch.exp(eng.decoder.learned_log_sigma())
        ref = -Normal(m_data, sigma * torch.tensor(POINTS.point_std)).log_prob(x).sum(-1)
    torch.testing.assert_close(recon, ref, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(kl, kl_std_normal(mu, logvar))
    out = eng.train_step(Batch(x))
    torch.testing.assert_close(out["loss/recon"], recon.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out["loss/kl"], kl.mean(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out["loss/total"], recon.mean() + 0.5 * kl.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out["elbo"], -(recon.mean() + kl.mean()), rtol=1e-5, atol=1e-4)


def test_learned_sigma_starts_at_init_and_fixed_sigma_is_used():
    """Learned decoder std starts at 0.1; with sigma > 0 the NLL uses exactly that std:
    recon = -Normal(sigmoid(logits), sigma).log_prob(x).sum() per image."""
    eng = _tiny(POINTS)
    assert abs(float(torch.exp(eng.decoder.learned_log_sigma()).detach()) - 0.1) < 1e-6
    eng = _tiny(IMAGES, decoder="gaussian", sigma=0.2)
    assert eng.decoder.log_sigma is None
    x = torch.rand(3, *IMAGES.sample_shape)
    recon, _, mu, logvar, eps = _expected_terms(eng, x)
    with torch.no_grad():
        mean = torch.sigmoid(eng.decoder(mu + torch.exp(0.5 * logvar) * eps))
    ref = -Normal(mean, 0.2).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(recon, ref, rtol=1e-5, atol=1e-3)
    out = eng.train_step(Batch(x))
    torch.testing.assert_close(out["loss/recon"], recon.mean(), rtol=1e-5, atol=1e-3)


def test_images_bernoulli_train_step_terms():
    """Images with the Bernoulli decoder: loss/recon = mean_b sum_i BCE(x, sigmoid(logits)),
    loss/kl = mean_b 0.5 sum_j (mu^2 + sigma^2 - 1 - log sigma^2)."""
    eng = _tiny(IMAGES)
    assert eng.likelihood == "bernoulli"
    x = torch.rand(4, *IMAGES.sample_shape)
    recon, kl, mu, logvar, eps = _expected_terms(eng, x)
    with torch.no_grad():
        logits = eng.decoder(mu + torch.exp(0.5 * logvar) * eps)
        p = torch.sigmoid(logits)
    by_hand = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
    torch.testing.assert_close(recon, by_hand, rtol=1e-5, atol=1e-4)
    before = copy.deepcopy(eng.encoder.state_dict())
    out = eng.train_step(Batch(x))
    torch.testing.assert_close(out["loss/recon"], recon.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out["loss/kl"], kl.mean(), rtol=1e-5, atol=1e-5)
    # and it did take a step
    assert any(not torch.equal(before[k], v) for k, v in eng.encoder.state_dict().items())
