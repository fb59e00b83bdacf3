"""The `flow` engine: exact likelihood by the change of variables (normalising flows).

Images: Glow (Kingma & Dhariwal 2018) on uniformly dequantised pixels, trained on bits/dim:
    x_deq = (round(255 x) + u) / 256, u ~ U[0, 1)^D (from the global RNG: checkpointed)
    bits/dim = (-log p(x_deq) + D log 256) / (D log 2)
Points: a RealNVP-style coupling stack (Dinh et al. 2017) trained on the NLL in nats, in the
data's own coordinates (the standardisation's log-det counts).

Both are exact: `encode` gives the standard-normal eps of x and `decode` maps it back, so
sample(z = encode(x)) reconstructs x; `log_prob` is the exact log density. Sampling at
temperature T decodes T * eps (Glow's temperature: every prior's std scaled by T).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Optional, Sequence

import torch
from torch import Tensor, nn

from .. import register
from .._shared import inference
from ..base import Engine, Forward, Shard, make_optimizer
from ..params import OptimConfig
from ..spec import Batch, DataSpec
from .config import FlowConfig
from .layers import ActNorm, std_normal_logp
from .model import Dequantise, GlowFlow, PointFlow, Preprocess


@register
class FlowEngine(Engine):
    name = "flow"
    Config = FlowConfig
    family_capabilities = frozenset({"encode", "decode", "log_prob", "temperature",
                                     "flow_layers", "flow_levels"})
    description = ("Normalising flow with an exact likelihood: Glow on images (bits/dim), "
                   "RealNVP-style couplings on points (NLL in nats).")

    def __init__(self, config: FlowConfig, optim: OptimConfig, spec: DataSpec, device: torch.device):
        super().__init__(config, optim, spec, device)
        config.validate()
        if spec.is_images:
            self.pre = Preprocess(config.preprocess, config.logit_alpha)
            self.flow: nn.Module = GlowFlow(spec.sample_shape, config.levels, config.steps,
                                            config.hidden, config.coupling, config.mixing)
            self.nll_unit = "bits/dim"
        else:
            if spec.dim < 2:
                raise ValueError("a flow on points needs at least 2 dimensions (a coupling "
                                 f"splits them in two); this data set has {spec.dim}")
            mean = tuple(spec.point_mean) or (0.0,) * spec.dim
            std = tuple(spec.point_std) or (1.0,) * spec.dim
            self.flow = PointFlow(spec.dim, mean, std, config.steps, config.hidden,
                                  config.depth, config.coupling, config.mixing)
            self.nll_unit = "nats"
        self.flow.to(self.device)
        self.opt = make_optimizer(self.flow.parameters(), optim)
        # steps taken, for the warm-up (saved with the weights so a resume continues it)
        self.steps_done = torch.zeros((), dtype=torch.int64, device=self.device)

    def active_capabilities(self) -> frozenset[str]:
        drop = "flow_layers" if self.spec.is_images else "flow_levels"
        return frozenset(self.family_capabilities - {drop})

    @property
    def temperature(self) -> float:
        return float(self.config.temperature)

    # -- the density -------------------------------------------------------------------------
    def _log_prob(self, x: Tensor, flow_log_prob: Optional[Callable[[Tensor], Tensor]] = None) -> Tensor:
        """log p(x) in nats, differentiable; images: x continuous in [0, 1]^D.
        `flow_log_prob`: the flow's log_prob as training calls it (under torchrun, through
        DistributedDataParallel)."""
        lp = flow_log_prob or self.flow.log_prob
        if self.spec.is_images:
            y, ld = self.pre(x)
            return lp(y) + ld
        return lp(x)

    def log_prob(self, x: Tensor) -> Tensor:
        with inference(self.modules()):
            return self._log_prob(x.to(self.device))

    def nll(self, x: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        """Per example: images bits/dim of x uniformly dequantised with u from `generator`
        (CPU generators are fine), points the NLL in nats."""
        x = x.to(self.device)
        if not self.spec.is_images:
            return -self.log_prob(x)
        u = torch.rand(x.shape, generator=generator,
                       device=generator.device if generator is not None else self.device)
        xd = Dequantise.apply(x, u.to(self.device))
        return Dequantise.bits_per_dim(self.log_prob(xd), self.spec.numel)

    # -- training ------------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        warm = int(self.config.warmup)
        step = int(self.steps_done)
        if warm > 0 and step <= warm:      # linear warm-up, then the configured lr
            frac = min(1.0, (step + 1) / warm)
            for group in self.opt.param_groups:
                group["lr"] = self.optim_config.lr * frac
        x = batch.x
        if self.spec.is_images:
            x = Dequantise.apply(x, self.draw(
                lambda s: torch.rand(s, dtype=x.dtype, device=x.device), x.shape))
        log_p = self._log_prob(x, self.trained("log_prob", self.flow.log_prob))
        nll = -log_p.mean()
        if self.spec.is_images:
            loss = Dequantise.bits_per_dim(-nll, self.spec.numel)
        else:
            loss = nll
        self.opt.zero_grad(set_to_none=True)
        self.backward_and_step(loss, self.opt, self.flow.parameters())
        self.steps_done += 1
        return {"loss/total": loss.detach()}

    def wrap_for_training(self, shard: Shard) -> dict[str, nn.Module]:
        """Training calls the flow's log_prob, so that is what DistributedDataParallel wraps;
        ActNorm's data-dependent initialisation takes the moments of the global batch (the
        mean of the ranks' shard moments), so every rank starts from the parameters one
        process would compute."""
        for m in self.flow.modules():
            if isinstance(m, ActNorm):
                m.reduce_mean = shard.mean
        return {"log_prob": shard.wrap(Forward(self.flow, "log_prob"))}

    # -- codes ---------------------------------------------------------------------------------
    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (self.spec.numel,)

    def level_shapes(self) -> list[tuple[int, int, int]]:
        return list(self.flow.level_shapes)

    def _split(self, z: Tensor) -> list[Tensor]:
        out, start = [], 0
        for shape in self.flow.level_shapes:
            size = math.prod(shape)
            out.append(z[:, start:start + size].reshape(len(z), *shape))
            start += size
        return out

    def encode_levels(self, x: Tensor) -> list[Tensor]:
        with inference(self.modules()):
            y, _ = self.pre(x.to(self.device))
            return self.flow(y)[0]

    def decode_levels(self, levels: Sequence[Optional[Tensor]], temperature: float = 1.0,
                      generator: Optional[torch.Generator] = None) -> Tensor:
        shapes = self.flow.level_shapes
        if len(levels) != len(shapes):
            raise ValueError(f"this flow has {len(shapes)} levels, got {len(levels)}")
        given = [lv for lv in levels if lv is not None]
        n = given[0].shape[0] if given else 1
        eps = []
        for lv, shape in zip(levels, shapes):
            if lv is None:
                lv = torch.randn((n, *shape), generator=generator,
                                 device=generator.device if generator is not None else self.device
                                 ) * float(temperature)
            eps.append(lv.to(self.device))
        with inference(self.modules()):
            return self.pre.inverse(self.flow.inverse(eps)).clamp(0.0, 1.0)

    def encode(self, x: Tensor) -> Tensor:
        """Data -> eps (n, D), every level flattened and concatenated (finest first)."""
        x = x.to(self.device)
        if self.spec.is_images:
            return torch.cat([e.flatten(1) for e in self.encode_levels(x)], 1)
        with inference(self.modules()):
            return self.flow(x)[0]

    def noise_from_latent(self, latent: Tensor) -> Tensor:
        return latent

    def decode(self, z: Tensor) -> Tensor:
        z = z.to(self.device).reshape(len(z), -1)
        if self.spec.is_images:
            return self.decode_levels(self._split(z))
        with inference(self.modules()):
            return self.flow.inverse(z)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def sample(self, n: int, *, z: Optional[Tensor] = None, labels: Optional[Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """decode(z); without z, z = T * eps with eps ~ N(0, I) from `generator`."""
        if z is None:
            z = self.noise(n, generator) * self.temperature
        return self.decode(z)

    # -- the layer-by-layer views (points) --------------------------------------------------------
    def layer_names(self) -> list[str]:
        return self.flow.layer_names()

    def push_forward(self, x: Tensor) -> list[Tensor]:
        stages = [x.to(self.device)]
        with inference(self.modules()):
            for layer in self.flow.layers():
                stages.append(layer(stages[-1])[0])
        return stages

    def pull_back(self, z: Tensor) -> list[Tensor]:
        stages = [z.to(self.device)]
        with inference(self.modules()):
            for layer in reversed(self.flow.layers()):
                stages.append(layer.inverse(stages[-1]))
        return stages

    def log_det_field(self, x: Tensor) -> Tensor:
        with inference(self.modules()):
            return self.flow(x.to(self.device))[1]

    # -- evaluation --------------------------------------------------------------------------------
    def evaluate(self, batches: Iterable[Batch], seed: int = 0) -> dict[str, float]:
        """Images: `test/bits_per_dim` (one uniform dequantisation per image from a generator
        seeded with `seed`); points: `test/nll` in nats. Means over the held-out examples."""
        g = torch.Generator().manual_seed(seed)
        total, n = 0.0, 0
        for batch in batches:
            total += float(self.nll(batch.x, generator=g).double().sum())
            n += batch.x.shape[0]
        if n == 0:
            return {}
        return {held_out_key(self.spec): total / n}

    # -- state -------------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"flow": self.flow}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def extra_tensors(self) -> dict[str, Tensor]:
        return {"steps_done": self.steps_done}


def held_out_key(spec: DataSpec) -> str:
    """The metric a flow reports on held-out data: bits/dim on images, nats on points."""
    return "test/bits_per_dim" if spec.is_images else "test/nll"


__all__ = ["FlowEngine", "FlowConfig", "held_out_key", "std_normal_logp"]
