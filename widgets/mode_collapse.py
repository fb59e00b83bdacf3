"""Mode-collapse view: what the fixed-z samples are made of, snapshot after snapshot.

- a heatmap of the evaluator's classes over time (x = step, y = class 0..9, colour = share
  of the samples), with the current shares as bars beside it against the data's shares;
- classes covered and KL-to-data curves, each with the value a batch of real images of the
  same size gets (dashed);
- intra-batch diversity with the real-data baseline (dashed) and its +-2 s.d. band;
- a strip of the latest near-duplicate pairs as thumbnails;
- an alert banner (step + message, dismissable) and `alert_raised(int, str)`.

The panel takes plain values: `append_record(record, samples)` where record is a mapping or
any object with the fields of `studio.core.mode_monitor.ModeRecord` (step, n, class_hist,
data_hist, classes_covered, num_classes, kl_to_data, real_kl, real_classes_covered,
diversity, real_diversity, real_diversity_std, diversity_space, duplicates,
duplicate_pairs, duplicate_share, duplicate_threshold, alert), and samples the batch as
(N, C, H, W) uint8 or float in [0, 1]. It never imports studio or torch.

Preview: ``python -m widgets.mode_collapse [--grab OUT.png] [--size WxH] [--dark] [--empty]
[--unavailable] [--pixels]`` (fake data: a GAN whose coverage falls from 10 classes to 3).
"""
from __future__ import annotations

import html
import math
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QStackedWidget, QToolButton,
    QVBoxLayout, QWidget,
)

from .kit import PaletteAware, to_uint8
from .on_screen import is_on_screen
from .thumbnails import thumbnail_scale, to_qimage

__all__ = ["ModeCollapsePanel", "FIELDS", "HINT"]

HINT = ("Mode-collapse charts appear here with the first sample snapshot of an image run "
        "(every \u201csample every\u201d steps while training).")
FIELDS = ("step", "n", "class_hist", "data_hist", "classes_covered", "num_classes", "kl_to_data",
          "real_kl", "real_classes_covered", "diversity", "real_diversity", "real_diversity_std",
          "diversity_space", "duplicates", "duplicate_pairs", "duplicate_share",
          "duplicate_threshold", "alert")
HEAT_LEVELS = (0.0, 50.0)       # colour scale of the heatmap: share 0 .. >= 50 (percent)
MAX_HEAT_COLUMNS = 1500         # the heatmap is resampled onto at most this many steps
MAX_PAIRS_SHOWN = 8             # duplicate pairs in the strip
THUMB_SIDE = 44                 # thumbnail target size in px
MAX_SYMBOLS = 150               # curves show a dot per snapshot up to this many snapshots
ROW_HEIGHTS = (156, 80, 80, 100)   # minimum heights: heatmap, coverage, KL, diversity
RIGHT_COLUMN = 150              # colour bar + current-share bars, px
BOTTOM_AXIS_HEIGHT = 24         # heatmap and bars: equal, so their rows line up
LOW_COVERAGE = 0.5              # studio.core.mode_monitor.AlertRules.low_coverage (drawn dotted)

_COLOURS = {   # (light, dark)
    "coverage": ("#1f77b4", "#5aa9e6"),
    "kl": ("#d62728", "#ff6b6b"),
    "diversity": ("#2ca02c", "#5fd35f"),
    "bars": ("#ff7f0e", "#ffa64d"),
    "alert": ("#c0392b", "#ff6b5b"),
}

TIPS = {
    "heatmap": ("Which digit each fixed-z sample looks like, over training. Every column is "
                "one snapshot; colour is the share of its samples the evaluator labels as "
                "that class (dark = none, yellow = half or more). A healthy model keeps "
                "every row lit at about the data's share; collapse shows as rows going dark "
                "while a few rows light up."),
    "bars": ("Latest snapshot: share of samples per class (bars) against the share in "
             "the real training data (black/white ticks, about 10% each for MNIST)."),
    "coverage": ("Classes covered: how many of the classes get at least one sample in the "
                 "snapshot. Dashed: what a batch of real images of the same size covers; "
                 "dotted: half of that, where the alert waits below. A drop means the "
                 "generator stopped producing some digits."),
    "kl": ("KL to data (nats): how far the samples' class mix is from the data's, "
           "KL(samples || data). 0 is a perfect match; log 10 = 2.3 is everything in one "
           "class. Dashed: the value for a real batch of the same size (sampling noise)."),
    "diversity": ("Diversity: the average distance between two samples of the same "
                  "snapshot (evaluator features, or pixels when no evaluator applies). "
                  "Dashed with band: real images (mean \u00b1 2 s.d.). Falling well below "
                  "the band means the samples look alike."),
    "duplicates": ("Near-duplicates: pairs of samples closer to each other than 99% of real "
                   "images are to their nearest real neighbour. Real batches almost never "
                   "have any; many pairs mean the generator repeats itself."),
    "alert": ("Raised once per drop: classes covered stays under half of a real batch's "
              "(the dotted line) for 3 snapshots in a row at step 1000 or later, falls 2 "
              "below its best, KL rises 0.5 nats above its best, diversity falls below half "
              "the real value, or a quarter of the samples have a near-duplicate. A snapshot "
              "of the samples is saved."),
}


# --------------------------------------------------------------------------------------------
# numpy helpers (no Qt)

def _get(rec: Any, name: str, default: Any = None) -> Any:
    if isinstance(rec, Mapping):
        return rec.get(name, default)
    return getattr(rec, name, default)


def _float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def normalise_record(rec: Any = None, **fields: Any) -> dict[str, Any]:
    """A record (mapping or object with the FIELDS attributes) as a plain dict; keyword
    fields override. Missing numbers become NaN, missing arrays None."""
    d: dict[str, Any] = {name: _get(rec, name) for name in FIELDS} if rec is not None else \
        {name: None for name in FIELDS}
    d.update({k: v for k, v in fields.items() if k in FIELDS})
    if d["step"] is None:
        raise ValueError("a mode-collapse record needs a step")
    d["step"] = int(d["step"])
    d["n"] = int(d["n"]) if d["n"] is not None else 0
    for k in ("class_hist", "data_hist"):
        a = d[k]
        d[k] = None if a is None else np.nan_to_num(np.asarray(a, np.float64).reshape(-1))
    for k in ("kl_to_data", "real_kl", "real_classes_covered", "diversity", "real_diversity",
              "real_diversity_std", "duplicate_share", "duplicate_threshold"):
        d[k] = _float(d[k])
    for k in ("classes_covered", "num_classes"):
        d[k] = None if d[k] is None else int(d[k])
    if d["num_classes"] is None and d["class_hist"] is not None:
        d["num_classes"] = len(d["class_hist"])
    d["duplicates"] = [(int(p[0]), int(p[1]), _float(p[2])) for p in (d["duplicates"] or [])]
    d["duplicate_pairs"] = int(d["duplicate_pairs"]) if d["duplicate_pairs"] is not None \
        else len(d["duplicates"])
    d["diversity_space"] = str(d["diversity_space"] or "")
    d["alert"] = str(d["alert"]) if d["alert"] else None
    return d


def heat_grid(steps: np.ndarray, hists: np.ndarray, max_columns: int = MAX_HEAT_COLUMNS
              ) -> tuple[np.ndarray, float, float]:
    """Resample per-record class shares onto evenly spaced steps so each record spans its
    interval even when snapshots are irregular. steps (T,) increasing, hists (T, K).
    Returns (image (K, cols) with row = class, x0, column width in steps); column c covers
    steps x0 + c * width .. x0 + (c + 1) * width and shows the latest record at or before
    its centre."""
    steps = np.asarray(steps, np.float64)
    hists = np.asarray(hists, np.float64)
    if len(steps) == 1:
        return hists.T.copy(), steps[0] - 0.5, 1.0
    gaps = np.diff(steps)
    pos = gaps[gaps > 0]
    g = float(pos.min()) if len(pos) else 1.0
    span = float(steps[-1] - steps[0])
    cols = int(round(span / g)) + 1
    if cols > max_columns:
        cols = max_columns
        g = span / (cols - 1)
    centres = steps[0] + g * np.arange(cols)
    idx = np.searchsorted(steps, centres + 1e-6 * g, side="right") - 1
    return hists[np.clip(idx, 0, len(steps) - 1)].T.copy(), steps[0] - g / 2, g


def _fmt_int(v: float) -> str:
    return f"{int(v):,}"


def _fmt(v: float, nd: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    a = abs(v)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{v:.2e}"
    return f"{v:.{nd}g}"


def _as_uint8_images(samples: Any) -> Optional[np.ndarray]:
    """(N, C, H, W) uint8 copy of float [0, 1] or uint8 images (None for anything else)."""
    if samples is None:
        return None
    a = np.asarray(samples)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[0] == 0:
        return None
    if a.dtype == np.uint8:
        return a.copy()
    return to_uint8(a)


# --------------------------------------------------------------------------------------------
# Qt

class _Charts(pg.GraphicsLayoutWidget):
    """The chart grid. Its preferred height is its minimum: the scroll area around it sizes
    its body by height-for-width (the duplicates caption wraps), which uses preferred
    heights, and the default 480 px would make it scroll when there is room to spare."""

    def sizeHint(self) -> QSize:
        return QSize(400, self.minimumHeight())


class _PairTile(QFrame):
    """Two thumbnails side by side with their indices and distance."""

    def __init__(self, a: QPixmap, b: QPixmap, i: int, j: int, d: float, parent=None):
        super().__init__(parent)
        self.setObjectName("duplicatePair")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 3, 4, 2)
        lay.setSpacing(1)
        row = QHBoxLayout()
        row.setSpacing(2)
        for pm in (a, b):
            lab = QLabel()
            lab.setPixmap(pm)
            lab.setFixedSize(pm.size())
            row.addWidget(lab)
        lay.addLayout(row)
        cap = QLabel(f"#{i} \u2248 #{j}")
        cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
        small = QFont(cap.font())
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.85))
        cap.setFont(small)
        lay.addWidget(cap)
        self.setToolTip(f"Samples {i} and {j} of the snapshot (0-based, row by row in the "
                        f"sample grid) are {_fmt(d)} apart.")


class ModeCollapsePanel(PaletteAware, QWidget):
    """Class histogram over time, coverage / KL / diversity curves against real data,
    near-duplicate thumbnails and an alert banner (see the module docstring)."""

    alert_raised = Signal(int, str)          # step, message (live records only, not history)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("ModeCollapsePanel")
        self._records: list[dict[str, Any]] = []
        self._samples: Optional[np.ndarray] = None       # uint8 images of the latest record
        self._samples_step: Optional[int] = None
        self._alert_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._pending_alerts = 0
        self._stale = False          # records arrived while hidden: redraw when shown
        self._alert_step: Optional[int] = None
        self._layout_mode: Optional[bool] = None        # True: with class rows
        self._dark = False
        self._build()
        self.apply_palette()
        self._show_hint(HINT)

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(3)

        self._banner = QFrame()
        self._banner.setObjectName("modeAlertBanner")
        self._banner.setToolTip(TIPS["alert"])
        bl = QHBoxLayout(self._banner)
        bl.setContentsMargins(8, 4, 4, 4)
        bl.setSpacing(6)
        self._banner_icon = QLabel("\u26a0")
        big = QFont(self._banner_icon.font())
        big.setPointSizeF(big.pointSizeF() * 1.4)
        self._banner_icon.setFont(big)
        bl.addWidget(self._banner_icon, 0, Qt.AlignmentFlag.AlignTop)
        self._banner_text = QLabel()
        self._banner_text.setObjectName("modeAlertText")
        self._banner_text.setWordWrap(True)
        self._banner_text.setTextFormat(Qt.TextFormat.RichText)
        self._banner_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bl.addWidget(self._banner_text, 1)
        self._dismiss = QToolButton()
        self._dismiss.setObjectName("modeAlertDismiss")
        self._dismiss.setText("\u2715")
        self._dismiss.setAutoRaise(True)
        self._dismiss.setToolTip("Dismiss this alert (the red markers stay in the charts)")
        self._dismiss.clicked.connect(self.dismiss_alert)
        bl.addWidget(self._dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self._banner.setVisible(False)
        root.addWidget(self._banner)

        self._stack = QStackedWidget()
        root.addWidget(self._stack, 1)
        self._hint = QLabel()
        self._hint.setObjectName("modeHint")
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._hint.setMargin(16)
        self._stack.addWidget(self._hint)

        page = QWidget()
        pl = QVBoxLayout(page)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        self._summary = QLabel()
        self._summary.setObjectName("modeSummary")
        self._summary.setTextFormat(Qt.TextFormat.RichText)
        self._summary.setWordWrap(True)
        self._summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._summary.setToolTip("The latest snapshot against a batch of real images of the "
                                 "same size")
        pl.addWidget(self._summary)
        self._readout = QLabel(" ")
        self._readout.setObjectName("modeReadout")
        self._readout.setTextFormat(Qt.TextFormat.RichText)
        self._readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._readout.setToolTip("Values under the mouse")
        pl.addWidget(self._readout)

        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("modeBody")
        self._body_layout = QVBoxLayout(body)
        self._body_layout.setContentsMargins(0, 0, 0, 0)
        self._body_layout.setSpacing(4)
        self._glw = _Charts()
        self._glw.ci.setContentsMargins(2, 2, 4, 2)
        self._glw.ci.setSpacing(3)
        self._glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._body_layout.addWidget(self._glw, 1)
        self._body_layout.addWidget(self._build_duplicates())
        self._scroll.setWidget(body)
        pl.addWidget(self._scroll, 1)
        self._stack.addWidget(page)
        self._page = page

        self._build_plots()
        self._mouse_proxy = pg.SignalProxy(self._glw.scene().sigMouseMoved, rateLimit=60,
                                           slot=self._on_plots_mouse_moved)

    def _build_duplicates(self) -> QWidget:
        box = QFrame()
        box.setObjectName("modeDuplicates")
        lay = QVBoxLayout(box)
        lay.setContentsMargins(2, 0, 2, 0)
        lay.setSpacing(2)
        self._dup_title = QLabel()
        self._dup_title.setObjectName("modeDuplicatesTitle")
        self._dup_title.setWordWrap(True)
        self._dup_title.setTextFormat(Qt.TextFormat.RichText)
        self._dup_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._dup_title.setToolTip(TIPS["duplicates"])
        lay.addWidget(self._dup_title)
        self._dup_scroll = QScrollArea()
        self._dup_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._dup_scroll.setWidgetResizable(True)
        self._dup_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        strip = QWidget()
        self._dup_row = QHBoxLayout(strip)
        self._dup_row.setContentsMargins(0, 0, 0, 0)
        self._dup_row.setSpacing(4)
        self._dup_row.addStretch(1)
        self._dup_scroll.setWidget(strip)
        self._dup_scroll.setVisible(False)
        lay.addWidget(self._dup_scroll)
        self._dup_box = box
        return box

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
        tick_font = QFont(self.font())
        tick_font.setPointSizeF(max(6.5, tick_font.pointSizeF() * 0.85))
        self._heat_plot.getAxis("left").setStyle(tickFont=tick_font, tickTextOffset=3)
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

    # -- public API ---------------------------------------------------------------------------

    def append_record(self, record: Any = None, samples: Any = None, *, alert_note: str = "",
                      **fields: Any) -> None:
        """Add one snapshot's record (a mapping or an object with the FIELDS attributes,
        e.g. a ModeRecord; keyword fields override) and optionally its samples (N, C, H, W)
        uint8 or float [0, 1], used for the duplicate thumbnails. A record at or before the
        last step replaces the records from that step on (a resumed run). A record with an
        alert shows the banner (with `alert_note` as a second line, e.g. where the alert
        snapshot was saved) and emits `alert_raised(step, message)`."""
        rec = normalise_record(record, **fields)
        while self._records and self._records[-1]["step"] >= rec["step"]:
            self._records.pop()
        self._records.append(rec)
        self._samples = _as_uint8_images(samples)
        self._samples_step = rec["step"] if self._samples is not None else None
        self._redraw_when_shown()
        if rec["alert"]:
            self.show_alert(rec["step"], rec["alert"], alert_note)
            self.alert_raised.emit(rec["step"], rec["alert"])

    def set_history(self, records: Iterable[Any]) -> None:
        """Replace everything with earlier records (a reopened run). Their alerts are marked
        in the charts but raise neither the banner nor the signal."""
        self._records = []
        for r in records:
            rec = normalise_record(r)
            while self._records and self._records[-1]["step"] >= rec["step"]:
                self._records.pop()
            self._records.append(rec)
        self._samples = None
        self._samples_step = None
        self.dismiss_alert()
        if self._records:
            self._redraw_when_shown()
        else:
            self._show_hint(HINT)

    def clear(self) -> None:
        """Forget everything (a new run): back to the empty hint."""
        self._records = []
        self._samples = None
        self._samples_step = None
        self.dismiss_alert()
        self._show_hint(HINT)

    def set_unavailable(self, reason: str) -> None:
        """Show why there is nothing to show (e.g. "Mode-collapse view needs image data; 2D
        runs use the canvas."); forgets the records. The next record shows the charts."""
        self._records = []
        self._samples = None
        self._samples_step = None
        self.dismiss_alert()
        self._show_hint(reason)

    def show_alert(self, step: int, message: str, note: str = "") -> None:
        """Show the banner (append_record calls it for records with an alert). `note` adds
        a second line. Showing the same step again updates the text without counting it as
        another alert."""
        if step != self._alert_step or not self.alert_visible():
            self._pending_alerts += 1
        self._alert_step = step
        more = (f" <i>({self._pending_alerts} alerts since the last dismissal; latest "
                f"shown)</i>" if self._pending_alerts > 1 else "")
        text = f"<b>Step {_fmt_int(step)}</b> \u2014 {html.escape(message)}{more}"
        if note:
            text += f"<br><span style='font-size:small'>{html.escape(note)}</span>"
        self._banner_text.setText(text)
        self._banner.setVisible(True)

    def dismiss_alert(self) -> None:
        self._pending_alerts = 0
        self._alert_step = None
        self._banner.setVisible(False)

    # -- read-back (tests, the window) ---------------------------------------------------------

    def record_count(self) -> int:
        return len(self._records)

    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def alert_visible(self) -> bool:
        return not self._banner.isHidden()

    def alert_text(self) -> str:
        return self._banner_text.text()

    def hint_text(self) -> str:
        return self._hint.text() if self._stack.currentWidget() is self._hint else ""

    def summary_text(self) -> str:
        return self._summary.text()

    def duplicate_tiles(self) -> list[QWidget]:
        return [self._dup_row.itemAt(i).widget() for i in range(self._dup_row.count())
                if self._dup_row.itemAt(i).widget() is not None]

    def heatmap_image(self) -> Optional[np.ndarray]:
        return self._heat_img.image

    def plot_item(self, name: str) -> pg.PlotItem:
        """"heatmap", "bars", "coverage", "kl" or "diversity"."""
        return {"heatmap": self._heat_plot, "bars": self._bars_plot, "coverage": self._cov_plot,
                "kl": self._kl_plot, "diversity": self._div_plot}[name]

    # -- drawing ------------------------------------------------------------------------------

    def _show_hint(self, text: str) -> None:
        self._hint.setText(text)
        self._readout.setText(" ")
        self._stack.setCurrentWidget(self._hint)

    def _colour(self, name: str) -> QColor:
        return QColor(_COLOURS[name][1 if self._dark else 0])

    def _redraw_when_shown(self) -> None:
        """A panel off screen (a background tab) only notes that it is stale: its redraw
        (~50 ms of pyqtgraph work) would otherwise stall the GUI thread for a chart nobody
        sees. It catches up when shown (showEvent, or refresh_if_stale from its dock)."""
        if is_on_screen(self):
            self._redraw()
        else:
            self._stale = True

    def refresh_if_stale(self) -> None:
        if self._stale:
            self._redraw()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh_if_stale()

    def _redraw(self) -> None:
        self._stale = False
        recs = self._records
        if not recs:
            self._show_hint(HINT)
            return
        self._stack.setCurrentWidget(self._page)
        steps = np.array([r["step"] for r in recs], np.float64)
        with_classes = any(r["class_hist"] is not None for r in recs)
        self._relayout(with_classes)
        symbol = "o" if len(recs) <= MAX_SYMBOLS else None      # dots only while they help
        for curve in (self._cov_curve, self._kl_curve, self._div_curve):
            if curve.opts["symbol"] != symbol:
                curve.setSymbol(symbol)
        if with_classes:
            self._draw_classes(recs, steps)
        self._draw_diversity(recs, steps)
        self._draw_alert_lines(recs)
        self._set_x_range(steps)
        self._draw_summary(recs[-1], with_classes)
        self._draw_duplicates(recs[-1])

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

    def _draw_summary(self, last: dict, with_classes: bool) -> None:
        bad = self._colour("alert").name()

        def flag(text: str, is_bad: bool) -> str:
            return f"<b style='color:{bad}'>{text}</b>" if is_bad else f"<b>{text}</b>"

        parts = [f"Step <b>{_fmt_int(last['step'])}</b> \u00b7 {last['n']} samples"]
        if with_classes and last["classes_covered"] is not None:
            k = last["num_classes"]
            real_cov = last["real_classes_covered"]
            low = math.isfinite(real_cov) and last["classes_covered"] <= real_cov - 2
            covered = f"{last['classes_covered']}/{k}"
            parts.append(f"{flag(covered, low)} classes")
            kl_bad = math.isfinite(last["real_kl"]) and last["kl_to_data"] > last["real_kl"] + 0.5
            parts.append(f"KL {flag(_fmt(last['kl_to_data']), kl_bad)} nats")
        ratio = last["diversity"] / last["real_diversity"] if last["real_diversity"] else math.nan
        parts.append(f"diversity {flag(_fmt(last['diversity']), math.isfinite(ratio) and ratio < 0.5)}"
                     + (f" ({100 * ratio:.0f}% of real)" if math.isfinite(ratio) else ""))
        pairs = last["duplicate_pairs"]
        parts.append(f"{flag(str(pairs), pairs > 0)} near-duplicate pair{'s' if pairs != 1 else ''}")
        text = " \u00b7 ".join(parts)
        if not with_classes:
            text += ("<br><span style='font-size:small'>No class view: the digit evaluator "
                     "needs 1\u00d728\u00d728 images. Diversity and near-duplicates are "
                     "measured in pixels.</span>")
        self._summary.setText(text)

    def _draw_duplicates(self, last: dict) -> None:
        for w in self.duplicate_tiles():
            self._dup_row.removeWidget(w)
            w.deleteLater()
        pairs = last["duplicates"]
        total = last["duplicate_pairs"]
        thr = last["duplicate_threshold"]
        where = f"the latest snapshot (step {_fmt_int(last['step'])})"
        if not pairs and not total:
            self._dup_title.setText(f"<b>Near-duplicates:</b> none in {where}.")
            self._dup_scroll.setVisible(False)
            return
        share = last["duplicate_share"]
        involved = (f"; {round(share * last['n'])} of {last['n']} samples involved"
                    if math.isfinite(share) and last["n"] else "")
        shown = min(len(pairs), MAX_PAIRS_SHOWN)
        closest = f", the {shown} closest shown" if shown < total else ""
        text = (f"<b>Near-duplicates:</b> {total} pair{'s' if total != 1 else ''} in {where} "
                f"closer than {_fmt(thr)}{involved}{closest}.")
        imgs = self._samples if self._samples_step == last["step"] else None
        if imgs is None:
            self._dup_title.setText(text + " <i>Thumbnails appear for live snapshots.</i>")
            self._dup_scroll.setVisible(False)
            return
        self._dup_title.setText(text)
        n, _, h, w = imgs.shape
        scale, _side = thumbnail_scale(h, w, THUMB_SIDE)
        cache: dict[int, QPixmap] = {}

        def pix(i: int) -> QPixmap:
            if i not in cache:
                cache[i] = QPixmap.fromImage(to_qimage(imgs[i], scale))
            return cache[i]

        tiles = 0
        for i, j, d in pairs[:MAX_PAIRS_SHOWN]:
            if not (0 <= i < n and 0 <= j < n):
                continue
            self._dup_row.insertWidget(self._dup_row.count() - 1, _PairTile(pix(i), pix(j), i, j, d))
            tiles += 1
        self._dup_scroll.setVisible(tiles > 0)
        if tiles:
            tile_h = self.duplicate_tiles()[0].sizeHint().height()
            sb = self._dup_scroll.horizontalScrollBar().sizeHint().height()
            self._dup_scroll.setFixedHeight(tile_h + sb + 2)

    # -- hover readout -------------------------------------------------------------------------

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

    # -- palette --------------------------------------------------------------------------------

    def apply_palette(self) -> None:
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        self._dark = bg.lightnessF() < 0.5
        self._glw.setBackground(bg)
        hint = QColor(fg)
        hint.setAlphaF(0.6)
        self._hint.setStyleSheet(f"color: {hint.name(QColor.NameFormat.HexArgb)}; font-size: 11pt;")
        alert = self._colour("alert")
        fill = QColor(alert)
        fill.setAlphaF(0.16 if not self._dark else 0.28)
        self._banner.setStyleSheet(
            f"QFrame#modeAlertBanner {{ background: {fill.name(QColor.NameFormat.HexArgb)}; "
            f"border: 1px solid {alert.name()}; border-radius: 4px; }}"
            f"QFrame#modeAlertBanner QLabel {{ background: transparent; border: none; "
            f"color: {fg.name()}; }}")
        self._banner_icon.setStyleSheet(f"color: {alert.name()}; background: transparent;")
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
        if self._records:
            self._redraw()



# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_collapse, preview_app, preview_parser, show_or_grab

    ap = preview_parser("Preview ModeCollapsePanel with fake data.", "900x650")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    ap.add_argument("--unavailable", action="store_true", help="show the 2D-run message")
    ap.add_argument("--pixels", action="store_true", help="no evaluator: pixel space only")
    ap.add_argument("--history", action="store_true", help="load as history (no banner)")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = ModeCollapsePanel()
    panel.setWindowTitle("ModeCollapsePanel preview")
    panel.alert_raised.connect(lambda step, msg: print(f"alert_raised({step}, {msg!r})"))
    if args.unavailable:
        panel.set_unavailable("Mode-collapse view needs image data; 2D runs use the canvas.")
    elif not args.empty:
        records, samples = fake_collapse(with_classes=not args.pixels)
        if args.history:
            panel.set_history(records)
        else:
            for rec in records[:-1]:
                note = f"Samples saved to samples/alert-step{rec['step']:08d}.png"
                panel.append_record(rec, alert_note=note if rec["alert"] else "")
            panel.append_record(records[-1], samples)

    def hover() -> None:                  # the readout of the middle of a chart
        if panel.record_count():
            vb = panel.plot_item("diversity" if args.pixels else "heatmap").vb
            panel._on_plots_mouse_moved((vb.sceneBoundingRect().center(),))

    return show_or_grab(app, panel, args.size, args.grab, before_grab=hover)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
