"""What the engine host computes for the GUI between training steps (Qt-free).

Each render kind asks the engine through its capabilities, never its class, and returns
numpy arrays: images float32 (N, C, H, W) in [0, 1], points float32 (N, dim), codes
float32 (N, latent_dim).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from .training import Trainer


def render(trainer: Optional[Trainer], req: Any) -> Any:
    if trainer is None:
        return None
    fn = RENDERERS.get(req.kind)
    if fn is None:
        raise ValueError(f"unknown render kind {req.kind!r}")
    with torch.no_grad():
        try:
            return fn(trainer, **req.payload)
        finally:
            trainer.engine.train(True)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def _tensor(trainer: Trainer, a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, np.float32), device=trainer.device)


def decode(trainer: Trainer, z: np.ndarray) -> np.ndarray:
    """Latent codes (dim,) or (N, dim) -> decoded samples (through `sample(z=...)`, which for
    every engine maps its standard-normal input to data)."""
    z2 = np.atleast_2d(np.asarray(z, np.float32))
    return _np(trainer.engine.sample(len(z2), z=_tensor(trainer, z2)))


def sample(trainer: Trainer, seed: int, n: int = 1) -> dict[str, np.ndarray]:
    g = torch.Generator().manual_seed(int(seed))
    z = trainer.engine.noise(n, generator=g)
    return {"z": _np(z), "samples": _np(trainer.engine.sample(n, z=z))}


def encode(trainer: Trainer, x: np.ndarray) -> np.ndarray:
    """Data -> the engine's standard-normal input z, so decode(encode(x)) reconstructs x.
    For the AE the code is whitened through its fitted Gaussian (inverse of sample's map)."""
    engine = trainer.engine
    if "encode" not in engine.capabilities:
        raise ValueError(f"the {engine.name} engine cannot encode")
    xt = torch.as_tensor(np.asarray(x))
    if xt.dtype == torch.uint8:
        xt = xt.float() / 255.0
    latent = engine.encode(xt.float().to(trainer.device))
    to_noise = getattr(engine, "noise_from_latent", None)
    return _np(to_noise(latent) if to_noise is not None else latent)


def interpolate(trainer: Trainer, za: np.ndarray, zb: np.ndarray, steps: int = 8,
                mode: str = "linear") -> dict[str, np.ndarray]:
    zs = interpolation_path(np.asarray(za, np.float32), np.asarray(zb, np.float32), steps, mode)
    return {"z": zs, "samples": decode(trainer, zs)}


def interpolation_path(za: np.ndarray, zb: np.ndarray, steps: int, mode: str) -> np.ndarray:
    """Linear, or spherical (Shoemake 1985: sin((1-t)w)/sin(w) a + sin(tw)/sin(w) b, w the
    angle between a and b), from a to b inclusive."""
    t = np.linspace(0.0, 1.0, max(2, steps), dtype=np.float64)[:, None]
    a, b = za.astype(np.float64), zb.astype(np.float64)
    if mode == "spherical":
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        cos = np.clip(a @ b / max(na * nb, 1e-12), -1.0, 1.0)
        w = np.arccos(cos)
        if w > 1e-6:
            return ((np.sin((1 - t) * w) * a + np.sin(t * w) * b) / np.sin(w)).astype(np.float32)
    elif mode != "linear":
        raise ValueError(f"interpolation mode {mode!r}: choose 'linear' or 'spherical'")
    return ((1 - t) * a + t * b).astype(np.float32)


def basis(trainer: Trainer, n: int = 2000, k: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Principal directions of the encoded training data in z space (for latents above 16
    dimensions the explorer's sliders move along these). Engines that cannot encode use
    their prior samples, whose principal directions are the axes."""
    data = trainer.dataset.train_x
    g = np.random.default_rng(seed)
    idx = np.sort(g.choice(len(data), size=min(n, len(data)), replace=False))
    if "encode" in trainer.engine.capabilities:
        z = np.concatenate([encode(trainer, data[idx[i:i + 500]]) for i in range(0, len(idx), 500)])
    else:
        z = _np(trainer.engine.noise(len(idx), generator=torch.Generator().manual_seed(seed)))
        z = z.reshape(len(z), -1)
    mean = z.mean(0)
    _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
    var = s ** 2 / max(len(z) - 1, 1)
    k = min(k, vt.shape[0])
    return {"mean": mean.astype(np.float32), "basis": vt[:k].astype(np.float32),
            "scales": np.sqrt(var[:k]).astype(np.float32),
            "explained": (var[:k] / max(var.sum(), 1e-12)).astype(np.float32)}


RENDERERS = {"decode": decode, "sample": sample, "encode": encode, "interpolate": interpolate,
             "basis": basis}
