"""The studio's dark palette, shared by the app's theme and the panels' previews."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 32, 36), QColor(43, 45, 50), QColor(222, 224, 228)
    disabled = QColor(120, 122, 128)
    accent = QColor(64, 156, 255)
    for role, colour in [
        (QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
        (QPalette.AlternateBase, QColor(38, 40, 45)), (QPalette.ToolTipBase, QColor(55, 57, 62)),
        (QPalette.ToolTipText, text), (QPalette.Text, text), (QPalette.Button, QColor(52, 54, 60)),
        (QPalette.ButtonText, text), (QPalette.BrightText, QColor(255, 90, 90)),
        (QPalette.Link, accent), (QPalette.Highlight, accent),
        (QPalette.HighlightedText, QColor(255, 255, 255)), (QPalette.PlaceholderText, disabled),
        (QPalette.Mid, QColor(70, 72, 78)), (QPalette.Dark, QColor(25, 26, 30)),
        (QPalette.Light, QColor(70, 72, 78)),
    ]:
        p.setColor(role, colour)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, disabled)
    return p
