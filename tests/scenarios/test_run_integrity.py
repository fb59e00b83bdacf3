"""A run's folder says how it was trained: viewing it, or editing the form for the next run,
never changes it; only training on does, and that records what changed."""
import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from studio.core.runs import Run

from .conftest import WAIT, folder_bytes, headless_run, open_run_by_menu, type_into, wait_state


def _open_finished(qtbot, w, monkeypatch, path):
    open_run_by_menu(w, monkeypatch, path)
    qtbot.waitUntil(lambda: w.snapshot is not None and w.run_info.step == 20
                    and w.state == "finished", timeout=WAIT)


def test_viewing_a_finished_run_and_editing_the_form_writes_nothing(qtbot, window, tmp_path,
                                                                    monkeypatch):
    run_dir = headless_run(tmp_path)
    other = headless_run(tmp_path, "other")
    before = folder_bytes(run_dir)
    w = window
    _open_finished(qtbot, w, monkeypatch, run_dir)
    form = w.controls_panel.form
    type_into(form("optim").editor("lr"), "0.01")          # settings for the next run
    type_into(form("run").editor("steps"), "400")
    type_into(form("run").editor("sample_every"), "7")
    w.docks["LatentExplorerPanel"].raise_()                 # look around
    w.docks["EvaluationTable"].raise_()
    qtbot.wait(300)
    open_run_by_menu(w, monkeypatch, other)                 # open another run
    qtbot.waitUntil(lambda: w.run_path == other and w.state == "finished", timeout=WAIT)
    w.close()
    assert folder_bytes(run_dir) == before
    assert Run.open(run_dir).config().run.steps == 20


def test_training_on_with_raised_steps_records_the_change(qtbot, window, tmp_path, monkeypatch):
    run_dir = headless_run(tmp_path)
    w = window
    _open_finished(qtbot, w, monkeypatch, run_dir)
    form = w.controls_panel.form
    type_into(form("optim").editor("lr"), "0.0005")
    type_into(form("run").editor("steps"), "30")
    QTest.keyClick(w, Qt.Key_F5)                            # Train: goes on with the edits
    qtbot.waitUntil(lambda: w.run_info.step == 30 and w.state == "finished", timeout=WAIT)
    cfg = Run.open(run_dir).config()
    assert cfg.run.steps == 30 and cfg.optim.lr == 0.0005
    changes = [json.loads(l) for l in (run_dir / "config_changes.jsonl").read_text().splitlines()]
    assert len(changes) == 1 and changes[0]["step"] == 20
    assert changes[0]["changes"]["run.steps"] == {"from": 20, "to": 30}
    assert changes[0]["changes"]["optim.lr"] == {"from": 0.001, "to": 0.0005}


def test_train_on_a_finished_run_says_why_nothing_happens(qtbot, window, tmp_path, monkeypatch):
    run_dir = headless_run(tmp_path)
    before = folder_bytes(run_dir)
    w = window
    _open_finished(qtbot, w, monkeypatch, run_dir)
    QTest.keyClick(w, Qt.Key_F5)
    qtbot.waitUntil(lambda: getattr(w, "warning_box", None) is not None
                    and w.warning_box.isVisible(), timeout=WAIT)
    text = w.warning_box.text()
    assert "finished its 20 steps" in text and "Raise Steps" in text
    assert w.run_info.step == 20
    w.close()
    assert folder_bytes(run_dir) == before
