"""What a lecture needs from the window: slide-sized exports, presentation mode, the guide."""
import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTextBrowser

from studio.core.export import read_png_metadata

from .conftest import WAIT, headless_run, open_run_by_menu


def test_export_scale_for_slides_gives_sharp_4x_pixels(qtbot, window, tmp_path, monkeypatch):
    run_dir = headless_run(tmp_path)
    w = window
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished" and w.gallery.last_samples is not None, timeout=WAIT)
    monkeypatch.setattr(w, "ask_save", lambda title, name, filt: str(tmp_path / name))
    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_grid.trigger()
    one = np.asarray(Image.open(tmp_path / "samples.png"))
    next(a for a in w.scale_actions if a.text().startswith("4x")).trigger()
    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_grid.trigger()
    four = np.asarray(Image.open(tmp_path / "samples.png"))
    assert four.shape[:2] == (4 * one.shape[0], 4 * one.shape[1])
    assert np.array_equal(four[::4, ::4], one)            # nearest neighbour, no blur
    assert read_png_metadata(tmp_path / "samples.png")["scale"] == "4"


def test_presentation_mode_shows_one_panel_large_and_esc_restores(qtbot, window):
    w = window
    app = QApplication.instance()
    size = app.font().pointSizeF()
    visible = {k for k, d in w.docks.items() if d.isVisible()}
    next(a for a in w.presentation_menu.actions() if a.text() == "Samples").trigger()
    QTest.keyClick(w, Qt.Key_F11)
    qtbot.waitUntil(lambda: w.isFullScreen(), timeout=WAIT)
    assert [k for k, d in w.docks.items() if d.isVisible()] == ["SampleGalleryPanel"]
    assert app.font().pointSizeF() == 1.5 * size
    QTest.keyClick(w, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=WAIT)
    assert app.font().pointSizeF() == size
    assert {k for k, d in w.docks.items() if d.isVisible()} == visible


def test_help_opens_the_user_guide(qtbot, window):
    w = window
    w.act_user_guide.trigger()
    qtbot.waitUntil(lambda: getattr(w, "guide_dialog", None) is not None
                    and w.guide_dialog.isVisible(), timeout=WAIT)
    text = w.guide_dialog.findChild(QTextBrowser).toPlainText()
    assert text.startswith("User guide") and "Data set" in text and len(text) > 2000
