"""Array files from the user: MNIST-format IDX files and .npz archives."""
from __future__ import annotations

import gzip
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from engines.params import param

from .common import as_labels, image_dataset, points_dataset, split, user_path
from .dataset import DataError, Dataset

# ------------------------------------------------------------------------------------ IDX

_IDX_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int",
              0x0D: "float", 0x0E: "double"}
_IDX_WHAT = {3: "an IDX image file (magic 0x00000803: count x rows x columns)",
             1: "an IDX label file (magic 0x00000801: count)"}


@dataclass
class IdxOptions:
    images: str = param("", "Training images, IDX format (e.g. train-images-idx3-ubyte, "
                            "plain or .gz).")
    labels: str = param("", "Training labels, IDX format (optional).")
    test_images: str = param("", "Test images (optional; without them test_fraction of the "
                                 "training images is held out).")
    test_labels: str = param("", "Test labels (needed when there are training labels and "
                                 "test images).")
    test_fraction: float = param(0.1, "Fraction held out for evaluation when no test files "
                                      "are given.", min=0.0, max=0.9)


def read_idx(path: Path, key: str = "images", ndim: Optional[int] = None) -> np.ndarray:
    """Parse one IDX file (gzip detected by its magic bytes). Only unsigned-byte data."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"data.{key}: cannot read {path}: {e.strerror or e}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"data.{key}: {path.name} is a damaged gzip file ({e})") from None
    want = _IDX_WHAT.get(ndim, "an IDX file")
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES:
        raise DataError(f"data.{key}: {path.name} is not {want} "
                        f"(first bytes: {raw[:4].hex() or 'none'})")
    code, nd = raw[2], raw[3]
    if code != 0x08:
        raise DataError(f"data.{key}: {path.name} holds IDX data type 0x{code:02X} "
                        f"({_IDX_TYPES[code]}); only 0x08 (unsigned byte) is supported")
    if ndim is not None and nd != ndim:
        raise DataError(f"data.{key}: {path.name} is not {want}: its magic is "
                        f"0x{int.from_bytes(raw[:4], 'big'):08X} ({nd} dimensions)")
    header = 4 + 4 * nd
    if len(raw) < header:
        raise DataError(f"data.{key}: {path.name} is truncated: expected a {header}-byte "
                        f"header, the file has {len(raw)} bytes")
    dims = struct.unpack(f">{nd}I", raw[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        problem = "is truncated" if len(raw) < expected else "is longer than its header says"
        raise DataError(f"data.{key}: {path.name} {problem}: expected {expected} bytes for "
                        f"shape {dims}, the file has {len(raw)} bytes")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims).copy()


def _idx_pair(images: str, labels: str, ikey: str, lkey: str):
    x = read_idx(user_path(images, ikey, "IDX image file"), ikey, 3)[:, None]
    if not labels.strip():
        return x, None
    y = read_idx(user_path(labels, lkey, "IDX label file"), lkey, 1).astype(np.int64)
    if len(y) != len(x):
        raise DataError(f"data.{lkey}: {len(y)} labels for {len(x)} images in data.{ikey}")
    return x, y


def load_idx(options: IdxOptions, seed: int = 0) -> Dataset:
    x, y = _idx_pair(options.images, options.labels, "images", "labels")
    if options.test_images.strip():
        if y is not None and not options.test_labels.strip():
            raise DataError("data.test_labels: give the test labels too "
                            "(the training images have labels)")
        vx, vy = _idx_pair(options.test_images, options.test_labels if y is not None else "",
                           "test_images", "test_labels")
        if vx.shape[1:] != x.shape[1:]:
            raise DataError(f"data.test_images: images are {vx.shape[2]}x{vx.shape[3]}, the "
                            f"training images {x.shape[2]}x{x.shape[3]}")
    elif options.test_labels.strip():
        raise DataError("data.test_labels: given without data.test_images")
    else:
        x, y, vx, vy = split(x, y, options.test_fraction, seed)
    return image_dataset("idx", x, y, vx, vy)


# ------------------------------------------------------------------------------------ NPZ

_NPZ_LAYOUTS = (("x_train", "y_train", "x_test", "y_test"),
                ("x", "y", None, None),
                ("images", "labels", None, None))
_ACCEPTED_SHAPES = ("images (N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1, 3, 4 "
                    "(alpha dropped); points (N, D) with D <= 16")
MAX_POINT_DIM = 16


@dataclass
class NpzOptions:
    path: str = param("", "A .npz file with arrays x/y, x_train/y_train[/x_test/y_test] or "
                          "images/labels. Images: uint8 0..255 or float 0..1.")
    test_fraction: float = param(0.1, "Fraction held out for evaluation when the file has "
                                      "no x_test.", min=0.0, max=0.9)


def _get(z, name: str, key: str):
    try:
        return np.asarray(z[name])
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise DataError(f"data.{key}: '{name}' is an object array: refusing to load "
                            "pickled object arrays (save plain numeric arrays)") from None
        raise DataError(f"data.{key}: cannot read '{name}': {e}") from None


def _to_images(x: np.ndarray, what: str) -> np.ndarray:
    """Accepted image layouts and ranges -> uint8 (N, C, H, W)."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        cs = (1, 3, 4)
        nchw = x.shape[1] in cs and (x.shape[3] not in cs or x.shape[2] == x.shape[3])
        if not nchw and x.shape[3] in cs:
            x = np.moveaxis(x, 3, 1)
        elif not nchw:
            raise DataError(f"{what} has shape {x.shape}; accepted: {_ACCEPTED_SHAPES}")
        x = x[:, :3]   # drop alpha
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise DataError(f"{what}: images contain NaN or infinity")
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo < 0 or hi > 1:
            raise DataError(f"{what}: float images must lie in [0, 1] (found {lo:g}..{hi:g}); "
                            "give uint8 0..255 or float 0..1")
        return np.round(x * 255).astype(np.uint8)
    if x.dtype.kind in "iu":
        lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
        if lo < 0 or hi > 255:
            raise DataError(f"{what}: integer images must lie in 0..255 (found {lo}..{hi})")
        return np.ascontiguousarray(x, dtype=np.uint8)
    raise DataError(f"{what}: images must be uint8 or float, found dtype {x.dtype}")


def _classify(x: np.ndarray, what: str) -> tuple[str, np.ndarray]:
    if x.ndim == 2 and 1 <= x.shape[1] <= MAX_POINT_DIM:
        if x.dtype.kind not in "iuf" or not np.all(np.isfinite(x)):
            raise DataError(f"{what}: points must be finite numbers (dtype {x.dtype})")
        return "points", x.astype(np.float32)
    if x.ndim in (3, 4) and min(x.shape[1:]) > 0:
        return "images", _to_images(x, what)
    raise DataError(f"{what} has shape {x.shape}; accepted: {_ACCEPTED_SHAPES}")


def load_npz(options: NpzOptions, seed: int = 0) -> Dataset:
    path = user_path(options.path, "path", ".npz file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic[:4] != b"PK\3\4" and magic != b"\x93NUMPY":
            # np.load would take anything else for a pickle and say so, which misleads.
            raise DataError(f"data.path: cannot read {path.name} as .npz (not a zip archive "
                            "or .npy array)")
        z = np.load(path, allow_pickle=False)
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise DataError(f"data.path: {path.name} holds an object array: refusing to "
                            "load pickled object arrays") from None
        raise DataError(f"data.path: cannot read {path.name} as .npz ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"data.path: cannot read {path.name} as .npz ({e})") from None
    if isinstance(z, np.ndarray):   # a lone .npy array: take it as x
        layout, arrays = _NPZ_LAYOUTS[1], {"x": z}
    else:
        with z:
            names = set(z.files)
            layout = next((l for l in _NPZ_LAYOUTS if l[0] in names), None)
            if layout is None:
                raise DataError(f"data.path: {path.name} has arrays {sorted(names)}; expected "
                                "x (and y), x_train/y_train (and x_test/y_test) or "
                                "images (and labels)")
            wanted = [k for k in (*layout, "class_names", "modes", "mode_sigma")
                      if k and k in names]
            arrays = {k: _get(z, k, "path") for k in wanted}
    xk, yk, vxk, vyk = layout
    kind, x = _classify(arrays[xk], f"data.path: '{xk}'")
    y = as_labels(arrays.get(yk), len(x), f"data.path: '{yk}'")
    if vxk and vxk in arrays:
        vkind, vx = _classify(arrays[vxk], f"data.path: '{vxk}'")
        if vkind != kind or vx.shape[1:] != x.shape[1:]:
            raise DataError(f"data.path: '{vxk}' has shape {arrays[vxk].shape}, which does not "
                            f"match '{xk}' {arrays[xk].shape}")
        vy = as_labels(arrays.get(vyk), len(vx), f"data.path: '{vyk}'")
        if (y is None) != (vy is None):
            raise DataError(f"data.path: give both '{yk}' and '{vyk}' or neither")
    else:
        x, y, vx, vy = split(x, y, options.test_fraction, seed)
    names = [str(s) for s in arrays["class_names"].tolist()] if "class_names" in arrays else []
    make = points_dataset if kind == "points" else image_dataset
    ds = make("npz", x, y, vx, vy, names if y is not None else [])
    if kind == "points" and "modes" in arrays:
        # A mixture with known centres (a distribution drawn on the 2D canvas): mode coverage
        # is then scored as for ring8 / grid25.
        modes = np.asarray(arrays["modes"], np.float64)
        sigma = np.asarray(arrays.get("mode_sigma", 0.0), np.float64)
        if modes.ndim != 2 or modes.shape[1] != x.shape[1] or sigma.size != 1 or not sigma > 0:
            raise DataError(f"data.path: 'modes' must be (K, {x.shape[1]}) with a positive "
                            f"scalar 'mode_sigma'; got {modes.shape} and {sigma.shape}")
        ds.modes, ds.mode_sigma = modes, float(sigma)
    return ds
