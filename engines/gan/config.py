"""`GANConfig`, the GAN engine's hyperparameters (each documented by its `param` help), and
the checks that reject impossible combinations before a run starts. What the options do, with
their papers: docs/engines/gan.md."""
from __future__ import annotations

from dataclasses import dataclass

from ..nets import ACTIVATIONS
from ..params import param
from .losses import LOSSES
from .nets import NORMS
from .schedule import WARMUP_CRITIC_STEPS

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
