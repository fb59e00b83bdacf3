"""Near-duplicates in the mode-collapse view (a mixin of ModeCollapsePanel): the caption
and the strip of thumbnail pairs of the latest snapshot."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout,
                               QWidget)

from ..kit import small_font
from ..thumbnails import thumbnail_scale, to_qimage
from .records import _fmt, _fmt_int
from .texts import TIPS


MAX_PAIRS_SHOWN = 8             # duplicate pairs in the strip
THUMB_SIDE = 44                 # thumbnail target size in px


class _PairTile(QFrame):
    """Two thumbnails side by side with their indices and distance."""

    def __init__(self, a: QPixmap, b: QPixmap, i: int, j: int, d: float, parent=None):
        super().__init__(parent)
        self.setObjectName("duplicatePair")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 3, 4, 2)
        lay.setSpacing(1)
        row = QHBoxLayout()
        row.setSpacing(2)
        for pm in (a, b):
            lab = QLabel()
            lab.setPixmap(pm)
            lab.setFixedSize(pm.size())
            row.addWidget(lab)
        lay.addLayout(row)
        cap = QLabel(f"#{i} \u2248 #{j}")
        cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
        cap.setFont(small_font(cap.font()))
        lay.addWidget(cap)
        self.setToolTip(f"Samples {i} and {j} of the snapshot (0-based, row by row in the "
                        f"sample grid) are {_fmt(d)} apart.")


class DuplicatesMixin:
    """The strip of the latest snapshot's nearest near-duplicate pairs, as thumbnails."""

    # -- construction ----------------------------------------------------------------------------

    def _build_duplicates(self) -> QWidget:
        box = QFrame()
        box.setObjectName("modeDuplicates")
        lay = QVBoxLayout(box)
        lay.setContentsMargins(2, 0, 2, 0)
        lay.setSpacing(2)
        self._dup_title = QLabel()
        self._dup_title.setObjectName("modeDuplicatesTitle")
        self._dup_title.setWordWrap(True)
        self._dup_title.setTextFormat(Qt.TextFormat.RichText)
        self._dup_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._dup_title.setToolTip(TIPS["duplicates"])
        lay.addWidget(self._dup_title)
        self._dup_scroll = QScrollArea()
        self._dup_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._dup_scroll.setWidgetResizable(True)
        self._dup_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        strip = QWidget()
        self._dup_row = QHBoxLayout(strip)
        self._dup_row.setContentsMargins(0, 0, 0, 0)
        self._dup_row.setSpacing(4)
        self._dup_row.addStretch(1)
        self._dup_scroll.setWidget(strip)
        self._dup_scroll.setVisible(False)
        lay.addWidget(self._dup_scroll)
        self._dup_box = box
        return box

    # -- public API ------------------------------------------------------------------------------

    def duplicate_tiles(self) -> list[QWidget]:
        return [self._dup_row.itemAt(i).widget() for i in range(self._dup_row.count())
                if self._dup_row.itemAt(i).widget() is not None]

    # -- drawing ---------------------------------------------------------------------------------

    def _draw_duplicates(self, last: dict) -> None:
        for w in self.duplicate_tiles():
            self._dup_row.removeWidget(w)
            w.deleteLater()
        pairs = last["duplicates"]
        total = last["duplicate_pairs"]
        thr = last["duplicate_threshold"]
        where = f"the latest snapshot (step {_fmt_int(last['step'])})"
        if not pairs and not total:
            self._dup_title.setText(f"<b>Near-duplicates:</b> none in {where}.")
            self._dup_scroll.setVisible(False)
            return
        share = last["duplicate_share"]
        involved = (f"; {round(share * last['n'])} of {last['n']} samples involved"
                    if math.isfinite(share) and last["n"] else "")
        shown = min(len(pairs), MAX_PAIRS_SHOWN)
        closest = f", the {shown} closest shown" if shown < total else ""
        text = (f"<b>Near-duplicates:</b> {total} pair{'s' if total != 1 else ''} in {where} "
                f"closer than {_fmt(thr)}{involved}{closest}.")
        imgs = self._samples if self._samples_step == last["step"] else None
        if imgs is None:
            self._dup_title.setText(text + " <i>Thumbnails appear for live snapshots.</i>")
            self._dup_scroll.setVisible(False)
            return
        self._dup_title.setText(text)
        n, _, h, w = imgs.shape
        scale, _side = thumbnail_scale(h, w, THUMB_SIDE)
        cache: dict[int, QPixmap] = {}

        def pix(i: int) -> QPixmap:
            if i not in cache:
                cache[i] = QPixmap.fromImage(to_qimage(imgs[i], scale))
            return cache[i]

        tiles = 0
        for i, j, d in pairs[:MAX_PAIRS_SHOWN]:
            if not (0 <= i < n and 0 <= j < n):
                continue
            self._dup_row.insertWidget(self._dup_row.count() - 1, _PairTile(pix(i), pix(j), i, j, d))
            tiles += 1
        self._dup_scroll.setVisible(tiles > 0)
        if tiles:
            tile_h = self.duplicate_tiles()[0].sizeHint().height()
            sb = self._dup_scroll.horizontalScrollBar().sizeHint().height()
            self._dup_scroll.setFixedHeight(tile_h + sb + 2)

