"""Screenshots of the Flow panel (widgets/flow_view) on briefly trained flows, run from the
repository root:

    QT_QPA_PLATFORM=offscreen python docs/make_flow_screenshots.py [--steps N] [--only NAME]

With --runs DIR, the presets' trained runs DIR/flow-<data> are used where they exist.
Otherwise each shot trains a flow headless for N steps (examples/flow-<data>.toml when it exists, else
the small config below; --steps overrides the config's [run] steps), computes the panel's
render on the trained model (studio.core.flow_renders) and grabs the panel at 680x720:

    docs/screenshots/flow-layers-moons.png     the layer slider at k = 0 with the density
    docs/screenshots/flow-layers-ring8.png     the same on ring8 (the bridges between modes)
    docs/screenshots/flow-levels-mnist.png     one test digit's codes and keep-top-j decodes
    docs/screenshots/flow-likelihood-mnist.png bits/dim histograms and the extremes

--stage K grabs the layer views at slider position K as well (flow-layers-<data>-kK.png).
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT))

RUN = {"seed": 0, "batch_size": 256, "log_every": 100, "sample_every": 100_000,
       "checkpoint_every": 100_000, "preview_samples": 16, "device": "cpu", "threads": 1}
CONFIGS = {
    "moons": {"run": {**RUN, "steps": 1500},
              "data": {"name": "moons", "n": 20000, "n_test": 2000},
              "model": {"engine": "flow", "steps": 8, "hidden": 64, "warmup": 100},
              "optim": {"lr": 2e-3}},
    "ring8": {"run": {**RUN, "steps": 2000},
              "data": {"name": "ring8", "n": 20000, "n_test": 2000},
              "model": {"engine": "flow", "steps": 8, "hidden": 64, "warmup": 100},
              "optim": {"lr": 2e-3}},
    "mnist": {"run": {**RUN, "steps": 300, "batch_size": 64},
              "data": {"name": "mnist", "limit": 8192},
              "model": {"engine": "flow", "levels": 2, "steps": 4, "hidden": 32, "warmup": 50},
              "optim": {"lr": 1e-3}},
}
# (data, view, output file)
SHOTS = [("moons", "layers", "flow-layers-moons"), ("ring8", "layers", "flow-layers-ring8"),
         ("mnist", "levels", "flow-levels-mnist"), ("mnist", "likelihood", "flow-likelihood-mnist")]


def config_for(data: str, steps: int | None):
    from studio.core.config import config_from_dict, load_config
    preset = ROOT / "examples" / f"flow-{data}.toml"
    cfg = load_config(preset) if preset.exists() else config_from_dict(copy.deepcopy(CONFIGS[data]))
    if steps is not None:
        cfg = cfg.replace(run={"steps": int(steps)})
    return cfg


def train(data: str, steps: int | None, runs: Path | None = None):
    from studio.core.training import Trainer
    if runs is not None and (runs / f"flow-{data}").is_dir():     # a preset's trained run
        trainer = Trainer.load(runs / f"flow-{data}")
        print(f"{data}: {runs / f'flow-{data}'} at step {trainer.step}")
        return trainer
    cfg = config_for(data, steps)
    t0 = time.monotonic()
    trainer = Trainer(cfg)
    trainer.train()
    print(f"{data}: trained {trainer.step} steps in {time.monotonic() - t0:.0f} s")
    return trainer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    ap.add_argument("--only", choices=sorted(CONFIGS), help="one data set only")
    ap.add_argument("--stage", type=int, action="append", default=[],
                    help="also grab the layer views at this slider position")
    ap.add_argument("--runs", type=Path, help="use RUNS/flow-<data> (trained with "
                    "`genstudio train examples/flow-<data>.toml --out RUNS/flow-<data>`) "
                    "where it exists instead of training")
    ap.add_argument("--size", default="680x720")
    ap.add_argument("--dark", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch
    from types import SimpleNamespace
    from studio.core import renders
    from widgets.flow_view import FlowViewPanel
    from widgets.preview import preview_app

    torch.set_num_threads(1)
    app = preview_app(args.dark)
    w, h = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    trainers = {}
    for data, view, name in SHOTS:
        if args.only and data != args.only:
            continue
        if data not in trainers:
            trainers[data] = train(data, args.steps, args.runs)
        t = trainers[data]
        panel = FlowViewPanel()
        panel.resize(w, h)
        panel.show()
        kind = {"layers": "flow_layers", "levels": "flow_levels", "likelihood": "flow_likelihood"}[view]
        payload = {"layers": {}, "levels": {**panel.levels.settings(), "index": None},
                   "likelihood": panel.likelihood.settings()}[view]
        payload.pop("source", None)
        result = renders.render(t, SimpleNamespace(kind=kind, payload=payload))
        if view == "layers":
            panel.show_points()
            panel.set_layers(result)
            panel.layers.set_heatmap("density")
        else:
            panel.show_images()
            panel.set_view(view)
            (panel.set_levels if view == "levels" else panel.set_likelihood)(result)
        for _ in range(5):
            app.processEvents()
        path = args.out / f"{name}.png"
        panel.grab().save(str(path))
        print(f"saved {path}")
        if view == "layers":
            for k in args.stage:
                panel.layers.set_stage(k)
                for _ in range(3):
                    app.processEvents()
                path = args.out / f"{name}-k{k}.png"
                panel.grab().save(str(path))
                print(f"saved {path}")
        panel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
