"""FieldForm (widgets/forms.py) and RunControlsPanel (widgets/run_controls.py)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QLabel, QLineEdit, QSpinBox,
                               QWidget)

from widgets.forms import FieldForm, field_label
from widgets.run_controls import RunControlsPanel
from widgets.viewmodels import EngineInfo, FieldSpec, RunInfo

SPECS = [
    FieldSpec("latent_dim", "int", 8, "Size of the latent code z.", min=1, max=1024),
    FieldSpec("seed", "int", 0, "Seed for everything."),
    FieldSpec("arch", "str", "conv", "Image networks.", choices=("conv", "mlp")),
    FieldSpec("lr", "float", 1e-3, "Learning rate: the step size.", min=0.0, max=10.0,
              structural=False),
    FieldSpec("run_name", "str", "first", "A free-form name."),
    FieldSpec("use_ema", "bool", False, "Keep an EMA copy of the weights."),
]


@pytest.fixture
def form(qtbot):
    f = FieldForm(SPECS)
    qtbot.addWidget(f)
    return f


# ------------------------------------------------------------------------- FieldForm
def test_forms_editor_types_and_ranges(form):
    assert isinstance(form.editor("latent_dim"), QSpinBox)
    assert (form.editor("latent_dim").minimum(), form.editor("latent_dim").maximum()) == (1, 1024)
    seed = form.editor("seed")
    assert seed.minimum() <= -(2 ** 31) + 1 and seed.maximum() >= 2 ** 31 - 1   # wide
    assert isinstance(form.editor("arch"), QComboBox)
    assert [form.editor("arch").itemText(i) for i in range(2)] == ["conv", "mlp"]
    assert isinstance(form.editor("lr"), QLineEdit)            # typeable as 2e-4
    assert isinstance(form.editor("run_name"), QLineEdit)
    assert isinstance(form.editor("use_ema"), QCheckBox)


def test_forms_values_have_python_types_and_defaults(form):
    v = form.values()
    assert v == {"latent_dim": 8, "seed": 0, "arch": "conv", "lr": 1e-3, "run_name": "first",
                 "use_ema": False}
    assert [type(v[k]) for k in v] == [int, int, str, float, str, bool]


def test_forms_set_values_ignores_unknown_keys_and_emits_nothing(form, qtbot):
    with qtbot.assertNotEmitted(form.edited):
        form.set_values({"latent_dim": 32, "lr": 2e-4, "arch": "mlp", "use_ema": True,
                         "run_name": "x", "seed": 5, "not_a_field": 1})
    assert form.values() == {"latent_dim": 32, "seed": 5, "arch": "mlp", "lr": 2e-4,
                             "run_name": "x", "use_ema": True}
    assert isinstance(form.values()["lr"], float)


def test_forms_labels_and_tooltips(form):
    assert field_label(SPECS[0]) == "latent dim"
    assert form.label("latent_dim").text() == "latent dim"
    assert form.label("use_ema").text() == "use ema"
    for name, spec in ((s.name, s) for s in SPECS):
        for w in (form.label(name), form.editor(name)):
            assert spec.help in w.toolTip()
    assert "Range: 1 to 1024" in form.editor("latent_dim").toolTip()
    assert "Range: 0 to 10" in form.label("lr").toolTip()
    assert "conv, mlp" in form.editor("arch").toolTip()


def test_forms_edited_fires_on_user_edits(form, qtbot):
    lr = form.editor("lr")
    lr.selectAll()
    with qtbot.waitSignal(form.edited) as blocker:
        qtbot.keyClicks(lr, "2e-4")
        qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert blocker.args == ["lr", pytest.approx(2e-4)]
    assert isinstance(blocker.args[1], float)
    lr.selectAll()
    with qtbot.waitSignal(form.edited) as blocker:
        qtbot.keyClicks(lr, "0.0003")
        qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert blocker.args == ["lr", pytest.approx(3e-4)]
    assert form.values()["lr"] == pytest.approx(3e-4)

    with qtbot.waitSignal(form.edited) as blocker:
        qtbot.keyClick(form.editor("latent_dim"), Qt.Key.Key_Up)
    assert blocker.args == ["latent_dim", 9]
    with qtbot.waitSignal(form.edited) as blocker:
        form.editor("arch").setCurrentIndex(1)
    assert blocker.args == ["arch", "mlp"]
    with qtbot.waitSignal(form.edited) as blocker:
        form.editor("use_ema").click()
    assert blocker.args == ["use_ema", True]
    name = form.editor("run_name")
    name.selectAll()
    with qtbot.waitSignal(form.edited) as blocker:
        qtbot.keyClicks(name, "second")
        qtbot.keyClick(name, Qt.Key.Key_Return)
    assert blocker.args == ["run_name", "second"]


def test_forms_float_out_of_range_is_rejected_and_reverts(form, qtbot):
    lr = form.editor("lr")
    lr.selectAll()
    with qtbot.assertNotEmitted(form.edited):
        qtbot.keyClicks(lr, "20")                 # max is 10
        qtbot.keyClick(lr, Qt.Key.Key_Return)
        QApplication.sendEvent(lr, QFocusEvent(QEvent.Type.FocusOut))
    assert form.values()["lr"] == 1e-3
    assert float(lr.text()) == 1e-3


def test_forms_mark_structural_warns_but_allows_edits(form, qtbot):
    form.show()
    form.mark_structural(True)
    warn = form.findChild(QLabel, "warn_latent_dim")
    assert not warn.isVisibleTo(form)
    form.editor("latent_dim").setValue(16)           # a structural edit while locked
    assert form.values()["latent_dim"] == 16         # still editable
    assert warn.isVisibleTo(form)
    assert form.changed_structural() == ["latent_dim"]
    notice = form.findChild(QLabel, "structuralNotice")
    assert notice.isVisibleTo(form) and "starts a new run" in notice.text()
    lr = form.editor("lr")
    lr.selectAll()
    qtbot.keyClicks(lr, "0.5")
    qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert not form.findChild(QLabel, "warn_lr").isVisibleTo(form)   # live: no warning
    form.editor("latent_dim").setValue(8)             # back to the running value
    assert not warn.isVisibleTo(form)
    form.editor("latent_dim").setValue(20)
    form.mark_structural(False)
    assert not warn.isVisibleTo(form) and not notice.isVisibleTo(form)


# ------------------------------------------------------------------------- RunControlsPanel
VAE_FIELDS = (
    FieldSpec("latent_dim", "int", 8, "Size of z.", min=1, max=1024),
    FieldSpec("arch", "str", "conv", "Networks.", choices=("conv", "mlp")),
    FieldSpec("beta", "float", 1.0, "KL weight.", min=0.0, max=1000.0, structural=False),
)
AE_FIELDS = (
    FieldSpec("latent_dim", "int", 8, "Size of z.", min=1, max=1024),
    FieldSpec("loss", "str", "mse", "Reconstruction loss.", choices=("mse", "bce")),
    FieldSpec("denoise_std", "float", 0.0, "Noise std.", min=0.0),
)
ENGINES = [EngineInfo("vae", "Variational autoencoder.", frozenset({"encode", "decode"}), VAE_FIELDS),
           EngineInfo("ae", "Plain autoencoder.", frozenset({"encode", "decode"}), AE_FIELDS)]
RUN_FIELDS = [
    FieldSpec("seed", "int", 0, "Seed."),
    FieldSpec("device", "str", "auto", "Device.", choices=("auto", "cpu", "cuda", "mps")),
    FieldSpec("steps", "int", 2000, "Steps.", min=1),
    FieldSpec("batch_size", "int", 128, "Batch.", min=1, max=65536),
]
OPTIM_FIELDS = [
    FieldSpec("name", "str", "adam", "Optimizer.", choices=("adam", "adamw", "sgd")),
    FieldSpec("lr", "float", 1e-3, "Learning rate.", min=0.0, max=10.0, structural=False),
    FieldSpec("beta1", "float", 0.9, "Momentum.", min=0.0, max=1.0),
]


@pytest.fixture
def panel(qtbot):
    p = RunControlsPanel()
    qtbot.addWidget(p)
    p.set_engines(ENGINES)
    p.set_run_fields(RUN_FIELDS)
    p.set_optim_fields(OPTIM_FIELDS)
    return p


def test_run_controls_object_name_and_default_config(panel):
    assert panel.objectName() == "RunControlsPanel"
    assert panel.config() == {
        "run": {"seed": 0, "device": "auto", "steps": 2000, "batch_size": 128},
        "model": {"engine": "vae", "latent_dim": 8, "arch": "conv", "beta": 1.0},
        "optim": {"name": "adam", "lr": 1e-3, "beta1": 0.9},
    }


def test_run_controls_config_round_trip(panel, qtbot):
    cfg = {"run": {"seed": 3, "device": "cpu", "steps": 50, "batch_size": 16},
           "model": {"engine": "ae", "latent_dim": 2, "loss": "bce", "denoise_std": 0.25},
           "optim": {"name": "sgd", "lr": 2e-4, "beta1": 0.5}}
    with qtbot.assertNotEmitted(panel.config_edited):
        panel.set_config({**cfg, "data": {"name": "mnist"}})      # data is ignored
    assert panel.config() == cfg
    assert panel.engine() == "ae"
    other = RunControlsPanel()
    qtbot.addWidget(other)
    other.set_engines(ENGINES)
    other.set_run_fields(RUN_FIELDS)
    other.set_optim_fields(OPTIM_FIELDS)
    other.set_config(panel.config())
    assert other.config() == cfg
    # missing keys of a loaded config show their defaults
    panel.set_config({"model": {"engine": "vae", "beta": 4.0}})
    assert panel.config()["model"] == {"engine": "vae", "latent_dim": 8, "arch": "conv", "beta": 4.0}


def test_run_controls_set_config_before_fields_is_applied_later(qtbot):
    p = RunControlsPanel()
    qtbot.addWidget(p)
    p.set_config({"run": {"steps": 7}, "model": {"engine": "ae", "latent_dim": 3},
                  "optim": {"lr": 0.5}})
    p.set_engines(ENGINES)
    p.set_run_fields(RUN_FIELDS)
    p.set_optim_fields(OPTIM_FIELDS)
    c = p.config()
    assert c["model"]["engine"] == "ae" and c["model"]["latent_dim"] == 3
    assert c["run"]["steps"] == 7 and c["optim"]["lr"] == 0.5


def test_run_controls_engine_switch_rebuilds_model_form(panel, qtbot):
    form = panel.form("model")
    assert form.names() == ["latent_dim", "arch", "beta"]
    form.set_values({"latent_dim": 12})
    combo = panel.findChild(QComboBox, "engineCombo")
    with qtbot.waitSignal(panel.config_edited) as blocker:
        combo.setCurrentIndex(combo.findData("ae"))
    assert panel.form("model").names() == ["latent_dim", "loss", "denoise_std"]
    assert blocker.args[0]["model"] == {"engine": "ae", "latent_dim": 8, "loss": "mse",
                                        "denoise_std": 0.0}
    desc = panel.findChild(QLabel, "engineDescription")
    assert desc.text() == "Plain autoencoder."
    combo.setCurrentIndex(combo.findData("vae"))        # the vae's values are remembered
    assert panel.config()["model"]["latent_dim"] == 12


def test_run_controls_live_and_structural_signals(panel, qtbot):
    beta = panel.form("model").editor("beta")
    beta.selectAll()
    with qtbot.waitSignal(panel.live_value_edited) as live, \
            qtbot.assertNotEmitted(panel.structural_edit_while_running):
        qtbot.keyClicks(beta, "2.5")
        qtbot.keyClick(beta, Qt.Key.Key_Return)
    assert live.args == ["model", "beta", 2.5]

    # structural edits while idle are plain edits
    with qtbot.waitSignal(panel.config_edited), \
            qtbot.assertNotEmitted(panel.structural_edit_while_running):
        panel.form("model").editor("latent_dim").setValue(4)

    panel.set_running(True)
    with qtbot.waitSignal(panel.structural_edit_while_running) as s, \
            qtbot.assertNotEmitted(panel.live_value_edited):
        panel.form("model").editor("latent_dim").setValue(16)
    assert s.args == ["model.latent_dim"]
    with qtbot.waitSignal(panel.structural_edit_while_running) as s:
        panel.form("run").editor("batch_size").setValue(64)
    assert s.args == ["run.batch_size"]

    lr = panel.form("optim").editor("lr")
    lr.selectAll()
    with qtbot.waitSignal(panel.live_value_edited) as live, \
            qtbot.assertNotEmitted(panel.structural_edit_while_running):
        qtbot.keyClicks(lr, "2e-4")
        qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert live.args == ["optim", "lr", pytest.approx(2e-4)]

    combo = panel.findChild(QComboBox, "engineCombo")
    with qtbot.waitSignal(panel.structural_edit_while_running) as s:
        combo.setCurrentIndex(combo.findData("ae"))
    assert s.args == ["model.engine"]

    panel.set_running(False)
    with qtbot.assertNotEmitted(panel.structural_edit_while_running):
        panel.form("model").editor("latent_dim").setValue(5)


def test_run_controls_open_and_new_run(panel, qtbot, monkeypatch):
    from PySide6.QtWidgets import QPushButton
    monkeypatch.setattr(panel, "_ask_directory", lambda: "/tmp/runs/vae-mnist")
    button = panel.findChild(QPushButton, "openRunButton")
    with qtbot.waitSignal(panel.open_run_requested) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["/tmp/runs/vae-mnist"]
    monkeypatch.setattr(panel, "_ask_directory", lambda: "")          # cancelled
    with qtbot.assertNotEmitted(panel.open_run_requested):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.new_run_requested):
        qtbot.mouseClick(panel.findChild(QPushButton, "newRunButton"), Qt.MouseButton.LeftButton)


def test_run_controls_run_info(panel):
    panel.show()
    path = "/home/someone/runs/2025-06-01_vae_mnist_latent16_seed0"
    panel.set_run_info(RunInfo(path=path, engine="vae", data="mnist", device="cpu",
                               state="running", step=1200, total=2000, it_per_s=34.5, eta_s=23.0,
                               message="Checkpoint saved."))
    find = lambda name: panel.findChild(QLabel, name)  # noqa: E731
    assert find("stateLabel").text() == "Running"
    assert "#2e9d4f" in find("stateDot").styleSheet()
    assert find("stepLabel").text() == "step 1,200 / 2,000"
    assert "34.5 it/s" in find("speedLabel").text()
    assert find("runMessage").text() == "Checkpoint saved." and find("runMessage").isVisibleTo(panel)
    path_label = panel.findChild(QWidget, "runPath")
    assert path_label.toolTip() == path
    panel.set_run_info(RunInfo(path=path, state="failed", message="loss is NaN at step 10"))
    assert "#d03b3b" in find("stateDot").styleSheet()
    assert find("stateLabel").text() == "Failed"
    panel.set_run_info(RunInfo())
    assert not find("runMessage").isVisibleTo(panel)


def test_preset_picker_lists_presets_and_asks_for_the_chosen_one(qtbot):
    from widgets.run_controls import CUSTOM_PRESET, RunControlsPanel
    panel = RunControlsPanel()
    qtbot.addWidget(panel)
    panel.set_presets([("vae-mnist", "A VAE on MNIST."), ("gan-ring8", "A GAN on ring8.")])
    assert panel.presets() == ["vae-mnist", "gan-ring8"] and panel.current_preset() == ""
    combo = panel.findChild(type(panel._engine_combo), "presetCombo")
    assert combo.itemText(0) == CUSTOM_PRESET
    with qtbot.waitSignal(panel.preset_requested) as sig:
        panel.choose_preset("gan-ring8")
    assert sig.args == ["gan-ring8"] and panel.current_preset() == "gan-ring8"
    desc = panel.findChild(type(panel._engine_desc), "presetDescription")
    assert desc.text() == "A GAN on ring8." and not desc.isHidden()
