"""The translation view's renders (studio.core.translation_renders) on tiny translators
(tests/studio/tiny_translators.py) registered only in this test: the strip's shapes and
per-image scores (L1 = mean |G(x) - y|, PSNR = 10 log10(1 / mean (G(x) - y)^2)), the way back
F(G(x)), SRGAN's stages beside bicubic, a drawing translated, and the steganography probe (Chu et al. 2017) on a hand-built pair
whose G hides x in a low-amplitude checkerboard that F decodes: its reconstruction error
mean |F(G(x) + a n) - x| rises with the noise amplitude a, far faster than the noise itself."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from engines.base import make_optimizer
from engines.translation import TranslationEngine
from studio.core import renders
from studio.core import translation_renders as tr
from studio.core.config import config_from_dict
from studio.core.training import Trainer

from .tiny_translators import CopyConfig, CopyTranslator, CycleCopy, register


class StagedCopy(CopyTranslator):
    """CopyTranslator with SRGAN's two stages: "srresnet" is the net's output blurred by a
    3x3 mean (a stand-in for the pixel-loss stage), "srgan" the net itself; the stage is
    "srresnet" for the first 4 steps."""

    name = "test-staged-copy"
    family_capabilities = frozenset({"translate", "sr_stages"})
    pairing_needed = ("paired",)

    def __init__(self, config, optim, spec, device):
        super().__init__(config, optim, spec, device)
        self.steps = 0

    def sr_stages(self):
        return ("srresnet", "srgan")

    def translate_stage(self, x, stage):
        out = self.translate(x)
        if stage == "srresnet":
            return torch.nn.functional.avg_pool2d(out, 3, 1, 1, count_include_pad=False)
        return out

    def stage_now(self):
        return "srresnet" if self.steps < 4 else "srgan"

    def train_step(self, batch):
        self.steps += 1
        return super().train_step(batch)


EPS = 0.02


class HiddenPair(TranslationEngine):
    """A hand-built CycleGAN that hides its input, as Chu et al. found CycleGAN's G does:
    G(x) = 0.5 + EPS s (2x - 1), s a +-1 checkerboard (a flat grey picture with x in a
    high-frequency signal of amplitude EPS), and F(y) = clip(0.5 + s (y - 0.5) / (2 EPS), 0, 1),
    which reads x back exactly: F(G(x)) = x. Noise a n added to G(x) reaches F's output
    multiplied by 1 / (2 EPS) = 25."""

    name = "test-hidden-pair"
    Config = CopyConfig
    family_capabilities = frozenset({"translate", "translate_back"})
    pairing_needed = ("paired", "unpaired")

    def __init__(self, config, optim, spec, device):
        super().__init__(config, optim, spec, device)
        self.dummy = nn.Linear(1, 1).to(device)
        self.opt = make_optimizer(self.dummy.parameters(), optim)
        h, w = spec.height, spec.width
        yy, xx = np.mgrid[0:h, 0:w]
        self.s = torch.as_tensor(np.where((yy + xx) % 2 == 0, 1.0, -1.0), dtype=torch.float32)

    def translate(self, x):
        return 0.5 + EPS * self.s * (2 * x - 1)

    def translate_back(self, y):
        return (0.5 + self.s * (y - 0.5) / (2 * EPS)).clamp(0, 1)

    def train_step(self, batch):
        loss = self.dummy.weight.pow(2).sum()
        self.opt.zero_grad(set_to_none=True)
        self.backward_and_step(loss, self.opt, self.dummy.parameters())
        return {"loss/total": loss.detach()}

    def modules(self):
        return {"dummy": self.dummy}

    def optimizers(self):
        return {"dummy": self.opt}


TRANSLATORS = (CopyTranslator, CycleCopy, StagedCopy, HiddenPair)


@pytest.fixture
def translators(monkeypatch):
    return register(monkeypatch, *TRANSLATORS)


def trainer_for(engine, data: str, steps: int = 6, train: bool = True, **data_opts) -> Trainer:
    cfg = config_from_dict({
        "run": {"seed": 3, "steps": steps, "batch_size": 8, "log_every": 2, "sample_every": 3,
                "checkpoint_every": 1000, "preview_samples": 5, "device": "cpu", "threads": 1},
        "data": {"name": data, "limit": 64, **data_opts},
        "model": {"engine": engine.name}, "optim": {"lr": 1e-2}})
    t = Trainer(cfg)
    if train:
        t.train()
    return t


def render(t: Trainer, kind: str, **payload):
    return renders.render(t, SimpleNamespace(kind=kind, payload=payload))


def test_the_strip_translates_test_sources_and_scores_them_against_their_targets(translators):
    """Paired (mnist-edges): outputs = G(test_x2[i]), targets = test_x[i], l1 = mean |G(x) - y|,
    psnr = 10 log10(1 / mean (G(x) - y)^2); consecutive indices from `start`, wrapping."""
    t = trainer_for(CopyTranslator, "mnist-edges")
    r = render(t, "translation_strip", start=3, n=4)
    assert list(r["indices"]) == [3, 4, 5, 6] and r["split"] == "test"
    assert r["inputs"].shape == r["outputs"].shape == r["targets"].shape == (4, 1, 28, 28)
    x = torch.as_tensor(t.dataset.test_x2[3:7]).float() / 255
    y = torch.as_tensor(t.dataset.test_x[3:7]).float() / 255
    out = t.engine.translate(x)
    np.testing.assert_allclose(r["outputs"], out.numpy(), atol=1e-6)
    np.testing.assert_allclose(r["targets"], y.numpy(), atol=1e-6)
    np.testing.assert_allclose(r["l1"], (out - y).abs().flatten(1).mean(1).numpy(), rtol=1e-5)
    mse = (out - y).pow(2).flatten(1).mean(1).numpy()
    np.testing.assert_allclose(r["psnr"], 10 * np.log10(1 / mse), rtol=1e-5)
    assert r["reconstructions"] is None and r["stages"] is None      # no way back, no stages
    assert r["sides"] == tuple(t.dataset.sides)
    n_test = len(t.dataset.test_x2)
    assert list(render(t, "translation_strip", start=n_test - 1, n=2)["indices"]) == [n_test - 1, 0]
    # the browser's picks: training images by index
    r = render(t, "translation_strip", split="train", indices=[5, 2])
    np.testing.assert_allclose(r["inputs"], t.dataset.train_x2[[5, 2]] / 255.0, atol=1e-6)
    np.testing.assert_allclose(r["targets"], t.dataset.train_x[[5, 2]] / 255.0, atol=1e-6)
    with pytest.raises(ValueError, match="not in this split"):
        render(t, "translation_strip", split="train", indices=[10 ** 6])


def test_a_way_back_reconstructs_and_switches_direction(translators):
    """CycleGAN-like (unpaired mnist-thin-thick): "ab" gives F(G(x)) for source images x and
    recon_l1 = mean |F(G(x)) - x|; "ba" translates target-domain test images with F and
    reconstructs them with G. Unpaired: no targets, no scores."""
    t = trainer_for(CycleCopy, "mnist-thin-thick")
    e = t.engine
    ab = render(t, "translation_strip", n=3)
    x = torch.as_tensor(t.dataset.test_x2[:3]).float() / 255
    rec = e.translate_back(e.translate(x))
    np.testing.assert_allclose(ab["reconstructions"], rec.numpy(), atol=1e-6)
    np.testing.assert_allclose(ab["recon_l1"], (rec - x).abs().flatten(1).mean(1).numpy(), rtol=1e-5)
    assert ab["targets"] is None and ab["l1"] is None
    ba = render(t, "translation_strip", direction="ba", n=3)
    y = torch.as_tensor(t.dataset.test_x[:3]).float() / 255
    np.testing.assert_allclose(ba["inputs"], y.numpy(), atol=1e-6)
    np.testing.assert_allclose(ba["outputs"], e.translate_back(y).numpy(), atol=1e-6)
    np.testing.assert_allclose(ba["reconstructions"], e.translate(e.translate_back(y)).numpy(), atol=1e-6)
    assert ba["sides"] == tuple(reversed(ab["sides"]))
    t1 = trainer_for(CopyTranslator, "mnist-thin-thick", train=False)
    with pytest.raises(ValueError, match="translate_back"):
        render(t1, "translation_strip", direction="ba")


def test_sr_stages_beside_bicubic_with_their_scores(translators):
    """SRGAN-like (mnist-lowres, 14x14 -> 28x28): bicubic upsampling of the input, every
    stage's output (translate_stage) and the stage now; scores per row against the truth."""
    t = trainer_for(StagedCopy, "mnist-lowres", steps=2, factor=2)
    r = render(t, "translation_strip", n=3)
    assert r["inputs"].shape == (3, 1, 14, 14) and r["outputs"].shape == (3, 1, 28, 28)
    assert r["bicubic"].shape == (3, 1, 28, 28) and r["stage_names"] == ["srresnet", "srgan"]
    assert r["stage_now"] == "srresnet"
    x = torch.as_tensor(r["inputs"])
    up = torch.nn.functional.interpolate(x, size=(28, 28), mode="bicubic", align_corners=False)
    np.testing.assert_allclose(r["bicubic"], up.clamp(0, 1).numpy(), atol=1e-6)
    for s in ("srresnet", "srgan"):
        np.testing.assert_allclose(r["stages"][s], t.engine.translate_stage(x, s).numpy(), atol=1e-6)
        l1, ps = r["scores"][s]
        np.testing.assert_allclose(l1, np.abs(r["stages"][s] - r["targets"]).reshape(3, -1).mean(1),
                                   rtol=1e-5)
    assert set(r["scores"]) == {"bicubic", "srresnet", "srgan"}
    t.train(until=6)
    assert render(t, "translation_strip", n=1)["stage_now"] == "srgan"
    d = render(t, "translation_drawn", image=np.zeros((14, 14), np.float32))
    assert d["bicubic"].shape == (1, 28, 28) and set(d["stages"]) == {"srresnet", "srgan"}


def test_a_drawing_is_translated_at_the_input_sides_size(translators):
    """A (H, W) drawing in [0, 1] is the input image as is: output = G(drawing)[0]."""
    t = trainer_for(CycleCopy, "mnist-edges")
    img = np.zeros((28, 28), np.float32)
    img[5:20, 14] = 1.0
    d = render(t, "translation_drawn", image=img)
    out = t.engine.translate(torch.as_tensor(img)[None, None])
    np.testing.assert_allclose(d["output"], out[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(d["reconstruction"], t.engine.translate_back(out)[0].numpy(), atol=1e-6)
    assert d["input"].shape == (1, 28, 28)
    with pytest.raises(ValueError, match="28x28"):
        render(t, "translation_drawn", image=np.zeros((14, 14), np.float32))


def test_the_probe_curve_rises_with_the_noise_and_far_faster_than_the_noise(translators):
    """Hidden pair: error(a) = mean |F(G(x) + a n) - x| is 0 at a = 0 (F(G(x)) = x although G(x)
    is grey +- EPS), rises with a (per pixel |clip(x + a n s / 2EPS) - x| grows with a for one
    draw n), and at a = 0.01 is > 5x the noise it was given (mean |a n|: the hidden signal is
    read with gain 1/(2 EPS) = 25); deterministic (its own generator, global RNG untouched)."""
    t = trainer_for(HiddenPair, "mnist-thin-thick", train=False)
    before = torch.random.get_rng_state()
    c = tr.translation_probe_curve(t, n=16, seed=1)
    assert torch.equal(before, torch.random.get_rng_state())
    a, err, ref = c["amplitudes"], c["error"], c["noise_l1"]
    assert a[0] == 0 and a[-1] == pytest.approx(0.2) and len(a) == 21
    assert err[0] < 1e-5
    assert np.all(np.diff(err) > 0), err
    assert err[1] > 5 * ref[1] and err[-1] > 0.1
    np.testing.assert_allclose(ref, a * np.sqrt(2 / np.pi), rtol=0.1, atol=1e-6)
    again = render(t, "translation_probe_curve", n=16, seed=1)
    np.testing.assert_array_equal(again["error"], err)
    assert not np.array_equal(render(t, "translation_probe_curve", n=16, seed=2)["error"], err)


def test_the_probe_shows_noise_breaking_the_cycle_and_the_hidden_change(translators):
    """One image: recon = F(G(x) + a n) (n seeded), error = |recon - x|; x' = x with a 4x4
    patch inverted: |G(x) - G(x')| is at most 2 EPS (the change is invisible in G's output)
    and only where x changed, yet F(G(x')) = x' exactly (F reads the hidden change)."""
    t = trainer_for(HiddenPair, "mnist-thin-thick", train=False)
    p = render(t, "translation_probe", index=2, amplitude=0.1, seed=4)
    x = t.dataset.test_x2[2] / 255.0
    np.testing.assert_allclose(p["x"], x, atol=1e-6)
    np.testing.assert_allclose(p["recon_clean"], x, atol=1e-5)
    assert p["clean_l1"] < 1e-5 and p["recon_l1"] > 0.2
    np.testing.assert_allclose(p["error"], np.abs(p["recon"] - x), atol=1e-6)
    n = torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(4))[0].numpy()
    np.testing.assert_allclose(p["noisy"] - p["gx"], 0.1 * n, atol=1e-6)
    assert p["mask"].sum() == 16
    assert np.array_equal(p["in_diff"][0] > 0, p["mask"])
    assert p["gdiff_max"] <= 2 * EPS + 1e-6 and p["gdiff_outside"] == 0.0
    np.testing.assert_allclose(p["recon2"], p["x2"], atol=1e-5)
    np.testing.assert_allclose(p["gdiff"], np.abs(p["gx"] - p["gx2"]), atol=1e-7)
    same = render(t, "translation_probe", index=2, amplitude=0.1, seed=4)
    for k in ("noisy", "recon", "x2", "gdiff"):
        np.testing.assert_array_equal(same[k], p[k])
    other = render(t, "translation_probe", index=2, amplitude=0.1, seed=4, change="image")
    np.testing.assert_allclose(other["x2"], t.dataset.test_x2[3] / 255.0, atol=1e-6)
    one_way = trainer_for(CopyTranslator, "mnist-thin-thick", train=False)
    with pytest.raises(ValueError, match="translate_back"):
        render(one_way, "translation_probe")


@pytest.mark.parametrize("direction", ["ab", "ba"])
def test_the_probe_works_when_the_sides_differ_in_size(translators, direction):
    """CycleGAN on mnist-lowres (7x7 <-> 28x28): G(x) has another size than x, so the change
    mask of x' is carried to G's size before "gdiff_outside" is measured (a 4x4 patch of a
    28x28 x covers one pixel of a 7x7 output, with its 2-pixel margin two or three)."""
    from studio.core.translation_renders import _resize_mask
    t = trainer_for(CycleCopy, "mnist-lowres", train=False, factor=4)
    p = render(t, "translation_probe", index=1, amplitude=0.05, seed=2, direction=direction)
    small, big = (1, 7, 7), (1, 28, 28)
    assert p["x"].shape == (small if direction == "ab" else big)
    assert p["gx"].shape == (big if direction == "ab" else small)
    assert p["gdiff"].shape == p["gx"].shape and np.isfinite(p["gdiff_outside"])
    curve = render(t, "translation_probe_curve", n=4, direction=direction)
    assert np.all(np.isfinite(curve["error"]))
    m = np.zeros((28, 28), bool)
    m[8:12, 8:12] = True
    assert _resize_mask(m, (7, 7)).sum() == 1 and _resize_mask(m, (7, 7))[2, 2]
    assert _resize_mask(np.eye(7, dtype=bool), (28, 28)).sum() == 28 * 4
