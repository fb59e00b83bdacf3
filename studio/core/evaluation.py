"""Every metric that applies to a run, measured the same way for every model (Qt-free).

Used by `genstudio eval`, the studio's Evaluate action and the benchmark suite, so the three
always agree. Sample-quality metrics on MNIST-shaped images use the bundled evaluator CNN
(studio/core/evaluator.py) and always report the real-data reference beside the value:

- quality/fd: Frechet distance between evaluator features (penultimate layer) of n samples
  and of the test split; quality/fd_floor: the same for n real *training* images against the
  test split, the value a perfect model would get at this n (FD is biased upward at small n).
- quality/precision, quality/recall (k = 3) against the test split; *_floor: real train vs test.
- quality/classifier_score (Inception Score analogue) with quality/classifier_score_real, the
  test split's own score (the ceiling).
- coverage/classes (classes with at least one sample), coverage/kl (KL of the predicted class
  histogram to the test split's class distribution).
2D mixtures with known modes (ring8, grid25) get the PacGAN protocol on 2,500 samples:
modes/captured, modes/high_quality (fraction), modes/reverse_kl.
Engines with an ELBO also get likelihood/iwae (k samples, on a subset of the test split)
beside likelihood/elbo on the same subset.
Translators (capability "translate": pix2pix, CycleGAN, SRGAN) get the translation
metrics of studio/core/translation_metrics.py instead of the sample-quality ones: L1, PSNR,
SSIM against the paired targets and a bicubic/identity baseline, class preservation, the
Frechet distance to the target domain (and for CycleGAN the way back).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from . import metrics
from .data import Dataset

PACGAN_SAMPLES = 2500


@dataclass
class RealReference:
    """Evaluator outputs of the real data, computed once per data set and n."""
    test_feats: np.ndarray
    test_probs: np.ndarray
    train_feats: np.ndarray
    test_stats: tuple
    class_distribution: np.ndarray
    fd_floor: float
    precision_floor: float
    recall_floor: float
    score_real: float


_REFERENCES: dict[tuple, RealReference] = {}


def evaluator_applies(ds: Dataset) -> bool:
    s = ds.spec
    return s.is_images and (s.channels, s.height, s.width) == (1, 28, 28)


def features_and_probs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evaluator features and class probabilities from one pass through the network."""
    from .evaluator import MnistEvaluator
    feats, logits = MnistEvaluator.load().features_and_logits(x)
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return feats, (e / e.sum(1, keepdims=True)).astype(np.float32)


def real_reference(ds: Dataset, n: int, seed: int = 0) -> RealReference:
    key = (ds.name, len(ds.train_x), len(ds.test_x), n, seed)
    if key not in _REFERENCES:
        rng = np.random.default_rng(seed)
        test = ds.test_x if len(ds.test_x) <= n else ds.test_x[np.sort(rng.choice(len(ds.test_x), n, replace=False))]
        train = ds.train_x[np.sort(rng.choice(len(ds.train_x), min(n, len(ds.train_x)), replace=False))]
        test_feats, test_probs = features_and_probs(test)
        train_feats, _ = features_and_probs(train)
        if ds.test_y is not None:
            dist = np.bincount(ds.test_y, minlength=10)[:10].astype(np.float64)
        else:
            dist = test_probs.mean(0)
        p_floor, r_floor = metrics.precision_recall(test_feats, train_feats, k=3)
        _REFERENCES[key] = RealReference(
            test_feats=test_feats, test_probs=test_probs, train_feats=train_feats,
            test_stats=metrics.gaussian_stats(test_feats),
            class_distribution=dist / dist.sum(),
            fd_floor=metrics.frechet_distance(train_feats, test_feats),
            precision_floor=p_floor, recall_floor=r_floor,
            score_real=metrics.classifier_score(test_probs)[0])
    return _REFERENCES[key]


def image_quality(samples: np.ndarray, ds: Dataset, seed: int = 0) -> dict[str, float]:
    """Evaluator-based metrics of image samples (N, 1, 28, 28) in [0, 1] against `ds`."""
    ref = real_reference(ds, len(samples), seed)
    feats, probs = features_and_probs(samples)
    mu, sigma = metrics.gaussian_stats(feats)
    precision, recall = metrics.precision_recall(ref.test_feats, feats, k=3)
    cov = metrics.class_coverage(probs.argmax(1), 10, ref.class_distribution)
    return {
        "quality/fd": metrics.frechet_from_stats(mu, sigma, *ref.test_stats),
        "quality/fd_floor": ref.fd_floor,
        "quality/precision": precision, "quality/precision_floor": ref.precision_floor,
        "quality/recall": recall, "quality/recall_floor": ref.recall_floor,
        "quality/classifier_score": metrics.classifier_score(probs)[0],
        "quality/classifier_score_real": ref.score_real,
        "coverage/classes": float(cov["covered"]),
        "coverage/kl": cov["kl"],
        "quality/samples": float(len(samples)),
    }


def mode_quality(samples: np.ndarray, ds: Dataset) -> dict[str, float]:
    m = metrics.mode_metrics(samples[:PACGAN_SAMPLES], ds.modes, ds.mode_sigma)
    return {"modes/captured": float(m["modes_captured"]), "modes/total": float(m["num_modes"]),
            "modes/high_quality": m["high_quality_fraction"], "modes/reverse_kl": m["reverse_kl"],
            "modes/samples": float(min(len(samples), PACGAN_SAMPLES))}


def draw_samples(engine, n: int, seed: int, batch: int = 1000) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    out = []
    with torch.no_grad():
        for start in range(0, n, batch):
            k = min(batch, n - start)
            out.append(engine.sample(k, z=engine.noise(k, generator=g)).float().cpu().numpy())
    engine.train(True)
    return np.concatenate(out)


def iwae_on_subset(trainer, k: int, n: int, seed: int = 0) -> dict[str, float]:
    engine = trainer.engine
    x = trainer.dataset.test_x[:n]
    xt = torch.as_tensor(x)
    xt = (xt.float() / 255.0 if xt.dtype == torch.uint8 else xt.float()).to(trainer.device)
    g = torch.Generator(device=trainer.device).manual_seed(seed)
    with torch.no_grad():
        iw, elbo = [], []
        for start in range(0, len(xt), 250):
            xb = xt[start:start + 250]
            iw.append(engine.iwae_bound(xb, k, generator=g).double().sum().item())
            elbo.append(engine.iwae_bound(xb, 1, generator=g).double().sum().item())
    engine.train(True)
    return {f"likelihood/iwae_k{k}": sum(iw) / len(xt), "likelihood/elbo_k1": sum(elbo) / len(xt),
            "likelihood/examples": float(len(xt))}


def evaluate(trainer, n: int = 10000, seed: int = 0, iwae_k: int = 64, iwae_n: int = 1000,
             progress: Optional[Callable[[str], None]] = None) -> dict[str, float]:
    """All metrics that apply to this trainer's engine and data, as one flat dict."""
    say = progress or (lambda s: None)
    ds = trainer.dataset
    out: dict[str, float] = {}
    held_out = len(ds.test_x) > 0
    if not held_out:       # test_fraction = 0: nothing held out to measure against
        say("no test split: held-out metrics and real-data references skipped")
    if held_out:
        say("held-out metrics of the engine")
        out.update(trainer.evaluate())
    if held_out and "elbo" in trainer.engine.capabilities and iwae_k > 1:
        say(f"importance-weighted bound, k = {iwae_k}")
        out.update(iwae_on_subset(trainer, iwae_k, min(iwae_n, len(ds.test_x)), seed))
    translator = "translate" in trainer.engine.capabilities
    if held_out and translator:
        # a translator's "samples" are translations of test sources: it gets the
        # translation metrics (studio/core/translation_metrics.py), not noise samples
        from .translation_metrics import translation_metrics
        out.update(translation_metrics(trainer, n=n, seed=seed, progress=say))
    elif held_out and evaluator_applies(ds):
        say(f"{n} samples through the evaluator")
        out.update(image_quality(draw_samples(trainer.engine, n, seed), ds, seed))
    if getattr(ds, "modes", None) is not None:
        say("PacGAN mode metrics on 2,500 samples")
        out.update(mode_quality(draw_samples(trainer.engine, PACGAN_SAMPLES, seed), ds))
    return {k: (float(v) if math.isfinite(float(v)) else float("nan")) for k, v in out.items()}
