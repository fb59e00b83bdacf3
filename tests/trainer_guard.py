"""A guard that makes the host's trainer readable on the host thread only.

host.py's rule is that the GUI never touches the trainer: it reads the RunSnapshot the host
posts and render results. The guard replaces EngineHost.trainer with a descriptor that
records (and raises on) every read from any other thread, so a window test suite driving a
run proves the rule instead of trusting it."""
from __future__ import annotations

import threading
import traceback

from studio.core.host import EngineHost


class HostOnlyTrainer:
    def __init__(self) -> None:
        self.violations: list[str] = []

    def __get__(self, host, owner=None):
        if host is None:
            return self
        if threading.current_thread() is not host._thread:
            where = "".join(traceback.format_stack(limit=6)[:-1])
            self.violations.append(f"{threading.current_thread().name} read host.trainer:\n{where}")
            raise AssertionError("host.trainer read outside the engine host thread")
        return host.__dict__.get("_guarded_trainer")

    def __set__(self, host, value) -> None:
        # EngineHost.__init__ sets None on the GUI thread; every other write is the host's
        if value is not None and threading.current_thread() is not host._thread:
            self.violations.append(f"{threading.current_thread().name} replaced host.trainer")
        host.__dict__["_guarded_trainer"] = value


def install(monkeypatch) -> HostOnlyTrainer:
    guard = HostOnlyTrainer()
    monkeypatch.setattr(EngineHost, "trainer", guard, raising=False)
    return guard
