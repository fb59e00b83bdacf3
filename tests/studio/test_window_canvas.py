"""The 2D canvas inside the real window: frames from the host, transport, drawing a data set."""
from __future__ import annotations

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
