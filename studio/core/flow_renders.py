"""What the flow view shows, computed on the host thread (Qt-free, numpy out).

A normalizing flow is a stack of invertible layers with an exact density, so it can show
what no other family can: how each layer bends space (points), what each level of a
multi-scale code carries (images), and how likely each single image is. The renders ask the
engine only through its capabilities ("flow_layers", "flow_levels", "log_prob"; see
engines/capabilities.py) and draw every random number from seeded torch.Generator objects.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from .renders import (RENDERERS, _data_tensor, _np, _tensor, density_field, latent_grid,
                      point_bounds)
from .training import Trainer

LAYERS_POINTS = 1000      # training points pushed through the layers
FIELD_RES = 64            # the heatmaps' grid (cells per side)
BATCH = 256


def _need(trainer: Trainer, capability: str, what: str) -> None:
    if capability not in trainer.engine.capabilities:
        raise ValueError(f"the {trainer.engine.name} engine has no {capability!r} capability: "
                         f"{what}")


def _subset(count: int, n: int, seed: int) -> np.ndarray:
    """A fixed, sorted subset of n of `count` indices drawn with a seeded generator."""
    g = torch.Generator().manual_seed(int(seed))
    return np.sort(torch.randperm(count, generator=g)[:min(int(n), count)].numpy())


def _batched(fn, x: np.ndarray, to_tensor, batch: int = BATCH) -> np.ndarray:
    return np.concatenate([_np(fn(to_tensor(x[i:i + batch]))) for i in range(0, len(x), batch)])


def flow_layers(trainer: Trainer, n: int = LAYERS_POINTS, res: int = FIELD_RES, seed: int = 0,
                lines: int = 11, points_per_line: int = 121, **_: Any) -> dict[str, Any]:
    """A flow on 2D points, layer by layer, for the layers slider:

    - "names" (K,): the layers; "stages" (K+1, n, 2): a fixed subset of training points
      after the first k layers (stage 0 the data, stage K the codes z);
    - "grid" (K+1, 2 lines, points_per_line, 2): the lines of a regular grid in z (+-2.5 std)
      pulled back through the last K - k layers, so grid[k] lives in stage k's coordinates
      (grid[K] is the straight grid, grid[0] the grid bent into data space);
    - "field_x", "field_y" (res,) and "density" = exp(log p(x)), "log_det" = log |det dz/dx|
      (res, res) on a grid over the 2D canvas's box "bounds" (studio.core.renders.point_bounds);
    - "nll": the mean test NLL in nats ("nll_unit"), "step"."""
    engine, ds = trainer.engine, trainer.dataset
    _need(trainer, "flow_layers", "the layers view is for flows on 2D points")
    if ds.spec.is_images or ds.spec.dim != 2:
        raise ValueError("the layers view needs a flow on 2D points")
    names = list(engine.layer_names())
    K = len(names)
    x = np.asarray(ds.train_x[_subset(len(ds.train_x), n, seed)], np.float32)
    stages = [_np(s) for s in engine.push_forward(_tensor(trainer, x))]
    grid = latent_grid(2, lines, points_per_line)
    pulled = [_np(s) for s in engine.pull_back(_tensor(trainer, grid.reshape(-1, 2)))]
    if len(stages) != K + 1 or len(pulled) != K + 1:
        raise ValueError(f"the engine gave {len(stages)} and {len(pulled)} stages for {K} layers")
    lo, hi = point_bounds(ds.train_x[:2500])
    field = density_field(trainer, lo, hi, int(res))        # the 2D canvas's heatmap, same box
    fx, fy = field["field_x"], field["field_y"]
    cells = np.stack(np.meshgrid(fx, fy), -1).reshape(-1, 2)
    t = lambda a: _tensor(trainer, a)                                  # noqa: E731
    log_det = _batched(engine.log_det_field, cells, t, 4096).reshape(int(res), int(res))
    out: dict[str, Any] = {
        "step": int(trainer.step), "names": names,
        "stages": np.stack(stages).astype(np.float32),
        "grid": np.stack(pulled[::-1]).reshape(K + 1, *grid.shape).astype(np.float32),
        "field_x": fx, "field_y": fy, "bounds": (lo.astype(np.float32), hi.astype(np.float32)),
        "density": field["field_values"], "log_p": field["field_log_values"],
        "log_det": log_det.astype(np.float32), "nll_unit": "nats", "nll": None,
    }
    if "log_prob" in engine.capabilities and len(ds.test_x):
        test = np.asarray(ds.test_x[:2000], np.float32)
        out["nll"] = float(-_batched(engine.log_prob, test, t, 4096).mean())
    return out


def _pick_image(trainer: Trainer, index: Optional[int], seed: int) -> tuple[np.ndarray, str, int]:
    ds = trainer.dataset
    if index is not None:
        i = int(index)
        if not 0 <= i < len(ds.train_x):
            raise ValueError(f"image {i} is not in the training set (0..{len(ds.train_x) - 1})")
        return ds.train_x[i], f"training image #{i}", i
    pool, name = (ds.test_x, "test") if len(ds.test_x) else (ds.train_x, "training")
    g = torch.Generator().manual_seed(int(seed))
    i = int(torch.randint(len(pool), (1,), generator=g))
    return pool[i], f"{name} image #{i}", i


def flow_levels(trainer: Trainer, seed: int = 0, index: Optional[int] = None,
                temperature: float = 0.8, n: int = 6, **_: Any) -> dict[str, Any]:
    """One image through a multi-scale flow: "image" (C, H, W) in [0, 1] (training image
    `index`, or a test image drawn with `seed`), its "codes" at every level (a list of (c, h, w)
    eps, finest first), "reconstruction" (all levels decoded), and "decodes" (L + 1, n, C, H, W):
    row j keeps the image's eps of the top j levels and decodes the others from draws of
    N(0, T^2 I). Draw r of a level is the same in every row where that level is drawn, so
    going down a column fixes one more level and changes nothing else."""
    engine = trainer.engine
    _need(trainer, "flow_levels", "the levels view is for multi-scale flows on images")
    image, source, i = _pick_image(trainer, index, seed)
    x = _data_tensor(trainer, np.asarray(image)[None])
    codes = engine.encode_levels(x)
    L = len(codes)
    recon = engine.decode_levels(list(codes))
    n = max(1, int(n))
    g = torch.Generator().manual_seed(int(seed) + 1)
    draws = [torch.randn((n, *c.shape[1:]), generator=g).to(c.device) * float(temperature)
             for c in codes]
    rows = []
    for j in range(L + 1):
        levels = [draws[lv] if lv < L - j else codes[lv].expand(n, *codes[lv].shape[1:])
                  for lv in range(L)]
        rows.append(_np(engine.decode_levels(levels)))
    return {"step": int(trainer.step), "image": _np(x)[0], "reconstruction": _np(recon)[0],
            "codes": [_np(c)[0] for c in codes], "level_shapes": [tuple(c.shape[1:]) for c in codes],
            "decodes": np.stack(rows).astype(np.float32), "temperature": float(temperature),
            "seed": int(seed), "index": i, "source": source}


def flow_likelihood(trainer: Trainer, n: int = 256, seed: int = 0, k: int = 8,
                    **_: Any) -> dict[str, Any]:
    """Per-image bits/dim (engine.nll, uniform dequantisation drawn from a generator seeded
    with `seed`) of n test images (a seeded subset) and of n samples (temperature 1, rounded
    to the 256 levels data images have, then scored the same way); the k most likely test
    images ("most", lowest bits/dim first) and the k least likely ("least", highest first)."""
    engine, ds = trainer.engine, trainer.dataset
    _need(trainer, "log_prob", "per-image likelihoods need an exact log-likelihood")
    if not ds.spec.is_images:
        raise ValueError("the likelihood view is for images (points show their density)")
    pool = ds.test_x if len(ds.test_x) else ds.train_x
    idx = _subset(len(pool), n, seed)
    g_deq = torch.Generator().manual_seed(int(seed) + 1)
    score = lambda x: engine.nll(x, generator=g_deq)                  # noqa: E731
    test_bpd = _batched(score, pool[idx], lambda a: _data_tensor(trainer, a))
    g_s = torch.Generator().manual_seed(int(seed) + 2)
    z = engine.noise(len(idx), generator=g_s)
    samples = np.concatenate([_np(engine.sample(len(z[i:i + BATCH]), z=z[i:i + BATCH]))
                              for i in range(0, len(z), BATCH)])
    quantised = np.round(np.clip(np.nan_to_num(samples, nan=0.0), 0, 1) * 255).astype(np.uint8)
    sample_bpd = _batched(score, quantised, lambda a: _data_tensor(trainer, a))
    broken = ~np.isfinite(samples.reshape(len(samples), -1)).all(1)
    sample_bpd[broken] = np.nan               # a sample that is not a picture has no score
    order = np.argsort(test_bpd, kind="stable")
    k = min(int(k), len(order))
    most, least = order[:k], order[::-1][:k]
    as_float = lambda a: np.asarray(a, np.float32) / 255.0 if a.dtype == np.uint8 else a  # noqa: E731
    return {"step": int(trainer.step), "unit": str(engine.nll_unit), "n": len(idx),
            "seed": int(seed), "index": idx, "test_bpd": test_bpd.astype(np.float32),
            "sample_bpd": sample_bpd.astype(np.float32), "samples": samples[:2 * k],
            "most": as_float(pool[idx[most]]), "most_bpd": test_bpd[most].astype(np.float32),
            "most_index": idx[most], "least": as_float(pool[idx[least]]),
            "least_bpd": test_bpd[least].astype(np.float32), "least_index": idx[least]}


FLOW_RENDERERS = {"flow_layers": flow_layers, "flow_levels": flow_levels,
                  "flow_likelihood": flow_likelihood}
RENDERERS.update(FLOW_RENDERERS)
