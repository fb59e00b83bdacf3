"""IDX and .npz files from the user."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from studio.core.data import DataError, load_dataset


def idx_bytes(a: np.ndarray, code: int = 0x08) -> bytes:
    return (bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
            + a.astype(">u1" if code == 0x08 else ">f4").tobytes())


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (50, 7, 5), dtype=np.uint8), rng.integers(0, 10, 50).astype(np.uint8),
            rng.integers(0, 256, (20, 7, 5), dtype=np.uint8), rng.integers(0, 10, 20).astype(np.uint8))


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, digits, compress):
    x, y, vx, vy = digits
    paths = {}
    for key, a in zip(("images", "labels", "test_images", "test_labels"), digits):
        data = idx_bytes(a)
        # gzip is detected from the content: the name says nothing about it.
        p = tmp_path / f"{key}-ubyte"
        p.write_bytes(gzip.compress(data) if compress else data)
        paths[key] = str(p)
    d = load_dataset("idx", paths)
    assert np.array_equal(d.train_x[:, 0], x) and np.array_equal(d.train_y, y)
    assert np.array_equal(d.test_x[:, 0], vx) and np.array_equal(d.test_y, vy)
    assert d.train_y.dtype == np.int64
    assert d.spec.sample_shape == (1, 7, 5) and d.spec.num_classes == 10


def test_idx_without_test_files_holds_out_a_fraction(tmp_path, digits):
    x, y, *_ = digits
    (tmp_path / "i").write_bytes(idx_bytes(x))
    d = load_dataset("idx", {"images": str(tmp_path / "i"), "test_fraction": 0.2}, seed=4)
    assert len(d.train_x) == 40 and len(d.test_x) == 10 and d.train_y is None
    e = load_dataset("idx", {"images": str(tmp_path / "i"), "test_fraction": 0.2}, seed=4)
    assert np.array_equal(d.test_x, e.test_x)
    both = np.concatenate([d.train_x, d.test_x])[:, 0]
    assert sorted(map(bytes, both)) == sorted(map(bytes, x))


def test_idx_errors(tmp_path, digits):
    x, y, *_ = digits
    good = idx_bytes(x)
    (tmp_path / "trunc").write_bytes(good[:-7])
    with pytest.raises(DataError, match=rf"data.images: trunc is truncated: expected "
                                        rf"{len(good)} bytes.*has {len(good) - 7} bytes"):
        load_dataset("idx", {"images": str(tmp_path / "trunc")})
    (tmp_path / "trunc.gz").write_bytes(gzip.compress(good)[:-20])
    with pytest.raises(DataError, match="damaged gzip"):
        load_dataset("idx", {"images": str(tmp_path / "trunc.gz")})
    (tmp_path / "i").write_bytes(good)
    (tmp_path / "l").write_bytes(idx_bytes(y[:49]))
    with pytest.raises(DataError, match="49 labels for 50 images"):
        load_dataset("idx", {"images": str(tmp_path / "i"), "labels": str(tmp_path / "l")})
    with pytest.raises(DataError, match="not an IDX image file.*0x00000801"):
        load_dataset("idx", {"images": str(tmp_path / "l")})
    (tmp_path / "f").write_bytes(idx_bytes(x.astype(np.float32), code=0x0D))
    with pytest.raises(DataError, match=r"0x0D \(float\); only 0x08"):
        load_dataset("idx", {"images": str(tmp_path / "f")})
    (tmp_path / "junk").write_bytes(b"PK\3\4 hello")
    with pytest.raises(DataError, match="not an IDX"):
        load_dataset("idx", {"images": str(tmp_path / "junk")})
    with pytest.raises(DataError, match="data.images: file not found"):
        load_dataset("idx", {"images": str(tmp_path / "missing")})


# ------------------------------------------------------------------------------------ npz

def test_npz_train_test_keys(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8)
    vx = rng.integers(0, 256, (10, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", x_train=x, y_train=np.arange(30) % 3, x_test=vx,
             y_test=np.arange(10) % 3, class_names=np.array(["a", "b", "c"]))
    d = load_dataset("npz", {"path": str(tmp_path / "a.npz")})
    assert np.array_equal(d.train_x[:, 0], x) and np.array_equal(d.test_x[:, 0], vx)
    assert d.class_names == ["a", "b", "c"] and d.spec.num_classes == 3


@pytest.mark.parametrize("shape, layout", [
    ((12, 6, 5), "NHW"), ((12, 6, 5, 1), "NHWC"), ((12, 6, 5, 3), "NHWC"),
    ((12, 6, 5, 4), "NHWC"), ((12, 3, 6, 5), "NCHW"), ((12, 1, 6, 6), "NCHW"),
])
def test_npz_image_layouts(tmp_path, shape, layout):
    a = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    np.savez_compressed(tmp_path / "a.npz", images=a, labels=np.zeros(12, np.int32))
    d = load_dataset("npz", {"path": str(tmp_path / "a.npz"), "test_fraction": 0.0})
    want = {"NHW": lambda: a[:, None], "NHWC": lambda: np.moveaxis(a, 3, 1)[:, :3],
            "NCHW": lambda: a}[layout]()
    assert d.train_x.dtype == np.uint8 and np.array_equal(d.train_x, want)
    assert len(d.test_x) == 0 and d.spec.num_classes == 1


def test_npz_float_images_and_points(tmp_path):
    f = np.linspace(0, 1, 2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    np.savez(tmp_path / "f.npz", x=f)
    d = load_dataset("npz", {"path": str(tmp_path / "f.npz"), "test_fraction": 0})
    assert d.train_x.max() == 255 and d.train_x.min() == 0 and d.train_y is None
    assert np.array_equal(d.train_x[:, 0], np.round(f * 255).astype(np.uint8))

    p = np.random.default_rng(2).normal(3.0, 2.0, (1000, 2))
    np.savez(tmp_path / "p.npz", x=p, y=(p[:, 0] > 3).astype(np.int64))
    d = load_dataset("npz", {"path": str(tmp_path / "p.npz"), "test_fraction": 0.1})
    assert d.spec.kind == "points" and d.spec.dim == 2 and d.spec.num_classes == 2
    assert d.train_x.dtype == np.float32 and d.train_x.shape == (900, 2)
    assert np.allclose(d.spec.point_mean, d.train_x.mean(0), atol=1e-4)
    assert np.allclose(d.spec.point_std, d.train_x.std(0), atol=1e-4)


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((4, 8, 8), np.float32) + 2}, r"float images must lie in \[0, 1\]"),
    ({"x": np.full((4, 8, 8), 300, np.int32)}, "integer images must lie in 0..255"),
    ({"x": np.zeros((4, 8, 8, 2), np.uint8)}, r"has shape \(4, 8, 8, 2\); accepted: images"),
    ({"x": np.zeros((4, 784), np.float32)}, r"has shape \(4, 784\); accepted"),
    ({"x": np.zeros(5)}, r"has shape \(5,\)"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.zeros(3)}, "expected 4 labels"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.full(4, -1)}, "labels must be >= 0"),
    ({"pixels": np.zeros((4, 8, 8), np.uint8)}, r"has arrays \['pixels'\]; expected x"),
])
def test_npz_bad_contents(tmp_path, arrays, message):
    np.savez(tmp_path / "a.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset("npz", {"path": str(tmp_path / "a.npz")})


def test_npz_refuses_object_arrays(tmp_path):
    obj = np.empty(3, dtype=object)
    obj[:] = [np.zeros(2), "a", None]
    np.savez(tmp_path / "o.npz", x=obj)
    with pytest.raises(DataError, match="refusing to load pickled object arrays"):
        load_dataset("npz", {"path": str(tmp_path / "o.npz")})
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot read junk.npz"):
        load_dataset("npz", {"path": str(tmp_path / "junk.npz")})


def test_npz_points_with_modes_are_scored_like_the_mixture_toys(tmp_path):
    """A drawn distribution saved with its mode centres and sigma: the Dataset carries them so
    the canvas and evaluation count modes as for ring8 / grid25."""
    from studio.core.data import load_dataset
    rng = np.random.default_rng(0)
    modes = np.array([[0.0, 0.0], [3.0, 1.0]], np.float32)
    x = (modes[rng.integers(0, 2, 400)] + 0.1 * rng.standard_normal((400, 2))).astype(np.float32)
    path = tmp_path / "drawn.npz"
    np.savez(path, x=x, modes=modes, mode_sigma=np.float32(0.1))
    ds = load_dataset("npz", {"path": str(path)})
    assert ds.spec.kind == "points"
    np.testing.assert_allclose(ds.modes, modes)
    assert ds.mode_sigma == pytest.approx(0.1)
    np.savez(path, x=x, modes=modes[:, :1], mode_sigma=np.float32(0.1))
    with pytest.raises(DataError, match="modes"):
        load_dataset("npz", {"path": str(path)})


# ---------------------------------------------------------------- bad input: one clean error

def test_idx_sizes_whose_product_overflows_are_refused(tmp_path):
    # 2^22 * 2^22 * 2^20 = 2^64 wraps to 0 in int64: the header alone looked complete.
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 1 << 22, 1 << 22, 1 << 20)
    (tmp_path / "i").write_bytes(header)
    with pytest.raises(DataError, match=r"is truncated: expected 18446744073709551632 bytes"):
        load_dataset("idx", {"images": str(tmp_path / "i")})


@pytest.mark.parametrize("shape", [(5, 0, 4), (5, 4, 0), (0, 7, 5)])
def test_idx_zero_size_is_refused(tmp_path, shape):
    (tmp_path / "i").write_bytes(idx_bytes(np.zeros(shape, np.uint8)))
    with pytest.raises(DataError, match=r"holds no data \(shape"):
        load_dataset("idx", {"images": str(tmp_path / "i")})


def npy_header(shape, descr="<f8") -> bytes:
    import io
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": descr, "fortran_order": False,
                                             "shape": shape})
    return b.getvalue()


@pytest.mark.parametrize("as_member", [False, True])
def test_npy_claiming_100_gb_is_refused_before_any_allocation(tmp_path, as_member):
    import tracemalloc
    import zipfile
    body = npy_header((100_000, 125_000)) + bytes(100)
    path = tmp_path / ("a.npz" if as_member else "a.npy")
    if as_member:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("x.npy", body)
    else:
        path.write_bytes(body)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"declares shape \(100000, 125000\) of float64 "
                                            r"\(100,000,000,000 bytes\) but holds 100 bytes"):
            load_dataset("npz", {"path": str(path)})
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()


def test_zip_member_whose_own_size_field_lies_is_refused(tmp_path):
    import zipfile
    path = tmp_path / "a.npz"
    np.savez(path, x=np.zeros((4, 8, 8), np.uint8))
    raw = bytearray(path.read_bytes())
    central = raw.rindex(b"PK\1\2")
    raw[central + 24:central + 28] = struct.pack("<I", 4_000_000_000)   # uncompressed size
    path.write_bytes(bytes(raw))
    assert zipfile.ZipFile(path).infolist()[0].file_size == 4_000_000_000
    with pytest.raises(DataError, match="claims 4,000,000,000 bytes from"):
        load_dataset("npz", {"path": str(path)})


def corrupt_npz_members(tmp_path):
    """A deflated member with damaged data, and members with broken .npy headers."""
    import zipfile
    out = []
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x=(np.arange(4000) % 200).astype(np.uint8).reshape(10, 20, 20))
    raw = bytearray(good.read_bytes())
    raw[60:80] = b"\xff" * 20
    (tmp_path / "deflate.npz").write_bytes(bytes(raw))
    out.append(tmp_path / "deflate.npz")
    for i, member in enumerate([b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage",
                                b"\x93NUMPY\x01\x00\x20\x00" + b"(" * 32,
                                b"\x93NUMPY\x07\x00",
                                npy_header((10, 8, 8), "<u1")[:-1] + b"!",
                                npy_header((-5, 8, 8), "<u1")]):
        p = tmp_path / f"header{i}.npz"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("x.npy", member + bytes(640))
        out.append(p)
    return out


def test_corrupt_npz_members_are_one_data_error(tmp_path):
    for path in corrupt_npz_members(tmp_path):
        with pytest.raises(DataError, match=rf"data.path: .*{path.name}"):
            load_dataset("npz", {"path": str(path)})


@pytest.mark.parametrize("arrays, message", [
    # 10^12 classes would mean 10^12 class names
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.array([0, 1, 2, 10 ** 12])},
     r"K at most 10,000 \(found label 1,000,000,000,000\)"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.array([0.0, 1.0, 2.0, 1e300])},
     "K at most 10,000"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.array([0, 1, 2, -(2 ** 63)])},
     "labels must be >= 0"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.array([0, 1, 2, 2 ** 64 - 1], np.uint64)},
     "K at most 10,000"),
    ({"x": np.full((10, 2), 1e300)}, "finite numbers within float32 range"),
    ({"x": np.array([[0.0, np.nan]] * 5)}, "finite numbers within float32 range"),
    ({"x": np.zeros((10, 2)), "modes": np.full((2, 2), np.nan), "mode_sigma": 0.1},
     "'modes': values must be finite"),
    ({"x": np.zeros((10, 2)), "modes": np.zeros((2, 2)), "mode_sigma": np.inf},
     "'mode_sigma': values must be finite"),
    ({"x": np.zeros((10, 2)), "modes": np.array([["a", "b"]]), "mode_sigma": 0.1},
     "'modes': expected numbers"),
    ({"x": np.zeros((0, 8, 8), np.uint8)}, r"'x' holds no examples \(shape \(0, 8, 8\)\)"),
    ({"x": np.zeros((0, 2))}, "'x' holds no examples"),
    ({"x_train": np.zeros((4, 8, 8), np.uint8), "x_test": np.zeros((0, 8, 8), np.uint8)},
     "'x_test' holds no examples"),
    ({"x": np.zeros((10, 3, 5), np.uint8)}, r"images are 3x5 pixels"),
    ({"x": np.zeros((1, 8, 8), np.uint8)}, "cannot be split into a training and a test set"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.zeros(4, int), "class_names": np.array("a")},
     "'class_names': expected a 1-D array"),
])
def test_npz_bad_values_are_refused(tmp_path, arrays, message):
    np.savez(tmp_path / "a.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset("npz", {"path": str(tmp_path / "a.npz")})


def test_a_requested_test_split_is_never_empty(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((3, 8, 8), np.uint8))
    d = load_dataset("npz", {"path": str(tmp_path / "a.npz"), "test_fraction": 0.1})
    assert (len(d.train_x), len(d.test_x)) == (2, 1)
    d = load_dataset("npz", {"path": str(tmp_path / "a.npz"), "test_fraction": 0.0})
    assert (len(d.train_x), len(d.test_x)) == (3, 0)
