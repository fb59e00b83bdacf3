"""The live plots: the run's metrics as they come, its saved curves when it opens, other
runs' curves as overlays, and the CSV export."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from studio.core.runs import Run

from .base import Controller


def skipped_lines_text(skipped: list[str]) -> str:
    shown = "\n".join(skipped[:8])
    more = f"\n... and {len(skipped) - 8} more" if len(skipped) > 8 else ""
    return f"{len(skipped)} line(s) of metrics.jsonl could not be used:\n{shown}{more}"


class PlotsController(Controller):
    def __init__(self, session, panel):
        super().__init__(session, panel)
        session.bus.metrics_appended.connect(panel.append)
        panel.overlay_requested.connect(self.compare)
        panel.export_requested.connect(self.export_csv)

    def start_new(self, log_every: int) -> None:
        self.panel.clear()
        self.panel.set_hint(f"Training: the first curves come at step {log_every}")

    def show_run(self, run: Run) -> None:
        """The curves an opened run has logged so far (read from its folder; nothing written)."""
        self.panel.clear()
        records, skipped = run.read_metrics_report()
        self.panel.append(records)
        if skipped:
            self.session.warn("Some metrics were skipped", skipped_lines_text(skipped))

    def compare(self) -> None:
        path = self.session.ask_folder("Compare with run")
        if path:
            self.add_comparison(path)

    def add_comparison(self, path: str | Path) -> None:
        try:
            records, skipped = Run.open(path).read_metrics_report()
        except Exception as e:  # noqa: BLE001 - any unreadable run gets a message
            self.session.warn("Cannot compare", str(e))
            return
        if skipped:
            self.session.warn("Some metrics were skipped", skipped_lines_text(skipped))
        self.panel.add_overlay(Run(path).about()["title"], records)

    def export_csv(self) -> Optional[list]:
        s = self.session
        name = Run(s.run_path).about()["title"] if s.run_path else "run"
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        path = s.ask_save("Export curves as CSV", f"{safe}-metrics.csv", "CSV files (*.csv)")
        if not path:
            return None
        rows = self.panel.export_csv(path)
        out = s.exported([Path(path)])
        s.show_status(f"Exported {rows} rows to {path}")
        return out
