"""What every panel's `python -m widgets.<panel>` preview shares: the application with the
studio's style (and the dark palette on request), and showing the panel or grabbing it."""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QWidget


def preview_app(dark: bool = False) -> QApplication:
    from .palettes import dark_palette
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if dark:
        app.setPalette(dark_palette())
    return app


def show_or_grab(app: QApplication, panel: QWidget, size: str, grab: str | None) -> int:
    """Resize to "WxH" and show; with `grab`, save a screenshot there and return instead of
    running the event loop."""
    w, h = (int(v) for v in size.lower().split("x"))
    panel.resize(w, h)
    panel.show()
    if grab:
        for _ in range(5):
            app.processEvents()
        ok = panel.grab().save(grab)
        print(f"saved {grab}" if ok else f"could not save {grab}")
        return 0 if ok else 1
    return app.exec()
