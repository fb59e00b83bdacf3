"""Run configuration: TOML with [run], [data], [model], [optim] sections.

Every section is validated against a dataclass built from `engines.params.param` fields, so
unknown keys and bad values fail with a message that names the key and what is allowed.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from engines import OptimConfig, get_engine, engine_names, param
from .device import DEVICE_CHOICES
from .options import build_options


class ConfigError(ValueError):
    """A config cannot be used; the message names the key and the valid choices."""


@dataclass
class RunSection:
    seed: int = param(0, "Seed for weights, batches and noise: the same seed gives the same run.")
    device: str = param("auto", "Where to train: auto picks CUDA, then MPS, then the CPU.",
                        choices=DEVICE_CHOICES)
    steps: int = param(2000, "Training steps (optimizer updates) to run.", min=1, structural=False)
    batch_size: int = param(128, "Examples per training step.", min=1, max=65536)
    threads: int = param(0, "CPU threads for PyTorch; 0 chooses from the usable cores.", min=0, max=256)
    log_every: int = param(50, "Steps between metric read-backs (one device sync each).", min=1, structural=False)
    sample_every: int = param(500, "Steps between fixed-z sample snapshots.", min=1, structural=False)
    checkpoint_every: int = param(1000, "Steps between checkpoints.", min=1, structural=False)
    preview_samples: int = param(64, "Fixed-z samples in each snapshot grid.", min=1, max=1024)


@dataclass
class RunConfig:
    run: RunSection
    data_name: str
    data: Any              # the data source's options dataclass
    engine: str
    model: Any             # the engine's Config dataclass
    optim: OptimConfig = field(default_factory=OptimConfig)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": _asdict(self.run),
            "data": {"name": self.data_name, **_asdict(self.data)},
            "model": {"engine": self.engine, **_asdict(self.model)},
            "optim": _asdict(self.optim),
        }

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        from .atomic import write_text
        write_text(path, self.to_toml())

    def replace(self, **sections: Mapping[str, Any]) -> "RunConfig":
        """A new config with some keys changed, e.g. replace(run={"steps": 10})."""
        d = self.to_dict()
        for name, changes in sections.items():
            d[name] = {**d[name], **changes}
        return config_from_dict(d)


def default_config(engine: str = "vae", data: str = "mnist") -> RunConfig:
    return config_from_dict({"data": {"name": data}, "model": {"engine": engine}})


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config ({e})") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "config") -> RunConfig:
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    try:
        return config_from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def config_from_dict(d: Mapping[str, Any]) -> RunConfig:
    from .data import DATA_SOURCES  # late: keeps `import studio.config` light

    sections = ("run", "data", "model", "optim")
    unknown = sorted(set(d) - set(sections))
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}]; valid sections: "
                          + ", ".join(f"[{s}]" for s in sections))
    for s in sections:
        if s in d and not isinstance(d[s], Mapping):
            raise ConfigError(f"[{s}] must be a table of keys, got {type(d[s]).__name__}")

    run = build_section(RunSection, d.get("run", {}), "run")

    data = dict(d.get("data", {}))
    data_name = data.pop("name", "mnist")
    if data_name not in DATA_SOURCES:
        raise ConfigError(f"data.name: unknown data set {data_name!r}; choose one of "
                          + ", ".join(sorted(DATA_SOURCES)))
    data_opts = build_section(DATA_SOURCES[data_name].options, data, "data")

    model = dict(d.get("model", {}))
    engine = model.pop("engine", None)
    if engine is None:
        raise ConfigError("model.engine is missing; choose one of " + ", ".join(engine_names()))
    try:
        engine_cls = get_engine(engine)
    except ValueError as e:
        raise ConfigError(f"model.engine: {e}") from None
    model_cfg = build_section(engine_cls.Config, model, "model")

    optim = build_section(OptimConfig, d.get("optim", {}), "optim")
    return RunConfig(run=run, data_name=data_name, data=data_opts, engine=engine,
                     model=model_cfg, optim=optim)


def build_section(cls: type, values: Mapping[str, Any], section: str) -> Any:
    return build_options(cls, values, section, ConfigError)


def structural_changes(old: RunConfig, new: RunConfig) -> list[str]:
    """Keys whose change needs a new model (anything but fields marked structural=False,
    and run keys that only affect bookkeeping)."""
    changed = []
    old_d, new_d = old.to_dict(), new.to_dict()
    live = {("optim", f.name) for f in dataclasses.fields(OptimConfig) if not f.metadata["structural"]}
    live |= {("model", f.name) for f in dataclasses.fields(type(old.model))
             if not f.metadata.get("structural", True)}
    live |= {("run", f.name) for f in dataclasses.fields(RunSection)
             if not f.metadata.get("structural", True)}
    live.add(("run", "threads"))    # only speed; applied when the run is (re)opened
    for section in old_d:
        for key in set(old_d[section]) | set(new_d[section]):
            if old_d[section].get(key) != new_d[section].get(key) and (section, key) not in live:
                changed.append(f"{section}.{key}")
    return sorted(changed)


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(obj).items()}
