"""The live plots: the run's metrics as they come, its saved curves when it opens, other
runs' curves as overlays, and the CSV export. A model with an exact likelihood (capability
"log_prob", a normalizing flow) logs its held-out NLL in the unit of its training loss
"loss/total" ("test/bits_per_dim" on images, "test/nll" on points): the two share one plot,
"NLL (bits/dim)" or "NLL (nats)", as "train" and "test"."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from studio.core.runs import Run
from studio.core.snapshot import RunSnapshot

from .base import Controller


def nll_key_groups(snap: RunSnapshot) -> dict[str, tuple[str, str]]:
    """{metric key: (plot, legend name)} of the runs whose train and test NLL share a plot."""
    if "log_prob" not in snap.capabilities:
        return {}
    title = f"NLL ({'bits/dim' if snap.is_images else 'nats'})"
    return {"loss/total": (title, "train"), "test/nll": (title, "test"),
            "test/bits_per_dim": (title, "test")}


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

    def on_run_opened(self, snap: RunSnapshot) -> None:
        self.panel.set_key_groups(nll_key_groups(snap))

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
