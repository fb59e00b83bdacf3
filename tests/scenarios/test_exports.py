"""Exports carry provenance that describes the exported images themselves."""
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton

from studio.core.export import read_png_metadata

from .conftest import TINY_VAE, WAIT, wait_state


def _click(panel, text):
    button = next(b for b in panel.findChildren(QPushButton) if b.text() == text)
    QTest.mouseClick(button, Qt.LeftButton)


def _comment(gif_path):
    text = Image.open(gif_path).info["comment"].decode()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_an_interpolation_exported_later_records_the_step_its_frames_come_from(
        qtbot, window, tmp_path, monkeypatch):
    w = window
    w.controls_panel.set_config({**TINY_VAE, "run": {**TINY_VAE["run"], "steps": 100000}})
    QTest.keyClick(w, Qt.Key_F5)
    qtbot.waitUntil(lambda: w.snapshot is not None and w.run_info.step >= 20, timeout=WAIT)
    QTest.keyClick(w, Qt.Key_F6)
    wait_state(qtbot, w, "paused")
    frames_step = w.run_info.step

    w.docks["LatentExplorerPanel"].raise_()
    _click(w.latent_panel, "Set A = current")
    _click(w.latent_panel, "Randomise")
    qtbot.wait(200)
    _click(w.latent_panel, "Set B = current")
    _click(w.latent_panel, "Interpolate")
    qtbot.waitUntil(lambda: w.latent.last_interpolation is not None, timeout=WAIT)

    QTest.keyClick(w, Qt.Key_F7)                       # train on, then export the GIF
    qtbot.waitUntil(lambda: w.run_info.step > frames_step + 15, timeout=WAIT)
    QTest.keyClick(w, Qt.Key_F6)
    wait_state(qtbot, w, "paused")
    later = w.run_info.step

    monkeypatch.setattr(w, "ask_save", lambda title, name, filt: str(tmp_path / name))
    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_gif.trigger()
    meta = _comment(tmp_path / "interpolation.gif")
    assert int(meta["step"]) == frames_step != later
    assert meta["checkpoint_sha256"] == ""             # no saved checkpoint holds those weights
    assert f"in memory at step {frames_step}" in meta["weights"]

    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_grid.trigger()                    # the grid is of the paused step: saved
    grid = read_png_metadata(tmp_path / "samples.png")
    assert int(grid["step"]) == later and len(grid["checkpoint_sha256"]) == 64
