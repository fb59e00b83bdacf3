"""CPU time per training step of the grid25 best preset with and without `reuse_fake`, at the
generator widths 400 (the PacGAN paper's) and 256 (the preset's), measured side by side in
one run (the variants take turns in short rounds, so drift on a busy machine hits all alike).

Run: python bench/gan_step_speed.py [--rounds 6] [--steps 50]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engines import Batch  # noqa: E402
from studio.core.config import config_from_dict, load_config  # noqa: E402
from studio.core.training import Trainer  # noqa: E402

VARIANTS = [("width 400, fresh batch", 400, False), ("width 400, reuse_fake", 400, True),
            ("width 256, fresh batch", 256, False), ("width 256, reuse_fake", 256, True)]


def build(width: int, reuse: bool):
    d = load_config(ROOT / "examples" / "gan-grid25-best.toml").to_dict()
    d["run"]["device"] = "cpu"
    d["model"]["g_hidden"] = width
    d["model"]["reuse_fake"] = reuse
    t = Trainer(config_from_dict(d))
    x = torch.as_tensor(t.dataset.train_x[:200]).float().to(t.engine.device)
    return t.engine, Batch(x, None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(1)
    engines = [(name, *build(w, r)) for name, w, r in VARIANTS]
    for _, eng, b in engines:                      # warm up
        for _ in range(10):
            eng.train_step(b)
    spent = {name: 0.0 for name, *_ in engines}
    for _ in range(args.rounds):
        for name, eng, b in engines:
            c0 = time.process_time()
            for _ in range(args.steps):
                eng.train_step(b)
            spent[name] += time.process_time() - c0
    n = args.rounds * args.steps
    base = spent[VARIANTS[0][0]] / n
    print(f"GAN step speed, grid25 best preset, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, 1 thread; "
          f"{n} steps per variant in {args.rounds} interleaved rounds")
    print()
    print("| variant | ms per step (CPU) | steps in 180 CPU s | speed vs width 400, fresh |")
    print("|---|---|---|---|")
    for name, *_ in engines:
        ms = spent[name] / n * 1000
        print(f"| {name} | {ms:.2f} | {180_000 / ms:,.0f} | {base * 1000 / ms:.2f}x |")


if __name__ == "__main__":
    main()
