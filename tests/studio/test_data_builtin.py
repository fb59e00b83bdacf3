"""Built-in data sets (mnist, shapes, 2D toys) and the registry's option validation."""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from studio.core.data import DATA_SOURCES, DataError, data_source_names, load_dataset, make_options
from studio.core.data.builtin import MnistOptions


def test_every_source_registered_with_documented_options():
    assert set(data_source_names()) == {"mnist", "shapes", "ring8", "grid25", "spiral",
                                         "moons", "folder", "idx", "npz",
                                         # two sides (tests/studio/test_data_two_sides.py)
                                         "mnist-lowres", "mnist-edges", "mnist-thin-thick",
                                         "mnist-rotated", "folder-pair"}
    for name, src in DATA_SOURCES.items():
        assert src.name == name and src.kind in ("images", "points") and src.description
        for f in dataclasses.fields(src.Options):
            assert f.metadata.get("help"), f"{name}.{f.name} has no param() help"


# ---------------------------------------------------------------------------------- mnist

def test_mnist_shapes_and_class_counts():
    d = load_dataset("mnist")
    assert d.train_x.shape == (60000, 1, 28, 28) and d.train_x.dtype == np.uint8
    assert d.test_x.shape == (10000, 1, 28, 28)
    assert d.train_y.dtype == np.int64 and d.test_y.dtype == np.int64
    train_counts = np.bincount(d.train_y)
    test_counts = np.bincount(d.test_y)
    assert train_counts[0] == 5923 and train_counts[9] == 5949 and train_counts.sum() == 60000
    assert test_counts[0] == 980 and test_counts[9] == 1009 and test_counts.sum() == 10000
    assert d.class_names == [str(i) for i in range(10)]
    s = d.spec
    assert (s.kind, s.channels, s.height, s.width, s.num_classes) == ("images", 1, 28, 28, 10)
    assert d.train_x.max() == 255 and d.train_x.min() == 0
    d.train_x[0, 0, 0, 0] = 7   # callers own their copy; the cache stays intact
    assert load_dataset("mnist", {"limit": 1}).train_x[0, 0, 0, 0] == 0


def test_mnist_limit():
    d = load_dataset("mnist", MnistOptions(limit=500))
    assert d.train_x.shape == (500, 1, 28, 28) and d.train_y.shape == (500,)
    assert len(d.test_x) == 10000


# --------------------------------------------------------------------------------- shapes

def test_shapes_deterministic_per_seed_and_fast():
    t = time.perf_counter()
    d = load_dataset("shapes", {"n": 20000, "size": 32}, seed=1)
    assert time.perf_counter() - t < 2.0
    assert d.train_x.shape == (20000, 1, 32, 32) and d.train_x.dtype == np.uint8
    assert d.test_x.shape[1:] == (1, 32, 32)
    assert d.spec.num_classes == 3 and d.class_names == ["square", "ellipse", "triangle"]
    a = load_dataset("shapes", {"n": 300, "n_test": 50}, seed=1)
    b = load_dataset("shapes", {"n": 300, "n_test": 50}, seed=1)
    c = load_dataset("shapes", {"n": 300, "n_test": 50}, seed=2)
    assert np.array_equal(a.train_x, b.train_x) and np.array_equal(a.test_x, b.test_x)
    assert not np.array_equal(a.train_x, c.train_x)
    for k in ("shape", "scale", "rotation", "x", "y"):
        assert np.array_equal(a.factors[k], b.factors[k]) and a.factors[k].shape == (300,)


def test_shapes_factors_match_pixels():
    d = load_dataset("shapes", {"n": 2000, "n_test": 0, "size": 32}, seed=0)
    x = d.train_x[:, 0].astype(np.float64)
    assert x.max() == 255 and x.min() == 0
    assert np.all(x[:, 0, :] == 0) and np.all(x[:, :, -1] == 0)   # sprites stay inside
    mass = x.sum(axis=(1, 2))
    assert np.all(mass > 0)
    cols = (x.sum(axis=1) * np.arange(32)).sum(1) / mass
    rows = (x.sum(axis=2) * np.arange(32)).sum(1) / mass
    f = d.factors
    assert np.corrcoef(cols, f["x"])[0, 1] > 0.99
    assert np.corrcoef(rows, f["y"])[0, 1] > 0.99
    assert np.array_equal(d.train_y, f["shape"])
    for k in range(3):   # area grows with scale^2 within each shape
        m = f["shape"] == k
        assert np.corrcoef(mass[m], f["scale"][m] ** 2)[0, 1] > 0.95
    # Anti-aliasing: edge pixels take intermediate values.
    assert np.mean((x > 0) & (x < 255)) > 0.005


# ------------------------------------------------------------------------------ 2D toys

def test_ring8_modes_and_sigma_exactly_as_pacgan():
    d = load_dataset("ring8", seed=3)
    ang = 2 * np.pi * np.arange(8) / 8
    assert np.array_equal(d.modes, np.stack([np.cos(ang), np.sin(ang)], 1))
    assert np.allclose(d.modes[0], [1, 0]) and np.allclose(d.modes[2], [0, 1], atol=1e-15)
    assert np.linalg.norm(d.modes[0] - d.modes[-1]) > 0.7   # not linspace's duplicate
    assert np.allclose(np.linalg.norm(d.modes, axis=1), 1.0)
    assert d.mode_sigma == 0.01
    assert d.train_x.shape == (100000, 2) and d.train_x.dtype == np.float32
    assert d.test_x.shape == (10000, 2)
    resid = d.train_x - d.modes[d.train_y]
    assert abs(resid.std() - 0.01) < 0.0005
    assert np.bincount(d.train_y, minlength=8).min() > 11000
    assert d.spec.num_classes == 8 and d.spec.dim == 2
    assert np.allclose(d.spec.point_mean, d.train_x.mean(0), atol=1e-5)
    assert np.allclose(d.spec.point_std, d.train_x.std(0), atol=1e-5)


def test_grid25_modes_and_sigma():
    d = load_dataset("grid25", {"n": 50000, "n_test": 1000})
    v = [-4, -2, 0, 2, 4]
    assert sorted(map(tuple, d.modes.tolist())) == sorted((float(a), float(b))
                                                          for a in v for b in v)
    assert d.mode_sigma == 0.05
    resid = d.train_x - d.modes[d.train_y]
    assert abs(resid.std() - 0.05) < 0.002
    assert d.spec.num_classes == 25 and len(np.unique(d.train_y)) == 25


def test_toys_train_and_test_streams_are_independent():
    a = load_dataset("ring8", {"n": 1000, "n_test": 500}, seed=0)
    b = load_dataset("ring8", {"n": 2000, "n_test": 500}, seed=0)
    c = load_dataset("ring8", {"n": 1000, "n_test": 500}, seed=1)
    assert np.array_equal(a.test_x, b.test_x)        # train size does not move the test set
    assert not np.array_equal(a.test_x, a.train_x[:500])
    assert not np.array_equal(a.train_x, c.train_x)


def test_spiral_and_moons():
    s = load_dataset("spiral", {"n": 3000, "n_test": 100, "noise": 0.0})
    assert s.train_x.shape == (3000, 2) and s.train_y is None and s.spec.num_classes == 0
    r = np.linalg.norm(s.train_x, axis=1)
    assert r.min() > 0.4 and r.max() < 1.5
    m = load_dataset("moons", {"n": 4000, "n_test": 100, "noise": 0.0})
    assert m.spec.num_classes == 2 and set(np.unique(m.train_y)) == {0, 1}
    up, down = m.train_x[m.train_y == 0], m.train_x[m.train_y == 1]
    assert np.allclose(np.linalg.norm(up, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(down - [1, 0.5], axis=1), 1, atol=1e-5)
    noisy = load_dataset("moons", {"n": 4000, "n_test": 100, "noise": 0.1})
    assert not np.allclose(np.linalg.norm(noisy.train_x[noisy.train_y == 0], axis=1), 1,
                           atol=1e-2)


# ------------------------------------------------------------------------ option checking

@pytest.mark.parametrize("name, options, must_mention", [
    ("mnist", {"limt": 5}, ["data.limt", "limit"]),
    ("shapes", {"n": 100, "colour": 1}, ["data.colour", "n", "size", "n_test"]),
    ("mnist", {"limit": -1}, ["data.limit", "0"]),   # the bound, however it is phrased
    ("mnist", {"limit": "many"}, ["data.limit", "whole number"]),
    ("shapes", {"size": 4}, ["data.size", "8 to 256"]),
    ("folder", {"path": "x", "channels": "2"}, ["data.channels", "'auto'", "'1'", "'3'"]),
    ("folder", {"path": "x", "channels": 2}, ["data.channels", "'auto'", "'1'", "'3'"]),
    ("moons", {"noise": "lots"}, ["data.noise", "number"]),
    ("npz", {"test_fraction": 2.0}, ["data.test_fraction", "0 to 0.9"]),
    ("folder", {}, ["data.path: give the folder of images"]),
    ("idx", {}, ["data.images"]),
    ("npz", {"path": ""}, ["data.path"]),
    ("cifar", {}, ["cifar", "mnist", "shapes", "folder"]),
])
def test_bad_options_name_the_key_and_valid_values(name, options, must_mention):
    with pytest.raises(DataError) as e:
        load_dataset(name, options)
    for word in must_mention:
        assert word in str(e.value)


def test_options_coercion():
    o = make_options("folder", {"path": "p", "channels": 3, "resolution": 64.0})
    assert o.channels == "3" and o.resolution == 64 and isinstance(o.resolution, int)
    assert make_options("mnist", MnistOptions(limit=3)).limit == 3
    assert make_options("mnist", None) == MnistOptions()
    with pytest.raises(DataError, match="limit"):
        make_options("mnist", MnistOptions(limit=-5))


def test_out_of_memory_is_a_data_error_with_a_message(monkeypatch):
    """A bare MemoryError has an empty message, which the window showed as an empty error."""
    def starved(options, seed=0):
        raise MemoryError()

    monkeypatch.setitem(DATA_SOURCES, "moons",
                        dataclasses.replace(DATA_SOURCES["moons"], loader=starved))
    with pytest.raises(DataError, match="not enough memory to load the moons data set"):
        load_dataset("moons")
