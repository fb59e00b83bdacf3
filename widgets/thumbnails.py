"""A virtualised thumbnail model over a uint8 image array (no copies, lazy pixmaps).

`ThumbnailModel` presents `images[indices]` as rows of a list model. Thumbnails are built
only when a view asks for `DecorationRole` of a row (i.e. when the row is painted), and the
last `cache_size` of them are kept in an LRU cache keyed by the index into the full array,
so scrolling back and forth or swapping the class filter does not rebuild them.
Filtering swaps the `indices` array; the image array itself is never copied.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional, Sequence

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QImage, QPixmap

#: Role that returns the index into the full training array (int).
SourceIndexRole = Qt.ItemDataRole.UserRole + 1
#: Role that returns the class label (int, or -1 without labels).
LabelRole = Qt.ItemDataRole.UserRole + 2

THUMB_TARGET = 64   # thumbnails are at most this many pixels on their long side


def thumbnail_scale(height: int, width: int, target: int = THUMB_TARGET) -> tuple[int, int]:
    """(integer upscale factor, thumbnail side) for an image of height x width.

    Small images are upscaled by a whole factor with nearest neighbour, so pixels stay crisp
    (28 -> 56, 32 -> 64, 8 -> 64); images larger than `target` are scaled down to it.
    """
    side = max(int(height), int(width), 1)
    if side >= target:
        return 1, target
    k = max(1, target // side)
    return k, side * k


def to_qimage(image: np.ndarray, scale: int = 1) -> QImage:
    """A QImage (owning its memory) of one uint8 image, (C, H, W) or (H, W).

    C = 1 -> grayscale, 3 -> RGB, 4 -> RGBA, anything else -> the first channel as gray.
    `scale` > 1 repeats pixels (nearest-neighbour upscaling).
    """
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[None]
    c = a.shape[0]
    if c == 3:
        hwc, fmt = a.transpose(1, 2, 0), QImage.Format.Format_RGB888
    elif c == 4:
        hwc, fmt = a.transpose(1, 2, 0), QImage.Format.Format_RGBA8888
    else:
        hwc, fmt = a[0], QImage.Format.Format_Grayscale8
    if scale > 1:
        hwc = np.repeat(np.repeat(hwc, scale, axis=0), scale, axis=1)
    hwc = np.ascontiguousarray(hwc)
    h, w = hwc.shape[:2]
    qimg = QImage(hwc.data, w, h, hwc.strides[0], fmt)
    return qimg.copy()   # detach from the numpy buffer


class ThumbnailModel(QAbstractListModel):
    """Rows are `images[indices]`; thumbnails are built lazily and cached (LRU)."""

    def __init__(self, parent=None, cache_size: int = 1024):
        super().__init__(parent)
        self._images: Optional[np.ndarray] = None
        self._labels: Optional[np.ndarray] = None
        self._class_names: Sequence[str] = ()
        self._indices = np.zeros(0, dtype=np.int64)
        self._cache: "OrderedDict[int, QPixmap]" = OrderedDict()
        self._cache_size = int(cache_size)
        self._scale, self._side = 1, THUMB_TARGET
        self.build_count = 0     # thumbnails built so far (tests check laziness with it)

    # -- data --------------------------------------------------------------------------
    def set_images(self, images: Optional[np.ndarray], labels: Optional[np.ndarray] = None,
                   class_names: Sequence[str] = ()) -> None:
        """Show `images` (uint8 N,C,H,W; not copied), all of them, clearing the cache."""
        self.beginResetModel()
        self._images = images
        self._labels = labels
        self._class_names = tuple(class_names)
        self._cache.clear()
        if images is None or len(images) == 0:
            self._indices = np.zeros(0, dtype=np.int64)
            self._scale, self._side = 1, THUMB_TARGET
        else:
            self._indices = np.arange(len(images), dtype=np.int64)
            self._scale, self._side = thumbnail_scale(images.shape[-2], images.shape[-1])
        self.endResetModel()

    def set_indices(self, indices: Optional[np.ndarray]) -> None:
        """Show only `images[indices]` (None = all). The cache is kept (keyed by index)."""
        n = 0 if self._images is None else len(self._images)
        if indices is None:
            idx = np.arange(n, dtype=np.int64)
        else:
            idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.beginResetModel()
        self._indices = idx
        self.endResetModel()

    def indices(self) -> np.ndarray:
        """The indices into the full array, in row order (a read-only view)."""
        v = self._indices.view()
        v.flags.writeable = False
        return v

    def source_index(self, row: int) -> int:
        return int(self._indices[row])

    def thumbnail_size(self) -> QSize:
        if self._images is None or len(self._images) == 0:
            return QSize(THUMB_TARGET, THUMB_TARGET)
        h, w = self._images.shape[-2], self._images.shape[-1]
        if self._scale > 1 or max(h, w) == self._side:
            return QSize(w * self._scale, h * self._scale)
        f = self._side / max(h, w)
        return QSize(max(1, round(w * f)), max(1, round(h * f)))

    def class_name(self, label: int) -> str:
        if 0 <= label < len(self._class_names):
            return str(self._class_names[label])
        return str(label)

    # -- thumbnails --------------------------------------------------------------------
    def thumbnail(self, source_index: int) -> QPixmap:
        pm = self._cache.get(source_index)
        if pm is not None:
            self._cache.move_to_end(source_index)
            return pm
        img = to_qimage(self._images[source_index], self._scale)
        if self._scale == 1 and max(img.width(), img.height()) > self._side:
            img = img.scaled(self._side, self._side, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        pm = QPixmap.fromImage(img)
        self.build_count += 1
        self._cache[source_index] = pm
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return pm

    def cache_len(self) -> int:
        return len(self._cache)

    # -- QAbstractListModel ------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return len(self._indices)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._images is None:
            return None
        row = index.row()
        if row < 0 or row >= len(self._indices):
            return None
        i = int(self._indices[row])
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnail(i)
        if role == Qt.ItemDataRole.ToolTipRole:
            if self._labels is not None:
                return f"Class {self.class_name(int(self._labels[i]))}  (image #{i})"
            return f"Image #{i}"
        if role == Qt.ItemDataRole.SizeHintRole:
            return self.thumbnail_size()
        if role == SourceIndexRole:
            return i
        if role == LabelRole:
            return -1 if self._labels is None else int(self._labels[i])
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
