"""What every panel's `python -m widgets.<panel>` preview shares: the application with the
studio's style (and the dark palette on request), showing the panel or grabbing it, and the
fake data the previews show (kept out of the panels' modules)."""
from __future__ import annotations

import math
import sys

import numpy as np
from PySide6.QtWidgets import QApplication, QWidget

from .viewmodels import DatasetView, EngineInfo, FieldSpec, SourceInfo


def preview_app(dark: bool = False) -> QApplication:
    from .palettes import dark_palette
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if dark:
        app.setPalette(dark_palette())
    return app


def show_or_grab(app: QApplication, panel: QWidget, size: str, grab: str | None) -> int:
    """Resize to "WxH" and show; with `grab`, save a screenshot there and return instead of
    running the event loop."""
    w, h = (int(v) for v in size.lower().split("x"))
    panel.resize(w, h)
    panel.show()
    if grab:
        for _ in range(5):
            app.processEvents()
        ok = panel.grab().save(grab)
        print(f"saved {grab}" if ok else f"could not save {grab}")
        return 0 if ok else 1
    return app.exec()


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
