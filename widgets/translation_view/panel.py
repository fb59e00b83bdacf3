"""The translation panel: `TranslationViewPanel` shows an image-to-image translator's strip,
drawing canvas and (with a way back) the steganography probe as three tabs, with the
direction switch on top for a translator that goes both ways; an empty or unavailable
message otherwise. `main` is its `python -m widgets.translation_view` preview."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget,
)

from ..kit import PaletteAware, WheelGuard, hint_label, with_alpha
from .draw import DrawView
from .probe import ProbeView
from .strip import StripView

EMPTY_TEXT = ("Train or open an image-to-image translator (pix2pix, CycleGAN or SRGAN) to watch "
              "it translate test images, images picked in the data set browser or your own "
              "drawing, live while it trains; for CycleGAN also the way back and its hidden "
              "signal, for SRGAN every stage beside bicubic upsampling.")
VIEWS = ("strip", "draw", "probe")
TAB_TITLES = {"strip": "Strip", "draw": "Draw", "probe": "Steganography probe"}


class TranslationViewPanel(PaletteAware, QWidget):
    """Data in: configure(...) for the open run, set_strip, set_drawn, set_probe, set_curve,
    add_pick(index), set_unavailable(text), set_busy(text), clear().
    Signals: view_changed(str) ("strip", "draw", "probe"), direction_changed(str) ("ab",
    "ba"), strip_requested(dict), drawing_changed(np.ndarray), probe_requested(dict),
    curve_requested(dict)."""

    view_changed = Signal(str)
    direction_changed = Signal(str)
    strip_requested = Signal(dict)
    drawing_changed = Signal(object)
    probe_requested = Signal(dict)
    curve_requested = Signal(dict)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._guard = WheelGuard(self)
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._sides = ("source", "target")
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
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
        root.addWidget(self._head)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages, 1)
        self._empty = hint_label(EMPTY_TEXT, "translationEmptyState", margin=24)
        self._pages.addWidget(self._empty)
        self._tabs = QTabWidget()
        self._tabs.setObjectName("translationTabs")
        self.strip = StripView()
        self.draw = DrawView()
        self.probe = ProbeView()
        self._tabs.addTab(self.strip, TAB_TITLES["strip"])
        self._tabs.addTab(self.draw, TAB_TITLES["draw"])
        self._tabs.addTab(self.probe, TAB_TITLES["probe"])
        self._pages.addWidget(self._tabs)
        self._status = QLabel("")
        self._status.setObjectName("translationStatus")
        self._status.setWordWrap(True)
        root.addWidget(self._status)
        self.strip.strip_requested.connect(self.strip_requested)
        self.draw.drawing_changed.connect(self.drawing_changed)
        self.probe.probe_requested.connect(self.probe_requested)
        self.probe.curve_requested.connect(self.curve_requested)
        self._tabs.currentChanged.connect(lambda _i: self.view_changed.emit(self.view()))
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
        self._pages.setCurrentWidget(self._tabs)
        self.view_changed.emit(self.view())

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
    def view(self) -> str:
        if self._pages.currentWidget() is not self._tabs:
            return ""
        w = self._tabs.currentWidget()
        return "strip" if w is self.strip else "draw" if w is self.draw else "probe"

    def set_view(self, view: str) -> None:
        """Show the tab "strip", "draw" or "probe" (a hidden tab, the probe of a one-way
        translator, stays hidden)."""
        if not self.tab_visible(view):
            return
        self._pages.setCurrentWidget(self._tabs)
        self._tabs.setCurrentWidget({"strip": self.strip, "draw": self.draw,
                                     "probe": self.probe}[view])

    def tab_visible(self, view: str) -> bool:
        return self._tabs.isTabVisible(self._tabs.indexOf(
            {"strip": self.strip, "draw": self.draw, "probe": self.probe}[view]))

    def set_unavailable(self, text: str) -> None:
        self.clear()
        self._empty.setText(text)

    def clear(self) -> None:
        self.strip.clear()
        self.draw.clear()
        self.probe.clear()
        self._empty.setText(EMPTY_TEXT)
        self._pages.setCurrentWidget(self._empty)
        self._head.setVisible(False)
        self._status.setText("")

    def message(self) -> str:
        return self._empty.text() if self._pages.currentWidget() is self._empty else ""

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

    def set_busy(self, text: str) -> None:
        self._status.setText(text)

    def status_text(self) -> str:
        return self._status.text()

    # -- look -----------------------------------------------------------------------------------
    def apply_palette(self) -> None:
        pal = self.palette()
        fg = pal.color(QPalette.ColorRole.WindowText)
        hint = with_alpha(fg, 0.55).name(QColor.NameFormat.HexArgb)
        self._empty.setStyleSheet(f"color: {hint}; font-size: 11pt;")
        self._status.setStyleSheet(f"color: {hint};")
        self._info.setStyleSheet(f"color: {hint};")
        for v in (self.strip, self.draw, self.probe):
            v.apply_palette()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(640, 660)


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from ..preview import preview_app, preview_parser, show_or_grab
    from .fakes import (fake_curve, fake_drawing, fake_drawn, fake_probe, fake_sr_strip,
                        fake_strip)

    ap = preview_parser("Preview TranslationViewPanel with fake data.", "660x720")
    ap.add_argument("--view", choices=VIEWS + ("empty",), default="strip")
    ap.add_argument("--engine", choices=("pix2pix", "cyclegan", "srgan"), default="cyclegan")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = TranslationViewPanel()
    panel.setWindowTitle("TranslationViewPanel preview")
    for name in ("strip_requested", "probe_requested", "curve_requested", "view_changed",
                 "direction_changed"):
        getattr(panel, name).connect(lambda payload, name=name: print(name, payload))
    panel.drawing_changed.connect(lambda im: print("drawing_changed", im.shape, float(im.sum())))
    if args.view != "empty":
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
    return show_or_grab(app, panel, args.size, args.grab)
