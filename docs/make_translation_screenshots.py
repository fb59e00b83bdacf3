"""Screenshots of the Translation panel (widgets/translation_view), run from the repository
root:

    QT_QPA_PLATFORM=offscreen python docs/make_translation_screenshots.py [--runs DIR] [--steps N] [--only NAME]

With --runs DIR, the presets' trained runs DIR/pix2pix-edges, DIR/cyclegan-thin-thick and
DIR/srgan-mnist are used where they exist. Otherwise each engine is trained headless for N
steps (examples/<run>.toml when it exists, else the small config below; --steps overrides
the config's [run] steps). The panel's renders (studio.core.translation_renders) are
computed on the trained model and the panel is grabbed 680 pixels wide:

    docs/screenshots/translation-pix2pix.png         edge maps -> digits, with L1/PSNR per image
    docs/screenshots/translation-pix2pix-draw.png    an edge map drawn with strokes, filled in
    docs/screenshots/translation-cyclegan.png        thin -> thick and back, F(G(x))
    docs/screenshots/translation-cyclegan-probe.png  the steganography probe (a = 0.05, x20)
    docs/screenshots/translation-cyclegan-lowres-probe.png  the probe where F hides detail (28 -> 7 -> 28)
    docs/screenshots/translation-srgan.png           low-res / bicubic / SRResNet / SRGAN / truth

The probe's curve (mean |F(G(x) + a n) - x| against a) is printed as well.
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

RUN = {"seed": 0, "batch_size": 32, "log_every": 50, "sample_every": 100_000,
       "checkpoint_every": 100_000, "preview_samples": 16, "device": "cpu", "threads": 2}
CONFIGS = {
    "pix2pix-edges": {"run": {**RUN, "steps": 400},
                      "data": {"name": "mnist-edges", "limit": 8192},
                      "model": {"engine": "pix2pix", "channels": 32, "d_channels": 32},
                      "optim": {"lr": 2e-4, "beta1": 0.5}},
    "cyclegan-thin-thick": {"run": {**RUN, "steps": 400},
                            "data": {"name": "mnist-thin-thick", "limit": 8192},
                            "model": {"engine": "cyclegan", "g_channels": 16, "g_blocks": 3,
                                      "d_channels": 16},
                            "optim": {"lr": 2e-4, "beta1": 0.5}},
    "cyclegan-lowres": {"run": {**RUN, "steps": 400},
                        "data": {"name": "mnist-lowres", "limit": 8192, "factor": 4},
                        "model": {"engine": "cyclegan", "g_channels": 16, "g_blocks": 3,
                                  "d_channels": 16, "identity": 0.0},
                        "optim": {"lr": 2e-4, "beta1": 0.5}},
    "srgan-mnist": {"run": {**RUN, "steps": 400},
                    "data": {"name": "mnist-lowres", "limit": 8192, "factor": 4},
                    "model": {"engine": "srgan", "channels": 32, "blocks": 4,
                              "pretrain_steps": 250},
                    "optim": {"lr": 1e-3}},
}
SIZE = "680x760"
# (run, tab, output file, height at --size's width, direction)
SHOTS = [("pix2pix-edges", "strip", "translation-pix2pix", 530, "ab"),
         ("pix2pix-edges", "draw", "translation-pix2pix-draw", 500, "ab"),
         ("cyclegan-thin-thick", "strip", "translation-cyclegan", 520, "ab"),
         ("cyclegan-thin-thick", "probe", "translation-cyclegan-probe", 760, "ab"),
         # F: 28x28 -> 7x7 hides the detail G needs: the probe on the way back
         ("cyclegan-lowres", "probe", "translation-cyclegan-lowres-probe", 760, "ba"),
         ("srgan-mnist", "strip", "translation-srgan", 790, "ab")]
# an edge map drawn with one stroke (image pixels, x then y): the outline of a thick "7"
DRAWING = [[(7.5, 6.5), (21.5, 6.5), (21.5, 9.5), (14.5, 23.5), (11.5, 23.5), (18.0, 9.5),
            (7.5, 9.5), (7.5, 6.5)]]


def config_for(name: str, steps: int | None):
    from studio.core.config import config_from_dict, load_config
    preset = ROOT / "examples" / f"{name}.toml"
    cfg = load_config(preset) if preset.exists() else config_from_dict(copy.deepcopy(CONFIGS[name]))
    if steps is not None:
        cfg = cfg.replace(run={"steps": int(steps)})
    return cfg


def train(name: str, steps: int | None, runs: Path | None = None):
    from studio.core.training import Trainer
    if runs is not None and (runs / name).is_dir():              # a preset's trained run
        trainer = Trainer.load(runs / name)
        print(f"{name}: {runs / name} at step {trainer.step}")
        return trainer
    cfg = config_for(name, steps)
    t0 = time.monotonic()
    trainer = Trainer(cfg)
    trainer.train()
    print(f"{name}: trained {trainer.step} steps in {time.monotonic() - t0:.0f} s")
    return trainer


def configure(panel, trainer) -> None:
    """What TranslationController.on_run_opened tells the panel, from a trainer."""
    ds, caps = trainer.dataset, trainer.engine.capabilities
    panel.configure(ds.spec.source_shape, ds.spec.sample_shape, tuple(ds.sides),
                    has_back="translate_back" in caps, sr="sr_stages" in caps,
                    test_counts=(len(ds.test_x2), len(ds.test_x)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    ap.add_argument("--only", choices=sorted(CONFIGS), help="one run only")
    ap.add_argument("--runs", type=Path, help="use RUNS/<run> (trained with `genstudio train "
                    "examples/<run>.toml --out RUNS/<run>`) where it exists instead of training")
    ap.add_argument("--size", default=SIZE, help="WxH (default: 680 wide, each shot's height)")
    ap.add_argument("--dark", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from types import SimpleNamespace

    import numpy as np
    import torch

    from studio.core import renders
    from widgets.preview import preview_app
    from widgets.translation_view import TranslationViewPanel, stroke

    torch.set_num_threads(2)
    app = preview_app(args.dark)
    w, h = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    trainers = {}

    for run, tab, name, height, direction in SHOTS:
        def render(t, kind, **payload):
            payload = {"direction": direction, **payload}
            return renders.render(t, SimpleNamespace(kind=kind, payload=payload))

        if args.only and run != args.only:
            continue
        if run not in trainers:
            trainers[run] = train(run, args.steps, args.runs)
        t = trainers[run]
        panel = TranslationViewPanel()
        panel.resize(w, height if args.size == SIZE else h)
        panel.show()
        configure(panel, t)
        panel.set_direction(direction)
        panel.set_strip(render(t, "translation_strip", **panel.strip.settings()))
        if tab == "draw":
            src = t.dataset.spec.source_shape
            img = np.zeros(src[1:], np.float32)
            s = src[1] / 28.0
            for line in DRAWING:
                for a, b in zip(line[:-1], line[1:]):
                    stroke(img, (a[0] * s, a[1] * s), (b[0] * s, b[1] * s), 1.0, 1.0)
            panel.draw.canvas.set_image(img, emit=False)
            panel.set_drawn(render(t, "translation_drawn", image=img))
        elif tab == "probe":
            panel.set_probe(render(t, "translation_probe", **panel.probe.settings()))
            curve = render(t, "translation_probe_curve", **panel.probe.curve_settings())
            panel.set_curve(curve)
            print(f"{run} probe: mean |F(G(x) + a n) - x| over the first {curve['n']} test "
                  "images (and the way Y -> X -> Y):")
            back = render(t, "translation_probe_curve", **{**panel.probe.curve_settings(),
                                                           "direction": "ab" if direction == "ba"
                                                           else "ba"})
            ways = ("X->Y->X", "Y->X->Y") if direction == "ab" else ("Y->X->Y", "X->Y->X")
            print(f"   a     {ways[0]} error   {ways[1]} error   noise mean |a n|")
            for a, e, b, r in zip(curve["amplitudes"], curve["error"], back["error"],
                                  curve["noise_l1"]):
                print(f"   {a:.2f}  {e:.4f}          {b:.4f}          {r:.4f}")
        panel.set_view(tab)
        for _ in range(5):
            app.processEvents()
        path = args.out / f"{name}.png"
        panel.grab().save(str(path))
        print(f"saved {path}")
        panel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
