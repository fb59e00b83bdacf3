"""Translation metrics (studio/core/translation_metrics.py, issue 17 build 4): SSIM, PSNR and
L1 against their equations; the baseline (bicubic / identity); class preservation and the
Frechet distance on translators whose answer is known (the identity, a fixed digit);
evaluation leaves the training RNG alone; a non-translator's evaluation is unchanged.
Tiny translators (tests/studio/tiny_translators.py) registered only in this test stand in for
pix2pix / CycleGAN / SRGAN: the metrics rely on the capability contract only."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from studio.core import metrics
from studio.core.config import config_from_dict
from studio.core.data.builtin import _mnist_arrays
from studio.core.data.common import two_sided_dataset
from studio.core.evaluation import evaluate
from studio.core.evaluator import MnistEvaluator, clear_cache
from studio.core.training import Trainer
from studio.core.translation_metrics import (SOURCE, TARGET, baseline, gaussian_window, l1,
                                             psnr, ssim, scored_indices, translation_metrics)

from .tiny_translators import copy_translator, register

C1, C2 = 0.01 ** 2, 0.03 ** 2


# ------------------------------------------------------------------------- SSIM, PSNR, L1

def brute_ssim(x: np.ndarray, y: np.ndarray, size: int = 11, sigma: float = 1.5) -> float:
    """One image (C, H, W): for every valid window position and channel, the weighted
    statistics written out with the 2-D window w(i, j) ~ exp(-(di^2 + dj^2) / (2 sigma^2))
    (normalised to sum 1), then eq. 13 of Wang et al. 2004, averaged."""
    c, h, w = x.shape
    kh, kw = min(size, h), min(size, w)
    di = np.arange(kh) - (kh - 1) / 2
    dj = np.arange(kw) - (kw - 1) / 2
    win = np.exp(-(di[:, None] ** 2 + dj[None, :] ** 2) / (2 * sigma ** 2))
    win /= win.sum()
    vals = []
    for ch in range(c):
        for i in range(h - kh + 1):
            for j in range(w - kw + 1):
                px, py = x[ch, i:i + kh, j:j + kw], y[ch, i:i + kh, j:j + kw]
                mx, my = (win * px).sum(), (win * py).sum()
                vx = (win * (px - mx) ** 2).sum()
                vy = (win * (py - my) ** 2).sum()
                cxy = (win * (px - mx) * (py - my)).sum()
                vals.append((2 * mx * my + C1) * (2 * cxy + C2)
                            / ((mx ** 2 + my ** 2 + C1) * (vx + vy + C2)))
    return float(np.mean(vals))


def test_ssim_of_an_image_with_itself_is_one():
    """SSIM(x, x) = 1 (both factors of eq. 13 are 1)."""
    x = torch.rand(3, 2, 20, 17, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ssim(x, x), torch.ones(3, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("a,b", [(0.0, 1.0), (0.2, 0.7), (0.5, 0.5), (0.9, 0.1)])
def test_ssim_of_constant_images_is_the_luminance_term(a, b):
    """Constant images: sigma = 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)."""
    x = torch.full((1, 1, 28, 28), a, dtype=torch.float64)
    y = torch.full((1, 1, 28, 28), b, dtype=torch.float64)
    expect = (2 * a * b + C1) / (a * a + b * b + C1)
    assert float(ssim(x, y)) == pytest.approx(expect, abs=1e-9)


def test_ssim_is_symmetric_and_falls_with_noise():
    """SSIM(x, y) = SSIM(y, x); more noise added to x gives a lower SSIM."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 1, 28, 28, generator=g)
    y = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert torch.allclose(ssim(x, y), ssim(y, x), atol=1e-12)
    noise = torch.randn(x.shape, generator=g)
    values = [float(ssim(x, x + s * noise).mean()) for s in (0.0, 0.02, 0.05, 0.1, 0.3)]
    assert values[0] == pytest.approx(1.0)
    assert all(a > b for a, b in zip(values, values[1:])), values


@pytest.mark.parametrize("shape", [(2, 13, 14), (1, 7, 7), (1, 11, 12)])
def test_ssim_equals_the_per_window_computation(shape):
    """The separable convolution equals eq. 13 computed window by window (valid positions,
    averaged over positions and channels); a 7x7 image gets a 7x7 window (one position)."""
    g = np.random.default_rng(2)
    x = g.random(shape)
    y = np.clip(x + 0.3 * g.standard_normal(shape), 0, 1)
    got = float(ssim(torch.as_tensor(x)[None], torch.as_tensor(y)[None]))
    assert got == pytest.approx(brute_ssim(x, y), abs=1e-10)


def test_the_gaussian_window_is_matlabs_fspecial():
    """fspecial('gaussian', 11, 1.5) = g g^T, g_i ~ exp(-(i - 5)^2 / 4.5), sum 1; its centre
    weight is 0.0708 (MATLAB's value, to its 4 digits)."""
    g = gaussian_window(11, 1.5)
    w = torch.outer(g, g)
    assert float(w.sum()) == pytest.approx(1.0)
    assert float(w[5, 5]) == pytest.approx(0.0708, abs=5e-5)
    assert float(g[0] / g[5]) == pytest.approx(math.exp(-25 / 4.5))


def test_psnr_and_l1_from_their_definitions():
    """PSNR = 10 log10(1 / MSE): a difference of 0.1 everywhere is MSE 0.01, 20 dB, L1 0.1;
    identical images hit the 100 dB cap (MSE floored at 1e-10)."""
    a = torch.zeros(2, 1, 8, 8)
    b = torch.full((2, 1, 8, 8), 0.1)
    assert torch.allclose(psnr(a, b), torch.full((2,), 20.0, dtype=torch.float64))
    assert torch.allclose(l1(a, b), torch.full((2,), 0.1, dtype=torch.float64))
    assert torch.allclose(psnr(b, b), torch.full((2,), 100.0, dtype=torch.float64))


def test_the_baseline_is_the_identity_or_clamped_bicubic():
    """Same size: the source itself. Other size: bicubic (align_corners=False) to the target
    size, clamped to [0, 1] (bicubic overshoots at a step edge); grey -> colour repeats."""
    x = torch.rand(3, 1, 28, 28)
    assert baseline(x, (1, 28, 28)) is x
    step = torch.zeros(1, 1, 14, 14)
    step[..., 7:] = 1.0
    raw = F.interpolate(step, size=(28, 28), mode="bicubic", align_corners=False)
    assert raw.min() < 0 and raw.max() > 1                    # the overshoot is real
    assert torch.equal(baseline(step, (1, 28, 28)), raw.clamp(0, 1))
    assert baseline(step, (3, 28, 28)).shape == (1, 3, 28, 28)
    assert baseline(torch.rand(1, 3, 8, 8), (1, 8, 8)) is None


# ------------------------------------------------------------------------- translators

CopyTranslator = copy_translator("test-metrics-copy")
# a CycleGAN stand-in: G is the network, F the identity
CycleCopy = copy_translator("test-metrics-cycle", back=lambda y: y.clone())


class IdentityTranslator(CycleCopy):
    """translate(x) = x and translate_back(y) = y (source and target of one shape)."""

    name = "test-metrics-identity"

    def translate(self, x):
        return x.to(self.device).clone()


FIXED = {}


class FixedDigitTranslator(CopyTranslator):
    """Outputs the same image (FIXED["image"]) whatever the input."""

    name = "test-metrics-fixed"

    def translate(self, x):
        return FIXED["image"].to(self.device).expand(len(x), -1, -1, -1).clone()


class StagedSR(CopyTranslator):
    """An SRGAN stand-in: the SRGAN stage is the network, the SRResNet stage is bicubic."""

    name = "test-metrics-sr"
    family_capabilities = frozenset({"translate", "sr_stages"})

    def sr_stages(self):
        return ("srresnet", "srgan")

    def translate_stage(self, x, stage):
        if stage == "srresnet":
            return baseline(x.to(self.device), tuple(self.spec.sample_shape))
        return self.translate(x)

    def stage_now(self):
        return "srgan"


ALL = (CopyTranslator, IdentityTranslator, FixedDigitTranslator, StagedSR, CycleCopy)


@pytest.fixture(autouse=True)
def translators(monkeypatch):
    register(monkeypatch, *ALL)


def _config(engine: str, data: str = "mnist-edges", steps: int = 4, **data_opts):
    return config_from_dict({
        "run": {"seed": 3, "steps": steps, "batch_size": 8, "log_every": 2, "sample_every": 2,
                "checkpoint_every": 4, "preview_samples": 4, "device": "cpu"},
        "data": {"name": data, "limit": 64, **data_opts},
        "model": {"engine": engine}, "optim": {"lr": 1e-2}})


def _mnist_sides(pairing: str, labels: bool = True, n_test: int = 300, n_train: int = 400):
    """A two-sided set whose source and target are the same MNIST images (1x28x28)."""
    a = _mnist_arrays()
    tx, ty = a["x_train"][:n_train, None].copy(), a["y_train"][:n_train].astype(np.int64)
    vx, vy = a["x_test"][:n_test, None].copy(), a["y_test"][:n_test].astype(np.int64)
    if not labels:
        ty = vy = None
    side = (tx, ty, vx, vy)
    return two_sided_dataset("same-digits", pairing, ("digits", "digits"), side, side,
                             [str(i) for i in range(10)] if labels else [])


def _trainer(engine: str, ds) -> Trainer:
    return Trainer(_config(engine), dataset=ds)


def _f(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(a).float() / 255.0


def test_the_identity_preserves_every_class_and_is_at_fd_zero():
    """Identity on a set whose source and target are the same images: class preserved =
    the evaluator's accuracy on the targets (the real-data reference) exactly; without
    labels (the paired target's evaluator class stands in) exactly 1; L1 0, SSIM 1, PSNR at
    the cap; the Frechet distance of identical feature sets ~ 0."""
    t = _trainer(IdentityTranslator.name, _mnist_sides("paired"))
    m = translation_metrics(t, n=200)
    ev = MnistEvaluator.load()
    sel = scored_indices(300, 200, 0, SOURCE)
    acc = ev.accuracy_on(t.dataset.test_x[sel], t.dataset.test_y[sel])
    assert m["translation/examples"] == 200
    assert m["translation/class_preserved"] == pytest.approx(acc)
    assert m["translation/class_preserved_real"] == pytest.approx(acc)
    assert acc > 0.95
    assert m["translation/l1"] == 0 and m["translation/ssim"] == pytest.approx(1.0)
    assert m["translation/psnr"] == pytest.approx(100.0)
    assert m["translation/fd_to_target"] < 1e-6
    # the baseline of a same-size set is the identity: here the perfect translator too
    assert m["baseline/l1"] == 0 and m["baseline/fd_to_target"] < 1e-6
    # back: F = identity, class preserved both ways, cycle exact
    assert m["back/class_preserved"] == pytest.approx(acc) and m["back/fd_to_source"] < 1e-6
    assert m["cycle/l1_source"] == 0 and m["cycle/l1_target"] == 0
    unlabelled = translation_metrics(_trainer(IdentityTranslator.name,
                                              _mnist_sides("paired", labels=False)), n=200)
    assert unlabelled["translation/class_preserved"] == 1.0
    assert "translation/class_preserved_real" not in unlabelled


def test_a_translator_that_always_draws_one_digit_preserves_about_a_tenth():
    """Every output is one test image of class k: class preserved = the share of inputs of
    class k (about 10% on MNIST)."""
    ds = _mnist_sides("paired")
    FIXED["image"] = _f(ds.test_x[:1])          # a 7
    k = int(MnistEvaluator.load().predict(ds.test_x[:1])[0])
    m = translation_metrics(_trainer(FixedDigitTranslator.name, ds), n=300)
    share = float((ds.test_y[:300] == k).mean())
    assert m["translation/class_preserved"] == pytest.approx(share)
    assert 0.05 < share < 0.15
    assert m["translation/fd_to_target"] > 10 * m["translation/fd_to_target_floor"]


def test_paired_numbers_and_the_bicubic_baseline_on_low_resolution_digits():
    """mnist-lowres (14x14 -> 28x28): translation/* = the per-image formulas averaged over
    n test pairs (drawn with the seed), baseline/* the same for the clamped bicubic upsampling; the
    SRResNet stage (bicubic here) gives the baseline's numbers; n limits the images used."""
    t = Trainer(_config(StagedSR.name, "mnist-lowres", factor=2))
    t.train()
    n = 150
    m = translation_metrics(t, n=n, seed=4)
    sel = scored_indices(len(t.dataset.test_x2), n, 4, SOURCE)
    assert len(sel) == n and len(set(sel)) == n and sel[-1] > 2 * n    # not the first n
    src, tgt = _f(t.dataset.test_x2[sel]), _f(t.dataset.test_x[sel])
    out = t.engine.translate(src)
    up = F.interpolate(src, size=(28, 28), mode="bicubic", align_corners=False).clamp(0, 1)
    assert m["translation/examples"] == n
    assert m["translation/l1"] == pytest.approx(float((out - tgt).abs().mean()), rel=1e-5)
    mse = (out.double() - tgt.double()).pow(2).flatten(1).mean(1)
    assert m["translation/psnr"] == pytest.approx(float((10 * torch.log10(1 / mse)).mean()), rel=1e-6)
    assert m["translation/ssim"] == pytest.approx(float(ssim(out, tgt).mean()), rel=1e-6)
    bmse = (up.double() - tgt.double()).pow(2).flatten(1).mean(1)
    assert m["baseline/psnr"] == pytest.approx(float((10 * torch.log10(1 / bmse)).mean()), rel=1e-6)
    assert m["baseline/l1"] == pytest.approx(float((up - tgt).abs().mean()), rel=1e-5)
    assert 15 < m["baseline/psnr"] < 30 and 0.5 < m["baseline/ssim"] < 1
    for k in ("l1", "psnr", "ssim", "class_preserved", "fd_to_target"):
        assert m[f"srresnet/{k}"] == pytest.approx(m[f"baseline/{k}"]), k
    # bicubic 14x14 digits are still digits: the evaluator agrees with the labels
    labels = t.dataset.test_y[sel]
    pred = MnistEvaluator.load().predict(up.numpy())
    assert m["baseline/class_preserved"] == pytest.approx(float((pred == labels).mean()))
    assert m["baseline/class_preserved"] > 0.9


def test_unpaired_fd_uses_the_test_images_of_the_other_domain_and_a_real_floor():
    """mnist-thin-thick with G a small net and F the identity: fd_to_target = FD(features of
    G(n test X), features of n test Y), each drawn with the seed; its floor = FD(n training
    Y drawn with the seed (all of them when fewer), the same test Y); back/fd_to_source =
    FD(F(test Y), test X); no paired L1/PSNR/SSIM (nothing to compare against)."""
    t = Trainer(_config(CycleCopy.name, "mnist-thin-thick"))
    n = 120
    m = translation_metrics(t, n=n, seed=5)
    ds, ev = t.dataset, MnistEvaluator.load()
    sx = scored_indices(len(ds.test_x2), n, 5, SOURCE)
    sy = scored_indices(len(ds.test_x), n, 5, TARGET)
    assert not any(k.endswith(("/l1", "/psnr", "/ssim")) for k in m)
    out = t.engine.translate(_f(ds.test_x2[sx])).numpy()
    ref = ev.features(ds.test_x[sy])
    assert m["translation/fd_to_target"] == pytest.approx(
        metrics.frechet_distance(ev.features(out), ref), rel=1e-6)
    k = min(n, len(ds.train_x))                 # `limit` leaves fewer training images
    idx = scored_indices(len(ds.train_x), k, 5, 2 + TARGET)
    assert m["translation/fd_to_target_floor"] == pytest.approx(
        metrics.frechet_distance(ev.features(ds.train_x[idx]), ref), rel=1e-6)
    # F is the identity: thick test digits against thin test digits
    assert m["back/fd_to_source"] == pytest.approx(
        metrics.frechet_distance(ev.features(ds.test_x[sy]), ev.features(ds.test_x2[sx])), rel=1e-6)
    assert m["back/class_preserved"] == pytest.approx(ev.accuracy_on(ds.test_x[sy], ds.test_y[sy]))
    assert m["back/class_preserved_real"] == pytest.approx(ev.accuracy_on(ds.test_x2[sx], ds.test_y2[sx]))
    assert m["back/examples"] == n
    # identity baseline of same-size domains: the thin digits as they are
    assert m["baseline/class_preserved"] == pytest.approx(ev.accuracy_on(ds.test_x2[sx], ds.test_y2[sx]))


@pytest.mark.parametrize("engine,data", [(CopyTranslator.name, "mnist-edges"),
                                         (StagedSR.name, "mnist-lowres"),
                                         (CycleCopy.name, "mnist-thin-thick")])
def test_evaluation_of_a_translator_leaves_the_training_rng_alone(engine, data):
    """As tests/studio/test_exact_resume.py for samplers: evaluating (the evaluator loaded
    fresh, as in a new process) does not move torch's global RNG."""
    t = Trainer(_config(engine, data))
    t.train()
    clear_cache()
    before = torch.get_rng_state()
    out = evaluate(t, n=40)
    assert torch.equal(before, torch.get_rng_state()), "evaluation moved the global RNG"
    assert "translation/fd_to_target" in out
    # and the numbers do not depend on that RNG
    torch.manual_seed(1234)
    again = evaluate(t, n=40)
    assert set(again) == set(out)
    assert all(again[k] == out[k] or (math.isnan(again[k]) and math.isnan(out[k])) for k in out)


def test_a_translators_evaluation_has_no_noise_sample_metrics():
    """A translator gets the translation metrics and the engine's held-out L1/PSNR, not the
    noise-sample quality/* and coverage/* ones."""
    t = Trainer(_config(CopyTranslator.name))
    out = evaluate(t, n=30)
    assert "test/l1" in out and "translation/psnr" in out and "baseline/psnr" in out
    assert not any(k.startswith(("quality/", "coverage/")) for k in out)


def test_a_non_translators_evaluation_is_unchanged():
    """A VAE on MNIST: the held-out metrics, the IWAE bound and the evaluator's sample
    quality, as before; no translation keys."""
    t = Trainer(config_from_dict({
        "run": {"seed": 0, "steps": 2, "batch_size": 8, "device": "cpu"},
        "data": {"name": "mnist", "limit": 64}, "model": {"engine": "vae", "arch": "mlp"}}))
    out = evaluate(t, n=50, iwae_k=2, iwae_n=10)
    assert {"test/elbo", "likelihood/iwae_k2", "quality/fd", "quality/fd_floor",
            "coverage/classes"} <= set(out)
    assert not any(k.split("/")[0] in ("translation", "baseline", "back", "cycle", "srresnet")
                   for k in out)


def test_a_target_side_the_evaluator_cannot_read_gets_paired_numbers_only():
    """A 28x28 -> 14x14 (downscaling) translator: L1/PSNR/SSIM and the bicubic (here:
    downsampling) baseline, but no class preservation or FD, with a message saying why."""
    a = _mnist_arrays()
    big = (a["x_train"][:64, None].copy(), None, a["x_test"][:50, None].copy(), None)
    small = tuple(None if v is None else v[..., ::2, ::2].copy() for v in big)
    ds = two_sided_dataset("shrink", "paired", ("big", "small"), small, big)
    said = []
    m = translation_metrics(_trainer(CopyTranslator.name, ds), n=50, progress=said.append)
    assert {"translation/l1", "translation/psnr", "translation/ssim", "baseline/psnr"} <= set(m)
    assert not any("class" in k or "fd" in k for k in m)
    assert any("evaluator reads 1x28x28" in s for s in said)


def test_every_translation_key_has_a_readable_name_in_the_evaluation_table():
    """The evaluation table (widgets/evaluation_table.py) names every metric evaluate() gives
    a translator (paired with SR stages, unpaired both ways), with a direction; counts of
    images and real-data references are not rows of their own."""
    from widgets.evaluation_table import INFO_KEYS, REFERENCE_SUFFIXES, metric_info
    keys = set()
    for engine, data, opts in ((StagedSR.name, "mnist-lowres", {"factor": 2}),
                               (CycleCopy.name, "mnist-thin-thick", {}),
                               (CopyTranslator.name, "mnist-edges", {})):
        keys |= set(evaluate(Trainer(_config(engine, data, **opts)), n=20))
    rows = {k for k in keys if k not in INFO_KEYS and not k.endswith(REFERENCE_SUFFIXES)}
    assert {"translation/examples", "back/examples"} <= keys - rows
    for k in sorted(rows):
        info = metric_info(k)
        assert info.name != k and info.help and info.better in ("lower", "higher"), k
