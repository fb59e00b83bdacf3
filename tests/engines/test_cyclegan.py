"""CycleGAN (engines/translation/cyclegan.py, pool.py) against the paper's equations (Zhu et
al. 2017, and its code): the LSGAN targets, the cycle and identity terms and their sum, the
50-image history pool, the constant-then-linear learning-rate decay, both directions' shapes,
the refusal of one-sided data, and an exact resume with a full pool. Tiny networks on CPU."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from engines import Batch, DataSpec, OptimConfig, get_engine
from engines.capabilities import CAPABILITIES, missing_members
from engines.translation import to_data, to_net
from engines.translation.cyclegan import (CycleGANConfig, CycleGANEngine, cycle_loss,
                                          identity_loss, lr_factor, lsgan_d_loss, lsgan_g_loss)
from engines.translation.pool import HistoryPool
from studio.core.config import ConfigError, config_from_dict
from studio.core.training import Trainer

SAME = DataSpec("images", channels=1, height=12, width=12, num_classes=10, pairing="unpaired",
                source_channels=1, source_height=12, source_width=12)
# sides of different shapes: gray 8x8 sources, RGB 12x12 targets
MIXED = DataSpec("images", channels=3, height=12, width=12, pairing="unpaired",
                 source_channels=1, source_height=8, source_width=8)
TINY = dict(g_channels=2, g_blocks=1, g_down=1, d_channels=2, d_layers=1)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny workloads: one intra-op thread is as fast, and far faster when other processes
    share the cores (a step took 3.6 s on 2 threads of a busy 2-core CPU, 24 ms on 1)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _engine(spec: DataSpec = SAME, lr: float = 2e-4, **over) -> CycleGANEngine:
    torch.manual_seed(0)
    cfg = CycleGANConfig(**{**TINY, **over})
    return CycleGANEngine.build(cfg, OptimConfig(lr=lr, beta1=0.5), spec, "cpu")


def _batch(spec: DataSpec, n: int = 4, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, *spec.sample_shape, generator=g), None,
                 torch.rand(n, *spec.source_shape, generator=g))


# ------------------------------------------------------------------------------ losses

def test_lsgan_targets_by_hand():
    """L_D = ((D(real) - 1)^2 + D(fake)^2) / 2 (means over D's outputs; halved as in the
    paper's code), L_G = (D(G(x)) - 1)^2 (not halved)."""
    r = torch.tensor([[0.5, 1.0], [2.0, -1.0]])
    f = torch.tensor([[0.0, 0.5], [1.0, 3.0]])
    # (D(real) - 1)^2: 0.25, 0, 1, 4 -> mean 1.3125; D(fake)^2: 0, 0.25, 1, 9 -> mean 2.5625
    assert float(lsgan_d_loss(r, f)) == pytest.approx((1.3125 + 2.5625) / 2)
    # (D(G(x)) - 1)^2: 1, 0.25, 0, 4 -> mean 1.3125
    assert float(lsgan_g_loss(f)) == pytest.approx(1.3125)
    # the minimum of each: D outputs 1 on real and 0 on fake; G wants D(G(x)) = 1
    assert float(lsgan_d_loss(torch.ones(3), torch.zeros(3))) == 0.0
    assert float(lsgan_g_loss(torch.ones(3))) == 0.0


def test_cycle_and_identity_terms_by_hand():
    """cycle = lambda (|F(G(x)) - x|_1 + |G(F(y)) - y|_1), identity = 0.5 lambda
    (|G(y) - y|_1 + |F(x) - x|_1), lambda = 10, |.|_1 the mean per pixel."""
    x = torch.tensor([[0.0, 1.0], [0.5, -0.5]])
    rec_x = torch.tensor([[0.5, 1.0], [0.5, 0.5]])     # |diff| 0.5, 0, 0, 1 -> mean 0.375
    y = torch.tensor([1.0, -1.0])
    rec_y = torch.tensor([0.0, -1.0])                  # 1, 0 -> 0.5
    assert float(cycle_loss(x, rec_x, y, rec_y, 10.0)) == pytest.approx(10 * (0.375 + 0.5))
    # identity: G(y) = rec_y (|.|_1 0.5), F(x) = rec_x (0.375), weight 0.5 * 10
    assert float(identity_loss(x, rec_x, y, rec_y, 5.0)) == pytest.approx(5 * (0.5 + 0.375))


def test_a_training_step_is_the_sum_of_its_terms_by_hand():
    """On a fixed batch with fixed weights, one train_step reports (networks in [-1, 1]):
    G_adv = (D_Y(G(x)) - 1)^2 + (D_X(F(y)) - 1)^2, cycle = 10 (|F(G(x)) - x|_1 +
    |G(F(y)) - y|_1), identity = 5 (|G(y) - y|_1 + |F(x) - x|_1), L_G = their sum, and with
    no pool (pool_size 0) L_D_Y = ((D_Y(y) - 1)^2 + D_Y(G(x))^2) / 2, L_D_X likewise; all
    recomputed here in numpy from copies of the networks taken before the step."""
    e = _engine(pool_size=0)
    b = _batch(SAME)
    G, F, DX, DY = (copy.deepcopy(m) for m in (e.G, e.F, e.D_X, e.D_Y))
    m = e.train_step(b)
    with torch.no_grad():
        x, y = to_net(b.x2), to_net(b.x)
        fy, fx = G(x), F(y)
        n = {k: v.numpy().astype(np.float64) for k, v in dict(
            x=x, y=y, fy=fy, fx=fx, rx=F(fy), ry=G(fx), gy=G(y), fxx=F(x), dyf=DY(fy),
            dxf=DX(fx), dyr=DY(y), dxr=DX(x)).items()}
    adv = ((n["dyf"] - 1) ** 2).mean() + ((n["dxf"] - 1) ** 2).mean()
    cyc = 10 * (np.abs(n["rx"] - n["x"]).mean() + np.abs(n["ry"] - n["y"]).mean())
    idt = 5 * (np.abs(n["gy"] - n["y"]).mean() + np.abs(n["fxx"] - n["x"]).mean())
    d_y = 0.5 * (((n["dyr"] - 1) ** 2).mean() + (n["dyf"] ** 2).mean())
    d_x = 0.5 * (((n["dxr"] - 1) ** 2).mean() + (n["dxf"] ** 2).mean())
    tol = dict(rel=1e-5, abs=1e-6)
    assert float(m["loss/G_adv"]) == pytest.approx(adv, **tol)
    assert float(m["loss/cycle"]) == pytest.approx(cyc, **tol)
    assert float(m["loss/identity"]) == pytest.approx(idt, **tol)
    assert float(m["loss/G"]) == pytest.approx(adv + cyc + idt, **tol)
    assert float(m["loss/D_Y"]) == pytest.approx(d_y, **tol)
    assert float(m["loss/D_X"]) == pytest.approx(d_x, **tol)
    assert float(m["loss/total"]) == pytest.approx(adv + cyc + idt + d_y + d_x, **tol)
    assert all(v.dim() == 0 and not v.requires_grad for v in m.values())
    # both players moved
    assert not torch.equal(G.net.head[1].weight, e.G.net.head[1].weight)
    assert not torch.equal(DY.net[0].weight, e.D_Y.net[0].weight)


def test_identity_weight_zero_leaves_the_term_out():
    """identity = 0: L_G = G_adv + cycle, and no loss/identity metric."""
    m = _engine(identity=0.0).train_step(_batch(SAME))
    assert "loss/identity" not in m
    assert float(m["loss/G"]) == pytest.approx(float(m["loss/G_adv"] + m["loss/cycle"]), rel=1e-6)


# ------------------------------------------------------------------------------ the pool

def _ids(n: int, start: int) -> torch.Tensor:
    """n images (1, 2, 2), image k filled with the value start + k (its id)."""
    return (torch.arange(start, start + n, dtype=torch.float32)).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def test_pool_returns_its_input_until_full_and_keeps_at_most_50():
    """While fewer than 50 are stored, query(images) = images and they are stored; the pool
    never holds more than 50."""
    torch.manual_seed(0)
    pool = HistoryPool(50, (1, 2, 2))
    for k in range(6):                                  # 48 images
        imgs = _ids(8, 8 * k)
        assert torch.equal(pool.query(imgs, *pool.draws(8)), imgs)
    assert len(pool) == 48 and not pool.full
    # the 7th batch: 2 fill the pool (returned as they are), the other 6 go through the draw
    imgs = _ids(8, 48)
    u = torch.tensor([0.0, 0.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])     # no swap after the fill
    out = pool.query(imgs, u, torch.zeros(8, dtype=torch.long))
    assert torch.equal(out, imgs) and len(pool) == 50 and pool.full
    assert torch.equal(pool.images[:, 0, 0, 0], torch.arange(50.0))
    for k in range(20):
        pool.query(_ids(8, 100 + 8 * k), *pool.draws(8))
    assert len(pool) == 50 and int(pool.count) == 50 and pool.images.shape == (50, 1, 2, 2)


def test_full_pool_swaps_a_stored_image_for_the_new_one():
    """Once full: u < 1/2 returns stored image `slot` and puts the new one in its place;
    u >= 1/2 returns the new image and leaves the pool alone. Two images of one batch that
    pick the same slot: the second gets the first (the paper's sequential loop)."""
    pool = HistoryPool(4, (1, 2, 2))
    pool.query(_ids(4, 0), *pool.draws(4))
    new = _ids(3, 10)
    out = pool.query(new, torch.tensor([0.2, 0.7, 0.4]), torch.tensor([1, 2, 1]))
    assert out[:, 0, 0, 0].tolist() == [1.0, 11.0, 10.0]
    assert pool.images[:, 0, 0, 0].tolist() == [0.0, 12.0, 2.0, 3.0]


def test_full_pool_returns_a_stored_image_with_probability_one_half():
    """Over 4,000 queries of a full 50-image pool (global RNG, seeded), the number k that
    return a stored image is Binomial(4000, p) with p = 1/2: |k - 2000| < 4.5 sd (sd 31.6)
    = 142; p = 0.3 or 0.7 would give k near 1,200 or 2,800. Every returned stored image is one
    given earlier (maybe earlier in the same batch), it has left the pool, and the image
    given in its place is then in the pool."""
    torch.manual_seed(123)
    pool = HistoryPool(50, (1, 2, 2))
    pool.query(_ids(50, 0), *pool.draws(50))
    k, nxt = 0, 50
    for _ in range(500):
        imgs = _ids(8, nxt)
        out = pool.query(imgs, *pool.draws(8))
        ids_out, ids_in = out[:, 0, 0, 0], imgs[:, 0, 0, 0]
        stored = ids_out != ids_in
        k += int(stored.sum())
        assert bool((ids_out[stored] < ids_in[stored]).all())   # an older image
        kept = set(pool.images[:, 0, 0, 0].tolist())
        assert not (set(ids_out[stored].tolist()) & kept)        # it left the pool ...
        assert all(v in kept for v in ids_in[stored].tolist()    # ... and the new one came in,
                   if v not in ids_out.tolist())                 # unless handed out again
        nxt += 8
    assert abs(k - 2000) < 142, k


def test_pool_state_round_trips():
    """The images and the fill count are the whole state: a pool rebuilt from tensors()
    answers the same draws with the same images and ends in the same state."""
    torch.manual_seed(5)
    a = HistoryPool(6, (1, 2, 2))
    a.query(_ids(4, 0), *a.draws(4))
    saved = {k: v.clone() for k, v in a.tensors("p").items()}
    b = HistoryPool(6, (1, 2, 2))
    for k, v in b.tensors("p").items():
        v.copy_(saved[k])
    b.loaded()
    assert len(b) == 4
    for step in range(5):
        imgs = _ids(4, 10 + 4 * step)
        d = a.draws(4)
        assert torch.equal(a.query(imgs, *d), b.query(imgs, *d))
    assert torch.equal(a.images, b.images) and int(a.count) == int(b.count) == 6


# ------------------------------------------------------------------------------ lr schedule

def test_lr_is_constant_then_falls_linearly_to_zero():
    """lr(s) = lr for s < decay_start, then lr (1 - (s - decay_start) / decay_steps), 0 from
    s = decay_start + decay_steps (s = steps taken before the step). decay_start 3,
    decay_steps 4, lr 0.1: 0.1, 0.1, 0.1, 0.1, 0.075, 0.05, 0.025, 0, 0."""
    assert [lr_factor(s, 3, 4) for s in range(9)] == [1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0]
    assert lr_factor(10_000, 5, 0) == 1.0                       # decay_steps 0: constant
    e = _engine(lr=0.1, decay_start=3, decay_steps=4)
    b = _batch(SAME, n=2)
    seen = []
    for _ in range(9):
        e.train_step(b)
        seen.append((e.opt_g.param_groups[0]["lr"], e.opt_d.param_groups[0]["lr"]))
    want = [0.1, 0.1, 0.1, 0.1, 0.075, 0.05, 0.025, 0.0, 0.0]
    assert [g for g, _ in seen] == pytest.approx(want) and [d for _, d in seen] == pytest.approx(want)
    # a live change of the base lr keeps the schedule's factor (here 0 at the end)
    e.set_lr(0.2)
    assert e.lr_now() == 0.0
    e2 = _engine(lr=0.1, decay_start=3, decay_steps=4)
    e2.load_state_dict(e.state_dict() | {"extra.steps_done": torch.tensor(5)})
    assert e2.lr_now() == pytest.approx(0.05)
    assert e2.opt_g.param_groups[0]["lr"] == pytest.approx(0.05)


# ------------------------------------------------------------------------------ directions

def test_translate_and_translate_back_swap_the_sides_shapes():
    """G: source (1x8x8) -> target (3x12x12), F: target -> source; translate(x) =
    (G(2x - 1) + 1) / 2, not clamped beyond the tanh; the cycle is translate_back(translate(x));
    sample(n, z=x) translates x; the held-out metric is mean |F(G(x)) - x| and |G(F(y)) - y|."""
    e = _engine(MIXED, identity=0.0)
    assert e.capabilities == frozenset({"translate", "translate_back"})
    assert missing_members(e) == []
    for cap in e.capabilities:
        assert isinstance(e, CAPABILITIES[cap].protocol)
    assert set(e.pairing_needed) == {"unpaired", "paired"}
    b = _batch(MIXED, n=5)
    e.train_step(b)
    out = e.translate(b.x2)
    back = e.translate_back(b.x)
    assert out.shape == (5, 3, 12, 12) and back.shape == (5, 1, 8, 8)
    assert e.translate_back(out).shape == (5, 1, 8, 8)
    assert e.noise_shape == (1, 8, 8)
    with torch.no_grad():
        assert torch.equal(out, to_data(e.G(to_net(b.x2))))
    assert torch.equal(e.sample(5, z=b.x2), out)
    ev = e.evaluate([b])
    assert ev["test/cycle_l1_x"] == pytest.approx(float((e.translate_back(out) - b.x2).abs().mean()), rel=1e-5)
    assert ev["test/cycle_l1_y"] == pytest.approx(float((e.translate(back) - b.x).abs().mean()), rel=1e-5)


def test_identity_on_sides_of_different_shapes_is_refused():
    """The identity loss needs G(y): refused (naming both shapes and the way out) when the
    sides differ."""
    with pytest.raises(ValueError, match=r"source is 1x8x8 and its target 3x12x12; set identity = 0"):
        _engine(MIXED, identity=0.5)


def test_paired_data_is_accepted_as_two_domains_with_the_paired_metrics():
    """Paired sets train as two domains; evaluate adds the base's test/l1 and test/psnr."""
    spec = DataSpec("images", channels=1, height=12, width=12, pairing="paired",
                    source_channels=1, source_height=12, source_width=12)
    e = _engine(spec)
    b = _batch(spec)
    e.train_step(b)
    assert {"test/l1", "test/psnr", "test/cycle_l1_x", "test/cycle_l1_y"} <= set(e.evaluate([b]))


def _config(data: str, steps: int = 8, **model):
    return config_from_dict({
        "run": {"seed": 3, "steps": steps, "batch_size": 8, "log_every": 2, "sample_every": 4,
                "checkpoint_every": 2, "preview_samples": 4, "threads": 1, "device": "cpu"},
        "data": {"name": data, "limit": 64},
        "model": {"engine": "cyclegan", "g_channels": 4, "g_blocks": 1, "d_channels": 4,
                  **model},
        "optim": {"lr": 2e-4, "beta1": 0.5}})


def test_one_sided_data_is_refused_naming_the_two_sided_sets():
    """cyclegan on mnist (one side) is refused with the sets it can use."""
    with pytest.raises(ConfigError, match="two-sided set.*mnist-thin-thick, mnist-rotated"):
        Trainer(_config("mnist"))
    with pytest.raises(ValueError, match="this data set has one side"):
        get_engine("cyclegan").build(CycleGANConfig(), OptimConfig(),
                                     DataSpec("images", channels=1, height=12, width=12))


def test_resume_with_a_full_pool_continues_exactly(tmp_path):
    """12 steps in one go = 6 + a resume to 12 (Trainer.create / Trainer.resume on
    mnist-thin-thick, limit 64): the same weights, pools (full at the interruption: 12 images
    after 2 steps of 8), step counter and optimizer states, bit for bit; the lr decays from
    step 4 over 6 steps, across the interruption."""
    model = dict(pool_size=12, decay_start=4, decay_steps=6)
    a = Trainer.create(_config("mnist-thin-thick", steps=12, **model), tmp_path / "a")
    a.train()
    b = Trainer.create(_config("mnist-thin-thick", steps=12, **model), tmp_path / "b")
    b.train(until=6)
    assert int(b.engine.pool_x.count) == int(b.engine.pool_y.count) == 12
    del b
    b = Trainer.resume(tmp_path / "b")
    assert b.step == 6 and b.engine.lr_now() == pytest.approx(2e-4 * (1 - 2 / 6))
    b.train()
    sa, sb = a.engine.state_dict(), b.engine.state_dict()
    assert set(sa) == set(sb) and int(sb["extra.steps_done"]) == 12
    for k, v in sa.items():
        assert torch.equal(v, sb[k]), k
    oa, ob = a.engine.optim_state_dict(), b.engine.optim_state_dict()
    for name in oa:
        for pid, st in oa[name]["state"].items():
            for key, v in st.items():
                assert torch.equal(v, ob[name]["state"][pid][key]), (name, pid, key)
    held = [r for r in a.run.read_metrics() if "test/cycle_l1_x" in r]
    assert held and all("test/cycle_l1_y" in r for r in held)
