"""Mode-collapse monitor for image runs (Qt-free: numpy + torch, through the evaluator).

Every fixed-z sample snapshot (the same latent vectors each time, `Trainer.preview`) is
scored against the real training images, so the numbers are comparable over a run:

class_hist, classes_covered, kl_to_data  (only where the MNIST evaluator applies: 1x28x28)
    The evaluator CNN (studio/core/evaluator.py) labels each sample with its argmax class;
    class_hist is the share of samples per class. A class is *covered* when at least one
    sample falls in it (the VEEGAN / PacGAN "modes captured" convention: Srivastava et al.
    2017, sec. 5.2; Lin et al. 2018, Table 2; computed by `metrics.class_coverage` with
    min_count = 1). kl_to_data = KL(model || data) = sum_k p_k log(p_k / q_k) in nats, p the
    samples' histogram (not smoothed: 0 log 0 = 0), q the evaluator's class shares on the
    real reference pool with add-one (Laplace) smoothing, q_k = (c_k + 1) / (M + K), so every
    q_k > 0 and the KL is always finite. A batch of N real images has KL > 0 from sampling
    alone (about (K - 1) / (2N) nats: 0.07 for N = 64), which is recorded as real_kl.

diversity, real_diversity
    Mean pairwise Euclidean distance between the samples of one batch, over all N(N-1)/2
    pairs: in the evaluator's 128-d penultimate features (fc1 after ReLU) where it applies,
    otherwise in pixels as the RMS per-pixel difference (images area-averaged to at most
    32x32 first; 0..1 units). The intra-batch statistic behind minibatch discrimination
    (Salimans et al. 2016, sec. 3.2) and the sample-diversity score of BicycleGAN (Zhu et
    al. 2017, mean pairwise distance of samples). real_diversity is the same statistic on
    same-size batches of real images, mean and standard deviation over BASELINE_DRAWS
    random batches from the reference pool (computed once per batch size).

duplicates
    Pairs (i, j, distance) of samples closer than `duplicate_threshold`, in the same
    space as diversity. The threshold is the 1st percentile of the nearest-neighbour
    distances within the real reference pool (M images, each to its nearest other pool
    image): closer than 99% of real images are to their nearest real neighbour among M. For
    a batch of N real images the expected number of flagged pairs is then roughly
    N^2 / 2 * 0.01 / M (0.01 for N = 64, M = 2000); `RealBaseline.duplicate_pairs` measures
    it on the baseline draws. Near-duplicates in a batch of N suggest a support of about N^2 distinct
    images: the birthday-paradox test of Arora, Risteski & Zhang 2018 ("Do GANs learn the
    distribution? Some theory and empirics", ICLR 2018). At most MAX_PAIRS closest pairs
    are kept; duplicate_pairs counts them all.

alert (edge-triggered: once per drop, re-armed on recovery)
    Raised when any of these becomes true while no alert is active:
    - classes_covered < half of real_classes_covered (what a real batch of the same size
      covers) in 3 snapshots in a row, at step 1000 or later: a model collapsed from its
      first snapshot never "drops". Healthy models start narrow too (measured on MNIST with
      the examples' settings: a VAE covers 1 class at steps 100-200 and 6 at 300, a DCGAN 1
      at 100 and 7 at 200, a DDPM 4 at 250 and 8 at 500), hence the step and the streak;
    - classes_covered <= (best classes_covered so far) - 2;
    - kl_to_data >= (lowest kl_to_data so far) + 0.5 nats;
    - diversity < 0.5 x real_diversity, once diversity has been at or above that level at
      least once (so early, not-yet-trained samples do not alert);
    - duplicate_share >= 0.25 (a quarter of the samples have a near-duplicate), once it has
      been below that at least once (the only class-free signal besides diversity, so
      pixel-space runs alert too).
    (The numbers are `AlertRules` defaults.) The alert re-arms when no rule is low any more,
    with hysteresis for KL (below best + kl_rise / 2) and duplicates (share below 0.125).
    Reloading a run's history replays this state, so a drop that was already reported is
    not reported again.

Usage (on the engine host thread; see the lead's wiring notes)::

    monitor = ModeMonitor.for_dataset(trainer.dataset)      # ~0.6 s once per run (2000 images)
    monitor.load_history(history_path(run_dir), max_step=trainer.step)
    rec = monitor.update(step, samples)                    # ~15 ms for 64 images on 2 cores
    append_history(history_path(run_dir), [rec])
    if rec.alert:
        save_alert_snapshot(run_dir, step, samples, rec.alert, rec.duplicates)

`RunMonitor` does all of this for one run as a trainer callback (studio.core.callbacks):
`genstudio train` and the GUI's engine host both add one to their `train()` calls.
"""
from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np
import torch

from . import metrics
from .callbacks import Callback

__all__ = [
    "ModeMonitor", "ModeRecord", "RealBaseline", "AlertRules", "history_path", "append_history",
    "read_history", "truncate_history", "save_alert_snapshot", "alert_snapshot_path",
    "unavailable_reason", "HISTORY_FILE", "UNAVAILABLE_POINTS",
]

HISTORY_FILE = "mode_monitor.jsonl"
UNAVAILABLE_POINTS = "Mode-collapse view needs image data; 2D runs use the canvas."
DEFAULT_POOL = 2000           # real reference images (evaluator: ~0.5 s to score once)
BASELINE_DRAWS = 16           # real batches averaged for the real-data baselines
DUPLICATE_PERCENTILE = 1.0    # threshold = this percentile of real nearest-neighbour distances
MAX_PAIRS = 32                # closest duplicate pairs kept per record
PIXEL_SIDE = 32               # pixel space: images area-averaged to at most this side
EVALUATOR_SHAPE = (1, 28, 28)


@dataclass(frozen=True)
class AlertRules:
    """When an alert is raised (see the module docstring)."""
    coverage_drop: int = 2          # classes below the best classes_covered so far
    kl_rise: float = 0.5            # nats above the lowest kl_to_data so far
    diversity_floor: float = 0.5    # fraction of the real-data diversity
    duplicate_share: float = 0.25   # share of samples that have a near-duplicate
    low_coverage: float = 0.5       # fraction of a real batch's classes covered ...
    low_coverage_snapshots: int = 3  # ... in this many snapshots in a row ...
    low_coverage_min_step: int = 1000    # ... alerts from this step on


@dataclass(frozen=True)
class RealBaseline:
    """The monitor's statistics on real batches of one size n (BASELINE_DRAWS draws)."""
    n: int
    diversity: float
    diversity_std: float
    kl: Optional[float]
    kl_std: Optional[float]
    classes_covered: Optional[float]
    duplicate_pairs: float          # mean flagged pairs per real batch (false-alarm rate)


@dataclass
class ModeRecord:
    """One snapshot's mode-collapse measurements (plain numpy / Python values only).

    step: training step of the fixed-z snapshot; n: samples in it.
    class_hist: (K,) float64 shares of evaluator argmax classes (sum 1), None without the
        evaluator. data_hist: (K,) the real data's (smoothed) shares, the reference.
    classes_covered: classes with >= 1 sample (None without the evaluator); num_classes: K.
    kl_to_data: KL(class_hist || data_hist) in nats; real_kl: its mean on real batches of
        size n (the sampling-noise floor); real_classes_covered: mean coverage of real batches.
    diversity: mean pairwise distance within the batch; real_diversity / real_diversity_std:
        mean and std over real batches of size n; diversity_space: "features" (evaluator
        fc1, Euclidean) or "pixels" (RMS per-pixel difference, 0..1).
    duplicates: up to MAX_PAIRS (i, j, distance) pairs, i < j, closest first;
        duplicate_pairs: how many pairs were below duplicate_threshold in all;
        duplicate_share: share of the n samples that are in at least one such pair.
    alert: a message when this snapshot raised an alert, else None.
    ms: time update() took, milliseconds.
    """
    step: int
    n: int
    class_hist: Optional[np.ndarray]
    data_hist: Optional[np.ndarray]
    classes_covered: Optional[int]
    num_classes: Optional[int]
    kl_to_data: Optional[float]
    real_kl: Optional[float]
    real_classes_covered: Optional[float]
    diversity: float
    real_diversity: float
    real_diversity_std: float
    diversity_space: str
    duplicates: list[tuple[int, int, float]] = field(default_factory=list)
    duplicate_pairs: int = 0
    duplicate_share: float = 0.0
    duplicate_threshold: float = 0.0
    alert: Optional[str] = None
    ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None); `from_dict` reads it back."""
        def num(v, nd=6):
            if v is None:
                return None
            v = float(v)
            return round(v, nd) if math.isfinite(v) else None

        def arr(a):
            return None if a is None else [num(v) for v in np.asarray(a, np.float64)]

        return {
            "step": int(self.step), "n": int(self.n),
            "class_hist": arr(self.class_hist), "data_hist": arr(self.data_hist),
            "classes_covered": None if self.classes_covered is None else int(self.classes_covered),
            "num_classes": None if self.num_classes is None else int(self.num_classes),
            "kl_to_data": num(self.kl_to_data), "real_kl": num(self.real_kl),
            "real_classes_covered": num(self.real_classes_covered),
            "diversity": num(self.diversity), "real_diversity": num(self.real_diversity),
            "real_diversity_std": num(self.real_diversity_std),
            "diversity_space": self.diversity_space,
            "duplicates": [[int(i), int(j), num(d)] for i, j, d in self.duplicates],
            "duplicate_pairs": int(self.duplicate_pairs),
            "duplicate_share": num(self.duplicate_share),
            "duplicate_threshold": num(self.duplicate_threshold),
            "alert": self.alert, "ms": num(self.ms, 3),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ModeRecord":
        def f(v):
            return float("nan") if v is None else float(v)

        def opt(v):
            return None if v is None else float(v)

        def arr(a):
            return None if a is None else np.array([f(v) for v in a], np.float64)

        return cls(
            step=int(d["step"]), n=int(d.get("n", 0)),
            class_hist=arr(d.get("class_hist")), data_hist=arr(d.get("data_hist")),
            classes_covered=None if d.get("classes_covered") is None else int(d["classes_covered"]),
            num_classes=None if d.get("num_classes") is None else int(d["num_classes"]),
            kl_to_data=opt(d.get("kl_to_data")), real_kl=opt(d.get("real_kl")),
            real_classes_covered=opt(d.get("real_classes_covered")),
            diversity=f(d.get("diversity")), real_diversity=f(d.get("real_diversity")),
            real_diversity_std=f(d.get("real_diversity_std")),
            diversity_space=str(d.get("diversity_space", "")),
            duplicates=[(int(i), int(j), f(dd)) for i, j, dd in d.get("duplicates") or []],
            duplicate_pairs=int(d.get("duplicate_pairs", 0)),
            duplicate_share=f(d.get("duplicate_share", 0.0)),
            duplicate_threshold=f(d.get("duplicate_threshold")),
            alert=d.get("alert"), ms=f(d.get("ms")),
        )


# ----------------------------------------------------------------------------- helpers

def unavailable_reason(dataset) -> Optional[str]:
    """Why a data set cannot be monitored (None when it can)."""
    spec = dataset.spec
    if not spec.is_images:
        return UNAVAILABLE_POINTS
    if len(dataset.train_x) < 2:
        return "Mode-collapse view needs at least two training images."
    return None


def _as_float_images(x, what: str) -> np.ndarray:
    """(N, C, H, W) uint8 or float -> float32 in [0, 1] (non-finite values become 0)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.ndim != 4:
        raise ValueError(f"{what} must be images (N, C, H, W), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if not np.issubdtype(a.dtype, np.floating) and a.dtype != np.bool_:
        raise TypeError(f"{what} must be uint8 or float images, got dtype {a.dtype}")
    a = np.nan_to_num(a.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(a, 0.0, 1.0)


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run torch work with at most n intra-op threads, then restore the setting. The monitor's
    batches are small: on a busy 2-core machine 2 spinning threads took 120 ms for 64 images
    where 1 thread took 15 ms (measured; see ModeMonitor.threads)."""
    before = torch.get_num_threads()
    if n <= 0 or n >= before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _pairwise(feats: np.ndarray) -> np.ndarray:
    """(N, N) Euclidean distances in float64 (diagonal 0)."""
    f = np.asarray(feats, np.float64)
    sq = (f * f).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (f @ f.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(d2)


def _nn_distances(feats: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Distance from each row to its nearest other row (float64 (M,)), chunked."""
    f = torch.as_tensor(np.ascontiguousarray(feats, np.float32))
    sq = (f * f).sum(1)
    out = np.empty(len(f), np.float64)
    for s in range(0, len(f), chunk):
        d2 = torch.addmm(sq[None, :], f[s:s + chunk], f.T, alpha=-2.0)
        d2 += sq[s:s + chunk, None]
        idx = torch.arange(s, min(s + chunk, len(f)))
        d2[idx - s, idx] = float("inf")
        out[s:s + chunk] = d2.clamp_(min=0.0).min(1).values.sqrt().double().numpy()
    return out


def _mean_pair_distance(d: np.ndarray) -> float:
    n = len(d)
    if n < 2:
        return float("nan")
    return float(d[np.triu_indices(n, 1)].mean())


def _close_pairs(d: np.ndarray, threshold: float, limit: int = MAX_PAIRS
                 ) -> tuple[list[tuple[int, int, float]], int, float]:
    """Pairs i < j with d[i, j] < threshold, closest first (at most `limit`), their count,
    and the share of the N rows that are in at least one such pair."""
    n = len(d)
    iu, ju = np.triu_indices(n, 1)
    vals = d[iu, ju]
    hit = np.flatnonzero(vals < threshold)
    order = hit[np.argsort(vals[hit], kind="stable")][:limit]
    involved = np.unique(np.concatenate([iu[hit], ju[hit]])) if len(hit) else ()
    share = len(involved) / n if n else float("nan")
    return [(int(iu[k]), int(ju[k]), float(vals[k])) for k in order], int(len(hit)), share


# ----------------------------------------------------------------------------- monitor

class ModeMonitor:
    """Scores fixed-z sample batches for mode collapse against real images (module doc).

    real_images: (M, C, H, W) uint8 or float in [0, 1]; at most `pool` of them (a seeded
    random subset) form the reference pool. labels: optional (M,) ints; with the evaluator
    they give `evaluator_agreement` (the evaluator's accuracy on the pool; low values mean
    its digit classes do not describe this data set, e.g. Fashion-MNIST).
    use_evaluator: None = when the images are 1x28x28 and the evaluator file loads.
    threads: torch intra-op threads for the monitor's own work (0 = leave as configured).
    The default 1 keeps the per-snapshot cost low and predictable beside training: the
    setting is process-wide, so it is lowered only for the duration of each call and then
    restored (cheap: about a microsecond; the next training step is not slowed).
    """

    def __init__(self, real_images, labels=None, *, pool: int = DEFAULT_POOL, seed: int = 0,
                 use_evaluator: Optional[bool] = None, rules: AlertRules = AlertRules(),
                 evaluator_path: Optional[str | os.PathLike] = None, threads: int = 1):
        self.threads = int(threads)
        with _torch_threads(self.threads):
            self._setup(real_images, labels, pool, seed, use_evaluator, rules, evaluator_path)

    def _setup(self, real_images, labels, pool, seed, use_evaluator, rules, evaluator_path) -> None:
        t0 = time.perf_counter()
        shape = tuple(np.shape(real_images))
        if len(shape) != 4 or shape[0] < 2:
            raise ValueError(f"real_images must be at least two images (M, C, H, W), got shape {shape}")
        m = shape[0]
        self.rules = rules
        self.seed = int(seed)
        self.image_shape = shape[1:]
        rng = np.random.default_rng(self.seed)
        idx = np.sort(rng.choice(m, pool, replace=False)) if m > pool else np.arange(m)
        real = _as_float_images(np.asarray(real_images)[idx], "real_images")
        self.note = ""
        self._evaluator = None
        if use_evaluator is None:
            use_evaluator = self.image_shape == EVALUATOR_SHAPE
            if use_evaluator:
                try:
                    self._evaluator = self._load_evaluator(evaluator_path)
                except Exception as e:  # noqa: BLE001 - a missing/bad file only costs the class view
                    use_evaluator = False
                    self.note = f"class view off: {e}"
        elif use_evaluator:
            if self.image_shape != EVALUATOR_SHAPE:
                raise ValueError(f"the MNIST evaluator needs 1x28x28 images, got {self.image_shape}")
            self._evaluator = self._load_evaluator(evaluator_path)
        self.uses_evaluator = bool(use_evaluator)
        self.space = "features" if self.uses_evaluator else "pixels"

        self._pool_feats, pool_probs = self._embed(real)
        self.pool_size = len(real)
        if self.uses_evaluator:
            self._pool_pred = pool_probs.argmax(1)
            self.num_classes: Optional[int] = pool_probs.shape[1]
            counts = np.bincount(self._pool_pred, minlength=self.num_classes).astype(np.float64)
            self.data_hist: Optional[np.ndarray] = (counts + 1.0) / (counts.sum() + self.num_classes)
            self.evaluator_agreement: Optional[float] = None
            if labels is not None:
                y = np.asarray(labels).reshape(-1)
                if len(y) == m:
                    self.evaluator_agreement = float((self._pool_pred == y[idx]).mean())
        else:
            self._pool_pred = None
            self.num_classes = None
            self.data_hist = None
            self.evaluator_agreement = None
        nn = _nn_distances(self._pool_feats)
        self.real_nn_distances = nn
        self.duplicate_threshold = float(np.percentile(nn, DUPLICATE_PERCENTILE))
        self._baselines: dict[int, RealBaseline] = {}
        self.records: list[ModeRecord] = []
        self._reset_alert_state()
        self.setup_seconds = time.perf_counter() - t0

    @classmethod
    def for_dataset(cls, dataset, **kw: Any) -> "ModeMonitor":
        """A monitor over a studio `Dataset`'s training images (and labels). Raises
        ValueError with a user-facing message for data it cannot monitor (2D points)."""
        why = unavailable_reason(dataset)
        if why:
            raise ValueError(why)
        return cls(dataset.train_x, dataset.train_y, **kw)

    @staticmethod
    def _load_evaluator(path):
        from .evaluator import MnistEvaluator
        return MnistEvaluator.load(path)

    # -------------------------------------------------------------------- embedding

    def _embed(self, images: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Features (N, D) in the monitor's space, and class probabilities (N, K) or None."""
        if self.uses_evaluator:
            feats, logits = self._evaluator.features_and_logits(images)
            z = logits - logits.max(1, keepdims=True)
            e = np.exp(z)
            return feats, e / e.sum(1, keepdims=True)
        x = torch.from_numpy(np.ascontiguousarray(images, np.float32))
        h, w = x.shape[-2:]
        if max(h, w) > PIXEL_SIDE:
            s = PIXEL_SIDE / max(h, w)
            x = torch.nn.functional.adaptive_avg_pool2d(
                x, (max(1, round(h * s)), max(1, round(w * s))))
        flat = x.reshape(len(x), -1)
        return (flat / math.sqrt(flat.shape[1])).numpy(), None

    # -------------------------------------------------------------------- baselines

    def baseline(self, n: int) -> RealBaseline:
        """Real-data statistics for batches of n images (cached per n)."""
        n = int(min(max(n, 2), self.pool_size))
        b = self._baselines.get(n)
        if b is not None:
            return b
        rng = np.random.default_rng([self.seed, n])
        divs, kls, covs, dups = [], [], [], []
        for _ in range(BASELINE_DRAWS):
            idx = rng.choice(self.pool_size, n, replace=False)
            d = _pairwise(self._pool_feats[idx])
            divs.append(_mean_pair_distance(d))
            dups.append(_close_pairs(d, self.duplicate_threshold, 0)[1])
            if self._pool_pred is not None:
                cov = metrics.class_coverage(self._pool_pred[idx], self.num_classes, self.data_hist)
                kls.append(cov["kl"])
                covs.append(cov["covered"])
        b = RealBaseline(
            n=n, diversity=float(np.mean(divs)), diversity_std=float(np.std(divs)),
            kl=float(np.mean(kls)) if kls else None, kl_std=float(np.std(kls)) if kls else None,
            classes_covered=float(np.mean(covs)) if covs else None,
            duplicate_pairs=float(np.mean(dups)))
        self._baselines[n] = b
        return b

    # -------------------------------------------------------------------- scoring

    def measure(self, step: int, samples) -> ModeRecord:
        """Score one batch without touching the history or the alert state."""
        t0 = time.perf_counter()
        x = _as_float_images(samples, "samples")
        if x.shape[1:] != self.image_shape:
            raise ValueError(f"samples have shape {x.shape[1:]} per image, the real data "
                             f"{self.image_shape}")
        n = len(x)
        if n == 0:
            raise ValueError("samples is empty")
        with _torch_threads(self.threads):
            feats, probs = self._embed(x)
        d = _pairwise(feats)
        base = self.baseline(n)
        pairs, count, share = _close_pairs(d, self.duplicate_threshold)
        hist = covered = kl = None
        if probs is not None:
            cov = metrics.class_coverage(probs.argmax(1), self.num_classes, self.data_hist)
            hist, covered, kl = cov["fractions"], cov["covered"], cov["kl"]
        return ModeRecord(
            step=int(step), n=n, class_hist=hist,
            data_hist=None if self.data_hist is None else self.data_hist.copy(),
            classes_covered=covered, num_classes=self.num_classes, kl_to_data=kl,
            real_kl=base.kl, real_classes_covered=base.classes_covered,
            diversity=_mean_pair_distance(d), real_diversity=base.diversity,
            real_diversity_std=base.diversity_std, diversity_space=self.space,
            duplicates=pairs, duplicate_pairs=count, duplicate_share=share,
            duplicate_threshold=self.duplicate_threshold,
            ms=1000.0 * (time.perf_counter() - t0))

    def update(self, step: int, samples) -> ModeRecord:
        """Score the fixed-z batch of `step`, check the alert rules, keep the record.

        samples: (N, C, H, W) float in [0, 1] (or uint8), the same image shape as the real
        data. A step at or before the last record's (a run resumed from an earlier
        checkpoint, or the same snapshot again) first drops those later records."""
        if self.records and step <= self.records[-1].step:
            self._drop_from(step)
        rec = self.measure(step, samples)
        rec.alert = self._check_alert(rec)
        self.records.append(rec)
        rec.ms = round(rec.ms, 3)
        return rec

    # -------------------------------------------------------------------- alerts

    def _reset_alert_state(self) -> None:
        self._best_covered: Optional[int] = None
        self._best_covered_step = 0
        self._best_kl: Optional[float] = None
        self._low_since: Optional[int] = None     # first step of the low-coverage streak
        self._low_count = 0
        self._low_most = 0                         # most classes covered in the streak
        self._diversity_armed = False
        self._duplicates_armed = False
        self._alerting = False

    @property
    def alerting(self) -> bool:
        """True between an alert and the recovery that re-arms it."""
        return self._alerting

    def _check_alert(self, rec: ModeRecord) -> Optional[str]:
        """Update the running best values and the armed / alerting state with `rec`; return
        a message when an alert is raised (edge-triggered). Each rule gives (firing, still
        low): an alert needs a firing rule while not alerting; recovery needs no rule low."""
        r = self.rules
        reasons: list[str] = []
        low = False
        cov = rec.classes_covered
        if cov is not None:
            best = self._best_covered
            if best is not None and cov <= best - r.coverage_drop:
                reasons.append(f"coverage dropped to {cov} of {rec.num_classes} classes "
                               f"(best {best}, at step {self._best_covered_step})")
                low = True
            if best is None or cov > best:
                self._best_covered, self._best_covered_step = cov, rec.step
            ref = rec.real_classes_covered or rec.num_classes
            if ref and cov < r.low_coverage * ref:
                if self._low_since is None:
                    self._low_since, self._low_count, self._low_most = rec.step, 0, 0
                self._low_count += 1
                self._low_most = max(self._low_most, cov)
                if (self._low_count >= r.low_coverage_snapshots
                        and rec.step >= r.low_coverage_min_step):
                    most = "" if self._low_most == cov else f", at most {self._low_most}"
                    reasons.append(f"only {cov} of {rec.num_classes} classes{most} since step "
                                   f"{self._low_since}")
                    low = True
            else:
                self._low_since = None
        kl = rec.kl_to_data
        if kl is not None and math.isfinite(kl):
            best_kl = self._best_kl
            if best_kl is not None:
                if kl >= best_kl + r.kl_rise:
                    reasons.append(f"KL to the data's class mix rose to {kl:.2f} nats "
                                   f"(best {best_kl:.2f})")
                low = low or kl >= best_kl + r.kl_rise / 2          # hysteresis
            if best_kl is None or kl < best_kl:
                self._best_kl = kl
        if math.isfinite(rec.diversity) and math.isfinite(rec.real_diversity) and rec.real_diversity > 0:
            if rec.diversity < r.diversity_floor * rec.real_diversity:
                if self._diversity_armed:
                    reasons.append(f"diversity fell to {rec.diversity:.3g}, "
                                   f"{100 * rec.diversity / rec.real_diversity:.0f}% of real "
                                   f"data's {rec.real_diversity:.3g}")
                    low = True
            else:
                self._diversity_armed = True
        share = rec.duplicate_share
        if math.isfinite(share):
            if share >= r.duplicate_share:
                if self._duplicates_armed:
                    reasons.append(f"{round(share * rec.n)} of {rec.n} samples have a "
                                   f"near-duplicate ({rec.duplicate_pairs} pairs)")
                    low = True
            else:
                self._duplicates_armed = True
                low = low or (self._alerting and share >= r.duplicate_share / 2)
        if reasons and not self._alerting:
            self._alerting = True
            return "Possible mode collapse: " + "; ".join(reasons) + "."
        if self._alerting and not low:
            self._alerting = False
        return None

    def _replay(self, records: Sequence[ModeRecord]) -> None:
        self._reset_alert_state()
        for rec in records:
            self._check_alert(rec)      # restores best values and the armed state; no messages

    def _drop_from(self, step: int) -> None:
        self.records = [r for r in self.records if r.step < step]
        self._replay(self.records)

    # -------------------------------------------------------------------- history

    def restore(self, records: Iterable[ModeRecord]) -> None:
        """Adopt earlier records (a reopened run) and rebuild the alert state from them."""
        self.records = list(records)
        self._replay(self.records)

    def load_history(self, path: str | os.PathLike, max_step: Optional[int] = None) -> list[ModeRecord]:
        """Read a history file (see `read_history`), adopt it, and return the records."""
        recs = read_history(path, max_step)
        self.restore(recs)
        return recs

    def history_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.records]


# ----------------------------------------------------------------------------- files

def history_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / HISTORY_FILE


def append_history(path: str | os.PathLike, records: Iterable[ModeRecord | Mapping[str, Any]]) -> None:
    """Append records as JSON lines (one per record)."""
    lines = "".join(json.dumps(r.to_dict() if isinstance(r, ModeRecord) else dict(r)) + "\n"
                    for r in records)
    if not lines:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a+b") as f:
        if f.tell() > 0:                    # a line cut short by a crash stays on its own
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                lines = "\n" + lines
        f.write(lines.encode("utf-8"))


def read_history(path: str | os.PathLike, max_step: Optional[int] = None) -> list[ModeRecord]:
    """Records of a history file in step order. Lines that do not parse (cut short by a
    crash) are skipped; a record whose step is not after the previous one replaces the
    records from that step on (the run was resumed from an earlier checkpoint); records
    after `max_step` are left out."""
    p = Path(path)
    if not p.is_file():
        return []
    out: list[ModeRecord] = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rec = ModeRecord.from_dict(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue
        if max_step is not None and rec.step > max_step:
            continue
        while out and out[-1].step >= rec.step:
            out.pop()
        out.append(rec)
    return out


def truncate_history(path: str | os.PathLike, max_step: int) -> None:
    """Rewrite a history file without records after `max_step` (atomic), as
    `Run.truncate_metrics` does for metrics on resume."""
    from .atomic import write_text
    p = Path(path)
    if p.is_file():
        write_text(p, "".join(json.dumps(r.to_dict()) + "\n" for r in read_history(p, max_step)))


def alert_snapshot_path(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / "samples" / f"alert-step{int(step):08d}.png"


def save_alert_snapshot(run_dir: str | os.PathLike, step: int, samples, message: str,
                        duplicates: Sequence[Sequence[float]] = (), engine: str = "",
                        seed: Optional[int] = None) -> Path:
    """Write the alerting batch as RUN/samples/alert-step{step:08d}.png (atomic): the same
    grid as the regular snapshots, with the samples of near-duplicate pairs framed in red,
    and provenance text chunks (`export.provenance`: config, step, versions) plus "alert"
    (the message) and "duplicates" ("i-j:distance" items). Returns the path."""
    from .export import provenance
    from .images import image_grid, save_png, to_uint8
    x = np.asarray(samples)
    if x.ndim != 4:
        raise ValueError(f"alert snapshots need images (N, C, H, W), got shape {x.shape}")
    imgs = x if x.dtype == np.uint8 else to_uint8(np.nan_to_num(x.astype(np.float32)))
    marked = {int(i) for pair in duplicates for i in pair[:2]}
    if marked:
        if imgs.shape[1] == 1:
            imgs = np.repeat(imgs, 3, axis=1)
        imgs = imgs[:, :3].copy()
        for i in marked:
            if 0 <= i < len(imgs):
                for t in (0, -1):                      # a one-pixel red frame inside the cell
                    imgs[i, :, t, :] = np.array([230, 40, 40], np.uint8)[:, None]
                    imgs[i, :, :, t] = np.array([230, 40, 40], np.uint8)[:, None]
    config_path = Path(run_dir) / "config.toml"
    config = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    dup_text = " ".join(f"{int(p[0])}-{int(p[1])}:{float(p[2]):.4g}" for p in duplicates)
    meta = provenance(config_toml=config, seed=seed, step=int(step), engine=engine,
                      extra={"alert": message, "duplicates": dup_text})
    path = alert_snapshot_path(run_dir, step)
    save_png(path, image_grid(imgs), meta)
    return path


class RunMonitor(Callback):
    """The monitor of one run, as the GUI's engine host and `genstudio train` use it: built
    for image runs, its history in RUN/mode_monitor.jsonl cut back to the run's step (a resumed
    run forgets records past its checkpoint), every snapshot scored and appended, and the
    samples saved when an alert fires. `reason` says why a run is not monitored (points).
    It never draws from torch's global RNG: that is the training run's stream (checkpointed,
    restored on resume), and the monitor starts after a resume and scores beside training
    (tests/studio/test_exact_resume.py).

    As a trainer callback (on_snapshot) it scores each image snapshot on the training thread,
    or, given an `executor` (the GUI host's one-thread side executor), there, in order; then
    `on_record(record, samples, note)` gets the result. An error in scoring goes to
    `on_error(exception)`, or is raised (stopping training) when there is none. Its state
    is the history file, so nothing of it goes into checkpoints."""

    def __init__(self, trainer, *, executor: Optional[Executor] = None,
                 on_record: Optional[Callable[[ModeRecord, np.ndarray, str], None]] = None,
                 on_error: Optional[Callable[[Exception], None]] = None, **kw: Any) -> None:
        self.trainer = trainer
        self.executor, self.on_record, self.on_error = executor, on_record, on_error
        self._last: Optional[Future] = None
        self.monitor: Optional[ModeMonitor] = None
        self.history: list[ModeRecord] = []
        self.reason = unavailable_reason(trainer.dataset)
        if self.reason is not None:
            return
        try:
            mon = ModeMonitor.for_dataset(trainer.dataset, **kw)
            run = trainer.run
            if run is not None:
                hp = history_path(run.path)
                truncate_history(hp, trainer.step)
                self.history = mon.load_history(hp, max_step=trainer.step)
            self.monitor = mon
        except Exception as e:  # noqa: BLE001 - a missing evaluator must not stop a run
            self.reason = f"Mode-collapse view unavailable: {e}"

    def on_samples(self, step: int, samples) -> Optional[tuple[ModeRecord, str]]:
        """Score one snapshot; returns (record, note about a saved alert snapshot)."""
        if self.monitor is None or np.ndim(samples) != 4:
            return None
        t = self.trainer
        rec = self.monitor.update(step, samples)
        note = ""
        if t.run is not None:
            append_history(history_path(t.run.path), [rec])
            if rec.alert:
                path = save_alert_snapshot(t.run.path, step, samples, rec.alert, rec.duplicates,
                                           engine=t.engine.name, seed=t.config.run.seed)
                note = f"Samples saved to {path.relative_to(t.run.path)}"
        return rec, note

    def on_snapshot(self, trainer, step: int, samples: np.ndarray) -> None:
        if self.monitor is None or np.ndim(samples) != 4:
            return
        engine = trainer.engine
        if "temperature" in engine.capabilities and engine.temperature != 1.0:
            # the gallery shows a flow at T < 1, less diverse by design: the monitor judges
            # the model's own samples (T = 1, the same fixed codes), or it would cry collapse
            with torch.no_grad():
                samples = engine.sample(len(trainer.eval_z), z=trainer.eval_z).float().cpu().numpy()
            engine.train(True)
        if self.executor is None:
            self._score(step, samples)
        else:
            self._last = self.executor.submit(self._score, step, samples)

    def _score(self, step: int, samples: np.ndarray) -> None:
        try:
            out = self.on_samples(step, samples)
        except Exception as e:  # noqa: BLE001 - with on_error, the monitor never stops training
            if self.on_error is None:
                raise
            self.on_error(e)
            return
        if out is not None and self.on_record is not None:
            self.on_record(out[0], samples, out[1])

    def wait(self, timeout: Optional[float] = None) -> None:
        """Until every snapshot handed to the executor is scored (errors went to on_error)."""
        last = self._last
        if last is not None:
            try:
                last.result(timeout)
            except Exception:  # noqa: BLE001
                pass
