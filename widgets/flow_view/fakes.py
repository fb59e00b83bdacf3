"""Fake data for the flow view's preview and tests (kept out of the panel's modules, beside
the shared harness in widgets/preview.py)."""
from __future__ import annotations

import numpy as np

from ..preview import _drawn_images



def _fake_flow_maps(K: int = 6):
    """K invertible maps of the plane (a standardisation, then additive couplings that
    alternate the coordinate they move) with their inverses: a made-up 2D flow."""
    def coupling(i: int):
        a, b, c = 0.9 * (-1) ** i, 1.3 + 0.2 * i, 0.4 * i
        j = i % 2

        def fwd(p: np.ndarray) -> np.ndarray:
            q = p.copy()
            q[:, 1 - j] = p[:, 1 - j] - a * np.sin(b * p[:, j] + c)
            return q

        def inv(q: np.ndarray) -> np.ndarray:
            p = q.copy()
            p[:, 1 - j] = q[:, 1 - j] + a * np.sin(b * q[:, j] + c)
            return p
        return fwd, inv
    mean, std = np.array([0.5, 0.25]), np.array([0.87, 0.5])
    maps = [(lambda p: (p - mean) / std, lambda q: q * std + mean)]
    maps += [coupling(i) for i in range(K - 1)]
    names = ["standardise"] + [f"coupling {i + 1}" for i in range(K - 1)]
    return names, maps


def fake_flow_layers(n: int = 1200, seed: int = 0, res: int = 64) -> dict:
    """A "flow_layers" result of a made-up flow on two moons: stages of the data, the latent
    grid pulled back to every stage, and a density and log-det field over the data box."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper[:, None], np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)) + 0.06 * rng.standard_normal((n, 2))
    names, maps = _fake_flow_maps()
    stages = [x]
    for fwd, _inv in maps:
        stages.append(fwd(stages[-1]))
    u = np.linspace(-2.5, 2.5, 41)
    v = np.linspace(-2.5, 2.5, 11)
    lines = np.concatenate([np.stack(np.broadcast_arrays(u[None, :], v[:, None]), -1),
                            np.stack(np.broadcast_arrays(v[:, None], u[None, :]), -1)])
    pulled = [lines]
    for _fwd, inv in reversed(maps):
        pulled.append(inv(pulled[-1].reshape(-1, 2)).reshape(lines.shape))
    grid = np.stack(pulled[::-1])                  # grid[k]: pulled back to stage k
    lo, hi = x.min(0) - 0.4, x.max(0) + 0.4
    fx, fy = np.linspace(lo[0], hi[0], res), np.linspace(lo[1], hi[1], res)
    cells = np.stack(np.meshgrid(fx, fy), -1).reshape(-1, 2)
    sub = x[::6]
    d2 = ((cells[:, None] - sub[None]) ** 2).sum(-1)
    density = np.exp(-d2 / (2 * 0.12 ** 2)).mean(1) / (2 * np.pi * 0.12 ** 2)
    log_det = np.log(density + 1e-3) - np.log(density.max())
    return {"names": names, "stages": np.stack(stages).astype(np.float32),
            "grid": grid.astype(np.float32), "field_x": fx.astype(np.float32),
            "field_y": fy.astype(np.float32),
            "density": density.reshape(res, res).astype(np.float32),
            "log_det": log_det.reshape(res, res).astype(np.float32),
            "bounds": (lo.astype(np.float32), hi.astype(np.float32)), "step": 1500,
            "nll": 1.32, "nll_unit": "nats"}


def fake_flow_levels(draws: int = 6, seed: int = 0) -> dict:
    """A "flow_levels" result: a drawn digit, its codes at 3 levels of a 28x28 flow (2x14x14,
    4x7x7, 8x3x3 is not how Glow splits; 2x14x14, 6x7x7 and 6x7x7 is) and blurred decodes."""
    rng = np.random.default_rng(seed)
    image = _drawn_images(1, 28)[0].astype(np.float32)
    if image.max() > 1:
        image = image / 255.0
    codes = [rng.standard_normal((2, 14, 14)), rng.standard_normal((6, 7, 7)),
             rng.standard_normal((6, 7, 7))]
    L = len(codes)
    decodes = np.zeros((L + 1, draws) + image.shape, np.float32)
    for j in range(L + 1):
        keep = j / L
        for r in range(draws):
            noise = rng.random(image.shape)
            decodes[j, r] = np.clip(keep * image + (1 - keep) * (noise > 0.8) * 0.8, 0, 1)
    return {"image": image, "reconstruction": image, "codes": [c.astype(np.float32) for c in codes],
            "decodes": decodes, "temperature": 0.8, "step": 3000, "source": "test image #17"}


def fake_flow_likelihood(n: int = 500, k: int = 8, seed: int = 0) -> dict:
    """A "flow_likelihood" result: bits/dim of n test images and n samples, the k most and
    least likely test images (drawn digits, thin for likely, noisy for unlikely)."""
    rng = np.random.default_rng(seed)
    test = 1.35 + 0.25 * rng.standard_normal(n) + rng.exponential(0.15, n)
    samples = 1.2 + 0.2 * rng.standard_normal(n)
    imgs = _drawn_images(2 * k, 28).astype(np.float32)
    if imgs.max() > 1:
        imgs = imgs / 255.0
    least = np.clip(imgs[k:] + 0.35 * rng.random(imgs[k:].shape), 0, 1)
    return {"test_bpd": test, "sample_bpd": samples, "unit": "bits/dim",
            "most": imgs[:k], "most_bpd": np.sort(test)[:k],
            "least": least, "least_bpd": np.sort(test)[::-1][:k], "step": 3000}
