"""Regenerate docs/screenshots/ from the ready-trained example runs (run from the repository
root, after `python -m studio.core.example_runs build` if assets/runs/ is missing):

    QT_QPA_PLATFORM=offscreen python docs/make_screenshots.py

Each shot opens a copy of an example run in the real window at 1280x720 (or a larger size
for the full-window pictures), brings one panel to the front and grabs the window and that
panel. Nothing here trains: what you see is what a user sees right after File > Open example
run.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"

# (example run, dock to raise, output name, also grab the whole window)
SHOTS = [
    ("vae-mnist", "RunControlsPanel", "window", True),
    ("vae-mnist", "LatentExplorerPanel", "window-LatentExplorerPanel", False),
    ("vae-mnist", "CodesViewPanel", "window-CodesViewPanel", False),
    ("vae-mnist", "EvaluationTable", "window-EvaluationTable", False),
    ("ddpm-mnist", "DiffusionScrubberPanel", "diffusion", True),
    ("gan-ring8-vanilla", "PointCanvasPanel", "gan-ring8", True),
    ("gan-ring8-unrolled", "PointCanvasPanel", "gan-ring8-unrolled", True),
    ("gan-mnist-cdcgan", "ModeCollapsePanel", "gan-mnist", True),
    ("ae-mnist", "LatentExplorerPanel", "ae-mnist", True),
]
ALWAYS = ["DataBrowserPanel", "SampleGalleryPanel", "LivePlotsPanel"]


def wait_until(app, cond, seconds: float) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.02)
    return False


def settle(app, seconds: float) -> None:
    wait_until(app, lambda: False, seconds)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.core.example_runs import copy_example_run, list_example_runs
    from studio.shell.theme import apply_theme
    from studio.shell.window import MainWindow

    have = {r.name for r in list_example_runs()}
    missing = sorted({name for name, *_ in SHOTS} - have)
    if missing:
        print(f"missing example runs {missing}: run `python -m studio.core.example_runs build`",
              file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication([])
    apply_theme(app, "light")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, dock, out, whole in SHOTS:
        tmp = Path(tempfile.mkdtemp())
        settings = QSettings(str(tmp / "s.ini"), QSettings.IniFormat)
        settings.setValue("welcome_shown", "1")
        w = MainWindow(settings=settings, runs_dir=tmp / "runs")
        w.resize(1480, 900) if whole else w.resize(1280, 720)
        w.show()
        wait_until(app, lambda: w.browser_dataset is not None, 60)
        w.docks[dock].raise_()
        w.open_run(copy_example_run(name, tmp / "runs"))
        wait_until(app, lambda: w.state in ("finished", "paused", "stopped", "idle")
                   and w.snapshot is not None, 120)
        if dock == "DiffusionScrubberPanel":
            w.scrubber_panel.set_run_settings(sampler="ddim", steps=50, n=16, seed=0)
            w.diffusion.request_trajectory({"mode": "sample", "sampler": "ddim", "steps": 50,
                                       "eta": 0.0, "seed": 0, "n": 16})
            wait_until(app, lambda: w.diffusion.last_trajectory is not None, 120)
            w.scrubber_panel.set_step(30)
        if dock == "EvaluationTable":
            w.eval_samples = 2000
            w.on_evaluate()
            wait_until(app, lambda: len(w.eval_panel.runs()) > 0, 300)
        settle(app, 4.0)
        if whole:
            w.grab().save(str(OUT / f"{out}.png"))
        w.docks[dock].widget().grab().save(str(OUT / f"{out}-{dock}.png" if whole else OUT / f"{out}.png"))
        if out == "window":
            for other in ALWAYS:
                w.docks[other].widget().grab().save(str(OUT / f"window-{other}.png"))
            w.docks["RunControlsPanel"].widget().grab().save(str(OUT / "window-RunControlsPanel.png"))
        w.close()
        print(f"shot {out} ({name}, {dock})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
