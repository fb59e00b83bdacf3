"""TileRows: rows of small images, each row with a label on the left and optional captions
under its tiles, all scaled by one factor (nearest neighbour) to fill the widget. Rows may
hold images of different sizes (a flow's coarser levels are drawn smaller, as they are)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..kit import muted, small_font, to_uint8
from ..thumbnails import to_qimage

GAP = 3.0
MAX_SCALE = 6.0


@dataclass
class TileRow:
    label: str
    images: Sequence[np.ndarray]                 # each (C, H, W) or (H, W), uint8 or [0, 1] float
    captions: Optional[Sequence[str]] = None
    tip: str = ""
    qimages: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.qimages = [to_qimage(im if np.asarray(im).dtype == np.uint8 else to_uint8(im))
                        for im in self.images]

    def size(self) -> tuple[int, int]:
        if not self.qimages:
            return 1, 1
        return self.qimages[0].height(), self.qimages[0].width()


class TileRows(QWidget):
    def __init__(self, name: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(name)
        self._rows: list[TileRow] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_rows(self, rows: Sequence[TileRow]) -> None:
        self._rows = list(rows)
        self.updateGeometry()
        self.update()

    def rows(self) -> list[TileRow]:
        return list(self._rows)

    # -- geometry -------------------------------------------------------------------------------
    def _label_width(self) -> int:
        fm = self.fontMetrics()
        return max((fm.horizontalAdvance(r.label) for r in self._rows), default=0) + 10

    def _caption_height(self, row: TileRow) -> float:
        if not row.captions:
            return 0.0
        return float(self._small_metrics_height() + 1)

    def _small_metrics_height(self) -> int:
        from PySide6.QtGui import QFontMetrics
        return QFontMetrics(small_font(self.font())).height()

    def _width_scale(self, width: int) -> float:
        left = self._label_width()
        s = MAX_SCALE
        for r in self._rows:
            h, w = r.size()
            n = max(1, len(r.qimages))
            s = min(s, (width - left - GAP * n) / (n * w))
        return s

    def scale(self) -> float:
        """The one factor every tile is drawn at: the largest that fits, in quarter steps."""
        if not self._rows:
            return 1.0
        s = self._width_scale(self.width())
        fixed = sum(self._caption_height(r) + GAP for r in self._rows)
        total_h = sum(r.size()[0] for r in self._rows)
        s = min(s, (self.height() - fixed) / max(total_h, 1))
        return max(0.5, math.floor(s * 4) / 4)

    def height_for(self, width: int) -> int:
        """The height the rows need at `width` when the width alone limits the scale: more
        would stay empty below them."""
        if not self._rows:
            return 0
        s = max(0.5, math.floor(self._width_scale(width) * 4) / 4)
        return int(math.ceil(sum(r.size()[0] * s + self._caption_height(r) + GAP
                                 for r in self._rows)))

    def tile_rect(self, row: int, i: int) -> QRectF:
        s = self.scale()
        y = 0.0
        for r in self._rows[:row]:
            y += r.size()[0] * s + self._caption_height(r) + GAP
        h, w = self._rows[row].size()
        x = self._label_width() + i * (w * s + GAP)
        return QRectF(x, y, w * s, h * s)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(420, 220)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(160, 60)

    # -- paint ---------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        if not self._rows:
            return
        p = QPainter(self)
        pal = self.palette()
        fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        small = small_font(self.font())
        s = self.scale()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 1)
        for ri, r in enumerate(self._rows):
            first = self.tile_rect(ri, 0)
            p.setPen(fg)
            p.setFont(self.font())
            p.drawText(QRectF(0, first.top(), self._label_width() - 6, first.height()),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), r.label)
            for i, img in enumerate(r.qimages):
                rect = self.tile_rect(ri, i)
                p.drawImage(rect, img)
                if r.captions and i < len(r.captions):
                    p.setPen(muted(fg, bg, 0.3))
                    p.setFont(small)
                    cap = QRectF(rect.left() - GAP, rect.bottom(), rect.width() + 2 * GAP,
                                 self._caption_height(r))
                    p.drawText(cap, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop),
                               r.captions[i])
        p.end()

    def event(self, e) -> bool:  # noqa: D401 - Qt override
        if e.type() == e.Type.ToolTip:
            pos = e.pos()
            for ri, r in enumerate(self._rows):
                rect = self.tile_rect(ri, 0)
                if rect.top() <= pos.y() <= rect.bottom() + self._caption_height(r) and r.tip:
                    from PySide6.QtWidgets import QToolTip
                    QToolTip.showText(e.globalPos(), r.tip, self)
                    return True
        return super().event(e)
