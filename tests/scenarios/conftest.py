"""User-path scenario tests: the real window driven only through what a person can do
(actions and their shortcuts, typing into fields, clicking), asserting what they would see
and what lands on disk."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QFileDialog, QLineEdit

from studio.core.cli import main
from studio.core.config import config_from_dict
from studio.shell.window import MainWindow
from tests import trainer_guard

WAIT = 120_000   # ms; generous for a loaded 2-core CI machine

TINY_VAE = {
    "run": {"seed": 0, "steps": 20, "batch_size": 32, "log_every": 5, "sample_every": 10,
            "checkpoint_every": 10, "preview_samples": 16, "device": "cpu"},
    "data": {"name": "mnist", "limit": 512},
    "model": {"engine": "vae", "arch": "mlp", "latent_dim": 4, "hidden": 32},
    "optim": {"lr": 0.001},
}


def headless_run(tmp_path: Path, name: str = "headless", cfg: dict = TINY_VAE) -> Path:
    (tmp_path / f"{name}.toml").write_text(config_from_dict(cfg).to_toml())
    out = tmp_path / name
    assert main(["train", str(tmp_path / f"{name}.toml"), "--out", str(out), "--quiet"]) == 0
    return out


def folder_bytes(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def type_into(editor, text: str) -> None:
    """Select what the field holds, type, press Enter: as a person edits a form field."""
    line = editor.lineEdit() if isinstance(editor, QAbstractSpinBox) else editor
    assert isinstance(line, QLineEdit), type(editor)
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key_Return)


def open_run_by_menu(w, monkeypatch, path: Path) -> None:
    """File > Open run..., choosing `path` in the folder dialog."""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(path)))
    w.act_open.trigger()


def wait_state(qtbot, w, state: str) -> None:
    qtbot.waitUntil(lambda: w.state == state, timeout=WAIT)


@pytest.fixture(autouse=True)
def host_only_trainer(monkeypatch):
    """Every scenario drives the window with the trainer readable on the host thread only:
    a read from the GUI (or any other) thread fails the test."""
    guard = trainer_guard.install(monkeypatch)
    yield guard
    assert not guard.violations, "\n\n".join(guard.violations)


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("welcome_shown", "1")   # not a first start (that is test_example_runs)
    w = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitUntil(lambda: w.browser_dataset is not None, timeout=WAIT)
    yield w
    w.close()
