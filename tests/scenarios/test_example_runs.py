"""Ready-trained runs from the window: offered at the first start, listed with thumbnails and
descriptions, opened as a copy that trains on while the shipped run stays as it was."""
import shutil

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from studio.core.runs import Run
from studio.shell.window import MainWindow

from .conftest import WAIT, folder_bytes, headless_run, type_into


def _shipped(tmp_path, monkeypatch):
    root = tmp_path / "shipped"
    root.mkdir()
    run = headless_run(tmp_path, "tiny-vae")
    shutil.move(str(run), root / "tiny-vae")
    Run(root / "tiny-vae").set_about("A tiny VAE", "Sixteen digits after twenty steps.")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(root / "tiny-vae" / "thumbnail.png")
    monkeypatch.setenv("GENSTUDIO_EXAMPLE_RUNS_DIR", str(root))
    return root / "tiny-vae"


def test_first_start_offers_example_runs_and_a_copy_trains_on(qtbot, tmp_path, monkeypatch):
    shipped = _shipped(tmp_path, monkeypatch)
    before = folder_bytes(shipped)
    settings = QSettings(str(tmp_path / "first.ini"), QSettings.IniFormat)
    w = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    try:
        qtbot.waitUntil(lambda: getattr(w, "examples_dialog", None) is not None
                        and w.examples_dialog.isVisible(), timeout=WAIT)
        dlg = w.examples_dialog
        assert dlg.names() == ["tiny-vae"]
        text = dlg.list.item(0).text()
        assert "A tiny VAE" in text and "vae on mnist, 20 steps" in text
        assert not dlg.list.item(0).icon().isNull()              # the thumbnail
        QTest.mouseClick(dlg.open_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: w.run_path is not None and w.state == "finished", timeout=WAIT)
        assert w.run_path.parent == tmp_path / "runs" and w.run_info.step == 20
        assert w.windowTitle().startswith("A tiny VAE")
        w.activateWindow()                                       # back to the main window
        qtbot.waitUntil(w.isActiveWindow, timeout=WAIT)
        type_into(w.controls_panel.form("run").editor("steps"), "25")
        QTest.keyClick(w, Qt.Key_F5)
        qtbot.waitUntil(lambda: w.run_info.step == 25 and w.state == "finished", timeout=WAIT)
    finally:
        w.close()
    assert folder_bytes(shipped) == before                       # the shipped run is untouched
    assert settings.value("welcome_shown") == "1"
    w2 = MainWindow(settings=settings, runs_dir=tmp_path / "runs")   # not offered again
    qtbot.addWidget(w2)
    try:
        qtbot.waitUntil(lambda: w2.run_path is not None, timeout=WAIT)
        assert getattr(w2, "examples_dialog", None) is None
    finally:
        w2.close()
