"""Run configuration: TOML with [run], [data], [model], [optim] sections.

Every section is validated against a dataclass built from `engines.params.param` fields, so
unknown keys and bad values fail with a message that names the key and what is allowed.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import tomli_w

from engines import OptimConfig, get_engine, engine_names, param
from .device import DEVICE_CHOICES
from .options import build_options, show, show_key


class ConfigError(ValueError):
    """A config cannot be used; the message names the key and the valid choices."""


# The Qt form's int spin box stops at 2**31 - 1, so any larger seed could not be shown or
# re-entered there; torch, numpy and the preview's seed + EVAL_Z_SEED_OFFSET (studio/
# training.py) all take far larger values, so this leaves every consumer room to spare.
SEED_MAX = 2 ** 31 - 1
PRECISIONS = ("fp32", "bf16", "fp16")
STEPS_MAX = 10 ** 9             # ~forever at any speed; keeps step arithmetic in int64
MAX_CONFIG_BYTES = 1 << 20      # real configs are ~1 kB; refuse before reading a huge file


@dataclass
class RunSection:
    seed: int = param(0, "Seed for weights, batches and noise: the same seed gives the same run.",
                      min=0, max=SEED_MAX)
    device: str = param("auto", "Where to train: auto picks CUDA, then MPS, then the CPU.",
                        choices=DEVICE_CHOICES)
    steps: int = param(5000, "Training steps (optimizer updates) to run.", min=1, max=STEPS_MAX,
                       structural=False)
    batch_size: int = param(128, "Examples per training step.", min=1, max=65536)
    # One thread: with two on a 2-core machine that is also drawing the window (or running
    # anything else) every op waits for a descheduled partner; measured 5-30x slower
    threads: int = param(1, "CPU threads for PyTorch. 1 is the safe choice on a laptop or a "
                            "busy machine; 0 chooses from the usable cores (faster for big "
                            "models on an idle machine). Applies when the run is next "
                            "opened.", min=0, max=256, structural=False, applies="reopen")
    log_every: int = param(50, "Steps between metric read-backs (one device sync each).", min=1,
                           max=STEPS_MAX, structural=False)
    sample_every: int = param(500, "Steps between fixed-z sample snapshots.", min=1,
                              max=STEPS_MAX, structural=False)
    checkpoint_every: int = param(1000, "Steps between checkpoints.", min=1, max=STEPS_MAX,
                                  structural=False)
    keep_checkpoints: int = param(2, "Checkpoints kept on disk (the newest); older ones are removed "
                                  "only after a newer one is complete.", min=1, max=1000,
                                  structural=False)
    preview_samples: int = param(64, "Fixed-z samples in each snapshot grid.", min=1, max=1024)
    # bf16 on a CPU without bf16 units is 4-14x slower (bench/device_speed.py, docs/benchmarks.md)
    precision: str = param("fp32", "Arithmetic of training steps: 'fp32'; 'bf16' (autocast to "
                                   "bfloat16: for GPUs and CPUs with bf16 units; elsewhere it "
                                   "is slower); 'fp16' (autocast with loss scaling: CUDA GPUs "
                                   "only). Weights and checkpoints stay float32. Applies when "
                                   "the run is next opened.",
                           choices=PRECISIONS, structural=False, applies="reopen")


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
            d[name] = {**d.get(name, {}), **changes}
        return config_from_dict(d)


def default_config(engine: str = "vae", data: Optional[str] = None) -> RunConfig:
    """The engine's defaults on `data` (default: the engine's own default data set, MNIST
    unless it names another, as translators do)."""
    if data is None:
        data = get_engine(engine).default_data or "mnist"
    return config_from_dict({"data": {"name": data}, "model": {"engine": engine}})


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder, not a config file")
        if not path.exists():
            raise ConfigError(f"{path}: no such config file")
        if not path.is_file():      # a FIFO or device would block or never end
            raise ConfigError(f"{path}: not a regular file")
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config ({e.strerror or e})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: too large for a config file (over {MAX_CONFIG_BYTES} bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "config") -> RunConfig:
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: nested too deeply") from None
    except ValueError as e:         # e.g. an integer past Python's 4300-digit limit
        raise ConfigError(f"{source}: not valid TOML: {str(e).split(':')[0]}") from None
    try:
        return config_from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def config_from_dict(d: Mapping[str, Any]) -> RunConfig:
    from .data import DATA_SOURCES  # late: keeps `import studio.core.config` light

    if not isinstance(d, Mapping):
        raise ConfigError(f"a config must be a table of sections, got {type(d).__name__}")
    sections = ("run", "data", "model", "optim")
    unknown = [k for k in d if k not in sections]
    if unknown:
        raise ConfigError(f"unknown section [{show_key(unknown[0])}]; valid sections: "
                          + ", ".join(f"[{s}]" for s in sections))
    for s in sections:
        if s in d and not isinstance(d[s], Mapping):
            raise ConfigError(f"[{s}] must be a table of keys, got {type(d[s]).__name__}")

    run = build_section(RunSection, d.get("run", {}), "run")

    data = dict(d.get("data", {}))
    data_name = data.pop("name", "mnist")
    if not isinstance(data_name, str):
        raise ConfigError(f"data.name: expected text, got {show(data_name)}; choose one of "
                          + ", ".join(sorted(DATA_SOURCES)))
    if data_name not in DATA_SOURCES:
        raise ConfigError(f"data.name: unknown data set {show(data_name)}; choose one of "
                          + ", ".join(sorted(DATA_SOURCES)))
    data_opts = build_section(DATA_SOURCES[data_name].options, data, "data")

    model = dict(d.get("model", {}))
    engine = model.pop("engine", None)
    if engine is None:
        raise ConfigError("model.engine is missing; choose one of " + ", ".join(engine_names()))
    if not isinstance(engine, str):
        raise ConfigError(f"model.engine: expected text, got {show(engine)}; choose one of "
                          + ", ".join(engine_names()))
    if engine not in engine_names():
        raise ConfigError(f"model.engine: unknown engine {show(engine)}; choose one of "
                          + ", ".join(engine_names()))
    engine_cls = get_engine(engine)
    model_cfg = build_section(engine_cls.Config, model, "model")
    # checks that need [run] as well as [model] (e.g. GAN packs must divide the batch);
    # here, so a bad pairing fails when the config is read, not steps into a run
    check_batch = getattr(model_cfg, "validate_batch", None)
    if callable(check_batch):
        try:
            check_batch(run.batch_size)
        except ValueError as e:
            raise ConfigError(str(e)) from None

    optim = build_section(OptimConfig, d.get("optim", {}), "optim")
    return RunConfig(run=run, data_name=data_name, data=data_opts, engine=engine,
                     model=model_cfg, optim=optim)


def build_section(cls: type, values: Mapping[str, Any], section: str) -> Any:
    return build_options(cls, values, section, ConfigError)


def live_keys(config: RunConfig, applies: Optional[str] = None) -> set[tuple[str, str]]:
    """(section, key) of every value that may change without a new model: the fields marked
    structural=False; with `applies`, only those that take effect then ("step" or "reopen")."""
    sections = {"run": type(config.run), "model": type(config.model), "optim": type(config.optim)}
    return {(name, f.name) for name, cls in sections.items() for f in dataclasses.fields(cls)
            if not f.metadata.get("structural", True)
            and (applies is None or f.metadata.get("applies", "step") == applies)}


def structural_changes(old: RunConfig, new: RunConfig) -> list[str]:
    """Keys whose change needs a new model: anything not marked structural=False."""
    changed = []
    old_d, new_d = old.to_dict(), new.to_dict()
    live = live_keys(old)
    for section in old_d:
        for key in set(old_d[section]) | set(new_d[section]):
            if old_d[section].get(key) != new_d[section].get(key) and (section, key) not in live:
                changed.append(f"{section}.{key}")
    return sorted(changed)


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(obj).items()}
