"""RenderQueue (studio/shell/controllers/render_queue.py), the plumbing the flow and the
translation views share: a key is due when it is out of date, has a payload, waits for no
answer younger than STALE_S, a run is open and the panel is on screen; per key one request
in flight (translation), or one over all keys (flow); an answer older than the request in
flight is dropped; a failed render unblocks its key and says so."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from studio.shell.controllers import render_queue
from studio.shell.controllers.render_queue import FAILED, STALE_S, RenderQueue


class FakeBus(QObject):
    error_raised = Signal(str)


class FakeHost:
    def __init__(self):
        self.renders: list[tuple[str, dict]] = []

    def request_render(self, kind, **payload):
        self.renders.append((kind, payload))
        return len(self.renders)


class Panel(QWidget):
    def __init__(self):
        super().__init__()
        self.busy = ""

    def set_busy(self, text):
        self.busy = text


class Owner(QObject):
    def __init__(self, panel):
        super().__init__()
        self.panel = panel
        self.session = type("S", (), {})()
        self.session.host, self.session.bus, self.session.snapshot = FakeHost(), FakeBus(), object()


KINDS = {"a": "render_a", "b": "render_b"}


@pytest.fixture
def make(qtbot):
    def make(one_at_a_time):
        panel = Panel()
        qtbot.addWidget(panel)
        panel.resize(100, 100)
        panel.show()
        qtbot.waitExposed(panel)
        owner = Owner(panel)
        q = RenderQueue(owner, KINDS, lambda: None, one_at_a_time=one_at_a_time)
        q.reset({"a": {"x": 1}, "b": {"x": 2}})
        return owner, q
    return make


def send_due(q, keys=("a", "b")):
    return [(k, q.send(k, q.payload[k])) for k in q.due(keys)]


def test_one_per_key_in_flight(make):
    owner, q = make(False)
    assert send_due(q) == [("a", 1), ("b", 2)]             # both kinds go out at once
    q.ask("a", {"x": 3})
    assert send_due(q) == []                               # a's first one is in flight
    assert q.take("render_a", 1) == "a" and "a" not in q.in_flight
    assert send_due(q) == [("a", 3)]                       # then the newest payload
    assert owner.session.host.renders[-1] == ("render_a", {"x": 3})
    assert q.take("render_b", 2) == "b" and q.in_flight == {"a": q.in_flight["a"]}


def test_one_in_flight_over_all_keys_and_older_answers_dropped(make):
    owner, q = make(True)
    assert send_due(q) == [("a", 1)]                       # one at a time
    assert send_due(q, ("b",)) == []                       # b waits for a's answer
    assert q.take("render_a", 1) == "a" and q.in_flight == {}
    assert send_due(q, ("b",)) == [("b", 2)]
    assert q.take("render_a", 1) is None                   # older than b's request: dropped
    assert q.in_flight.keys() == {"b"}


def test_a_stale_request_no_longer_blocks(make, monkeypatch):
    owner, q = make(True)
    send_due(q)
    now = render_queue.time.monotonic()
    monkeypatch.setattr(render_queue.time, "monotonic", lambda: now + STALE_S - 1)
    assert q.due(("b",)) == []
    monkeypatch.setattr(render_queue.time, "monotonic", lambda: now + STALE_S + 1)
    assert q.due(("b",)) == ["b"]


def test_a_failed_render_unblocks_its_key_only(make):
    owner, q = make(False)
    send_due(q)
    owner.session.bus.error_raised.emit("render render_b failed: boom")
    assert q.in_flight.keys() == {"a"} and owner.panel.busy == FAILED
    owner.session.bus.error_raised.emit("render render_c failed: boom")
    assert q.in_flight.keys() == {"a"}


def test_nothing_is_due_off_screen_or_without_a_run_or_a_payload(make):
    owner, q = make(False)
    q.reset({"a": {"x": 1}, "b": None})
    assert q.dirty == {"a"} and q.due(("a", "b")) == ["a"]
    owner.session.snapshot = None
    assert q.due(("a",)) == []
    owner.session.snapshot = object()
    owner.panel.hide()
    assert q.due(("a",)) == []
