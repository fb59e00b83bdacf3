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

import time
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QTimer

from studio.core.snapshot import RunSnapshot
from widgets.on_screen import is_on_screen

from .base import Controller

KINDS = {"strip": "translation_strip", "draw": "translation_drawn",
         "probe": "translation_probe", "curve": "translation_probe_curve"}
VIEW_KEYS = {"strip": ("strip",), "draw": ("draw",), "probe": ("probe", "curve")}
BUSY = {"strip": "Translating the strip\u2026", "draw": "Translating your drawing\u2026",
        "probe": "Probing the cycle\u2026", "curve": "Measuring the error against the noise\u2026"}
POLL_MS = 300
STALE_S = 60.0               # a request unanswered this long no longer blocks the next
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
        self.dirty: set[str] = set()                      # keys whose result is out of date
        self.payload: dict[str, Optional[dict]] = {k: None for k in KINDS}
        self.in_flight: dict[str, tuple[int, float]] = {}  # key -> (stamp, sent at)
        self.results: dict[str, Any] = {}
        self.sent: dict[str, int] = {k: 0 for k in KINDS}  # requests sent per key (tests)
        panel.view_changed.connect(lambda _v: self.poll())
        panel.direction_changed.connect(self._on_direction)
        panel.strip_requested.connect(lambda d: self.ask("strip", d))
        panel.drawing_changed.connect(lambda im: self.ask("draw", {"image": np.asarray(im)}))
        panel.probe_requested.connect(lambda d: self.ask("probe", d))
        panel.curve_requested.connect(lambda d: self.ask("curve", d))
        session.bus.error_raised.connect(self._on_error)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    # -- the run --------------------------------------------------------------------------------
    def on_run_opened(self, snap: RunSnapshot) -> None:
        self.in_flight = {}
        self.results = {}
        ds = snap.dataset
        caps = snap.capabilities
        if "translate" not in caps or ds is None or not getattr(ds, "two_sided", False):
            self.active = False
            self.dirty = set()
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
        self.payload = {"strip": p.strip.settings(),
                        "draw": {"image": drawing} if drawing.any() else None,
                        "probe": p.probe.settings() if p.tab_visible("probe") else None,
                        "curve": p.probe.curve_settings() if p.tab_visible("probe") else None}
        self.dirty = {k for k, v in self.payload.items() if v is not None}

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        self._model_changed()

    def on_state(self, state: str, message: str, step: int) -> None:
        if state in ("paused", "finished", "stopped"):
            self._model_changed()        # the last steps after the last snapshot

    def _model_changed(self) -> None:
        if self.active:
            self.dirty |= {k for k, v in self.payload.items() if v is not None}
            self.poll()

    def _on_direction(self, direction: str) -> None:
        if self.active:
            if self.pairing == "unpaired" and self.panel.strip.picks():
                self.panel.strip.clear_picks()       # picks belong to one domain
            self.in_flight = {}
            self._reset_payloads()
            self.poll()

    # -- panel requests ---------------------------------------------------------------------------
    def ask(self, key: str, payload: dict) -> None:
        """The panel asked for `key` with this payload: sent now, or when the one in flight
        is back (only the newest payload is kept)."""
        self.payload[key] = dict(payload)
        self.dirty.add(key)
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
        if not self.active or self.session.snapshot is None or not is_on_screen(self.panel):
            return
        view = self.panel.view()
        for key in VIEW_KEYS.get(view, ()):
            if key not in self.dirty or self.payload.get(key) is None:
                continue
            sent = self.in_flight.get(key)
            if sent is not None and time.monotonic() - sent[1] < STALE_S:
                continue
            self.dirty.discard(key)
            payload = {**self.payload[key], "direction": self.panel.direction()}
            stamp = self.session.host.request_render(KINDS[key], **payload)
            self.in_flight[key] = (stamp, time.monotonic())
            self.sent[key] += 1
            if key != "draw":                            # strokes come too fast to say so
                self.panel.set_busy(BUSY[key])

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        key = next(k for k, v in KINDS.items() if v == kind)
        sent = self.in_flight.get(key)
        if sent is not None and stamp == sent[0]:
            del self.in_flight[key]
        elif sent is not None and stamp < sent[0]:
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

    def _on_error(self, text: str) -> None:
        for key, kind in KINDS.items():
            if key in self.in_flight and text.startswith(f"render {kind} "):
                del self.in_flight[key]
                self.panel.set_busy("The last request failed (see the message).")
