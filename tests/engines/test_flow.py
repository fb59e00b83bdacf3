"""The flow engine against its papers (../shared/REFERENCES.md, "Normalizing flows").

Each test states the equation it checks:
- change of variables: every layer's and the whole flow's log-det equals log |det J| of the
  brute-force Jacobian (torch.autograd.functional.jacobian, float64, tiny inputs);
- invertibility: x -> z -> x within 1e-5 for every layer and the whole flow;
- actnorm: the data-dependent init gives zero mean and unit variance per channel;
- 1x1 convolution: log-det = H W log |det W|, and the LU form equals the plain form;
- bits/dim = (-log p(x_deq) + D log 256) / (D log 2) for a flow whose density is known;
- temperature 0 sampling gives the prior's mean mapped through the flow.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from engines import Batch, DataSpec, OptimConfig, get_engine
from engines.flow.layers import (ActNorm, Coupling, FlowStep, InvConv1x1, InvConv1x1LU, Reverse,
                                 squeeze, unsqueeze)
from engines.flow.model import Dequantise, GlowFlow, PointFlow, Preprocess

torch.set_default_dtype(torch.float32)


def _randomise(module: torch.nn.Module, scale: float = 0.3, seed: int = 0) -> None:
    """Give every parameter (zero-initialised ones included) a random value, so the checks
    see a layer that is not the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
        for name, b in module.named_buffers():
            if name.endswith("initialised"):
                b.fill_(1)


def _brute_logdet(fn, x: torch.Tensor) -> torch.Tensor:
    """log |det d fn(x_i) / d x_i| per sample, from the full Jacobian of one sample at a time."""
    out = []
    for i in range(x.shape[0]):
        xi = x[i:i + 1]
        jac = jacobian(lambda v: fn(v.view_as(xi)).reshape(-1), xi.reshape(-1))
        out.append(torch.linalg.slogdet(jac)[1])
    return torch.stack(out)


IMAGE_LAYERS = {
    "actnorm": lambda: ActNorm(4),
    "conv1x1": lambda: InvConv1x1(4),
    "conv1x1-lu": lambda: InvConv1x1LU(4),
    "reverse": lambda: Reverse(),
    "affine-coupling": lambda: Coupling(4, 6, 0, True, "affine"),
    "additive-coupling": lambda: Coupling(4, 6, 0, True, "additive"),
    "step": lambda: FlowStep(4, 6, 0, True, "affine", "lu"),
}
POINT_LAYERS = {
    "actnorm": lambda: ActNorm(3),
    "conv1x1-lu": lambda: InvConv1x1LU(3),
    "affine-coupling": lambda: Coupling(3, 5, 2, False, "affine"),
    "additive-coupling": lambda: Coupling(3, 5, 1, False, "additive"),
}


@pytest.mark.parametrize("name", list(IMAGE_LAYERS))
def test_image_layer_logdet_is_the_jacobians_and_inverts(name):
    torch.manual_seed(1)
    layer = IMAGE_LAYERS[name]().double()
    _randomise(layer)
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    y, logdet = layer(x)
    brute = _brute_logdet(lambda v: layer(v)[0], x)
    assert torch.allclose(logdet, brute, atol=1e-8), (logdet, brute)
    assert (layer.inverse(y) - x).abs().max() < 1e-10


@pytest.mark.parametrize("name", list(POINT_LAYERS))
def test_point_layer_logdet_is_the_jacobians_and_inverts(name):
    torch.manual_seed(2)
    layer = POINT_LAYERS[name]().double()
    _randomise(layer)
    x = torch.randn(4, 3, dtype=torch.float64)
    y, logdet = layer(x)
    assert torch.allclose(logdet, _brute_logdet(lambda v: layer(v)[0], x), atol=1e-8)
    assert (layer.inverse(y) - x).abs().max() < 1e-10


def test_logit_preprocessing_logdet_and_inverse():
    """y = logit(a + (1 - 2a) x): log-det sum log((1 - 2a) / (s (1 - s)))."""
    pre = Preprocess("logit", alpha=0.05)
    x = torch.rand(2, 1, 2, 2, dtype=torch.float64)
    y, logdet = pre(x)
    assert torch.allclose(logdet, _brute_logdet(lambda v: pre(v)[0], x), atol=1e-10)
    assert (pre.inverse(y) - x).abs().max() < 1e-12


def test_squeeze_is_a_permutation_and_its_inverse():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float64).view(2, 3, 4, 6)
    s = squeeze(x)
    assert s.shape == (2, 12, 2, 3)
    assert torch.equal(torch.sort(s.flatten())[0], torch.sort(x.flatten())[0])
    assert torch.equal(unsqueeze(s), x)
    # channel 4c + 2i + j of output position (h, w) is input pixel (c, 2h + i, 2w + j)
    assert s[0, 4 * 1 + 2 * 1 + 0, 1, 2] == x[0, 1, 3, 4]


def _glow(shape=(1, 4, 4), levels=2, steps=2, coupling="affine", mixing="lu"):
    torch.manual_seed(3)
    flow = GlowFlow(shape, levels, steps, 6, coupling, mixing).double()
    _randomise(flow, scale=0.2)
    return flow


@pytest.mark.parametrize("coupling,mixing", [("affine", "lu"), ("additive", "plain"),
                                             ("affine", "reverse")])
def test_whole_glow_logdet_and_round_trip(coupling, mixing):
    """log |det d eps / dx| of the whole multi-scale flow (levels, splits with their learned
    priors, top prior) equals the brute-force Jacobian of x -> concat(eps of every level)."""
    flow = _glow(coupling=coupling, mixing=mixing)
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    eps, logdet = flow(x)
    flat = lambda v: torch.cat([e.flatten(1) for e in flow(v)[0]], 1)
    assert torch.allclose(logdet, _brute_logdet(flat, x), atol=1e-7)
    assert (flow.inverse(eps) - x).abs().max() < 1e-10


def test_whole_point_flow_logdet_and_round_trip():
    torch.manual_seed(4)
    flow = PointFlow(2, (0.5, -1.0), (2.0, 0.5), steps=3, hidden=8, depth=2).double()
    _randomise(flow, scale=0.3)
    x = torch.randn(5, 2, dtype=torch.float64)
    z, logdet = flow(x)
    assert torch.allclose(logdet, _brute_logdet(lambda v: flow(v)[0], x), atol=1e-9)
    assert (flow.inverse(z) - x).abs().max() < 1e-10


def _engine(spec, **over):
    torch.manual_seed(0)
    E = get_engine("flow")
    return E.build(E.Config(**over), OptimConfig(lr=1e-3), spec, "cpu")


MNISTISH = DataSpec("images", channels=1, height=8, width=8)
POINTS = DataSpec("points", dim=2, point_mean=(0.5, -1.0), point_std=(1.5, 0.7))


def test_engine_round_trip_float32_within_1e5():
    """sample(z = encode(x)) == x for images and points (float32, a trained few steps)."""
    for spec, over in ((MNISTISH, dict(levels=2, steps=2, hidden=8)),
                       (POINTS, dict(steps=3, hidden=8))):
        e = _engine(spec, **over)
        g = torch.Generator().manual_seed(0)
        x = (torch.rand(16, *spec.sample_shape, generator=g) if spec.is_images
             else torch.randn(16, 2, generator=g))
        for _ in range(3):
            e.train_step(Batch(x))
        assert (e.decode(e.encode(x)) - x).abs().max() < 1e-5


def test_actnorm_data_dependent_init_standardises_the_first_batch():
    """Glow: b and s set so the first batch's outputs have zero mean and unit variance."""
    norm = ActNorm(3)
    x = torch.randn(64, 3, 5, 5) * torch.tensor([2.0, 0.5, 7.0]).view(1, 3, 1, 1) + 3.0
    y, _ = norm(x)
    assert bool(norm.initialised)
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)
    before = norm.bias.detach().clone()
    norm(x * 5)                  # a second batch does not initialise again
    assert torch.equal(norm.bias.detach(), before)


def test_actnorm_does_not_initialise_outside_training():
    norm = ActNorm(2).eval()
    x = torch.randn(8, 2) * 4
    assert torch.equal(norm(x)[0], x) and not bool(norm.initialised)


def test_conv1x1_logdet_is_hw_log_det_w_and_lu_equals_plain():
    """log-det of y = W x at each of H W positions is H W log |det W|; the LU form
    W = P L (U + diag(sign_s exp(log_s))) gives the same W, output and log-det."""
    torch.manual_seed(5)
    lu = InvConv1x1LU(4).double()
    _randomise(lu, scale=0.2)
    plain = InvConv1x1(4).double()
    with torch.no_grad():
        plain.weight.copy_(lu.matrix())
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    y_lu, ld_lu = lu(x)
    y_plain, ld_plain = plain(x)
    expected = 5 * 6 * torch.log(torch.abs(torch.det(lu.matrix())))
    assert torch.allclose(ld_plain, expected.expand(3)) and torch.allclose(ld_lu, expected.expand(3))
    assert torch.allclose(y_lu, y_plain, atol=1e-12)


def test_bits_per_dim_of_a_volume_preserving_flow_is_the_closed_form():
    """A fresh Glow with additive couplings is volume-preserving and its code is an orthogonal
    map of its input (random rotations, zero couplings, zero priors, actnorm not yet
    initialised), so
    log p(x_deq) = log N(y; 0, I) with y = x_deq - 1/2, and
    bits/dim = (||y||^2 / 2 + D log(2 pi) / 2 + D log 256) / (D log 2)."""
    e = _engine(MNISTISH, levels=2, steps=2, hidden=8, coupling="additive", preprocess="center")
    g = torch.Generator().manual_seed(7)
    x = torch.randint(0, 256, (5, 1, 8, 8), generator=g).float() / 255.0
    bpd = e.nll(x, generator=torch.Generator().manual_seed(11))
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(11))
    y = (torch.round(x * 255) + u) / 256 - 0.5
    d = 64
    closed = ((y.pow(2).flatten(1).sum(1) / 2 + d * math.log(2 * math.pi) / 2 + d * math.log(256))
              / (d * math.log(2)))
    assert torch.allclose(bpd, closed, atol=1e-4), (bpd, closed)


def test_dequantisation_keeps_each_pixel_in_its_cell():
    x = torch.tensor([0.0, 1 / 255, 0.5, 1.0])
    for u in (torch.zeros(4), torch.full((4,), 0.999)):
        xd = Dequantise.apply(x, u)
        k = torch.round(x * 255)
        assert bool(((xd >= k / 256) & (xd < (k + 1) / 256)).all())


def test_temperature_zero_samples_are_the_prior_means_through_the_flow():
    """T = 0: every eps is 0, so each level's code is its prior's mean (conditioned on the
    levels above) and the sample is the flow's inverse of those means; all samples are equal."""
    e = _engine(MNISTISH, levels=2, steps=2, hidden=8, temperature=0.0, preprocess="center")
    _randomise(e.flow, scale=0.2)
    out = e.sample(3, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out[0], out[1]) and torch.allclose(out[0], out[2])
    flow = e.flow
    with torch.no_grad():          # the means by hand, top level down (y = x - 1/2 undone last)
        h = flow.top_mean.clone()
        for step in reversed(flow.levels[1]):
            h = step.inverse(h)
        h = unsqueeze(h)                     # the kept half of the finest level
        mean, _ = flow._prior(0, h)
        h = torch.cat([mean, h], 1)
        for step in reversed(flow.levels[0]):
            h = step.inverse(h)
        expected = (unsqueeze(h) + 0.5).clamp(0, 1)
    assert torch.allclose(out[0], expected[0], atol=1e-6)
    # and a higher temperature spreads them
    e.config.temperature = 1.0
    spread = e.sample(3, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(spread[0], spread[1])


def test_levels_that_do_not_divide_the_image_are_refused_with_the_limit():
    E = get_engine("flow")
    with pytest.raises(ValueError, match="levels <= 2"):
        E.build(E.Config(levels=3), OptimConfig(), DataSpec("images", channels=1, height=28,
                                                            width=28), "cpu")


def test_points_need_two_dimensions():
    E = get_engine("flow")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        E.build(E.Config(), OptimConfig(), DataSpec("points", dim=1), "cpu")


def test_training_lowers_the_nll_of_points():
    e = _engine(POINTS, steps=4, hidden=32, warmup=0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 2, generator=g) * torch.tensor([1.5, 0.2]) + torch.tensor([0.5, -1.0])
    x[:, 1] += 0.5 * x[:, 0] ** 2
    before = float(e.nll(x).mean())
    for _ in range(150):
        e.train_step(Batch(x[torch.randint(0, 512, (128,), generator=g)]))
    assert float(e.nll(x).mean()) < before - 0.3


def test_warmup_ramps_the_learning_rate_then_holds_it():
    e = _engine(POINTS, steps=1, hidden=4, warmup=10)
    x = torch.randn(8, 2)
    lrs = []
    for _ in range(12):
        e.train_step(Batch(x))
        lrs.append(e.opt.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(1e-4) and lrs[4] == pytest.approx(5e-4)
    assert lrs[9] == pytest.approx(1e-3) and lrs[11] == pytest.approx(1e-3)


def test_bits_per_dim_with_logit_preprocessing_counts_its_log_det():
    """The same volume-preserving flow after y = logit(s), s = a + (1 - 2a) x_deq:
    log p(x_deq) = log N(y; 0, I) + sum log((1 - 2a) / (s (1 - s)))."""
    a = 1e-6
    e = _engine(MNISTISH, levels=2, steps=2, hidden=8, coupling="additive", preprocess="logit",
                logit_alpha=a)
    x = torch.randint(0, 256, (4, 1, 8, 8), generator=torch.Generator().manual_seed(8)).float() / 255.0
    bpd = e.nll(x, generator=torch.Generator().manual_seed(12)).double()
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(12)).double()
    s = a + (1 - 2 * a) * (torch.round(x.double() * 255) + u) / 256
    y = torch.log(s) - torch.log1p(-s)
    d = 64
    log_p = (-0.5 * (y.pow(2) + math.log(2 * math.pi)) + math.log(1 - 2 * a)
             - torch.log(s) - torch.log1p(-s)).flatten(1).sum(1)
    closed = (-log_p + d * math.log(256)) / (d * math.log(2))
    assert torch.allclose(bpd, closed, rtol=1e-4), (bpd, closed)
