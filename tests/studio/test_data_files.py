"""IDX and .npz files from the user."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from studio.data import DataError, load_dataset


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
    from studio.data import load_dataset
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
