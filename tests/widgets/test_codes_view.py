"""CodesViewPanel: test codes in 2D coloured by class, a thumbnail on hover, a click sends
the code on, inputs beside their reconstructions; empty and unavailable states."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from widgets.codes_view import CLASS_COLOURS, EMPTY_TEXT, CodesView, CodesViewPanel
from widgets.preview import fake_codes_view as fake_view

from .imaging import to_array

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def panel(qtbot):
    p = CodesViewPanel()
    qtbot.addWidget(p)
    return p


def show(qtbot, p, size=(480, 700)):
    p.resize(*size)
    p.show()
    qtbot.waitExposed(p)
    for _ in range(3):
        QApplication.processEvents()


def viewport_pos(p, x, y) -> QPoint:
    return p._plot.mapFromScene(p._plot.getPlotItem().vb.mapViewToScene(QPointF(x, y)))


def three_classes():
    """Classes 0, 1, 2 at (-2, 0), (0, 2), (2, 0); class k's images are all grey 80k + 40."""
    rng = np.random.default_rng(0)
    centres = np.array([[-2, 0], [0, 2], [2, 0]], np.float32)
    labels = np.repeat(np.arange(3), 20)
    xy = centres[labels] + rng.normal(0, 0.1, (60, 2)).astype(np.float32)
    thumbs = np.repeat((80 * labels + 40).astype(np.uint8), 28 * 28).reshape(60, 1, 28, 28)
    z = np.arange(60 * 4, dtype=np.float32).reshape(60, 4)
    inputs = np.full((8, 1, 28, 28), 1.0, np.float32)
    recons = np.full((8, 1, 28, 28), 0.25, np.float32)
    return CodesView(xy=xy, labels=labels, thumbs=thumbs, z=z, axes=("PC1 (40% of variance)",
                     "PC2 (20% of variance)"), class_names=["zero", "one", "two"],
                     inputs=inputs, reconstructions=recons, step=1200, latent_dim=16,
                     index=np.arange(100, 160))


def test_empty_then_codes_then_clear(qtbot, panel):
    show(qtbot, panel)
    assert panel.objectName() == "CodesViewPanel"
    assert panel.hint_text() == EMPTY_TEXT and not panel._plot.isVisible()
    panel.set_codes(three_classes())
    assert panel.hint_text() == "" and panel._plot.isVisible()
    assert panel.class_counts() == {0: 20, 1: 20, 2: 20}
    plot = panel._plot.getPlotItem()
    assert plot.getAxis("bottom").labelText == "PC1 (40% of variance)"
    assert plot.getAxis("left").labelText == "PC2 (20% of variance)"
    assert "step 1,200" in panel.title_text() and "60 test images" in panel.title_text()
    assert "16-d codes" in panel.title_text()
    legend = panel.legend_text()
    for k, name in enumerate(("zero", "one", "two")):
        assert name in legend and QColor(CLASS_COLOURS[k]).name() in legend
    panel.clear()
    assert panel.hint_text() == EMPTY_TEXT and panel.class_counts() == {}
    panel.set_unavailable("The codes view is for autoencoders and VAEs.")
    assert panel.hint_text() == "The codes view is for autoencoders and VAEs."


def test_dots_are_drawn_in_their_class_colours(qtbot, panel):
    show(qtbot, panel)
    panel.set_codes(three_classes())
    QApplication.processEvents()
    px = to_array(panel._plot.grab().toImage()).astype(int)
    for k, (x, y) in enumerate(((-2, 0), (0, 2), (2, 0))):
        p = viewport_pos(panel, x, y)
        patch = px[p.y() - 6:p.y() + 7, p.x() - 6:p.x() + 7, :3]
        c = QColor(CLASS_COLOURS[k])
        hit = (np.abs(patch - [c.red(), c.green(), c.blue()]).max(axis=2) < 70).sum()
        assert hit >= 6, (k, hit)


def test_hover_shows_the_image_and_a_click_sends_its_code(qtbot, panel):
    show(qtbot, panel)
    view = three_classes()
    panel.set_codes(view)
    i = 25                                                    # a class-1 image
    x, y = view.xy[i]
    QTest.mouseMove(panel._plot.viewport(), viewport_pos(panel, x, y))
    qtbot.waitUntil(lambda: panel.hovered() is not None, timeout=2000)
    j = panel.hovered()
    assert view.labels[j] == 1 and np.hypot(*(view.xy[j] - view.xy[i])) < 0.3
    assert panel._tip.isVisible()
    assert "one" in panel.tip_text() and f"#{100 + j}" in panel.tip_text()
    shot = to_array(panel._tip_image.pixmap().toImage())
    assert shot.shape[0] >= 56 and abs(int(shot[..., 0].mean()) - 120) <= 2     # its grey
    with qtbot.waitSignal(panel.code_clicked, timeout=2000) as blocker:
        QTest.mouseClick(panel._plot.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, viewport_pos(panel, x, y))
    np.testing.assert_array_equal(blocker.args[0], view.z[j])
    # far from every dot: no thumbnail
    QTest.mouseMove(panel._plot.viewport(), viewport_pos(panel, 0, -1.5))
    qtbot.waitUntil(lambda: panel.hovered() is None, timeout=2000)
    assert not panel._tip.isVisible()


def test_inputs_beside_reconstructions(qtbot, panel):
    show(qtbot, panel)
    panel.set_codes(three_classes())
    QApplication.processEvents()
    pairs = panel._pairs
    assert pairs.count() == 8
    px = to_array(pairs.grab().toImage()).astype(int)
    for i in range(8):
        top, bottom = pairs.tile_rect(i, 0), pairs.tile_rect(i, 1)
        assert top.bottom() < bottom.top() and abs(top.left() - bottom.left()) < 1
        a = px[int(top.center().y()), int(top.center().x()), 0]
        b = px[int(bottom.center().y()), int(bottom.center().x()), 0]
        assert a == 255 and abs(b - 64) <= 1, (i, a, b)       # input white, reconstruction 0.25
        assert top.width() >= 28                                 # never below the image's size
    assert "input" in pairs.row_labels()[0] and "reconstruction" in pairs.row_labels()[1]


def test_refresh_button_asks_for_a_render(qtbot, panel):
    show(qtbot, panel)
    panel.set_codes(three_classes())
    with qtbot.waitSignal(panel.refresh_requested, timeout=1000):
        qtbot.mouseClick(panel._refresh, Qt.MouseButton.LeftButton)


def test_from_mapping_takes_a_render_result_and_tolerates_missing_labels(qtbot, panel):
    show(qtbot, panel)
    v = three_classes()
    d = {k: getattr(v, k) for k in ("xy", "thumbs", "z", "axes", "inputs", "reconstructions",
                                    "step", "latent_dim", "index")}
    d.update(labels=None, class_names=[], extra="ignored")
    panel.set_codes(CodesView.from_mapping(d))
    assert panel.class_counts() == {-1: 60}                   # one colour, no legend
    assert panel.legend_text() == ""


@pytest.mark.parametrize("size", [(480, 700), (1000, 600)])
def test_layout_fits_dock_sizes(qtbot, panel, size):
    show(qtbot, panel, size)
    panel.set_codes(fake_view())
    QApplication.processEvents()
    assert panel._plot.width() >= 300 and panel._plot.height() >= 260, panel._plot.size()
    assert panel._pairs.height() >= 2 * 28 + 8
    assert panel.minimumSizeHint().width() <= 480


def test_widget_stays_torch_free():
    tree = ast.parse((ROOT / "widgets" / "codes_view.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not names & {"torch", "engines", "studio"}
