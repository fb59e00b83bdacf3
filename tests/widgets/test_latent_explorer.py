"""LatentExplorerPanel and the interpolate() helper (widgets/latent_explorer.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSpinBox, QWidget

from widgets.latent_explorer import EMPTY_TEXT, LatentExplorerPanel, interpolate, to_display_uint8


@pytest.fixture
def panel(qtbot):
    p = LatentExplorerPanel()
    qtbot.addWidget(p)
    return p


def _button(panel, name):
    return panel.findChild(QPushButton, name)


# ------------------------------------------------------------------------- sliders
def test_latent_empty_state_until_a_space_is_set(panel):
    assert panel.objectName() == "LatentExplorerPanel"
    empty = panel.findChild(QLabel, "latentEmptyState")
    assert empty.text() == EMPTY_TEXT
    assert panel._pages.currentWidget() is empty
    panel.set_space(8)
    assert panel._pages.currentWidget() is not empty
    panel.set_capabilities({"encode"})                    # no decoder: nothing to explore
    assert panel._pages.currentWidget() is empty
    panel.set_capabilities({"encode", "decode"})
    panel.clear()
    assert panel._pages.currentWidget() is empty


def test_latent_a_new_space_asks_for_its_first_decode_at_once(panel, qtbot):
    """Opening a run must show the decode of its current code without a touch: a new space
    asks for one decode (of the base code) by itself, once the panel can decode."""
    with qtbot.waitSignal(panel.z_changed, timeout=1000) as blocker:
        panel.set_space(8)
    np.testing.assert_array_equal(blocker.args[0], np.zeros(8, np.float32))
    assert blocker.args[1] == panel.last_stamp()
    with qtbot.assertNotEmitted(panel.z_changed, wait=50):           # once per space
        pass
    panel.set_capabilities({"encode"})                                  # nothing decodes it
    with qtbot.assertNotEmitted(panel.z_changed, wait=50):
        panel.set_space(4)
    with qtbot.waitSignal(panel.z_changed, timeout=1000) as blocker:   # now it can
        panel.set_capabilities({"encode", "decode"})
    assert blocker.args[0].shape == (4,)
    with qtbot.assertNotEmitted(panel.z_changed, wait=50):
        panel.set_capabilities({"encode", "decode"})


def test_latent_first_decode_is_not_doubled_when_the_caller_sets_a_base(panel, qtbot):
    """A principal-directions space is followed at once by set_base(mean): one decode, of
    the mean (a diffusion model's decode is a whole sampling loop)."""
    got = []
    panel.z_changed.connect(lambda z, stamp: got.append(z))
    basis = np.eye(64)[:4]
    mean = np.full(64, 0.5, np.float32)
    panel.set_space(64, basis=basis, scales=np.ones(4))
    panel.set_base(mean)
    qtbot.wait(50)
    assert len(got) == 1
    np.testing.assert_array_equal(got[0], mean)


def test_latent_refresh_decodes_the_current_code_again(panel, qtbot):
    panel.set_space(3)
    panel.set_base(np.array([0.5, -1.0, 2.0]), emit=False)
    qtbot.wait(20)
    stamp = panel.last_stamp()
    with qtbot.waitSignal(panel.z_changed, timeout=1000) as blocker:
        panel.refresh()                          # e.g. new weights: same code, new picture
    np.testing.assert_allclose(blocker.args[0], [0.5, -1.0, 2.0])
    assert blocker.args[1] > stamp
    panel.clear()
    with qtbot.assertNotEmitted(panel.z_changed, wait=50):
        panel.refresh()                          # no space: nothing to decode


def test_latent_dim8_builds_one_slider_per_dimension(panel, qtbot):
    panel.set_space(8)
    assert panel.slider_count() == 8
    assert panel.slider_labels() == [f"z{i}" for i in range(1, 9)]
    for sl in panel.sliders():
        assert (sl.minimum(), sl.maximum()) == (-300, 300)       # -3..3 in steps of 0.01
    assert not panel.is_pca_mode()
    z = np.linspace(-2, 2, 8).astype(np.float32) + 0.001
    with qtbot.waitSignal(panel.z_changed) as blocker:
        panel.set_base(z)
    np.testing.assert_array_equal(blocker.args[0], z)          # exact, not rounded to 0.01
    assert blocker.args[0].dtype == np.float32
    np.testing.assert_array_equal(panel.current_z(), z)
    with qtbot.waitSignal(panel.z_changed) as blocker:
        panel.sliders()[3].setValue(150)
    expected = z.copy()
    expected[3] = 1.5
    np.testing.assert_allclose(blocker.args[0], expected, atol=1e-6)


def test_latent_rebuild_keeps_only_needed_sliders(panel, qtbot):
    panel.set_space(8)
    panel.set_space(3)
    from PySide6.QtWidgets import QSlider
    assert panel.slider_count() == 3
    assert len(panel.findChildren(QSlider)) == 3


def test_latent_dim64_with_basis_moves_along_directions(panel, qtbot):
    rng = np.random.default_rng(0)
    dim, k = 64, 5
    q, _ = np.linalg.qr(rng.normal(size=(dim, k)))
    basis = q.T.astype(np.float32)
    scales = np.array([2.0, 1.5, 1.0, 0.5, 0.25], np.float32)
    labels = [f"PC{i + 1} ({v:.1f}% var)" for i, v in enumerate([30, 20, 10, 5, 2.5])]
    panel.set_space(dim, basis=basis, scales=scales, labels=labels)
    assert panel.slider_count() == k
    assert panel.slider_labels()[0] == "PC1 (30.0% var)"
    assert panel.is_pca_mode()
    base = rng.normal(size=dim).astype(np.float32)
    panel.set_base(base)
    np.testing.assert_array_equal(panel.slider_values(), np.zeros(k))     # reset to 0
    with qtbot.waitSignal(panel.z_changed) as blocker:
        panel.set_slider_value(2, 1.5)
    z = blocker.args[0]
    assert z.shape == (dim,) and z.dtype == np.float32
    np.testing.assert_allclose(z, base + 1.5 * scales[2] * basis[2], atol=1e-5)
    with qtbot.waitSignal(panel.z_changed) as blocker:
        panel.set_slider_value(0, -0.7)
    np.testing.assert_allclose(
        blocker.args[0], base + 1.5 * scales[2] * basis[2] - 0.7 * scales[0] * basis[0], atol=1e-5)
    with qtbot.waitSignal(panel.z_changed) as blocker:            # Reset: back to the base
        qtbot.mouseClick(_button(panel, "resetSlidersButton"), Qt.MouseButton.LeftButton)
    np.testing.assert_allclose(blocker.args[0], base, atol=1e-6)


def test_latent_dim64_without_basis_offers_16_axes(panel):
    panel.set_space(64)
    assert panel.slider_count() == 16
    base = np.arange(64, dtype=np.float32) / 64
    panel.set_base(base, emit=False)
    panel.set_slider_value(5, 1.0)
    expected = base.copy()
    expected[5] += 1.0
    np.testing.assert_allclose(panel.current_z(), expected, atol=1e-6)


def test_latent_stamps_increase(panel):
    panel.set_space(4)
    got = []
    panel.z_changed.connect(lambda z, stamp: got.append(stamp))
    panel.set_base(np.zeros(4))
    for v in (10, 20, 30):
        panel.sliders()[0].setValue(v)
    panel.sliders()[1].setValue(-50)
    panel.reset_sliders()
    assert len(got) == 6
    assert all(b > a for a, b in zip(got, got[1:]))
    assert panel.last_stamp() == got[-1]


# ------------------------------------------------------------------------- results
def test_latent_stale_results_are_dropped(panel):
    panel.set_space(4)
    newer = np.full((1, 8, 8), 0.9, np.float32)
    older = np.full((1, 8, 8), 0.1, np.float32)
    assert panel.show_decoded(5, newer)
    assert not panel.show_decoded(3, older)                   # stale: dropped
    assert panel.current_image().shape == (8, 8, 1)
    assert (panel.current_image() == 230).all()
    assert (panel._image_item.image == 230).all()             # the view still shows the newer
    assert panel.shown_stamp() == 5
    assert panel.show_decoded(6, older)
    assert (panel.current_image() == 26).all()


def test_latent_display_conversion():
    chw = np.zeros((3, 4, 5), np.float32)
    chw[0] = 1.0
    hwc = to_display_uint8(chw)
    assert hwc.shape == (4, 5, 3) and hwc.dtype == np.uint8
    assert (hwc[..., 0] == 255).all() and (hwc[..., 1:] == 0).all()
    u8 = np.full((6, 7, 3), 9, np.uint8)
    np.testing.assert_array_equal(to_display_uint8(u8), u8)
    assert to_display_uint8(np.ones((5, 5), np.float32)).shape == (5, 5, 1)


def test_latent_points_mode(panel):
    panel.set_space(2)
    panel.set_reference_points(np.random.default_rng(0).normal(size=(100, 2)))
    panel.show_decoded(1, np.array([0.5, -0.25], np.float32))
    assert panel._views.currentWidget() is panel._plot
    x, y = panel._marker.getData()
    assert (x[0], y[0]) == (0.5, -0.25)
    img = panel.current_image()
    assert img is not None and img.dtype == np.uint8 and img.ndim == 3
    panel.show_interpolation(np.stack([np.linspace(0, 1, 5), np.linspace(1, 0, 5)], 1))
    x, y = panel._path_item.getData()
    assert len(x) == 5
    assert panel.interpolation_images() is None


# ------------------------------------------------------------------------- requests
def test_latent_random_and_encode_requests(panel, qtbot):
    panel.set_space(8)
    seed = panel.findChild(QSpinBox, "seedBox")
    seed.setValue(41)
    with qtbot.waitSignal(panel.random_requested) as blocker:
        qtbot.mouseClick(_button(panel, "randomButton"), Qt.MouseButton.LeftButton)
    assert blocker.args == [42] and seed.value() == 42
    with qtbot.waitSignal(panel.random_requested) as blocker:
        seed.setValue(7)                                    # typing a seed shows its sample
    assert blocker.args == [7]
    with qtbot.waitSignal(panel.encode_requested):
        qtbot.mouseClick(_button(panel, "encodeButton"), Qt.MouseButton.LeftButton)
    panel.set_capabilities({"decode"})
    assert _button(panel, "encodeButton").isHidden()
    panel.set_capabilities({"decode", "encode"})
    assert not _button(panel, "encodeButton").isHidden()


def test_latent_interpolate_requested_payload(panel, qtbot):
    panel.set_space(6)
    go = _button(panel, "interpolateButton")
    assert not go.isEnabled()
    za = np.linspace(-1, 1, 6).astype(np.float32)
    zb = np.linspace(2, -2, 6).astype(np.float32)
    panel.set_base(za, emit=False)
    qtbot.mouseClick(_button(panel, "setAButton"), Qt.MouseButton.LeftButton)
    assert not go.isEnabled()
    panel.set_base(zb, emit=False)
    qtbot.mouseClick(_button(panel, "setBButton"), Qt.MouseButton.LeftButton)
    assert go.isEnabled()
    panel._interp_mode.setCurrentText("spherical")
    panel._interp_steps.setValue(5)
    with qtbot.waitSignal(panel.interpolate_requested) as blocker:
        qtbot.mouseClick(go, Qt.MouseButton.LeftButton)
    a, b, mode, steps = blocker.args
    np.testing.assert_array_equal(a, za)
    np.testing.assert_array_equal(b, zb)
    assert (mode, steps) == ("spherical", 5)
    frames = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    panel.show_interpolation(frames)
    out = panel.interpolation_images()
    assert out.shape == (5, 8, 8, 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :, :, 0], (frames[:, 0] * 255 + 0.5).astype(np.uint8))


# ------------------------------------------------------------------------- interpolate()
@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_latent_interpolate_endpoints_exact(mode):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=32).astype(np.float32), rng.normal(size=32).astype(np.float32)
    out = interpolate(a, b, 9, mode)
    assert out.shape == (9, 32) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[-1], b)


def test_latent_lerp_is_a_straight_line():
    a, b = np.array([0.0, 2.0, -1.0]), np.array([4.0, 0.0, 1.0])
    out = interpolate(a, b, 5, "linear")
    np.testing.assert_allclose(out[2], (a + b) / 2, atol=1e-6)
    np.testing.assert_allclose(np.diff(out, axis=0), np.tile((b - a) / 4, (4, 1)), atol=1e-6)


def test_latent_slerp_keeps_norm_and_follows_the_great_circle():
    r, t0, t1 = 2.5, 0.3, 1.9                     # angles in radians, 1.6 apart
    a = r * np.array([math.cos(t0), math.sin(t0)])
    b = r * np.array([math.cos(t1), math.sin(t1)])
    steps = 7
    out = interpolate(a, b, steps, "spherical")
    t = np.linspace(0, 1, steps)
    theta = t0 + t * (t1 - t0)                    # rotation of a towards b
    expected = r * np.stack([np.cos(theta), np.sin(theta)], 1)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), r, atol=1e-5)
    # the same in a 64-d space: equal-norm endpoints keep their norm all the way
    rng = np.random.default_rng(1)
    za, zb = rng.normal(size=64), rng.normal(size=64)
    zb *= np.linalg.norm(za) / np.linalg.norm(zb)
    out = interpolate(za, zb, 11, "slerp")
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(za), rtol=1e-5)
    lin = interpolate(za, zb, 11, "linear")
    assert np.linalg.norm(lin[5]) < np.linalg.norm(za) * 0.99     # lerp cuts the corner


def test_latent_slerp_falls_back_to_lerp_for_parallel_codes():
    a = np.array([1.0, 2.0, 3.0])
    out = interpolate(a, 2 * a, 3, "spherical")
    np.testing.assert_allclose(out[1], 1.5 * a, atol=1e-6)
    assert np.isfinite(interpolate(np.zeros(3), a, 4, "spherical")).all()
    with pytest.raises(ValueError):
        interpolate(a, a, 4, "cubic")


# ------------------------------------------------------------------------- rendering
def test_latent_render_shows_the_decoded_image(panel, qtbot):
    panel.resize(360, 700)
    panel.set_space(8)
    panel.show()
    qtbot.waitExposed(panel)
    view = panel.findChild(QWidget, "decodedView")

    def view_pixels() -> np.ndarray:
        img = panel.grab().toImage()
        top_left = view.mapTo(panel, QPoint(0, 0))
        rect = QRect(top_left, view.size()).adjusted(4, 4, -4, -4)
        crop = img.copy(rect).convertToFormat(img.Format.Format_Grayscale8)
        w, h, bpl = crop.width(), crop.height(), crop.bytesPerLine()
        return np.frombuffer(crop.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)[:, :w].copy()  # own the pixels: crop dies here

    blank = view_pixels()
    assert blank.size > 100 * 100
    assert blank.std() < 1.0                       # nothing drawn yet: uniform background

    yy, xx = np.mgrid[0:32, 0:32]
    checker = (((yy // 4) + (xx // 4)) % 2).astype(np.float32)[None]      # (1, 32, 32)
    panel.show_decoded(1, checker)
    px = view_pixels()
    dark, bright = (px < 30).mean(), (px > 225).mean()
    assert dark > 0.15 and bright > 0.15, (dark, bright)
    # crisp: nearest-neighbour scaling leaves almost no in-between greys inside the image
    inside = px[(px < 30) | (px > 225)]
    assert inside.size > 0.3 * px.size
