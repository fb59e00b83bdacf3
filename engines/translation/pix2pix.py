"""pix2pix (Isola et al. 2017): paired image-to-image translation with a conditional GAN.

G is a U-Net (nets.UNetGenerator) whose decoder dropout is its only noise; D is a PatchGAN
(nets.PatchGAN) that sees the input and an output concatenated on channels and scores every
patch real or fake. With x the source (resized bicubically to the target size when the sizes
differ), y the target, both in network units [-1, 1]:

    L_D = [ softplus(-D(x, y)) + softplus(D(x, G(x))) ] / 2          (mean over patches)
    L_G = softplus(-D(x, G(x))) + lambda * mean |y - G(x)|          (vanilla, lambda = 100)

(softplus(-s) = BCE(sigma(s), 1), softplus(s) = BCE(sigma(s), 0); the non-saturating G loss
of the paper's code, and its halved D objective). `gan_loss = "lsgan"` swaps the logit terms
for least squares: L_D = [(D(x,y) - 1)^2 + D(x,G(x))^2] / 4, L_G's adversarial term
(D(x,G(x)) - 1)^2 / 2 (engines/gan/losses.py). One train_step = one D step, then one G step
against the updated D on the same G(x) forward.
"""
from __future__ import annotations

from dataclasses import dataclass
import torch
from torch import Tensor, nn

from .. import register
from .._shared import inference
from ..base import make_optimizer
from ..gan.losses import d_fake_term, d_real_term, generator_loss
from ..params import OptimConfig, param
from ..spec import Batch, DataSpec
from .base import TranslationEngine, resize_bicubic, to_data, to_net
from .nets import PatchGAN, UNetGenerator, patchgan_grid, patchgan_receptive_field

GAN_KINDS = {"vanilla": "nonsaturating", "lsgan": "lsgan"}


@dataclass
class Pix2PixConfig:
    """U-Net generator, PatchGAN discriminator, L_cGAN + lambda L1."""

    channels: int = param(64, "U-Net: channels of the first encoder level (doubling per level "
                              "up to 8x; the paper's 64).", min=1, max=512)
    depth: int = param(8, "U-Net: most stride-2 levels (the paper's 8 at 256 px); capped by "
                          "the image: as many as halve the smaller side to 1 (28 px: 4, 7 px: 2).",
                       min=1, max=10)
    dropout: float = param(0.5, "Dropout rate in the innermost decoder levels: the generator's "
                                "noise (training only; translation is deterministic).",
                           min=0.0, max=0.9)
    dropout_levels: int = param(3, "How many innermost decoder levels have dropout (the "
                                   "paper's 3).", min=0, max=10)
    norm: str = param("batch", "Normalisation in G and D: 'batch' (the paper's) or 'instance'.",
                      choices=("batch", "instance"))
    d_channels: int = param(64, "PatchGAN: channels of the first layer.", min=1, max=512)
    d_layers: int = param(2, "PatchGAN depth (stride-2 layers). Each output sees a square of "
                             "the input: 16 px for 1, 34 for 2, 70 for 3 (the paper's 70x70 "
                             "at 256 px), 142 for 4; the grid of outputs is floor^n(H/2) - 2 "
                             "a side (28 px: 12x12, 5x5, 1x1).", min=1, max=6)
    lambda_l1: float = param(100.0, "lambda: weight of the L1 term mean|y - G(x)| (network "
                                    "units [-1, 1]) against the adversarial term.",
                             min=0.0, max=1e4, structural=False)
    gan_loss: str = param("vanilla", "'vanilla' (BCE with logits, the paper's) or 'lsgan' "
                                     "(least squares).", choices=tuple(GAN_KINDS))

    def validate(self) -> None:
        if self.norm not in ("batch", "instance"):
            raise ValueError(f"norm {self.norm!r}: choose 'batch' or 'instance'")
        if self.gan_loss not in GAN_KINDS:
            raise ValueError(f"gan_loss {self.gan_loss!r}: choose 'vanilla' or 'lsgan'")


def resize_source(x: Tensor, size: tuple[int, int]) -> Tensor:
    """The source at the target's size (bicubic when it differs; not clipped)."""
    return resize_bicubic(x, size)


@register
class Pix2PixEngine(TranslationEngine):
    """pix2pix: paired translation, source -> target (see the module doc for the losses).

    Metrics: loss/g (adversarial + lambda L1), loss/g_adv, loss/l1 (mean |y - G(x)|, network
    units), loss/d, d/real and d/fake (mean sigma(D) over patches; raw scores for lsgan),
    loss/total = loss/g + loss/d."""

    name = "pix2pix"
    default_data = "mnist-edges"
    Config = Pix2PixConfig
    family_capabilities = frozenset({"translate"})
    pairing_needed = ("paired",)
    description = ("pix2pix: paired image-to-image translation (U-Net generator with dropout, "
                   "PatchGAN discriminator on (input, output) pairs, cGAN + 100 x L1).")

    def __init__(self, config: Pix2PixConfig, optim: OptimConfig, spec: DataSpec,
                 device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        c, h, w = spec.sample_shape
        self.size = (h, w)
        try:
            patchgan_grid(h, w, config.d_layers)
        except ValueError as e:
            raise ValueError(f"d_layers: {e}") from None
        self.kind = GAN_KINDS[config.gan_loss]
        self.G = UNetGenerator(spec.source_channels, c, h, w, base=config.channels,
                               depth=config.depth, dropout=config.dropout,
                               n_dropout=config.dropout_levels, norm=config.norm).to(self.device)
        self.D = PatchGAN(spec.source_channels + c, base=config.d_channels,
                          n_layers=config.d_layers, norm=config.norm).to(self.device)
        self.opt_g = make_optimizer(self.G.parameters(), optim)
        self.opt_d = make_optimizer(self.D.parameters(), optim)

    @property
    def receptive_field(self) -> int:
        return patchgan_receptive_field(self.config.d_layers)

    # -- the pieces, network units --------------------------------------------------------------
    def source_net(self, x: Tensor) -> Tensor:
        """Source images in [0, 1] -> the U-Net's input: resized to the target size, [-1, 1]."""
        return to_net(resize_source(x, self.size))

    def d_input(self, x_net: Tensor, y_net: Tensor) -> Tensor:
        """What D sees: (input, output) concatenated on channels."""
        return torch.cat((x_net, y_net), dim=1)

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return 0.5 * (d_real_term(self.kind, real_out) + d_fake_term(self.kind, fake_out))

    def g_losses(self, fake_out: Tensor, fake: Tensor, y_net: Tensor) -> tuple[Tensor, Tensor]:
        """(adversarial term, mean |y - G(x)|); L_G = adv + lambda * l1."""
        return generator_loss(self.kind, fake_out), (y_net - fake).abs().mean()

    def _d_stat(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out).mean() if self.kind == "nonsaturating" else out.mean()

    # -- training -------------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        x = self.source_net(self.need_source(batch))
        y = to_net(batch.x)
        G, D = self.trained("G"), self.trained("D")
        fake = G(x)
        real_out = D(self.d_input(x, y))
        fake_out = D(self.d_input(x, fake.detach()))
        loss_d = self.d_loss(real_out, fake_out)
        self.opt_d.zero_grad(set_to_none=True)
        self.backward_and_step(loss_d, self.opt_d, self.D.parameters())

        adv, l1 = self.g_losses(D(self.d_input(x, fake)), fake, y)
        loss_g = adv + self.config.lambda_l1 * l1
        self.opt_g.zero_grad(set_to_none=True)
        self.backward_and_step(loss_g, self.opt_g, self.G.parameters())
        self.opt_d.zero_grad(set_to_none=True)     # D's gradients from G's step are not kept
        loss_g, loss_d = loss_g.detach(), loss_d.detach()
        return {"loss/total": loss_g + loss_d, "loss/g": loss_g, "loss/g_adv": adv.detach(),
                "loss/l1": l1.detach(), "loss/d": loss_d,
                "d/real": self._d_stat(real_out.detach()),
                "d/fake": self._d_stat(fake_out.detach())}

    # -- translation ----------------------------------------------------------------------------
    def translate(self, x: Tensor) -> Tensor:
        """(n, *source shape) in [0, 1] -> (n, *target shape) in [0, 1]; G in eval mode (no
        dropout, BatchNorm running statistics), so the same x gives the same output."""
        with inference({"G": self.G}):
            return to_data(self.G(self.source_net(x.to(self.device))))

    # -- state ----------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}
