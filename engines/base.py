"""The engine contract: one small interface that every model family implements.

The training loop, the CLI and the GUI only ever talk to an engine through this class and
its `capabilities` (never isinstance; engines/capabilities.py says what each one
guarantees). Engines are torch + numpy only.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Optional

import torch
from torch import Tensor, nn

from .capabilities import CapabilitySet
from .params import OptimConfig
from .spec import Batch, DataSpec


def _same(t: Any) -> Any:
    return t


@dataclass(frozen=True)
class Shard:
    """This process's share of training when it is one of `world` processes (torchrun; built
    by studio.core.distributed). The default is a world of one, where every function is the
    identity and nothing communicates.

    - `wrap(module, find_unused=False)`: the module as training must call it (the
      DistributedDataParallel wrapper, which averages gradients over the ranks in backward);
    - `gather(t)`: every rank's t concatenated along dim 0 in rank order (no gradient);
    - `mean(t)`: t averaged over the ranks; `broadcast_(t)`: rank 0's t, in place.
    Each rank trains on the rank-th contiguous 1/world of every global batch."""

    rank: int = 0
    world: int = 1
    wrap: Callable[..., nn.Module] = _same
    gather: Callable[[Tensor], Tensor] = _same
    mean: Callable[[Tensor], Tensor] = _same
    broadcast_: Callable[[Tensor], Tensor] = _same


class Forward(nn.Module):
    """Calls `module.<method>` as its forward, so a method other than forward (a flow's
    log_prob) can go through DistributedDataParallel, which only hooks forward. Its
    parameters are the module's; it is never saved (state_dict keys stay the module's)."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.inner = module
        self.method = method

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner, self.method)(*args, **kwargs)


class Engine(ABC):
    name: ClassVar[str]
    Config: ClassVar[type]
    # every capability an instance of the family may have (names and guaranteed methods:
    # engines/capabilities.py); an instance's own set is `capabilities`
    family_capabilities: ClassVar[frozenset[str]] = frozenset()
    # on the class: family_capabilities; on an instance: active_capabilities() (computed)
    capabilities = CapabilitySet()
    description: ClassVar[str] = ""
    # the built-in data set a default config of this engine trains on ("" = MNIST); a
    # translator names a two-sided set
    default_data: ClassVar[str] = ""
    # one process of how many (distribute); the class default is a world of one
    shard: Shard = Shard()

    def __init__(self, config: Any, optim: OptimConfig, spec: DataSpec, device: torch.device):
        self.config = config
        self.optim_config = optim
        self.spec = spec
        self.device = torch.device(device)

    @classmethod
    def build(cls, config: Any, optim: OptimConfig, spec: DataSpec,
              device: torch.device | str = "cpu") -> "Engine":
        return cls(config, optim, spec, torch.device(device))

    def active_capabilities(self) -> frozenset[str]:
        """The capabilities this instance has, from its config and data (default: all of the
        family's). Read them as `engine.capabilities`."""
        return frozenset(self.family_capabilities)

    # -- training -------------------------------------------------------------------------
    @abstractmethod
    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        """One optimisation step. Returns 0-d detached tensors keyed `group/name`
        (always including `loss/total`). Must not call .item() (no device sync)."""

    def batches_for_next_step(self) -> int:
        """How many batches the next `train_step` consumes. The trainer hands over one Batch
        of that many times batch_size samples (freshly drawn, in order); engines that take
        several inner steps per step (a GAN's n_critic discriminator steps) split it with
        `Batch.x.chunk(n)`."""
        return 1

    # -- several processes (torchrun) ----------------------------------------------------------
    def distribute(self, shard: Shard) -> None:
        """Train as rank `shard.rank` of `shard.world` processes, each on its shard of the
        global batch. Default: every module of `modules()` with trainable parameters is
        wrapped (`shard.wrap`), and `train_step` calls it through `self.trained(name)`;
        `modules()`, `state_dict()` and sampling keep the plain modules, so checkpoints are
        the same for 1 and N processes and a forward on rank 0 alone never waits for the
        others. Raises ValueError for options that cannot train the same way split over
        processes (`distribute_problems`). Engines whose training calls a method other than
        forward, or draws noise, override or use `draw`."""
        problems = self.distribute_problems(shard.world)
        if problems:
            raise ValueError("cannot train over several processes (torchrun): "
                             + "; ".join(problems))
        self.shard = shard
        self._trained = self.wrap_for_training(shard)

    def wrap_for_training(self, shard: Shard) -> dict[str, nn.Module]:
        """What `trained(name)` returns under `distribute`: by default every module of
        modules() with trainable parameters, wrapped."""
        return {k: shard.wrap(m) for k, m in self.modules().items()
                if any(p.requires_grad for p in m.parameters())}

    def distribute_problems(self, world: int) -> list[str]:
        """Why this engine's options cannot be split over `world` processes (none: [])."""
        return []

    def trained(self, name: str, default: Optional[Callable[..., Any]] = None) -> Callable[..., Any]:
        """The module `name` as train_step calls it: wrapped by `distribute` under torchrun;
        otherwise `default`, or the module `name` of modules()."""
        wrapped = self.__dict__.get("_trained")
        if wrapped and name in wrapped:
            return wrapped[name]
        return default if default is not None else self.modules()[name]

    def draw(self, sample: Callable[[tuple[int, ...]], Tensor], shape: tuple[int, ...]) -> Tensor:
        """Batch-shaped noise for this process's shard: `sample(shape)` (e.g.
        `lambda s: torch.randn(s, device=...)`), with shape[0] the local batch. Under
        torchrun every rank draws it for the whole global batch from the global RNG and keeps
        its own rows, so N processes draw exactly what one process draws and their RNG states
        stay equal (a checkpoint's RNG state is every rank's)."""
        r, w = self.shard.rank, self.shard.world
        if w == 1:
            return sample(tuple(shape))
        b = shape[0]
        return sample((b * w, *shape[1:]))[r * b:(r + 1) * b]

    # set by the trainer for [run] precision = "fp16": a torch.amp.GradScaler that every
    # backward_and_step goes through (loss scaled, gradients unscaled before clipping)
    grad_scaler: Optional[Any] = None

    def backward_and_step(self, loss: Tensor, opt: torch.optim.Optimizer,
                          params: Iterable[nn.Parameter], **backward_kw: Any) -> None:
        """loss.backward(**backward_kw), clip to [optim] grad_clip, opt.step(): the end of
        every optimisation step. With a gradient scaler (fp16 mixed precision) the loss is
        scaled before backward, the gradients unscaled before clipping, and a step whose
        gradients overflowed is skipped (torch.amp.GradScaler's rules)."""
        params = list(params)
        scaler = self.grad_scaler
        if scaler is None:
            loss.backward(**backward_kw)
            clip_and_step(opt, params, self.optim_config.grad_clip)
            return
        scaler.scale(loss).backward(**backward_kw)
        scaler.unscale_(opt)
        if self.optim_config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, self.optim_config.grad_clip)
        scaler.step(opt)
        scaler.update()

    def set_lr(self, lr: float) -> None:
        """Change the learning rate of every optimizer mid-run."""
        self.optim_config.lr = lr
        for opt in self.optimizers().values():
            for group in opt.param_groups:
                group["lr"] = lr

    # -- a frozen network from outside (SRGAN's content loss) ----------------------------------
    def feature_net_wanted(self) -> str:
        """The name of a frozen feature network this engine's training needs, which the
        trainer builds and hands over through `attach_feature_net` ("" = none). Known names:
        "mnist-evaluator": the bundled MNIST classifier (studio/core/evaluator.py) up to its
        last convolution's ReLU, before pooling: (N, 1, 28, 28) in [0, 1] -> (N, 64, 8, 8)."""
        return ""

    def attach_feature_net(self, net: nn.Module) -> None:
        """Receive the network named by `feature_net_wanted` (eval mode, requires_grad False,
        on the engine's device). It is not one of `modules()`: never trained nor saved."""
        raise ValueError(f"the {self.name} engine takes no feature network")

    # -- sampling ---------------------------------------------------------------------------
    @property
    @abstractmethod
    def noise_shape(self) -> tuple[int, ...]:
        """Shape of one sample's standard-normal input `z` (the latent for AE/VAE/GAN,
        x_T for diffusion)."""

    def noise(self, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
        """Standard-normal inputs for `sample`, drawn from `generator` (never the global
        RNG when a generator is given, so previews don't disturb training)."""
        return torch.randn((n, *self.noise_shape), generator=generator,
                           device=generator.device if generator is not None else self.device
                           ).to(self.device)

    @abstractmethod
    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """n samples: images (n, C, H, W) in [0, 1] or points (n, dim) in data coordinates.
        `z` (from `noise`) makes the result a deterministic function of z."""

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch]) -> dict[str, float]:
        """Metrics on held-out data (e.g. test ELBO). Default: none."""
        return {}

    # -- state ------------------------------------------------------------------------------
    @abstractmethod
    def modules(self) -> dict[str, nn.Module]:
        """The networks, by name (e.g. {"encoder": ..., "decoder": ...})."""

    @abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimizers, by name."""

    def extra_tensors(self) -> dict[str, Tensor]:
        """Non-parameter tensors that belong with the weights (EMA copies, fitted latent
        statistics). Keys must be unique; values are modified in place on load."""
        return {}

    def state_dict(self) -> dict[str, Tensor]:
        """Flat name -> tensor map of every weight (safetensors-ready)."""
        out: dict[str, Tensor] = {}
        for mname, module in self.modules().items():
            for k, v in module.state_dict().items():
                out[f"{mname}.{k}"] = v
        for k, v in self.extra_tensors().items():
            out[f"extra.{k}"] = v
        return out

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Load weights; raises ValueError naming the missing, unexpected or misshapen keys."""
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        misshapen = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
        if missing or unexpected or misshapen:
            parts = []
            if missing:
                parts.append(f"missing {_clip(missing)}")
            if unexpected:
                parts.append(f"unexpected {_clip(unexpected)}")
            if misshapen:
                parts.append("wrong shape " + _clip(
                    [f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}" for k in misshapen]))
            raise ValueError(f"weights do not fit this {self.name} model: " + "; ".join(parts))
        for mname, module in self.modules().items():
            prefix = f"{mname}."
            module.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                    if k.startswith(prefix)})
        extras = self.extra_tensors()
        with torch.no_grad():
            for k, v in extras.items():
                v.copy_(state[f"extra.{k}"])

    def optim_state_dict(self) -> dict[str, Any]:
        return {k: opt.state_dict() for k, opt in self.optimizers().items()}

    def load_optim_state_dict(self, state: dict[str, Any]) -> None:
        for k, opt in self.optimizers().items():
            opt.load_state_dict(state[k])

    def train(self, mode: bool = True) -> None:
        for m in self.modules().values():
            m.train(mode)

    def num_parameters(self) -> int:
        return sum(p.numel() for m in self.modules().values() for p in m.parameters())


def _clip(items: list[str], n: int = 4) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def make_optimizer(params: Iterable[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    params = list(params)
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                 weight_decay=cfg.weight_decay)
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.beta1, weight_decay=cfg.weight_decay)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.beta2, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.name!r}; choose one of adam, adamw, sgd, rmsprop")


def clip_and_step(opt: torch.optim.Optimizer, params: Iterable[nn.Parameter], max_norm: float) -> None:
    if max_norm > 0:
        torch.nn.utils.clip_grad_norm_(list(params), max_norm)
    opt.step()
