"""The hooks every panel controller has; the window calls them in registry order."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from studio.core.snapshot import RunSnapshot

from ..session import Session


class Controller(QObject):
    # Render kinds this controller asks for and receives (studio.core.renders); the session's
    # router delivers each kind to its one owner through `on_render`.
    RENDERS: tuple[str, ...] = ()

    def __init__(self, session: Session, panel: Any):
        super().__init__(panel)
        self.session, self.panel = session, panel
        if self.RENDERS:
            session.renders.own(self.RENDERS, self.on_render)

    def on_run_opened(self, snap: RunSnapshot) -> None:
        """A run was created or opened (also a new run replacing the open one)."""

    def on_state(self, state: str, message: str, step: int) -> None:
        """The host's state changed (idle, loading, running, paused, finished, stopped, failed)."""

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        """A fixed-z preview snapshot arrived."""

    def on_dataset(self, dataset: Any) -> None:
        """The browser shows a data set (the run's own once a run is open)."""

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        """A render of one of RENDERS is ready."""
