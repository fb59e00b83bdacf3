"""The Translation panel through the window: a tiny translator with a way back (registered only
in this test, like CycleGAN's G and F) trains in the real window on mnist-thin-thick; the
panel shows the strip of test inputs with their translations and reconstructions F(G(x)) of
the last step, translates a digit drawn with the mouse, asks for the steganography probe,
and a one-way translator's panel has no probe (with the trainer read on the host thread
only)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.studio.tiny_translators import CopyTranslator, CycleCopy, register
from tests.widgets.test_translation_view import drag

from .conftest import WAIT


@pytest.fixture
def registered(monkeypatch):
    """Before the window: its engine list is read when it opens."""
    register(monkeypatch, CopyTranslator, CycleCopy)


def train_in_window(qtbot, w, engine: str, steps: int = 12) -> None:
    w.controls_panel.set_config({
        "run": {"seed": 0, "steps": steps, "batch_size": 16, "log_every": 4, "sample_every": 4,
                "checkpoint_every": steps, "preview_samples": 8, "device": "cpu"},
        "model": {"engine": engine}, "optim": {"lr": 0.01}})
    w.load_data("mnist-thin-thick", {"limit": 128})
    qtbot.waitUntil(lambda: w.data_choice[0] == "mnist-thin-thick"
                    and w.browser_dataset is not None and w.browser_dataset.two_sided, timeout=WAIT)
    w.act_train.trigger()


def test_a_translator_trains_in_the_window_and_the_panel_translates_a_drawing(
        qtbot, registered, window):
    w = window
    panel, ctrl = w.panels["translation"], w.controllers["translation"]
    w.docks["TranslationViewPanel"].raise_()
    train_in_window(qtbot, w, CycleCopy.name)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    assert panel.view() == "strip" and panel.tab_visible("probe")
    # the strip shows the finished model's translations of the first six test sources
    qtbot.waitUntil(lambda: panel.strip.result() is not None
                    and panel.strip.result()["step"] == 12, timeout=WAIT)
    r = panel.strip.result()
    ds = w.snapshot.dataset
    np.testing.assert_allclose(r["inputs"], ds.test_x2[:6] / 255.0, atol=1e-6)
    assert r["outputs"].shape == r["reconstructions"].shape == (6, 1, 28, 28)
    assert [row.label for row in panel.strip.rows()] == ["input (thin)", "output (thick)",
                                                         "back F(G(x))"]
    # the gallery's grid: translations of the first test sources, and it says so
    qtbot.waitUntil(lambda: w.gallery_panel.title().startswith("Step 12"), timeout=WAIT)
    assert w.gallery_panel.title() == "Step 12 - 8 samples (translations of the first test inputs)"
    # draw a digit with the mouse: it is translated
    panel.set_view("draw")
    drag(panel.draw.canvas, [(14, 5), (14, 23)])
    drag(panel.draw.canvas, [(9, 6), (19, 6)])
    drawn = panel.draw.drawing()
    assert drawn[5:23, 14].min() > 0.5
    qtbot.waitUntil(lambda: panel.draw.result() is not None
                    and np.array_equal(panel.draw.result()["input"][0], drawn), timeout=WAIT)
    d = panel.draw.result()
    assert d["output"].shape == (1, 28, 28) and d["reconstruction"].shape == (1, 28, 28)
    assert d["step"] == 12 and [c for _, c in panel.draw.outputs()] == ["output (thick)",
                                                                   "back F(G(x))"]
    # the probe: images at the slider's amplitude and the curve over 0..0.2
    panel.set_view("probe")
    qtbot.waitUntil(lambda: panel.probe.probe() is not None and panel.probe.curve() is not None,
                    timeout=WAIT)
    x, y = panel.probe.curve_data()
    assert x[0] == 0 and x[-1] == pytest.approx(0.2) and np.all(np.isfinite(y))
    # images double-clicked in the data set browser: its thumbnails alternate this unpaired
    # set's domains (thin 0, thick 0, thin 1, ...), so thumbnail 11 is thick image 5 and the
    # strip goes Y -> X; thumbnail 6 is thin image 3, back to X -> Y
    panel.set_view("strip")
    w.data_panel.image_picked.emit(11)
    assert panel.direction() == "ba"
    qtbot.waitUntil(lambda: panel.strip.result() is not None
                    and panel.strip.result()["split"] == "train"
                    and panel.strip.result()["direction"] == "ba", timeout=WAIT)
    np.testing.assert_allclose(panel.strip.result()["inputs"][0], ds.train_x[5] / 255.0, atol=1e-6)
    w.data_panel.image_picked.emit(6)
    assert panel.direction() == "ab" and panel.strip.picks() == [3]
    qtbot.waitUntil(lambda: panel.strip.result() is not None
                    and panel.strip.result()["split"] == "train"
                    and panel.strip.result()["direction"] == "ab", timeout=WAIT)
    np.testing.assert_allclose(panel.strip.result()["inputs"][0], ds.train_x2[3] / 255.0, atol=1e-6)
    qtbot.waitUntil(lambda: ctrl.queue.in_flight == {}, timeout=WAIT)


def test_a_one_way_translator_has_no_probe_and_the_strip_follows_training(qtbot, registered, window):
    w = window
    panel = w.panels["translation"]
    w.docks["TranslationViewPanel"].raise_()
    train_in_window(qtbot, w, CopyTranslator.name, steps=8)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    assert not panel.tab_visible("probe") and not panel._direction.isVisible()
    qtbot.waitUntil(lambda: panel.strip.result() is not None
                    and panel.strip.result()["step"] == 8, timeout=WAIT)
    assert [row.label for row in panel.strip.rows()] == ["input (thin)", "output (thick)"]


def test_train_with_a_translator_on_one_sided_data_says_what_to_load(qtbot, window):
    w = window
    w.load_data("mnist", {"limit": 64})
    qtbot.waitUntil(lambda: w.browser_dataset is not None and w.browser_dataset.name == "mnist",
                    timeout=WAIT)
    w.controls_panel.set_config({"model": {"engine": "pix2pix"}})
    w.act_train.trigger()
    assert w.run_config is None and w.state != "running"
    text = w.warning_box.text()
    assert "pix2pix" in text and "one side" in text and "mnist-edges" in text

