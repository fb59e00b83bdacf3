"""The contractive penalty against a brute-force Jacobian, and the denoising corruption."""
from __future__ import annotations

import pytest
import torch
from torch.autograd.functional import jacobian

from engines import Batch, DataSpec, OptimConfig
import engines.ae as ae
from engines.ae import AEConfig, AEEngine, jacobian_sq_norm

POINTS = DataSpec("points", dim=2, point_mean=(1.0, -2.0), point_std=(3.0, 0.5))
IMG = DataSpec("images", channels=1, height=6, width=6)


def _engine(spec: DataSpec, **kw) -> AEEngine:
    torch.manual_seed(0)
    cfg = AEConfig(latent_dim=3, hidden=16, depth=2, channels=4, **kw)
    return AEEngine.build(cfg, OptimConfig(), spec)


def _brute_force(encoder, x_in: torch.Tensor) -> torch.Tensor:
    """||J_f(x_b)||_F^2 per sample from the full (B, d, B, *in) Jacobian of the batch map;
    also checks that sample b's code does not depend on sample c != b."""
    J = jacobian(encoder, x_in)                      # (B, d, B, *in)
    B = x_in.shape[0]
    J = J.reshape(B, J.shape[1], B, -1)
    per = torch.stack([J[b, :, b].pow(2).sum() for b in range(B)])
    for b in range(B):
        for c in range(B):
            if c != b:
                assert not J[b, :, c].any()
    return per


@pytest.mark.parametrize("spec,arch", [(POINTS, "mlp"), (IMG, "conv"), (IMG, "mlp")])
def test_penalty_is_lambda_times_frobenius_norm(spec, arch):
    """loss/contractive = mean_b ||J_f(x_b)||_F^2 with J_f = d z / d x_in (x_in = standardised
    points or pixels), and loss/total = loss/recon + lambda * loss/contractive."""
    lam = 0.7
    eng = _engine(spec, arch=arch, contractive=lam)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, *spec.sample_shape, generator=g)
    x_in = eng.scaler.to_net(x)
    ref = _brute_force(eng.encoder, x_in)
    ours = eng.contractive_penalty(x_in)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-7)
    # the one-VJP-per-latent-unit fallback gives the same numbers
    xr = x_in.clone().requires_grad_(True)
    ae._BATCHED_VJP_OK = False
    try:
        loop = jacobian_sq_norm(eng.encoder(xr), xr)
    finally:
        ae._BATCHED_VJP_OK = True
    torch.testing.assert_close(loop, ref, rtol=1e-5, atol=1e-7)
    with torch.no_grad():
        recon = eng._recon_per_sample(eng.decoder(eng.encoder(x_in)), x_in).mean()
    out = eng.train_step(Batch(x))
    torch.testing.assert_close(out["loss/contractive"], ref.mean(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(out["loss/recon"], recon, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out["loss/total"], recon + lam * ref.mean(), rtol=1e-5, atol=1e-6)


def test_penalty_gradient_reaches_the_encoder():
    """create_graph=True: the penalty is differentiable w.r.t. the encoder weights and its
    gradient matches a finite difference of the brute-force penalty along a random
    direction."""
    eng = _engine(POINTS, contractive=1.0)
    x_in = eng.scaler.to_net(torch.randn(3, 2, dtype=torch.float32))
    w = eng.encoder.net[0].weight
    pen = eng.contractive_penalty(x_in).sum()
    (gw,) = torch.autograd.grad(pen, w)
    d = torch.randn_like(w)
    h = 1e-3
    with torch.no_grad():
        w.add_(h * d)
    up = _brute_force(eng.encoder, x_in).sum()
    with torch.no_grad():
        w.sub_(2 * h * d)
    down = _brute_force(eng.encoder, x_in).sum()
    with torch.no_grad():
        w.add_(h * d)
    fd = (up - down) / (2 * h)
    assert abs(float((gw * d).sum() - fd)) < 1e-2 * max(1.0, abs(float(fd)))


def test_no_contractive_key_when_off():
    eng = _engine(POINTS)
    out = eng.train_step(Batch(torch.randn(4, 2)))
    assert set(out) == {"loss/total", "loss/recon"}


@pytest.mark.parametrize("spec", [POINTS, IMG])
def test_denoising_corrupts_the_input_not_the_target(spec):
    """With denoise_std = s the encoder sees x~ = x_net + s * eps (eps from the global RNG) and
    the loss compares decoder(encoder(x~)) with the clean x_net; with s = 0 it sees x_net."""
    s = 0.5
    eng = _engine(spec, denoise_std=s)
    seen: list[torch.Tensor] = []
    eng.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    x = torch.rand(64, *spec.sample_shape)
    clean = eng.scaler.to_net(x)
    state = torch.get_rng_state()
    noise = torch.randn_like(clean)
    torch.set_rng_state(state)
    with torch.no_grad():
        expected = eng._recon_per_sample(eng.decoder(eng.encoder(clean + s * noise)), clean).mean()
        noisy_target = eng._recon_per_sample(eng.decoder(eng.encoder(clean + s * noise)),
                                             clean + s * noise).mean()
    seen.clear()
    out = eng.train_step(Batch(x))
    assert len(seen) == 1
    torch.testing.assert_close(seen[0], clean + s * noise)
    assert abs(float((seen[0] - clean).std()) - s) < 0.1 * s
    torch.testing.assert_close(out["loss/recon"], expected, rtol=1e-5, atol=1e-5)
    assert not torch.isclose(out["loss/recon"], noisy_target)

    eng.config.denoise_std = 0.0
    seen.clear()
    eng.train_step(Batch(x))
    torch.testing.assert_close(seen[0], clean)
