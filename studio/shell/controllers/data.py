"""The data set browser: loads a data set off the GUI thread with the seed a run would use,
and once a run is open shows the run's own data set (from its snapshot, not a second load)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from PySide6.QtCore import Signal

from studio.core.data import DataError, load_dataset
from studio.core.snapshot import RunSnapshot

from ..presenters import dataset_view
from .base import Controller


@dataclass
class LoadFailure:
    message: str
    skipped: list[tuple[str, str]]


def load_or_failure(name: str, options: dict, seed: int = 0):
    try:
        return load_dataset(name, options, seed=seed)
    except DataError as e:
        report = getattr(e, "report", None)
        return LoadFailure(str(e), [(f.path, f.reason) for f in report.skipped] if report else [])


class DataController(Controller):
    dataset_shown = Signal(object)       # the Dataset now in the browser

    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.dataset = None                               # the Dataset shown
        self.choice: tuple[str, dict] = ("mnist", {})     # what a run started now trains on
        self._awaiting_run: Optional[tuple[str, dict]] = None
        session.bus.job_finished.connect(self._on_job_finished)
        session.bus.job_failed.connect(self._on_job_failed)
        panel.load_requested.connect(self.load)

    def load(self, name: str, options: dict, seed: Optional[int] = None) -> None:
        """Load a data set for the browser with the seed a run would use (the Run panel's),
        so seeded sets (ring8, moons, shapes, splits) show the points a run trains on."""
        if seed is None:
            seed = self.session.form_seed()
        if self.panel.current_source() != name:
            self.panel.set_current_source(name, dict(options))
        self.panel.set_busy(f"Loading {name}...")
        self.session.bus.submit("dataset", lambda: (name, dict(options),
                                                    load_or_failure(name, options, seed)))

    def await_run_data(self, name: str, options: dict) -> None:
        """The run being opened brings its data set in its snapshot (loaded once, by the
        trainer, with the run's seed): the browser waits for it instead of loading a copy."""
        self.choice = (name, dict(options))
        if self.panel.current_source() != name:
            self.panel.set_current_source(name, dict(options))
        self.panel.set_busy(f"Opening the run's {name} data...")
        self._awaiting_run = (name, dict(options))

    def show(self, name: str, options: dict, dataset: Any) -> None:
        self.dataset = dataset
        self.choice = (name, options)
        self.panel.show_dataset(dataset_view(dataset))
        self.dataset_shown.emit(dataset)

    def on_run_opened(self, snap: RunSnapshot) -> None:
        self._awaiting_run = None
        if snap.dataset is not None:
            options = snap.config.to_dict()["data"]
            self.show(options.pop("name"), options, snap.dataset)

    def on_state(self, state: str, message: str, step: int) -> None:
        if state == "failed" and self._awaiting_run is not None:
            self.load(*self._awaiting_run)        # the run did not open: show its data anyway
            self._awaiting_run = None

    def _on_job_finished(self, job: str, result: Any) -> None:
        if job == "dataset":
            name, options, ds = result
            if isinstance(ds, LoadFailure):       # a refused scan lists what it skipped
                self.panel.set_error(ds.message, ds.skipped)
                return
            self.show(name, options, ds)

    def _on_job_failed(self, job: str, message: str) -> None:
        if job == "dataset":
            self.panel.set_error(message)
