"""Sample-quality metrics through the bundled evaluator, on real MNIST images."""
import numpy as np
import pytest

from studio.core import metrics
from studio.core.data import load_dataset
from studio.core.evaluator import MnistEvaluator


@pytest.fixture(scope="module")
def images():
    ds = load_dataset("mnist")
    return ds.test_x[:2000].astype(np.float32) / 255.0


def _box_blur(x: np.ndarray, k: int) -> np.ndarray:
    """Separable k x k box blur with edge padding."""
    if k <= 1:
        return x
    pad = k // 2
    p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
    c = np.cumsum(np.cumsum(p, axis=2), axis=3)
    c = np.pad(c, ((0, 0), (0, 0), (1, 0), (1, 0)))
    h, w = x.shape[2], x.shape[3]
    s = c[:, :, k:k + h, k:k + w] - c[:, :, :h, k:k + w] - c[:, :, k:k + h, :w] + c[:, :, :h, :w]
    return s / (k * k)


def test_frechet_distance_of_a_set_with_itself_is_zero(images):
    f = MnistEvaluator.load().features(images)
    assert metrics.frechet_distance(f, f) < 1e-6


def test_frechet_distance_grows_with_noise_and_blur(images):
    """FD = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) on evaluator features grows
    monotonically as the images are degraded further (Heusel et al. 2017, fig. 3)."""
    ev = MnistEvaluator.load()
    ref = ev.features(images)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(images.shape).astype(np.float32)
    fd_noise = [metrics.frechet_distance(ref, ev.features(np.clip(images + s * noise, 0, 1)))
                for s in (0.0, 0.1, 0.2, 0.4, 0.8)]
    fd_blur = [metrics.frechet_distance(ref, ev.features(_box_blur(images, k)))
               for k in (1, 3, 5, 7)]
    assert fd_noise[0] < 1e-6 and fd_blur[0] < 1e-6
    assert all(a < b for a, b in zip(fd_noise, fd_noise[1:])), fd_noise
    assert all(a < b for a, b in zip(fd_blur, fd_blur[1:])), fd_blur


def test_precision_recall_of_real_images_against_themselves(images):
    f = MnistEvaluator.load().features(images)
    p, r = metrics.precision_recall(f, f, k=3)
    assert p == 1.0 and r == 1.0
