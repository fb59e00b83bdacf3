"""The studio picks up where it left off: the last open run (or the last form), recent runs,
run names shown in titles and comparisons."""
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

from studio.core.runs import Run
from studio.shell.window import MainWindow

from .conftest import WAIT, folder_bytes, headless_run, open_run_by_menu, type_into


def _window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("welcome_shown", "1")   # not a first start (that is test_example_runs)
    w = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitUntil(lambda: w.browser_dataset is not None, timeout=WAIT)
    return w


def test_restart_reopens_the_last_run_with_its_name_and_lists_it_as_recent(qtbot, tmp_path,
                                                                          monkeypatch):
    run_dir = headless_run(tmp_path)
    w = _window(qtbot, tmp_path)
    open_run_by_menu(w, monkeypatch, run_dir)
    qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *a, **k: ("Lecture 3: a small VAE", True)))
    QTest.keyClick(w, Qt.Key_F2)                           # Run > Rename run...
    assert w.windowTitle().startswith("Lecture 3: a small VAE")
    assert Run.open(run_dir).about()["title"] == "Lecture 3: a small VAE"
    before = folder_bytes(run_dir)
    w.close()

    w2 = _window(qtbot, tmp_path)                           # the next session
    try:
        qtbot.waitUntil(lambda: w2.run_path is not None and w2.state == "finished", timeout=WAIT)
        assert w2.run_path.resolve() == run_dir.resolve()
        assert w2.windowTitle().startswith("Lecture 3: a small VAE")
        assert w2.run_info.step == 20
        w2.recent_menu.aboutToShow.emit()                   # File > Recent runs
        texts = [a.text() for a in w2.recent_menu.actions()]
        assert any("Lecture 3: a small VAE" in t for t in texts)
    finally:
        w2.close()
    assert folder_bytes(run_dir) == before                  # reopening wrote nothing


def test_restart_without_a_run_keeps_the_form(qtbot, tmp_path):
    w = _window(qtbot, tmp_path)
    type_into(w.controls_panel.form("optim").editor("lr"), "0.0042")
    type_into(w.controls_panel.form("run").editor("steps"), "777")
    w.close()
    w2 = _window(qtbot, tmp_path)
    try:
        qtbot.waitUntil(lambda: w2.controls_panel.config()["run"]["steps"] == 777, timeout=WAIT)
        assert w2.controls_panel.config()["optim"]["lr"] == 0.0042
        assert w2.run_path is None
    finally:
        w2.close()


def test_a_run_opened_before_the_restore_is_not_replaced_by_the_last_run(qtbot, tmp_path):
    """The last session's run is reopened on the first event; a run opened before that (a
    script, a test) is what the user asked for and stays open."""
    last = headless_run(tmp_path, "last")
    other = headless_run(tmp_path, "other")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("welcome_shown", "1")
    settings.setValue("last_run", str(last))
    w = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    w.open_run(other)                                      # before any event is processed
    w.show()
    try:
        qtbot.waitUntil(lambda: w.snapshot is not None and w.state == "finished", timeout=WAIT)
        qtbot.wait(300)
        assert w.run_path.resolve() == other.resolve()
        assert w.snapshot.path.resolve() == other.resolve()
    finally:
        w.close()
