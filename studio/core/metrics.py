"""Sample-quality metrics as plain functions on numpy arrays (Qt-free, scipy-free).

Every function takes features / labels / points already computed by someone else (the
evaluator network, a classifier, the engine's sampler) and returns floats or a dict of
floats and numpy arrays, so the same code serves the CLI, the bench scripts and the GUI.

- `frechet_distance`, `gaussian_stats`, `frechet_from_stats`: Frechet distance between
  Gaussians fitted to two feature sets (FID; Heusel et al. 2017).
- `precision_recall`: k-NN manifold precision and recall (Kynkaanniemi et al. 2019).
- `classifier_score`: the Inception-Score analogue with any classifier (Salimans et al. 2016).
- `class_coverage`: label histogram, KL to the data's label distribution, classes covered
  (the "modes covered" / KL of VEEGAN, Srivastava et al. 2017, and PacGAN, Lin et al. 2018).
- `mode_metrics`: the PacGAN 2D protocol (modes captured, % high quality, reverse KL) for
  ring8 / grid25 style mixtures.

numpy does the small dense linear algebra in float64; torch is only used for the batched
pairwise distances of `precision_recall` (fast matmul on the CPU, bounded memory).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

__all__ = [
    "gaussian_stats", "frechet_from_stats", "frechet_distance", "precision_recall",
    "manifold_radii", "classifier_score", "class_coverage", "mode_metrics",
]


# -- Frechet distance ----------------------------------------------------------------------
def _as_features(feats, name: str) -> np.ndarray:
    a = np.asarray(feats, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, D) of features, got shape {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples to estimate a covariance, "
                         f"got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def gaussian_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of features (N, D), float64: (mu (D,), sigma (D, D)).

    The unbiased sample covariance (divide by N - 1), as in the reference FID code
    (`np.cov(act, rowvar=False)`, Heusel et al. 2017, TTUR repository `fid.py`)."""
    a = _as_features(feats, "feats")
    mu = a.mean(axis=0)
    centred = a - mu
    sigma = centred.T @ centred / (a.shape[0] - 1)
    return mu, sigma


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric square root U sqrt(max(L, 0)) U^T of a symmetric PSD matrix S = U L U^T
    (eigenvalues below zero are round-off and are clipped)."""
    s = 0.5 * (s + s.T)
    lam, u = np.linalg.eigh(s)
    return (u * np.sqrt(np.clip(lam, 0.0, None))) @ u.T


def frechet_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet (2-Wasserstein) distance between N(mu1, S1) and N(mu2, S2):

        d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

    (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
    Nash Equilibrium", eq. 6; Dowson & Landau 1982). This is the squared distance, the
    number usually reported as FID.

    The trace term without scipy: with A = S1^{1/2} (eigendecomposition, negative
    round-off eigenvalues clipped), S1 S2 = A (A S2 A) A^{-1} is similar to the symmetric PSD
    matrix A S2 A = (A B)(A B)^T with B = S2^{1/2}, so

        Tr((S1 S2)^{1/2}) = sum_i sqrt(eig_i(A S2 A)) = sum_i singular_value_i(A B),

    the nuclear norm of S1^{1/2} S2^{1/2}. Taking the singular values of A B (instead of
    eigenvalues of A S2 A and their square roots) avoids squaring the condition number, so
    the distance of a set to itself comes out ~0 to ~1e-12 relative, even for singular
    covariances (N < D). All in float64; the result is clipped at 0."""
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"shape mismatch: mu1 {mu1.shape}, sigma1 {s1.shape}, mu2 {mu2.shape}, "
                         f"sigma2 {s2.shape}")
    a = _psd_sqrt(s1)
    b = _psd_sqrt(s2)
    tr_covmean = float(np.linalg.svd(a @ b, compute_uv=False).sum())
    diff = mu1 - mu2
    dist = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * tr_covmean
    return max(dist, 0.0)


def frechet_distance(feats_a, feats_b) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_a, D), (N_b, D):
    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}) (Heusel et al. 2017, eq. 6).
    With Inception pool3 features this is FID; here it is whatever feature network the
    caller used, so values are only comparable for the same network, layer and sample
    count (the estimate is biased upward at small N; see `frechet_from_stats`)."""
    mu1, s1 = gaussian_stats(feats_a)
    mu2, s2 = gaussian_stats(feats_b)
    if mu1.shape != mu2.shape:
        raise ValueError(f"feature dimensions differ: {mu1.shape[0]} vs {mu2.shape[0]}")
    return frechet_from_stats(mu1, s1, mu2, s2)


# -- k-NN precision and recall --------------------------------------------------------------
_MAX_BLOCK = 1 << 25    # float32 entries of one distance block (128 MB)


def _chunk_rows(chunk: Optional[int], n_cols: int) -> int:
    if chunk is not None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        return int(chunk)
    return max(64, min(2048, _MAX_BLOCK // max(n_cols, 1)))


def _torch_feats(feats, name: str):
    import torch
    a = np.asarray(feats)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, D), got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    t = torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32))
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _sq_dists(x, y, y_sq):
    """Squared Euclidean distances (len(x), len(y)) via ||x||^2 + ||y||^2 - 2 x.y (one
    fused matmul), clipped at 0."""
    import torch
    d = torch.addmm(y_sq[None, :], x, y.T, alpha=-2.0)
    d += (x * x).sum(1, keepdim=True)
    return d.clamp_(min=0.0)


def manifold_radii(feats, k: int = 3, chunk: Optional[int] = None) -> np.ndarray:
    """Radius of each point's k-NN hypersphere: the distance to its k-th nearest neighbour
    within the same set, the point itself excluded (Kynkaanniemi et al. 2019, the radius
    ||phi' - NN_k(phi')|| of eq. 1). Returns float64 (N,). Rows are processed `chunk` at a time, so
    memory is O(chunk * N) (default: as many rows as fit in ~128 MB, at most 2048)."""
    x = _torch_feats(feats, "feats")
    return _radii(x, k, _chunk_rows(chunk, x.shape[0])).double().numpy()


def _radii(x, k: int, chunk: int):
    import torch
    n = x.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, N - 1] = [1, {n - 1}], got {k}")
    x_sq = (x * x).sum(1)
    out = torch.empty(n, dtype=torch.float32)
    for i in range(0, n, chunk):
        d = _sq_dists(x[i:i + chunk], x, x_sq)
        # Sorted row: position 0 is the point itself (distance 0), position k is the k-th
        # neighbour (as in the authors' code: np.partition(...)[:, k]). topk beats kthvalue.
        out[i:i + chunk] = torch.topk(d, k + 1, dim=1, largest=False).values[:, k]
    return out.sqrt_()


def _cross_coverage(real, fake, real_r, fake_r, chunk: int) -> tuple[float, float]:
    """One pass over the (fake, real) distance matrix, `chunk` fake rows at a time:
    fake i is inside the real manifold when any_j ||f_i - r_j|| <= real_r_j; real j is
    inside the fake manifold when any_i ||f_i - r_j|| <= fake_r_i."""
    import torch
    real_rsq = real_r * real_r
    fake_rsq = fake_r * fake_r
    real_sq = (real * real).sum(1)
    fake_in = 0
    real_in = torch.zeros(real.shape[0], dtype=torch.bool)
    for i in range(0, fake.shape[0], chunk):
        d = _sq_dists(fake[i:i + chunk], real, real_sq)
        fake_in += int((d <= real_rsq[None, :]).any(1).sum())
        real_in |= (d <= fake_rsq[i:i + chunk, None]).any(0)
    return fake_in / fake.shape[0], float(real_in.sum()) / real.shape[0]


def precision_recall(real_feats, fake_feats, k: int = 3,
                     chunk: Optional[int] = None) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi, Karras, Laine, Lehtinen & Aila 2019,
    "Improved Precision and Recall Metric for Assessing Generative Models", NeurIPS 2019,
    eq. 1 (the manifold indicator f) and eq. 2 (precision and recall)).

    The manifold of a set Phi is the union of hyperspheres centred at each phi in Phi with
    radius NND_k(phi), the distance to its k-th nearest neighbour in Phi (itself excluded):
        f(phi, Phi) = 1 if ||phi - phi'|| <= NND_k(phi') for at least one phi' in Phi,
        precision = mean over fake samples of f(fake, Phi_real)
        recall    = mean over real samples of f(real, Phi_fake)
    The paper uses k = 3 with VGG-16 fc2 features and 50k samples per set.

    Distances are Euclidean in float32, computed `chunk` rows at a time with one matmul
    (default: as many rows as fit in a ~128 MB block, at most 2048), so memory is
    O(chunk * N); three passes in all (radii of each set, then one pass over the
    fake-vs-real block that serves both precision and recall). 10k x 10k sets of 128-d
    features take a few seconds on two CPU cores. Ties count as inside (<=).
    Returns (precision, recall) as floats in [0, 1]."""
    real = _torch_feats(real_feats, "real_feats")
    fake = _torch_feats(fake_feats, "fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature dimensions differ: {real.shape[1]} vs {fake.shape[1]}")
    real_r = _radii(real, k, _chunk_rows(chunk, real.shape[0]))
    fake_r = _radii(fake, k, _chunk_rows(chunk, fake.shape[0]))
    return _cross_coverage(real, fake, real_r, fake_r, _chunk_rows(chunk, real.shape[0]))


# -- classifier score (Inception Score analogue) -------------------------------------------
def classifier_score(probs, splits: int = 10) -> tuple[float, float]:
    """Inception Score analogue with any classifier's softmax outputs probs (N, C):

        IS = exp( E_x KL(p(y|x) || p(y)) ),   p(y) = E_x p(y|x)

    (Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 4). As in the
    authors' code (openai/improved-gan `inception_score.py`), the N samples are cut into
    `splits` consecutive parts (part i = rows [i N / splits, (i + 1) N / splits)), p(y) is
    the mean of each part, and the result is the mean and the (population, ddof=0) standard
    deviation of the per-part scores. Terms with p(y|x) = 0 contribute 0 (0 log 0 = 0).
    Ranges from 1 (every sample gets the same distribution) to C (confident predictions
    spread evenly over the C classes). Rows are renormalised to sum to 1."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be (N, C), got shape {p.shape}")
    n = p.shape[0]
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be in [1, N] = [1, {n}], got {splits}")
    if np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ValueError("probs must be finite and non-negative")
    p = p / p.sum(axis=1, keepdims=True)
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0)
        scores.append(math.exp(float(terms.sum(axis=1).mean())))
    return float(np.mean(scores)), float(np.std(scores))


# -- class coverage ------------------------------------------------------------------------
KL_EPS = 1e-12


def class_coverage(pred_labels, num_classes: int, data_distribution=None,
                   min_count: int = 1) -> dict:
    """Histogram of predicted classes of generated samples, its KL divergence to the data's
    class distribution, and the number of classes covered (the "modes captured" and "KL" of
    VEEGAN, Srivastava et al. 2017, sec. 5.2, and PacGAN, Lin et al. 2018, Table 2, on
    (stacked) MNIST).

    pred_labels: (N,) integer class ids in [0, num_classes), or (N, C) class probabilities
        (then the argmax is the predicted label).
    data_distribution: (C,) class probabilities (or counts; normalised here) of the data;
        None means uniform, 1/C each.
    min_count: a class is covered when at least `min_count` samples fall in it (default 1,
        the VEEGAN/PacGAN convention: one sample is enough).

    KL direction: KL(model || data) = sum_k p_k log(p_k / q_k), where p is the histogram of
    the generated samples and q the data distribution. Bins with p_k = 0 contribute 0
    (0 log 0 = 0, exactly, no smoothing); q_k is floored at KL_EPS = 1e-12 so a sample in a
    class the data never has gives a large but finite KL (log(p_k / 1e-12)). So all samples
    in one class against a uniform q gives exactly log C, a uniform histogram gives 0.

    Returns {"counts": int64 (C,), "fractions": float64 (C,), "kl": float,
    "covered": int, "num_classes": C, "n": N}."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    lab = np.asarray(pred_labels)
    if lab.ndim == 2:
        if lab.shape[1] != num_classes:
            raise ValueError(f"probabilities have {lab.shape[1]} columns, expected {num_classes}")
        lab = lab.argmax(axis=1)
    if lab.ndim != 1:
        raise ValueError(f"pred_labels must be (N,) labels or (N, C) probabilities, "
                         f"got shape {lab.shape}")
    if lab.size == 0:
        raise ValueError("pred_labels is empty")
    if not np.issubdtype(lab.dtype, np.integer):
        if not np.all(lab == np.round(lab)):
            raise ValueError("pred_labels must be integer class ids")
        lab = lab.astype(np.int64)
    if lab.min() < 0 or lab.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got range "
                         f"[{lab.min()}, {lab.max()}]")
    counts = np.bincount(lab, minlength=num_classes).astype(np.int64)
    n = int(counts.sum())
    p = counts / n
    if data_distribution is None:
        q = np.full(num_classes, 1.0 / num_classes)
    else:
        q = np.asarray(data_distribution, dtype=np.float64)
        if q.shape != (num_classes,) or np.any(q < 0) or q.sum() <= 0:
            raise ValueError(f"data_distribution must be {num_classes} non-negative numbers "
                             f"with a positive sum, got {q}")
        q = q / q.sum()
    q = np.maximum(q, KL_EPS)
    nz = p > 0
    kl = float(np.sum(p[nz] * np.log(p[nz] / q[nz])))
    return {"counts": counts, "fractions": p, "kl": kl,
            "covered": int(np.sum(counts >= min_count)), "num_classes": int(num_classes),
            "n": n}


# -- PacGAN 2D protocol --------------------------------------------------------------------
def mode_metrics(samples, modes, sigma, n_std: float = 3.0, chunk: int = 8192) -> dict:
    """Mode-collapse scores of 2D (or any-dim) samples from a Gaussian mixture with known
    means, the protocol of PacGAN (Lin, Khetan, Fanti & Oh 2018, "PacGAN: The power of two
    samples in generative adversarial networks", sec. 4.1, Table 1; after VEEGAN,
    Srivastava et al. 2017) with the reverse KL of the Self-Conditioned GAN code:

    - a sample is high quality when its Euclidean distance to its nearest mode is at most
      n_std * sigma (3 sigma);
    - a mode is captured when at least one high-quality sample has it as nearest mode;
    - reverse KL: EVERY sample is assigned to its nearest mode (high quality or not),
      p_k = share of samples at mode k, reverse KL = sum_k p_k log(K p_k) = KL(p || uniform),
      with 0 log 0 = 0. It is 0 for balanced samples and log K when all fall on one mode.

    Scored on 2,500 samples in the papers. Note: for perfect samples from an isotropic 2-D
    Gaussian the 3-sigma disc holds 1 - exp(-9/2) = 98.9% of them, not 99.7% (that is the
    1-D figure), so ~98.9% high quality is the ceiling on ring8 / grid25.

    samples (N, D); modes (K, D); sigma: the mixture std, a float or (K,) per mode (then
    the threshold uses the nearest mode's sigma). Returns {"num_modes": K,
    "modes_captured": int, "high_quality_fraction": float in [0, 1], "reverse_kl": float,
    "per_mode_counts": int64 (K,) high-quality samples per mode, "assigned_counts":
    int64 (K,) all samples per nearest mode, "n": N}. Non-finite samples (a diverged
    generator) count as not high quality and are left out of the reverse KL."""
    x = np.asarray(samples, dtype=np.float64)
    m = np.asarray(modes, dtype=np.float64)
    if x.ndim != 2 or m.ndim != 2 or x.shape[1] != m.shape[1]:
        raise ValueError(f"samples (N, D) and modes (K, D) must agree, got {x.shape} and {m.shape}")
    if x.shape[0] == 0 or m.shape[0] == 0:
        raise ValueError("samples and modes must not be empty")
    k = m.shape[0]
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (k,))
    if np.any(sig <= 0):
        raise ValueError(f"sigma must be positive, got {sigma}")
    finite = np.all(np.isfinite(x), axis=1)
    nearest = np.zeros(x.shape[0], dtype=np.int64)
    dist = np.full(x.shape[0], np.inf)
    idx = np.flatnonzero(finite)
    for i in range(0, idx.size, chunk):
        rows = idx[i:i + chunk]
        d2 = ((x[rows, None, :] - m[None, :, :]) ** 2).sum(-1)      # (chunk, K), K is small
        j = np.argmin(d2, axis=1)
        nearest[rows] = j
        dist[rows] = np.sqrt(d2[np.arange(rows.size), j])
    hq = finite & (dist <= n_std * sig[nearest])
    per_mode = np.bincount(nearest[hq], minlength=k).astype(np.int64)
    assigned = np.bincount(nearest[finite], minlength=k).astype(np.int64)
    n_assigned = int(assigned.sum())
    if n_assigned:
        p = assigned / n_assigned
        nz = p > 0
        reverse_kl = float(np.sum(p[nz] * np.log(k * p[nz])))
    else:
        reverse_kl = float("nan")
    return {"num_modes": int(k), "modes_captured": int(np.sum(per_mode > 0)),
            "high_quality_fraction": float(hq.sum() / x.shape[0]), "reverse_kl": reverse_kl,
            "per_mode_counts": per_mode, "assigned_counts": assigned, "n": int(x.shape[0])}
