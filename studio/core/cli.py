"""`genstudio`: the studio window with no arguments; `train`, `sample`, `eval` headless.

The headless commands go through exactly the code the GUI uses (studio.core.training.Trainer)
and never import Qt.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from studio import __version__


EXIT_BAD_INPUT, EXIT_NONFINITE, EXIT_INTERRUPTED, EXIT_BUG = 2, 3, 130, 1
MAX_SEED = 2**63 - 1
MAX_SAMPLE_BYTES = 1 << 30          # what `sample` may hold in memory (float32 output)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0].startswith("--screenshot") or argv[0] in ("gui", "--demo"):
        return _gui(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BaseException as e:
        if debug or isinstance(e, SystemExit):
            raise
        return _report(e)


def _report(e: BaseException) -> int:
    """Everything that reaches the top becomes one line (and an exit code); --debug shows the
    traceback instead."""
    from .config import ConfigError
    from .data import DataError
    from .distributed import RankFailed
    from .runs import CheckpointError
    if isinstance(e, RankFailed):        # under torchrun: rank 0 failed and said why
        return EXIT_BAD_INPUT if e.kind in _BAD_INPUT_KINDS else EXIT_BUG
    if isinstance(e, KeyboardInterrupt):
        print("genstudio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(e, (ConfigError, DataError, CheckpointError, FileExistsError)):
        msg, code = str(e), EXIT_BAD_INPUT
    elif isinstance(e, OSError):
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        msg, code = f"cannot use{where}: {e.strerror or e}", EXIT_BAD_INPUT
    elif isinstance(e, MemoryError):
        msg, code = "not enough memory for this (try fewer samples or a smaller batch)", EXIT_BAD_INPUT
    else:
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
        msg, code = f"unexpected {type(e).__name__}: {first}", EXIT_BUG
    print(f"genstudio: error: {msg}", file=sys.stderr)
    if code == EXIT_BUG:
        print("genstudio: run again with --debug for the traceback", file=sys.stderr)
    return code


_BAD_INPUT_KINDS = ("ConfigError", "DataError", "CheckpointError", "NoCheckpointError",
                    "CheckpointSaveError", "FileExistsError")


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{v} is out of range; seeds are 0..{MAX_SEED}")
    return v


def _count(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{v} is out of range; allowed {lo:,}..{hi:,}")
        return v
    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genstudio", description=(
        "Generative Studio. With no command, opens the studio window."))
    p.add_argument("--version", action="version", version=f"genstudio {__version__}")
    p.add_argument("--debug", action="store_true",
                   help="show the Python traceback of an error instead of one line")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a run from a TOML config (or resume one)")
    t.add_argument("config", nargs="?", help="config file (optional with --resume)")
    t.add_argument("--out", help="run folder to create (default runs/<config>-<time>)")
    t.add_argument("--steps", type=_count(1, 10**12),
                   help="total steps to reach (overrides run.steps)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue this run folder")
    t.add_argument("--restart", action="store_true",
                   help="with --resume: train from step 0 when the run has no usable checkpoint")
    t.add_argument("--device", help="auto, cpu, cuda or mps (overrides run.device)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir")
    s.add_argument("--n", type=_count(1, 10**6), default=64)
    s.add_argument("--out", required=True, help="writes OUT.npy (float32) and OUT.png (a grid)")
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--label", type=_count(0, 10**6), help="class label, for conditional models")
    s.add_argument("--temperature", type=_temperature, metavar="T",
                   help="flows: decode T * eps (Glow's temperature, 0..2; default the run's "
                        "[model] temperature)")
    s.add_argument("--device", default="cpu")
    s.set_defaults(func=cmd_sample)

    e = sub.add_parser("eval", help="print the metrics of a trained run as JSON")
    e.add_argument("run_dir")
    e.add_argument("--n", type=_count(1, 10**6), default=10000,
                   help="samples to score (default 10,000; 2D mixtures use 2,500 as in PacGAN)")
    e.add_argument("--seed", type=_seed, default=0, help="seed of the samples and subsets")
    e.add_argument("--iwae-k", type=_count(0, 100_000), default=64,
                   help="importance samples of the IWAE bound (engines with an ELBO; 0 = skip)")
    e.add_argument("--iwae-n", type=_count(1, 10**7), default=1000,
                   help="test examples for the IWAE bound")
    e.add_argument("--quiet", action="store_true")
    e.add_argument("--device", default="cpu")
    e.set_defaults(func=cmd_eval)
    return p


def _gui(argv: list[str]) -> int:
    # Imported by name at run time so the headless commands never pull in Qt.
    try:
        app = importlib.import_module("studio.shell.app")
    except ModuleNotFoundError as e:
        if e.name != "studio.shell.app":
            raise
        print("genstudio: the studio window is not part of this build yet; use "
              "`genstudio train|sample|eval` (see `genstudio --help`)", file=sys.stderr)
        return 2
    return app.main(argv)


# -- train -------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    """Under torchrun (WORLD_SIZE > 1) every process runs this: they join one process group
    (studio.core.distributed), train their shards of each batch, and only rank 0 writes the
    run folder and prints."""
    from . import distributed
    from .config import ConfigError

    if args.config is None and args.resume is None:
        raise ConfigError("give a config file, or --resume RUN_DIR")
    if args.restart and not args.resume:
        raise ConfigError("--restart goes with --resume RUN_DIR")
    if not distributed.launched_by_torchrun():
        return _train(args)
    device = args.device
    if device is None and args.config:
        device = _config_device(args.config)
    dist = distributed.setup(device or "auto")
    try:
        code = _train(args, dist)
    except BaseException:
        distributed.teardown(wait=False)
        if not dist.is_main:       # rank 0 reports; the others only exit
            sys.stderr = open(os.devnull, "w")
        raise
    distributed.teardown()
    return code


def _config_device(path: str) -> Optional[str]:
    """run.device of a config file, read loosely (load_config checks it properly later)."""
    import tomllib
    try:
        with open(path, "rb") as f:
            dev = tomllib.load(f).get("run", {}).get("device")
        return dev if isinstance(dev, str) else None
    except (OSError, ValueError):
        return None


def _train(args: argparse.Namespace, dist=None) -> int:
    from .callbacks import ProgressReporter
    from .config import load_config
    from .distributed import SINGLE
    from .mode_monitor import RunMonitor
    from .training import Trainer

    dist = dist or SINGLE
    main = dist.is_main
    overrides = {}
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.device is not None:
        overrides["device"] = args.device

    if args.resume:
        from .runs import Run
        config = load_config(args.config) if args.config else Run.open(args.resume).config()
        if overrides:
            config = config.replace(run=overrides)
        trainer = Trainer.resume(args.resume, config, restart=args.restart, dist=dist)
    else:
        config = load_config(args.config)
        if overrides:
            config = config.replace(run=overrides)
        out = str(args.out) if args.out else str(Path("runs") / (
            f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"))
        out = dist.broadcast_object(out)     # rank 0's clock names the folder
        trainer = Trainer.create(config, Path(out), dist=dist)

    rc = trainer.config.run
    if main:
        world = f", {dist.world} processes ({dist.backend})" if dist.active else ""
        print(f"genstudio: {trainer.config.engine} on {trainer.config.data_name} "
              f"({len(trainer.dataset)} examples), {trainer.engine.num_parameters():,} parameters, "
              f"device {trainer.device}, {trainer.threads} threads{world}; run folder "
              f"{trainer.run.path}", file=sys.stderr)
        for note in trainer.checkpoint_notes:
            print(f"genstudio: warning: {note}", file=sys.stderr)
        _print_scan_report(trainer)
    if trainer.step >= rc.steps:
        if main:
            print(f"genstudio: run is already at step {trainer.step} of {rc.steps}; "
                  f"pass --steps to train further", file=sys.stderr)
        return 0

    stop = threading.Event()
    bar = ProgressBar(enabled=not args.quiet and main)

    def on_record(rec, samples, note: str) -> None:
        if rec.alert:
            bar.message(f"mode-collapse alert at step {rec.step}: {rec.alert} ({note})")

    # the same mode-collapse monitor (and history) as the studio's Modes panel, so a run
    # trained here opens there with it; it scores image runs only, here on this thread
    callbacks = [ProgressReporter(bar.update), RunMonitor(trainer, on_record=on_record)] if main else []
    try:
        with _stop_on_signals(stop):
            result = trainer.train(callbacks=callbacks, should_abort=stop.is_set)
    except KeyboardInterrupt:
        # a second signal while the first one's save ran: the save was abandoned whole
        bar.close()
        if not main:
            return EXIT_INTERRUPTED
        slots = trainer.run.checkpoint_slots()
        last = f"the last complete checkpoint is step {slots[-1].step}" if slots else "no checkpoint"
        print(f"genstudio: interrupted again; not saved ({last}). Resume with "
              f"`genstudio train --resume {trainer.run.path}`", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    if not main:
        return {"aborted": EXIT_INTERRUPTED, "nonfinite": EXIT_NONFINITE}.get(result.reason, 0)
    if result.reason == "aborted":
        print(f"genstudio: interrupted; saved at step {result.step}. Resume with "
              f"`genstudio train --resume {trainer.run.path}`", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.reason == "nonfinite":
        print(f"genstudio: paused: {result.message}", file=sys.stderr)
        return EXIT_NONFINITE
    print(f"genstudio: finished step {result.step}; run folder {trainer.run.path}", file=sys.stderr)
    return 0


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event):
    """Ctrl-C, SIGTERM (a scheduler, a shutdown) and SIGHUP (a closed terminal or laptop
    session) all stop cleanly: finish the step, save, exit. A second signal abandons the
    save (KeyboardInterrupt; the atomic save leaves the previous checkpoint whole)."""
    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield                       # signal handlers can only be set from the main thread
        return
    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _print_scan_report(trainer) -> None:
    """A folder's skipped files never pass in silence: one line here, the full list in the
    run folder."""
    report = getattr(trainer.dataset, "report", None)
    if report is None or not report.skipped or trainer.run is None:
        return
    path = trainer.run.path / "data_report.txt"
    try:
        report.write(path)
        where = f"; full list in {path}"
    except OSError:
        where = ""
    print(f"genstudio: data: {report.one_line()}{where}", file=sys.stderr)


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
def _temperature(text: str) -> float:
    try:
        t = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= t <= 2.0:
        raise argparse.ArgumentTypeError(f"{text}: a temperature is between 0 and 2")
    return t


def cmd_sample(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .export import export_grid, provenance
    from .training import samples_from_run

    labels = None
    if args.label is not None:
        labels = np.full(args.n, args.label, np.int64)
    samples, trainer = samples_from_run(args.run_dir, args.n, seed=args.seed, labels=labels,
                                        device=args.device, max_bytes=MAX_SAMPLE_BYTES,
                                        temperature=args.temperature)
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
