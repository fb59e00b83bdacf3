"""The translation view (widgets/translation_view): numpy in, signals out. Drawing with the
mouse paints the canvas's image (pen 1, eraser 0, a round brush of the chosen diameter, the
segments between mouse positions filled) and says so; the strip shows inputs, outputs, the
way back and targets with L1 = mean |G(x) - y| and PSNR captions; SRGAN's rows and the
magnifier; the probe's slider, heat map (black -> red -> yellow -> white, value x gain) and
curve; the direction switch and tabs follow the run's capabilities."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QSlider, QSpinBox

from widgets.translation_view import (
    DrawingCanvas, TranslationViewPanel, amplified, heat, stamp, to_size, zoom_crop,
)
from widgets.translation_view.fakes import (
    fake_curve, fake_drawn, fake_probe, fake_sr_strip, fake_strip,
)


def _pos(canvas: DrawingCanvas, x: float, y: float) -> QPoint:
    return canvas.widget_point(x, y).toPoint()


def drag(canvas: DrawingCanvas, points, button=Qt.LeftButton) -> None:
    """A stroke through image positions `points` (pixel units) with the mouse: press at the
    first, moves (button held) through the others, release at the last."""
    QTest.mousePress(canvas, button, Qt.NoModifier, _pos(canvas, *points[0]))
    for p in points[1:]:
        q = QPointF(_pos(canvas, *p))
        ev = QMouseEvent(QMouseEvent.Type.MouseMove, q, canvas.mapToGlobal(q), Qt.NoButton,
                         button, Qt.NoModifier)
        QApplication.sendEvent(canvas, ev)
    QTest.mouseRelease(canvas, button, Qt.NoModifier, _pos(canvas, *points[-1]))


@pytest.fixture
def canvas(qtbot):
    c = DrawingCanvas(28, 28)
    qtbot.addWidget(c)
    c.resize(280, 280)
    c.show()
    qtbot.waitExposed(c)
    return c


def test_a_mouse_stroke_paints_the_line_between_its_points(canvas):
    got = []
    canvas.changed.connect(got.append)
    canvas.set_brush_size(1)
    drag(canvas, [(4.5, 14.5), (23.5, 14.5)])           # a horizontal line across row 14
    img = canvas.image()
    assert img.shape == (28, 28) and img.dtype == np.float32
    assert np.all(img[14, 5:23] == 1.0)                 # no gaps between the two events
    assert img[:, :3].sum() == 0 and img[:, 26:].sum() == 0           # only where it went
    assert img[:12].sum() == 0 and img[17:].sum() == 0
    assert got and np.array_equal(got[-1], img)          # every segment emitted, a copy
    got[-1][:] = 0
    assert canvas.image().sum() > 0


def test_eraser_right_button_brush_size_and_clear(canvas):
    canvas.set_image(np.ones((28, 28), np.float32))
    canvas.set_tool("eraser")
    canvas.set_brush_size(3)
    drag(canvas, [(14.0, 14.0)])
    img = canvas.image()
    assert img[13, 13] == 0.0 and img[14, 14] == 0.0       # a disc of diameter 3
    assert img[14, 18] == 1.0 and img[10, 14] == 1.0
    canvas.set_tool("pen")
    drag(canvas, [(14.0, 14.0)])
    assert canvas.image()[14, 14] == 1.0
    drag(canvas, [(5.5, 5.5)], button=Qt.RightButton)   # the right button erases
    assert canvas.image()[5, 5] == 0.0
    canvas.clear()
    assert canvas.image().sum() == 0


def test_stamp_paints_a_hard_disc():
    """Pixels whose centre is within size / 2 + 0.2 of the point, and the one under it, take
    the value (nothing in between: strokes as crisp as the data's edge maps)."""
    img = np.zeros((9, 9), np.float32)
    stamp(img, 4.5, 4.5, 3.0, 1.0)                        # r = 1.7: the 3x3 block
    assert img.sum() == 9 and img[3:6, 3:6].min() == 1.0
    img[:] = 0
    stamp(img, 2.9, 6.1, 1.0, 1.0)                        # size 1: the pixel under the point
    assert img.sum() == 1 and img[6, 2] == 1.0
    stamp(img, 2.9, 6.1, 1.0, 0.0)
    assert img.sum() == 0
    assert set(np.unique(img)) <= {0.0, 1.0}


def test_image_helpers():
    """heat(v) = (3v, 3v - 1, 3v - 2) clipped; to_size repeats pixels; zoom_crop is the
    1/zoom square around the centre, repeated zoom times."""
    np.testing.assert_allclose(heat(np.array([[0.0, 0.5, 1.0]]))[:, 0],
                               [[0, 1, 1], [0, 0.5, 1], [0, 0, 1]])
    np.testing.assert_allclose(amplified(np.full((1, 2, 2), 0.01), 50)[0], 1.0)
    a = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    np.testing.assert_array_equal(to_size(a, 4, 4)[0], np.kron(a[0], np.ones((2, 2))))
    img = np.arange(36, dtype=np.float32).reshape(1, 6, 6)
    crop = zoom_crop(img, (0.5, 0.5), 3)
    np.testing.assert_array_equal(crop[0], np.kron(img[0, 2:4, 2:4], np.ones((3, 3))))
    assert zoom_crop(img, (0.0, 0.0), 3)[0, 0, 0] == 0          # kept inside the image


@pytest.fixture
def panel(qtbot):
    p = TranslationViewPanel()
    qtbot.addWidget(p)
    p.resize(660, 720)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_a_one_way_translator_has_no_direction_switch_and_no_probe(panel):
    assert panel.view() == "" and "translator" in panel.message()
    panel.configure((1, 28, 28), (1, 28, 28), ("edges", "digits"), has_back=False,
                    test_counts=(100, 100))
    assert panel.view() == "strip"
    assert not panel.tab_visible("probe") and panel.tab_visible("draw")
    assert not panel._direction.isVisible() and panel.direction() == "ab"
    panel.set_view("probe")
    assert panel.view() == "strip"                       # a hidden tab stays hidden
    panel.set_strip(fake_strip(n=4))
    rows = panel.strip.rows()
    assert [r.label for r in rows] == ["input (edges)", "output (digits)", "target (digits)",
                                       "|output \u2212 target|"]
    d = panel.strip.result()
    err = np.abs(d["outputs"] - d["targets"])
    mse = (err ** 2).reshape(4, -1).mean(1)
    assert rows[1].captions[0] == f"L1 {err[0].mean():.3f}"
    assert rows[3].captions[0] == f"{10 * np.log10(1 / mse[0]):.1f} dB"
    np.testing.assert_allclose(rows[3].images[0], heat(err[0, 0]))
    assert "mean L1" in panel.strip._title.text()


def test_the_strip_asks_for_new_inputs_and_for_picked_images(panel, qtbot):
    panel.configure((1, 28, 28), (1, 28, 28), ("edges", "digits"), test_counts=(100, 100))
    got = []
    panel.strip_requested.connect(got.append)
    QTest.mouseClick(panel.findChild(QPushButton, "stripNewInputsButton"), Qt.LeftButton)
    assert got[-1] == {"split": "test", "indices": None, "start": 6, "n": 6}
    panel.findChild(QSpinBox, "stripStartSpin").setValue(97)
    QTest.mouseClick(panel.findChild(QPushButton, "stripNewInputsButton"), Qt.LeftButton)
    assert got[-1]["start"] == 0                          # past the end: back to the first
    panel.add_pick(42)
    panel.add_pick(7)
    assert got[-1] == {"split": "train", "indices": [7, 42], "start": 0, "n": 2}
    panel.strip.clear_picks()
    assert got[-1]["split"] == "test" and panel.strip.picks() == []


def test_a_cyclegan_shows_the_way_back_the_switch_and_the_probe(panel, qtbot):
    panel.configure((1, 28, 28), (1, 28, 28), ("thin", "thick"), has_back=True,
                    test_counts=(50, 60))
    assert panel.tab_visible("probe") and panel._direction.isVisible()
    assert panel._direction.itemText(1) == "thick \u2192 thin"
    panel.set_strip(fake_strip(n=3, back=True, paired=False, sides=("thin", "thick")))
    labels = [r.label for r in panel.strip.rows()]
    assert labels == ["input (thin)", "output (thick)", "back F(G(x))"]
    with qtbot.waitSignal(panel.direction_changed) as sig:
        panel.set_direction("ba")
    assert sig.args == ["ba"] and panel.direction() == "ba"
    assert panel.strip.result() is None                   # cleared: the other way comes next
    assert panel.findChild(QSpinBox, "probeIndexSpin").maximum() == 59


def test_the_probe_slider_asks_and_the_gain_only_redraws(panel, qtbot):
    panel.configure((1, 28, 28), (1, 28, 28), ("thin", "thick"), has_back=True,
                    test_counts=(50, 60))
    panel.set_view("probe")
    got = []
    panel.probe_requested.connect(got.append)
    slider = panel.findChild(QSlider, "probeAmplitudeSlider")
    slider.setValue(slider.maximum())
    assert got[-1]["amplitude"] == pytest.approx(0.2) and got[-1]["change"] == "pixels"
    p = fake_probe()
    panel.set_probe(p)
    rows = panel.probe.rows()
    assert [r.label for r in rows] == ["noise", "hidden"]
    assert rows[0].captions[3] == "F(G(x) + a\u00b7n)"
    n = len(got)
    panel.probe.set_gain(50)
    assert len(got) == n                                   # no new render for the gain
    shown = panel.probe.rows()[1].images[3]
    np.testing.assert_allclose(shown, amplified(p["gdiff"], 50))
    panel.set_curve(fake_curve())
    x, y = panel.probe.curve_data()
    np.testing.assert_allclose(y, fake_curve()["error"], rtol=1e-6)
    assert "cycle L1" in panel.probe._numbers.text()


def test_srgan_rows_and_the_magnifier(panel):
    panel.configure((1, 14, 14), (1, 28, 28), ("low-res", "digits"), sr=True, test_counts=(9, 9))
    panel.set_strip(fake_sr_strip(n=4))
    labels = [r.label for r in panel.strip.rows()]
    assert labels == ["low-res input", "bicubic", "SRResNet", "SRGAN (training)", "truth"]
    assert panel.strip.rows()[0].images[0].shape == (1, 28, 28)   # pixels shown as blocks
    assert panel.strip.rows()[1].captions[0].endswith("dB")
    assert "training stage: SRGAN" in panel.strip._title.text()
    zoom = panel.strip.zoom_rows()[0]
    assert len(zoom.images) == 5 and zoom.label == "\u00d73"
    panel.strip.set_zoom(2, column=1, centre=(0.25, 0.25))
    truth = panel.strip.result()["targets"][1]
    np.testing.assert_array_equal(panel.strip.zoom_rows()[0].images[4], zoom_crop(truth, (0.25, 0.25), 2))


def test_drawing_in_the_panel_emits_the_image_and_shows_its_translation(panel):
    panel.configure((1, 28, 28), (1, 28, 28), ("edges", "digits"), test_counts=(9, 9))
    panel.set_view("draw")
    got = []
    panel.drawing_changed.connect(got.append)
    canvas = panel.draw.canvas
    drag(canvas, [(8.0, 8.0), (20.0, 20.0)])
    assert got and got[-1][8, 8] > 0 and got[-1][19, 19] > 0
    panel.set_drawn(fake_drawn(got[-1]))
    assert [cap for _, cap in panel.draw.outputs()] == ["output (digits)"]
    panel.set_strip(fake_strip(n=2))
    QTest.mouseClick(panel.findChild(QPushButton, "drawFromInputButton"), Qt.LeftButton)
    np.testing.assert_allclose(got[-1], panel.strip.result()["inputs"][0][0])


def test_the_probe_verdict_compares_the_errors_rise_with_the_noise():
    """ratio = (error(a) - error(0)) / mean |a n| at a = 0.05: > 1.5 reads as a hidden signal
    (F amplifies the noise), < 0.5 as none (F reads what G(x) shows)."""
    from widgets.translation_view.probe import verdict
    a = np.linspace(0, 0.2, 21)
    ref = a * np.sqrt(2 / np.pi)
    hidden = {"amplitudes": a, "error": 0.01 + 10 * ref, "noise_l1": ref}
    assert "10.00\u00d7" in verdict(hidden) and "hidden signal" in verdict(hidden)
    robust = {"amplitudes": a, "error": 0.02 + 0.01 * ref, "noise_l1": ref}
    assert "0.01\u00d7" in verdict(robust) and "no hidden signal" in verdict(robust)


def test_the_magnifier_starts_where_the_stages_differ_most():
    from widgets.translation_view.strip import busiest_crop
    a = np.zeros((1, 28, 28), np.float32)
    b = a.copy()
    b[0, 20:24, 4:8] = 1.0                               # they differ in one 4x4 square
    fx, fy = busiest_crop([a, b], 7)
    assert 4 / 28 <= fx <= 8 / 28 and 20 / 28 <= fy <= 24 / 28
    assert busiest_crop([a, a], 3) == (0.5, 0.5)


@pytest.mark.parametrize("engine,view", [("pix2pix", "draw"), ("cyclegan", "probe"), ("srgan", "strip")])
def test_the_preview_grabs_each_engines_view(qtbot, tmp_path, engine, view):
    """`python -m widgets.translation_view --engine E --view V --grab OUT.png` with fake data."""
    from widgets.translation_view import main
    out = tmp_path / "shot.png"
    assert main(["--engine", engine, "--view", view, "--grab", str(out)]) == 0
    assert out.stat().st_size > 1000
    for w in QApplication.topLevelWidgets():
        if type(w).__name__ == "TranslationViewPanel":
            w.close()


def test_the_probes_dashed_line_is_the_clean_error_plus_the_noise(panel):
    """Dashed = error(0) + mean |a n|: what an F that passed the noise on unchanged would give,
    so the red curve crosses it exactly where the verdict's ratio passes 1."""
    a = np.linspace(0, 0.2, 5)
    ref = 0.8 * a
    err = 0.03 + np.array([0.0, 0.03, 0.07, 0.2, 0.3])
    panel.probe.set_curve({"amplitudes": a, "error": err, "noise_l1": ref, "n": 4, "step": 1})
    x, y = panel.probe.reference_data()
    np.testing.assert_allclose(x, a)
    np.testing.assert_allclose(y, 0.03 + ref)
    above = panel.probe.curve_data()[1] > y
    ratio = (err - err[0])[1:] / ref[1:]
    np.testing.assert_array_equal(above[1:], ratio > 1)

