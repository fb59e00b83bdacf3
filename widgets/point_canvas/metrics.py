"""Mode metrics of the point canvas (a mixin of PointCanvasPanel): coverage bars per mode,
curves against step on two y axes, and the readout "7/8 modes · 96.1% high quality ·
reverse KL 0.03"."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..kit import small_font, with_alpha
from .items import _styled_plot


HQ_TIP = ("high quality = within 3 sigma of a mode (3 standard deviations of that mode's "
          "Gaussian); a mode counts as captured when enough generated samples land there")
CURVE_COLOURS = {"captured": ("#1f77b4", "#5aa9e6"), "hq": ("#d9730d", "#ffa64d"),
                 "rkl": ("#d62728", "#ff6b6b")}


def _nice_step(span: float) -> float:
    """The smallest 1, 2 or 5 x 10^k >= span (> 0): a round tick spacing."""
    span = max(float(span), 1e-12)
    base = 10.0 ** math.floor(math.log10(span))
    return next(m * base for m in (1.0, 2.0, 5.0, 10.0) if m * base >= span * (1 - 1e-9))


def mode_readout(modes_captured: int, num_modes: int, high_quality_fraction: float,
                 reverse_kl: float) -> str:
    """ "7/8 modes · 96.1% high quality · reverse KL 0.03" """
    kl = f"{reverse_kl:.2f}" if math.isfinite(reverse_kl) else "\u2014"
    return (f"{int(modes_captured)}/{int(num_modes)} modes \u00b7 "
            f"{100 * high_quality_fraction:.1f}% high quality \u00b7 reverse KL {kl}")


class MetricsMixin:
    """The mode metrics: per-mode coverage bars, captured / high-quality / reverse-KL curves
    against step, and the one-line readout."""

    # -- construction ----------------------------------------------------------------------------

    def _build_metrics(self) -> None:
        """The metrics pane: coverage bars and the curves against step."""
        self._metrics = QWidget()
        self._metrics.setObjectName("modeMetrics")
        self._metrics_box = QVBoxLayout(self._metrics)
        self._metrics_box.setContentsMargins(0, 0, 0, 0)
        self._metrics_box.setSpacing(6)
        self._bars_title = QLabel("High-quality samples per mode")
        self._bars_title.setObjectName("coverageTitle")
        self._bars_title.setWordWrap(True)
        self._bars_title.setToolTip(HQ_TIP)
        self._bars_plot = _styled_plot("coveragePlot")
        self._bars_plot.setMouseEnabled(False, False)
        self._bars_plot.setMinimumSize(120, 80)
        bpi = self._bars_plot.getPlotItem()
        self._bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.7)
        bpi.addItem(self._bars)
        self._ideal_line = pg.InfiniteLine(angle=0, movable=False, label="even share",
                                           labelOpts={"position": 0.98, "anchors": [(1, 1), (1, 1)]})
        self._ideal_line.setToolTip("Each mode's share if every sample were high quality and "
                                    "the modes were hit equally often")
        self._ideal_line.setVisible(False)
        bpi.addItem(self._ideal_line)
        self._curves_title = QLabel()
        self._curves_title.setObjectName("curvesTitle")
        self._curves_title.setWordWrap(True)
        self._curves_title.setTextFormat(Qt.TextFormat.RichText)
        self._curves_title.setToolTip(HQ_TIP)
        self._curves_plot = _styled_plot("modeCurvesPlot")
        self._curves_plot.setMinimumSize(120, 80)
        self._curves_plot.setMouseEnabled(False, False)
        cpi = self._curves_plot.getPlotItem()
        cpi.showAxis("right")
        cpi.setYRange(0, 100, padding=0.04)
        self._kl_vb = pg.ViewBox(enableMouse=False, enableMenu=False)
        cpi.scene().addItem(self._kl_vb)
        cpi.getAxis("right").linkToView(self._kl_vb)
        self._kl_vb.setXLink(cpi.vb)
        cpi.vb.sigResized.connect(self._sync_kl_view)
        self._curves: dict[str, pg.PlotDataItem] = {}
        for key in ("captured", "hq", "rkl"):
            c = pg.PlotDataItem(connect="finite")
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
            self._curves[key] = c
            (self._kl_vb if key == "rkl" else cpi).addItem(c)
        for plot in (self._bars_plot, self._curves_plot):
            p = plot.getPlotItem()
            for name in ("left", "bottom", "right"):
                p.getAxis(name).setStyle(tickFont=small_font(self.font()), tickTextOffset=2)
            p.getAxis("left").setWidth(30)
            p.getAxis("bottom").setHeight(22)
        cpi.getAxis("right").setWidth(30)
        self._bars_card = self._card(self._bars_title, self._bars_plot)
        self._curves_card = self._card(self._curves_title, self._curves_plot)
        self._metrics_box.addWidget(self._bars_card, 1)
        self._metrics_box.addWidget(self._curves_card, 1)

    @staticmethod
    def _card(title: QLabel, plot: pg.PlotWidget) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(1)
        v.addWidget(title)
        v.addWidget(plot, 1)
        return w

    # -- public API ------------------------------------------------------------------------------

    def append_mode_metrics(self, step: int, modes_captured: int, num_modes: int,
                            high_quality_fraction: float, reverse_kl: float,
                            per_mode_counts: Sequence[int] | np.ndarray) -> None:
        """One evaluation of mode coverage: the bars show per_mode_counts (high-quality
        samples per mode, (num_modes,)), the curves gain a point, the readout updates."""
        counts = np.asarray(per_mode_counts, np.float64).reshape(-1)
        k = int(num_modes)
        hq = float(high_quality_fraction)
        rkl = float(reverse_kl)
        self._hist.extend([[float(step), 100.0 * int(modes_captured) / max(k, 1), 100.0 * hq,
                            rkl if math.isfinite(rkl) else np.nan]])
        h = self._hist.view()
        self._curves["captured"].setData(h[:, 0], h[:, 1])
        self._curves["hq"].setData(h[:, 0], h[:, 2])
        self._curves["rkl"].setData(h[:, 0], h[:, 3])
        finite = h[:, 3][np.isfinite(h[:, 3])]
        top = float(finite.max()) if finite.size else 1.0
        self._kl_vb.setYRange(0, max(top, 0.05) * 1.05, padding=0)
        x0, x1 = float(h[0, 0]), float(h[-1, 0])
        cpi = self._curves_plot.getPlotItem()
        if x1 <= x0:    # one evaluation (e.g. an opened run): a dot on the run's step axis
            x0, x1 = 0.0, max(x0, 1.0) * 1.1
        cpi.setXRange(x0, x1, padding=0.02)
        # the plot is narrow: at most ~3 step labels, or "1000" "2000" "3000" run together
        step = _nice_step((x1 - x0) / 2.5)
        cpi.getAxis("bottom").setTickSpacing(step, step)
        for c in self._curves.values():
            c.setSymbol("o" if len(h) == 1 else None)

        xs = np.arange(len(counts), dtype=np.float64)     # mode k is the data's class k
        self._bars.setOpts(x=xs, height=counts, width=0.7)
        bpi = self._bars_plot.getPlotItem()
        n_hq = float(counts.sum())
        ideal = n_hq / hq / max(k, 1) if hq > 0 else 0.0      # all samples, spread evenly
        self._ideal_line.setValue(ideal)
        self._ideal_line.setVisible(ideal > 0)
        bpi.setXRange(-0.6, max(len(counts), 1) - 0.4, padding=0)
        bpi.setYRange(0, max(float(counts.max()) if counts.size else 0.0, ideal, 1.0) * 1.08, padding=0)
        ax = bpi.getAxis("bottom")
        ax.setTicks([[(float(i), str(i)) for i in range(len(counts))]]
                    if len(counts) <= 12 else None)
        self._last_metrics = (int(step), int(modes_captured), k, hq, rkl, counts)
        self._readout.setText(mode_readout(modes_captured, k, hq, rkl))
        self._readout.setVisible(True)
        self._metrics.setVisible(True)

    def clear_history(self) -> None:
        """Forget the mode metrics (curves, bars, readout); the metrics pane hides."""
        self._hist.clear()
        self._last_metrics = None
        for c in self._curves.values():
            c.setData([], [])
        self._bars.setOpts(x=np.zeros(0), height=np.zeros(0))
        self._ideal_line.setVisible(False)
        self._readout.setText("")
        self._readout.setVisible(False)           # no empty line under a narrow canvas
        self._metrics.setVisible(False)

    def readout_text(self) -> str:
        return self._readout.text()

    # -- look ------------------------------------------------------------------------------------

    def _palette_metrics(self, fg: QColor, i: int) -> None:
        """Bar and curve colours (i: 0 light theme, 1 dark) and the curves' legend title."""
        self._bars.setOpts(brush=pg.mkBrush(with_alpha(self._fake_colour, 0.85)), pen=pg.mkPen(None))
        self._ideal_line.setPen(pg.mkPen(with_alpha(fg, 0.75), width=1.5, style=Qt.PenStyle.DashLine))
        self._ideal_line.label.setColor(fg)
        self._ideal_line.label.setFont(small_font(self.font()))
        colours = {k: QColor(v[i]) for k, v in CURVE_COLOURS.items()}
        for key, c in self._curves.items():
            c.setPen(pg.mkPen(colours[key], width=1.5))
            c.setSymbolPen(pg.mkPen(colours[key]))
            c.setSymbolBrush(pg.mkBrush(colours[key]))
            c.setSymbolSize(7)
        self._curves_plot.getPlotItem().getAxis("right").setTextPen(pg.mkPen(colours["rkl"]))
        self._curves_title.setText(
            " &nbsp;".join(f"<span style='color:{colours[k].name()}'>\u25a0</span>&nbsp;"
                           + t.replace(" ", "&nbsp;")
                           for k, t in (("captured", "modes captured %"), ("hq", "high quality %"),
                                        ("rkl", "reverse KL (right axis)"))))

    def _sync_kl_view(self) -> None:
        vb = self._curves_plot.getPlotItem().vb
        self._kl_vb.setGeometry(vb.sceneBoundingRect())
        self._kl_vb.linkedViewChanged(vb, self._kl_vb.XAxis)

