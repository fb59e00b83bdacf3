"""The data browser's own widgets: the per-class counts bar (click to filter), the
thumbnail grid view, class colours and the shared muted style."""
from __future__ import annotations

from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QAbstractItemView, QFrame, QListView, QSizePolicy, QToolTip, QWidget


CANVAS_BG = "#202124"           # thumbnail grid and scatter background
MUTED_STYLE = "color: palette(placeholder-text);"

# tab10: readable on a dark canvas, and the usual colours for class labels
_TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def class_color(label: int, n_classes: int) -> QColor:
    if n_classes <= len(_TAB10):
        return QColor(_TAB10[label % len(_TAB10)])
    return pg.intColor(label, hues=max(n_classes, 1))


class ClassCountsBar(QWidget):
    """A compact bar chart of per-class counts; click a bar to filter by that class."""

    class_clicked = Signal(int)     # class label, -1 = all

    def __init__(self, parent=None):
        super().__init__(parent)
        self._labels: list[int] = []
        self._names: list[str] = []
        self._counts: list[int] = []
        self._n_classes = 0
        self._selected = -1
        self.setMouseTracking(True)
        self.setMinimumHeight(36)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:
        return QSize(200, 44)

    def set_counts(self, labels: Sequence[int], names: Sequence[str],
                   counts: Sequence[int], n_classes: int) -> None:
        self._labels, self._names = list(labels), list(names)
        self._counts, self._n_classes = [int(c) for c in counts], int(n_classes)
        self._selected = -1
        self.update()

    def set_selected(self, label: int) -> None:
        self._selected = label
        self.update()

    def counts(self) -> dict[int, int]:
        return dict(zip(self._labels, self._counts))

    def _bar_rects(self) -> list[QRectF]:
        n = len(self._counts)
        if n == 0:
            return []
        w = self.width() / n
        return [QRectF(i * w, 0, w, self.height()) for i in range(n)]

    def _show_names(self) -> bool:
        if not self._names:
            return False
        fm = self.fontMetrics()
        widest = max(fm.horizontalAdvance(s) for s in self._names)
        return widest + 2 <= self.width() / max(len(self._names), 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._counts:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        fm = self.fontMetrics()
        names = self._show_names()
        text_h = fm.height() if names else 0
        top, bottom = 2, self.height() - text_h - 1
        avail = max(bottom - top, 1)
        biggest = max(max(self._counts), 1)
        text_color = self.palette().color(self.foregroundRole())
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.8))
        sfm = QFontMetrics(small)
        bar_w = self.width() / len(self._counts)
        counts_fit = (sfm.horizontalAdvance(str(max(self._counts))) + 4 <= bar_w
                      and avail * min(self._counts) / biggest >= sfm.height())
        for i, r in enumerate(self._bar_rects()):
            label, count = self._labels[i], self._counts[i]
            col = QColor(class_color(label, self._n_classes))
            if self._selected >= 0 and label != self._selected:
                col.setAlpha(70)
            h = max(1.0, avail * count / biggest)
            pad = min(3.0, r.width() * 0.15)
            bar = QRectF(r.left() + pad, bottom - h, max(r.width() - 2 * pad, 1), h)
            p.fillRect(bar, col)
            if counts_fit:
                p.setFont(small)
                if col.alpha() < 255:
                    p.setPen(text_color)
                else:
                    p.setPen(QColor("black") if col.lightnessF() > 0.6 else QColor("white"))
                p.drawText(bar, Qt.AlignmentFlag.AlignCenter, f"{count}")
                p.setFont(self.font())
            if names:
                p.setPen(text_color)
                p.drawText(QRectF(r.left(), bottom, r.width(), text_h),
                           Qt.AlignmentFlag.AlignCenter, self._names[i])
        p.end()

    def _bar_at(self, pos: QPoint) -> int:
        n = len(self._counts)
        if n == 0 or self.width() <= 0:
            return -1
        i = int(pos.x() * n / self.width())
        return i if 0 <= i < n else -1

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        i = self._bar_at(event.position().toPoint())
        if i >= 0:
            QToolTip.showText(event.globalPosition().toPoint(),
                              f"{self._names[i]}: {self._counts[i]:,}", self)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        i = self._bar_at(event.position().toPoint())
        if i >= 0 and event.button() == Qt.MouseButton.LeftButton:
            label = self._labels[i]
            self.class_clicked.emit(-1 if label == self._selected else label)
        super().mousePressEvent(event)


class ThumbnailView(QListView):
    """Icon-mode grid, tuned for a huge uniform model. Enter picks like a double-click."""

    pick_requested = Signal(object)   # QModelIndex

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(4000)
        self.setSpacing(0)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setAcceptDrops(False)          # drops go to the panel
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setStyleSheet(f"QListView {{ background: {CANVAS_BG}; }}")
        self.set_thumbnail_size(QSize(56, 56))

    def set_thumbnail_size(self, size: QSize) -> None:
        self.setIconSize(size)
        self.setGridSize(QSize(size.width() + 6, size.height() + 6))
        self.verticalScrollBar().setSingleStep(max(8, size.height() // 2))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.pick_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

