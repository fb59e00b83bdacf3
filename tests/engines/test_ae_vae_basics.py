"""AE and VAE engines end to end on tiny points and images, on the CPU."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from engines import Batch, DataSpec, OptimConfig, engine_names, get_engine
from engines.ae import AEConfig, AEEngine
from engines.nets import ConvDecoder, ConvEncoder, conv_sizes
from engines.vae import VAEConfig, VAEEngine

POINTS = DataSpec("points", dim=2, point_mean=(5.0, -3.0), point_std=(2.0, 0.5))
IMG8 = DataSpec("images", channels=1, height=8, width=8)
MNIST = DataSpec("images", channels=1, height=28, width=28)
ODD = DataSpec("images", channels=3, height=13, width=11)
SPECS = [POINTS, IMG8, MNIST, ODD]
SPEC_IDS = ["points", "1x8x8", "1x28x28", "3x13x11"]
ENGINES = ["ae", "vae"]


def tiny(name: str, spec: DataSpec, seed: int = 0, optim: OptimConfig | None = None, **kw):
    torch.manual_seed(seed)
    E = get_engine(name)
    cfg = E.Config(**{"latent_dim": 3, "hidden": 32, "depth": 2, "channels": 4, **kw})
    return E.build(cfg, optim or OptimConfig(), spec, "cpu")


def data(spec: DataSpec, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if spec.is_images:
        return torch.rand(n, *spec.sample_shape, generator=g)
    return (torch.randn(n, spec.dim, generator=g) * torch.tensor(spec.point_std)
            + torch.tensor(spec.point_mean))


def test_registered():
    assert {"ae", "vae"} <= set(engine_names())
    assert get_engine("ae") is AEEngine and get_engine("vae") is VAEEngine
    assert AEEngine.capabilities == {"encode", "decode"}
    assert VAEEngine.capabilities == {"encode", "decode", "elbo"}


@pytest.mark.parametrize("cfg_cls", [AEConfig, VAEConfig])
def test_config_fields_documented(cfg_cls):
    cfg = cfg_cls()
    cfg.validate()
    for f in dataclasses.fields(cfg_cls):
        assert f.metadata["help"], f.name
        default = getattr(cfg, f.name)
        if f.metadata["choices"] is not None:
            assert default in f.metadata["choices"]
    assert {f.name: f.metadata["structural"] for f in dataclasses.fields(VAEConfig)}["beta"] is False


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (6, 6), (7, 7), (8, 8), (13, 11), (28, 28),
                                  (32, 32), (33, 17), (64, 48)])
def test_conv_nets_give_back_exact_shape(size):
    h, w = size
    enc = ConvEncoder((2, h, w), 5, channels=3, fc=8)
    dec = ConvDecoder(4, (2, h, w), channels=3, fc=8)
    assert enc(torch.rand(3, 2, h, w)).shape == (3, 5)
    assert dec(torch.randn(3, 4)).shape == (3, 2, h, w)
    assert conv_sizes(28, 28) == [(28, 28), (14, 14), (7, 7)]
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in enc.modules())


CASES = [(POINTS, "mlp")] + [(s, a) for s in SPECS[1:] for a in ("conv", "mlp")]
CASE_IDS = ["points"] + [f"{i}-{a}" for i in SPEC_IDS[1:] for a in ("conv", "mlp")]


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("spec,arch", CASES, ids=CASE_IDS)
def test_train_sample_encode_decode(name, spec, arch):
    eng = tiny(name, spec, arch=arch)
    x = data(spec, 8)
    for _ in range(3):
        out = eng.train_step(Batch(x))
    assert "loss/total" in out and "loss/recon" in out
    for k, v in out.items():
        assert v.dim() == 0 and not v.requires_grad and torch.isfinite(v), k
    if name == "vae":
        assert {"loss/kl", "elbo"} <= set(out)
    s = eng.sample(5, generator=torch.Generator().manual_seed(0))
    assert s.shape == (5, *spec.sample_shape) and torch.isfinite(s).all()
    if spec.is_images:
        assert float(s.min()) >= 0.0 and float(s.max()) <= 1.0
    z = eng.encode(x)
    assert z.shape == (8, 3) and eng.noise_shape == (3,)
    r = eng.decode(z)
    assert r.shape == x.shape
    assert all(m.training for m in eng.modules().values())
    ev = eng.evaluate([Batch(x[:5]), Batch(x[5:])])
    expect = {"test/recon", "test/mse"} | ({"test/elbo", "test/kl"} if name == "vae" else set())
    assert set(ev) == expect and all(math.isfinite(v) for v in ev.values())
    assert all(m.training for m in eng.modules().values())


@pytest.mark.parametrize("name", ENGINES)
def test_points_losses_decrease(name):
    """A trivial problem: one fixed batch of 2D Gaussian points, ~100 Adam steps."""
    eng = tiny(name, POINTS, optim=OptimConfig(lr=3e-3))
    x = data(POINTS, 64)
    losses = [float(eng.train_step(Batch(x))["loss/total"]) for _ in range(100)]
    assert all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < first - 0.1 * abs(first), (first, last)
    # samples come back in data coordinates: near the data's mean, not near 0
    s = eng.sample(2000, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(s.mean(0), torch.tensor(POINTS.point_mean), atol=1.0)


def test_ae_latent_stats_follow_the_codes():
    """The running Gaussian is the exact mean/covariance of every code seen so far while
    1/n > 1 - latent_decay (a cumulative average), merged batch by batch."""
    eng = tiny("ae", POINTS, latent_decay=0.999)
    g = torch.Generator().manual_seed(0)
    zs = [torch.randn(16, 3, generator=g) * torch.tensor([1.0, 2.0, 0.5]) + 3 for _ in range(5)]
    for z in zs:
        eng._update_latent_stats(z)
    allz = torch.cat(zs)
    torch.testing.assert_close(eng.latent_mean, allz.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(eng.latent_cov, torch.cov(allz.t(), correction=0), rtol=1e-4, atol=1e-5)
    # and sampling maps N(0, I) through that Gaussian
    z = torch.randn(4, 3, generator=g)
    L = torch.linalg.cholesky(eng.latent_cov.double() + 1e-5 * torch.eye(3, dtype=torch.float64))
    torch.testing.assert_close(eng.latent_from_noise(z), (eng.latent_mean.double() + z.double() @ L.t()).float())


def test_ae_latent_stats_are_trained_and_checkpointed():
    eng = tiny("ae", POINTS)
    x = data(POINTS, 32)
    for _ in range(5):
        eng.train_step(Batch(x))
    sd = eng.state_dict()
    assert {"extra.latent_mean", "extra.latent_cov", "extra.latent_count"} <= set(sd)
    assert float(sd["extra.latent_count"]) == 5
    assert not torch.equal(sd["extra.latent_cov"], torch.eye(3))
    fresh = tiny("ae", POINTS, seed=9)
    fresh.load_state_dict({k: v.clone() for k, v in sd.items()})
    torch.testing.assert_close(fresh.latent_mean, eng.latent_mean, rtol=0, atol=0)
    assert fresh._count == 5


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("spec", [POINTS, ODD], ids=["points", "3x13x11"])
def test_state_dict_round_trip_reproduces_samples(name, spec):
    eng = tiny(name, spec)
    x = data(spec, 8)
    for _ in range(3):
        eng.train_step(Batch(x))
    z = eng.noise(6, torch.Generator().manual_seed(3))
    before = eng.sample(6, z=z)
    rng = torch.get_rng_state()
    again = eng.sample(6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again, before)
    assert torch.equal(torch.get_rng_state(), rng)  # previews leave the global RNG alone
    fresh = tiny(name, spec, seed=123)
    assert not torch.equal(fresh.sample(6, z=z), before)
    fresh.load_state_dict({k: v.clone() for k, v in eng.state_dict().items()})
    assert torch.equal(fresh.sample(6, z=z), before)
    fresh.load_optim_state_dict(eng.optim_state_dict())
    torch.manual_seed(5)
    a = eng.train_step(Batch(x))
    torch.manual_seed(5)
    b = fresh.train_step(Batch(x))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_vae_evaluate_is_deterministic_and_leaves_global_rng():
    eng = tiny("vae", MNIST, arch="mlp")
    x = data(MNIST, 10)
    state = torch.get_rng_state()
    a = eng.evaluate([Batch(x)])
    b = eng.evaluate([Batch(x[:4]), Batch(x[4:])])
    assert torch.equal(torch.get_rng_state(), state)
    assert a == eng.evaluate([Batch(x)])
    assert abs(a["test/elbo"] + a["test/recon"] + a["test/kl"]) < 1e-6 * abs(a["test/elbo"])
    assert a["test/kl"] >= 0
    assert set(b) == set(a)


def test_bernoulli_on_points_is_a_clear_error():
    with pytest.raises(ValueError, match="bernoulli.*points"):
        tiny("vae", POINTS, decoder="bernoulli")
    with pytest.raises(ValueError, match="bce.*points"):
        tiny("ae", POINTS, loss="bce")
    assert tiny("vae", POINTS).likelihood == "gaussian"       # auto
    assert tiny("vae", IMG8).likelihood == "bernoulli"        # auto


@pytest.mark.parametrize("src,dst", [("ae", "vae"), ("vae", "ae")])
def test_loading_the_other_engines_weights_names_keys(src, dst):
    a = tiny(src, IMG8, arch="conv")      # the conv encoder's output layer is "encoder.head"
    b = tiny(dst, IMG8, arch="conv")
    with pytest.raises(ValueError) as err:
        b.load_state_dict(a.state_dict())
    msg = str(err.value)
    assert "extra.latent_" in msg or "decoder.log_sigma" in msg or "encoder." in msg
    assert "encoder.head" in msg  # the encoder's output layer differs in shape (d vs 2d)


def test_set_lr_and_grad_clip():
    eng = tiny("vae", POINTS, optim=OptimConfig(grad_clip=0.5))
    eng.set_lr(1e-4)
    assert eng.opt.param_groups[0]["lr"] == 1e-4
    out = eng.train_step(Batch(data(POINTS, 16)))
    assert torch.isfinite(out["loss/total"])


def test_ae_noise_from_latent_inverts_latent_from_noise():
    """latent = m + L z  <=>  z = L^-1 (latent - m)."""
    engine = tiny("ae", POINTS)
    for i in range(5):
        engine.train_step(Batch(data(POINTS, 64, seed=i)))
    z = torch.randn(7, engine.noise_shape[0])
    back = engine.noise_from_latent(engine.latent_from_noise(z))
    assert torch.allclose(back, z, atol=1e-4)
