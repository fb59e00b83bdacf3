"""SampleGalleryPanel: rendering, grids, points, clicks, hover, timeline scrubbing, LRU."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication



from widgets.sample_gallery import (  # noqa: E402
    CACHE_SIZE, HINT, PAD, PAD_VALUE, SampleGalleryPanel, infer_geometry, make_grid,
)

from .imaging import to_array

WAIT = 3000


# -- helpers --------------------------------------------------------------------------------

def checkerboards(n=16, size=8):
    """n (1-channel) 8x8 checkerboards, 1-pixel squares; image i alternates i/200 and
    1 - i/200, so every image is distinct but all are near-black / near-white."""
    yy, xx = np.mgrid[0:size, 0:size]
    board = ((yy + xx) % 2).astype(np.float32)
    lo = (np.arange(n) / 200.0).astype(np.float32)[:, None, None]
    return (lo + board[None] * (1 - 2 * lo))[:, None]             # (n, 1, size, size)


def coloured(n, value, c=3, size=6):
    return np.full((n, c, size, size), value, np.float32)




def image_to_widget(panel, x, y):
    """Image (view) coordinates -> panel pixel coordinates."""
    scene = panel._vb.mapViewToScene(QPointF(x, y))
    view = panel._view
    return view.mapTo(panel, view.mapFromScene(scene))


def image_to_viewport(panel, x, y):
    return panel._view.mapFromScene(panel._vb.mapViewToScene(QPointF(x, y)))


@pytest.fixture
def panel(qtbot):
    w = SampleGalleryPanel()
    qtbot.addWidget(w)
    return w


def show(qtbot, w, size=(600, 400)):
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()


# -- rendering --------------------------------------------------------------------------------

def test_render_draws_the_checkerboard_grid(qtbot, panel):
    show(qtbot, panel)
    imgs = checkerboards()
    panel.set_samples(1200, imgs)
    QApplication.processEvents()
    QApplication.processEvents()
    assert panel.title() == "Step 1200 - 16 samples (fixed z)"

    grab = panel.grab()
    dpr = grab.devicePixelRatio()
    pixels = to_array(grab.toImage()).astype(int)
    geo = panel.geometry_of_grid()
    h, w = geo.shape
    tl, br = image_to_widget(panel, 0, 0), image_to_widget(panel, w, h)
    x0, y0, x1, y1 = (round(v * dpr) for v in (tl.x(), tl.y(), br.x(), br.y()))
    assert x1 - x0 > 250 and y1 - y0 > 250, "the grid is not scaled up to fill the view"
    region = pixels[y0 + 3:y1 - 3, x0 + 3:x1 - 3].mean(axis=2)
    assert (region < 25).sum() > 2000, "no near-black pixels where the grid is"
    assert (region > 230).sum() > 2000, "no near-white pixels where the grid is"
    assert region.std() > 60, "the view is uniform"

    # the checkerboard pattern itself, sampled at pixel centres of cells (0, 0) and (3, 2)
    for index in (0, 14):
        r, c = divmod(index, geo.cols)
        for yy in range(8):
            for xx in range(8):
                px = image_to_widget(panel, PAD + c * (8 + PAD) + xx + 0.5, PAD + r * (8 + PAD) + yy + 0.5)
                value = pixels[round(px.y() * dpr), round(px.x() * dpr)].mean()
                expected_white = (xx + yy) % 2 == 1
                assert (value > 200) if expected_white else (value < 40), (index, xx, yy, value)


def test_render_draws_points(qtbot, panel):
    show(qtbot, panel)
    rng = np.random.default_rng(0)
    panel.set_reference_points(rng.standard_normal((500, 2)) * 2)
    panel.set_samples(7, rng.standard_normal((300, 2)).astype(np.float32))
    QApplication.processEvents()
    shot = panel.current_image()
    assert shot.dtype == np.uint8 and shot.ndim == 3 and shot.shape[2] == 3
    orange = (np.abs(shot.astype(int) - (230, 110, 20)).max(axis=2) < 30).sum()
    assert orange > 300, f"only {orange} sample-coloured pixels"
    grey = (np.abs(shot.astype(int) - shot[0, 0]).sum(axis=2) > 30) & (
        (shot.max(axis=2).astype(int) - shot.min(axis=2)) < 15)
    assert grey.sum() > 100, "no reference points drawn"
    assert panel.title() == "Step 7 - 300 samples (fixed z)"


def test_empty_state_and_clear(qtbot, panel):
    show(qtbot, panel)
    assert panel._stack.currentWidget() is panel._hint and panel._hint.text() == HINT
    assert panel.current_image().shape == (0, 0, 3)
    assert not panel._timeline.isVisible()
    panel.set_samples(1, coloured(4, 0.5))
    assert panel._stack.currentWidget() is panel._view and panel._timeline.isVisible()
    panel.clear()
    assert panel._stack.currentWidget() is panel._hint
    assert panel.steps() == [] and panel.current_step() is None
    assert panel.current_image().shape == (0, 0, 3)
    assert panel.objectName() == "SampleGalleryPanel"


# -- grids ------------------------------------------------------------------------------------

def test_make_grid_layout_matches_studio_image_grid():
    imgs = np.random.default_rng(0).random((10, 3, 5, 7)).astype(np.float32)
    grid, geo = make_grid(imgs)
    assert (geo.rows, geo.cols, geo.n) == (3, 4, 10)
    assert grid.dtype == np.uint8 and grid.shape == (3 * (5 + PAD) + PAD, 4 * (7 + PAD) + PAD, 3)
    u8 = (np.clip(imgs, 0, 1) * 255 + 0.5).astype(np.uint8)
    for i in range(10):
        r, c = divmod(i, 4)
        y, x = PAD + r * (5 + PAD), PAD + c * (7 + PAD)
        np.testing.assert_array_equal(grid[y:y + 5, x:x + 7], u8[i].transpose(1, 2, 0))
    assert (grid[:PAD] == PAD_VALUE).all() and (grid[:, :PAD] == PAD_VALUE).all()
    last = grid[PAD + 2 * (5 + PAD):, PAD + 2 * (7 + PAD):]        # the two empty cells
    assert (last == PAD_VALUE).all()
    assert infer_geometry(grid) == geo
    grey, _ = make_grid(imgs[:, :1])
    assert grey.shape[2] == 1


def test_grey_and_rgb_images_and_current_image(panel):
    panel.set_samples(3, coloured(9, 1.0, c=1))
    img = panel.current_image()
    assert img.dtype == np.uint8 and img.shape == (3 * 8 + 2, 3 * 8 + 2, 1)
    assert panel._image.image.ndim == 2                      # greyscale ImageItem
    assert tuple(panel._image.levels) == (0, 255)
    panel.set_samples(4, coloured(5, 0.25))
    img = panel.current_image()
    assert img.shape == (2 * 8 + 2, 3 * 8 + 2, 3) and img[2, 2, 0] == 64
    assert panel.title() == "Step 4 - 5 samples (fixed z)"
    with pytest.raises(ValueError):
        panel.set_samples(5, np.zeros((3, 4, 5, 6, 7), np.float32))


# -- mouse ------------------------------------------------------------------------------------

@pytest.mark.parametrize("r, c", [(0, 0), (1, 2), (3, 3), (2, 1)])
def test_click_on_a_cell_emits_its_index(qtbot, panel, r, c):
    show(qtbot, panel)
    panel.set_samples(10, checkerboards())
    QApplication.processEvents()
    geo = panel.geometry_of_grid()
    assert (geo.rows, geo.cols) == (4, 4)
    x, y = geo.cell_centre(r * geo.cols + c)
    with qtbot.waitSignal(panel.sample_clicked, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._view.viewport(), Qt.MouseButton.LeftButton,
                         pos=image_to_viewport(panel, x, y))
    assert blocker.args == [r * geo.cols + c]


def test_click_outside_the_grid_or_on_an_empty_cell_emits_nothing(qtbot, panel):
    show(qtbot, panel)
    panel.set_samples(10, coloured(6, 0.5))                   # 3 cols, 2 rows: all filled
    panel.set_samples(11, coloured(7, 0.5))                   # 3x3 with two empty cells
    QApplication.processEvents()
    geo = panel.geometry_of_grid()
    assert geo.index_at(*geo.cell_centre(8)) is None
    assert geo.index_at(-3, 4) is None and geo.index_at(4, geo.shape[0] + 1) is None
    with qtbot.assertNotEmitted(panel.sample_clicked, wait=50):
        qtbot.mouseClick(panel._view.viewport(), Qt.MouseButton.LeftButton,
                         pos=image_to_viewport(panel, *geo.cell_centre(8)))


def test_click_on_points_emits_the_nearest(qtbot, panel):
    show(qtbot, panel)
    pts = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.5]], np.float32)
    panel.set_samples(3, pts)
    QApplication.processEvents()
    with qtbot.waitSignal(panel.sample_clicked, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._view.viewport(), Qt.MouseButton.LeftButton,
                         pos=image_to_viewport(panel, 0.92, 0.05))
    assert blocker.args == [1]


def test_hover_shows_the_index(qtbot, panel):
    show(qtbot, panel)
    panel.set_samples(10, checkerboards())
    QApplication.processEvents()
    geo = panel.geometry_of_grid()
    qtbot.mouseMove(panel._view.viewport(), image_to_viewport(panel, *geo.cell_centre(6)))
    qtbot.waitUntil(lambda: panel._hover.text().startswith("sample #6"), timeout=WAIT)
    assert "(1, 2)" in panel._hover.text()


# -- timeline -----------------------------------------------------------------------------------

class Loader:
    """Snapshot s: 4 images filled with s/1000; records the calls and their threads."""

    def __init__(self, kind="images"):
        self.kind = kind
        self.calls = []
        self.threads = set()

    def expected(self, step):
        return make_grid(coloured(4, step / 1000))[0]

    def __call__(self, step):
        self.calls.append(step)
        self.threads.add(threading.get_ident())
        if self.kind == "grid":
            return self.expected(step)
        if self.kind == "grid2d":
            return self.expected(step)[:, :, 0]
        return coloured(4, step / 1000)


def test_scrubbing_shows_the_loaders_snapshot(qtbot, panel):
    show(qtbot, panel)
    loader = Loader()
    panel.set_history([100, 300, 200], loader)
    assert panel.steps() == [100, 200, 300] and panel.is_live()
    qtbot.waitUntil(lambda: panel.current_step() == 300, timeout=WAIT)
    np.testing.assert_array_equal(panel.current_image(), loader.expected(300))
    assert threading.get_ident() not in loader.threads            # loaded off the GUI thread
    panel.scrub_to(0)
    assert not panel.is_live() and panel._live_button.isVisible()
    qtbot.waitUntil(lambda: panel.current_step() == 100, timeout=WAIT)
    np.testing.assert_array_equal(panel.current_image(), loader.expected(100))
    assert panel.title() == "Step 100 - 4 samples (fixed z)"
    assert panel._position.text() == "step 100  (1/3)"
    panel.scrub_to(2)                                              # cached: no new call
    assert panel.current_step() == 300 and loader.calls.count(300) == 1
    assert panel.is_live() and not panel._live_button.isVisible()


@pytest.mark.parametrize("kind", ["grid", "grid2d"])
def test_loader_may_return_a_ready_made_grid(qtbot, panel, kind):
    show(qtbot, panel)
    loader = Loader(kind)
    panel.set_history([5, 6], loader)
    qtbot.waitUntil(lambda: panel.current_step() == 6, timeout=WAIT)
    expected = loader.expected(6)
    shown = panel.current_image()
    np.testing.assert_array_equal(shown[..., :1] if kind == "grid2d" else shown,
                                  expected[..., :1] if kind == "grid2d" else expected)
    geo = panel.geometry_of_grid()                          # recovered from the padding
    assert geo is not None and (geo.rows, geo.cols, geo.n) == (2, 2, 4)
    with qtbot.waitSignal(panel.sample_clicked, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel._view.viewport(), Qt.MouseButton.LeftButton,
                         pos=image_to_viewport(panel, *geo.cell_centre(3)))
    assert blocker.args == [3]


def test_new_samples_do_not_jump_when_scrubbed_back_and_live_jumps(qtbot, panel):
    show(qtbot, panel)
    panel.set_samples(100, coloured(4, 0.1))
    panel.set_samples(200, coloured(4, 0.2))
    assert panel.current_step() == 200 and panel.is_live()       # live: shown at once
    assert panel.steps() == [100, 200]
    panel.scrub_to(0)
    assert panel.current_step() == 100 and not panel.is_live()
    panel.set_samples(300, coloured(4, 0.3))
    panel.set_samples(400, coloured(4, 0.4))
    assert panel.current_step() == 100                            # no jump
    assert panel.steps() == [100, 200, 300, 400]
    assert panel._slider.value() == 0 and panel._slider.maximum() == 3
    assert panel._live_button.isVisible()
    qtbot.mouseClick(panel._live_button, Qt.MouseButton.LeftButton)
    assert panel.current_step() == 400 and panel.is_live()
    assert panel.current_image()[2, 2, 0] == round(0.4 * 255)
    assert not panel._live_button.isVisible()
    panel.set_samples(500, coloured(4, 0.5))                      # following again
    assert panel.current_step() == 500


def test_pending_load_does_not_override_newer_live_samples(qtbot, panel):
    release = threading.Event()

    def slow_loader(step):
        release.wait(5)
        return coloured(4, 0.9)

    panel.set_history([10, 20], slow_loader)                      # loading 20...
    panel.set_samples(30, coloured(4, 0.3))                       # ...live samples arrive
    assert panel.current_step() == 30
    release.set()
    qtbot.waitUntil(lambda: panel._loading is None, timeout=WAIT)
    assert panel.current_step() == 30


def test_lru_keeps_at_most_cache_size_loaded_snapshots(qtbot, panel):
    loader = Loader()
    steps = list(range(0, 70 * 10, 10))
    panel.set_history(steps, loader)
    for i in range(len(steps)):
        panel.scrub_to(i)
        qtbot.waitUntil(lambda i=i: panel.current_step() == steps[i], timeout=WAIT)
    assert len(panel._cache) == CACHE_SIZE
    assert list(panel._cache)[-1] == steps[-1]
    # live samples: the newest is kept as given; older ones can be reloaded, so they join the LRU
    panel.go_live()
    a, b = coloured(4, 0.2), coloured(4, 0.3)
    panel.set_samples(1000, a)
    assert panel._live[1000][0] is a
    panel.set_samples(1010, b)
    assert list(panel._live) == [1010] and panel._cache[1000][0] is a


def test_loader_errors_are_shown_not_raised(qtbot, panel):
    def broken(step):
        raise OSError("disk gone")

    panel.set_history([1, 2], broken)
    qtbot.waitUntil(lambda: "could not load" in panel.title(), timeout=WAIT)
    assert "disk gone" in panel.title()
