"""`genstudio`: the studio window with no arguments; `train`, `sample`, `eval` headless.

The headless commands go through exactly the code the GUI uses (studio.training.Trainer)
and never import Qt.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import __version__


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("--screenshot") or argv[0] in ("gui", "--demo"):
        return _gui(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    from .config import ConfigError
    from .data import DataError
    from .runs import CheckpointError
    try:
        return args.func(args)
    except (ConfigError, DataError, CheckpointError, FileExistsError) as e:
        print(f"genstudio: error: {e}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genstudio", description=(
        "Generative Studio. With no command, opens the studio window."))
    p.add_argument("--version", action="version", version=f"genstudio {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a run from a TOML config (or resume one)")
    t.add_argument("config", nargs="?", help="config file (optional with --resume)")
    t.add_argument("--out", help="run folder to create (default runs/<config>-<time>)")
    t.add_argument("--steps", type=int, help="total steps to reach (overrides run.steps)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue this run folder")
    t.add_argument("--device", help="auto, cpu, cuda or mps (overrides run.device)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--out", required=True, help="writes OUT.npy (float32) and OUT.png (a grid)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--label", type=int, help="class label, for conditional models")
    s.add_argument("--device", default="cpu")
    s.set_defaults(func=cmd_sample)

    e = sub.add_parser("eval", help="print the metrics of a trained run as JSON")
    e.add_argument("run_dir")
    e.add_argument("--n", type=int, default=10000,
                   help="samples to score (default 10,000; 2D mixtures use 2,500 as in PacGAN)")
    e.add_argument("--seed", type=int, default=0, help="seed of the samples and subsets")
    e.add_argument("--iwae-k", type=int, default=64,
                   help="importance samples of the IWAE bound (engines with an ELBO; 0 = skip)")
    e.add_argument("--iwae-n", type=int, default=1000, help="test examples for the IWAE bound")
    e.add_argument("--quiet", action="store_true")
    e.add_argument("--device", default="cpu")
    e.set_defaults(func=cmd_eval)
    return p


def _gui(argv: list[str]) -> int:
    # Imported by name at run time so the headless commands never pull in Qt.
    try:
        app = importlib.import_module("studio.app")
    except ModuleNotFoundError as e:
        if e.name != "studio.app":
            raise
        print("genstudio: the studio window is not part of this build yet; use "
              "`genstudio train|sample|eval` (see `genstudio --help`)", file=sys.stderr)
        return 2
    return app.main(argv)


# -- train -------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config
    from .training import Callbacks, Trainer

    if args.config is None and args.resume is None:
        raise ConfigError("give a config file, or --resume RUN_DIR")
    overrides = {}
    if args.steps is not None:
        if args.steps < 1:
            raise ConfigError("--steps must be at least 1")
        overrides["steps"] = args.steps
    if args.device is not None:
        overrides["device"] = args.device

    if args.resume:
        from .runs import Run
        config = load_config(args.config) if args.config else Run.open(args.resume).config()
        if overrides:
            config = config.replace(run=overrides)
        trainer = Trainer.resume(args.resume, config)
    else:
        config = load_config(args.config)
        if overrides:
            config = config.replace(run=overrides)
        out = Path(args.out) if args.out else Path("runs") / (
            f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
        trainer = Trainer.create(config, out)

    rc = trainer.config.run
    print(f"genstudio: {trainer.config.engine} on {trainer.config.data_name} "
          f"({len(trainer.dataset)} examples), {trainer.engine.num_parameters():,} parameters, "
          f"device {trainer.device}, {trainer.threads} threads; run folder {trainer.run.path}",
          file=sys.stderr)
    if trainer.step >= rc.steps:
        print(f"genstudio: run is already at step {trainer.step} of {rc.steps}; "
              f"pass --steps to train further", file=sys.stderr)
        return 0

    stop = threading.Event()

    def on_sigint(signum, frame):  # first Ctrl-C: stop cleanly and save; second: hard stop
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    bar = ProgressBar(enabled=not args.quiet)
    monitor = None
    if trainer.dataset.spec.is_images:
        # the same mode-collapse history the studio's Modes panel keeps, so a run trained
        # here opens there with it
        from .mode_monitor import RunMonitor
        monitor = RunMonitor(trainer)

    def on_samples(step: int, samples) -> None:
        out = monitor.on_samples(step, samples) if monitor is not None else None
        if out is not None and out[0].alert:
            bar.message(f"mode-collapse alert at step {step}: {out[0].alert} ({out[1]})")

    try:
        result = trainer.train(callbacks=Callbacks(progress=bar.update, should_abort=stop.is_set,
                                                   samples=on_samples))
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    if result.reason == "aborted":
        print(f"genstudio: interrupted; saved at step {result.step}. Resume with "
              f"`genstudio train --resume {trainer.run.path}`", file=sys.stderr)
        return 130
    if result.reason == "nonfinite":
        print(f"genstudio: paused: {result.message}", file=sys.stderr)
        return 3
    print(f"genstudio: finished step {result.step}; run folder {trainer.run.path}", file=sys.stderr)
    return 0


class ProgressBar:
    """One status line on stderr: steps, it/s, ETA, latest losses. Redrawn in place on a
    terminal; on a pipe, a line every 10 seconds."""

    def __init__(self, enabled: bool = True, width: int = 24):
        self.enabled = enabled
        self.width = width
        self.tty = sys.stderr.isatty()
        self._last_line = 0.0
        self._drawn = False

    def update(self, p) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not self.tty and now - self._last_line < 10 and p.step < p.total:
            return
        self._last_line = now
        frac = p.step / max(p.total, 1)
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        losses = " ".join(f"{k.split('/')[-1]} {v:.4g}" for k, v in p.latest.items()
                          if not k.startswith("perf/"))
        line = (f"step {p.step}/{p.total} [{bar}] {100 * frac:3.0f}% {p.it_per_s:6.1f} it/s "
                f"ETA {_fmt_eta(p.eta_s)} {losses}")
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line)
            self._drawn = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def message(self, text: str) -> None:
        """A line of its own above the bar (even with --quiet: alerts matter)."""
        sys.stderr.write(("\r\x1b[2K" if self._drawn else "") + f"genstudio: {text}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _fmt_eta(s: float) -> str:
    if not math.isfinite(s):
        return "--:--"
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


# -- sample ------------------------------------------------------------------------------------
def cmd_sample(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .export import export_grid, provenance
    from .training import samples_from_run

    if args.n < 1:
        raise ConfigError("--n must be at least 1")
    labels = None
    if args.label is not None:
        labels = np.full(args.n, args.label, np.int64)
    samples, trainer = samples_from_run(args.run_dir, args.n, seed=args.seed, labels=labels,
                                        device=args.device)
    base = Path(args.out)
    if base.suffix.lower() in (".npy", ".png"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    npy, png = base.with_name(base.name + ".npy"), base.with_name(base.name + ".png")
    np.save(npy, samples.astype(np.float32), allow_pickle=False)
    reference = None
    if samples.ndim == 2:
        reference = trainer.dataset.test_x[:2000]
    export_grid(png, samples, provenance(
        config_toml=trainer.config.to_toml(), seed=args.seed, step=trainer.step,
        checkpoint_sha256=trainer.run.checkpoint_sha256(), engine=trainer.engine.name),
        reference=reference)
    print(f"genstudio: wrote {npy} {samples.shape} and {png} (step {trainer.step})", file=sys.stderr)
    return 0


# -- eval --------------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .evaluation import evaluate
    from .training import Trainer

    if args.n < 1:
        raise ConfigError("--n must be at least 1")
    trainer = Trainer.load(args.run_dir, device=args.device)
    say = (lambda s: None) if args.quiet else (lambda s: print(f"genstudio: {s}", file=sys.stderr))
    metrics = evaluate(trainer, n=args.n, seed=args.seed, iwae_k=args.iwae_k, iwae_n=args.iwae_n,
                       progress=say)
    record = {"run": str(trainer.run.path), "engine": trainer.engine.name, "step": trainer.step,
              "seed": args.seed, "n": args.n, "test_examples": len(trainer.test_data), **metrics}
    trainer.run.append_evaluation(record)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
