"""The six adversarial losses, as functions of D's raw outputs.

s is D's raw output (a logit for minimax / nonsaturating, a score otherwise), r = s on real
data, f = s on generated data, sigma the logistic function; every term is a mean over the D
outputs of the minibatch:

  minimax        L_D = softplus(-r) + softplus(f)   L_G = -softplus(f) = log(1 - sigma(f))
                 (Goodfellow et al. 2014, the saturating original)
  nonsaturating  L_D as minimax                     L_G = softplus(-f) = -log sigma(f)
  wgan, wgan-gp  L_D = f - r                        L_G = -f   (Arjovsky et al. 2017;
                 clipping and the gradient penalty are applied by the engine)
  lsgan          L_D = (r - 1)^2 / 2 + f^2 / 2      L_G = (f - 1)^2 / 2  (Mao et al. 2017,
                 a = 0, b = c = 1)
  hinge          L_D = relu(1 - r) + relu(1 + f)    L_G = -f

The softplus / relu forms keep the logit losses finite for any logit.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge")
LOGIT_LOSSES = ("minimax", "nonsaturating")
WASSERSTEIN_LOSSES = ("wgan", "wgan-gp")


def d_real_term(kind: str, out: Tensor) -> Tensor:
    """The discriminator's loss on real data, mean over its outputs `out` (see module doc)."""
    if kind in LOGIT_LOSSES:
        return F.softplus(-out).mean()                 # -log sigma(r)
    if kind in WASSERSTEIN_LOSSES:
        return -out.mean()
    if kind == "lsgan":
        return 0.5 * (out - 1.0).pow(2).mean()
    if kind == "hinge":
        return F.relu(1.0 - out).mean()
    raise ValueError(f"unknown loss {kind!r}")


def d_fake_term(kind: str, out: Tensor) -> Tensor:
    """The discriminator's loss on generated data (and on mismatched labels)."""
    if kind in LOGIT_LOSSES:
        return F.softplus(out).mean()                  # -log(1 - sigma(f))
    if kind in WASSERSTEIN_LOSSES:
        return out.mean()
    if kind == "lsgan":
        return 0.5 * out.pow(2).mean()
    if kind == "hinge":
        return F.relu(1.0 + out).mean()
    raise ValueError(f"unknown loss {kind!r}")


def discriminator_loss(kind: str, real_out: Tensor, fake_out: Tensor) -> Tensor:
    """L_D = real term + fake term (no gradient penalty, no wrong-label term)."""
    return d_real_term(kind, real_out) + d_fake_term(kind, fake_out)


def generator_loss(kind: str, fake_out: Tensor, reduce: bool = True) -> Tensor:
    """L_G on D's outputs for generated samples: mean, or per output when reduce=False."""
    if kind == "minimax":
        per = -F.softplus(fake_out)                    # log(1 - sigma(f))
    elif kind == "nonsaturating":
        per = F.softplus(-fake_out)                    # -log sigma(f)
    elif kind in WASSERSTEIN_LOSSES or kind == "hinge":
        per = -fake_out
    elif kind == "lsgan":
        per = 0.5 * (fake_out - 1.0).pow(2)
    else:
        raise ValueError(f"unknown loss {kind!r}")
    return per.mean() if reduce else per
