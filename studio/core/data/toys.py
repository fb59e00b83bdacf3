"""2D toy point sets. ring8 and grid25 follow the PacGAN paper (Lin et al. 2018) exactly,
so mode coverage numbers are comparable with published ones."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from engines.params import param

from .common import points_dataset, rng_streams
from .dataset import Dataset

RING8_MODES = np.stack([np.cos(2 * np.pi * np.arange(8) / 8),
                        np.sin(2 * np.pi * np.arange(8) / 8)], axis=1)   # radius 1
RING8_SIGMA = 0.01
GRID25_MODES = np.array([(i, j) for i in (-4.0, -2.0, 0.0, 2.0, 4.0)
                         for j in (-4.0, -2.0, 0.0, 2.0, 4.0)])
GRID25_SIGMA = 0.05


@dataclass
class MixtureOptions:
    n: int = param(100000, "Number of training points (PacGAN uses 100000).", min=1,
                   max=10_000_000)
    n_test: int = param(10000, "Number of held-out points.", min=0, max=10_000_000)


@dataclass
class NoisyToyOptions:
    n: int = param(20000, "Number of training points.", min=1, max=10_000_000)
    n_test: int = param(10000, "Number of held-out points.", min=0, max=10_000_000)
    noise: float = param(0.05, "Std of the Gaussian noise added to every point.", min=0.0,
                         max=1.0)


def _mixture(modes: np.ndarray, sigma: float):
    def draw(n: int, rng: np.random.Generator, _noise: float):
        k = rng.integers(0, len(modes), n)
        return modes[k] + sigma * rng.standard_normal((n, modes.shape[1])), k
    return draw


def _spiral(n: int, rng: np.random.Generator, noise: float):
    # One arm of the 2D swiss roll (sklearn's parametrisation), scaled to about [-1.4, 1.4].
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 10
    return x + noise * rng.standard_normal((n, 2)), None


def _moons(n: int, rng: np.random.Generator, noise: float):
    # Two interleaving half circles as in sklearn.datasets.make_moons (label = moon).
    k = rng.integers(0, 2, n)
    t = rng.uniform(0, np.pi, n)
    x = np.where(k[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    return x + noise * rng.standard_normal((n, 2)), k


def _loader(name: str, draw: Callable, modes=None, sigma: float = 0.0):
    def load(options, seed: int = 0) -> Dataset:
        noise = getattr(options, "noise", 0.0)
        train_rng, test_rng = rng_streams(seed)
        tx, ty = draw(options.n, train_rng, noise)
        vx, vy = draw(options.n_test, test_rng, noise)
        as_y = (lambda y: None if y is None else y.astype(np.int64))
        extra = {} if modes is None else {"modes": modes.copy(), "mode_sigma": sigma}
        return points_dataset(name, tx, as_y(ty), vx, as_y(vy), **extra)
    load.__name__ = f"load_{name}"
    return load


load_ring8 = _loader("ring8", _mixture(RING8_MODES, RING8_SIGMA), RING8_MODES, RING8_SIGMA)
load_grid25 = _loader("grid25", _mixture(GRID25_MODES, GRID25_SIGMA), GRID25_MODES,
                      GRID25_SIGMA)
load_spiral = _loader("spiral", _spiral)
load_moons = _loader("moons", _moons)
