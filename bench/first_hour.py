"""A teacher's first hour: seconds to the first sample snapshot and to a recognisable result,
for every engine's default config (MNIST and ring8) and for the presets.

Each case runs in a process of its own, as a user's first Train would: the clock starts
before the Trainer is built (data set load, model build, the step-0 checkpoint of
`Trainer.create` into a temporary run folder) and runs while it trains with its config as
given. At fixed marks of that clock (5, 10, 15, 20, 30, 45, 60, 75, 90, 105, 120 s) the
samples are scored between two steps, with the clock stopped (evaluation draws from its own
generator, so the run itself is unchanged; a budget above 120 s adds marks of 150, 180,
240, 300, 360, 420, 480 and 600 s):

- MNIST-shaped images: n samples (default 1,000) through the bundled evaluator.
  Recognisable = classifier score >= 5 (real data: 9.8) and at least 8 classes holding
  >= 1% of the samples each (a GAN preset must reach all 10).
- ring8 / grid25: the PacGAN protocol on 2,500 samples. Recognisable = separate blobs on
  every mode: every mode captured, reverse KL <= 0.1 (roughly even) and at least half the
  samples within 3 sigma of a mode (high quality >= 50%).
- Other 2D points (moons, spiral: no modes to count): improved precision and recall
  (Kynkaanniemi et al. 2019, k = 3; studio.core.metrics.precision_recall) of 2,500 samples against
  2,500 held-out points. Recognisable = precision >= 0.8 (samples lie on the data, not in the
  gap between the moons) and recall >= 0.8 (every part of the data is reached). Calibration
  on moons (noise 0.05): a second draw of the data 0.98 / 0.97; the data with noise 0.1
  (twice its own) 0.84 / 0.99, 0.15: 0.68 / 0.97; one moon only 0.98 / 0.49; a Gaussian
  blob over both moons 0.31 / 0.99.
The time to recognisable is the first mark that passes (so it is rounded up to a mark).

Run: python bench/first_hour.py [--cases ae:mnist,...,preset:vae-mnist-quick] [--budget 120]
     [--n 1000] [--full] [--pictures DIR]
A case is ENGINE:DATA (studio.core.config.default_config), preset:NAME (examples/NAME.toml) or
file:PATH.toml.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MARKS = (5, 10, 15, 20, 30, 45, 60, 75, 90, 105, 120, 150, 180, 240, 300, 360, 420, 480, 600)
MIN_SCORE, MIN_CLASSES, MIN_SHARE = 5.0, 8, 0.01
MAX_REVERSE_KL, MIN_HIGH_QUALITY = 0.1, 0.5
MIN_PRECISION, MIN_RECALL, POINTS = 0.8, 0.8, 2500
ENGINE_CASES = "ae:mnist,vae:mnist,ddpm:mnist,gan:mnist,ae:ring8,vae:ring8,ddpm:ring8,gan:ring8"


def case_config(case: str):
    from studio.core.config import default_config, load_config
    from studio.core.presets import load_preset
    kind, _, name = case.partition(":")
    if kind == "preset":
        return load_preset(name)
    if kind == "file":
        return load_config(name)
    return default_config(kind, name)


def score(trainer, n: int, gan: bool, picture: Optional[Path] = None) -> dict:
    import numpy as np
    from studio.core import metrics
    from studio.core.evaluation import draw_samples, evaluator_applies, features_and_probs, mode_quality
    from studio.core.images import samples_picture, save_png
    ds = trainer.dataset
    if evaluator_applies(ds):
        x = draw_samples(trainer.engine, n, seed=0)
        if picture is not None:
            save_png(picture, samples_picture(x[:64]))
        _, probs = features_and_probs(x)
        cs = metrics.classifier_score(probs)[0]
        cov = metrics.class_coverage(probs.argmax(1), 10, min_count=max(1, int(MIN_SHARE * n)))
        need = 10 if gan else MIN_CLASSES
        return {"score": round(cs, 2), "classes": cov["covered"],
                "ok": cs >= MIN_SCORE and cov["covered"] >= need}
    if getattr(ds, "modes", None) is not None:
        x = draw_samples(trainer.engine, 2500, seed=0)
        if picture is not None:
            save_png(picture, samples_picture(x, reference=ds.test_x[:2500]))
        m = mode_quality(x, ds)
        ok = (m["modes/captured"] == m["modes/total"] and m["modes/reverse_kl"] <= MAX_REVERSE_KL
              and m["modes/high_quality"] >= MIN_HIGH_QUALITY)
        return {"modes": int(m["modes/captured"]), "of": int(m["modes/total"]),
                "hq": round(m["modes/high_quality"], 3),
                "rkl": round(m["modes/reverse_kl"], 3), "ok": bool(ok)}
    if ds.spec.kind == "points" and len(ds.test_x) > 3:
        x = draw_samples(trainer.engine, POINTS, seed=0)
        ref = ds.test_x[:POINTS]
        if picture is not None:
            save_png(picture, samples_picture(x, reference=ref))
        p, r = metrics.precision_recall(ref.astype(np.float32), x.astype(np.float32), k=3)
        return {"precision": round(p, 3), "recall": round(r, 3),
                "ok": p >= MIN_PRECISION and r >= MIN_RECALL}
    return {"ok": False}


def run_one(case: str, budget: float, n: int, full: bool, pictures: Optional[Path] = None) -> dict:
    from studio.core.training import Callbacks, Trainer
    config = case_config(case)
    gan = config.engine == "gan"
    paused = 0.0
    out: dict = {"case": case, "first_snapshot_s": None, "recognisable_s": None, "evals": []}
    marks = [m for m in MARKS if m <= budget] or [budget]
    with tempfile.TemporaryDirectory(prefix="first-hour-") as tmp:
        t0 = time.perf_counter()
        trainer = Trainer.create(config, Path(tmp) / "run")
        out["build_s"] = round(time.perf_counter() - t0, 2)
        out["threads"] = trainer.threads

        def clock() -> float:
            return time.perf_counter() - t0 - paused

        def on_samples(step, _x):
            if out["first_snapshot_s"] is None:
                out["first_snapshot_s"] = round(clock(), 2)
                out["first_snapshot_step"] = step

        def should_abort() -> bool:
            nonlocal paused
            now = clock()
            if not marks or now < marks[0]:
                return False
            mark = marks.pop(0)
            t = time.perf_counter()
            s = score(trainer, n, gan, _picture(pictures, case, mark))
            paused += time.perf_counter() - t
            out["evals"].append({"t": mark, "step": trainer.step, **s})
            if s["ok"] and out["recognisable_s"] is None:
                out["recognisable_s"], out["recognisable_step"] = mark, trainer.step
            return (s["ok"] and not full) or not marks

        trainer.train(callbacks=Callbacks(samples=on_samples, should_abort=should_abort))
        out["steps"] = trainer.step
        out["it_per_s"] = round(trainer.step / max(clock() - out["build_s"], 1e-9), 1)
        if not out["evals"] or out["evals"][-1]["step"] != trainer.step:
            s = score(trainer, n, gan, _picture(pictures, case, "end"))
            out["evals"].append({"t": round(clock(), 1), "step": trainer.step, **s})
            if s["ok"] and out["recognisable_s"] is None:
                out["recognisable_s"], out["recognisable_step"] = round(clock(), 1), trainer.step
    return out


def _picture(folder: Optional[Path], case: str, mark) -> Optional[Path]:
    if folder is None:
        return None
    return folder / f"{Path(case.replace(':', '-')).stem}-{mark}s.png".replace("-ends", "-end")


def describe(case: str) -> str:
    c = case_config(case)
    m, r = c.model, c.run
    arch = getattr(m, "arch", "")
    return (f"{c.engine} {c.data_name} {arch} steps={r.steps} batch={r.batch_size} "
            f"lr={c.optim.lr:g}").replace("  ", " ")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", help="default: every engine's defaults on MNIST and ring8, then "
                                    "every preset")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds of training per case")
    ap.add_argument("--n", type=int, default=1000, help="MNIST samples per evaluation")
    ap.add_argument("--full", action="store_true", help="train to the budget even once recognisable")
    ap.add_argument("--pictures", type=Path, help="save 64 samples of every evaluation here")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.budget, args.n, args.full, args.pictures)))
        return 0

    import torch
    la = os.getloadavg()
    print(f"command:  python bench/first_hour.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"date:     {time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
    print(f"machine:  {platform.platform()}, os.cpu_count()={os.cpu_count()}, "
          f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    print(f"software: Python {platform.python_version()}, torch {torch.__version__}")
    print(f"recognisable: MNIST classifier score >= {MIN_SCORE} and >= {MIN_CLASSES} classes "
          f"(GANs: 10) with >= {MIN_SHARE:.0%} of {args.n} samples each; ring8: every mode "
          f"captured, reverse KL <= {MAX_REVERSE_KL}, high quality >= {MIN_HIGH_QUALITY:.0%} (2,500 samples); "
          f"other points: precision >= {MIN_PRECISION} and recall >= {MIN_RECALL} (k=3, {POINTS:,} "
          f"samples against as many held-out points)")
    if not args.cases:
        from studio.core.presets import list_presets
        args.cases = ",".join([ENGINE_CASES] + [f"preset:{p.name}" for p in list_presets()])
    rows = []
    for case in args.cases.split(","):
        cmd = [sys.executable, __file__, "--one", case, "--budget", str(args.budget),
               "--n", str(args.n)] + (["--full"] if args.full else []) + (
            ["--pictures", str(args.pictures)] if args.pictures else [])
        la = os.getloadavg()[0]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{case}: FAILED\n{p.stderr[-2000:]}")
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        r["load"] = round((la + os.getloadavg()[0]) / 2, 2)
        rows.append(r)
        trail = " ".join(
            f"{e['t']}s/{e['step']}:" + (f"cs{e['score']},{e['classes']}cl" if "score" in e
                                         else f"p{e['precision']},r{e['recall']}"
                                         if "precision" in e
                                         else f"{e.get('modes', '-')}m,hq{e.get('hq', '-')},"
                                              f"rkl{e.get('rkl', '-')}")
            for e in r["evals"])
        print(f"  {case} [{describe(case)}]: {trail}", flush=True)
    print()
    print("| case | threads | it/s | first snapshot (step) | recognisable (step) | last evaluation | load |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        last = r["evals"][-1] if r["evals"] else {}
        if "score" in last:
            res = f"score {last['score']}, {last['classes']} classes"
        elif "modes" in last:
            res = f"{last['modes']}/{last['of']} modes, HQ {last['hq']:.0%}, rKL {last['rkl']}"
        elif "precision" in last:
            res = f"precision {last['precision']}, recall {last['recall']}"
        else:
            res = "-"
        rec = (f"{r['recognisable_s']} s ({r['recognisable_step']})" if r["recognisable_s"] is not None
               else "not within budget")
        first = (f"{r['first_snapshot_s']} s ({r['first_snapshot_step']})"
                 if r["first_snapshot_s"] is not None else "-")
        print(f"| {r['case']} | {r['threads']} | {r['it_per_s']} | {first} | {rec} | {res} | {r['load']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
