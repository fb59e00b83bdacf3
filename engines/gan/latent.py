"""DeLiGAN's learnable latent mixture (Gurumurthy et al. 2017) and what the engine needs to
restart its components.

G's input becomes z = mu_i + sigma_i * eps, eps ~ N(0, I_d), i drawn from the mixture, with
mu and sigma (and optionally the mixture logits) trained by G's optimizer through this
reparameterisation. A continuous G of a unimodal z must put mass between disjoint modes;
a mixture lets it map separate components to separate modes. The scale regulariser is the
authors' mean_{i,k} (1 - sigma_ik)^2. The engine's standard-normal code is (eps, u), one
coordinate longer than z: u picks the component, so a fixed code is a fixed sample.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn


class MixtureLatent(nn.Module):
    """DeLiGAN's learnable mixture-of-Gaussians latent (Gurumurthy et al. 2017, sec. 4):
    N components with means mu (N, d) ~ U(-1, 1) and per-dimension scales sigma (N, d) =
    sigma0 at the start (the authors' code: `g_z` random_uniform(-1, 1), `g_sig` 0.2), both
    trained with the generator through the reparameterisation z = mu_i + sigma_i * eps.

    Input: a standard-normal code (B, d + 1) = (eps, u); the component is
    i = min(floor(N Phi(u)), N - 1) (Phi the standard normal CDF, so i is uniform on
    0..N-1 and independent of eps). Output: z = mu_i + sigma_i * eps, (B, d). The map is a
    deterministic function of the code, so fixed codes give fixed samples.
    `regulariser()` = mean over i, k of (1 - sigma_ik)^2 (the authors' code:
    reduce_mean(square(zsig - 1)); the paper's lambda / N sum_i (1 - sigma_i)^2 per dimension)."""

    def __init__(self, components: int, dim: int, sigma0: float = 0.2,
                 learn_weights: bool = False):
        super().__init__()
        self.components, self.dim = components, dim
        self.mu = nn.Parameter(torch.rand(components, dim) * 2.0 - 1.0)
        self.sigma = nn.Parameter(torch.full((components, dim), float(sigma0)))
        # pi = softmax(logits), starting uniform; only with learn_weights (older checkpoints
        # and the uniform mixture have no logits)
        self.logits = nn.Parameter(torch.zeros(components)) if learn_weights else None

    def weights(self) -> Tensor:
        """The mixture weights pi (N,)."""
        if self.logits is None:
            return torch.full((self.components,), 1.0 / self.components, device=self.mu.device)
        return torch.softmax(self.logits, 0)

    def component(self, u: Tensor) -> Tensor:
        """(B,) standard-normal u -> (B,) component indices: i = min(floor(N Phi(u)), N - 1),
        uniform on 0..N-1; with learned weights the i with C_(i-1) <= Phi(u) < C_i, C the
        cumulative weights, so P(i) = pi_i."""
        n = self.components
        if self.logits is None:
            return (torch.special.ndtr(u) * n).long().clamp_(0, n - 1)
        cdf = torch.cumsum(self.weights().detach(), 0)
        return torch.searchsorted(cdf, torch.special.ndtr(u).contiguous(),
                                  right=True).clamp_(0, n - 1)

    def log_weight(self, code: Tensor) -> Tensor:
        """(B,) log pi_i of each code's component, differentiable w.r.t. the logits."""
        i = self.component(code[:, self.dim])
        return torch.log_softmax(self.logits, 0)[i]

    def forward(self, code: Tensor) -> Tensor:
        i = self.component(code[:, self.dim])
        return self.mu[i] + self.sigma[i] * code[:, :self.dim]

    def regulariser(self) -> Tensor:
        return (1.0 - self.sigma).pow(2).mean()


class MixtureLatentGenerator(nn.Module):
    """A generator whose input goes through a `MixtureLatent` first: G(code) = net(mix(code))
    (DeLiGAN). `latent` holds mu and sigma, so they are G's parameters (trained, averaged by
    the EMA, saved with G's weights)."""

    def __init__(self, net: nn.Module, components: int, dim: int, sigma0: float = 0.2,
                 learn_weights: bool = False):
        super().__init__()
        self.net = net
        self.latent = MixtureLatent(components, dim, sigma0, learn_weights)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.net(self.latent(z), y)

    def features(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.net.features(self.latent(z), y)


def nearest_other_distance(a: Tensor) -> Tensor:
    """(n,) Euclidean distance from each row of a (n, d) to its nearest OTHER row."""
    d = torch.cdist(a, a)
    d.fill_diagonal_(float("inf"))
    return d.min(1).values
