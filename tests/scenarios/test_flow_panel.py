"""The Flow panel through the window: a flow trained headless and opened by the menu shows
the layer slider on 2D points and the levels and likelihood tabs on images (with the
trainer read on the host thread only)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton, QSlider

from .conftest import WAIT, headless_run, open_run_by_menu


def flow_config(data: dict, **model) -> dict:
    return {"run": {"seed": 0, "steps": 10, "batch_size": 32, "log_every": 5, "sample_every": 10,
                    "checkpoint_every": 10, "preview_samples": 16, "device": "cpu"},
            "data": data, "model": {"engine": "flow", "hidden": 8, "warmup": 0, **model},
            "optim": {"lr": 0.001}}


def test_flow_panel_shows_the_layer_slider_on_points(qtbot, window, tmp_path, monkeypatch):
    run_dir = headless_run(tmp_path, "flow-moons",
                           flow_config({"name": "moons", "n": 512, "n_test": 128}, steps=2))
    w = window
    w.docks["FlowViewPanel"].raise_()
    open_run_by_menu(w, monkeypatch, run_dir)
    panel, ctrl = w.panels["flow"], w.controllers["flow"]
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    assert panel.layers.layer_count() == 0      # the 2D canvas raised itself: nothing computed
    w.docks["FlowViewPanel"].raise_()
    qtbot.waitUntil(lambda: panel.layers.layer_count() > 0, timeout=WAIT)
    assert panel.view() == "layers"
    r = ctrl.results["layers"]
    K = len(r["names"])
    slider = panel.findChild(QSlider, "layerSlider")
    assert slider.maximum() == K == panel.layers.layer_count()
    np.testing.assert_allclose(panel.layers.shown_points(), r["stages"][0], atol=1e-6)
    slider.setValue(K)
    np.testing.assert_allclose(panel.layers.shown_points(), r["stages"][K], atol=1e-6)
    assert "latent z" in panel.layers.stage_text()
    slider.setValue(0)
    panel.layers.set_heatmap("density")
    assert panel.layers.heatmap_shown() and "Mass in the box" in panel.layers.caption()


def test_flow_panel_shows_levels_and_likelihood_on_images(qtbot, window, tmp_path, monkeypatch):
    run_dir = headless_run(tmp_path, "flow-mnist",
                           flow_config({"name": "mnist", "limit": 256}, levels=2, steps=2))
    w = window
    w.docks["FlowViewPanel"].raise_()
    open_run_by_menu(w, monkeypatch, run_dir)
    panel, ctrl = w.panels["flow"], w.controllers["flow"]
    qtbot.waitUntil(lambda: w.state == "finished" and panel.levels.result() is not None,
                    timeout=WAIT)
    assert panel.view() == "levels"
    codes = panel.levels._codes.rows()
    assert [r.label for r in codes] == ["image", "level 1", "level 2 (top)"]
    assert len(panel.levels._decodes.rows()) == 3
    assert panel.likelihood.result() is None          # not looked at yet: not computed
    # an image clicked in the data set browser is the one shown (the click raises the latent
    # explorer; the flow view shows it once looked at again)
    w.data_panel.image_picked.emit(5)
    w.docks["FlowViewPanel"].raise_()
    qtbot.waitUntil(lambda: panel.levels.result()["source"] == "training image #5", timeout=WAIT)
    panel.set_view("likelihood")
    qtbot.waitUntil(lambda: panel.likelihood.result() is not None, timeout=WAIT)
    lik = panel.likelihood.result()
    assert lik["unit"] == "bits/dim" and len(lik["test_bpd"]) == panel.likelihood.settings()["n"] == 500
    assert [r.label for r in panel.likelihood._extremes.rows()] == ["most likely", "least likely"]
    # asking for more images scores again
    panel.likelihood._n.setValue(100)
    QTest.mouseClick(panel.findChild(QPushButton, "likelihoodScoreButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: len(panel.likelihood.result()["test_bpd"]) == 100, timeout=WAIT)
    assert ctrl.queue.in_flight == {}
