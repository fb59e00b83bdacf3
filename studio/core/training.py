"""The one training loop, shared by the GUI's engine host thread and the CLI.

Habits that keep it fast and honest:
- metrics are summed on the device and read back once per `log_every` steps (one sync);
- the live sample grid uses a fixed `z` drawn from its own generator, and previews run under
  no_grad with a generator of their own, so they never disturb the training RNG;
- checkpoints carry every RNG state and the data order, so resuming continues bit for bit;
- a non-finite loss restores the last good checkpoint and pauses the run.
What happens around the steps (snapshot files, progress, the mode monitor, the GUI's mailbox)
are callbacks (studio.core.callbacks); metrics.jsonl and checkpoints are the trainer's own.
"""
from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import torch

from engines import Batch, Engine, get_engine
from engines.capabilities import PHASES
from .callbacks import Callback, Callbacks, SnapshotWriter, overrides
from .callbacks import Progress  # noqa: F401  (re-exported: the host and scripts import it here)
from .config import ConfigError, RunConfig, live_keys, structural_changes
from .data import Dataset, load_dataset
from .device import configure_threads, pick_device
from .distributed import Dist, RankFailed, current as current_dist
from .runs import Checkpoint, CheckpointError, NoCheckpointError, Run

EVAL_Z_SEED_OFFSET = 1_000_003   # the fixed preview z has its own stream, apart from training
# Snapshots also at these steps when they come before the first `sample_every`: a new run
# shows its first samples within seconds instead of after hundreds of steps. A snapshot uses
# the fixed z under no_grad, so it changes nothing about training.
# An unpaired data set's source domain is shuffled by its own generator, seeded apart.
SECOND_SIDE_SEED_OFFSET = 2_000_003
EARLY_SNAPSHOTS = (10, 25, 50, 100, 200)


HELD_OUT_CURVE_EXAMPLES = 512


def precision_dtype(precision: str, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype of [run] precision on `device` (None: plain fp32). fp16 needs
    loss scaling and a GPU that computes in half precision: CUDA only."""
    if precision == "fp32":
        return None
    if precision == "fp16":
        if device.type != "cuda":
            raise ConfigError(f"run.precision = 'fp16' needs a CUDA GPU (this run is on "
                              f"{device.type}); use 'bf16' or 'fp32'")
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    raise ConfigError(f"run.precision {precision!r}: choose 'fp32', 'bf16' or 'fp16'")


def feature_net(name: str, device: torch.device) -> torch.nn.Module:
    """A frozen feature network an engine asks for (Engine.feature_net_wanted), in eval mode,
    requires_grad False, on `device`; never part of the engine's modules or checkpoints.

    "mnist-evaluator": the bundled MNIST evaluator (studio/core/evaluator.py, BatchNorm
    folded) up to conv4's ReLU, before its pooling: (N, 1, 28, 28) in [0, 1] ->
    (N, 64, 8, 8). SRGAN's content loss uses it as its VGG54 (the 4th convolution of VGG19's
    5th block after activation, before the last pooling): the deepest features that still
    keep a spatial layout, so matching them asks for the right strokes in the right places,
    where fc1 (one 128-vector per image) would only ask for the right class."""
    if name != "mnist-evaluator":
        raise ValueError(f"unknown feature network {name!r} (known: mnist-evaluator)")
    import copy
    from .evaluator import MnistEvaluator
    ev = MnistEvaluator.load(device=device)
    cnn = copy.deepcopy(ev._net).to(memory_format=torch.contiguous_format)
    net = torch.nn.Sequential(cnn.conv1, cnn.conv2, cnn.conv3, cnn.conv4[:-1])   # no max-pool
    net.eval().requires_grad_(False)
    return net


def is_snapshot_step(step: int, sample_every: int) -> bool:
    return step % sample_every == 0 or (step < sample_every and step in EARLY_SNAPSHOTS)


@dataclass
class TrainResult:
    reason: str          # "finished", "aborted", "nonfinite"
    step: int
    message: str = ""


class NonFiniteLoss(RuntimeError):
    pass


class CheckpointSaveError(CheckpointError):
    """Writing a checkpoint failed (disk full, folder gone); the previous one is intact."""


class BatchSampler:
    """Epochs of shuffled indices without replacement (drop-last), resumable exactly:
    its state is the current permutation, the position in it, and the generator."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device):
        if batch_size > n:
            raise ConfigError(f"run.batch_size: {batch_size} is larger than the training set "
                              f"({n} examples); choose at most {n}")
        self.n, self.batch_size, self.device = n, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.generator)
        self.pos = 0
        self.epoch = 0

    def next_indices(self) -> torch.Tensor:
        if self.pos + self.batch_size > self.n:
            self.perm = torch.randperm(self.n, generator=self.generator)
            self.pos = 0
            self.epoch += 1
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx.to(self.device, non_blocking=True)

    def state(self) -> dict[str, Any]:
        return {"perm": self.perm.clone(), "pos": self.pos, "epoch": self.epoch,
                "generator": self.generator.get_state()}

    def load(self, s: dict[str, Any]) -> None:
        """Checked: a permutation of the training set and a position inside it (a damaged or
        foreign state would otherwise index out of range mid-run)."""
        perm, pos, epoch = s["perm"], int(s["pos"]), int(s["epoch"])
        if (not isinstance(perm, torch.Tensor) or perm.dtype != torch.int64 or perm.shape != (self.n,)
                or not torch.equal(perm.sort().values, torch.arange(self.n))):
            raise ValueError(f"the data order is not a permutation of the {self.n} training examples")
        if not 0 <= pos <= self.n or epoch < 0:
            raise ValueError(f"data position {pos} (epoch {epoch}) is outside 0..{self.n}")
        self.generator.set_state(s["generator"])
        self.perm, self.pos, self.epoch = perm.clone(), pos, epoch


class TwoSidedSampler:
    """Batch indices for data with two sides (docs/architecture.md, "Data with two sides"):
    `next_indices()` gives (idx, idx2). Paired: idx2 is idx, so the source of every pair
    stays next to its target however the epoch is shuffled. Unpaired: idx2 comes from a
    second BatchSampler over the source domain with its own generator (its own epochs, its
    own length): the two domains are shuffled independently. Resumable like BatchSampler."""

    def __init__(self, n: int, n2: int, batch_size: int, seed: int, device: torch.device,
                 pairing: str):
        if pairing not in ("paired", "unpaired"):
            raise ValueError(f"pairing must be 'paired' or 'unpaired', not {pairing!r}")
        if pairing == "paired" and n2 != n:
            raise ValueError(f"paired sides must be as long: {n2} source and {n} target examples")
        self.pairing = pairing
        self.main = BatchSampler(n, batch_size, seed, device)
        self.second = (BatchSampler(n2, batch_size, seed + SECOND_SIDE_SEED_OFFSET, device)
                       if pairing == "unpaired" else None)

    def next_indices(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.main.next_indices()
        return idx, (idx if self.second is None else self.second.next_indices())

    def state(self) -> dict[str, Any]:
        s = {"main": self.main.state()}
        if self.second is not None:
            s["second"] = self.second.state()
        return s

    def load(self, s: dict[str, Any]) -> None:
        self.main.load(s["main"])
        if self.second is not None:
            self.second.load(s["second"])


class DeviceData:
    """A data split held on the device: uint8 images are converted per batch, which keeps
    MNIST at 47 MB instead of 188 MB of floats. With a second side (x2: the source side of
    a translation set, `pairing` "paired" or "unpaired"), batches carry it as Batch.x2/y2:
    paired rows are taken at the same indices as x; unpaired ones at `idx2`."""

    def __init__(self, x: np.ndarray, y: Optional[np.ndarray], device: torch.device,
                 x2: Optional[np.ndarray] = None, y2: Optional[np.ndarray] = None,
                 pairing: str = ""):
        self.images = x.dtype == np.uint8
        self.x = torch.from_numpy(np.ascontiguousarray(x)).to(device)
        self.y = torch.from_numpy(y.astype(np.int64)).to(device) if y is not None else None
        self.pairing = pairing if x2 is not None else ""
        if x2 is not None and pairing == "paired" and len(x2) != len(x):
            raise ValueError(f"paired sides must be as long: {len(x2)} source and {len(x)} "
                             "target examples")
        self.x2 = torch.from_numpy(np.ascontiguousarray(x2)).to(device) if x2 is not None else None
        self.y2 = (torch.from_numpy(y2.astype(np.int64)).to(device)
                   if x2 is not None and y2 is not None else None)

    def __len__(self) -> int:
        return len(self.x)

    def _as_float(self, t: torch.Tensor) -> torch.Tensor:
        return t.float().div_(255.0) if t.dtype == torch.uint8 else t

    def source_images(self, idx: torch.Tensor) -> torch.Tensor:
        """The source side's images at idx, float in [0, 1]."""
        if self.x2 is None:
            raise ValueError("this data split has one side")
        return self._as_float(self.x2.index_select(0, idx.to(self.x2.device)))

    def batch(self, idx: torch.Tensor, idx2: Optional[torch.Tensor] = None) -> Batch:
        x = self._as_float(self.x.index_select(0, idx))
        y = self.y.index_select(0, idx) if self.y is not None else None
        if self.x2 is None:
            return Batch(x, y)
        if self.pairing == "paired":
            idx2 = idx
        elif idx2 is None:
            raise ValueError("an unpaired batch needs the source domain's own indices (idx2)")
        x2 = self._as_float(self.x2.index_select(0, idx2))
        return Batch(x, y, x2, self.y2.index_select(0, idx2) if self.y2 is not None else None)

    def batches(self, size: int, limit: Optional[int] = None) -> Iterator[Batch]:
        """The whole split in order (its first `limit` examples). An unpaired source domain
        is walked alongside, wrapping around when it is the shorter one."""
        end = len(self.x) if limit is None else min(limit, len(self.x))
        for start in range(0, end, size):
            idx = torch.arange(start, min(start + size, end), device=self.x.device)
            idx2 = idx % len(self.x2) if self.x2 is not None and len(self.x2) else None
            yield self.batch(idx, idx2)


class Trainer:
    """`dist` (studio.core.distributed): this process's place among the processes torchrun
    started; default the one set up (`setup()`), else a world of one. With N processes every
    rank builds the same model from the same seed, the sampler draws the same global batches
    and each rank trains on its 1/N of every batch (DistributedDataParallel averages the
    gradients); only rank 0 writes the run folder, and every rank learns how each write went
    (`Dist.on_main`), so a failed save stops them all."""

    def __init__(self, config: RunConfig, run: Optional[Run] = None, *,
                 dataset: Optional[Dataset] = None, device: Optional[str] = None,
                 reserve_cpu_for_gui: bool = False, dist: Optional[Dist] = None):
        self.config = config
        self.run = run
        self.dist = dist if dist is not None else current_dist()
        rc = config.run
        try:
            self.device = pick_device(device or rc.device)
        except ValueError as e:       # a device this machine does not have: a config matter
            raise ConfigError(str(e)) from None
        if self.dist.active:
            self._check_world(config)
            if self.device.type == "cuda" and self.dist.device is not None:
                self.device = self.dist.device        # cuda:LOCAL_RANK
        self.dataset = dataset if dataset is not None else load_dataset(
            config.data_name, config.data, seed=rc.seed)
        self.threads = configure_threads(
            rc.threads, reserve_for_gui=reserve_cpu_for_gui,
            tiny=self.dataset.spec.kind == "points" and self.device.type == "cpu",
            share=self.dist.local_world)
        self._autocast_dtype = precision_dtype(rc.precision, self.device)
        torch.manual_seed(rc.seed)
        try:
            self.engine: Engine = get_engine(config.engine).build(
                config.model, config.optim, self.dataset.spec, self.device)
            wanted = self.engine.feature_net_wanted()
            if wanted:
                self.engine.attach_feature_net(feature_net(wanted, self.device))
            if self.dist.active:
                self.engine.distribute(self.dist.shard())
        except ValueError as e:
            raise ConfigError(f"[model] {e}") from None
        if rc.precision == "fp16":        # loss scaling keeps fp16 gradients from underflowing
            self.engine.grad_scaler = torch.amp.GradScaler(self.device.type)
        ds = self.dataset
        # the source side goes on the device only for an engine that reads it (a translator)
        self.two_sided = ds.two_sided and "translate" in self.engine.capabilities
        if self.two_sided:
            self.train_data = DeviceData(ds.train_x, ds.train_y, self.device, ds.train_x2,
                                         ds.train_y2, ds.pairing)
            self.test_data = DeviceData(ds.test_x, ds.test_y, self.device, ds.test_x2,
                                        ds.test_y2, ds.pairing)
            self.sampler: BatchSampler | TwoSidedSampler = TwoSidedSampler(
                len(self.train_data), len(ds.train_x2), rc.batch_size, rc.seed, self.device,
                ds.pairing)
        else:
            self.train_data = DeviceData(ds.train_x, ds.train_y, self.device)
            self.test_data = DeviceData(ds.test_x, ds.test_y, self.device)
            self.sampler = BatchSampler(len(self.train_data), rc.batch_size, rc.seed, self.device)
        self.step = 0
        self.elapsed_s = 0.0          # training wall time, summed over sessions of this run
        self._session_t0: Optional[float] = None     # start of the train() call under way
        self.eval_z = self._preview_inputs(rc)
        self._acc: dict[str, torch.Tensor] = {}
        self._acc_steps = 0
        self._acc_t0 = time.perf_counter()
        self.latest: dict[str, float] = {}
        self._held_out_at: Optional[int] = None     # step of the last held-out curve point
        # Losses of steps 1..n are known finite, so the parameters of steps < n are good; a
        # checkpoint is trusted as "last good" only once the loss computed from it was finite.
        self._finite_through = 0
        self._confirm_at: Optional[int] = None    # a forced read-back right after a checkpoint
        # why newer checkpoints were passed over when this trainer loaded one (shown to the user)
        self.checkpoint_notes: list[str] = []
        # weights changed since the last save or load (viewing a run must not re-save it)
        self.unsaved = False
        # called by every train() call, before the ones it is given (studio.core.callbacks)
        self.callbacks: list[Callback] = [SnapshotWriter()]

    def _preview_inputs(self, rc: Any) -> torch.Tensor:
        """The gallery's fixed inputs: noise from a stream of its own, or for a translator
        the first `preview_samples` source images of the test split (of the training split
        when nothing is held out): a translator's samples are its outputs on real inputs."""
        if not self.two_sided:
            return self.engine.noise(rc.preview_samples, generator=torch.Generator().manual_seed(
                rc.seed + EVAL_Z_SEED_OFFSET))
        src = self.test_data if len(self.test_data) else self.train_data
        assert src.x2 is not None
        return src.source_images(torch.arange(min(rc.preview_samples, len(src.x2))))

    def _check_world(self, config: RunConfig) -> None:
        """The global batch must split evenly over the processes, and each shard must be a
        batch the model accepts (a GAN's packs)."""
        b, w = config.run.batch_size, self.dist.world
        if b % w:
            raise ConfigError(f"run.batch_size = {b} does not split over {w} processes: each "
                              f"trains on batch_size / {w} samples of every batch; choose a "
                              f"multiple of {w} (e.g. {max(w, b // w * w)})")
        check = getattr(config.model, "validate_batch", None)
        if callable(check):
            try:
                check(b // w)
            except ValueError as e:
                raise ConfigError(f"with {w} processes each trains on {b // w} samples of a "
                                  f"batch: {e}") from None

    @property
    def writes(self) -> bool:
        """This process writes the run folder (one process, or rank 0 of several)."""
        return self.run is not None and self.dist.is_main

    # -- construction from a run folder --------------------------------------------------------
    @classmethod
    def create(cls, config: RunConfig, run_dir: str | Path, **kw: Any) -> "Trainer":
        """Build everything first, then the run folder: a start that fails (bad data, a model
        that cannot be built, an unwritable folder) leaves no half-made run behind."""
        run_dir = Path(run_dir)
        dist = kw.get("dist") or current_dist()

        def check() -> bool:
            if Run(run_dir).config_path.exists():
                raise FileExistsError(f"{run_dir} already holds a run; resume it or choose "
                                      "another folder")
            return run_dir.exists()
        existed = dist.on_main(check)
        trainer = cls(config, None, **kw)
        try:
            made = dist.on_main(lambda: Run.create(run_dir, config))
            trainer.run = made if made is not None else Run(run_dir)   # other ranks: to read
            trainer.save_checkpoint()     # step 0: there is always a last good checkpoint
        except BaseException:
            if dist.is_main:
                _remove_failed_start(run_dir, bool(existed))
            raise
        return trainer

    @classmethod
    def load(cls, run_dir: str | Path, **kw: Any) -> "Trainer":
        """Open a run at its latest complete checkpoint without changing anything in its
        folder (for sampling, evaluation, and viewing)."""
        run = Run.open(run_dir)
        trainer = cls(run.config(), run, **kw)
        trainer.load_checkpoint()
        return trainer

    @classmethod
    def resume(cls, run_dir: str | Path, config: Optional[RunConfig] = None, *,
               restart: bool = False, **kw: Any) -> "Trainer":
        """Continue a run. A given config may change live values (learning rate, steps,
        intervals) but nothing structural. Without a usable checkpoint this refuses and
        changes nothing, unless `restart` asks to train the run again from step 0."""
        run = Run.open(run_dir)
        saved = run.config()
        if config is not None:
            changed = structural_changes(saved, config)
            if changed:
                raise ConfigError(f"cannot resume {run.path} with this config: "
                                  f"{', '.join(changed)} differ from the run's; start a new run")
        else:
            config = saved
        trainer = cls(config, run, **kw)
        try:
            ckpt = trainer.load_checkpoint()
        except NoCheckpointError as e:
            if not restart:
                raise NoCheckpointError(
                    f"cannot resume: {e}. Nothing was changed. To train this run again from "
                    f"step 0 (replacing its metrics and snapshots): genstudio train --resume "
                    f"{run.path} --restart") from None
            ckpt = None
        # every rank has read its checkpoint before rank 0 changes the folder
        trainer.dist.barrier()

        # from here on this trainer owns the folder: now it may write
        def tidy() -> None:
            run.clean_stale_temps()
            if ckpt is None:
                run.truncate_metrics(-1)
                for stale in (run.samples_dir, run.path / "mode_monitor.jsonl"):
                    if stale.is_dir():
                        shutil.rmtree(stale, ignore_errors=True)
                    else:
                        stale.unlink(missing_ok=True)
            elif ckpt.skipped and ckpt.path is not None:
                trainer.checkpoint_notes += [f"set aside: {m}"
                                             for m in run.set_aside_unusable(ckpt.path)]
        trainer.dist.on_main(tidy)
        if ckpt is None:
            trainer.save_checkpoint()

        def finish() -> None:
            if config is not saved:
                config.save(run.config_path)
            run.truncate_metrics(trainer.step)
        trainer.dist.on_main(finish)
        return trainer

    # -- checkpoints ---------------------------------------------------------------------------
    def training_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "optim": self.engine.optim_state_dict(),
            "torch_rng": torch.get_rng_state(),
            "sampler": self.sampler.state(),
            "elapsed_s": self.training_time(),
            "lr": self.engine.optim_config.lr,
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.engine.grad_scaler is not None:
            state["grad_scaler"] = self.engine.grad_scaler.state_dict()
        return state

    def save_checkpoint(self) -> None:
        """Refuses parameters that are not finite (NonFiniteLoss): a checkpoint must be a
        state training can go on from. With several processes every rank checks (their
        weights are equal), rank 0 writes, and every rank waits for it and learns whether it
        worked (the barrier around a checkpoint)."""
        if self.run is None:
            return
        weights = self.engine.state_dict()
        bad = [k for k, v in weights.items()
               if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        if bad:
            raise NonFiniteLoss(f"parameters became non-finite at step {self.step} "
                                f"({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''})")

        def write() -> None:
            assert self.run is not None
            try:
                self.run.save_checkpoint(self.step, self.engine.name, weights,
                                         self.training_state(), self.config.to_toml(),
                                         keep=self.config.run.keep_checkpoints)
            except OSError as e:
                raise CheckpointSaveError(
                    f"could not save the checkpoint of step {self.step} in {self.run.path}: "
                    f"{e.strerror or e}; the previous checkpoint is kept") from None
        try:
            self.dist.on_main(write)
        except RankFailed as e:
            raise CheckpointSaveError(f"rank 0: {e}") from None
        self._confirm_at = self.step + 1
        self.unsaved = False

    def load_checkpoint(self, max_step: Optional[int] = None) -> Checkpoint:
        assert self.run is not None
        ckpt = self.run.load_checkpoint(expected_engine=self.engine.name, max_step=max_step)
        try:
            self.engine.load_state_dict({k: v.to(self.device) for k, v in ckpt.weights.items()})
            self.engine.load_optim_state_dict(ckpt.state["optim"])
            self.sampler.load(ckpt.state["sampler"])
            torch.set_rng_state(ckpt.state["torch_rng"])
            if "cuda_rng" in ckpt.state and self.device.type == "cuda":
                torch.cuda.set_rng_state(ckpt.state["cuda_rng"], self.device)
            if self.engine.grad_scaler is not None and "grad_scaler" in ckpt.state:
                self.engine.grad_scaler.load_state_dict(ckpt.state["grad_scaler"])
            elapsed = float(ckpt.state.get("elapsed_s", 0.0))
        except (ValueError, KeyError, RuntimeError, TypeError, AttributeError, IndexError) as e:
            raise CheckpointError(f"{self.run.path}: checkpoint does not fit this model "
                                  f"({str(e)[:300]})") from None
        self.step = ckpt.step
        self.elapsed_s = elapsed if math.isfinite(elapsed) and elapsed >= 0 else 0.0
        # the learning rate may have been changed mid-run; the config is the source of truth
        self.engine.set_lr(self.config.optim.lr)
        self._acc.clear()
        self._acc_steps = 0
        self._finite_through = ckpt.step + 1     # a saved checkpoint is trusted
        self._held_out_at = ckpt.step
        self._confirm_at = None
        self.unsaved = False
        self.checkpoint_notes = [f"skipped {m}" for m in ckpt.skipped]
        return ckpt

    # -- training --------------------------------------------------------------------------------
    def training_time(self) -> float:
        """Wall seconds of training so far, the train() call under way included."""
        if self._session_t0 is None:
            return self.elapsed_s
        return self.elapsed_s + time.perf_counter() - self._session_t0

    def next_batch(self, n: int = 1) -> Batch:
        """n batches' worth of fresh training samples, as one Batch. With several processes
        the sampler still draws global batches (the same on every rank) and this rank takes
        its contiguous 1/world of each."""
        if not self.two_sided:
            if n == 1:
                return self.train_data.batch(self._shard(self.sampler.next_indices()))
            return self.train_data.batch(torch.cat([self._shard(self.sampler.next_indices())
                                                    for _ in range(n)]))
        pairs = [self.sampler.next_indices() for _ in range(n)]
        return self.train_data.batch(torch.cat([self._shard(i) for i, _ in pairs]),
                                     torch.cat([self._shard(i2) for _, i2 in pairs]))

    def _shard(self, idx: torch.Tensor) -> torch.Tensor:
        d = self.dist
        if not d.active:
            return idx
        b = idx.shape[0] // d.world
        return idx[d.rank * b:(d.rank + 1) * b]

    def train_one_step(self) -> dict[str, torch.Tensor]:
        batch = self.next_batch(self.engine.batches_for_next_step())
        if self._autocast_dtype is None:
            out = self.engine.train_step(batch)
        else:                 # mixed precision: the forward passes autocast, weights stay fp32
            with torch.autocast(self.device.type, dtype=self._autocast_dtype):
                out = self.engine.train_step(batch)
        for k, v in out.items():
            prev = self._acc.get(k)
            self._acc[k] = v.detach().clone() if prev is None else prev + v.detach()
        self._acc_steps += 1
        self.step += 1
        self.unsaved = True
        return out

    def train_phase(self, phase: str) -> dict[str, torch.Tensor]:
        """One inner step of one player only (a GAN's "discriminator" or "generator"), for the
        2D canvas's single-player steps. The step counter does not move (a step is one round
        of both players); the weights do, and the next checkpoint keeps them."""
        if "train_phase" not in self.engine.capabilities:
            raise ValueError(f"the {self.engine.name} engine has no separate training phases")
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r}: choose {' or '.join(map(repr, PHASES))}")
        self.engine.train(True)
        self.unsaved = True
        return self.engine.train_phase(self.next_batch(), phase)

    def train(self, until: Optional[int] = None,
              callbacks: Callback | Iterable[Callback] | None = None,
              should_abort: Optional[Callable[[], bool]] = None) -> TrainResult:
        """Train until step `until` (default: config.run.steps), an abort, or a non-finite loss.

        `callbacks` (studio.core.callbacks) are called after `self.callbacks`. `should_abort`
        is asked before every step, the first one included; True ends the call ("aborted")
        with the usual end: metrics flushed, a checkpoint, a snapshot. It is an argument, not
        a hook, because it is the one thing that changes the loop's course: the GUI's host
        serves its commands and renders inside it and answers whether one must stop
        training, the CLI answers whether a signal came. (A `Callbacks` given here lends its
        `should_abort` when none is.)"""
        if isinstance(callbacks, Callback):
            if should_abort is None and isinstance(callbacks, Callbacks):
                should_abort = callbacks.should_abort
            callbacks = [callbacks]
        # with several processes only rank 0 runs callbacks (they write files and report)
        cbs = [*self.callbacks, *(callbacks or ())] if self.dist.is_main else []
        per_step = [c for c in cbs if overrides(c, "on_step_end")]
        rc = self.config.run
        target = rc.steps if until is None else until
        if self.writes:
            self.run.write_status("running", "", self.step)
        start_step = self.step
        self._session_t0 = time.perf_counter()
        for c in cbs:
            c.on_train_start(self, target)
        self.engine.train(True)
        self._acc_t0 = time.perf_counter()
        reason, message = "finished", ""
        try:
            while self.step < target:
                stop = should_abort is not None and should_abort()
                if self.dist.active:      # every rank stops at the same step
                    stop = self.dist.any(stop)
                if stop:
                    reason = "aborted"
                    break
                self.train_one_step()
                s = self.step
                if s % rc.log_every == 0 or s % rc.checkpoint_every == 0 or s == target:
                    self.flush_metrics(cbs)
                elif s == self._confirm_at:
                    self.confirm_finite()
                if (is_snapshot_step(s, rc.sample_every) or s == target) and self.dist.is_main:
                    self.snapshot(cbs)
                if s % rc.checkpoint_every == 0:
                    self._checkpoint(cbs)
                for c in per_step:
                    c.on_step_end(self, s)
            self.flush_metrics(cbs)
            self.elapsed_s, self._session_t0 = self.training_time(), None
            if self.run is not None and self.step > start_step:
                if self.step % rc.checkpoint_every != 0:
                    self._checkpoint(cbs)
                if (not is_snapshot_step(self.step, rc.sample_every) and reason == "aborted"
                        and self.dist.is_main):
                    self.snapshot(cbs)
        except NonFiniteLoss as e:
            bad_step = self.step
            self.elapsed_s, self._session_t0 = self.training_time(), None
            restored = self._restore_last_good()
            message = (f"non-finite values ({e}) by step {bad_step}; {restored}. Lower the "
                       f"learning rate or change the model, then resume.")
            if self.writes:
                self.run.write_status("paused", message, self.step)
            return self._end(cbs, TrainResult("nonfinite", self.step, message))
        except BaseException as e:
            # status.json must never stay "running": interrupted or failed, say so
            self._session_t0 = None
            interrupted = isinstance(e, KeyboardInterrupt)
            self._final_status("stopped" if interrupted else "failed",
                               "interrupted" if interrupted else f"{type(e).__name__}: {e}")
            raise
        if self.writes:
            done = self.step >= rc.steps
            state = "finished" if done else ("stopped" if reason == "aborted" else "paused")
            self.run.write_status(state, message, self.step)
        return self._end(cbs, TrainResult(reason, self.step, message))

    def _checkpoint(self, cbs: Sequence[Callback]) -> None:
        self.save_checkpoint()
        if self.run is not None:
            for c in cbs:
                c.on_checkpoint(self, self.step)

    def _end(self, cbs: Sequence[Callback], result: TrainResult) -> TrainResult:
        for c in cbs:
            c.on_end(self, result)
        return result

    def _final_status(self, state: str, message: str) -> None:
        """Best effort (the disk may be full): the error being raised matters more."""
        if not self.writes:
            return
        try:
            last = self.run.checkpoint_slots()
            where = f"; the last checkpoint is step {last[-1].step}" if last else ""
            self.run.write_status(state, message[:1000] + where, self.step)
        except Exception:
            pass

    def flush_metrics(self, callbacks: Optional[Sequence[Callback]] = None) -> dict[str, float]:
        """Read the accumulated metrics back from the device (the only sync), append them to
        metrics.jsonl and hand the record to the callbacks' on_log (default: the trainer's
        own). Writing metrics.jsonl is the trainer's job, not a callback's: the file must hold
        every record up to each checkpoint's step before that checkpoint is published (the
        loop flushes at checkpoint steps, and the host before its saves), and resume and the
        non-finite restore cut it back to the checkpoint's step, so a run folder without it
        would not stay consistent with its checkpoints."""
        if self._acc_steps == 0:
            return {}
        keys = list(self._acc)
        # the mean over the ranks (every rank gets it, so all agree on a non-finite loss)
        values = self.dist.reduce_mean(torch.stack([self._acc[k].float() for k in keys])
                                       ).cpu().tolist()
        n = self._acc_steps
        now = time.perf_counter()
        means = {k: v / n for k, v in zip(keys, values)}
        bad = [k for k, v in means.items() if not math.isfinite(v)]
        self._acc.clear()
        self._acc_steps = 0
        dt, self._acc_t0 = now - self._acc_t0, now
        if bad:
            raise NonFiniteLoss(", ".join(f"{k} = {means[k]}" for k in bad))
        self._finite_through = self.step
        means["perf/step_ms"] = 1000.0 * dt / n
        held_out = self._held_out_curve() if self.dist.is_main else {}
        if held_out:     # its time is not the next interval's step time
            means.update({k: v for k, v in held_out.items() if math.isfinite(v)})
            self._acc_t0 = time.perf_counter()
        record = {"step": self.step, "time": round(self.training_time(), 3), **means}
        self.latest = means
        if self.writes:
            self.run.append_metrics([record])
        if self.dist.is_main:
            for c in self.callbacks if callbacks is None else callbacks:
                c.on_log(self, record)
        return means

    def _held_out_curve(self) -> dict[str, float]:
        """Engines with an exact likelihood, and translators, get a held-out curve beside the
        training loss: the engine's held-out metric (bits/dim; a translator's L1 and PSNR) on the first HELD_OUT_CURVE_EXAMPLES test examples (the
        same ones each time, dequantised with the same seed), once per sample_every steps.
        It draws no noise from the global RNG, so resumes stay exact."""
        caps = self.engine.capabilities
        if not ("log_prob" in caps or "translate" in caps) or not len(self.test_data):
            return {}
        every = self.config.run.sample_every
        if self._held_out_at is not None and self.step // every == self._held_out_at // every:
            return {}
        self._held_out_at = self.step
        with torch.no_grad():
            out = self.engine.evaluate(self.test_data.batches(256, HELD_OUT_CURVE_EXAMPLES))
        self.engine.train(True)
        return out

    def confirm_finite(self) -> None:
        """One read-back, nothing logged: the step after a checkpoint proves (or not) that
        the checkpoint's parameters give a finite loss."""
        bad = bool(self._acc_steps) and not bool(torch.isfinite(
            torch.stack([v.float().sum() for v in self._acc.values()])).all())
        if self.dist.active:
            bad = self.dist.any(bad)
        if bad:
            raise NonFiniteLoss(f"loss at step {self.step}")
        self._finite_through = self.step

    def _restore_last_good(self) -> str:
        """Back to the newest checkpoint whose parameters gave a finite loss; newer ones
        hold the state that went bad and are removed."""
        self._acc.clear()
        self._acc_steps = 0
        if self.run is None or not self.run.has_checkpoint():
            return "no checkpoint to restore (run has no folder)"
        good_before = self._finite_through - 1
        try:
            ckpt = self.load_checkpoint(max_step=good_before)
            note = "the last good checkpoint"
        except NoCheckpointError:
            ckpt = self.load_checkpoint()
            note = "the only checkpoint left (its parameters were not confirmed finite)"
        self.dist.barrier()       # every rank has read it before rank 0 removes newer ones

        def tidy() -> list[str]:
            assert self.run is not None
            dropped = self.run.discard_checkpoints_after(ckpt.path) if ckpt.path is not None else []
            self.run.truncate_metrics(self.step)
            return dropped
        dropped = self.dist.on_main(tidy) or []
        extra = f"; removed {len(dropped)} newer checkpoint(s) saved after the bad update" if dropped else ""
        return f"restored {note} (step {self.step}){extra}"

    # -- samples and evaluation ---------------------------------------------------------------
    @torch.no_grad()
    def preview(self) -> np.ndarray:
        """The fixed-z samples: images (N, C, H, W) or points (N, dim), float32 numpy."""
        z = self.eval_z
        if "temperature" in self.engine.capabilities:     # a flow's samples at temperature T
            z = z * self.engine.temperature
        out = self.engine.sample(len(z), z=z)
        self.engine.train(True)
        return out.float().cpu().numpy()

    def snapshot(self, callbacks: Optional[Sequence[Callback]] = None) -> np.ndarray:
        """The fixed-z samples, handed to the callbacks' on_snapshot (default: the trainer's
        own, whose SnapshotWriter saves them in the run folder)."""
        samples = self.preview()
        for c in self.callbacks if callbacks is None else callbacks:
            c.on_snapshot(self, self.step, samples)
        return samples

    @torch.no_grad()
    def evaluate(self, batch_size: int = 500) -> dict[str, float]:
        metrics = self.engine.evaluate(self.test_data.batches(batch_size))
        self.engine.train(True)
        return metrics

    def set_lr(self, lr: float) -> None:
        """Applies from the next step, in memory; `record_live_changes` writes it down."""
        self.engine.set_lr(lr)
        self.config.optim.lr = lr

    def apply_live(self, section: str, key: str, value: Any) -> Optional[tuple[Any, Any]]:
        """Change a value that applies from the next step (a field marked structural=False),
        in memory; returns (old, new), or None when the key is not such a value or nothing
        changes. Values that apply on reopen (threads) are written down, not applied."""
        if (section, key) not in live_keys(self.config):
            return None
        target = {"model": self.config.model, "run": self.config.run, "optim": self.config.optim}[section]
        old = getattr(target, key)
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            value = type(old)(value)
        if old == value:
            return None
        setattr(target, key, value)
        if (section, key) not in live_keys(self.config, applies="step"):
            return old, value
        if section == "optim" and key == "lr":
            self.engine.set_lr(float(value))
        elif section == "model" and hasattr(self.engine.config, key):
            setattr(self.engine.config, key, value)
        return old, value

    def record_live_changes(self, changes: dict[str, tuple[Any, Any]]) -> None:
        """Training goes on with changed live values: the run's config.toml says so from now
        on, and config_changes.jsonl keeps when and what changed (a run's config is never
        rewritten otherwise)."""
        if not self.writes or not changes:
            return
        import json
        self.config.save(self.run.config_path)
        record = {"step": self.step, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "changes": {k: {"from": a, "to": b} for k, (a, b) in changes.items()}}
        with open(self.run.path / "config_changes.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def _remove_failed_start(run_dir: Path, existed: bool) -> None:
    """Undo what a failed Trainer.create wrote: the folder if it made it, else its files."""
    try:
        if not existed:
            shutil.rmtree(run_dir, ignore_errors=True)
            return
        r = Run(run_dir)
        for p in (r.config_path, r.status_path, r.metrics_path):
            p.unlink(missing_ok=True)
        if r.checkpoints_dir.is_dir():
            shutil.rmtree(r.checkpoints_dir, ignore_errors=True)
    except OSError:
        pass


def translator_inputs(trainer: Trainer, n: int, generator: torch.Generator) -> torch.Tensor:
    """n source images of the test split (of the training split when nothing is held out),
    drawn without replacement by `generator` while there are enough, then with: a
    translator's "samples" are its outputs on real inputs."""
    data = trainer.test_data if len(trainer.test_data) else trainer.train_data
    assert data.x2 is not None
    m = len(data.x2)
    idx = (torch.randperm(m, generator=generator)[:n] if n <= m
           else torch.randint(0, m, (n,), generator=generator))
    return data.source_images(idx)


def samples_from_run(run_dir: str | Path, n: int, seed: int = 0, labels: Optional[np.ndarray] = None,
                     device: str = "cpu", max_bytes: Optional[int] = None,
                     temperature: Optional[float] = None) -> tuple[np.ndarray, Trainer]:
    """Load a run's latest checkpoint and draw n samples with a seeded generator. `labels`
    (n,) ask a class-conditional model for those classes; other models refuse them.
    Engines with a "temperature" decode T * z: T = `temperature`, or the run's own; others
    refuse a temperature. A translator translates n test-split sources picked by the seed.
    `max_bytes` refuses an n whose float32 samples would not fit, before drawing any."""
    trainer = Trainer.load(run_dir, device=device)
    need = 4 * n * trainer.dataset.spec.numel
    if max_bytes is not None and need > max_bytes:
        raise ConfigError(f"--n {n:,}: that many samples need {need / 2**30:.1f} GiB; at most "
                          f"{max_bytes // (4 * trainer.dataset.spec.numel):,} at a time (draw "
                          f"more with another --seed)")
    y = None
    if labels is not None:
        engine = trainer.engine
        if "conditional" not in engine.capabilities:
            raise ConfigError(f"--label: the {engine.name} run is not class-conditional")
        k = trainer.dataset.spec.num_classes
        labels = np.asarray(labels, np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ConfigError(f"--label: this run has classes 0..{k - 1}; got "
                              f"{int(labels.min()) if labels.min() < 0 else int(labels.max())}")
        y = torch.as_tensor(labels, device=trainer.device)
    has_t = "temperature" in trainer.engine.capabilities
    if temperature is not None and not has_t:
        raise ConfigError(f"--temperature: the {trainer.engine.name} engine has no sampling "
                          "temperature (normalising flows have)")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = (translator_inputs(trainer, n, g) if trainer.two_sided
             else trainer.engine.noise(n, generator=g))
        if has_t:
            z = z * (trainer.engine.temperature if temperature is None else float(temperature))
        out = trainer.engine.sample(n, z=z, labels=y)
    return out.float().cpu().numpy(), trainer
