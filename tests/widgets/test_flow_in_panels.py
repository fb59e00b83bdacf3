"""The existing panels with a normalizing flow (issue 16), as widgets with fake data: the
point canvas's density heatmap and its log scale, the gallery's temperature slider, the
latent explorer's ends from data images, the live plots' train/test NLL in one plot."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QPushButton, QSlider

from widgets.latent_explorer import LatentExplorerPanel
from widgets.live_plots import LivePlotsPanel
from widgets.point_canvas import LAYER_TEXT, CanvasFrame, PointCanvasPanel
from widgets.point_canvas.layers import DENSITY_LAYER_TEXT, LOG_DENSITY_RANGE
from widgets.preview import fake_density_frame, fake_frame
from widgets.sample_gallery import TEMPERATURE_TIP, SampleGalleryPanel


# -- the point canvas ---------------------------------------------------------------------------

@pytest.fixture
def canvas(qtbot):
    p = PointCanvasPanel()
    qtbot.addWidget(p)
    p.resize(900, 640)
    p.show()
    return p


def test_a_density_frame_says_density_not_critic(canvas):
    canvas.set_frame(fake_density_frame())
    assert canvas.field_kind() == "density"
    check = canvas._checks["field"]
    assert check.text() == DENSITY_LAYER_TEXT["field"] == "Density"
    assert "change of variables" in check.toolTip() and "discriminator" not in check.toolTip()
    assert "p(x), the flow's density" in check.toolTip()
    assert "model" in canvas._checks["fake"].toolTip()
    assert canvas.field_label() == "p(x), the flow's density"
    assert canvas.layer_shown("field")
    # its samples would hide the density, its latent grid covers the whole plane: off until
    # ticked; the real points are drawn small enough for the density to show between them
    for name in ("fake", "manifold"):
        assert canvas.layer_available(name) and not canvas.layer_shown(name)
    assert canvas.layer_shown("real") and canvas._real_item._size == 3.0
    combo = canvas.findChild(QComboBox, "densityScaleCombo")
    assert combo.isVisibleTo(canvas) and combo.isEnabled()


def test_density_levels_start_at_zero_and_the_log_scale_shows_log_p(canvas):
    frame = fake_density_frame()
    canvas.set_frame(frame)
    lo, hi = canvas.field_levels()
    assert lo == 0.0 and hi == pytest.approx(np.percentile(frame.field_values, 99.5), rel=1e-5)
    # zero density is the plot's background: nothing drawn where the model puts no mass
    assert canvas.field_colour(0.0).name() == canvas._canvas.backgroundBrush().color().name()
    canvas.set_density_scale("log")
    assert canvas.density_scale() == "log"
    assert canvas.field_label() == "log p(x), nats"
    lo, hi = canvas.field_levels()
    top = float(frame.field_log_values.max())
    assert hi == pytest.approx(top, rel=1e-5)
    assert hi - lo <= LOG_DENSITY_RANGE + 1e-6          # modes and bridges, not the far corners
    shown = canvas._field_img.image
    np.testing.assert_allclose(shown, frame.field_log_values, rtol=1e-5)
    canvas.set_density_scale("density")
    np.testing.assert_allclose(canvas._field_img.image, frame.field_values, rtol=1e-5)
    with pytest.raises(ValueError, match="density scale"):
        canvas.set_density_scale("sqrt")


def test_back_to_a_gan_the_canvas_is_as_it_was(canvas):
    canvas.set_frame(fake_frame())
    gan_texts = {n: cb.text() for n, cb in canvas._checks.items()}
    gan_field_tip = canvas._checks["field"].toolTip()
    canvas.set_frame(fake_density_frame())
    canvas.set_frame(fake_frame(step=1300))
    assert canvas.field_kind() == "critic"
    assert {n: cb.text() for n, cb in canvas._checks.items()} == gan_texts == LAYER_TEXT
    assert canvas._checks["field"].toolTip() == gan_field_tip
    assert canvas.layer_shown("manifold") and canvas.layer_shown("fake")   # as they were
    assert canvas._real_item._size == 5.0
    assert not canvas.findChild(QComboBox, "densityScaleCombo").isVisibleTo(canvas)
    assert canvas.field_label() == "D(x) = P(real)"


def test_a_density_without_log_values_keeps_the_p_scale(canvas):
    f = fake_density_frame()
    canvas.set_frame(CanvasFrame(step=1, real=f.real, fake=f.fake, field_x=f.field_x,
                                 field_y=f.field_y, field_values=f.field_values,
                                 field_kind="density", field_label="p(x)"))
    combo = canvas.findChild(QComboBox, "densityScaleCombo")
    assert not combo.isEnabled()
    canvas.set_density_scale("log")
    np.testing.assert_allclose(canvas._field_img.image, f.field_values, rtol=1e-5)


def test_bad_density_frames_are_refused(canvas):
    f = fake_density_frame()
    with pytest.raises(ValueError, match="field_kind"):
        canvas.set_frame(CanvasFrame(step=1, real=f.real, field_kind="energy"))
    with pytest.raises(ValueError, match="field_log_values"):
        canvas.set_frame(CanvasFrame(step=1, real=f.real, field_x=f.field_x, field_y=f.field_y,
                                     field_values=f.field_values, field_kind="density",
                                     field_log_values=f.field_values[:3]))


# -- the gallery's temperature ------------------------------------------------------------------

def test_temperature_slider_shows_only_when_given_and_emits_t(qtbot):
    g = SampleGalleryPanel()
    qtbot.addWidget(g)
    g.show()
    row = g.findChild(QSlider, "temperatureSlider")
    assert g.temperature() is None and not row.isVisibleTo(g)
    g.set_temperature(1.0)
    assert row.isVisibleTo(g) and g.temperature() == 1.0
    assert "Temperature T" in [w.text() for w in g.findChildren(type(g._title))]
    assert "0.7" in TEMPERATURE_TIP and "T = 0" in row.toolTip() and "prior" in row.toolTip()
    with qtbot.waitSignal(g.temperature_changed) as sig:
        g.move_temperature(0.7)
    assert sig.args == [pytest.approx(0.7)]
    assert g.temperature() == pytest.approx(0.7)
    assert g.findChild(type(g._title), "temperatureValue").text() == "0.70"
    with qtbot.assertNotEmitted(g.temperature_changed):
        g.set_temperature(0.4)                       # a run's value: shown, not an edit
    assert g.temperature() == pytest.approx(0.4)
    g.set_temperature(None)
    assert g.temperature() is None


def test_a_tempered_grid_is_captioned_with_its_t(qtbot):
    g = SampleGalleryPanel()
    qtbot.addWidget(g)
    g.set_samples(100, np.random.default_rng(0).random((9, 1, 8, 8)).astype(np.float32),
                  "fixed z, T = 0.70")
    assert g.title() == "Step 100 - 9 samples (fixed z, T = 0.70)"


# -- the latent explorer's ends from data images --------------------------------------------------

def test_data_image_ends_ask_for_encodes_and_name_the_ends(qtbot):
    p = LatentExplorerPanel()
    qtbot.addWidget(p)
    p.set_capabilities({"decode", "encode"})
    p.set_space(4)
    p.show()
    buttons = {b.objectName(): b for b in p.findChildren(QPushButton)}
    assert buttons["dataAButton"].isVisibleTo(p) and buttons["dataBButton"].isVisibleTo(p)
    with qtbot.waitSignal(p.encode_end_requested) as sig:
        buttons["dataBButton"].click()
    assert sig.args == ["B"]
    p.set_end("A", np.ones(4, np.float32), "data image #3")
    p.set_end("B", np.zeros(4, np.float32), "data image #8")
    assert p.end_names() == ("data image #3", "data image #8")
    assert "A: data image #3" in p._ends_label.text() and "B: data image #8" in p._ends_label.text()
    with qtbot.waitSignal(p.interpolate_requested) as sig:
        p.interpolate()
    np.testing.assert_array_equal(sig.args[0], np.ones(4))
    p.set_end("A")                                        # from the sliders: no name
    assert p.end_names()[0] == ""
    with pytest.raises(ValueError, match="4 values"):
        p.set_end("A", np.ones(3), "data image #1")


def test_no_data_ends_for_a_model_that_cannot_encode(qtbot):
    p = LatentExplorerPanel()
    qtbot.addWidget(p)
    p.set_capabilities({"decode"})
    p.set_space(4)
    p.show()
    assert not p.findChild(QPushButton, "dataAButton").isVisibleTo(p)


# -- the live plots: train and test NLL in one plot -----------------------------------------------

NLL = {"loss/total": ("NLL (bits/dim)", "train"), "test/bits_per_dim": ("NLL (bits/dim)", "test")}


def flow_records(n=20, every=5):
    out = []
    for s in range(1, n + 1):
        rec = {"step": s, "time": 0.1 * s, "loss/total": 3.0 - 0.05 * s, "perf/step_ms": 12.0}
        if s % every == 0:
            rec["test/bits_per_dim"] = 3.1 - 0.05 * s
        out.append(rec)
    return out


def test_key_groups_put_train_and_test_nll_in_one_plot(qtbot):
    p = LivePlotsPanel()
    qtbot.addWidget(p)
    p.set_key_groups(NLL)
    p.append(flow_records())
    assert p.groups() == ["NLL (bits/dim)", "perf"]
    assert p.legend_names("NLL (bits/dim)") == ["train", "test"]
    title = p.plot_title("NLL (bits/dim)")
    assert "NLL (bits/dim)" in title and "train" in title and "test" in title
    x, y = p.curve_data("test/bits_per_dim")
    np.testing.assert_array_equal(x, [5, 10, 15, 20])


def test_key_groups_set_after_the_curves_regroup_them(qtbot):
    """An opened run's curves come from its file before the run's snapshot says it is a flow."""
    p = LivePlotsPanel()
    qtbot.addWidget(p)
    p.resize(600, 400)
    p.show()
    p.append(flow_records())
    p.add_overlay("earlier", flow_records(10))
    assert sorted(p.groups()) == ["loss", "perf", "test"]
    p.set_key_groups(NLL)
    assert sorted(p.groups()) == ["NLL (bits/dim)", "perf"]
    assert p.legend_names("NLL (bits/dim)") == ["train", "test"]
    x, y = p.curve_data("loss/total")
    assert len(x) == 20
    assert len(p.overlay_items("earlier")) == 3
    raw, main = p.curve_items("test/bits_per_dim")
    assert raw.getViewBox() is p.plot_item("NLL (bits/dim)").vb   # drawn in the merged plot
    p.append(flow_records(5))                               # and the next records join it
    assert len(p.curve_data("loss/total")[0]) == 25
    p.set_key_groups({})                                    # another family: by prefix again
    assert sorted(p.groups()) == ["loss", "perf", "test"]
    assert p.legend_names("test") == ["bits_per_dim"]
