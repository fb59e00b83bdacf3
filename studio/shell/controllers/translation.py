"""The translation view (widgets/translation_view): an image-to-image translator's strip,
drawing canvas and steganography probe, live while it trains.

It reads the RunSnapshot for what the open run can show (capability "translate" on a data
set with two sides; "translate_back" adds the direction switch, the way back and the probe;
"sr_stages" the SRGAN rows) and asks the host for the renders of the tab on screen only
while the panel is on screen, at most one request of each kind in flight, again after each
sample snapshot (the model changed: the strip and the drawing follow training without any
per-step signal) and at once when the panel asks (a stroke, the noise slider, new inputs).
Each render kind keeps the newest payload: a fast drawing sends its latest state as soon as
the previous translation is back."""
from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.snapshot import RunSnapshot

from .base import Controller
from .render_queue import RenderQueue

KINDS = {"strip": "translation_strip", "draw": "translation_drawn",
         "probe": "translation_probe", "curve": "translation_probe_curve"}
VIEW_KEYS = {"strip": ("strip",), "draw": ("draw",), "probe": ("probe", "curve")}
BUSY = {"strip": "Translating the strip\u2026", "draw": "Translating your drawing\u2026",
        "probe": "Probing the cycle\u2026", "curve": "Measuring the error against the noise\u2026"}
PICK_UNPAIRED = ("This image is from the target domain of this unpaired set, and this "
                 "translator only goes from the source domain: it cannot be its input.")
UNAVAILABLE = ("The translation view is for image-to-image translators (pix2pix, CycleGAN, "
               "SRGAN: engines with the 'translate' capability) on a data set with two sides "
               "(mnist-edges, mnist-lowres, mnist-thin-thick, mnist-rotated or a folder pair).")


class TranslationController(Controller):
    RENDERS = tuple(KINDS.values())

    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.active = False
        self.pairing = ""
        self.has_back = False
        self.queue = RenderQueue(self, KINDS, self.poll)   # one request in flight per key
        self.results: dict[str, Any] = {}
        panel.view_changed.connect(lambda _v: self.poll())
        panel.direction_changed.connect(self._on_direction)
        panel.strip_requested.connect(lambda d: self.ask("strip", d))
        panel.drawing_changed.connect(lambda im: self.ask("draw", {"image": np.asarray(im)}))
        panel.probe_requested.connect(lambda d: self.ask("probe", d))
        panel.curve_requested.connect(lambda d: self.ask("curve", d))

    # -- the run --------------------------------------------------------------------------------
    def on_run_opened(self, snap: RunSnapshot) -> None:
        self.queue.forget()
        self.results = {}
        ds = snap.dataset
        caps = snap.capabilities
        if "translate" not in caps or ds is None or not getattr(ds, "two_sided", False):
            self.active = False
            self.queue.reset({})
            self.panel.set_unavailable(UNAVAILABLE)
            return
        self.active = True
        self.pairing = str(getattr(ds, "pairing", ""))
        self.has_back = "translate_back" in caps
        n_src = len(ds.test_x2) if ds.test_x2 is not None else 0
        self.panel.configure(ds.spec.source_shape, snap.sample_shape, tuple(ds.sides or ()),
                             has_back="translate_back" in caps, sr="sr_stages" in caps,
                             test_counts=(n_src, len(ds.test_x)))
        self._reset_payloads()
        self.session.raise_panel(self.panel.objectName())   # the view a translator is for
        self.poll()

    def _reset_payloads(self) -> None:
        p = self.panel
        drawing = p.draw.drawing()
        self.queue.reset({"strip": p.strip.settings(),
                          "draw": {"image": drawing} if drawing.any() else None,
                          "probe": p.probe.settings() if p.tab_visible("probe") else None,
                          "curve": p.probe.curve_settings() if p.tab_visible("probe") else None})

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        self._model_changed()

    def on_state(self, state: str, message: str, step: int) -> None:
        if state in ("paused", "finished", "stopped"):
            self._model_changed()        # the last steps after the last snapshot

    def _model_changed(self) -> None:
        if self.active:
            self.queue.dirty |= {k for k, v in self.queue.payload.items() if v is not None}
            self.poll()

    def _on_direction(self, direction: str) -> None:
        if self.active:
            if self.pairing == "unpaired" and self.panel.strip.picks():
                self.panel.strip.clear_picks()       # picks belong to one domain
            self.queue.forget()
            self._reset_payloads()
            self.poll()

    # -- panel requests ---------------------------------------------------------------------------
    def ask(self, key: str, payload: dict) -> None:
        """The panel asked for `key` with this payload: sent now, or when the one in flight
        is back (only the newest payload is kept)."""
        self.queue.ask(key, payload)
        self.poll()

    def pick_image(self, index: int, side: str = "target") -> None:
        """An image double-clicked in the data set browser: first in the strip, which shows
        the picked images. `index` is in the training split's `side` (studio.shell.presenters.
        picked_image): paired data, the pair's index (its source is translated); unpaired
        data, a source-domain image goes X -> Y, a target-domain one Y -> X, which needs a
        way back."""
        if not self.active:
            return
        if self.pairing == "unpaired":
            want = "ab" if side == "source" else "ba"
            if want == "ba" and not self.has_back:
                self.panel.set_busy(PICK_UNPAIRED)
                return
            if self.panel.direction() != want:
                self.panel.set_direction(want)       # forgets the other domain's picks
        self.panel.add_pick(int(index))

    # -- requests -------------------------------------------------------------------------------
    def poll(self) -> None:
        if not self.active:
            return
        for key in self.queue.due(VIEW_KEYS.get(self.panel.view(), ())):
            self.queue.send(key, {**self.queue.payload[key], "direction": self.panel.direction()})
            if key != "draw":                            # strokes come too fast to say so
                self.panel.set_busy(BUSY[key])

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        key = self.queue.take(kind, stamp)
        if key is None:
            return                                       # an older answer (another run's)
        if not self.active or result is None:
            return
        if result.get("direction", "ab") != self.panel.direction():
            self.poll()
            return                                       # asked before the switch
        self.results[key] = result
        {"strip": self.panel.set_strip, "draw": self.panel.set_drawn,
         "probe": self.panel.set_probe, "curve": self.panel.set_curve}[key](result)
        self.poll()
