"""A run is a folder:

    config.toml          the full config (what `genstudio train` reads back on resume)
    checkpoints/         one folder per checkpoint, the newest K kept (run.keep_checkpoints):
      ckpt-000007-step_000001200/
        weights.safetensors  every tensor of the engine, with metadata (engine, step, config)
        state.pt             optimizer state, RNG states, data order, step
                             (plain tensors and containers only: loaded with weights_only=True)
        manifest.json        step, engine, and the size and sha256 of both files
    metrics.jsonl        one JSON object per metrics tick
    evaluations.jsonl    one JSON object per `genstudio eval` / Evaluate (step, n, seed, metrics)
    status.json          state (running, paused, finished, stopped, failed) and a message
    samples/             fixed-z snapshots: step_0000500.png (images) or .npy (points)

A checkpoint is one commit: both files and the manifest are written into a temporary folder,
fsynced, and published by one atomic rename. The sequence number orders checkpoints (the
same step can be saved twice: a GAN's single-player steps change weights without a step), and
older checkpoints are removed only after a newer one is complete. Loading verifies the
manifest's hashes and falls back to the newest complete checkpoint, saying which and why.
Runs written before this layout (weights.safetensors and state.pt at the top) still open.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from studio import __version__
from . import atomic
from .atomic import clean_stale_temps, write_text, write_with
from .config import RunConfig, load_config

FORMAT = "genstudio-checkpoint-1"
RUN_STATES = ("new", "running", "paused", "finished", "stopped", "failed")
FINAL_STATES = ("paused", "finished", "stopped", "failed")
KEEP_CHECKPOINTS = 2
WEIGHTS_FILE, STATE_FILE, MANIFEST_FILE = "weights.safetensors", "state.pt", "manifest.json"
_CKPT_NAME = re.compile(r"^ckpt-(\d{6,})-step_(\d{9,})$")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used; the message says which file and why."""


class NoCheckpointError(CheckpointError):
    """The run has no usable checkpoint at all."""


@dataclass
class Checkpoint:
    step: int
    weights: dict[str, torch.Tensor]
    state: dict[str, Any]
    metadata: dict[str, str]
    path: Optional[Path] = None          # its folder (None for a run of the old layout)
    weights_sha256: str = ""
    # why newer checkpoints were passed over, newest first ("ckpt-... (step 40): ...")
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckpointSlot:
    """One checkpoint on disk, not yet read: its folder (or the run folder, for the old
    layout's top-level pair), its sequence number and step."""
    seq: int
    step: int
    folder: Path
    legacy: bool = False

    weights_path = property(lambda self: self.folder / WEIGHTS_FILE)
    state_path = property(lambda self: self.folder / STATE_FILE)
    manifest_path = property(lambda self: self.folder / MANIFEST_FILE)

    @property
    def label(self) -> str:
        return f"{self.folder.name} (step {self.step})" if not self.legacy else \
            f"top-level weights.safetensors/state.pt (step {self.step})"


class Run:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- layout ---------------------------------------------------------------------------
    config_path = property(lambda self: self.path / "config.toml")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    status_path = property(lambda self: self.path / "status.json")
    evaluations_path = property(lambda self: self.path / "evaluations.jsonl")
    samples_dir = property(lambda self: self.path / "samples")

    @property
    def weights_path(self) -> Path:
        """The weights file of the newest checkpoint on disk (verified or not)."""
        slots = self.checkpoint_slots()
        return slots[-1].weights_path if slots else self.path / WEIGHTS_FILE

    @property
    def state_path(self) -> Path:
        slots = self.checkpoint_slots()
        return slots[-1].state_path if slots else self.path / STATE_FILE

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "Run":
        run = cls(path)
        if run.config_path.exists() or run.checkpoints_dir.exists():
            raise FileExistsError(f"{run.path} already holds a run; resume it or choose another folder")
        if run.path.exists() and not run.path.is_dir():
            raise FileExistsError(f"{run.path} is a file, not a folder; choose another --out")
        run.path.mkdir(parents=True, exist_ok=True)
        config.save(run.config_path)
        run.write_status("new", "created")
        return run

    @classmethod
    def open(cls, path: str | Path) -> "Run":
        """Open for reading: changes nothing on disk (viewing a run must not write to it)."""
        run = cls(path)
        if not run.path.is_dir():
            raise CheckpointError(f"{run.path} is not a run folder (no such folder)")
        if not run.config_path.is_file():
            raise CheckpointError(f"{run.path} is not a run folder (no config.toml)")
        return run

    def clean_stale_temps(self) -> list[Path]:
        """Remove what a hard kill left half-written (for the writer that takes the run over)."""
        removed = clean_stale_temps(self.path)
        for folder in (self.samples_dir, self.checkpoints_dir):
            if folder.is_dir():
                removed += clean_stale_temps(folder)
        return removed

    def config(self) -> RunConfig:
        return load_config(self.config_path)

    # -- name and notes (about.json): a label for people, not part of how the run trained ----
    about_path = property(lambda self: self.path / "about.json")

    def about(self) -> dict[str, str]:
        """{"title", "description"}; the title defaults to the folder's name."""
        try:
            d = json.loads(self.about_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            d = {}
        d = d if isinstance(d, dict) else {}
        title = d.get("title") if isinstance(d.get("title"), str) and d.get("title").strip() else self.path.name
        desc = d.get("description") if isinstance(d.get("description"), str) else ""
        return {"title": title.strip()[:200], "description": desc[:20000]}

    def set_about(self, title: str, description: str) -> None:
        write_text(self.about_path, json.dumps({"title": title.strip()[:200],
                                                "description": description[:20000]}, indent=1))

    # -- checkpoints ----------------------------------------------------------------------
    def checkpoint_slots(self) -> list[CheckpointSlot]:
        """Every published checkpoint, oldest first (temp folders are not published)."""
        slots = []
        if self.checkpoints_dir.is_dir():
            for p in self.checkpoints_dir.iterdir():
                m = _CKPT_NAME.match(p.name)
                if m and p.is_dir():
                    slots.append(CheckpointSlot(int(m.group(1)), int(m.group(2)), p))
        legacy = self.path / WEIGHTS_FILE
        if legacy.is_file() or (self.path / STATE_FILE).is_file():
            slots.append(CheckpointSlot(0, _legacy_step(legacy), self.path, legacy=True))
        return sorted(slots, key=lambda s: (s.seq, not s.legacy))

    def has_checkpoint(self) -> bool:
        return bool(self.checkpoint_slots())

    def save_checkpoint(self, step: int, engine_name: str, weights: dict[str, torch.Tensor],
                        state: dict[str, Any], config_toml: str,
                        keep: int = KEEP_CHECKPOINTS) -> Path:
        """Write a new checkpoint folder and publish it with one rename; then drop the
        oldest beyond `keep`. Returns the published folder."""
        meta = {"format": FORMAT, "engine": engine_name, "step": str(step), "config": config_toml,
                "app_version": __version__, "torch_version": torch.__version__,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        cpu_weights = {k: v.detach().to("cpu").contiguous() for k, v in weights.items()}
        payload = {"format": FORMAT, "step": step, **state}
        slots = self.checkpoint_slots()
        seq = max((s.seq for s in slots), default=0) + 1
        final = self.checkpoints_dir / f"ckpt-{seq:06d}-step_{step:09d}"

        def write_files(tmp: Path) -> None:
            save_file(cpu_weights, str(tmp / WEIGHTS_FILE), metadata=meta)
            atomic.fault_point("checkpoint:weights written")
            torch.save(payload, tmp / STATE_FILE)
            atomic.fault_point("checkpoint:state written")
            manifest = {"format": FORMAT, "engine": engine_name, "step": step, "seq": seq,
                        "files": {name: {"bytes": (tmp / name).stat().st_size,
                                         "sha256": sha256_file(tmp / name)}
                                  for name in (WEIGHTS_FILE, STATE_FILE)}}
            (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            atomic.fault_point("checkpoint:manifest written")

        atomic.publish_folder(final, write_files)
        self._prune(keep)
        return final

    def _prune(self, keep: int) -> None:
        """Keep the newest `keep` checkpoints. Only called after a newer one is published,
        so the previous good checkpoint is never removed before its successor is whole."""
        slots = self.checkpoint_slots()
        for old in slots[:max(0, len(slots) - max(1, keep))]:
            atomic.fault_point("checkpoint:prune")
            if old.legacy:
                for name in (WEIGHTS_FILE, STATE_FILE):
                    (old.folder / name).unlink(missing_ok=True)
            else:
                atomic.remove_folder(old.folder)

    def discard_checkpoints_after(self, keep: CheckpointSlot | Path | None) -> list[str]:
        """Remove checkpoints newer than `keep` (after a non-finite loss: they hold the
        state that produced it). Returns their labels."""
        slots = self.checkpoint_slots()
        seqs = [s.seq for s in slots if s.folder == keep or s == keep]
        if not seqs:
            return []
        gone = []
        for s in slots:
            if s.seq > seqs[0] and not s.legacy:
                atomic.remove_folder(s.folder)
                gone.append(s.label)
        return gone

    def set_aside_unusable(self, newer_than: Path) -> list[str]:
        """Rename checkpoints newer than the one a writer resumed from (they could not be
        loaded) so later saves and loads skip them; kept for inspection, never deleted."""
        slots = self.checkpoint_slots()
        base = [s.seq for s in slots if s.folder == newer_than]
        moved = []
        if not base:
            return moved
        for s in slots:
            if s.seq > base[0] and not s.legacy:
                target = s.folder.with_name("unusable-" + s.folder.name)
                n = 1
                while target.exists():
                    n += 1
                    target = s.folder.with_name(f"unusable{n}-" + s.folder.name)
                os.replace(s.folder, target)
                moved.append(f"{s.label} -> {target.name}")
        return moved

    def load_checkpoint(self, expected_engine: Optional[str] = None,
                        max_step: Optional[int] = None) -> Checkpoint:
        """The newest complete checkpoint (with step <= max_step when given), its hashes
        checked. Newer ones that fail are listed in `Checkpoint.skipped` with the reason."""
        slots = self.checkpoint_slots()
        if not slots:
            raise NoCheckpointError(f"{self.path}: no checkpoint (no checkpoints/ folder and no "
                                    f"weights.safetensors)")
        skipped: list[str] = []
        for slot in reversed(slots):
            if max_step is not None and slot.step > max_step:
                continue
            try:
                ckpt = self._read_slot(slot, expected_engine)
            except _EngineMismatch as e:
                raise CheckpointError(str(e)) from None
            except CheckpointError as e:
                skipped.append(f"{slot.label}: {e}")
                continue
            ckpt.skipped = skipped
            return ckpt
        why = "; ".join(skipped) if skipped else f"none at or before step {max_step}"
        raise NoCheckpointError(f"{self.path}: no usable checkpoint ({why})")

    def _read_slot(self, slot: CheckpointSlot, expected_engine: Optional[str]) -> Checkpoint:
        sha = ""
        if not slot.legacy:
            manifest = _read_manifest(slot.manifest_path)
            for name, info in manifest["files"].items():
                path = slot.folder / name
                if not path.is_file():
                    raise CheckpointError(f"{name} is missing")
                if path.stat().st_size != info["bytes"] or sha256_file(path) != info["sha256"]:
                    raise CheckpointError(f"{name} does not match its manifest (sha256): the "
                                          f"file was changed or damaged after it was saved")
            sha = manifest["files"][WEIGHTS_FILE]["sha256"]
        elif not (slot.weights_path.is_file() and slot.state_path.is_file()):
            raise CheckpointError("weights.safetensors or state.pt is missing")
        weights, meta = read_weights(slot.weights_path)
        engine = meta.get("engine")
        if expected_engine is not None and engine != expected_engine:
            raise _EngineMismatch(
                f"{slot.weights_path} was saved by the {engine!r} engine, but this run's config "
                f"uses {expected_engine!r}; open it with a matching config")
        state = read_state(slot.state_path)
        step = _int_field(meta.get("step"), f"{slot.weights_path} metadata 'step'")
        if not _is_int(state.get("step")) or state["step"] != step:
            raise CheckpointError(
                f"weights are from step {step} but state.pt is from step {state.get('step')!r} "
                f"(a save was interrupted between the two files)")
        if slot.legacy:
            sha = sha256_file(slot.weights_path)
        return Checkpoint(step=step, weights=weights, state=state, metadata=meta,
                          path=None if slot.legacy else slot.folder, weights_sha256=sha)

    def checkpoint_info(self) -> Optional[tuple[int, str]]:
        """(step, weights sha256) of the newest checkpoint as its manifest records them,
        without reading the weights (for provenance); None if there is none."""
        for slot in reversed(self.checkpoint_slots()):
            if slot.legacy:
                return slot.step, sha256_file(slot.weights_path)
            try:
                return slot.step, _read_manifest(slot.manifest_path)["files"][WEIGHTS_FILE]["sha256"]
            except CheckpointError:
                continue
        return None

    def checkpoint_sha256(self) -> str:
        """sha256 of the weights file of the checkpoint a load would use ("" if none)."""
        try:
            return self.load_checkpoint().weights_sha256
        except CheckpointError:
            return ""

    # -- metrics, status, samples -----------------------------------------------------------
    def append_metrics(self, records: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, allow_nan=True) + "\n" for r in records)
        if lines:
            with open(self.metrics_path, "a", encoding="utf-8") as f:
                f.write(lines)

    def truncate_metrics(self, after_step: int) -> None:
        """Drop metric lines past `after_step` (used on resume, so a run resumed from an
        earlier checkpoint does not keep curves of steps that are being redone)."""
        records, bad = self.read_metrics_report()
        kept = [r for r in records if r["step"] <= after_step]
        if len(kept) == len(records) and not bad:
            return                  # nothing to drop: leave the file as it is
        records = kept
        write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in records))

    def read_metrics(self) -> list[dict[str, Any]]:
        return self.read_metrics_report()[0]

    def read_metrics_report(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The metric records, and a note for every line skipped (cut short by a crash,
        not UTF-8, not an object with an integer step and numeric values)."""
        return _read_jsonl(self.metrics_path, _metrics_record_problem)

    def append_evaluation(self, record: dict[str, Any]) -> None:
        with open(self.evaluations_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def read_evaluations(self) -> list[dict[str, Any]]:
        return _read_jsonl(self.evaluations_path, _evaluation_record_problem)[0]

    def write_status(self, state: str, message: str = "", step: Optional[int] = None) -> None:
        assert state in RUN_STATES, state
        write_text(self.status_path, json.dumps(
            {"state": state, "message": message, "step": step,
             "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=1))

    def status(self) -> dict[str, Any]:
        unknown = {"state": "new", "message": "", "step": None}
        try:
            s = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return unknown
        if not isinstance(s, dict) or s.get("state") not in RUN_STATES:
            return unknown
        step = s.get("step")
        return {"state": s["state"], "message": str(s.get("message", ""))[:2000],
                "step": step if isinstance(step, int) and not isinstance(step, bool) else None,
                "time": str(s.get("time", ""))}

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


class _EngineMismatch(CheckpointError):
    pass


def _legacy_step(weights_path: Path) -> int:
    """The step in an old-layout weights file's metadata, without loading the tensors."""
    try:
        with open(weights_path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n <= MAX_HEADER_BYTES:
                return -1
            meta = json.loads(f.read(n)).get("__metadata__") or {}
        return int(meta.get("step", -1))
    except (OSError, ValueError, AttributeError, TypeError):
        return -1


MAX_HEADER_BYTES = 100 << 20


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError("manifest.json is missing (the save did not finish)") from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"manifest.json is unreadable ({e})") from None
    files = m.get("files") if isinstance(m, dict) else None
    ok = (isinstance(files, dict) and m.get("format") == FORMAT
          and set(files) == {WEIGHTS_FILE, STATE_FILE}
          and all(isinstance(v, dict) and isinstance(v.get("bytes"), int)
                  and isinstance(v.get("sha256"), str) for v in files.values()))
    if not ok:
        raise CheckpointError("manifest.json is not a Generative Studio checkpoint manifest")
    return m


def _int_field(value: Any, what: str) -> int:
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise CheckpointError(f"{what} is {value!r}, not an integer") from None
    if out < 0:
        raise CheckpointError(f"{what} is {out}, which is negative")
    return out


def _read_jsonl(path: Path, problem) -> tuple[list[dict[str, Any]], list[str]]:
    """Records of a JSON-lines file; a line that is not valid is skipped and reported."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as e:
        return [], [f"{path.name}: unreadable ({e.strerror or e})"]
    out, skipped = [], []
    for i, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            skipped.append(f"{path.name} line {i}: not UTF-8 text")
            continue
        except ValueError:
            skipped.append(f"{path.name} line {i}: not valid JSON (cut short by a crash?)")
            continue
        why = problem(rec)
        if why:
            skipped.append(f"{path.name} line {i}: {why}")
            continue
        out.append(rec)
    return out, skipped


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _metrics_record_problem(rec: Any) -> str:
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    if not _is_int(rec.get("step")) or rec["step"] < 0:
        return "no non-negative integer 'step'"
    for k, v in rec.items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"value of {str(k)[:40]!r} is not a number"
    return ""


def _evaluation_record_problem(rec: Any) -> str:
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    if not _is_int(rec.get("step")) or rec["step"] < 0:
        return "no non-negative integer 'step'"
    return ""


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
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    meta = meta if isinstance(meta, dict) else {}
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
    except (RuntimeError, OSError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as e:
        raise CheckpointError(f"{path} is corrupt or unreadable ({str(e)[:300]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Generative Studio training state")
    return state


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
