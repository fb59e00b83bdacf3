"""Whether a panel is really on screen. A dock in the back of a tab group stays isVisible()
(Qt 6.11 keeps it shown behind the current tab), so panels that skip work while unseen ask
for a non-empty visible region as well."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget


def is_on_screen(widget: QWidget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()
