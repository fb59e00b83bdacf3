"""Qt objects die on the GUI thread: while a window is open, Python's cyclic collector runs
only from a GUI-thread timer (studio/shell/gui_gc.py), never in the engine thread that allocates."""
from __future__ import annotations

import gc
import threading

from studio.shell.gui_gc import gui_thread_collector

from .test_window import make_window


class _Cycle:
    """Cyclic garbage that records which thread destroyed it."""

    def __init__(self, died_on: list[str]) -> None:
        self.me = self
        self.died_on = died_on

    def __del__(self) -> None:
        self.died_on.append(threading.current_thread().name)


def _churn(keep: list) -> None:
    # Allocations that stay alive push generation 0 past its threshold: with automatic
    # collection on, this thread runs a collection.
    keep.extend([] for _ in range(20 * gc.get_threshold()[0]))


def _garbage_then_churn_in_a_thread(keep: list) -> list[str]:
    died_on: list[str] = []
    _Cycle(died_on)
    t = threading.Thread(target=_churn, args=(keep,), name="churn")
    t.start()
    t.join()
    return died_on


def test_with_automatic_collection_a_worker_thread_destroys_cyclic_garbage():
    """The hazard itself: whichever thread allocates runs the collection."""
    assert gc.isenabled()
    died_on = _garbage_then_churn_in_a_thread([])
    assert died_on == ["churn"]


def test_while_held_cyclic_garbage_dies_on_the_gui_thread(qtbot):
    collector = gui_thread_collector()
    collector.acquire()
    try:
        assert not gc.isenabled()
        keep: list = []
        died_on = _garbage_then_churn_in_a_thread(keep)
        assert died_on == [], "no collection may run on the churning thread"
        qtbot.waitUntil(lambda: bool(died_on), timeout=5000)   # the GUI timer's turn
        assert died_on == ["MainThread"]
        assert sum(collector.collections) >= 1
    finally:
        collector.release()
    assert gc.isenabled() and not collector.active


def test_a_window_holds_the_collector_until_its_training_thread_has_joined(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    assert gui_thread_collector().active and not gc.isenabled()
    w.close()
    assert not w.host.is_alive()
    assert not gui_thread_collector().active and gc.isenabled()
    w.close()                              # a second close releases nothing twice
    assert gc.isenabled()
