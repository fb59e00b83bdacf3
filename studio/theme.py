"""Dark and light themes on the Fusion style, following the system's colour scheme unless
the user picks one (View > Theme)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


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


def light_palette() -> QPalette:
    app = QApplication.instance()
    return app.style().standardPalette() if app is not None else QPalette()


def apply_theme(app: QApplication, theme: str = "system") -> str:
    """Returns the theme actually applied ("light" or "dark")."""
    app.setStyle("Fusion")
    dark = system_is_dark() if theme == "system" else theme == "dark"
    app.setPalette(dark_palette() if dark else light_palette())
    return "dark" if dark else "light"
