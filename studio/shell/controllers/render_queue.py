"""The plumbing of a panel of tabbed views fed by renders (the flow view, the translation
view): a `RenderQueue` keeps, per key (one render kind each), the newest payload, whether its
result is out of date ("dirty") and the request in flight; it says which keys may be sent now
(out of date, with a payload, not waiting for an answer, the panel on screen and a run open),
drops answers older than the request in flight, unblocks a key whose render failed, and polls
its owner every POLL_MS. What a payload means and which render goes to which view stays in
the owning controller."""
from __future__ import annotations

import time
from typing import Callable, Iterable, Mapping, Optional

from PySide6.QtCore import QObject, QTimer

from widgets.on_screen import is_on_screen

POLL_MS = 300
STALE_S = 60.0               # a request unanswered this long no longer blocks the next
FAILED = "The last request failed (see the message)."


class RenderQueue(QObject):
    """Owned by a controller (`owner`, with `session` and `panel`); `kinds` maps each key to
    its render kind; `poll` is called every POLL_MS. With `one_at_a_time`, one request is in
    flight over all keys (the flow view), else one per key (the translation view).

    `in_flight` is {key: (stamp, sent at)}."""

    def __init__(self, owner: QObject, kinds: Mapping[str, str], poll: Callable[[], None], *,
                 one_at_a_time: bool = False):
        super().__init__(owner)
        self.session, self.panel = owner.session, owner.panel
        self.kinds = dict(kinds)
        self.one_at_a_time = one_at_a_time
        self.dirty: set[str] = set()                      # keys whose result is out of date
        self.payload: dict[str, Optional[dict]] = {k: None for k in self.kinds}
        self.in_flight: dict[str, tuple[int, float]] = {}
        self.session.bus.error_raised.connect(self._on_error)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(poll)
        self._timer.start()

    def ask(self, key: str, payload: dict) -> None:
        """Keep this newest payload for `key`; it is out of date until sent."""
        self.payload[key] = dict(payload)
        self.dirty.add(key)

    def reset(self, payloads: Mapping[str, Optional[dict]]) -> None:
        """New payloads (None: nothing to ask); every key with one is out of date."""
        self.payload = {k: payloads.get(k) for k in self.kinds}
        self.dirty = {k for k, v in self.payload.items() if v is not None}

    def forget(self) -> None:
        """No request in flight any more (a new run, the other direction)."""
        self.in_flight = {}

    def _waiting_for(self, key: str) -> Optional[tuple[str, tuple[int, float]]]:
        """The request in flight that `key` waits for: its own, with one_at_a_time any."""
        if self.one_at_a_time:
            return next(iter(self.in_flight.items()), None)
        return (key, self.in_flight[key]) if key in self.in_flight else None

    def due(self, keys: Iterable[str]) -> list[str]:
        """Those of `keys` to send now: out of date, with a payload, not waiting for an
        answer younger than STALE_S, while a run is open and the panel is on screen."""
        keys = [k for k in keys if k in self.dirty and self.payload.get(k) is not None]
        if not keys or self.session.snapshot is None:
            return []
        now = time.monotonic()
        keys = [k for k in keys if (w := self._waiting_for(k)) is None or now - w[1][1] >= STALE_S]
        if not keys or not is_on_screen(self.panel):
            return []
        return keys[:1] if self.one_at_a_time else keys

    def send(self, key: str, payload: dict) -> int:
        """Ask the host for `key`'s render with `payload`; it is in flight until answered."""
        self.dirty.discard(key)
        stamp = self.session.host.request_render(self.kinds[key], **payload)
        if self.one_at_a_time:
            self.in_flight = {}
        self.in_flight[key] = (stamp, time.monotonic())
        return stamp

    def take(self, kind: str, stamp: int) -> Optional[str]:
        """A render arrived: its key, or None for an answer older than the request in
        flight (another run's, or superseded)."""
        key = next(k for k, v in self.kinds.items() if v == kind)
        waiting = self._waiting_for(key)
        if waiting is not None:
            held, (sent_stamp, _) = waiting
            if stamp == sent_stamp:
                del self.in_flight[held]
            elif stamp < sent_stamp:
                return None
        return key

    def _on_error(self, text: str) -> None:
        for key in list(self.in_flight):
            if text.startswith(f"render {self.kinds[key]} "):
                del self.in_flight[key]
                self.panel.set_busy(FAILED)
