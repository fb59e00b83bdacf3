"""LevelsView: one image through a multi-scale flow. Its code at every level (each eps
channel a small grey image) and decodes that keep the top j levels of the code and draw the
others from the prior, j = 0..L, several draws each: which level carries what."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ..kit import WheelGuard, mute_label
from .stages import code_image
from .tiles import TileRow, TileRows

MAX_CHANNELS = 8
SOURCES = (("random", "Random test image"), ("picked", "Image picked in the data set"))
CODES_TITLE = ("Its code at every level (grey 0, white +3, black -3 std; level 1 is the finest, "
               f"the first {MAX_CHANNELS} channels)")
DECODES_TITLE = ("Keep the top j levels of the code, draw the others from the prior "
                 "(several draws each)")
CODES_TIP = ("A multi-scale flow splits off half of the channels at each level: those are "
             "Gaussianised at that resolution and leave the flow (their eps is shown here). "
             "The top level is what is left at the coarsest resolution.")
DECODES_TIP = ("Row 'top j' decodes the image's own eps for the top j levels and fresh draws "
               "(times the temperature) for the finer ones. What stays the same along a row is "
               "what the kept levels carry; what changes is what the resampled levels add.")


class LevelsView(QWidget):
    """Signals: levels_requested(dict) {"source": "random" | "picked", "seed", "index" (int or
    None), "temperature", "n"}."""

    levels_requested = Signal(dict)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("flowLevelsView")
        self._picked: Optional[int] = None
        self._result: Optional[dict] = None
        self._guard = WheelGuard(self)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        row = QHBoxLayout()
        self._source = QComboBox()
        self._source.setObjectName("levelsSourceCombo")
        for key, text in SOURCES:
            self._source.addItem(text, key)
        self._seed = QSpinBox()
        self._seed.setObjectName("levelsSeedSpin")
        self._seed.setRange(0, 999_999)
        self._seed.setPrefix("seed ")
        self._seed.setToolTip("Which random test image, and the draws of the resampled levels.")
        self._temp = QDoubleSpinBox()
        self._temp.setObjectName("levelsTemperatureSpin")
        self._temp.setRange(0.0, 1.5)
        self._temp.setSingleStep(0.05)
        self._temp.setValue(0.8)
        self._temp.setPrefix("T ")
        self._temp.setToolTip("Temperature of the resampled levels: their eps are drawn from "
                              "N(0, T^2 I). Glow's samples look best at T ~ 0.7.")
        self._n = QSpinBox()
        self._n.setObjectName("levelsDrawsSpin")
        self._n.setRange(1, 12)
        self._n.setValue(6)
        self._n.setSuffix(" draws")
        self._go = QPushButton("Show")
        self._go.setObjectName("levelsShowButton")
        self._go.clicked.connect(self.request)
        for w in (self._source, self._seed, self._temp, self._n):
            w.installEventFilter(self._guard)
        self._source.currentIndexChanged.connect(lambda _i: self._sync())
        row.addWidget(self._source)
        row.addWidget(self._seed)
        row.addWidget(self._temp)
        row.addWidget(self._n)
        row.addStretch(1)
        row.addWidget(self._go)
        v.addLayout(row)
        self._title = QLabel("")
        self._title.setObjectName("levelsTitle")
        v.addWidget(self._title)
        self._codes_title = QLabel(CODES_TITLE)
        self._codes_title.setWordWrap(True)
        v.addWidget(self._codes_title)
        self._codes = TileRows("levelCodes")
        self._codes.setToolTip(CODES_TIP)
        v.addWidget(self._codes, 2)
        self._decodes_title = QLabel(DECODES_TITLE)
        self._decodes_title.setWordWrap(True)
        v.addWidget(self._decodes_title)
        self._decodes = TileRows("levelDecodes")
        self._decodes.setToolTip(DECODES_TIP)
        v.addWidget(self._decodes, 3)
        v.addStretch(0)
        self._sync()

    # -- public ---------------------------------------------------------------------------------
    def request(self) -> None:
        src = str(self._source.currentData())
        self.levels_requested.emit({"source": src, "seed": int(self._seed.value()),
                                    "index": self._picked if src == "picked" else None,
                                    "temperature": float(self._temp.value()),
                                    "n": int(self._n.value())})

    def set_picked(self, index: Optional[int]) -> None:
        """An image picked in the data set browser (its index in the training split)."""
        self._picked = None if index is None else int(index)
        self._source.setItemText(1, "Image picked in the data set" if index is None
                                 else f"Picked image #{index}")
        if index is not None:
            self._source.setCurrentIndex(1)
        self._sync()

    def set_levels(self, d: Mapping[str, Any]) -> None:
        """Show a "flow_levels" result: image and reconstruction (C, H, W) in [0, 1], codes (a
        list of (c, h, w) per level, finest first), decodes (L + 1, R, C, H, W) for j = 0..L
        kept top levels, temperature, step, source (text)."""
        codes = [np.asarray(c) for c in d["codes"]]
        decodes = np.asarray(d["decodes"])
        L = len(codes)
        if decodes.shape[0] != L + 1:
            raise ValueError(f"decodes must have L + 1 = {L + 1} rows, got {decodes.shape[0]}")
        self._result = dict(d)
        rows = [TileRow("image", [d["image"], d["reconstruction"]], ["x", "decode(encode(x))"],
                        tip="The image and its exact decode from the code below.")]
        for i, c in enumerate(codes):
            name = f"level {i + 1}" + (" (top)" if i == L - 1 and L > 1 else "")
            rows.append(TileRow(name, [code_image(ch) for ch in c[:MAX_CHANNELS]],
                                tip=f"{name}: eps of shape {c.shape[0]}\u00d7{c.shape[1]}\u00d7"
                                    f"{c.shape[2]} ({c.size} numbers)"))
        self._codes.set_rows(rows)
        drows = []
        for j in range(L + 1):
            if j == 0:
                label, tip = "top 0 (none)", "Nothing kept: fresh samples at this temperature."
            elif j == L:
                label, tip = f"top {j} (all)", "Every level kept: the exact reconstruction."
            else:
                label, tip = f"top {j}", f"Levels {L - j + 1}..{L} kept, levels 1..{L - j} drawn anew."
            ims = list(decodes[j][:1]) if j == L else list(decodes[j])
            drows.append(TileRow(label, ims, tip=tip))
        self._decodes.set_rows(drows)
        self._fit_heights()
        shapes = ", ".join(f"{c.shape[0]}\u00d7{c.shape[1]}\u00d7{c.shape[2]}" for c in codes)
        self._title.setText(f"{d.get('source', 'image')} \u00b7 step {int(d.get('step', 0)):,} "
                            f"\u00b7 {L} levels ({shapes}) \u00b7 T {float(d.get('temperature', 1.0)):.2f}")

    def clear(self) -> None:
        self._result = None
        self._codes.set_rows([])
        self._decodes.set_rows([])
        self._title.setText("")
        self._fit_heights()

    def _fit_heights(self) -> None:
        """No taller than their rows need at this width: the room left goes below."""
        for grid in (self._codes, self._decodes):
            need = grid.height_for(self.width())
            grid.setMaximumHeight(need if need > 0 else 16_777_215)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_heights()

    def result(self) -> Optional[dict]:
        return self._result

    def settings(self) -> dict:
        return {"source": str(self._source.currentData()), "seed": int(self._seed.value()),
                "temperature": float(self._temp.value()), "n": int(self._n.value())}

    def apply_palette(self) -> None:
        for lab in (self._codes_title, self._decodes_title):
            lab.setPalette(self.palette())
            mute_label(lab)

    def _sync(self) -> None:
        picked = str(self._source.currentData()) == "picked"
        if picked and self._picked is None:
            self._go.setEnabled(False)
            self._go.setToolTip("Click an image in the data set browser first.")
        else:
            self._go.setEnabled(True)
            self._go.setToolTip("Encode the image and decode it with its top levels kept.")
        self._seed.setEnabled(True)
        self._title.setAlignment(Qt.AlignmentFlag.AlignLeft)
