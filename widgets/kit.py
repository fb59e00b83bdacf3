"""Small pieces several panels share: a growing numpy buffer, a wheel guard for editors in
scrolled lists, a pyqtgraph image view, and a mixin that re-applies a panel's colours when
the palette changes. Torch-free like the rest of widgets/."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QWidget

__all__ = ["tile", "Growing", "WheelGuard", "image_view", "PaletteAware", "muted", "mute_label"]


def tile(images: np.ndarray, cols: int, pad: int, pad_value: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) uint8 picture,
    images row by row, `pad` pixels of `pad_value` around and between them (vectorised)."""
    n, h, w, c = images.shape
    rows = max(1, -(-n // cols))
    cells = np.full((rows * cols, h + pad, w + pad, c), pad_value, np.uint8)
    cells[:n, pad:, pad:] = images
    body = cells.reshape(rows, cols, h + pad, w + pad, c).transpose(0, 2, 1, 3, 4)
    body = body.reshape(rows * (h + pad), cols * (w + pad), c)
    grid = np.full((body.shape[0] + pad, body.shape[1] + pad, c), pad_value, np.uint8)
    grid[:body.shape[0], :body.shape[1]] = body
    return grid


class Growing:
    """A preallocated float buffer that doubles its capacity when full: 1-D values when
    `width` is None, else rows of `width` columns."""
    __slots__ = ("data", "n")

    def __init__(self, width: Optional[int] = None, capacity: int = 256, dtype=np.float64):
        self.data = np.empty(capacity if width is None else (capacity, width), dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values, self.data.dtype).reshape((-1,) + self.data.shape[1:])
        need = self.n + len(values)
        if need > len(self.data):
            cap = len(self.data)
            while cap < need:
                cap *= 2
            grown = np.empty((cap,) + self.data.shape[1:], self.data.dtype)
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:need] = values
        self.n = need

    def replace(self, values: np.ndarray) -> None:
        self.n = 0
        self.extend(values)

    def clear(self) -> None:
        self.n = 0

    def view(self) -> np.ndarray:
        return self.data[:self.n]


class WheelGuard(QObject):
    """Install on spin/combo boxes and sliders: unfocused ones ignore the wheel, so scrolling
    the list they sit in does not change values under the mouse."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()
            return True
        return False


def image_view(name: str, parent: Optional[QWidget] = None, background=None
               ) -> tuple[pg.GraphicsView, pg.ViewBox, pg.ImageItem]:
    """A frameless GraphicsView showing one row-major ImageItem in an aspect-locked,
    y-down ViewBox without padding, mouse or menu."""
    view = pg.GraphicsView(parent, background=background) if background is not None \
        else pg.GraphicsView(parent)
    view.setObjectName(name)
    view.setFrameShape(QFrame.Shape.NoFrame)
    vb = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False,
                    defaultPadding=0.0)
    view.setCentralItem(vb)
    item = pg.ImageItem(axisOrder="row-major")
    item.setAutoDownsample(False)
    vb.addItem(item)
    return view, vb, item


class PaletteAware:
    """Mixin for a QWidget panel with an `apply_palette()` method: it is called again when
    the widget's or the application's palette changes. List it before the Qt base class."""

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.apply_palette()


def muted(fg: QColor, bg: QColor, amount: float = 0.45) -> QColor:
    """`fg` blended towards `bg` by `amount` (channels truncated to ints)."""
    return QColor(int(fg.red() * (1 - amount) + bg.red() * amount),
                  int(fg.green() * (1 - amount) + bg.green() * amount),
                  int(fg.blue() * (1 - amount) + bg.blue() * amount))


def mute_label(label: QLabel) -> None:
    """Secondary text: the label's text colour blended 40% towards its background (any theme)."""
    pal = label.palette()
    fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    pal.setColor(QPalette.ColorRole.WindowText, muted(fg, bg, 0.4))
    label.setPalette(pal)
