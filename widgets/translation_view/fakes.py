"""Fake data for the translation view's preview and tests: results shaped like the
"translation_strip", "translation_drawn", "translation_probe" and "translation_probe_curve"
renders, built from digits drawn with QPainter (widgets/preview.py)."""
from __future__ import annotations

import numpy as np

from ..preview import _drawn_images


def _digits(n: int, seed: int = 0) -> np.ndarray:
    imgs = _drawn_images(max(n, 10), 28)[:n].astype(np.float32)
    return imgs / 255.0 if imgs.max() > 1 else imgs


def _edges(x: np.ndarray) -> np.ndarray:
    """A crude outline: where a pixel differs from its 4-neighbourhood's max."""
    m = x > 0.4
    inner = m.copy()
    inner[..., 1:, :] &= m[..., :-1, :]
    inner[..., :-1, :] &= m[..., 1:, :]
    inner[..., :, 1:] &= m[..., :, :-1]
    inner[..., :, :-1] &= m[..., :, 1:]
    return (m & ~inner).astype(np.float32)


def _blur(x: np.ndarray, k: int = 1) -> np.ndarray:
    out = np.zeros_like(x)
    n = 0
    for dy in range(-k, k + 1):
        for dx in range(-k, k + 1):
            out += np.roll(np.roll(x, dy, -2), dx, -1)
            n += 1
    return out / n


def _scores(out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = (out - y).reshape(len(out), -1)
    return np.abs(d).mean(1), 10 * np.log10(1 / np.maximum((d ** 2).mean(1), 1e-10))


def fake_strip(n: int = 6, back: bool = False, paired: bool = True,
               sides=("edges", "digits"), step: int = 2400) -> dict:
    y = _digits(n)
    rng = np.random.default_rng(1)
    if back:                                          # thin -> thick
        x = np.clip(y * (_blur(y) > 0.6), 0, 1)
        out = np.clip(_blur(y) * 1.6, 0, 1)
    else:
        x = _edges(y)
        out = np.clip(y + 0.15 * rng.standard_normal(y.shape) * _blur(y), 0, 1)
    res = {"step": step, "direction": "ab", "split": "test", "sides": tuple(sides),
           "indices": np.arange(n), "inputs": x, "outputs": out.astype(np.float32),
           "reconstructions": None, "recon_l1": None, "targets": None, "l1": None, "psnr": None,
           "bicubic": None, "stages": None, "stage_names": [], "stage_now": "", "scores": {}}
    if back:
        rec = np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
        res["reconstructions"] = rec
        res["recon_l1"] = np.abs(rec - x).reshape(n, -1).mean(1)
    if paired:
        res["targets"] = y
        res["l1"], res["psnr"] = _scores(out, y)
    return res


def fake_sr_strip(n: int = 6, step: int = 3000) -> dict:
    y = _digits(n)
    low = y.reshape(n, 1, 14, 2, 14, 2).mean((3, 5))
    up = np.repeat(np.repeat(low, 2, 2), 2, 3)
    bic = np.clip(_blur(up), 0, 1)
    srres = np.clip(0.5 * bic + 0.5 * y, 0, 1)
    srgan = np.clip(y + 0.05 * np.random.default_rng(2).standard_normal(y.shape), 0, 1)
    stages = {"srresnet": srres.astype(np.float32), "srgan": srgan.astype(np.float32)}
    return {"step": step, "direction": "ab", "split": "test", "sides": ("low-res", "digits"),
            "indices": np.arange(n), "inputs": low.astype(np.float32), "outputs": stages["srgan"],
            "reconstructions": None, "recon_l1": None, "targets": y,
            "l1": _scores(srgan, y)[0], "psnr": _scores(srgan, y)[1],
            "bicubic": bic.astype(np.float32), "stages": stages,
            "stage_names": ["srresnet", "srgan"], "stage_now": "srgan",
            "scores": {"bicubic": _scores(bic, y), **{k: _scores(v, y) for k, v in stages.items()}}}


def fake_drawing(size: int = 28) -> np.ndarray:
    img = np.zeros((size, size), np.float32)
    s = size / 28
    yy, xx = np.mgrid[0:size, 0:size]
    ring = np.abs(np.hypot((xx - 14 * s) / s, (yy - 10 * s) / s) - 5.5) < 1.0
    stem = (np.abs((xx - 19 * s) / s) < 1.0) & (yy > 10 * s) & (yy < 24 * s)
    img[ring | stem] = 1.0
    return img


def fake_drawn(drawing: np.ndarray, back: bool = False, sr: bool = False,
               sides=("edges", "digits"), step: int = 2400) -> dict:
    x = np.asarray(drawing, np.float32)[None]
    if sr:
        up = np.repeat(np.repeat(x, 2, 1), 2, 2)
        out = np.clip(_blur(up[None])[0] * 1.3, 0, 1)
        return {"step": step, "direction": "ab", "sides": tuple(sides), "input": x, "output": out,
                "reconstruction": None, "bicubic": _blur(up[None])[0],
                "stages": {"srresnet": _blur(up[None], 1)[0], "srgan": out},
                "stage_names": ["srresnet", "srgan"], "stage_now": "srgan"}
    out = np.clip(_blur(x[None])[0] * 2.2, 0, 1)
    return {"step": step, "direction": "ab", "sides": tuple(sides), "input": x, "output": out,
            "reconstruction": x.copy() if back else None, "bicubic": None, "stages": None,
            "stage_names": [], "stage_now": ""}


def fake_probe(amplitude: float = 0.05, seed: int = 0, step: int = 5000) -> dict:
    rng = np.random.default_rng(seed)
    x = fake_strip(2, back=True)["inputs"]
    gx = np.clip(_blur(x) * 1.6, 0, 1)
    checker = np.indices((28, 28)).sum(0) % 2 * 2 - 1.0
    gx = gx + 0.01 * checker * (2 * x - 1)
    n = rng.standard_normal(gx[0].shape).astype(np.float32)
    noisy = gx[0] + amplitude * n
    recon = np.clip(x[0] + amplitude * 12 * n, 0, 1)
    x2 = x[0].copy()
    x2[:, 10:14, 12:16] = 1 - x2[:, 10:14, 12:16]
    gx2 = gx[0] + 0.02 * checker * (x2 - x[0])
    gdiff = np.abs(gx[0] - gx2)
    mask = np.zeros((28, 28), bool)
    mask[10:14, 12:16] = True
    return {"step": step, "direction": "ab", "sides": ("thin", "thick"), "index": 0,
            "split": "test", "amplitude": amplitude, "seed": seed, "change": "pixels",
            "x": x[0], "gx": gx[0].astype(np.float32), "noisy": noisy.astype(np.float32),
            "recon": recon.astype(np.float32), "recon_clean": x[0],
            "error": np.abs(recon - x[0]).astype(np.float32), "recon_l1": float(np.abs(recon - x[0]).mean()),
            "clean_l1": 0.004, "x2": x2, "gx2": gx2.astype(np.float32), "recon2": x2,
            "in_diff": np.abs(x2 - x[0]), "gdiff": gdiff.astype(np.float32), "mask": mask,
            "gdiff_mean": float(gdiff.mean()), "gdiff_max": float(gdiff.max()),
            "gdiff_outside": 0.0}


def fake_curve(step: int = 5000) -> dict:
    a = np.linspace(0, 0.2, 21).astype(np.float32)
    err = (0.01 + 0.3 * (1 - np.exp(-a / 0.04))).astype(np.float32)
    return {"step": step, "direction": "ab", "sides": ("thin", "thick"), "amplitudes": a,
            "error": err, "noise_l1": (a * np.sqrt(2 / np.pi)).astype(np.float32), "n": 32,
            "seed": 0}
