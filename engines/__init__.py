"""Model families. torch + numpy only: never imports Qt, studio or widgets."""
from __future__ import annotations

from .base import Engine
from .params import OptimConfig, param
from .spec import Batch, DataSpec

_REGISTRY: dict[str, type[Engine]] = {}


def register(cls: type[Engine]) -> type[Engine]:
    _REGISTRY[cls.name] = cls
    return cls


def engine_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def get_engine(name: str) -> type[Engine]:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(engine_names())}") from None


def _load_builtins() -> None:
    from . import ae, vae  # noqa: F401  (registration side effect)
    from . import ddpm  # noqa: F401
    from . import gan  # noqa: F401
    from . import flow  # noqa: F401
    from .translation import pix2pix, srgan  # noqa: F401
    from .translation import cyclegan  # noqa: F401


__all__ = ["Engine", "OptimConfig", "param", "Batch", "DataSpec", "register", "get_engine",
           "engine_names"]
