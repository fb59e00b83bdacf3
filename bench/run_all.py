"""Run every benchmark and write docs/benchmarks.md with exactly what they print.

Run from the repository root: `python bench/run_all.py [--quick]` (QT_QPA_PLATFORM=offscreen is
set for the GUI benchmark). `--quick` shortens every run for a smoke test; the committed
docs/benchmarks.md is made without it.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], env: dict) -> str:
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    out = p.stdout.strip()
    if p.returncode != 0:
        out += f"\n\n(exit code {p.returncode})\n" + p.stderr.strip()[-3000:]
    print(out, flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, help="loop_overhead.py --rounds (default: its own)")
    ap.add_argument("--seconds", type=float, help="quality_per_minute.py --seconds (default 60)")
    ap.add_argument("--n", type=int, help="quality_per_minute.py --n (default 10000)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = ap.parse_args()
    import torch
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    py = sys.executable
    q = args.quick
    sections = [
        ("Engine loop against a bare PyTorch loop", False,
         [py, "bench/loop_overhead.py"] + (["--rounds", "2", "--steps", "20", "--warmup", "20"] if q else [])
         + (["--rounds", str(args.rounds)] if args.rounds else [])),
        ("Quality per CPU minute and sampling speed", True,
         [py, "bench/quality_per_minute.py"] + (["--seconds", "5", "--n", "1000"] if q else [])
         + (["--seconds", f"{args.seconds:g}"] if args.seconds else [])
         + (["--n", str(args.n)] if args.n else [])),
        ("GUI responsiveness while training", False,
         [py, "bench/gui_responsiveness.py"] + (["--steps", "60"] if q else [])),
        ("Diffusion sampling speed", True,
         [py, "bench/diffusion_speed.py"] + (["--quick"] if q else [])),
        ("GAN mode collapse on ring8 and grid25 (PacGAN protocol)", True,
         [py, "bench/gan_modes.py"] + (["--quick"] if q else [])),
        ("GAN step speed: reuse_fake and the generator's width", True,
         [py, "bench/gan_step_speed.py"] + (["--rounds", "1", "--steps", "10"] if q else [])),
    ]
    flags = " ".join(a for a in sys.argv[1:] if not a.startswith("--out"))
    head = (f"# Benchmarks\n\nMade by `python bench/run_all.py{' ' + flags if flags else ''}` on "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}; machine: {platform.platform()}, "
            f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Python "
            f"{platform.python_version()}, torch {torch.__version__}. Every figure below is "
            f"what the named script printed in that run; ratios are measured side by side in "
            f"one process. See bench/README.md for what each measures.\n")
    parts = [head]
    for title, markdown, cmd in sections:
        out = run(cmd, env)
        body = out if markdown else f"```text\n{out}\n```"
        parts.append(f"\n## {title}\n\n`{' '.join(['python'] + cmd[1:])}`\n\n{body}\n")
    Path(args.out).write_text("".join(parts), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
