"""The real main window, driven by pytest-qt: toolbar actions, renders, export, layout, errors."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from studio.core.export import read_png_metadata
from studio.core.runs import Run
from studio.shell.window import MainWindow

WAIT = 120_000   # ms; generous for a loaded 2-core CI machine

TINY = {
    "run": {"seed": 0, "steps": 100000, "batch_size": 32, "log_every": 5, "sample_every": 10,
            "checkpoint_every": 1000, "preview_samples": 16, "device": "cpu"},
    "model": {"engine": "vae", "arch": "mlp", "latent_dim": 4, "hidden": 32},
    "optim": {"lr": 0.001},
}


def make_window(qtbot, tmp_path, name="settings.ini"):
    settings = QSettings(str(tmp_path / name), QSettings.IniFormat)
    settings.setValue("welcome_shown", "1")   # not a first start (that is test_example_runs)
    w = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    w.resize(1300, 820)
    w.show()
    qtbot.waitUntil(lambda: w.browser_dataset is not None, timeout=WAIT)
    return w


def wait_state(qtbot, w, state):
    if w.state != state:
        with qtbot.waitSignal(w.run_state_changed, timeout=WAIT,
                              check_params_cb=lambda s: s == state):
            pass


def n_points(w, key="loss/total"):
    try:
        return w.plots_panel.curve_data(key)[0].size
    except KeyError:
        return 0


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


def start_tiny_run(qtbot, w, steps=100000):
    cfg = {**TINY, "run": {**TINY["run"], "steps": steps}}
    w.controls_panel.set_config(cfg)
    w.act_train.trigger()
    wait_state(qtbot, w, "running")


def test_train_pause_resume_step_stop_from_the_toolbar(qtbot, window):
    w = window
    start_tiny_run(qtbot, w)
    qtbot.waitUntil(lambda: n_points(w) >= 2, timeout=WAIT)
    assert not w.act_train.isEnabled() and w.act_pause.isEnabled()

    w.act_pause.trigger()
    wait_state(qtbot, w, "paused")
    step = w.run_info.step
    assert w.act_resume.isEnabled() and w.act_step.isEnabled()

    w.act_step.trigger()
    qtbot.waitUntil(lambda: w.run_info.step == step + 1, timeout=WAIT)
    wait_state(qtbot, w, "paused")

    w.act_resume.trigger()
    wait_state(qtbot, w, "running")
    qtbot.waitUntil(lambda: w.run_info.step > step + 20, timeout=WAIT)

    w.act_stop.trigger()
    wait_state(qtbot, w, "stopped")
    run = Run.open(w.run_path)
    assert run.status()["state"] == "stopped"
    assert run.load_checkpoint().step == w.run_info.step
    assert "stopped" in w.status_labels["state"].text()


def test_slider_move_changes_the_decoded_image(qtbot, window):
    w = window
    start_tiny_run(qtbot, w)
    qtbot.waitUntil(lambda: w.run_info.latent_dim == 4, timeout=WAIT)
    w.act_pause.trigger()
    wait_state(qtbot, w, "paused")
    with qtbot.waitSignal(w.decoded_shown, timeout=WAIT):
        w.latent_panel.set_base(np.zeros(4, np.float32))     # emits z_changed -> decode
    before = w.latent_panel.current_image().copy()
    slider = w.latent_panel.sliders()[0]
    with qtbot.waitSignal(w.decoded_shown, timeout=WAIT):
        slider.setValue(slider.maximum())                     # as a user's drag does
    after = w.latent_panel.current_image()
    assert before.shape == after.shape
    assert np.abs(before.astype(int) - after.astype(int)).sum() > 0


def test_export_writes_files_whose_metadata_reads_back(qtbot, window, tmp_path, monkeypatch):
    w = window
    start_tiny_run(qtbot, w)
    qtbot.waitUntil(lambda: w.gallery.last_samples is not None and w.gallery.last_samples[0] >= 10, timeout=WAIT)
    w.act_pause.trigger()
    wait_state(qtbot, w, "paused")
    out = tmp_path / "export"
    out.mkdir()
    monkeypatch.setattr(w, "ask_save", lambda title, name, filt: str(out / name))
    monkeypatch.setattr(w, "ask_folder", lambda title: str(out / "each"))

    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_grid.trigger()
    meta = read_png_metadata(out / "samples.png")
    assert meta["engine"] == "vae" and meta["seed"] == "0"
    assert int(meta["step"]) >= 10
    assert len(meta["checkpoint_sha256"]) == 64
    assert "torch_version" in meta and "app_version" in meta
    assert "[model]" in meta["config"] and 'engine = "vae"' in meta["config"]

    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_each.trigger()
    files = sorted((out / "each").glob("*.png"))
    assert len(files) == 16
    assert read_png_metadata(files[3])["index"] == "3"

    w.host.request_render("interpolate", za=np.zeros(4), zb=np.ones(4), steps=6, mode="linear")
    qtbot.waitUntil(lambda: w.latent.last_interpolation is not None, timeout=WAIT)
    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_gif.trigger()
    gif = Image.open(out / "interpolation.gif")
    assert gif.n_frames == 10            # 6 forward + 4 back
    assert b"engine=vae" in gif.info["comment"]

    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_z.trigger()
    assert np.load(out / "latents.npy").shape == (6, 4)


def test_dock_layout_survives_a_restart(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    w.docks["LivePlotsPanel"].hide()
    w.docks["DataBrowserPanel"].setFloating(True)
    w.close()
    w2 = make_window(qtbot, tmp_path)
    try:
        assert not w2.docks["LivePlotsPanel"].isVisible()
        assert w2.docks["DataBrowserPanel"].isFloating()
        w2.act_reset_layout.trigger()
        assert w2.docks["LivePlotsPanel"].isVisible()
        assert not w2.docks["DataBrowserPanel"].isFloating()
    finally:
        w2.close()


def test_an_engine_that_raises_leaves_the_window_alive(qtbot, window):
    w = window
    start_tiny_run(qtbot, w)

    def explode(batch):
        raise RuntimeError("injected failure in train_step")

    w.host.call(lambda t: setattr(t.engine, "train_step", explode))
    wait_state(qtbot, w, "failed")
    qtbot.waitUntil(lambda: getattr(w, "error_box", None) is not None, timeout=WAIT)
    assert "injected failure" in w.error_box.text()
    assert Run.open(w.run_path).status()["state"] == "failed"
    w.error_box.close()
    # the window still works: a new run trains
    start_tiny_run(qtbot, w, steps=30)
    wait_state(qtbot, w, "finished")


def test_open_a_run_trained_headless_and_continue_it(qtbot, window, tmp_path):
    from studio.core.cli import main
    from studio.core.config import config_from_dict
    cfg = config_from_dict({**TINY, "run": {**TINY["run"], "steps": 20},
                            "data": {"name": "mnist", "limit": 512}})
    (tmp_path / "c.toml").write_text(cfg.to_toml())
    assert main(["train", str(tmp_path / "c.toml"), "--out", str(tmp_path / "headless"), "--quiet"]) == 0
    w = window
    w.open_run(tmp_path / "headless")
    qtbot.waitUntil(lambda: w.snapshot is not None and w.run_info.step == 20
                    and w.state == "finished", timeout=WAIT)      # loaded, not still loading
    assert n_points(w) == 4
    assert w.controls_panel.config()["model"]["latent_dim"] == 4
    d = w.controls_panel.config()
    d["run"]["steps"] = 40                 # as if typed into the Training form
    w.controls_panel.set_config(d)
    w.act_train.trigger()                  # same settings: continues the open run
    qtbot.waitUntil(lambda: w.run_info.step == 40 and w.state == "finished", timeout=WAIT)
    assert Run.open(tmp_path / "headless").load_checkpoint().step == 40


def test_render_of_plots_and_sample_grid_has_real_pixels(qtbot, window):
    """Fails if a Qt or pyqtgraph upgrade draws nothing: grab and inspect pixels."""
    w = window
    start_tiny_run(qtbot, w)
    qtbot.waitUntil(lambda: n_points(w) >= 5
                    and w.gallery.last_samples is not None, timeout=WAIT)
    w.act_pause.trigger()
    wait_state(qtbot, w, "paused")
    qtbot.wait(50)
    for panel in (w.plots_panel, w.gallery_panel):
        img = panel.grab().toImage()
        arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
        arr = arr[:, : img.width() * 4].reshape(img.height(), img.width(), 4)[:, :, :3]
        colours = np.unique(arr.reshape(-1, 3), axis=0)
        assert len(colours) > 20, f"{panel.objectName()} drew almost nothing"
    grid = w.gallery_panel.current_image()
    assert grid is not None and grid.std() > 5


def test_closing_during_training_saves_and_joins_within_3_seconds(qtbot, tmp_path):
    import time
    w = make_window(qtbot, tmp_path)
    start_tiny_run(qtbot, w)
    qtbot.waitUntil(lambda: w.snapshot is not None and w.run_info.step > 30, timeout=WAIT)
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 3.0
    assert not w.host.is_alive()
    run = Run.open(w.run_path)
    # the window stopped draining the host's news when it closed: the run folder tells
    assert run.load_checkpoint().step == run.status()["step"] >= w.run_info.step > 30
    assert run.status()["state"] == "stopped"


def test_theme_switch_and_about_keep_working(qtbot, window):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication
    window.set_theme("dark")
    dark = QApplication.instance().palette().color(QPalette.Window).lightness()
    window.set_theme("light")
    light = QApplication.instance().palette().color(QPalette.Window).lightness()
    assert dark < 100 < light
    assert window.settings.value("theme") == "light"


def test_evaluate_fills_the_table_and_compares_runs(qtbot, window, tmp_path):
    w = window
    w.eval_samples = 400
    start_tiny_run(qtbot, w, steps=30)
    wait_state(qtbot, w, "finished")
    with qtbot.waitSignal(w.bus.evaluation_ready, timeout=WAIT):
        w.act_evaluate.trigger()
    table = w.eval_panel
    assert table.runs() and "quality/fd" in table.runs()[0][1]
    assert float(table.cell("quality/fd", 1)) > 0
    assert table.cell("quality/fd", 2) != ""          # the real-data floor beside it
    first = w.run_path
    assert Run.open(first).read_evaluations()[-1]["n"] == 400
    w.evaluation.add_evaluation_of(first)                         # compare: same run again, by folder
    assert len(table.runs()) == 1                      # same title replaces, not duplicates


DIFFUSION = {
    "run": {"seed": 0, "steps": 10, "batch_size": 16, "log_every": 5, "sample_every": 10,
            "checkpoint_every": 10, "preview_samples": 4, "device": "cpu"},
    "model": {"engine": "ddpm", "channels": 8, "sample_steps": 5, "timesteps": 100},
    "optim": {"lr": 0.001},
}


def test_diffusion_scrubber_runs_continues_edits_and_exports(qtbot, window, tmp_path, monkeypatch):
    w = window
    w.controls_panel.set_config(DIFFUSION)
    w.act_train.trigger()
    wait_state(qtbot, w, "finished")
    sp = w.scrubber_panel
    sp.set_run_settings(sampler="ddim", steps=5, n=4, seed=3)
    w.docks["DiffusionScrubberPanel"].raise_()

    with qtbot.waitSignal(w.bus.render_ready, timeout=WAIT, check_params_cb=lambda k, s, r: k == "trajectory"):
        sp.trajectory_requested.emit({"mode": "sample", "sampler": "ddim", "steps": 5, "eta": 0.0,
                                      "seed": 3, "n": 4})
    traj = w.diffusion.last_trajectory
    assert traj["xt"].shape == (6, 4, 1, 28, 28) and list(traj["t"])[-1] == 0
    assert sp.step_count() == 6
    # continuing from step 2 without an edit reproduces the same final samples (same noise)
    sp.set_step(2)
    with qtbot.waitSignal(w.bus.render_ready, timeout=WAIT, check_params_cb=lambda k, s, r: k == "continue"):
        w.diffusion.continue_from({"step_index": 2})
    assert np.allclose(w.diffusion.last_trajectory["x0"][-1], traj["x0"][-1], atol=1e-5)
    # re-noising sample 1 at that step changes sample 1 only
    before = w.diffusion.last_trajectory
    with qtbot.waitSignal(w.bus.render_ready, timeout=WAIT, check_params_cb=lambda k, s, r: k == "edit"):
        w.diffusion.edit({"step_index": 0, "index": 1, "action": "renoise", "seed": 3})
    after = w.diffusion.last_trajectory["x0"][-1]
    assert not np.allclose(after[1], before["x0"][-1][1])
    assert np.allclose(after[0], before["x0"][-1][0], atol=1e-5)
    # forward mode noises real test images
    with qtbot.waitSignal(w.bus.render_ready, timeout=WAIT, check_params_cb=lambda k, s, r: k == "trajectory"):
        sp.trajectory_requested.emit({"mode": "forward", "sampler": "ddim", "steps": 5, "eta": 0.0,
                                      "seed": 0, "n": 4})
    assert w.diffusion.last_trajectory["mode"] == "forward"
    # exports
    out = tmp_path / "x"
    out.mkdir()
    monkeypatch.setattr(w, "ask_save", lambda title, name, filt: str(out / name))
    w.diffusion.last_trajectory = traj
    for what, name in (("gif", "trajectory.gif"), ("x0_grid", "x0_across_steps.png"),
                       ("final", "diffusion_samples.png")):
        with qtbot.waitSignal(w.export_written, timeout=WAIT):
            sp.export_requested.emit(what)
        assert (out / name).stat().st_size > 0
    assert Image.open(out / "trajectory.gif").n_frames == 6
    assert "ddim 5 steps" in read_png_metadata(out / "x0_across_steps.png")["trajectory"]


def test_latent_explorer_works_for_a_diffusion_run(qtbot, window):
    """A DDPM's latent is its x_T: the explorer decodes it (DDIM, deterministic), and
    "Pick from data set" encodes an image by DDIM inversion."""
    w = window
    w.controls_panel.set_config(DIFFUSION)
    w.act_train.trigger()
    wait_state(qtbot, w, "finished")
    lp = w.latent_panel
    assert lp._pages.currentIndex() == 1, "the explorer shows its empty state for ddpm"
    assert lp._encode_button.isVisibleTo(lp)
    qtbot.waitUntil(lambda: lp.dim() == 28 * 28, timeout=WAIT)
    with qtbot.waitSignal(w.decoded_shown, timeout=WAIT):
        lp.set_base(np.zeros(28 * 28, np.float32))
    assert lp.current_image() is not None
    with qtbot.waitSignal(w.bus.render_ready, timeout=WAIT, check_params_cb=lambda k, s, r: k == "encode"):
        w.latent.encode_data_image(0)


def test_mode_collapse_view_follows_an_image_run_and_reloads_its_history(qtbot, window, tmp_path):
    """Every fixed-z snapshot of an image run is scored by the mode monitor (on its own
    thread beside the host); the records reach the panel and RUN/mode_monitor.jsonl, and reopening the run
    shows the same history."""
    from studio.core.mode_monitor import history_path, read_history
    w = window
    start_tiny_run(qtbot, w, steps=30)
    wait_state(qtbot, w, "finished")
    qtbot.waitUntil(lambda: w.modes_panel.record_count() >= 3, timeout=WAIT)
    run_dir = w.run_path
    steps = [r.step for r in read_history(history_path(run_dir))]
    assert steps == [10, 20, 30]
    assert [int(r["step"]) for r in w.modes_panel.records()] == steps
    with qtbot.waitSignal(w.run_state_changed, timeout=WAIT, check_params_cb=lambda s: s == "finished"):
        w.open_run(run_dir)
    qtbot.waitUntil(lambda: w.modes_panel.record_count() == 3, timeout=WAIT)
    # a points run: the panel says why it has nothing to show
    w.load_data("ring8", {})
    qtbot.waitUntil(lambda: w.browser_dataset.name == "ring8", timeout=WAIT)
    w.controls_panel.set_config({**TINY, "run": {**TINY["run"], "steps": 5}})
    assert w.act_train.isEnabled()
    w.act_train.trigger()
    qtbot.waitUntil(lambda: "canvas" in w.modes_panel.hint_text(), timeout=WAIT)


def test_a_mode_alert_marks_the_modes_tab_without_taking_the_users_tab(qtbot, window):
    """An alert while another tab is in front: the status bar says so and the Modes tab's
    title carries a mark, but the panel the user is working in stays in front; showing the
    Modes tab clears the mark."""
    from studio.shell.controllers.modes import MODES_ALERT_TITLE, MODES_TITLE
    from widgets.on_screen import is_on_screen
    w = window
    w.docks["LatentExplorerPanel"].raise_()
    qtbot.waitUntil(lambda: is_on_screen(w.latent_panel), timeout=WAIT)
    assert not is_on_screen(w.modes_panel)
    w.modes_panel.append_record({"step": 100, "n": 16, "classes_covered": 3, "num_classes": 10,
                                 "alert": "coverage fell from 10 to 3 classes"})
    assert w.docks["ModeCollapsePanel"].windowTitle() == MODES_ALERT_TITLE
    assert is_on_screen(w.latent_panel)
    assert "Mode collapse alert at step 100" in w.statusBar().currentMessage()
    w.docks["ModeCollapsePanel"].raise_()
    qtbot.waitUntil(lambda: is_on_screen(w.modes_panel), timeout=WAIT)
    assert w.docks["ModeCollapsePanel"].windowTitle() == MODES_TITLE
    assert w.modes_panel.record_count() == 1


CGAN = {
    "run": {"seed": 0, "steps": 5, "batch_size": 16, "log_every": 5, "sample_every": 5,
            "checkpoint_every": 5, "preview_samples": 10, "device": "cpu"},
    "model": {"engine": "gan", "arch": "mlp", "latent_dim": 20, "g_hidden": 32, "d_hidden": 32,
              "conditional": True},
    "optim": {"lr": 0.0002, "beta1": 0.5},
}


def test_latent_explorer_class_and_style_sweeps_for_a_conditional_gan(qtbot, window):
    """A conditional GAN: GANSpace sliders (20 dims > 16), a class picker whose change
    decodes the same code as another class, and the class / style sweeps in the strip."""
    w = window
    w.controls_panel.set_config(CGAN)
    w.act_train.trigger()
    wait_state(qtbot, w, "finished")
    lp = w.latent_panel
    qtbot.waitUntil(lambda: lp.is_pca_mode() and lp.slider_count() == 16, timeout=WAIT)
    assert lp.current_label() is not None
    with qtbot.waitSignal(w.decoded_shown, timeout=WAIT):
        lp.set_base(w.snapshot.eval_z[0])
    first = lp.current_image().copy()
    with qtbot.waitSignal(w.decoded_shown, timeout=WAIT):
        lp.set_label(3)                                  # same code, class 3
    assert not np.array_equal(first, lp.current_image())
    for kind, n in (("class", 10), ("style", 10)):
        with qtbot.waitSignal(w.bus.render_ready, timeout=WAIT,
                              check_params_cb=lambda k, s, r: k == "sweep"):
            lp.sweep_requested.emit(kind)
        assert lp.interpolation_images().shape[0] == n
        labels = w.latent.last_interpolation["labels"]
        assert list(labels) == (list(range(10)) if kind == "class" else [3] * 10)
