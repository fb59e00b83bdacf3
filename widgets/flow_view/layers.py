"""LayersView: a flow on 2D points layer by layer. The data pushed through the first k
layers (dots coloured by where they start) and the lines of a regular latent grid pulled back
through the last K - k layers, k on a slider that plays both ways; under the dots at k = 0 a
heatmap of the density exp(log p(x)) or of log |det dz/dx|."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget,
)

from ..kit import WheelGuard, small_font, style_axes, with_alpha
from .stages import (HUE_BINS, at_position, grid_polyline, hue_bins, layer_caption, mass_in_box,
                     normalise_layers, view_box)

HEATMAPS = (("none", "No heatmap"), ("density", "Density p(x)"),
            ("log_det", "log |det J|"))
FRAMES_PER_LAYER = 10
FRAME_MS = 40
HEATMAP_HINT = "Heatmaps live in data space: move the slider to k = 0 to see it."
SLIDER_TIP = ("k = 0 shows the data and the latent grid pulled back all the way into data space; "
              "each step right pushes the dots through one more layer and undoes one layer less "
              "of the grid; at k = K the dots should look like N(0, I) and the grid is straight.")
HEAT_TIP = ("Density: exp(log p(x)), the flow's exact density on a grid over the data. "
            "log |det J|: how much the whole flow stretches space at x (log |det dz/dx|): "
            "where it is large, a small region of x fills a large region of z. Both are computed "
            "in data space, so they are shown at k = 0.")


def _hue_colours(dark: bool) -> list[QColor]:
    return [QColor.fromHsvF(i / HUE_BINS, 0.75 if dark else 0.85, 0.95 if dark else 0.8)
            for i in range(HUE_BINS)]


class LayersView(QWidget):
    """Signals: stage_changed(int) (the slider's k), refresh_requested()."""

    stage_changed = Signal(int)
    refresh_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("flowLayersView")
        self._data: Optional[dict] = None
        self._groups: list[np.ndarray] = []
        self._position = 0.0
        self._target = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self._guard = WheelGuard(self)
        self._build()

    def _build(self) -> None:
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        top = QHBoxLayout()
        self._title = QLabel("")
        self._title.setObjectName("flowLayersTitle")
        top.addWidget(self._title, 1)
        top.addWidget(QLabel("Heatmap"))
        self._heat = QComboBox()
        self._heat.setObjectName("heatmapCombo")
        for key, text in HEATMAPS:
            self._heat.addItem(text, key)
        self._heat.setToolTip(HEAT_TIP)
        self._heat.installEventFilter(self._guard)
        self._heat.currentIndexChanged.connect(lambda _i: self._show(force=True))
        top.addWidget(self._heat)
        self._refresh = QPushButton("Refresh")
        self._refresh.setObjectName("layersRefreshButton")
        self._refresh.setToolTip("Compute the stages again with the model as it is now.")
        self._refresh.clicked.connect(self.refresh_requested)
        top.addWidget(self._refresh)
        v.addLayout(top)

        self._plot = pg.PlotWidget()
        self._plot.setObjectName("flowLayersPlot")
        self._plot.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pi = self._plot.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        self._vb = pi.vb
        self._vb.setAspectLocked(True)
        self._vb.disableAutoRange()
        self._vb.setMouseEnabled(False, False)
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=small_font(self.font()), tickTextOffset=3)
        self._heat_img = pg.ImageItem(axisOrder="row-major")
        self._grid_item = pg.PlotCurveItem(connect="finite")
        self._dots = [pg.ScatterPlotItem(size=4, pen=None) for _ in range(HUE_BINS)]
        for z, item in enumerate([self._heat_img, self._grid_item, *self._dots]):
            item.setZValue(z - 20)
            pi.addItem(item, ignoreBounds=True)
        v.addWidget(self._plot, 1)

        self._caption = QLabel("")
        self._caption.setObjectName("heatmapCaption")
        self._caption.setWordWrap(True)
        v.addWidget(self._caption)

        row = QHBoxLayout()
        self._back = QPushButton("\u25c0 z \u2192 x")
        self._back.setObjectName("playToDataButton")
        self._back.setToolTip("Play towards the data (generation: the Gaussian bends into the data).")
        self._back.clicked.connect(lambda: self._play(0.0))
        self._fwd = QPushButton("x \u2192 z \u25b6")
        self._fwd.setObjectName("playToLatentButton")
        self._fwd.setToolTip("Play towards the latent (encoding: the data becomes a Gaussian).")
        self._fwd.clicked.connect(lambda: self._play(None))
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setObjectName("layerSlider")
        self._slider.setToolTip(SLIDER_TIP)
        self._slider.setPageStep(1)
        self._slider.installEventFilter(self._guard)
        self._slider.valueChanged.connect(self._on_slider)
        row.addWidget(self._back)
        row.addWidget(self._slider, 1)
        row.addWidget(self._fwd)
        v.addLayout(row)
        self._stage_label = QLabel(layer_caption([], 0))
        self._stage_label.setObjectName("layerLabel")
        v.addWidget(self._stage_label)
        self._set_enabled(False)

    # -- public ---------------------------------------------------------------------------------
    def set_layers(self, d: Mapping[str, Any]) -> None:
        """Show a "flow_layers" result (see stages.normalise_layers); keeps the slider's k."""
        norm = normalise_layers(d)
        new_k = self._data is None or len(self._data["names"]) != len(norm["names"])
        self._data = norm
        self._groups = [np.flatnonzero(hue_bins(norm["stages"][0]) == b) for b in range(HUE_BINS)]
        K = len(norm["names"])
        self._slider.blockSignals(True)
        self._slider.setRange(0, K)
        if new_k:
            self._slider.setValue(0)
            self._position = self._target = 0.0
        self._slider.blockSignals(False)
        self._position = float(np.clip(self._position, 0, K))
        self._set_enabled(True)
        nll = norm.get("nll")
        title = f"step {norm['step']:,}"
        if nll is not None and np.isfinite(nll):
            title += f" \u00b7 test NLL {float(nll):.3f} {norm['nll_unit']}"
        self._title.setText(title + f" \u00b7 {K} layers, {norm['stages'].shape[1]} points")
        self._show(force=True)

    def clear(self) -> None:
        self.pause()
        self._data = None
        self._groups = []
        for item in self._dots:
            item.setData([], [])
        self._grid_item.setData([], [])
        self._heat_img.clear()
        self._heat_img.setVisible(False)
        self._caption.setText("")
        self._title.setText("")
        self._slider.setRange(0, 0)
        self._position = self._target = 0.0
        self._stage_label.setText(layer_caption([], 0))
        self._set_enabled(False)

    def stage(self) -> int:
        return int(self._slider.value())

    def set_stage(self, k: int) -> None:
        self.pause()
        self._slider.setValue(int(k))

    def layer_count(self) -> int:
        return 0 if self._data is None else len(self._data["names"])

    def heatmap(self) -> str:
        return str(self._heat.currentData())

    def set_heatmap(self, key: str) -> None:
        i = self._heat.findData(key)
        if i >= 0:
            self._heat.setCurrentIndex(i)

    def heatmap_shown(self) -> bool:
        return self._heat_img.isVisible()

    def shown_points(self) -> np.ndarray:
        """The dots on screen (n, 2) in the order of the data."""
        if self._data is None:
            return np.zeros((0, 2))
        return at_position(self._data["stages"], self._position)

    def shown_grid(self) -> Optional[np.ndarray]:
        if self._data is None or self._data["grid"] is None:
            return None
        return at_position(self._data["grid"], self._position)

    def is_playing(self) -> bool:
        return self._timer.isActive()

    def pause(self) -> None:
        self._timer.stop()
        self._update_buttons()

    def caption(self) -> str:
        return self._caption.text()

    def stage_text(self) -> str:
        return self._stage_label.text()

    # -- playback -------------------------------------------------------------------------------
    def _play(self, target: Optional[float]) -> None:
        if self._data is None:
            return
        if self._timer.isActive():
            self.pause()
            return
        K = float(len(self._data["names"]))
        self._target = K if target is None else target
        if abs(self._position - self._target) < 1e-9:      # at that end: start from the other
            self._position = K - self._target
        self._timer.start()
        self._update_buttons()

    def _tick(self) -> None:
        step = 1.0 / FRAMES_PER_LAYER
        d = self._target - self._position
        self._position = self._target if abs(d) <= step else self._position + np.sign(d) * step
        k = int(round(self._position))
        if k != self._slider.value():
            self._slider.blockSignals(True)
            self._slider.setValue(k)
            self._slider.blockSignals(False)
            self.stage_changed.emit(k)
        self._show()
        if self._position == self._target:
            self.pause()

    def _on_slider(self, k: int) -> None:
        self._timer.stop()
        self._update_buttons()
        self._position = float(k)
        self._show()
        self.stage_changed.emit(int(k))

    def _update_buttons(self) -> None:
        playing = self._timer.isActive()
        to_z = playing and self._target > self._position
        to_x = playing and self._target < self._position
        self._fwd.setText("Pause" if to_z else "x \u2192 z \u25b6")
        self._back.setText("Pause" if to_x else "\u25c0 z \u2192 x")

    def _set_enabled(self, on: bool) -> None:
        for w in (self._slider, self._fwd, self._back, self._heat, self._refresh):
            w.setEnabled(on)

    # -- drawing --------------------------------------------------------------------------------
    def _show(self, force: bool = False) -> None:
        d = self._data
        if d is None:
            return
        pts = at_position(d["stages"], self._position)
        for item, idx in zip(self._dots, self._groups):
            item.setData(pos=pts[idx])
        grid = None if d["grid"] is None else at_position(d["grid"], self._position)
        if grid is not None:
            self._grid_item.setData(*grid_polyline(grid))
        else:
            self._grid_item.setData([], [])
        k = int(round(self._position))
        self._stage_label.setText(layer_caption(d["names"], k))
        at_data = self._position < 1e-9
        lo, hi = view_box(pts, grid)
        if at_data and d["bounds"] is not None:
            lo, hi = np.minimum(lo, d["bounds"][0]), np.maximum(hi, d["bounds"][1])
        self._vb.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]), padding=0)
        self._show_heat(at_data)

    def _show_heat(self, at_data: bool) -> None:
        d, key = self._data, self.heatmap()
        values = None if key == "none" else d.get(key)
        if key == "none":
            self._heat_img.setVisible(False)
            self._caption.setText("")
            return
        if values is None or d["field_x"] is None:
            self._heat_img.setVisible(False)
            self._caption.setText("This model's result has no such field.")
            return
        if not at_data:
            self._heat_img.setVisible(False)
            self._caption.setText(HEATMAP_HINT)
            return
        fx, fy = d["field_x"], d["field_y"]
        v = np.asarray(values, np.float64)
        finite = v[np.isfinite(v)]
        if key == "density":
            # the top 1% of cells saturate: a flow's density has thin, tall ridges
            lo, hi = 0.0, float(np.percentile(finite, 99)) if finite.size else 1.0
            mass = mass_in_box(np.where(np.isfinite(v), v, 0.0), fx, fy)
            text = (f"Density exp(log p(x)): 0 (background) to {hi:.3g} and above (strongest; "
                    f"peak {float(finite.max()) if finite.size else 0:.3g}). Mass in the box: "
                    f"{mass:.2f} (sum of p × cell area).")
        else:
            lo, hi = ((float(np.percentile(finite, 1)), float(np.percentile(finite, 99)))
                      if finite.size else (0.0, 1.0))
            text = (f"log |det dz/dx|, {lo:.2f} (background) to {hi:.2f} (brightest): where the "
                    f"flow stretches space most.")
        if hi - lo < 1e-12:
            hi = lo + 1.0
        self._heat_img.setLookupTable(self._lut())
        self._heat_img.setImage(np.nan_to_num(v, nan=lo), autoLevels=False, levels=(lo, hi))
        dx = (fx[-1] - fx[0]) / max(len(fx) - 1, 1)
        dy = (fy[-1] - fy[0]) / max(len(fy) - 1, 1)
        self._heat_img.setRect(QRectF(fx[0] - dx / 2, fy[0] - dy / 2, dx * len(fx), dy * len(fy)))
        self._heat_img.setVisible(True)
        self._caption.setText(text)

    def _lut(self) -> np.ndarray:
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        dark = base.lightnessF() < 0.5
        hi = QColor(255, 200, 70) if dark else QColor(8, 48, 130)
        mid = QColor(150, 50, 110) if dark else QColor(90, 150, 220)
        cmap = pg.ColorMap([0.0, 0.5, 1.0], [base.getRgb()[:3], mid.getRgb()[:3], hi.getRgb()[:3]])
        return cmap.getLookupTable(0.0, 1.0, 256)

    def apply_palette(self) -> None:
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        fg = pal.color(QPalette.ColorRole.WindowText)
        bg = pal.color(QPalette.ColorRole.Window)
        dark = base.lightnessF() < 0.5
        self._plot.setBackground(base)
        style_axes(self._plot.getPlotItem(), fg, bg)
        for item, c in zip(self._dots, _hue_colours(dark)):
            item.setBrush(pg.mkBrush(with_alpha(c, 0.85)))
        self._grid_item.setPen(pg.mkPen(with_alpha(fg, 0.3 if dark else 0.28), width=1))
        if self._data is not None:
            self._show(force=True)
