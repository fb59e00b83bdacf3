"""A run is a folder:

    config.toml          the full config (what `genstudio train` reads back on resume)
    weights.safetensors  every tensor of the engine, with metadata (engine, step, config)
    state.pt             optimizer state, RNG states, data order, step
                         (plain tensors and containers only: loaded with weights_only=True)
    metrics.jsonl        one JSON object per metrics tick
    evaluations.jsonl    one JSON object per `genstudio eval` / Evaluate (step, n, seed, metrics)
    status.json          state (running, paused, finished, stopped, failed) and a message
    samples/             fixed-z snapshots: step_0000500.png (images) or .npy (points)

Writes are atomic, so a crash during a save leaves the previous checkpoint whole.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import __version__
from .atomic import clean_stale_temps, write_text, write_with
from .config import RunConfig, load_config

FORMAT = "genstudio-checkpoint-1"
RUN_STATES = ("new", "running", "paused", "finished", "stopped", "failed")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used; the message says which file and why."""


@dataclass
class Checkpoint:
    step: int
    weights: dict[str, torch.Tensor]
    state: dict[str, Any]
    metadata: dict[str, str]


class Run:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- layout ---------------------------------------------------------------------------
    config_path = property(lambda self: self.path / "config.toml")
    weights_path = property(lambda self: self.path / "weights.safetensors")
    state_path = property(lambda self: self.path / "state.pt")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    status_path = property(lambda self: self.path / "status.json")
    evaluations_path = property(lambda self: self.path / "evaluations.jsonl")
    samples_dir = property(lambda self: self.path / "samples")

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "Run":
        run = cls(path)
        if run.config_path.exists():
            raise FileExistsError(f"{run.path} already holds a run; resume it or choose another folder")
        run.path.mkdir(parents=True, exist_ok=True)
        config.save(run.config_path)
        run.write_status("new", "created")
        return run

    @classmethod
    def open(cls, path: str | Path) -> "Run":
        run = cls(path)
        if not run.config_path.is_file():
            raise CheckpointError(f"{run.path} is not a run folder (no config.toml)")
        clean_stale_temps(run.path)
        if run.samples_dir.is_dir():
            clean_stale_temps(run.samples_dir)
        return run

    def config(self) -> RunConfig:
        return load_config(self.config_path)

    def has_checkpoint(self) -> bool:
        return self.weights_path.is_file() and self.state_path.is_file()

    # -- checkpoints ----------------------------------------------------------------------
    def save_checkpoint(self, step: int, engine_name: str, weights: dict[str, torch.Tensor],
                        state: dict[str, Any], config_toml: str) -> None:
        """Weights first, then state; each atomically. Both carry the step, so a crash
        between the two renames is detected on load rather than silently mixed."""
        meta = {"format": FORMAT, "engine": engine_name, "step": str(step), "config": config_toml,
                "app_version": __version__, "torch_version": torch.__version__,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        cpu_weights = {k: v.detach().to("cpu").contiguous() for k, v in weights.items()}
        write_with(self.weights_path, lambda tmp: save_file(cpu_weights, str(tmp), metadata=meta))
        payload = {"format": FORMAT, "step": step, **state}
        write_with(self.state_path, lambda tmp: torch.save(payload, tmp))

    def load_checkpoint(self, expected_engine: Optional[str] = None) -> Checkpoint:
        if not self.has_checkpoint():
            raise CheckpointError(f"{self.path}: no checkpoint yet (weights.safetensors and state.pt)")
        weights, meta = read_weights(self.weights_path)
        engine = meta.get("engine")
        if expected_engine is not None and engine != expected_engine:
            raise CheckpointError(
                f"{self.weights_path} was saved by the {engine!r} engine, but this run's config "
                f"uses {expected_engine!r}; open it with a matching config")
        state = read_state(self.state_path)
        step = int(meta.get("step", -1))
        if state.get("step") != step:
            raise CheckpointError(
                f"{self.path}: weights are from step {step} but state.pt is from step "
                f"{state.get('step')} (a save was interrupted between the two files)")
        return Checkpoint(step=step, weights=weights, state=state, metadata=meta)

    def checkpoint_sha256(self) -> str:
        return sha256_file(self.weights_path) if self.weights_path.is_file() else ""

    # -- metrics, status, samples -----------------------------------------------------------
    def append_metrics(self, records: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, allow_nan=True) + "\n" for r in records)
        if lines:
            with open(self.metrics_path, "a", encoding="utf-8") as f:
                f.write(lines)

    def truncate_metrics(self, after_step: int) -> None:
        """Drop metric lines past `after_step` (used on resume, so a run resumed from an
        earlier checkpoint does not keep curves of steps that are being redone)."""
        records = [r for r in self.read_metrics() if r.get("step", 0) <= after_step]
        write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in records))

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return []
        out = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: skip it, keep the rest
        return out

    def append_evaluation(self, record: dict[str, Any]) -> None:
        with open(self.evaluations_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def read_evaluations(self) -> list[dict[str, Any]]:
        if not self.evaluations_path.is_file():
            return []
        out = []
        for line in self.evaluations_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def write_status(self, state: str, message: str = "", step: Optional[int] = None) -> None:
        assert state in RUN_STATES, state
        write_text(self.status_path, json.dumps(
            {"state": state, "message": message, "step": step,
             "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=1))

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {"state": "new", "message": "", "step": None}

    def snapshot_path(self, step: int, points: bool) -> Path:
        return self.samples_dir / f"step_{step:07d}.{'npy' if points else 'png'}"

    def snapshots(self) -> list[tuple[int, Path]]:
        if not self.samples_dir.is_dir():
            return []
        out = []
        for p in self.samples_dir.glob("step_*.*"):
            try:
                out.append((int(p.stem.split("_")[1]), p))
            except (IndexError, ValueError):
                continue
        return sorted(out)

    def save_points_snapshot(self, step: int, points: np.ndarray) -> None:
        write_with(self.snapshot_path(step, True), lambda tmp: _save_npy(tmp, points))


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = Path(path)
    try:
        weights = load_file(str(path))
        with open(path, "rb") as f:
            header_len = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(header_len))
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from None
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Generative Studio checkpoint "
                              f"(format {meta.get('format')!r}, expected {FORMAT!r})")
    return weights, meta


def read_state(path: str | Path) -> dict[str, Any]:
    """Never unpickles arbitrary objects: weights_only=True refuses anything but tensors
    and plain containers, so a tampered file cannot run code."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointError(
            f"refused to load {path}: it holds Python objects other than tensors and plain "
            f"containers, which could run code when unpickled. Nothing was executed. ({first})"
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise CheckpointError(f"{path} is corrupt or unreadable ({e})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Generative Studio training state")
    return state


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
