"""The shell's seams: every render kind the core offers has exactly one controller that owns
it, controllers are built from the panel registry, and the router refuses a second owner."""
from __future__ import annotations

import pytest

from studio.core.renders import RENDERERS
from studio.shell.panels import PANELS
from studio.shell.session import RenderRouter


def test_every_render_kind_has_one_owning_controller():
    owners: dict[str, str] = {}
    for spec in PANELS:
        for kind in getattr(spec.controller, "RENDERS", ()):
            assert kind not in owners, f"{kind} owned by {owners.get(kind)} and {spec.key}"
            owners[kind] = spec.key
    assert set(owners) == set(RENDERERS), (set(RENDERERS) ^ set(owners))


def test_the_router_delivers_by_kind_and_refuses_a_second_owner():
    router, got = RenderRouter(), []
    router.own(("decode", "basis"), lambda kind, stamp, result: got.append((kind, stamp, result)))
    assert router.deliver("basis", 7, "r") and got == [("basis", 7, "r")]
    assert not router.deliver("codes", 1, None)          # nobody asked: dropped, not misrouted
    with pytest.raises(ValueError, match="decode"):
        router.own(("decode",), lambda *a: None)


def test_the_window_builds_one_dock_and_controller_per_registry_entry(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from studio.shell.window import MainWindow
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    settings.setValue("welcome_shown", "1")
    w = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    try:
        assert list(w.panels) == [s.key for s in PANELS]
        assert len(w.docks) == len(PANELS)
        assert [d.windowTitle() for d in w.docks.values()] == [s.title for s in PANELS]
        assert set(w.controllers) == {s.key for s in PANELS if s.controller is not None}
        assert w.renders.kinds() == frozenset(RENDERERS)
    finally:
        w.close()
