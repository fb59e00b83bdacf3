"""The studio as an application: `genstudio` (or `python main.py`) opens the window;
`genstudio --screenshot OUT.png [--demo] [--panels]` grabs it offscreen and exits."""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence

DEMO_POINTS_CONFIG = {
    "run": {"seed": 0, "steps": 1500, "batch_size": 256, "log_every": 50, "sample_every": 250,
            "checkpoint_every": 1500, "preview_samples": 512},
    "model": {"engine": "vae", "latent_dim": 2, "decoder": "gaussian", "hidden": 128},
    "optim": {"name": "adam", "lr": 0.002},
}
DEMO_GAN_POINTS_CONFIG = {
    "run": {"seed": 0, "steps": 2500, "batch_size": 100, "log_every": 50, "sample_every": 250,
            "checkpoint_every": 2500, "preview_samples": 512},
    "model": {"engine": "gan", "loss": "nonsaturating", "latent_dim": 2, "g_hidden": 128,
              "g_depth": 3, "d_hidden": 128, "d_depth": 2, "pack": 2, "g_lr_mult": 0.25},
    "optim": {"name": "adam", "lr": 0.0004, "beta1": 0.5},
}
DEMO_GAN_IMAGES_CONFIG = {
    "run": {"seed": 0, "steps": 1500, "batch_size": 64, "log_every": 25, "sample_every": 100,
            "checkpoint_every": 1500, "preview_samples": 100, "threads": 1},
    "model": {"engine": "gan", "arch": "mlp", "latent_dim": 32, "g_hidden": 256, "g_depth": 2,
              "d_hidden": 256, "d_depth": 2, "conditional": True},
    "optim": {"name": "adam", "lr": 0.001, "beta1": 0.5},
}
DEMOS = {"mnist": ("mnist", None), "ring8": ("ring8", None),
         "gan-ring8": ("ring8", "PointCanvasPanel"), "gan-mnist": ("mnist", "ModeCollapsePanel")}
DEMO_CONFIG = {
    "run": {"seed": 0, "steps": 400, "batch_size": 128, "log_every": 20, "sample_every": 100,
            "checkpoint_every": 400, "preview_samples": 64},
    "model": {"engine": "vae", "arch": "mlp", "latent_dim": 8, "decoder": "bernoulli"},
    "optim": {"name": "adam", "lr": 0.002},
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="genstudio", description="Generative Studio window")
    p.add_argument("--screenshot", metavar="OUT.png", help="grab the window offscreen and exit")
    p.add_argument("--demo", nargs="?", const="mnist", choices=tuple(DEMOS),
                   help="with --screenshot: train a small seeded run first (a VAE on MNIST or "
                        "ring8, a GAN on ring8 with the 2D canvas, a conditional GAN on MNIST "
                        "with the mode-collapse view)")
    p.add_argument("--panels", action="store_true", help="with --screenshot: also OUT-<panel>.png per panel")
    p.add_argument("--theme", choices=("system", "light", "dark"))
    args = p.parse_args([a for a in (argv or []) if a != "gui"])

    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    problem = xcb_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .theme import apply_theme
    from .window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Generative Studio")
    app.setOrganizationName("GenerativeStudio")
    if args.screenshot:
        tmp = Path(tempfile.mkdtemp(prefix="genstudio-shot-"))
        settings = QSettings(str(tmp / "settings.ini"), QSettings.IniFormat)
        settings.setValue("welcome_shown", "1")    # a picture of the window, not of the welcome
        apply_theme(app, args.theme or "light")
        window = MainWindow(settings=settings, runs_dir=tmp / "runs")
        window.resize(1480, 900)
        window.show()
        return screenshot(app, window, Path(args.screenshot), demo=args.demo, panels=args.panels)

    settings = QSettings()
    apply_theme(app, args.theme or str(settings.value("theme", "system")))
    window = MainWindow(settings=settings)
    window.show()
    return app.exec()


# Shared libraries of Qt's xcb platform plugin (PySide6 6.5+, with what they pull in) and
# the package that provides each: Debian/Ubuntu (checked with dpkg on Debian 12), Fedora.
XCB_PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libz.so.1": ("zlib1g", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd"),
}


def will_use_xcb(env: Optional[dict] = None, platform: str = sys.platform) -> bool:
    """Qt will load its xcb plugin: Linux under X11, unless QT_QPA_PLATFORM names another
    platform. In a Wayland session Qt tries Wayland first and xcb only as a fallback."""
    env = os.environ if env is None else env
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    wayland = env.get("XDG_SESSION_TYPE") == "wayland" and bool(env.get("WAYLAND_DISPLAY"))
    return bool(env.get("DISPLAY")) and not wayland


def xcb_plugin() -> Optional[Path]:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_libraries(plugin: Path) -> list[str]:
    """Sonames the plugin (with everything it loads) cannot find, by ldd; without ldd, the
    known ones that cannot be opened."""
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        import ctypes
        missing = []
        for soname in XCB_PACKAGES:
            try:
                ctypes.CDLL(soname)
            except OSError:
                missing.append(soname)
        return missing
    found = [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]
    return list(dict.fromkeys(found))


def distro_family(os_release: str = "/etc/os-release") -> str:
    """"debian", "fedora" or "" (unknown), from ID and ID_LIKE."""
    try:
        text = Path(os_release).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    ids = " ".join(line.split("=", 1)[1].strip().strip('"') for line in text.splitlines()
                   if line.startswith(("ID=", "ID_LIKE="))).split()
    if any(i in ("debian", "ubuntu") for i in ids):
        return "debian"
    if any(i in ("fedora", "rhel", "centos") for i in ids):
        return "fedora"
    return ""


def install_commands(missing: Sequence[str], family: str = "") -> list[str]:
    """The commands that install the missing libraries (both families when unknown)."""
    apt = list(dict.fromkeys(XCB_PACKAGES[s][0] for s in missing if s in XCB_PACKAGES))
    dnf = list(dict.fromkeys(XCB_PACKAGES[s][1] for s in missing if s in XCB_PACKAGES))
    out = []
    if apt and family in ("debian", ""):
        out.append("sudo apt-get install " + " ".join(apt) + ("" if family else "   (Debian, Ubuntu)"))
    if dnf and family in ("fedora", ""):
        out.append("sudo dnf install " + " ".join(dnf) + ("" if family else "   (Fedora)"))
    unknown = [s for s in missing if s not in XCB_PACKAGES]
    if unknown:
        out.append("and the package that provides " + ", ".join(unknown)
                   + " (apt-file search NAME, or dnf provides '*/NAME')")
    return out


def xcb_problem(env: Optional[dict] = None,
                probe: Callable[[Path], list[str]] = missing_libraries) -> str:
    """Why Qt's xcb plugin would fail to load, with the command that fixes it; "" when it
    will load or is not needed. Qt's own message blames another library (libxcb-cursor0)
    whichever one is missing, then aborts."""
    if not will_use_xcb(env):
        return ""
    plugin = xcb_plugin()
    if plugin is None:
        return ""
    missing = probe(plugin)
    if not missing:
        return ""
    lines = [f"genstudio: the window cannot open: Qt's X11 (xcb) platform plugin needs "
             f"{', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed.",
             "Install with:"]
    lines += [f"  {c}" for c in install_commands(missing, distro_family())]
    lines.append("(The README lists every system package the window needs. Headless commands "
                 "such as `genstudio train` work without them.)")
    return "\n".join(lines)


def wait_until(app, predicate, timeout_s: float = 120.0, poll_ms: int = 20) -> bool:
    """Run the event loop until predicate() holds. The loop sleeps between events, as
    app.exec() does: a processEvents() spin would hold the GIL and starve the training
    thread (measured: 4x slower training)."""
    from PySide6.QtCore import QDeadlineTimer, QEventLoop, QTimer
    if predicate():
        return True
    deadline = QDeadlineTimer(int(timeout_s * 1000))
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(poll_ms)
    timer.timeout.connect(lambda: (predicate() or deadline.hasExpired()) and loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    return bool(predicate())


def screenshot(app, window, out: Path, demo: Optional[str] = None, panels: bool = False) -> int:
    wait_until(app, lambda: window.browser_dataset is not None, 60)
    data, dock = DEMOS.get(demo or "", (None, None))
    if data == "ring8":
        window.data.dataset = None
        window.load_data("ring8", {})
        wait_until(app, lambda: window.browser_dataset is not None, 60)
    if demo:
        window.controls_panel.set_config({"mnist": DEMO_CONFIG, "ring8": DEMO_POINTS_CONFIG,
                                          "gan-ring8": DEMO_GAN_POINTS_CONFIG,
                                          "gan-mnist": DEMO_GAN_IMAGES_CONFIG}[demo])
        window.on_train()
        if not wait_until(app, lambda: window.state == "finished", 300):
            print(f"genstudio: demo run did not finish (state {window.state})", file=sys.stderr)
        window.bus.flush()
        # show the latent explorer with an interpolation too
        if window.snapshot is not None:
            window.latent_panel.set_base(window.snapshot.eval_z[0])
            window.host.request_render("decode", z=window.snapshot.eval_z[0])
            window.host.request_render("interpolate", za=window.snapshot.eval_z[0],
                                       zb=window.snapshot.eval_z[5],
                                       steps=8, mode="spherical",
                                       label=window.latent_panel.current_label())
            wait_until(app, lambda: window.latent.last_interpolation is not None, 30)
        if dock is not None:
            window.docks[dock].raise_()
            if dock == "PointCanvasPanel":
                shown = window.canvas.frames_shown
                window.canvas.dirty = True
                wait_until(app, lambda: window.canvas.frames_shown > shown, 60)
    for _ in range(5):
        app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    if panels:
        for name, dock in window.docks.items():
            dock.raise_()
            app.processEvents()
            dock.widget().grab().save(str(out.with_name(f"{out.stem}-{name}.png")))
    print(f"genstudio: wrote {out}", file=sys.stderr)
    window.close()
    return 0
