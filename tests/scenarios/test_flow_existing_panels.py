"""A normalizing flow in the panels that were there before it (issue 16), through the real
window: trained on moons, the 2D canvas's heatmap is its density p(x) (and log p(x) on the
scale a student picks), the live plots draw train and test NLL in one plot; trained on a
tiny image set, the gallery's temperature slider redraws the samples at T and hands T to
the Run panel's live value, and the latent explorer encodes a data image and decodes exactly
that image, and interpolates between two of them."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QPushButton, QSlider

from .conftest import WAIT


def train_in_window(qtbot, w, config: dict, data: str, options: dict) -> None:
    w.controls_panel.set_config(config)
    w.load_data(data, options)
    qtbot.waitUntil(lambda: w.data_choice[0] == data and w.browser_dataset is not None,
                    timeout=WAIT)
    w.act_train.trigger()
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)


FLOW_MOONS = {
    "run": {"seed": 0, "steps": 120, "batch_size": 128, "log_every": 20, "sample_every": 40,
            "checkpoint_every": 120, "preview_samples": 64, "device": "cpu", "threads": 1},
    "model": {"engine": "flow", "steps": 4, "hidden": 32},
    "optim": {"lr": 0.002}}


def test_a_flow_on_moons_shows_its_density_on_the_canvas_and_nll_curves(qtbot, window):
    w = window
    w.docks["PointCanvasPanel"].raise_()
    train_in_window(qtbot, w, FLOW_MOONS, "moons", {"n": 1024, "n_test": 256})
    canvas = w.canvas_panel
    qtbot.waitUntil(lambda: canvas.frame() is not None and canvas.frame().step == 120,
                    timeout=WAIT)
    frame = canvas.frame()
    assert canvas.field_kind() == "density" and frame.field_kind == "density"
    assert canvas.layer_shown("field") and canvas._checks["field"].text() == "Density"
    assert canvas.field_label() == "p(x), the flow's density"
    p, logp = frame.field_values, frame.field_log_values
    assert (p >= 0).all() and np.allclose(p, np.exp(logp), rtol=1e-4, atol=1e-12)
    # most of the mass sits near the data: the density at the data beats the box's average
    real = frame.real
    ix = np.clip(np.searchsorted(frame.field_x, real[:, 0]), 0, len(frame.field_x) - 1)
    iy = np.clip(np.searchsorted(frame.field_y, real[:, 1]), 0, len(frame.field_y) - 1)
    assert p[iy, ix].mean() > 2 * p.mean()
    assert canvas.field_levels()[0] == 0.0
    combo = canvas.findChild(QComboBox, "densityScaleCombo")
    combo.setCurrentIndex(combo.findData("log"))             # as a student picks log p(x)
    assert canvas.field_label() == "log p(x), nats"
    np.testing.assert_allclose(canvas._field_img.image, logp, rtol=1e-5)

    # the held-out NLL (nats on points) shares the training loss's plot
    plots = w.plots_panel
    qtbot.waitUntil(lambda: "NLL (nats)" in plots.groups()
                    and plots.legend_names("NLL (nats)") == ["train", "test"], timeout=WAIT)
    steps, values = plots.curve_data("test/nll")
    assert len(steps) >= 2 and np.isfinite(values).all()


FLOW_IMAGES = {
    "run": {"seed": 0, "steps": 20, "batch_size": 16, "log_every": 5, "sample_every": 10,
            "checkpoint_every": 20, "preview_samples": 9, "device": "cpu", "threads": 1},
    "model": {"engine": "flow", "levels": 2, "steps": 2, "hidden": 16},
    "optim": {"lr": 0.001}}


def test_a_flow_on_images_gallery_temperature_and_exact_encode(qtbot, window):
    w = window
    train_in_window(qtbot, w, FLOW_IMAGES, "mnist", {"limit": 256})
    assert "temperature" in w.snapshot.capabilities

    # the gallery's temperature slider redraws the fixed codes at T at once
    g = w.gallery_panel
    slider = g.findChild(QSlider, "temperatureSlider")
    w.docks["SampleGalleryPanel"].raise_()
    qtbot.waitUntil(lambda: w.gallery.last_samples is not None and w.gallery.last_samples[0] == 20,
                    timeout=WAIT)
    assert slider.isVisibleTo(g) and g.temperature() == 1.0
    before = w.gallery.last_samples[1].copy()
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key_End)                    # as far as it goes ...
    QTest.keyClick(slider, Qt.Key_Home)                   # ... and down to T = 0
    assert g.temperature() == 0.0
    qtbot.waitUntil(lambda: "T = 0.00" in g.title(), timeout=WAIT)
    cold = w.gallery.last_samples[1]
    assert cold.shape == before.shape and not np.allclose(cold, before, atol=1e-3)
    # T = 0: every cell decodes the prior's mean, one picture nine times
    np.testing.assert_allclose(cold, np.repeat(cold[:1], len(cold), 0), atol=1e-5)
    # the live value goes the Run panel's way: its form shows T, the host applies it next step
    qtbot.waitUntil(lambda: w.controls_panel.config()["model"]["temperature"] == 0.0, timeout=WAIT)
    assert w.gallery.temperature == 0.0

    # the explorer encodes a data image exactly: decoding its code gives that image back
    w.docks["LatentExplorerPanel"].raise_()
    qtbot.waitUntil(lambda: w.latent_panel.is_pca_mode(), timeout=WAIT)   # D = 784: PCA sliders
    ds = w.browser_dataset
    w.data_panel.image_picked.emit(5)                     # a double-click on thumbnail 5

    def shows_image_5() -> bool:
        shown = w.latent_panel.current_image()
        return shown is not None and np.array_equal(shown[:, :, 0], ds.train_x[5, 0])
    qtbot.waitUntil(shows_image_5, timeout=WAIT)          # exactly, pixel for pixel
    assert w.latent_panel.current_image().shape == (28, 28, 1)

    # ... and interpolates between two real images: ends A and B from the data set
    buttons = {b.objectName(): b for b in w.latent_panel.findChildren(QPushButton)}
    QTest.mouseClick(buttons["dataAButton"], Qt.LeftButton)
    qtbot.waitUntil(lambda: w.latent_panel.end_names()[0] == "data image #5", timeout=WAIT)
    w.data_panel.image_picked.emit(9)
    QTest.mouseClick(buttons["dataBButton"], Qt.LeftButton)
    qtbot.waitUntil(lambda: w.latent.last_interpolation is not None, timeout=WAIT)
    frames = w.latent_panel.interpolation_images()
    steps = w.latent_panel.interpolation_settings()[1]
    assert frames.shape == (steps, 28, 28, 1)
    np.testing.assert_array_equal(frames[0, :, :, 0], ds.train_x[5, 0])
    np.testing.assert_array_equal(frames[-1, :, :, 0], ds.train_x[9, 0])
    assert not np.array_equal(frames[steps // 2], frames[0])
