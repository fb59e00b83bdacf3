"""The 2D canvas inside the real window: frames from the host, transport, drawing a data set."""
from __future__ import annotations

import time

import numpy as np

from .test_window import WAIT, make_window, wait_state

POINTS = {
    "run": {"seed": 0, "steps": 60, "batch_size": 64, "log_every": 10, "sample_every": 20,
            "checkpoint_every": 1000, "preview_samples": 16, "device": "cpu"},
    "model": {"engine": "ae", "latent_dim": 2, "hidden": 32},
    "optim": {"lr": 0.001},
}


def test_canvas_shows_frames_of_a_points_run_and_trains_on_a_drawing(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    try:
        w.load_data("ring8", {})
        qtbot.waitUntil(lambda: w.browser_dataset is not None and w.browser_dataset.name == "ring8",
                        timeout=WAIT)
        w.controls_panel.set_config(POINTS)
        panel = w.canvas_panel
        with qtbot.waitSignal(w.bus.render_ready, timeout=WAIT,
                              check_params_cb=lambda k, s, r: k == "canvas"):
            panel.step_requested.emit("both")            # a first step from the canvas
        qtbot.waitUntil(lambda: panel.frame() is not None, timeout=WAIT)
        assert w.docks["PointCanvasPanel"].isVisible()
        frame = panel.frame()
        assert frame.fake.shape == (2500, 2) and frame.manifold is not None
        assert frame.field_values is None                    # an autoencoder has no critic
        assert panel.readout_text().startswith(tuple(f"{k}/8" for k in range(9)))
        # the latent explorer shows the decode of its code without being touched
        qtbot.waitUntil(lambda: w.latent_panel.shown_stamp() >= 1, timeout=WAIT)
        # Play trains and frames keep coming
        shown = w.canvas.frames_shown
        panel.play_requested.emit()
        wait_state(qtbot, w, "finished")
        qtbot.waitUntil(lambda: w.canvas.frames_shown > shown and panel.frame().step == 60,
                        timeout=WAIT)

        # draw two blobs and train on them
        drawing = {"x": np.concatenate([np.random.default_rng(0).normal(c, 0.1, (200, 2))
                                        for c in ((0, 0), (2, 1))]).astype(np.float32),
                   "modes": np.array([[0, 0], [2, 1]], np.float32), "sigma": 0.1}
        panel.distribution_drawn.emit(drawing)
        qtbot.waitUntil(lambda: w.host.trainer is not None and w.host.trainer.config.data_name == "npz",
                        timeout=WAIT)
        ds = w.host.trainer.dataset
        np.testing.assert_allclose(ds.modes, drawing["modes"])
        assert ds.mode_sigma == np.float32(0.1)
        wait_state(qtbot, w, "finished")
        qtbot.waitUntil(lambda: panel.frame() is not None and panel.frame().modes is not None
                        and len(panel.frame().modes) == 2, timeout=WAIT)
    finally:
        w.close()


GAN_POINTS = {
    "run": {"seed": 0, "steps": 40, "batch_size": 64, "log_every": 10, "sample_every": 20,
            "checkpoint_every": 1000, "preview_samples": 16, "device": "cpu"},
    "model": {"engine": "gan", "g_hidden": 32, "d_hidden": 32, "ema": 0.0},
    "optim": {"lr": 0.001, "beta1": 0.5},
}


def _d_weights(w):
    return {k: v.detach().clone() for k, v in w.host.trainer.engine.modules()["discriminator"].named_parameters()}


def _g_weights(w):   # parameters only: a D step runs G forward, which moves BatchNorm's statistics
    return {k: v.detach().clone() for k, v in w.host.trainer.engine.modules()["generator"].named_parameters()}


def _changed(a, b):
    return any(not bool((a[k] == b[k]).all()) for k in a)


def test_gan_canvas_heatmap_arrows_and_single_player_steps(qtbot, tmp_path):
    """A GAN on ring8: the frame has the discriminator's heatmap and the generator's gradient
    arrows; "D step" moves only the discriminator's weights, "G step" only the generator's,
    and slow motion slows training down."""
    w = make_window(qtbot, tmp_path)
    try:
        w.load_data("ring8", {})
        qtbot.waitUntil(lambda: w.browser_dataset is not None and w.browser_dataset.name == "ring8",
                        timeout=WAIT)
        w.controls_panel.set_config(GAN_POINTS)
        panel = w.canvas_panel
        panel.step_requested.emit("both")
        qtbot.waitUntil(lambda: panel.frame() is not None and panel.frame().field_values is not None,
                        timeout=WAIT)
        frame = panel.frame()
        assert frame.field_values.shape == (64, 64) and "D(x)" in frame.field_label
        assert frame.arrows.shape == frame.arrows_at.shape == (160, 2)
        assert panel.layer_available("field") and panel.layer_available("arrows")
        wait_state(qtbot, w, "paused")
        step = w.host.trainer.step

        d0, g0 = _d_weights(w), _g_weights(w)
        with qtbot.waitSignal(w.bus.samples_updated, timeout=WAIT):
            panel.step_requested.emit("discriminator")
        d1, g1 = _d_weights(w), _g_weights(w)
        assert _changed(d0, d1) and not _changed(g0, g1)
        # the canvas says which player moved, its loss, and counts the single-player steps
        qtbot.waitUntil(lambda: panel.phase_counts()["discriminator"] == 1, timeout=WAIT)
        assert panel.phase_text().startswith("D moved \u00b7 loss/d ")
        assert panel.moved_badge_text() == "D moved"
        with qtbot.waitSignal(w.bus.samples_updated, timeout=WAIT):
            panel.step_requested.emit("generator")
        d2, g2 = _d_weights(w), _g_weights(w)
        assert not _changed(d1, d2) and _changed(g1, g2)
        qtbot.waitUntil(lambda: panel.phase_counts() == {"discriminator": 1, "generator": 1},
                        timeout=WAIT)
        assert panel.phase_text().startswith("G moved \u00b7 loss/g ")
        assert panel.step_text() == f"step {step:,} + 1 D step + 1 G step"
        assert w.host.trainer.step == step                   # a step is both players
        n = w.canvas.frames_shown
        qtbot.waitUntil(lambda: w.canvas.frames_shown > n, timeout=WAIT)   # the canvas follows

        panel.set_slow_motion(0)
        panel.slow_motion_changed.emit(150)                   # 150 ms after every step
        panel.play_requested.emit()
        wait_state(qtbot, w, "running")
        qtbot.waitUntil(lambda: w.host.trainer.step > step, timeout=WAIT)
        t0, s0 = time.perf_counter(), w.host.trainer.step
        qtbot.wait(1500)
        done, dt = w.host.trainer.step - s0, time.perf_counter() - t0
        # each step is followed by 150 ms of waiting: never more than dt / 0.15 steps (+1
        # for a step under way); no lower bound, a loaded machine may be slower still
        assert done <= dt / 0.15 + 1, (done, dt)
        panel.pause_requested.emit()
        wait_state(qtbot, w, "paused")
        # full steps since: both players moved, the count starts again
        qtbot.waitUntil(lambda: panel.frame().step > step, timeout=WAIT)
        assert panel.phase_counts() == {"discriminator": 0, "generator": 0}
        assert panel.phase_text() == ""
    finally:
        w.close()


def test_phase_messages_are_parsed():
    from studio.shell.controllers.canvas import parse_phase_message
    assert parse_phase_message("one discriminator step: loss/d 0.6931, loss/total 0.6931") == (
        "discriminator", {"loss/d": 0.6931, "loss/total": 0.6931})
    assert parse_phase_message("one generator step: loss/g 1.2e+03") == ("generator", {"loss/g": 1200.0})
    assert parse_phase_message("one generator step: ") == ("generator", {})
    assert parse_phase_message("Evaluating: 40%") is None
