"""The scrubber's schedule plot (a mixin of DiffusionScrubberPanel): alpha-bar and log10 SNR
against t on two axes, and the draggable marker at the step's t."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout

from ..kit import small_font
from .display import SCHED_MIN, SELECT_COLOUR
from .trajectory import log10_snr


ABAR_COLOUR = (60, 140, 220)
SNR_COLOUR = (230, 110, 20)


class ScheduleMixin:
    """The noise schedule plot: alpha-bar (left axis) and log10 SNR (right axis) against t,
    with a marker at the t on screen that scrubs when dragged."""

    # -- construction ----------------------------------------------------------------------------

    def _build_schedule(self, pv: QVBoxLayout) -> None:
        """The schedule plot: alpha-bar and log10 SNR against t, the draggable t marker."""
        self._sched = pg.PlotWidget()
        self._sched.setObjectName("schedulePlot")
        self._sched.setMenuEnabled(False)
        self._sched.hideButtons()
        self._sched.setMouseEnabled(False, False)
        self._sched.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._sched.setFixedHeight(SCHED_MIN)
        pi = self._sched.getPlotItem()
        pi.showAxis("right")
        for name in ("left", "right", "bottom"):
            ax = pi.getAxis(name)
            ax.setStyle(tickFont=small_font(self.font()), tickTextOffset=2)
        pi.getAxis("left").setWidth(34)
        pi.getAxis("right").setWidth(34)
        pi.getAxis("bottom").setHeight(20)
        self._snr_vb = pg.ViewBox(enableMouse=False, enableMenu=False)
        pi.scene().addItem(self._snr_vb)
        pi.getAxis("right").linkToView(self._snr_vb)
        self._snr_vb.setXLink(pi.vb)
        pi.vb.sigResized.connect(self._sync_snr_view)
        self._abar_curve = pg.PlotDataItem(pen=pg.mkPen(*ABAR_COLOUR, width=2), connect="finite")
        self._snr_curve = pg.PlotDataItem(pen=pg.mkPen(*SNR_COLOUR, width=2), connect="finite")
        self._abar_dot = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(*ABAR_COLOUR))
        self._snr_dot = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(*SNR_COLOUR))
        pi.addItem(self._abar_curve)
        pi.addItem(self._abar_dot)
        self._snr_vb.addItem(self._snr_curve)
        self._snr_vb.addItem(self._snr_dot)
        # no text on the line: in a plot ~90 px high it ran over the legend at large t, and the
        # step label above the plot already says t
        self._marker = pg.InfiniteLine(angle=90, movable=True)
        self._marker.setToolTip("Drag to scrub to the nearest step")
        self._marker.setVisible(False)
        self._marker.sigPositionChanged.connect(self._on_marker_position_changed)
        pi.addItem(self._marker, ignoreBounds=True)
        self._sched_legend = pg.LegendItem(offset=(-4, 2), verSpacing=-6, labelTextSize="8pt")
        self._sched_legend.setParentItem(pi.vb)
        self._place_schedule_legend()
        self._sched_legend.addItem(self._abar_curve, "\u1fb1 (alpha-bar)")
        self._sched_legend.addItem(self._snr_curve, "log10 SNR (right)")
        pv.addWidget(self._sched)

    # -- public API ------------------------------------------------------------------------------

    def set_schedule(self, alpha_bar: np.ndarray, t_max: int) -> None:
        """The noise schedule: alpha-bar for t = 1..t_max ((T,); T may be < t_max, then the
        values are spread evenly over 1..t_max). Draws alpha-bar and log10 SNR against t."""
        ab = np.asarray(alpha_bar, np.float64).reshape(-1)
        if ab.size == 0:
            self._schedule = None
            self._abar_curve.setData([], [])
            self._snr_curve.setData([], [])
            self._update_page()
            return
        t_max = int(t_max) if int(t_max) > 0 else len(ab)
        ts = (np.arange(1, len(ab) + 1, dtype=np.float64) if len(ab) == t_max
              else np.linspace(1, t_max, len(ab)))
        snr = log10_snr(ab)
        self._schedule = (ts, ab, snr, t_max)
        self._abar_curve.setData(ts, ab)
        self._snr_curve.setData(ts, snr)
        pi = self._sched.getPlotItem()
        pi.setXRange(0, t_max, padding=0.02)
        pi.setYRange(0, 1, padding=0.05)
        finite = snr[np.isfinite(snr)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            if hi - lo < 1e-6:
                lo, hi = lo - 1, hi + 1
            self._snr_vb.setYRange(lo, hi, padding=0.05)
        self._marker.setBounds((0, t_max))
        self._update_page()
        self._update_marker()

    # -- look ------------------------------------------------------------------------------------

    def _palette_schedule(self, fg: QColor, base: QColor) -> None:
        """The axes in the curves' colours and the t marker."""
        self._sched.getPlotItem().getAxis("left").setTextPen(pg.mkPen(*ABAR_COLOUR))
        self._sched.getPlotItem().getAxis("right").setTextPen(pg.mkPen(*SNR_COLOUR))
        line = QColor(fg)
        line.setAlphaF(0.8)
        self._marker.setPen(pg.mkPen(line, width=1.5))
        self._marker.setHoverPen(pg.mkPen(QColor(*SELECT_COLOUR), width=2.5))

    # -- marker ----------------------------------------------------------------------------------

    def _update_marker(self) -> None:
        t = self.current_t()
        shown = t is not None and self._schedule is not None
        self._marker.setVisible(shown)
        if not shown:
            self._abar_dot.setData([], [])
            self._snr_dot.setData([], [])
            return
        self._updating_marker = True
        try:
            self._marker.setValue(t)
        finally:
            self._updating_marker = False
        ts, ab, snr, _ = self._schedule
        j = int(np.argmin(np.abs(ts - t)))
        self._abar_dot.setData([ts[j]], [ab[j]])
        self._snr_dot.setData([ts[j]], [snr[j]])
        sample = self._traj is not None and self._traj["mode"] == "sample"
        pi = self._sched.getPlotItem()
        if pi.vb.xInverted() != sample:        # sampling runs from T to 0: so does the axis
            pi.vb.invertX(sample)
            self._snr_vb.invertX(sample)
            self._sync_snr_view()
            self._place_schedule_legend()

    def _place_schedule_legend(self) -> None:
        """Into the top corner at large t, where alpha-bar is ~0 and the log SNR low."""
        if self._sched.getPlotItem().vb.xInverted():
            self._sched_legend.anchor((0, 0), (0, 0), offset=(4, 2))
        else:
            self._sched_legend.anchor((1, 0), (1, 0), offset=(-4, 2))

    def _sync_snr_view(self) -> None:
        vb = self._sched.getPlotItem().vb
        self._snr_vb.setGeometry(vb.sceneBoundingRect())
        self._snr_vb.linkedViewChanged(vb, self._snr_vb.XAxis)

    def _on_marker_position_changed(self) -> None:
        if self._updating_marker or self._traj is None:
            return
        t = self._marker.value()
        i = int(np.argmin(np.abs(self._traj["t"] - t)))
        self.pause()
        self.set_step(i)
        self._update_marker()        # snap to the step's t

