"""The narrow interface a panel controller sees of the window, and the render router.

Controllers depend on `Session` (a Protocol the main window satisfies), never on the window
class: no import cycle, and a controller can be driven by a fake session in a test. What a
session offers: the open run as the host last posted it (`snapshot`, plain values and
numpy), requests to the host (commands and renders; never its trainer), and the frame's
services (messages, docks, file dialogs, export provenance)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Protocol

import numpy as np
from PySide6.QtWidgets import QDockWidget

from studio.core.host import EngineHost
from studio.core.snapshot import RunSnapshot
from widgets.viewmodels import RunInfo


class Session(Protocol):
    host: EngineHost                     # commands and render requests (never .trainer)
    bus: Any                             # studio.shell.bus.TelemetryBus: the host's news
    state: str                           # the host's state as last posted
    runs_dir: Path
    snapshot: Optional[RunSnapshot]      # the open run, None before one opens
    run_info: RunInfo                    # what the status bar shows (step, state, speed)
    run_path: Optional[Path]
    browser_dataset: Any                 # the data set in the browser (the run's, once open)
    renders: "RenderRouter"

    def warn(self, title: str, text: str) -> None: ...
    def show_status(self, text: str, ms: int = 8000) -> None: ...
    def dock(self, panel_name: str) -> QDockWidget: ...
    def raise_panel(self, panel_name: str) -> None: ...
    def provenance(self, extra: Optional[dict] = None, step: Optional[int] = None) -> dict[str, str]: ...
    def ask_save(self, title: str, name: str, filt: str) -> str: ...
    def ask_folder(self, title: str) -> str: ...
    def exported(self, paths: list) -> list: ...
    def export_scale(self) -> int: ...
    def selected_data_indices(self) -> np.ndarray: ...
    def form_seed(self) -> int: ...                     # the seed a run started now would use

    # the run actions of the Run menu, for panels that offer them too (the 2D canvas)
    def on_train(self) -> None: ...
    def on_pause(self) -> None: ...
    def on_resume(self) -> None: ...
    def on_step(self) -> None: ...
    def on_new_run(self) -> bool: ...
    def load_data(self, name: str, options: dict, seed: Optional[int] = None) -> None: ...
    # a live value (structural=False) edited in a panel other than the Run panel (the gallery's
    # temperature): the Run panel's form shows it and it takes the form's live-value path
    def set_live_value(self, section: str, key: str, value: Any) -> None: ...


class RenderRouter:
    """Render results by kind to the one controller that owns the kind (and asked for it).
    A kind has exactly one owner: a second claim is a wiring mistake and fails at start."""

    def __init__(self) -> None:
        self._owners: dict[str, Callable[[int, Any], None]] = {}

    def own(self, kinds: tuple[str, ...], handler: Callable[[str, int, Any], None]) -> None:
        for kind in kinds:
            if kind in self._owners:
                raise ValueError(f"render kind {kind!r} already has an owner")
            self._owners[kind] = lambda stamp, result, kind=kind: handler(kind, stamp, result)

    def deliver(self, kind: str, stamp: int, result: Any) -> bool:
        handler = self._owners.get(kind)
        if handler is None:
            return False
        handler(stamp, result)
        return True

    def kinds(self) -> frozenset[str]:
        return frozenset(self._owners)
