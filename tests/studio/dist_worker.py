"""What tests/studio/test_distributed.py runs under torchrun (2 CPU processes over gloo).

    python -m torch.distributed.run --nproc-per-node 2 -m tests.studio.dist_worker equiv OUT
        trains every config of EQUIV_CONFIGS for EQUIV_STEPS steps with no run folder; rank 0
        saves each engine's state_dict to OUT/<name>.pt
    ... -m tests.studio.dist_worker cli ARGS...
        `genstudio ARGS...` (studio.core.cli.main). With WATCH=<run folder>, ranks other than
        0 record every file they open for writing, create, rename or remove under it and
        write the list to <run folder>.rank<r>.json. With KILL_RANK=r KILL_AT=s, rank r is
        SIGKILLed after step s (no cleanup, like an out-of-memory kill).
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from studio.core.config import config_from_dict

EQUIV_STEPS = 5


def points_config(engine: str, steps: int = EQUIV_STEPS, run: dict | None = None,
                  optim: dict | None = None, data: dict | None = None, **model):
    return config_from_dict({
        "run": {"seed": 3, "steps": steps, "batch_size": 32, "log_every": 2, "sample_every": 4,
                "checkpoint_every": 4, "preview_samples": 16, "device": "cpu", **(run or {})},
        "data": data or {"name": "ring8", "n": 512, "n_test": 256},
        "model": {"engine": engine, **model},
        "optim": {"lr": 2e-3, **(optim or {})},
    })


# name -> (engine, model options, optim options): each must train to the same weights on 1
# and 2 processes. The GANs use SGD: Adam divides by sqrt(v), so a ReLU unit's gradient of
# ~1e-12 (float noise of the summation order) becomes a full lr-sized step either way, and
# weights differ by ~1e-4 although the computation is the same. BatchNorm is off: it trains
# on each process's shard (README).
SGD = {"name": "sgd", "lr": 0.05, "beta1": 0.5}
EQUIV_CONFIGS = {
    "ae": ("ae", {"latent_dim": 2, "denoise_std": 0.1}, None),
    "vae": ("vae", {"latent_dim": 2, "decoder": "gaussian"}, None),
    "gan": ("gan", {"g_norm": "none", "ema": 0.9, "n_critic": 2, "instance_noise": 0.1}, SGD),
    "gan-wgan-gp": ("gan", {"g_norm": "none", "loss": "wgan-gp", "n_critic": 2},
                    {**SGD, "lr": 0.002}),
    "ae-contractive": ("ae", {"latent_dim": 2, "contractive": 0.1}, None),
    "gan-mixture": ("gan", {"g_norm": "none", "latent_mixture": 4, "latent_mixture_weights": True,
                            "latent_mixture_restart": 2, "pack": 2, "conditional": False}, SGD),
    "ddpm": ("ddpm", {"ema": 0.9}, None),
    "flow": ("flow", {}, None),
    # translators on two-sided sets (EQUIV_DATA): both sides sharded alike, CycleGAN's history
    # pools drawn for the global batch; pix2pix without dropout (each rank draws the masks of
    # its own rows) and with instance norm (BatchNorm statistics would be per shard)
    "pix2pix": ("pix2pix", {"channels": 4, "depth": 3, "d_channels": 4, "dropout": 0.0,
                            "norm": "instance"}, SGD),
    "cyclegan": ("cyclegan", {"g_channels": 4, "g_blocks": 1, "d_channels": 4, "pool_size": 16},
                 {**SGD, "lr": 0.002}),
}
EQUIV_DATA = {"pix2pix": {"name": "mnist-edges", "limit": 128},
              "cyclegan": {"name": "mnist-thin-thick", "limit": 128}}
# CycleGAN's generators start almost flat and their instance norms blow tiny differences up
# (measured in one process: a 1e-8 nudge to the weights moves them 2e-5 after one SGD step,
# 4e-3 after five), so two processes are compared with one after one step. Its pool of 16
# fills with the first 16 of the 32 generated images and swaps or keeps the others (drawn
# for the global batch), so the step covers both of the pool's cases.
EQUIV_STEPS_FOR = {"cyclegan": 1}


def equiv(out: Path) -> None:
    import torch
    from studio.core import distributed
    from studio.core.training import Trainer

    device = os.environ.get("EQUIV_DEVICE", "cpu")
    dist = distributed.setup(device)
    for name, (engine, model, optim) in EQUIV_CONFIGS.items():
        trainer = Trainer(points_config(engine, EQUIV_STEPS_FOR.get(name, EQUIV_STEPS),
                                        optim=optim, run={"device": device},
                                        data=EQUIV_DATA.get(name), **model), None, dist=dist)
        trainer.train()
        if dist.is_main:
            torch.save({k: v.clone() for k, v in trainer.engine.state_dict().items()},
                       out / f"{name}.pt")
    distributed.teardown()


def watch_writes(root: Path, rank: int) -> list:
    """Record, with an audit hook, every write-like file operation under `root`."""
    seen: list = []
    root_s = str(root.resolve())
    write_events = {"os.rename", "os.replace", "os.remove", "os.unlink", "os.mkdir", "os.rmdir",
                    "shutil.rmtree", "shutil.move", "os.truncate", "os.link", "os.symlink"}

    def under(p) -> bool:
        try:
            s = str(Path(os.fsdecode(p)).resolve())
            return s == root_s or s.startswith(root_s + os.sep)
        except (TypeError, ValueError, OSError):
            return False

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing and under(args[0]):
                seen.append(["open", os.fsdecode(args[0])])
        elif event in write_events and args and under(args[0]):
            seen.append([event, os.fsdecode(args[0])])

    sys.addaudithook(hook)
    return seen


def cli(argv: list[str]) -> int:
    from studio.core import cli as cli_mod
    rank = int(os.environ.get("RANK", "0"))
    watch = os.environ.get("WATCH")
    seen = watch_writes(Path(watch), rank) if watch and rank != 0 else None
    if os.environ.get("KILL_RANK") == str(rank):
        from studio.core.training import Trainer
        at = int(os.environ["KILL_AT"])
        step_once = Trainer.train_one_step

        def train_one_step(self):
            out = step_once(self)
            if self.step >= at:
                os.kill(os.getpid(), signal.SIGKILL)
            return out
        Trainer.train_one_step = train_one_step
    try:
        return cli_mod.main(argv)
    finally:
        if seen is not None:
            Path(f"{watch}.rank{rank}.json").write_text(json.dumps(seen))


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "equiv":
        equiv(Path(rest[0]))
        sys.exit(0)
    sys.exit(cli(rest))
