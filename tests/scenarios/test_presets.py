"""Examples and presets from the window: a config file fills the form and the data set, and
Train starts a run with it."""
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from studio.core.runs import Run

from .conftest import WAIT, type_into, wait_state

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_open_an_example_config_and_train_it(qtbot, window, monkeypatch):
    w = window
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(EXAMPLES / "ae-ring8.toml"), "")))
    w.act_open_config.trigger()                            # File > Open config...
    qtbot.waitUntil(lambda: w.data_choice[0] == "ring8" and w.browser_dataset is not None
                    and w.browser_dataset.name == "ring8", timeout=WAIT)
    assert w.controls_panel.engine() == "ae"
    assert w.controls_panel.config()["model"]["latent_dim"] == 1
    type_into(w.controls_panel.form("run").editor("steps"), "30")
    QTest.keyClick(w, Qt.Key_F5)
    qtbot.waitUntil(lambda: w.state == "finished" and w.run_info.step == 30, timeout=WAIT)
    cfg = Run.open(w.run_path).config()
    assert cfg.engine == "ae" and cfg.data_name == "ring8" and cfg.run.steps == 30


def test_preset_picker_fills_the_form_and_file_new_run_from_example(qtbot, window):
    w = window
    names = w.controls_panel.presets()
    assert "ae-ring8" in names and "gan-ring8-vanilla" in names and len(names) >= 10
    w.docks["RunControlsPanel"].raise_()
    w.controls_panel.choose_preset("gan-ring8-vanilla")     # as picked in the combo
    qtbot.waitUntil(lambda: w.browser_dataset is not None and w.browser_dataset.name == "ring8",
                    timeout=WAIT)
    assert w.controls_panel.engine() == "gan"
    # File > New run from example: a new run with the preset's settings, ready to train
    action = next(a for a in w.examples_menu.actions() if a.text() == "ae-ring8")
    action.trigger()
    qtbot.waitUntil(lambda: w.snapshot is not None and w.run_path is not None
                    and w.state in ("idle", "paused"), timeout=WAIT)
    cfg = Run.open(w.run_path).config()
    assert cfg.engine == "ae" and cfg.data_name == "ring8"
    assert w.controls_panel.current_preset() == "ae-ring8"
