"""`genstudio --screenshot OUT.png` (README): a picture of the window, written and exited,
with no first-start welcome dialog over it and no settings of the user's touched."""
from __future__ import annotations

from PIL import Image
from PySide6.QtWidgets import QApplication, QDialog

from studio.core.cli import main


def test_screenshot_writes_the_window_without_the_welcome(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))            # a first start: nothing dismissed yet
    out = tmp_path / "shot.png"
    assert main(["--screenshot", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size[0] >= 1000 and im.size[1] >= 600
        assert len(set(im.convert("L").getdata())) > 20     # a drawn window, not a blank
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]
    assert not dialogs, [d.windowTitle() for d in dialogs]
