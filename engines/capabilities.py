"""Capabilities: an engine's optional abilities, each a name and the methods it guarantees.

The studio asks an engine by name (`"invert" in engine.capabilities`) and then calls the
methods the capability guarantees; it never probes an engine with hasattr/getattr, and never
asks for its class. Each capability is a runtime-checkable Protocol below; `CAPABILITIES` maps
its name to the Protocol and the members it guarantees, and `missing_members` checks an
engine against it (tests/engines/test_capabilities.py does so for every engine and variant).

An engine class lists every capability its family can have in `family_capabilities`; an
instance reports the ones it has, from its config and data, through `Engine.capabilities`
(a conditional GAN is "conditional", an unconditional one is not; diffusion on points has an
"eps_field", on images not). `Engine.capabilities` is computed, never assigned.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from .spec import Batch


@runtime_checkable
class Encodes(Protocol):
    """"encode": data -> code. `encode(x)` (n, *data) -> the latent (n, latent_dim);
    `noise_from_latent(latent)` -> the standard-normal input z of `sample` (the identity for
    the VAE, the whitening of the fitted Gaussian for the AE), so sample(z=noise_from_latent(
    encode(x))) reconstructs x; `reconstruct(x)` -> x's reconstruction (n, *data)."""

    def encode(self, x: Tensor) -> Tensor: ...
    def noise_from_latent(self, latent: Tensor) -> Tensor: ...
    def reconstruct(self, x: Tensor) -> Tensor: ...


@runtime_checkable
class Decodes(Protocol):
    """"decode": `decode(latent)` (n, latent_dim) -> data (n, *data). (Every engine maps its
    standard-normal input to data through `sample(z=...)`; this is the decoder of a code.)"""

    def decode(self, z: Tensor) -> Tensor: ...


@runtime_checkable
class HasELBO(Protocol):
    """"elbo": `evaluate` reports the held-out ELBO, and `iwae_bound(x, k, generator)` gives
    the importance-weighted bound per example (n,) (k = 1: the ELBO)."""

    def evaluate(self, batches: Iterable[Batch]) -> dict[str, float]: ...
    def iwae_bound(self, x: Tensor, k: int, generator: Optional[torch.Generator] = None) -> Tensor: ...


@runtime_checkable
class HasLogProb(Protocol):
    """"log_prob": an exact log-likelihood (normalising flows). `log_prob(x)` -> (n,) the log
    density in nats at x (data coordinates; images: the density of the continuous x in
    [0, 1]^D); `nll(x, generator=None)` -> (n,) the per-example score users see, in
    `nll_unit`: "bits/dim" for images (uniformly dequantised with noise from `generator`),
    "nats" for points (-log_prob)."""

    nll_unit: str

    def log_prob(self, x: Tensor) -> Tensor: ...
    def nll(self, x: Tensor, generator: Optional[torch.Generator] = None) -> Tensor: ...


@runtime_checkable
class HasTemperature(Protocol):
    """"temperature": `temperature` (float) scales the standard-normal input of samples
    (Glow's temperature: the prior's std times T); the gallery and `genstudio sample` decode
    T * z."""

    temperature: float


@runtime_checkable
class HasFlowLayers(Protocol):
    """"flow_layers" (points): `layer_names()` one name per bijection; `push_forward(x)` ->
    len(names) + 1 stages (n, dim), stage 0 the data, stage k after the first k layers, the
    last z; `pull_back(z)` -> the same count of stages from z back to the data (inverting the
    last k layers at stage k); `log_det_field(x)` -> (n,) log |det dz/dx| at x."""

    def layer_names(self) -> list[str]: ...
    def push_forward(self, x: Tensor) -> list[Tensor]: ...
    def pull_back(self, z: Tensor) -> list[Tensor]: ...
    def log_det_field(self, x: Tensor) -> Tensor: ...


@runtime_checkable
class HasFlowLevels(Protocol):
    """"flow_levels" (multi-scale flows on images): `level_shapes()` -> (c, h, w) per level,
    finest first, the top last; `encode_levels(x)` -> the eps of each level;
    `decode_levels(levels, temperature=1.0, generator=None)` -> images, levels given as eps
    tensors or None (drawn from N(0, T^2 I)). The flat z of `sample` is the levels' eps
    flattened and concatenated in this order."""

    def level_shapes(self) -> list[tuple[int, int, int]]: ...
    def encode_levels(self, x: Tensor) -> list[Tensor]: ...
    def decode_levels(self, levels: Any, temperature: float = 1.0,
                      generator: Optional[torch.Generator] = None) -> Tensor: ...


@runtime_checkable
class HasTrajectory(Protocol):
    """"trajectory": a diffusion model's steps. `sample_trajectory(n, sampler=, steps=, eta=,
    seed=, start_index=, x_start=)` and `forward_trajectory(x0, steps=, seed=)` give frames
    ("t", "xt", "x0", "eps", "xt_net"); `predict(x_t, t, labels=None)` the model's guess at
    x_t (network units): (x0 in data units, eps); `eps_fn(labels)` the noise predictor
    (x_t, t) -> eps; `to_net` / `to_data` convert units; `schedule` is the NoiseSchedule
    (q_sample, T, alpha_bar)."""

    schedule: Any

    def sample_trajectory(self, n: int, **kwargs: Any) -> dict[str, Any]: ...
    def forward_trajectory(self, x0: Tensor, steps: Optional[int] = None, **kwargs: Any) -> dict[str, Any]: ...
    def predict(self, x_t: Tensor, t: int, labels: Optional[Tensor] = None) -> tuple[Tensor, Tensor]: ...
    def eps_fn(self, labels: Optional[Tensor] = None, guidance: Optional[float] = None) -> Any: ...
    def to_net(self, x: Tensor) -> Tensor: ...
    def to_data(self, x: Tensor) -> Tensor: ...


@runtime_checkable
class HasEpsField(Protocol):
    """"eps_field" (points only): `eps_field(t, grid)` (G, dim) data coordinates -> the
    predicted noise there, (G, dim) float32 numpy."""

    def eps_field(self, t: int, grid_points: Any, labels: Optional[Tensor] = None) -> np.ndarray: ...


@runtime_checkable
class Inverts(Protocol):
    """"invert": `invert(x, labels=)` data -> the z of `sample` (n, *noise_shape) that
    regenerates x, and `decode_noise(z, labels=)` its inverse map z -> data (n, *data)."""

    def invert(self, x: Tensor, *, labels: Optional[Tensor] = None) -> Tensor: ...
    def decode_noise(self, z: Tensor, *, labels: Optional[Tensor] = None) -> Tensor: ...


@runtime_checkable
class HasCritic(Protocol):
    """"critic": `critic_field(points, labels=None)` -> one value per point or image (n,),
    no gradients; `critic_label` names what it returns."""

    critic_label: str

    def critic_field(self, points: Tensor, labels: Optional[Tensor] = None) -> Tensor: ...


@runtime_checkable
class HasGeneratorField(Protocol):
    """"generator_field": `generator_field(z, labels=None)` -> (G(z) in data units, the push
    of the generator's loss on each sample), both (n, *data)."""

    def generator_field(self, z: Tensor, labels: Optional[Tensor] = None) -> tuple[Tensor, Tensor]: ...


@runtime_checkable
class HasGeneratorFeatures(Protocol):
    """"generator_features": `generator_features(z, labels=None)` -> the generator's first
    hidden features (n, F), for GANSpace directions in the latent explorer."""

    def generator_features(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor: ...


@runtime_checkable
class Translates(Protocol):
    """"translate": an image-to-image translator (pix2pix, CycleGAN's G, SRGAN) from the
    data set's SOURCE side (`spec.source_shape`) to its TARGET side (`spec.sample_shape`).
    `translate(x)` (n, *source_shape) in [0, 1] -> (n, *target shape) in [0, 1], in eval mode
    (no dropout, BatchNorm running statistics), no gradients, deterministic. Its output is
    not clamped or quantised beyond the network's own squashing, so a low-amplitude signal
    hidden in it (CycleGAN's steganography) survives. `pairing_needed` names the pairings
    the engine trains on ("paired", "unpaired"). `sample(n, z=x)` translates x too (the
    gallery's fixed inputs are test-split sources, not noise)."""

    pairing_needed: tuple[str, ...]

    def translate(self, x: Tensor) -> Tensor: ...


@runtime_checkable
class TranslatesBack(Protocol):
    """"translate_back": the way back (CycleGAN's F: target -> source). `translate_back(y)`
    (n, *target shape) in [0, 1] -> (n, *source_shape) in [0, 1], like `translate`; the
    cycle reconstruction of x is translate_back(translate(x))."""

    def translate_back(self, y: Tensor) -> Tensor: ...


@runtime_checkable
class HasSRStages(Protocol):
    """"sr_stages" (SRGAN): `sr_stages()` -> the names of the generator's stages in training
    order, ("srresnet", "srgan"): the pixel-MSE pretrained SRResNet, then the perceptually
    trained SRGAN; `translate_stage(x, stage)` translates with that stage's generator (the
    SRResNet is kept as it was when the adversarial phase began; before then both are the
    current generator); `stage_now()` the stage training is in."""

    def sr_stages(self) -> tuple[str, ...]: ...
    def translate_stage(self, x: Tensor, stage: str) -> Tensor: ...
    def stage_now(self) -> str: ...


PHASES = ("discriminator", "generator")


@runtime_checkable
class HasTrainPhase(Protocol):
    """"train_phase": `train_phase(batch, phase)` one step of one player (phase in PHASES)
    -> metrics like train_step's (0-d detached tensors, "loss/total" among them)."""

    def train_phase(self, batch: Batch, phase: str) -> dict[str, Tensor]: ...


@runtime_checkable
class Conditional(Protocol):
    """"conditional": `num_classes` > 0, and `sample(..., labels=)` draws those classes."""

    num_classes: int


@dataclass(frozen=True)
class Capability:
    name: str
    protocol: type
    members: tuple[str, ...]          # what the capability guarantees (methods, attributes)

    @property
    def doc(self) -> str:
        return (self.protocol.__doc__ or "").strip()


CAPABILITIES: Mapping[str, Capability] = {c.name: c for c in (
    Capability("encode", Encodes, ("encode", "noise_from_latent", "reconstruct")),
    Capability("decode", Decodes, ("decode",)),
    Capability("elbo", HasELBO, ("evaluate", "iwae_bound")),
    Capability("log_prob", HasLogProb, ("log_prob", "nll", "nll_unit")),
    Capability("temperature", HasTemperature, ("temperature",)),
    Capability("flow_layers", HasFlowLayers, ("layer_names", "push_forward", "pull_back",
                                              "log_det_field")),
    Capability("flow_levels", HasFlowLevels, ("level_shapes", "encode_levels", "decode_levels")),
    Capability("trajectory", HasTrajectory, ("sample_trajectory", "forward_trajectory",
                                             "predict", "eps_fn", "to_net", "to_data",
                                             "schedule")),
    Capability("eps_field", HasEpsField, ("eps_field",)),
    Capability("invert", Inverts, ("invert", "decode_noise")),
    Capability("critic", HasCritic, ("critic_field", "critic_label")),
    Capability("generator_field", HasGeneratorField, ("generator_field",)),
    Capability("generator_features", HasGeneratorFeatures, ("generator_features",)),
    Capability("train_phase", HasTrainPhase, ("train_phase",)),
    Capability("conditional", Conditional, ("num_classes",)),
    Capability("translate", Translates, ("translate", "pairing_needed")),
    Capability("translate_back", TranslatesBack, ("translate_back",)),
    Capability("sr_stages", HasSRStages, ("sr_stages", "translate_stage", "stage_now")),
)}
KNOWN = frozenset(CAPABILITIES)


def missing_members(engine: Any, caps: Optional[Iterable[str]] = None) -> list[str]:
    """What `engine` (an instance, or a class for its methods) lacks of the capabilities it
    declares (or of `caps`), as "capability.member"; unknown capability names are listed as
    "unknown:name". Empty when the engine keeps its contract."""
    out = []
    for cap in sorted(engine.capabilities if caps is None else caps):
        spec = CAPABILITIES.get(cap)
        if spec is None:
            out.append(f"unknown:{cap}")
            continue
        for member in spec.members:
            if isinstance(engine, type):     # a class: its methods (data members are per instance)
                ok = member in spec.protocol.__annotations__ or callable(getattr(engine, member, None))
            else:
                ok = hasattr(engine, member)
            if not ok:
                out.append(f"{cap}.{member}")
    return out


class CapabilitySet:
    """The descriptor behind `Engine.capabilities`: on a class, `family_capabilities` (all an
    instance may have); on an instance, `active_capabilities()` (computed from its config and
    data), limited to the family's. Assigning raises: capabilities are computed, not set."""

    def __get__(self, obj: Any, owner: type) -> frozenset[str]:
        if obj is None:
            return frozenset(owner.family_capabilities)
        return frozenset(obj.active_capabilities()) & frozenset(type(obj).family_capabilities)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError("engine capabilities are computed from config and data "
                             "(override active_capabilities), not assigned")
