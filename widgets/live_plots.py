"""Live training curves: one plot per metric group, EMA smoothing, log-y, step/time x axis,
a crosshair readout, dashed overlays of earlier runs and CSV export.

The main window feeds it with `append(records)` (records are plain dicts as written to
metrics.jsonl: {"step": int, "time": float seconds, "loss/total": float, ...}), connects
`overlay_requested` to a file dialog that ends in `add_overlay(name, records)`, and
`export_requested` to a save dialog that ends in `export_csv(path)`.

The plots share the panel in a grid (as many columns as fit MIN_PLOT_WIDTH, as few as let
every row have COMFORT_PLOT_HEIGHT, scrolling only below MIN_PLOT_HEIGHT), each titled with
its legend so no legend sits on the data.

Preview: ``python -m widgets.live_plots [--grab OUT.png]``.
"""
from __future__ import annotations

import csv
import html
import math
import os
from typing import Iterable, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPalette, QTextDocumentFragment
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QMenu, QScrollArea, QSlider,
    QStackedWidget, QToolButton, QVBoxLayout, QWidget,
)

from .kit import Growing, PaletteAware

__all__ = ["LivePlotsPanel", "ema"]

HINT = "Press Train to see live curves"
SLIDER_STEPS = 1000            # slider int 0..999 -> smoothing factor 0.000..0.999
DEFAULT_SMOOTHING = 0.6
SPARE_PLOTS = 6               # plots built ahead of a run's first metrics (_stock_spares)
MIN_PLOT_WIDTH = 220           # px per plot column
MIN_PLOT_HEIGHT = 105          # px per plot row before the grid starts to scroll
COMFORT_PLOT_HEIGHT = 160      # rows this tall are worth fewer, wider columns
TITLE_HEIGHT = 17              # the title row (group name and legend)
LABEL_GAP = 18                 # px between labelled ticks of a log axis
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


class _Series:
    """One metric key of one run: x in both units, raw y and its EMA (for the current factor)."""

    def __init__(self) -> None:
        self.step = Growing(capacity=1024)
        self.time = Growing(capacity=1024)
        self.y = Growing(capacity=1024)
        self.ema = Growing(capacity=1024)
        self.ema_alpha = 0.0          # the factor `ema` holds; 0: not computed
        self.ema_state = 0.0
        self.ema_count = 0
        self.lo = math.inf            # finite range of y, for the log-y decision
        self.hi = -math.inf

    def __len__(self) -> int:
        return self.y.n

    def extend(self, steps, times, ys, alpha: float) -> None:
        ys = np.asarray(ys, np.float64)
        fresh = alpha > 0.0 and self.ema_alpha == alpha and self.ema.n == self.y.n
        self.step.extend(np.asarray(steps, np.float64))
        self.time.extend(np.asarray(times, np.float64))
        self.y.extend(ys)
        finite = ys[np.isfinite(ys)]
        if finite.size:
            self.lo = min(self.lo, float(finite.min()))
            self.hi = max(self.hi, float(finite.max()))
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


def _log_ticks(lo: float, hi: float, size: float) -> tuple[list[float], list[float]]:
    """(labelled, unlabelled) tick positions in log10 units for a log axis of `size` px
    from lo to hi: the densest of 1..9, 1-2-5, 1-3, 1 x 10^k or every n-th decade whose labels
    stay LABEL_GAP apart; on a range shorter than a decade (30..45, an ELBO's 135..320)
    evenly spaced round values when they give more labels."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or size <= 0:
        return [], []
    px = size / (hi - lo)                                       # pixels per decade
    k0, k1 = math.floor(lo), math.ceil(hi)

    def within(vals) -> list[float]:
        return [v for v in vals if lo - 1e-9 <= v <= hi + 1e-9]

    def spaced(vals: list[float]) -> bool:
        return all(b - a >= LABEL_GAP / px for a, b in zip(vals, vals[1:]))

    candidates = [within(k + math.log10(m) for k in range(k0, k1 + 1) for m in ms)
                  for ms in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3), (1,))]
    candidates += [within(k for k in range(k0, k1 + 1) if k % n == 0)
                   for n in (2, 3, 5, 10, 20, 50, 100)]
    a, b = 10.0 ** lo, 10.0 ** hi
    step = _nice_step((b - a) / 4)
    linear = within(math.log10(v) for v in np.arange(math.ceil(a / step) * step, b * (1 + 1e-9), step)
                    if v > 0)
    fits = [c for c in candidates if c and spaced(c)]
    labelled = next((c for c in fits if len(c) >= 2), fits[0] if fits else [])
    if spaced(linear) and len(linear) > len(labelled) and (hi - lo < 1 or len(labelled) < 2):
        labelled = linear
    dense = px * math.log10(10 / 9) >= 3                       # minor grid lines a few px apart
    minor = candidates[0] if dense else within(range(k0, k1 + 1))
    taken = set(np.round(labelled, 9))
    return labelled, [v for v in minor if round(v, 9) not in taken]


def _nice_step(x: float) -> float:
    """The 1, 2 or 5 x 10^k nearest above x."""
    if not (x > 0 and math.isfinite(x)):
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10.0 ** k >= x:
            return m * 10.0 ** k
    return 10.0 ** (k + 1)


_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")


def _log_label(v: float) -> str:
    """200, 0.05, 35 as plain numbers; 10^8, 2·10^-5 outside 1e-3..1e5."""
    if 1e-3 <= v < 1e5:
        return f"{v:.3g}"
    mantissa, exp = f"{v:.1e}".split("e")
    m = mantissa.rstrip("0").rstrip(".")
    power = "10" + str(int(exp)).translate(_SUPERSCRIPT)
    return power if m == "1" else f"{m}\u00b7{power}"


class _ViewBox(pg.ViewBox):
    """Linked x ranges copy the values: pyqtgraph lines linked views up by screen position,
    which shifts and stretches the x range of a plot that sits beside or spans the first
    one in the grid."""

    def linkedViewChanged(self, view, axis):  # noqa: N802 - pyqtgraph override
        if axis != pg.ViewBox.XAxis or self.linksBlocked or view is None:
            return super().linkedViewChanged(view, axis)
        x1, x2 = view.viewRange()[0]
        view.blockLink(True)
        try:
            self.enableAutoRange(pg.ViewBox.XAxis, False)
            self.setXRange(x1, x2, padding=0)
        finally:
            view.blockLink(False)


def _fixed_size_title(label: pg.LabelItem) -> None:
    """A title that is cut at the plot's edge rather than widening the grid past the panel:
    LabelItem makes its text width its minimum on every setText and resize (updateMin)."""
    def update_min() -> None:
        label.setMinimumSize(0, TITLE_HEIGHT)
        label._sizeHint = {Qt.SizeHint.MinimumSize: (0, TITLE_HEIGHT),
                           Qt.SizeHint.PreferredSize: (0, TITLE_HEIGHT),
                           Qt.SizeHint.MaximumSize: (-1, -1),
                           Qt.SizeHint.MinimumDescent: (0, 0)}
        label.updateGeometry()
    label.updateMin = update_min
    label.setMaximumHeight(TITLE_HEIGHT)
    label.setFlag(label.GraphicsItemFlag.ItemClipsChildrenToShape)
    update_min()


class _YAxis(pg.AxisItem):
    """The left axis. On a log scale it labels only ticks a text line apart (pyqtgraph
    labels every 1..9 x 10^k, which piled into a smear on short ranges) and, for a negative
    series drawn as log(-y) on a flipped axis, writes the true, negative values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.negate = False
        self._labelled: set[float] = set()

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802 - pyqtgraph override
        labelled, minor = _log_ticks(min(minVal, maxVal), max(minVal, maxVal), size)
        self._labelled = set(np.round(labelled, 9))
        return [(None, labelled), (None, minor)]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        sign = "\u2212" if self.negate else ""
        return [f"{sign}{_log_label(10.0 ** v * scale)}" if round(v, 9) in self._labelled else ""
                for v in values]


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

    def __init__(self, group: str, item: pg.PlotItem, vline: pg.InfiniteLine,
                 hline: pg.InfiniteLine):
        self.group = group
        self.item = item
        self.vline = vline
        self.hline = hline
        self.scale = "linear"         # "linear", "log", or "neg": log10(-y) on a flipped axis
        self.note = ""                # why the scale differs from what log y asked for
        self.colour_index: dict[str, int] = {}               # key -> palette slot
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}  # key -> (raw, main)
        self.overlays: dict[tuple[str, str], pg.PlotDataItem] = {}             # (run, key) -> item

    def colour_slot(self, key: str) -> int:
        if key not in self.colour_index:
            self.colour_index[key] = len(self.colour_index)
        return self.colour_index[key]

    def empty(self) -> bool:
        return not self.curves and not self.overlays


class LivePlotsPanel(PaletteAware, QWidget):
    """Live metric curves, one plot per metric group, in a grid with linked x axes."""

    overlay_requested = Signal()          # "Compare with run..." clicked; the window picks a run
    export_requested = Signal()           # "Export CSV..." clicked; the window asks for a path

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._series: dict[str, _Series] = {}
        self._overlays: dict[str, dict[str, _Series]] = {}
        self._overlay_dash: dict[str, Qt.PenStyle] = {}
        self._plots: dict[str, _GroupPlot] = {}
        self._key_groups: dict[str, tuple[str, str]] = {}   # key -> (group, name), see set_key_groups
        self._spare: list[tuple] = []            # plots built ahead, see _stock_spares
        self._alpha = DEFAULT_SMOOTHING
        self._x_mode = "step"
        self._log_y = False
        self._dark = False
        self._cols = 0                           # grid columns of the current layout
        self._build()
        self.apply_palette()

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(3)

        controls = QHBoxLayout()
        controls.setSpacing(6)
        smooth_label = QLabel("Smoothing")
        controls.addWidget(smooth_label)
        self._smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self._smooth_slider.setRange(0, SLIDER_STEPS - 1)
        self._smooth_slider.setValue(round(self._alpha * SLIDER_STEPS))
        self._smooth_slider.setMinimumWidth(40)
        self._smooth_slider.setMaximumWidth(160)
        tip = "EMA factor: 0 shows raw values; the raw curve stays faint behind the smoothed one"
        for w in (smooth_label, self._smooth_slider):
            w.setToolTip(tip)
        self._smooth_slider.valueChanged.connect(self._on_smooth_slider_changed)
        controls.addWidget(self._smooth_slider)
        self._smooth_label = QLabel()
        self._smooth_label.setMinimumWidth(self._smooth_label.fontMetrics().horizontalAdvance("0.000") + 4)
        controls.addWidget(self._smooth_label)
        controls.addSpacing(4)
        self._x_combo = QComboBox()
        self._x_combo.addItems(X_MODES)
        self._x_combo.setToolTip("x axis: the training step or wall time in seconds")
        self._x_combo.currentTextChanged.connect(self._on_x_combo_changed)
        controls.addWidget(self._x_combo)
        self._log_check = QCheckBox("log y")
        self._log_check.setToolTip("Logarithmic y axes. A negative series (an ELBO) is drawn "
                                   "as log of -y on a flipped axis; one that crosses zero "
                                   "stays linear, and its title says so.")
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
        controls.addWidget(self._compare_button)
        self._export_button = QToolButton()
        self._export_button.setText("CSV\u2026")
        self._export_button.setToolTip("Export every curve of this run as CSV (step, time, one "
                                       "column per metric, one row per step)")
        self._export_button.clicked.connect(self.export_requested)
        controls.addWidget(self._export_button)
        root.addLayout(controls)

        self._stack = QStackedWidget()
        self._hint = QLabel(HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._stack.addWidget(self._hint)

        self._glw = pg.GraphicsLayoutWidget()
        self._glw.ci.setContentsMargins(2, 2, 4, 2)
        self._glw.ci.setSpacing(6)
        self._glw.installEventFilter(self)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._glw)
        self._scroll.installEventFilter(self)
        self._stack.addWidget(self._scroll)
        root.addWidget(self._stack, 1)

        # the crosshair readout floats over the plots while the mouse is on one, so it
        # costs no row of the panel and cannot go stale
        self._readout = QLabel(self._scroll)
        self._readout.setTextFormat(Qt.TextFormat.RichText)
        self._readout.setWordWrap(True)
        self._readout.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._readout.hide()

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
        touched = set()
        for key, (steps, times, ys) in cols.items():
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
                self._ensure_live_curve(key)
            series.extend(steps, times, ys, self._alpha)
            touched.add(self._group_of(key))
        for group in touched:
            if not self._update_scale(self._plots[group]):     # a changed scale redraws all
                for key in cols:
                    if self._group_of(key) == group:
                        self._redraw_live(key)
        self._show_plots()

    def clear(self) -> None:
        """Forget everything (new run): curves, overlays, plots; back to the empty hint."""
        self._overlays.clear()
        self._overlay_dash.clear()
        self._rebuild_overlay_menu()
        self._series.clear()
        self._glw.ci.clear()
        self._plots.clear()
        self._cols = 0
        self._glw.setMinimumHeight(0)
        self._hide_crosshair()
        self._hint.setText(HINT)
        self._stack.setCurrentWidget(self._hint)
        self._stock_spares()

    def set_key_groups(self, groups: dict[str, tuple[str, str]]) -> None:
        """Draw some keys in a plot of their own choosing: {key: (group, name)} puts `key`
        in the plot titled `group` with the legend name `name` (e.g. a flow's "loss/total"
        and "test/nll" as "train" and "test" in one "NLL (bits/dim)" plot); other keys keep
        their prefix ("loss/kl" -> plot "loss", name "kl"). Regroups what is shown; clear()
        keeps the mapping (the next run's controller sets its own)."""
        groups = {str(k): (str(g), str(n)) for k, (g, n) in groups.items()}
        if groups == self._key_groups:
            return
        self._key_groups = groups
        if self._series or self._overlays:
            self._regroup()

    def key_groups(self) -> dict[str, tuple[str, str]]:
        return dict(self._key_groups)

    def set_hint(self, text: str) -> None:
        """The text shown while there is nothing to plot (e.g. "Training: the first curves
        come at step 50"); clear() restores the default."""
        self._hint.setText(text or HINT)

    def hint_text(self) -> str:
        """The hint on screen, "" while plots are shown."""
        return self._hint.text() if self._stack.currentWidget() is self._hint else ""

    def export_csv(self, path: str | os.PathLike) -> int:
        """Write every live series (not overlays) to `path`: a header "step,time,<metric>...",
        then one row per step in step order with the raw values; a metric not logged at a
        step is left empty. Returns the number of rows."""
        keys = list(self._series)
        rows: dict[float, dict] = {}
        for j, key in enumerate(keys):
            s = self._series[key]
            for step, t, y in zip(s.step.view(), s.time.view(), s.y.view()):
                row = rows.setdefault(step, {"time": t})
                if not math.isfinite(row["time"]):
                    row["time"] = t
                row[j] = y
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["step", "time", *keys])
            for step in sorted(rows):
                row = rows[step]
                # repr: the shortest text that reads back as the same float
                w.writerow([_csv_step(step), repr(float(row["time"])),
                            *(repr(float(row[j])) if j in row else "" for j in range(len(keys)))])
        return len(rows)

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
            gp = self._ensure_plot(self._group_of(key))
            item = pg.PlotDataItem()
            gp.overlays[(name, key)] = item
            gp.item.addItem(item)
            self._style_overlay(gp, name, key)
        for group in {self._group_of(k) for k in runs}:
            gp = self._plots[group]
            if not self._update_scale(gp):
                self._redraw_group(gp)
            self._update_title(gp)
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
            gp = self._plots.get(self._group_of(key))
            if gp is None:
                continue
            item = gp.overlays.pop((name, key), None)
            if item is not None:
                gp.item.removeItem(item)
        emptied = [g for g, gp in self._plots.items() if gp.empty()]
        for group in emptied:
            self._glw.ci.removeItem(self._plots.pop(group).item)
        for group in {self._group_of(k) for k in runs} - set(emptied):
            gp = self._plots[group]
            self._update_scale(gp)
            self._update_title(gp)
        if emptied:
            self._relayout(force=True)
        if not self._plots:
            self._hide_crosshair()
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
        """Metric groups with a plot, in grid order (left to right, top to bottom)."""
        return list(self._plots)

    def plot_item(self, group: str) -> pg.PlotItem:
        return self._plots[group].item

    def plot_title(self, group: str) -> str:
        """The plot's title as shown (HTML): the group, its legend, and a scale note."""
        return self._plots[group].item.titleLabel.text

    def legend_names(self, group: str) -> list[str]:
        """The names of the live curves in a plot's title legend, in order."""
        return [self._short_name(k) for k in self._plots[group].curves]

    def curve_items(self, key: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        """(faint raw, strong smoothed) items of a live key."""
        return self._plots[self._group_of(key)].curves[key]

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
        """The crosshair readout, "" while the mouse is not on a plot."""
        return "" if self._readout.isHidden() else self._readout.text()

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
        panel_bg = QColor(pal.color(QPalette.ColorRole.Base))
        frame = QColor(fg)
        frame.setAlphaF(0.25)
        self._readout.setStyleSheet(
            f"QLabel {{ background: rgba({panel_bg.red()}, {panel_bg.green()}, {panel_bg.blue()}, 235);"
            f" color: {fg.name()}; border: 1px solid {frame.name(QColor.NameFormat.HexArgb)};"
            f" border-radius: 3px; padding: 1px 4px; font-size: 8pt; }}")
        for gp in self._plots.values():
            self._style_plot(gp)

    # -- plots and curves -------------------------------------------------------------------

    def _colours(self) -> tuple[str, ...]:
        return _COLOURS_DARK if self._dark else _COLOURS_LIGHT

    def _colour(self, gp: _GroupPlot, key: str) -> QColor:
        palette = self._colours()
        return QColor(palette[gp.colour_slot(key) % len(palette)])

    def _stock_spares(self) -> None:
        """Build the plots a run will need before it needs them: a pyqtgraph plot takes
        ~10 ms to build, and a run's first metrics ask for five or more at once, which
        stalled the GUI thread ~85 ms mid-training; here it happens with the panel or the
        new run (clear), when the user has just clicked and waits anyway."""
        while len(self._spare) < SPARE_PLOTS:
            self._spare.append(self._build_plot_parts())

    def _build_plot_parts(self) -> tuple[pg.PlotItem, pg.InfiniteLine, pg.InfiniteLine]:
        """A plot with everything that does not depend on its group: the item, its compact
        axes and title row, the crosshair lines and the CSV action in its menu."""
        item = pg.PlotItem(viewBox=_ViewBox(), axisItems={"left": _YAxis("left")})
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.showGrid(x=True, y=True, alpha=0.18)
        font = self.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        for name in ("left", "bottom"):
            item.getAxis(name).setStyle(tickFont=font, tickTextOffset=3)
        item.getAxis("left").setWidth(46)          # aligned left edges across the grid
        item.getAxis("bottom").setHeight(20)
        item.setMenuEnabled(True)
        item.hideButtons()
        item.setTitle(" ")
        item.layout.setRowFixedHeight(0, TITLE_HEIGHT)
        _fixed_size_title(item.titleLabel)
        menu = item.vb.menu
        if menu is not None:
            menu.addSeparator()
            menu.addAction("Export all curves as CSV\u2026").triggered.connect(self.export_requested)
        vline = pg.InfiniteLine(angle=90, movable=False)
        hline = pg.InfiniteLine(angle=0, movable=False)
        for line in (vline, hline):
            line.setVisible(False)
            line.setZValue(50)
            item.addItem(line, ignoreBounds=True)
        return item, vline, hline

    def _group_of(self, key: str) -> str:
        return self._key_groups[key][0] if key in self._key_groups else _group_of(key)

    def _short_name(self, key: str) -> str:
        return self._key_groups[key][1] if key in self._key_groups else _short_name(key)

    def _regroup(self) -> None:
        """Every plot again from the series and overlays kept (the key groups changed)."""
        self._hide_crosshair()
        self._glw.ci.clear()
        self._plots.clear()
        self._cols = 0
        for key in self._series:
            self._ensure_live_curve(key)
        for name, runs in self._overlays.items():
            for key in runs:
                gp = self._ensure_plot(self._group_of(key))
                item = pg.PlotDataItem()
                gp.overlays[(name, key)] = item
                gp.item.addItem(item)
                self._style_overlay(gp, name, key)
        for gp in self._plots.values():
            if not self._update_scale(gp):
                self._redraw_group(gp)
            self._update_title(gp)
        self._relayout(force=True)
        self._show_plots()

    def _ensure_plot(self, group: str) -> _GroupPlot:
        gp = self._plots.get(group)
        if gp is not None:
            return gp
        item, vline, hline = self._spare.pop() if self._spare else self._build_plot_parts()
        gp = _GroupPlot(group, item, vline, hline)
        self._plots[group] = gp
        self._relayout(force=True)
        self._style_plot(gp)
        return gp

    def _grid_columns(self) -> int:
        """Fewest columns that give every row COMFORT_PLOT_HEIGHT, else MIN_PLOT_HEIGHT,
        else as many as fit MIN_PLOT_WIDTH (and the grid scrolls)."""
        n = len(self._plots)
        if n == 0:
            return 1
        width = self._scroll.width() - self._scroll.verticalScrollBar().sizeHint().width()
        height = self._scroll.height()
        most = max(1, min(n, width // MIN_PLOT_WIDTH))
        for target in (COMFORT_PLOT_HEIGHT, MIN_PLOT_HEIGHT):
            for cols in range(1, most + 1):
                if height / math.ceil(n / cols) >= target:
                    return cols
        return most

    def _relayout(self, force: bool = False) -> None:
        """Place the plots in the grid, row by row; the last plot spans what its row leaves."""
        cols = self._grid_columns()
        if cols == self._cols and not force:
            return
        self._cols = cols
        items = [gp.item for gp in self._plots.values()]
        for item in items:
            if item in self._glw.ci.items:
                self._glw.ci.removeItem(item)
        first = items[0] if items else None
        for i, item in enumerate(items):
            row, col = divmod(i, cols)
            span = cols - col if i == len(items) - 1 else 1
            self._glw.ci.addItem(item, row=row, col=col, colspan=span)
            item.setXLink(None if item is first else first)
        rows = math.ceil(len(items) / cols) if items else 0
        self._glw.setMinimumHeight(MIN_PLOT_HEIGHT * rows)

    def _ensure_live_curve(self, key: str) -> None:
        gp = self._ensure_plot(self._group_of(key))
        raw = pg.PlotDataItem()                            # faint
        main = pg.PlotDataItem()                           # strong, named in the title
        raw.setZValue(1)
        main.setZValue(10)
        gp.item.addItem(raw)
        gp.item.addItem(main)
        gp.curves[key] = (raw, main)
        self._style_curve(gp, key)
        self._update_title(gp)

    def _update_scale(self, gp: _GroupPlot) -> bool:
        """Pick the plot's y scale from log y and its values (live and overlays): log when
        all are positive, log of -y on a flipped axis when all are negative, linear (with a
        note) otherwise. Returns True if it changed (and redrew the plot)."""
        series = [self._series[k] for k in gp.curves] + \
                 [self._overlays[run][k] for run, k in gp.overlays]
        lo = min((s.lo for s in series), default=math.inf)
        hi = max((s.hi for s in series), default=-math.inf)
        if not self._log_y:
            scale, note = "linear", ""
        elif lo > 0:
            scale, note = "log", ""
        elif hi < 0:
            scale, note = "neg", "log scale of \u2212y"
        elif lo <= hi:
            scale, note = "linear", "linear: values \u2264 0"
        else:
            scale, note = "log", ""                        # nothing finite yet
        if (scale, note) == (gp.scale, gp.note):
            return False
        gp.scale, gp.note = scale, note
        gp.item.setLogMode(x=False, y=scale != "linear")
        gp.item.vb.invertY(scale == "neg")
        gp.item.getAxis("left").negate = scale == "neg"
        self._redraw_group(gp)
        gp.item.enableAutoRange(axis=pg.ViewBox.YAxis)
        self._update_title(gp)
        return True

    def _update_title(self, gp: _GroupPlot) -> None:
        """Group name, the scale note, then the legend (a coloured line per curve, a dashed
        one per overlay run): the legend lives in the title row, never on the data."""
        fg = self.palette().color(QPalette.ColorRole.WindowText)
        muted = QColor(fg)
        muted.setAlphaF(0.6)
        m = muted.name(QColor.NameFormat.HexRgb)
        parts = [f"<b>{html.escape(gp.group)}</b>"]
        if gp.note:
            parts.append(f"<span style='color:{m}'><i>({gp.note})</i></span>")
        names = [self._short_name(k) for k in gp.curves]
        if names != [gp.group]:
            parts += [f"<span style='color:{self._colour(gp, k).name()}'>\u2501</span>&nbsp;"
                      f"{html.escape(self._short_name(k))}" for k in gp.curves]
        for run in dict.fromkeys(run for run, _ in gp.overlays):
            parts.append(f"<span style='color:{m}'>\u2504&nbsp;<i>{html.escape(run)}</i></span>")
        gp.item.setTitle("&nbsp;&nbsp;".join(parts), color=fg.name(), size="8pt", justify="left")
        gp.item.layout.setRowFixedHeight(0, TITLE_HEIGHT)
        label = gp.item.titleLabel
        label.setMaximumHeight(TITLE_HEIGHT)
        label.setToolTip(QTextDocumentFragment.fromHtml(" ".join(parts)).toPlainText())

    def _style_plot(self, gp: _GroupPlot) -> None:
        pal = self.palette()
        fg = pal.color(QPalette.ColorRole.WindowText)
        axis_colour = QColor(fg)
        axis_colour.setAlphaF(0.6)
        for name in ("left", "bottom"):
            axis = gp.item.getAxis(name)
            axis.setPen(pg.mkPen(axis_colour))
            axis.setTextPen(pg.mkPen(fg))
        line_colour = QColor(fg)
        line_colour.setAlphaF(0.45)
        for line in (gp.vline, gp.hline):
            line.setPen(pg.mkPen(line_colour, style=Qt.PenStyle.DashLine))
        for key in gp.curves:
            self._style_curve(gp, key)
        for run, key in gp.overlays:
            self._style_overlay(gp, run, key)
        self._update_title(gp)

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

    def _sign(self, key: str) -> float:
        """-1 where the plot shows log10(-y)."""
        return -1.0 if self._plots[self._group_of(key)].scale == "neg" else 1.0

    def _redraw_live(self, key: str) -> None:
        s = self._series[key]
        raw, main = self._plots[self._group_of(key)].curves[key]
        x, sign = s.x(self._x_mode), self._sign(key)
        if self._alpha > 0.0:
            raw.setData(x, s.y.view() * sign if sign < 0 else s.y.view())
        y = s.smoothed(self._alpha)
        main.setData(x, y * sign if sign < 0 else y)

    def _redraw_overlay(self, run: str, key: str) -> None:
        s = self._overlays[run][key]
        item = self._plots[self._group_of(key)].overlays[(run, key)]
        y = s.smoothed(self._alpha)
        item.setData(s.x(self._x_mode), y * self._sign(key))

    def _redraw_group(self, gp: _GroupPlot) -> None:
        for key in gp.curves:
            self._redraw_live(key)
        for run, key in gp.overlays:
            self._redraw_overlay(run, key)

    def _redraw_all(self) -> None:
        for gp in self._plots.values():
            self._redraw_group(gp)

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
            self._update_scale(gp)
        self._hide_crosshair()

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
        self._readout.hide()

    def _on_plots_mouse_moved(self, evt) -> None:
        # the rate-limited proxy may deliver a move after the mouse left: it must not
        # bring the readout back
        if not self._glw.underMouse():
            self._hide_crosshair()
            return
        self._hover(evt[0])

    def _hover(self, pos) -> None:
        """Crosshair and readout at scene position `pos` (hidden off the data areas)."""
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
        self._show_readout(self._readout_html(hovered, x), pos)

    def _show_readout(self, text: str, scene_pos) -> None:
        """At the top of the plots, or at the bottom while the mouse is in the top half, so
        it never covers what the mouse points at."""
        label = self._readout
        label.setText(text)
        width = self._scroll.viewport().width() - 8
        label.setFixedWidth(max(60, width))
        label.adjustSize()
        mouse_y = self._glw.mapTo(self._scroll, self._glw.mapFromScene(scene_pos)).y()
        top = mouse_y > self._scroll.height() / 2
        label.move(4, 4 if top else max(4, self._scroll.height() - label.height() - 4))
        label.raise_()
        label.show()

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
                         f"{html.escape(self._short_name(key))} {value}{raw}")
        for (run, key) in gp.overlays:
            s = self._overlays[run][key]
            i = _nearest(s.x(self._x_mode), x)
            if i is None:
                continue
            colour = self._colour(gp, key).name()
            parts.append(f"<span style='color:{colour}'>\u2012</span> <i>{html.escape(self._short_name(key))}"
                         f" \u00b7 {html.escape(run)}</i> {_fmt(float(s.smoothed(self._alpha)[i]))}")
        return " &nbsp;\u2502&nbsp; ".join(parts)

    # -- Qt events --------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self._glw and event.type() == QEvent.Type.Leave:
            self._hide_crosshair()
        elif obj is self._scroll and event.type() == QEvent.Type.Resize:
            self._relayout()
        return super().eventFilter(obj, event)



def _csv_step(v: float) -> str:
    return str(int(v)) if math.isfinite(v) and float(v).is_integer() else repr(float(v))


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

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_records, preview_app, preview_parser, show_or_grab

    ap = preview_parser("Preview LivePlotsPanel with fake data.", "760x640")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    ap.add_argument("--log", action="store_true", help="log y")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = LivePlotsPanel()
    panel.setWindowTitle("LivePlotsPanel preview")
    panel.set_log_y(args.log)
    if not args.empty:
        records = fake_records(4000)
        for i in range(0, len(records), 500):
            panel.append(records[i:i + 500])
        panel.set_smoothing(0.9)
        panel.add_overlay("run-0412", fake_records(3000, seed=1, scale=1.15)[::2])

    def hover() -> None:                  # the crosshair readout over the loss plot
        if not args.empty:
            gp = panel._plots["loss"]
            scene_pos = gp.item.vb.mapViewToScene(pg.Point(2500, 0))
            scene_pos.setY(gp.item.vb.sceneBoundingRect().center().y())
            panel._hover(scene_pos)

    return show_or_grab(app, panel, args.size, args.grab, before_grab=hover)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
