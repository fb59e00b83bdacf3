"""The mode-collapse charts (a mixin of ModeCollapsePanel): the class-share heatmap and
current-share bars, classes covered, KL to the data and diversity against step, alert
markers, and the hover readout."""
from __future__ import annotations

import html
import math
from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPalette

from ..kit import small_font
from .records import _float, _fmt, _fmt_int, heat_grid
from .texts import TIPS


HEAT_LEVELS = (0.0, 50.0)       # colour scale of the heatmap: share 0 .. >= 50 (percent)
MAX_SYMBOLS = 150               # curves show a dot per snapshot up to this many snapshots
ROW_HEIGHTS = (156, 80, 80, 100)   # minimum heights: heatmap, coverage, KL, diversity
RIGHT_COLUMN = 150              # colour bar + current-share bars, px
BOTTOM_AXIS_HEIGHT = 24         # heatmap and bars: equal, so their rows line up
LOW_COVERAGE = 0.5              # studio.core.mode_monitor.AlertRules.low_coverage (drawn dotted)


class _Charts(pg.GraphicsLayoutWidget):
    """The chart grid. Its preferred height is its minimum: the scroll area around it sizes
    its body by height-for-width (the duplicates caption wraps), which uses preferred
    heights, and the default 480 px would make it scroll when there is room to spare."""

    def sizeHint(self) -> QSize:
        return QSize(400, self.minimumHeight())


class ChartsMixin:
    """The chart grid: class-share heatmap with its colour bar and current-share bars,
    classes covered, KL to the data, diversity with its real-data band, alert markers, and
    the readout of the values under the mouse."""

    # -- construction ----------------------------------------------------------------------------

    def _build_plots(self) -> None:
        def plot(name: str, ylabel: str) -> pg.PlotItem:
            p = pg.PlotItem()
            p.setMenuEnabled(False)
            p.hideButtons()
            p.setMouseEnabled(x=False, y=False)
            p.showGrid(x=True, y=True, alpha=0.15)
            p.getAxis("left").setWidth(48)
            p.getAxis("left").enableAutoSIPrefix(False)
            p.setLabel("left", ylabel)
            p.vb.setToolTip(TIPS[name])
            return p

        # class heatmap
        self._heat_plot = plot("heatmap", "class")
        self._heat_plot.showGrid(x=False, y=False)
        self._heat_plot.getAxis("left").setStyle(tickFont=small_font(self.font()), tickTextOffset=3)
        self._heat_plot.vb.invertY(True)
        self._heat_img = pg.ImageItem(axisOrder="row-major")
        self._heat_img.setColorMap(pg.colormap.get("viridis"))
        self._heat_img.setLevels(HEAT_LEVELS)
        self._heat_plot.addItem(self._heat_img)
        self._colorbar = pg.ColorBarItem(values=HEAT_LEVELS, width=11, interactive=False,
                                         colorMap=pg.colormap.get("viridis"), colorMapMenu=False)
        self._colorbar.getAxis("right").setWidth(30)
        self._colorbar.setToolTip("Colour scale: % of the snapshot's samples in the class "
                                  "(50% or more is the brightest)")
        # current shares beside it
        self._bars_plot = pg.PlotItem()
        self._bars_plot.setMenuEnabled(False)
        self._bars_plot.hideButtons()
        self._bars_plot.setMouseEnabled(x=False, y=False)
        self._bars_plot.vb.invertY(True)
        self._bars_plot.setYLink(self._heat_plot)
        self._bars_plot.hideAxis("left")
        # the bars share the heatmap's y axis: same title and bottom-axis heights, so both
        # view boxes span the same pixels and bar k sits beside heatmap row k
        self._bars_plot.getAxis("bottom").setHeight(BOTTOM_AXIS_HEIGHT)
        self._heat_plot.getAxis("bottom").setHeight(BOTTOM_AXIS_HEIGHT)
        self._bars_plot.vb.setToolTip(TIPS["bars"])
        self._bars_plot.setFixedWidth(RIGHT_COLUMN - 60)
        self._bars = pg.BarGraphItem(x0=[0], y=[0], height=[0.7], width=[0])
        self._data_marks = pg.PlotDataItem()           # one short vertical tick per class
        self._data_marks.setToolTip("Share of the class in the real training data")
        self._bars_plot.addItem(self._bars)
        self._bars_plot.addItem(self._data_marks)

        self._cov_plot = plot("coverage", "classes")
        self._cov_curve = pg.PlotDataItem(symbol="o", symbolSize=4, name="samples")
        self._cov_real = pg.PlotDataItem(name="real batch")
        self._cov_low = pg.PlotDataItem(name="alert level")
        self._cov_plot.addItem(self._cov_low)
        self._cov_plot.addItem(self._cov_real)
        self._cov_plot.addItem(self._cov_curve)

        self._kl_plot = plot("kl", "KL (nats)")
        self._kl_curve = pg.PlotDataItem(symbol="o", symbolSize=4)
        self._kl_real = pg.PlotDataItem()
        self._kl_plot.addItem(self._kl_real)
        self._kl_plot.addItem(self._kl_curve)

        self._div_plot = plot("diversity", "diversity")
        self._div_plot.setLabel("bottom", "step")
        self._div_hi = pg.PlotDataItem()
        self._div_lo = pg.PlotDataItem()
        self._div_band = pg.FillBetweenItem(self._div_lo, self._div_hi)
        self._div_real = pg.PlotDataItem()
        self._div_curve = pg.PlotDataItem(symbol="o", symbolSize=4)
        for item in (self._div_band, self._div_real, self._div_curve):
            self._div_plot.addItem(item)

        # big current values to the right of each curve
        self._cov_value = pg.LabelItem(justify="center")
        self._kl_value = pg.LabelItem(justify="center")
        self._div_value = pg.LabelItem(justify="center")
        for lab, tip in ((self._cov_value, "coverage"), (self._kl_value, "kl"),
                         (self._div_value, "diversity")):
            lab.setToolTip(TIPS[tip])
            lab.setFixedWidth(RIGHT_COLUMN)

        for p in (self._heat_plot, self._cov_plot, self._kl_plot):
            p.setXLink(self._div_plot)
        for p in (self._cov_plot, self._kl_plot):
            p.getAxis("bottom").setStyle(showValues=False)
        self._step_plots = (self._heat_plot, self._cov_plot, self._kl_plot, self._div_plot)

    def _relayout(self, with_classes: bool) -> None:
        """Put the rows that apply in the layout: all four with the class view, otherwise
        only diversity."""
        if self._layout_mode is with_classes:
            return
        self._layout_mode = with_classes
        ci = self._glw.ci
        ci.clear()
        if with_classes:
            ci.addItem(self._heat_plot, row=0, col=0)
            ci.addItem(self._colorbar, row=0, col=1)
            ci.addItem(self._bars_plot, row=0, col=2)
            ci.addItem(self._cov_plot, row=1, col=0)
            ci.addItem(self._cov_value, row=1, col=1, colspan=2)
            ci.addItem(self._kl_plot, row=2, col=0)
            ci.addItem(self._kl_value, row=2, col=1, colspan=2)
            ci.addItem(self._div_plot, row=3, col=0)
            ci.addItem(self._div_value, row=3, col=1, colspan=2)
            heights = ROW_HEIGHTS
            layout = ci.layout
            for r, (h, stretch) in enumerate(zip(heights, (4, 2, 2, 3))):
                layout.setRowMinimumHeight(r, h)
                layout.setRowStretchFactor(r, stretch)
        else:
            ci.addItem(self._div_plot, row=0, col=0)
            ci.addItem(self._div_value, row=0, col=1)
            layout = ci.layout
            for r in range(4):
                layout.setRowMinimumHeight(r, 0)
                layout.setRowStretchFactor(r, 1 if r == 0 else 0)
            heights = (ROW_HEIGHTS[-1] + 40,)
        self._glw.setMinimumHeight(sum(heights) + 12)

    # -- public API ------------------------------------------------------------------------------

    def heatmap_image(self) -> Optional[np.ndarray]:
        return self._heat_img.image

    def plot_item(self, name: str) -> pg.PlotItem:
        """"heatmap", "bars", "coverage", "kl" or "diversity"."""
        return {"heatmap": self._heat_plot, "bars": self._bars_plot, "coverage": self._cov_plot,
                "kl": self._kl_plot, "diversity": self._div_plot}[name]

    # -- drawing ---------------------------------------------------------------------------------

    def _set_x_range(self, steps: np.ndarray) -> None:
        if len(steps) == 1:
            lo, hi = steps[0] - 0.5, steps[0] + 0.5
        else:
            _, lo, g = heat_grid(steps, np.zeros((len(steps), 1)))
            cols = int(round((steps[-1] - steps[0]) / g)) + 1
            hi = lo + cols * g
        self._div_plot.setXRange(lo, hi, padding=0)

    def _draw_classes(self, recs: list[dict], steps: np.ndarray) -> None:
        k = max((r["num_classes"] or (len(r["class_hist"]) if r["class_hist"] is not None else 0))
                for r in recs)
        k = max(k, 1)
        hists = np.zeros((len(recs), k))
        for i, r in enumerate(recs):
            h = r["class_hist"]
            if h is not None:
                hists[i, :min(k, len(h))] = h[:k]
        img, x0, g = heat_grid(steps, hists)
        self._heat_img.setImage((100 * img).astype(np.float32), autoLevels=False,
                                levels=HEAT_LEVELS)
        self._heat_img.setRect(QRectF(x0, -0.5, img.shape[1] * g, k))
        self._heat_plot.setYRange(-0.5, k - 0.5, padding=0)
        ticks = [(c, str(c)) for c in range(k)] if k <= 20 else None
        self._heat_plot.getAxis("left").setTicks([ticks] if ticks else None)
        self._heat_geom = (x0, g, img.shape[1], k)

        last = recs[-1]
        cur = np.zeros(k) if last["class_hist"] is None else hists[-1]
        data = last["data_hist"]
        ys = np.arange(k)
        self._bars.setOpts(x0=np.zeros(k), y=ys, height=np.full(k, 0.62), width=100 * cur)
        if data is not None and len(data) >= k:
            xs = np.repeat(100 * np.asarray(data[:k], np.float64), 2)
            self._data_marks.setData(xs, np.stack([ys - 0.42, ys + 0.42], 1).reshape(-1),
                                     connect="pairs")
            self._data_marks.setVisible(True)
        else:
            self._data_marks.setVisible(False)
        top = max(30.0, 100 * float(cur.max()) * 1.08,
                  100 * float(np.max(data[:k])) * 1.08 if data is not None and len(data) else 0)
        self._bars_plot.setXRange(0, top, padding=0)
        spacing = 20 if top <= 70 else 50
        self._bars_plot.getAxis("bottom").setTicks(
            [[(v, f"{v:g}") for v in np.arange(0, top + 1e-9, spacing)]])

        cov = np.array([_float(r["classes_covered"]) for r in recs])
        real_cov = np.array([r["real_classes_covered"] for r in recs])
        self._cov_curve.setData(steps, cov, connect="finite")
        self._cov_real.setData(steps, real_cov, connect="finite")
        self._cov_low.setData(steps, LOW_COVERAGE * real_cov, connect="finite")
        self._cov_plot.setYRange(-0.6, k + 1.6, padding=0)
        self._cov_plot.getAxis("left").setTicks(
            [[(v, str(v)) for v in sorted({0, k // 2, k})]])      # the plot is short
        kl = np.array([r["kl_to_data"] for r in recs])
        real_kl = np.array([r["real_kl"] for r in recs])
        self._kl_curve.setData(steps, kl, connect="finite")
        self._kl_real.setData(steps, real_kl, connect="finite")
        finite = np.concatenate([kl[np.isfinite(kl)], real_kl[np.isfinite(real_kl)], [0.1]])
        self._kl_plot.setYRange(0, float(finite.max()) * 1.12, padding=0)

        n_cov, kk = last["classes_covered"], last["num_classes"] or k
        fg = self.palette().color(QPalette.ColorRole.WindowText).name()
        self._cov_value.setText(self._value_html(
            f"{'n/a' if n_cov is None else n_cov}<span style='font-size:10pt'> / {kk}</span>",
            ["classes covered", f"real batch {_fmt(last['real_classes_covered'], 3)} (dashed)",
             f"alert under {_fmt(LOW_COVERAGE * last['real_classes_covered'], 2)} (dotted)"],
            self._colour("coverage").name(), fg))
        self._kl_value.setText(self._value_html(
            _fmt(last["kl_to_data"]),
            ["nats from the data", f"real batch {_fmt(last['real_kl'], 2)} (dashed)"],
            self._colour("kl").name(), fg))

    def _draw_diversity(self, recs: list[dict], steps: np.ndarray) -> None:
        div = np.array([r["diversity"] for r in recs])
        real = np.array([r["real_diversity"] for r in recs])
        sd = np.array([r["real_diversity_std"] for r in recs])
        sd = np.where(np.isfinite(sd), sd, 0.0)
        self._div_curve.setData(steps, div, connect="finite")
        self._div_real.setData(steps, real, connect="finite")
        ok = np.isfinite(real)
        band_x = steps[ok] if ok.any() else steps[:0]
        if len(band_x) == 1:               # a band needs width: stretch one point a little
            band_x = np.array([band_x[0] - 0.5, band_x[0] + 0.5])
            lo_y = np.repeat(real[ok] - 2 * sd[ok], 2)
            hi_y = np.repeat(real[ok] + 2 * sd[ok], 2)
        else:
            lo_y, hi_y = real[ok] - 2 * sd[ok], real[ok] + 2 * sd[ok]
        self._div_lo.setData(band_x, lo_y)
        self._div_hi.setData(band_x, hi_y)
        vals = np.concatenate([div[np.isfinite(div)], hi_y[np.isfinite(hi_y)]])
        top = float(vals.max()) * 1.1 if len(vals) and vals.max() > 0 else 1.0
        self._div_plot.setYRange(0, top, padding=0)
        space = recs[-1]["diversity_space"]
        unit = {"features": "feature distance", "pixels": "RMS pixel difference"}.get(space, space)
        self._div_plot.setLabel("left", "diversity")
        last = recs[-1]
        fg = self.palette().color(QPalette.ColorRole.WindowText).name()
        ratio = last["diversity"] / last["real_diversity"] if last["real_diversity"] else math.nan
        self._div_value.setText(self._value_html(
            _fmt(last["diversity"]),
            [unit or "mean distance", f"real {_fmt(last['real_diversity'])} "
             f"\u00b1 {_fmt(last['real_diversity_std'], 2)} (dashed)"]
            + ([f"= {100 * ratio:.0f}% of real"] if math.isfinite(ratio) else []),
            self._colour("diversity").name(), fg))

    @staticmethod
    def _value_html(value: str, lines: Sequence[str], colour: str, fg: str) -> str:
        small = "<br>".join(html.escape(t) for t in lines)
        return (f"<div style='text-align:center'><span style='color:{colour}; font-size:15pt; "
                f"font-weight:600'>{value}</span><br><span style='color:{fg}; font-size:8pt'>"
                f"{small}</span></div>")

    def _draw_alert_lines(self, recs: list[dict]) -> None:
        for plot, line in self._alert_lines:
            plot.removeItem(line)
        self._alert_lines = []
        pen = pg.mkPen(self._colour("alert"), width=1.5, style=Qt.PenStyle.DashLine)
        for r in recs:
            if not r["alert"]:
                continue
            for plot in self._step_plots:
                line = pg.InfiniteLine(pos=r["step"], angle=90, movable=False, pen=pen)
                line.setZValue(20)
                line.setToolTip(f"Alert at step {_fmt_int(r['step'])}: {r['alert']}")
                plot.addItem(line, ignoreBounds=True)
                self._alert_lines.append((plot, line))

    # -- hover readout ---------------------------------------------------------------------------

    def _on_plots_mouse_moved(self, evt) -> None:
        pos = evt[0]
        if not self._records:
            return
        for name, plot in (("heatmap", self._heat_plot), ("bars", self._bars_plot),
                           ("coverage", self._cov_plot), ("kl", self._kl_plot),
                           ("diversity", self._div_plot)):
            if plot.scene() is None or not plot.isVisible():
                continue
            if plot.vb.sceneBoundingRect().contains(pos):
                pt = plot.vb.mapSceneToView(pos)
                self._readout.setText(self._readout_html(name, pt.x(), pt.y()))
                return

    def _nearest_record(self, x: float, column: bool = False) -> Optional[dict]:
        """The record nearest to step x; with `column`, the record the heatmap column under
        x shows (the latest at or before the column's centre)."""
        steps = np.array([r["step"] for r in self._records], np.float64)
        if not len(steps) or not math.isfinite(x):
            return None
        if column and len(steps) > 1:
            _, x0, g = heat_grid(steps, np.zeros((len(steps), 1)))
            centre = x0 + (math.floor((x - x0) / g) + 0.5) * g
            i = int(np.searchsorted(steps, centre + 1e-6 * g, side="right")) - 1
            return self._records[min(max(i, 0), len(steps) - 1)]
        return self._records[int(np.argmin(np.abs(steps - x)))]

    def _readout_html(self, name: str, x: float, y: float) -> str:
        if name == "bars":
            rec = self._records[-1]
            k = int(round(y))
            return self._class_text(rec, k) if rec["class_hist"] is not None else " "
        rec = self._nearest_record(x, column=name == "heatmap")
        if rec is None:
            return " "
        head = f"<b>step</b> {_fmt_int(rec['step'])}"
        if name == "heatmap":
            return head + " \u00b7 " + self._class_text(rec, int(round(y)))
        if name == "coverage":
            return (head + f" \u00b7 {rec['classes_covered']} of {rec['num_classes']} classes "
                    f"covered (real batch {_fmt(rec['real_classes_covered'])})")
        if name == "kl":
            return head + f" \u00b7 KL {_fmt(rec['kl_to_data'])} nats (real batch {_fmt(rec['real_kl'])})"
        return (head + f" \u00b7 diversity {_fmt(rec['diversity'])} (real "
                f"{_fmt(rec['real_diversity'])} \u00b1 {_fmt(rec['real_diversity_std'], 2)}) "
                f"\u00b7 {rec['duplicate_pairs']} near-duplicate pairs")

    @staticmethod
    def _class_text(rec: dict, k: int) -> str:
        h, q = rec["class_hist"], rec["data_hist"]
        if h is None or not 0 <= k < len(h):
            return " "
        data = f" (data {100 * q[k]:.0f}%)" if q is not None and k < len(q) else ""
        return f"class <b>{k}</b>: {100 * h[k]:.0f}% of samples{data}"

    # -- look ------------------------------------------------------------------------------------

    def _palette_charts(self, fg: QColor) -> None:
        """Axes, titles, bars, curves and bands in the theme's colours."""
        axis_pen = QColor(fg)
        axis_pen.setAlphaF(0.6)
        for p in (self._heat_plot, self._bars_plot, self._cov_plot, self._kl_plot, self._div_plot):
            for side in ("left", "bottom"):
                ax = p.getAxis(side)
                ax.setPen(pg.mkPen(axis_pen))
                ax.setTextPen(pg.mkPen(fg))
                if ax.label is not None:
                    ax.label.setDefaultTextColor(fg)
        for side in ("right",):
            ax = self._colorbar.getAxis(side)
            ax.setPen(pg.mkPen(axis_pen))
            ax.setTextPen(pg.mkPen(fg))
        titles = (("heatmap", self._heat_plot, "Class share over training"),
                  ("coverage", self._cov_plot, "Classes covered"),
                  ("kl", self._kl_plot, "KL to the data's class mix"),
                  ("diversity", self._div_plot, "Diversity within the snapshot"))
        for _, p, title in titles:
            p.setTitle(html.escape(title), color=fg.name(), size="9pt")
        self._bars_plot.setTitle("Now, %", color=fg.name(), size="9pt")
        self._bars_plot.getAxis("bottom").setStyle(tickLength=3)
        bar_colour = self._colour("bars")
        self._bars.setOpts(brush=pg.mkBrush(bar_colour), pen=pg.mkPen(None))
        self._data_marks.setPen(pg.mkPen(fg, width=2))
        for curve, real, name in ((self._cov_curve, self._cov_real, "coverage"),
                                  (self._kl_curve, self._kl_real, "kl"),
                                  (self._div_curve, self._div_real, "diversity")):
            c = self._colour(name)
            curve.setPen(pg.mkPen(c, width=1.5))
            curve.setSymbolBrush(pg.mkBrush(c))
            curve.setSymbolPen(pg.mkPen(None))
            dim = QColor(fg)
            dim.setAlphaF(0.7)
            real.setPen(pg.mkPen(dim, width=1.2, style=Qt.PenStyle.DashLine))
        low = QColor(self._colour("alert"))
        low.setAlphaF(0.6)
        self._cov_low.setPen(pg.mkPen(low, width=1.2, style=Qt.PenStyle.DotLine))
        band = QColor(fg)
        band.setAlphaF(0.12)
        self._div_band.setBrush(pg.mkBrush(band))
        self._div_lo.setPen(pg.mkPen(None))
        self._div_hi.setPen(pg.mkPen(None))

