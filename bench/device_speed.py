"""Training steps per second of every engine on every device this machine has, side by side
in one run (issue #18): the CPU always, CUDA and MPS when torch sees them, in fp32 and bf16
(and fp16 on CUDA). Each engine trains its MNIST preset's model (examples/*.toml, the batch
and model as shipped) for a few warm-up steps, then `--steps` timed steps; nothing is written.

    python bench/device_speed.py [--steps 20] [--engines ae,vae,gan,ddpm,flow] [--threads 0]

Without a GPU the table has the CPU rows only and says so. Steps/s are wall-clock rates of
`Trainer.train_one_step` (batch drawn on the device, the engine's step, metrics kept on the
device); a CUDA device is synchronised before each clock read.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESETS = {"ae": "ae-mnist", "vae": "vae-mnist", "gan": "gan-mnist-dcgan", "ddpm": "ddpm-mnist",
           "flow": "flow-mnist"}


def devices() -> list[str]:
    import torch
    out = ["cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append("mps")
    return out


def precisions(device: str) -> list[str]:
    return ["fp32", "bf16", "fp16"] if device == "cuda" else ["fp32", "bf16"]


def measure(engine: str, device: str, precision: str, steps: int, warmup: int,
            threads: int) -> tuple[float, int]:
    import torch
    from studio.core.presets import load_preset
    from studio.core.training import Trainer
    cfg = load_preset(PRESETS[engine])
    cfg = cfg.replace(run={"device": device, "precision": precision, "threads": threads,
                           "steps": warmup + steps})
    trainer = Trainer(cfg)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(warmup):
        trainer.train_one_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_one_step()
    sync()
    return steps / (time.perf_counter() - t0), cfg.run.batch_size


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20, help="timed steps per case")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--engines", default=",".join(PRESETS))
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0 = the usable cores)")
    args = ap.parse_args(argv)
    import torch
    devs = devices()
    print(f"# Steps per second by device (torch {torch.__version__}; devices: {', '.join(devs)})\n")
    if devs == ["cpu"]:
        print("No GPU on this machine (torch sees neither CUDA nor MPS): CPU rows only.\n")
    print("| engine (preset) | batch | device | precision | steps/s | images/s |")
    print("|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        for dev in devs:
            for prec in precisions(dev):
                try:
                    rate, batch = measure(engine, dev, prec, args.steps, args.warmup, args.threads)
                    print(f"| {engine} ({PRESETS[engine]}) | {batch} | {dev} | {prec} | "
                          f"{rate:.2f} | {rate * batch:,.0f} |", flush=True)
                except Exception as e:          # noqa: BLE001  (a row says why, the rest go on)
                    print(f"| {engine} ({PRESETS[engine]}) | | {dev} | {prec} | failed: "
                          f"{type(e).__name__}: {str(e)[:80]} | |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
