"""ModeCollapsePanel: heatmap and curves draw, bars line up with heatmap rows, alert banner
and signal, unavailable / empty states, duplicate thumbnails, history, duck-typed records."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from widgets.mode_collapse import HINT, ModeCollapsePanel, heat_grid, main
from widgets.preview import fake_collapse
from widgets.palettes import dark_palette

from .imaging import to_array

ROOT = Path(__file__).resolve().parents[2]


def record(step, hist=None, covered=10, kl=0.05, diversity=42.0, alert=None, duplicates=(),
           pairs=None, share=0.0, data=None):
    hist = np.full(10, 0.1) if hist is None else np.asarray(hist, float)
    return {"step": step, "n": 64, "class_hist": hist,
            "data_hist": np.full(10, 0.1) if data is None else data,
            "classes_covered": covered, "num_classes": 10, "kl_to_data": kl, "real_kl": 0.07,
            "real_classes_covered": 9.99, "diversity": diversity, "real_diversity": 42.7,
            "real_diversity_std": 1.0, "diversity_space": "features",
            "duplicates": list(duplicates), "duplicate_pairs": len(duplicates) if pairs is None else pairs,
            "duplicate_share": share, "duplicate_threshold": 2.35, "alert": alert}


def collapsed_hist():
    h = np.zeros(10)
    h[[1, 4, 7]] = [0.4, 0.35, 0.25]
    return h


@pytest.fixture
def panel(qtbot):
    w = ModeCollapsePanel()
    qtbot.addWidget(w)
    w.resize(900, 650)
    w.show()
    qtbot.waitExposed(w)
    return w


def grab(panel):
    QApplication.processEvents()
    img = panel.grab()
    return to_array(img.toImage()), img.devicePixelRatio()


def view_to_panel(panel, name, x, y, dpr):
    """Panel pixel (col, row) of data point (x, y) in plot `name`."""
    vb = panel.plot_item(name).vb
    scene = vb.mapViewToScene(pg.Point(x, y))
    p = panel._glw.mapTo(panel, panel._glw.mapFromScene(scene))
    return round(p.x() * dpr), round(p.y() * dpr)


def plot_rect(panel, name, dpr):
    vb = panel.plot_item(name).vb
    r = vb.sceneBoundingRect()
    tl = panel._glw.mapTo(panel, panel._glw.mapFromScene(r.topLeft()))
    br = panel._glw.mapTo(panel, panel._glw.mapFromScene(r.bottomRight()))
    return (round(tl.x() * dpr), round(tl.y() * dpr), round(br.x() * dpr), round(br.y() * dpr))


def colour_mask(area, qcolour, tol=40):
    c = np.array([qcolour.red(), qcolour.green(), qcolour.blue()])
    return np.abs(area.astype(int) - c).max(axis=2) < tol


def healthy_then_collapsed(panel, n_healthy=10, n_bad=6):
    for s in range(1, n_healthy + 1):
        panel.append_record(record(100 * s, diversity=35.0))
    for s in range(n_healthy + 1, n_healthy + n_bad + 1):
        panel.append_record(record(100 * s, collapsed_hist(), covered=3, kl=1.2, diversity=20.0))


# -- states -----------------------------------------------------------------------------------

def test_empty_state(panel):
    assert panel.objectName() == "ModeCollapsePanel"
    assert panel.hint_text() == HINT and panel.record_count() == 0
    assert not panel.alert_visible()


def test_unavailable_state_then_data(panel):
    panel.append_record(record(100))
    reason = "Mode-collapse view needs image data; 2D runs use the canvas."
    panel.set_unavailable(reason)
    assert panel.hint_text() == reason and panel.record_count() == 0
    pixels, _ = grab(panel)
    assert pixels.std() > 1                               # the text is drawn
    panel.append_record(record(200))
    assert panel.hint_text() == "" and panel.record_count() == 1
    panel.clear()
    assert panel.hint_text() == HINT


# -- drawing ----------------------------------------------------------------------------------

def test_heatmap_and_curves_draw(panel):
    healthy_then_collapsed(panel)
    img = panel.heatmap_image()
    assert img.shape == (10, 16)                          # rows = classes, columns = snapshots
    np.testing.assert_allclose(img[:, 0], 10.0)           # percent
    np.testing.assert_allclose(img[:, -1], 100 * collapsed_hist())

    pixels, dpr = grab(panel)
    x0, y0, x1, y1 = plot_rect(panel, "heatmap", dpr)
    assert x1 - x0 > 400 and y1 - y0 > 80
    # the last column: class 1 (40%) is bright, class 0 (0%) dark; the first column is even
    def px(step, cls):
        c, r = view_to_panel(panel, "heatmap", step, cls, dpr)
        return pixels[r, c].astype(int)
    assert px(1600, 1).sum() > px(1600, 0).sum() + 150
    assert abs(px(100, 1).sum() - px(100, 0).sum()) < 40

    for name, colour_key, early, late in (("coverage", "coverage", 10, 3), ("kl", "kl", 0.05, 1.2),
                                          ("diversity", "diversity", 35.0, 20.0)):
        colour = panel._colour(colour_key)
        x0, y0, x1, y1 = plot_rect(panel, name, dpr)
        mask = colour_mask(pixels[y0:y1, x0:x1], colour)
        assert mask.sum() > 150, f"{name}: only {mask.sum()} curve pixels"
        for step, value in ((300, early), (1500, late)):     # the curve passes its points
            c, r = view_to_panel(panel, name, step, value, dpr)
            near = colour_mask(pixels[r - 3:r + 4, c - 3:c + 4], colour)
            assert near.any(), f"{name} curve not at step {step}, value {value}"
    # the real-data baseline: a dashed line in the text colour at 42.7 in the diversity plot
    fg = panel.palette().color(QPalette.ColorRole.WindowText)
    c, r = view_to_panel(panel, "diversity", 800, 42.7, dpr)
    rows = pixels[r - 1:r + 2, c - 200:c + 200].astype(int)
    near_fg = np.abs(rows - [fg.red(), fg.green(), fg.blue()]).max(axis=2) < 90
    on = near_fg.any(axis=0)
    assert 0.3 < on.mean() < 0.9, on.mean()              # dashed: on and off ...
    assert np.count_nonzero(np.diff(on.astype(int)) == 1) >= 10    # ... many times
    assert "3/10" in panel.summary_text() and "KL" in panel.summary_text()


def test_current_bars_line_up_with_heatmap_rows(panel):
    healthy_then_collapsed(panel)
    pixels, dpr = grab(panel)
    bar = panel._colour("bars")
    x0, y0, x1, y1 = plot_rect(panel, "bars", dpr)
    _, hy0, _, hy1 = plot_rect(panel, "heatmap", dpr)
    assert abs(y0 - hy0) <= 2 and abs(y1 - hy1) <= 2     # every class row has room for its bar
    rows = np.flatnonzero(colour_mask(pixels[y0:y1, x0:x1], bar).sum(axis=1) > 5) + y0
    for cls in (1, 4, 7):
        _, r = view_to_panel(panel, "heatmap", 1600, cls, dpr)
        assert np.any(np.abs(rows - r) <= 2), f"no bar beside heatmap row {cls}"
    for cls in (0, 5, 9):
        _, r = view_to_panel(panel, "heatmap", 1600, cls, dpr)
        assert not np.any(np.abs(rows - r) <= 1), f"a bar beside empty class {cls}"


def test_pixel_space_hides_the_class_rows(panel):
    for s in range(1, 5):
        panel.append_record(record(s * 10, diversity=0.3), class_hist=None, data_hist=None,
                            classes_covered=None, num_classes=None, kl_to_data=None,
                            real_kl=None, real_classes_covered=None, real_diversity=0.35,
                            real_diversity_std=0.01, diversity_space="pixels")
    assert panel.plot_item("heatmap").scene() is None
    assert panel.plot_item("diversity").scene() is not None
    assert "No class view" in panel.summary_text()
    pixels, dpr = grab(panel)
    x0, y0, x1, y1 = plot_rect(panel, "diversity", dpr)
    assert colour_mask(pixels[y0:y1, x0:x1], panel._colour("diversity")).sum() > 100


# -- alerts -----------------------------------------------------------------------------------

def test_alert_banner_and_signal(panel, qtbot):
    healthy_then_collapsed(panel, n_bad=0)
    msg = "Possible mode collapse: coverage dropped to 3 of 10 classes (best 10, at step 100)."
    with qtbot.waitSignal(panel.alert_raised, timeout=1000) as sig:
        panel.append_record(record(1500, collapsed_hist(), covered=3, kl=1.2, alert=msg),
                            alert_note="Samples saved to samples/alert-step00001500.png")
    assert sig.args == [1500, msg]
    assert panel.alert_visible()
    text = panel.alert_text()
    assert "Step 1,500" in text and "coverage dropped to 3 of 10" in text and "alert-step00001500" in text
    pixels, dpr = grab(panel)
    banner = panel._banner.geometry()
    patch = pixels[round(banner.top() * dpr) + 3:round(banner.bottom() * dpr) - 3,
                   round(banner.left() * dpr) + 3:round(banner.right() * dpr) - 3].astype(int)
    assert (patch[..., 0] - patch[..., 2]).mean() > 5     # a reddish banner
    assert len(panel._alert_lines) == 4                   # a marker in each step plot
    # no signal for records without an alert; dismissing hides the banner
    with qtbot.assertNotEmitted(panel.alert_raised):
        panel.append_record(record(1600, collapsed_hist(), covered=3))
    panel._dismiss.click()
    assert not panel.alert_visible()
    panel.append_record(record(1700, alert="again"))
    panel.append_record(record(1800, alert="third"))
    assert "2 alerts since the last dismissal" in panel.alert_text()


def test_coverage_plot_marks_the_low_coverage_alert_level(panel):
    """The absolute rule (studio.core.mode_monitor: under half of a real batch's classes, 3
    snapshots in a row, from step 1000) is drawn as a dotted line, and the tips say so."""
    healthy_then_collapsed(panel)
    steps, low = panel._cov_low.getData()
    np.testing.assert_allclose(low, 0.5 * 9.99)
    assert len(steps) == panel.record_count()
    from widgets.mode_collapse import TIPS
    assert "half" in TIPS["coverage"] and "step 1000" in TIPS["alert"]


def test_history_marks_alerts_without_raising(panel, qtbot):
    recs = [record(100), record(200, covered=3, alert="drop"), record(300)]
    with qtbot.assertNotEmitted(panel.alert_raised):
        panel.set_history(recs)
    assert panel.record_count() == 3 and not panel.alert_visible()
    assert len(panel._alert_lines) == 4
    assert "Thumbnails appear" not in panel._dup_title.text()
    panel.set_history([])
    assert panel.hint_text() == HINT


# -- duplicates -------------------------------------------------------------------------------

def test_duplicate_thumbnails(panel):
    records, samples = fake_collapse(n_records=6)
    for r in records[:-1]:
        panel.append_record(r)
    assert panel.duplicate_tiles() == []
    panel.append_record(records[-1], samples.astype(np.float32) / 255.0)   # float samples
    tiles = panel.duplicate_tiles()
    assert len(tiles) == 8
    assert "pairs in the latest snapshot" in panel._dup_title.text()
    pixels, dpr = grab(panel)
    g = tiles[0].geometry()
    top_left = tiles[0].mapTo(panel, g.topLeft() - g.topLeft())
    patch = pixels[round(top_left.y() * dpr):round((top_left.y() + g.height()) * dpr),
                   round(top_left.x() * dpr):round((top_left.x() + g.width()) * dpr)]
    assert (patch.max(axis=2) > 200).sum() > 30           # white digit strokes on black
    assert (patch.max(axis=2) < 30).sum() > 300
    # a later record without samples: the pairs are listed, thumbnails wait for live samples
    panel.append_record(records[-1], step=records[-1]["step"] + 500)
    assert panel.duplicate_tiles() == [] and "Thumbnails appear" in panel._dup_title.text()
    panel.append_record(record(records[-1]["step"] + 1000))
    assert "none in the latest snapshot" in panel._dup_title.text()


# -- inputs -----------------------------------------------------------------------------------

@dataclass
class FakeRecord:                  # what studio.core.mode_monitor.ModeRecord looks like
    step: int
    n: int = 64
    class_hist: Optional[np.ndarray] = None
    data_hist: Optional[np.ndarray] = None
    classes_covered: Optional[int] = None
    num_classes: Optional[int] = None
    kl_to_data: Optional[float] = None
    real_kl: Optional[float] = None
    real_classes_covered: Optional[float] = None
    diversity: float = 1.0
    real_diversity: float = 1.0
    real_diversity_std: float = 0.1
    diversity_space: str = "features"
    duplicates: list = field(default_factory=list)
    duplicate_pairs: int = 0
    duplicate_share: float = 0.0
    duplicate_threshold: float = 0.5
    alert: Optional[str] = None
    ms: float = 3.0


def test_duck_typed_records_and_rewind(panel):
    h = np.full(10, 0.1)
    for s in (100, 200, 300):
        panel.append_record(FakeRecord(s, class_hist=h, data_hist=h, classes_covered=10,
                                       num_classes=10, kl_to_data=0.0, real_kl=0.07))
    panel.append_record(SimpleNamespace(**vars(FakeRecord(200, diversity=0.5))))   # resumed
    assert [r["step"] for r in panel.records()] == [100, 200]
    assert panel.records()[-1]["diversity"] == 0.5
    with pytest.raises(ValueError):
        panel.append_record({"n": 3})                     # no step


def test_heat_grid_resamples_irregular_steps():
    hists = np.eye(3)
    img, x0, g = heat_grid(np.array([0, 100, 300]), hists)
    assert g == 100 and x0 == -50 and img.shape == (3, 4)
    np.testing.assert_array_equal(img.argmax(0), [0, 1, 1, 2])   # step 200 shows step 100's
    img, _, g = heat_grid(np.arange(0, 5000, 1), np.ones((5000, 2)), max_columns=100)
    assert img.shape == (2, 100)


def test_dark_palette_and_small_size(panel):
    healthy_then_collapsed(panel)
    panel.setPalette(dark_palette())
    panel.resize(480, 420)
    pixels, dpr = grab(panel)
    bg = dark_palette().color(QPalette.ColorRole.Window)
    assert panel._glw.backgroundBrush().color() == bg
    x0, y0, x1, y1 = plot_rect(panel, "bars", dpr)
    assert x1 <= panel._scroll.viewport().width() * dpr + 2    # nothing cut off on the right
    assert colour_mask(pixels[y0:y1, x0:x1], panel._colour("bars")).sum() > 50


def test_preview_main_grabs(tmp_path, qtbot):
    out = tmp_path / "preview.png"
    assert main(["--grab", str(out), "--size", "480x420"]) == 0
    assert out.stat().st_size > 5000


def test_widget_stays_torch_free():
    for path in sorted((ROOT / "widgets" / "mode_collapse").glob("*.py")):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(x.split(".")[0] in ("torch", "engines", "studio") for x in names), path
