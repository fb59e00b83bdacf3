"""LivePlotsPanel: rendering, metric groups, EMA, log-y, x axis, crosshair, overlays, scale."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication



from widgets.live_plots import HINT, LivePlotsPanel, ema  # noqa: E402
import pyqtgraph as pg
from .imaging import to_array


# -- helpers --------------------------------------------------------------------------------

def records(n, start=1, keys=("loss/total", "loss/kl", "elbo", "perf/step_ms"), seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in range(start, start + n):
        rec = {"step": s, "time": 0.5 * s + 3.0}
        for j, k in enumerate(keys):
            rec[k] = float(j + 1 + rng.standard_normal())
        out.append(rec)
    return out


def ema_reference(xs, a, debias=True):
    """Plain loop: e_t = a e_{t-1} + (1 - a) x_t, e_0 = 0, divided by (1 - a^t) when debiased;
    non-finite x are skipped (NaN out, state and t unchanged)."""
    out, e, t = [], 0.0, 0
    for x in xs:
        if not math.isfinite(x):
            out.append(math.nan)
            continue
        e = a * e + (1 - a) * x
        t += 1
        out.append(e / (1 - a ** t) if (debias and a > 0) else e)
    return np.array(out)




def plot_area(panel, group):
    """(x0, y0, x1, y1) of a plot's ViewBox in panel pixels (device-independent)."""
    vb = panel.plot_item(group).vb
    rect = vb.sceneBoundingRect()
    view = panel._glw
    tl = view.mapTo(panel, view.mapFromScene(rect.topLeft()))
    br = view.mapTo(panel, view.mapFromScene(rect.bottomRight()))
    return tl.x(), tl.y(), br.x(), br.y()


@pytest.fixture
def panel(qtbot):
    w = LivePlotsPanel()
    qtbot.addWidget(w)
    return w


def show(qtbot, w, size=(600, 400)):
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()


# -- rendering --------------------------------------------------------------------------------

def test_render_draws_the_curve(qtbot, panel):
    show(qtbot, panel)
    x = np.arange(500)
    panel.set_smoothing(0.0)
    panel.append([{"step": int(i), "time": float(i), "wave/sin": float(np.sin(i / 40))} for i in x])
    QApplication.processEvents()
    QApplication.processEvents()

    grab = panel.grab()
    dpr = grab.devicePixelRatio()
    pixels = to_array(grab.toImage())
    x0, y0, x1, y1 = (round(v * dpr) for v in plot_area(panel, "wave"))
    assert x1 - x0 > 200 and y1 - y0 > 150, "the plot got too little room"
    area = pixels[y0 + 2:y1 - 2, x0 + 2:x1 - 2].astype(int)

    bg = panel.palette().color(QPalette.ColorRole.Window)
    # drawn pixels that are neither background nor the grey grid/axes/text: the curve itself
    chroma = area.max(axis=2) - area.min(axis=2)
    differs = (np.abs(area - (bg.red(), bg.green(), bg.blue())).sum(axis=2) > 60) & (chroma > 40)
    assert differs.sum() > 800, f"only {differs.sum()} coloured pixels in the plot area"

    pen = panel.curve_items("wave/sin")[1].opts["pen"].color()
    curve = np.abs(area - (pen.red(), pen.green(), pen.blue())).max(axis=2) < 40
    assert curve.sum() > 400, f"the curve colour covers only {curve.sum()} pixels"
    # a sine spans the height: curve pixels in the top and bottom fifths of the plot
    rows = np.flatnonzero(curve.any(axis=1))
    assert rows.min() < area.shape[0] * 0.2 and rows.max() > area.shape[0] * 0.8


def test_empty_state_shows_the_hint(panel, qtbot):
    show(qtbot, panel)
    assert panel._stack.currentWidget() is panel._hint
    assert panel._hint.text() == HINT
    assert panel.groups() == []
    panel.append([{"step": 1, "time": 0.1}])          # no metric: still empty
    assert panel._stack.currentWidget() is panel._hint
    panel.append(records(3))
    assert panel._stack.currentWidget() is panel._scroll


def test_dark_palette_restyles_the_plots(panel, qtbot):
    panel.append(records(10))
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor(30, 30, 34))
    dark.setColor(QPalette.ColorRole.WindowText, QColor(230, 230, 230))
    panel.setPalette(dark)                                # PaletteChange -> apply_palette()
    assert panel._glw.backgroundBrush().color() == QColor(30, 30, 34)
    axis = panel.plot_item("loss").getAxis("left")
    assert axis.textPen().color() == QColor(230, 230, 230)
    main = panel.curve_items("loss/total")[1]
    assert main.opts["pen"].color().lightnessF() > 0.5   # the lighter curve set on dark
    assert panel.objectName() == "LivePlotsPanel"


# -- groups, data, EMA ----------------------------------------------------------------------

def test_one_plot_per_group_created_lazily(panel):
    panel.append(records(5, keys=("loss/total", "loss/recon")))
    assert panel.groups() == ["loss"]
    panel.append(records(5, start=6, keys=("loss/total", "loss/recon", "loss/kl", "elbo",
                                           "perf/step_ms")))
    assert panel.groups() == ["loss", "elbo", "perf"]
    assert len({id(panel.plot_item(g)) for g in panel.groups()}) == 3
    loss_items = panel.plot_item("loss").listDataItems()
    assert len(loss_items) == 6                           # (raw, smoothed) x 3 keys
    assert panel.legend_names("loss") == ["total", "recon", "kl"]
    colours = {panel.curve_items(k)[1].opts["pen"].color().name()
               for k in ("loss/total", "loss/recon", "loss/kl")}
    assert len(colours) == 3
    # linked x axes
    for g in ("elbo", "perf"):
        assert panel.plot_item(g).vb.linkedView(0) is panel.plot_item("loss").vb
    x, y = panel.curve_data("loss/kl")
    assert x.tolist() == [6, 7, 8, 9, 10] and len(y) == 5
    assert panel.curve_data("loss/total")[0].tolist() == list(range(1, 11))


def test_sparse_keys_and_bad_values(panel):
    panel.append([{"step": 1, "time": 1.0, "loss/total": 2.0, "note": "text"},
                  {"step": 2, "time": 2.0, "loss/total": 1.5, "test/elbo": -3.0},
                  {"step": 3, "time": 3.0, "loss/total": float("nan")}])
    assert panel.keys() == ["loss/total", "test/elbo"]
    assert panel.curve_data("test/elbo")[0].tolist() == [2]
    assert np.isnan(panel.curve_data("loss/total")[1][2])


@pytest.mark.parametrize("a", [0.0, 0.3, 0.6, 0.95, 0.999])
def test_ema_matches_the_reference_loop(a):
    rng = np.random.default_rng(1)
    xs = rng.standard_normal(3000) * 5 + 10
    xs[[7, 100, 2500]] = np.nan
    out, _, _ = ema(xs, a)
    np.testing.assert_allclose(out, ema_reference(xs, a), rtol=1e-9, atol=1e-9)
    # incrementally, in uneven chunks
    parts, state, count = [], 0.0, 0
    for lo, hi in ((0, 1), (1, 90), (90, 1500), (1500, 3000)):
        o, state, count = ema(xs[lo:hi], a, state, count)
        parts.append(o)
    np.testing.assert_allclose(np.concatenate(parts), ema_reference(xs, a), rtol=1e-9, atol=1e-9)
    raw, _, _ = ema(xs, a, debias=False)
    np.testing.assert_allclose(raw, ema_reference(xs, a, debias=False), rtol=1e-9, atol=1e-9)


def test_panel_smoothing_is_debiased_ema_on_append_and_on_change(panel):
    """The panel uses bias-corrected EMA (TensorBoard style): the smoothed curve starts at the
    first value instead of rising from 0."""
    recs = records(800, keys=("loss/total",))
    ys = np.array([r["loss/total"] for r in recs])
    panel.set_smoothing(0.9)
    for i in range(0, 800, 130):                          # incremental path
        panel.append(recs[i:i + 130])
    np.testing.assert_allclose(panel.smoothed_data("loss/total")[1], ema_reference(ys, 0.9),
                               rtol=1e-9)
    assert panel.smoothed_data("loss/total")[1][0] == pytest.approx(ys[0])
    raw_item, main_item = panel.curve_items("loss/total")
    assert raw_item.isVisible()
    np.testing.assert_allclose(main_item.yData, ema_reference(ys, 0.9), rtol=1e-9)
    panel.set_smoothing(0.5)                              # recompute on change
    np.testing.assert_allclose(panel.smoothed_data("loss/total")[1], ema_reference(ys, 0.5),
                               rtol=1e-9)
    panel.set_smoothing(0.0)                              # raw only: faint copy hidden
    np.testing.assert_array_equal(main_item.yData, ys)
    assert not raw_item.isVisible()
    np.testing.assert_array_equal(panel.curve_data("loss/total")[1], ys)


def test_smoothing_slider_recomputes_once_after_drag(panel, qtbot):
    panel.append(records(200, keys=("loss/total",)))
    ys = panel.curve_data("loss/total")[1]
    for v in (100, 300, 700):                             # a drag: recompute is coalesced
        panel._smooth_slider.setValue(v)
    assert panel._smooth_label.text() == "0.700"
    assert panel.smoothing() == pytest.approx(0.7)
    qtbot.waitUntil(lambda: not panel._resmooth_timer.isActive())
    np.testing.assert_allclose(panel.smoothed_data("loss/total")[1], ema_reference(ys, 0.7),
                               rtol=1e-9)
    # from raw (0) to smoothed, with records arriving before the coalesced recompute runs
    panel.set_smoothing(0.0)
    panel._smooth_slider.setValue(500)
    assert panel._resmooth_timer.isActive()
    more = records(50, start=201, keys=("loss/total",), seed=5)
    panel.append(more)
    ys = np.concatenate([ys, [r["loss/total"] for r in more]])
    main = panel.curve_items("loss/total")[1]
    assert len(main.xData) == len(main.yData) == 250
    np.testing.assert_allclose(main.yData, ema_reference(ys, 0.5), rtol=1e-9)
    qtbot.waitUntil(lambda: not panel._resmooth_timer.isActive())
    assert panel.curve_items("loss/total")[0].isVisible()
    np.testing.assert_allclose(panel.smoothed_data("loss/total")[1], ema_reference(ys, 0.5),
                               rtol=1e-9)


# -- log y, x axis, crosshair -------------------------------------------------------------

def positive(recs):
    return [{k: (abs(v) + 0.1 if k not in ("step", "time") else v) for k, v in r.items()}
            for r in recs]


def test_log_y_applies_to_all_plots_and_new_ones(panel):
    panel.append(positive(records(20, keys=("loss/total", "elbo"))))
    panel._log_check.setChecked(True)
    assert panel.log_y()
    for g in panel.groups():
        item = panel.plot_item(g)
        assert item.ctrl.logYCheck.isChecked()
        assert all(c.opts["logMode"] == [False, True] for c in item.listDataItems())
    panel.append(positive(records(5, start=21, keys=("perf/step_ms",))))     # created while on
    assert panel.plot_item("perf").ctrl.logYCheck.isChecked()
    assert panel.curve_items("perf/step_ms")[1].opts["logMode"] == [False, True]
    panel.set_log_y(False)
    assert not any(panel.plot_item(g).ctrl.logYCheck.isChecked() for g in panel.groups())


def test_x_axis_switches_to_time(panel):
    recs = records(50, keys=("loss/total",))
    panel.append(recs)
    assert panel.x_axis() == "step"
    panel._x_combo.setCurrentText("time")
    assert panel.x_axis() == "time"
    times = [r["time"] for r in recs]
    assert panel.curve_data("loss/total")[0].tolist() == times
    raw, main = panel.curve_items("loss/total")
    assert main.xData.tolist() == times and raw.xData.tolist() == times
    panel.append(records(5, start=51, keys=("loss/total",)))         # appends in time too
    assert panel.curve_data("loss/total")[0][-1] == 0.5 * 55 + 3.0
    panel.set_x_axis("step")
    assert main.xData.tolist() == list(range(1, 56))
    with pytest.raises(ValueError):
        panel.set_x_axis("epoch")


def test_crosshair_readout_follows_the_mouse(panel, qtbot):
    show(qtbot, panel)
    panel.set_smoothing(0.0)
    panel.append([{"step": s, "time": float(s), "loss/total": 10.0 * s, "loss/kl": 0.5}
                  for s in range(0, 101)])
    QApplication.processEvents()
    vb = panel.plot_item("loss").vb
    scene = vb.mapViewToScene(QPointF(42.2, 500.0))
    pos = panel._glw.mapFromScene(scene)
    qtbot.mouseMove(panel._glw.viewport(), pos)
    qtbot.waitUntil(lambda: "420" in panel.readout_text(), timeout=3000)  # via SignalProxy
    text = panel.readout_text()
    assert "step" in text and "total" in text and "kl" in text and "0.5" in text
    gp = panel._plots["loss"]
    assert gp.vline.isVisible() and gp.vline.value() == pytest.approx(42.2, abs=0.5)


def vae_records(n=60):
    steps = np.arange(1, n + 1) * 20
    loss = 320 * np.exp(-steps / 300) + 130
    return [{"step": int(s), "time": 0.15 * s, "loss/total": float(v), "loss/kl": 11.0 - 4 * math.exp(-s / 200),
             "elbo": float(-v), "gan/margin": float(np.sin(s / 100)), "perf/step_ms": 200 + 30 * math.sin(s)}
            for s, v in zip(steps, loss)]


def test_log_y_is_sensible_for_negative_and_mixed_series(panel, qtbot):
    """log y once emptied the ELBO plot (negative: log10 gives NaN, ticks 1e-50..1e-250). A
    negative series is drawn on a log scale of -y (axis flipped, labels negative, title says
    so); a series with values <= 0 stays linear and its title says why."""
    show(qtbot, panel, (700, 900))
    panel.set_smoothing(0.0)
    recs = vae_records()
    panel.append(recs)
    panel.set_log_y(True)
    QApplication.processEvents()
    elbo = panel.plot_item("elbo")
    assert elbo.ctrl.logYCheck.isChecked() and elbo.vb.yInverted()
    _, y = panel.curve_items("elbo")[1].getData()          # as displayed: log10(-elbo)
    want = np.log10([-r["elbo"] for r in recs])
    np.testing.assert_allclose(y, want)
    lo, hi = elbo.vb.viewRange()[1]
    assert lo > want.min() - 0.5 and hi < want.max() + 0.5, (lo, hi)
    assert "log scale of \u2212y" in panel.plot_title("elbo")
    assert not panel.plot_item("gan").ctrl.logYCheck.isChecked()
    assert "linear" in panel.plot_title("gan") and "\u2264 0" in panel.plot_title("gan")
    assert panel.plot_item("loss").ctrl.logYCheck.isChecked()
    assert not panel.plot_item("loss").vb.yInverted()
    # the tick labels of the flipped axis read the true (negative) values
    axis = elbo.getAxis("left")
    labels = [s for _, strings in axis_labels(axis, elbo) for s in strings if s]
    assert labels and all(s.startswith("\u2212") for s in labels), labels
    # a positive group that later dips below zero falls back to linear
    panel.append([{"step": 2000, "time": 300.0, "loss/kl": -1.0}])
    assert not panel.plot_item("loss").ctrl.logYCheck.isChecked()
    assert "linear" in panel.plot_title("loss")
    panel.set_log_y(False)
    assert not elbo.vb.yInverted() and "log" not in panel.plot_title("elbo")


def axis_labels(axis, item):
    lo, hi = item.vb.viewRange()[1]
    size = item.vb.height()
    return [(spacing, axis.tickStrings(values, 1.0, spacing or 1.0))
            for spacing, values in axis.tickValues(lo, hi, size)]


@pytest.mark.parametrize("height", [90, 160, 400])
@pytest.mark.parametrize("span", [(30.0, 45.0), (31.0, 39.0), (20.0, 700.0), (120.0, 330.0),
                                  (0.002, 5000.0), (1e-9, 1e9)])
def test_log_tick_labels_never_pile_up(panel, height, span):
    """pyqtgraph labels every 1..9 x 10^k tick when a log axis spans less than a decade:
    they piled into one smear. Labelled ticks stay at least a line apart, and there are some."""
    panel.append([{"step": i, "time": float(i), "perf/step_ms": v}
                  for i, v in enumerate(np.geomspace(*span, 50))])
    panel.set_log_y(True)
    item = panel.plot_item("perf")
    axis = item.getAxis("left")
    lo, hi = np.log10(span)
    labelled = []
    for spacing, values in axis.tickValues(lo, hi, height):
        strings = axis.tickStrings(values, 1.0, spacing or 1.0)
        labelled += [v for v, s in zip(values, strings) if s]
    assert 1 <= len(labelled) <= max(2, height // 18)
    px = np.sort(np.asarray(labelled)) * height / (hi - lo)
    assert np.all(np.diff(px) >= 16), (span, height, labelled)


def test_four_plots_fit_the_panel_of_a_1280x720_window(panel, qtbot):
    """At 1280x720 the window gives the panel ~476x264: one plot and a third fitted. Four
    plots share it now, each with a readable data area, without scrolling."""
    show(qtbot, panel, (476, 264))
    panel.append(vae_records())
    for _ in range(3):
        QApplication.processEvents()
    view = panel._scroll.viewport()
    assert panel._glw.height() <= view.height() + 1            # no scrolling needed
    for g in ("loss", "elbo", "gan", "perf"):
        x0, y0, x1, y1 = plot_area(panel, g)
        assert x1 - x0 >= 150 and y1 - y0 >= 50, (g, x1 - x0, y1 - y0)
        assert y0 >= 0 and y1 <= panel.height()
    # tall and wide panels stack one plot per row
    show(qtbot, panel, (900, 900))
    QApplication.processEvents()
    xs = {round(plot_area(panel, g)[0]) for g in panel.groups()}
    assert len(xs) == 1


def test_legends_stay_out_of_the_data(panel, qtbot):
    show(qtbot, panel, (700, 500))
    panel.append(vae_records())
    for g in panel.groups():
        vb = panel.plot_item(g).vb
        assert not [c for c in vb.childItems() if isinstance(c, pg.LegendItem)]
        assert panel.plot_item(g).legend is None
    title = panel.plot_title("loss")
    for key in ("total", "kl"):
        colour = panel.curve_items(f"loss/{key}")[1].opts["pen"].color().name()
        assert key in title and colour in title


def test_crosshair_readout_hides_when_the_mouse_leaves(panel, qtbot):
    show(qtbot, panel, (600, 500))
    panel.set_smoothing(0.0)
    panel.append([{"step": s, "time": float(s), "loss/total": 10.0 * s} for s in range(101)])
    QApplication.processEvents()
    vb = panel.plot_item("loss").vb
    pos = panel._glw.mapFromScene(vb.mapViewToScene(QPointF(42.2, 500.0)))
    qtbot.mouseMove(panel._glw.viewport(), pos)
    qtbot.waitUntil(lambda: "420" in panel.readout_text(), timeout=3000)
    assert panel._readout.isVisible()
    gp = panel._plots["loss"]
    # off the data area (over the title) within the plots
    title = panel._glw.mapFromScene(panel.plot_item("loss").titleLabel.sceneBoundingRect().center())
    qtbot.mouseMove(panel._glw.viewport(), title)
    qtbot.waitUntil(lambda: panel.readout_text() == "", timeout=3000)
    assert not panel._readout.isVisible() and not gp.vline.isVisible()
    # and out of the plots altogether
    qtbot.mouseMove(panel._glw.viewport(), pos)
    qtbot.waitUntil(lambda: panel.readout_text() != "", timeout=3000)
    QApplication.sendEvent(panel._glw, QEvent(QEvent.Type.Leave))
    assert panel.readout_text() == "" and not gp.vline.isVisible()


def test_hint_leaves_with_the_first_metrics_and_returns_on_clear(panel, qtbot):
    panel.hide()                                   # a dock behind another tab
    panel.append(records(3))
    show(qtbot, panel)
    assert panel._stack.currentWidget() is panel._scroll and not panel._hint.isVisible()
    panel.clear()
    assert panel._stack.currentWidget() is panel._hint and panel._hint.text() == HINT
    panel.set_hint("Training: the first curves come at step 50")
    assert panel._hint.text().startswith("Training")
    panel.append(records(3))
    assert not panel._hint.isVisible()
    panel.clear()
    assert panel._hint.text() == HINT                # clear restores the default hint


def test_export_csv_writes_one_row_per_step(panel, qtbot, tmp_path):
    panel.append([{"step": 1, "time": 0.5, "loss/total": 2.0, "elbo": -2.0},
                  {"step": 2, "time": 1.0, "loss/total": 1.5},
                  {"step": 3, "time": 1.5, "loss/total": float("nan"), "test/mse": 0.25}])
    panel.add_overlay("old", records(5))             # other runs are not exported
    out = tmp_path / "curves.csv"
    assert panel.export_csv(out) == 3
    lines = out.read_text().splitlines()
    assert lines[0] == "step,time,loss/total,elbo,test/mse"
    assert lines[1:] == ["1,0.5,2.0,-2.0,", "2,1.0,1.5,,", "3,1.5,nan,,0.25"]
    with qtbot.waitSignal(panel.export_requested, timeout=1000):
        panel._export_button.click()
    menu_texts = [a.text() for a in panel.plot_item("loss").vb.menu.actions()]
    assert any("CSV" in t for t in menu_texts)


# -- overlays ---------------------------------------------------------------------------------

def test_overlays_draw_dashed_and_remove_cleanly(panel, qtbot):
    panel.append(records(100, keys=("loss/total", "elbo")))
    before = {g: len(panel.plot_item(g).listDataItems()) for g in panel.groups()}
    old = records(80, keys=("loss/total", "elbo", "gan/d_real"), seed=3)
    panel.add_overlay("run-a", old)
    panel.add_overlay("run-b", records(40, keys=("loss/total",), seed=4))
    assert panel.overlay_names() == ["run-a", "run-b"]
    assert panel.groups() == ["loss", "elbo", "gan"]           # overlay-only group gets a plot
    items_a = panel.overlay_items("run-a")
    assert len(items_a) == 3
    assert all(it.opts["pen"].style() == Qt.PenStyle.DashLine for it in items_a)
    styles_b = {it.opts["pen"].style() for it in panel.overlay_items("run-b")}
    assert styles_b and Qt.PenStyle.SolidLine not in styles_b and styles_b != {Qt.PenStyle.DashLine}
    loss_total_a = next(it for it in items_a if it in panel.plot_item("loss").listDataItems())
    assert loss_total_a.opts["pen"].color().rgb() == panel.curve_items("loss/total")[1].opts["pen"].color().rgb()
    np.testing.assert_array_equal(panel.overlay_data("run-a", "elbo")[1],
                                  [r["elbo"] for r in old])
    assert set(panel.overlay_actions()) == {"run-a", "run-b"}
    assert panel._compare_button.text() == "Compare (2)"

    panel.remove_overlay("run-a")
    assert panel.overlay_names() == ["run-b"]
    assert panel.groups() == ["loss", "elbo"]                  # emptied plot removed
    assert len(panel.plot_item("elbo").listDataItems()) == before["elbo"]
    assert len(panel.plot_item("loss").listDataItems()) == before["loss"] + 1
    assert panel.plot_item("elbo").vb.linkedView(0) is panel.plot_item("loss").vb
    assert set(panel.overlay_actions()) == {"run-b"}
    panel.remove_overlay("run-b")
    panel.remove_overlay("never-added")
    assert panel.overlay_names() == []
    assert len(panel.plot_item("loss").listDataItems()) == before["loss"]


def test_compare_menu_removes_and_button_requests(panel, qtbot):
    panel.add_overlay("run-x", records(10, keys=("loss/total",)))
    assert panel._stack.currentWidget() is panel._scroll      # overlay alone shows plots
    panel.overlay_actions()["run-x"].trigger()
    qtbot.waitUntil(lambda: panel.overlay_names() == [], timeout=1000)
    assert panel.groups() == [] and panel._stack.currentWidget() is panel._hint
    assert panel.overlay_actions() == {} and panel._compare_button.text() == "Compare\u2026"
    show(qtbot, panel)
    with qtbot.waitSignal(panel.overlay_requested, timeout=1000):   # the button itself
        qtbot.mouseClick(panel._compare_button, Qt.MouseButton.LeftButton,
                         pos=panel._compare_button.rect().topLeft() + QPoint(8, 8))
    with qtbot.waitSignal(panel.overlay_requested, timeout=1000):   # and the menu entry
        panel._overlay_menu.actions()[0].trigger()
    panel.add_overlay("a", records(5, keys=("elbo",)))
    panel.add_overlay("b", records(5, keys=("elbo",)))
    remove_all = next(a for a in panel._overlay_menu.actions() if a.text() == "Remove all overlays")
    remove_all.trigger()
    qtbot.waitUntil(lambda: panel.overlay_names() == [], timeout=1000)


def test_clear_resets_everything(panel):
    panel.append(records(30))
    panel.add_overlay("old", records(30, seed=2))
    panel.clear()
    assert panel.groups() == [] and panel.keys() == [] and panel.overlay_names() == []
    assert panel._stack.currentWidget() is panel._hint
    assert len(panel._glw.ci.items) == 0
    panel.append(records(3, keys=("elbo",)))
    assert panel.groups() == ["elbo"]
    assert panel.curve_data("elbo")[0].tolist() == [1, 2, 3]


# -- scale ----------------------------------------------------------------------------------

def test_100k_points_in_batches_of_1000(panel, qtbot):
    show(qtbot, panel)
    rng = np.random.default_rng(0)
    keys = ("loss/total", "loss/recon", "loss/kl", "elbo", "perf/step_ms")
    for b in range(100):
        steps = np.arange(b * 1000, (b + 1) * 1000)
        vals = rng.standard_normal((1000, len(keys)))
        panel.append([{"step": int(s), "time": s * 0.01, **dict(zip(keys, map(float, v)))}
                      for s, v in zip(steps, vals)])
        if b % 10 == 0:
            QApplication.processEvents()
    QApplication.processEvents()
    x, y = panel.curve_data("loss/kl")
    assert len(x) == len(y) == 100_000 and x[-1] == 99_999
    main = panel.curve_items("loss/kl")[1]
    assert main.opts["autoDownsample"] and main.opts["clipToView"]
    assert main.opts["downsampleMethod"] == "peak"
    buf = panel._series["loss/kl"].y
    assert len(buf.data) >= 100_000 and len(buf.data) < 2 * 131_072   # doubled, not per append
