"""The `cyclegan` engine: unpaired image-to-image translation (Zhu et al. 2017).

Two generators, G: X -> Y (source -> target, `translate`) and F: Y -> X (`translate_back`),
and two PatchGAN discriminators, D_Y (is this a real target image?) and D_X (a real source
image?). X is the data set's source side (Batch.x2), Y its target side (Batch.x); networks
work in [-1, 1] (base.to_net). With D_*(.) the mean over the PatchGAN's output grid and
|.|_1 the mean absolute difference per pixel (as the paper's code, torch's L1Loss):

  L_G   = (D_Y(G(x)) - 1)^2 + (D_X(F(y)) - 1)^2                  LSGAN, generators' side
        + lambda (|F(G(x)) - x|_1 + |G(F(y)) - y|_1)              cycle consistency, lambda 10
        + identity * lambda (|G(y) - y|_1 + |F(x) - x|_1)         identity, 0.5 lambda
  L_D_Y = ((D_Y(y) - 1)^2 + D_Y(pool_Y(G(x)))^2) / 2              LSGAN, halved as in the code
  L_D_X = ((D_X(x) - 1)^2 + D_X(pool_X(F(y)))^2) / 2

One train_step = one step of G and F together (one Adam), then one step of both
discriminators (one Adam) on the same generated images, drawn through a history pool of the
last `pool_size` (50) per discriminator (pool.HistoryPool). Adam 2e-4, beta1 0.5; the learning
rate is constant for `decay_start` steps, then falls linearly to 0 over `decay_steps`
(`lr_factor`); the engine applies it itself from its step counter `steps_done` (an extra
tensor, so a resume continues the schedule).

The identity term needs G(y), so both sides must have the same shape; a nonzero identity
weight on data whose sides differ (mnist-lowres as two domains) is refused when the model is
built, naming the shapes. Sides of different sizes are otherwise fine: a generator runs at
the larger of the two sizes (its input resized bilinearly up to it, its output averaged down
from it; `Resized`).

Outputs are never clamped beyond the generators' tanh, so the low-amplitude, high-frequency
signal through which G hides x in G(x) for F to read back (Chu et al. 2017, "CycleGAN, a
master of steganography") survives translate / translate_back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as Fn
from torch import Tensor, nn

from .. import register
from .._shared import inference
from ..base import make_optimizer
from ..gan.losses import d_fake_term, d_real_term
from ..params import OptimConfig, param
from ..spec import Batch, DataSpec
from .base import TranslationEngine, to_data, to_net
from .nets import PatchGAN, ResnetGenerator, patchgan_max_layers
from .pool import HistoryPool


# --------------------------------------------------------------------------------- losses

def lsgan_d_loss(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """((D(real) - 1)^2 + D(fake)^2) / 2, each a mean over D's outputs (the paper's code
    halves the discriminator's loss; the GAN engine's LSGAN terms are exactly these)."""
    return d_real_term("lsgan", real_out) + d_fake_term("lsgan", fake_out)


def lsgan_g_loss(fake_out: Tensor) -> Tensor:
    """(D(G(x)) - 1)^2, mean over D's outputs (not halved: the paper's code; the GAN
    engine's LSGAN generator term is half of this)."""
    return (fake_out - 1.0).pow(2).mean()


def l1(a: Tensor, b: Tensor) -> Tensor:
    """|a - b|_1: the mean absolute difference per pixel."""
    return (a - b).abs().mean()


def cycle_loss(x: Tensor, rec_x: Tensor, y: Tensor, rec_y: Tensor, lam: float) -> Tensor:
    """lambda (|F(G(x)) - x|_1 + |G(F(y)) - y|_1)."""
    return lam * (l1(rec_x, x) + l1(rec_y, y))


def identity_loss(x: Tensor, f_x: Tensor, y: Tensor, g_y: Tensor, weight: float) -> Tensor:
    """weight (|G(y) - y|_1 + |F(x) - x|_1), weight = identity * lambda (0.5 * 10)."""
    return weight * (l1(g_y, y) + l1(f_x, x))


def lr_factor(steps_done: int, decay_start: int, decay_steps: int) -> float:
    """The schedule: 1 for the first decay_start steps, then 1 - (s - decay_start) /
    decay_steps, reaching 0 at s = decay_start + decay_steps and staying there (s = steps
    taken before this one). decay_steps = 0: constant."""
    if decay_steps <= 0 or steps_done < decay_start:
        return 1.0
    return max(0.0, 1.0 - (steps_done - decay_start) / decay_steps)


# --------------------------------------------------------------------------------- config

@dataclass
class CycleGANConfig:
    """Two ResNet generators (instance norm, tanh), two PatchGANs, LSGAN, cycle + identity."""

    g_channels: int = param(32, "Generators' first-layer channels (the paper: 64); doubled at "
                                "each downsampling.", min=1, max=512)
    g_blocks: int = param(6, "Residual blocks per generator at the bottleneck (the paper: 6 at "
                              "128 px, 9 at 256).", min=0, max=32)
    g_down: int = param(2, "Stride-2 downsamplings before the residual blocks (fewer on small "
                           "images: each keeps >= 3 px a side).", min=0, max=6)
    d_channels: int = param(32, "Discriminators' first-layer channels (the paper: 64).",
                            min=1, max=512)
    d_layers: int = param(2, "PatchGAN stride-2 layers: receptive field 16, 34, 70 px for 1, 2, "
                             "3 (the paper: 3, 70x70); capped by the image size (the deepest "
                             "that still has an output).", min=1, max=8)
    lambda_cycle: float = param(10.0, "lambda: weight of the cycle loss |F(G(x)) - x|_1 + "
                                      "|G(F(y)) - y|_1 (the paper: 10).", min=0.0, max=1000.0,
                                structural=False)
    identity: float = param(0.5, "Identity loss weight, as a fraction of lambda: identity * "
                                 "lambda * (|G(y) - y|_1 + |F(x) - x|_1) (the paper's code: "
                                 "0.5). Needs both sides of the same shape; 0 turns it off.",
                            min=0.0, max=10.0)
    pool_size: int = param(50, "History pool: the discriminators see generated images from "
                               "the last pool_size (the paper: 50); 0 shows only the newest.",
                           min=0, max=1000)
    decay_start: int = param(2500, "Steps at the constant learning rate before the linear "
                                   "decay (the paper: 100 epochs, then 100 of decay).",
                             min=0, max=10_000_000, structural=False)
    decay_steps: int = param(2500, "Steps of the linear decay of the learning rate to 0 after "
                                   "decay_start; 0 keeps it constant.",
                             min=0, max=10_000_000, structural=False)

    def validate(self) -> None:
        for k in ("g_channels", "d_channels", "d_layers"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        for k in ("g_blocks", "g_down", "pool_size", "decay_start", "decay_steps"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be 0 or more, got {getattr(self, k)}")
        if self.lambda_cycle < 0 or self.identity < 0:
            raise ValueError("lambda_cycle and identity must be 0 or more")


# --------------------------------------------------------------------------------- networks

class Resized(nn.Module):
    """A size-keeping network between sides of different sizes: the input is resized
    (bilinear) to `work` = the larger of the two sizes per axis, the network runs there, and
    its output is averaged (adaptive average pooling) down to `out`. Identity resizes are
    skipped, so on equal sizes this is the network itself."""

    def __init__(self, net: nn.Module, work: tuple[int, int], out: tuple[int, int]):
        super().__init__()
        self.net = net
        self.work = tuple(work)
        self.out = tuple(out)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[-2:]) != self.work:
            x = Fn.interpolate(x, size=self.work, mode="bilinear", align_corners=False)
        h = self.net(x)
        if self.work != self.out:
            h = Fn.adaptive_avg_pool2d(h, self.out)
        return h


def _shape(s: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in s)


def make_generator(src: tuple[int, int, int], tgt: tuple[int, int, int],
                   cfg: CycleGANConfig) -> Resized:
    """A ResnetGenerator (instance norm, tanh) from images of shape src to shape tgt."""
    work = (max(src[1], tgt[1]), max(src[2], tgt[2]))
    if min(work) < 4:
        raise ValueError(f"CycleGAN's generators need images of at least 4x4 px (their 7x7 "
                         f"reflection padding); this data set's sides are {_shape(src)} and "
                         f"{_shape(tgt)}")
    net = ResnetGenerator(src[0], tgt[0], work[0], work[1], base=cfg.g_channels,
                          n_blocks=cfg.g_blocks, n_down=cfg.g_down, norm="instance")
    return Resized(net, work, (tgt[1], tgt[2]))


def make_discriminator(shape: tuple[int, int, int], cfg: CycleGANConfig) -> PatchGAN:
    """A PatchGAN (instance norm) on images of `shape`, at most cfg.d_layers deep."""
    deepest = patchgan_max_layers(shape[1], shape[2])
    if deepest < 1:
        raise ValueError(f"a PatchGAN needs images of at least 6 px a side; this side is "
                         f"{_shape(shape)}")
    return PatchGAN(shape[0], base=cfg.d_channels, n_layers=min(cfg.d_layers, deepest),
                    norm="instance")


# --------------------------------------------------------------------------------- engine

@register
class CycleGANEngine(TranslationEngine):
    """CycleGAN (see the module doc). Capabilities "translate" (G) and "translate_back" (F).

    Modules: G, F (generators), D_X, D_Y (discriminators); optimizers "g" (G and F) and "d"
    (D_X and D_Y). Extra tensors: `steps_done` (the lr schedule) and each pool's images and
    fill count (`pool_x.*` for D_X's pool of F(y), `pool_y.*` for D_Y's pool of G(x))."""

    name = "cyclegan"
    default_data = "mnist-thin-thick"
    Config = CycleGANConfig
    family_capabilities = frozenset({"translate", "translate_back"})
    pairing_needed = ("unpaired", "paired")
    description = ("CycleGAN: unpaired image-to-image translation both ways (G: X -> Y, "
                   "F: Y -> X) with cycle consistency, LSGAN PatchGAN discriminators and a "
                   "history pool.")

    def __init__(self, config: CycleGANConfig, optim: OptimConfig, spec: DataSpec,
                 device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        src = tuple(spec.source_shape)
        tgt = tuple(spec.sample_shape)
        self.same_shape = src == tgt
        if config.identity > 0 and not self.same_shape:
            raise ValueError(
                f"cyclegan: the identity loss compares G(y) with y, so it needs both sides "
                f"of the same shape, and this data set's source is {_shape(src)} and its "
                f"target {_shape(tgt)}; set identity = 0 (model.identity) or choose a data "
                f"set whose sides have one shape (mnist-thin-thick, mnist-rotated)")
        self.G = make_generator(src, tgt, config).to(self.device)
        self.F = make_generator(tgt, src, config).to(self.device)
        self.D_Y = make_discriminator(tgt, config).to(self.device)
        self.D_X = make_discriminator(src, config).to(self.device)
        self._g_params = list(self.G.parameters()) + list(self.F.parameters())
        self._d_params = list(self.D_X.parameters()) + list(self.D_Y.parameters())
        self.opt_g = make_optimizer(self._g_params, optim)
        self.opt_d = make_optimizer(self._d_params, optim)
        self.pool_x = HistoryPool(config.pool_size, src, self.device)
        self.pool_y = HistoryPool(config.pool_size, tgt, self.device)
        # steps taken (the lr schedule), saved with the weights; _steps mirrors it
        self.steps_done = torch.zeros((), dtype=torch.int64, device=self.device)
        self._steps = 0

    # -- the learning rate ---------------------------------------------------------------------
    def lr_now(self) -> float:
        """The learning rate of the next step: the base lr times `lr_factor`."""
        c = self.config
        return self.optim_config.lr * lr_factor(self._steps, c.decay_start, c.decay_steps)

    def _apply_lr(self) -> None:
        lr = self.lr_now()
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr

    def set_lr(self, lr: float) -> None:
        """The base learning rate (the schedule's factor still applies)."""
        self.optim_config.lr = lr
        self._apply_lr()

    # -- training ------------------------------------------------------------------------------
    def _pooled(self, pool: HistoryPool, fake: Tensor) -> Tensor:
        """What the discriminator sees in place of this process's `fake` rows. Under torchrun
        every rank passes the whole global batch (gathered) through its pool with the same
        draws from the global RNG (as `Engine.draw`: drawn for the global batch), so all
        ranks keep the pool one process would keep, and each takes back its own rows."""
        r, w = self.shard.rank, self.shard.world
        fake = fake.detach()
        every = self.shard.gather(fake) if w > 1 else fake
        u, slot = pool.draws(every.shape[0], device=every.device)
        out = pool.query(every, u, slot)
        b = fake.shape[0]
        return out[r * b:(r + 1) * b] if w > 1 else out

    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        self._apply_lr()
        c = self.config
        lam = float(c.lambda_cycle)
        w_idt = float(c.identity) * lam if self.same_shape else 0.0
        x = to_net(self.need_source(batch))
        y = to_net(batch.x)
        G, F = self.trained("G"), self.trained("F")

        # generators (D's weights frozen: their gradients are not needed here)
        for p in self._d_params:
            p.requires_grad_(False)
        fake_y = G(x)
        rec_x = F(fake_y)
        fake_x = F(y)
        rec_y = G(fake_x)
        adv = lsgan_g_loss(self.D_Y(fake_y)) + lsgan_g_loss(self.D_X(fake_x))
        l1_x, l1_y = l1(rec_x, x), l1(rec_y, y)
        cyc = lam * (l1_x + l1_y)
        loss_g = adv + cyc
        out: dict[str, Tensor] = {}
        if w_idt > 0:
            idt = identity_loss(x, F(x), y, G(y), w_idt)
            loss_g = loss_g + idt
            out["loss/identity"] = idt.detach()
        self.opt_g.zero_grad(set_to_none=True)
        self.backward_and_step(loss_g, self.opt_g, self._g_params)
        for p in self._d_params:
            p.requires_grad_(True)

        # discriminators, on real images and on pooled generated ones (one forward each:
        # instance norm treats every image on its own, so real and fake can share it)
        loss_d = {}
        for name, real, fake, pool in (("D_Y", y, fake_y, self.pool_y),
                                       ("D_X", x, fake_x, self.pool_x)):
            d_out = self.trained(name)(torch.cat([real, self._pooled(pool, fake)]))
            r, f = d_out.split(real.shape[0])
            loss_d[name] = lsgan_d_loss(r, f)
            out[f"d/{name}_real"] = r.detach().mean()
            out[f"d/{name}_fake"] = f.detach().mean()
        d_total = loss_d["D_Y"] + loss_d["D_X"]
        self.opt_d.zero_grad(set_to_none=True)
        self.backward_and_step(d_total, self.opt_d, self._d_params)

        self.steps_done += 1
        self._steps += 1
        out.update({
            "loss/G_adv": adv.detach(), "loss/cycle": cyc.detach(), "loss/G": loss_g.detach(),
            "loss/D_Y": loss_d["D_Y"].detach(), "loss/D_X": loss_d["D_X"].detach(),
            # per pixel in data units ([0, 1]), comparable with test/cycle_l1_*
            "cycle/l1_x": (l1_x * 0.5).detach(), "cycle/l1_y": (l1_y * 0.5).detach(),
            "loss/total": (loss_g + d_total).detach(),
        })
        return out

    # -- translation ---------------------------------------------------------------------------
    def translate(self, x: Tensor) -> Tensor:
        """G: source (n, *source_shape) in [0, 1] -> target; not clamped beyond the tanh."""
        with inference({"G": self.G}):
            return to_data(self.G(to_net(x.to(self.device))))

    def translate_back(self, y: Tensor) -> Tensor:
        """F: target (n, *target shape) in [0, 1] -> source; not clamped beyond the tanh."""
        with inference({"F": self.F}):
            return to_data(self.F(to_net(y.to(self.device))))

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch]) -> dict[str, float]:
        """Held-out cycle consistency both ways, per pixel in [0, 1]:
        test/cycle_l1_x = mean |F(G(x)) - x| over the sources, test/cycle_l1_y = mean
        |G(F(y)) - y| over the targets; paired data add the base's test/l1 and test/psnr
        (translate(x) against its own target)."""
        batches = list(batches)
        out = super().evaluate(batches) if self.spec.pairing == "paired" else {}
        sx = sy = 0.0
        nx = ny = 0
        for b in batches:
            x = self.need_source(b)
            sx += float((self.translate_back(self.translate(x)) - x).abs().flatten(1)
                        .mean(1).double().sum())
            nx += len(x)
            sy += float((self.translate(self.translate_back(b.x)) - b.x).abs().flatten(1)
                        .mean(1).double().sum())
            ny += len(b.x)
        if nx:
            out["test/cycle_l1_x"] = sx / nx
        if ny:
            out["test/cycle_l1_y"] = sy / ny
        return out

    # -- state ---------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"G": self.G, "F": self.F, "D_X": self.D_X, "D_Y": self.D_Y}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def extra_tensors(self) -> dict[str, Tensor]:
        return {"steps_done": self.steps_done, **self.pool_x.tensors("pool_x"),
                **self.pool_y.tensors("pool_y")}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self._steps = int(self.steps_done)
        self.pool_x.loaded()
        self.pool_y.loaded()
        self._apply_lr()


__all__ = ["CycleGANEngine", "CycleGANConfig", "HistoryPool", "lsgan_d_loss", "lsgan_g_loss",
           "cycle_loss", "identity_loss", "lr_factor", "make_generator", "make_discriminator",
           "Resized"]
