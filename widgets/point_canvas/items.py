"""The canvas's Qt pieces: cheap dot clouds (`_Dots`), mode numbers, legend swatches for the
layer checkboxes, a bare plot widget, and the colour mix the heatmap uses."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QFrame


MAX_MODE_NUMBERS = 30         # more mode centres than this are left unnumbered


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """(1 - t) a + t b."""
    return QColor(round(a.red() * (1 - t) + b.red() * t), round(a.green() * (1 - t) + b.green() * t),
                  round(a.blue() * (1 - t) + b.blue() * t))


def _swatch(kind: str, colour: QColor, second: Optional[QColor] = None, size: int = 14) -> QIcon:
    """A small legend icon for a layer checkbox."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour)
    pen.setWidthF(1.5)
    if kind == "dots":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        for x, y in ((4, 9), (9, 5), (10, 10)):
            p.drawEllipse(QPointF(x, y), 2.2, 2.2)
    elif kind == "field":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(second or colour)
        p.drawRect(QRectF(1, 2, size / 2 - 1, size - 4))
        p.setBrush(colour)
        p.drawRect(QRectF(size / 2, 2, size / 2 - 1, size - 4))
    elif kind == "arrow":
        p.setPen(pen)
        p.drawLine(QPointF(2, 11), QPointF(11, 3))
        p.drawLine(QPointF(11, 3), QPointF(6.5, 3.8))
        p.drawLine(QPointF(11, 3), QPointF(10.2, 7.5))
    elif kind == "grid":
        p.setPen(pen)
        path = QPainterPath()
        for k in (3, 7, 11):
            path.moveTo(1, k)
            path.cubicTo(5, k - 2, 9, k + 2, 13, k)
            path.moveTo(k, 1)
            path.cubicTo(k + 1.5, 5, k - 1.5, 9, k, 13)
        p.drawPath(path)
    else:                                          # ring
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(QPointF(size / 2, size / 2), size / 2 - 2, size / 2 - 2)
    p.end()
    return QIcon(pm)


class _Dots(pg.GraphicsObject):
    """Many same-looking dots, cheap to update: setData only stores the positions and paint
    stamps one pre-rendered dot per point (QPainter.drawPixmapFragments). ScatterPlotItem
    rebuilds per-point style records on every setData (~4 ms for 2,500 points)."""

    def __init__(self, size: float = 5.0, colour: QColor = QColor(0, 0, 0)):
        super().__init__()
        self._xy = np.zeros((0, 2), np.float64)
        self._size = float(size)
        self._colour = QColor(colour)
        self._pixmap: Optional[QPixmap] = None
        self._bounds = QRectF()
        self._frags = internals.PrimitiveArray(QPainter.PixmapFragment, 10)

    def setData(self, pos: Optional[np.ndarray] = None) -> None:  # noqa: N802 - pyqtgraph style
        xy = np.zeros((0, 2)) if pos is None else np.asarray(pos, np.float64).reshape(-1, 2)
        xy = xy[np.isfinite(xy).all(axis=1)]
        self.prepareGeometryChange()
        self._xy = xy
        if len(xy):
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            self._bounds = QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
        else:
            self._bounds = QRectF()
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 - pyqtgraph style
        return self._xy[:, 0], self._xy[:, 1]

    def setStyle(self, colour: QColor, size: Optional[float] = None) -> None:  # noqa: N802
        self._colour = QColor(colour)
        if size is not None:
            self._size = float(size)
        self._pixmap = None
        self.update()

    def colour(self) -> QColor:
        return QColor(self._colour)

    def _dot(self, dpr: float) -> QPixmap:
        if self._pixmap is None or self._pixmap.devicePixelRatio() != dpr:
            side = max(1, math.ceil((self._size + 2) * dpr))
            pm = QPixmap(side, side)
            pm.fill(Qt.GlobalColor.transparent)
            p = QPainter(pm)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self._colour)
            p.drawEllipse(QPointF(side / 2, side / 2), self._size * dpr / 2, self._size * dpr / 2)
            p.end()
            pm.setDevicePixelRatio(dpr)
            self._pixmap = pm
        return self._pixmap

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        if self._bounds.isNull() and not len(self._xy):
            return QRectF()
        px, py = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
        r = self._bounds
        pad_x, pad_y = px * (self._size + 2), py * (self._size + 2)
        return QRectF(r.x() - pad_x, r.y() - pad_y, r.width() + 2 * pad_x, r.height() + 2 * pad_y)

    def paint(self, p: QPainter, *_args) -> None:
        if not len(self._xy):
            return
        dpr = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        pm = self._dot(dpr)
        t = p.transform()
        x = self._xy[:, 0] * t.m11() + self._xy[:, 1] * t.m21() + t.m31()
        y = self._xy[:, 0] * t.m12() + self._xy[:, 1] * t.m22() + t.m32()
        side = pm.width()
        self._frags.resize(len(x))
        f = self._frags.ndarray()
        f[:, 0] = x
        f[:, 1] = y
        f[:, 2:6] = (0, 0, side, side)
        f[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
        p.save()
        p.resetTransform()
        p.drawPixmapFragments(*self._frags.drawargs(), pm)
        p.restore()


class _ModeNumbers(pg.ItemGroup):
    """The index of each mode beside its centre (mode k is the data's class k), so a coverage
    bar can be found on the canvas. Nothing is drawn for more than MAX_MODE_NUMBERS modes."""

    def __init__(self) -> None:
        super().__init__()
        self._labels: list[pg.TextItem] = []
        self._colour = QColor(0, 0, 0)
        self._font = None

    def setData(self, x: Sequence[float], y: Sequence[float], offset: float = 0.0) -> None:  # noqa: N802
        for item in self._labels:
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self._labels = []
        if len(x) > MAX_MODE_NUMBERS:
            return
        for k, (cx, cy) in enumerate(zip(x, y)):
            t = pg.TextItem(str(k), color=self._colour, anchor=(-0.1, 1.0))
            if self._font is not None:
                t.setFont(self._font)
            t.setParentItem(self)
            t.setPos(float(cx) + offset, float(cy) + offset)
            self._labels.append(t)

    def setStyle(self, colour: QColor, font) -> None:  # noqa: N802 - pyqtgraph style
        self._colour, self._font = QColor(colour), font
        for t in self._labels:
            t.setColor(self._colour)
            t.setFont(font)

    def texts(self) -> list[str]:
        return [t.toPlainText() for t in self._labels]


def _styled_plot(name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setObjectName(name)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setFrameShape(QFrame.Shape.NoFrame)
    return plot

