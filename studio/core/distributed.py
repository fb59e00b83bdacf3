"""Training over several processes with PyTorch's own launcher (torchrun) and
DistributedDataParallel. Qt-free.

    torchrun --nproc-per-node N -m studio.core.cli train CONFIG --out RUN

torchrun starts N processes and tells each its place through the environment (RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). `setup()` reads it and joins the process
group: gloo on a CPU, nccl when the run trains on CUDA (each process on cuda:LOCAL_RANK).
Without torchrun (or with one process) nothing is initialised and `current()` is `SINGLE`, a
world of one that does no communication at all: training is exactly what it was.

What the trainer does with a world of N (studio.core.training):
- the sampler draws the same global batches on every rank (same seed); rank r trains on
  the r-th contiguous 1/N of each, so the order of the data is global and a checkpoint's
  sampler state resumes under any world size;
- engines draw batch-shaped noise for the whole global batch and keep their rows
  (`engines.base.Shard`), so N processes draw what one process draws;
- gradients are averaged by DistributedDataParallel (`Dist.wrap`), metrics by `reduce_mean`;
- only rank 0 writes the run folder; the others learn the outcome of each write
  (`on_main`), which doubles as the barrier around checkpoints.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar

import torch
from torch import Tensor, nn

from engines.base import Shard

T = TypeVar("T")

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class RankFailed(RuntimeError):
    """Another rank (rank 0, which writes the run folder) failed; its message is this one's."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def launched_by_torchrun() -> bool:
    """True when the environment says this process is one of several (WORLD_SIZE > 1)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ
    except ValueError:
        return False


@dataclass
class Dist:
    """This process's place in the training world. `SINGLE` (world 1) does nothing."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    backend: str = ""
    device: Optional[torch.device] = None      # the device this rank trains on (None: any)
    _wrapped: list = field(default_factory=list, repr=False)

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- collectives (no-ops in a world of one) ----------------------------------------------
    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def reduce_mean(self, t: Tensor) -> Tensor:
        """The mean of `t` over the ranks (every rank gets it); `t` itself in a world of one."""
        if not self.active:
            return t
        out = t.detach().clone()
        torch.distributed.all_reduce(out, op=torch.distributed.ReduceOp.SUM)
        return out.div_(self.world)

    def reduce_metrics(self, metrics: dict[str, Tensor]) -> dict[str, Tensor]:
        """A dict of 0-d tensors averaged over the ranks (one all-reduce for all of them)."""
        if not self.active or not metrics:
            return metrics
        keys = list(metrics)
        stacked = self.reduce_mean(torch.stack([metrics[k].detach().float() for k in keys]))
        return dict(zip(keys, stacked.unbind(0)))

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on at least one (a stop request, a failure)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self._comm_device())
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def gather(self, t: Tensor) -> Tensor:
        """Every rank's `t` concatenated along dim 0 in rank order (the global batch when each
        `t` is a rank's shard); no gradient. Equal shapes on every rank."""
        if not self.active:
            return t
        parts = [torch.empty_like(t) for _ in range(self.world)]
        torch.distributed.all_gather(parts, t.detach().contiguous())
        return torch.cat(parts, 0)

    def broadcast_(self, t: Tensor) -> Tensor:
        """Rank 0's values into `t` on every rank (in place)."""
        if self.active:
            torch.distributed.broadcast(t, src=0)
        return t

    def broadcast_object(self, obj: T) -> T:
        """Rank 0's `obj` (picklable) on every rank."""
        if not self.active:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def on_main(self, fn: Callable[[], T]) -> Optional[T]:
        """Run `fn` on rank 0 only. Every rank waits for it (a barrier) and learns how it
        went: rank 0 re-raises its own exception, the others raise `RankFailed` with its
        message, so no rank is left waiting in a collective for one that gave up. Returns
        fn's result on rank 0, None elsewhere."""
        if not self.active:
            return fn()
        result, error = None, None
        if self.is_main:
            try:
                result = fn()
            except BaseException as e:       # noqa: BLE001 - re-raised below, after telling the others
                error = e
        box = [None if error is None else (type(error).__name__, str(error))]
        torch.distributed.broadcast_object_list(box, src=0)
        if error is not None:
            raise error
        if box[0] is not None:
            raise RankFailed(*box[0])
        return result

    # -- DistributedDataParallel -------------------------------------------------------------
    def wrap(self, module: nn.Module, find_unused: bool = False) -> nn.Module:
        """`module` in DistributedDataParallel (gradients averaged over the ranks during
        backward). Buffers are synced once here, not at every forward: BatchNorm trains on
        each rank's own shard statistics (docs: README, "Several processes"), and a forward
        on rank 0 alone (a preview) never waits for the others."""
        if not self.active:
            return module
        if self.backend == "nccl":
            # on CUDA BatchNorm uses the global batch's statistics (SyncBatchNorm has the same
            # parameters and buffers, so the checkpoint is unchanged); gloo cannot (CPU)
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        ids = [self.device.index] if self.device is not None and self.device.type == "cuda" else None
        ddp = nn.parallel.DistributedDataParallel(
            module, device_ids=ids, forward_sync_buffers=False,
            find_unused_parameters=find_unused)
        self._wrapped.append(ddp)
        return ddp

    def shard(self) -> Shard:
        """What an engine needs to know to train as one of `world` ranks."""
        if not self.active:
            return Shard()
        return Shard(rank=self.rank, world=self.world, wrap=self.wrap, gather=self.gather,
                     mean=self.reduce_mean, broadcast_=self.broadcast_)

    def _comm_device(self) -> torch.device:
        return self.device if self.backend == "nccl" and self.device is not None else torch.device("cpu")


SINGLE = Dist()
_current: Dist = SINGLE


def current() -> Dist:
    """The world set up by `setup()`, or `SINGLE`."""
    return _current


def setup(device: str = "auto", timeout_s: float = 1800.0) -> Dist:
    """Join the process group torchrun describes in the environment; `SINGLE` when there is
    none (or one process). `device` is the run's device request: CUDA (or auto on a machine
    with CUDA) trains each rank on cuda:LOCAL_RANK over nccl; otherwise the CPU, over gloo."""
    global _current
    if _current.active:
        return _current
    if not launched_by_torchrun():
        _current = SINGLE
        return SINGLE
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    base = str(device).partition(":")[0]
    cuda = torch.cuda.is_available() and base in ("auto", "cuda")
    if cuda:
        dev = torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        dev = torch.device("cpu") if base in ("auto", "cpu") else torch.device(base)
        backend = "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(
            backend=backend, timeout=datetime.timedelta(seconds=timeout_s),
            **({"device_id": dev} if cuda else {}))
    _current = Dist(rank=rank, world=world, local_rank=local_rank, local_world=local_world,
                    backend=backend, device=dev)
    return _current


def teardown(wait: bool = True) -> None:
    """Leave the process group (a no-op without one). `wait`: first wait for every rank to
    get here (a normal end; rank 0 may still be writing). After an error nobody waits: a
    peer may be gone."""
    global _current
    _current = SINGLE
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        try:
            if wait:
                torch.distributed.barrier()
            torch.distributed.destroy_process_group()
        except Exception:          # noqa: BLE001 - a peer that died first must not mask the real error
            pass


def describe(d: Dist) -> str:
    if not d.active:
        return ""
    return f"rank {d.rank} of {d.world} ({d.backend})"
