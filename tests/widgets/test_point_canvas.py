"""PointCanvasPanel: layers, heatmap, arrows, transport, drawing by mouse, mode metrics, render."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from widgets.palettes import dark_palette
from widgets.point_canvas import (
    ARROW_CAP, EMPTY_TEXT, LAYERS, MIN_DRAWN, REAL_COLOURS, CanvasFrame,
    PointCanvasPanel, _nice_step, arrow_segments, field_rect, grid_polylines, mode_readout,
    ring_polylines,
)
from .imaging import to_array

WAIT = 3000


# -- helpers --------------------------------------------------------------------------------

def ring8(n=400, sigma=0.01, seed=0):
    rng = np.random.default_rng(seed)
    a = 2 * np.pi * np.arange(8) / 8
    modes = np.stack([np.cos(a), np.sin(a)], 1).astype(np.float32)
    pts = modes[rng.integers(0, 8, n)] + sigma * rng.standard_normal((n, 2))
    return pts.astype(np.float32), modes


def full_frame(step=10, field=None, real=None, **kw):
    """Every layer present: real ring8, fake blob, a 16 x 12 field, arrows, a 5 x 4 manifold."""
    rng = np.random.default_rng(step)
    pts, modes = ring8()
    fx = np.linspace(-1.5, 1.5, 16)
    fy = np.linspace(-1.2, 1.2, 12)
    values = field if field is not None else np.tile(np.linspace(0, 1, 16, dtype=np.float32), (12, 1))
    lz = np.linspace(-1, 1, 4)
    manifold = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-0.5, 0.5, 5)), -1) * 0.8
    args = dict(step=step, real=pts if real is None else real,
                fake=(0.3 * rng.standard_normal((300, 2))).astype(np.float32),
                field_x=fx, field_y=fy, field_values=values, field_label="D(x)",
                arrows_at=np.stack(np.meshgrid(lz, lz), -1).reshape(-1, 2),
                arrows=np.tile([[1.0, 0.0]], (16, 1)), manifold=manifold.astype(np.float32),
                modes=modes, mode_sigma=0.05)
    args.update(kw)
    return CanvasFrame(**args)


@pytest.fixture
def panel(qtbot):
    w = PointCanvasPanel()
    qtbot.addWidget(w)
    return w


def show(qtbot, w, size=(1000, 700)):
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    for _ in range(3):
        QApplication.processEvents()


def viewport_pos(panel, x, y):
    """Viewport position of view coordinate (x, y) on the canvas."""
    return panel._canvas.mapFromScene(panel._vb.mapViewToScene(QPointF(x, y)))


def pixel_size(panel):
    """View units per screen pixel (x, y)."""
    return panel._vb.viewPixelSize()


def canvas_pixels(panel):
    QApplication.processEvents()
    return to_array(panel._canvas.grab().toImage()).astype(int)


def near(pixels, colour, tol=10):
    c = np.array([colour.red(), colour.green(), colour.blue()])
    return int((np.abs(pixels - c).max(axis=2) <= tol).sum())


def strong_green(pixels):
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((g - r > 70) & (g - b > 40) & (r < 110)).sum())


# -- states -----------------------------------------------------------------------------------

def test_empty_state_then_frame_then_clear(qtbot, panel):
    show(qtbot, panel, (520, 480))
    assert panel.objectName() == "PointCanvasPanel"
    empty = panel.findChild(QLabel, "canvasEmptyState")
    assert empty.text() == EMPTY_TEXT and empty.isVisible()
    assert "ring8, grid25, moons, spiral, or draw your own" in empty.text()
    assert panel.frame() is None and not panel._canvas.isVisible()
    f = full_frame()
    panel.set_frame(f)
    assert panel.frame() is f and panel._canvas.isVisible() and not empty.isVisible()
    assert panel.step_text() == "step 10"
    panel.set_frame(full_frame(step=12345))
    assert panel.step_text() == "step 12,345"
    panel.clear()
    assert panel.frame() is None and empty.isVisible()
    assert len(panel._fake_item.getData()[0]) == 0


def test_draw_button_on_the_empty_page_opens_the_canvas(qtbot, panel):
    show(qtbot, panel, (520, 480))
    qtbot.mouseClick(panel._empty_draw, Qt.MouseButton.LeftButton)
    assert panel.is_draw_mode() and panel._canvas.isVisible() and panel._draw_box.isVisible()
    for name in LAYERS:                                # nothing to show yet
        assert not panel._checks[name].isEnabled()
    panel.set_draw_mode(False)
    assert panel.findChild(QLabel, "canvasEmptyState").isVisible()


def test_bad_frames_raise(panel):
    with pytest.raises(ValueError, match="real"):
        panel.set_frame(CanvasFrame(step=0, real=np.zeros((5, 3))))
    with pytest.raises(ValueError, match="field_values"):
        panel.set_frame(full_frame(field=np.zeros((3, 3), np.float32)))
    with pytest.raises(ValueError, match="manifold"):
        panel.set_frame(full_frame(manifold=np.zeros((4, 2))))
    with pytest.raises(ValueError, match="arrows"):
        panel.set_frame(full_frame(arrows=np.zeros((3, 2))))


# -- layers -----------------------------------------------------------------------------------

def test_layers_get_the_frame_data(qtbot, panel):
    show(qtbot, panel)
    f = full_frame()
    panel.set_frame(f)
    for name in LAYERS:
        assert panel.layer_available(name) and panel.layer_shown(name), name
    x, y = panel._real_item.getData()
    np.testing.assert_allclose(np.stack([x, y], 1), f.real, rtol=1e-6)
    x, y = panel._fake_item.getData()
    np.testing.assert_allclose(np.stack([x, y], 1), f.fake, rtol=1e-6)
    # heatmap: pixel centres on the grid, levels (0, 1) for probabilities, colour bar labelled
    rect = panel._field_img.mapRectToParent(panel._field_img.boundingRect())
    dx, dy = 3.0 / 15, 2.4 / 11
    assert rect.left() == pytest.approx(-1.5 - dx / 2) and rect.right() == pytest.approx(1.5 + dx / 2)
    assert rect.top() == pytest.approx(-1.2 - dy / 2) and rect.bottom() == pytest.approx(1.2 + dy / 2)
    assert tuple(panel._field_img.levels) == (0.0, 1.0)
    assert panel._colorbar.isVisible() and panel._colorbar.axis.labelText == "D(x)"
    # arrows: shaft + two barbs per arrow, all along +x with the same length
    ax, ay = panel._arrow_item.getData()
    assert len(ax) == 16 * 6
    segs = np.stack([ax, ay], 1).reshape(16, 3, 2, 2)
    np.testing.assert_allclose(segs[:, 0, 0], f.arrows_at, atol=1e-6)
    np.testing.assert_allclose(segs[:, 0, 1, 1], segs[:, 0, 0, 1], atol=1e-9)
    assert np.all(segs[:, 0, 1, 0] > segs[:, 0, 0, 0])
    # manifold: 5 rows of 4 and 4 columns of 5, NaN-separated
    mx, _ = panel._manifold_item.getData()
    assert len(mx) == 5 * (4 + 1) + 4 * (5 + 1) and np.isnan(mx).sum() == 5 + 4
    # modes: rings of radius 3 sigma around the centres
    rx, ry = panel._mode_rings.getData()
    ring = np.stack([rx, ry], 1)[:49]
    np.testing.assert_allclose(np.linalg.norm(ring - f.modes[0], axis=1), 0.15, rtol=1e-5)


def test_critic_levels_follow_the_values_without_jumping(qtbot, panel):
    show(qtbot, panel)
    critic = np.tile(np.linspace(-4, 6, 16, dtype=np.float32), (12, 1))
    panel.set_frame(full_frame(field=critic))
    lo, hi = panel._field_img.levels
    assert -4 <= lo < -3.5 and 5.5 < hi <= 6                    # 1st-99th percentile
    panel.set_frame(full_frame(field=critic * 0.5))              # narrower: narrows slowly
    lo2, hi2 = panel._field_img.levels
    assert lo < lo2 < -2 and 3 < hi2 < hi
    panel.set_frame(full_frame(field=critic * 2))                # wider: at once
    lo3, hi3 = panel._field_img.levels
    assert lo3 < -7.5 and hi3 > 11.5
    panel.set_frame(full_frame(field=critic, field_levels=(-1.0, 1.0)))
    assert tuple(panel._field_img.levels) == (-1.0, 1.0)


def test_absent_layers_are_greyed_out_with_a_reason(qtbot, panel):
    show(qtbot, panel)
    pts, _ = ring8()
    panel.set_frame(CanvasFrame(step=1, real=pts, fake=pts + 0.1))
    for name in ("field", "arrows", "manifold", "modes"):
        cb = panel._checks[name]
        assert not cb.isEnabled() and not panel.layer_shown(name), name
        assert cb.toolTip().startswith("Not available")
        assert cb.isChecked()                                   # the wish is remembered
    assert "no discriminator" in panel._checks["field"].toolTip()
    assert not panel._field_img.isVisible() and not panel._colorbar.isVisible()
    assert panel._checks["real"].isEnabled() and panel.layer_shown("real")


def test_toggles_hide_layers_and_are_remembered(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    with qtbot.waitSignal(panel.layers_changed, timeout=WAIT) as blocker:
        panel._checks["manifold"].click()
    assert blocker.args[0]["manifold"] is False and blocker.args[0]["real"] is True
    assert not panel._manifold_item.isVisible()
    pts, _ = ring8()
    panel.set_frame(CanvasFrame(step=2, real=pts, fake=pts))          # no manifold now
    panel.set_frame(full_frame(step=3))                                # back again: still off
    assert not panel._checks["manifold"].isChecked() and not panel._manifold_item.isVisible()
    assert panel.layer_visibility()["manifold"] is False
    # hidden layers catch up with the newest frame when they come back
    f = full_frame(step=4, fake=np.full((7, 2), 0.25, np.float32))
    panel._checks["fake"].click()
    panel.set_frame(f)
    panel._checks["fake"].click()
    assert len(panel._fake_item.getData()[0]) == 7
    panel.set_layer_visibility({"manifold": True, "nonsense": False})
    assert panel._manifold_item.isVisible()


def test_view_fits_once_per_data_set(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    (x0, x1), (y0, y1) = panel.view_range()
    assert x0 < -1.0 and x1 > 1.0 and y0 < -1.0 and y1 > 1.0 and x1 - x0 < 4
    panel._vb.setRange(xRange=(5, 6), yRange=(5, 6), padding=0)
    panel.set_frame(full_frame(step=11))                    # same real data: no jump
    (x0, x1), _ = panel.view_range()
    assert 4.5 < x0 < 6
    panel._fit_button.click()
    (x0, x1), _ = panel.view_range()
    assert x0 < -1.0 and x1 > 1.0
    panel._vb.setRange(xRange=(5, 6), yRange=(5, 6), padding=0)
    pts, _ = ring8()
    panel.set_frame(full_frame(step=12, real=pts * 3))      # a new data set: fit again
    (x0, x1), _ = panel.view_range()
    assert x0 < -3 and x1 > 3


# -- helpers ------------------------------------------------------------------------------------

def test_arrow_segments_are_normalised():
    at = np.zeros((4, 2))
    vec = np.array([[1.0, 0], [0, 2.0], [-4.0, 0], [0, 0]])
    segs = arrow_segments(at, vec, length=0.5, ref=2.0).reshape(4, 3, 2, 2)
    lengths = np.linalg.norm(segs[:, 0, 1] - segs[:, 0, 0], axis=1)
    np.testing.assert_allclose(lengths, [0.25, 0.5, 0.5 * min(2, ARROW_CAP), 0], atol=1e-12)
    np.testing.assert_allclose(segs[1, 0, 1], [0, 0.5])          # direction kept
    barbs = np.linalg.norm(segs[:, 1:, 1] - segs[:, 1:, 0], axis=2)
    np.testing.assert_allclose(barbs, 0.3 * lengths[:, None] * np.ones((1, 2)), atol=1e-12)
    assert arrow_segments(at, vec, 0.5, 0.0).shape == (0, 2)


def test_polylines_and_rects():
    m = np.arange(3 * 4 * 2, dtype=np.float32).reshape(3, 4, 2)
    line = grid_polylines(m)
    assert line.shape == (3 * 5 + 4 * 4, 2)
    np.testing.assert_array_equal(line[:4], m[0])
    np.testing.assert_array_equal(line[15:18], m[:, 0])
    rings = ring_polylines(np.array([[1.0, 2.0], [0, 0]]), 0.5, n=8)
    assert rings.shape == (2 * 10, 2) and np.isnan(rings[9]).all()
    np.testing.assert_allclose(np.linalg.norm(rings[:9] - [1, 2], axis=1), 0.5)
    assert field_rect(np.array([0.0, 1, 2]), np.array([5.0, 7])) == (-0.5, 4.0, 3.0, 4.0)
    assert mode_readout(7, 8, 0.961, 0.0312) == "7/8 modes \u00b7 96.1% high quality \u00b7 reverse KL 0.03"


# -- transport ----------------------------------------------------------------------------------

def test_transport_signals(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    with qtbot.waitSignal(panel.play_requested, timeout=WAIT):
        qtbot.mouseClick(panel._play_button, Qt.MouseButton.LeftButton)
    panel.set_running(True)
    assert panel.is_running()
    assert not panel._play_button.isEnabled() and panel._pause_button.isEnabled()
    assert not panel._step_button.isEnabled() and not panel._d_step_button.isEnabled()
    with qtbot.waitSignal(panel.pause_requested, timeout=WAIT):
        qtbot.mouseClick(panel._pause_button, Qt.MouseButton.LeftButton)
    panel.set_running(False)
    assert panel._play_button.isEnabled() and not panel._pause_button.isEnabled()
    for button, kind in ((panel._step_button, "both"), (panel._d_step_button, "discriminator"),
                         (panel._g_step_button, "generator")):
        with qtbot.waitSignal(panel.step_requested, timeout=WAIT) as blocker:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert blocker.args == [kind]


def test_phase_steps_unavailable_disables_d_and_g_step(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    panel.set_phase_steps_available(False)
    assert not panel._d_step_button.isEnabled() and not panel._g_step_button.isEnabled()
    assert "Only GANs" in panel._d_step_button.toolTip()
    assert panel._step_button.isEnabled()
    panel.set_phase_steps_available(True)
    assert panel._d_step_button.isEnabled() and panel._g_step_button.isEnabled()


def test_single_player_steps_are_counted_shown_and_reset_by_a_full_step(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame(step=40))
    assert panel.phase_counts() == {"discriminator": 0, "generator": 0}
    assert panel.phase_text() == "" and not panel.moved_badge_visible()
    panel.show_phase_step("discriminator", 40, {"loss/d": 0.69314, "loss/total": 0.69314})
    assert panel.phase_counts() == {"discriminator": 1, "generator": 0}
    assert panel.step_text() == "step 40 + 1 D step"
    assert panel.phase_text() == "D moved \u00b7 loss/d 0.693"     # loss/total repeats loss/d
    assert panel.moved_badge_visible() and panel.moved_badge_text() == "D moved"
    panel.show_phase_step("discriminator", 40, {"loss/d": 0.6})
    panel.show_phase_step("generator", 40, {"loss/g": 1.25})
    assert panel.step_text() == "step 40 + 2 D steps + 1 G step"
    assert panel.phase_text() == "G moved \u00b7 loss/g 1.25"
    assert panel.moved_badge_text() == "G moved"
    assert "2 D, 1 G" in panel._step_label.toolTip()               # the run's totals
    # frames of the same step (the canvas following the single steps) keep the count
    panel.set_frame(full_frame(step=40))
    assert panel.phase_counts() == {"discriminator": 2, "generator": 1}
    # a full step moves both players: the count starts again, the totals stay
    panel.set_frame(full_frame(step=41))
    assert panel.phase_counts() == {"discriminator": 0, "generator": 0}
    assert panel.step_text() == "step 41" and panel.phase_text() == ""
    assert not panel.moved_badge_visible()
    assert "2 D, 1 G" in panel._step_label.toolTip()
    panel.clear()                                                  # another run
    assert panel.phase_counts() == {"discriminator": 0, "generator": 0}
    assert panel._step_label.toolTip() == ""


def test_moved_badge_is_drawn_on_the_canvas_and_fades(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame(step=3))
    panel.show_phase_step("generator", 3, {"loss/g": 2.0})
    QApplication.processEvents()
    assert panel._moved_badge.isVisible()
    # the badge sits inside the plot area, at its top left, in the generated points' colour
    corner = panel._canvas.mapFromScene(panel._vb.sceneBoundingRect().topLeft())
    g = panel._moved_badge.geometry()
    assert 0 <= g.left() - corner.x() < 30 and 0 <= g.top() - corner.y() < 30
    assert panel._fake_colour.name() in panel._moved_badge.styleSheet()
    qtbot.waitUntil(lambda: not panel.moved_badge_visible(), timeout=5000)


def test_slow_motion(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    assert panel.slow_motion() == 0 and panel._slow.text() == "full speed"
    with qtbot.waitSignal(panel.slow_motion_changed, timeout=WAIT) as blocker:
        panel._slow.setValue(250)
    assert blocker.args == [250]
    with qtbot.assertNotEmitted(panel.slow_motion_changed):
        panel.set_slow_motion(40)
    assert panel.slow_motion() == 40 and "ms/step" in panel._slow.text()


# -- drawing ------------------------------------------------------------------------------------

def test_spray_by_mouse_events_lands_where_dragged(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    panel.set_draw_mode(True)
    panel.set_draw_tool("spray")
    panel.set_brush(radius=0.1, density=10)
    vp = panel._canvas.viewport()
    start, end = (0.5, -0.3), (0.9, -0.3)
    view_before = panel.view_range()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=viewport_pos(panel, *start))
    pts = panel.drawn_points()
    assert pts.dtype == np.float32 and pts.shape == (10, 2)      # one dab at the press
    tol = max(pixel_size(panel)) * 1.5                            # rounding to whole pixels
    assert np.all(np.linalg.norm(pts - start, axis=1) <= 0.1 + tol)
    for k in range(1, 5):
        qtbot.mouseMove(vp, viewport_pos(panel, 0.5 + 0.1 * k, -0.3))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=viewport_pos(panel, *end))
    pts = panel.drawn_points()
    assert len(pts) >= 10 * 12                                   # a dab every radius / 3
    assert np.all((pts[:, 0] >= 0.4 - tol) & (pts[:, 0] <= 1.0 + tol))
    assert np.all(np.abs(pts[:, 1] + 0.3) <= 0.1 + tol)
    assert pts[:, 0].max() > 0.85                                 # reached the end
    assert panel.view_range() == view_before                     # drawing does not pan
    assert panel._count_label.text() == f"{len(pts):,} points"
    x, _ = panel._drawn_item.getData()
    assert len(x) == len(pts) and panel._drawn_item.isVisible()

    # deterministic: the same strokes on a fresh panel give the same points
    other = PointCanvasPanel()
    qtbot.addWidget(other)
    show(qtbot, other)
    other.set_frame(full_frame())
    other.set_draw_mode(True)
    other.set_brush(radius=0.1, density=10)
    ovp = other._canvas.viewport()
    qtbot.mousePress(ovp, Qt.MouseButton.LeftButton, pos=viewport_pos(other, *start))
    for k in range(1, 5):
        qtbot.mouseMove(ovp, viewport_pos(other, 0.5 + 0.1 * k, -0.3))
    qtbot.mouseRelease(ovp, Qt.MouseButton.LeftButton, pos=viewport_pos(other, *end))
    np.testing.assert_array_equal(other.drawn_points(), pts)


def test_mode_tool_click_records_the_centre_and_train_emits(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    panel.set_draw_mode(True)
    panel.set_draw_tool("mode")
    panel.set_brush(sigma=0.05, blob_points=300)
    assert panel._sigma.isVisible() and not panel._radius.isVisible()
    vp = panel._canvas.viewport()
    target = (-0.4, 0.6)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=viewport_pos(panel, *target))
    modes = panel.drawn_modes()
    px = max(pixel_size(panel))
    assert modes.shape == (1, 2) and np.linalg.norm(modes[0] - target) <= 1.5 * px
    pts = panel.drawn_points()
    assert len(pts) == 300
    assert np.linalg.norm(pts.mean(0) - modes[0]) < 0.02
    assert 0.04 < pts.std(0).mean() < 0.06
    assert panel._count_label.text() == "300 points \u00b7 1 mode"
    rx, ry = panel._drawn_rings.getData()
    np.testing.assert_allclose(np.hypot(rx[:48] - modes[0, 0], ry[:48] - modes[0, 1]), 0.15, rtol=1e-4)
    panel.set_brush(sigma=0.07)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=viewport_pos(panel, 0.6, 0.6))
    with qtbot.waitSignal(panel.distribution_drawn, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._train_button, Qt.MouseButton.LeftButton)
    d = blocker.args[0]
    assert set(d) == {"x", "modes", "sigma"}
    assert d["x"].dtype == np.float32 and d["x"].shape == (600, 2)
    assert d["modes"].dtype == np.float32 and d["modes"].shape == (2, 2)
    assert d["sigma"] == pytest.approx(0.06)
    assert not panel.is_draw_mode()                              # back to watching


def test_train_needs_points_and_clear_empties(qtbot, panel):
    show(qtbot, panel)
    panel.set_draw_mode(True)
    assert not panel._train_button.isEnabled() and panel._count_label.text() == "no points yet"
    panel.set_brush(density=MIN_DRAWN - 1)
    panel._on_canvas_pressed(panel._vb.mapViewToScene(QPointF(0.0, 0.0)))   # scene position
    panel._on_canvas_released(panel._vb.mapViewToScene(QPointF(0.0, 0.0)))
    assert len(panel.drawn_points()) == MIN_DRAWN - 1 and not panel._train_button.isEnabled()
    panel._on_canvas_pressed(panel._vb.mapViewToScene(QPointF(1.0, 1.0)))
    assert panel._train_button.isEnabled()
    assert panel.drawing()["modes"] is None and panel.drawing()["sigma"] == 0.0
    qtbot.mouseClick(panel._clear_button, Qt.MouseButton.LeftButton)
    assert len(panel.drawn_points()) == 0 and not panel._train_button.isEnabled()
    # outside the plot area (on the axis) nothing is drawn
    axis = panel._canvas.getPlotItem().getAxis("left").sceneBoundingRect().center()
    assert panel._on_canvas_pressed(axis) is False and len(panel.drawn_points()) == 0


def test_clicks_do_not_draw_outside_draw_mode(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    vp = panel._canvas.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=viewport_pos(panel, 0.0, 0.0))
    assert len(panel.drawn_points()) == 0


# -- mode metrics -------------------------------------------------------------------------------

def test_mode_metrics_bars_curves_and_readout(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    assert not panel._metrics.isVisible() and panel.readout_text() == ""
    counts1 = np.array([100, 0, 50, 0, 0, 0, 0, 0])
    panel.append_mode_metrics(100, 2, 8, 0.3, 1.2, counts1)
    # one evaluation (an opened run): dots, and a step axis wider than one step
    (lo, hi), _ = panel._curves_plot.getPlotItem().viewRange()
    assert lo < 100 < hi and hi - lo >= 2
    assert panel._curves["hq"].opts["symbol"] == "o"
    # the narrow plot labels its step axis at a round spacing, ~3 labels at most
    assert [_nice_step(v) for v in (0.3, 1.0, 1700.0, 4400 / 2.5)] == [0.5, 1.0, 2000.0, 2000.0]
    levels = panel._curves_plot.getPlotItem().getAxis("bottom").tickValues(0.0, 110.0, 100)
    assert levels[0][0] == 50.0 and list(levels[0][1]) == [0.0, 50.0, 100.0]
    counts = np.array([300, 280, 310, 0, 290, 305, 320, 296])
    panel.append_mode_metrics(200, 7, 8, 0.961, 0.0312, counts)
    assert panel._metrics.isVisible()
    assert panel.readout_text() == "7/8 modes \u00b7 96.1% high quality \u00b7 reverse KL 0.03"
    assert "within 3 sigma" in panel._readout.toolTip()
    opts = panel._bars.opts
    np.testing.assert_array_equal(opts["height"], counts)
    np.testing.assert_array_equal(opts["x"], np.arange(8))     # modes 0-7, as the data's classes
    ticks = panel._bars_plot.getPlotItem().getAxis("bottom")._tickLevels
    assert [t for _, t in ticks[0]] == [str(i) for i in range(8)]
    assert panel._mode_numbers.texts() == [str(i) for i in range(8)]   # beside the centres
    assert panel._ideal_line.isVisible()
    assert panel._ideal_line.value() == pytest.approx(counts.sum() / 0.961 / 8)
    x, y = panel._curves["captured"].getData()
    np.testing.assert_allclose(x, [100, 200])
    np.testing.assert_allclose(y, [25.0, 87.5])
    np.testing.assert_allclose(panel._curves["hq"].getData()[1], [30.0, 96.1])
    np.testing.assert_allclose(panel._curves["rkl"].getData()[1], [1.2, 0.0312])
    assert panel._curves["hq"].opts["symbol"] is None           # lines once there are two
    # the bars are drawn in the generated-points colour
    QApplication.processEvents()
    shot = to_array(panel._bars_plot.grab().toImage()).astype(int)
    bar, base = panel._fake_colour, panel.palette().color(QPalette.ColorRole.Base)
    blend = QColor(*[round(c * 0.85 + b * 0.15) for c, b in zip(bar.getRgb()[:3], base.getRgb()[:3])])
    assert near(shot, blend, tol=12) > 500
    panel.clear_history()
    assert not panel._metrics.isVisible() and panel.readout_text() == ""
    x, _ = panel._curves["hq"].getData()
    assert x is None or len(x) == 0


# -- rendering ----------------------------------------------------------------------------------

def test_render_real_points_and_heatmap_and_toggle_them_off(qtbot, panel):
    show(qtbot, panel)
    field = np.ones((12, 16), np.float32)
    field[:, 8:] = 0.0                                       # left: "real", right: "generated"
    panel.set_frame(full_frame(field=field, fake=np.zeros((0, 2), np.float32),
                               arrows_at=None, arrows=None, manifold=None, modes=None))
    pixels = canvas_pixels(panel)
    hi, lo = panel.field_colour(1.0), panel.field_colour(0.0)
    assert hi.green() > hi.red() + 20 and lo.blue() > lo.green() + 20    # green / purple tints
    assert near(pixels, hi, 6) > 3000 and near(pixels, lo, 6) > 3000
    assert strong_green(pixels) > 200                        # the real points
    panel._checks["real"].click()
    pixels = canvas_pixels(panel)
    assert strong_green(pixels) == 0 and near(pixels, hi, 6) > 3000
    panel._checks["real"].click()
    panel._checks["field"].click()
    pixels = canvas_pixels(panel)
    assert near(pixels, hi, 6) < 50 and near(pixels, lo, 6) < 50
    assert strong_green(pixels) > 200
    assert not panel._colorbar.isVisible()


def test_dark_palette_recolours(qtbot, panel):
    show(qtbot, panel)
    panel.set_frame(full_frame())
    light = panel._real_item.colour()
    assert (light.red(), light.green(), light.blue()) == REAL_COLOURS[0]
    panel.setPalette(dark_palette())
    QApplication.processEvents()
    dark = panel._real_item.colour()
    assert (dark.red(), dark.green(), dark.blue()) == REAL_COLOURS[1]
    base = dark_palette().color(QPalette.ColorRole.Base)
    assert panel._canvas.backgroundBrush().color() == base
    assert panel.field_colour(0.5) == base                   # neutral = the plot background


@pytest.mark.parametrize("size", [(520, 480), (1000, 700)])
def test_layout_fits_dock_sizes(qtbot, panel, size):
    show(qtbot, panel, size)
    panel.set_frame(full_frame())
    panel.append_mode_metrics(1, 7, 8, 0.9, 0.1, np.full(8, 10))
    for _ in range(3):
        QApplication.processEvents()
    assert panel.minimumSizeHint().width() <= 520
    assert panel.width() == size[0]
    canvas = panel._canvas
    assert canvas.width() >= 300 and canvas.height() >= 240, (canvas.width(), canvas.height())
    assert panel._bars_plot.height() >= 80 and panel._curves_plot.height() >= 80
    for b in (panel._play_button, panel._pause_button, panel._step_button,
              panel._d_step_button, panel._g_step_button, panel._fit_button):
        assert b.width() >= b.fontMetrics().horizontalAdvance(b.text()), b.text()
    for cb in panel._checks.values():
        assert cb.width() >= cb.sizeHint().width() - 1, cb.text()
    assert not panel._side_scroll.verticalScrollBar().isVisible()
    panel.set_draw_mode(True)
    QApplication.processEvents()
    assert panel._train_button.isVisible()
    assert panel._train_button.width() >= panel._train_button.fontMetrics().horizontalAdvance(
        panel._train_button.text())
