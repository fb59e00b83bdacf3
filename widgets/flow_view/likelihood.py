"""LikelihoodView: what an exact likelihood tells. Per-image bits/dim of test images and of
the model's own samples as two histograms, and the test images the model finds most and
least likely, each with its bits/dim."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ..kit import WheelGuard, small_font, style_axes, with_alpha
from .stages import histogram_bins
from .tiles import TileRow, TileRows

TEST_COLOUR = (31, 119, 180)
SAMPLE_COLOUR = (255, 127, 14)
HIST_TIP = ("Each image's bits per dimension, -log2 p(x) / D with uniform dequantisation: lower "
            "is more likely. Samples scoring much lower than test images are smoother than the "
            "data; a long right tail of test images is what the model finds atypical.")
EXTREMES_TIP = ("The test images with the lowest bits/dim (the model's idea of typical: often "
                "thin, simple strokes) and the highest (unusual shapes, thick strokes, noise).")


class LikelihoodView(QWidget):
    """Signals: likelihood_requested(dict) {"n", "seed"}."""

    likelihood_requested = Signal(dict)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("flowLikelihoodView")
        self._result: Optional[dict] = None
        self._guard = WheelGuard(self)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        row = QHBoxLayout()
        self._n = QSpinBox()
        self._n.setObjectName("likelihoodCountSpin")
        self._n.setRange(16, 5000)
        self._n.setSingleStep(100)
        self._n.setValue(500)
        self._n.setSuffix(" images each")
        self._n.setToolTip("How many test images and how many samples to score.")
        self._seed = QSpinBox()
        self._seed.setObjectName("likelihoodSeedSpin")
        self._seed.setRange(0, 999_999)
        self._seed.setPrefix("seed ")
        self._seed.setToolTip("Which test images, the samples and the dequantisation noise.")
        for w in (self._n, self._seed):
            w.installEventFilter(self._guard)
        self._go = QPushButton("Score")
        self._go.setObjectName("likelihoodScoreButton")
        self._go.clicked.connect(self.request)
        row.addWidget(self._n)
        row.addWidget(self._seed)
        row.addStretch(1)
        row.addWidget(self._go)
        v.addLayout(row)
        self._summary = QLabel("")
        self._summary.setObjectName("likelihoodSummary")
        self._summary.setWordWrap(True)
        v.addWidget(self._summary)
        self._plot = pg.PlotWidget()
        self._plot.setObjectName("likelihoodHistogram")
        self._plot.setToolTip(HIST_TIP)
        pi = self._plot.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.setMouseEnabled(False, False)
        pi.setContentsMargins(2, 10, 8, 2)          # room for the top tick's label
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=small_font(self.font()), tickTextOffset=3)
        self._legend = pi.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self._test_item = pg.PlotDataItem(stepMode="center", fillLevel=0, name="test images")
        self._sample_item = pg.PlotDataItem(stepMode="center", fillLevel=0, name="samples")
        pi.addItem(self._test_item)
        pi.addItem(self._sample_item)
        v.addWidget(self._plot, 3)
        self._extremes = TileRows("likelihoodExtremes")
        self._extremes.setToolTip(EXTREMES_TIP)
        v.addWidget(self._extremes, 2)

    def request(self) -> None:
        self.likelihood_requested.emit({"n": int(self._n.value()), "seed": int(self._seed.value())})

    def set_likelihood(self, d: Mapping[str, Any]) -> None:
        """Show a "flow_likelihood" result: test_bpd (n,), sample_bpd (m,), unit, most and
        least (k, C, H, W) in [0, 1] (or uint8) with most_bpd and least_bpd (k,), step."""
        test = np.asarray(d["test_bpd"], np.float64)
        samples = np.asarray(d.get("sample_bpd", np.zeros(0)), np.float64)
        bad = int((~np.isfinite(samples)).sum())
        test, samples = test[np.isfinite(test)], samples[np.isfinite(samples)]
        unit = str(d.get("unit", "bits/dim"))
        edges = histogram_bins(test, samples)
        ht, _ = np.histogram(test, edges, density=True)
        self._test_item.setData(edges, ht)
        if len(samples):
            hs, _ = np.histogram(samples, edges, density=True)
            self._sample_item.setData(edges, hs)
        else:
            self._sample_item.setData([], [])
        self._plot.getPlotItem().setLabel("bottom", unit)
        self._plot.getPlotItem().setLabel("left", "density")
        self._plot.getPlotItem().enableAutoRange()
        parts = [f"step {int(d.get('step', 0)):,}",
                 f"test images: mean {np.nanmean(test):.3f} {unit} (n = {len(test)})"]
        if len(samples):
            parts.append(f"samples: mean {np.nanmean(samples):.3f} {unit} (n = {len(samples)})")
        if bad:
            parts.append(f"{bad} samples not finite (left out)")
        self._summary.setText(" \u00b7 ".join(parts))
        most, least = d.get("most"), d.get("least")
        rows = []
        if most is not None and len(most):
            rows.append(TileRow("most likely", list(most),
                                [f"{b:.2f}" for b in np.asarray(d["most_bpd"])]))
        if least is not None and len(least):
            rows.append(TileRow("least likely", list(least),
                                [f"{b:.2f}" for b in np.asarray(d["least_bpd"])]))
        self._extremes.set_rows(rows)
        self._fit_heights()
        self._result = dict(d)

    def _fit_heights(self) -> None:
        need = self._extremes.height_for(self.width())
        self._extremes.setMaximumHeight(need if need > 0 else 16_777_215)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_heights()

    def clear(self) -> None:
        self._result = None
        self._test_item.setData([], [])
        self._sample_item.setData([], [])
        self._extremes.set_rows([])
        self._summary.setText("")

    def result(self) -> Optional[dict]:
        return self._result

    def settings(self) -> dict:
        return {"n": int(self._n.value()), "seed": int(self._seed.value())}

    def apply_palette(self) -> None:
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        fg = pal.color(QPalette.ColorRole.WindowText)
        bg = pal.color(QPalette.ColorRole.Window)
        self._plot.setBackground(base)
        style_axes(self._plot.getPlotItem(), fg, bg)
        for item, rgb in ((self._test_item, TEST_COLOUR), (self._sample_item, SAMPLE_COLOUR)):
            c = QColor(*rgb)
            item.setPen(pg.mkPen(c, width=1.5))
            item.setBrush(pg.mkBrush(with_alpha(c, 0.3)))
        self._legend.setLabelTextColor(fg)
        for _sample, label in self._legend.items:
            label.setText(label.text, color=fg)
        lb = QColor(base)
        lb.setAlphaF(0.75)
        self._legend.setBrush(pg.mkBrush(lb))
