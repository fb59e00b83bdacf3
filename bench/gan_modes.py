"""Mode collapse on the 2D mixtures, the PacGAN protocol (Lin et al. 2018, sec. 4.1): each GAN
preset trained on ring8 and grid25 for a stated CPU budget, several seeds, 2,500 samples
scored with studio.core.metrics.mode_metrics (modes captured, % high-quality samples within 3
sigma of a mode, reverse KL), mean +- standard error over seeds, printed beside the published
PacGAN Table 1 and VEEGAN Table 1 rows (../shared/REFERENCES.md).

Each run is its own process with one torch thread, two at a time on a 2-core machine, so a
run's CPU seconds are its wall seconds on one core. The budget is a cap on those seconds and
on the preset's step count, whichever comes first.

The best preset (BEST) has its own section, `--best`, with its own budget (`--best-budget`,
default 180 CPU s: issue #5's "3 CPU minutes") and seeds (`--best-seeds`).

Run: python bench/gan_modes.py [--seeds 5] [--budget 60] [--presets a,b] [--jobs 2] [--quick]
                               [--best] [--best-budget 180] [--best-seeds 5] [--best-only]
                               [--first-seed 0]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (label, preset stem, grid25 preset stem or None for the same): the data set is set per
# column, so every variant runs on both; a variant may use its own preset for grid25.
VARIANTS = [
    ("GAN (non-saturating)", "gan-ring8-vanilla", None),
    ("Unrolled GAN", "gan-ring8-unrolled", None),
    ("WGAN-GP", "gan-ring8-wgan-gp", None),
    ("Minibatch discrimination", "gan-ring8-minibatch", None),
    ("PacGAN", "gan-ring8-pacgan", "gan-grid25-pacgan"),
]
# The best preset pair (issue #5), benchmarked by --best at --best-budget.
BEST = ("DeLiGAN latent + PacGAN + lr decay (grid25: PacGAN8, Fourier D, instance noise), best",
        "gan-ring8-best", "gan-grid25-best")


def stem_for(variant: tuple, data: str) -> str:
    return variant[2] if data == "grid25" and variant[2] else variant[1]
DATASETS = ("ring8", "grid25")

PUBLISHED = """\
Published (other budgets: PacGAN ~400k iterations, 10 trials, mean +- s.e.; VEEGAN 2,500
samples, 5 runs; GDPP 25k iterations):

| method (paper) | ring8 modes | ring8 % HQ | ring8 reverse KL | grid25 modes | grid25 % HQ | grid25 reverse KL |
|---|---|---|---|---|---|---|
| GAN (PacGAN T1) | 6.3 +- 0.5 | 98.2 +- 0.2 | 0.45 +- 0.09 | 17.3 +- 0.8 | 94.8 +- 0.7 | 0.70 +- 0.07 |
| ALI (PacGAN T1) | 6.6 +- 0.3 | 97.6 +- 0.4 | 0.36 +- 0.04 | 24.1 +- 0.4 | 95.7 +- 0.6 | 0.14 +- 0.03 |
| PacGAN2 (PacGAN T1) | 7.9 +- 0.1 | 95.6 +- 2.0 | 0.07 +- 0.03 | 23.8 +- 0.7 | 91.3 +- 0.8 | 0.13 +- 0.04 |
| PacGAN3 (PacGAN T1) | 7.8 +- 0.1 | 97.7 +- 0.3 | 0.10 +- 0.02 | 24.6 +- 0.4 | 94.2 +- 0.4 | 0.06 +- 0.02 |
| PacGAN4 (PacGAN T1) | 7.8 +- 0.1 | 95.9 +- 1.4 | 0.07 +- 0.02 | 24.8 +- 0.2 | 93.6 +- 0.6 | 0.04 +- 0.01 |
| GAN (VEEGAN T1) | 1 | 99.3 | - | 3.3 | 0.5 | - |
| Unrolled GAN (VEEGAN T1) | 7.6 | 35.6 | - | 23.6 | 16.0 | - |
| VEEGAN (VEEGAN T1) | 8.0 | 52.9 | - | 24.6 | 40.0 | - |
| WGAN-GP (GDPP T1) | 6.8 | 59.6 | - | 24.2 | 28.7 | - |
| GDPP (GDPP T1) | 8.0 | 71.7 | - | 24.8 | 68.5 | - |

Note: for perfect samples the 3-sigma disc of a 2-D Gaussian holds 1 - exp(-4.5) = 98.9% of
them, so ~98.9% high quality is the ceiling (studio.core.metrics.mode_metrics)."""


def worker(preset: str, data: str, seed: int, budget: float, n: int) -> dict:
    """Train one preset on one data set with one seed; score n samples."""
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from studio.core.config import load_config
    from studio.core.metrics import mode_metrics
    from studio.core.training import Callbacks, Trainer
    cfg = load_config(ROOT / "examples" / f"{preset}.toml")
    d = cfg.to_dict()
    d["data"] = {**{k: v for k, v in d["data"].items() if k != "name"}, "name": data}
    d["run"]["seed"] = seed
    d["run"]["threads"] = 1
    d["run"]["device"] = "cpu"
    from studio.core.config import config_from_dict
    cfg = config_from_dict(d)
    t = Trainer(cfg)
    c0 = time.process_time()
    t.train(callbacks=Callbacks(should_abort=lambda: time.process_time() - c0 >= budget))
    cpu = time.process_time() - c0
    with torch.no_grad():
        g = torch.Generator().manual_seed(10_000 + seed)
        x = t.engine.sample(n, z=t.engine.noise(n, generator=g)).float().cpu().numpy()
    m = mode_metrics(x, t.dataset.modes, t.dataset.mode_sigma)
    return {"preset": preset, "data": data, "seed": seed, "steps": t.step, "cpu_s": cpu,
            "modes": int(m["modes_captured"]), "num_modes": int(m["num_modes"]),
            "hq": float(m["high_quality_fraction"]), "rkl": float(m["reverse_kl"]),
            "spread": mode_spread(x, t.dataset.modes, t.dataset.mode_sigma),
            "finite": bool(np.isfinite(x).all())}


def mode_spread(x, modes, sigma: float) -> float:
    """How wide the high-quality samples sit around their modes, in units of the data's:
    sqrt(mean |x - mode|^2 / 2) / sigma over samples within 3 sigma of their nearest mode.
    The PacGAN metrics cannot see a generator that hits every mode with samples far tighter
    than the data (they count those as perfect); this can. Samples from the data score
    sqrt(1 - 4.5 e^-4.5 / (1 - e^-4.5)) = 0.975 (the 3-sigma cut trims the tails)."""
    import numpy as np
    d2 = ((np.asarray(x, np.float64)[:, None, :] - np.asarray(modes, np.float64)[None]) ** 2).sum(-1).min(1)
    near = d2 <= (3.0 * sigma) ** 2
    return float(np.sqrt(d2[near].mean() / 2.0) / sigma) if near.any() else float("nan")


def run_one(args: tuple) -> dict:
    preset, data, seed, budget, n = args
    cmd = [sys.executable, __file__, "--worker", preset, data, str(seed), str(budget), str(n)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        return {"preset": preset, "data": data, "seed": seed, "error": p.stderr.strip()[-800:]}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t0
    out["budget"] = budget
    print(f"  {preset:24s} {data:6s} seed {seed}: {out['modes']}/{out['num_modes']} modes, "
          f"{100 * out['hq']:.1f}% HQ, rKL {out['rkl']:.3f}, spread {out['spread']:.2f}, "
          f"{out['steps']} steps in "
          f"{out['cpu_s']:.0f} CPU s ({out['wall_s']:.0f} s wall)", file=sys.stderr, flush=True)
    return out


def mean_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    m = sum(values) / n
    if n < 2:
        return m, float("nan")
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    return m, math.sqrt(var / n)


def fmt(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    m, se = mean_se([v * scale for v in values])
    return f"{m:.{digits}f} +- {se:.{digits}f}"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        preset, data, seed, budget, n = sys.argv[2:7]
        print(json.dumps(worker(preset, data, int(seed), float(budget), int(n))))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0, help="CPU seconds per run (one core)")
    ap.add_argument("--presets", help="comma-separated preset stems (default: all variants)")
    ap.add_argument("--data", default=",".join(DATASETS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--quick", action="store_true", help="2 seeds, 5 s budget (smoke test)")
    ap.add_argument("--best", action="store_true", help="also run the best preset (BEST)")
    ap.add_argument("--best-only", action="store_true", help="run only the best preset")
    ap.add_argument("--best-budget", type=float, default=180.0, help="CPU s per best run")
    ap.add_argument("--best-seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds run from here (e.g. 5 for held-out seeds 5-9)")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.budget = 2, 5.0
    variants = [] if args.best_only else VARIANTS
    if args.presets and not args.best_only:
        wanted = args.presets.split(",")
        variants = [v for v in VARIANTS if v[1] in wanted or v[2] in wanted] + [
            (p, p, None) for p in wanted
            if p not in {s for v in VARIANTS for s in v[1:] if s}]
    datasets = args.data.split(",")
    jobs = []

    def seeds_of(n: int) -> range:
        return range(args.first_seed, args.first_seed + n)

    if args.best or args.best_only:   # the long runs first, so the pool ends evenly
        jobs += [(stem_for(BEST, data), data, seed, args.best_budget, args.n)
                 for data in datasets
                 for seed in seeds_of(args.best_seeds)]
    jobs += [(stem_for(v, data), data, seed, args.budget, args.n) for v in variants
             for data in datasets
             for seed in seeds_of(args.seeds)]
    import torch
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, jobs))
    wall = time.perf_counter() - t0
    errors = [r for r in results if "error" in r]
    print(f"GAN mode collapse on ring8 / grid25 (PacGAN protocol), {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}; "
          f"{args.n} samples per run, total wall {wall / 60:.1f} min")
    print("command: python " + " ".join(["bench/gan_modes.py"] + sys.argv[1:]))
    print()

    def table(rows: list[tuple], budget: float, seeds: int) -> None:
        print(f"{seeds} seeds per cell ({seeds_of(seeds)[0]}-{seeds_of(seeds)[-1]}), budget {budget:g} CPU s per run (one thread, "
              f"{args.jobs} runs at a time); mean +- s.e. over seeds")
        print()
        print("| variant (preset) | data | modes | % high quality | reverse KL | mode spread "
              "(data 0.97) | steps | CPU s |")
        print("|" + "---|" * 8)
        for v in rows:
            for data in datasets:
                stem = stem_for(v, data)
                rs = [r for r in results if r.get("preset") == stem and r["data"] == data
                      and "error" not in r and r.get("budget") == budget]
                if not rs:
                    print(f"| {v[0]} (`{stem}`) | {data} | failed | | | | | |")
                    continue
                k = rs[0]["num_modes"]
                print(f"| {v[0]} (`{stem}`) | {data} | {fmt([r['modes'] for r in rs])} / {k} | "
                      f"{fmt([r['hq'] for r in rs], 100)} | {fmt([r['rkl'] for r in rs], 1, 3)} | "
                      f"{fmt([r['spread'] for r in rs], 1, 2)} | "
                      f"{sum(r['steps'] for r in rs) / len(rs):,.0f} | "
                      f"{sum(r['cpu_s'] for r in rs) / len(rs):.0f} |")
        print()

    if args.best or args.best_only:
        print("### Best preset (issue #5 goal: ring8 8/8, >= 95% HQ, rKL <= 0.05; grid25 >= 24.5/25, "
              ">= 90% HQ, rKL <= 0.05; within 180 CPU s)")
        print()
        table([BEST], args.best_budget, args.best_seeds)
    if variants:
        print("### Variants")
        print()
        table(variants, args.budget, args.seeds)
    print(PUBLISHED)
    for r in errors:
        print(f"\nERROR {r['preset']} {r['data']} seed {r['seed']}: {r['error']}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
