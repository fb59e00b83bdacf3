"""Presets: the ready configs in examples/*.toml, for the window's preset picker and
File > New run from example (Qt-free).

A preset is one TOML file; its name is the file's stem and its description the file's first
line (a comment of one sentence). The folder sits beside the packages in a clone (found from
this file, so `pip install -e .` works from anywhere); GENSTUDIO_EXAMPLES_DIR points
elsewhere.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .config import ConfigError, RunConfig, load_config
from .paths import EXAMPLES


# The preset a new run of this engine on this data set starts from, where the engine's plain
# defaults are not the best first hour (see docs/benchmarks.md, "First hour").
STARTERS = {
    ("ae", "mnist"): "ae-mnist-quick",
    ("vae", "mnist"): "vae-mnist-quick",
    ("ddpm", "mnist"): "ddpm-mnist-quick",
    ("gan", "mnist"): "gan-mnist-mlp",
    ("ae", "ring8"): "ae-ring8",
    ("gan", "grid25"): "gan-grid25-best",
    ("vae", "moons"): "vae-moons",
    ("ddpm", "moons"): "ddpm-moons",
    ("flow", "mnist"): "flow-mnist",
    ("flow", "moons"): "flow-moons",
    ("flow", "ring8"): "flow-ring8",
    ("flow", "shapes"): "flow-shapes",
}


@dataclass(frozen=True)
class Preset:
    name: str           # the file's stem, e.g. "vae-mnist"
    path: Path
    description: str    # one line, from the file's first comment
    engine: str
    data: str

    def config(self) -> RunConfig:
        return load_config(self.path)


def examples_dir() -> Path:
    return Path(os.environ.get("GENSTUDIO_EXAMPLES_DIR") or EXAMPLES)


def description_of(text: str) -> str:
    """The first line's comment, without '#': the one-line description."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    return first.lstrip("#").strip() if first.startswith("#") else ""


def read_preset(path: Path) -> Preset:
    """Cheap: reads the TOML for engine and data names, without building the config."""
    try:
        text = path.read_text(encoding="utf-8")
        d = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read preset ({e})") from None
    model, data = d.get("model", {}), d.get("data", {})
    return Preset(name=path.stem, path=path, description=description_of(text),
                  engine=str(model.get("engine", "")) if isinstance(model, dict) else "",
                  data=str(data.get("name", "mnist")) if isinstance(data, dict) else "")


def list_presets(engine: Optional[str] = None, data: Optional[str] = None) -> list[Preset]:
    """Every examples/*.toml (by name), optionally only those of one engine and/or data set.
    An unreadable file is left out rather than hiding the others."""
    folder = examples_dir()
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.toml"), key=lambda p: p.stem):
        try:
            p = read_preset(path)
        except ConfigError:
            continue
        if (engine is None or p.engine == engine) and (data is None or p.data == data):
            out.append(p)
    return out


def find_preset(name: str) -> Preset:
    path = examples_dir() / f"{name}.toml"
    if "/" in name or "\\" in name or not path.is_file():
        known = ", ".join(p.name for p in list_presets()) or "none"
        raise ConfigError(f"unknown preset {name!r}; presets: {known}")
    return read_preset(path)


def load_preset(name: str) -> RunConfig:
    """The validated RunConfig of examples/NAME.toml (ConfigError names what is wrong)."""
    return find_preset(name).config()


def starter_preset(engine: str, data: str) -> Optional[Preset]:
    """The preset a new run of `engine` on `data` should start from, or None when the
    engine's defaults are the starting point."""
    name = STARTERS.get((engine, data))
    if name is None or not (examples_dir() / f"{name}.toml").is_file():
        return None
    return find_preset(name)
