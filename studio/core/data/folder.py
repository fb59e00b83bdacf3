"""A user's folder of images. Every file found is either loaded or reported with a reason;
one bad file never stops the scan. Hidden entries, unreadable folders and symlink loops are
reported too; symlinked folders are followed, each real folder once."""
from __future__ import annotations

import errno
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from engines.params import param

from .common import image_dataset, split, user_path
from .dataset import DataError, Dataset, ScanReport, SkippedFile

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"})
# Images larger than this many pixels are skipped as possible decompression bombs.
# None means Pillow's own limit (Image.MAX_IMAGE_PIXELS). Tests lower it.
MAX_PIXELS: Optional[int] = None


@dataclass
class FolderOptions:
    path: str = param("", "Folder of images (searched recursively). Images in first-level "
                          "subfolders are labelled by subfolder name.")
    resolution: int = param(32, "Images are centre-cropped to a square and resized to this "
                                "many pixels.", min=4, max=512)
    channels: str = param("auto", "1 = grayscale, 3 = colour, auto = 1 if every image is "
                                  "grayscale, else 3.", choices=("auto", "1", "3"))
    test_fraction: float = param(0.1, "Fraction of the images held out for evaluation.",
                                 min=0.0, max=0.9)


class _Skip(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def list_files(root: Path, report: Optional[ScanReport] = None) -> list[Path]:
    """Every file under root, in a deterministic (sorted) order. Symlinked folders are
    followed, each real folder once. What is not searched goes to `report`: hidden entries,
    unreadable folders, symlink loops and second links to a folder already scanned."""
    out: list[Path] = []

    def skip(p: Path, kind: str, reason: str) -> None:
        if report is not None:
            report.skipped.append(SkippedFile(str(p.relative_to(root)), reason, kind))

    def walk(folder: Path, ancestors: tuple) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            skip(folder, "unreadable_folder", f"unreadable folder ({e.strerror or e})")
            return
        for e in entries:
            p = Path(e.path)
            try:
                is_dir = e.is_dir()   # follows symlinks
            except OSError as err:
                loop = err.errno == errno.ELOOP
                skip(p, "symlink_loop" if loop else "unreadable",
                     "symlink loop" if loop else f"unreadable ({err.strerror or err})")
                continue
            if e.name.startswith("."):
                skip(p, "hidden", "hidden folder (not searched)" if is_dir else "hidden file")
            elif not is_dir:
                out.append(p)
            else:
                try:
                    st = p.stat()
                except OSError as err:
                    skip(p, "unreadable_folder", f"unreadable folder ({err.strerror or err})")
                    continue
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    skip(p, "symlink_loop", "symlink loop (leads back to a folder above it)")
                elif key in seen:
                    skip(p, "duplicate_folder", f"same folder as {seen[key]} (scanned once)")
                else:
                    seen[key] = str(p.relative_to(root))
                    walk(p, ancestors + (key,))

    st = root.stat()
    seen: dict[tuple, str] = {(st.st_dev, st.st_ino): "."}
    walk(root, ((st.st_dev, st.st_ino),))
    return out


def _to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit or float pixels -> uint8 by scaling (Pillow's convert("L") clips)."""
    a = a.astype(np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode == "F" and lo >= 0 and hi <= 1:
        scale, off = 255.0, 0.0                # float image in [0, 1]
    elif mode != "F" and lo >= 0 and hi <= 65535:
        # I;16* is 16-bit by definition; Pillow also opens 16-bit data from several
        # formats as "I", so that range is read as 16-bit too: 65535 -> 255, 32896 -> 128.
        scale, off = 255.0 / 65535.0, 0.0
    else:
        scale, off = 255.0 / max(hi - lo, 1e-12), lo   # unknown range: stretch to 0..255
    return np.clip(np.round((a - off) * scale), 0, 255).astype(np.uint8)


def _over_black(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite straight (non-premultiplied) alpha over black."""
    a = alpha.astype(np.uint32)
    return ((color.astype(np.uint32) * a[..., None] + 127) // 255).astype(np.uint8)


def to_rgb_or_gray(im: Image.Image) -> tuple[np.ndarray, bool]:
    """Any Pillow mode -> (uint8 (H, W, 1 or 3), is_gray). Raises _Skip for unknown modes."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("RGBa", "La"):
        pass   # premultiplied: over black that is just the colour channels
    elif mode in ("CMYK", "YCbCr", "HSV", "RGBX"):
        im = im.convert("RGB")
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _to_uint8(np.asarray(im), mode)[..., None], True
    if mode in ("L", "RGB"):
        a = np.asarray(im)
        a = a[..., None] if a.ndim == 2 else a
    elif mode in ("LA", "La"):
        a = np.asarray(im)
        a = _over_black(a[..., :1], a[..., 1]) if mode == "LA" else a[..., :1].copy()
    elif mode in ("RGBA", "RGBa"):
        a = np.asarray(im)
        a = _over_black(a[..., :3], a[..., 3]) if mode == "RGBA" else a[..., :3].copy()
    else:
        raise _Skip("unsupported", f"unsupported image mode ({mode})")
    if a.shape[-1] == 1:
        return a, True
    # Colour files holding gray pictures (common for scans and MNIST exports) count as gray.
    return a, bool(np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2]))


def _square_resize(a: np.ndarray, resolution: int) -> np.ndarray:
    h, w, c = a.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    if s == resolution:
        return np.ascontiguousarray(a[top:top + s, left:left + s])
    im = Image.fromarray(a[..., 0] if c == 1 else a)   # uint8 2-D -> L, (H, W, 3) -> RGB
    # BOX averages when shrinking (no ringing); LANCZOS is sharper when enlarging.
    f = Image.Resampling.BOX if s > resolution else Image.Resampling.LANCZOS
    out = np.asarray(im.resize((resolution, resolution), f, box=(left, top, left + s, top + s)))
    return out[..., None] if out.ndim == 2 else out


def _read_image(path: Path, resolution: int, limit: int) -> tuple[np.ndarray, bool]:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):   # opening a named pipe would wait forever
            raise _Skip("not_image", "not a regular file")
        if st.st_size == 0:
            raise _Skip("empty", "zero bytes")
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its limit; a skip is what we want for both.
            # (Our own limit check below usually fires first, so the process-wide filter
            # change matters only when Pillow's limit is the lower one.)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > limit:
                    raise _Skip("bomb", f"decompression bomb ({w}x{h} pixels, limit {limit})")
                if im.format == "JPEG":
                    # Decode big photos at a reduced scale (still >= resolution): much faster.
                    im.draft(None, (resolution, resolution))
                im.load()   # decodes now, so truncated data raises instead of loading grey
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception:
                    pass   # a damaged EXIF block should not cost the picture itself
                a, gray = to_rgb_or_gray(im)
                if min(a.shape[:2]) == 0:
                    raise _Skip("corrupt", "corrupt image (zero width or height)")
                return _square_resize(a, resolution), gray
    except _Skip:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise _Skip("bomb", f"decompression bomb ({e})") from None
    except UnidentifiedImageError:
        raise _Skip("corrupt", "corrupt image (cannot identify image file)") from None
    except PermissionError:
        raise _Skip("unreadable", "unreadable (permission denied)") from None
    except FileNotFoundError:
        raise _Skip("unreadable", "unreadable (file vanished or broken link)") from None
    except (OSError, EOFError, SyntaxError, ValueError) as e:
        msg = str(e) or type(e).__name__
        if isinstance(e, EOFError) or "truncat" in msg.lower():
            raise _Skip("truncated", f"truncated image ({msg})") from None
        raise _Skip("corrupt", f"corrupt image ({msg})") from None
    except Exception as e:   # a Pillow plugin bug on one file must not end the scan
        raise _Skip("corrupt", f"corrupt image ({type(e).__name__}: {e})") from None


def scan_folder(path: str | Path, resolution: int = 32, channels: str | int = "auto", *,
                max_pixels: Optional[int] = None,
                progress: Optional[Callable[[int, int], None]] = None,
                loaded_paths: Optional[list[Path]] = None,
                ) -> tuple[np.ndarray, Optional[np.ndarray], list[str], ScanReport]:
    """Load every image under `path`.

    Returns (images uint8 (N, C, H, W), labels int64 (N,) or None, class_names, report).
    Labels exist only when every loaded image lies in a first-level subfolder (the class);
    class_names are those subfolders, sorted. `channels`: "auto", "1" or "3" (ints too).
    `progress(done, total)` is called after each file. `loaded_paths`, when given, receives
    the path (relative to `path`) of each loaded image, in order (folder pairs match them by
    name). Never raises for a single bad file;
    the caller decides what an empty result means.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone turned Pillow's global on; truncated files would load as partly grey.
        warnings.warn("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True: truncated images "
                      "will not be detected", RuntimeWarning, stacklevel=2)
    channels = str(channels)
    if channels not in ("auto", "1", "3"):
        raise DataError(f"data.channels: must be one of 'auto', '1', '3' (got {channels!r})")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"data.path: folder not found: {root}")
    limit = max_pixels or MAX_PIXELS or Image.MAX_IMAGE_PIXELS or (1 << 62)
    report = ScanReport()
    files = list_files(root, report)
    arrays, grays, groups = [], [], []
    for i, f in enumerate(files):
        rel = f.relative_to(root)
        if f.suffix.lower() not in IMAGE_EXTENSIONS:
            ext = f"({f.suffix.lower()})" if f.suffix else "(no extension)"
            report.skipped.append(SkippedFile(str(rel), f"not an image file {ext}", "not_image"))
        else:
            try:
                a, gray = _read_image(f, resolution, limit)
            except _Skip as s:
                report.skipped.append(SkippedFile(str(rel), s.reason, s.kind))
            else:
                arrays.append(a)
                grays.append(gray)
                if loaded_paths is not None:
                    loaded_paths.append(rel)
                groups.append(rel.parts[0] if len(rel.parts) > 1 else None)
        if progress is not None:
            progress(i + 1, len(files))
    report.loaded = len(arrays)
    c = (1 if all(grays) else 3) if channels == "auto" else int(channels)
    images = np.empty((len(arrays), c, resolution, resolution), np.uint8)
    for i, a in enumerate(arrays):
        if a.shape[-1] == 3 and c == 1:
            a = np.asarray(Image.fromarray(a).convert("L"))[..., None]   # ITU-R 601 luma
        images[i] = np.moveaxis(a, -1, 0)   # broadcasting turns gray into 3 equal channels
    labels, class_names = None, []
    if arrays and all(g is not None for g in groups):
        class_names = sorted(set(groups))
        index = {name: k for k, name in enumerate(class_names)}
        labels = np.array([index[g] for g in groups], np.int64)
    return images, labels, class_names, report


def load_folder(options: FolderOptions, seed: int = 0) -> Dataset:
    root = user_path(options.path, "path", "folder of images", folder=True)
    images, labels, names, report = scan_folder(root, options.resolution, options.channels)
    if not len(images):
        # The message lists the first files only (it is shown in a status line); the whole
        # report rides along for whoever wants to write it out.
        raise DataError(f"data.path: no image could be loaded from {root}\n"
                        + report.summary(limit=20), report=report)
    tx, ty, vx, vy = split(images, labels, options.test_fraction, seed, "data.path")
    return image_dataset("folder", tx, ty, vx, vy, names, report=report)
