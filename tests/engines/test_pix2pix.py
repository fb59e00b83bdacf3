"""pix2pix (engines/translation/pix2pix.py): its losses against their formulas, what D sees,
dropout as the noise, the data it refuses, exact resume."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engines import OptimConfig, get_engine
from engines.capabilities import missing_members
from engines.spec import Batch, DataSpec
from engines.translation import to_net
from engines.translation.pix2pix import Pix2PixConfig, Pix2PixEngine, resize_source
from studio.core.config import ConfigError, config_from_dict
from studio.core.training import Trainer

PAIRED = DataSpec("images", channels=1, height=12, width=12, num_classes=10, pairing="paired",
                  source_channels=2, source_height=12, source_width=12)
LOWRES = DataSpec("images", channels=1, height=12, width=12, pairing="paired",
                  source_channels=1, source_height=6, source_width=6)


def _engine(spec=PAIRED, lr=0.0, **kw) -> Pix2PixEngine:
    torch.manual_seed(0)
    kw.setdefault("d_layers", 1)
    cfg = Pix2PixConfig(channels=4, d_channels=4, **kw)
    return Pix2PixEngine.build(cfg, OptimConfig(lr=lr), spec)


def _batch(spec=PAIRED, n=6, seed=1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(x=torch.rand((n, *spec.sample_shape), generator=g),
                 x2=torch.rand((n, *spec.source_shape), generator=g))


def test_registered_with_its_capability():
    assert get_engine("pix2pix") is Pix2PixEngine
    e = _engine()
    assert e.capabilities == {"translate"} and e.pairing_needed == ("paired",)
    assert not missing_members(e)


@pytest.mark.parametrize("lam", [100.0, 7.5])
def test_generator_loss_is_bce_plus_lambda_l1(lam):
    """L_G = BCE(sigma(D(x, G(x))), 1) + lambda * mean |y - G(x)| (network units), with D
    after its step of the same train_step. lr = 0 keeps every weight, so the hand computation
    with the same dropout draws (the same seed) sees the networks the step saw."""
    e = _engine(lambda_l1=lam)
    b = _batch()
    torch.manual_seed(5)
    m = e.train_step(b)
    torch.manual_seed(5)
    x, y = to_net(b.x2), to_net(b.x)
    with torch.no_grad():
        fake = e.G(x)                      # train mode: the same dropout masks as the step
        out = e.D(torch.cat((x, fake), 1))
        adv = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        l1 = (y - fake).abs().mean()
    assert float(m["loss/g_adv"]) == pytest.approx(float(adv), rel=1e-5)
    assert float(m["loss/l1"]) == pytest.approx(float(l1), rel=1e-5)
    assert float(m["loss/g"]) == pytest.approx(float(adv + lam * l1), rel=1e-5)
    assert float(m["loss/total"]) == pytest.approx(float(m["loss/g"] + m["loss/d"]), rel=1e-6)


def test_discriminator_loss_is_halved_bce_on_real_and_fake_pairs():
    """L_D = [BCE(sigma(D(x, y)), 1) + BCE(sigma(D(x, G(x))), 0)] / 2."""
    e = _engine()
    b = _batch()
    torch.manual_seed(5)
    m = e.train_step(b)
    torch.manual_seed(5)
    x, y = to_net(b.x2), to_net(b.x)
    with torch.no_grad():
        fake = e.G(x)
        r, f = e.D(torch.cat((x, y), 1)), e.D(torch.cat((x, fake), 1))
        want = 0.5 * (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                      + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
    assert float(m["loss/d"]) == pytest.approx(float(want), rel=1e-5)


def test_discriminator_sees_input_and_output_on_channels():
    """D's inputs in one step: (x, y) for the real pair, then (x, G(x)) twice (D's step, G's
    step), each (B, C_src + C_tgt, H, W) with the source in the first C_src channels."""
    e = _engine()
    b = _batch()
    seen: list[torch.Tensor] = []
    e.D.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    torch.manual_seed(5)
    e.train_step(b)
    torch.manual_seed(5)
    with torch.no_grad():
        fake = e.G(to_net(b.x2))
    assert len(seen) == 3
    assert all(s.shape == (6, 3, 12, 12) for s in seen)
    assert torch.equal(seen[0], torch.cat((to_net(b.x2), to_net(b.x)), 1))
    assert torch.allclose(seen[1], torch.cat((to_net(b.x2), fake), 1))
    assert torch.allclose(seen[2], seen[1])


def test_a_smaller_source_is_resized_bicubically_to_the_target():
    """mnist-lowres with pix2pix: the U-Net's input is bicubic(x) at the target size."""
    e = _engine(LOWRES)
    b = _batch(LOWRES)
    seen: list[torch.Tensor] = []
    e.D.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    e.train_step(b)
    up = F.interpolate(b.x2, size=(12, 12), mode="bicubic", align_corners=False)
    assert torch.equal(seen[0][:, :1], to_net(up))
    assert torch.equal(resize_source(b.x, (12, 12)), b.x)
    assert e.translate(b.x2).shape == (6, 1, 12, 12)


def test_dropout_is_the_noise_in_training_and_translation_is_deterministic():
    """G in train mode: two forwards differ (dropout); translate (eval mode) gives the same
    output twice, equal to G in eval mode, and leaves G's mode as it was."""
    e = _engine(dropout=0.5, dropout_levels=3)
    assert sum(isinstance(m, nn.Dropout) for m in e.G.modules()) == min(3, e.G.depth - 1)
    b = _batch()
    g = copy.deepcopy(e.G).train()
    x = to_net(b.x2)
    with torch.no_grad():
        assert not torch.equal(g(x), g(x))
    e.train(True)
    a, a2 = e.translate(b.x2), e.translate(b.x2)
    assert torch.equal(a, a2) and e.G.training
    with torch.no_grad():
        ref = (copy.deepcopy(e.G).eval()(x) + 1) / 2
    assert torch.equal(a, ref)


def test_patchgan_too_deep_for_the_images_is_refused():
    """12 px: n_layers 3 gives 12 -> 6 -> 3 -> 1, minus 2: no output; 2 gives 3 - 2 = 1."""
    with pytest.raises(ValueError, match="d_layers.*n_layers <= 2"):
        _engine(d_layers=3)
    assert _engine(d_layers=2).D(torch.zeros(1, 3, 12, 12)).shape == (1, 1, 1, 1)


def _config(data: str, steps: int = 6, **data_opts):
    return config_from_dict({
        "run": {"seed": 3, "steps": steps, "batch_size": 8, "log_every": 2, "sample_every": 3,
                "checkpoint_every": 3, "preview_samples": 4, "device": "cpu"},
        "data": {"name": data, "limit": 64, **data_opts},
        "model": {"engine": "pix2pix", "channels": 4, "d_channels": 4, "d_layers": 2},
        "optim": {"lr": 2e-3}})


@pytest.mark.parametrize("data,needle", [("mnist", "two-sided set"),
                                         ("mnist-thin-thick", "paired examples.*unpaired")])
def test_paired_data_required(data, needle):
    with pytest.raises(ConfigError, match=needle):
        Trainer(_config(data))


def test_resume_continues_exactly(tmp_path):
    """12 steps in one go == 6 steps, a checkpoint, a resume and 6 more (weights, BatchNorm
    statistics, both optimizers; the dropout masks come from the checkpointed RNG)."""
    a = Trainer.create(_config("mnist-edges", steps=12), tmp_path / "a")
    a.train()
    b = Trainer.create(_config("mnist-edges", steps=12), tmp_path / "b")
    b.train(until=6)
    del b
    b = Trainer.resume(tmp_path / "b")
    b.train()
    sa, sb = a.engine.state_dict(), b.engine.state_dict()
    assert sa.keys() == sb.keys()
    for k, v in sa.items():
        assert torch.equal(v, sb[k]), k
