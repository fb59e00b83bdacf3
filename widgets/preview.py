"""The one preview harness of `python -m widgets.<panel>`, and the fake data the previews show
(kept out of the panels' modules).

Every panel's `main(argv)` does the same three things: `preview_parser` (the common options
--grab OUT.png, --size WxH and --dark, plus its own), `preview_app` (the application with
the studio's Fusion style, the dark palette on request) and `show_or_grab` (show the panel,
or let it settle, optionally do something on screen, save a screenshot and return)."""
from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np
from PySide6.QtWidgets import QApplication, QWidget

from .viewmodels import DatasetView, EngineInfo, FieldSpec, SourceInfo

if TYPE_CHECKING:
    from .codes_view import CodesView
    from .point_canvas import CanvasFrame


def preview_parser(description: str, size: str) -> argparse.ArgumentParser:
    """An argument parser with the options every preview has: --grab OUT.png (save a
    screenshot and exit), --size WxH (default `size`) and --dark (the dark palette)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--grab", metavar="OUT.png", help="save a screenshot and exit")
    ap.add_argument("--size", default=size, help=f"window size WxH (default {size})")
    ap.add_argument("--dark", action="store_true", help="preview with the dark palette")
    return ap


def preview_app(dark: bool = False) -> QApplication:
    from .palettes import dark_palette
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if dark:
        app.setPalette(dark_palette())
    return app


def show_or_grab(app: QApplication, panel: QWidget, size: str, grab: Optional[str], *,
                 settle: int = 5, before_grab: Optional[Callable[[], None]] = None) -> int:
    """Resize to "WxH" and show; without `grab`, run the event loop. With `grab`, process
    events `settle` times (layouts, deferred fits), call `before_grab` (e.g. hover a plot,
    scroll, wait for a load) and process events once more, save a screenshot there and
    return 0 (1 if it could not be saved)."""
    w, h = (int(v) for v in size.lower().split("x"))
    panel.resize(w, h)
    panel.show()
    if not grab:
        return app.exec()
    for _ in range(settle):
        app.processEvents()
    if before_grab is not None:
        before_grab()
        app.processEvents()
    ok = panel.grab().save(grab)
    print(f"saved {grab}" if ok else f"could not save {grab}")
    return 0 if ok else 1


# ---------------------------------------------------------------- fakes: RunControlsPanel

def fake_engines() -> list[EngineInfo]:
    common = (
        FieldSpec("latent_dim", "int", 8, "Size of the latent code z.", min=1, max=1024),
        FieldSpec("arch", "str", "conv", "Image networks: 'conv' (stride-2 conv ladder) or 'mlp' "
                  "(flatten, much faster on a CPU). Points always use an MLP.",
                  choices=("conv", "mlp")),
        FieldSpec("hidden", "int", 256, "Width of the MLP hidden layers.", min=1, max=8192),
        FieldSpec("depth", "int", 2, "Number of hidden layers of the MLPs.", min=0, max=16),
        FieldSpec("channels", "int", 16, "Conv channels of the first level.", min=1, max=512),
        FieldSpec("act", "str", "silu", "Activation function of every hidden layer.",
                  choices=("relu", "silu", "gelu", "tanh", "leaky_relu")),
    )
    vae = common + (
        FieldSpec("decoder", "str", "auto", "Likelihood p(x|z).",
                  choices=("auto", "bernoulli", "gaussian")),
        FieldSpec("sigma", "float", 0.0, "Gaussian decoder std; 0 learns one shared std.",
                  min=0.0, max=100.0),
        FieldSpec("beta", "float", 1.0, "Weight of the KL term in the loss.", min=0.0,
                  max=1000.0, structural=False),
    )
    ae = common + (
        FieldSpec("loss", "str", "mse", "Reconstruction loss.", choices=("mse", "bce")),
        FieldSpec("denoise_std", "float", 0.0, "Denoising AE noise std.", min=0.0, max=10.0),
        FieldSpec("contractive", "float", 0.0, "Contractive AE penalty weight.", min=0.0,
                  structural=False),
    )
    caps = frozenset({"encode", "decode"})
    return [EngineInfo("vae", "Variational autoencoder: an encoder q(z|x), a decoder p(x|z) and "
                       "a KL term that keeps the codes near N(0, I), so you can sample.", caps, vae),
            EngineInfo("ae", "Plain autoencoder (optionally denoising or contractive): "
                       "reconstructs its input through a small latent code.", caps, ae)]


def fake_run_fields() -> list[FieldSpec]:
    return [
        FieldSpec("seed", "int", 0, "Seed for weights, batches and noise."),
        FieldSpec("device", "str", "auto", "Where to train.", choices=("auto", "cpu", "cuda", "mps")),
        FieldSpec("steps", "int", 2000, "Training steps to run.", min=1),
        FieldSpec("batch_size", "int", 128, "Examples per training step.", min=1, max=65536),
        FieldSpec("threads", "int", 0, "CPU threads; 0 chooses.", min=0, max=256),
        FieldSpec("log_every", "int", 50, "Steps between metric read-backs.", min=1),
        FieldSpec("sample_every", "int", 500, "Steps between sample snapshots.", min=1),
        FieldSpec("checkpoint_every", "int", 1000, "Steps between checkpoints.", min=1),
        FieldSpec("preview_samples", "int", 64, "Samples in each snapshot grid.", min=1, max=1024),
    ]


def fake_optim_fields() -> list[FieldSpec]:
    return [
        FieldSpec("name", "str", "adam", "Optimizer.", choices=("adam", "adamw", "sgd", "rmsprop")),
        FieldSpec("lr", "float", 1e-3, "Learning rate.", min=0.0, max=10.0, structural=False),
        FieldSpec("beta1", "float", 0.9, "First-moment decay.", min=0.0, max=1.0),
        FieldSpec("beta2", "float", 0.999, "Second-moment decay.", min=0.0, max=1.0),
        FieldSpec("weight_decay", "float", 0.0, "L2 weight decay.", min=0.0, max=1.0),
        FieldSpec("grad_clip", "float", 0.0, "Clip the global gradient norm; 0 = off.", min=0.0),
    ]


# ---------------------------------------------------------------- fakes: LatentExplorerPanel

def fake_decoder(dim: int, size: int = 28):
    """A smooth fake decoder: z -> a blob whose position, size and brightness follow z."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1) * 2 - 1
    rng = np.random.default_rng(0)
    w = rng.normal(size=(dim, 6)).astype(np.float32) / math.sqrt(max(dim, 1))

    def decode(z: np.ndarray) -> np.ndarray:
        h = np.tanh(np.asarray(z, np.float32) @ w)
        cx, cy, r = 0.5 * h[0], 0.5 * h[1], 0.35 + 0.2 * h[2]
        ring = np.exp(-((np.hypot(xx - cx, yy - cy) - r) ** 2) / (0.02 + 0.01 * h[3]))
        bar = np.exp(-((xx * h[4] + yy * h[5]) ** 2) / 0.05) * 0.5
        return np.clip(ring + bar, 0, 1)[None]
    return decode


# ---------------------------------------------------------------- fakes: LivePlotsPanel

def fake_records(n: int, seed: int = 0, scale: float = 1.0, test_every: int = 250) -> list[dict]:
    rng = np.random.default_rng(seed)
    steps = np.arange(1, n + 1)
    recon = scale * (60 * np.exp(-steps / 900) + 25) * (1 + 0.12 * rng.standard_normal(n))
    kl = scale * (4 + 10 * (1 - np.exp(-steps / 400))) * (1 + 0.1 * rng.standard_normal(n))
    ms = 14 + 2 * rng.standard_normal(n) + (rng.random(n) < 0.01) * 30
    out = []
    for i, s in enumerate(steps):
        rec = {"step": int(s), "time": float(s * 0.016 + 2.0), "loss/total": float(recon[i] + kl[i]),
               "loss/recon": float(recon[i]), "loss/kl": float(kl[i]),
               "elbo": float(-(recon[i] + kl[i])), "perf/step_ms": float(ms[i])}
        if s % test_every == 0:
            rec["test/elbo"] = float(-(recon[i] + kl[i]) * 1.05)
        out.append(rec)
    return out


# ---------------------------------------------------------------- fakes: SampleGalleryPanel

def fake_gallery_images(step: int, n: int = 64, size: int = 28, seed: int = 0) -> np.ndarray:
    """Blurry blobs that sharpen with the step, like a model learning."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2 - 1
    cx, cy = rng.uniform(-0.4, 0.4, (2, n, 1, 1))
    r = rng.uniform(0.25, 0.6, (n, 1, 1))
    sharp = 4 + step / 150
    blob = 1 / (1 + np.exp(sharp * (np.hypot(xx - cx, yy - cy) - r)))
    hue = rng.uniform(0, 1, (n, 3, 1, 1))
    imgs = blob[:, None] * (0.4 + 0.6 * hue) + 0.08 * rng.standard_normal((n, 3, size, size)) * (
        1 - min(step, 3000) / 3000)
    return np.clip(imgs, 0, 1).astype(np.float32)


def fake_gallery_points(step: int, n: int = 1500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 4 * np.pi, n)
    spread = 1.5 * math.exp(-step / 800) + 0.08
    pts = np.stack([t * np.cos(t), t * np.sin(t)], 1) / 6 + spread * rng.standard_normal((n, 2))
    return pts.astype(np.float32)


# ---------------------------------------------------------------- fakes: DataBrowserPanel (and its tests)

_FONT = {
    0: ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    1: ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    2: ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    3: ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
    4: ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    5: ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    6: ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    7: ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    8: ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    9: ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}
MNIST_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)


def fake_digits(n: int = 60_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-like uint8 (n, 1, 28, 28) digits drawn from a 5x7 font, and int64 labels.

    For n = 60000 the per-class counts are MNIST's own (e.g. 6131 threes).
    """
    rng = np.random.default_rng(seed)
    if n == sum(MNIST_TRAIN_COUNTS):
        labels = np.repeat(np.arange(10), MNIST_TRAIN_COUNTS)
    else:
        labels = np.arange(n) % 10
    labels = rng.permutation(labels).astype(np.int64)
    # templates: 10 digits x 5 row shifts x 5 column shifts x 3 slants
    variants = []
    for d in range(10):
        glyph = np.array([[c == "1" for c in row] for row in _FONT[d]], dtype=np.float32)
        big = np.kron(glyph, np.ones((3, 3), np.float32))            # 21 x 15
        for slant in (-1, 0, 1):
            sl = np.zeros((21, 21), np.float32)
            for r in range(21):
                off = 3 + int(round(slant * (10 - r) / 5))
                sl[r, off:off + 15] = big[r]
            # soften: a blurred stroke like a pen
            soft = sl.copy()
            soft[1:] += 0.5 * sl[:-1]
            soft[:, 1:] += 0.5 * sl[:, :-1]
            soft = np.clip(soft, 0, 1)
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    canvas = np.zeros((28, 28), np.float32)
                    canvas[3 + dy:24 + dy, 3 + dx:24 + dx] = soft
                    variants.append(canvas)
    variants = (np.stack(variants) * 255).astype(np.uint8).reshape(10, 75, 28, 28)
    pick = rng.integers(0, 75, size=n)
    images = variants[labels, pick][:, None]
    return images, labels


def fake_points(n: int = 50_000, modes: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A ring of `modes` Gaussians (float32 (n, 2)) and their int64 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, modes, size=n).astype(np.int64)
    angle = 2 * np.pi * labels / modes
    pts = np.stack([np.cos(angle), np.sin(angle)], 1) + rng.normal(0, 0.06, (n, 2))
    return pts.astype(np.float32), labels


def fake_sources() -> list[SourceInfo]:
    """Sources shaped like the studio's registry, for the preview."""
    tf = FieldSpec("test_fraction", "float", 0.1, "Fraction held out for evaluation.",
                   min=0.0, max=0.9)
    return [
        SourceInfo("mnist", "MNIST handwritten digits, 28x28 grayscale, 10 classes "
                   "(60000 train, 10000 test).", "images",
                   (FieldSpec("limit", "int", 0, "Use only the first N training images "
                              "(0 = all 60000).", min=0),)),
        SourceInfo("shapes", "Procedural white sprites (square, ellipse, triangle) with known "
                   "factors: shape, scale, rotation, x, y.", "images",
                   (FieldSpec("n", "int", 20000, "Number of training sprites.", 1, 2_000_000),
                    FieldSpec("size", "int", 32, "Image size in pixels (square).", 8, 256))),
        SourceInfo("ring8", "8 Gaussians on a circle of radius 1 (PacGAN 2D-ring).", "points",
                   (FieldSpec("n", "int", 50000, "Number of points.", 1, 10_000_000),)),
        SourceInfo("folder", "Your folder of images (PNG, JPEG, BMP, WebP, GIF); subfolders "
                   "become classes.", "images",
                   (FieldSpec("path", "str", "", "Folder of images (searched recursively)."),
                    FieldSpec("resolution", "int", 32, "Images are resized to this many "
                              "pixels.", 4, 512),
                    FieldSpec("channels", "str", "auto", "1 = grayscale, 3 = colour, auto.",
                              choices=("auto", "1", "3")),
                    tf)),
        SourceInfo("idx", "MNIST-format IDX files (plain or .gz).", "images",
                   (FieldSpec("images", "str", "", "Training images, IDX format."),
                    FieldSpec("labels", "str", "", "Training labels, IDX format (optional)."),
                    tf)),
        SourceInfo("npz", "A NumPy .npz file of images or 2D points (and labels).", "images",
                   (FieldSpec("path", "str", "", "A .npz file with arrays x/y."), tf)),
    ]


def fake_skipped(n: int = 12) -> list[tuple[str, str]]:
    reasons = ["not an image (cannot identify image file)", "truncated PNG data",
               "too large: 40000x40000 pixels (possible decompression bomb)",
               "unsupported mode CMYK;16"]
    return [(f"/home/me/pictures/cats/img_{i:04d}.{'png' if i % 3 else 'txt'}",
             reasons[i % len(reasons)]) for i in range(n)]


def fake_view(kind: str = "images") -> DatasetView:
    if kind == "points":
        pts, labels = fake_points()
        return DatasetView("ring8", "points", points=pts, labels=labels,
                           class_names=tuple(str(i) for i in range(8)), test_count=5000,
                           description="8 Gaussians on a circle.")
    images, labels = fake_digits()
    return DatasetView("mnist", "images", images=images, labels=labels,
                       class_names=tuple(str(i) for i in range(10)), test_count=10000,
                       skipped=fake_skipped(3), description="Fake MNIST-like digits.")


# ---------------------------------------------------------------- fakes: CodesViewPanel (and its tests)

def fake_codes_view(n: int = 1500, seed: int = 0) -> CodesView:
    """Ten blurred-disc "digits" whose codes form ten overlapping clusters (PCA-like axes)."""
    from .codes_view import CodesView
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    angle = 2 * np.pi * labels / 10
    centres = np.stack([2.2 * np.cos(angle), 1.3 * np.sin(angle)], 1)
    xy = (centres + rng.normal(0, 0.45, (n, 2))).astype(np.float32)
    yy, xx = np.mgrid[0:28, 0:28]
    thumbs = np.zeros((n, 1, 28, 28), np.uint8)
    for k in range(10):
        cx, cy = 14 + 7 * math.cos(2 * math.pi * k / 10), 14 + 7 * math.sin(2 * math.pi * k / 10)
        disc = np.clip(1.6 - np.hypot(xx - cx, yy - cy) / 4, 0, 1)
        thumbs[labels == k, 0] = (255 * disc).astype(np.uint8)
    inputs = thumbs[:16].astype(np.float32) / 255
    recons = np.clip(0.8 * inputs + 0.1 * inputs.mean(), 0, 1).astype(np.float32)
    z = rng.normal(size=(n, 16)).astype(np.float32)
    return CodesView(xy=xy, thumbs=thumbs, labels=labels, z=z,
                     axes=("PC1 (21% of variance)", "PC2 (14% of variance)"),
                     class_names=[str(k) for k in range(10)], inputs=inputs,
                     reconstructions=recons, index=np.arange(n), step=3000, latent_dim=16)


# ---------------------------------------------------------------- fakes: ModeCollapsePanel (and its tests)

def fake_collapse_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1, 28, 28) uint8 digits and labels: MNIST test images when assets/mnist.npz is
    there (a preview convenience), otherwise procedural blobs labelled 0..9."""
    from pathlib import Path
    rng = np.random.default_rng(seed)
    path = Path(__file__).resolve().parents[1] / "assets" / "mnist.npz"
    if path.is_file():
        with np.load(path) as z:
            idx = rng.choice(len(z["y_test"]), n, replace=False)
            return z["x_test"][idx][:, None], z["y_test"][idx].astype(np.int64)
    labels = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:28, 0:28]
    out = np.zeros((n, 1, 28, 28), np.uint8)
    for i, c in enumerate(labels):
        a = 2 * np.pi * c / 10
        cx, cy = 14 + 6 * np.cos(a), 14 + 6 * np.sin(a)
        out[i, 0] = (255 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 18)).astype(np.uint8)
    return out, labels


def fake_collapse(n_records: int = 40, every: int = 500, n: int = 64, seed: int = 0,
                  with_classes: bool = True) -> tuple[list[dict], np.ndarray]:
    """Records of a GAN that learns all 10 classes, then collapses to 3 (coverage 10 -> 3),
    and the last snapshot's samples (N, 1, 28, 28) uint8 with repeated digits."""
    rng = np.random.default_rng(seed)
    data = np.full(10, 0.1) + rng.normal(0, 0.004, 10)
    data /= data.sum()
    pool, labels = fake_collapse_digits(400, seed)
    records = []
    alerted = False
    for t in range(n_records):
        step = (t + 1) * every
        # learning (t < 6), healthy (6..24), collapsing onto classes 1, 4, 7 (25..)
        collapse = min(max((t - 24) / 8, 0.0), 1.0)
        learn = min(t / 6, 1.0)
        weights = np.ones(10) * (0.15 + 0.85 * learn)
        weights[[0, 8]] *= 0.3 + 0.7 * learn
        weights *= 1.0 - collapse * 0.995 * np.isin(np.arange(10), [1, 4, 7], invert=True)
        p = weights / weights.sum()
        counts = rng.multinomial(n, p)
        hist = counts / n
        kl = float(np.sum(hist[hist > 0] * np.log(hist[hist > 0] / data[hist > 0])))
        diversity = 42.0 * (0.55 + 0.42 * learn) * (1 - 0.5 * collapse) + rng.normal(0, 0.8)
        pairs = int(round(200 * collapse ** 2 + (rng.random() < 0.05)))
        covered = int((counts > 0).sum())
        alert = None
        if not alerted and covered <= 8 and t > 10:
            alert = (f"Possible mode collapse: coverage dropped to {covered} of 10 classes "
                     f"(best 10, at step {6 * every}); KL to the data's class mix rose to "
                     f"{kl:.2f} nats (best 0.04).")
            alerted = True
        rec = {"step": step, "n": n, "class_hist": hist if with_classes else None,
               "data_hist": data if with_classes else None,
               "classes_covered": covered if with_classes else None,
               "num_classes": 10 if with_classes else None,
               "kl_to_data": kl if with_classes else None, "real_kl": 0.07 if with_classes else None,
               "real_classes_covered": 9.99 if with_classes else None,
               "diversity": diversity if with_classes else diversity / 120,
               "real_diversity": 42.7 if with_classes else 0.356,
               "real_diversity_std": 1.0 if with_classes else 0.008,
               "diversity_space": "features" if with_classes else "pixels",
               "duplicates": [], "duplicate_pairs": pairs, "duplicate_share": min(1.0, pairs / 60),
               "duplicate_threshold": 2.35 if with_classes else 0.065, "alert": alert}
        records.append(rec)
    # the last snapshot: three digits repeated with a little noise
    picks = [int(np.flatnonzero(labels == c)[0]) if (labels == c).any() else c for c in (1, 4, 7)]
    which = rng.integers(0, 3, n)
    noise = rng.normal(0, 6, (n, 1, 28, 28))
    samples = np.clip(pool[[picks[w] for w in which]].astype(np.float64) + noise, 0, 255).astype(np.uint8)
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            if which[i] == which[j]:
                pairs.append((i, j, float(0.1 + 0.3 * rng.random())))
    pairs.sort(key=lambda p: p[2])
    last = records[-1]
    last["duplicates"] = pairs[:32]
    last["duplicate_pairs"] = len(pairs)
    last["duplicate_share"] = 1.0
    return records, samples


# ---------------------------------------------------------------- fakes: PointCanvasPanel

RING8_SIGMA = 0.01


def ring8_modes() -> np.ndarray:
    a = 2 * np.pi * np.arange(8) / 8
    return np.stack([np.cos(a), np.sin(a)], 1).astype(np.float32)


def fake_frame(step: int = 1200, progress: float = 0.7, seed: int = 0, n_real: int = 512,
               n_fake: int = 2500, grid: int = 64, n_arrows: int = 200, latent: int = 16,
               discriminator: bool = True) -> CanvasFrame:
    """A made-up GAN frame on ring8: G maps its latent plane onto an arc through 7 of the 8
    modes, bunching up at the modes as progress -> 1; D(x) compares kernel densities of the
    real and generated points; the arrows pull generated points towards the nearest mode."""
    from .point_canvas import CanvasFrame
    rng = np.random.default_rng(seed)
    modes = ring8_modes()
    real = modes[rng.integers(0, 8, n_real)] + RING8_SIGMA * rng.standard_normal((n_real, 2))
    sharp = 2 + 14 * progress

    def g(z: np.ndarray) -> np.ndarray:
        t = (np.tanh(0.7 * z[..., 0]) + 1) / 2 * 5.999          # 0..6 along the arc
        k = np.floor(t)
        step_ = 1 / (1 + np.exp(-sharp * (t - k - 0.5)))        # a soft staircase
        theta = (k + step_) * (np.pi / 4) + 0.15 * (1 - progress)
        r = 1.0 + 0.3 * (1 - progress) * np.tanh(0.8 * z[..., 1]) + 0.04 * np.sin(3 * t)
        return np.stack([r * np.cos(theta), r * np.sin(theta)], -1)

    fake = g(rng.standard_normal((n_fake, 2))).astype(np.float32)
    fake += (0.02 * rng.standard_normal(fake.shape)).astype(np.float32)
    lz = np.linspace(-2.5, 2.5, latent)
    manifold = g(np.stack(np.meshgrid(lz, lz), -1)).astype(np.float32)
    at = fake[rng.choice(n_fake, n_arrows, replace=False)]
    near = modes[np.argmin(((at[:, None] - modes[None, :7]) ** 2).sum(-1), axis=1)]
    arrows = (near - at) * (0.3 + np.linalg.norm(near - at, axis=1, keepdims=True))
    if not discriminator:
        return CanvasFrame(step=step, real=real.astype(np.float32), fake=fake,
                           manifold=manifold, modes=modes, mode_sigma=RING8_SIGMA)
    fx = np.linspace(-1.6, 1.6, grid)
    gx, gy = np.meshgrid(fx, fx)
    cells = np.stack([gx.ravel(), gy.ravel()], 1)

    def density(pts: np.ndarray, bw: float = 0.12) -> np.ndarray:
        sub = pts[:: max(1, len(pts) // 500)]
        d2 = ((cells[:, None, :] - sub[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * bw * bw)).mean(1) + 0.02

    logit = 2.5 * np.log(density(real) / density(fake))
    dval = (1 / (1 + np.exp(-logit))).reshape(grid, grid).astype(np.float32)
    return CanvasFrame(step=step, real=real.astype(np.float32), fake=fake, field_x=fx, field_y=fx,
                       field_values=dval, field_label="D(x) = P(real)", arrows_at=at,
                       arrows=arrows.astype(np.float32), manifold=manifold, modes=modes,
                       mode_sigma=RING8_SIGMA)


def fake_density_frame(step: int = 3000, seed: int = 0, n_real: int = 512, n_fake: int = 2500,
                       grid: int = 64, latent: int = 16):
    """A made-up normalizing-flow frame on ring8: its density p(x) is the 8 modes, a little
    too wide, joined by the thin ring of mass a flow leaves between them (field_kind
    "density", with log p(x) for the log scale); samples drawn from it; the manifold is the
    latent plane bent into the ring (polar coordinates)."""
    from .point_canvas import CanvasFrame
    rng = np.random.default_rng(seed)
    modes = ring8_modes()
    real = modes[rng.integers(0, 8, n_real)] + RING8_SIGMA * rng.standard_normal((n_real, 2))
    s = 1.6 * RING8_SIGMA
    fx = np.linspace(-1.6, 1.6, grid)
    gx, gy = np.meshgrid(fx, fx)
    cells = np.stack([gx.ravel(), gy.ravel()], 1)
    d2 = ((cells[:, None, :] - modes[None]) ** 2).sum(-1)
    p_modes = np.exp(-d2 / (2 * s * s)).mean(1) / (2 * np.pi * s * s)
    r = np.linalg.norm(cells, axis=1)
    p_ring = np.exp(-(r - 1.0) ** 2 / (2 * 0.05 ** 2)) / (2 * np.pi * np.sqrt(2 * np.pi) * 0.05)
    p = 0.93 * p_modes + 0.07 * p_ring + 1e-12
    k = rng.integers(0, 8, n_fake)
    fake = (modes[k] + s * rng.standard_normal((n_fake, 2))).astype(np.float32)
    lz = np.linspace(-2.5, 2.5, latent)
    zz = np.stack(np.meshgrid(lz, lz), -1)
    theta = np.pi * np.tanh(0.6 * zz[..., 0])
    rad = 1.0 + 0.12 * zz[..., 1]
    manifold = np.stack([rad * np.cos(theta), rad * np.sin(theta)], -1).astype(np.float32)
    return CanvasFrame(step=step, real=real.astype(np.float32), fake=fake, field_x=fx, field_y=fx,
                       field_values=p.reshape(grid, grid).astype(np.float32),
                       field_log_values=np.log(p).reshape(grid, grid).astype(np.float32),
                       field_kind="density", field_label="p(x), the flow's density",
                       field_log_label="log p(x), nats", manifold=manifold, modes=modes,
                       mode_sigma=RING8_SIGMA)


def fake_metrics(steps: int = 60, every: int = 20):
    """(step, captured, 8, hq, reverse KL, per-mode counts) rows of a GAN finding the modes."""
    rng = np.random.default_rng(3)
    for i in range(steps):
        t = i / max(steps - 1, 1)
        captured = min(7, 1 + int(7 * t ** 0.7))
        hq = 0.15 + 0.81 * t ** 0.8 + 0.01 * rng.standard_normal()
        w = np.zeros(8)
        w[:captured] = rng.uniform(0.6, 1.4, captured)
        counts = np.round(w / w.sum() * 2500 * hq).astype(int)
        p = w[:captured] / w[:captured].sum()
        rkl = float(np.sum(p * np.log(p * 8)))
        yield i * every, captured, 8, float(np.clip(hq, 0, 1)), rkl, counts


# ---------------------------------------------------------------- fakes: DiffusionScrubberPanel

def _linear_alpha_bar(T: int = 1000) -> np.ndarray:
    betas = np.linspace(1e-4, 0.02, T)
    return np.cumprod(1.0 - betas)


def _drawn_images(n: int = 16, size: int = 28) -> np.ndarray:
    """n clean (n, 1, size, size) images in [0, 1]: digits drawn with QPainter, then shapes."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size * 2 - 1
    shapes = [np.hypot(xx, yy) < 0.6,
              (np.abs(xx) < 0.5) & (np.abs(yy) < 0.5),
              (yy > -0.6) & (yy < 0.55) & (np.abs(xx) < (yy + 0.6) * 0.55),
              (np.abs(xx) < 0.15) | (np.abs(yy) < 0.15),
              np.abs(np.hypot(xx, yy) - 0.55) < 0.13,
              np.abs(xx) + np.abs(yy) < 0.7]
    out = np.zeros((n, 1, size, size), np.float32)
    font = QFont()
    font.setPixelSize(int(size * 0.85))
    font.setBold(True)
    for i in range(n):
        if i < 10:
            img = QImage(size, size, QImage.Format.Format_Grayscale8)
            img.fill(0)
            p = QPainter(img)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setFont(font)
            p.setPen(QColor(255, 255, 255))
            p.drawText(img.rect(), Qt.AlignmentFlag.AlignCenter, str((i * 7 + 3) % 10))
            p.end()
            buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * size)
            out[i, 0] = buf.reshape(size, img.bytesPerLine())[:, :size] / 255.0
        else:
            out[i, 0] = shapes[(i - 10) % len(shapes)]
    return out


def fake_image_trajectory(n: int = 16, steps: int = 50, T: int = 1000, seed: int = 0,
                          mode: str = "sample") -> tuple[dict, np.ndarray]:
    """A made-up trajectory: clean drawings blended with Gaussian noise per the linear schedule
    (x_t = sqrt(abar) x0 + sqrt(1 - abar) eps in [-1, 1] space). Returns (traj, alpha_bar)."""
    rng = np.random.default_rng(seed)
    ab = _linear_alpha_bar(T)
    x0 = _drawn_images(n) * 2 - 1
    t = np.round(np.linspace(T, 1, steps)).astype(np.int64)
    if mode == "forward":
        t = t[::-1].copy()
    eps = rng.standard_normal(x0.shape).astype(np.float32)
    a = ab[t - 1][:, None, None, None, None]
    xt = np.sqrt(a) * x0[None] + np.sqrt(1 - a) * eps[None]
    blur = (1 - a) * rng.standard_normal((steps,) + x0.shape) * 0.6          # a fallible model
    x0_hat = np.clip(x0[None] * (0.3 + 0.7 * np.sqrt(a)) + blur, -1, 1)
    eps_hat = eps[None] + 0.3 * np.sqrt(a) * rng.standard_normal((steps,) + x0.shape)
    traj = {"t": t, "xt": np.clip((xt + 1) / 2, 0, 1).astype(np.float32),
            "x0": ((x0_hat + 1) / 2).astype(np.float32), "eps": eps_hat.astype(np.float32),
            "mode": mode}
    if mode == "forward":           # the render adds the truth beside the guesses
        traj["x0_true"] = np.broadcast_to((x0 + 1) / 2, xt.shape).astype(np.float32)
        traj["eps_true"] = np.broadcast_to(eps, xt.shape).astype(np.float32)
        traj["eps_mse"] = ((eps_hat - eps) ** 2).reshape(steps, n, -1).mean(axis=2)
    return traj, ab


def fake_point_trajectory(n: int = 400, steps: int = 50, T: int = 1000, seed: int = 0,
                          grid: int = 15) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Particles denoising onto a ring of radius 2, with a per-step predicted-noise field.
    Returns (traj, alpha_bar, grid_xy (M, 2), vectors (S, M, 2))."""
    rng = np.random.default_rng(seed)
    ab = _linear_alpha_bar(T)
    ang = rng.uniform(0, 2 * np.pi, n)
    x0 = np.stack([np.cos(ang), np.sin(ang)], 1) * (2 + 0.08 * rng.standard_normal((n, 1)))
    eps = rng.standard_normal((n, 2))
    t = np.round(np.linspace(T, 1, steps)).astype(np.int64)
    a = ab[t - 1][:, None, None]
    xt = np.sqrt(a) * x0[None] + np.sqrt(1 - a) * eps[None]

    def project(p: np.ndarray) -> np.ndarray:
        r = np.linalg.norm(p, axis=-1, keepdims=True)
        return 2 * p / np.maximum(r, 1e-6)

    x0_hat = project(xt) * np.sqrt(a)             # a model that learnt "the ring", roughly
    g = np.linspace(-3, 3, grid)
    gx, gy = np.meshgrid(g, g)
    grid_xy = np.stack([gx.ravel(), gy.ravel()], 1)
    field = (grid_xy[None] - np.sqrt(a) * project(grid_xy)[None]) / np.sqrt(1 - a)
    traj = {"t": t, "xt": xt.astype(np.float32), "x0": x0_hat.astype(np.float32),
            "eps": ((xt - np.sqrt(a) * x0_hat) / np.sqrt(1 - a)).astype(np.float32),
            "mode": "sample"}
    return traj, ab, grid_xy, field.astype(np.float32)


# ---------------------------------------------------------------- fakes: FieldForm

def fake_form_fields() -> list[FieldSpec]:
    """One field of each kind (int, choices, live float, str, bool)."""
    return [
        FieldSpec("latent_dim", "int", 8, "Size of the latent code z.", min=1, max=1024),
        FieldSpec("arch", "str", "conv", "Image networks.", choices=("conv", "mlp")),
        FieldSpec("lr", "float", 1e-3, "Learning rate.", min=0.0, max=10.0, structural=False),
        FieldSpec("name", "str", "run", "A name."),
        FieldSpec("ema", "bool", True, "Keep an EMA copy."),
    ]


# ---------------------------------------------------------------- fakes: EvaluationTable

def fake_evaluations() -> list[tuple[str, dict]]:
    """(run name, evaluation record) of two MNIST VAEs, as studio.core.evaluation writes them."""
    base = {"step": 3000, "n": 10000, "seed": 0, "test/elbo": -100.36, "test/recon": 80.2,
            "test/kl": 20.1, "likelihood/iwae_k64": -97.5, "quality/fd": 4.1,
            "quality/fd_floor": 0.21, "quality/precision": 0.81, "quality/precision_floor": 0.9,
            "quality/recall": 0.6, "quality/recall_floor": 0.88,
            "quality/classifier_score": 9.1, "quality/classifier_score_real": 9.9,
            "coverage/classes": 10, "coverage/kl": 0.012}
    return [("vae-mnist-20260101-120000", base),
            ("vae-mnist-beta4", {**base, "quality/fd": 9.3, "test/elbo": -108.2})]
