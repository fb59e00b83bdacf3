"""Tiny translator engines for the translation tests (a plain module, not a test file).

They stand in for pix2pix / CycleGAN / SRGAN where a test checks the trainer, the CLI, the
metrics or the renders rather than an engine: each keeps the capability contract
(engines/capabilities.py) and trains in a few CPU steps.

- `CopyTranslator`: upsample the source to the target size, two 3x3 convolutions, tanh;
  L1 to the target (paired) or to the unpaired target batch's mean image.
- `CycleCopy`: the same with a learned way back F (a second net, target -> source),
  trained on |G(x) - y| + |F(G(x)) - x|: "translate_back" like CycleGAN's F.
- `copy_translator(name, back=...)`: a CopyTranslator under another registry name, with
  "translate_back" a fixed function of y when `back` is given (F known exactly).
- `register(monkeypatch, *classes)`: put them in the engine registry for one test (or,
  with `pytest.MonkeyPatch.context()`, for a module-scoped fixture).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import pytest
import torch
from torch import Tensor, nn

import engines
from engines import param
from engines.base import make_optimizer
from engines.capabilities import missing_members
from engines.translation import TranslationEngine, to_data, to_net


@dataclass
class CopyConfig:
    width: int = param(4, "Hidden channels.", min=1, max=64)


def upsample_net(c_in: int, c_out: int, size: tuple[int, int], width: int) -> nn.Module:
    """Upsample to `size`, conv 3x3 to `width`, ReLU, conv 3x3 to `c_out`, tanh."""
    return nn.Sequential(nn.Upsample(size=size), nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(width, c_out, 3, padding=1), nn.Tanh())


class CopyTranslator(TranslationEngine):
    """Upsample to the target size, two 3x3 convolutions, L1 to the target (paired) or to
    the unpaired target batch's mean image (only so unpaired training has a loss)."""

    name = "test-copy-translator"
    Config = CopyConfig
    family_capabilities = frozenset({"translate"})
    pairing_needed = ("paired", "unpaired")

    def __init__(self, config, optim, spec, device):
        super().__init__(config, optim, spec, device)
        self.net = upsample_net(spec.source_channels, spec.channels, (spec.height, spec.width),
                                config.width).to(device)
        self.opt = make_optimizer(self.net.parameters(), optim)

    def target(self, batch) -> Tensor:
        """The paired target, or the unpaired target batch's mean image."""
        return batch.x if self.spec.pairing == "paired" else batch.x.mean(0, keepdim=True)

    def translate(self, x):
        with torch.no_grad():
            return to_data(self.net(to_net(x.to(self.device))))

    def train_step(self, batch):
        src = self.need_source(batch)
        out = to_data(self.net(to_net(src)))
        loss = (out - self.target(batch)).abs().mean()
        self.opt.zero_grad(set_to_none=True)
        self.backward_and_step(loss, self.opt, self.net.parameters())
        return {"loss/total": loss.detach()}

    def modules(self):
        return {"net": self.net}

    def optimizers(self):
        return {"net": self.opt}


class CycleCopy(CopyTranslator):
    """CopyTranslator with a way back (a second net, target -> source), trained on the cycle
    |F(G(x)) - x| as well: "translate_back" like CycleGAN's F."""

    name = "test-cycle-copy"
    family_capabilities = frozenset({"translate", "translate_back"})

    def __init__(self, config, optim, spec, device):
        super().__init__(config, optim, spec, device)
        self.back = upsample_net(spec.channels, spec.source_channels,
                                 (spec.source_height, spec.source_width), config.width).to(device)
        self.opt = make_optimizer(list(self.net.parameters()) + list(self.back.parameters()), optim)

    def translate_back(self, y):
        with torch.no_grad():
            return to_data(self.back(to_net(y.to(self.device))))

    def train_step(self, batch):
        src = self.need_source(batch)
        out = self.net(to_net(src))
        rec = to_data(self.back(out))
        loss = (to_data(out) - self.target(batch)).abs().mean() + (rec - src).abs().mean()
        self.opt.zero_grad(set_to_none=True)
        params = list(self.net.parameters()) + list(self.back.parameters())
        self.backward_and_step(loss, self.opt, params)
        return {"loss/total": loss.detach()}

    def modules(self):
        return {"net": self.net, "back": self.back}


class FixedBackCopy(CopyTranslator):
    """CopyTranslator whose way back is a fixed function of y (`back_fn`, no net, nothing
    trained): F is known exactly."""

    family_capabilities = frozenset({"translate", "translate_back"})
    back_fn: Callable[[Tensor], Tensor] = staticmethod(lambda y: y.clone())

    def translate_back(self, y):
        return self.back_fn(y.to(self.device))


def copy_translator(name: str, back: Optional[Callable[[Tensor], Tensor]] = None) -> type:
    """A CopyTranslator registered as `name` (so a test's registrations stay its own); with
    `back`, also "translate_back": y -> back(y)."""
    base = CopyTranslator if back is None else FixedBackCopy
    attrs = {"name": name, "__module__": __name__, "__doc__": base.__doc__}
    if back is not None:
        attrs["back_fn"] = staticmethod(back)
    return type(base.__name__, (base,), attrs)


def register(monkeypatch: pytest.MonkeyPatch, *classes: type) -> tuple[type, ...]:
    """Each engine class, its capability contract checked, in engines._REGISTRY under its
    name until `monkeypatch` undoes it (the end of the test, or of its context)."""
    for cls in classes:
        assert not missing_members(cls), cls.name
        monkeypatch.setitem(engines._REGISTRY, cls.name, cls)
    return classes
