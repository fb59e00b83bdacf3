"""Metrics of an image-to-image translator (issue 17, build 4), for `genstudio eval`, the
studio's Evaluate and bench/translation_quality.py (Qt-free). `evaluate()` in
studio/core/evaluation.py calls `translation_metrics` for every engine with the capability
"translate" (instead of scoring noise samples: a translator's samples are translations).

Everything is measured on n test images of each side (`--n`; all of them when the split
is smaller, else n drawn with `seed`: `scored_indices`), 1,000 at a time (fewer when the
images are larger than MNIST's), without gradients.
torch's global RNG is saved and restored around it (the engines' translations are
deterministic anyway); the random draws (those test images, the training images of the
real-data FD floor) come from numpy generators seeded with `seed`, so the numbers are the
same on every call.

Paired data (pix2pix, SRGAN), translate(test sources) against their test targets:
- translation/l1: mean |out - target| per image, averaged over images (lower is better);
- translation/psnr: 10 log10(1 / MSE) per image in dB (MSE floored at 1e-10: 100 dB at
  most, as engines/translation/base.psnr), averaged over images;
- translation/ssim: `ssim` below, averaged over images;
- baseline/*: the same for the baseline: bicubic upsampling of the source to the target
  size (torch interpolate, bicubic, align_corners=False, clamped to [0, 1]) when the sizes
  differ, the source itself (identity) when they match (a 1-channel source against a
  3-channel target is repeated on the channels; other channel mismatches have no baseline);
- srresnet/*: for engines with "sr_stages", the SRResNet stage (translate_stage(x,
  "srresnet")), so SRGAN, SRResNet and bicubic stand in one table (Ledig et al. 2017: SRGAN
  scores a lower PSNR than SRResNet but looks sharper; the FD below shows the sharpness).

When the target side is 1x28x28 (the bundled MNIST evaluator's input), for every translator:
- translation/class_preserved: the share of outputs whose evaluator class equals the input's
  class: the source's label (test_y2) when the data set has labels; otherwise, for paired
  data, the evaluator's class of the paired target, for unpaired data the evaluator's class
  of the source (when the source side is 1x28x28 too); else skipped with a message.
  translation/class_preserved_real: the evaluator's accuracy on the real target-side test
  images against their labels (what a perfect translator would get).
- translation/fd_to_target: the Frechet distance (studio.core.metrics) between evaluator
  features of the outputs and of n test images of the target side (paired: the very
  targets of the translated sources);
  translation/fd_to_target_floor: the same for n training images of the target side (drawn
  with `seed`) against those test images: what real data scores at this n. (For paired
  data a perfect translator reproduces the very test targets and scores 0.)
- baseline/class_preserved, baseline/fd_to_target, srresnet/... likewise.

Engines with "translate_back" (CycleGAN's F: target -> source), on n test images of the
target side, when the source side is 1x28x28:
- back/class_preserved (labels test_y) with back/class_preserved_real (the evaluator's
  accuracy on the real source-side test images), back/fd_to_source with its floor
  back/fd_to_source_floor (training vs test images of the source side);
- cycle/l1_source = mean |F(G(x)) - x| on the test sources, cycle/l1_target = mean
  |G(F(y)) - y| on the test targets (any image size).
translation/examples and back/examples count the test images used.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from engines.translation import psnr as engine_psnr, resize_bicubic

from . import metrics

BATCH = 1000
BATCH_VALUES = BATCH * 4 * 28 * 28     # larger images go in smaller batches (memory)
SSIM_WINDOW = 11          # Wang et al. 2004: an 11x11 circular-symmetric Gaussian window,
SSIM_SIGMA = 1.5          # standard deviation 1.5 pixels,
SSIM_K1, SSIM_K2 = 0.01, 0.03     # C1 = (K1 L)^2, C2 = (K2 L)^2
EVALUATOR_SHAPE = (1, 28, 28)


# -- per-image measures ------------------------------------------------------------------------
def l1(a: Tensor, b: Tensor) -> Tensor:
    """Per image mean absolute difference (n,), float64."""
    return (a.double() - b.double()).abs().flatten(1).mean(1)


def psnr(a: Tensor, b: Tensor) -> Tensor:
    """Per image PSNR in dB of images in [0, 1] (n,), float64: 10 log10(1 / MSE), with the
    MSE floored at 1e-10 (identical images score 100 dB)."""
    return engine_psnr(a.double(), b.double())


def gaussian_window(size: int, sigma: float = SSIM_SIGMA) -> Tensor:
    """The 1-D factor g of the separable window w = g g^T (float64, sums to 1): g_i ~
    exp(-d_i^2 / (2 sigma^2)) at the offsets d_i from the window's centre (MATLAB's
    fspecial('gaussian', size, sigma) is the outer product of this with itself)."""
    d = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-d * d / (2.0 * sigma * sigma))
    return g / g.sum()


def ssim(a: Tensor, b: Tensor, data_range: float = 1.0, window: int = SSIM_WINDOW,
         sigma: float = SSIM_SIGMA, k1: float = SSIM_K1, k2: float = SSIM_K2) -> Tensor:
    """Per image SSIM (n,) of images (n, C, H, W), float64 (Wang, Bovik, Sheikh & Simoncelli
    2004, "Image quality assessment: from error visibility to structural similarity", eq. 13,
    as their reference code ssim_index.m computes it):

        SSIM(x, y) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

    with mu, sigma^2 and sigma_xy the Gaussian-weighted local means, variances and covariance
    (window 11x11, sigma 1.5, weights summing to 1; sigma_x^2 = w*x^2 - mu_x^2), C1 = (0.01 L)^2,
    C2 = (0.03 L)^2, L = `data_range` (1 for images in [0, 1]). The map is taken at the VALID
    window positions only (the window wholly inside the image, MATLAB's filter2 'valid':
    (H - 10) x (W - 10) positions), and averaged over them and over the channels. An image
    smaller than the window gets the window cut to its size (the Gaussian renormalised), so
    one position remains."""
    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"ssim takes two (n, C, H, W) batches of one shape; got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    x, y = a.double(), b.double()
    n, c, h, w = x.shape
    gh = gaussian_window(min(window, h), sigma).to(x.device)
    gw = gaussian_window(min(window, w), sigma).to(x.device)
    kh = gh.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    kw = gw.view(1, 1, 1, -1).expand(c, 1, 1, -1)

    def blur(t: Tensor) -> Tensor:              # separable, valid positions, per channel
        return F.conv2d(F.conv2d(t, kh, groups=c), kw, groups=c)

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x * mu_x
    syy = blur(y * y) - mu_y * mu_y
    sxy = blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2)
    return (num / den).flatten(1).mean(1)


def baseline(src: Tensor, target_shape: tuple[int, ...]) -> Optional[Tensor]:
    """What a translator has to beat: bicubic upsampling of the source to the target size
    (align_corners=False, clamped to [0, 1]) when the sizes differ, the source itself when
    they match. A 1-channel source against a 3-channel target is repeated on the channels;
    None when the channels cannot be matched."""
    c, h, w = target_shape
    if src.shape[1] != c:
        if src.shape[1] != 1:
            return None
        src = src.expand(-1, c, -1, -1)
    return resize_bicubic(src.float(), (h, w), clamp=True)


def baseline_name(source_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> str:
    return ("the source itself (identity)" if tuple(source_shape[1:]) == tuple(target_shape[1:])
            else "bicubic resampling of the source to the target size")


# -- accumulating over batches -------------------------------------------------------------
class _Tally:
    """Sums of one family of outputs (translations, the baseline, the SRResNet stage):
    paired L1/PSNR/SSIM, and evaluator features and classes when the evaluator applies."""

    def __init__(self) -> None:
        self.n = 0
        self.sums = {"l1": 0.0, "psnr": 0.0, "ssim": 0.0}
        self.feats: list[np.ndarray] = []
        self.preds: list[np.ndarray] = []

    def paired(self, out: Tensor, target: Tensor) -> None:
        self.n += len(out)
        self.sums["l1"] += float(l1(out, target).sum())
        self.sums["psnr"] += float(psnr(out, target).sum())
        self.sums["ssim"] += float(ssim(out, target).sum())

    def evaluator(self, out: Tensor) -> None:
        f, p = _features_and_classes(out)
        self.feats.append(f)
        self.preds.append(p)

    def paired_means(self, prefix: str) -> dict[str, float]:
        if not self.n:
            return {}
        return {f"{prefix}/{k}": v / self.n for k, v in self.sums.items()}

    def features(self) -> np.ndarray:
        return np.concatenate(self.feats)

    def classes(self) -> np.ndarray:
        return np.concatenate(self.preds)


def _features_and_classes(x) -> tuple[np.ndarray, np.ndarray]:
    from .evaluator import MnistEvaluator
    if isinstance(x, Tensor):
        x = x.detach().float().cpu().numpy()
    feats, logits = MnistEvaluator.load().features_and_logits(x)
    return feats, logits.argmax(1).astype(np.int64)


def batch_size(image_shape) -> int:
    """1,000 MNIST-sized images at a time; fewer of larger ones (about the same memory)."""
    return max(1, min(BATCH, BATCH_VALUES // max(1, int(np.prod(image_shape)))))


def _as_float(a: np.ndarray, device: torch.device) -> Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a)).to(device)
    return t.float() / 255.0 if t.dtype == torch.uint8 else t.float()


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    return metrics.frechet_distance(a, b) if min(len(a), len(b)) >= 2 else float("nan")


SOURCE, TARGET = 0, 1     # the sides, also the streams of their draws


def scored_indices(size: int, n: int, seed: int, side: int) -> np.ndarray:
    """The test images of one side that are scored: all of them when n >= size, else n
    drawn without replacement by numpy's generator seeded with (seed, side), in index order.
    (A random subset, not the first n: MNIST's test split is ordered, its first 2,000
    images sit about 3x farther from the training images in FD than a random 2,000.)"""
    if n >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng([seed, side]).choice(size, n, replace=False))


def _floor(train: np.ndarray, test_feats: np.ndarray, seed: int, side: int) -> float:
    """FD of as many training images as test features (drawn with (seed, 2 + side); all
    of them when there are fewer) against those test features: what real data scores."""
    idx = scored_indices(len(train), len(test_feats), seed, 2 + side)
    feats, _ = _features_and_classes(train[idx])
    return _frechet(feats, test_feats)


def _share(pred: np.ndarray, labels: Optional[np.ndarray]) -> float:
    if labels is None or not len(pred):
        return float("nan")
    return float((pred == labels[:len(pred)]).mean())


# -- the metrics of a run ------------------------------------------------------------------
def translation_metrics(trainer, n: int = 10000, seed: int = 0,
                        progress: Optional[Callable[[str], None]] = None) -> dict[str, float]:
    """All translation metrics that apply to this trainer's engine and data (module doc),
    on n test images of each side (module doc)."""
    say = progress or (lambda s: None)
    engine, ds = trainer.engine, trainer.dataset
    if not ds.two_sided or ds.test_x2 is None or not len(ds.test_x2):
        say("no test split of the source side: translation metrics skipped")
        return {}
    rng_state = torch.get_rng_state()
    try:
        with torch.no_grad():
            out = _forward(trainer, n, seed, say)
            if "translate_back" in engine.capabilities and len(ds.test_x):
                out.update(_backward(trainer, n, seed, say))
    finally:
        torch.set_rng_state(rng_state)
        engine.train(True)
    return {k: float(v) for k, v in out.items()}


def _shape(a: np.ndarray) -> tuple[int, ...]:
    return tuple(int(s) for s in a.shape[1:])


def _forward(trainer, n: int, seed: int, say) -> dict[str, float]:
    engine, ds, device = trainer.engine, trainer.dataset, trainer.device
    caps = engine.capabilities
    paired = ds.pairing == "paired"
    src_shape, tgt_shape = _shape(ds.test_x2), _shape(ds.test_x)
    sel = scored_indices(len(ds.test_x2), n, seed, SOURCE)
    m = len(sel)
    ev_target = tgt_shape == EVALUATOR_SHAPE
    ev_source = src_shape == EVALUATOR_SHAPE
    stages = tuple(engine.sr_stages()) if "sr_stages" in caps else ()
    with_sr = "srresnet" in stages
    back = "translate_back" in caps
    labels = ds.test_y2[sel] if ds.test_y2 is not None else None
    label_note = "the source's label"
    if labels is None and ev_target:
        if paired:
            label_note = "the evaluator's class of the paired target (the data set has no labels)"
        elif ev_source:
            label_note = "the evaluator's class of the source (the data set has no labels)"
    say(f"translating {m:,} test {_side(ds, 0)} images ({'x'.join(map(str, src_shape))} -> "
        f"{'x'.join(map(str, tgt_shape))}); baseline: {baseline_name(src_shape, tgt_shape)}")
    if with_sr:
        say(f"SRGAN stage now: {engine.stage_now()} (before the adversarial phase SRResNet "
            f"and SRGAN are the same generator)")
    trans, base, sr, real = _Tally(), _Tally(), _Tally(), _Tally()
    src_preds: list[np.ndarray] = []
    cycle, has_base = 0.0, True
    bs = batch_size(max(src_shape, tgt_shape, key=lambda s: int(np.prod(s))))
    for i in range(0, m, bs):
        x = _as_float(ds.test_x2[sel[i:i + bs]], device)
        y = _as_float(ds.test_x[sel[i:i + bs]], device) if paired else None
        out = engine.translate(x).float()
        b = baseline(x, tgt_shape)
        has_base = has_base and b is not None
        s = engine.translate_stage(x, "srresnet").float() if with_sr else None
        if paired:
            trans.paired(out, y)
            if b is not None:
                base.paired(b, y)
            if s is not None:
                sr.paired(s, y)
        if ev_target:
            trans.evaluator(out)
            if b is not None:
                base.evaluator(b)
            if s is not None:
                sr.evaluator(s)
            if paired:
                real.evaluator(y)
            elif labels is None and ev_source:
                src_preds.append(_features_and_classes(x)[1])
        if back:
            cycle += float(l1(engine.translate_back(out).float(), x).sum())
    res: dict[str, float] = {"translation/examples": float(m)}
    if paired:
        res.update(trans.paired_means("translation"))
        if has_base:
            res.update(base.paired_means("baseline"))
        if with_sr:
            res.update(sr.paired_means("srresnet"))
    if back and m:
        res["cycle/l1_source"] = cycle / m
    if not ev_target:
        say(f"class preservation and Frechet distance skipped: the target side is "
            f"{'x'.join(map(str, tgt_shape))}; the MNIST evaluator reads 1x28x28 images")
        return res
    if m == 0:
        return res
    # the reference images of the target side: the paired targets, or the first test images
    if paired:
        ref_feats, ref_preds = real.features(), real.classes()
        real_labels = labels
        if labels is None:
            labels = ref_preds
            real_labels = None           # the evaluator's own classes: nothing to compare
    else:
        sel_t = scored_indices(len(ds.test_x), n, seed, TARGET)
        ref_feats, ref_preds = _features_and_classes(ds.test_x[sel_t])
        real_labels = ds.test_y[sel_t] if ds.test_y is not None else None
        if labels is None and src_preds:
            labels = np.concatenate(src_preds)
    if labels is None:
        say("class preservation skipped: the data set has no labels and the source side "
            f"is {'x'.join(map(str, src_shape))}, which the MNIST evaluator cannot read")
    else:
        say(f"class preservation: the evaluator's class of each output against {label_note}")
        res["translation/class_preserved"] = _share(trans.classes(), labels)
        if real_labels is not None:
            res["translation/class_preserved_real"] = _share(ref_preds, real_labels)
        if has_base:
            res["baseline/class_preserved"] = _share(base.classes(), labels)
        if with_sr:
            res["srresnet/class_preserved"] = _share(sr.classes(), labels)
    say(f"Frechet distance of the outputs to {len(ref_feats):,} test {_side(ds, 1)} images "
        f"(evaluator features) and the real-data floor")
    res["translation/fd_to_target"] = _frechet(trans.features(), ref_feats)
    res["translation/fd_to_target_floor"] = _floor(ds.train_x, ref_feats, seed, TARGET)
    if has_base:
        res["baseline/fd_to_target"] = _frechet(base.features(), ref_feats)
    if with_sr:
        res["srresnet/fd_to_target"] = _frechet(sr.features(), ref_feats)
    return res


def _backward(trainer, n: int, seed: int, say) -> dict[str, float]:
    """F: target -> source on n test images of the target side."""
    engine, ds, device = trainer.engine, trainer.dataset, trainer.device
    src_shape, tgt_shape = _shape(ds.test_x2), _shape(ds.test_x)
    # paired sides are scored on the same pairs both ways
    sel = scored_indices(len(ds.test_x), n, seed, SOURCE if ds.pairing == "paired" else TARGET)
    m = len(sel)
    ev_source = src_shape == EVALUATOR_SHAPE
    ev_target = tgt_shape == EVALUATOR_SHAPE
    say(f"translating back {m:,} test {_side(ds, 1)} images")
    back, cycle = _Tally(), 0.0
    in_preds: list[np.ndarray] = []
    bs = batch_size(max(src_shape, tgt_shape, key=lambda s: int(np.prod(s))))
    for i in range(0, m, bs):
        y = _as_float(ds.test_x[sel[i:i + bs]], device)
        out = engine.translate_back(y).float()
        cycle += float(l1(engine.translate(out).float(), y).sum())
        if ev_source:
            back.evaluator(out)
            if ds.test_y is None and ev_target:
                in_preds.append(_features_and_classes(y)[1])
    res: dict[str, float] = {"back/examples": float(m)}
    if m:
        res["cycle/l1_target"] = cycle / m
    if not ev_source or m == 0:
        if not ev_source:
            say(f"class preservation and Frechet distance of the way back skipped: the source "
                f"side is {'x'.join(map(str, src_shape))}; the MNIST evaluator reads 1x28x28 "
                f"images")
        return res
    labels = ds.test_y[sel] if ds.test_y is not None else (
        np.concatenate(in_preds) if in_preds else None)
    sel_s = scored_indices(len(ds.test_x2), n, seed, SOURCE)
    ref_feats, ref_preds = _features_and_classes(ds.test_x2[sel_s])
    if labels is not None:
        res["back/class_preserved"] = _share(back.classes(), labels)
        if ds.test_y2 is not None:
            res["back/class_preserved_real"] = _share(ref_preds, ds.test_y2[sel_s])
    res["back/fd_to_source"] = _frechet(back.features(), ref_feats)
    res["back/fd_to_source_floor"] = _floor(ds.train_x2, ref_feats, seed, SOURCE)
    return res


def _side(ds, i: int) -> str:
    sides = getattr(ds, "sides", ()) or ()
    if len(sides) == 2 and sides[i]:
        return f"{'source' if i == 0 else 'target'} ({sides[i]})"
    return "source" if i == 0 else "target"

