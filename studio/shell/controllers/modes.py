"""The mode-collapse view: the monitor's records as they come (scored on the host's side
thread), its alerts (a marked tab and a status message, never a stolen focus)."""
from __future__ import annotations

from typing import Optional

from widgets.on_screen import is_on_screen

from .base import Controller

MODES_TITLE = "Modes"
MODES_ALERT_TITLE = "Modes (!)"             # the tab's title while an alert is unseen


class ModesController(Controller):
    def __init__(self, session, panel):
        super().__init__(session, panel)
        session.bus.mode_reset.connect(self._on_reset)
        session.bus.mode_records_appended.connect(self._on_records)
        panel.alert_raised.connect(self._on_alert)
        session.dock(panel.objectName()).visibilityChanged.connect(self._on_dock_visibility)

    def _on_reset(self, reason: Optional[str], history: list) -> None:
        self.panel.clear()
        if reason:
            self.panel.set_unavailable(reason)
        else:
            self.panel.set_history(history)

    def _on_records(self, items: list) -> None:
        for rec, samples, note in items:
            self.panel.append_record(rec, samples, alert_note=note)

    def _on_alert(self, step: int, message: str) -> None:
        self.session.show_status(f"Mode collapse alert at step {step:,}: {message}", 15000)
        # The tab is marked rather than raised: raising it would pull the user away from the
        # panel in use (a latent slider mid-drag) every time an alert fires.
        if not is_on_screen(self.panel):
            self.session.dock(self.panel.objectName()).setWindowTitle(MODES_ALERT_TITLE)

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible:
            self.session.dock(self.panel.objectName()).setWindowTitle(MODES_TITLE)
            self.panel.refresh_if_stale()
