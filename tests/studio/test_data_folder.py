"""The user image folder: every format and mode loads with the right pixels, every bad file
is reported with its reason, nothing is dropped silently."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.data import DataError, ScanReport, SkippedFile, load_dataset, scan_folder
from studio.core.data import folder as folder_mod
from studio.core.data.folder import to_rgb_or_gray

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

    # Hidden files and folders are not loaded, but reported (a hidden folder as one entry).
    solid("RGB", (1, 1, 1)).save(root / ".hidden.png")
    (root / ".git").mkdir()
    (root / ".git/config").write_text("x")
    (root / "cats/.DS_Store").write_bytes(b"\0\1")
    return good


BAD = {"bad/corrupt.png": "corrupt", "bad/truncated.png": "truncated", "bad/empty.jpg": "empty",
       "bad/notes.txt": "not_image", "bad/README": "not_image", "bad/bomb.png": "bomb"}
HIDDEN = {".hidden.png": "hidden", ".git": "hidden", "cats/.DS_Store": "hidden"}


def accounted_for(root: Path, good, report) -> bool:
    """Every file under root is loaded or listed (itself, or a folder above it)."""
    listed = {s.path.replace(os.sep, "/") for s in report.skipped}
    for p in root.rglob("*"):
        if p.is_file():
            rel = p.relative_to(root).parts
            if "/".join(rel) not in good and not any("/".join(rel[:i]) in listed
                                                     for i in range(1, len(rel) + 1)):
                return False
    return True


def test_folder_loads_every_good_file_and_reports_every_bad_one(tmp_path):
    good = make_tree(tmp_path)
    x, y, names, report = scan_folder(tmp_path, R, "auto", max_pixels=5000)

    assert report.loaded == len(good) == len(x)
    assert {s.path.replace(os.sep, "/"): s.kind for s in report.skipped} == BAD | HIDDEN
    assert accounted_for(tmp_path, good, report)
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
    assert len(a.report.skipped) == len(BAD) + len(HIDDEN)


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


# ------------------------------------------------ nothing skipped without a word in the report

def kinds(report) -> dict[str, str]:
    return {s.path.replace(os.sep, "/"): s.kind for s in report.skipped}


def test_unreadable_subfolder_is_reported(tmp_path, monkeypatch):
    (tmp_path / "ok").mkdir()
    (tmp_path / "locked").mkdir()
    solid("L", 9).save(tmp_path / "ok/a.png")
    solid("L", 9).save(tmp_path / "locked/b.png")
    if os.geteuid() != 0:
        (tmp_path / "locked").chmod(0)
    else:   # root reads anything: make the listing fail the way chmod 000 would
        real_scandir = os.scandir

        def scandir(path):
            if Path(path).name == "locked":
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)
        monkeypatch.setattr(os, "scandir", scandir)
    try:
        x, _, _, report = scan_folder(tmp_path, R)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert len(x) == 1 and kinds(report) == {"locked": "unreadable_folder"}
    assert report.skipped[0].reason == "unreadable folder (Permission denied)"


def test_symlinked_folders_are_followed_once_and_loops_are_reported(tmp_path):
    outside = tmp_path / "outside"
    root = tmp_path / "root"
    (outside / "deep").mkdir(parents=True)
    (root / "real").mkdir(parents=True)
    solid("L", 1).save(outside / "deep/o.png")
    solid("L", 2).save(root / "real/r.png")
    (root / "linked").symlink_to(outside)                 # followed: its images load
    (root / "real/again").symlink_to(root / "real")       # back to itself: a loop
    (root / "real/up").symlink_to(root)                   # back to the top: a loop
    (root / "twin").symlink_to(outside / "deep")          # a folder already scanned
    (root / "self").symlink_to(root / "self")             # a link to itself
    x, y, names, report = scan_folder(root, R)
    assert len(x) == report.loaded == 2 and names == ["linked", "real"]
    assert kinds(report) == {"real/again": "symlink_loop", "real/up": "symlink_loop",
                             "twin": "duplicate_folder", "self": "symlink_loop"}
    twin = next(s for s in report.skipped if s.kind == "duplicate_folder")
    assert twin.reason == f"same folder as {Path('linked/deep')} (scanned once)"


def test_special_files_are_reported_not_opened(tmp_path):
    import signal
    os.mkfifo(tmp_path / "pipe.png")   # opening it for reading would wait for a writer forever
    solid("L", 9).save(tmp_path / "ok.png")

    def hung(*_):
        raise TimeoutError("the scan opened the named pipe")
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        x, _, _, report = scan_folder(tmp_path, R)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert len(x) == 1
    assert [(s.path, s.kind, s.reason) for s in report.skipped] == [
        ("pipe.png", "not_image", "not a regular file")]


def test_report_one_line_and_written_report(tmp_path):
    good = make_tree(tmp_path / "data")
    _, _, _, report = scan_folder(tmp_path / "data", R, max_pixels=5000)
    assert report.one_line() == (f"folder: {len(good)} loaded, 9 skipped "
                                 "(3 hidden, 2 not image, 1 bomb, 1 corrupt, 1 empty, "
                                 "1 truncated)")
    assert ScanReport(loaded=1204).one_line("mnist-like") == "mnist-like: 1,204 loaded, 0 skipped"
    report.skipped.append(SkippedFile("caf\udce9.png", "corrupt image (x)", "corrupt"))
    report.write(tmp_path / "report.txt")
    lines = (tmp_path / "report.txt").read_text().splitlines()
    assert lines[0] == report.one_line()
    assert lines[1:] == [f"{s.kind}\t{s.path}\t{s.reason}".replace("\udce9", "\\udce9")
                         for s in report.skipped]


def test_a_folder_with_nothing_loadable_says_why_in_a_bounded_message(tmp_path):
    for i in range(50):
        (tmp_path / f"n{i:02}.txt").write_text("x")
    with pytest.raises(DataError) as e:
        load_dataset("folder", {"path": str(tmp_path)})
    message = str(e.value)
    assert "n00.txt" in message and "n49.txt" not in message and "... and 30 more" in message
    assert len(e.value.report.skipped) == 50 and e.value.report.loaded == 0
