"""The studio as an application: `genstudio` (or `python main.py`) opens the window;
`genstudio --screenshot OUT.png [--demo] [--panels]` grabs it offscreen and exits."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

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
        window.browser_dataset = None
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
        if window.eval_z is not None:
            window.latent_panel.set_base(window.eval_z[0])
            window.host.request_render("decode", z=window.eval_z[0])
            window.host.request_render("interpolate", za=window.eval_z[0], zb=window.eval_z[5],
                                       steps=8, mode="spherical",
                                       label=window.latent_panel.current_label())
            wait_until(app, lambda: window.last_interpolation is not None, 30)
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
