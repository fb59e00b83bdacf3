"""SRGAN (Ledig et al. 2017): super-resolution by a residual network trained first for pixel
MSE (SRResNet), then for a perceptual loss against a discriminator.

G = nets.SRResNet (residual blocks, log2(factor) pixel-shuffle x2 stages), D =
nets.SRDiscriminator (VGG-style classifier, one logit per image). The factor is the data's
target size / source size (a power of 2). With x the low-res source and y the target, images
in [0, 1] (G and D work in [-1, 1]; SR = to_data(G(to_net(x))), not clamped):

  phase 1, steps 1..pretrain_steps (SRResNet):   L_G = mean (SR - y)^2
  phase 2 (SRGAN), from the next step on:
      L_D = softplus(-D(y)) + softplus(D(SR))                        (BCE with logits)
      L_G = content + adv_weight * softplus(-D(SR))                   (adv_weight = 1e-3)
      content = content_scale * mean (phi(SR) - phi(y))^2   (content_loss = "evaluator")
              = mean (SR - y)^2                              (content_loss = "pixel")

phi is the bundled MNIST evaluator up to conv4's ReLU before pooling (64 x 8 x 8), standing
in for VGG19's "VGG54" features; the trainer attaches it (Engine.feature_net_wanted /
attach_feature_net) frozen, never trained nor saved. At the phase change G is copied into a
frozen "srresnet" stage (saved as extra tensors, so checkpoints and resumes keep it) and both
learning rates are multiplied by `phase2_lr_factor` (the paper's 1e-4 -> 1e-5). The plots show
the switch: "phase/adversarial" goes 0 -> 1, "loss/adversarial" and "loss/d" are 0 in phase 1,
"loss/content" is logged in both phases (a monitor without gradient in phase 1), and
"loss/pixel_mse" in both (it rises in phase 2: SRGAN trades PSNR for sharpness).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import register
from .._shared import inference
from ..base import make_optimizer
from ..params import OptimConfig, param
from ..spec import Batch, DataSpec
from .base import TranslationEngine, to_data, to_net
from .nets import SRDiscriminator, SRResNet, sr_stages_for

EVALUATOR_SHAPE = (1, 28, 28)
STAGES = ("srresnet", "srgan")


@dataclass
class SRGANConfig:
    """SRResNet generator (pixel-MSE pretraining), then SRGAN's perceptual loss."""

    blocks: int = param(4, "Residual blocks of the generator (the paper's 16; fewer train "
                           "faster on a CPU).", min=1, max=32)
    channels: int = param(32, "Generator feature channels (the paper's 64).", min=4, max=256)
    d_channels: int = param(32, "Discriminator: channels of its first stage (doubling each "
                                "stage; the paper's 64).", min=4, max=256)
    d_stages: int = param(3, "Discriminator: (conv, stride-2 conv) stages (the paper's 4).",
                          min=1, max=6)
    d_dense: int = param(256, "Discriminator: width of its dense layer (the paper's 1024).",
                         min=8, max=4096)
    pretrain_steps: int = param(1000, "Phase 1: steps of pixel-MSE training (SRResNet) before "
                                      "the adversarial phase; the generator is kept as the "
                                      "'srresnet' stage when it ends.", min=0, max=10_000_000)
    content_loss: str = param("evaluator", "Phase 2's content loss: 'evaluator' (MSE between "
                                           "the bundled MNIST evaluator's conv4 feature maps, "
                                           "the paper's VGG54 on MNIST; 1x28x28 targets only) "
                                           "or 'pixel' (pixel MSE, any data).",
                              choices=("evaluator", "pixel"))
    content_scale: float = param(1.0, "Weight of the evaluator-feature MSE (the paper rescales "
                                      "VGG features by 1/12.75).", min=0.0, max=1e4,
                                 structural=False)
    adv_weight: float = param(1e-3, "Weight of the adversarial term in phase 2's perceptual "
                                    "loss (the paper's 1e-3).", min=0.0, max=10.0,
                              structural=False)
    phase2_lr_factor: float = param(0.1, "Learning-rate factor in phase 2 (the paper: 1e-4, "
                                         "then 1e-5 = 0.1x).", min=0.0, max=10.0,
                                    structural=False)

    def validate(self) -> None:
        if self.content_loss not in ("evaluator", "pixel"):
            raise ValueError(f"content_loss {self.content_loss!r}: choose 'evaluator' or 'pixel'")


def sr_factor(spec: DataSpec) -> int:
    """target size / source size, the same on both sides and a power of 2 (ValueError)."""
    (c2, h2, w2), (c, h, w) = spec.source_shape, spec.sample_shape
    if h % h2 or w % w2 or h // h2 != w // w2:
        raise ValueError(f"srgan upscales by one integer factor: the source {h2}x{w2} does not "
                         f"scale to the target {h}x{w} by the same whole number both ways")
    f = h // h2
    if f == 1:
        raise ValueError(f"srgan upscales: source and target are both {h}x{w} (use pix2pix)")
    try:
        sr_stages_for(f)
    except ValueError:
        raise ValueError(f"srgan's upscaling factor (target {h}x{w} / source {h2}x{w2} = {f}) "
                         f"must be a power of 2 (each pixel-shuffle stage doubles the size)"
                         ) from None
    return f


@register
class SRGANEngine(TranslationEngine):
    """SRGAN: super-resolution, pixel-MSE phase then perceptual phase (module doc).

    Capabilities "translate" and "sr_stages": `translate_stage(x, "srresnet")` is the
    generator frozen at the phase change (the current one before it), "srgan" the current."""

    name = "srgan"
    default_data = "mnist-lowres"
    Config = SRGANConfig
    family_capabilities = frozenset({"translate", "sr_stages"})
    pairing_needed = ("paired",)
    description = ("SRGAN: super-resolution with a residual, pixel-shuffle generator; pixel-MSE "
                   "pretraining (SRResNet), then content loss in the MNIST evaluator's features "
                   "+ 1e-3 adversarial.")

    def __init__(self, config: SRGANConfig, optim: OptimConfig, spec: DataSpec,
                 device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        self.factor = sr_factor(spec)
        if config.content_loss == "evaluator" and tuple(spec.sample_shape) != EVALUATOR_SHAPE:
            shape = "x".join(str(s) for s in spec.sample_shape)
            raise ValueError(f"content_loss = 'evaluator' compares images in the bundled MNIST "
                             f"evaluator's features, which read 1x28x28 images; these targets "
                             f"are {shape}: choose content_loss = 'pixel'")
        self.G = SRResNet(spec.source_channels, spec.channels, self.factor,
                          n_blocks=config.blocks, channels=config.channels).to(self.device)
        self.D = SRDiscriminator(spec.channels, base=config.d_channels, n_stages=config.d_stages,
                                 dense=config.d_dense).to(self.device)
        # the "srresnet" stage: G as it was when the adversarial phase began
        self.G_sr = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_g = make_optimizer(self.G.parameters(), optim)
        self.opt_d = make_optimizer(self.D.parameters(), optim)
        self.phi: Optional[nn.Module] = None
        self.steps = torch.zeros((), dtype=torch.int64, device=self.device)
        self.frozen_at = torch.full((), -1, dtype=torch.int64, device=self.device)
        self._steps = 0
        self._frozen_at = -1

    # -- the feature network --------------------------------------------------------------------
    def feature_net_wanted(self) -> str:
        return "mnist-evaluator" if self.config.content_loss == "evaluator" else ""

    def attach_feature_net(self, net: nn.Module) -> None:
        self.phi = net.eval().requires_grad_(False)

    # -- phases -----------------------------------------------------------------------------------
    def adversarial(self) -> bool:
        """The next step is in phase 2 (steps done >= pretrain_steps)."""
        return self._steps >= self.config.pretrain_steps

    def stage_now(self) -> str:
        return STAGES[1] if self.adversarial() else STAGES[0]

    def sr_stages(self) -> tuple[str, ...]:
        return STAGES

    def lr_factor(self) -> float:
        return self.config.phase2_lr_factor if self.adversarial() else 1.0

    def set_lr(self, lr: float) -> None:
        """Both optimizers' rate = lr, times phase2_lr_factor in phase 2."""
        self.optim_config.lr = lr
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr * self.lr_factor()

    def _freeze_srresnet(self) -> None:
        with torch.no_grad():
            for k, v in self.G_sr.state_dict().items():
                v.copy_(self.G.state_dict()[k])
        self._frozen_at = self._steps
        self.frozen_at.fill_(self._steps)
        self.set_lr(self.optim_config.lr)

    # -- losses ------------------------------------------------------------------------------------
    def content(self, sr: Tensor, y: Tensor) -> Tensor:
        """The content loss (module doc) of SR images against targets, both in [0, 1]."""
        if self.config.content_loss == "pixel":
            return (sr - y).pow(2).mean()
        if self.phi is None:
            raise RuntimeError("srgan's evaluator content loss needs the feature network, "
                               "which the trainer attaches (Engine.attach_feature_net)")
        with torch.no_grad():
            target = self.phi(y)
        return self.config.content_scale * (self.phi(sr) - target).pow(2).mean()

    # -- training ------------------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        if self.adversarial() and self._frozen_at < 0:
            self._freeze_srresnet()
        elif self.adversarial():           # phase2_lr_factor is live: apply its current value
            self.set_lr(self.optim_config.lr)
        x, y = to_net(self.need_source(batch)), batch.x
        G = self.trained("G")
        sr = to_data(G(x))
        zero = torch.zeros((), device=self.device)
        if not self.adversarial():
            mse = (sr - y).pow(2).mean()
            self.opt_g.zero_grad(set_to_none=True)
            self.backward_and_step(mse, self.opt_g, self.G.parameters())
            with torch.no_grad():
                content = mse if self.config.content_loss == "pixel" or self.phi is None \
                    else self.content(sr.detach(), y)
            out = {"loss/total": mse.detach(), "loss/pixel_mse": mse.detach(),
                   "loss/content": content.detach(), "loss/adversarial": zero,
                   "loss/d": zero, "phase/adversarial": zero}
        else:
            D = self.trained("D")
            real_out = D(to_net(y))
            fake_out = D(to_net(sr.detach()))
            loss_d = F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
            self.opt_d.zero_grad(set_to_none=True)
            self.backward_and_step(loss_d, self.opt_d, self.D.parameters())
            content = self.content(sr, y)
            adv = F.softplus(-D(to_net(sr))).mean()
            loss_g = content + self.config.adv_weight * adv
            self.opt_g.zero_grad(set_to_none=True)
            self.backward_and_step(loss_g, self.opt_g, self.G.parameters())
            self.opt_d.zero_grad(set_to_none=True)
            out = {"loss/total": loss_g.detach(),
                   "loss/pixel_mse": (sr.detach() - y).pow(2).mean(),
                   "loss/content": content.detach(), "loss/adversarial": adv.detach(),
                   "loss/d": loss_d.detach(), "phase/adversarial": zero + 1.0}
        self._steps += 1
        self.steps.add_(1)
        return out

    # -- translation -------------------------------------------------------------------------------
    def translate(self, x: Tensor) -> Tensor:
        """(n, C, h, w) in [0, 1] -> (n, C, factor h, factor w) in [0, 1] (eval mode)."""
        return self._run(self.G, x)

    def translate_stage(self, x: Tensor, stage: str) -> Tensor:
        """"srresnet": the generator frozen at the phase change (the current one before it);
        "srgan": the current generator."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
        frozen = stage == "srresnet" and self._frozen_at >= 0
        return self._run(self.G_sr if frozen else self.G, x)

    def _run(self, g: nn.Module, x: Tensor) -> Tensor:
        with inference({"g": g}):
            return to_data(g(to_net(x.to(self.device))))

    # -- state ----------------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def extra_tensors(self) -> dict[str, Tensor]:
        out = {"steps": self.steps, "frozen_at": self.frozen_at}
        out.update({f"srresnet.{k}": v for k, v in self.G_sr.state_dict().items()})
        return out

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self._steps = int(self.steps)
        self._frozen_at = int(self.frozen_at)

    def train(self, mode: bool = True) -> None:
        super().train(mode)
        self.G_sr.eval()
