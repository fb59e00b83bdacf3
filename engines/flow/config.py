"""Hyperparameters of the flow engine."""
from __future__ import annotations

from dataclasses import dataclass

from ..params import param


@dataclass
class FlowConfig:
    """Glow on images, a RealNVP-style coupling stack on points."""

    levels: int = param(2, "Images: Glow's levels (squeeze, then `steps` steps; half the "
                           "channels leave to the prior after every level but the last). "
                           "Height and width must be divisible by 2^levels (28 allows 2).",
                        min=1, max=6)
    steps: int = param(8, "Flow steps per level (images) or in all (points); each step is "
                          "actnorm -> mixing -> coupling.", min=1, max=128)
    hidden: int = param(128, "Width of the coupling networks (conv channels on images, MLP "
                             "units on points).", min=2, max=2048)
    depth: int = param(2, "Points: hidden layers of each coupling MLP (images always use "
                          "Glow's conv3x3 -> conv1x1 -> zero conv3x3).", min=1, max=8)
    coupling: str = param("affine", "'affine' (RealNVP/Glow: y = (x + t) * s) or 'additive' "
                                    "(NICE: y = x + t, volume-preserving).",
                          choices=("affine", "additive"))
    mixing: str = param("lu", "Channel mixing between couplings: 'lu' (Glow's invertible 1x1 "
                              "convolution, LU-decomposed), 'plain' (the same with a full "
                              "matrix and slogdet), 'reverse' (RealNVP's fixed reversal).",
                        choices=("lu", "plain", "reverse"))
    # logit: 1.43 test bits/dim after 500 MNIST steps where center had 3.22 (same flow, seed)
    preprocess: str = param("logit", "Images: 'logit' (logit(a + (1 - 2a) x), RealNVP: spreads "
                                     "the many black and white pixels of digits out; far lower "
                                     "bits/dim early on) or 'center' (x - 1/2, Glow on photos).",
                            choices=("center", "logit"))
    logit_alpha: float = param(1e-6, "Images, preprocess = 'logit': a in logit(a + (1 - 2a) x) "
                                     "(RealNVP: 1e-6 on MNIST, 0.05 on CIFAR).",
                               min=1e-9, max=0.25)
    warmup: int = param(200, "Steps of linear learning-rate warm-up from 0 (Glow warms up; a "
                             "flow's first large steps can blow up its log-determinants).",
                        min=0, max=1_000_000, structural=False)
    temperature: float = param(1.0, "Sampling temperature T: samples decode T * eps (the "
                                    "prior's std scaled by T; Glow's figures use 0.7, T = 0 "
                                    "gives the prior means).",
                               min=0.0, max=2.0, structural=False)

    def validate(self) -> None:
        if self.coupling not in ("affine", "additive"):
            raise ValueError(f"coupling {self.coupling!r}: choose 'affine' or 'additive'")
        if self.mixing not in ("lu", "plain", "reverse"):
            raise ValueError(f"mixing {self.mixing!r}: choose 'lu', 'plain' or 'reverse'")
        if self.preprocess not in ("center", "logit"):
            raise ValueError(f"preprocess {self.preprocess!r}: choose 'center' or 'logit'")
