"""The GAN engine: every loss against its formula, the WGAN-GP penalty, weight clipping, the
WGAN warm-up schedule, unrolling, minibatch discrimination, packing, conditioning, the
canvas's fields, and exact resumption. Tiny networks on CPU; each test states its equation."""
from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from engines import Batch, DataSpec, OptimConfig, get_engine
from engines.gan import (GANConfig, GANEngine, LOSSES, discriminator_loss, generator_loss,
                         gradient_penalty, mmd2_unbiased, warmup_critic_steps)
from engines.gan.nets import (ConvGenerator, Discriminator, MinibatchDiscrimination,
                              pack_samples)

POINTS = DataSpec("points", dim=2, point_mean=(0.5, -1.0), point_std=(1.5, 0.7), num_classes=4)
GRAY = DataSpec("images", channels=1, height=8, width=8, num_classes=3)

SMALL = dict(g_hidden=16, g_depth=2, d_hidden=16, d_depth=2, channels=4)


def build(spec=POINTS, seed=0, optim=None, **kw) -> GANEngine:
    torch.manual_seed(seed)
    cfg = GANConfig(**{**SMALL, **kw})
    return get_engine("gan").build(cfg, optim or OptimConfig(lr=1e-3), spec, "cpu")


def batch(spec=POINTS, n=8, seed=0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    if spec.is_images:
        x = torch.rand(n, *spec.sample_shape, generator=g)
    else:
        x = torch.randn(n, spec.dim, generator=g) * torch.tensor(spec.point_std) \
            + torch.tensor(spec.point_mean)
    y = torch.randint(0, spec.num_classes, (n,), generator=g) if spec.num_classes else None
    return Batch(x, y)


def params_of(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


# ------------------------------------------------------------------------------- losses

LOGITS_R = torch.tensor([-3.0, -0.5, 0.0, 0.7, 4.0])
LOGITS_F = torch.tensor([-2.0, 0.3, 1.5, -0.1, 2.5])


def test_logit_losses_match_their_formulas():
    """minimax / nonsaturating: L_D = -mean log sigma(r) - mean log(1 - sigma(f));
    minimax L_G = mean log(1 - sigma(f)) (saturating); nonsaturating L_G = -mean log sigma(f).
    The softplus forms stay finite at logits of +-100."""
    s_r, s_f = torch.sigmoid(LOGITS_R), torch.sigmoid(LOGITS_F)
    want_d = -torch.log(s_r).mean() - torch.log(1 - s_f).mean()
    for kind in ("minimax", "nonsaturating"):
        assert torch.allclose(discriminator_loss(kind, LOGITS_R, LOGITS_F), want_d, atol=1e-6)
    assert torch.allclose(generator_loss("minimax", LOGITS_F), torch.log(1 - s_f).mean(), atol=1e-6)
    assert torch.allclose(generator_loss("nonsaturating", LOGITS_F), -torch.log(s_f).mean(),
                          atol=1e-6)
    big = torch.tensor([-100.0, 100.0])
    for kind in ("minimax", "nonsaturating"):
        assert torch.isfinite(discriminator_loss(kind, big, big))
        assert torch.isfinite(generator_loss(kind, big))
    assert torch.allclose(generator_loss("nonsaturating", big, reduce=False),
                          torch.tensor([100.0, 0.0]), atol=1e-6)


def test_score_losses_match_their_formulas():
    """wgan / wgan-gp: L_D = mean f - mean r, L_G = -mean f.
    lsgan (a=0, b=1, c=1): L_D = mean (r-1)^2 / 2 + mean f^2 / 2, L_G = mean (f-1)^2 / 2.
    hinge: L_D = mean relu(1 - r) + mean relu(1 + f), L_G = -mean f."""
    r, f = LOGITS_R, LOGITS_F
    for kind in ("wgan", "wgan-gp"):
        assert torch.allclose(discriminator_loss(kind, r, f), f.mean() - r.mean())
        assert torch.allclose(generator_loss(kind, f), -f.mean())
    assert torch.allclose(discriminator_loss("lsgan", r, f),
                          0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean())
    assert torch.allclose(generator_loss("lsgan", f), 0.5 * ((f - 1) ** 2).mean())
    assert torch.allclose(discriminator_loss("hinge", r, f),
                          torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean())
    assert torch.allclose(generator_loss("hinge", f), -f.mean())


@pytest.mark.parametrize("kind", LOSSES)
def test_engine_d_step_uses_the_loss(kind):
    """The engine's D step reports loss/d = L_D(D(x_real), D(G(z))) (+ lambda * gp for
    wgan-gp) for the z it drew: replaying the global RNG reproduces it."""
    eng = build(loss=kind, ema=0.0, gp_lambda=0.5)
    b = batch(POINTS, n=8, seed=1)
    rng = torch.get_rng_state()
    out = eng.train_phase(b, "discriminator")
    torch.set_rng_state(rng)
    # redo by hand with the weights from before the step: rebuild the same engine
    ref = build(loss=kind, ema=0.0, gp_lambda=0.5)
    torch.set_rng_state(rng)
    with torch.no_grad():
        fake = ref.G(torch.randn(8, ref.latent_dim))
    xr = ref.to_net(b.x)
    r, f = ref.D(xr), ref.D(fake)
    want = discriminator_loss(kind, r, f)
    if kind == "wgan-gp":
        gp, _ = ref.penalty(xr, fake)
        want = want + 0.5 * gp
    assert torch.allclose(out["loss/d"], want.detach(), atol=1e-5)
    expect = torch.sigmoid(r).mean() if kind in ("minimax", "nonsaturating") else r.mean()
    assert torch.allclose(out["gan/d_real"], expect.detach(), atol=1e-6)


# ------------------------------------------------------------------------------- WGAN-GP

def _toy_critic():
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Flatten(1), torch.nn.Linear(12, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 1))


def test_gradient_penalty_is_per_sample():
    """penalty = mean_i (||grad_{xhat_i} D(xhat_i)||_2 - 1)^2, xhat_i = eps_i x_i + (1-eps_i) f_i,
    the norm per sample over all non-batch dims (here (3, 2, 2)): equals a brute-force loop
    over samples, and differs from (||grad over the whole batch||_2 - 1)^2."""
    net = _toy_critic()
    critic = lambda v: net(v).squeeze(1)  # noqa: E731
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6, 3, 2, 2, generator=g), torch.randn(6, 3, 2, 2, generator=g)
    eps = torch.rand(6, generator=g)
    pen, norms = gradient_penalty(critic, real, fake, eps)
    brute = []
    for i in range(6):
        xi = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (gi,) = torch.autograd.grad(critic(xi).sum(), xi)
        brute.append(gi.flatten().norm())
    brute = torch.stack(brute)
    assert torch.allclose(norms, brute, atol=1e-5)
    assert torch.allclose(pen, ((brute - 1) ** 2).mean(), atol=1e-5)
    whole = torch.sqrt((brute ** 2).sum())           # one norm over the whole batch
    assert abs(float(pen.detach()) - float((whole - 1) ** 2)) > 1e-2
    assert pen.requires_grad                          # create_graph: it trains D
    (dp,) = torch.autograd.grad(pen, net[1].weight)
    assert dp.abs().sum() > 0


def test_gradient_penalty_with_packs_takes_one_norm_per_d_input():
    """With pack m the critic sees (B/m) inputs; the norm runs over each input's m samples:
    norms_j = sqrt(sum_{i in pack j} ||grad_i||^2)."""
    eng = build(loss="wgan-gp", pack=2, ema=0.0)
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    eps = torch.rand(6, generator=g)
    _, norms = eng.penalty(real, fake, eps=eps)
    xhat = (eps[:, None] * real + (1 - eps[:, None]) * fake).requires_grad_(True)
    (gr,) = torch.autograd.grad(eng.D(xhat).sum(), xhat)
    want = gr.pow(2).sum(1).view(3, 2).sum(1).sqrt()
    assert norms.shape == (3,)
    assert torch.allclose(norms, want, atol=1e-5)


# ------------------------------------------------------------------------------- WGAN

def test_weight_clipping_keeps_every_critic_weight_in_range():
    """wgan: after each critic step every D parameter p satisfies -c <= p <= c, and a big
    learning rate pushes some of them onto the bounds."""
    c = 0.01
    eng = build(loss="wgan", clip=c, n_critic=3, ema=0.0,
                optim=OptimConfig(name="rmsprop", lr=0.05))
    for i in range(2):
        eng.train_step(batch(n=8 * eng.batches_for_next_step(), seed=i))
        flat = torch.cat([p.detach().flatten() for p in eng.D.parameters()])
        assert flat.abs().max() <= c + 1e-7
        assert (flat.abs() >= c - 1e-7).any()
    out = eng.train_phase(batch(seed=5), "discriminator")
    assert torch.cat([p.detach().flatten() for p in eng.D.parameters()]).abs().max() <= c + 1e-7
    assert "gan/wasserstein" in out


def test_wgan_warmup_schedule():
    """K(g) = 100 if g < 25 or g % 500 == 0 else n_critic, g = generator steps taken so far
    (Arjovsky et al.'s main.py); the engine's counter is saved with the weights."""
    ks = [warmup_critic_steps(g, 5) for g in range(1102)]
    assert ks[:25] == [100] * 25
    assert all(ks[g] == 5 for g in range(25, 500))
    assert ks[500] == ks[1000] == 100 and ks[501] == ks[999] == ks[1001] == 5
    eng = build(loss="wgan", wgan_warmup=True, n_critic=5, ema=0.0)
    assert eng.batches_for_next_step() == 100
    eng.train_step(batch(n=2 * 100, seed=0))       # 100 critic chunks of 2, one G step
    assert int(eng.g_steps) == 1
    state = eng.state_dict()
    for g, want in ((24, 100), (25, 5), (499, 5), (500, 100)):
        state["extra.g_steps"] = torch.tensor(g)
        eng.load_state_dict(state)
        assert eng.batches_for_next_step() == want
    plain = build(loss="wgan", wgan_warmup=False, n_critic=5)
    assert plain.batches_for_next_step() == 5
    nsgan = build(loss="nonsaturating", wgan_warmup=True, n_critic=2)
    assert nsgan.batches_for_next_step() == 2      # the schedule is WGAN's only


def test_n_critic_splits_the_batch_into_d_steps():
    """A step on a Batch of K * b samples takes K D steps (one per chunk, in order) then one
    G step: the D optimizer's step count grows by K, G's by 1."""
    eng = build(n_critic=3, ema=0.0)
    eng.train_step(batch(n=24))
    d_state = eng.opt_d.state[next(iter(eng.D.parameters()))]
    g_state = eng.opt_g.state[next(iter(eng.G.parameters()))]
    assert int(d_state["step"]) == 3 and int(g_state["step"]) == 1


# ------------------------------------------------------------------------------- unrolling

def _adam_state(opt):
    return copy.deepcopy(opt.state_dict())


def _assert_state_equal(a, b):
    for k in a["state"]:
        for name, v in a["state"][k].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(b["state"][k][name])), name


def test_unrolled_step_leaves_the_real_discriminator_alone():
    """During the unrolled G step D's parameters, buffers and optimizer state stay exactly as
    they were (the K differentiable steps act on copies); G's weights move."""
    eng = build(unroll_steps=3, ema=0.0, spectral_norm=True, minibatch_disc=4)
    eng.train_phase(batch(seed=0), "discriminator")    # so Adam has moments
    d_before = {k: v.clone() for k, v in eng.D.state_dict().items()}
    opt_before = _adam_state(eng.opt_d)
    g_before = params_of(eng.G)
    eng.opt_d.zero_grad(set_to_none=True)
    eng.train_phase(batch(seed=1), "generator")
    for k, v in eng.D.state_dict().items():
        assert torch.equal(v, d_before[k]), k
    _assert_state_equal(opt_before, eng.opt_d.state_dict())
    assert all(p.grad is None for p in eng.D.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(g_before, params_of(eng.G)))


def _g_grads(eng, x_real, z, detach_unroll=False):
    if detach_unroll:      # unrolled D computed from detached fakes: no second-order path
        fake = eng.G(z)
        params, buffers = eng.unrolled_discriminator(x_real, None, fake.detach(), None)
        out = torch.func.functional_call(eng.D, (params, buffers), (fake, None))
        loss = generator_loss(eng.kind, out)
    else:
        loss = eng.generator_objective(x_real, None, z)
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(eng.G.parameters()))])


def test_unrolled_generator_gradient_flows_through_the_unrolled_steps():
    """L_G = L_G(D_K), D_{k+1} = D_k - lr * Adam(grad L_D(D_k)) with create_graph: with lr = 0
    the unrolled D is D and the gradient equals the plain one; with lr > 0 it differs, and it
    also differs from the gradient with the unrolled D detached from G (second-order term)."""
    spec = DataSpec("points", dim=2, point_mean=(0.5, -1.0), point_std=(1.5, 0.7))
    un = build(spec, unroll_steps=5, ema=0.0, g_norm="none", optim=OptimConfig(lr=0.05))
    plain = build(spec, unroll_steps=0, ema=0.0, g_norm="none", optim=OptimConfig(lr=0.05))
    un.train_phase(batch(spec, seed=0), "discriminator")
    plain.load_state_dict(un.state_dict())
    plain.load_optim_state_dict(un.optim_state_dict())
    xr = un.to_net(batch(spec, seed=2).x)
    z = torch.randn(8, un.latent_dim, generator=torch.Generator().manual_seed(4))
    g_plain = _g_grads(plain, xr, z)
    g_unrolled = _g_grads(un, xr, z)
    g_detached = _g_grads(un, xr, z, detach_unroll=True)
    assert (g_unrolled - g_plain).abs().max() > 1e-4 * g_plain.abs().max()
    assert (g_unrolled - g_detached).abs().max() > 1e-4 * g_plain.abs().max()
    un.set_lr(0.0)
    assert torch.allclose(_g_grads(un, xr, z), g_plain, atol=1e-6)


def test_unrolled_sgd_matches_a_hand_unrolled_step():
    """With SGD the unrolled D after one step is p - lr * grad_p L_D(p), exactly."""
    spec = DataSpec("points", dim=2)
    eng = build(spec, unroll_steps=1, ema=0.0, optim=OptimConfig(name="sgd", lr=0.1, beta1=0.0))
    xr = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    fake = torch.randn(8, 2, generator=torch.Generator().manual_seed(1))
    params, _ = eng.unrolled_discriminator(xr, None, fake, None)
    loss = discriminator_loss(eng.kind, eng.D(xr), eng.D(fake))
    grads = torch.autograd.grad(loss, list(eng.D.parameters()))
    for (name, p), g in zip(eng.D.named_parameters(), grads):
        assert torch.allclose(params[name], p - 0.1 * g, atol=1e-6), name


# ------------------------------------------------------------------------------- minibatch disc.

def test_minibatch_discrimination_features():
    """o(x_i)_b = sum_j exp(-||M_{i,b} - M_{j,b}||_1), M_i = f(x_i) T, j = i included:
    n identical samples give o_b = n for every kernel b; a diverse batch gives values in
    [1, n) that differ between samples; a brute-force loop agrees, and the cdist path
    equals the double-backward path."""
    torch.manual_seed(0)
    mbd = MinibatchDiscrimination(in_features=6, kernels=4, dim=3)
    same = torch.randn(1, 6).expand(5, 6).contiguous()
    o_same = mbd(same)
    assert o_same.shape == (5, 4)
    assert torch.allclose(o_same, torch.full((5, 4), 5.0))
    diverse = torch.randn(5, 6) * 3
    o = mbd(diverse)
    assert (o < 5).all() and (o >= 1 - 1e-6).all()
    assert not torch.allclose(o[0], o[1])
    m = (diverse @ mbd.T).view(5, 4, 3)
    brute = torch.zeros(5, 4)
    for i in range(5):
        for b in range(4):
            brute[i, b] = sum(torch.exp(-(m[i, b] - m[j, b]).abs().sum()) for j in range(5))
    assert torch.allclose(o, brute, atol=1e-5)
    assert torch.allclose(mbd(diverse, double_backward=True), o, atol=1e-5)
    assert torch.equal(mbd(diverse, isolated=True), torch.ones(5, 4))


def test_minibatch_discrimination_lets_d_tell_collapse_apart():
    """D with minibatch discrimination gives a batch of identical samples a different score
    than the same sample inside a diverse batch (without it the score is per sample)."""
    torch.manual_seed(0)
    with_mbd = Discriminator((2,), conv=False, hidden=8, depth=1, mbd_kernels=8, mbd_dim=3)
    without = Discriminator((2,), conv=False, hidden=8, depth=1)
    x0 = torch.tensor([[0.3, -0.2]])
    same = x0.expand(6, 2)
    diverse = torch.cat([x0, torch.randn(5, 2) * 2])
    assert not torch.allclose(with_mbd(same)[0], with_mbd(diverse)[0])
    assert torch.allclose(without(same)[0], without(diverse)[0])


# ------------------------------------------------------------------------------- packing

def test_packing_concatenates_m_samples_per_d_input():
    """PacGAN: (B, d) -> (B/m, m d), pack j = [x_jm, ..., x_jm+m-1]; images along channels
    (B, C, H, W) -> (B/m, m C, H, W). Only D's input layer grows (m times wider)."""
    x = torch.arange(12.0).view(6, 2)
    p = pack_samples(x, 3)
    assert p.shape == (2, 6)
    assert torch.equal(p[1], torch.cat([x[3], x[4], x[5]]))
    img = torch.randn(4, 3, 5, 5)
    pi = pack_samples(img, 2)
    assert pi.shape == (2, 6, 5, 5)
    assert torch.equal(pi[1, 3:], img[3]) and torch.equal(pi[0, :3], img[0])
    d1 = Discriminator((2,), conv=False, hidden=8, depth=2)
    d3 = Discriminator((2,), conv=False, hidden=8, depth=2, pack=3)
    assert d1.body[0].in_features == 2 and d3.body[0].in_features == 6
    assert [tuple(a.shape) for a in d1.parameters()][2:] == \
        [tuple(a.shape) for a in d3.parameters()][2:]
    assert d3(torch.randn(6, 2)).shape == (2,)
    c3 = Discriminator((1, 8, 8), conv=True, channels=4, pack=3)
    assert c3.body[0].in_channels == 3 and c3(torch.randn(6, 1, 8, 8)).shape == (2,)
    with pytest.raises(ValueError, match="multiple of 3"):
        pack_samples(torch.randn(7, 2), 3)
    eng = build(pack=3)
    with pytest.raises(ValueError, match="multiple of 3"):
        eng.train_step(batch(n=8))


# ------------------------------------------------------------------------------- networks

@pytest.mark.parametrize("hw", [(28, 28), (32, 32), (8, 8), (12, 12), (13, 11), (1, 1)])
def test_dcgan_nets_fit_any_image_size(hw):
    """G: z -> (C, H, W) exactly (kernel 4 where the target side is even, 3 where odd),
    values in (-1, 1) (tanh); D: one output per image."""
    h, w = hw
    g = ConvGenerator(5, (3, h, w), channels=4)
    out = g(torch.randn(4, 5))
    assert out.shape == (4, 3, h, w) and out.abs().max() < 1
    d = Discriminator((3, h, w), conv=True, channels=4, norm="batch", mbd_kernels=3)
    assert d(out).shape == (4,)


def test_mnist_sizes_engine_end_to_end():
    """The conv engine on 28x28 and 32x32 RGB: one train step, samples in [0, 1]."""
    for spec in (DataSpec("images", channels=1, height=28, width=28),
                 DataSpec("images", channels=3, height=32, width=32)):
        eng = build(spec, channels=4, latent_dim=8)
        out = eng.train_step(batch(spec, n=4))
        assert torch.isfinite(out["loss/total"])
        s = eng.sample(3, generator=torch.Generator().manual_seed(0))
        assert s.shape == (3, *spec.sample_shape) and 0 <= s.min() and s.max() <= 1


# ------------------------------------------------------------------------------- conditioning

def test_conditional_engine():
    """conditional: capability "conditional"; sample(n) uses labels arange(n) % K; the D loss
    is L_real(x, y) + (L_fake(G(z, y), y) + L_fake(x, y')) / 2 with y' != y (GAN-CLS)."""
    eng = build(GRAY, conditional=True, ema=0.0)
    assert "conditional" in eng.capabilities and "critic" in eng.capabilities
    assert "conditional" not in build(GRAY).capabilities
    assert torch.equal(eng.default_labels(7), torch.tensor([0, 1, 2, 0, 1, 2, 0]))
    z = eng.noise(6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(eng.sample(6, z=z), eng.sample(6, z=z, labels=torch.arange(6) % 3))
    assert not torch.equal(eng.sample(6, z=z), eng.sample(6, z=z, labels=torch.zeros(6)))
    b = batch(GRAY, n=6, seed=3)
    rng = torch.get_rng_state()
    out = eng.train_phase(b, "discriminator")
    ref = build(GRAY, conditional=True, ema=0.0)
    torch.set_rng_state(rng)
    with torch.no_grad():
        fake = ref.G(torch.randn(6, ref.latent_dim), b.y)
    y_wrong = (b.y + torch.randint(1, 3, b.y.shape)) % 3
    assert (y_wrong != b.y).all()
    xr = ref.to_net(b.x)
    r, f, w = ref.D(xr, b.y), ref.D(fake, b.y), ref.D(xr, y_wrong)
    want = F.softplus(-r).mean() + 0.5 * (F.softplus(f).mean() + F.softplus(w).mean())
    assert torch.allclose(out["loss/d"], want.detach(), atol=1e-5)
    assert "gan/d_wrong" in out
    with pytest.raises(ValueError, match="labels"):
        eng.train_step(Batch(b.x, None))


# ------------------------------------------------------------------------------- fields

def test_generator_field_is_minus_the_gradient_in_data_coordinates():
    """push_i = -d(sum_j L_G(D(to_net(x_j))))/dx_i in DATA coordinates, x_i = sample(z)_i;
    checked against autograd through the standardisation t = (x - mean) / std."""
    spec = DataSpec("points", dim=2, point_mean=(0.5, -1.0), point_std=(1.5, 0.7))
    eng = build(spec)
    eng.train_step(batch(spec))
    eng.opt_d.zero_grad(set_to_none=True)
    z = eng.noise(5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        at, push = eng.generator_field(z)
    assert all(p.grad is None for p in eng.D.parameters())
    assert torch.allclose(at, eng.sample(5, z=z))
    x = at.clone().requires_grad_(True)
    eng.D.eval()
    loss = generator_loss(eng.kind, eng.D(eng.to_net(x)), reduce=False).sum()
    (gx,) = torch.autograd.grad(loss, x)
    eng.D.train()
    assert torch.allclose(push, -gx, atol=1e-6)


def test_critic_field_values_and_packing():
    """critic_field = sigma(D(x)) for logit losses (in (0, 1)), raw D(x) for wgan; with pack m
    each point is judged packed with m - 1 copies of itself: D([x, x, ..., x])."""
    spec = DataSpec("points", dim=2, point_mean=(0.5, -1.0), point_std=(1.5, 0.7))
    pts = torch.randn(7, 2)
    eng = build(spec, pack=3)
    v = eng.critic_field(pts)
    assert v.shape == (7,) and ((v > 0) & (v < 1)).all()
    with torch.no_grad():
        t = eng.to_net(pts)
        want = torch.sigmoid(eng.D.head(eng.D.body(torch.cat([t, t, t], 1)))).squeeze(1)
    assert torch.allclose(v, want, atol=1e-6)
    w = build(spec, loss="wgan")
    with torch.no_grad():
        assert torch.allclose(w.critic_field(pts), w.D(w.to_net(pts)), atol=1e-6)
    assert w.critic_label != eng.critic_label
    cond = build(POINTS, conditional=True)
    per = torch.stack([cond.critic_field(pts, labels=k) for k in range(4)])
    assert torch.allclose(cond.critic_field(pts), per.mean(0), atol=1e-6)
    imgs = build(GRAY)
    assert imgs.critic_field(torch.rand(3, 1, 8, 8)).shape == (3,)


# ------------------------------------------------------------------------------- lr, EMA, resume

def test_set_lr_keeps_the_generator_ratio():
    """lr_G = lr * g_lr_mult, lr_D = lr, before and after set_lr."""
    eng = build(g_lr_mult=10.0)
    assert eng.opt_g.param_groups[0]["lr"] == pytest.approx(1e-2)
    eng.set_lr(2e-4)
    assert eng.opt_d.param_groups[0]["lr"] == pytest.approx(2e-4)
    assert eng.opt_g.param_groups[0]["lr"] == pytest.approx(2e-3)


def test_ema_generator_is_used_for_sampling():
    """ema > 0: sample() uses the EMA copy, ema <- d ema + (1 - d) theta with
    d = min(ema, (1 + n) / (10 + n)); its weights are in the state dict."""
    eng = build(ema=0.9)
    before = params_of(eng.ema_G)
    eng.train_step(batch())
    d = min(0.9, 2 / 11)
    live = params_of(eng.G)
    for e0, e1, p in zip(before, params_of(eng.ema_G), live):
        assert torch.allclose(e1, d * e0 + (1 - d) * p, atol=1e-6)
    assert any(k.startswith("extra.ema.") for k in eng.state_dict())
    z = eng.noise(4, generator=torch.Generator().manual_seed(0))
    eng.ema_G.eval()
    with torch.no_grad():
        assert torch.allclose(eng.sample(4, z=z), eng.to_data(eng.ema_G(z)))


def _save_point(eng):
    """Weights, optimizer state and the global RNG: what a checkpoint restores."""
    return ({k: v.clone() for k, v in eng.state_dict().items()}, copy.deepcopy(eng.optim_state_dict()),
            torch.get_rng_state())


def _resumed(saved, batches, **kw):
    """A fresh engine (another seed) loaded from `saved`, trained on `batches`."""
    fresh = build(seed=99, **kw)
    fresh.load_state_dict(saved[0])
    fresh.load_optim_state_dict(saved[1])
    torch.set_rng_state(saved[2])
    for b in batches:
        fresh.train_step(b)
    return fresh


def _train_and_resume(eng, batches, **kw):
    """Train `eng` on `batches`, saving after the first half; return a fresh engine (built
    with `kw`) resumed from that save and trained on the second half."""
    half = len(batches) // 2
    for b in batches[:half]:
        eng.train_step(b)
    saved = _save_point(eng)
    for b in batches[half:]:
        eng.train_step(b)
    return _resumed(saved, batches[half:], **kw)


def _assert_same_state(a, b):
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


def test_deterministic_and_resume_is_exact():
    """Same seed, same batches -> identical weights. Train 2 steps, save weights + optimizer
    state + global RNG, train 2 more; a fresh engine that loads the save and trains the same
    2 steps ends bit-identical (EMA, step counters and BatchNorm statistics included)."""
    kw = dict(pack=2, minibatch_disc=3, n_critic=2, ema=0.9)
    batches = [batch(n=16, seed=i) for i in range(4)]
    a = build(seed=5, **kw)
    fresh = _train_and_resume(a, batches, **kw)
    c = build(seed=5, **kw)
    for b in batches:
        c.train_step(b)
    _assert_same_state(a, c)
    _assert_same_state(a, fresh)


def test_spectral_norm_and_bad_configs():
    """spectral_norm parametrises D's weights; invalid combinations fail with a clear error."""
    eng = build(spectral_norm=True)
    assert any("parametrizations" in k for k in eng.D.state_dict())
    eng.train_step(batch())
    with pytest.raises(ValueError, match="wgan-gp"):
        build(loss="wgan-gp", d_norm="batch")
    with pytest.raises(ValueError, match="loss"):
        build(loss="nope")
    assert dataclasses.is_dataclass(GANConfig)


def test_lr_decay_schedule_is_linear_in_generator_steps_and_resumes():
    """lr_decay f, decay_steps T: before the step after n generator steps both rates are
    lr * (1 - (1 - f) * min(n, T) / T) (G's times g_lr_mult): linear from 1x to f x over T
    steps, then f x. The count is the saved g_steps, so a resumed engine continues the
    schedule; lr_decay = 1 (the default) never touches the rates; set_lr changes the base."""
    from engines.gan.schedule import lr_factor
    assert lr_factor(0, 0.1, 4) == 1.0
    assert lr_factor(2, 0.1, 4) == pytest.approx(0.55)
    assert lr_factor(4, 0.1, 4) == pytest.approx(0.1)
    assert lr_factor(40, 0.1, 4) == pytest.approx(0.1)
    assert lr_factor(3, 1.0, 4) == 1.0
    eng = build(lr_decay=0.1, decay_steps=4, g_lr_mult=2.0)
    seen = []
    for i in range(6):
        eng.train_step(batch(seed=i))
        seen.append((eng.opt_d.param_groups[0]["lr"], eng.opt_g.param_groups[0]["lr"]))
    for n, (d, g) in enumerate(seen):     # the rates used by step n + 1 (after n G steps)
        f = 1.0 - 0.9 * min(n, 4) / 4
        assert d == pytest.approx(1e-3 * f) and g == pytest.approx(2e-3 * f)
    fresh = build(seed=7, lr_decay=0.1, decay_steps=4, g_lr_mult=2.0)
    fresh.load_state_dict({k: v.clone() for k, v in eng.state_dict().items()})
    fresh.train_step(batch(seed=9))          # g_steps 6 >= T: the floor
    assert fresh.opt_d.param_groups[0]["lr"] == pytest.approx(1e-4)
    fresh.set_lr(2e-3)
    assert fresh.opt_d.param_groups[0]["lr"] == pytest.approx(2e-4)
    assert fresh.opt_g.param_groups[0]["lr"] == pytest.approx(4e-4)
    off = build()
    for i in range(3):
        off.train_step(batch(seed=i))
    assert off.opt_d.param_groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match="lr_decay"):
        build(lr_decay=1.5)


def test_fourier_features_and_input_scale_feed_d():
    """d_fourier N: D's input per sample is [t, sin(2 pi t B^T), cos(2 pi t B^T)] with the
    saved buffer B (N, d); d_input_scale c: D(t) is the plain D of c t. Defaults: no hooks."""
    eng = build(d_fourier=5, d_fourier_scale=2.0)
    B = eng.D.fourier_B
    assert B.shape == (5, 2) and "fourier_B" in eng.D.state_dict()
    t = torch.randn(6, 2)
    a = 2 * torch.pi * t @ B.t()
    feats = torch.cat([t, a.sin(), a.cos()], 1)
    plain = copy.deepcopy(eng.D)
    plain._forward_pre_hooks.clear()
    with torch.no_grad():
        assert torch.allclose(eng.D(t), plain(feats), atol=1e-6)
    eng.train_step(batch())
    sc = build(d_input_scale=3.0)
    plain = copy.deepcopy(sc.D)
    plain._forward_pre_hooks.clear()
    with torch.no_grad():
        assert torch.allclose(sc.D(t), plain(3.0 * t), atol=1e-6)
    assert len(build().D._forward_pre_hooks) == 0


def test_instance_noise_falls_linearly_to_zero():
    """instance_noise s0, noise_steps T: std s0 * (1 - min(n, T) / T) after n G steps; 0 off."""
    eng = build(instance_noise=0.4, noise_steps=4)
    stds = []
    for i in range(5):
        stds.append(eng.noise_std())
        eng.train_step(batch(seed=i))
    assert stds == pytest.approx([0.4, 0.3, 0.2, 0.1, 0.0])
    assert build().noise_std() == 0.0


# ----------------------------------------------------------------- DeLiGAN mixture latent

def test_latent_mixture_draws_z_from_the_mixture():
    """latent_mixture N (DeLiGAN): code (eps, u) of size d + 1 -> z = mu_i + sigma_i * eps with
    i = min(floor(N Phi(u)), N - 1), uniform on 0..N-1; mu starts in [-1, 1), sigma at s0.
    Per component the drawn z have mean mu_i and std |sigma_i| (per dimension)."""
    from engines.gan.latent import MixtureLatent
    eng = build(latent_mixture=4, latent_mixture_sigma=0.3)
    assert eng.noise_shape == (3,) and build().noise_shape == (2,)
    mix = eng.G.latent
    assert isinstance(mix, MixtureLatent) and mix.mu.shape == (4, 2)
    assert mix.mu.abs().max() <= 1 and torch.equal(mix.sigma, torch.full((4, 2), 0.3))
    with torch.no_grad():
        mix.sigma.copy_(torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]]))
        code = eng.noise(20000, generator=torch.Generator().manual_seed(1))
        i = mix.component(code[:, 2])
        assert torch.equal(i, (torch.special.ndtr(code[:, 2]) * 4).long().clamp(0, 3))
        z = mix(code)
        assert torch.allclose(z, mix.mu[i] + mix.sigma[i] * code[:, :2])
        counts = torch.bincount(i, minlength=4).float() / len(i)
        assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.01)
        for k in range(4):
            zk = z[i == k]
            assert torch.allclose(zk.mean(0), mix.mu[k], atol=0.03)
            assert torch.allclose(zk.std(0), mix.sigma[k], rtol=0.05)


def test_latent_mixture_is_trained_and_regularised():
    """G's loss gains lambda * mean_{i,k} (1 - sigma_ik)^2; the adversarial gradient reaches mu
    and sigma through z = mu_i + sigma_i * eps, and a train step moves both."""
    eng = build(latent_mixture=3, latent_mixture_reg=0.5)
    mix = eng.G.latent
    with torch.no_grad():
        mix.sigma.copy_(torch.tensor([[0.2, 1.0], [1.5, 0.5], [0.0, 2.0]]))
    expected = 0.5 * ((1 - 0.2) ** 2 + 0 + 0.5 ** 2 + 0.5 ** 2 + 1 + 1) / 6
    assert float(0.5 * mix.regulariser().detach()) == pytest.approx(expected)
    xr = eng.to_net(batch().x)
    z = eng.noise(8, generator=torch.Generator().manual_seed(0))
    eng.G.train()
    state = torch.get_rng_state()
    with_reg = eng.generator_objective(xr, None, z)
    eng.config.latent_mixture_reg = 0.0
    torch.set_rng_state(state)
    without = eng.generator_objective(xr, None, z)
    assert float((with_reg - without).detach()) == pytest.approx(expected, rel=1e-5)
    gmu, gsig = torch.autograd.grad(without, [mix.mu, mix.sigma])
    used = mix.component(z[:, 2]).unique()
    assert gmu[used].abs().sum() > 0 and gsig[used].abs().sum() > 0
    eng.config.latent_mixture_reg = 0.5
    mu0, sig0 = mix.mu.detach().clone(), mix.sigma.detach().clone()
    out = eng.train_step(batch(n=16))
    assert not torch.equal(mu0, mix.mu) and not torch.equal(sig0, mix.sigma)
    assert "gan/latent_sigma" in out
    with pytest.raises(ValueError, match="latent_mixture"):
        build(latent_mixture_sigma=0.0)


def test_latent_mixture_sampling_fields_and_resume():
    """With latent_mixture, sample(z=code) is the EMA generator's net at mu_i + sigma_i * eps
    (the EMA copy holds its own mu, sigma); generator_features / generator_field / critic_field /
    evaluate take the same codes; resume is bit-exact (mu, sigma, their Adam moments, EMA)."""
    kw = dict(latent_mixture=5, ema=0.9, pack=2)
    batches = [batch(n=16, seed=i) for i in range(4)]
    a = build(seed=3, **kw)
    fresh = _train_and_resume(a, batches, **kw)
    keys = a.state_dict().keys()
    assert any("latent.mu" in k for k in keys) and any("ema.latent.sigma" in k for k in keys)
    _assert_same_state(a, fresh)
    code = a.noise(6, generator=torch.Generator().manual_seed(2))
    g = a.ema_G.eval()
    with torch.no_grad():
        zmix = g.latent.mu[g.latent.component(code[:, 2])] + \
            g.latent.sigma[g.latent.component(code[:, 2])] * code[:, :2]
        x = a.sample(6, z=code)
        assert torch.allclose(x, a.to_data(g.net(zmix)), atol=1e-6)
        assert torch.allclose(x, a.sample(6, z=code))
        assert a.generator_features(code).shape == (6, SMALL["g_hidden"])
        assert a.critic_field(torch.randn(5, 2)).shape == (5,)
    xf, push = a.generator_field(code)
    assert torch.allclose(xf, x, atol=1e-6) and push.shape == (6, 2)
    assert set(a.evaluate([batch(n=8)])) == {"gan/d_real_test", "gan/d_fake_test"}


def test_learned_mixture_weights_pick_components_with_probability_pi():
    """latent_mixture_weights: pi = softmax(logits), starting uniform; the component of a
    code is the i with C_(i-1) <= Phi(u) < C_i (C the cumulative weights), so P(i) = pi_i and
    z = mu_i + sigma_i * eps as before."""
    eng = build(latent_mixture=4, latent_mixture_weights=True)
    mix = eng.G.latent
    assert torch.equal(mix.logits, torch.zeros(4))
    assert torch.allclose(mix.weights(), torch.full((4,), 0.25))
    pi = torch.tensor([0.1, 0.2, 0.3, 0.4])
    with torch.no_grad():
        mix.logits.copy_(pi.log())
        code = eng.noise(40000, generator=torch.Generator().manual_seed(4))
        i = mix.component(code[:, 2])
        freq = torch.bincount(i, minlength=4).float() / len(i)
        assert torch.allclose(freq, pi, atol=0.008)
        c = torch.special.ndtr(code[:, 2])
        cdf = torch.cumsum(pi, 0)
        lower = torch.cat([torch.zeros(1), cdf])[i]
        assert bool(((lower <= c + 1e-6) & (c < cdf[i] + 1e-6)).all())
        assert torch.allclose(mix(code), mix.mu[i] + mix.sigma[i] * code[:, :2])
    assert build(latent_mixture=4).G.latent.logits is None


def test_mixture_weight_surrogate_is_an_unbiased_score_function_gradient():
    """The term added to L_G for the weights, mean_j (l_j - b)(log pi_(i_j) - stop(log pi_(i_j))),
    has value 0, moves nothing but the logits, and its gradient estimates
    d/d logits E_{i ~ pi}[l_i] = pi_i (c_i - sum_k pi_k c_k) when the loss of a component-i
    sample is c_i (REINFORCE with a baseline; here with 200,000 codes)."""
    eng = build(latent_mixture=3, latent_mixture_weights=True)
    mix = eng.G.latent
    with torch.no_grad():
        mix.logits.copy_(torch.tensor([0.5, -0.2, 0.1]))
    c = torch.tensor([1.0, 3.0, -2.0])
    z = eng.noise(200_000, generator=torch.Generator().manual_seed(5))
    per = c[mix.component(z[:, 2])]
    term = eng.mixture_weight_surrogate(per, z)
    assert float(term.detach()) == 0.0
    others = [p for n, p in eng.G.named_parameters() if not n.endswith("logits")]
    assert all(g is None for g in torch.autograd.grad(term, others, allow_unused=True,
                                                      retain_graph=True))
    (grad,) = torch.autograd.grad(term, [mix.logits])
    pi = mix.weights().detach()
    exact = pi * (c - (pi * c).sum())
    assert torch.allclose(grad, exact, atol=0.01), (grad, exact)


def test_learned_mixture_weights_train_resume_and_sample():
    """A train step moves the logits (the score-function term reaches them through G's
    optimizer, in their own group at latent_mixture_weights_lr times G's rate); the weights are in the EMA copy and the checkpoint, resume is bit-exact, and
    sample(z=code) uses the EMA copy's weights to pick the component."""
    kw = dict(latent_mixture=4, latent_mixture_weights=True, latent_mixture_weights_lr=5.0,
              ema=0.9, pack=2)
    a = build(seed=1, **kw)
    out = a.train_step(batch(n=16))
    assert not torch.equal(a.G.latent.logits, torch.zeros(4))
    assert 0.0 < float(out["gan/latent_weights_perplexity"]) <= 1.0
    lrs = [g["lr"] for g in a.opt_g.param_groups]
    assert lrs == pytest.approx([1e-3, 1e-3 * 5])     # build's lr; latent_mixture_weights_lr 5
    a.set_lr(2e-3)
    assert [g["lr"] for g in a.opt_g.param_groups] == pytest.approx([2e-3, 2e-3 * 5])
    fresh = _train_and_resume(a, [batch(n=16, seed=i) for i in range(4)], **kw)
    assert any(k.endswith("ema.latent.logits") for k in a.state_dict())
    _assert_same_state(a, fresh)
    g = a.ema_G.eval()
    code = a.noise(6, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        i = g.latent.component(code[:, 2])
        x = a.sample(6, z=code)
        assert torch.allclose(x, a.to_data(g.net(g.latent.mu[i] + g.latent.sigma[i] * code[:, :2])),
                              atol=1e-6)


def test_learned_mixture_weights_keep_their_rate_through_the_lr_decay():
    """lr_decay scales G's and D's rates; the weights' logits keep lr * g_lr_mult *
    latent_mixture_weights_lr, so they can still even out the modes' shares late in a run."""
    eng = build(latent_mixture=4, latent_mixture_weights=True, latent_mixture_weights_lr=3.0,
                lr_decay=0.5, decay_steps=1, g_lr_mult=2.0)
    eng.train_step(batch(n=16))
    eng.train_step(batch(n=16, seed=1))
    assert [g["lr"] for g in eng.opt_g.param_groups] == pytest.approx([1e-3 * 2 * 0.5, 1e-3 * 2 * 3])
    assert [g["lr"] for g in eng.opt_d.param_groups] == pytest.approx([1e-3 * 0.5])


def test_reuse_fake_is_the_g_step_on_the_last_d_steps_codes():
    """reuse_fake: the G step takes (z, G(z)) from the last D step instead of new codes. G
    runs once per step instead of twice (n_critic 1), and the weights after a step equal those
    of a copy that does the D step, then the G step with G(z) recomputed on those same codes
    (G is unchanged in between, so the reused forward pass is exact)."""
    kw = dict(reuse_fake=True, pack=2, ema=0.9, instance_noise=0.1, noise_steps=10,
              latent_mixture=3, latent_mixture_weights=True)
    eng = build(**kw)
    ref = copy.deepcopy(eng)
    calls = []
    eng.G.register_forward_hook(lambda m, args, out: calls.append(args[0]))
    x = batch(n=16)
    torch.manual_seed(7)
    eng.train_step(x)
    assert len(calls) == 1
    torch.manual_seed(7)
    ref._d_step(x.x, x.y)
    z = calls[0]
    ref._g_step(x.x, x.y, (z, ref.G(z, None)))
    for (name, p), q in zip(eng.G.named_parameters(), ref.G.parameters()):
        assert torch.allclose(p, q, atol=1e-6), name
    for p, q in zip(eng.D.parameters(), ref.D.parameters()):
        assert torch.equal(p, q)
    plain = build(**{**kw, "reuse_fake": False})
    n = []
    plain.G.register_forward_hook(lambda m, args, out: n.append(1))
    plain.train_step(x)
    assert len(n) == 2
    two = build(**{**kw, "n_critic": 2})
    seen = []
    two.G.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    two._g_step = lambda xx, yy, kept=None: seen.append(("g", kept[0])) or {"loss/g": torch.zeros(())}
    two.train_step(batch(n=32))
    assert len(seen) == 3 and seen[2][0] == "g" and seen[2][1] is seen[1]


# ------------------------------------------------------------ mixture component restarts

class _IdentityNet(torch.nn.Module):
    """G's body replaced by the identity, so a component's samples sit exactly at mu +-
    sigma in network units and the restart's choices can be checked by hand."""

    def forward(self, z, y=None):
        return z


def _restart_setup(learn_weights=True, **kw):
    eng = build(latent_mixture=4, latent_mixture_weights=learn_weights, latent_mixture_sigma=0.01,
                latent_mixture_restart=1, ema=0.9, **kw)
    eng.G.net = _IdentityNet()
    with torch.no_grad():
        # 0 and 1 duplicate each other on cluster A, 2 and 3 cover nothing; cluster B is empty
        for lat in (eng.G.latent, eng.ema_G.latent):
            lat.mu.copy_(torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, -3.0], [-1.0, 1.0]]))
            lat.sigma.fill_(0.01)
            if lat.logits is not None:
                lat.logits.copy_(torch.tensor([0.3, -0.9, 0.1, 0.2]))
    g = torch.Generator().manual_seed(3)
    a = torch.randn(60, 2, generator=g) * 0.01
    b = torch.randn(60, 2, generator=g) * 0.01 + torch.tensor([2.0, -2.0])
    return eng, a, b


def test_restart_moves_the_lowest_weight_component_to_the_worst_covered_real_point():
    """latent_mixture_restart: x_* = argmax_j min_i ||x_j - G(c_i)|| (a point of the empty
    cluster B, 1.4 from the nearest generated sample, far above 10 x the real nearest-neighbour
    median); the lowest-weight component k = 1 restarts at the candidate mean whose G output
    is nearest x_* (G is the identity here, so mu_1 lands within the candidate grid's
    spacing of x_*), with sigma_1 = latent_mixture_sigma and logit_1 = the mean logit, in G
    and in its EMA copy; every other row is unchanged."""
    eng, a, b = _restart_setup()
    lat = eng.G.latent
    before = {n: t.detach().clone() for n, t in lat.named_parameters()}
    mean_logit = float(lat.logits.detach().mean())
    real = torch.cat([a, b])
    torch.manual_seed(0)
    k = eng.restart_component(real)
    assert k == 1
    assert float((lat.mu[1].detach() - torch.tensor([2.0, -2.0])).norm()) < 0.15
    assert torch.allclose(lat.sigma[1], torch.full((2,), 0.01))
    assert float(lat.logits[1].detach()) == pytest.approx(mean_logit)
    for name, old in before.items():
        new = getattr(lat, name)
        assert torch.equal(new[[0, 2, 3]], old[[0, 2, 3]]), name
        assert torch.equal(getattr(eng.ema_G.latent, name)[1], new[1]), name
    assert int(eng.latent_restarts) == 1


def test_restart_leaves_a_covered_distribution_alone_and_picks_a_duplicate_without_weights():
    """No restart (-1, nothing changes) when no real point is farther from G's samples than
    latent_mixture_restart_gap x the real nearest-neighbour median: with cluster B covered
    (component 2 moved onto it), or with the gap factor set huge. With uniform weights the
    restarted component is the first of the closest pair of G(mu_i): here 0 (0 and 1
    coincide)."""
    eng, a, b = _restart_setup()
    with torch.no_grad():
        for lat in (eng.G.latent, eng.ema_G.latent):
            lat.mu[2] = torch.tensor([2.0, -2.0])
            lat.mu[3] = torch.tensor([0.0, 0.0])
    before = eng.G.latent.mu.detach().clone()
    assert eng.restart_component(torch.cat([a, b])) == -1
    assert torch.equal(eng.G.latent.mu, before) and int(eng.latent_restarts) == 0
    eng, a, b = _restart_setup(latent_mixture_restart_gap=1e5)
    assert eng.restart_component(torch.cat([a, b])) == -1
    eng, a, b = _restart_setup(learn_weights=False)
    assert eng.restart_component(torch.cat([a, b])) == 0
    assert float((eng.G.latent.mu[0].detach() - torch.tensor([2.0, -2.0])).norm()) < 0.15


def test_restart_schedule_metric_resume_and_conditional():
    """Restarts are tried at generator steps n (counted after the step) with start <= n <
    stop and n % latent_mixture_restart == 0; the metric mixture/restarts is the running
    count, saved with the weights (resume is bit-exact). A conditional model restarts too.
    Without latent_mixture the option is refused."""
    kw = dict(latent_mixture=4, latent_mixture_weights=True, latent_mixture_restart=2,
              latent_mixture_restart_start=2, latent_mixture_restart_stop=6, pack=2,
              latent_mixture_restart_gap=0.0, ema=0.9)
    eng = build(**kw)
    seen = []
    real_restart = eng.restart_component
    eng.restart_component = lambda x, y=None: seen.append(eng._g_steps) or real_restart(x, y)
    counts = [float(eng.train_step(batch(n=16, seed=i))["mixture/restarts"]) for i in range(7)]
    assert seen == [2, 4]
    assert counts == [0, 1, 1, 2, 2, 2, 2]       # gap factor 0: every try restarts
    a = build(seed=2, **kw)
    fresh = _train_and_resume(a, [batch(n=16, seed=i) for i in range(6)], **kw)
    assert "extra.latent_restarts" in a.state_dict()
    _assert_same_state(a, fresh)
    cond = build(conditional=True, **kw)
    for i in range(3):
        cond.train_step(batch(n=16, seed=i))
    assert int(cond.latent_restarts) == 1
    with pytest.raises(ValueError, match="latent_mixture > 0"):
        build(latent_mixture_restart=5)


# ------------------------------------------------------------------ MMD term in G's loss

def _mmd2_by_loops(x, y, s):
    k = lambda a, b: float(torch.exp(-((a - b) ** 2).sum() / (2 * s * s)))
    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd2_unbiased_matches_gretton_eq3_by_loops():
    """MMD^2_u = sum_{i!=j} k(x_i,x_j)/(n(n-1)) + sum_{i!=j} k(y_i,y_j)/(m(m-1))
    - 2 sum_{i,j} k(x_i,y_j)/(nm), k(a,b) = exp(-||a-b||^2 / (2 s^2)) over all non-batch
    dimensions (Gretton et al. 2012, eq. 3), for points and for image-shaped samples."""
    g = torch.Generator().manual_seed(0)
    for shape, s in (((2,), 0.7), ((1, 3, 3), 2.0)):
        x = torch.randn(5, *shape, generator=g)
        y = torch.randn(7, *shape, generator=g) + 0.5
        assert float(mmd2_unbiased(x, y, s)) == pytest.approx(
            _mmd2_by_loops(x.flatten(1), y.flatten(1), s), rel=1e-5, abs=1e-7)
    with pytest.raises(ValueError, match="at least 2"):
        mmd2_unbiased(torch.zeros(1, 2), torch.zeros(3, 2), 1.0)


def test_mmd2_unbiased_has_expectation_zero_for_one_distribution():
    """E[MMD^2_u] = 0 when x and y share a distribution (unbiased: the i = j terms are left
    out); the V-statistic with them is biased upwards by about (1/n + 1/m)(1 - E k), which this
    test would catch."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4000, 4, 2, generator=g)
    y = torch.randn(4000, 4, 2, generator=g)
    est = torch.stack([mmd2_unbiased(a, b, 1.0) for a, b in zip(x, y)])
    se = float(est.std()) / len(est) ** 0.5
    assert abs(float(est.mean())) < 3 * se
    biased = torch.stack([torch.exp(-torch.cdist(a, a).pow(2) / 2).mean()
                          + torch.exp(-torch.cdist(b, b).pow(2) / 2).mean()
                          - 2 * torch.exp(-torch.cdist(a, b).pow(2) / 2).mean()
                          for a, b in zip(x, y)])
    assert float(biased.mean()) > 10 * se


def test_mmd_gradient_moves_samples_from_a_crowded_mode_to_an_empty_one():
    """Data: two modes at x = -1 and x = +1; generated: all near -1. Descending MMD^2_u moves
    the generated samples towards +1 (the empty mode), the pull a collapsed G lacks."""
    g = torch.Generator().manual_seed(2)
    real = torch.cat([torch.randn(50, 2, generator=g) * 0.05 + torch.tensor([-1.0, 0.0]),
                      torch.randn(50, 2, generator=g) * 0.05 + torch.tensor([1.0, 0.0])])
    fake = (torch.randn(100, 2, generator=g) * 0.05 + torch.tensor([-1.0, 0.0])).requires_grad_()
    (grad,) = torch.autograd.grad(mmd2_unbiased(fake, real, 1.0), fake)
    assert float(-grad[:, 0].mean()) > 0
    assert float((-grad[:, 0] > 0).float().mean()) > 0.9


def test_mmd_weight_adds_w_times_mmd_to_the_generator_loss_and_falls_to_zero():
    """mmd_weight w, mmd_steps T: L_G gains w (1 - min(n, T) / T) MMD^2_u(G(z), x_real)
    (network units, x_real the step's real batch) after n G steps; gan/mmd reports the
    estimate, also once the weight has reached 0; steps train and resume bit-exactly."""
    kw = dict(mmd_weight=0.5, mmd_bandwidth=0.8, mmd_steps=2, ema=0.0, g_norm="none")
    eng = build(seed=3, **kw)
    plain = build(seed=3, ema=0.0, g_norm="none")
    x = eng.to_net(batch(n=16).x)
    z = torch.randn(16, eng.code_dim)
    with torch.no_grad():
        want = float(plain.generator_objective(x, None, z)) \
            + 0.5 * float(mmd2_unbiased(eng.G(z, None), x, 0.8))
        assert float(eng.generator_objective(x, None, z)) == pytest.approx(want, rel=1e-5)
    ws = []
    for i in range(3):
        ws.append(eng.mmd_weight())
        out = eng.train_step(batch(n=16, seed=i))
        assert torch.isfinite(out["gan/mmd"]) and out["gan/mmd"].dim() == 0
    assert ws == pytest.approx([0.5, 0.25, 0.0])
    assert build(mmd_weight=0.3).mmd_weight() == 0.3          # mmd_steps 0: constant
    assert "gan/mmd" not in build().train_step(batch(n=16))
    a = build(seed=4, **kw)
    fresh = _train_and_resume(a, [batch(n=16, seed=i) for i in range(4)], **kw)
    _assert_same_state(a, fresh)
