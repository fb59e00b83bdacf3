"""Ready-trained example runs, shipped in assets/runs/<name>/ (Qt-free).

Each is an ordinary run folder (config.toml, checkpoints/, metrics.jsonl, status.json,
samples/, mode_monitor.jsonl for images, evaluations.jsonl) plus about.json
({"title", "description"}, as `Run.about` reads it) and thumbnail.png. They are trained by
the project's own presets, with a fixed seed, by one command:

    python -m studio.core.example_runs build [--only NAME,...] [--out DIR]

(reproducible on the same torch and CPU: one thread, seeded). Opening one copies it into the
runs folder first (`copy_example_run`), so it trains further there and the shipped copy
never changes. `python -m studio.core.example_runs list` prints what is shipped.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence
from .paths import ASSETS

ASSETS_RUNS = ASSETS / "runs"
THUMBNAIL = "thumbnail.png"
MAX_TOTAL_BYTES = 20 * 10 ** 6          # "20 MB", in decimal megabytes


@dataclass(frozen=True)
class Recipe:
    """How one shipped run is made: a preset, and [run] changes that keep it small."""
    name: str
    preset: str
    title: str
    description: str
    run: dict[str, Any] = field(default_factory=dict)


# keep_checkpoints 1 and a few snapshots: the folder is the shipped size
_COMPACT = {"keep_checkpoints": 1, "device": "cpu", "threads": 1}
RECIPES = (
    Recipe("ae-mnist", "ae-mnist-quick", "Autoencoder on MNIST",
           "An MLP autoencoder with a 16-number code. Samples are decoded from a Gaussian "
           "fitted to the codes of the training digits: try the latent explorer's sliders.",
           {**_COMPACT, "sample_every": 1000}),
    Recipe("vae-mnist", "vae-mnist-quick", "Variational autoencoder on MNIST",
           "An MLP VAE with a 16-dimensional latent: samples from the prior are soft, "
           "recognisable digits; the ELBO plot shows reconstruction and KL separately.",
           {**_COMPACT, "sample_every": 1000}),
    Recipe("ddpm-mnist", "ddpm-mnist-quick", "Diffusion model (DDPM) on MNIST",
           "A small U-Net denoiser sampled with 50 DDIM steps: open the diffusion scrubber to "
           "watch noise become digits step by step.",
           {**_COMPACT, "sample_every": 1000}),
    Recipe("gan-mnist-cdcgan", "gan-mnist-cdcgan", "Conditional DCGAN on MNIST",
           "A class-conditional DCGAN: column k of the sample grid is digit k. Pick a class in "
           "the latent explorer, or sweep one code across every class.",
           {**_COMPACT, "sample_every": 1000}),
    Recipe("gan-ring8-vanilla", "gan-ring8-vanilla", "A GAN that collapses (ring8)",
           "A plain GAN on eight Gaussians in a ring: the generator covers only a few modes "
           "and hops between them. Open the 2D canvas and compare with the unrolled GAN.",
           {**_COMPACT, "sample_every": 500}),
    Recipe("gan-ring8-unrolled", "gan-ring8-unrolled", "The same GAN, fixed by unrolling (ring8)",
           "The same networks as the collapsing GAN, but the generator is trained against the "
           "discriminator 5 optimizer steps ahead (Metz et al. 2017): it covers all 8 modes.",
           {**_COMPACT, "sample_every": 500}),
)


@dataclass(frozen=True)
class ExampleRun:
    name: str
    path: Path
    title: str
    description: str
    thumbnail: Optional[Path]
    engine: str
    data: str
    step: int


def example_runs_dir() -> Path:
    return Path(os.environ.get("GENSTUDIO_EXAMPLE_RUNS_DIR") or ASSETS_RUNS)


def read_example_run(path: Path) -> ExampleRun:
    from .runs import Run
    run = Run(path)
    about = run.about()
    try:
        d = tomllib.loads(run.config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        d = {}
    try:
        step = int(json.loads(run.status_path.read_text(encoding="utf-8")).get("step", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        step = 0
    thumb = path / THUMBNAIL
    return ExampleRun(name=path.name, path=path, title=about["title"],
                      description=about["description"], thumbnail=thumb if thumb.is_file() else None,
                      engine=str(d.get("model", {}).get("engine", "")),
                      data=str(d.get("data", {}).get("name", "")), step=step)


def list_example_runs() -> list[ExampleRun]:
    """The shipped runs, in the order of RECIPES (then any others by name)."""
    root = example_runs_dir()
    if not root.is_dir():
        return []
    order = {r.name: i for i, r in enumerate(RECIPES)}
    folders = [p for p in root.iterdir() if p.is_dir() and (p / "config.toml").is_file()]
    folders.sort(key=lambda p: (order.get(p.name, len(order)), p.name))
    return [read_example_run(p) for p in folders]


def copy_example_run(name: str, runs_dir: str | Path) -> Path:
    """Copy the shipped run `name` into runs_dir (as NAME, or NAME-2, ... when taken) and
    return the copy's folder: a run of the user's own that opens, samples and trains on.
    The copy appears whole or not at all (copied to a temporary folder, then renamed)."""
    src = example_runs_dir() / name
    if "/" in name or "\\" in name or not (src / "config.toml").is_file():
        known = ", ".join(r.name for r in list_example_runs()) or "none"
        raise FileNotFoundError(f"no example run {name!r}; example runs: {known}")
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=runs_dir))
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        for n in range(1, 10_000):
            dest = runs_dir / (name if n == 1 else f"{name}-{n}")
            if dest.exists():
                continue
            try:
                os.rename(tmp, dest)          # fails if someone took the name meanwhile
                return dest
            except OSError:
                if not dest.exists():
                    raise
        raise FileExistsError(f"{runs_dir}: no free folder name for {name}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- building ------------------------------------------------------------------------------
def build(names: Optional[Sequence[str]] = None, out: Optional[Path] = None,
          say: Callable[[str], None] = print) -> list[Path]:
    """Train each recipe from its preset into out/<name> (replacing what is there)."""
    from .cli import main as cli_main
    from .presets import load_preset

    out = Path(out) if out is not None else ASSETS_RUNS
    recipes = [r for r in RECIPES if names is None or r.name in names]
    unknown = set(names or ()) - {r.name for r in RECIPES}
    if unknown:
        raise SystemExit(f"unknown example runs: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(r.name for r in RECIPES)}")
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for r in recipes:
        t0 = time.perf_counter()
        config = load_preset(r.preset).replace(run=r.run)
        dest = out / r.name
        with tempfile.TemporaryDirectory(prefix=f".build-{r.name}-", dir=out) as tmp:
            cfg_path, run_dir = Path(tmp) / "config.toml", Path(tmp) / r.name
            config.save(cfg_path)
            say(f"{r.name}: training examples/{r.preset}.toml ({config.run.steps} steps)")
            if cli_main(["train", str(cfg_path), "--out", str(run_dir), "--quiet"]) != 0:
                raise SystemExit(f"{r.name}: training failed")
            if dest.exists():
                shutil.rmtree(dest)
            os.rename(run_dir, dest)
        try:    # at its final place, relative: evaluations.jsonl records the path it is given
            if cli_main(["eval", _relative(dest), "--n", "2000", "--iwae-n", "500", "--quiet"]) != 0:
                raise SystemExit(f"{r.name}: evaluation failed")
            finish(dest, r)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        made.append(dest)
        say(f"{r.name}: {folder_bytes(dest) / 1e6:.2f} MB in {time.perf_counter() - t0:.0f} s")
    return made


def _relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:          # another drive (Windows)
        return str(path)


def finish(run_dir: Path, recipe: Recipe) -> None:
    """about.json (title, description) and a thumbnail: 16 samples, or 1,000 points."""
    from .evaluation import draw_samples
    from .images import image_grid, save_png, scatter_image
    from .runs import Run
    from .training import Trainer

    Run(run_dir).set_about(recipe.title, recipe.description)
    trainer = Trainer.load(run_dir, device="cpu")
    if trainer.dataset.spec.is_images:
        pixels = image_grid(draw_samples(trainer.engine, 16, seed=0), ncols=4)
    else:
        pixels = scatter_image(draw_samples(trainer.engine, 1000, seed=0), size=128,
                               reference=trainer.dataset.test_x[:1000])
    save_png(run_dir / THUMBNAIL, pixels, {"run": recipe.name, "step": str(trainer.step)})


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m studio.core.example_runs",
                                description="The ready-trained example runs in assets/runs/.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train every example run from its preset (a few CPU minutes each)")
    b.add_argument("--only", help="comma-separated names")
    b.add_argument("--out", help=f"folder (default {ASSETS_RUNS})")
    sub.add_parser("list", help="the shipped runs")
    args = p.parse_args(argv)
    if args.command == "build":
        made = build(args.only.split(",") if args.only else None,
                     Path(args.out) if args.out else None)
        total = sum(folder_bytes(m) for m in made)
        print(f"built {len(made)} run(s), {total / 1e6:.2f} MB")
        return 0
    for r in list_example_runs():
        print(f"{r.name:22} step {r.step:>6}  {folder_bytes(r.path) / 1e6:5.2f} MB  {r.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
