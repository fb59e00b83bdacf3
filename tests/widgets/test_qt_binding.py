"""Canary for the Qt binding itself: PySide6 6.12.0 on CPython < 3.12 drops a reference to
None on every void call and to True on every signal emit, which aborts the interpreter after
a few thousand redraws. pyproject.toml excludes it; this fails loudly if a broken build is
ever installed again."""
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget


class _Probe(QObject):
    fired = Signal()


def test_void_calls_and_emits_keep_reference_counts(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    probe = _Probe()
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(200):
        w.update()
        probe.fired.emit()
    import PySide6
    assert sys.getrefcount(None) > none0 - 100, f"PySide6 {PySide6.__version__} leaks None refs"
    assert sys.getrefcount(True) > true0 - 100, f"PySide6 {PySide6.__version__} leaks True refs"
