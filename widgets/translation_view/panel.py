"""The translation panel: `TranslationViewPanel` shows an image-to-image translator's strip,
drawing canvas and (with a way back) the steganography probe as three tabs, with the
direction switch on top for a translator that goes both ways; an empty or unavailable
message otherwise. `main` is its `python -m widgets.translation_view` preview."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ..kit import WheelGuard
from ..view_panel import TabbedViewPanel, preview_main
from .draw import DrawView
from .probe import ProbeView
from .strip import StripView

EMPTY_TEXT = ("Train or open an image-to-image translator (pix2pix, CycleGAN or SRGAN) to watch "
              "it translate test images, images picked in the data set browser or your own "
              "drawing, live while it trains; for CycleGAN also the way back and its hidden "
              "signal, for SRGAN every stage beside bicubic upsampling.")
VIEWS = ("strip", "draw", "probe")
TAB_TITLES = {"strip": "Strip", "draw": "Draw", "probe": "Steganography probe"}


class TranslationViewPanel(TabbedViewPanel):
    """Data in: configure(...) for the open run, set_strip, set_drawn, set_probe, set_curve,
    add_pick(index), set_unavailable(text), set_busy(text), clear().
    Signals: view_changed(str) ("strip", "draw", "probe"), direction_changed(str) ("ab",
    "ba"), strip_requested(dict), drawing_changed(np.ndarray), probe_requested(dict),
    curve_requested(dict)."""

    direction_changed = Signal(str)
    strip_requested = Signal(dict)
    drawing_changed = Signal(object)
    probe_requested = Signal(dict)
    curve_requested = Signal(dict)
    EMPTY_TEXT = EMPTY_TEXT
    VIEWS = VIEWS
    SIZE_HINT = (640, 660)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__("translation", "translationTabs", parent)
        self._guard = WheelGuard(self)
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._sides = ("source", "target")
        head = QHBoxLayout()
        self._direction_label = QLabel("Direction")
        self._direction = QComboBox()
        self._direction.setObjectName("translationDirectionCombo")
        self._direction.addItem("X \u2192 Y", "ab")
        self._direction.addItem("Y \u2192 X", "ba")
        self._direction.setToolTip("X \u2192 Y translates source-domain images with G (and "
                                   "reconstructs with F); Y \u2192 X translates target-domain "
                                   "test images with F (translate_back) and reconstructs with G.")
        self._direction.installEventFilter(self._guard)
        self._direction.currentIndexChanged.connect(self._on_direction)
        self._info = QLabel("")
        self._info.setObjectName("translationInfo")
        head.addWidget(self._direction_label)
        head.addWidget(self._direction)
        head.addSpacing(8)
        head.addWidget(self._info, 1)
        self._head = QWidget()
        self._head.setLayout(head)
        head.setContentsMargins(0, 0, 0, 0)
        self._root.insertWidget(0, self._head)               # above the views
        self.strip = StripView()
        self.draw = DrawView()
        self.probe = ProbeView()
        for name, view in (("strip", self.strip), ("draw", self.draw), ("probe", self.probe)):
            self._add_view(name, view, TAB_TITLES[name])
        self.strip.strip_requested.connect(self.strip_requested)
        self.draw.drawing_changed.connect(self.drawing_changed)
        self.probe.probe_requested.connect(self.probe_requested)
        self.probe.curve_requested.connect(self.curve_requested)
        self._head.setVisible(False)
        self.apply_palette()

    # -- the run --------------------------------------------------------------------------------
    def configure(self, source_shape: Sequence[int], target_shape: Sequence[int],
                  sides: Sequence[str] = ("source", "target"), has_back: bool = False,
                  sr: bool = False, test_counts: Sequence[int] = (0, 0),
                  stage: str = "") -> None:
        """A translator's run: source (input) and target shapes (C, H, W), the sides' names,
        whether it has a way back (the direction switch and the probe), SR stages, and how
        many test images each side has."""
        self.clear()
        self.strip.forget_picks()
        self._shapes = {"ab": tuple(int(s) for s in source_shape),
                        "ba": tuple(int(s) for s in target_shape)}
        self._sides = (str(sides[0]), str(sides[1])) if len(sides) == 2 else ("source", "target")
        self._counts = {"ab": int(test_counts[0]), "ba": int(test_counts[1])}
        x, y = self._sides
        self._direction.blockSignals(True)
        self._direction.setItemText(0, f"{x} \u2192 {y}")
        self._direction.setItemText(1, f"{y} \u2192 {x}")
        self._direction.setCurrentIndex(0)
        self._direction.blockSignals(False)
        self._head.setVisible(True)
        self._direction.setVisible(has_back)
        self._direction_label.setVisible(has_back)
        kind = "super-resolution (SRGAN)" if sr else ("unpaired, both ways (CycleGAN)" if has_back
                                                      else "paired")
        self._info.setText(f"{x} {self._fmt(self._shapes['ab'])} \u2192 {y} "
                           f"{self._fmt(self._shapes['ba'])} \u00b7 {kind}")
        self._tabs.setTabVisible(self._tabs.indexOf(self.probe), has_back)
        self._apply_direction()
        self._show(self._tabs)

    @staticmethod
    def _fmt(shape: Sequence[int]) -> str:
        return "\u00d7".join(str(s) for s in shape)

    def direction(self) -> str:
        return str(self._direction.currentData())

    def set_direction(self, direction: str) -> None:
        self._direction.setCurrentIndex(1 if direction == "ba" else 0)

    def _on_direction(self, _i: int) -> None:
        self._apply_direction()
        self.direction_changed.emit(self.direction())

    def _apply_direction(self) -> None:
        d = str(self._direction.currentData())
        shape = self._shapes.get(d)
        if shape:
            name = self._sides[0] if d == "ab" else self._sides[1]
            self.draw.set_input_shape(shape[-2], shape[-1], name)
            self.strip.set_pool_size(self._counts.get(d, 0))
        self.probe.set_pool_size(self._counts.get(d, 0))
        self.strip.clear()
        self.draw.clear()
        self.probe.clear()

    # -- pages ----------------------------------------------------------------------------------
    def clear(self) -> None:
        super().clear()
        self._head.setVisible(False)

    # -- data -----------------------------------------------------------------------------------
    def set_strip(self, d: Mapping[str, Any]) -> None:
        self.strip.set_strip(d)
        inputs = np.asarray(d["inputs"])
        self.draw.set_seed_image(inputs[0] if len(inputs) else None)
        self._status.setText("")

    def set_drawn(self, d: Mapping[str, Any]) -> None:
        self.draw.set_drawn(d)
        self._status.setText("")

    def set_probe(self, d: Mapping[str, Any]) -> None:
        self.probe.set_probe(d)
        self._status.setText("")

    def set_curve(self, d: Mapping[str, Any]) -> None:
        self.probe.set_curve(d)

    def add_pick(self, index: int) -> None:
        self.strip.add_pick(index)

    # -- look -----------------------------------------------------------------------------------
    def apply_palette(self) -> None:
        super().apply_palette()
        self._info.setStyleSheet(f"color: {self.hint_colour()};")


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .fakes import (fake_curve, fake_drawing, fake_drawn, fake_probe, fake_sr_strip,
                        fake_strip)

    def arguments(ap) -> None:
        ap.add_argument("--engine", choices=("pix2pix", "cyclegan", "srgan"), default="cyclegan")

    def fill(panel: TranslationViewPanel, args) -> None:
        panel.drawing_changed.connect(
            lambda im: print("drawing_changed", im.shape, float(im.sum())))
        sr = args.engine == "srgan"
        back = args.engine == "cyclegan"
        sides = {"pix2pix": ("edges", "digits"), "cyclegan": ("thin", "thick"),
                 "srgan": ("low-res", "digits")}[args.engine]
        panel.configure((1, 14, 14) if sr else (1, 28, 28), (1, 28, 28), sides, has_back=back,
                        sr=sr, test_counts=(10000, 10000))
        panel.set_strip(fake_sr_strip() if sr else fake_strip(back=back, paired=not back,
                                                                sides=sides))
        drawing = fake_drawing(14 if sr else 28)
        panel.draw.canvas.set_image(drawing, emit=False)
        panel.set_drawn(fake_drawn(drawing, back=back, sr=sr, sides=sides))
        if back:
            panel.set_probe(fake_probe())
            panel.set_curve(fake_curve())
        panel.set_view(args.view)

    return preview_main(TranslationViewPanel, argv, "660x720", "strip",
                        ("strip_requested", "probe_requested", "curve_requested", "view_changed",
                         "direction_changed"), fill, arguments)
