"""Schedules counted in generator steps taken (the engine's saved `g_steps`, so a resumed run
continues them): the WGAN warm-up of critic steps and the linear fades of instance noise,
learning-rate decay and the MMD weight."""
from __future__ import annotations

WARMUP_CRITIC_STEPS = 100     # Arjovsky et al.'s main.py: Diters = 100 ...
WARMUP_G_STEPS = 25           # ... for the first 25 generator iterations ...
WARMUP_EVERY = 500            # ... and every 500th


def linear_fade(g_steps: int, steps: int) -> float:
    """1 - min(g_steps, steps) / steps: from 1 to 0 over `steps` generator steps, then 0 (the
    shape of the instance noise, lr decay and MMD schedules)."""
    return 1.0 - min(g_steps, steps) / steps


def lr_factor(g_steps: int, lr_decay: float, decay_steps: int) -> float:
    """The `lr_decay` schedule: 1 - (1 - lr_decay) * min(g_steps, decay_steps) / decay_steps."""
    if lr_decay >= 1.0:
        return 1.0
    return lr_decay + (1.0 - lr_decay) * linear_fade(g_steps, decay_steps)


def warmup_critic_steps(g_steps: int, n_critic: int) -> int:
    """The WGAN schedule: 100 critic steps while g_steps < 25 or g_steps % 500 == 0 (g_steps =
    generator steps taken so far), else n_critic."""
    if g_steps < WARMUP_G_STEPS or g_steps % WARMUP_EVERY == 0:
        return WARMUP_CRITIC_STEPS
    return n_critic
