"""What a dropped or opened file is (no Qt): a folder of images, a .npz, or MNIST-style IDX
files with their labels and test split found next to them."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional


DROP_HINT = "Drop a folder of images, an IDX file or a .npz file"

_IDX_RE = re.compile(r"(-ubyte|\.idx\d*|\.idx\d*-ubyte)$", re.IGNORECASE)


def is_idx_name(path: str | os.PathLike) -> bool:
    """True for MNIST-style IDX names: *-ubyte, *.idx, *.idx3-ubyte, and any *.gz."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        return True
    return bool(_IDX_RE.search(name))


def _swap_images_for_labels(name: str) -> Optional[str]:
    """train-images-idx3-ubyte -> train-labels-idx1-ubyte (None if no 'images' in name)."""
    if not re.search("images", name, re.IGNORECASE):
        return None
    out = re.sub("images", "labels", name, flags=re.IGNORECASE)
    out = re.sub(r"idx3", "idx1", out, flags=re.IGNORECASE)
    return out


def _existing_sibling(path: Path, name: str) -> Optional[str]:
    """`name` next to `path`, also tried with and without .gz; None if none exists."""
    candidates = [name]
    candidates.append(name[:-3] if name.lower().endswith(".gz") else name + ".gz")
    for cand in candidates:
        p = path.with_name(cand)
        if p != path and p.is_file():
            return str(p)
    return None


def idx_labels_sibling(images: str | os.PathLike) -> Optional[str]:
    """The MNIST-convention labels file next to an IDX images file, if it exists."""
    p = Path(images)
    name = _swap_images_for_labels(p.name)
    return None if name is None else _existing_sibling(p, name)


def idx_request(images: str, labels: Optional[str] = None) -> dict:
    """Options for the "idx" source from an images file (labels and test split found next
    to it with MNIST's naming: train-images-idx3-ubyte -> train-labels-idx1-ubyte, and
    t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte for the test split)."""
    opts: dict[str, Any] = {"images": str(images)}
    labels = labels or idx_labels_sibling(images)
    if labels:
        opts["labels"] = str(labels)
    p = Path(images)
    if p.name.lower().startswith("train-"):
        test_images = _existing_sibling(p, "t10k-" + p.name[len("train-"):])
        if test_images:
            test_labels = idx_labels_sibling(test_images)
            if test_labels or not labels:
                opts["test_images"] = test_images
                if test_labels and labels:
                    opts["test_labels"] = test_labels
    return opts


def request_for_paths(paths: Iterable[str | os.PathLike]) -> Optional[tuple[str, dict]]:
    """(source, options) for dropped/opened paths, or None if none is usable.

    A folder -> "folder"; a .npz -> "npz"; IDX files -> "idx" (when an images and a labels
    file are dropped together both are used, else the labels are looked up next to it).
    """
    paths = [Path(p) for p in paths if str(p)]
    for p in paths:
        if p.is_dir():
            return "folder", {"path": str(p)}
    for p in paths:
        if p.suffix.lower() == ".npz":
            return "npz", {"path": str(p)}
    idx = [p for p in paths if is_idx_name(p)]
    if idx:
        label_files = [p for p in idx if "labels" in p.name.lower()]
        image_files = [p for p in idx if p not in label_files]
        if not image_files:          # only a labels file: its images are the sibling
            return None
        images = next((p for p in image_files if "images" in p.name.lower()), image_files[0])
        return "idx", idx_request(str(images), str(label_files[0]) if label_files else None)
    return None

