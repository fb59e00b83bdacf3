"""The diffusion scrubber panel: `DiffusionScrubberPanel` puts the display, schedule,
transport and controls mixins together on one widget; its construction, `set_trajectory`,
`clear` and the palette. `main` is its `python -m widgets.diffusion_scrubber` preview."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from ..kit import PaletteAware, hint_label, muted as _muted, with_alpha
from ..sample_gallery import GridGeometry
from .controls import ControlsMixin
from .display import GRID_TITLES, MAX_TRAILS, DisplayMixin
from .schedule import ScheduleMixin
from .trajectory import GRID_KEYS, _normalise_trajectory
from .transport import NO_STEPS_TEXT, TransportMixin


EMPTY_TEXT = "Train or open a diffusion run to scrub its denoising steps"
WIDE = 640                    # panel width from which the control rows go on one line


class DiffusionScrubberPanel(DisplayMixin, ScheduleMixin, TransportMixin, ControlsMixin,
                             PaletteAware, QWidget):
    """Scrub the steps of a diffusion trajectory; run, edit and continue trajectories.

    Signals:
        trajectory_requested(dict): {"mode": "sample" | "forward", "sampler": "ddpm" | "ddim",
            "steps", "eta", "seed", "n"} (Run). The window answers with set_trajectory.
        edit_requested(dict): {"step_index", "t", "index", "action": "renoise" | "swap",
            "seed"} for the selected sample at the current step.
        continue_requested(dict): {"step_index", "t", "x_t" (numpy, the x_t of that step:
            (N, C, H, W) or (N, 2)), "sampler", "steps", "eta", "seed"}.
        export_requested(str): "gif" (trajectory GIF), "x0_grid" (predicted x0 across steps,
            see x0_across_steps), "final" (final samples). The window writes the files.
        step_changed(int, int): (step index, t) of the step on screen.
        sample_selected(int): index of the selected sample (-1: none).
    """

    trajectory_requested = Signal(dict)
    edit_requested = Signal(dict)
    continue_requested = Signal(dict)
    export_requested = Signal(str)
    step_changed = Signal(int, int)
    sample_selected = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._traj: Optional[dict] = None           # normalised, see _normalise_trajectory
        self._raw_traj: Optional[dict] = None       # as given
        self._step = 0
        self._selected: Optional[int] = None
        self._geometry: Optional[GridGeometry] = None
        self._grids: dict[str, np.ndarray] = {}
        self._schedule: Optional[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = None
        self._field_xy: Optional[np.ndarray] = None
        self._field_vec: Optional[np.ndarray] = None      # (M, 2) or per step (S, M, 2)
        self._field_scale = 1.0
        self._trail_idx = np.zeros(0, np.int64)
        self._direction = 1
        self._keep_t: Optional[int] = None          # set by edit/continue: stay at this t
        self._updating_marker = False
        self._wide: Optional[bool] = None
        self._fitting = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._build()
        self._set_fps_interval()
        self._arrange(False)
        self._update_enabled()
        self.apply_palette()

    # -- construction ----------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages, 1)

        self._empty = hint_label(EMPTY_TEXT, "scrubberEmptyState", margin=24)
        self._pages.addWidget(self._empty)

        page = QWidget()
        self._pages.addWidget(page)
        pv = QVBoxLayout(page)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.setSpacing(4)

        self._build_header(pv)
        self._build_run_settings(pv)
        self._build_display(pv)
        self._build_transport(pv)
        self._build_schedule(pv)
        self._build_edit_row(pv)
        self._build_status(root)

    # -- public API: data in ---------------------------------------------------------------------

    def set_trajectory(self, traj: dict, step: Optional[int] = None) -> None:
        """Show a trajectory (see the module docstring for its keys). Opens at `step`; by
        default at the first step, or, when it answers an edit / "Continue from here", at
        the first step with the t that was on screen. Clears busy; keeps the selection if
        the sample still exists."""
        norm = _normalise_trajectory(traj)
        self.pause()
        keep_t, self._keep_t = self._keep_t, None
        self._traj, self._raw_traj = norm, traj
        S, N = norm["xt"].shape[0], norm["xt"].shape[1]
        if self._selected is not None and self._selected >= N:
            self._selected = None
            self.sample_selected.emit(-1)
        if step is None:
            step = 0
            if keep_t is not None:
                hits = np.flatnonzero(norm["t"] == keep_t)
                if hits.size:
                    step = int(hits[0])
        step = int(np.clip(step, 0, S - 1))
        self._geometry = None
        self._grids = {}
        if norm["kind"] == "points":
            self._trail_idx = np.unique(np.round(np.linspace(0, N - 1, min(N, MAX_TRAILS))).astype(np.int64))
            self._fit_points_range()
            self._display.setCurrentWidget(self._plot)
        else:
            for key in GRID_KEYS:
                self._grid_items[key].clear()
                present = norm[key] is not None
                self._grid_titles[key].setText(GRID_TITLES[key] if present
                                               else f"{GRID_TITLES[key]} (not given)")
            truth = norm["x0_true"] is not None
            if truth != (self._layout in ("truth", "truth_row")):
                self._arrange_grids("truth" if truth else "row")
            self._display.setCurrentWidget(self._images_page)
        self._clear_status()
        self._set_slider(step, S - 1)
        self._step = step
        self._update_title()
        self._update_page()
        self._show_step(step, force=True)
        self._update_enabled()
        QTimer.singleShot(0, self, self._fit_heights)

    def clear(self) -> None:
        """Back to the empty state (no schedule, no trajectory, no field)."""
        self.pause()
        self._traj = self._raw_traj = None
        self._selected = None
        self._keep_t = None
        self._geometry = None
        self._grids = {}
        self._step = 0
        for key in GRID_KEYS:
            self._grid_items[key].clear()
            self._grid_rects[key].setVisible(False)
        for item in (self._trails, self._sel_trail):
            item.setData([], [])
        for item in (self._xt_scatter, self._x0_scatter, self._x0_true_scatter, self._sel_ring):
            item.setData([], [])
        self._set_truth_legend(False)
        self._error_label.hide()
        self.set_vector_field(None, None)
        self.set_schedule(np.zeros(0), 0)
        self._set_slider(0, 0)
        self._step_label.setText(NO_STEPS_TEXT)
        self._display.setCurrentWidget(self._ready)
        self._clear_status()
        self._update_title()
        self._update_page()
        self._update_enabled()

    def trajectory(self) -> Optional[dict]:
        """The trajectory dict as given to set_trajectory (None before one)."""
        return self._raw_traj

    # -- look ------------------------------------------------------------------------------------

    def apply_palette(self) -> None:
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        base = pal.color(QPalette.ColorRole.Base)
        muted = _muted(fg, bg)
        for plot in (self._plot, self._sched):
            plot.setBackground(base)
            pi = plot.getPlotItem()
            for name in ("left", "right", "bottom"):
                ax = pi.getAxis(name)
                ax.setPen(pg.mkPen(muted))
                ax.setTextPen(pg.mkPen(fg))
        for legend in (self._legend, self._sched_legend):
            legend.setLabelTextColor(fg)
            for _sample, label in legend.items:           # setAttr alone does not re-render
                label.setText(label.text, color=fg)
            lb = QColor(base)
            lb.setAlphaF(0.75)
            legend.setBrush(pg.mkBrush(lb))
        hint = with_alpha(fg, 0.55).name(QColor.NameFormat.HexArgb)
        self._empty.setStyleSheet(f"color: {hint}; font-size: 11pt;")
        self._palette_display(bg, fg, muted, hint)
        self._palette_schedule(fg, base)
        self._palette_controls(pal, muted)

    # -- Qt overrides ----------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(640, 620)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._arrange(self.width() >= WIDE)
        self._fit_heights()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit_heights()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self._display and event.type() == event.Type.Resize:
            self._fit_heights()
        return super().eventFilter(obj, event)

    # -- state -----------------------------------------------------------------------------------

    def _update_page(self) -> None:
        has = self._traj is not None or self._schedule is not None
        self._pages.setCurrentIndex(1 if has else 0)
        self._sched.setVisible(self._schedule is not None)
        if self._traj is None:
            self._display.setCurrentWidget(self._ready)
        self._update_title()


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from ..preview import (fake_image_trajectory, fake_point_trajectory, preview_app,
                          preview_parser, show_or_grab)

    ap = preview_parser("Preview DiffusionScrubberPanel with fake data.", "900x650")
    ap.add_argument("--points", action="store_true", help="a 2D particle trajectory")
    ap.add_argument("--forward", action="store_true", help="a forward (noising) trajectory")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    ap.add_argument("--ready", action="store_true", help="a schedule but no trajectory yet")
    ap.add_argument("--step", type=int, default=30, help="step index to show")
    ap.add_argument("--select", type=int, default=5, help="sample to select (-1: none)")
    ap.add_argument("--busy", metavar="MSG", help="show a busy message")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = DiffusionScrubberPanel()
    panel.setWindowTitle("DiffusionScrubberPanel preview")
    for name in ("trajectory_requested", "edit_requested", "continue_requested", "export_requested"):
        getattr(panel, name).connect(lambda payload, name=name: print(
            name, {k: (v.shape if isinstance(v, np.ndarray) else v) for k, v in payload.items()}
            if isinstance(payload, dict) else payload))
    if not args.empty:
        if args.points:
            traj, ab, grid_xy, field = fake_point_trajectory()
            panel.set_schedule(ab, len(ab))
            panel.set_vector_field(grid_xy, field)
        else:
            traj, ab = fake_image_trajectory(mode="forward" if args.forward else "sample")
            panel.set_schedule(ab, len(ab))
            if args.forward:
                panel.set_run_settings(mode="forward")
        if not args.ready:
            panel.set_trajectory(traj, step=args.step)
            if args.select >= 0:
                panel.select(args.select)

            def answer_run(req: dict) -> None:
                panel.set_busy(f"Sampling {req['steps']} steps\u2026")
                new = (fake_point_trajectory(n=max(req["n"], 2), steps=req["steps"], seed=req["seed"])[0]
                       if args.points else
                       fake_image_trajectory(n=req["n"], steps=req["steps"], seed=req["seed"],
                                             mode=req["mode"])[0])
                QTimer.singleShot(300, lambda: panel.set_trajectory(new))
            panel.trajectory_requested.connect(answer_run)
    if args.busy:
        panel.set_busy(args.busy)
    return show_or_grab(app, panel, args.size, args.grab)

