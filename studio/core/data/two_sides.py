"""Data with two sides, for image-to-image translation (docs/architecture.md, "Data with two
sides"): a SOURCE side (A, domain X: what a translator reads) next to the TARGET side (B,
domain Y: what it produces, kept in train_x/test_x so one-sided engines see it unchanged).

- paired sets: source i belongs to target i (pix2pix, SRGAN);
- unpaired sets: two domains of different images (CycleGAN).

Built in, derived from the bundled MNIST without randomness (the seed changes nothing):
`mnist-lowres` (average-pooled 14x14 or 7x7 -> 28x28, paired), `mnist-edges` (outline ->
digit, paired), `mnist-thin-thick` and `mnist-rotated` (unpaired: the even-indexed images
make the source domain, the odd-indexed ones the target domain, so no digit is in both).
From the user: `folder-pair`, a folder holding `A/` and `B/`, paired by file name or not.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np

from engines.params import param

from .builtin import _mnist_arrays
from .common import split, two_sided_dataset, user_path
from .dataset import DataError, Dataset, ScanReport, SkippedFile
from .folder import scan_folder

MNIST_CLASSES = [str(i) for i in range(10)]
EDGE_THRESHOLD = 128          # a pixel belongs to the digit from this grey level on
_PLUS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))                 # 3x3 plus
_SQUARE3 = tuple((i, j) for i in (-1, 0, 1) for j in (-1, 0, 1))   # 3x3 square
_SQUARE2 = ((0, 0), (0, 1), (1, 0), (1, 1))                        # 2x2 square


def _morph(x: np.ndarray, offsets, op, pad) -> np.ndarray:
    """Grey morphology of (N, C, H, W) over the last two axes, numpy only: `op` (np.maximum
    = dilation, np.minimum = erosion) of the image shifted by each (dy, dx) offset; outside
    the image counts as `pad`."""
    h, w = x.shape[-2:]
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=pad)
    out = None
    for dy, dx in offsets:
        v = p[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        out = v.copy() if out is None else op(out, v, out=out)
    return out


@dataclass
class MnistPairOptions:
    limit: int = param(0, "Use only the first N training images (0 = all 60000).", min=0)


@dataclass
class LowresOptions:
    limit: int = param(0, "Use only the first N training images (0 = all 60000).", min=0)
    factor: int = param(2, "Average-pooling factor of the low-resolution side: 2 gives "
                           "14x14, 4 gives 7x7 (the target stays 28x28).", choices=(2, 4))


def _mnist_splits(limit: int):
    """(train_x uint8 (N, 1, 28, 28), train_y, test_x, test_y) of MNIST, first `limit`."""
    a = _mnist_arrays()
    n = limit or len(a["x_train"])
    return (a["x_train"][:n, None].copy(), a["y_train"][:n].astype(np.int64),
            a["x_test"][:, None].copy(), a["y_test"].astype(np.int64))


def average_pool(x: np.ndarray, factor: int) -> np.ndarray:
    """uint8 (N, C, H, W) -> (N, C, H/f, W/f): the mean of each f x f block, rounded."""
    n, c, h, w = x.shape
    if h % factor or w % factor:
        raise DataError(f"data.factor: {h}x{w} images cannot be pooled by {factor}")
    blocks = x.reshape(n, c, h // factor, factor, w // factor, factor).astype(np.float32)
    return np.round(blocks.mean(axis=(3, 5))).astype(np.uint8)


def edge_map(x: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) -> its outline, 0 or 255: the pixels just outside the digit
    (binarised at EDGE_THRESHOLD, dilated by a 3x3 plus, minus the digit). A hollow contour,
    like the edge maps of pix2pix's edges2shoes; the translator has to fill it in."""
    digit = x >= EDGE_THRESHOLD
    outline = _morph(digit, _PLUS, np.maximum, False) & ~digit
    return (outline * np.uint8(255)).astype(np.uint8)


def thin(x: np.ndarray) -> np.ndarray:
    """Thinner strokes: grey erosion by a 2x2 square (each stroke loses about a pixel)."""
    return _morph(x, _SQUARE2, np.minimum, 0)


def thick(x: np.ndarray) -> np.ndarray:
    """Thicker strokes: grey dilation by a 3x3 square (a pixel on each side)."""
    return _morph(x, _SQUARE3, np.maximum, 0)


def rotate90(x: np.ndarray) -> np.ndarray:
    """A quarter turn counter-clockwise."""
    return np.ascontiguousarray(np.rot90(x, 1, axes=(2, 3)))


def load_mnist_lowres(options: LowresOptions, seed: int = 0) -> Dataset:
    tx, ty, vx, vy = _mnist_splits(options.limit)
    f = int(options.factor)
    s = 28 // f
    return two_sided_dataset("mnist-lowres", "paired", (f"low-res {s}x{s}", "28x28"),
                             (tx, ty, vx, vy),
                             (average_pool(tx, f), ty, average_pool(vx, f), vy), MNIST_CLASSES)


def load_mnist_edges(options: MnistPairOptions, seed: int = 0) -> Dataset:
    tx, ty, vx, vy = _mnist_splits(options.limit)
    return two_sided_dataset("mnist-edges", "paired", ("edges", "digits"), (tx, ty, vx, vy),
                             (edge_map(tx), ty, edge_map(vx), vy), MNIST_CLASSES)


def _unpaired_mnist(name: str, sides: tuple[str, str], to_source, to_target,
                    limit: int) -> Dataset:
    """Even-indexed images -> source domain, odd-indexed -> target domain (train and test
    alike), so the two domains never hold the same digit image."""
    tx, ty, vx, vy = _mnist_splits(limit)
    if len(tx) < 2:
        raise DataError(f"data.limit: the {name} domains need at least 2 training images "
                        "(one per domain)")
    source = (to_source(tx[0::2]), ty[0::2], to_source(vx[0::2]), vy[0::2])
    target = (to_target(tx[1::2]), ty[1::2], to_target(vx[1::2]), vy[1::2])
    return two_sided_dataset(name, "unpaired", sides, target, source, MNIST_CLASSES)


def load_mnist_thin_thick(options: MnistPairOptions, seed: int = 0) -> Dataset:
    return _unpaired_mnist("mnist-thin-thick", ("thin", "thick"), thin, thick, options.limit)


def load_mnist_rotated(options: MnistPairOptions, seed: int = 0) -> Dataset:
    return _unpaired_mnist("mnist-rotated", ("upright", "rotated"), lambda x: x, rotate90,
                           options.limit)


# --------------------------------------------------------------------- two folders A/ and B/

@dataclass
class FolderPairOptions:
    path: str = param("", "Folder holding two subfolders A/ (source) and B/ (target), each "
                          "searched recursively.")
    pairing: str = param("paired", "paired = A/x.png goes with B/x.png (matched by path "
                                   "without extension; pix2pix); unpaired = two domains "
                                   "(CycleGAN).", choices=("paired", "unpaired"))
    resolution: int = param(32, "Images are centre-cropped to a square and resized to this "
                                "many pixels.", min=4, max=512)
    channels: str = param("auto", "1 = grayscale, 3 = colour, auto = per side, 1 if every "
                                  "image of that side is grayscale.", choices=("auto", "1", "3"))
    test_fraction: float = param(0.1, "Fraction held out for evaluation (of the pairs, or "
                                      "of each domain).", min=0.0, max=0.9)


def _side_folder(root: Path, side: str) -> Path:
    for name in (side, side.lower()):
        if (root / name).is_dir():
            return root / name
    raise DataError(f"data.path: {root} has no {side}/ folder; put the source images in A/ "
                    "and the target images in B/")


def _match_key(rel: PurePath) -> str:
    return rel.with_suffix("").as_posix()


def scan_folder_pair(root: str | Path, resolution: int = 32, channels: str | int = "auto",
                     pairing: str = "paired"):
    """Scan root/A and root/B. Returns (side A, side B, report) with each side a tuple
    (images, labels, class_names, relative paths). Paired: both sides hold the matched
    pairs in the same order (by path without extension); an image without a partner and a
    second file of the same name are reported (`unmatched`, `duplicate_name`), never dropped
    silently. The report lists every skipped file as A/... or B/...; `loaded` counts the
    images kept (both sides)."""
    root = Path(root).expanduser()
    report = ScanReport()
    sides = []
    for side in ("A", "B"):
        folder = _side_folder(root, side)
        paths: list[PurePath] = []
        x, y, names, rep = scan_folder(folder, resolution, channels, loaded_paths=paths)
        report.skipped += [SkippedFile(f"{folder.name}/{f.path}", f.reason, f.kind)
                           for f in rep.skipped]
        sides.append([x, y, names, paths, folder.name])
    if pairing == "paired":
        keys = []
        for side, other in ((sides[0], sides[1]), (sides[1], sides[0])):
            first: dict[str, int] = {}
            for i, p in enumerate(side[3]):
                k = _match_key(p)
                if k in first:
                    report.skipped.append(SkippedFile(
                        f"{side[4]}/{p}", f"same name as {side[4]}/{side[3][first[k]]} "
                        "(pairs are matched by name without extension; this one is not used)",
                        "duplicate_name"))
                else:
                    first[k] = i
            keys.append(first)
        common = sorted(set(keys[0]) & set(keys[1]))
        for (side, other), mine, theirs in (((sides[0], sides[1]), keys[0], keys[1]),
                                            ((sides[1], sides[0]), keys[1], keys[0])):
            for k in sorted(set(mine) - set(theirs)):
                report.skipped.append(SkippedFile(
                    f"{side[4]}/{side[3][mine[k]]}",
                    f"no partner named {k}.* in {other[4]}/ (pairs are matched by name)",
                    "unmatched"))
        for side, mine in zip(sides, keys):
            idx = np.array([mine[k] for k in common], np.int64)
            side[0] = side[0][idx]
            side[1] = None if side[1] is None else side[1][idx]
            side[3] = [side[3][i] for i in idx]
    report.loaded = len(sides[0][0]) + len(sides[1][0])
    return tuple(sides[0][:4]), tuple(sides[1][:4]), report


def load_folder_pair(options: FolderPairOptions, seed: int = 0) -> Dataset:
    root = user_path(options.path, "path", "folder holding A/ and B/", folder=True)
    a, b, report = scan_folder_pair(root, options.resolution, options.channels, options.pairing)
    (ax, ay, anames, _), (bx, by, bnames, _) = a, b
    if not len(ax) or not len(bx):
        what = "no pair of images (matched by name)" if options.pairing == "paired" else \
            "no image in " + ("A/" if not len(ax) else "B/")
        raise DataError(f"data.path: {what} could be loaded from {root}\n"
                        + report.summary(limit=20), report=report)
    if options.pairing == "paired":
        ti, _, vi, _ = split(np.arange(len(bx)), None, options.test_fraction, seed, "data.path")
        target = (bx[ti], None if by is None else by[ti], bx[vi], None if by is None else by[vi])
        ys = (target[1], target[3])       # paired: the pair's label is the target's
        source = (ax[ti], ys[0], ax[vi], ys[1])
    else:
        target = split(bx, by, options.test_fraction, seed, "data.path (B/)")
        source = split(ax, ay, options.test_fraction, seed + 1, "data.path (A/)")
        if anames != bnames:              # labels mean something only with the same classes
            source = (source[0], None, source[2], None)
    return two_sided_dataset("folder-pair", options.pairing, ("A", "B"), target, source,
                             bnames, report=report)
