"""SRGAN (engines/translation/srgan.py): each phase's loss against its formula, the srresnet
stage frozen at the phase change, the phase-2 learning rate, the factor and data refusals,
exact resume across the phase change."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engines import OptimConfig, get_engine
from engines.capabilities import missing_members
from engines.spec import Batch, DataSpec
from engines.translation import to_data, to_net
from engines.translation.srgan import SRGANConfig, SRGANEngine
from studio.core.config import ConfigError, config_from_dict
from studio.core.training import Trainer, feature_net

MNIST_X4 = DataSpec("images", channels=1, height=28, width=28, num_classes=10, pairing="paired",
                    source_channels=1, source_height=7, source_width=7)
SMALL_X2 = DataSpec("images", channels=1, height=8, width=8, pairing="paired",
                    source_channels=1, source_height=4, source_width=4)


def _engine(spec=MNIST_X4, lr=0.0, phi=True, **kw) -> SRGANEngine:
    torch.manual_seed(0)
    kw = {"blocks": 1, "channels": 4, "d_channels": 4, "d_stages": 2, "d_dense": 8, **kw}
    e = SRGANEngine.build(SRGANConfig(**kw), OptimConfig(lr=lr), spec)
    if phi and e.feature_net_wanted():
        e.attach_feature_net(feature_net(e.feature_net_wanted(), torch.device("cpu")))
    return e


def _batch(spec=MNIST_X4, n=4, seed=1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(x=torch.rand((n, *spec.sample_shape), generator=g),
                 x2=torch.rand((n, *spec.source_shape), generator=g))


def test_registered_with_its_capabilities():
    e = _engine()
    assert get_engine("srgan") is SRGANEngine
    assert e.capabilities == {"translate", "sr_stages"} and not missing_members(e)
    assert e.sr_stages() == ("srresnet", "srgan") and e.factor == 4
    assert e.feature_net_wanted() == "mnist-evaluator"
    assert _engine(content_loss="pixel").feature_net_wanted() == ""
    assert e.translate(_batch().x2).shape == (4, 1, 28, 28)


def test_phase_one_loss_is_pixel_mse():
    """Phase 1: L = mean (SR - y)^2, SR = to_data(G(to_net(x))) in [0, 1] units (G in train
    mode; lr 0 keeps the weights for the hand computation)."""
    e = _engine(pretrain_steps=5)
    b = _batch()
    m = e.train_step(b)
    with torch.no_grad():
        sr = to_data(e.G(to_net(b.x2)))
        mse = (sr - b.x).pow(2).mean()
    assert float(m["loss/total"]) == pytest.approx(float(mse), rel=1e-5)
    assert float(m["loss/pixel_mse"]) == pytest.approx(float(mse), rel=1e-5)
    assert float(m["phase/adversarial"]) == 0.0 and float(m["loss/adversarial"]) == 0.0
    assert e.stage_now() == "srresnet"


@pytest.mark.parametrize("scale,adv_weight", [(1.0, 1e-3), (0.25, 0.05)])
def test_phase_two_loss_is_feature_mse_plus_weighted_adversarial(scale, adv_weight):
    """Phase 2: L = scale * mean (phi(SR) - phi(y))^2 + adv_weight * BCE(sigma(D(SR)), 1),
    phi = the evaluator up to conv4's ReLU (64 x 8 x 8); D after its own step (lr 0: the
    same D)."""
    e = _engine(pretrain_steps=0, content_scale=scale, adv_weight=adv_weight)
    b = _batch()
    m = e.train_step(b)
    phi = feature_net("mnist-evaluator", torch.device("cpu"))
    with torch.no_grad():
        sr = to_data(e.G(to_net(b.x2)))
        assert phi(sr).shape == (4, 64, 8, 8)
        content = scale * (phi(sr) - phi(b.x)).pow(2).mean()
        out = e.D(to_net(sr))
        adv = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
    assert float(m["loss/content"]) == pytest.approx(float(content), rel=1e-5)
    assert float(m["loss/adversarial"]) == pytest.approx(float(adv), rel=1e-5)
    assert float(m["loss/total"]) == pytest.approx(float(content + adv_weight * adv), rel=1e-5)
    assert float(m["phase/adversarial"]) == 1.0


def test_phase_two_discriminator_loss_is_bce():
    """L_D = BCE(sigma(D(y)), 1) + BCE(sigma(D(SR)), 0)."""
    e = _engine(pretrain_steps=0)
    b = _batch()
    m = e.train_step(b)
    with torch.no_grad():
        sr = to_data(e.G(to_net(b.x2)))
        r, f = e.D(to_net(b.x)), e.D(to_net(sr))
        want = (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
    assert float(m["loss/d"]) == pytest.approx(float(want), rel=1e-5)


def test_pixel_content_loss_is_pixel_mse_on_any_data():
    e = _engine(SMALL_X2, pretrain_steps=0, content_loss="pixel")
    b = _batch(SMALL_X2)
    m = e.train_step(b)
    with torch.no_grad():
        sr = to_data(e.G(to_net(b.x2)))
    assert float(m["loss/content"]) == pytest.approx(float((sr - b.x).pow(2).mean()), rel=1e-5)


def test_srresnet_stage_frozen_at_the_phase_change_and_lr_drops():
    """pretrain_steps = 2: until the change the srresnet stage is the current G; the first
    phase-2 step keeps G as it was after step 2 (then G moves on and the stage does not),
    and both optimizers' rate becomes lr * phase2_lr_factor (set_lr keeps the factor)."""
    e = _engine(lr=1e-2, pretrain_steps=2, phase2_lr_factor=0.1)
    b = _batch()
    for _ in range(2):
        e.train_step(b)
        assert torch.equal(e.translate_stage(b.x2, "srresnet"), e.translate(b.x2))
        assert e.opt_g.param_groups[0]["lr"] == pytest.approx(1e-2)
    g_at_change = {k: v.clone() for k, v in e.G.state_dict().items()}
    out_at_change = e.translate(b.x2)
    assert e.stage_now() == "srgan"
    e.train_step(b)
    for k, v in e.G_sr.state_dict().items():
        assert torch.equal(v, g_at_change[k]), k
    e.train_step(b)
    assert torch.equal(e.translate_stage(b.x2, "srresnet"), out_at_change)
    assert not torch.equal(e.translate(b.x2), out_at_change)
    for opt in (e.opt_g, e.opt_d):
        assert opt.param_groups[0]["lr"] == pytest.approx(1e-3)
    e.set_lr(5e-3)
    assert e.opt_g.param_groups[0]["lr"] == pytest.approx(5e-4)
    e.config.phase2_lr_factor = 0.5          # a live change applies from the next step
    e.train_step(b)
    assert e.opt_d.param_groups[0]["lr"] == pytest.approx(2.5e-3)
    with pytest.raises(ValueError, match="unknown stage"):
        e.translate_stage(b.x2, "bicubic")


@pytest.mark.parametrize("src,tgt,needle", [((9, 9), (27, 27), "power of 2"),
                                            ((7, 7), (28, 14), "same whole number"),
                                            ((7, 7), (7, 7), "pix2pix")])
def test_factor_refusals(src, tgt, needle):
    spec = DataSpec("images", channels=1, height=tgt[0], width=tgt[1], pairing="paired",
                    source_channels=1, source_height=src[0], source_width=src[1])
    with pytest.raises(ValueError, match=needle):
        _engine(spec, content_loss="pixel")


def test_evaluator_content_refused_on_other_images():
    with pytest.raises(ValueError, match="1x28x28.*content_loss = 'pixel'"):
        _engine(SMALL_X2)
    assert _engine(SMALL_X2, content_loss="pixel").factor == 2


def test_evaluator_content_loss_needs_the_attached_network():
    e = _engine(pretrain_steps=0, phi=False)
    with pytest.raises(RuntimeError, match="feature network"):
        e.train_step(_batch())


def _config(steps=10, pretrain=4, data="mnist-lowres", **data_opts):
    data_opts = data_opts or {"factor": 4}
    return config_from_dict({
        "run": {"seed": 2, "steps": steps, "batch_size": 8, "log_every": 1, "sample_every": 3,
                "checkpoint_every": 3, "preview_samples": 4, "device": "cpu"},
        "data": {"name": data, **{"limit": 64, **data_opts}},
        "model": {"engine": "srgan", "blocks": 1, "channels": 4, "d_channels": 4,
                  "d_stages": 2, "d_dense": 8, "pretrain_steps": pretrain},
        "optim": {"lr": 1e-2}})


def test_trainer_attaches_the_frozen_evaluator_outside_the_checkpoint(tmp_path):
    t = Trainer(_config())
    assert t.engine.phi is not None and not t.engine.phi.training
    assert not any(p.requires_grad for p in t.engine.phi.parameters())
    assert not any(k.startswith("phi") or "conv4" in k for k in t.engine.state_dict())


@pytest.mark.parametrize("until", [3, 6])
def test_resume_across_the_phase_change_is_exact(tmp_path, until):
    """pretrain_steps = 4, 10 steps: a resume from step 3 (phase 1, the change after it) or
    step 6 (phase 2: srresnet stage, step counter and lower lr from the checkpoint) ends with
    the weights, the srresnet stage and the optimizers of an uninterrupted run, and logs the
    same metrics."""
    a = Trainer.create(_config(), tmp_path / "a")
    a.train()
    b = Trainer.create(_config(), tmp_path / "b")
    b.train(until=until)
    del b
    b = Trainer.resume(tmp_path / "b")
    assert b.engine.opt_g.param_groups[0]["lr"] == pytest.approx(1e-2 if until < 4 else 1e-3)
    b.train()
    sa, sb = a.engine.state_dict(), b.engine.state_dict()
    assert sa.keys() == sb.keys() and any(k.startswith("extra.srresnet.") for k in sa)
    for k, v in sa.items():
        assert torch.equal(v, sb[k]), k
    ma, mb = a.run.read_metrics(), b.run.read_metrics()
    key = "loss/total"
    assert [r[key] for r in ma if key in r] == [r[key] for r in mb if key in r]
    assert [r["phase/adversarial"] for r in ma if key in r] == [0.0] * 4 + [1.0] * 6


@pytest.mark.parametrize("data,needle", [("mnist", "two-sided set"),
                                         ("mnist-thin-thick", "paired examples.*unpaired")])
def test_paired_two_sided_data_required(data, needle):
    cfg = _config(data=data, limit=64)
    with pytest.raises(ConfigError, match=needle):
        Trainer(cfg)


def test_factor_two_from_the_data():
    assert Trainer(_config(factor=2)).engine.factor == 2
