"""Generative adversarial networks (Goodfellow et al. 2014) with the usual repairs.

Units. The networks work in network units: points standardised with the spec's
point_mean / point_std (`_shared.DataScaler`), images in [-1, 1] (t = 2 x - 1; the generator
ends in tanh and `sample` returns (t + 1) / 2 in [0, 1]). z ~ N(0, I) of size latent_dim
(latent_dim + 1 with `latent_mixture`, see there).

Losses, with D's raw output s (a logit for minimax / nonsaturating, a score otherwise),
r = s on real data, f = s on generated data, sigma the logistic function; every term is a
mean over the D outputs of the minibatch:
  minimax        L_D = -log sigma(r) - log(1 - sigma(f)) = softplus(-r) + softplus(f)
                 L_G = log(1 - sigma(f)) = -softplus(f)       (the saturating original)
  nonsaturating  L_D as minimax;  L_G = -log sigma(f) = softplus(-f)
  wgan           L_D = f - r, then every D parameter is clipped to [-clip, clip] after each
                 critic step (Arjovsky et al. 2017);  L_G = -f
  wgan-gp        L_D = f - r + lambda (||grad_xhat D(xhat)||_2 - 1)^2 with
                 xhat = eps x + (1 - eps) x_fake, eps ~ U[0, 1] per sample, the norm per D
                 input over all its non-batch dimensions, then the mean (Gulrajani et al.);
                 L_G = -f
  lsgan          L_D = (r - 1)^2 / 2 + f^2 / 2;  L_G = (f - 1)^2 / 2  (Mao et al., a=0 b=1 c=1)
  hinge          L_D = relu(1 - r) + relu(1 + f);  L_G = -f
softplus / relu forms keep the logit losses finite for any logit.

One `train_step` = K = `batches_for_next_step()` discriminator steps then one generator
step. The trainer hands over one Batch of K * batch_size samples; it is cut in K chunks
(`Batch.x.chunk(K)`), one D step per chunk, each with fresh z of the chunk's size; the G step
draws fresh z of the chunk's size too. K = n_critic, except with `wgan_warmup` (the WGAN
authors' schedule): K = 100 while fewer than 25 generator steps were taken and whenever the
number of generator steps taken is a multiple of 500. That count is the extra tensor
`g_steps`, saved with the weights, so resumed runs take the same schedule. All noise (z,
eps of the penalty, wrong labels) comes from the global torch RNG, which the trainer seeds
and checkpoints.

Options on top of any loss:
- `pack` m (PacGAN, Lin et al. 2018): D sees m samples concatenated along features /
  channels, (B, d) -> (B/m, m d); real packs hold m real samples, fake packs m generated.
- `minibatch_disc` B and `minibatch_dim` C (Salimans et al. 2016): see
  `gan_nets.MinibatchDiscrimination`; real and generated samples go through D in separate
  minibatches.
- `unroll_steps` K (Metz et al. 2017): L_G is computed with D after K differentiable copies
  of the discriminator's optimizer step (`unrolled_discriminator`); the real D takes ordinary
  single steps and neither its weights nor its optimizer state are touched by the unrolling.
- `conditional` (data with labels): G and D get the label as a one-hot vector (concatenated
  to z, and to each D input sample, as constant channels for conv D; the first layers are
  linear, so this equals a learned embedding). D also scores (real x, wrong label) as fake
  (Reed et al. 2016, GAN-CLS "matching-aware"): L_D = real term + (fake term on G(z, y) +
  fake term on (x, y')) / 2, y' = (y + U{1..K-1}) mod K. Generated samples use the labels of
  the real chunk, so the label distribution matches the data.
- `ema`: sampling uses an exponential moving average of G's weights, updated after each G
  step with decay min(ema, (1 + n) / (10 + n)) after n updates (BatchNorm statistics copied).
- `spectral_norm`: spectral normalisation of D's weights.
- `d_input_scale` c: D's input (network units) is multiplied by c before anything else (a
  forward pre-hook): D(t) -> D(c t), i.e. D's first layer starts c times steeper and takes
  c times larger effective steps. 1 (the default) leaves D alone. (On grid25, c = 10 alone
  did not get D off chance in a 90 CPU s trial; d_fourier did.)
- `g_lr_mult`: the generator's learning rate is lr * g_lr_mult (kept by `set_lr`).
- `d_fourier` N and `d_fourier_scale` s (points only; Tancik et al. 2020): D's per-sample input
  t (d numbers) is extended to [t, sin(2 pi t B^T), cos(2 pi t B^T)] (d + 2 N numbers), B (N, d) ~
  N(0, s^2) drawn once from the torch RNG when the engine is built and saved as D's buffer
  `fourier_B` (a forward pre-hook, before labels and packing). ReLU MLPs learn sharp
  features slowly (spectral bias); these features let D see modes much tighter than their
  spacing (grid25) from the first step. 0 (the default) leaves D alone.
- `instance_noise` s0 and `noise_steps` T (Sonderby et al. 2016, "instance noise"): every
  sample D sees in training (real and generated, in the D and G steps; not inside the
  unrolled D steps of `unroll_steps`) gets Gaussian noise
  of std s(n) = s0 * (1 - min(n, T) / T) network units added, n = generator steps taken;
  the noise comes from the global torch RNG. Early on D judges blurred distributions (smooth
  gradients that spread G over all modes), at the end the exact ones. 0 (the default): none.
- `lr_decay` f and `decay_steps` T: both learning rates are multiplied by
  `lr_factor(n) = 1 - (1 - f) * min(n, T) / T`, n = generator steps taken (`g_steps`, saved
  with the weights, so a resumed run continues the schedule), set before every step: linear
  from 1 to f over T generator steps, then f. f = 1 (the default) leaves the rates alone.
- `reuse_fake` (off by default): the G step reuses the batch the last D step generated (the
  same codes z, forward pass kept with its graph) instead of drawing a new one, as PyTorch's
  DCGAN example does; G's weights do not change in between, so this is G's usual loss on
  codes D has just been trained against, for one forward pass of G fewer per step (1.23x
  the steps per CPU second on the grid25 preset with the paper's G, bench/gan_step_speed.py).
- `latent_mixture` N, `latent_mixture_sigma` s0, `latent_mixture_reg` lambda (DeLiGAN,
  Gurumurthy et al. 2017): G's input is a mixture of N Gaussians with learnable means and
  scales, z = mu_i + sigma_i * eps, eps ~ N(0, I_d), i uniform on 0..N-1; mu (N, d) starts
  U(-1, 1) (global torch RNG, after G's own initialisation), sigma (N, d) starts s0 (the
  authors' code: 0.2, one scale per component and dimension), and both are parameters of G
  (`gan_nets.MixtureLatent`: trained by G's optimizer through the reparameterisation, kept in
  the EMA copy and in checkpoints). G's loss gains lambda * mean_{i,k} (1 - sigma_ik)^2
  (the authors' reduce_mean(square(sigma - 1)); the paper's lambda / N sum_i (1 - sigma_i)^2)
  so the scales do not collapse to 0. The engine's standard-normal code (`noise_shape`,
  `noise`, `sample(z=...)`, the latent explorer, `generator_features`, `generator_field`,
  `evaluate`) is then (eps, u) of size d + 1: the last coordinate u picks the component,
  i = min(floor(N Phi(u)), N - 1) with Phi the normal CDF (uniform i, independent of eps),
  and eps is scaled and shifted by that component; a fixed code is a fixed sample, and a
  latent grid over the first two coordinates (u = 0) shows component floor(N / 2). A
  continuous G of a unimodal z must put mass between disjoint modes; a mixture lets G map
  separate components to separate modes. Metric gan/latent_sigma = mean |sigma|. 0 (the
  default): z ~ N(0, I_d) as usual.
- `latent_mixture_weights` (with latent_mixture; off by default, DeLiGAN's weights are fixed
  and uniform): the weights are learned too, pi = softmax(logits), logits starting at 0, and
  u picks the component through the cumulative weights (P(i) = pi_i). Each component settles
  on one mode, so with uniform weights a mode's share is (its components) / N, fixed by
  where the components happened to land; learned weights let G even the shares out. The
  gradient w.r.t. the logits is the score-function (REINFORCE) estimate of
  d E_{i ~ pi}[L_G] / d logits: G's loss gains mean_j (l_j - b)(log pi_(i_j) -
  stop(log pi_(i_j))), l_j the loss of the D output sample j went into, b the batch mean
  (`mixture_weight_surrogate`; value 0, so loss/g is unchanged). The logits learn at G's rate
  times `latent_mixture_weights_lr`, and lr_decay leaves them alone (shares can only be
  evened out once the components have settled, late in a run). Metric
  gan/latent_weights_perplexity = exp(entropy of pi) / N (1 while uniform).
- `latent_mixture_restart` R with `latent_mixture_restart_start` / `_stop` and
  `latent_mixture_restart_gap` k (with latent_mixture; off by default): after every R-th
  generator step n with start <= n < stop, `restart_component` compares the G step's real
  batch with 1,000 samples of G; if some real sample is farther from every generated sample
  than k times the real batch's median nearest-neighbour distance (an empty mode), the least
  useful component (lowest learned weight; with uniform weights, one of the two whose
  G(mu) are closest) restarts with its mean at the latent point G maps nearest that real
  sample (best of 4,096 uniform in the means' box), sigma = latent_mixture_sigma and the
  mean logit, in G and its EMA copy. The mixture's version of the codebook restarts of
  Dhariwal et al. 2020 (Jukebox): D's gradient is local, so a component rarely crosses the
  empty space between modes by itself, and a mode no component reaches stays empty. Metric
  mixture/restarts = restarts so far (saved with the weights; its own plot, a count).
- `mmd_weight` w, `mmd_bandwidth` s, `mmd_steps` T (off by default): G's loss gains
  w(n) MMD^2_u(G(z), x_real), the unbiased squared maximum mean discrepancy (Gretton et al.
  2012, eq. 3; `mmd2_unbiased`) with the Gaussian kernel exp(-||a - b||^2 / (2 s^2)) between
  the generated batch and the G step's real batch in network units (GMMN's loss, Li et al.
  2015, here as a regulariser beside the adversarial loss; the kernel ignores labels). With
  s about the spacing of the modes its gradient moves samples from crowded regions towards
  empty ones, which D's gradient does not do once a mode has no generated sample near it.
  w(n) = w (1 - min(n, T) / T) after n generator steps (T = 0: constant). Metric gan/mmd =
  the estimate, also after w(n) has reached 0.

Metrics (0-d detached tensors, means over the step's D steps): loss/d, loss/g, loss/total
(= loss/d + loss/g, only a health signal), gan/d_real and gan/d_fake (mean D output on real
and generated samples: sigma(s) for minimax / nonsaturating, s otherwise), gan/d_wrong
(conditional), gan/gp (wgan-gp: the penalty before lambda), gan/wasserstein (wgan,
wgan-gp: E[D(x)] - E[D(G(z))], the critic's estimate of the Wasserstein-1 distance up to
its Lipschitz constant).
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from . import register
from ._shared import DataScaler, inference
from .base import Engine, clip_and_step, make_optimizer
from .gan_nets import (NORMS, ConvGenerator, Discriminator, MixtureLatentGenerator,
                       MLPGenerator)
from .nets import ACTIVATIONS
from .params import OptimConfig, param
from .spec import Batch, DataSpec

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge")
LOGIT_LOSSES = ("minimax", "nonsaturating")
WASSERSTEIN_LOSSES = ("wgan", "wgan-gp")
WARMUP_CRITIC_STEPS = 100     # Arjovsky et al.'s main.py: Diters = 100 ...
WARMUP_G_STEPS = 25           # ... for the first 25 generator iterations ...
WARMUP_EVERY = 500            # ... and every 500th
PHASES = ("discriminator", "generator")
# the trainer stacks every D step's batch into one tensor; 2**20 MNIST images are 3 GB of floats
MAX_SAMPLES_PER_STEP = 1 << 20


@dataclass
class GANConfig:
    """Hyperparameters of the GAN engine."""

    loss: str = param("nonsaturating", "Adversarial loss: 'minimax' (the original, saturating), "
                                       "'nonsaturating' (G maximises log D(G(z))), 'wgan' "
                                       "(weight clipping), 'wgan-gp' (gradient penalty), "
                                       "'lsgan' (least squares) or 'hinge'.", choices=LOSSES)
    latent_dim: int = param(0, "Size of z; 0 picks 2 for points (as in PacGAN) and 64 for "
                               "images.", min=0, max=1024)
    # mlp: ~60 it/s on a busy 2-core CPU against ~1 for the DCGAN, and all ten digits
    # within a minute (docs/benchmarks.md, "First hour")
    arch: str = param("mlp", "Image networks: 'mlp' (much faster on a CPU) or 'conv' (DCGAN: "
                             "transposed convs in G, strided convs in D). Points always use "
                             "MLPs.", choices=("conv", "mlp"))
    g_hidden: int = param(256, "Width of the generator's MLP hidden layers.", min=1, max=8192)
    g_depth: int = param(2, "Number of hidden layers of the generator's MLP.", min=0, max=16)
    d_hidden: int = param(256, "Width of the discriminator's MLP hidden layers (and of the "
                               "layer before minibatch discrimination in the conv D).",
                          min=1, max=8192)
    d_depth: int = param(2, "Number of hidden layers of the discriminator's MLP.", min=0, max=16)
    channels: int = param(32, "Conv nets: channels of D's first level, doubled per level "
                              "(at most 8x); G mirrors them.", min=1, max=512)
    g_act: str = param("relu", "Activation of the generator's hidden layers.", choices=ACTIVATIONS)
    d_act: str = param("leaky_relu", "Activation of the discriminator's hidden layers "
                                     "(leaky_relu has slope 0.2).", choices=ACTIVATIONS)
    g_norm: str = param("batch", "Normalisation of the generator's hidden layers: 'batch' "
                                 "(DCGAN) or 'none'.", choices=NORMS)
    d_norm: str = param("none", "Normalisation of the discriminator's hidden layers (never the "
                                "first conv): 'batch' or 'none' ('batch' is not allowed with "
                                "wgan-gp, whose penalty is per sample).", choices=NORMS)
    spectral_norm: bool = param(False, "Spectral normalisation of every discriminator weight "
                                       "(Miyato et al. 2018).")
    n_critic: int = param(1, "Discriminator steps per generator step (each on its own batch).",
                          min=1, max=1000)
    clip: float = param(0.01, "wgan: clip every critic weight to [-clip, clip] after each "
                              "critic step.", min=1e-6, max=100.0, structural=False)
    wgan_warmup: bool = param(False, "wgan / wgan-gp: the WGAN paper's schedule, 100 critic "
                                     "steps for the first 25 generator steps and every 500th.")
    gp_lambda: float = param(10.0, "wgan-gp: weight lambda of the gradient penalty (the paper: "
                                   "10; its 2D toys: 0.1).", min=0.0, max=1e4, structural=False)
    g_lr_mult: float = param(1.0, "The generator's learning rate is lr times this (e.g. 10 "
                                  "for Unrolled GAN's 1e-3 vs 1e-4).", min=1e-4, max=1e4,
                             structural=False)
    minibatch_disc: int = param(0, "Minibatch discrimination kernels B (Salimans et al. 2016; "
                                   "the authors use 100); 0 turns it off.", min=0, max=1024)
    minibatch_dim: int = param(5, "Minibatch discrimination: dimension C of each kernel.",
                               min=1, max=256)
    unroll_steps: int = param(0, "Unrolled GAN (Metz et al. 2017): the generator's loss uses D "
                                 "after this many differentiable optimizer steps; 0 = off.",
                              min=0, max=50)
    pack: int = param(1, "PacGAN (Lin et al. 2018): D judges this many samples at once, "
                         "concatenated; 1 = off. The batch size must be a multiple.",
                      min=1, max=16)
    conditional: bool = param(False, "Class-conditional G and D when the data has labels "
                                     "(ignored otherwise); D also learns that real data with a "
                                     "wrong label is fake.")
    ema: float = param(0.999, "EMA decay of the generator's weights used for sampling; 0 "
                              "samples with the live weights.", min=0.0, max=0.99999)
    d_input_scale: float = param(1.0, "D's input (network units) is multiplied by this (a "
                                      "steeper, faster-moving first layer); 1 leaves D "
                                      "alone.", min=1e-3, max=1e4)
    d_fourier: int = param(0, "Points: D also sees N random Fourier features sin / cos(2 pi t "
                              "B^T) of each sample (Tancik et al. 2020), so it resolves tight "
                              "modes sooner; 0 turns them off.", min=0, max=4096)
    d_fourier_scale: float = param(1.0, "d_fourier: standard deviation of the frequencies B "
                                        "(cycles per network unit).", min=1e-3, max=1e3)
    instance_noise: float = param(0.0, "Std (network units) of Gaussian noise added to every "
                                       "sample D sees in training, falling linearly to 0 over "
                                       "noise_steps generator steps; 0 turns it off.",
                                  min=0.0, max=10.0)
    noise_steps: int = param(10000, "Generator steps over which instance_noise falls to 0.",
                             min=1, max=10_000_000)
    lr_decay: float = param(1.0, "Both learning rates fall linearly to this fraction of their "
                                 "value over decay_steps generator steps, then stay there "
                                 "(precise modes late in the run); 1 turns the decay off.",
                            min=0.0, max=1.0)
    decay_steps: int = param(10000, "Generator steps over which lr_decay takes the learning "
                                    "rates from 1x to lr_decay x.", min=1, max=10_000_000)
    reuse_fake: bool = param(False, "The generator step reuses the batch G generated for the "
                                    "last discriminator step (same codes, its graph kept), as "
                                    "PyTorch's DCGAN example does: one forward pass of G "
                                    "fewer per step.", structural=False)
    latent_mixture: int = param(0, "DeLiGAN (Gurumurthy et al. 2017): z is drawn from a mixture "
                                   "of this many Gaussians whose means and scales G learns "
                                   "(z = mu_i + sigma_i eps, i uniform); the noise code gets one "
                                   "extra coordinate that picks i. 0 turns it off.",
                                min=0, max=65536)
    latent_mixture_sigma: float = param(0.2, "latent_mixture: initial scale sigma of every "
                                             "component (means start U(-1, 1)).",
                                        min=1e-4, max=100.0)
    latent_mixture_reg: float = param(0.1, "latent_mixture: weight lambda of DeLiGAN's "
                                           "regulariser lambda * mean (1 - sigma)^2 in G's loss, "
                                           "which keeps the scales from collapsing to 0.",
                                      min=0.0, max=1e4, structural=False)
    latent_mixture_weights: bool = param(False, "latent_mixture: G also learns the mixture "
                                                "weights (softmax of logits, starting uniform) "
                                                "through a score-function term in its loss, so "
                                                "modes need not get shares fixed by how many "
                                                "components land on them.")
    latent_mixture_weights_lr: float = param(1.0, "latent_mixture_weights: the weights' logits "
                                                  "learn at G's learning rate times this "
                                                  "(not decayed by lr_decay).",
                                             min=1e-3, max=1e4)
    latent_mixture_restart: int = param(0, "latent_mixture: every this many generator steps "
                                           "(inside the restart window), move the least "
                                           "useful component to the real point farthest from "
                                           "every generated sample, if that gap is large "
                                           "(Jukebox's codebook restarts); 0 turns it off.",
                                        min=0, max=10_000_000)
    latent_mixture_restart_start: int = param(0, "latent_mixture_restart: first generator step "
                                                 "of the restart window.",
                                              min=0, max=10_000_000, structural=False)
    latent_mixture_restart_stop: int = param(10_000, "latent_mixture_restart: the window ends "
                                                     "before this generator step.",
                                             min=0, max=10_000_000, structural=False)
    latent_mixture_restart_gap: float = param(10.0, "latent_mixture_restart: restart only when "
                                                    "the largest real-to-generated gap exceeds "
                                                    "this times the real batch's median "
                                                    "nearest-neighbour distance.",
                                              min=0.0, max=1e6, structural=False)
    mmd_weight: float = param(0.0, "G's loss gains this times the squared maximum mean "
                                   "discrepancy between its batch and the real batch (GMMN's "
                                   "loss, Gaussian kernel): a pull from crowded regions to "
                                   "empty ones; 0 turns it off.", min=0.0, max=1e4,
                              structural=False)
    mmd_bandwidth: float = param(0.5, "mmd_weight: the Gaussian kernel's bandwidth (network "
                                      "units): about the spacing of the modes it should "
                                      "balance, well above their width.", min=1e-4, max=1e4,
                                 structural=False)
    mmd_steps: int = param(0, "mmd_weight falls linearly to 0 over this many generator steps "
                              "(0: constant).", min=0, max=10_000_000)

    def validate(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} is not valid; choose one of "
                             + ", ".join(repr(v) for v in LOSSES))
        if self.arch not in ("conv", "mlp"):
            raise ValueError(f"arch {self.arch!r} is not valid; choose 'conv' or 'mlp'")
        for name in ("g_norm", "d_norm"):
            if getattr(self, name) not in NORMS:
                raise ValueError(f"{name} {getattr(self, name)!r} is not valid; choose "
                                 "'batch' or 'none'")
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            raise ValueError("d_norm = 'batch' couples the samples of a batch, which breaks "
                             "wgan-gp's per-sample gradient penalty; use d_norm = 'none' "
                             "(or spectral_norm)")
        if self.pack < 1:
            raise ValueError(f"pack must be >= 1, got {self.pack}")
        if self.n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {self.n_critic}")
        if not (0.0 <= self.ema < 1.0):
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if self.clip <= 0:
            raise ValueError(f"clip must be > 0, got {self.clip}")
        if self.g_lr_mult <= 0:
            raise ValueError(f"g_lr_mult must be > 0, got {self.g_lr_mult}")
        if self.d_input_scale <= 0:
            raise ValueError(f"d_input_scale must be > 0, got {self.d_input_scale}")
        if self.d_fourier < 0:
            raise ValueError(f"d_fourier must be >= 0, got {self.d_fourier}")
        if not (0.0 <= self.lr_decay <= 1.0):
            raise ValueError(f"lr_decay must be in [0, 1], got {self.lr_decay}")
        if self.decay_steps < 1:
            raise ValueError(f"decay_steps must be >= 1, got {self.decay_steps}")
        if self.latent_mixture < 0:
            raise ValueError(f"latent_mixture must be >= 0, got {self.latent_mixture}")
        if self.latent_mixture_sigma <= 0:
            raise ValueError(f"latent_mixture_sigma must be > 0, got {self.latent_mixture_sigma}")
        if self.latent_mixture_reg < 0:
            raise ValueError(f"latent_mixture_reg must be >= 0, got {self.latent_mixture_reg}")
        if self.latent_mixture_restart > 0 and self.latent_mixture == 0:
            raise ValueError("latent_mixture_restart moves mixture components: it needs "
                             "latent_mixture > 0")

    def validate_batch(self, batch_size: int) -> None:
        """What [run] batch_size must satisfy with this config; studio.config calls it when a
        config is read, so a bad pairing never starts a run that fails at its first step."""
        b, m = batch_size, self.pack
        if b % m:
            raise ValueError(f"run.batch_size = {b} is not a multiple of model.pack = {m} "
                             "(D judges packs of that many samples); choose a batch size "
                             f"that is a multiple of {m}")
        # BatchNorm1d refuses a batch of one sample; MMD compares pairs within a batch
        if self.g_norm == "batch" and b < 2:
            raise ValueError(f"model.g_norm = 'batch' needs run.batch_size >= 2, got {b}")
        if self.d_norm == "batch" and b < 2 * m:
            raise ValueError(f"model.d_norm = 'batch' needs at least 2 packs per batch: "
                             f"run.batch_size >= {2 * m} with model.pack = {m}, got {b}")
        if self.mmd_weight > 0 and b < 2:
            raise ValueError(f"model.mmd_weight > 0 needs run.batch_size >= 2, got {b}")
        k = max(self.n_critic, WARMUP_CRITIC_STEPS if self.wgan_warmup else 1)
        if k * b > MAX_SAMPLES_PER_STEP:
            why = "model.wgan_warmup's 100" if k > self.n_critic else f"model.n_critic = {k}"
            raise ValueError(f"run.batch_size = {b} times {why} discriminator steps draws "
                             f"{k * b} samples per step; at most {MAX_SAMPLES_PER_STEP} fit "
                             "in memory, so lower one of them")


# ---------------------------------------------------------------------------------- losses

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


def _input_scaler(c: float):
    """A forward pre-hook that multiplies a module's first argument (x) by c."""
    def hook(module: nn.Module, args: tuple, kwargs: dict):
        if args:
            return (args[0] * c,) + tuple(args[1:]), kwargs
        return args, {**kwargs, "x": kwargs["x"] * c}
    return hook


def _prod_shape(shape) -> int:
    n = 1
    for v in shape:
        n *= int(v)
    return n


def _fourier_features(module: nn.Module, args: tuple, kwargs: dict):
    """Forward pre-hook: x (B, d) -> [x, sin(2 pi x B^T), cos(2 pi x B^T)], B = module.fourier_B."""
    def feats(x: Tensor) -> Tensor:
        a = (2.0 * torch.pi) * (x.flatten(1) @ module.fourier_B.t())
        return torch.cat([x.flatten(1), a.sin(), a.cos()], 1)
    if args:
        return (feats(args[0]),) + tuple(args[1:]), kwargs
    return args, {**kwargs, "x": feats(kwargs["x"])}


def nearest_other_distance(a: Tensor) -> Tensor:
    """(n,) Euclidean distance from each row of a (n, d) to its nearest OTHER row."""
    d = torch.cdist(a, a)
    d.fill_diagonal_(float("inf"))
    return d.min(1).values


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


def _make_optimizer(params: list, cfg: OptimConfig) -> torch.optim.Optimizer:
    """`base.make_optimizer`, but Adam / AdamW use the fused kernel where torch has one (the
    same update rule; on a CPU it is ~2x faster than the default per-tensor loop, which
    matters for the small networks of the 2D toys)."""
    if cfg.name in ("adam", "adamw"):
        cls = torch.optim.Adam if cfg.name == "adam" else torch.optim.AdamW
        try:
            return cls(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                       weight_decay=cfg.weight_decay, fused=True)
        except (RuntimeError, ValueError, TypeError):
            pass
    return make_optimizer(params, cfg)


# ---------------------------------------------------------------------------------- engine

@register
class GANEngine(Engine):
    """GAN engine (module docstring: losses, options, metrics).

    Beyond the Engine interface (capabilities "critic", "generator_field",
    "generator_features", "train_phase", and "conditional" when conditioned on labels):

    - `critic_label: str`: what `critic_field` returns, e.g. "D(x) = P(real)".
    - `critic_field(points, labels=None) -> Tensor (N,)`: D at data-coordinate points (or
      images (N, C, H, W) in [0, 1]), D in eval mode, no gradients: sigma(s) for minimax /
      nonsaturating, the raw score s otherwise. With pack m > 1 each point is packed with
      m - 1 copies of itself; with minibatch discrimination each point is its own minibatch
      (o_b = 1), so the field does not depend on which points are asked together. For a
      conditional model, `labels` (N,) or one int; None averages the output over all classes.
    - `generator_field(z, labels=None) -> (x, push)`: x = G(z) in data units (the same
      points as `sample(z=z)`), and push = -d(sum_i L_G,i)/dx_i, the direction and strength
      with which the generator's loss moves each generated sample, in data coordinates: the
      network-unit gradient times d t / d x (1 / point_std for points, 2 for images). The
      per-sample losses are summed (not averaged), so arrow lengths do not depend on N. D is
      in eval mode; the given samples form one minibatch as in training (minibatch
      discrimination sees all of them; packs are consecutive samples, the last pack filled
      by wrapping around, and a sample's gradient is averaged over its occurrences).
      Computed with autograd even inside the caller's no_grad.
    - `train_phase(batch, phase) -> dict[str, Tensor]`: one discriminator step on `batch`
      (phase "discriminator": clipping / penalty / wrong labels as configured) or one
      generator step with fresh z of the batch's size (phase "generator"; `batch` supplies
      the labels and the real data of the unrolled steps; counts as a generator step for
      the WGAN schedule and the EMA).
    - `unrolled_discriminator(x_real, y, fake, y_fake) -> (params, buffers)`: D's weights
      after unroll_steps differentiable optimizer steps (for torch.func.functional_call).
    - `generator_objective(x_real, y, z) -> Tensor`: the generator's loss (differentiable
      w.r.t. G's parameters) as the G step computes it, unrolling included.
    - `penalty(x_real, fake, y=None, eps=None) -> (penalty, norms)`: the WGAN-GP penalty of
      the current D (`gradient_penalty`), inputs in network units.
    """

    name = "gan"
    Config = GANConfig
    family_capabilities = frozenset({"critic", "generator_field", "generator_features",
                                     "train_phase", "conditional"})
    description = ("Generative adversarial network: minimax, non-saturating, WGAN, WGAN-GP, "
                   "LSGAN and hinge losses, with PacGAN, minibatch discrimination, unrolling, "
                   "conditioning and EMA.")

    def __init__(self, config: GANConfig, optim: OptimConfig, spec: DataSpec, device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        self.kind = config.loss
        self.conditional = bool(config.conditional and spec.num_classes > 0)
        self.num_classes = spec.num_classes if self.conditional else 0
        self.latent_dim = config.latent_dim or (64 if spec.is_images else 2)
        k = self.num_classes
        if spec.is_images and config.arch == "conv":
            g: nn.Module = ConvGenerator(self.latent_dim, spec.sample_shape, config.channels,
                                         config.g_act, config.g_norm, k)
        else:
            g = MLPGenerator(self.latent_dim, spec.sample_shape, config.g_hidden, config.g_depth,
                             config.g_act, config.g_norm, k, tanh_out=spec.is_images)
        if config.latent_mixture > 0:     # after the base G, so its initialisation is unchanged
            g = MixtureLatentGenerator(g, config.latent_mixture, self.latent_dim,
                                       config.latent_mixture_sigma,
                                       config.latent_mixture_weights)
        self.G = g.to(self.device)
        # the standard-normal code G takes: z, plus the coordinate that picks the component
        self.code_dim = self.latent_dim + (1 if config.latent_mixture > 0 else 0)
        fourier = config.d_fourier > 0 and not spec.is_images
        self.D = Discriminator(
            (_prod_shape(spec.sample_shape) + 2 * config.d_fourier,) if fourier else spec.sample_shape, conv=spec.is_images and config.arch == "conv", num_classes=k,
            pack=config.pack, hidden=config.d_hidden, depth=config.d_depth,
            channels=config.channels, act=config.d_act, norm=config.d_norm,
            mbd_kernels=config.minibatch_disc, mbd_dim=config.minibatch_dim,
            spectral=config.spectral_norm).to(self.device)
        if config.d_input_scale != 1.0:
            self.D.register_forward_pre_hook(_input_scaler(config.d_input_scale), with_kwargs=True)
        if fourier:
            b = torch.randn(config.d_fourier, _prod_shape(spec.sample_shape), device=self.device) * config.d_fourier_scale
            self.D.register_buffer("fourier_B", b)
            self.D.register_forward_pre_hook(_fourier_features, with_kwargs=True)
        self.scaler = None if spec.is_images else DataScaler(spec, self.device)
        if self.scaler is not None:
            self._inv_std = 1.0 / self.scaler.std
        # D is a per-sample function when nothing couples the samples of a minibatch: then
        # real and generated samples can share one forward pass (identical results, faster).
        self._d_per_sample = config.minibatch_disc == 0 and config.d_norm == "none"
        self._g_params = list(self.G.parameters())
        self._d_params = list(self.D.parameters())
        self.opt_d = _make_optimizer(self._d_params, optim)
        g_groups: list = [{"params": self._g_params}]
        if config.latent_mixture > 0 and config.latent_mixture_weights:
            # the logits get their own rate: a score-function gradient is weak and noisy
            logits = self.G.latent.logits
            mult = config.latent_mixture_weights_lr
            g_groups = [{"params": [p for p in self._g_params if p is not logits]},
                        {"params": [logits], "lr_mult": mult,
                         "lr": optim.lr * config.g_lr_mult * mult}]
        self.opt_g = _make_optimizer(g_groups,
                                     dataclasses.replace(optim, lr=optim.lr * config.g_lr_mult))
        self.ema_G: Optional[nn.Module] = None
        self._ema_n = 0
        self.ema_updates = torch.zeros((), dtype=torch.int64, device=self.device)
        if config.ema > 0:
            self.ema_G = copy.deepcopy(self.G).eval()
            self.ema_G.requires_grad_(False)
        self._g_steps = 0
        self.g_steps = torch.zeros((), dtype=torch.int64, device=self.device)
        self.latent_restarts = torch.zeros((), dtype=torch.int64, device=self.device)

    # -- units -------------------------------------------------------------------------------
    def to_net(self, x: Tensor) -> Tensor:
        """Data -> network units: images 2 x - 1, points standardised."""
        if self.scaler is None:
            return x * 2.0 - 1.0
        return self.scaler.to_net(x)

    def to_data(self, t: Tensor) -> Tensor:
        """Network units -> data: images (t + 1) / 2 clamped to [0, 1], points de-standardised."""
        if self.scaler is None:
            return ((t + 1.0) * 0.5).clamp(0.0, 1.0)
        return self.scaler.to_data(t)

    def _grad_to_data(self, g: Tensor) -> Tensor:
        """d/dt -> d/dx by the chain rule through t = to_net(x)."""
        if self.scaler is None:
            return g * 2.0
        return g * self._inv_std

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (self.code_dim,)

    @property
    def critic_label(self) -> str:
        return {"minimax": "D(x) = P(real)", "nonsaturating": "D(x) = P(real)",
                "wgan": "critic value D(x)", "wgan-gp": "critic value D(x)",
                "lsgan": "D(x) (least squares: 1 real, 0 fake)",
                "hinge": "D(x) (hinge score: > 0 real)"}[self.kind]

    def _d_stat(self, out: Tensor) -> Tensor:
        """Mean D output as reported: probability for logit losses, raw otherwise."""
        return torch.sigmoid(out).mean() if self.kind in LOGIT_LOSSES else out.mean()

    # -- labels ------------------------------------------------------------------------------
    def _labels(self, y: Optional[Tensor], n: int) -> Optional[Tensor]:
        if not self.conditional:
            return None
        if y is None:
            raise ValueError("this GAN is conditional: its batches need class labels")
        return y

    def _wrong_labels(self, y: Tensor) -> Tensor:
        """y' = (y + U{1..K-1}) mod K: a label different from y (global RNG)."""
        k = self.num_classes
        return (y + torch.randint(1, k, y.shape, device=y.device)) % k

    def default_labels(self, n: int) -> Tensor:
        """arange(n) % num_classes: every class in turn (a fixed-z grid shows them all)."""
        return torch.arange(n, device=self.device) % self.num_classes

    # -- the discriminator's loss --------------------------------------------------------------
    def _d_terms(self, d: Callable[..., Tensor], xr: Tensor, y: Optional[Tensor], fake: Tensor,
                 y_wrong: Optional[Tensor], double_backward: bool = False
                 ) -> tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """(L_D without penalty, D(real), D(fake), D(real, wrong label)) for the D given as a
        callable d(x, y, double_backward=...)."""
        kind = self.kind
        if self._d_per_sample:
            if y_wrong is None:
                out = d(torch.cat([xr, fake]), None if y is None else torch.cat([y, y]),
                        double_backward=double_backward)
                r, f = out.split(out.shape[0] // 2)
                w = None
            else:
                out = d(torch.cat([xr, fake, xr]), torch.cat([y, y, y_wrong]),
                        double_backward=double_backward)
                r, f, w = out.split(out.shape[0] // 3)
        else:                                   # separate minibatches (BatchNorm / MBD)
            r = d(xr, y, double_backward=double_backward)
            f = d(fake, y, double_backward=double_backward)
            w = d(xr, y_wrong, double_backward=double_backward) if y_wrong is not None else None
        if w is None:
            loss = d_real_term(kind, r) + d_fake_term(kind, f)
        else:
            loss = d_real_term(kind, r) + 0.5 * (d_fake_term(kind, f) + d_fake_term(kind, w))
        return loss, r, f, w

    def penalty(self, x_real: Tensor, fake: Tensor, y: Optional[Tensor] = None,
                eps: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """The WGAN-GP penalty of the current D on network-unit samples (see
        `gradient_penalty`); conditional models score xhat with the real labels."""
        return gradient_penalty(lambda v: self.D(v, y, double_backward=True), x_real, fake, eps)

    def _generate(self, n: int, y: Optional[Tensor]) -> Tensor:
        z = torch.randn(n, self.code_dim, device=self.device)
        return self.G(z, y)

    def noise_std(self) -> float:
        """The instance noise std after the generator steps taken so far (0 when off)."""
        s0 = self.config.instance_noise
        if s0 <= 0:
            return 0.0
        return s0 * linear_fade(self._g_steps, self.config.noise_steps)

    def _noisy(self, t: Tensor) -> Tensor:
        s = self.noise_std()
        return t + s * torch.randn_like(t) if s > 0 else t

    def _check_pack(self, b: int) -> None:
        m = self.config.pack
        if b % m != 0:
            raise ValueError(f"pack = {m}: a batch (chunk) of {b} samples is not divisible by "
                             f"{m}; choose a batch size that is a multiple of {m}")

    def _d_step(self, x: Tensor, y: Optional[Tensor],
                keep: Optional[list[tuple[Tensor, Tensor]]] = None) -> dict[str, Tensor]:
        """One discriminator step on real data x (data units). With `keep` (a list), G's
        batch is generated with its graph and (z, fake) appended to it for the G step."""
        xr = self.to_net(x)
        b = xr.shape[0]
        self._check_pack(b)
        y = self._labels(y, b)
        if keep is None:
            with torch.no_grad():
                fake = self._generate(b, y)
        else:
            z = torch.randn(b, self.code_dim, device=self.device)
            kept = self.G(z, y)
            keep.append((z, kept))
            fake = kept.detach()
        xr, fake = self._noisy(xr), self._noisy(fake)
        y_wrong = self._wrong_labels(y) if self.conditional else None
        loss, r, f, w = self._d_terms(self.D, xr, y, fake, y_wrong)
        out = {"loss/d": loss, "gan/d_real": self._d_stat(r), "gan/d_fake": self._d_stat(f)}
        if w is not None:
            out["gan/d_wrong"] = self._d_stat(w)
        if self.kind == "wgan-gp":
            gp, _ = self.penalty(xr, fake, y)
            loss = loss + self.config.gp_lambda * gp
            out["gan/gp"] = gp
            out["loss/d"] = loss
        if self.kind in WASSERSTEIN_LOSSES:
            out["gan/wasserstein"] = r.mean() - f.mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        clip_and_step(self.opt_d, self._d_params, self.optim_config.grad_clip)
        if self.kind == "wgan":
            with torch.no_grad():
                c = self.config.clip
                torch._foreach_clamp_min_(self._d_params, -c)
                torch._foreach_clamp_max_(self._d_params, c)
        return {k: v.detach() for k, v in out.items()}

    # -- unrolling ---------------------------------------------------------------------------
    def unrolled_discriminator(self, x_real: Tensor, y: Optional[Tensor], fake: Tensor,
                               y_fake: Optional[Tensor] = None
                               ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """D's parameters after `unroll_steps` differentiable optimizer steps (Metz et al.
        2017), as (params, buffers) for torch.func.functional_call(self.D, ...).

        Start: detached copies of D's parameters (leaves requiring grad) and clones of its
        buffers (BatchNorm statistics, spectral-norm vectors, updated in the clones only).
        Each step takes g_k = grad of L_D (the D step's loss on x_real / fake with the same
        labels, wrong labels drawn once; without the gradient penalty) with create_graph=True
        and applies the update rule of D's own optimizer: Adam / AdamW
        (m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr m_hat / (sqrt(v_hat) + eps),
        starting from the optimizer's current moments and step count; weight decay left
        out), RMSProp (v = a v + (1 - a) g^2, p -= lr g / (sqrt(v) + eps)) or SGD with
        momentum; wgan clips after each step. `fake` should carry its graph to G: then the
        gradient of a loss at the unrolled D flows through every step back into G. Neither
        D's weights nor its optimizer state change."""
        names = [n for n, _ in self.D.named_parameters()]
        live = list(self.D.parameters())
        params = [p.detach().clone().requires_grad_(True) for p in live]
        buffers = {n: b.clone() for n, b in self.D.named_buffers()}
        group = self.opt_d.param_groups[0]
        oname = self.optim_config.name
        lr = group["lr"]
        state = [self.opt_d.state.get(p, {}) for p in live]
        if oname in ("adam", "adamw"):
            b1, b2 = group["betas"]
            eps = group["eps"]
            m1 = [s["exp_avg"].detach().clone() if "exp_avg" in s else torch.zeros_like(p)
                  for s, p in zip(state, live)]
            m2 = [s["exp_avg_sq"].detach().clone() if "exp_avg_sq" in s else torch.zeros_like(p)
                  for s, p in zip(state, live)]
            step0 = float(state[0]["step"]) if state and "step" in state[0] else 0.0
        elif oname == "rmsprop":
            alpha, eps = group["alpha"], group["eps"]
            m2 = [s["square_avg"].detach().clone() if "square_avg" in s else torch.zeros_like(p)
                  for s, p in zip(state, live)]
        else:
            mom = group.get("momentum", 0.0)
            m1 = [s["momentum_buffer"].detach().clone() if s.get("momentum_buffer") is not None
                  else torch.zeros_like(p) for s, p in zip(state, live)]
        y_wrong = self._wrong_labels(y) if self.conditional else None
        for k in range(self.config.unroll_steps):
            pd = dict(zip(names, params))

            def d(v: Tensor, lab: Optional[Tensor], double_backward: bool = False) -> Tensor:
                return functional_call(self.D, (pd, buffers), (v, lab),
                                       {"double_backward": double_backward})

            loss, _, _, _ = self._d_terms(d, x_real, y, fake, y_wrong, double_backward=True)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            new = []
            if oname in ("adam", "adamw"):
                t = step0 + k + 1
                c1, c2 = 1.0 - b1 ** t, 1.0 - b2 ** t
                for i, (p, g) in enumerate(zip(params, grads)):
                    m1[i] = b1 * m1[i] + (1.0 - b1) * g
                    m2[i] = b2 * m2[i] + (1.0 - b2) * g * g
                    new.append(p - lr * (m1[i] / c1) / ((m2[i] / c2 + 1e-16).sqrt() + eps))
            elif oname == "rmsprop":
                for i, (p, g) in enumerate(zip(params, grads)):
                    m2[i] = alpha * m2[i] + (1.0 - alpha) * g * g
                    new.append(p - lr * g / ((m2[i] + 1e-16).sqrt() + eps))
            else:
                for i, (p, g) in enumerate(zip(params, grads)):
                    m1[i] = mom * m1[i] + g if mom else g
                    new.append(p - lr * m1[i])
            if self.kind == "wgan":
                c = self.config.clip
                new = [p.clamp(-c, c) for p in new]
            params = new
        return dict(zip(names, params)), buffers

    # -- the generator's loss ------------------------------------------------------------------
    def mmd_weight(self) -> float:
        """mmd_weight after the generator steps taken so far (falling to 0 over mmd_steps)."""
        w, t = self.config.mmd_weight, self.config.mmd_steps
        if w <= 0 or t <= 0:
            return w
        return w * linear_fade(self._g_steps, t)

    def generator_objective(self, x_real: Tensor, y: Optional[Tensor], z: Tensor,
                            fake: Optional[Tensor] = None) -> Tensor:
        """L_G for noise z (and labels y for a conditional model), with D unrolled on x_real
        (network units) when unroll_steps > 0, plus latent_mixture_reg * mean (1 - sigma)^2
        with latent_mixture, plus `mmd_weight()` * MMD^2_u(G(z), x_real) with mmd_weight.
        Differentiable w.r.t. G's parameters (mu, sigma included). `fake`: G(z, y) already
        computed with its graph (reuse_fake), else computed here."""
        if fake is None:
            fake = self.G(z, y)
        if self.config.unroll_steps > 0:
            params, buffers = self.unrolled_discriminator(x_real, y, fake, y)
            out = functional_call(self.D, (params, buffers), (self._noisy(fake), y))
        else:
            out = self.D(self._noisy(fake), y)
        per = generator_loss(self.kind, out, reduce=False)
        loss = per.mean()
        if self.config.mmd_weight > 0:
            w = self.mmd_weight()
            # measured even after its weight has fallen to 0: the curve stays honest
            with torch.set_grad_enabled(w > 0 and torch.is_grad_enabled()):
                mmd = mmd2_unbiased(fake, x_real, self.config.mmd_bandwidth)
            self._last_mmd = mmd.detach()
            if w > 0:
                loss = loss + w * mmd
        if self.config.latent_mixture > 0 and self.config.latent_mixture_reg > 0:
            loss = loss + self.config.latent_mixture_reg * self.G.latent.regulariser()
        if self.config.latent_mixture > 0 and self.config.latent_mixture_weights:
            loss = loss + self.mixture_weight_surrogate(per, z)
        return loss

    def mixture_weight_surrogate(self, per_output: Tensor, z: Tensor) -> Tensor:
        """The score-function (REINFORCE) term whose gradient w.r.t. the mixture logits is an
        unbiased estimate of d E_{i ~ pi}[L_G] / d logits = E[(l - b) d log pi_i / d logits]:
        mean_j (l_j - b) log pi_(i_j), l_j the loss of the D output sample j went into (a pack's
        loss counts for each of its m samples), b = the batch mean (a baseline: lowers the
        variance, keeps the estimate unbiased since E[d log pi_i] = 0). Written with
        log pi - detach(log pi), so its value is exactly 0 (loss/g stays the GAN loss) and it
        moves no other parameter."""
        m = self.config.pack
        l = per_output.detach().repeat_interleave(m)     # (B,): B is a multiple of m
        logp = self.G.latent.log_weight(z)
        return ((l - l.mean()) * (logp - logp.detach())).mean()

    def _g_step(self, x: Tensor, y: Optional[Tensor],
                kept: Optional[tuple[Tensor, Tensor]] = None) -> dict[str, Tensor]:
        """One generator step; x (data units) gives the batch size, the labels and the real
        data of the unrolled steps. `kept`: (z, G(z, y)) from the last D step (reuse_fake)."""
        b = x.shape[0]
        self._check_pack(b)
        y = self._labels(y, b)
        needs_real = self.config.unroll_steps > 0 or self.config.mmd_weight > 0
        xr = self.to_net(x) if needs_real else x
        if kept is None:
            z, fake = torch.randn(b, self.code_dim, device=self.device), None
        else:
            z, fake = kept
        loss = self.generator_objective(xr, y, z, fake)
        grads = torch.autograd.grad(loss, self._g_params)
        for p, g in zip(self._g_params, grads):
            p.grad = g
        clip_and_step(self.opt_g, self._g_params, self.optim_config.grad_clip)
        self._update_ema()
        self._g_steps += 1
        self.g_steps.add_(1)
        out = {"loss/g": loss.detach()}
        if self.config.latent_mixture_restart > 0:
            if self._restart_due():
                self.restart_component(xr if needs_real else self.to_net(x), y)
            out["mixture/restarts"] = self.latent_restarts.float()
        if self.config.mmd_weight > 0:
            out["gan/mmd"] = self._last_mmd
        if self.config.latent_mixture > 0:
            out["gan/latent_sigma"] = self.G.latent.sigma.detach().abs().mean()
            if self.config.latent_mixture_weights:
                # exp(entropy) / N: 1 while the weights are uniform
                p = self.G.latent.weights().detach()
                out["gan/latent_weights_perplexity"] = (
                    torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum()) / p.numel())
        return out

    def _restart_due(self) -> bool:
        c = self.config
        n = self._g_steps
        return (c.latent_mixture_restart_start <= n < c.latent_mixture_restart_stop
                and n % c.latent_mixture_restart == 0)

    def restart_component(self, x_real: Tensor, y: Optional[Tensor] = None,
                          candidates: int = 4096, probes: int = 1000) -> int:
        """One component restart (see `latent_mixture_restart`) against real samples x_real
        (network units, labels y for a conditional model); returns the restarted component,
        or -1 when the gap is too small. Conditional models probe with every class in turn
        and search the new mean with the target's label.

        gap_j = min_i ||x_j - G(c_i)|| over `probes` random codes c_i (G in eval mode);
        scale = median_j of x_j's nearest-neighbour distance in x_real. When max_j gap_j >
        latent_mixture_restart_gap * scale, the target is x_* = argmax_j gap_j (the real
        sample worst covered by G: an empty mode), and component k, the one with the lowest
        weight (learned weights: a crowded mode's components lose weight) or, with uniform
        weights, the first of the two components whose G(mu) are closest together (a
        duplicate), restarts at mu_k = argmin_v ||G_net(v) - x_*|| over `candidates` points v
        uniform in the box of the current means widened by 0.5, sigma_k = latent_mixture_sigma
        and (learned weights) logit_k = the mean logit. Both G and its EMA copy get the new
        row, so the sampled mixture moves at once. Like Jukebox's codebook restarts (Dhariwal
        et al. 2020), a unit that is not pulling its weight is moved to where the data is not
        covered; adversarial training alone rarely moves a component across the empty space
        between modes (D's gradient is local)."""
        lat = self.G.latent
        real = x_real.flatten(1)
        if real.shape[0] < 2:
            return -1
        with inference({"g": self.G}):
            def labels(n: int) -> Optional[Tensor]:
                return self.default_labels(n) if self.conditional else None

            fake = self.G(torch.randn(probes, self.code_dim, device=self.device), labels(probes))
            gap = torch.cdist(real, fake.flatten(1)).min(1).values
            scale = nearest_other_distance(real).median()
            j = int(gap.argmax())
            if not gap[j] > self.config.latent_mixture_restart_gap * scale:
                return -1
            if lat.logits is not None:
                k = int(lat.weights().argmin())
            else:
                heads = self.G.net(lat.mu, labels(lat.components)).flatten(1)
                k = int(nearest_other_distance(heads).argmin())
            lo = lat.mu.min(0).values - 0.5
            hi = lat.mu.max(0).values + 0.5
            v = lo + (hi - lo) * torch.rand(candidates, lat.dim, device=self.device)
            out = self.G.net(v, None if y is None else y[j].expand(candidates)).flatten(1)
            best = v[int(torch.cdist(real[j:j + 1], out)[0].argmin())]
            for m in [lat] + ([self.ema_G.latent] if self.ema_G is not None else []):
                m.mu[k] = best
                m.sigma[k] = self.config.latent_mixture_sigma
                if m.logits is not None:
                    m.logits[k] = m.logits.mean()
        self.latent_restarts.add_(1)
        return k

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema_G is None:
            return
        self._ema_n += 1
        self.ema_updates.add_(1)
        n = self._ema_n
        d = min(self.config.ema, (1.0 + n) / (10.0 + n))
        torch._foreach_lerp_(list(self.ema_G.parameters()), self._g_params, 1.0 - d)
        for be, bl in zip(self.ema_G.buffers(), self.G.buffers()):
            be.copy_(bl)

    # -- training ------------------------------------------------------------------------------
    def batches_for_next_step(self) -> int:
        """n_critic, or the WGAN warm-up schedule's 100 (see `warmup_critic_steps`)."""
        if self.config.wgan_warmup and self.kind in WASSERSTEIN_LOSSES:
            return warmup_critic_steps(self._g_steps, self.config.n_critic)
        return self.config.n_critic

    def _apply_lr_schedule(self) -> None:
        """Set both optimizers' rates from the base lr and `lr_factor` (no-op when off)."""
        if self.config.lr_decay < 1.0:
            self._set_group_lrs(self.optim_config.lr)

    def _set_group_lrs(self, lr: float) -> None:
        f = lr_factor(self._g_steps, self.config.lr_decay, self.config.decay_steps)
        for group in self.opt_d.param_groups:
            group["lr"] = lr * f
        for group in self.opt_g.param_groups:
            # the mixture weights keep their rate: they even out mode shares that only show
            # once the components have settled, late in a run
            mult = group.get("lr_mult")
            group["lr"] = lr * self.config.g_lr_mult * (f if mult is None else mult)

    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        self._apply_lr_schedule()
        k = max(1, min(self.batches_for_next_step(), batch.x.shape[0]))
        xs = batch.x.chunk(k)
        ys = batch.y.chunk(k) if batch.y is not None else [None] * len(xs)
        acc: dict[str, Tensor] = {}
        kept: list[tuple[Tensor, Tensor]] = []
        for i, (x, y) in enumerate(zip(xs, ys)):
            last = self.config.reuse_fake and i == len(xs) - 1
            for key, v in self._d_step(x, y, kept if last else None).items():
                acc[key] = v if key not in acc else acc[key] + v
        if len(xs) > 1:
            acc = {key: v / len(xs) for key, v in acc.items()}
        acc.update(self._g_step(xs[-1], ys[-1], kept[0] if kept else None))
        acc["loss/total"] = acc["loss/d"] + acc["loss/g"]
        return acc

    def train_phase(self, batch: Batch, phase: str) -> dict[str, Tensor]:
        """One discriminator step ("discriminator") or one generator step ("generator")."""
        self._apply_lr_schedule()
        if phase == "discriminator":
            out = self._d_step(batch.x, batch.y)
            out["loss/total"] = out["loss/d"]
        elif phase == "generator":
            out = self._g_step(batch.x, batch.y)
            out["loss/total"] = out["loss/g"]
        else:
            raise ValueError(f"unknown phase {phase!r}; choose 'discriminator' or 'generator'")
        return out

    def set_lr(self, lr: float) -> None:
        """D's learning rate = lr, G's = lr * g_lr_mult (both times `lr_factor` with lr_decay)."""
        self.optim_config.lr = lr
        self._set_group_lrs(lr)

    def active_capabilities(self) -> frozenset[str]:
        """"conditional" only when conditioned on labels (config.conditional and labelled data)."""
        caps = set(self.family_capabilities)
        if not self.conditional:
            caps.discard("conditional")
        return frozenset(caps)

    # -- sampling ------------------------------------------------------------------------------
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples: the EMA copy when ema > 0."""
        return self.ema_G if self.ema_G is not None else self.G

    def generator_features(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """The sampling generator's first linear layer at codes z, (n, F): the space whose
        principal directions GANSpace (Haerkoenen et al. 2020) maps back to z for the latent
        explorer's sliders (studio.renders.ganspace_basis)."""
        with torch.no_grad():
            G = self.sampling_generator()
            return G.features(z.to(self.device), self._sample_labels(labels, z.shape[0]))

    def _sample_labels(self, labels, n: int) -> Optional[Tensor]:
        if not self.conditional:
            return None
        if labels is None:
            return self.default_labels(n)
        y = torch.as_tensor(labels, device=self.device).long()
        return y.expand(n) if y.dim() == 0 or y.numel() == 1 else y.view(n)

    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """G(z) (the EMA generator in eval mode) in data units. Conditional models use
        `labels`, or arange(n) % num_classes when None; others ignore labels."""
        if z is None:
            z = self.noise(n, generator)
        z = z.to(self.device)
        y = self._sample_labels(labels, z.shape[0])
        g = self.sampling_generator()
        with inference({"g": g}):
            return self.to_data(g(z, y))

    # -- the canvas's fields -------------------------------------------------------------------
    def critic_field(self, points: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """D at data points (N, dim) or images (N, C, H, W): (N,) (see the class docstring)."""
        x = torch.as_tensor(points, device=self.device).float()
        m = self.config.pack
        n = x.shape[0]
        with inference({"d": self.D}):
            t = self.to_net(x)
            if m > 1:
                t = t.repeat_interleave(m, dim=0)

            def at(y: Optional[Tensor]) -> Tensor:
                if y is not None and m > 1:
                    y = y.repeat_interleave(m, dim=0)
                s = self.D(t, y, isolated=True)
                return torch.sigmoid(s) if self.kind in LOGIT_LOSSES else s

            if not self.conditional:
                return at(None)
            if labels is not None:
                return at(self._sample_labels(labels, n))
            out = at(torch.zeros(n, dtype=torch.long, device=self.device))
            for k in range(1, self.num_classes):
                out = out + at(torch.full((n,), k, dtype=torch.long, device=self.device))
            return out / self.num_classes

    def generator_field(self, z: Tensor, labels: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """(G(z) in data units, -dL_G/dx per sample in data units) (see the class docstring)."""
        z = torch.as_tensor(z, device=self.device).float()
        n = z.shape[0]
        y = self._sample_labels(labels, n)
        g = self.sampling_generator()
        with inference({"g": g}):
            t = g(z, y)
        m = self.config.pack
        was_training = self.D.training
        self.D.eval()
        try:
            with torch.enable_grad():
                t = t.detach().requires_grad_(True)
                if m > 1:
                    idx = torch.arange(-(-n // m) * m, device=self.device) % n
                    out = self.D(t[idx], None if y is None else y[idx])
                else:
                    out = self.D(t, y)
                loss = generator_loss(self.kind, out, reduce=False).sum()
                (grad,) = torch.autograd.grad(loss, t)
        finally:
            self.D.train(was_training)
        if m > 1:
            counts = torch.bincount(idx, minlength=n).to(grad.dtype)
            grad = grad / counts.view(n, *([1] * (grad.dim() - 1)))
        return self.to_data(t.detach()), -self._grad_to_data(grad)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch], seed: int = 0) -> dict[str, float]:
        """`gan/d_real_test`: mean D output (as gan/d_real) on held-out data, in eval mode,
        each batch one minibatch (packs of consecutive samples; a remainder that does not
        fill a pack is left out); `gan/d_fake_test`: the same on as many samples of the
        sampling generator, z from torch.Generator().manual_seed(seed), labels those of the
        held-out batch. Deterministic; the global RNG is untouched."""
        gen = torch.Generator().manual_seed(seed)
        m = self.config.pack
        real, fake, count = [], [], 0
        g = self.sampling_generator()
        with inference({"d": self.D, "g": g}):
            for batch in batches:
                b = (batch.x.shape[0] // m) * m
                if b == 0:
                    continue
                x = batch.x[:b].to(self.device).float()
                y = self._labels(batch.y[:b].to(self.device) if batch.y is not None else None, b)
                z = torch.randn((b, self.code_dim), generator=gen).to(self.device)
                for store, v in ((real, self.to_net(x)), (fake, g(z, y))):
                    s = self.D(v, y)
                    s = torch.sigmoid(s) if self.kind in LOGIT_LOSSES else s
                    store.append(s.sum())
                count += b // m
        if count == 0:
            return {}
        return {"gan/d_real_test": float(torch.stack(real).sum().cpu()) / count,
                "gan/d_fake_test": float(torch.stack(fake).sum().cpu()) / count}

    # -- state ---------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def extra_tensors(self) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {"g_steps": self.g_steps}
        if self.config.latent_mixture_restart > 0:
            out["latent_restarts"] = self.latent_restarts
        if self.ema_G is not None:
            out.update({f"ema.{k}": v for k, v in self.ema_G.state_dict().items()})
            out["ema_updates"] = self.ema_updates
        return out

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self._ema_n = int(self.ema_updates)
        self._g_steps = int(self.g_steps)
