"""Regenerate docs/screenshots/ (run from the repository root).

    python docs/make_screenshots.py [--ddpm-run RUN_DIR]

The window and per-panel shots come from `genstudio --screenshot ... --demo --panels` (a
small seeded VAE run on MNIST), the 2D one from `--demo ring8`, the GAN ones (window, 2D
canvas, mode-collapse view) from `--demo gan-ring8` and `--demo gan-mnist`; with --ddpm-run, the
diffusion scrubber is shot on that trained DDPM run (e.g. from examples/ddpm-mnist.toml).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ddpm-run")
    args = ap.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    OUT.mkdir(parents=True, exist_ok=True)
    gs = [sys.executable, "-m", "studio.cli"]
    subprocess.run(gs + ["--screenshot", str(OUT / "window.png"), "--demo", "--panels"], cwd=ROOT, env=env, check=True)
    subprocess.run(gs + ["--screenshot", str(OUT / "ring8.png"), "--demo", "ring8"], cwd=ROOT, env=env, check=True)
    # GANs: the 2D canvas on ring8 and the mode-collapse view on MNIST, window and panel
    for demo, panel in (("gan-ring8", "PointCanvasPanel"), ("gan-mnist", "ModeCollapsePanel")):
        with tempfile.TemporaryDirectory() as tmp:
            shot = Path(tmp) / f"{demo}.png"
            subprocess.run(gs + ["--screenshot", str(shot), "--demo", demo, "--panels"], cwd=ROOT,
                           env=env, check=True)
            shutil.copy(shot, OUT / shot.name)
            shutil.copy(shot.with_name(f"{demo}-{panel}.png"), OUT / f"{demo}-{panel}.png")
    if args.ddpm_run:
        shoot_diffusion(Path(args.ddpm_run))
    return 0


def shoot_diffusion(run_dir: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from studio.app import wait_until
    from studio.theme import apply_theme
    from studio.window import MainWindow

    app = QApplication.instance() or QApplication([])
    apply_theme(app, "light")
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat), runs_dir=tmp)
    w.resize(1480, 900)
    w.show()
    wait_until(app, lambda: w.browser_dataset is not None, 60)
    w.open_run(run_dir)
    wait_until(app, lambda: w.host.trainer is not None and w.run_info.engine == "ddpm", 120)
    w.docks["DiffusionScrubberPanel"].raise_()
    w.scrubber_panel.set_run_settings(sampler="ddim", steps=50, n=16, seed=0)
    w._on_scrubber_trajectory({"mode": "sample", "sampler": "ddim", "steps": 50, "eta": 0.0,
                               "seed": 0, "n": 16})
    wait_until(app, lambda: w.last_trajectory is not None, 120)
    w.scrubber_panel.set_step(30)
    for _ in range(10):
        app.processEvents()
    w.grab().save(str(OUT / "diffusion.png"))
    w.docks["DiffusionScrubberPanel"].widget().grab().save(str(OUT / "window-DiffusionScrubberPanel.png"))
    w.close()


if __name__ == "__main__":
    sys.exit(main())
