"""The user image folder: every format and mode loads with the right pixels, every bad file
is reported with its reason, nothing is dropped silently."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.data import DataError, load_dataset, scan_folder
from studio.data import folder as folder_mod
from studio.data.folder import to_rgb_or_gray

R = 16   # every good test image is R x R (or crops to it), so pixels come through unresampled


def solid(mode, color, size=(R, R)):
    return Image.new(mode, size, color)


def make_tree(root: Path) -> dict[str, tuple]:
    """Write the test folder. Returns {relative path: expected RGB at the centre} for the
    files that must load; the bad ones are listed by `BAD`."""
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    (root / "bad").mkdir()
    good = {}

    solid("RGB", (10, 200, 30)).save(root / "cats/good.png")
    good["cats/good.png"] = (10, 200, 30)
    solid("RGB", (200, 100, 50)).save(root / "cats/photo.jpg", quality=95)
    good["cats/photo.jpg"] = (200, 100, 50)
    solid("RGB", (1, 2, 3)).save(root / "cats/pic.bmp")
    good["cats/pic.bmp"] = (1, 2, 3)
    solid("RGB", (40, 50, 60)).save(root / "cats/pic.webp", lossless=True)
    good["cats/pic.webp"] = (40, 50, 60)

    red, blue = solid("P", 0), solid("P", 1)
    for f in (red, blue):
        f.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    red.save(root / "cats/anim.GIF", save_all=True, append_images=[blue], duration=50, loop=0)
    good["cats/anim.GIF"] = (255, 0, 0)     # first frame, upper-case extension

    solid("CMYK", (255, 0, 0, 0)).save(root / "cats/cmyk.jpg", quality=95)
    good["cats/cmyk.jpg"] = (0, 255, 255)   # pure cyan

    a16 = np.full((R, R), 32896, np.uint16)
    a16[:, : R // 2] = 65535
    Image.fromarray(a16).save(root / "dogs/gray16.png")
    good["dogs/gray16.png"] = (128, 128, 128)   # right half; left half checked below

    solid("RGBA", (200, 100, 50, 128)).save(root / "dogs/rgba.png")
    good["dogs/rgba.png"] = (100, 50, 25)       # composited over black

    pal = solid("P", 1)
    pal.putpalette([0, 0, 0, 100, 150, 200] + [0] * 762)
    pal.save(root / "dogs/pal.png")
    good["dogs/pal.png"] = (100, 150, 200)

    palt = solid("P", 0)
    palt.putpalette([0, 255, 0, 9, 9, 9] + [0] * 762)
    palt.paste(1, (R // 2, 0, R, R))               # right half uses the transparent entry
    palt.save(root / "dogs/pal_t.png", transparency=1)
    good["dogs/pal_t.png"] = (0, 0, 0)             # centre pixel is in the transparent half

    wide = solid("RGB", (5, 5, 5), size=(2 * R, R))
    wide.paste((250, 0, 250), (R // 2, 0, R // 2 + R, R))   # the centre square
    wide.save(root / "dogs/wide.png")
    good["dogs/wide.png"] = (250, 0, 250)

    solid("RGB", (77, 88, 99), size=(4 * R, 4 * R)).save(root / "dogs/big.png")   # shrink
    good["dogs/big.png"] = (77, 88, 99)
    solid("RGB", (33, 66, 99), size=(R // 2, R // 2)).save(root / "dogs/small.png")  # enlarge
    good["dogs/small.png"] = (33, 66, 99)

    # Bad files.
    (root / "bad/corrupt.png").write_bytes(np.random.default_rng(0).bytes(600))
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "bad/full.tmp.png")
    data = (root / "bad/full.tmp.png").read_bytes()
    (root / "bad/full.tmp.png").unlink()
    (root / "bad/truncated.png").write_bytes(data[: len(data) // 2])
    (root / "bad/empty.jpg").write_bytes(b"")
    (root / "bad/notes.txt").write_text("hello")
    (root / "bad/README").write_text("no extension")
    Image.new("L", (100, 100)).save(root / "bad/bomb.png")   # 10000 px; limit lowered below

    # Hidden files and folders are ignored (neither loaded nor reported).
    solid("RGB", (1, 1, 1)).save(root / ".hidden.png")
    (root / ".git").mkdir()
    (root / ".git/config").write_text("x")
    (root / "cats/.DS_Store").write_bytes(b"\0\1")
    return good


BAD = {"bad/corrupt.png": "corrupt", "bad/truncated.png": "truncated", "bad/empty.jpg": "empty",
       "bad/notes.txt": "not_image", "bad/README": "not_image", "bad/bomb.png": "bomb"}


def test_folder_loads_every_good_file_and_reports_every_bad_one(tmp_path):
    good = make_tree(tmp_path)
    x, y, names, report = scan_folder(tmp_path, R, "auto", max_pixels=5000)

    visible = [p for p in tmp_path.rglob("*") if p.is_file()
               and not any(part.startswith(".") for part in p.relative_to(tmp_path).parts)]
    assert report.loaded + len(report.skipped) == len(visible) == len(good) + len(BAD)
    assert report.loaded == len(good) == len(x)
    assert {s.path.replace(os.sep, "/"): s.kind for s in report.skipped} == BAD
    reasons = {s.path.replace(os.sep, "/"): s.reason for s in report.skipped}
    assert reasons["bad/notes.txt"] == "not an image file (.txt)"
    assert reasons["bad/empty.jpg"] == "zero bytes"
    assert "truncated" in reasons["bad/truncated.png"]
    assert "cannot identify" in reasons["bad/corrupt.png"]
    assert "decompression bomb" in reasons["bad/bomb.png"]
    assert "bad/bomb.png" in report.summary()

    assert x.dtype == np.uint8 and x.shape == (len(good), 3, R, R)   # mixed colour -> 3
    assert names == ["cats", "dogs"]                                 # bad/ loaded nothing
    order = sorted(good, key=lambda p: tuple(p.split("/")))           # scan order is sorted
    assert list(y) == [names.index(p.split("/")[0]) for p in order]
    for i, rel in enumerate(order):
        got = x[i, :, R // 2, R // 2 + 1]
        tol = 4 if rel.endswith(".jpg") else 0
        assert np.abs(got.astype(int) - good[rel]).max() <= tol, (rel, got, good[rel])
    px = dict(zip(order, x))
    assert np.all(px["dogs/gray16.png"][:, :, : R // 2] == 255)    # 65535 -> 255, not clipped
    assert np.all(px["dogs/gray16.png"][:, :, R // 2:] == 128)     # 32896 -> 128
    assert np.all(px["dogs/pal_t.png"][:, :, : R // 2] == np.array([0, 255, 0])[:, None, None])
    assert np.all(px["dogs/rgba.png"] == np.array([100, 50, 25])[:, None, None])
    assert np.all(px["dogs/wide.png"] == np.array([250, 0, 250])[:, None, None])   # centre crop
    assert np.all(px["cats/anim.GIF"] == np.array([255, 0, 0])[:, None, None])


def test_folder_as_a_dataset_splits_by_seed(tmp_path, monkeypatch):
    good = make_tree(tmp_path)
    monkeypatch.setattr(folder_mod, "MAX_PIXELS", 5000)
    a = load_dataset("folder", {"path": str(tmp_path), "resolution": R,
                                "test_fraction": 0.25}, seed=0)
    b = load_dataset("folder", {"path": str(tmp_path), "resolution": R,
                                "test_fraction": 0.25}, seed=0)
    assert len(a.train_x) + len(a.test_x) == len(good) and len(a.test_x) == 3
    assert np.array_equal(a.train_x, b.train_x) and np.array_equal(a.test_y, b.test_y)
    assert a.spec.num_classes == 2 and a.class_names == ["cats", "dogs"]
    assert a.spec.sample_shape == (3, R, R)
    assert len(a.report.skipped) == len(BAD)


@pytest.mark.parametrize("factor, exc", [(1.0, "warning"), (3.0, "error")])
def test_pillow_decompression_bomb_checks_are_skips(tmp_path, monkeypatch, factor, exc):
    # Pillow warns between 1x and 2x its limit and raises above 2x; both must become skips.
    Image.new("L", (100, 100)).save(tmp_path / "bomb.png")
    solid("L", 9).save(tmp_path / "ok.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", int(10000 / factor) - 1)
    x, y, _, report = scan_folder(tmp_path, R, max_pixels=10 ** 9)
    assert len(x) == 1 and y is None
    assert [(s.path, s.kind) for s in report.skipped] == [("bomb.png", "bomb")]


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    solid("L", 9).save(tmp_path / "ok.png")
    solid("L", 9).save(tmp_path / "locked.png")
    real_open = Image.open

    def fake_open(fp, *a, **k):   # running as root, chmod cannot make a file unreadable
        if Path(fp).name == "locked.png":
            raise PermissionError(13, "Permission denied")
        return real_open(fp, *a, **k)

    monkeypatch.setattr(Image, "open", fake_open)
    x, _, _, report = scan_folder(tmp_path, R)
    assert len(x) == 1
    assert [(s.path, s.kind, s.reason) for s in report.skipped] == [
        ("locked.png", "unreadable", "unreadable (permission denied)")]


def test_labels_only_when_every_image_is_in_a_subfolder(tmp_path):
    (tmp_path / "a").mkdir()
    solid("L", 10).save(tmp_path / "a/1.png")
    solid("L", 20).save(tmp_path / "root.png")
    x, y, names, _ = scan_folder(tmp_path, R)
    assert len(x) == 2 and y is None and names == []
    (tmp_path / "root.png").unlink()
    (tmp_path / "b/deeper").mkdir(parents=True)
    solid("L", 30).save(tmp_path / "b/deeper/2.png")   # deeper levels belong to "b"
    x, y, names, _ = scan_folder(tmp_path, R)
    assert names == ["a", "b"] and list(y) == [0, 1]


def test_channels_auto_gray_and_forced(tmp_path):
    solid("L", 50).save(tmp_path / "g.png")
    solid("RGB", (70, 70, 70)).save(tmp_path / "rgb_gray.png")   # colour file, gray picture
    solid("1", 1).save(tmp_path / "bw.bmp")
    x, *_ = scan_folder(tmp_path, R, "auto")
    assert x.shape == (3, 1, R, R)
    assert sorted(int(v) for v in x[:, 0, 0, 0]) == [50, 70, 255]
    x3, *_ = scan_folder(tmp_path, R, 3)
    assert x3.shape == (3, 3, R, R) and np.all(x3 == x)
    solid("RGB", (255, 0, 0)).save(tmp_path / "red.png")
    x, *_ = scan_folder(tmp_path, R, "auto")
    assert x.shape[1] == 3
    x1, *_ = scan_folder(tmp_path, R, "1")
    assert x1.shape[1] == 1 and 70 <= x1[2, 0, 0, 0] <= 80   # red -> luma 76


def test_exif_orientation_is_applied(tmp_path):
    im = solid("L", 0)
    im.paste(255, (0, 0, R, R // 2))                 # top half white as stored
    exif = Image.Exif()
    exif[0x0112] = 6                                 # display rotated 90 degrees clockwise
    im.save(tmp_path / "o.png", exif=exif)
    x, *_ = scan_folder(tmp_path, R)
    assert np.all(x[0, 0, :, R // 2:] == 255) and np.all(x[0, 0, :, : R // 2] == 0)


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"no image could be loaded[\s\S]*notes.txt"):
        load_dataset("folder", {"path": str(tmp_path)})
    with pytest.raises(DataError, match="folder not found"):
        load_dataset("folder", {"path": str(tmp_path / "nope")})


@pytest.mark.parametrize("mode, make, expect", [
    ("1", lambda: Image.new("1", (2, 2), 1), [255]),
    ("L", lambda: Image.new("L", (2, 2), 7), [7]),
    ("LA", lambda: Image.new("LA", (2, 2), (200, 51)), [40]),
    ("I;16", lambda: Image.fromarray(np.full((2, 2), 65535, np.uint16)), [255]),
    ("I;16B", lambda: Image.frombytes("I;16B", (2, 2), b"\x80\x80" * 4), [128]),
    ("I", lambda: Image.fromarray(np.full((2, 2), 32896, np.int32)), [128]),
    ("F", lambda: Image.fromarray(np.full((2, 2), 0.5, np.float32)), [128]),
    ("PA", lambda: Image.new("RGBA", (2, 2), (100, 100, 100, 255)).convert("PA"), [100] * 3),
    ("CMYK", lambda: Image.new("CMYK", (2, 2), (0, 0, 0, 0)), [255, 255, 255]),
    ("RGBA", lambda: Image.new("RGBA", (2, 2), (255, 255, 255, 0)), [0, 0, 0]),
    ("YCbCr", lambda: Image.new("RGB", (2, 2), (9, 9, 9)).convert("YCbCr"), [9, 9, 9]),
])
def test_every_mode_converts(mode, make, expect):
    im = make()
    assert im.mode == mode
    a, gray = to_rgb_or_gray(im)
    assert a.dtype == np.uint8 and a.shape == (2, 2, len(expect))
    assert np.abs(a[0, 0].astype(int) - expect).max() <= 1, a[0, 0]
