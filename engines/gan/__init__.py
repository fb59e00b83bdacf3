"""Generative adversarial networks (Goodfellow et al. 2014) with the usual repairs.

- `losses`: the six adversarial losses (minimax, nonsaturating, wgan, wgan-gp, lsgan, hinge)
- `regularisers`: the WGAN-GP gradient penalty and the unbiased MMD^2
- `schedule`: the WGAN critic warm-up and the linear fades counted in generator steps
- `nets`: generators, discriminator and the pieces on D's input (packing, minibatch
  discrimination, labels, Fourier features)
- `latent`: DeLiGAN's learnable latent mixture
- `config`: `GANConfig`;  `engine`: `GANEngine` (registered as "gan" on import)

Design notes, equations, measurements and references: docs/engines/gan.md.
"""
from __future__ import annotations

from ..capabilities import PHASES
from .config import MAX_SAMPLES_PER_STEP, GANConfig
from .engine import GANEngine
from .latent import MixtureLatent, MixtureLatentGenerator, nearest_other_distance
from .losses import (LOGIT_LOSSES, LOSSES, WASSERSTEIN_LOSSES, d_fake_term, d_real_term,
                     discriminator_loss, generator_loss)
from .nets import NORMS, ConvGenerator, Discriminator, MinibatchDiscrimination, MLPGenerator
from .regularisers import gradient_penalty, mmd2_unbiased
from .schedule import (WARMUP_CRITIC_STEPS, WARMUP_EVERY, WARMUP_G_STEPS, linear_fade,
                       lr_factor, warmup_critic_steps)

__all__ = [
    "GANConfig", "GANEngine", "MAX_SAMPLES_PER_STEP", "PHASES",
    "LOSSES", "LOGIT_LOSSES", "WASSERSTEIN_LOSSES", "d_real_term", "d_fake_term",
    "discriminator_loss", "generator_loss",
    "gradient_penalty", "mmd2_unbiased",
    "WARMUP_CRITIC_STEPS", "WARMUP_G_STEPS", "WARMUP_EVERY", "linear_fade", "lr_factor",
    "warmup_critic_steps",
    "MixtureLatent", "MixtureLatentGenerator", "nearest_other_distance",
    "NORMS", "ConvGenerator", "Discriminator", "MinibatchDiscrimination", "MLPGenerator",
]
