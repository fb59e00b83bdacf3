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


DDPM = {"run": {"seed": 0, "steps": 10, "batch_size": 16, "log_every": 5, "sample_every": 10,
                "checkpoint_every": 10, "preview_samples": 4, "device": "cpu"},
        "data": {"name": "mnist", "limit": 256},
        "model": {"engine": "ddpm", "channels": 8, "sample_steps": 5, "timesteps": 100},
        "optim": {"lr": 0.001}}


def test_scrubber_generates_plays_back_and_forward_mode_shows_guesses(qtbot, window, tmp_path,
                                                                      monkeypatch):
    from PySide6.QtWidgets import QSlider
    run_dir = headless_run(tmp_path, "ddpm", DDPM)
    w = window
    w.docks["DiffusionScrubberPanel"].raise_()
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    sp = w.scrubber_panel
    button = {b.objectName(): b for b in sp.findChildren(QPushButton)}
    QTest.mouseClick(button["generateModeButton"], Qt.LeftButton)
    QTest.mouseClick(button["runButton"], Qt.LeftButton)
    qtbot.waitUntil(lambda: w.diffusion.last_trajectory is not None and w.diffusion.last_trajectory["mode"] == "sample",
                    timeout=WAIT)
    slider = sp.findChild(QSlider, "stepSlider")
    last = slider.maximum()
    slider.setValue(0)
    QTest.mouseClick(button["playButton"], Qt.LeftButton)             # denoise step by step
    qtbot.waitUntil(lambda: slider.value() == last, timeout=WAIT)
    QTest.mouseClick(button["reverseButton"], Qt.LeftButton)          # and back to noise
    qtbot.waitUntil(lambda: slider.value() == 0, timeout=WAIT)

    QTest.mouseClick(button["forwardModeButton"], Qt.LeftButton)
    QTest.mouseClick(button["runButton"], Qt.LeftButton)
    qtbot.waitUntil(lambda: w.diffusion.last_trajectory["mode"] == "forward", timeout=WAIT)
    traj = w.diffusion.last_trajectory
    # a 10-step model cannot know the digit under the noise: at the noisiest frame its x0
    # guess is far from the true image (the view used to show the true image as the "guess")
    noisiest = int(np.argmax(traj["t"]))
    x0_err = ((traj["x0"][noisiest] - traj["x0_true"][noisiest]) ** 2).mean()
    assert x0_err > 0.01, x0_err
    noisy = [i for i, t in enumerate(traj["t"]) if t > 0]
    assert np.isfinite(traj["eps_mse"][noisy]).all()


def test_a_gan_collapsed_from_its_first_snapshot_raises_the_mode_alert(qtbot, window):
    """A generator that never learns (learning rate 0) draws one blob from the first snapshot
    on: it never "drops" from a better coverage, yet the alert must fire."""
    from studio.shell.controllers.modes import MODES_ALERT_TITLE
    stuck = {"run": {"seed": 0, "steps": 1300, "batch_size": 16, "log_every": 100,
                     "sample_every": 100, "checkpoint_every": 1300, "preview_samples": 64,
                     "device": "cpu"},
             "data": {"name": "mnist", "limit": 512},
             "model": {"engine": "gan", "arch": "mlp", "latent_dim": 8, "g_hidden": 16,
                       "d_hidden": 16},
             "optim": {"lr": 0.0}}
    w = window
    w.docks["LatentExplorerPanel"].raise_()              # the user looks at something else
    w.controls_panel.set_config(stuck)
    w.load_data("mnist", {"limit": 512})
    QTest.keyClick(w, Qt.Key_F5)
    qtbot.waitUntil(lambda: w.modes_panel.alert_text() != "", timeout=WAIT)
    assert "classes" in w.modes_panel.alert_text()
    assert w.docks["ModeCollapsePanel"].windowTitle() == MODES_ALERT_TITLE
    assert "Mode collapse alert" in w.statusBar().currentMessage()


def test_the_browser_shows_the_points_a_seeded_run_trains_on(qtbot, window, tmp_path, monkeypatch):
    cfg = {"run": {"seed": 7, "steps": 5, "batch_size": 32, "log_every": 5, "sample_every": 5,
                   "checkpoint_every": 5, "preview_samples": 16, "device": "cpu"},
           "data": {"name": "moons", "n": 256, "n_test": 64},
           "model": {"engine": "vae", "decoder": "gaussian", "latent_dim": 2},
           "optim": {"lr": 0.001}}
    run_dir = headless_run(tmp_path, "moons", cfg)
    w = window
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished" and w.browser_dataset is not None
                    and w.browser_dataset.name == "moons", timeout=WAIT)
    from studio.core.training import Trainer
    trained_on = Trainer.load(run_dir).dataset.train_x
    assert np.array_equal(w.browser_dataset.train_x, trained_on)
