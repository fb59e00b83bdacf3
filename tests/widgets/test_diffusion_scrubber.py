"""DiffusionScrubberPanel: grids per step, playback, requests, clicks, points, schedule, render."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel

from widgets.diffusion_scrubber import (
    EMPTY_TEXT, GRID_TITLES, MAX_TRAILS, NOISE_NOTE, DiffusionScrubberPanel, log10_snr,
    noise_to_display, pick_steps, x0_across_steps,
)
from widgets.sample_gallery import PAD
from .imaging import to_array

WAIT = 3000


# -- helpers --------------------------------------------------------------------------------

def image_trajectory(S=10, N=4, size=8, mode="sample"):
    """Step i: x_t is constant i/9, x0 constant 1 - i/9, eps constant 0 (-> grey 128)."""
    v = (np.arange(S) / (S - 1)).astype(np.float32)[:, None, None, None, None]
    xt = np.broadcast_to(v, (S, N, 1, size, size)).copy()
    t = np.round(np.linspace(1000, 1, S)).astype(np.int64)
    if mode == "forward":
        t = t[::-1].copy()
    return {"t": t, "xt": xt, "x0": 1.0 - xt, "eps": np.zeros_like(xt), "mode": mode}


def checkerboard_trajectory(S=4, N=16, size=8):
    yy, xx = np.mgrid[0:size, 0:size]
    board = ((yy + xx) % 2).astype(np.float32)
    xt = np.broadcast_to(board, (S, N, 1, size, size)).copy()
    return {"t": np.arange(S, 0, -1) * 100, "xt": xt, "x0": 1 - xt,
            "eps": (xt * 2 - 1) * 2.0, "mode": "sample"}


def forward_trajectory(S=6, N=4, size=8):
    """As the forward render gives it: t from T to 0, the model's guesses in "x0"/"eps", the
    truth in "x0_true"/"eps_true" (x0_true 1, eps_true 0 -> white, grey), "eps_mse" per
    sample (NaN at t = 0)."""
    t = np.round(np.linspace(1000, 0, S)).astype(np.int64)
    shape = (S, N, 1, size, size)
    mse = np.outer(np.linspace(0.9, 0.1, S), 1 + np.arange(N) / 10)
    mse[-1] = np.nan
    return {"t": t, "xt": np.full(shape, 0.5, np.float32), "x0": np.full(shape, 0.25, np.float32),
            "eps": np.full(shape, 2.0, np.float32), "x0_true": np.ones(shape, np.float32),
            "eps_true": np.zeros(shape, np.float32), "eps_mse": mse, "mode": "forward"}


def point_trajectory(S=6, N=40):
    rng = np.random.default_rng(0)
    xt = np.cumsum(rng.normal(size=(S, N, 2)), axis=0).astype(np.float32)
    return {"t": np.arange(S, 0, -1) * 10, "xt": xt, "x0": xt * 0.5, "eps": xt * 0.1}




def cell_viewport_pos(panel, key, index):
    """Viewport position of the centre of cell `index` in grid `key`."""
    x, y = panel.grid_geometry().cell_centre(index)
    view, vb = panel._grid_views[key], panel._grid_vbs[key]
    return view.mapFromScene(vb.mapViewToScene(QPointF(x, y)))


@pytest.fixture
def panel(qtbot):
    w = DiffusionScrubberPanel()
    qtbot.addWidget(w)
    return w


def show(qtbot, w, size=(900, 650)):
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()


# -- states -----------------------------------------------------------------------------------

def test_empty_state_then_ready_then_clear(qtbot, panel):
    show(qtbot, panel)
    assert panel.objectName() == "DiffusionScrubberPanel"
    empty = panel.findChild(QLabel, "scrubberEmptyState")
    assert empty.text() == EMPTY_TEXT and panel._pages.currentWidget() is empty
    assert panel.trajectory() is None and panel.current_grids() == {}
    panel.set_schedule(np.linspace(0.999, 0.001, 100), 100)
    assert panel._pages.currentWidget() is not empty
    assert panel._display.currentWidget() is panel._ready           # "press Run" hint
    assert not panel._continue_button.isEnabled() and not panel._export_button.isEnabled()
    panel.set_trajectory(image_trajectory())
    assert panel._display.currentWidget() is panel._images_page
    assert panel._continue_button.isEnabled() and panel._export_button.isEnabled()
    panel.clear()
    assert panel._pages.currentWidget() is empty and panel.trajectory() is None
    assert panel.step_text() == "no trajectory yet" and panel.current_grids() == {}


def test_titles_and_noise_note(qtbot, panel):
    show(qtbot, panel)
    panel.set_trajectory(image_trajectory())
    assert [panel._grid_titles[k].text() for k in ("xt", "x0", "eps")] == \
        ["x_t", "predicted x0", "predicted noise"]
    assert GRID_TITLES["eps"] == "predicted noise"
    assert panel._noise_note.isVisible() and "0.5 + 0.25" in panel._noise_note.text() == NOISE_NOTE
    assert panel.title() == "Sampling \u00b7 4 samples \u00b7 10 steps, t 1000 \u2192 1"


def test_forward_mode_shows_the_guesses_beside_the_truth(qtbot, panel):
    """Forward mode once showed the true x0 and noise titled "predicted": the truth now has
    grids of its own, titled as the truth, and the noise guess's error is read out per t."""
    show(qtbot, panel, (1000, 700))
    traj = forward_trajectory()
    panel.set_trajectory(traj, step=1)
    QApplication.processEvents()
    assert GRID_TITLES["x0_true"] == "true x0" and GRID_TITLES["eps_true"] == "true noise"
    for key, title in GRID_TITLES.items():
        assert panel._grid_titles[key].text() == title and panel._grid_views[key].isVisible(), key
    grids = panel.current_grids()
    assert set(grids) == {"xt", "x0", "eps", "x0_true", "eps_true"}
    assert grids["x0"][PAD, PAD, 0] == round(0.25 * 255)        # the guess ...
    assert grids["x0_true"][PAD, PAD, 0] == 255                 # ... beside the truth
    assert grids["eps_true"][PAD, PAD, 0] == 128 and grids["eps"][PAD, PAD, 0] == 255
    text = panel.error_text()
    assert panel._error_label.isVisible()
    assert f"{np.mean(traj['eps_mse'][1]):.3f}" in text and "Noise guess" in text
    panel.select(2)
    assert f"#2: {traj['eps_mse'][1, 2]:.3f}" in panel.error_text()
    panel.set_step(5)                                          # t = 0: nothing to guess
    assert "t = 0" in panel.error_text()
    # a generated trajectory has no truth: its grids and the readout go away
    panel.set_trajectory(image_trajectory())
    QApplication.processEvents()
    assert set(panel.current_grids()) == {"xt", "x0", "eps"}
    assert not panel._grid_views["x0_true"].isVisible() and not panel._error_label.isVisible()
    assert panel.error_text() == ""


@pytest.mark.parametrize("size", [(1000, 700), (460, 760), (1280, 420)])
def test_forward_grids_get_room_at_any_shape(qtbot, panel, size):
    show(qtbot, panel, size)
    panel.set_schedule(np.linspace(0.999, 0.001, 1000), 1000)
    panel.set_trajectory(forward_trajectory(N=16))
    for _ in range(3):
        QApplication.processEvents()
    sides = {k: min(panel._grid_views[k].width(), panel._grid_views[k].height())
             for k in GRID_TITLES}
    assert min(sides.values()) > 70, sides
    assert panel._error_label.isVisible()


# -- grids per step ---------------------------------------------------------------------------

def test_grids_follow_the_step(qtbot, panel):
    show(qtbot, panel)
    traj = image_trajectory()
    panel.set_trajectory(traj)
    assert panel.current_step() == 0 and panel.trajectory() is traj
    geo = panel.grid_geometry()
    assert (geo.rows, geo.cols, geo.n, geo.h, geo.w) == (2, 2, 4, 8, 8)
    seen = []
    for n, i in enumerate((0, 3, 9, 5)):
        if n:
            with qtbot.waitSignal(panel.step_changed, timeout=WAIT) as blocker:
                panel.set_step(i)
            assert blocker.args == [i, int(traj["t"][i])]
        assert panel.current_step() == i
        grids = panel.current_grids()
        assert set(grids) == {"xt", "x0", "eps"}
        for g in grids.values():
            assert g.dtype == np.uint8 and g.shape == (2 * (8 + PAD) + PAD, 2 * (8 + PAD) + PAD, 1)
        want = round(i / 9 * 255)
        for k in range(4):
            r, c = divmod(k, 2)
            y, x = PAD + r * (8 + PAD), PAD + c * (8 + PAD)
            assert (grids["xt"][y:y + 8, x:x + 8] == want).all()
            assert (grids["x0"][y:y + 8, x:x + 8] == 255 - want).all()
            assert (grids["eps"][y:y + 8, x:x + 8] == 128).all()     # eps 0 -> mid grey
        assert panel.step_text() == f"step {i} / 9, t = {traj['t'][i]}"
        np.testing.assert_array_equal(panel._grid_items["xt"].image, grids["xt"][:, :, 0])
        seen.append(int(grids["xt"][PAD, PAD, 0]))
    assert len(set(seen)) == 4
    panel.set_step(99)                                   # clamped
    assert panel.current_step() == 9


def test_noise_display_mapping_and_missing_keys(qtbot, panel):
    np.testing.assert_allclose(noise_to_display(np.array([-4.0, -2.0, 0.0, 2.0, 9.0])),
                               [0.0, 0.0, 0.5, 1.0, 1.0])
    traj = image_trajectory()
    traj["eps"] = np.full_like(traj["xt"], 1.0)
    del traj["x0"]
    panel.set_trajectory(traj)
    grids = panel.current_grids()
    assert set(grids) == {"xt", "eps"}
    assert grids["eps"][PAD, PAD, 0] == round(0.75 * 255)
    assert panel._grid_titles["x0"].text() == "predicted x0 (not given)"
    assert not panel._export_actions["x0_grid"].isEnabled()


def test_bad_trajectories_raise(panel):
    with pytest.raises(ValueError):
        panel.set_trajectory({"t": np.arange(3)})
    with pytest.raises(ValueError):
        panel.set_trajectory({"t": np.arange(3), "xt": np.zeros((4, 2, 1, 8, 8))})
    with pytest.raises(ValueError):
        panel.set_trajectory({"t": np.arange(3), "xt": np.zeros((3, 2, 5))})
    traj = image_trajectory()
    traj["x0"] = traj["x0"][:, :2]
    with pytest.raises(ValueError):
        panel.set_trajectory(traj)


def test_rgb_and_odd_channel_counts(panel):
    traj = image_trajectory()
    for c in (3, 4, 2):
        t2 = {k: (np.repeat(v, c, axis=2) if k in ("xt", "x0", "eps") else v) for k, v in traj.items()}
        panel.set_trajectory(t2)
        assert panel.current_grids()["xt"].shape[2] == (3 if c in (3, 4) else 1)


# -- playback ---------------------------------------------------------------------------------

def test_play_runs_to_the_end_and_stops_then_reverse_goes_back(qtbot, panel):
    show(qtbot, panel)
    panel.set_trajectory(image_trajectory())
    panel.set_fps(60)
    assert panel._timer.interval() == round(1000 / 60)
    steps = []
    panel.step_changed.connect(lambda i, t: steps.append(i))
    qtbot.mouseClick(panel._play_button, Qt.MouseButton.LeftButton)
    assert panel.is_playing() and panel._pause_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.is_playing(), timeout=WAIT)
    assert panel.current_step() == 9 and steps == list(range(1, 10))
    assert not panel._pause_button.isEnabled()

    steps.clear()
    qtbot.mouseClick(panel._reverse_button, Qt.MouseButton.LeftButton)
    assert panel.is_playing()
    qtbot.waitUntil(lambda: not panel.is_playing(), timeout=WAIT)
    assert panel.current_step() == 0 and steps == list(range(8, -1, -1))


def test_pause_stops_and_play_at_the_end_restarts(qtbot, panel):
    show(qtbot, panel)
    panel.set_trajectory(image_trajectory())
    panel.set_fps(5)
    assert panel.fps() == 5 and panel._timer.interval() == 200
    panel.set_step(9)
    panel.play()                                  # at the end: starts over from the first step
    assert panel.current_step() == 0 and panel.is_playing()
    qtbot.mouseClick(panel._pause_button, Qt.MouseButton.LeftButton)
    assert not panel.is_playing()
    panel.set_fps(100)
    assert panel.fps() == 60                      # clamped to 5..60
    panel.reverse()                               # at the start: from the last step backwards
    assert panel.current_step() == 9 and panel.is_playing()
    panel.set_trajectory(image_trajectory())      # a new trajectory stops playback
    assert not panel.is_playing()


# -- requests ---------------------------------------------------------------------------------

def test_run_emits_the_widget_values(qtbot, panel):
    show(qtbot, panel)
    panel.set_schedule(np.linspace(0.999, 0.001, 100), 100)
    assert (panel._steps.value(), panel._n.value(), panel._eta.value()) == (50, 16, 0.0)
    assert (panel._steps.minimum(), panel._steps.maximum()) == (2, 1000)
    assert (panel._n.minimum(), panel._n.maximum()) == (1, 256)
    assert [panel._sampler.itemText(i) for i in range(panel._sampler.count())] == ["ddpm", "ddim"]
    with qtbot.waitSignal(panel.trajectory_requested, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._run_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [{"mode": "sample", "sampler": "ddpm", "steps": 50, "eta": 0.0,
                             "seed": 0, "n": 16}]
    panel._sampler.setCurrentText("ddim")
    assert panel._eta.isEnabled()
    panel._steps.setValue(120)
    panel._eta.setValue(0.3)
    panel._seed.setValue(1234)
    panel._n.setValue(9)
    qtbot.mouseClick(panel._forward_button, Qt.MouseButton.LeftButton)
    assert panel._forward_button.isChecked() and not panel._generate_button.isChecked()
    assert not panel._sampler.isEnabled()
    with qtbot.waitSignal(panel.trajectory_requested, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._run_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [{"mode": "forward", "sampler": "ddim", "steps": 120, "eta": 0.3,
                             "seed": 1234, "n": 9}]
    panel.set_run_settings(mode="sample", sampler="ddpm")
    assert panel.run_settings()["mode"] == "sample" and not panel._eta.isEnabled()


def test_click_selects_and_edits_emit_payloads(qtbot, panel):
    show(qtbot, panel)
    traj = image_trajectory(N=9)
    panel.set_trajectory(traj)
    panel.set_step(4)
    QApplication.processEvents()
    assert panel.selected_index() is None
    assert not panel._renoise_button.isEnabled() and not panel._swap_button.isEnabled()
    for k in (7, 0, 5):
        with qtbot.waitSignal(panel.sample_selected, timeout=WAIT) as blocker:
            qtbot.mouseClick(panel._grid_views["xt"].viewport(), Qt.MouseButton.LeftButton,
                             pos=cell_viewport_pos(panel, "xt", k))
        assert blocker.args == [k] and panel.selected_index() == k
    rect = panel._grid_rects["xt"]
    assert rect.isVisible()
    geo = panel.grid_geometry()
    cx, cy = geo.cell_centre(5)
    assert rect.rect().contains(QPointF(cx, cy)) and rect.rect().width() == 8 + PAD
    assert panel._renoise_button.isEnabled() and panel._swap_button.isEnabled()

    panel._seed.setValue(77)
    t = int(traj["t"][4])
    with qtbot.waitSignal(panel.edit_requested, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._renoise_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [{"step_index": 4, "t": t, "index": 5, "action": "renoise", "seed": 77}]
    with qtbot.waitSignal(panel.edit_requested, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._swap_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [{"step_index": 4, "t": t, "index": 5, "action": "swap", "seed": 77}]

    panel._sampler.setCurrentText("ddim")
    panel._eta.setValue(0.5)
    panel._steps.setValue(20)
    with qtbot.waitSignal(panel.continue_requested, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._continue_button, Qt.MouseButton.LeftButton)
    payload = blocker.args[0]
    assert set(payload) == {"step_index", "t", "x_t", "sampler", "steps", "eta", "seed"}
    assert (payload["step_index"], payload["t"], payload["sampler"], payload["steps"],
            payload["eta"], payload["seed"]) == (4, t, "ddim", 20, 0.5, 77)
    assert isinstance(payload["x_t"], np.ndarray)
    np.testing.assert_array_equal(payload["x_t"], traj["xt"][4])

    # the window answers with the continued trajectory: the panel stays at the same t
    cont = image_trajectory(S=10, N=9)
    cont["t"] = np.concatenate([traj["t"][:5], np.round(np.linspace(t - 1, 1, 5)).astype(np.int64)])
    panel.set_trajectory(cont)
    assert panel.current_step() == 4 and panel.current_t() == t
    assert panel.selected_index() == 5                     # still there
    panel.set_trajectory(image_trajectory(N=3))            # fewer samples: selection dropped
    assert panel.selected_index() is None and not panel._grid_rects["xt"].isVisible()


def test_click_on_other_grids_and_outside(qtbot, panel):
    show(qtbot, panel)
    panel.set_trajectory(image_trajectory(N=4))
    QApplication.processEvents()
    qtbot.mouseClick(panel._grid_views["eps"].viewport(), Qt.MouseButton.LeftButton,
                     pos=cell_viewport_pos(panel, "eps", 3))
    assert panel.selected_index() == 3
    assert panel._grid_rects["x0"].isVisible() and panel._grid_rects["eps"].isVisible()
    with qtbot.assertNotEmitted(panel.sample_selected, wait=50):
        view, vb = panel._grid_views["xt"], panel._grid_vbs["xt"]
        far = view.mapFromScene(vb.mapViewToScene(QPointF(-50, -50)))
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=far)
    assert panel.selected_index() == 3


def test_export_menu_emits(qtbot, panel):
    panel.set_trajectory(image_trajectory())
    for kind in ("gif", "x0_grid", "final"):
        with qtbot.waitSignal(panel.export_requested, timeout=WAIT) as blocker:
            panel._export_actions[kind].trigger()
        assert blocker.args == [kind]
    assert panel._export_button.menu().actions() == list(panel._export_actions.values())


def test_busy_and_error(qtbot, panel):
    show(qtbot, panel)
    panel.set_busy("Sampling 50 steps\u2026")
    assert panel.is_busy() and panel.status_text() == "Sampling 50 steps\u2026"
    panel.set_error("CUDA out of memory")
    assert not panel.is_busy() and panel.status_text() == "CUDA out of memory"
    assert "#e0443e" in panel._status.styleSheet()
    panel.set_busy("")
    assert panel.is_busy() and panel.status_text()
    panel.set_trajectory(image_trajectory())
    assert not panel.is_busy() and panel.status_text() == ""


# -- points -------------------------------------------------------------------------------------

def test_points_draw_trajectories_and_the_vector_field(qtbot, panel):
    show(qtbot, panel)
    traj = point_trajectory(S=6, N=40)
    panel.set_trajectory(traj)
    assert panel._display.currentWidget() is panel._plot
    assert panel.current_grids() == {} and panel.grid_geometry() is None
    panel.set_step(3)
    x, y = panel._xt_scatter.getData()
    np.testing.assert_allclose(np.stack([x, y], 1), traj["xt"][3], rtol=1e-6)
    x, y = panel._x0_scatter.getData()
    np.testing.assert_allclose(np.stack([x, y], 1), traj["x0"][3], rtol=1e-6)
    tx, ty = panel._trails.getData()
    finite = np.isfinite(tx)
    assert finite.sum() == 40 * 4                              # 40 paths over steps 0..3
    assert (~finite).sum() == 40                               # one break after each path
    np.testing.assert_allclose(tx[:4], traj["xt"][:4, 0, 0], rtol=1e-6)   # particle 0's path

    g = np.linspace(-2, 2, 5)
    gx, gy = np.meshgrid(g, g)
    grid_xy = np.stack([gx.ravel(), gy.ravel()], 1)
    vec = np.tile([[1.0, 0.0]], (25, 1))
    panel.set_vector_field(grid_xy, vec)
    fx, fy = panel._field_item.getData()
    assert len(fx) == 25 * 3 * 2                               # shaft + two barbs per arrow
    shafts = np.stack([fx, fy], 1).reshape(25, 3, 2, 2)[:, 0]
    np.testing.assert_allclose(shafts[:, 0], grid_xy)         # from the grid points ...
    length = shafts[:, 1, 0] - shafts[:, 0, 0]
    np.testing.assert_allclose(length, 0.9, rtol=1e-6)         # ... along +x, ~ one spacing
    np.testing.assert_allclose(shafts[:, 1, 1], shafts[:, 0, 1])

    per_step = np.stack([vec * (s + 1) for s in range(6)])      # one field per step
    panel.set_vector_field(grid_xy, per_step)
    panel.set_step(0)
    a = np.asarray(panel._field_item.getData()[0]).copy()
    panel.set_step(5)
    b = np.asarray(panel._field_item.getData()[0])
    assert not np.allclose(a, b)
    panel.set_trajectory(point_trajectory(S=4))                 # 4 steps: the field does not fit
    assert len(panel._field_item.getData()[0]) == 0
    panel.set_vector_field(None, None)
    assert len(panel._field_item.getData()[0]) == 0


def test_points_trails_are_capped_and_click_selects_nearest(qtbot, panel):
    show(qtbot, panel)
    traj = point_trajectory(S=3, N=500)
    panel.set_trajectory(traj, step=2)
    tx, _ = panel._trails.getData()
    assert np.isfinite(tx).sum() == MAX_TRAILS * 3
    vb = panel._plot.getPlotItem().vb
    centre = np.median(traj["xt"][2], axis=0)
    target = traj["xt"][2, np.argmin(np.linalg.norm(traj["xt"][2] - centre, axis=1))]
    pos = panel._plot.mapFromScene(vb.mapViewToScene(QPointF(*map(float, target))))
    with qtbot.waitSignal(panel.sample_selected, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    k = blocker.args[0]
    d = np.linalg.norm(traj["xt"][2] - traj["xt"][2, k], axis=1)
    assert np.linalg.norm(traj["xt"][2, k] - target) <= np.sort(np.linalg.norm(traj["xt"][2] - target, axis=1))[1]
    assert d[k] == 0
    rx, ry = panel._sel_ring.getData()
    np.testing.assert_allclose([rx[0], ry[0]], traj["xt"][2, k], rtol=1e-6)
    assert len(panel._sel_trail.getData()[0]) == 3
    assert panel._swap_button.text() == "Swap with data point"


# -- schedule ------------------------------------------------------------------------------------

def test_schedule_curves_and_marker_follow_the_step(qtbot, panel):
    show(qtbot, panel)
    T = 1000
    ab = np.cumprod(1 - np.linspace(1e-4, 0.02, T))
    panel.set_schedule(ab, T)
    x, y = panel._abar_curve.getData()
    np.testing.assert_array_equal(x, np.arange(1, T + 1))
    np.testing.assert_allclose(y, ab)
    x, y = panel._snr_curve.getData()
    np.testing.assert_allclose(y, np.log10(ab / (1 - ab)))
    assert not panel._marker.isVisible()                   # no step yet
    traj = image_trajectory()
    panel.set_trajectory(traj)
    assert panel._marker.isVisible()
    for i in (0, 4, 9):
        panel.set_step(i)
        assert panel._marker.value() == traj["t"][i]
        dx, dy = panel._abar_dot.getData()
        assert dx[0] == traj["t"][i] and dy[0] == pytest.approx(ab[traj["t"][i] - 1])
    assert panel._sched.getPlotItem().vb.xInverted()       # sampling: T on the left
    panel.set_trajectory(image_trajectory(mode="forward"))
    assert not panel._sched.getPlotItem().vb.xInverted()

    # dragging the marker scrubs to the nearest step
    panel.set_trajectory(traj)
    panel._marker.setValue(float(traj["t"][6]) + 3)
    assert panel.current_step() == 6 and panel._marker.value() == traj["t"][6]


def test_log10_snr_stays_finite():
    v = log10_snr(np.array([1.0, 0.5, 0.0, np.nan]))
    assert np.isfinite(v[:3]).all() and v[1] == 0 and np.isnan(v[3])


# -- helpers ------------------------------------------------------------------------------------

def test_x0_across_steps_picks_evenly_spaced_steps():
    S, N = 50, 3
    x0 = np.arange(S, dtype=np.float32)[:, None, None, None, None] * np.ones((S, N, 1, 4, 4), np.float32)
    picks = x0_across_steps({"t": np.arange(S, 0, -1), "xt": x0, "x0": x0}, k=10)
    assert picks.shape == (10, N, 1, 4, 4)
    steps = picks[:, 0, 0, 0, 0].astype(int).tolist()
    assert steps == [0, 5, 11, 16, 22, 27, 33, 38, 44, 49]
    assert steps == pick_steps(S, 10).tolist()
    assert x0_across_steps({"x0": x0[:4]}, k=10).shape[0] == 4   # capped at S
    assert pick_steps(7, 1).tolist() == [6] and pick_steps(0, 3).size == 0
    assert pick_steps(10, 2).tolist() == [0, 9]
    with pytest.raises(ValueError):
        x0_across_steps({"xt": x0})


# -- rendering ----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(900, 650), (420, 700)])
def test_render_draws_the_grids(qtbot, panel, size):
    show(qtbot, panel, size)
    assert panel.minimumSizeHint().width() <= 420
    panel.set_trajectory(checkerboard_trajectory())
    for _ in range(3):
        QApplication.processEvents()
    assert panel.width() == size[0]
    shot = panel.grab()
    dpr = shot.devicePixelRatio()
    pixels = to_array(shot.toImage()).astype(int)
    geo = panel.grid_geometry()
    h, w = geo.shape
    for key in ("xt", "x0", "eps"):
        view, vb = panel._grid_views[key], panel._grid_vbs[key]
        tl = view.mapTo(panel, view.mapFromScene(vb.mapViewToScene(QPointF(0, 0))))
        br = view.mapTo(panel, view.mapFromScene(vb.mapViewToScene(QPointF(w, h))))
        x0, y0, x1, y1 = (round(v * dpr) for v in (tl.x(), tl.y(), br.x(), br.y()))
        assert x1 - x0 > 100 and y1 - y0 > 100, f"{key}: grid not scaled up ({x1 - x0}x{y1 - y0})"
        region = pixels[y0 + 3:y1 - 3, x0 + 3:x1 - 3].mean(axis=2)
        assert (region < 30).sum() > 2000, f"{key}: no dark checker pixels"
        assert (region > 225).sum() > 2000, f"{key}: no light checker pixels"
        assert region.std() > 60, f"{key}: uniform"
        # one pixel of the pattern in cell 0: (0, 0) is dark in x_t, light in x0
        px = view.mapTo(panel, view.mapFromScene(vb.mapViewToScene(QPointF(PAD + 0.5, PAD + 0.5))))
        value = pixels[round(px.y() * dpr), round(px.x() * dpr)].mean()
        assert (value < 40) if key in ("xt", "eps") else (value > 215), (key, value)


def test_render_points(qtbot, panel):
    show(qtbot, panel)
    panel.set_trajectory(point_trajectory(S=5, N=200), step=4)
    QApplication.processEvents()
    shot = to_array(panel._plot.grab().toImage()).astype(int)
    r, b = shot[:, :, 0], shot[:, :, 2]
    orange = (r > b + 120).sum()          # x_t (230, 110, 20)
    blue = (b > r + 80).sum()             # predicted x0 (60, 140, 220)
    assert orange > 200 and blue > 100, (orange, blue)
