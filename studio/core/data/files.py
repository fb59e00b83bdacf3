"""Array files from the user: MNIST-format IDX files and .npz archives."""
from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

import numpy as np

from engines.params import param

from .common import (MAX_CLASSES, as_labels, class_names_from, finite_float32,
                     image_dataset, points_dataset, split, user_path)
from .dataset import DataError, Dataset

# ------------------------------------------------------------------------------------ IDX

_IDX_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int",
              0x0D: "float", 0x0E: "double"}
_IDX_WHAT = {3: "an IDX image file (magic 0x00000803: count x rows x columns)",
             1: "an IDX label file (magic 0x00000801: count)"}
_CHUNK = 1 << 20   # a read buffer of this size is allocated up front


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


def _read_upto(fh: BinaryIO, n: int) -> bytes:
    """Up to n bytes, in chunks: memory grows with the bytes really there, never with n
    (a header may claim any size)."""
    parts, got = [], 0
    while got < n:
        b = fh.read(min(n - got, _CHUNK))
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def read_idx(path: Path, key: str = "images", ndim: Optional[int] = None) -> np.ndarray:
    """Parse one IDX file (gzip detected by its magic bytes). Only unsigned-byte data."""
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            fh = gzip.GzipFile(fileobj=raw) if gz else raw
            size = None if gz else os.fstat(raw.fileno()).st_size
            try:
                return _parse_idx(fh, path, key, ndim, size)
            except (EOFError, zlib.error, gzip.BadGzipFile) as e:
                raise DataError(f"data.{key}: {path.name} is a damaged gzip file ({e})") from None
    except OSError as e:
        raise DataError(f"data.{key}: cannot read {path}: {e.strerror or e}") from None


def _parse_idx(fh: BinaryIO, path: Path, key: str, ndim: Optional[int],
               size: Optional[int]) -> np.ndarray:
    want = _IDX_WHAT.get(ndim, "an IDX file")
    magic = _read_upto(fh, 4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _IDX_TYPES:
        raise DataError(f"data.{key}: {path.name} is not {want} "
                        f"(first bytes: {magic.hex() or 'none'})")
    code, nd = magic[2], magic[3]
    if code != 0x08:
        raise DataError(f"data.{key}: {path.name} holds IDX data type 0x{code:02X} "
                        f"({_IDX_TYPES[code]}); only 0x08 (unsigned byte) is supported")
    if ndim is not None and nd != ndim:
        raise DataError(f"data.{key}: {path.name} is not {want}: its magic is "
                        f"0x{int.from_bytes(magic, 'big'):08X} ({nd} dimensions)")
    header = 4 + 4 * nd
    sizes = _read_upto(fh, 4 * nd)
    if len(sizes) < 4 * nd:
        raise DataError(f"data.{key}: {path.name} is truncated: expected a {header}-byte "
                        f"header, the file has {4 + len(sizes)} bytes")
    dims = struct.unpack(f">{nd}I", sizes)
    expected = header + math.prod(dims)   # Python ints: no overflow, however large
    if size is not None and size < expected:   # refused before reading the body
        raise DataError(f"data.{key}: {path.name} is truncated: expected {expected} bytes for "
                        f"shape {dims}, the file has {size} bytes")
    body = _read_upto(fh, expected - header + 1)
    if len(body) != expected - header:
        if len(body) < expected - header:
            problem, has = "is truncated", f"{header + len(body)} bytes"
        else:
            problem = "is longer than its header says"
            has = f"{size} bytes" if size is not None else f"more than {expected} bytes"
        raise DataError(f"data.{key}: {path.name} {problem}: expected {expected} bytes for "
                        f"shape {dims}, the file has {has}")
    if not all(dims):
        raise DataError(f"data.{key}: {path.name} holds no data (shape {dims})")
    return np.frombuffer(body, np.uint8).reshape(dims).copy()


def _idx_pair(images: str, labels: str, ikey: str, lkey: str):
    x = read_idx(user_path(images, ikey, "IDX image file"), ikey, 3)[:, None]
    if not labels.strip():
        return x, None
    y = read_idx(user_path(labels, lkey, "IDX label file"), lkey, 1)
    if len(y) != len(x):
        raise DataError(f"data.{lkey}: {len(y)} labels for {len(x)} images in data.{ikey}")
    return x, as_labels(y, len(x), f"data.{lkey}")


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
        x, y, vx, vy = split(x, y, options.test_fraction, seed, "data.images")
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


def _check_declared_size(fh: BinaryIO, available: int, what: str) -> None:
    """Read a .npy header and refuse it unless the array it declares fits in the bytes that
    are really there: numpy allocates the declared size before reading a byte of data."""
    version = np.lib.format.read_magic(fh)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read_header(fh)
    if dtype.hasobject:
        raise DataError(f"{what} is an object array: refusing to load pickled object arrays "
                        "(save plain numeric arrays)")
    if any(d < 0 for d in shape):
        raise DataError(f"{what} has a damaged header (shape {shape})")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > available - fh.tell():
        raise DataError(f"{what} declares shape {shape} of {dtype} ({nbytes:,} bytes) but "
                        f"holds {max(available - fh.tell(), 0):,} bytes: the file is damaged "
                        "or truncated")


def _member_size(info: zipfile.ZipInfo, what: str) -> int:
    """The uncompressed size a zip member can really have. The zip's own size field may lie
    too; stored data cannot grow and deflate expands at most ~1032x."""
    most = {zipfile.ZIP_STORED: info.compress_size,
            zipfile.ZIP_DEFLATED: 1032 * info.compress_size + 1024}.get(info.compress_type)
    if most is not None and info.file_size > most:
        raise DataError(f"{what} claims {info.file_size:,} bytes from {info.compress_size:,} "
                        "compressed bytes: the archive is damaged")
    return info.file_size


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a .npz archive (or a lone .npy as "x"), each checked against the size
    it declares before it is read."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
        if magic == b"\x93NUMPY":
            fh.seek(0)
            _check_declared_size(fh, os.fstat(fh.fileno()).st_size, f"data.path: {path.name}")
            fh.seek(0)
            return {"x": np.lib.format.read_array(fh, allow_pickle=False)}
    if magic[:4] != b"PK\3\4":
        # np.load would take anything else for a pickle and say so, which misleads.
        raise DataError(f"data.path: cannot read {path.name} as .npz (not a zip archive "
                        "or .npy array)")
    arrays = {}
    with zipfile.ZipFile(path) as zf:
        members = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
        layout = next((l for l in _NPZ_LAYOUTS if l[0] in members), None)
        if layout is None:
            raise DataError(f"data.path: {path.name} has arrays {sorted(members)}; expected "
                            "x (and y), x_train/y_train (and x_test/y_test) or "
                            "images (and labels)")
        for k in (*layout, "class_names", "modes", "mode_sigma"):
            if k and k in members:
                what = f"data.path: '{k}' in {path.name}"
                with zf.open(members[k]) as m:
                    _check_declared_size(m, _member_size(members[k], what), what)
                with zf.open(members[k]) as m:
                    arrays[k] = np.lib.format.read_array(m, allow_pickle=False)
    return arrays


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        return _read_arrays(path)
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"data.path: not enough memory to load {path.name}") from None
    except Exception as e:
        # A damaged archive fails in many ways inside zipfile, zlib and numpy (BadZipFile,
        # zlib.error, EOFError, ValueError, RecursionError on a crafted header, ...): every
        # one of them means the same thing to the user.
        raise DataError(f"data.path: cannot read {path.name} as .npz, it is damaged "
                        f"({type(e).__name__}: {e})") from None


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
    if x.ndim in (2, 3, 4) and len(x) == 0:
        raise DataError(f"{what} holds no examples (shape {x.shape})")
    if x.ndim == 2 and 1 <= x.shape[1] <= MAX_POINT_DIM:
        return "points", finite_float32(x, what)
    if x.ndim in (3, 4) and min(x.shape[1:]) > 0:
        return "images", _to_images(x, what)
    raise DataError(f"{what} has shape {x.shape}; accepted: {_ACCEPTED_SHAPES}")


def _modes(arrays: dict[str, np.ndarray], dim: int) -> tuple[np.ndarray, float]:
    """Known mixture centres and their common std, as for ring8 / grid25."""
    modes = finite_float32(arrays["modes"], "data.path: 'modes'").astype(np.float64)
    sigma = finite_float32(arrays.get("mode_sigma", np.zeros(())), "data.path: 'mode_sigma'")
    if (modes.ndim != 2 or modes.shape[1] != dim or not 1 <= len(modes) <= MAX_CLASSES
            or sigma.size != 1 or not sigma > 0):
        raise DataError(f"data.path: 'modes' must be (K, {dim}) with 1 <= K <= "
                        f"{MAX_CLASSES:,} and a positive scalar 'mode_sigma'; got "
                        f"{modes.shape} and {sigma.shape}")
    return modes, float(sigma.item())


def load_npz(options: NpzOptions, seed: int = 0) -> Dataset:
    path = user_path(options.path, "path", ".npz file")
    arrays = _load_arrays(path)
    xk, yk, vxk, vyk = next(l for l in _NPZ_LAYOUTS if l[0] in arrays)
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
        x, y, vx, vy = split(x, y, options.test_fraction, seed, f"data.path: '{xk}'")
    names = class_names_from(arrays.get("class_names"), "data.path: 'class_names'")
    make = points_dataset if kind == "points" else image_dataset
    ds = make("npz", x, y, vx, vy, names if y is not None else [])
    if kind == "points" and "modes" in arrays:
        # A mixture with known centres (a distribution drawn on the 2D canvas): mode coverage
        # is then scored as for ring8 / grid25.
        ds.modes, ds.mode_sigma = _modes(arrays, x.shape[1])
    return ds
