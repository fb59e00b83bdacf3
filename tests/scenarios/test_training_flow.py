"""Train, pause, step, resume, stop and evaluate with the keys a person uses, checking what
the status bar says and what lands in the run folder."""
import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from studio.core.runs import Run

from .conftest import TINY_VAE, WAIT, headless_run, open_run_by_menu, wait_state


def test_train_pause_step_resume_stop(qtbot, window):
    w = window
    w.controls_panel.set_config({**TINY_VAE, "run": {**TINY_VAE["run"], "steps": 5000}})
    QTest.keyClick(w, Qt.Key_F5)
    wait_state(qtbot, w, "running")
    qtbot.waitUntil(lambda: w.run_info.step >= 15, timeout=WAIT)
    QTest.keyClick(w, Qt.Key_F6)
    wait_state(qtbot, w, "paused")
    paused_at = w.run_info.step
    assert w.status_labels["state"].text() == "State: paused"

    QTest.keyClick(w, Qt.Key_F10)                        # one step
    qtbot.waitUntil(lambda: w.run_info.step == paused_at + 1 and w.state == "paused",
                    timeout=WAIT)
    qtbot.waitUntil(lambda: w.status_labels["step"].text() == f"Step {paused_at + 1:,} / 5,000",
                    timeout=WAIT)                        # the run's total, not the step's

    QTest.keyClick(w, Qt.Key_F7)
    wait_state(qtbot, w, "running")
    qtbot.waitUntil(lambda: w.run_info.step > paused_at + 10, timeout=WAIT)
    QTest.keyClick(w, Qt.Key_F5, Qt.ShiftModifier)       # Stop
    wait_state(qtbot, w, "stopped")
    run = Run.open(w.run_path)
    assert run.status()["state"] == "stopped"
    assert run.load_checkpoint().step == w.run_info.step
    assert w.run_path.name in w.windowTitle()


def test_evaluate_fills_the_table_and_the_runs_history(qtbot, window, tmp_path, monkeypatch):
    run_dir = headless_run(tmp_path)
    w = window
    w.eval_samples = 500                                 # a small evaluation, same path
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    QTest.keyClick(w, Qt.Key_E, Qt.ControlModifier)
    qtbot.waitUntil(lambda: len(w.eval_panel.runs()) == 1, timeout=WAIT)
    title, record = w.eval_panel.runs()[0]
    assert record["step"] == 20 and "test/elbo" in record
    saved = [json.loads(l) for l in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    assert saved[-1]["test/elbo"] == record["test/elbo"]


def test_another_run_opened_replaces_the_evaluation_column(qtbot, window, tmp_path, monkeypatch):
    a = headless_run(tmp_path, "a")
    b = headless_run(tmp_path, "b")
    w = window
    w.eval_samples = 500
    open_run_by_menu(w, monkeypatch, a)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    QTest.keyClick(w, Qt.Key_E, Qt.ControlModifier)
    qtbot.waitUntil(lambda: len(w.eval_panel.runs()) == 1, timeout=WAIT)
    open_run_by_menu(w, monkeypatch, b)                   # b was never evaluated
    qtbot.waitUntil(lambda: w.run_path == b and w.state == "finished", timeout=WAIT)
    assert [title for title, _ in w.eval_panel.runs() if title == "a"] == []


def test_curves_export_as_csv(qtbot, window, tmp_path, monkeypatch):
    import csv
    run_dir = headless_run(tmp_path)
    w = window
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    monkeypatch.setattr(w, "ask_save", lambda title, name, filt: str(tmp_path / name))
    with qtbot.waitSignal(w.export_written, timeout=WAIT):
        w.act_export_csv.trigger()
    rows = list(csv.DictReader((tmp_path / "headless-metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [5, 10, 15, 20]
    assert all(float(r["loss/total"]) > 0 for r in rows)
