"""The teaching views through the window: codes of an autoencoder, the latent explorer's
first picture, single-player GAN steps on the 2D canvas."""
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton

from .conftest import TINY_VAE, WAIT, headless_run, open_run_by_menu


def test_codes_view_and_explorer_show_an_opened_vae_at_once(qtbot, window, tmp_path, monkeypatch):
    run_dir = headless_run(tmp_path)
    w = window
    w.docks["CodesViewPanel"].raise_()
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished" and w.codes_panel.view() is not None, timeout=WAIT)
    view = w.codes_panel.view()
    assert view.xy.shape[1] == 2 and len(view.xy) == len(view.labels) >= 500
    assert set(np.unique(view.labels)) == set(range(10))
    # the explorer shows the decode of its code without being touched
    w.docks["LatentExplorerPanel"].raise_()
    qtbot.waitUntil(lambda: w.latent_panel.current_image() is not None, timeout=WAIT)
    assert w.latent_panel.current_image().std() > 1


def test_d_and_g_steps_on_the_canvas_say_which_player_moved(qtbot, window, tmp_path, monkeypatch):
    gan = {"run": {"seed": 0, "steps": 40, "batch_size": 64, "log_every": 10, "sample_every": 20,
                   "checkpoint_every": 20, "preview_samples": 64, "device": "cpu"},
           "data": {"name": "ring8", "n": 512, "n_test": 128},
           "model": {"engine": "gan", "g_hidden": 32, "d_hidden": 32},
           "optim": {"lr": 2e-4, "beta1": 0.5}}
    run_dir = headless_run(tmp_path, "gan", gan)
    w = window
    w.docks["PointCanvasPanel"].raise_()
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    canvas = w.canvas_panel
    d_button = next(b for b in canvas.findChildren(QPushButton) if b.text() == "D step")
    g_button = next(b for b in canvas.findChildren(QPushButton) if b.text() == "G step")
    QTest.mouseClick(d_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "D moved" in canvas.phase_text(), timeout=WAIT)
    QTest.mouseClick(g_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "G moved" in canvas.phase_text(), timeout=WAIT)
    assert "1 D step" in canvas.step_text() and "1 G step" in canvas.step_text()
