"""Connects the 2D canvas panel to the engine host (Qt shell, not part of the headless core).

The canvas never asks the engine anything itself. While it is visible and the open run is on
2D points, this controller asks the host for a "canvas" render (studio.core.renders.canvas) at most
every FRAME_INTERVAL_MS while training runs, and once after anything else changed the model
(a single step, a discriminator-only or generator-only step, a new or reopened run). At most
one request is in flight, so a slow frame (a diffusion model sampling 2,500 points) lowers the
frame rate instead of piling up work on the training thread.

A single-player step's result reaches the GUI as the host's status message ("one
discriminator step: loss/d 0.69, ...", studio.core.host._cmd_phase) together with the samples of
the step it was taken at; the controller hands both to the panel (PointCanvasPanel.
show_phase_step), which shows which player moved, its loss and the count of such steps.

A drawn distribution is saved as an .npz (points, and the centres and sigma of the blobs
placed with the Mode tool) under <runs>/drawings/, loaded as the data set, and trained with
the engine and settings of the run controls.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QTimer

from studio.core.snapshot import RunSnapshot
from widgets.point_canvas import CanvasFrame, PointCanvasPanel

from .base import Controller

FRAME_INTERVAL_MS = 100
_PHASE_MESSAGE = re.compile(r"one (discriminator|generator) step:(.*)")


def parse_phase_message(text: str) -> Optional[tuple[str, dict[str, float]]]:
    """("discriminator" | "generator", {metric: value}) of the host's message after a
    single-player step, or None for any other message."""
    m = _PHASE_MESSAGE.fullmatch(text.strip())
    if m is None:
        return None
    values: dict[str, float] = {}
    for item in m.group(2).split(","):
        key, _, value = item.strip().rpartition(" ")
        try:
            values[key] = float(value)
        except ValueError:
            continue
    return m.group(1), values


class CanvasController(Controller):
    RENDERS = ("canvas",)

    def __init__(self, session, panel: PointCanvasPanel):
        super().__init__(session, panel)
        self.active = False              # the open run is on 2D points
        self.dirty = False               # the model changed since the last frame
        self.in_flight = False
        self.last_metrics_step = -1
        self.pending_drawing: Optional[Path] = None
        self._phase_pending: Optional[tuple[str, dict[str, float]]] = None
        self.frames_shown = 0
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

        panel.play_requested.connect(self._on_panel_play)
        panel.pause_requested.connect(session.on_pause)
        panel.step_requested.connect(self._on_panel_step)
        panel.slow_motion_changed.connect(lambda ms: self.host.set_step_delay(ms))
        panel.distribution_drawn.connect(self._on_panel_distribution_drawn)
        session.bus.status_message.connect(self._on_bus_status)
        session.bus.job_finished.connect(self._on_bus_job_finished)
        self._timer.start()

    # -- host events --------------------------------------------------------------------------
    @property
    def host(self):
        return self.session.host

    def on_run_opened(self, snap: RunSnapshot) -> None:
        self.active = snap.is_2d_points
        self.panel.clear()
        self.last_metrics_step = -1
        if not self.active:
            return
        self.panel.set_phase_steps_available(bool(snap.phases))
        self.session.raise_panel(self.panel.objectName())   # the best view of a model of 2D points
        self.panel.set_slow_motion(0)
        self.host.set_step_delay(0)
        self.dirty = True
        self._request()

    def on_samples(self, step: int, _samples: Any) -> None:
        self.dirty = True
        # the host posts a single-player step's message and samples together; the bus emits
        # the message first, so the samples carry the step it was taken at
        if self._phase_pending is not None:
            kind, values = self._phase_pending
            self._phase_pending = None
            if self.active:
                self.panel.show_phase_step(kind, step, values)

    def _on_bus_status(self, text: str) -> None:
        self._phase_pending = parse_phase_message(text)

    def on_state(self, state: str, _message: str, _step: int) -> None:
        self.panel.set_running(state == "running")
        self.dirty = True

    def _on_timer_timeout(self) -> None:
        if self.dirty or self.session.state == "running":
            self._request()

    def _visible(self) -> bool:
        dock = self.session.dock(self.panel.objectName())
        return not dock.visibleRegion().isEmpty() and dock.isVisible()

    def _request(self) -> None:
        if not self.active or self.in_flight or not self._visible():
            return
        self.in_flight = True
        self.dirty = False
        self.host.request_render("canvas")

    def on_render(self, kind: str, _stamp: int, result: Any) -> None:
        self.in_flight = False
        if not self.active:
            return
        self.show(result)

    def show(self, r: dict) -> None:
        self.panel.set_frame(CanvasFrame(
            step=int(r["step"]), real=r["real"], fake=r["fake"],
            field_x=r.get("field_x"), field_y=r.get("field_y"),
            field_values=r.get("field_values"), field_label=r.get("field_label", ""),
            field_kind=r.get("field_kind", "critic"), field_log_values=r.get("field_log_values"),
            field_log_label=r.get("field_log_label", ""),
            arrows_at=r.get("arrows_at"), arrows=r.get("arrows"), manifold=r.get("manifold"),
            modes=r.get("modes"), mode_sigma=float(r.get("mode_sigma", 0.0))))
        m = r.get("mode_scores")
        if m is not None and int(r["step"]) != self.last_metrics_step:
            self.last_metrics_step = int(r["step"])
            self.panel.append_mode_metrics(int(r["step"]), m["modes_captured"], m["num_modes"],
                                           m["high_quality_fraction"], m["reverse_kl"],
                                           m["per_mode_counts"])
        self.frames_shown += 1

    # -- panel events ---------------------------------------------------------------------------
    def _on_panel_play(self) -> None:
        if self.session.state in ("paused", "stopped"):
            self.session.on_resume()
        else:
            self.session.on_train()

    def _on_panel_step(self, kind: str) -> None:
        if kind == "both":
            self.session.on_step()
        else:
            self.host.step_phase(kind)

    def _on_panel_distribution_drawn(self, drawing: dict) -> None:
        path = save_drawing(self.session.runs_dir / "drawings", drawing)
        self.pending_drawing = path
        self.session.load_data("npz", {"path": str(path), "test_fraction": 0.1})

    def _on_bus_job_finished(self, job: str, result: Any) -> None:
        if job != "dataset" or self.pending_drawing is None:
            return
        name, options, _ds = result
        if name == "npz" and Path(options.get("path", "")) == self.pending_drawing:
            self.pending_drawing = None
            if self.session.state == "running":
                self.host.stop()
            if self.session.on_new_run():
                self.host.train()


def save_drawing(folder: Path, drawing: dict) -> Path:
    """The canvas's drawing as an .npz the `npz` data source reads: x (N, 2), and when blobs
    were placed, their centres as `modes` and their sigma as `mode_sigma`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"drawing-{time.strftime('%Y%m%d-%H%M%S')}.npz"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"drawing-{time.strftime('%Y%m%d-%H%M%S')}-{n}.npz"
    arrays = {"x": np.asarray(drawing["x"], np.float32)}
    modes = drawing.get("modes")
    if modes is not None and len(modes) and float(drawing.get("sigma", 0.0)) > 0:
        arrays["modes"] = np.asarray(modes, np.float32)
        arrays["mode_sigma"] = np.float32(drawing["sigma"])
    np.savez(path, **arrays)
    return path
