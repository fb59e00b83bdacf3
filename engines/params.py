"""Hyperparameter fields that carry their own documentation and limits.

Every engine's Config is a dataclass built from `param(...)` fields. The metadata is read by
studio.core.config (to validate TOML and name the valid choices in errors) and by the GUI's
generated form (labels, ranges, tooltips), so one declaration serves both.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence


def param(
    default: Any,
    help: str,
    *,
    min: Optional[float] = None,
    max: Optional[float] = None,
    choices: Optional[Sequence[Any]] = None,
    structural: bool = True,
    applies: str = "step",
) -> Any:
    """A config field. `structural=False` marks values that can change without rebuilding
    the model: from the next step (`applies="step"`: learning rate, loss weights, step
    counts) or when the run is next opened (`applies="reopen"`: thread count)."""
    if applies not in ("step", "reopen"):
        raise ValueError(f"applies={applies!r}: choose 'step' or 'reopen'")
    meta = {"help": help, "min": min, "max": max,
            "choices": tuple(choices) if choices is not None else None,
            "structural": structural, "applies": applies}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def field_info(cls_or_obj: Any) -> list[dataclasses.Field]:
    return list(dataclasses.fields(cls_or_obj))


BETA_MAX = 0.99999


@dataclasses.dataclass
class OptimConfig:
    """The [optim] section: one optimizer family for the engine's networks."""

    name: str = param("adam", "Optimizer.", choices=("adam", "adamw", "sgd", "rmsprop"))
    lr: float = param(1e-3, "Learning rate: the step size of every update.", min=0.0, max=10.0,
                      structural=False)
    # decays below 1: Adam refuses beta = 1, and RMSProp's alpha = 1 never updates its average
    # 0.5 (DCGAN's): GANs train with it where 0.9 collapses them (measured on MNIST,
    # docs/benchmarks.md "First hour"), and the other engines do as well on short runs
    beta1: float = param(0.5, "Adam/AdamW first-moment decay (momentum for SGD); 0.5 keeps "
                              "GANs stable, 0.9 is Adam's usual.", min=0.0,
                         max=BETA_MAX)
    beta2: float = param(0.999, "Adam/AdamW second-moment decay (alpha for RMSProp).", min=0.0,
                         max=BETA_MAX)
    weight_decay: float = param(0.0, "L2 weight decay (decoupled for AdamW).", min=0.0, max=1.0)
    grad_clip: float = param(0.0, "Clip the global gradient norm to this value; 0 turns clipping off.",
                             min=0.0, max=1e6)
