"""studio.core.metrics against closed forms and the papers' definitions (fast, numpy only)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from studio.core.metrics import (class_coverage, classifier_score, frechet_distance,
                            frechet_from_stats, gaussian_stats, manifold_radii, mode_metrics,
                            precision_recall)

# PacGAN protocol (REFERENCES.md): ring8 radius 1 sigma 0.01, grid25 {-4..4 step 2}^2 sigma 0.05
RING8 = np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], 1)
RING8_SIGMA = 0.01
GRID25 = np.array([(i, j) for i in (-4.0, -2.0, 0.0, 2.0, 4.0) for j in (-4.0, -2.0, 0.0, 2.0, 4.0)])
GRID25_SIGMA = 0.05
HQ_2D = 1.0 - math.exp(-4.5)     # P(||N(0, I_2)|| <= 3) = 0.98889


def _mixture(modes, sigma, n, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(modes), size=n)
    return modes[idx] + sigma * rng.standard_normal((n, modes.shape[1]))


# -- Frechet distance ----------------------------------------------------------------------
def test_gaussian_stats_is_mean_and_unbiased_covariance():
    x = np.random.default_rng(0).standard_normal((50, 4))
    mu, s = gaussian_stats(x)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(s, np.cov(x, rowvar=False))


@pytest.mark.parametrize("n,d", [(2000, 16), (40, 64)])   # the second has a singular covariance
def test_frechet_of_a_set_with_itself_is_zero(n, d):
    x = np.random.default_rng(1).standard_normal((n, d)) * np.linspace(0.1, 3.0, d)
    _, s = gaussian_stats(x)
    assert frechet_distance(x, x) <= 1e-6 * np.trace(s)


def test_frechet_closed_form_diagonal():
    """Diagonal covariances: d^2 = ||m1 - m2||^2 + sum_j (s1_j + s2_j - 2 sqrt(s1_j s2_j))."""
    m1, m2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, -1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 0.25])
    expected = np.sum((m1 - m2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_from_stats(m1, np.diag(s1), m2, np.diag(s2)) == pytest.approx(expected, rel=1e-12)
    # 1-D: (m1 - m2)^2 + (sd1 - sd2)^2
    assert frechet_from_stats([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_frechet_trace_term_matches_eigenvalues_of_the_product():
    """General SPD covariances: Tr((S1 S2)^{1/2}) = sum sqrt(eig(S1 S2)) (S1 S2 is similar to
    a PSD matrix, so its eigenvalues are real and non-negative): an independent route."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    s1, s2 = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    m1, m2 = rng.standard_normal(6), rng.standard_normal(6)
    tr = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real))
    expected = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr
    assert frechet_from_stats(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_from_stats(m1, s1, m2, s2) == pytest.approx(frechet_from_stats(m2, s2, m1, s1),
                                                               rel=1e-9)


def test_frechet_of_samples_approaches_the_closed_form():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((200_000, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, 0.0]
    b = rng.standard_normal((200_000, 3)) * [1.5, 1.0, 0.5] + [1.0, 0.0, 0.0]
    expected = 2.0 + (1.0 - 1.5) ** 2 + (2.0 - 1.0) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, abs=0.03)


def test_frechet_grows_with_noise():
    """Fixed features plus a fixed noise draw scaled by increasing levels."""
    rng = np.random.default_rng(4)
    feats = rng.standard_normal((2000, 16)) @ rng.standard_normal((16, 16))
    noise = rng.standard_normal(feats.shape)
    values = [frechet_distance(feats, feats + lvl * noise) for lvl in (0.0, 0.1, 0.3, 1.0, 3.0)]
    assert values[0] < 1e-6
    assert all(b > a for a, b in zip(values, values[1:])), values


def test_frechet_rejects_bad_input():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError):
        frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))


# -- precision / recall --------------------------------------------------------------------
def test_radii_are_kth_neighbour_distances_excluding_self():
    x = np.random.default_rng(5).standard_normal((60, 5)).astype(np.float32)
    d = np.sqrt(((x[:, None, :].astype(np.float64) - x[None]) ** 2).sum(-1))
    expected = np.sort(d, axis=1)[:, 3]          # column 0 is the point itself
    np.testing.assert_allclose(manifold_radii(x, k=3), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(manifold_radii(x, k=3, chunk=7), expected, rtol=1e-4, atol=1e-4)


def test_precision_recall_brute_force():
    rng = np.random.default_rng(6)
    real = rng.standard_normal((300, 8)).astype(np.float32)
    fake = (rng.standard_normal((250, 8)) * 1.3 + 0.4).astype(np.float32)

    def dist(a, b):
        return np.sqrt(((a[:, None, :].astype(np.float64) - b[None]) ** 2).sum(-1))

    r_real = np.sort(dist(real, real), 1)[:, 3]
    r_fake = np.sort(dist(fake, fake), 1)[:, 3]
    p_ref = np.mean((dist(fake, real) <= r_real[None]).any(1))
    r_ref = np.mean((dist(real, fake) <= r_fake[None]).any(1))
    p, r = precision_recall(real, fake, k=3, chunk=64)
    assert abs(p - p_ref) <= 2 / 250 and abs(r - r_ref) <= 2 / 300   # float32 ties at most
    assert 0.1 < p < 1.0 and 0.1 < r < 1.0


def test_precision_recall_of_a_set_with_itself_is_one():
    x = np.random.default_rng(7).standard_normal((2000, 32))
    p, r = precision_recall(x, x, k=3)
    assert p >= 0.99 and r >= 0.99


def test_precision_recall_disjoint_clusters_is_zero():
    rng = np.random.default_rng(8)
    real = rng.standard_normal((1000, 16))
    fake = rng.standard_normal((1000, 16)) + 50.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_mode_dropping_lowers_recall_not_precision():
    """Real: two clusters; fake: new draws from only one of them. (Precision of independent
    draws from the same distribution is below 1 for finite samples, more so in high
    dimension: 0.96 here in 4-D, 0.8 in 16-D.)"""
    rng = np.random.default_rng(9)
    centres = np.zeros((2, 4))
    centres[1, 0] = 40.0
    real = rng.standard_normal((2000, 4)) + centres[rng.integers(2, size=2000)]
    fake = rng.standard_normal((1000, 4))
    p, r = precision_recall(real, fake)
    assert p > 0.9
    assert 0.3 < r < 0.55


# -- class coverage ------------------------------------------------------------------------
def test_class_coverage_uniform():
    out = class_coverage(np.arange(1000) % 10, 10)
    assert out["covered"] == 10 and out["num_classes"] == 10 and out["n"] == 1000
    assert out["kl"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(out["counts"], np.full(10, 100))
    np.testing.assert_allclose(out["fractions"], np.full(10, 0.1))


def test_class_coverage_all_one_class():
    out = class_coverage(np.full(500, 3), 10)
    assert out["covered"] == 1
    assert out["kl"] == pytest.approx(math.log(10), abs=1e-9)   # KL(model || uniform)
    assert out["counts"][3] == 500 and out["counts"].sum() == 500


def test_class_coverage_data_distribution_min_count_and_probs():
    q = np.array([0.5, 0.25, 0.25])
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    out = class_coverage(labels, 3, data_distribution=q * 40, min_count=2)   # counts are normalised
    p = np.array([0.6, 0.3, 0.1])
    assert out["kl"] == pytest.approx(float(np.sum(p * np.log(p / q))), rel=1e-12)
    assert out["covered"] == 2
    probs = np.eye(3)[labels] * 0.8 + 0.2 / 3
    assert class_coverage(probs, 3)["counts"].tolist() == [6, 3, 1]
    # a class the data never has: large but finite KL
    assert math.isfinite(class_coverage([0, 1], 2, data_distribution=[1.0, 0.0])["kl"])
    with pytest.raises(ValueError):
        class_coverage([0, 10], 10)


# -- classifier score ----------------------------------------------------------------------
def test_classifier_score_confident_and_balanced_is_num_classes():
    probs = np.eye(10)[np.arange(1000) % 10]
    mean, std = classifier_score(probs, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_classifier_score_identical_predictions_is_one():
    probs = np.tile(np.random.default_rng(10).dirichlet(np.ones(10)), (500, 1))
    mean, std = classifier_score(probs)
    assert mean == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_classifier_score_matches_definition():
    """One split: exp(mean_x sum_y p(y|x) (log p(y|x) - log p(y)))."""
    p = np.random.default_rng(11).dirichlet(np.ones(5) * 0.3, size=400)
    py = p.mean(0)
    expected = math.exp(np.mean(np.sum(p * (np.log(p) - np.log(py)), 1)))
    assert classifier_score(p, splits=1)[0] == pytest.approx(expected, rel=1e-9)
    m, s = classifier_score(p, splits=4)
    parts = [classifier_score(p[i * 100:(i + 1) * 100], splits=1)[0] for i in range(4)]
    assert m == pytest.approx(np.mean(parts)) and s == pytest.approx(np.std(parts))
    assert 1.0 < m < 5.0


# -- PacGAN 2D protocol --------------------------------------------------------------------
def test_ring8_perfect_samples():
    out = mode_metrics(_mixture(RING8, RING8_SIGMA, 2500, 12), RING8, RING8_SIGMA)
    assert out["num_modes"] == 8 and out["modes_captured"] == 8 and out["n"] == 2500
    # Euclidean 3-sigma disc in 2-D: 1 - exp(-9/2) = 98.9% of perfect samples (binomial s.e. 0.2%)
    assert abs(out["high_quality_fraction"] - HQ_2D) < 0.008
    assert out["high_quality_fraction"] >= 0.98
    assert out["reverse_kl"] < 0.01
    assert out["per_mode_counts"].sum() == round(out["high_quality_fraction"] * 2500)
    assert out["assigned_counts"].sum() == 2500


def test_all_samples_at_one_mode():
    x = RING8[2] + RING8_SIGMA * np.random.default_rng(13).standard_normal((2500, 2))
    out = mode_metrics(x, RING8, RING8_SIGMA)
    assert out["modes_captured"] == 1
    assert out["reverse_kl"] == pytest.approx(math.log(8), abs=1e-12)
    assert out["per_mode_counts"][2] == out["per_mode_counts"].sum()


def test_samples_far_from_all_modes():
    x = np.random.default_rng(14).uniform(-0.5, 0.5, size=(2500, 2))    # inside the ring
    out = mode_metrics(x, RING8, RING8_SIGMA)
    assert out["high_quality_fraction"] == 0.0 and out["modes_captured"] == 0
    assert out["per_mode_counts"].sum() == 0
    assert out["assigned_counts"].sum() == 2500       # reverse KL still assigns every sample
    assert 0.0 <= out["reverse_kl"] < 0.05


def test_grid25_perfect_samples():
    out = mode_metrics(_mixture(GRID25, GRID25_SIGMA, 2500, 15), GRID25, GRID25_SIGMA)
    assert out["num_modes"] == 25 and out["modes_captured"] == 25
    assert abs(out["high_quality_fraction"] - HQ_2D) < 0.008
    assert out["reverse_kl"] < 0.02


def test_mode_metrics_by_hand():
    """Three samples at mode 0 (two within 3 sigma), one near mode 1 but at 4 sigma, one NaN:
    HQ = 2/5, captured = {0}; all finite samples assigned: p = (3/4, 1/4, 0, ...)."""
    s = RING8_SIGMA
    x = np.array([RING8[0], RING8[0] + [2.9 * s, 0], RING8[0] + [0, -5 * s],
                  RING8[1] + [4 * s, 0], [np.nan, 0.0]])
    out = mode_metrics(x, RING8, s)
    assert out["high_quality_fraction"] == pytest.approx(2 / 5)
    assert out["modes_captured"] == 1
    assert out["per_mode_counts"].tolist() == [2, 0, 0, 0, 0, 0, 0, 0]
    assert out["assigned_counts"].tolist() == [3, 1, 0, 0, 0, 0, 0, 0]
    assert out["reverse_kl"] == pytest.approx(0.75 * math.log(8 * 0.75) + 0.25 * math.log(8 * 0.25))
    # n_std changes the quality threshold only
    assert mode_metrics(x, RING8, s, n_std=6.0)["modes_captured"] == 2
