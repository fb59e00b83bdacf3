"""The MNIST evaluator network: a small CNN classifier whose outputs the sample-quality
metrics use (Qt-free; torch + numpy + safetensors).

Architecture (``MnistCNN``, the defaults; the shipped file's metadata records it):

    conv1  3x3,  1 -> 32, BN, ReLU          28 -> 26
    conv2  3x3, 32 -> 32, BN, ReLU, pool 2  26 -> 24 -> 12
    conv3  3x3, 32 -> 64, BN, ReLU          12 -> 10
    conv4  3x3, 64 -> 64, BN, ReLU, pool 2  10 -> 8 -> 4
    fc1    1024 -> 128, ReLU                the penultimate features ("fc1", 128 values)
    fc2    128 -> 10 (dropout before it while training)     the logits

The weights ship in ``assets/evaluator-mnist.safetensors``, made by
``python -m studio.core.evaluator_train``; the file's metadata holds the test accuracy (full
10,000-image test split), the training config, seed, torch version, date and wall time.
Files are read with safetensors only (never pickle) and refused unless they carry the
``genstudio-evaluator-1`` metadata and exactly the expected tensor names and shapes.

Usage::

    ev = MnistEvaluator.load()          # cached per (path, device, file version)
    ev.predict(images)                  # (N,) int64
    ev.probs(images)                    # (N, 10) float32, rows sum to 1
    ev.features(images)                 # (N, 128) float32: fc1 after its ReLU

Images are (N, 1, 28, 28) or (N, 28, 28), numpy arrays or tensors: float in [0, 1] (not
clipped: what you give is what the network sees) or uint8 in 0..255 (divided by 255, so
``x`` and ``x.astype(float32) / 255`` give identical results). Work is done in batches of
1,000 under ``torch.inference_mode`` in eval mode, with each BatchNorm folded into its
convolution, on the evaluator's device; results are numpy.
"""
from __future__ import annotations

import copy
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import torch
from torch import nn
from .paths import ASSETS

FORMAT = "genstudio-evaluator-1"
DEFAULT_PATH = ASSETS / "evaluator-mnist.safetensors"
BATCH = 1000
IMAGE_SHAPE = (1, 28, 28)
NUM_CLASSES = 10
FEATURE_LAYER = "fc1"          # the penultimate layer, after its ReLU
REQUIRED_METADATA = ("format", "test_accuracy", "config")


class EvaluatorError(ValueError):
    """An evaluator weights file cannot be used; the message says which file and why."""


# ----------------------------------------------------------------------------- network

@dataclass(frozen=True)
class Architecture:
    """The network's shape, stored in the weights file's config so a file describes itself."""
    channels: tuple[int, int, int, int] = (32, 32, 64, 64)
    features: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict[str, Any]:
        return {"name": "cnn4-bn", "channels": list(self.channels), "features": self.features,
                "dropout": self.dropout, "feature_layer": FEATURE_LAYER}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Architecture":
        try:
            if d.get("name", "cnn4-bn") != "cnn4-bn":
                raise ValueError(f"unknown architecture {d.get('name')!r}")
            channels = tuple(int(c) for c in d["channels"])
            if len(channels) != 4 or min(channels) < 1 or max(channels) > 1024:
                raise ValueError(f"channels must be 4 sizes in 1..1024, got {list(channels)}")
            features = int(d["features"])
            if not 1 <= features <= 4096:
                raise ValueError(f"features must be in 1..4096, got {features}")
            return cls(channels, features, float(d.get("dropout", 0.0)))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"bad architecture in config: {e}") from None


def _block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class MnistCNN(nn.Module):
    """conv32-conv32-pool-conv64-conv64-pool-fc128-fc10 with BatchNorm (see module doc).

    ``features(x)`` is fc1 after its ReLU (the penultimate layer); ``forward(x)`` the logits.
    Inputs are float (N, 1, 28, 28) in [0, 1].
    """

    def __init__(self, arch: Architecture = Architecture()):
        super().__init__()
        c1, c2, c3, c4 = arch.channels
        self.arch = arch
        self.conv1 = _block(1, c1, False)
        self.conv2 = _block(c1, c2, True)
        self.conv3 = _block(c2, c3, False)
        self.conv4 = _block(c3, c4, True)
        self.fc1 = nn.Linear(c4 * 4 * 4, arch.features)
        self.dropout = nn.Dropout(arch.dropout)
        self.fc2 = nn.Linear(arch.features, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv4(self.conv3(self.conv2(self.conv1(x))))
        return torch.relu(self.fc1(x.flatten(1)))

    def head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(feats))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def fused(self) -> "MnistCNN":
        """An eval-mode copy with every BatchNorm folded into its convolution (faster; the
        same function up to float rounding)."""
        from torch.nn.utils.fusion import fuse_conv_bn_eval
        m = copy.deepcopy(self).eval()
        for block in (m.conv1, m.conv2, m.conv3, m.conv4):
            block[0] = fuse_conv_bn_eval(block[0], block[1])
            block[1] = nn.Identity()
        return m


# ----------------------------------------------------------------------------- loading

def _read_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import SafetensorError, safe_open
    if not path.is_file():
        raise EvaluatorError(f"evaluator weights not found: {path} "
                             f"(make them with `python -m studio.core.evaluator_train --out {path}`)")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise EvaluatorError(f"{path} is not a readable safetensors file ({e})") from None
    return tensors, meta


def _parse_metadata(path: Path, meta: Mapping[str, str]) -> dict[str, Any]:
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        raise EvaluatorError(
            f"{path} is not a Generative Studio evaluator file: its safetensors metadata lacks "
            f"{', '.join(missing)} (expected format {FORMAT!r}; make one with "
            f"`python -m studio.core.evaluator_train`)")
    if meta["format"] != FORMAT:
        raise EvaluatorError(f"{path}: evaluator format {meta['format']!r} is not supported "
                             f"(expected {FORMAT!r})")
    try:
        accuracy = float(meta["test_accuracy"])
        config = json.loads(meta["config"])
        if not isinstance(config, dict):
            raise ValueError("config is not a JSON object")
        arch = Architecture.from_dict(config.get("architecture", {}))
    except (ValueError, TypeError) as e:
        raise EvaluatorError(f"{path}: bad evaluator metadata ({e})") from None
    if not 0.0 <= accuracy <= 1.0:
        raise EvaluatorError(f"{path}: bad evaluator metadata (test_accuracy {accuracy})")
    out: dict[str, Any] = {k: v for k, v in meta.items()}
    out.update(accuracy=accuracy, test_accuracy=accuracy, config=config, architecture=arch,
               seed=config.get("seed"), torch_version=meta.get("torch_version", ""),
               date=meta.get("date", ""))
    return out


def _check_tensors(path: Path, tensors: Mapping[str, torch.Tensor], model: nn.Module) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing tensors {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors {', '.join(unexpected)}")
    for k in sorted(set(expected) & set(tensors)):
        want, got = expected[k], tensors[k]
        if tuple(got.shape) != tuple(want.shape):
            problems.append(f"{k} has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
        elif got.dtype != want.dtype:
            problems.append(f"{k} has dtype {got.dtype}, expected {want.dtype}")
        elif got.is_floating_point() and not bool(torch.isfinite(got).all()):
            problems.append(f"{k} holds non-finite values")
    if problems:
        raise EvaluatorError(f"{path}: weights do not match the evaluator architecture: "
                             + "; ".join(problems))


# ----------------------------------------------------------------------------- evaluator

_CACHE: dict[tuple, "MnistEvaluator"] = {}
_CACHE_LOCK = threading.Lock()


class MnistEvaluator:
    """A trained ``MnistCNN`` ready for scoring images; see the module docstring.

    ``metadata``: accuracy (float, on the full test split), config (dict: epochs, batch,
    lr, seed, augmentation, architecture, ...), seed, torch_version, date, plus every raw
    metadata string of the file (train_seconds, threads, ...).
    """

    feature_layer = FEATURE_LAYER

    def __init__(self, model: MnistCNN, metadata: Mapping[str, Any], device="cpu",
                 path: Optional[Path] = None):
        self.device = torch.device(device)
        self.path = path
        self.metadata = dict(metadata)
        net = model.fused().to(self.device).to(memory_format=torch.channels_last)
        net.requires_grad_(False)
        self._net = net

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device="cpu") -> "MnistEvaluator":
        """Load (once per path, device and file version, then cached) an evaluator file."""
        path = Path(path) if path is not None else DEFAULT_PATH
        path = path.resolve()
        try:
            st = path.stat()
            version = (st.st_mtime_ns, st.st_size)
        except OSError:
            version = None
        key = (str(path), str(torch.device(device)), version)
        with _CACHE_LOCK:
            ev = _CACHE.get(key)
            if ev is None:
                ev = cls._load_uncached(path, device)
                for k in [k for k in _CACHE if k[:2] == key[:2]]:
                    del _CACHE[k]       # an older version of the same file
                _CACHE[key] = ev
            return ev

    @classmethod
    def _load_uncached(cls, path: Path, device) -> "MnistEvaluator":
        tensors, raw = _read_file(path)
        meta = _parse_metadata(path, raw)
        # Built on the meta device: a CPU build would initialise its weights from torch's
        # global RNG, which is the training run's, so loading the evaluator mid-run (the
        # mode monitor, Evaluate) would make resumed runs differ from uninterrupted ones.
        with torch.device("meta"):
            model = MnistCNN(meta["architecture"])
        _check_tensors(path, tensors, model)
        model.load_state_dict(tensors, assign=True)
        return cls(model, meta, device, path)

    @classmethod
    def from_model(cls, model: MnistCNN, metadata: Optional[Mapping[str, Any]] = None,
                   device="cpu") -> "MnistEvaluator":
        """Wrap an in-memory network (the training script measures through this path)."""
        return cls(model, metadata or {}, device)

    # -------------------------------------------------------------------- properties

    @property
    def accuracy(self) -> float:
        """Test accuracy recorded in the file (full 10,000-image MNIST test split)."""
        return float(self.metadata.get("accuracy", float("nan")))

    @property
    def feature_dim(self) -> int:
        return self._net.fc1.out_features

    # -------------------------------------------------------------------- scoring

    def logits(self, x) -> np.ndarray:
        """(N, 10) float32 class logits."""
        return self._run(x, want_features=False)[1]

    def probs(self, x) -> np.ndarray:
        """(N, 10) float32 class probabilities (softmax of the logits; rows sum to 1)."""
        return _softmax(self.logits(x))

    def features(self, x) -> np.ndarray:
        """(N, 128) float32 penultimate features: layer ``fc1`` after its ReLU (size
        ``feature_dim``). The Frechet distance and precision/recall use these."""
        return self._run(x, want_logits=False)[0]

    def features_and_logits(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Both in one pass: ((N, 128) features, (N, 10) logits)."""
        return self._run(x)

    def predict(self, x) -> np.ndarray:
        """(N,) int64 predicted classes (argmax of the logits)."""
        return self.logits(x).argmax(1).astype(np.int64)

    def accuracy_on(self, x, y) -> float:
        """Fraction of images whose predicted class equals label ``y``."""
        y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y).reshape(-1)
        pred = self.predict(x)
        if len(pred) != len(y):
            raise ValueError(f"{len(pred)} images but {len(y)} labels")
        return float((pred == y).mean()) if len(y) else float("nan")

    def _run(self, x, want_features: bool = True, want_logits: bool = True
             ) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        x = _check_images(x)
        n = x.shape[0]
        feats = np.empty((n, self.feature_dim), np.float32) if want_features else None
        logits = np.empty((n, NUM_CLASSES), np.float32) if want_logits else None
        net = self._net
        with torch.inference_mode():
            for start in range(0, n, BATCH):
                xb = _to_float_batch(x[start:start + BATCH], self.device)
                f = net.features(xb)
                if want_features:
                    feats[start:start + len(xb)] = f.float().cpu().numpy()
                if want_logits:
                    logits[start:start + len(xb)] = net.head(f).float().cpu().numpy()
        return feats, logits


# ----------------------------------------------------------------------------- inputs

def _check_images(x):
    """Validate shape and dtype; returns an (N, 1, 28, 28) array or tensor (not yet float)."""
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        x = np.asarray(x)
    shape = tuple(x.shape)
    if len(shape) == 3 and shape[1:] == IMAGE_SHAPE[1:]:
        x = x[:, None]
    elif not (len(shape) == 4 and shape[1:] == IMAGE_SHAPE):
        raise ValueError(f"the MNIST evaluator takes images of shape (N, 1, 28, 28) or "
                         f"(N, 28, 28); got {shape}")
    if isinstance(x, torch.Tensor):
        ok = x.dtype == torch.uint8 or x.dtype == torch.bool or x.is_floating_point()
    else:
        ok = x.dtype == np.uint8 or x.dtype == np.bool_ or np.issubdtype(x.dtype, np.floating)
    if not ok:
        raise TypeError(f"the MNIST evaluator takes float images in [0, 1] or uint8 images in "
                        f"0..255; got dtype {x.dtype}")
    return x


def _to_float_batch(xb, device: torch.device) -> torch.Tensor:
    if isinstance(xb, np.ndarray):
        is_u8 = xb.dtype == np.uint8
        xb = torch.from_numpy(np.array(xb, copy=True) if not xb.flags.writeable else
                              np.ascontiguousarray(xb))
    else:
        is_u8 = xb.dtype == torch.uint8
        xb = xb.detach()
    xb = xb.to(device)
    xb = xb.float() / 255.0 if is_u8 else xb.float()
    return xb.contiguous(memory_format=torch.channels_last)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
