"""Rows of tiles (the flow view's TileRows: a label per row, captions under the tiles, one
scale for all) that say which tile was clicked and where in it; and a column of a few
images scaled to fill their room (the drawing's outputs)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..flow_view.tiles import TileRow, TileRows
from ..kit import muted, small_font, to_uint8
from ..thumbnails import to_qimage

__all__ = ["ClickableTiles", "ScaledImages", "TileRow"]


class ClickableTiles(TileRows):
    tile_clicked = Signal(int, int, float, float)     # row, column, x and y as fractions

    def __init__(self, name: str, parent=None):
        super().__init__(name, parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def tile_at(self, x: float, y: float):
        for ri, r in enumerate(self.rows()):
            for i in range(len(r.qimages)):
                rect = self.tile_rect(ri, i)
                if rect.contains(x, y):
                    return ri, i, (x - rect.left()) / rect.width(), (y - rect.top()) / rect.height()
        return None

    def mousePressEvent(self, e) -> None:  # noqa: N802 - Qt override
        hit = self.tile_at(e.position().x(), e.position().y())
        if hit is not None and e.button() == Qt.MouseButton.LeftButton:
            self.tile_clicked.emit(*hit)
        super().mousePressEvent(e)


class ScaledImages(QWidget):
    """A few images in a column, each with its caption under it, all drawn at the largest
    whole-number scale that fits the widget (nearest neighbour): the drawing's outputs, as
    large as the canvas beside them."""

    GAP = 6

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self._items: list[tuple[np.ndarray, str]] = []
        self._qimages: list = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(96, 96)

    def set_images(self, items) -> None:
        """[(image (C, H, W) or (H, W) in [0, 1], caption), ...]."""
        self._items = [(np.asarray(im), str(cap)) for im, cap in items]
        self._qimages = [to_qimage(to_uint8(im)) for im, _ in self._items]
        self.update()

    def items(self) -> list[tuple[np.ndarray, str]]:
        return list(self._items)

    def layout_grid(self) -> tuple[int, int]:
        """(columns, scale): the grid of the images that draws them largest."""
        if not self._qimages:
            return 1, 1
        n = len(self._qimages)
        caption = self.fontMetrics().height() + 2
        h = max(q.height() for q in self._qimages)
        w = max(q.width() for q in self._qimages)
        best = (1, 0.0)
        for cols in range(1, n + 1):
            rows = -(-n // cols)
            s = min((self.width() - (cols - 1) * self.GAP) / (cols * w),
                    (self.height() - rows * (caption + self.GAP)) / (rows * h))
            if s > best[1]:
                best = (cols, s)
        return best[0], max(1, int(best[1]))

    def scale(self) -> int:
        return self.layout_grid()[1]

    def paintEvent(self, _e) -> None:  # noqa: N802 - Qt override
        if not self._qimages:
            return
        p = QPainter(self)
        pal = self.palette()
        fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        cols, s = self.layout_grid()
        caption = self.fontMetrics().height() + 2
        h = max(q.height() for q in self._qimages) * s
        w = max(q.width() for q in self._qimages) * s
        left = (self.width() - cols * w - (cols - 1) * self.GAP) / 2.0
        for k, (q, (_, cap)) in enumerate(zip(self._qimages, self._items)):
            r, c = divmod(k, cols)
            rect = QRectF(left + c * (w + self.GAP), r * (h + caption + self.GAP), w, h)
            p.drawImage(rect, q)
            p.setPen(muted(fg, bg, 0.3))
            p.setFont(small_font(self.font()))
            p.drawText(QRectF(rect.left() - self.GAP, rect.bottom() + 1, w + 2 * self.GAP, caption),
                       int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), cap)
        p.end()
