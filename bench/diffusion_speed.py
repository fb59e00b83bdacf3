"""Diffusion sampling speed: the DDPM engine's default U-Net on MNIST-shaped images.

    python bench/diffusion_speed.py [--repeats R] [--threads N] [--run RUN_DIR] [--quick]

Goal (issue #6): DDIM with 50 steps samples 64 MNIST images (1 x 28 x 28) in under 2 seconds
on 2 cores with the default U-Net.

The engine is built exactly as the studio builds it (`get_engine("ddpm").build` with
`DDPMConfig()` defaults, DataSpec 1 x 28 x 28, on the CPU), and every figure is the wall time
of the public call the studio makes, `engine.sample(n, z=z)` (EMA network, eval mode,
no_grad, x0 clipping, the z-hash noise generator, the final (x + 1) / 2 to [0, 1]). Each
row: one untimed warm-up call, then R timed calls (same z); median, min and max.

Rows:
  - DDIM, 50 steps, eta 0, 64 images: the goal;
  - ancestral DDPM on the same 50-step subsequence (respaced betas), 64 images: context;
  - U-Net forward alone, 50 calls at batch 64: the floor under both 50-step rows (what
    the samplers add on top of the network is the difference);
  - ancestral DDPM, the full T = 1000 chain, 8 images: context (the paper's sampler).

Weights: a fresh engine (seed 0) by default. The U-Net's output conv is zero-initialised, so
untrained samples are trivial, but the arithmetic (and the time) is the same as for trained
weights; `--run RUN_DIR` loads a trained run's checkpoint (and its model config) instead.
Threads: `studio.core.device.configure_threads` as the Trainer does (0 = from the usable cores)
unless `--threads` is given. Nothing here is asserted in tests.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engines import DataSpec, OptimConfig, get_engine  # noqa: E402
from engines.ddpm import DDPMConfig  # noqa: E402
from studio.core.device import configure_threads, usable_cpus  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from loop_overhead import busy_cpu_s  # noqa: E402  (other processes' CPU, from /proc/stat)

GOAL_S = 2.0
MNIST = DataSpec("images", channels=1, height=28, width=28, num_classes=10)
BUSY_OTHERS = 0.25   # other processes' CPU s per wall s above which a row is marked BUSY


def measure(fn, repeats: int) -> dict:
    """One untimed warm-up call, then `repeats` timed calls: wall seconds (median, min,
    max) and the other processes' CPU use per wall second over the timed calls."""
    fn()
    times = []
    b0, c0, w0 = busy_cpu_s(), time.process_time(), time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    wall = time.perf_counter() - w0
    own = time.process_time() - c0
    b1 = busy_cpu_s()
    others = (max(0.0, b1 - b0 - own) / wall) if b0 is not None and b1 is not None else math.nan
    return dict(median=statistics.median(times), min=min(times), max=max(times), n=repeats,
                cpu=own / wall, others=others)


def build_engine(run_dir: str | None):
    """The default ddpm engine on MNIST-shaped data (or a trained run's), CPU."""
    if run_dir is None:
        torch.manual_seed(0)
        engine = get_engine("ddpm").build(DDPMConfig(), OptimConfig(), MNIST, "cpu")
        return engine, "fresh DDPMConfig() defaults, seed 0 (untrained)"
    from studio.core.runs import Run
    from studio.core.config import ConfigError
    run = Run.open(run_dir)
    cfg = run.config()
    if cfg.engine != "ddpm":
        raise ConfigError(f"{run_dir}: a {cfg.engine} run, not ddpm")
    spec = MNIST if cfg.data_name == "mnist" else None
    if spec is None:
        raise ConfigError(f"{run_dir}: trained on {cfg.data_name}, not mnist")
    engine = get_engine("ddpm").build(cfg.model, cfg.optim, spec, "cpu")
    ckpt = run.load_checkpoint(expected_engine="ddpm")
    engine.load_state_dict(dict(ckpt.weights))
    return engine, f"trained run {run_dir} (step {ckpt.step})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=7, help="timed calls per row (default 7)")
    p.add_argument("--full-repeats", type=int, default=3,
                   help="timed calls of the 1000-step row (default 3)")
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads (default 0: configure_threads, as the Trainer does)")
    p.add_argument("--run", default=None, help="load the weights of a trained ddpm MNIST run")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 repeats, the 1000-step row on 2 images with 1 repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.full_repeats = 2, 1
    if args.repeats < 1 or args.full_repeats < 1:
        p.error("--repeats and --full-repeats must be at least 1")
    threads = configure_threads(args.threads)
    engine, weights = build_engine(args.run)
    cfg = engine.config
    n_full = 2 if args.quick else 8
    T = engine.schedule.T

    la = os.getloadavg()
    print("### Diffusion sampling speed (ddpm engine, default U-Net, MNIST 1x28x28)\n")
    print(f"Command: `python {' '.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])}`"
          if argv is None else f"Command: `diffusion_speed.main({argv})`")
    print(f"on {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}; "
          f"{platform.platform()}, {platform.processor() or platform.machine()}, "
          f"os.cpu_count()={os.cpu_count()}, usable CPUs={usable_cpus()}, load average "
          f"{la[0]:.2f} {la[1]:.2f} {la[2]:.2f}; Python {platform.python_version()}, "
          f"**torch {torch.__version__}**, **torch.get_num_threads() = {torch.get_num_threads()}** "
          f"(configure_threads({args.threads}) -> {threads}), device cpu.\n")
    print(f"Model: {weights}; U-Net channels={cfg.channels}, levels={cfg.levels}, "
          f"res_blocks={cfg.res_blocks}, patch={cfg.patch}, {engine.num_parameters():,} "
          f"parameters; schedule {cfg.schedule}, T = {T}, prediction {cfg.prediction}, "
          f"{'EMA' if cfg.ema > 0 else 'live'} network, x0 "
          f"{'clipped' if cfg.clip else 'not clipped'}. Each row: `engine.sample(n, z=z)` "
          f"(the studio's call), "
          f"one untimed warm-up, then the timed repeats (same z).\n")

    z64 = engine.noise(64, torch.Generator().manual_seed(1))
    zf = engine.noise(n_full, torch.Generator().manual_seed(2))

    def sampler(name: str, steps: int, z):
        def fn():
            engine.config = dataclasses.replace(cfg, sampler=name, sample_steps=steps, eta=0.0)
            try:
                return engine.sample(len(z), z=z)
            finally:
                engine.config = cfg
        return fn

    net = engine.sampling_net()
    t_batch = torch.full((64,), T, dtype=torch.long)

    def net_only():
        with torch.no_grad():
            was = net.training
            net.eval()
            for t in engine.schedule.timesteps(50):
                net(z64, t_batch.fill_(t))
            net.train(was)

    rows = [
        ("DDIM, 50 steps, eta 0", 64, 50, sampler("ddim", 50, z64), args.repeats, True),
        ("ancestral DDPM, same 50-step subsequence", 64, 50, sampler("ddpm", 50, z64),
         args.repeats, False),
        ("U-Net forward alone, 50 calls (the floor)", 64, 50, net_only, args.repeats, False),
        (f"ancestral DDPM, full chain T = {T}", n_full, T, sampler("ddpm", T, zf),
         args.full_repeats, False),
    ]
    print("| sampler | images | network calls | median s | min s | max s | ms per image "
          "| goal | verdict | others' CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for name, n, steps, fn, repeats, is_goal in rows:
        r = measure(fn, repeats)
        results.append((name, r))
        goal = f"< {GOAL_S:g} s" if is_goal else "context"
        verdict = ("PASS" if r["median"] < GOAL_S else "ABOVE") if is_goal else "-"
        busy = r["others"] > BUSY_OTHERS
        print(f"| {name} | {n} | {steps} | {r['median']:.3f} | {r['min']:.3f} | {r['max']:.3f} "
              f"| {1000 * r['median'] / n:.1f} | {goal} | {verdict} | "
              f"{r['others']:.2f}{' BUSY' if busy else ''} |", flush=True)
    (_, ddim), (_, floor) = results[0], results[2]
    share = (f"The network alone takes {100 * floor['median'] / ddim['median']:.0f}% of the DDIM "
             f"row; the rest is the sampler's arithmetic, the EMA/eval bookkeeping and the output "
             f"conversion. " if max(ddim["others"], floor["others"]) <= BUSY_OTHERS else "")
    print(f"\nmedian/min/max over {args.repeats} timed calls ({args.full_repeats} for the "
          f"{T}-step row) after one warm-up. {share}'others' CPU' is the CPU seconds per wall "
          f"second used by other processes while the row was timed (/proc/stat); BUSY "
          f"(> {BUSY_OTHERS}) means the figure is inflated by contention (two intra-op threads "
          f"wait at every op for a descheduled thread: slowdowns of 10x and more are common), "
          f"and the min is then the better estimate; rerun on an idle machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
