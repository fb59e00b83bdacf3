"""The mode-collapse panel: `ModeCollapsePanel` puts the charts and duplicates mixins
together with the alert banner and the summary line; records in, redraws (deferred while
off screen), the palette. `main` is its `python -m widgets.mode_collapse` preview."""
from __future__ import annotations

import html
import math
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy,
                               QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from ..kit import PaletteAware, hint_label
from ..on_screen import is_on_screen
from .charts import MAX_SYMBOLS, ChartsMixin, _Charts
from .duplicates import DuplicatesMixin
from .records import _as_uint8_images, _fmt, _fmt_int, normalise_record
from .texts import HINT, TIPS


_COLOURS = {   # (light, dark)
    "coverage": ("#1f77b4", "#5aa9e6"),
    "kl": ("#d62728", "#ff6b6b"),
    "diversity": ("#2ca02c", "#5fd35f"),
    "bars": ("#ff7f0e", "#ffa64d"),
    "alert": ("#c0392b", "#ff6b5b"),
}


class ModeCollapsePanel(ChartsMixin, DuplicatesMixin, PaletteAware, QWidget):
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

    # -- construction ----------------------------------------------------------------------------

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
        self._hint = hint_label("", "modeHint")
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

    # -- public API ------------------------------------------------------------------------------

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

    # -- read-back (tests, the window) -----------------------------------------------------------

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

    # -- drawing ---------------------------------------------------------------------------------

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

    # -- palette ---------------------------------------------------------------------------------

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
        self._palette_charts(fg)
        if self._records:
            self._redraw()


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from ..preview import fake_collapse, preview_app, preview_parser, show_or_grab

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

