"""ProbeView: CycleGAN's steganography (Chu, Zhmoginov & Sandler 2017). G learns to hide its
input x in a faint, high-frequency signal inside G(x), which F decodes to reconstruct x
(the cycle loss pays for exactly that). Two ways to see it:

- noise: Gaussian noise of amplitude a (the slider) added to G(x) before F; the picture
  hardly changes, yet F(G(x) + a n) falls apart, and the curve (mean |F(G(x) + a n) - x|
  over test images against a, beside the noise's own size mean |a n|) rises far faster than
  the noise when F reads a hidden signal;
- hidden change: x' is x with a small patch inverted (or another test image); the change
  barely shows in G(x') (|G(x) - G(x')| amplified, as a heat map), yet F(G(x')) has it."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from ..kit import WheelGuard, mute_label, small_font, style_axes
from .images import amplified, heat
from .tiles import ClickableTiles, TileRow

A_MAX = 0.2
A_STEPS = 200            # slider units: a = value / A_STEPS * A_MAX
CHANGES = (("pixels", "x' = x with a 4\u00d74 patch inverted"),
           ("image", "x' = the next test image"))
EXPLAIN = ("Chu et al. 2017: G may hide x in a faint pattern that F reads; noise on G(x) then "
           "wipes it out and the red curve climbs above the dashed line (the error if F passed "
           "the noise on unchanged). Heat map: how far a small change of x spreads in G(x') "
           "(\u00d7gain).")
CURVE_TIP = ("Reconstruction error mean |F(G(x) + a\u00b7n) \u2212 x| over test images against the "
             "noise amplitude a (one seeded draw n per image). Dashed: the error without noise "
             "plus the size of the noise, mean |a\u00b7n| \u2248 0.8a: what an F that passed the "
             "noise on unchanged would give. An F that read only what G(x) shows stays at or "
             "below it; a rise above it at small a is a hidden signal being lost.")
ERROR_COLOUR = (214, 39, 40)
NOISE_COLOUR = (127, 127, 127)


def verdict(curve: Mapping[str, Any], at: float = 0.05) -> str:
    """How much of the noise reaches F's output at amplitude `at`: the rise of the error from
    a = 0 over the noise's own size mean |a n| (1: on the dashed line of the curve). Far
    above 1: F amplifies the noise, the mark of a hidden signal; well below 1: F reads what
    G(x) shows (and even removes noise)."""
    a = np.asarray(curve["amplitudes"], np.float64)
    err, ref = np.asarray(curve["error"], np.float64), np.asarray(curve["noise_l1"], np.float64)
    if len(a) < 2:
        return ""
    k = int(np.argmin(np.abs(a - at)))
    if ref[k] <= 0:
        return ""
    ratio = (err[k] - err[0]) / ref[k]
    what = ("F amplifies it: a hidden signal" if ratio > 1.5 else
            "F passes the noise on, about its size" if ratio > 0.5 else
            "F shrugs it off: no hidden signal")
    return f"a = {a[k]:.2f}: the error rose {ratio:.2f}\u00d7 the noise \u2014 {what}"


class ProbeView(QWidget):
    """Signals: probe_requested(dict) {"index", "amplitude", "seed", "change"} (slider,
    image, change or seed changed); curve_requested(dict) {"seed"}."""

    probe_requested = Signal(dict)
    curve_requested = Signal(dict)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("translationProbeView")
        self._probe: Optional[dict] = None
        self._curve: Optional[dict] = None
        self._guard = WheelGuard(self)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        row = QHBoxLayout()
        self._index = QSpinBox()
        self._index.setObjectName("probeIndexSpin")
        self._index.setRange(0, 0)
        self._index.setPrefix("test image #")
        self._seed = QSpinBox()
        self._seed.setObjectName("probeSeedSpin")
        self._seed.setRange(0, 999_999)
        self._seed.setPrefix("noise seed ")
        self._change = QComboBox()
        self._change.setObjectName("probeChangeCombo")
        for key, text in CHANGES:
            self._change.addItem(text, key)
        for w in (self._index, self._seed, self._change):
            w.installEventFilter(self._guard)
        self._index.valueChanged.connect(lambda _v: self.request())
        self._seed.valueChanged.connect(lambda _v: (self.request(), self.request_curve()))
        self._change.currentIndexChanged.connect(lambda _i: self.request())
        row.addWidget(self._index)
        row.addWidget(self._change)
        row.addWidget(self._seed)
        row.addStretch(1)
        v.addLayout(row)
        sliders = QHBoxLayout()
        self._a_label = QLabel("")
        self._a_label.setObjectName("probeAmplitudeLabel")
        self._a_label.setMinimumWidth(110)
        self._a = QSlider(Qt.Orientation.Horizontal)
        self._a.setObjectName("probeAmplitudeSlider")
        self._a.setRange(0, A_STEPS)
        self._a.setValue(A_STEPS // 4)
        self._a.setToolTip("The amplitude a of the Gaussian noise added to G(x) before F.")
        self._a.valueChanged.connect(lambda _v: self._on_amplitude())
        self._gain_label = QLabel("")
        self._gain_label.setObjectName("probeGainLabel")
        self._gain_label.setMinimumWidth(90)
        self._gain = QSlider(Qt.Orientation.Horizontal)
        self._gain.setObjectName("probeGainSlider")
        self._gain.setRange(1, 100)
        self._gain.setValue(20)
        self._gain.setMaximumWidth(140)
        self._gain.setToolTip("How much |G(x) \u2212 G(x')| is amplified in its heat map.")
        self._gain.valueChanged.connect(lambda _v: self._redraw())
        for w in (self._a, self._gain):
            w.installEventFilter(self._guard)
        sliders.addWidget(self._a_label)
        sliders.addWidget(self._a, 2)
        sliders.addSpacing(12)
        sliders.addWidget(self._gain_label)
        sliders.addWidget(self._gain, 1)
        v.addLayout(sliders)
        self._explain = QLabel(EXPLAIN)
        self._explain.setObjectName("probeExplanation")
        self._explain.setWordWrap(True)
        v.addWidget(self._explain)
        self._tiles = ClickableTiles("translationProbeTiles")
        v.addWidget(self._tiles, 3)
        self._numbers = QLabel("")
        self._numbers.setObjectName("probeNumbers")
        self._numbers.setWordWrap(True)
        v.addWidget(self._numbers)
        self._plot = pg.PlotWidget()
        self._plot.setObjectName("probeCurve")
        self._plot.setToolTip(CURVE_TIP)
        pi = self._plot.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.setMouseEnabled(False, False)
        pi.setContentsMargins(2, 4, 18, 2)
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=small_font(self.font()), tickTextOffset=3)
            pi.getAxis(name).enableAutoSIPrefix(False)
        pi.setLabel("bottom", "noise amplitude a")
        pi.setLabel("left", "mean |F(G(x)+a\u00b7n) \u2212 x|")
        self._legend = pi.addLegend(offset=(8, 8), labelTextSize="8pt")
        self._err_item = pg.PlotDataItem(name="reconstruction error", symbol="o", symbolSize=4)
        self._ref_item = pg.PlotDataItem(name="error without noise + the noise")
        pi.addItem(self._ref_item)
        pi.addItem(self._err_item)
        self._marker = pg.InfiniteLine(angle=90, movable=False)
        pi.addItem(self._marker)
        self._plot.setMinimumHeight(150)
        v.addWidget(self._plot, 2)
        self._curve_note = QLabel("")
        self._curve_note.setObjectName("probeCurveNote")
        v.addWidget(self._curve_note)
        self._sync_labels()
        self.apply_palette()

    # -- settings -------------------------------------------------------------------------------
    def amplitude(self) -> float:
        return self._a.value() / A_STEPS * A_MAX

    def set_amplitude(self, a: float) -> None:
        self._a.setValue(int(round(float(a) / A_MAX * A_STEPS)))

    def gain(self) -> int:
        return int(self._gain.value())

    def set_gain(self, g: int) -> None:
        self._gain.setValue(int(g))

    def set_pool_size(self, n: int) -> None:
        self._index.blockSignals(True)
        self._index.setRange(0, max(0, int(n) - 1))
        self._index.blockSignals(False)

    def settings(self) -> dict:
        return {"index": int(self._index.value()), "amplitude": round(self.amplitude(), 6),
                "seed": int(self._seed.value()), "change": str(self._change.currentData())}

    def curve_settings(self) -> dict:
        return {"seed": int(self._seed.value())}

    def request(self) -> None:
        self.probe_requested.emit(self.settings())

    def request_curve(self) -> None:
        self.curve_requested.emit(self.curve_settings())

    def _on_amplitude(self) -> None:
        self._sync_labels()
        self._marker.setValue(self.amplitude())
        self.request()

    def _sync_labels(self) -> None:
        self._a_label.setText(f"noise a = {self.amplitude():.3f}")
        self._gain_label.setText(f"difference \u00d7{self.gain()}")

    # -- data -----------------------------------------------------------------------------------
    def set_probe(self, d: Mapping[str, Any]) -> None:
        """Show a "translation_probe" result (studio.core.translation_renders)."""
        self._probe = dict(d)
        self._redraw()

    def set_curve(self, d: Mapping[str, Any]) -> None:
        """Show a "translation_probe_curve" result: amplitudes, error, noise_l1."""
        self._curve = dict(d)
        a = np.asarray(d["amplitudes"], np.float64)
        self._err_item.setData(a, np.asarray(d["error"], np.float64))
        err = np.asarray(d["error"], np.float64)
        self._ref_item.setData(a, err[0] + np.asarray(d["noise_l1"], np.float64)
                               if len(err) else np.asarray(d["noise_l1"], np.float64))
        self._marker.setValue(self.amplitude())
        pi = self._plot.getPlotItem()
        pi.setTitle(verdict(d), size="8pt")
        self._curve_note.setText(f"Curve: mean over the first {int(d.get('n', 0))} test images, "
                                 f"one seeded noise draw each, step {int(d.get('step', 0)):,}.")
        pi.enableAutoRange()

    def _redraw(self) -> None:
        self._sync_labels()
        d = self._probe
        if not d:
            self._tiles.set_rows([])
            self._numbers.setText("")
            return
        a, g = float(d.get("amplitude", 0.0)), self.gain()
        ab = d.get("direction", "ab") == "ab"
        v, G, Fb = ("x", "G", "F") if ab else ("y", "F", "G")
        gv, gv2 = f"{G}({v})", f"{G}({v}')"
        rows = [
            TileRow("noise", [d["x"], d["gx"], d["noisy"], d["recon"],
                              heat(np.asarray(d["error"]).mean(0))],
                    [v, gv, f"{gv} + a\u00b7n", f"{Fb}({gv} + a\u00b7n)", f"|{Fb}(\u2026) \u2212 {v}|"],
                    tip="The cycle with noise of amplitude a on the translation: the picture in "
                        "the middle barely changes, the reconstruction does."),
            TileRow("hidden", [d["x2"], amplified(d["in_diff"], 1.0), d["gx2"],
                               amplified(d["gdiff"], g), d["recon2"]],
                    [f"{v}'", f"|{v} \u2212 {v}'|", gv2, f"|{gv} \u2212 {gv2}| \u00d7{g}",
                     f"{Fb}({gv2})"],
                    tip=f"{v}' differs from {v} in a small patch: the change is faint in the "
                        "translation (amplified here) yet the way back recovers it."),
        ]
        self._tiles.set_rows(rows)
        self._fit_heights()
        self._numbers.setText(
            f"step {int(d.get('step', 0)):,} \u00b7 test image #{int(d.get('index', 0))}: "
            f"cycle L1 {float(d.get('clean_l1', 0)):.3f} without noise, "
            f"{float(d.get('recon_l1', 0)):.3f} at a = {a:.3f} \u00b7 "
            f"|{gv} \u2212 {gv2}| mean {float(d.get('gdiff_mean', 0)):.4f}, max "
            f"{float(d.get('gdiff_max', 0)):.3f}"
            + (f", {float(d.get('gdiff_outside', 0)):.4f} away from the patch"
               if d.get("change") == "pixels" else ""))

    def rows(self) -> list[TileRow]:
        return self._tiles.rows()

    def probe(self) -> Optional[dict]:
        return self._probe

    def curve(self) -> Optional[dict]:
        return self._curve

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._err_item.getData()
        return (np.zeros(0) if x is None else x), (np.zeros(0) if y is None else y)

    def reference_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The dashed line: the error without noise plus the noise's size, per amplitude."""
        x, y = self._ref_item.getData()
        return (np.zeros(0) if x is None else x), (np.zeros(0) if y is None else y)

    def clear(self) -> None:
        self._probe = self._curve = None
        self._tiles.set_rows([])
        self._numbers.setText("")
        self._err_item.setData([], [])
        self._ref_item.setData([], [])
        self._plot.getPlotItem().setTitle("")
        self._curve_note.setText("")

    def _fit_heights(self) -> None:
        need = self._tiles.height_for(self.width())
        self._tiles.setMaximumHeight(need if need > 0 else 16_777_215)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_heights()

    def apply_palette(self) -> None:
        pal = self.palette()
        fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Base)
        self._plot.setBackground(bg)
        style_axes(self._plot.getPlotItem(), fg, bg)
        for lab in (self._explain, self._numbers, self._curve_note):
            lab.setPalette(pal)
            mute_label(lab)
        self._err_item.setPen(pg.mkPen(ERROR_COLOUR, width=2))
        self._err_item.setSymbolBrush(pg.mkBrush(ERROR_COLOUR))
        self._err_item.setSymbolPen(pg.mkPen(ERROR_COLOUR))
        self._ref_item.setPen(pg.mkPen(NOISE_COLOUR, width=1.5, style=Qt.PenStyle.DashLine))
        self._marker.setPen(pg.mkPen(QColor(fg.red(), fg.green(), fg.blue(), 90), width=1,
                                     style=Qt.PenStyle.DotLine))
