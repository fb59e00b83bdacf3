"""The flow view (widgets/flow_view): a normalizing flow's layers on 2D points, its levels and
per-image likelihoods on images.

It reads the RunSnapshot for what the open run can show (the "flow_layers" capability on 2D
points, "flow_levels" on images), asks the host for the render of the view on screen only
while the panel is on screen, with at most one request in flight, and asks again after each
sample snapshot (the model changed) once the panel is looked at. The panel's own requests
(another image, temperature, more images to score) go out the same way."""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QTimer

from studio.core.snapshot import RunSnapshot
from widgets.on_screen import is_on_screen

from .base import Controller

KINDS = {"layers": "flow_layers", "levels": "flow_levels", "likelihood": "flow_likelihood"}
BUSY = {"layers": "Pushing the data through every layer\u2026",
        "levels": "Encoding the image and decoding its levels\u2026",
        "likelihood": "Scoring test images and samples\u2026"}
POLL_MS = 300
STALE_S = 60.0               # a request unanswered this long no longer blocks the next
UNAVAILABLE = ("The flow view is for normalizing flows (engine 'flow'): on 2D points it shows "
               "the layers and the exact density, on images the levels of the code and the "
               "likelihood of each image.")


class FlowController(Controller):
    RENDERS = tuple(KINDS.values())

    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.mode: Optional[str] = None                  # "points", "images" or None
        self.dirty: set[str] = set()                     # views whose result is out of date
        self.payload: dict[str, dict] = {"layers": {}, "levels": {}, "likelihood": {}}
        self.in_flight: Optional[tuple[str, int, float]] = None   # (view, stamp, sent at)
        self.results: dict[str, Any] = {}
        self.picked: Optional[int] = None
        panel.view_changed.connect(lambda _v: self.poll())
        panel.layers_requested.connect(lambda: self.ask("layers", {}))
        panel.levels_requested.connect(lambda d: self.ask("levels", d))
        panel.likelihood_requested.connect(lambda d: self.ask("likelihood", d))
        session.bus.error_raised.connect(self._on_error)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    # -- the run --------------------------------------------------------------------------------
    def on_run_opened(self, snap: RunSnapshot) -> None:
        self.in_flight = None
        self.results = {}
        self.panel.clear()
        caps = snap.capabilities
        if "flow_layers" in caps and snap.is_2d_points:
            self.mode = "points"
            self.panel.show_points()
            self.dirty = {"layers"}
        elif "flow_levels" in caps and snap.is_images:
            self.mode = "images"
            self.payload["levels"] = {**self.panel.levels.settings(), "index": None}
            self.payload["likelihood"] = self.panel.likelihood.settings()
            self.picked = None
            self.panel.set_picked_image(None)
            self.panel.show_images()
            self.dirty = {"levels", "likelihood"}
        else:
            self.mode = None
            self.dirty = set()
            text = UNAVAILABLE
            if "log_prob" in caps and snap.data_kind == "points":
                text = "The layers view needs a flow on 2D points; this run's points have " \
                       f"{int(np.prod(snap.sample_shape))} dimensions."
            self.panel.set_unavailable(text)
        self.poll()

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        if self.mode == "points":
            self.dirty.add("layers")
        elif self.mode == "images":
            self.dirty |= {"levels", "likelihood"}
        self.poll()

    # -- panel requests ---------------------------------------------------------------------------
    def ask(self, view: str, payload: dict) -> None:
        """The panel asked for `view` with these settings: render it when the one in flight
        (if any) is back."""
        if view == "levels":
            payload = {**payload, "index": payload.get("index")}
        self.payload[view] = dict(payload)
        self.dirty.add(view)
        self.poll()

    def pick_image(self, index: int) -> None:
        """An image clicked in the data set browser: show its levels."""
        self.picked = int(index)
        self.panel.set_picked_image(self.picked)
        if self.mode == "images":
            self.payload["levels"] = {**self.panel.levels.settings(), "index": self.picked}
            self.dirty.add("levels")
            self.poll()

    # -- requests -------------------------------------------------------------------------------
    def poll(self) -> None:
        view = self.panel.view()
        if self.mode is None or view not in self.dirty or self.session.snapshot is None:
            return
        if self.in_flight is not None:
            if time.monotonic() - self.in_flight[2] < STALE_S:
                return
        if not is_on_screen(self.panel):
            return
        self.dirty.discard(view)
        payload = {k: v for k, v in self.payload[view].items() if k != "source"}
        stamp = self.session.host.request_render(KINDS[view], **payload)
        self.in_flight = (view, stamp, time.monotonic())
        self.panel.set_busy(BUSY[view])

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        if self.in_flight is not None and stamp == self.in_flight[1]:
            self.in_flight = None
        elif self.in_flight is not None and stamp < self.in_flight[1]:
            return                                       # an older answer (another run's)
        view = next(v for v, k in KINDS.items() if k == kind)
        self.results[view] = result
        if view == "layers" and self.mode == "points":
            self.panel.set_layers(result)
        elif view == "levels" and self.mode == "images":
            self.panel.set_levels(result)
        elif view == "likelihood" and self.mode == "images":
            self.panel.set_likelihood(result)
        self.poll()

    def _on_error(self, text: str) -> None:
        if self.in_flight is not None and text.startswith(f"render {KINDS[self.in_flight[0]]} "):
            self.in_flight = None
            self.panel.set_busy("The last request failed (see the message).")
