"""What the translation view shows, computed on the host thread (Qt-free, numpy out).

An image-to-image translator (pix2pix, CycleGAN, SRGAN) maps the data set's SOURCE side to
its TARGET side. The renders ask the engine only through its capabilities (engines/
capabilities.py): "translate" (G), "translate_back" (CycleGAN's F) and "sr_stages" (SRGAN's
SRResNet and SRGAN generators). Every random number comes from a seeded torch.Generator of
the render's own (the host restores the training RNG around renders anyway).

Directions: "ab" translates source-side images with G (and, with "translate_back",
reconstructs them with F(G(x))); "ba" translates target-side images with F and reconstructs
them with G(F(y)). Images are float32 (N, C, H, W) in [0, 1].

The steganography probe (Chu, Zhmoginov & Sandler 2017, "CycleGAN, a master of
steganography"): a CycleGAN's G learns to hide x in a low-amplitude, high-frequency signal in
G(x) that F reads back, so F(G(x)) = x exactly even where G(x) shows nothing of x; adding a
little noise to G(x) before F destroys that signal and the reconstruction collapses.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from engines.translation import psnr, resize_bicubic

from .renders import RENDERERS, _data_tensor, _np
from .training import Trainer

STRIP_MAX = 16
PROBE_AMPLITUDES = tuple(float(a) for a in np.linspace(0.0, 0.2, 21))
PROBE_CURVE_IMAGES = 32
CHANGE_PATCH = 4          # the side of the square the "pixels" change inverts (source pixels)
BATCH = 64

Fn = Callable[[torch.Tensor], torch.Tensor]


def _need(trainer: Trainer, capability: str, what: str) -> None:
    if capability not in trainer.engine.capabilities:
        raise ValueError(f"the {trainer.engine.name} engine has no {capability!r} capability: "
                         f"{what}")


def _batched(fn: Fn, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([fn(x[i:i + BATCH]) for i in range(0, len(x), BATCH)])


def _names(trainer: Trainer) -> tuple[str, str]:
    sides = tuple(trainer.dataset.sides or ())
    return (str(sides[0]), str(sides[1])) if len(sides) == 2 else ("source", "target")


def _directions(trainer: Trainer, direction: str) -> dict[str, Any]:
    """The two ways for `direction` "ab" or "ba": the forward map, the way back (None without
    "translate_back"), the input pools (test, train), the partner pools when paired, and the
    sides' names in the order input -> output."""
    engine, ds = trainer.engine, trainer.dataset
    _need(trainer, "translate", "the translation view is for image-to-image translators")
    if not ds.two_sided:
        raise ValueError("the translation view needs a data set with two sides")
    src, tgt = _names(trainer)
    paired = ds.pairing == "paired"
    back = "translate_back" in engine.capabilities
    if direction == "ab":
        return {"forward": engine.translate, "back": engine.translate_back if back else None,
                "test": ds.test_x2, "train": ds.train_x2,
                "test_truth": ds.test_x if paired else None,
                "train_truth": ds.train_x if paired else None, "sides": (src, tgt)}
    if direction == "ba":
        _need(trainer, "translate_back", "only a translator with a way back translates Y -> X")
        return {"forward": engine.translate_back, "back": engine.translate,
                "test": ds.test_x, "train": ds.train_x,
                "test_truth": ds.test_x2 if paired else None,
                "train_truth": ds.train_x2 if paired else None, "sides": (tgt, src)}
    raise ValueError(f"direction {direction!r}: choose 'ab' (source -> target) or 'ba'")


def _pool(way: dict[str, Any], split: str) -> tuple[np.ndarray, Optional[np.ndarray], str]:
    if split not in ("test", "train"):
        raise ValueError(f"split {split!r}: choose 'test' or 'train'")
    pool, truth = way[split], way[f"{split}_truth"]
    if split == "test" and (pool is None or len(pool) == 0):
        pool, truth, split = way["train"], way["train_truth"], "train"
    return pool, truth, split


def _indices(count: int, indices: Optional[Sequence[int]], start: int, n: int) -> np.ndarray:
    if count == 0:
        raise ValueError("the data set has no images on this side")
    if indices is not None and len(indices):
        idx = np.asarray([int(i) for i in indices][:STRIP_MAX], np.int64)
        bad = idx[(idx < 0) | (idx >= count)]
        if len(bad):
            raise ValueError(f"image {int(bad[0])} is not in this split (0..{count - 1})")
        return idx
    n = max(1, min(int(n), STRIP_MAX, count))
    return (int(start) + np.arange(n)) % count


def per_image_scores(out: torch.Tensor, truth: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute error and PSNR (dB, 10 log10(1 / MSE), capped at 100) per image in [0, 1]:
    what the engines' held-out curve reports (engines.translation.base.psnr)."""
    out, truth = out.float(), truth.float()
    return _np((out - truth).abs().flatten(1).mean(1)), _np(psnr(out, truth))


def bicubic(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The classical baseline of super-resolution: bicubic upsampling to `size`, clipped to
    [0, 1] (cubic kernels overshoot at edges)."""
    return resize_bicubic(x, size, clamp=True)


def _stage_outputs(trainer: Trainer, x: torch.Tensor) -> dict[str, Any]:
    """SRGAN: every stage's output, the stage training is in, and bicubic upsampling."""
    engine = trainer.engine
    names = [str(s) for s in engine.sr_stages()]
    return {"stage_names": names, "stage_now": str(engine.stage_now()),
            "stages": {s: _batched(lambda b, s=s: engine.translate_stage(b, s), x) for s in names}}


def translation_strip(trainer: Trainer, direction: str = "ab", split: str = "test",
                      indices: Optional[Sequence[int]] = None, start: int = 0, n: int = 6,
                      **_: Any) -> dict[str, Any]:
    """Inputs and their translations, for the strip.

    Inputs: images `indices` of the split's input side (the browser's picks: "train"), or n
    consecutive ones from `start` (wrapping). Returns "inputs", "outputs" (the translator
    now), "reconstructions" (the way back of the outputs, None without "translate_back"),
    "targets" (the inputs' partners when paired, else None) with per-image "l1" and "psnr" of
    the outputs against them (and "recon_l1": mean |reconstruction - input|). With
    "sr_stages": "bicubic" (the input upsampled), "stages" {name: outputs} for every stage,
    "stage_names", "stage_now", and "scores" {row name: (l1, psnr)} for bicubic and each
    stage. Also "indices", "split", "direction", "sides" (input name, output name), "step"."""
    way = _directions(trainer, direction)
    pool, truth_pool, split = _pool(way, split)
    idx = _indices(len(pool), indices, start, n)
    x = _data_tensor(trainer, pool[idx])
    out = _batched(way["forward"], x)
    res: dict[str, Any] = {
        "step": int(trainer.step), "direction": direction, "split": split,
        "sides": way["sides"], "indices": idx, "inputs": _np(x), "outputs": _np(out),
        "reconstructions": None, "recon_l1": None, "targets": None, "l1": None, "psnr": None,
        "bicubic": None, "stages": None, "stage_names": [], "stage_now": "", "scores": {}}
    if way["back"] is not None:
        rec = _batched(way["back"], out)
        res["reconstructions"] = _np(rec)
        res["recon_l1"] = _np((rec - x).abs().flatten(1).mean(1))
    truth = _data_tensor(trainer, truth_pool[idx]) if truth_pool is not None else None
    if truth is not None:
        res["targets"] = _np(truth)
        res["l1"], res["psnr"] = per_image_scores(out, truth)
    if "sr_stages" in trainer.engine.capabilities and direction == "ab":
        st = _stage_outputs(trainer, x)
        up = bicubic(x, tuple(out.shape[-2:]))
        res.update(stage_names=st["stage_names"], stage_now=st["stage_now"], bicubic=_np(up),
                   stages={k: _np(v) for k, v in st["stages"].items()})
        if truth is not None:
            res["scores"] = {"bicubic": per_image_scores(up, truth),
                             **{k: per_image_scores(v, truth) for k, v in st["stages"].items()}}
    return res


def translation_drawn(trainer: Trainer, image: Any, direction: str = "ab",
                      **_: Any) -> dict[str, Any]:
    """An image drawn with the mouse, (C, H, W) or (H, W) in [0, 1] at the input side's size
    (a grey drawing is repeated over the channels), translated: "input", "output",
    "reconstruction" (None without a way back), with "sr_stages" also "bicubic" and "stages"."""
    way = _directions(trainer, direction)
    shape = tuple(way["test"].shape[1:]) if way["test"] is not None and len(way["test"]) \
        else tuple(way["train"].shape[1:])
    a = np.asarray(image, np.float32)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != shape[1:]:
        raise ValueError(f"a drawing for this run is {shape[1]}x{shape[2]} pixels; got "
                         f"{'x'.join(str(s) for s in a.shape)}")
    if a.shape[0] != shape[0]:
        if a.shape[0] != 1:
            raise ValueError(f"a drawing for this run has {shape[0]} channels; got {a.shape[0]}")
        a = np.repeat(a, shape[0], 0)
    x = _data_tensor(trainer, np.clip(a, 0.0, 1.0)[None])
    out = way["forward"](x)
    res: dict[str, Any] = {"step": int(trainer.step), "direction": direction,
                           "sides": way["sides"], "input": _np(x)[0], "output": _np(out)[0],
                           "reconstruction": None, "bicubic": None, "stages": None,
                           "stage_names": [], "stage_now": ""}
    if way["back"] is not None:
        res["reconstruction"] = _np(way["back"](out))[0]
    if "sr_stages" in trainer.engine.capabilities and direction == "ab":
        st = _stage_outputs(trainer, x)
        res.update(stage_names=st["stage_names"], stage_now=st["stage_now"],
                   bicubic=_np(bicubic(x, tuple(out.shape[-2:])))[0],
                   stages={k: _np(v)[0] for k, v in st["stages"].items()})
    return res


def changed_input(x: np.ndarray, change: str, seed: int, other: Optional[np.ndarray] = None,
                  patch: int = CHANGE_PATCH) -> tuple[np.ndarray, np.ndarray]:
    """x' for the probe's second row and the mask of what changed (H, W) bool: "pixels"
    inverts a patch x patch square (1 - x) at a place drawn with `seed` inside the middle
    half of the image (where the strokes are); "image" is `other` (another test image)."""
    c, h, w = x.shape
    if change == "image":
        if other is None:
            raise ValueError("change 'image' needs another image")
        return np.asarray(other, np.float32), np.any(np.asarray(other) != x, axis=0)
    if change != "pixels":
        raise ValueError(f"change {change!r}: choose 'pixels' or 'image'")
    g = torch.Generator().manual_seed(int(seed))
    p = max(1, min(int(patch), h, w))
    top = int(torch.randint(h // 4, max(h // 4 + 1, 3 * h // 4 - p + 1), (1,), generator=g))
    left = int(torch.randint(w // 4, max(w // 4 + 1, 3 * w // 4 - p + 1), (1,), generator=g))
    x2 = np.array(x, np.float32, copy=True)
    x2[:, top:top + p, left:left + p] = 1.0 - x2[:, top:top + p, left:left + p]
    mask = np.zeros((h, w), bool)
    mask[top:top + p, left:left + p] = True
    return x2, mask


def _probe_way(trainer: Trainer, direction: str) -> dict[str, Any]:
    _need(trainer, "translate_back", "the steganography probe needs a way back (CycleGAN's F)")
    way = _directions(trainer, direction)
    pool, _, split = _pool(way, "test")
    return {**way, "pool": pool, "split": split}


def _noise_like(t: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(t.shape, generator=g).to(t.device)


def translation_probe(trainer: Trainer, index: int = 0, amplitude: float = 0.05, seed: int = 0,
                      change: str = "pixels", direction: str = "ab",
                      **_: Any) -> dict[str, Any]:
    """The steganography probe on one test image x (CycleGAN: G = translate, F =
    translate_back; direction "ba" swaps them).

    Noise: n ~ N(0, I) drawn with `seed`; "x", "gx" = G(x), "noisy" = G(x) + a n (a =
    `amplitude`, not clipped), "recon" = F(G(x) + a n), "recon_clean" = F(G(x)), "error" =
    |F(G(x) + a n) - x| per pixel, "recon_l1" (mean of it) and "clean_l1" (at a = 0).
    Hidden signal: x' = `changed_input` (a patch inverted, or the next test image), "x2",
    "gx2" = G(x'), "gdiff" = |G(x) - G(x')| (for the view to amplify), "in_diff" = |x - x'|,
    "recon2" = F(G(x')), "mask" (what changed in x'), "gdiff_mean", "gdiff_max", and
    "gdiff_outside": mean |G(x) - G(x')| more than 2 pixels away from the change."""
    way = _probe_way(trainer, direction)
    pool = way["pool"]
    i = int(index) % len(pool)
    x_np = np.asarray(pool[i], np.float32)
    if pool.dtype == np.uint8:
        x_np = x_np / 255.0
    other = pool[(i + 1) % len(pool)]
    other = np.asarray(other, np.float32) / (255.0 if pool.dtype == np.uint8 else 1.0)
    x2_np, mask = changed_input(x_np, change, seed, other)
    x = _data_tensor(trainer, np.stack([x_np, x2_np]))
    G, Fb = way["forward"], way["back"]
    gx = G(x)
    a = float(amplitude)
    noisy = gx[:1] + a * _noise_like(gx[:1], seed)
    recon = Fb(noisy)
    both = Fb(gx)
    err = (recon - x[:1]).abs()
    gdiff = _np((gx[0] - gx[1]).abs())
    gd_pix = gdiff.mean(0)
    near = _dilate(mask, 2) if change == "pixels" else np.zeros_like(mask)
    far = ~_resize_mask(near, gd_pix.shape)      # G(x) may have another size than x
    return {"step": int(trainer.step), "direction": direction, "sides": way["sides"],
            "index": i, "split": way["split"], "amplitude": a, "seed": int(seed),
            "change": change, "x": _np(x)[0], "gx": _np(gx)[0], "noisy": _np(noisy)[0],
            "recon": _np(recon)[0], "recon_clean": _np(both)[0], "error": _np(err)[0],
            "recon_l1": float(err.mean()), "clean_l1": float((both[:1] - x[:1]).abs().mean()),
            "x2": _np(x)[1], "gx2": _np(gx)[1], "recon2": _np(both)[1],
            "in_diff": np.abs(x2_np - x_np).astype(np.float32), "gdiff": gdiff.astype(np.float32),
            "mask": mask, "gdiff_mean": float(gd_pix.mean()), "gdiff_max": float(gd_pix.max()),
            "gdiff_outside": float(gd_pix[far].mean()) if far.any() else 0.0}


def _resize_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`mask` (H, W) at another size (h, w): a pixel is set when any pixel of the block of
    `mask` it covers is (smaller), or when the one it falls in is (larger)."""
    H, W = mask.shape
    h, w = int(shape[0]), int(shape[1])
    if (H, W) == (h, w):
        return mask
    rows = [slice(i * H // h, max((i + 1) * H // h, i * H // h + 1)) for i in range(h)]
    cols = [slice(j * W // w, max((j + 1) * W // w, j * W // w + 1)) for j in range(w)]
    return np.array([[bool(mask[r, c].any()) for c in cols] for r in rows])


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, 0), dx, 1)
    return out


def translation_probe_curve(trainer: Trainer, amplitudes: Optional[Sequence[float]] = None,
                            n: int = PROBE_CURVE_IMAGES, seed: int = 0, direction: str = "ab",
                            **_: Any) -> dict[str, Any]:
    """Reconstruction error against noise amplitude: for the first n test images x and one
    seeded noise n ~ N(0, I) per image (the same draw at every amplitude),
    "error"[k] = mean |F(G(x) + a_k n) - x| over images and pixels, for "amplitudes" a_k
    (default 0, 0.01, ..., 0.2). "noise_l1"[k] = mean |a_k n| (what was added, ~0.8 a) is the
    reference: an F that only reads what G(x) shows changes its output by about that much; an
    F that decodes a hidden low-amplitude signal loses x much faster."""
    way = _probe_way(trainer, direction)
    pool = way["pool"]
    k = max(1, min(int(n), len(pool)))
    amps = np.asarray(PROBE_AMPLITUDES if amplitudes is None else amplitudes, np.float64)
    x = _data_tensor(trainer, pool[:k])
    gx = _batched(way["forward"], x)
    noise = _noise_like(gx, seed)
    err, ref = [], []
    for a in amps:
        rec = _batched(way["back"], gx + float(a) * noise)
        err.append(float((rec - x).abs().mean()))
        ref.append(float((float(a) * noise).abs().mean()))
    return {"step": int(trainer.step), "direction": direction, "sides": way["sides"],
            "amplitudes": amps.astype(np.float32), "error": np.asarray(err, np.float32),
            "noise_l1": np.asarray(ref, np.float32), "n": k, "seed": int(seed)}


TRANSLATION_RENDERERS = {"translation_strip": translation_strip,
                         "translation_drawn": translation_drawn,
                         "translation_probe": translation_probe,
                         "translation_probe_curve": translation_probe_curve}
RENDERERS.update(TRANSLATION_RENDERERS)
