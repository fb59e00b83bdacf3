"""Python's cyclic garbage collector, run on the GUI thread only while a window is open.

The collector runs in whichever thread happens to allocate when a generation's threshold
is crossed. In the studio that is usually the engine host (building a model, training),
and a collection there destroys whatever Qt objects sit in unreachable cycles: pyqtgraph
items of a cleared plot, a closed window. Qt objects must die on the GUI thread; destroying
them on another thread while the GUI thread paints crashes the process (seen in CI: a
segfault while the host built a U-Net, its stack at an allocation inside nn.Module).

So while any window is open, automatic collection is off and a GUI-thread timer collects
instead (pyqtgraph's GarbageCollector does the same). To keep the timer's work small, the
objects alive when the first window opens (modules, classes, the torch and Qt bindings) are
frozen out of the collector's view with `gc.freeze()` (and stay frozen: in the app they
live as long as the process): a full collection then scans only what was made since, a few
milliseconds instead of ~60.
"""
from __future__ import annotations

import gc
import threading
from typing import Optional

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Collects on a timer with the thresholds Python would use itself, one generation at a
    time, so the GUI thread never pays for more than the collector would have done anyway."""

    def __init__(self) -> None:
        super().__init__()
        self._holders = 0
        self._was_enabled = True
        self._threshold: tuple[int, int, int] = gc.get_threshold()   # re-read in acquire()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self.collections = [0, 0, 0]      # per generation, for tests and curious users

    @property
    def active(self) -> bool:
        return self._holders > 0

    def acquire(self) -> None:
        _require_gui_thread()
        if self._holders == 0:
            self._was_enabled = gc.isenabled()
            self._threshold = gc.get_threshold()
            gc.disable()
            gc.collect()          # garbage that exists now dies here, on this thread,
            gc.freeze()           # and what is alive now is never scanned again
            self._timer.start()
        self._holders += 1

    def release(self) -> None:
        _require_gui_thread()
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            self._timer.stop()
            gc.collect()
            if self._was_enabled:
                gc.enable()

    def check(self) -> None:
        """Python's own rule: collect generation 0 once its allocations pass the threshold,
        and an older generation once enough younger collections have happened."""
        counts = gc.get_count()
        if counts[0] <= self._threshold[0]:
            return
        generation = 0
        for g in (1, 2):
            if counts[g] > self._threshold[g]:
                generation = g
            else:
                break
        gc.collect(generation)
        self.collections[generation] += 1


_collector: Optional[GuiThreadCollector] = None


def gui_thread_collector() -> GuiThreadCollector:
    global _collector
    if _collector is None:
        _require_gui_thread()
        _collector = GuiThreadCollector()
    return _collector


def _require_gui_thread() -> None:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the GUI-thread garbage collector is driven from the GUI thread only")
