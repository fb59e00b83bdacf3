"""DrawingCanvas: a small grey image (the translator's input size, e.g. 28x28) drawn with
the mouse, shown enlarged (nearest neighbour, a faint pixel grid). The pen paints white
(1.0), the eraser black (0.0), with a hard round brush `size` source pixels wide; a drag
paints the segments between mouse positions, so a fast stroke has no gaps. Emits `changed(image)` (float32 (H, W) in [0, 1], a copy) after every stroke segment."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..kit import muted, to_uint8
from ..thumbnails import to_qimage

TOOLS = ("pen", "eraser")


def stamp(image: np.ndarray, cx: float, cy: float, size: float, value: float) -> None:
    """Paint a hard round brush of diameter `size` (pixels) centred at (cx, cy) (pixel units,
    the centre of pixel (i, j) at (j + 0.5, i + 0.5)) into `image` in place: every pixel whose
    centre lies within size / 2 + 0.2 of the point, and the pixel under the point, is set to
    `value` (crisp strokes like the data's edge maps; size 1 paints single pixels)."""
    h, w = image.shape
    r = max(0.5, size / 2.0) + 0.2
    y0, y1 = max(0, int(cy - r - 1)), min(h, int(cy + r + 2))
    x0, x1 = max(0, int(cx - r - 1)), min(w, int(cx + r + 2))
    if y0 < y1 and x0 < x1:
        yy, xx = np.mgrid[y0:y1, x0:x1]
        inside = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy) <= r
        image[y0:y1, x0:x1][inside] = value
    i, j = int(np.floor(cy)), int(np.floor(cx))
    if 0 <= i < h and 0 <= j < w:
        image[i, j] = value


def stroke(image: np.ndarray, a: tuple[float, float], b: tuple[float, float], size: float,
           value: float) -> None:
    """Stamps every half pixel from a to b (pixel units)."""
    n = max(1, int(math.ceil(math.hypot(b[0] - a[0], b[1] - a[1]) * 2)))
    for t in np.linspace(0.0, 1.0, n + 1):
        stamp(image, a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, size, value)


class DrawingCanvas(QWidget):
    changed = Signal(object)          # float32 (H, W) in [0, 1]

    def __init__(self, height: int = 28, width: int = 28, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("translationDrawingCanvas")
        self._image = np.zeros((int(height), int(width)), np.float32)
        self._tool = "pen"
        self._size = 2.0
        self._last: Optional[tuple[float, float]] = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(112, 112)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw with the left mouse button (pen or eraser); the translation "
                        "follows every stroke and every new snapshot of the training run.")

    # -- state ----------------------------------------------------------------------------------
    def image(self) -> np.ndarray:
        return self._image.copy()

    def set_image(self, image: np.ndarray, emit: bool = True) -> None:
        """A new picture (H, W) or (C, H, W) (the channels' mean) in [0, 1]; its size becomes
        the canvas's."""
        a = np.asarray(image, np.float32)
        if a.ndim == 3:
            a = a.mean(0)
        self._image = np.clip(np.nan_to_num(a), 0.0, 1.0).astype(np.float32).copy()
        self.update()
        if emit:
            self.changed.emit(self.image())

    def set_shape(self, height: int, width: int) -> None:
        """Another input size: a blank canvas of it (nothing emitted)."""
        if self._image.shape != (int(height), int(width)):
            self._image = np.zeros((int(height), int(width)), np.float32)
            self.update()

    def clear(self) -> None:
        self._image[:] = 0.0
        self.update()
        self.changed.emit(self.image())

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool {tool!r}: choose one of {TOOLS}")
        self._tool = tool

    def tool(self) -> str:
        return self._tool

    def set_brush_size(self, size: float) -> None:
        self._size = float(size)

    def brush_size(self) -> float:
        return self._size

    # -- geometry -------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is drawn: the largest whole multiple of its size that fits, at the
        top, centred across."""
        h, w = self._image.shape
        s = max(1, int(min((self.width() - 2) / w, (self.height() - 2) / h)))
        return QRectF(round((self.width() - w * s) / 2.0), 1.0, w * s, h * s)

    def to_pixels(self, pos: QPointF) -> tuple[float, float]:
        r = self.image_rect()
        h, w = self._image.shape
        return ((pos.x() - r.left()) / r.width() * w, (pos.y() - r.top()) / r.height() * h)

    def widget_point(self, x: float, y: float) -> QPointF:
        """The widget position of image position (x, y) in pixel units (for tests and demos)."""
        r = self.image_rect()
        h, w = self._image.shape
        return QPointF(r.left() + x / w * r.width(), r.top() + y / h * r.height())

    # -- mouse ----------------------------------------------------------------------------------
    def _value(self, buttons) -> float:
        eraser = self._tool == "eraser" or bool(buttons & Qt.MouseButton.RightButton)
        return 0.0 if eraser else 1.0

    def mousePressEvent(self, e) -> None:  # noqa: N802 - Qt override
        if e.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        p = self.to_pixels(e.position())
        self._last = p
        stroke(self._image, p, p, self._size, self._value(e.buttons() | e.button()))
        self.update()
        self.changed.emit(self.image())

    def mouseMoveEvent(self, e) -> None:  # noqa: N802 - Qt override
        if self._last is None or not (e.buttons() & (Qt.MouseButton.LeftButton
                                                    | Qt.MouseButton.RightButton)):
            return
        p = self.to_pixels(e.position())
        stroke(self._image, self._last, p, self._size, self._value(e.buttons()))
        self._last = p
        self.update()
        self.changed.emit(self.image())

    def mouseReleaseEvent(self, _e) -> None:  # noqa: N802 - Qt override
        self._last = None

    # -- paint ----------------------------------------------------------------------------------
    def paintEvent(self, _e) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        pal = self.palette()
        r = self.image_rect()
        p.drawImage(r, to_qimage(to_uint8(self._image)))
        h, w = self._image.shape
        if r.width() / w >= 6:                            # a faint pixel grid
            grid = QColor(128, 128, 128, 40)
            p.setPen(QPen(grid, 1))
            for i in range(1, w):
                x = r.left() + i * r.width() / w
                p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            for j in range(1, h):
                y = r.top() + j * r.height() / h
                p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
        fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        p.setPen(QPen(muted(fg, bg, 0.5), 1))
        p.drawRect(r.adjusted(-0.5, -0.5, 0.5, 0.5))
        p.end()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        h, w = self._image.shape
        s = max(4, 280 // max(h, w))
        return QSize(w * s, h * s)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        h, w = self._image.shape
        return int(width * h / max(w, 1))
