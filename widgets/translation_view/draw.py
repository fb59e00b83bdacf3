"""DrawView: draw an input with the mouse and watch the translator answer, stroke by stroke
and again at every new snapshot of the training run ("draw an edge map and watch pix2pix
fill it in, live, while it trains"). The canvas is the input side's resolution, enlarged;
pen, eraser (or the right button), brush size, clear, and "start from a test input" (the
strip's first input, to edit a real one)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ..kit import WheelGuard, checked_button_css, mute_label
from .canvas import DrawingCanvas
from .images import to_size
from .strip import stage_title
from .tiles import ScaledImages

DRAW_HINT = ("Draw with the left button (right button erases). The output follows each stroke, "
             "and changes again as training goes on.")


class DrawView(QWidget):
    """Signals: drawing_changed(np.ndarray) (float32 (H, W) in [0, 1]) after every stroke,
    clear and start-from-input."""

    drawing_changed = Signal(object)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("translationDrawView")
        self._result: Optional[dict] = None
        self._seed_image: Optional[np.ndarray] = None
        self._guard = WheelGuard(self)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        tools = QHBoxLayout()
        self._pen = QPushButton("Pen")
        self._pen.setObjectName("drawPenButton")
        self._eraser = QPushButton("Eraser")
        self._eraser.setObjectName("drawEraserButton")
        group = QButtonGroup(self)
        for b in (self._pen, self._eraser):
            b.setCheckable(True)
            group.addButton(b)
        self._pen.setChecked(True)
        self._pen.toggled.connect(lambda on: self.canvas.set_tool("pen" if on else "eraser"))
        self._size = QSpinBox()
        self._size.setObjectName("drawBrushSpin")
        self._size.setRange(1, 6)
        self._size.setValue(2)
        self._size.setPrefix("brush ")
        self._size.setSuffix(" px")
        self._size.setToolTip("The brush's diameter in input pixels.")
        self._size.installEventFilter(self._guard)
        self._size.valueChanged.connect(lambda s: self.canvas.set_brush_size(s))
        self._clear = QPushButton("Clear")
        self._clear.setObjectName("drawClearButton")
        self._from_input = QPushButton("Start from a test input")
        self._from_input.setObjectName("drawFromInputButton")
        self._from_input.setToolTip("Copy the strip's first input onto the canvas, to edit it.")
        self._from_input.setEnabled(False)
        self._clear.clicked.connect(lambda: self.canvas.clear())
        self._from_input.clicked.connect(self.start_from_input)
        for w in (self._pen, self._eraser, self._size, self._clear):
            tools.addWidget(w)
        tools.addStretch(1)
        tools.addWidget(self._from_input)
        v.addLayout(tools)
        body = QHBoxLayout()
        body.setSpacing(10)
        left = QVBoxLayout()
        self._canvas_title = QLabel("your input")
        left.addWidget(self._canvas_title)
        self.canvas = DrawingCanvas()
        self.canvas.setMinimumSize(196, 196)
        self.canvas.changed.connect(self.drawing_changed)
        left.addWidget(self.canvas, 1)
        body.addLayout(left, 1)
        right = QVBoxLayout()
        self._title = QLabel("")
        self._title.setObjectName("drawTitle")
        self._title.setWordWrap(True)
        right.addWidget(self._title)
        self._outputs = ScaledImages("translationDrawOutputs")
        right.addWidget(self._outputs, 1)
        body.addLayout(right, 1)
        v.addLayout(body, 1)
        self._hint = QLabel(DRAW_HINT)
        self._hint.setObjectName("drawHint")
        self._hint.setWordWrap(True)
        v.addWidget(self._hint)

    # -- state ----------------------------------------------------------------------------------
    def set_input_shape(self, height: int, width: int, name: str = "") -> None:
        self.canvas.set_shape(height, width)
        self._canvas_title.setText(f"your input ({name}, {height}\u00d7{width})" if name
                                   else f"your input ({height}\u00d7{width})")

    def drawing(self) -> np.ndarray:
        return self.canvas.image()

    def set_seed_image(self, image: Optional[np.ndarray]) -> None:
        """The image "start from a test input" copies (the strip's first input)."""
        self._seed_image = None if image is None else np.asarray(image, np.float32)
        self._from_input.setEnabled(self._seed_image is not None)

    def start_from_input(self) -> None:
        if self._seed_image is not None:
            self.canvas.set_image(self._seed_image)

    def set_drawn(self, d: Mapping[str, Any]) -> None:
        """Show a "translation_drawn" result: its output (and way back, or SR stages)."""
        self._result = dict(d)
        out = np.asarray(d["output"])
        h, w = out.shape[-2:]
        src, dst = (tuple(d.get("sides") or ("input", "output")) + ("", ""))[:2]
        items = []                     # one image a row, named under it
        if d.get("stages"):
            items.append((d["bicubic"], "bicubic"))
            now = str(d.get("stage_now", ""))
            for name in d.get("stage_names") or list(d["stages"]):
                items.append((d["stages"][name],
                              stage_title(name) + (" (training)" if name == now else "")))
        else:
            items.append((out, f"output ({dst})" if dst else "output"))
            if d.get("reconstruction") is not None:
                back = "F(G(x))" if d.get("direction", "ab") == "ab" else "G(F(y))"
                items.append((to_size(d["reconstruction"], h, w), f"back {back}"))
        self._outputs.set_images(items)
        self._title.setText(f"step {int(d.get('step', 0)):,} \u00b7 {src} \u2192 {dst}")

    def result(self) -> Optional[dict]:
        return self._result

    def outputs(self) -> list[tuple[np.ndarray, str]]:
        """What the outputs column shows: (image, caption) pairs."""
        return self._outputs.items()

    def clear(self) -> None:
        self._result = None
        self._outputs.set_images([])
        self._title.setText("")

    def apply_palette(self) -> None:
        self._hint.setPalette(self.palette())
        mute_label(self._hint)
        css = checked_button_css(self.palette())
        self._pen.setStyleSheet(css)
        self._eraser.setStyleSheet(css)
