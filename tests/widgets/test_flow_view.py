"""FlowViewPanel with fake data: the layer slider shows stage k (dots and pulled-back grid),
plays both ways, keeps heatmaps to data space; the image tabs show codes per level, the
keep-top-j decodes, two bits/dim histograms and the extremes; every request is a signal."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QSlider

from widgets.flow_view import EMPTY_TEXT, HEATMAP_HINT, FlowViewPanel, at_position, hue_bins
from widgets.flow_view.fakes import fake_flow_layers, fake_flow_levels, fake_flow_likelihood


@pytest.fixture
def panel(qtbot):
    p = FlowViewPanel()
    qtbot.addWidget(p)
    p.resize(640, 680)
    p.show()
    qtbot.waitExposed(p)
    return p


def button(p, name: str) -> QPushButton:
    return p.findChild(QPushButton, name)


def test_empty_then_unavailable(panel):
    assert panel.objectName() == "FlowViewPanel"
    assert panel.view() == "" and panel.message() == EMPTY_TEXT
    panel.set_unavailable("not a flow")
    assert panel.message() == "not a flow"


def test_the_slider_shows_stage_k_of_the_points_and_the_grid(qtbot, panel):
    d = fake_flow_layers()
    with qtbot.waitSignal(panel.view_changed) as sig:
        panel.show_points()
    assert sig.args == ["layers"] and panel.view() == "layers"
    panel.set_layers(d)
    K = len(d["names"])
    slider = panel.findChild(QSlider, "layerSlider")
    assert (slider.minimum(), slider.maximum()) == (0, K) and panel.layers.stage() == 0
    np.testing.assert_allclose(panel.layers.shown_points(), d["stages"][0], atol=1e-6)
    np.testing.assert_allclose(panel.layers.shown_grid(), d["grid"][0], atol=1e-6)
    assert "the data" in panel.layers.stage_text()
    with qtbot.waitSignal(panel.stage_changed) as sig:
        slider.setValue(3)
    assert sig.args == [3]
    np.testing.assert_allclose(panel.layers.shown_points(), d["stages"][3], atol=1e-6)
    np.testing.assert_allclose(panel.layers.shown_grid(), d["grid"][3], atol=1e-6)
    assert d["names"][2] in panel.layers.stage_text()
    slider.setValue(K)
    np.testing.assert_allclose(panel.layers.shown_grid(), d["grid"][K], atol=1e-6)
    assert "latent z" in panel.layers.stage_text()


def test_heatmaps_are_shown_in_data_space_only(qtbot, panel):
    panel.show_points()
    panel.set_layers(fake_flow_layers())
    panel.layers.set_heatmap("none")
    assert not panel.layers.heatmap_shown()
    panel.layers.set_heatmap("density")
    assert panel.layers.heatmap_shown() and "Mass in the box" in panel.layers.caption()
    panel.layers.set_stage(2)
    assert not panel.layers.heatmap_shown() and panel.layers.caption() == HEATMAP_HINT
    panel.layers.set_stage(0)
    panel.layers.set_heatmap("log_det")
    assert panel.layers.heatmap_shown() and "det" in panel.layers.caption()


def test_play_runs_to_the_latent_and_back_to_the_data(qtbot, panel):
    d = fake_flow_layers()
    panel.show_points()
    panel.set_layers(d)
    K = len(d["names"])
    seen = []
    panel.stage_changed.connect(seen.append)
    QTest.mouseClick(button(panel, "playToLatentButton"), Qt.LeftButton)
    assert panel.layers.is_playing() and button(panel, "playToLatentButton").text() == "Pause"
    qtbot.waitUntil(lambda: not panel.layers.is_playing(), timeout=10_000)
    assert panel.layers.stage() == K and seen == list(range(1, K + 1))
    np.testing.assert_allclose(panel.layers.shown_points(), d["stages"][K], atol=1e-6)
    QTest.mouseClick(button(panel, "playToDataButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.layers.is_playing(), timeout=10_000)
    assert panel.layers.stage() == 0


def test_between_stages_the_points_move_on_straight_lines():
    frames = np.arange(12, dtype=float).reshape(3, 2, 2)
    np.testing.assert_allclose(at_position(frames, 0.25), 0.75 * frames[0] + 0.25 * frames[1])
    np.testing.assert_array_equal(at_position(frames, 2), frames[2])
    np.testing.assert_array_equal(at_position(frames, 9), frames[2])


def test_points_are_coloured_by_their_angle_around_the_data():
    a = np.linspace(-np.pi + 0.01, np.pi - 0.01, 24)
    bins = hue_bins(np.stack([np.cos(a), np.sin(a)], 1))
    assert (np.diff(bins) >= 0).all() and bins[0] == 0 and bins[-1] == 11


def test_levels_tab_shows_codes_per_level_and_the_keep_top_j_rows(qtbot, panel):
    d = fake_flow_levels(draws=5)
    panel.show_images()
    panel.set_levels(d)
    assert panel.view() == "levels"
    codes = panel.levels._codes.rows()
    assert [r.label for r in codes] == ["image", "level 1", "level 2", "level 3 (top)"]
    assert [len(r.images) for r in codes] == [2, 2, 6, 6]
    decodes = panel.levels._decodes.rows()
    assert [r.label for r in decodes] == ["top 0 (none)", "top 1", "top 2", "top 3 (all)"]
    assert [len(r.images) for r in decodes] == [5, 5, 5, 1]       # all kept: one exact decode
    with qtbot.waitSignal(panel.levels_requested) as sig:
        QTest.mouseClick(button(panel, "levelsShowButton"), Qt.LeftButton)
    assert sig.args[0] == {"source": "random", "seed": 0, "index": None, "temperature": 0.8,
                           "n": 6}
    panel.set_picked_image(42)
    with qtbot.waitSignal(panel.levels_requested) as sig:
        QTest.mouseClick(button(panel, "levelsShowButton"), Qt.LeftButton)
    assert sig.args[0]["source"] == "picked" and sig.args[0]["index"] == 42


def test_likelihood_tab_shows_two_histograms_and_the_extremes(qtbot, panel):
    d = fake_flow_likelihood(n=300, k=8)
    panel.show_images()
    with qtbot.waitSignal(panel.view_changed) as sig:
        panel.set_view("likelihood")
    assert sig.args == ["likelihood"] and panel.view() == "likelihood"
    panel.set_likelihood(d)
    text = panel.likelihood._summary.text()
    assert f"{np.mean(d['test_bpd']):.3f} bits/dim" in text and "samples" in text
    rows = panel.likelihood._extremes.rows()
    assert [r.label for r in rows] == ["most likely", "least likely"]
    assert [len(r.images) for r in rows] == [8, 8]
    assert rows[0].captions[0] == f"{d['most_bpd'][0]:.2f}"
    for item in (panel.likelihood._test_item, panel.likelihood._sample_item):
        x, y = item.getData()
        assert len(x) == 41 and abs(float(np.sum(y * np.diff(x))) - 1) < 0.05   # a density
    with qtbot.waitSignal(panel.likelihood_requested) as sig:
        QTest.mouseClick(button(panel, "likelihoodScoreButton"), Qt.LeftButton)
    assert sig.args[0] == {"n": 500, "seed": 0}


def test_clear_and_the_dark_palette(qtbot, panel):
    from widgets.palettes import dark_palette
    panel.show_points()
    panel.set_layers(fake_flow_layers())
    panel.setPalette(dark_palette())
    QApplication.processEvents()
    panel.clear()
    assert panel.view() == "" and panel.layers.layer_count() == 0
