"""Live training curves: one plot per metric group, EMA smoothing, log-y, step/time x axis,
a crosshair readout and dashed overlays of earlier runs.

The main window feeds it with `append(records)` (records are plain dicts as written to
metrics.jsonl: {"step": int, "time": float seconds, "loss/total": float, ...}) and connects
`overlay_requested` to a file dialog that ends in `add_overlay(name, records)`.

Preview: ``python -m widgets.live_plots [--grab OUT.png]``.
"""
from __future__ import annotations

import html
import math
import sys
from typing import Iterable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QMenu, QScrollArea, QSizePolicy, QSlider,
    QStackedWidget, QToolButton, QVBoxLayout, QWidget,
)

__all__ = ["LivePlotsPanel", "ema"]

HINT = "Press Train to see live curves"
SLIDER_STEPS = 1000            # slider int 0..999 -> smoothing factor 0.000..0.999
DEFAULT_SMOOTHING = 0.6
SPARE_PLOTS = 6               # plots built ahead of a run's first metrics (_stock_spares)
MIN_PLOT_HEIGHT = 170          # px per plot before the stack starts to scroll
X_MODES = ("step", "time")

# Curve colours for light and dark backgrounds (same hue order, the dark set is lighter).
_COLOURS_LIGHT = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                  "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
_COLOURS_DARK = ("#5aa9e6", "#ffa64d", "#5fd35f", "#ff6b6b", "#c39bff",
                 "#d4a59a", "#ff9ee0", "#4fe0f0", "#e0e060", "#c0c0c0")
_OVERLAY_DASHES = (Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine,
                   Qt.PenStyle.DashDotDotLine)


# --------------------------------------------------------------------------------------------
# numpy helpers (no Qt)

def ema(x: np.ndarray, alpha: float, state: float = 0.0, count: int = 0,
        debias: bool = True) -> tuple[np.ndarray, float, int]:
    """Exponential moving average ``e_t = alpha * e_{t-1} + (1 - alpha) * x_t`` with
    ``e_0 = state`` (0 for a fresh series), vectorised.

    With ``debias`` (the default, as TensorBoard does) the output is ``e_t / (1 - alpha**t)``
    where t counts the finite values seen so far, so the curve starts at the first value
    instead of rising from 0. Non-finite inputs are skipped: they leave the state unchanged
    and give NaN in the output (a gap). Returns ``(smoothed, state, count)``; pass the
    returned state/count back in to continue the series incrementally on append.
    """
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    xf = x[finite]
    m = len(xf)
    if m == 0:
        return out, state, count
    a = min(max(float(alpha), 0.0), 0.999999)
    if a == 0.0:
        e = xf.copy()
    else:
        # Closed form per chunk: e_j = a^(j+1) s + (1-a) a^j cumsum(x_i a^-i). Chunks keep
        # a^-i below ~1e150 so nothing overflows; relative error stays ~ j * eps.
        chunk = max(1, min(m, int(150.0 / -math.log10(a))))
        e = np.empty(m)
        s = float(state)
        for start in range(0, m, chunk):
            c = xf[start:start + chunk]
            p = a ** np.arange(len(c), dtype=np.float64)
            seg = a * p * s + (1.0 - a) * p * np.cumsum(c / p)
            e[start:start + len(c)] = seg
            s = float(seg[-1])
    counts = count + np.arange(1, m + 1, dtype=np.float64)
    if debias and a > 0.0:
        out[finite] = e / (1.0 - a ** counts)
    else:
        out[finite] = e
    return out, float(e[-1]), count + m


class _Growing:
    """A preallocated float64 buffer that doubles its capacity when full."""
    __slots__ = ("data", "n")

    def __init__(self, capacity: int = 1024):
        self.data = np.empty(max(16, capacity), np.float64)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        m = len(values)
        need = self.n + m
        if need > len(self.data):
            cap = len(self.data)
            while cap < need:
                cap *= 2
            grown = np.empty(cap, np.float64)
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:need] = values
        self.n = need

    def replace(self, values: np.ndarray) -> None:
        self.n = 0
        self.extend(values)

    def view(self) -> np.ndarray:
        return self.data[:self.n]


class _Series:
    """One metric key of one run: x in both units, raw y and its EMA (for the current factor)."""

    def __init__(self) -> None:
        self.step = _Growing()
        self.time = _Growing()
        self.y = _Growing()
        self.ema = _Growing()
        self.ema_alpha = 0.0          # the factor `ema` holds; 0: not computed
        self.ema_state = 0.0
        self.ema_count = 0

    def __len__(self) -> int:
        return self.y.n

    def extend(self, steps, times, ys, alpha: float) -> None:
        ys = np.asarray(ys, np.float64)
        fresh = alpha > 0.0 and self.ema_alpha == alpha and self.ema.n == self.y.n
        self.step.extend(np.asarray(steps, np.float64))
        self.time.extend(np.asarray(times, np.float64))
        self.y.extend(ys)
        if fresh:                                  # continue the EMA over the new values only
            out, self.ema_state, self.ema_count = ema(ys, alpha, self.ema_state, self.ema_count)
            self.ema.extend(out)
        elif alpha > 0.0:
            self.resmooth(alpha)

    def resmooth(self, alpha: float) -> None:
        if alpha > 0.0:
            out, self.ema_state, self.ema_count = ema(self.y.view(), alpha)
            self.ema.replace(out)
            self.ema_alpha = alpha
        else:
            self.ema.n, self.ema_alpha, self.ema_state, self.ema_count = 0, 0.0, 0.0, 0

    def x(self, mode: str) -> np.ndarray:
        return (self.time if mode == "time" else self.step).view()

    def smoothed(self, alpha: float) -> np.ndarray:
        """The strong curve for `alpha` (the raw values for 0); recomputed if stale."""
        if alpha <= 0.0:
            return self.y.view()
        if self.ema_alpha != alpha or self.ema.n != self.y.n:
            self.resmooth(alpha)
        return self.ema.view()


def _group_of(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else key


def _short_name(key: str) -> str:
    return key.split("/", 1)[1] if "/" in key else key


def _columns(records: Iterable[dict]) -> dict[str, tuple[list, list, list]]:
    """Records -> {key: (steps, times, values)}; non-numeric values are skipped."""
    cols: dict[str, tuple[list, list, list]] = {}
    for i, rec in enumerate(records):
        try:
            step = float(rec.get("step", i))
        except (TypeError, ValueError):
            step = float(i)
        try:
            t = float(rec.get("time", math.nan))
        except (TypeError, ValueError):
            t = math.nan
        for key, value in rec.items():
            if key == "step" or key == "time" or isinstance(value, (str, bytes)):
                continue
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            col = cols.get(key)
            if col is None:
                col = cols[key] = ([], [], [])
            col[0].append(step)
            col[1].append(t)
            col[2].append(v)
    return cols


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{v:.3e}"
    return f"{v:.4g}"


# --------------------------------------------------------------------------------------------
# Qt

class _GroupPlot:
    """Bookkeeping for one metric group's PlotItem (items are created once, then setData)."""

    def __init__(self, group: str, item: pg.PlotItem, legend: pg.LegendItem,
                 vline: pg.InfiniteLine, hline: pg.InfiniteLine):
        self.group = group
        self.item = item
        self.legend = legend
        self.vline = vline
        self.hline = hline
        self.colour_index: dict[str, int] = {}               # key -> palette slot
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}  # key -> (raw, main)
        self.overlays: dict[tuple[str, str], pg.PlotDataItem] = {}             # (run, key) -> item

    def colour_slot(self, key: str) -> int:
        if key not in self.colour_index:
            self.colour_index[key] = len(self.colour_index)
        return self.colour_index[key]

    def empty(self) -> bool:
        return not self.curves and not self.overlays


class LivePlotsPanel(QWidget):
    """Live metric curves, one plot per metric group, stacked with linked x axes."""

    overlay_requested = Signal()          # "Compare with run..." clicked; the window picks a run

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._series: dict[str, _Series] = {}
        self._overlays: dict[str, dict[str, _Series]] = {}
        self._overlay_dash: dict[str, Qt.PenStyle] = {}
        self._plots: dict[str, _GroupPlot] = {}
        self._spare: list[tuple] = []            # plots built ahead, see _stock_spares
        self._alpha = DEFAULT_SMOOTHING
        self._x_mode = "step"
        self._log_y = False
        self._dark = False
        self._build()
        self.apply_palette()

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(3)

        controls = QHBoxLayout()
        controls.setSpacing(6)
        controls.addWidget(QLabel("Smoothing"))
        self._smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self._smooth_slider.setRange(0, SLIDER_STEPS - 1)
        self._smooth_slider.setValue(round(self._alpha * SLIDER_STEPS))
        self._smooth_slider.setMinimumWidth(50)
        self._smooth_slider.setMaximumWidth(160)
        self._smooth_slider.setToolTip("EMA factor: 0 shows raw values; the raw curve stays "
                                       "faint behind the smoothed one")
        self._smooth_slider.valueChanged.connect(self._on_smooth_slider_changed)
        controls.addWidget(self._smooth_slider)
        self._smooth_label = QLabel()
        self._smooth_label.setMinimumWidth(self._smooth_label.fontMetrics().horizontalAdvance("0.000") + 4)
        controls.addWidget(self._smooth_label)
        controls.addSpacing(8)
        controls.addWidget(QLabel("x"))
        self._x_combo = QComboBox()
        self._x_combo.addItems(X_MODES)
        self._x_combo.setToolTip("Plot against the training step or wall time in seconds")
        self._x_combo.currentTextChanged.connect(self._on_x_combo_changed)
        controls.addWidget(self._x_combo)
        self._log_check = QCheckBox("log y")
        self._log_check.toggled.connect(self._on_log_check_toggled)
        controls.addWidget(self._log_check)
        controls.addStretch(1)
        # "Compare...": the button asks for a run; its menu lists the overlays to remove
        self._compare_button = QToolButton()
        self._compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self._compare_button.setToolTip("Compare with run\u2026: draw an earlier run's curves "
                                        "dashed in the same plots (the arrow lists overlays)")
        self._compare_button.clicked.connect(self.overlay_requested)
        self._overlay_menu = QMenu(self._compare_button)
        self._compare_button.setMenu(self._overlay_menu)
        root.addLayout(controls)

        second = QHBoxLayout()                       # crosshair readout | Compare...
        self._readout = QLabel(" ")
        self._readout.setTextFormat(Qt.TextFormat.RichText)
        self._readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._readout.setToolTip("Values at the mouse position (smoothed, raw in brackets)")
        second.addWidget(self._readout, 1)
        second.addWidget(self._compare_button)
        root.addLayout(second)

        self._stack = QStackedWidget()
        self._hint = QLabel(HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._stack.addWidget(self._hint)

        self._glw = pg.GraphicsLayoutWidget()
        self._glw.ci.setContentsMargins(2, 2, 6, 2)
        self._glw.ci.setSpacing(4)
        self._glw.installEventFilter(self)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._glw)
        self._stack.addWidget(self._scroll)
        root.addWidget(self._stack, 1)

        self._mouse_proxy = pg.SignalProxy(self._glw.scene().sigMouseMoved, rateLimit=60,
                                           slot=self._on_plots_mouse_moved)
        self._resmooth_timer = QTimer(self)          # coalesces slider drags into one recompute
        self._resmooth_timer.setSingleShot(True)
        self._resmooth_timer.setInterval(15)
        self._resmooth_timer.timeout.connect(self._resmooth_all)
        self._update_smooth_label()
        self._rebuild_overlay_menu()
        self._stock_spares()

    # -- public API ---------------------------------------------------------------------------

    def append(self, records: list[dict]) -> None:
        """Append metric records; each curve is extended and redrawn once per call."""
        cols = _columns(records)
        if not cols:
            return
        for key, (steps, times, ys) in cols.items():
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
                self._ensure_live_curve(key)
            series.extend(steps, times, ys, self._alpha)
            self._redraw_live(key)
        self._show_plots()

    def clear(self) -> None:
        """Forget everything (new run): curves, overlays, plots; back to the empty hint."""
        self._overlays.clear()
        self._overlay_dash.clear()
        self._rebuild_overlay_menu()
        self._series.clear()
        for gp in self._plots.values():
            gp.legend.clear()
        self._glw.ci.clear()
        self._plots.clear()
        self._glw.setMinimumHeight(0)
        self._readout.setText(" ")
        self._stack.setCurrentWidget(self._hint)
        self._stock_spares()

    def add_overlay(self, name: str, records: list[dict]) -> None:
        """Draw an earlier run's curves dashed in the same plots (replaces an overlay of the
        same name). Overlays are smoothed with the same factor as the live curves."""
        if name in self._overlays:
            self.remove_overlay(name)
        used = set(self._overlay_dash.values())
        dash = next((d for d in _OVERLAY_DASHES if d not in used),
                    _OVERLAY_DASHES[len(self._overlays) % len(_OVERLAY_DASHES)])
        self._overlay_dash[name] = dash
        runs: dict[str, _Series] = {}
        for key, (steps, times, ys) in _columns(records).items():
            series = _Series()
            series.extend(steps, times, ys, self._alpha)
            runs[key] = series
        self._overlays[name] = runs
        for key in runs:
            gp = self._ensure_plot(_group_of(key))
            item = pg.PlotDataItem()       # no legend entry: the Compare menu names the run
            gp.overlays[(name, key)] = item
            gp.item.addItem(item)
            self._style_overlay(gp, name, key)
            self._redraw_overlay(name, key)
        self._rebuild_overlay_menu()
        self._show_plots()

    def remove_overlay(self, name: str) -> None:
        """Remove an overlay's curves; plots left without any curve disappear."""
        runs = self._overlays.pop(name, None)
        self._overlay_dash.pop(name, None)
        if runs is None:
            return
        self._rebuild_overlay_menu()
        for key in runs:
            gp = self._plots.get(_group_of(key))
            if gp is None:
                continue
            item = gp.overlays.pop((name, key), None)
            if item is not None:
                gp.legend.removeItem(item)
                gp.item.removeItem(item)
        emptied = [g for g, gp in self._plots.items() if gp.empty()]
        for group in emptied:
            self._glw.ci.removeItem(self._plots.pop(group).item)
        if emptied:
            self._relayout()
        if not self._plots:
            self._stack.setCurrentWidget(self._hint)

    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    def curve_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the raw live curve of `key` against the current x axis (copies)."""
        s = self._series[key]
        return s.x(self._x_mode).copy(), s.y.view().copy()

    def smoothed_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the strong (EMA-smoothed) live curve of `key` (copies)."""
        s = self._series[key]
        return s.x(self._x_mode).copy(), s.smoothed(self._alpha).copy()

    def overlay_data(self, name: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the raw values of overlay `name` for `key` (copies)."""
        s = self._overlays[name][key]
        return s.x(self._x_mode).copy(), s.y.view().copy()

    def keys(self) -> list[str]:
        return list(self._series)

    def groups(self) -> list[str]:
        """Metric groups with a plot, top to bottom."""
        return list(self._plots)

    def plot_item(self, group: str) -> pg.PlotItem:
        return self._plots[group].item

    def curve_items(self, key: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        """(faint raw, strong smoothed) items of a live key."""
        return self._plots[_group_of(key)].curves[key]

    def overlay_items(self, name: str) -> list[pg.PlotDataItem]:
        return [item for gp in self._plots.values()
                for (run, _key), item in gp.overlays.items() if run == name]

    def smoothing(self) -> float:
        return self._alpha

    def set_smoothing(self, alpha: float) -> None:
        """Set the EMA factor (0..0.999) and recompute now."""
        alpha = min(max(float(alpha), 0.0), (SLIDER_STEPS - 1) / SLIDER_STEPS)
        self._smooth_slider.blockSignals(True)
        self._smooth_slider.setValue(round(alpha * SLIDER_STEPS))
        self._smooth_slider.blockSignals(False)
        self._resmooth_timer.stop()
        self._alpha = alpha
        self._update_smooth_label()
        self._resmooth_all()

    def log_y(self) -> bool:
        return self._log_y

    def set_log_y(self, on: bool) -> None:
        self._log_check.setChecked(bool(on))       # toggled -> _on_log_check_toggled

    def x_axis(self) -> str:
        return self._x_mode

    def set_x_axis(self, mode: str) -> None:
        if mode not in X_MODES:
            raise ValueError(f"x axis must be one of {X_MODES}, got {mode!r}")
        self._x_combo.setCurrentText(mode)         # currentTextChanged -> _on_x_combo_changed

    def readout_text(self) -> str:
        return self._readout.text()

    def apply_palette(self) -> None:
        """Take plot background/foreground from the widget palette (call on theme change;
        palette-change events call it too)."""
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        self._dark = bg.lightnessF() < 0.5
        self._glw.setBackground(bg)
        self._scroll.viewport().setAutoFillBackground(False)
        hint_colour = QColor(fg)
        hint_colour.setAlphaF(0.55)
        self._hint.setStyleSheet(f"color: {hint_colour.name(QColor.NameFormat.HexArgb)}; font-size: 11pt;")
        for gp in self._plots.values():
            self._style_plot(gp)

    # -- plots and curves -------------------------------------------------------------------

    def _colours(self) -> tuple[str, ...]:
        return _COLOURS_DARK if self._dark else _COLOURS_LIGHT

    def _colour(self, gp: _GroupPlot, key: str) -> QColor:
        palette = self._colours()
        return QColor(palette[gp.colour_slot(key) % len(palette)])

    def _stock_spares(self) -> None:
        """Build the plots a run will need before it needs them: a pyqtgraph plot with its
        legend takes ~10 ms to build, and a run's first metrics ask for five or more at once,
        which stalled the GUI thread ~85 ms mid-training; here it happens with the panel or
        the new run (clear), when the user has just clicked and waits anyway."""
        while len(self._spare) < SPARE_PLOTS:
            self._spare.append(self._build_plot_parts())

    @staticmethod
    def _build_plot_parts() -> tuple[pg.PlotItem, pg.LegendItem, pg.InfiniteLine, pg.InfiniteLine]:
        """A plot with everything that does not depend on its group: the item, its legend
        and the crosshair lines."""
        item = pg.PlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.showGrid(x=True, y=True, alpha=0.18)
        item.getAxis("left").setWidth(52)          # aligned left edges across the stack
        item.setMenuEnabled(True)
        item.hideButtons()
        legend = item.addLegend(offset=(-6, 4), labelTextSize="8pt", verSpacing=-6,
                                horSpacing=12, colCount=1)
        vline = pg.InfiniteLine(angle=90, movable=False)
        hline = pg.InfiniteLine(angle=0, movable=False)
        for line in (vline, hline):
            line.setVisible(False)
            line.setZValue(50)
            item.addItem(line, ignoreBounds=True)
        return item, legend, vline, hline

    def _ensure_plot(self, group: str) -> _GroupPlot:
        gp = self._plots.get(group)
        if gp is not None:
            return gp
        item, legend, vline, hline = (self._spare.pop() if self._spare
                                      else self._build_plot_parts())
        item.setLogMode(x=False, y=self._log_y)
        first = next(iter(self._plots.values()), None)
        if first is not None:
            item.setXLink(first.item)
        gp = _GroupPlot(group, item, legend, vline, hline)
        self._plots[group] = gp
        self._glw.ci.addItem(item, row=len(self._plots) - 1, col=0)
        self._glw.setMinimumHeight(MIN_PLOT_HEIGHT * len(self._plots))
        self._style_plot(gp)
        return gp

    def _relayout(self) -> None:
        """Re-stack the plots after one was removed (rows are positional)."""
        items = [gp.item for gp in self._plots.values()]
        for item in items:
            self._glw.ci.removeItem(item)
        first = items[0] if items else None
        for row, item in enumerate(items):
            self._glw.ci.addItem(item, row=row, col=0)
            item.setXLink(None if item is first else first)
        self._glw.setMinimumHeight(MIN_PLOT_HEIGHT * len(items))

    def _ensure_live_curve(self, key: str) -> None:
        gp = self._ensure_plot(_group_of(key))
        raw = pg.PlotDataItem()                            # faint, no legend entry
        main = pg.PlotDataItem(name=_short_name(key))      # strong, in the legend
        raw.setZValue(1)
        main.setZValue(10)
        gp.item.addItem(raw)
        gp.item.addItem(main)
        gp.curves[key] = (raw, main)
        gp.legend.setColumnCount(min(4, len(gp.curves)))   # a compact row or two, top right
        self._style_curve(gp, key)

    def _style_plot(self, gp: _GroupPlot) -> None:
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        axis_colour = QColor(fg)
        axis_colour.setAlphaF(0.6)
        for name in ("left", "bottom"):
            axis = gp.item.getAxis(name)
            axis.setPen(pg.mkPen(axis_colour))
            axis.setTextPen(pg.mkPen(fg))
        gp.item.setTitle(html.escape(gp.group), color=fg.name(), size="9pt")
        legend_bg = QColor(bg)
        legend_bg.setAlphaF(0.75)
        frame = QColor(fg)
        frame.setAlphaF(0.2)
        gp.legend.setBrush(pg.mkBrush(legend_bg))
        gp.legend.setPen(pg.mkPen(frame))
        gp.legend.setLabelTextColor(fg)
        for _sample, label in gp.legend.items:              # LabelItem re-renders on setText
            label.setText(label.text)
        line_colour = QColor(fg)
        line_colour.setAlphaF(0.45)
        for line in (gp.vline, gp.hline):
            line.setPen(pg.mkPen(line_colour, style=Qt.PenStyle.DashLine))
        for key in gp.curves:
            self._style_curve(gp, key)
        for run, key in gp.overlays:
            self._style_overlay(gp, run, key)

    def _style_curve(self, gp: _GroupPlot, key: str) -> None:
        raw, main = gp.curves[key]
        colour = self._colour(gp, key)
        faint = QColor(colour)
        faint.setAlphaF(0.22)
        raw.setPen(pg.mkPen(faint, width=1))
        main.setPen(pg.mkPen(colour, width=1))          # >1 px is ~2x slower to paint
        raw.setVisible(self._alpha > 0.0)

    def _style_overlay(self, gp: _GroupPlot, run: str, key: str) -> None:
        colour = self._colour(gp, key)
        colour.setAlphaF(0.85)
        gp.overlays[(run, key)].setPen(
            pg.mkPen(colour, width=1.4, style=self._overlay_dash.get(run, Qt.PenStyle.DashLine)))

    def _redraw_live(self, key: str) -> None:
        s = self._series[key]
        raw, main = self._plots[_group_of(key)].curves[key]
        x = s.x(self._x_mode)
        if self._alpha > 0.0:
            raw.setData(x, s.y.view())
        main.setData(x, s.smoothed(self._alpha))

    def _redraw_overlay(self, run: str, key: str) -> None:
        s = self._overlays[run][key]
        item = self._plots[_group_of(key)].overlays[(run, key)]
        item.setData(s.x(self._x_mode), s.smoothed(self._alpha))

    def _redraw_all(self) -> None:
        for key in self._series:
            self._redraw_live(key)
        for run, series in self._overlays.items():
            for key in series:
                self._redraw_overlay(run, key)

    def _show_plots(self) -> None:
        if self._plots and self._stack.currentWidget() is not self._scroll:
            self._stack.setCurrentWidget(self._scroll)

    # -- compare menu ------------------------------------------------------------------------

    def _rebuild_overlay_menu(self) -> None:
        menu = self._overlay_menu
        menu.clear()
        ask = menu.addAction("Compare with run\u2026")
        ask.triggered.connect(self.overlay_requested)
        if self._overlays:
            menu.addSeparator()
            for name in self._overlays:
                action = menu.addAction(f"Remove {name}")
                action.setObjectName(f"overlay:{name}")
                action.triggered.connect(lambda _=False, n=name: self._later(self.remove_overlay, n))
            if len(self._overlays) > 1:
                clear = menu.addAction("Remove all overlays")
                clear.triggered.connect(lambda _=False: self._later(self._remove_all_overlays))
        n = len(self._overlays)
        self._compare_button.setText(f"Compare ({n})" if n else "Compare\u2026")

    def _later(self, fn, *args) -> None:
        """Run after the current event: menu actions must not clear their own menu."""
        QTimer.singleShot(0, self, lambda: fn(*args))

    def _remove_all_overlays(self) -> None:
        for name in list(self._overlays):
            self.remove_overlay(name)

    def overlay_actions(self) -> dict[str, QAction]:
        """The "Remove <run>" actions of the Compare menu, by overlay name."""
        return {a.objectName().split(":", 1)[1]: a for a in self._overlay_menu.actions()
                if a.objectName().startswith("overlay:")}

    # -- slots ------------------------------------------------------------------------------

    def _update_smooth_label(self) -> None:
        self._smooth_label.setText(f"{self._smooth_slider.value() / SLIDER_STEPS:.3f}")

    def _on_smooth_slider_changed(self, value: int) -> None:
        self._alpha = value / SLIDER_STEPS
        self._update_smooth_label()
        self._resmooth_timer.start()

    def _resmooth_all(self) -> None:
        for s in self._series.values():
            if s.ema_alpha != self._alpha or s.ema.n != s.y.n:
                s.resmooth(self._alpha)
        for runs in self._overlays.values():
            for s in runs.values():
                if s.ema_alpha != self._alpha or s.ema.n != s.y.n:
                    s.resmooth(self._alpha)
        for gp in self._plots.values():
            for key in gp.curves:
                gp.curves[key][0].setVisible(self._alpha > 0.0)
        self._redraw_all()

    def _on_log_check_toggled(self, on: bool) -> None:
        self._log_y = bool(on)
        for gp in self._plots.values():
            gp.item.setLogMode(x=False, y=self._log_y)

    def _on_x_combo_changed(self, mode: str) -> None:
        self._x_mode = mode if mode in X_MODES else "step"
        self._redraw_all()
        for gp in self._plots.values():
            gp.item.enableAutoRange(axis=pg.ViewBox.XAxis)
        self._hide_crosshair()

    def _hide_crosshair(self) -> None:
        for gp in self._plots.values():
            gp.vline.setVisible(False)
            gp.hline.setVisible(False)

    def _on_plots_mouse_moved(self, evt) -> None:
        pos = evt[0]
        hovered = next((gp for gp in self._plots.values()
                        if gp.item.vb.sceneBoundingRect().contains(pos)), None)
        if hovered is None:
            self._hide_crosshair()
            return
        point = hovered.item.vb.mapSceneToView(pos)
        x = point.x()
        for gp in self._plots.values():
            gp.vline.setPos(x)
            gp.vline.setVisible(True)
            gp.hline.setVisible(gp is hovered)
        hovered.hline.setPos(point.y())
        self._readout.setText(self._readout_html(hovered, x))

    def _readout_html(self, gp: _GroupPlot, x: float) -> str:
        unit = " s" if self._x_mode == "time" else ""
        parts = [f"<b>{self._x_mode}</b> {_fmt(x)}{unit}"]
        for key in gp.curves:
            s = self._series[key]
            i = _nearest(s.x(self._x_mode), x)
            if i is None:
                continue
            colour = self._colour(gp, key).name()
            value = _fmt(float(s.smoothed(self._alpha)[i]))
            raw = f" ({_fmt(float(s.y.data[i]))})" if self._alpha > 0.0 else ""
            parts.append(f"<span style='color:{colour}'>\u25a0</span> "
                         f"{html.escape(_short_name(key))} {value}{raw}")
        for (run, key) in gp.overlays:
            s = self._overlays[run][key]
            i = _nearest(s.x(self._x_mode), x)
            if i is None:
                continue
            colour = self._colour(gp, key).name()
            parts.append(f"<span style='color:{colour}'>\u2012</span> <i>{html.escape(_short_name(key))}"
                         f" \u00b7 {html.escape(run)}</i> {_fmt(float(s.smoothed(self._alpha)[i]))}")
        return " &nbsp;\u2502&nbsp; ".join(parts)

    # -- Qt events --------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self._glw and event.type() == QEvent.Type.Leave:
            self._hide_crosshair()
        return super().eventFilter(obj, event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.apply_palette()


def _nearest(xs: np.ndarray, x: float) -> Optional[int]:
    """Index of the value of sorted `xs` nearest to `x` (None if empty)."""
    n = len(xs)
    if n == 0 or not math.isfinite(x):
        return None
    i = int(np.searchsorted(xs, x))
    if i <= 0:
        return 0
    if i >= n:
        return n - 1
    return i - 1 if abs(x - xs[i - 1]) <= abs(xs[i] - x) else i


# --------------------------------------------------------------------------------------------
# preview

def _fake_records(n: int, seed: int = 0, scale: float = 1.0, test_every: int = 250) -> list[dict]:
    rng = np.random.default_rng(seed)
    steps = np.arange(1, n + 1)
    recon = scale * (60 * np.exp(-steps / 900) + 25) * (1 + 0.12 * rng.standard_normal(n))
    kl = scale * (4 + 10 * (1 - np.exp(-steps / 400))) * (1 + 0.1 * rng.standard_normal(n))
    ms = 14 + 2 * rng.standard_normal(n) + (rng.random(n) < 0.01) * 30
    out = []
    for i, s in enumerate(steps):
        rec = {"step": int(s), "time": float(s * 0.016 + 2.0), "loss/total": float(recon[i] + kl[i]),
               "loss/recon": float(recon[i]), "loss/kl": float(kl[i]),
               "elbo": float(-(recon[i] + kl[i])), "perf/step_ms": float(ms[i])}
        if s % test_every == 0:
            rec["test/elbo"] = float(-(recon[i] + kl[i]) * 1.05)
        out.append(rec)
    return out


def _main(argv: list[str]) -> int:
    import argparse

    from .palettes import dark_palette

    from PySide6.QtWidgets import QApplication

    parser = argparse.ArgumentParser(description="Preview LivePlotsPanel with fake data.")
    parser.add_argument("--grab", metavar="OUT.png", help="save a screenshot and exit")
    parser.add_argument("--empty", action="store_true", help="show the empty state")
    parser.add_argument("--dark", action="store_true", help="preview with a dark palette")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if args.dark:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    panel = LivePlotsPanel()
    panel.resize(760, 640)
    panel.setWindowTitle("LivePlotsPanel preview")
    if not args.empty:
        records = _fake_records(4000)
        for i in range(0, len(records), 500):
            panel.append(records[i:i + 500])
        panel.set_smoothing(0.9)
        panel.add_overlay("run-0412", _fake_records(3000, seed=1, scale=1.15)[::2])
    panel.show()
    if args.grab:
        for _ in range(5):
            app.processEvents()
        if not args.empty:          # show the crosshair readout over the loss plot
            gp = panel._plots["loss"]
            scene_pos = gp.item.vb.mapViewToScene(pg.Point(2500, 0))
            scene_pos.setY(gp.item.vb.sceneBoundingRect().center().y())
            panel._on_plots_mouse_moved((scene_pos,))
            app.processEvents()
        ok = panel.grab().save(args.grab)
        print(f"saved {args.grab}" if ok else f"could not save {args.grab}")
        return 0 if ok else 1
    return app.exec()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
