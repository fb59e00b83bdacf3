"""Bad data, fuzzed. Whatever the file or folder holds, a load either returns a sound Dataset
or raises one DataError with a message (no other exception, no hang); it allocates no more
than the data really hold, whatever a header claims; and a folder scan drops nothing
silently (loaded + skipped == entries present).

Files are tiny and examples few, so the whole module runs in seconds."""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import struct
import tempfile
import tracemalloc
import zipfile
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from studio.core.data import SKIP_KINDS, DataError, Dataset, load_dataset, scan_folder
from studio.core.data.common import MAX_CLASSES, MIN_IMAGE_SIDE

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def fresh(workdir: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=workdir))


# ------------------------------------------------------------------------------ the property

def load_checked(name: str, options: dict, data_bytes: int):
    """Load; the result is a sound Dataset or a DataError with words, and the peak traced
    allocation stays within a small multiple of the bytes on disk."""
    tracemalloc.start()
    try:
        try:
            result = load_dataset(name, options)
        except DataError as e:
            result = e
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # uint8 -> float64 statistics is 8x; anything near a claimed size is far beyond this.
    assert peak <= 64 * data_bytes + (8 << 20), (peak, data_bytes)
    if isinstance(result, DataError):
        assert str(result).strip() and str(result).startswith("data")
        return result
    check_dataset(result, options.get("test_fraction", 0.1))
    return result


def check_dataset(ds: Dataset, test_fraction: float) -> None:
    assert isinstance(ds, Dataset) and len(ds.train_x) >= 1
    assert test_fraction == 0 or len(ds.test_x) >= 1
    if ds.spec.is_images:
        assert ds.train_x.dtype == np.uint8 and ds.train_x.ndim == 4
        assert min(ds.train_x.shape[2:]) >= MIN_IMAGE_SIDE and ds.train_x.shape[1] in (1, 3)
        assert ds.test_x.shape[1:] == ds.train_x.shape[1:]
    else:
        for x in (ds.train_x, ds.test_x):
            assert x.dtype == np.float32 and np.all(np.isfinite(x))
        assert all(np.isfinite(ds.spec.point_mean)) and all(np.isfinite(ds.spec.point_std))
    k = ds.spec.num_classes
    assert k <= MAX_CLASSES
    if ds.train_y is None:
        assert k == 0
    else:
        assert len(ds.class_names) == k
        for x, y in ((ds.train_x, ds.train_y), (ds.test_x, ds.test_y)):
            assert y.dtype == np.int64 and len(y) == len(x)
            assert len(y) == 0 or (y.min() >= 0 and y.max() < k)
    if ds.modes is not None:
        assert np.all(np.isfinite(ds.modes)) and np.isfinite(ds.mode_sigma) and ds.mode_sigma > 0


# ------------------------------------------------------------------------------------- IDX

# Mostly plausible sizes, sometimes ones whose product overflows 32 or 64 bits.
SIZES = st.sampled_from([4, 5, 7] * 4 + [0, 1, 2 ** 32 - 1, 2 ** 31, 1 << 22, 1 << 20, 65536])


def often(usual, *odd, weight: int = 3):
    """The usual value `weight` times as often as all the odd ones together."""
    return st.sampled_from([usual] * (weight * len(odd)) + list(odd))


@st.composite
def idx_bytes(draw, nd_hint: int, count=None) -> bytes:
    prefix = draw(often(b"\0\0", b"\0\1", b"PK", b"\x93N", weight=6))
    code = draw(often(0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF))
    nd = draw(often(nd_hint, 0, 1, 2, 3, 4, 255))
    dims = draw(st.lists(SIZES, min_size=nd, max_size=nd)) if nd <= 4 else [1] * nd
    if count is not None and dims:
        dims[0] = count
    n = int(np.prod(dims, dtype=object)) if dims else 1
    body = draw(st.binary(min_size=n, max_size=n)) if n <= 2000 else draw(st.binary(max_size=64))
    data = prefix + bytes([code, nd]) + struct.pack(f">{nd}I", *dims) + body
    cut = draw(often("keep", "truncate", "extend"))
    if cut == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif cut == "extend":
        data += draw(st.binary(min_size=1, max_size=16))
    if draw(st.booleans()):
        data = gzip.compress(data)
        damage = draw(often("none", "truncate", "flip"))
        if damage == "truncate":
            data = data[:draw(st.integers(0, len(data)))]
        elif damage == "flip":
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1:]
    return data


def idx_count(data: bytes):
    """The image count an IDX header declares (None if it cannot be read)."""
    with contextlib.suppress(Exception):
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        return struct.unpack(">I", data[4:8])[0] if data[3] >= 1 else None
    return None


@FUZZ
@given(images=idx_bytes(3), labels=often("none", "matching", "any", weight=1),
       test_fraction=st.sampled_from([0.0, 0.1, 0.5]), data=st.data())
def test_fuzzed_idx_files(workdir, images, labels, test_fraction, data):
    d = fresh(workdir)
    (d / "images").write_bytes(images)
    options = {"images": str(d / "images"), "test_fraction": test_fraction}
    label_bytes = b""
    if labels != "none":
        count = idx_count(images) if labels == "matching" else None
        label_bytes = data.draw(idx_bytes(1, count if count is not None and count < 50 else None))
        (d / "labels").write_bytes(label_bytes)
        options["labels"] = str(d / "labels")
    load_checked("idx", options, len(images) + len(label_bytes))


def test_a_gzip_idx_claiming_gigabytes_reads_only_its_bytes(workdir):
    d = fresh(workdir)
    head = bytes([0, 0, 8, 3]) + struct.pack(">3I", 1000, 10000, 10000)   # 100 GB of pixels
    (d / "i.gz").write_bytes(gzip.compress(head + bytes(5000)))
    e = load_checked("idx", {"images": str(d / "i.gz")}, 100)
    assert isinstance(e, DataError) and "is truncated" in str(e)


# ------------------------------------------------------------------------------------- npz

DTYPES = st.sampled_from([np.uint8, np.int8, np.int16, np.int64, np.uint64, np.float16,
                          np.float32, np.float64, np.bool_, np.complex64, "<U2",
                          "datetime64[s]"])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=6)
LAYOUTS = [("x", "y", None, None), ("x_train", "y_train", "x_test", "y_test"),
           ("images", "labels", None, None), ("pixels", "targets", None, None)]


def any_array(shape, dtype=DTYPES):
    return dtype.flatmap(lambda dt: hnp.arrays(dt, shape))


@st.composite
def image_like(draw) -> np.ndarray:
    """Mostly arrays shaped like images or points, with any dtype and value."""
    n = draw(st.integers(0, 6))
    shape = draw(st.sampled_from([(n, 2), (n, 8, 8), (n, 5, 4, 3), (n, 1, 4, 5), (n, 3, 5),
                                  (n, 0, 4), (n, 17), (n, 8, 8, 2)]) | SHAPES)
    if draw(st.booleans()):   # plausible pixel values half of the time
        if draw(st.booleans()):
            return draw(hnp.arrays(np.uint8, shape))
        return draw(hnp.arrays(draw(st.sampled_from([np.float32, np.float64])), shape,
                               elements=st.floats(0, 1, width=32)))
    return draw(any_array(st.just(shape)))


@st.composite
def labels_for(draw, n: int):
    kind = draw(st.sampled_from(["good", "good", "range", "shape", "any"]))
    if kind == "good":
        return np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), np.int64)
    if kind == "range":
        return np.array(draw(st.lists(st.sampled_from([0, 1, -1, 9999, 10 ** 4, 10 ** 12,
                                                       -(2 ** 63), 2 ** 63 - 1]),
                                      min_size=n, max_size=n)), np.int64)
    if kind == "shape":
        return draw(any_array(hnp.array_shapes(min_dims=0, max_dims=2, max_side=7)))
    return draw(any_array(st.just((n,))))


@st.composite
def npz_contents(draw) -> dict:
    xk, yk, vxk, vyk = draw(st.sampled_from(LAYOUTS))
    x = draw(image_like())
    arrays = {xk: x}
    n = len(x) if x.ndim else 0
    if draw(st.booleans()):
        arrays[yk] = draw(labels_for(n))
    if vxk and draw(st.booleans()):
        vx = draw(image_like())
        arrays[vxk] = vx
        if yk in arrays:
            arrays[vyk] = draw(labels_for(len(vx) if vx.ndim else 0))
    if draw(st.integers(0, 4)) == 0:
        names_shape = hnp.array_shapes(min_dims=0, max_dims=2)
        arrays["class_names"] = draw(any_array(names_shape, st.sampled_from(["<U3", np.int64])))
    if draw(st.integers(0, 3)) == 0:
        arrays["modes"] = draw(any_array(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
        arrays["mode_sigma"] = draw(any_array(hnp.array_shapes(min_dims=0, max_dims=1,
                                                               max_side=2)))
    if draw(st.integers(0, 9)) == 0:   # a pickled object array in place of any one
        obj = np.empty(3, dtype=object)
        obj[:] = [1, "a", None]
        arrays[draw(st.sampled_from(sorted(arrays)))] = obj
    return arrays


@st.composite
def npz_file(draw) -> bytes:
    arrays = draw(npz_contents())
    buf = io.BytesIO()
    if draw(st.integers(0, 5)) == 0:   # a lone .npy
        np.save(buf, next(iter(arrays.values())))
    elif draw(st.booleans()):
        np.savez_compressed(buf, **arrays)
    else:
        np.savez(buf, **arrays)
    data = buf.getvalue()
    damage = draw(often("none", "truncate", "flip", "zero_run", weight=2))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif damage in ("flip", "zero_run"):
        i = draw(st.integers(0, len(data) - 1))
        k = 1 if damage == "flip" else draw(st.integers(1, 64))
        data = data[:i] + bytes((b ^ 0xFF) if damage == "flip" else 0 for b in data[i:i + k]) \
            + data[i + k:]
    return data


@FUZZ
@given(data=npz_file(), test_fraction=st.sampled_from([0.0, 0.1, 0.5]))
def test_fuzzed_npz_files(workdir, data, test_fraction):
    path = fresh(workdir) / "a.npz"
    path.write_bytes(data)
    load_checked("npz", {"path": str(path), "test_fraction": test_fraction}, len(data))


@st.composite
def claiming_npy(draw) -> tuple[bytes, int]:
    """A .npy header declaring any shape and dtype, followed by a few real bytes."""
    shape = tuple(draw(st.lists(st.integers(0, 10 ** 12) | st.integers(0, 9), min_size=1,
                                max_size=4)))
    descr = draw(st.sampled_from(["<f8", "|u1", "<i8", "<f4", "<U1000000", "|V0", "|O"]))
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": descr, "fortran_order": False,
                                             "shape": shape})
    body = draw(st.binary(max_size=64))
    claimed = int(np.prod(shape, dtype=object)) * np.dtype(descr).itemsize
    return b.getvalue() + body, claimed - len(body)


@FUZZ
@given(member=claiming_npy(), container=st.sampled_from(["npy", "stored", "deflated"]),
       name=st.sampled_from(["x", "x_train", "images", "y"]))
def test_declared_sizes_are_checked_before_reading(workdir, member, container, name):
    data, missing = member
    path = fresh(workdir) / "a.npz"
    if container == "npy":
        path.write_bytes(data)
    else:
        method = zipfile.ZIP_STORED if container == "stored" else zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(path, "w", method) as z:
            if name == "y":   # the claim sits next to a good x
                buf = io.BytesIO()
                np.save(buf, np.zeros((4, 8, 8), np.uint8))
                z.writestr("x.npy", buf.getvalue())
            z.writestr(f"{name}.npy", data)
    result = load_checked("npz", {"path": str(path)}, path.stat().st_size)
    if missing > 0:
        assert isinstance(result, DataError)


# ---------------------------------------------------------------------------------- folders

def png(size=(8, 8), mode="L") -> bytes:
    b = io.BytesIO()
    Image.new(mode, size, 90).save(b, "PNG")
    return b.getvalue()


def zero_width_png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 0, 8, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)))


FILE_KINDS = ["png"] * 6 + ["empty", "corrupt", "truncated", "txt", "zero_png",
              "hidden_file", "fifo", "broken_link"]
ENTRY_KINDS = FILE_KINDS + ["dir", "dir", "hidden_dir", "unreadable_dir", "link_out",
                            "loop_up", "loop_self"]


def write_file(path: Path, kind: str, draw) -> None:
    if kind == "png":
        size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
        path.with_suffix(".png").write_bytes(png(size, draw(st.sampled_from(["L", "RGB"]))))
    elif kind == "empty":
        path.with_suffix(".jpg").write_bytes(b"")
    elif kind == "corrupt":
        path.with_suffix(".png").write_bytes(draw(st.binary(min_size=1, max_size=64)))
    elif kind == "truncated":
        data = png((12, 12), "RGB")
        path.with_suffix(".png").write_bytes(data[:draw(st.integers(8, len(data) - 13))])
    elif kind == "txt":
        path.with_suffix(".txt").write_text("notes")
    elif kind == "zero_png":
        path.with_suffix(".png").write_bytes(zero_width_png())
    elif kind == "hidden_file":
        path.with_name("." + path.name + ".png").write_bytes(png())
    elif kind == "fifo":
        os.mkfifo(path.with_suffix(".png"))
    elif kind == "broken_link":
        path.with_suffix(".png").symlink_to(path.with_name("nowhere.png"))


@st.composite
def folder_tree(draw):
    """A recipe: (root entries, pngs in the folder every link_out points to)."""
    entries = draw(st.lists(st.sampled_from(ENTRY_KINDS), min_size=0, max_size=10))
    inner = [draw(st.lists(st.sampled_from(FILE_KINDS), max_size=4)) for _ in entries]
    outside = draw(st.integers(0, 3))
    return entries, inner, outside, draw(st.data())


def build(root: Path, entries, inner, outside: int, data) -> int:
    """Write the tree; return how many entries the scan must account for."""
    draw = data.draw
    (root / "data").mkdir()
    (root / "outside").mkdir()
    for j in range(outside):
        (root / "outside" / f"o{j}.png").write_bytes(png())
    expected, linked = 0, False
    for i, (kind, files) in enumerate(zip(entries, inner)):
        path = root / "data" / f"e{i}"
        if kind in FILE_KINDS:
            write_file(path, kind, draw)
            expected += 1
        elif kind in ("dir", "hidden_dir", "unreadable_dir"):
            path = path.with_name(("." if kind == "hidden_dir" else "") + path.name
                                  + ("_unreadable" if kind == "unreadable_dir" else ""))
            path.mkdir()
            for k, f in enumerate(files):
                write_file(path / f"f{k}", f, draw)
            expected += len(files) if kind == "dir" else 1
        elif kind == "link_out":
            path.symlink_to(root / "outside")
            expected += 1 if linked else outside   # the second link is a folder seen before
            linked = True
        elif kind == "loop_up":
            path.symlink_to(root / "data")
            expected += 1
        elif kind == "loop_self":
            path.symlink_to(path)
            expected += 1
    return expected


@contextlib.contextmanager
def unreadable_folders(root: Path):
    """chmod 000 on *_unreadable folders; as root (which reads them anyway) the listing
    fails the way it would for anyone else."""
    locked = list(root.rglob("*_unreadable"))
    for p in locked:
        p.chmod(0)
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("_unreadable"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)
    try:
        with mock.patch.object(os, "scandir", scandir if os.geteuid() == 0 else real_scandir):
            yield
    finally:
        for p in locked:
            p.chmod(0o755)


@settings(FUZZ, max_examples=40)
@given(tree=folder_tree())
def test_fuzzed_folders_drop_nothing_silently(workdir, tree):
    entries, inner, outside, data = tree
    root = fresh(workdir)
    expected = build(root, entries, inner, outside, data)
    with unreadable_folders(root):
        x, y, names, report = scan_folder(root / "data", resolution=8)
        result = load_checked("folder", {"path": str(root / "data"), "resolution": 8,
                                         "test_fraction": 0.1}, 1 << 20)
    assert report.loaded + len(report.skipped) == expected, report.summary()
    assert len(x) == report.loaded and {s.kind for s in report.skipped} <= set(SKIP_KINDS)
    assert all(s.reason for s in report.skipped)
    if report.loaded == 0:
        assert isinstance(result, DataError) and result.report is not None
    elif isinstance(result, Dataset):
        assert len(result.train_x) + len(result.test_x) == report.loaded


# -------------------------------------------------------------- what the data browser shows

def shown_by_browser(panel, name: str, options: dict) -> str:
    """What the window does with a load job's result (studio/shell/window.py): a Dataset is
    shown, an error's text goes to set_error."""
    from studio.shell.presenters import dataset_view
    try:
        panel.show_dataset(dataset_view(load_dataset(name, options)))
    except Exception as e:   # the bus hands the window str(error) of whatever was raised
        panel.set_error(str(e))
    return panel.status_text()


def test_the_browser_shows_a_message_for_every_refused_npz(qtbot, workdir):
    from widgets.data_browser import DataBrowserPanel
    panel = DataBrowserPanel()
    qtbot.addWidget(panel)
    d = fresh(workdir)
    np.savez(d / "empty.npz", x=np.zeros((0, 8, 8), np.uint8))
    np.savez(d / "tiny.npz", x=np.zeros((10, 3, 5), np.uint8))
    np.savez(d / "labels.npz", x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 2, 10 ** 12]))
    for f, words in [("empty.npz", "holds no examples"), ("tiny.npz", "3x5 pixels"),
                     ("labels.npz", "K at most 10,000")]:
        assert words in shown_by_browser(panel, "npz", {"path": str(d / f)})
