"""The flow view (widgets/flow_view): a normalizing flow's layers on 2D points, its levels and
per-image likelihoods on images.

It reads the RunSnapshot for what the open run can show (the "flow_layers" capability on 2D
points, "flow_levels" on images), asks the host for the render of the view on screen only
while the panel is on screen, with at most one request in flight, and asks again after each
sample snapshot (the model changed) once the panel is looked at. The panel's own requests
(another image, temperature, more images to score) go out the same way."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from studio.core.snapshot import RunSnapshot

from .base import Controller
from .render_queue import RenderQueue

KINDS = {"layers": "flow_layers", "levels": "flow_levels", "likelihood": "flow_likelihood"}
BUSY = {"layers": "Pushing the data through every layer\u2026",
        "levels": "Encoding the image and decoding its levels\u2026",
        "likelihood": "Scoring test images and samples\u2026"}
UNAVAILABLE = ("The flow view is for normalizing flows (engine 'flow'): on 2D points it shows "
               "the layers and the exact density, on images the levels of the code and the "
               "likelihood of each image.")


class FlowController(Controller):
    RENDERS = tuple(KINDS.values())

    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.mode: Optional[str] = None                  # "points", "images" or None
        self.queue = RenderQueue(self, KINDS, self.poll, one_at_a_time=True)
        self.results: dict[str, Any] = {}
        self.picked: Optional[int] = None
        panel.view_changed.connect(lambda _v: self.poll())
        panel.layers_requested.connect(lambda: self.ask("layers", {}))
        panel.levels_requested.connect(lambda d: self.ask("levels", d))
        panel.likelihood_requested.connect(lambda d: self.ask("likelihood", d))

    # -- the run --------------------------------------------------------------------------------
    def on_run_opened(self, snap: RunSnapshot) -> None:
        self.queue.forget()
        self.results = {}
        self.panel.clear()
        caps = snap.capabilities
        if "flow_layers" in caps and snap.is_2d_points:
            self.mode = "points"
            self.queue.reset({"layers": {}})
            self.panel.show_points()
        elif "flow_levels" in caps and snap.is_images:
            self.mode = "images"
            self.picked = None
            self.panel.set_picked_image(None)
            self.queue.reset({"levels": {**self.panel.levels.settings(), "index": None},
                              "likelihood": self.panel.likelihood.settings()})
            self.panel.show_images()
        else:
            self.mode = None
            self.queue.reset({})
            text = UNAVAILABLE
            if "log_prob" in caps and snap.data_kind == "points":
                text = "The layers view needs a flow on 2D points; this run's points have " \
                       f"{int(np.prod(snap.sample_shape))} dimensions."
            self.panel.set_unavailable(text)
        self.poll()

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        if self.mode == "points":
            self.queue.dirty.add("layers")
        elif self.mode == "images":
            self.queue.dirty |= {"levels", "likelihood"}
        self.poll()

    # -- panel requests ---------------------------------------------------------------------------
    def ask(self, view: str, payload: dict) -> None:
        """The panel asked for `view` with these settings: render it when the one in flight
        (if any) is back."""
        if view == "levels":
            payload = {**payload, "index": payload.get("index")}
        self.queue.ask(view, payload)
        self.poll()

    def pick_image(self, index: int) -> None:
        """An image clicked in the data set browser: show its levels."""
        self.picked = int(index)
        self.panel.set_picked_image(self.picked)
        if self.mode == "images":
            self.queue.ask("levels", {**self.panel.levels.settings(), "index": self.picked})
            self.poll()

    # -- requests -------------------------------------------------------------------------------
    def poll(self) -> None:
        if self.mode is None:
            return
        for view in self.queue.due((self.panel.view(),)):
            self.queue.send(view, {k: v for k, v in self.queue.payload[view].items()
                                   if k != "source"})
            self.panel.set_busy(BUSY[view])

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        view = self.queue.take(kind, stamp)
        if view is None:
            return                                       # an older answer (another run's)
        self.results[view] = result
        if view == "layers" and self.mode == "points":
            self.panel.set_layers(result)
        elif view == "levels" and self.mode == "images":
            self.panel.set_levels(result)
        elif view == "likelihood" and self.mode == "images":
            self.panel.set_likelihood(result)
        self.poll()
