"""Translation quality per CPU-minute (issue 17, must-show): each translation preset trained
for a wall-clock budget on this machine, scored at 2, 5 and 10 minutes of training with the
metrics of `genstudio eval` (studio/core/evaluation.py -> studio/core/translation_metrics.py),
beside the baseline and the real-data reference.

- pix2pix-edges, srgan-mnist (paired): L1, PSNR, SSIM of the translations of n test sources
  against their targets, the evaluator's class preservation and the Frechet distance to the
  target side; SRGAN also its SRResNet stage; the baseline row is bicubic upsampling of the
  source (SRGAN) or the source itself (pix2pix: the edge map).
- cyclegan-thin-thick (unpaired): class preservation both ways (G: thin -> thick, F: thick ->
  thin), the Frechet distance of G(test X) to the test Y images and of F(test Y) to the test
  X images, and the cycle L1 both ways; the baseline row is the untranslated source.
- real data: the evaluator's accuracy on real images of the side (a perfect translator's
  class preservation) and the FD of real training images against the same test images.

The clock is the trainer's own training time (studio.core.training.Trainer.training_time:
the train() calls, with their logging, snapshots and checkpoints); training stops at each
mark, is scored, and goes on; scoring time is not training time. A preset whose run.steps
are reached before a mark stops there (its later rows say so; --past-steps trains on). Threads are the preset's
run.threads (0 = the machine's cores). Each preset runs alone, one after the other.

Run: python bench/translation_quality.py [--presets pix2pix-edges,cyclegan-thin-thick,srgan-mnist]
     [--budgets 2,5,10] [--n 2000] [--seed 0] [--runs DIR] [--pictures DIR] [--past-steps]
A preset is NAME (examples/NAME.toml) or a path to a .toml. --runs DIR keeps each run folder
(DIR/NAME, checkpointed at every mark) for `genstudio eval` / `translate` / the studio;
--pictures DIR saves the gallery (translations of the first test sources) at every mark.
About 2 x (the largest budget) + scoring per preset: ~35 minutes for the default three.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PRESETS = "pix2pix-edges,cyclegan-thin-thick,srgan-mnist"
PAIRED = [("L1 \u2193", "l1"), ("PSNR dB \u2191", "psnr"), ("SSIM \u2191", "ssim"),
          ("class kept \u2191", "class_preserved"), ("FD to target \u2193", "fd_to_target")]
UNPAIRED = ["class kept X\u2192Y \u2191", "class kept Y\u2192X \u2191", "FD to Y \u2193",
            "FD to X \u2193", "cycle L1 X \u2193", "cycle L1 Y \u2193"]


def config_of(preset: str):
    from studio.core.config import load_config
    path = Path(preset) if preset.endswith(".toml") else ROOT / "examples" / f"{preset}.toml"
    if not path.is_file():
        raise SystemExit(f"translation_quality: no config {path} (give NAME of examples/NAME.toml "
                         f"or a path to a .toml)")
    return path, load_config(path)


def fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v != v:
        return "n/a"
    return f"{v:.{digits}g}"


def paired_rows(rec: dict, label: str, minutes: str, steps: str) -> list[list[str]]:
    rows = [[minutes, steps, label] + [fmt(rec.get(f"translation/{k}")) for _, k in PAIRED]]
    if "srresnet/l1" in rec:
        rows.append([minutes, steps, "SRResNet stage"]
                    + [fmt(rec.get(f"srresnet/{k}")) for _, k in PAIRED])
    return rows


def unpaired_row(rec: dict, label: str, minutes: str, steps: str) -> list[str]:
    keys = ("translation/class_preserved", "back/class_preserved", "translation/fd_to_target",
            "back/fd_to_source", "cycle/l1_source", "cycle/l1_target")
    return [minutes, steps, label] + [fmt(rec.get(k)) for k in keys]


def reference_rows(rec: dict, paired: bool, baseline: str) -> list[list[str]]:
    if paired:
        base = ["-", "-", f"baseline: {baseline}"] + [fmt(rec.get(f"baseline/{k}")) for _, k in PAIRED]
        real = ["-", "-", "real data (targets; train vs test FD)", "0", "\u221e", "1",
                fmt(rec.get("translation/class_preserved_real")),
                fmt(rec.get("translation/fd_to_target_floor"))]
        return [base, real]
    base = ["-", "-", f"baseline: {baseline}", fmt(rec.get("baseline/class_preserved")), "-",
            fmt(rec.get("baseline/fd_to_target")), "-", "-", "-"]
    real = ["-", "-", "real data (evaluator accuracy; train vs test FD)",
            fmt(rec.get("translation/class_preserved_real")),
            fmt(rec.get("back/class_preserved_real")),
            fmt(rec.get("translation/fd_to_target_floor")),
            fmt(rec.get("back/fd_to_source_floor")), "0", "0"]
    return [base, real]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def bench_preset(preset: str, budgets: list[float], n: int, seed: int,
                 runs: Optional[Path], pictures: Optional[Path], past_steps: bool = False) -> None:
    from studio.core.evaluation import evaluate
    from studio.core.images import samples_picture, save_png
    from studio.core.training import Trainer
    from studio.core.translation_metrics import baseline_name

    path, config = config_of(preset)
    if past_steps:
        config = config.replace(run={"steps": 10 ** 9})
    name = path.stem
    t0 = time.perf_counter()
    trainer = (Trainer.create(config, runs / name) if runs is not None else Trainer(config))
    setup_s = time.perf_counter() - t0
    engine, ds = trainer.engine, trainer.dataset
    if "translate" not in engine.capabilities:
        raise SystemExit(f"translation_quality: {name} is a {engine.name} config, not a translator")
    paired = ds.pairing == "paired"
    src, tgt = tuple(ds.spec.source_shape), tuple(ds.spec.sample_shape)
    steps_cap = config.run.steps
    print(f"### {name} (`{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}`)\n")
    print(f"{engine.name} on {ds.name} ({ds.pairing}, {' -> '.join(ds.sides)}: "
          f"{'x'.join(map(str, src))} -> {'x'.join(map(str, tgt))}), "
          f"{engine.num_parameters():,} parameters, batch {config.run.batch_size}, "
          f"{trainer.threads} threads, run.steps {steps_cap:,}; set-up {setup_s:.1f} s "
          f"(not counted).\n", flush=True)
    rows: list[list[str]] = []
    rec: dict = {}
    eval_s = []
    scored_at = None
    for minutes in budgets:
        limit = minutes * 60.0
        if trainer.step < steps_cap and trainer.training_time() < limit:
            trainer.train(should_abort=lambda: trainer.training_time() >= limit)
        done = "" if trainer.step < steps_cap else " (run.steps reached)"
        if trainer.step != scored_at:        # a finished run is not scored again
            t1 = time.perf_counter()
            rec = evaluate(trainer, n=n, seed=seed, iwae_k=0)
            eval_s.append(time.perf_counter() - t1)
            scored_at = trainer.step
        label = engine.name + done
        if "sr_stages" in engine.capabilities:
            label += f" (stage {engine.stage_now()})"
        mins = f"{minutes:g} ({trainer.training_time() / 60:.2f})"
        if paired:
            rows += paired_rows(rec, label, mins, f"{trainer.step:,}")
        else:
            rows.append(unpaired_row(rec, label, mins, f"{trainer.step:,}"))
        if pictures is not None:
            pictures.mkdir(parents=True, exist_ok=True)
            save_png(pictures / f"{name}-{minutes:g}min.png", samples_picture(trainer.preview()))
    rows += reference_rows(rec, paired, baseline_name(src, tgt))
    header = ["CPU-min (measured)", "steps", "outputs"] + (
        [h for h, _ in PAIRED] if paired else UNPAIRED)
    print(table(header, rows))
    examples = int(rec.get("translation/examples", 0))
    print(f"\nScored on {examples:,} test images per side (seed {seed}); scoring took "
          f"{', '.join(f'{s:.0f}' for s in eval_s)} s at the marks (not counted as training).\n",
          flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    import torch
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default=DEFAULT_PRESETS)
    ap.add_argument("--budgets", default="2,5,10", help="minutes of training, ascending")
    ap.add_argument("--n", type=int, default=2000, help="test images scored per side")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=Path, help="keep the run folders here (DIR/NAME)")
    ap.add_argument("--pictures", type=Path, help="save the gallery at every mark here")
    ap.add_argument("--past-steps", action="store_true",
                    help="train past the preset's run.steps until the last budget (its lr "
                         "schedule and phases are laid out for run.steps)")
    args = ap.parse_args(argv)
    budgets = [float(b) for b in args.budgets.split(",")]
    if budgets != sorted(budgets) or min(budgets) <= 0:
        raise SystemExit("translation_quality: --budgets are positive minutes in ascending order")
    print("## Translation quality per CPU-minute\n")
    print(f"Command: `python bench/translation_quality.py --presets {args.presets} --budgets "
          f"{args.budgets} --n {args.n} --seed {args.seed}`; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}. Each row: the preset trained for "
          f"that many minutes of training time (measured in brackets), scored by "
          f"`studio.core.evaluation.evaluate` (what `genstudio eval --n {args.n}` prints). "
          f"class kept: the MNIST evaluator's class of the output equals the input's label; "
          f"FD: Frechet distance of evaluator features to the test images of the side "
          f"(paired: the very targets, so a perfect translator scores 0 there).\n", flush=True)
    for preset in args.presets.split(","):
        bench_preset(preset.strip(), budgets, args.n, args.seed, args.runs, args.pictures,
                     args.past_steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
