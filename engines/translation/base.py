"""What the three translators (pix2pix, CycleGAN, SRGAN) share: they read the data set's
SOURCE side (Batch.x2, spec.source_shape) and write its TARGET side (Batch.x, the spec's
sample shape), so the engine contract's noise and samples mean something else here.

- There is no noise: `noise_shape` is the source image's shape and `sample(n, z=x)`
  translates the images x. The trainer hands a translator fixed test-split sources as the
  gallery's inputs (Trainer.eval_z), so the live grid shows translations of real inputs;
  `noise()` (uniform-random images) only exists so generic code paths keep working.
- Networks work in [-1, 1] (tanh outputs, as in the papers' code); `to_net`/`to_data`
  convert, and `translate` returns [0, 1] without clamping anything the tanh let through.
- The held-out metric (`evaluate`) on paired data is the mean L1 and PSNR of translate(x2)
  against x; the trainer logs it beside the training losses once per sample_every steps.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Iterable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..base import Engine
from ..spec import Batch, DataSpec

PAIRED_SETS = "mnist-edges, mnist-lowres or a folder-pair with pairing = paired"
UNPAIRED_SETS = "mnist-thin-thick, mnist-rotated or a folder-pair"


def check_translation_data(name: str, spec: DataSpec, pairing_needed: tuple[str, ...]) -> None:
    """A translator needs image data with two sides, paired when it learns from pairs."""
    if not spec.is_images or not spec.two_sided:
        sets = PAIRED_SETS if pairing_needed == ("paired",) else f"{PAIRED_SETS}; {UNPAIRED_SETS}"
        raise ValueError(f"{name} translates images from one side of a data set to the other; "
                         f"this data set has one side. Choose a two-sided set ({sets})")
    if spec.pairing not in pairing_needed:
        raise ValueError(f"{name} learns from {' or '.join(pairing_needed)} examples and this "
                         f"data set is {spec.pairing} (choose {PAIRED_SETS})")


def to_net(x: Tensor) -> Tensor:
    return x * 2.0 - 1.0


def to_data(x: Tensor) -> Tensor:
    return (x + 1.0) * 0.5


PSNR_MIN_MSE = 1e-10     # identical images score 100 dB


def psnr(a: Tensor, b: Tensor) -> Tensor:
    """Per image PSNR in dB of images in [0, 1], in the inputs' dtype: 10 log10(1 / MSE), the
    MSE floored at PSNR_MIN_MSE (identical images score 100 dB)."""
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(PSNR_MIN_MSE)
    return 10.0 * torch.log10(1.0 / mse)


def resize_bicubic(x: Tensor, size: tuple[int, int], clamp: bool = False) -> Tensor:
    """x (n, c, h, w) at `size`: bicubic (align_corners False) when the size differs, x itself
    otherwise. `clamp` clips to [0, 1] (cubic kernels overshoot at edges): the classical
    super-resolution baseline; a network's input is left unclipped."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    up = F.interpolate(x, size=tuple(size), mode="bicubic", align_corners=False)
    return up.clamp(0.0, 1.0) if clamp else up


class TranslationEngine(Engine):
    pairing_needed: ClassVar[tuple[str, ...]] = ("paired",)

    def __init__(self, config, optim, spec: DataSpec, device: torch.device):
        super().__init__(config, optim, spec, device)
        check_translation_data(self.name, spec, self.pairing_needed)

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return tuple(self.spec.source_shape)

    def noise(self, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
        return torch.rand((n, *self.noise_shape), generator=generator,
                          device=generator.device if generator is not None else self.device
                          ).to(self.device)

    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        x = self.noise(n, generator) if z is None else z
        return self.translate(x.reshape(len(x), *self.noise_shape).to(self.device))

    @abstractmethod
    def translate(self, x: Tensor) -> Tensor:
        """(n, *source shape) in [0, 1] -> (n, *target shape) in [0, 1] (eval mode)."""

    @staticmethod
    def need_source(batch: Batch) -> Tensor:
        if batch.x2 is None:
            raise ValueError("a translator's batch needs its source side (Batch.x2)")
        return batch.x2

    def evaluate(self, batches: Iterable[Batch]) -> dict[str, float]:
        """Paired data: mean L1 and PSNR of the translations of the sources to their targets
        (the held-out curve). Unpaired data: none here (the engine adds its own)."""
        if self.spec.pairing != "paired":
            return {}
        l1 = ps = 0.0
        n = 0
        for b in batches:
            out = self.translate(self.need_source(b))
            l1 += float((out - b.x).abs().flatten(1).mean(1).double().sum())
            ps += float(psnr(out, b.x).double().sum())
            n += len(b.x)
        if n == 0:
            return {}
        return {"test/l1": l1 / n, "test/psnr": ps / n}
