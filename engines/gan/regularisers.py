"""Regularisers of the GAN losses that are plain functions of samples.

- `gradient_penalty` (WGAN-GP, Gulrajani et al. 2017):
  mean over D inputs of (||grad_xhat D(xhat)||_2 - 1)^2, xhat = eps x + (1 - eps) x_fake.
- `mmd2_unbiased` (Gretton et al. 2012, eq. 3), G's optional MMD term (GMMN's loss, Li et
  al. 2015, used beside the adversarial loss to pull samples from crowded regions into
  empty ones).

DeLiGAN's scale regulariser lives with the mixture (`latent.MixtureLatent.regulariser`).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     eps: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    """WGAN-GP penalty (Gulrajani et al. 2017), without lambda:
    mean over D inputs of (||grad_xhat D(xhat)||_2 - 1)^2 with xhat = eps x + (1 - eps) x_fake,
    eps ~ U[0, 1] per sample (from the global RNG unless given, shape (B,)). The gradient is
    taken per D output: critic(xhat) returns (B / m,) values for packs of m samples, and the
    norm runs over all the non-batch dimensions of each D input (its m samples; per sample
    when m = 1), never over the whole batch. create_graph=True, so the penalty trains D.
    The norm is sqrt(sum g^2 + 1e-12) (finite gradient at g = 0).
    Returns (penalty, norms of shape (B / m,))."""
    b = real.shape[0]
    if eps is None:
        eps = torch.rand(b, device=real.device, dtype=real.dtype)
    eps = eps.view(b, *([1] * (real.dim() - 1)))
    xhat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    out = critic(xhat)
    (grad,) = torch.autograd.grad(out.sum(), xhat, create_graph=True)
    norms = (grad.reshape(out.shape[0], -1).pow(2).sum(1) + 1e-12).sqrt()
    return (norms - 1.0).pow(2).mean(), norms


def mmd2_unbiased(x: Tensor, y: Tensor, bandwidth: float) -> Tensor:
    """The unbiased estimate of the squared maximum mean discrepancy (Gretton et al. 2012,
    eq. 3) between samples x (n, ...) and y (m, ...) with the Gaussian kernel
    k(a, b) = exp(-||a - b||^2 / (2 s^2)), s = bandwidth, over all non-batch dimensions:
    MMD^2_u = sum_{i != j} k(x_i, x_j) / (n (n - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
              - 2 sum_{i, j} k(x_i, y_j) / (n m).
    Its expectation is 0 when x and y come from one distribution (it can be negative)."""
    x, y = x.flatten(1), y.flatten(1)
    n, m = x.shape[0], y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(f"MMD needs at least 2 samples on each side, got {n} and {m}")
    c = -0.5 / (bandwidth * bandwidth)

    def off_diagonal_mean(a: Tensor) -> Tensor:
        k = torch.exp(c * torch.cdist(a, a).pow(2))
        return (k.sum() - k.diagonal().sum()) / (a.shape[0] * (a.shape[0] - 1))

    cross = torch.exp(c * torch.cdist(x, y).pow(2)).mean()
    return off_diagonal_mean(x) + off_diagonal_mean(y) - 2.0 * cross
