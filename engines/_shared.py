"""Small helpers shared by the autoencoder-family engines (torch only)."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import Tensor, nn

from .spec import DataSpec


class DataScaler:
    """Maps data to the networks' units and back.

    Points: standardised with the spec's per-coordinate mean/std (networks see roughly unit
    scale; outputs are mapped back to data coordinates). Images: pixels in [0, 1] go in as
    they are, and network outputs are logits, so `to_data` is a sigmoid."""

    def __init__(self, spec: DataSpec, device: torch.device):
        self.is_images = spec.is_images
        if spec.is_images:
            self.mean = self.std = None
            self.log_std_sum = 0.0
            return
        dim = spec.dim
        mean = tuple(spec.point_mean) or (0.0,) * dim
        std = tuple(spec.point_std) or (1.0,) * dim
        if len(mean) != dim or len(std) != dim:
            raise ValueError(f"point_mean/point_std have {len(mean)}/{len(std)} entries but the "
                             f"points have dim {dim}")
        if any(not (s > 0) for s in std):
            raise ValueError(f"point_std must be positive, got {std}")
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device)
        self.std = torch.tensor(std, dtype=torch.float32, device=device)
        # log|det| of the standardisation: densities in data coordinates = densities in
        # standardised coordinates / prod(std), i.e. NLL_data = NLL_std + sum(log std).
        self.log_std_sum = float(torch.log(torch.tensor(std, dtype=torch.float64)).sum())

    def to_net(self, x: Tensor) -> Tensor:
        """Data -> network input (standardised points; images unchanged)."""
        if self.is_images:
            return x
        return (x - self.mean) / self.std

    def to_data(self, out: Tensor) -> Tensor:
        """Raw network output -> data (sigmoid for image logits; de-standardise points)."""
        if self.is_images:
            return torch.sigmoid(out)
        return out * self.std + self.mean


@contextlib.contextmanager
def inference(modules: dict[str, nn.Module]) -> Iterator[None]:
    """eval() + no_grad for the duration; restores each module's previous train flag."""
    modes = {k: m.training for k, m in modules.items()}
    try:
        for m in modules.values():
            m.eval()
        with torch.no_grad():
            yield
    finally:
        for k, m in modules.items():
            m.train(modes[k])
