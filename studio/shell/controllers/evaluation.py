"""The evaluation table: the open run's evaluations, and other runs' beside them."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from studio.core.runs import Run

from .base import Controller


class EvaluationController(Controller):
    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.last_evaluation: Optional[dict] = None
        session.bus.evaluation_ready.connect(self._on_evaluation)
        panel.compare_requested.connect(self.compare)

    def set_current_run(self, title: str, evaluation: Optional[dict] = None) -> None:
        self.panel.set_current_run(title, evaluation)

    def _on_evaluation(self, record: dict) -> None:
        self.last_evaluation = record
        run = record.get("run")
        title = Run(run).about()["title"] if run else "current run"
        self.panel.add_run(title, record)
        dock = self.session.dock(self.panel.objectName())
        dock.show()
        dock.raise_()
        self.session.show_status(f"Evaluated step {record.get('step')}")

    def compare(self) -> None:
        path = self.session.ask_folder("Compare with run")
        if path:
            self.add_evaluation_of(path)

    def add_evaluation_of(self, path: str | Path) -> None:
        try:
            evals = Run.open(path).read_evaluations()
        except Exception as e:  # noqa: BLE001 - any unreadable run gets a message
            self.session.warn("Cannot compare", str(e))
            return
        if not evals:
            self.session.warn("No evaluation in that run",
                              f"Evaluate it first: open it and press Evaluate, or run "
                              f"`genstudio eval {path}`.")
            return
        self.panel.add_run(Run(path).about()["title"], evals[-1])
