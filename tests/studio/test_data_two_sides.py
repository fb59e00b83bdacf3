"""Data with two sides (issue 17, build 1): the MNIST-derived translation sets, the batch
layer that keeps pairs aligned (and unpaired domains independent), and folder pairs A/ B/."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engines.spec import Batch, DataSpec
from studio.core.data import SKIP_KINDS, DataError, load_dataset
from studio.core.data.builtin import _mnist_arrays
from studio.core.data.two_sides import (average_pool, edge_map, rotate90, scan_folder_pair,
                                        thick, thin)
from studio.core.training import BatchSampler, DeviceData, TwoSidedSampler

CPU = torch.device("cpu")
LIMIT = 64


def _mnist(n=LIMIT):
    a = _mnist_arrays()
    return a["x_train"][:n, None], a["y_train"][:n], a["x_test"][:, None], a["y_test"]


# ------------------------------------------------------------------------- derived sets

@pytest.mark.parametrize("factor, side", [(2, 14), (4, 7)])
def test_lowres_is_the_average_pool_of_its_target(factor, side):
    ds = load_dataset("mnist-lowres", {"limit": LIMIT, "factor": factor})
    x, y, vx, _ = _mnist()
    assert ds.pairing == "paired" and ds.two_sided
    assert ds.train_x.shape == (LIMIT, 1, 28, 28) and ds.train_x2.shape == (LIMIT, 1, side, side)
    assert ds.test_x2.shape == (10000, 1, side, side) and ds.test_x.shape == (10000, 1, 28, 28)
    assert ds.train_x2.dtype == np.uint8
    np.testing.assert_array_equal(ds.train_x, x)
    np.testing.assert_array_equal(ds.train_y, y)
    np.testing.assert_array_equal(ds.train_y2, y)
    # pixel (i, j) of the source is the rounded mean of the f x f block of its target
    block = x[3, 0, 2 * factor:3 * factor, 1 * factor:2 * factor].astype(np.float64)
    assert ds.train_x2[3, 0, 2, 1] == int(np.round(block.mean()))
    spec = ds.spec
    assert (spec.channels, spec.height, spec.width) == (1, 28, 28)
    assert spec.pairing == "paired" and spec.source_shape == (1, side, side)
    assert spec.num_classes == 10 and ds.class_names == [str(i) for i in range(10)]


def test_edges_are_the_outline_just_outside_the_digit():
    ds = load_dataset("mnist-edges", {"limit": LIMIT})
    x = _mnist()[0]
    assert ds.spec.source_shape == (1, 28, 28) and ds.train_x2.shape == x.shape
    edges, digit = ds.train_x2 > 0, x >= 128
    assert set(np.unique(ds.train_x2)) <= {0, 255}
    assert not np.any(edges & digit)            # the outline never covers the stroke
    # every outline pixel touches the digit (4-neighbourhood), and every digit has one
    p = np.pad(digit, ((0, 0), (0, 0), (1, 1), (1, 1)))
    near = p[..., :-2, 1:-1] | p[..., 2:, 1:-1] | p[..., 1:-1, :-2] | p[..., 1:-1, 2:]
    assert np.all(near[edges])
    assert np.all(edges.reshape(LIMIT, -1).any(1))


@pytest.mark.parametrize("name", ["mnist-lowres", "mnist-edges", "mnist-thin-thick",
                                  "mnist-rotated"])
def test_derived_sets_are_deterministic(name):
    a = load_dataset(name, {"limit": LIMIT}, seed=0)
    b = load_dataset(name, {"limit": LIMIT}, seed=7)   # no randomness at all: the seed is moot
    for f in ("train_x", "train_y", "test_x", "test_y", "train_x2", "train_y2", "test_x2",
              "test_y2"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.spec == b.spec and a.sides == b.sides and len(a.sides) == 2


@pytest.mark.parametrize("name, to_src, to_tgt", [
    ("mnist-thin-thick", thin, thick),
    ("mnist-rotated", lambda v: v, rotate90),
])
def test_unpaired_domains_hold_different_images(name, to_src, to_tgt):
    ds = load_dataset(name, {"limit": LIMIT + 1})
    x, y, vx, vy = _mnist(LIMIT + 1)
    assert ds.pairing == "unpaired" and ds.spec.pairing == "unpaired"
    # even-indexed MNIST images -> source domain, odd-indexed -> target domain
    np.testing.assert_array_equal(ds.train_x2, to_src(x[0::2]))
    np.testing.assert_array_equal(ds.train_x, to_tgt(x[1::2]))
    np.testing.assert_array_equal(ds.train_y2, y[0::2])
    np.testing.assert_array_equal(ds.train_y, y[1::2])
    np.testing.assert_array_equal(ds.test_x2, to_src(vx[0::2]))
    np.testing.assert_array_equal(ds.test_y, vy[1::2])
    assert len(ds.train_x2) == LIMIT // 2 + 1 and len(ds.train_x) == LIMIT // 2
    # no source image comes from the same MNIST digit as any target image
    src = {r.tobytes() for r in x[0::2]}
    assert not src & {r.tobytes() for r in x[1::2]}
    assert len(src) == len(x[0::2])


def test_thin_and_thick_change_the_stroke_width():
    x = _mnist()[0]
    lit = (x > 0).sum()
    assert (thin(x) > 0).sum() < lit < (thick(x) > 0).sum()
    assert np.all(thin(x) <= x) and np.all(thick(x) >= x)
    np.testing.assert_array_equal(rotate90(rotate90(rotate90(rotate90(x)))), x)
    assert rotate90(x)[5, 0, 27 - 3, 10] == x[5, 0, 10, 3]     # counter-clockwise


def test_average_pool_refuses_a_size_it_cannot_divide():
    with pytest.raises(DataError, match="cannot be pooled"):
        average_pool(np.zeros((1, 1, 28, 28), np.uint8), 3)
    assert average_pool(np.full((1, 1, 4, 4), 255, np.uint8), 2).tolist() == [[[[255, 255],
                                                                               [255, 255]]]]
    assert edge_map(np.zeros((1, 1, 5, 5), np.uint8)).max() == 0


def test_one_sided_data_sets_and_specs_are_unchanged():
    ds = load_dataset("mnist", {"limit": 8})
    assert not ds.two_sided and ds.pairing == "" and ds.train_x2 is None
    assert not ds.spec.two_sided and ds.spec.source_shape == ()
    assert DataSpec("images", channels=1, height=8, width=8) == \
        DataSpec("images", 1, 8, 8)
    b = Batch(torch.zeros(2, 1, 8, 8))
    assert b.y is None and b.x2 is None and b.y2 is None


# ---------------------------------------------------------------------------- the batches

def _paired_data(n=40):
    """Target i is the digit i drawn as a constant image; source i carries i too (and a
    different size), so a batch shows at once whether its rows still belong together."""
    tgt = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None], 8, 2).repeat(8, 3)
    src = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None], 4, 2).repeat(4, 3)
    return tgt, np.arange(n) % 10, src


def test_pairs_stay_aligned_after_shuffling():
    tgt, y, src = _paired_data()
    data = DeviceData(tgt, y, CPU, x2=src, y2=y, pairing="paired")
    sampler = TwoSidedSampler(len(tgt), len(src), 16, seed=3, device=CPU, pairing="paired")
    seen = []
    for _ in range(7):                                # several epochs, reshuffled each time
        b = data.batch(*sampler.next_indices())
        assert b.x.shape == (16, 1, 8, 8) and b.x2.shape == (16, 1, 4, 4)
        # the batch's source i is the pair of its target i
        torch.testing.assert_close(b.x2[:, 0, 0, 0], b.x[:, 0, 0, 0])
        assert torch.equal(b.y2, b.y)
        seen.append((b.x[:, 0, 0, 0] * 255).round().long())
    order = torch.cat(seen)
    assert not torch.equal(order[:16], torch.arange(16))   # really shuffled
    # paired without idx2 works too (the same indices are used)
    b = data.batch(torch.tensor([5, 1]))
    assert torch.equal((b.x2[:, 0, 0, 0] * 255).round().long(), torch.tensor([5, 1]))


def test_unpaired_domains_are_shuffled_independently():
    tgt, y, _ = _paired_data(40)
    src = np.repeat(np.arange(100, 130, dtype=np.uint8)[:, None, None, None], 8, 2).repeat(8, 3)
    data = DeviceData(tgt, y, CPU, x2=src, y2=np.arange(30) % 10, pairing="unpaired")
    sampler = TwoSidedSampler(40, 30, 10, seed=0, device=CPU, pairing="unpaired")
    idx, idx2 = sampler.next_indices()
    b = data.batch(idx, idx2)
    assert b.x2.shape == (10, 1, 8, 8) and len(b.y2) == 10
    assert torch.equal((b.x2[:, 0, 0, 0] * 255).round().long(), idx2 + 100)
    assert not torch.equal(idx, idx2)
    # the main side draws exactly what a one-sided sampler with the same seed draws
    plain = BatchSampler(40, 10, 0, CPU)
    assert torch.equal(idx, plain.next_indices())
    # each domain runs through its own epochs: 30 source examples, 3 batches an epoch
    firsts = [idx2] + [sampler.next_indices()[1] for _ in range(2)]
    assert sorted(torch.cat(firsts).tolist()) == list(range(30))
    with pytest.raises(ValueError, match="idx2"):
        data.batch(idx)


def test_two_sided_sampler_resumes_exactly():
    s = TwoSidedSampler(40, 30, 10, seed=5, device=CPU, pairing="unpaired")
    for _ in range(5):
        s.next_indices()
    state = s.state()
    ahead = [s.next_indices() for _ in range(6)]
    t = TwoSidedSampler(40, 30, 10, seed=99, device=CPU, pairing="unpaired")
    t.load(state)
    for a, b in zip(ahead, (t.next_indices() for _ in range(6))):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="as long"):
        TwoSidedSampler(40, 30, 10, seed=0, device=CPU, pairing="paired")


def test_held_out_batches_walk_both_sides():
    tgt, y, src = _paired_data(10)
    paired = DeviceData(tgt, y, CPU, x2=src, pairing="paired")
    for b in paired.batches(4):
        torch.testing.assert_close(b.x2[:, 0, 0, 0], b.x[:, 0, 0, 0])
        assert b.y2 is None
    unpaired = DeviceData(tgt, y, CPU, x2=src[:3], pairing="unpaired")
    got = torch.cat([b.x2[:, 0, 0, 0] for b in unpaired.batches(4)])
    assert len(got) == 10       # the shorter domain wraps around
    one = DeviceData(tgt, y, CPU)
    assert all(b.x2 is None for b in one.batches(4))


def test_a_derived_set_feeds_the_batches():
    ds = load_dataset("mnist-lowres", {"limit": LIMIT, "factor": 4})
    data = DeviceData(ds.train_x, ds.train_y, CPU, x2=ds.train_x2, y2=ds.train_y2,
                      pairing=ds.pairing)
    idx, idx2 = TwoSidedSampler(LIMIT, LIMIT, 8, 0, CPU, ds.pairing).next_indices()
    b = data.batch(idx, idx2)
    pooled = torch.nn.functional.avg_pool2d(b.x, 4)
    assert (pooled - b.x2).abs().max() <= 0.5 / 255 + 1e-6   # rounding only


# ---------------------------------------------------------------------- folders A/ and B/

def _png(path, value, size=8, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size, size), value).save(path)


def test_folder_pairs_match_by_name_and_report_what_has_no_partner(tmp_path):
    for i in range(6):
        _png(tmp_path / "A" / f"{i:02d}.png", 10 * i)
        _png(tmp_path / "B" / f"{i:02d}.jpg", 10 * i + 5, mode="RGB")
    _png(tmp_path / "A" / "only_a.png", 1)
    _png(tmp_path / "B" / "sub" / "only_b.png", 2)
    _png(tmp_path / "A" / "03.bmp", 30)     # same name as A/03.png; sorts first, so it is kept
    (tmp_path / "B" / "notes.txt").write_text("hi")
    a, b, report = scan_folder_pair(tmp_path, resolution=8)
    assert len(a[0]) == len(b[0]) == 6
    assert [p.stem for p in a[3]] == [p.stem for p in b[3]]
    assert a[0].shape[1] == 1 and b[0].shape[1] == 3      # channels decided per side
    # each A image is paired with the B image of the same name: values 10 i and 10 i + 5
    np.testing.assert_allclose(b[0][:, 0, 0, 0].astype(int) - a[0][:, 0, 0, 0], 5, atol=2)
    kinds = {f.path: f.kind for f in report.skipped}
    assert kinds == {"A/only_a.png": "unmatched", "B/sub/only_b.png": "unmatched",
                     "A/03.png": "duplicate_name", "B/notes.txt": "not_image"}
    assert set(kinds.values()) <= set(SKIP_KINDS)
    assert report.loaded == 12                 # every file is loaded (kept) or listed
    assert "only_a.png" in report.summary() and "no partner" in report.summary()

    ds = load_dataset("folder-pair", {"path": str(tmp_path), "resolution": 8,
                                      "test_fraction": 0.5}, seed=1)
    assert ds.pairing == "paired" and ds.sides == ("A", "B") and ds.report.loaded == 12
    assert len(ds.train_x) == len(ds.train_x2) == 3 and len(ds.test_x) == len(ds.test_x2) == 3
    diff = ds.train_x[:, 0, 0, 0].astype(int) - ds.train_x2[:, 0, 0, 0]
    assert np.all(np.abs(diff - 5) <= 2)       # the split kept the pairs together
    assert ds.spec.channels == 3 and ds.spec.source_shape == (1, 8, 8)


def test_unpaired_folders_keep_every_image(tmp_path):
    for i in range(5):
        _png(tmp_path / "A" / f"a{i}.png", i)
    for i in range(3):
        _png(tmp_path / "b" / f"b{i}.png", 100 + i)
    ds = load_dataset("folder-pair", {"path": str(tmp_path), "pairing": "unpaired",
                                      "resolution": 8, "test_fraction": 0.0})
    assert ds.pairing == "unpaired" and ds.report.skipped == [] and ds.report.loaded == 8
    assert len(ds.train_x2) == 5 and len(ds.train_x) == 3


def test_folder_pair_errors_say_what_is_missing(tmp_path):
    (tmp_path / "A").mkdir()
    with pytest.raises(DataError, match="no B/ folder"):
        load_dataset("folder-pair", {"path": str(tmp_path)})
    _png(tmp_path / "A" / "x.png", 1)
    _png(tmp_path / "B" / "y.png", 1)
    with pytest.raises(DataError, match="no pair of images") as e:
        load_dataset("folder-pair", {"path": str(tmp_path), "resolution": 8})
    assert {f.kind for f in e.value.report.skipped} == {"unmatched"}
    with pytest.raises(DataError, match="pairing"):
        load_dataset("folder-pair", {"path": str(tmp_path), "pairing": "both"})


def test_the_browser_shows_pairs_side_by_side():
    from studio.shell.presenters import dataset_view
    from widgets.pair_images import GAP, PairImages
    ds = load_dataset("mnist-lowres", {"limit": 8, "factor": 2})
    view = dataset_view(ds)
    assert isinstance(view.images, PairImages) and "low-res 14x14" in view.description
    assert view.images.shape == (8, 1, 28, 28 + GAP + 28) and len(view.images) == 8
    item = view.images[3]
    np.testing.assert_array_equal(item[:, ::2, :28:2], ds.train_x2[3])   # upscaled source
    np.testing.assert_array_equal(item[:, :, 28 + GAP:], ds.train_x[3])
    assert "unpaired" in dataset_view(load_dataset("mnist-rotated", {"limit": 8})).description.lower()


def test_the_browser_summary_counts_pairs_and_shows_both_shapes(qtbot):
    from studio.core.data import load_dataset
    from studio.shell.presenters import dataset_view
    from widgets.data_browser import DataBrowserPanel
    view = dataset_view(load_dataset("mnist-lowres", None))
    assert view.noun == "pairs" and view.shape_text == "1×14×14 → 1×28×28"
    panel = DataBrowserPanel()
    qtbot.addWidget(panel)
    panel.show_dataset(view)
    assert "60,000 pairs · 1×14×14 → 1×28×28" in panel.summary_text()


def test_the_browser_shows_both_unpaired_domains_alternating(qtbot):
    from studio.shell.presenters import dataset_view
    from widgets.data_browser import DataBrowserPanel
    from widgets.pair_images import InterleavedImages, interleave_order
    # the order: a0 b0 a1 b1 ..., then the rest of the longer side
    np.testing.assert_array_equal(interleave_order(3, 1), [[0, 1, 0, 0], [0, 0, 1, 2]])
    np.testing.assert_array_equal(interleave_order(1, 2), [[0, 1, 1], [0, 0, 1]])
    ds = load_dataset("mnist-thin-thick", {"limit": 10})
    view = dataset_view(ds)
    assert isinstance(view.images, InterleavedImages)
    n2, n = len(ds.train_x2), len(ds.train_x)
    assert len(view.images) == n2 + n and len(view.labels) == n2 + n
    np.testing.assert_array_equal(view.images[0], ds.train_x2[0])     # thin (source) first
    np.testing.assert_array_equal(view.images[1], ds.train_x[0])      # then thick (target)
    np.testing.assert_array_equal(view.images[5], ds.train_x[2])
    assert view.labels[0] == ds.train_y2[0] and view.labels[1] == ds.train_y[0]
    assert "alternate" in view.description and "not pairs" in view.description
    panel = DataBrowserPanel()
    qtbot.addWidget(panel)
    panel.show_dataset(view)
    assert f"{n2 + n:,} images in two domains · 1×28×28 | 1×28×28" in panel.summary_text()
    # shapes that differ are centred on the larger canvas
    a = np.full((2, 1, 4, 4), 7, np.uint8)
    b = np.full((1, 1, 6, 8), 9, np.uint8)
    mixed = InterleavedImages(a, b)
    assert mixed.shape == (3, 1, 6, 8)
    item = mixed[0]
    assert item.shape == (1, 6, 8) and item[0, 1:5, 2:6].min() == 7 and item.sum() == 7 * 16


def test_a_translator_on_data_it_cannot_learn_from_is_refused_before_a_run_is_made():
    from studio.core.config import config_from_dict
    from studio.shell.presenters import data_problem

    def cfg(engine, data):
        return config_from_dict({"data": {"name": data}, "model": {"engine": engine}})
    mnist = load_dataset("mnist", {"limit": 8})
    unpaired = load_dataset("mnist-thin-thick", {"limit": 8})
    paired = load_dataset("mnist-edges", {"limit": 8})
    one_sided = data_problem(cfg("pix2pix", "mnist"), mnist)
    assert "has one side" in one_sided and "mnist-edges" in one_sided and "preset" in one_sided
    assert "learns from paired examples" in data_problem(cfg("srgan", "mnist-thin-thick"), unpaired)
    assert data_problem(cfg("pix2pix", "mnist-edges"), paired) == ""
    assert data_problem(cfg("cyclegan", "mnist-thin-thick"), unpaired) == ""
    assert data_problem(cfg("cyclegan", "mnist-edges"), paired) == ""        # pairs are 2 domains
    assert data_problem(cfg("vae", "mnist"), mnist) == ""
    assert data_problem(cfg("pix2pix", "mnist-edges"), mnist) == ""  # not the set it will load
