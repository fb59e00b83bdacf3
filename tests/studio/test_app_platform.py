"""`genstudio` names the missing system library of Qt's xcb plugin and the command that
installs it, and exits 2, instead of Qt's abort that blames another library."""
import shutil
import subprocess
from pathlib import Path

import pytest

from studio.shell import app

X11 = {"DISPLAY": ":0"}


@pytest.mark.parametrize("env, platform, expected", [
    (X11, "linux", True),
    ({**X11, "QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({**X11, "QT_QPA_PLATFORM": "xcb:nograb"}, "linux", True),
    ({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({**X11, "QT_QPA_PLATFORM": "wayland"}, "linux", False),
    ({**X11, "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({}, "linux", False),                         # no display: not an xcb problem
    (X11, "darwin", False),
    (X11, "win32", False),
])
def test_when_the_platform_is_xcb(env, platform, expected):
    assert app.will_use_xcb(env, platform) is expected


def test_missing_library_message_names_it_and_the_command(monkeypatch, tmp_path):
    monkeypatch.setattr(app, "xcb_plugin", lambda: tmp_path / "libqxcb.so")
    monkeypatch.setattr(app, "distro_family", lambda: "debian")
    msg = app.xcb_problem(X11, probe=lambda p: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in msg
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in msg
    assert "dnf" not in msg
    monkeypatch.setattr(app, "distro_family", lambda: "fedora")
    msg = app.xcb_problem(X11, probe=lambda p: ["libxcb-cursor.so.0"])
    assert "sudo dnf install xcb-util-cursor" in msg and "apt-get" not in msg
    monkeypatch.setattr(app, "distro_family", lambda: "")
    msg = app.xcb_problem(X11, probe=lambda p: ["libxcb-cursor.so.0", "libfoo.so.9"])
    assert "apt-get install libxcb-cursor0" in msg and "dnf install xcb-util-cursor" in msg
    assert "libfoo.so.9" in msg                     # unknown ones are still named
    assert app.xcb_problem(X11, probe=lambda p: []) == ""
    assert app.xcb_problem({"QT_QPA_PLATFORM": "offscreen"}, probe=lambda p: ["x"]) == ""


def test_genstudio_exits_2_before_qt(monkeypatch, capsys):
    monkeypatch.setattr(app, "xcb_problem", lambda: "genstudio: missing libxcb-icccm.so.4")
    assert app.main([]) == 2
    assert "libxcb-icccm.so.4" in capsys.readouterr().err


def test_distro_family(tmp_path):
    f = tmp_path / "os-release"
    for text, family in (('ID=ubuntu\nID_LIKE=debian\n', "debian"), ('ID="debian"\n', "debian"),
                         ('ID=fedora\n', "fedora"), ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "fedora"),
                         ('ID=arch\n', "")):
        f.write_text(text)
        assert app.distro_family(str(f)) == family
    assert app.distro_family(str(tmp_path / "none")) == ""


@pytest.mark.skipif(not (shutil.which("ldd") and shutil.which("readelf") and app.xcb_plugin()),
                    reason="needs ldd, readelf and PySide6's xcb plugin (Linux)")
def test_every_system_library_of_the_real_plugin_has_packages():
    """On this machine: whatever ldd lists for libqxcb.so outside PySide6 (and beyond the C
    runtime and what the listed packages pull in) has a package for both families, so any
    missing one gets a command; and the probe agrees with ldd's 'not found' lines."""
    plugin = app.xcb_plugin()
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    qt_dir = plugin.parents[2]
    direct = set()
    for so in (plugin, qt_dir / "lib" / "libQt6XcbQpa.so.6", qt_dir / "lib" / "libQt6Gui.so.6",
               qt_dir / "lib" / "libQt6DBus.so.6"):
        direct |= _needed(so)
    runtime = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0",
               "libdl.so.2", "librt.so.1"}
    system = {s for s in direct if not s.startswith(("libQt6", "libicu")) and s not in runtime}
    assert system and system <= set(app.XCB_PACKAGES), system - set(app.XCB_PACKAGES)
    not_found = [l.split("=>")[0].strip() for l in out.splitlines() if "not found" in l]
    assert app.missing_libraries(plugin) == list(dict.fromkeys(not_found))


def _needed(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return {l.split("[")[1].split("]")[0] for l in out.splitlines() if "(NEEDED)" in l}
