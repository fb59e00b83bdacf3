"""`genstudio`: the studio window with no arguments; `train`, `sample`, `translate`, `eval`
headless.

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

    r = sub.add_parser("translate", help="translate images with a trained translator run "
                       "(pix2pix, CycleGAN, SRGAN)", description=(
                           "Translate images with a trained pix2pix, CycleGAN or SRGAN run and "
                           "write OUT.npy (float32 (N, C, H, W) in [0, 1]) and OUT.png (a grid)."))
    r.add_argument("run_dir")
    r.add_argument("--input", required=True, metavar="FILE.npy|FOLDER|test",
                   help="a .npy of images (uint8 0..255 or float in [0, 1]; (N, C, H, W), or "
                        "(N, H, W) for one channel), a folder of images of the run's size "
                        "(sorted by path; colour is converted to the run's channels), or "
                        "'test': the run's own test split (./test for a folder named test)")
    r.add_argument("--out", required=True, help="writes OUT.npy (float32) and OUT.png (a grid)")
    r.add_argument("--direction", choices=("ab", "ba"), default="ab",
                   help="ab (default): source side -> target side; ba: target -> source "
                        "(engines that translate back: cyclegan)")
    r.add_argument("--n", type=_count(1, 10**6),
                   help="translate the first N inputs (default: every image of a file or "
                        "folder, 64 of the test split)")
    r.add_argument("--seed", type=_seed,
                   help="with --input test: N test images drawn with this seed (the ones "
                        "`genstudio sample --seed` translates) instead of the first N")
    r.add_argument("--device", default="cpu")
    r.set_defaults(func=cmd_translate)

    e = sub.add_parser("eval", help="print the metrics of a trained run as JSON")
    e.add_argument("run_dir")
    e.add_argument("--n", type=_count(1, 10**6), default=10000,
                   help="samples to score (default 10,000; 2D mixtures use 2,500 as in PacGAN; "
                        "translators: the test images of each side used)")
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
              "`genstudio train|sample|translate|eval` (see `genstudio --help`)", file=sys.stderr)
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
    from .training import samples_from_run

    labels = None
    if args.label is not None:
        labels = np.full(args.n, args.label, np.int64)
    samples, trainer = samples_from_run(args.run_dir, args.n, seed=args.seed, labels=labels,
                                        device=args.device, max_bytes=MAX_SAMPLE_BYTES,
                                        temperature=args.temperature)
    _write_samples(args.out, samples, trainer, args.seed)
    return 0


def _write_samples(out: str, samples: np.ndarray, trainer, seed: Optional[int],
                   extra: Optional[dict] = None) -> None:
    """OUT.npy (float32, as given) and OUT.png (a grid carrying the provenance), for
    `sample` and `translate`."""
    from .export import export_grid, provenance
    base = Path(out)
    if base.suffix.lower() in (".npy", ".png"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    npy, png = base.with_name(base.name + ".npy"), base.with_name(base.name + ".png")
    np.save(npy, samples.astype(np.float32), allow_pickle=False)
    reference = None
    if samples.ndim == 2:
        reference = trainer.dataset.test_x[:2000]
    export_grid(png, samples, provenance(
        config_toml=trainer.config.to_toml(), seed=seed, step=trainer.step,
        checkpoint_sha256=trainer.run.checkpoint_sha256(), engine=trainer.engine.name,
        extra=extra), reference=reference)
    print(f"genstudio: wrote {npy} {samples.shape} and {png} (step {trainer.step})", file=sys.stderr)


# -- translate ---------------------------------------------------------------------------------
TEST_INPUT_N = 64
FOLDER_SIZES_LISTED = 10


def _shape_text(shape: tuple[int, ...]) -> str:
    c, h, w = shape
    return f"(N, {c}, {h}, {w})" + (f" or (N, {h}, {w})" if c == 1 else "")


def _side_name(ds, back: bool) -> str:
    """"source side (edges)" / "target side (digits)" for messages."""
    i = 1 if back else 0
    side = "target side" if back else "source side"
    names = tuple(ds.sides or ())
    return f"{side} ({names[i]})" if len(names) == 2 and names[i] else side


def read_npy_images(path: Path, shape: tuple[int, ...], what: str,
                    n: Optional[int] = None) -> np.ndarray:
    """The first n images of a .npy file as float32 (N, C, H, W) in [0, 1]: uint8 0..255 or
    float in [0, 1], (N, C, H, W) or (N, H, W) for one channel. Anything else is refused
    with a message naming the expected shape."""
    from .data import DataError
    try:
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as e:
        raise DataError(f"--input {path}: not a readable .npy array ({e})") from None
    if not isinstance(a, np.ndarray):
        raise DataError(f"--input {path}: a .npz archive; give one .npy array of images")
    c, h, w = shape
    got = tuple(a.shape)
    if a.ndim == 3 and c == 1 and got[1:] == (h, w):
        a = a[:, None]
    if a.ndim != 4 or tuple(a.shape[1:]) != tuple(shape):
        raise DataError(f"--input {path}: expected images of shape {_shape_text(shape)} for "
                        f"this run's {what}, got {got}")
    if len(a) == 0:
        raise DataError(f"--input {path}: holds no images (shape {got})")
    a = np.asarray(a[:n] if n is not None else a)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if not np.issubdtype(a.dtype, np.floating):
        raise DataError(f"--input {path}: expected uint8 images (0..255) or float images in "
                        f"[0, 1], got dtype {a.dtype}")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise DataError(f"--input {path}: holds NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise DataError(f"--input {path}: float images must be in [0, 1]; these range from "
                        f"{lo:.4g} to {hi:.4g} (uint8 images may use 0..255)")
    return a


def read_folder_images(root: Path, shape: tuple[int, ...], what: str,
                       n: Optional[int] = None, say=None) -> np.ndarray:
    """Every image of a folder (sorted by path, subfolders searched; the scan report says
    what was skipped and why) as float32 (N, C, H, W) in [0, 1]. Each must be H x W pixels
    already: images of another size are refused, not resized (a translator means something
    only at the size it was trained on). Colour images are converted to the run's channels
    (ITU-R 601 luma for one channel), as data folders are."""
    from PIL import Image
    from .data import DataError
    from .data.folder import scan_folder
    say = say or (lambda s: None)
    c, h, w = shape
    if h != w:
        raise DataError(f"--input {root}: this run's {what} is {h}x{w} pixels and folders are "
                        f"read as square images; give a .npy of shape {_shape_text(shape)}")
    paths: list[Path] = []
    images, _, _, report = scan_folder(root, resolution=h, channels=str(c), loaded_paths=paths)
    say(report.one_line("input folder"))
    for f in report.skipped[:20]:
        say(f"  skipped {f.path}: {f.reason}")
    if len(report.skipped) > 20:
        say(f"  ... and {len(report.skipped) - 20:,} more skipped")
    if not len(images):
        raise DataError(f"--input {root}: no image could be loaded\n" + report.summary(limit=20))
    wrong = []
    for rel in paths:
        try:
            with Image.open(root / rel) as im:
                size = im.size
        except OSError:               # it was just read; only a file changing under us
            size = None
        if size != (w, h):
            wrong.append(f"{rel} {size[0]}x{size[1]}" if size else f"{rel} (unreadable now)")
    if wrong:
        listed = ", ".join(wrong[:FOLDER_SIZES_LISTED]) + (
            f", ... ({len(wrong) - FOLDER_SIZES_LISTED:,} more)" if len(wrong) > FOLDER_SIZES_LISTED else "")
        raise DataError(f"--input {root}: expected images of {w}x{h} pixels for this run's "
                        f"{what} (shape {_shape_text(shape)}); {len(wrong):,} of {len(paths):,} "
                        f"have another size: {listed}. Resize them first; images are not resized "
                        f"here")
    if n is not None:
        images, paths = images[:n], paths[:n]
    say(f"rows follow the sorted file paths: first {paths[0]}, last {paths[-1]}")
    return images.astype(np.float32) / 255.0


def cmd_translate(args: argparse.Namespace) -> int:
    import torch
    from .config import ConfigError
    from .data import DataError
    from .training import Trainer, translator_inputs
    from .translation_metrics import batch_size

    say = lambda s: print(f"genstudio: {s}", file=sys.stderr)   # noqa: E731
    trainer = Trainer.load(args.run_dir, device=args.device)
    engine, ds = trainer.engine, trainer.dataset
    caps = engine.capabilities
    if "translate" not in caps:
        raise ConfigError(f"{args.run_dir} is a {engine.name} run: it draws samples rather than "
                          f"translating images; use `genstudio sample {args.run_dir} --out OUT`")
    back = args.direction == "ba"
    src_shape = tuple(ds.spec.source_shape)
    tgt_shape = tuple(ds.spec.sample_shape)
    if back and "translate_back" not in caps:
        raise ConfigError(f"--direction ba: the {engine.name} engine translates one way only, "
                          f"{_side_name(ds, False)} -> {_side_name(ds, True)}; translating back "
                          f"needs an engine that learns both ways (cyclegan)")
    shape, out_shape = (tgt_shape, src_shape) if back else (src_shape, tgt_shape)
    what = _side_name(ds, back)
    if args.input == "test":
        pool = ds.test_x if back else ds.test_x2
        if pool is None or not len(pool):
            raise DataError("--input test: this run holds no test split (data.test_fraction = "
                            "0); give --input FILE.npy or FOLDER")
        n = args.n or TEST_INPUT_N
        if args.seed is None:
            if n > len(pool):
                say(f"the test split holds {len(pool):,} {what} images; translating all of them")
            x = pool[:n].astype(np.float32) / 255.0
        else:
            g = torch.Generator().manual_seed(args.seed)
            if back:
                m = len(pool)
                idx = (torch.randperm(m, generator=g)[:n] if n <= m
                       else torch.randint(0, m, (n,), generator=g))
                x = pool[idx.numpy()].astype(np.float32) / 255.0
            else:          # exactly the test sources `genstudio sample --seed` translates
                x = translator_inputs(trainer, n, g).float().cpu().numpy()
    else:
        path = Path(args.input)
        if path.is_dir():
            x = read_folder_images(path, shape, what, args.n, say)
        else:
            x = read_npy_images(path, shape, what, args.n)
    need = 4 * len(x) * int(np.prod(out_shape))
    if need > MAX_SAMPLE_BYTES:
        raise ConfigError(f"{len(x):,} translations need {need / 2**30:.1f} GiB; at most "
                          f"{MAX_SAMPLE_BYTES // (4 * int(np.prod(out_shape))):,} at a time "
                          f"(use --n)")
    fn = engine.translate_back if back else engine.translate
    bs = batch_size(max(shape, out_shape, key=lambda s: int(np.prod(s))))
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            xb = torch.from_numpy(np.ascontiguousarray(x[i:i + bs])).to(trainer.device)
            outs.append(fn(xb).float().cpu().numpy())
    engine.train(True)
    out = np.concatenate(outs)
    say(f"translated {len(x):,} {what} images {'x'.join(map(str, shape))} -> "
        f"{'x'.join(map(str, out_shape))} with {engine.name}")
    _write_samples(args.out, out, trainer, args.seed,
                   extra={"input": str(args.input), "direction": args.direction})
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
