"""Capabilities as a contract (engines/capabilities.py): every registered engine and its
variants (conditional or not, points and images) declares only known capabilities, computed
from its config and data, and each declared capability's methods exist and give the right
shapes. And the studio never probes an engine with hasattr/getattr: it asks capabilities."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from engines import Batch, DataSpec, OptimConfig, engine_names, get_engine
from engines.capabilities import CAPABILITIES, KNOWN, PHASES, missing_members

ROOT = Path(__file__).resolve().parents[2]
POINTS = DataSpec("points", dim=2, point_mean=(0.5, -1.0), point_std=(1.5, 0.7))
POINTS_LABELLED = DataSpec("points", dim=2, num_classes=2, point_mean=(0.0, 0.0),
                           point_std=(1.0, 1.0))
GRAY = DataSpec("images", channels=1, height=8, width=8, num_classes=3)
RGB = DataSpec("images", channels=3, height=12, width=12)
PAIRED = DataSpec("images", channels=1, height=12, width=12, num_classes=3, pairing="paired",
                  source_channels=1, source_height=12, source_width=12)
LOWRES = DataSpec("images", channels=1, height=12, width=12, pairing="paired",
                  source_channels=1, source_height=6, source_width=6)
UNPAIRED = DataSpec("images", channels=3, height=12, width=12, pairing="unpaired",
                    source_channels=3, source_height=12, source_width=12)

# (engine, spec, config overrides): every engine on points and images, and the variants
VARIANTS = {
    "ae-points": ("ae", POINTS, {}), "ae-gray": ("ae", GRAY, {}),
    "ae-conv": ("ae", RGB, {"arch": "conv"}),
    "vae-points": ("vae", POINTS, {}), "vae-gray": ("vae", GRAY, {}),
    "vae-conv": ("vae", RGB, {"arch": "conv"}),
    "gan-points": ("gan", POINTS, {}), "gan-gray": ("gan", GRAY, {}),
    "gan-conditional": ("gan", GRAY, {"conditional": True}),
    "gan-conditional-unlabelled": ("gan", RGB, {"conditional": True}),
    "ddpm-points": ("ddpm", POINTS, {"sample_steps": 4}),
    "ddpm-gray": ("ddpm", GRAY, {"sample_steps": 4}),
    "ddpm-conditional": ("ddpm", GRAY, {"conditional": True, "sample_steps": 4}),
    "ddpm-conditional-points": ("ddpm", POINTS_LABELLED, {"conditional": True,
                                                          "sample_steps": 4}),
    "flow-points": ("flow", POINTS, {"steps": 2, "hidden": 8}),
    "flow-gray": ("flow", GRAY, {"levels": 2, "steps": 2, "hidden": 8}),
    "flow-rgb": ("flow", RGB, {"levels": 1, "steps": 2, "hidden": 8, "preprocess": "logit",
                               "mixing": "plain"}),
    # translators: the source side at its own size (SRGAN x2, CycleGAN unpaired)
    "pix2pix": ("pix2pix", PAIRED, {"channels": 4, "depth": 3, "d_channels": 4}),
    "pix2pix-upsampling": ("pix2pix", LOWRES, {"channels": 4, "depth": 3, "d_channels": 4}),
    "srgan": ("srgan", LOWRES, {"blocks": 1, "channels": 4, "d_channels": 4, "d_dense": 8,
                                "content_loss": "pixel", "pretrain_steps": 0}),
    "cyclegan": ("cyclegan", UNPAIRED, {"g_channels": 4, "g_blocks": 1, "d_channels": 4}),
}
# what each variant must report: computed from config and data, not from the class
EXPECTED = {
    "ae-points": {"encode", "decode"}, "ae-gray": {"encode", "decode"},
    "ae-conv": {"encode", "decode"},
    "vae-points": {"encode", "decode", "elbo"}, "vae-gray": {"encode", "decode", "elbo"},
    "vae-conv": {"encode", "decode", "elbo"},
    "gan-points": {"critic", "generator_field", "generator_features", "train_phase"},
    "gan-gray": {"critic", "generator_field", "generator_features", "train_phase"},
    "gan-conditional": {"critic", "generator_field", "generator_features", "train_phase",
                        "conditional"},
    "gan-conditional-unlabelled": {"critic", "generator_field", "generator_features",
                                   "train_phase"},
    "ddpm-points": {"trajectory", "invert", "eps_field"}, "ddpm-gray": {"trajectory", "invert"},
    "ddpm-conditional": {"trajectory", "invert", "conditional"},
    "ddpm-conditional-points": {"trajectory", "invert", "eps_field", "conditional"},
    "flow-points": {"encode", "decode", "log_prob", "temperature", "flow_layers"},
    "flow-gray": {"encode", "decode", "log_prob", "temperature", "flow_levels"},
    "flow-rgb": {"encode", "decode", "log_prob", "temperature", "flow_levels"},
    "pix2pix": {"translate"}, "pix2pix-upsampling": {"translate"},
    "srgan": {"translate", "sr_stages"}, "cyclegan": {"translate", "translate_back"},
}


def _batch(spec: DataSpec, n: int = 6, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    if spec.is_images:
        x = torch.rand(n, *spec.sample_shape, generator=g)
    else:
        x = torch.randn(n, spec.dim, generator=g) * torch.tensor(spec.point_std) + torch.tensor(spec.point_mean)
    y = torch.randint(0, spec.num_classes, (n,), generator=g) if spec.num_classes else None
    if spec.two_sided:
        return Batch(x, y, torch.rand(n, *spec.source_shape, generator=g), y)
    return Batch(x, y)


def _build(variant: str):
    name, spec, over = VARIANTS[variant]
    torch.manual_seed(0)
    E = get_engine(name)
    engine = E.build(E.Config(**over), OptimConfig(), spec, "cpu")
    b = _batch(spec, n=8 * engine.batches_for_next_step())
    engine.train_step(b)
    return engine, spec


def test_every_registered_engine_has_variants():
    assert {v[0] for v in VARIANTS.values()} == set(engine_names())


@pytest.mark.parametrize("name", engine_names())
def test_family_declares_known_capabilities_with_their_methods(name):
    E = get_engine(name)
    assert E.capabilities == E.family_capabilities and E.capabilities <= KNOWN
    assert missing_members(E) == [], f"{name} lacks methods of its capabilities"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_instance_capabilities_are_computed_and_kept(variant):
    engine, spec = _build(variant)
    caps = engine.capabilities
    assert isinstance(caps, frozenset) and caps == EXPECTED[variant]
    assert caps <= type(engine).family_capabilities
    assert missing_members(engine) == []
    for cap in caps:
        assert isinstance(engine, CAPABILITIES[cap].protocol), f"{variant}: {cap}"
    with pytest.raises(AttributeError):
        engine.capabilities = frozenset({"log_prob"})
    n = 5
    x = _batch(spec, n=n, seed=3).x
    z = engine.noise(n, generator=torch.Generator().manual_seed(1))
    data_shape = (n, *spec.sample_shape)
    with torch.no_grad():
        for cap in sorted(caps):
            CHECKS[cap](engine, spec, x, z, data_shape)


def _finite(t) -> bool:
    return bool(np.isfinite(np.asarray(t.detach().cpu() if isinstance(t, torch.Tensor) else t)).all())


def _encode(engine, spec, x, z, shape):
    latent = engine.encode(x)
    assert latent.dim() == 2 and latent.shape[0] == len(x) and _finite(latent)
    z2 = engine.noise_from_latent(latent)
    assert z2.shape == (len(x), *engine.noise_shape) and _finite(z2)
    assert engine.reconstruct(x).shape == shape
    assert torch.allclose(engine.sample(len(x), z=z2), engine.reconstruct(x), atol=1e-4)


def _decode(engine, spec, x, z, shape):
    latent = engine.encode(x) if "encode" in engine.capabilities else z
    out = engine.decode(latent)
    assert out.shape == shape and _finite(out)


def _elbo(engine, spec, x, z, shape):
    metrics = engine.evaluate([Batch(x, None)])
    assert any("elbo" in k for k in metrics)
    bound = engine.iwae_bound(x, 2, generator=torch.Generator().manual_seed(0))
    assert bound.shape == (len(x),) and _finite(bound)


def _log_prob(engine, spec, x, z, shape):
    lp = engine.log_prob(x)
    assert lp.shape == (len(x),) and _finite(lp)
    nll = engine.nll(x, generator=torch.Generator().manual_seed(0))
    assert nll.shape == (len(x),) and _finite(nll)
    assert engine.nll_unit == ("bits/dim" if spec.is_images else "nats")


def _temperature(engine, spec, x, z, shape):
    assert isinstance(engine.temperature, float) and engine.temperature >= 0


def _flow_layers(engine, spec, x, z, shape):
    names = engine.layer_names()
    fwd, back = engine.push_forward(x), engine.pull_back(z)
    assert len(fwd) == len(back) == len(names) + 1
    assert all(s.shape == (len(x), spec.dim) for s in fwd + back)
    assert torch.equal(fwd[0], x) and torch.equal(back[0], z)
    assert engine.log_det_field(x).shape == (len(x),)


def _flow_levels(engine, spec, x, z, shape):
    shapes = engine.level_shapes()
    levels = engine.encode_levels(x)
    assert [tuple(l.shape[1:]) for l in levels] == shapes
    assert sum(int(np.prod(s)) for s in shapes) == spec.numel
    out = engine.decode_levels([None] * (len(shapes) - 1) + [levels[-1]], temperature=0.5,
                               generator=torch.Generator().manual_seed(0))
    assert out.shape == shape and _finite(out)


def _trajectory(engine, spec, x, z, shape):
    out = engine.sample_trajectory(len(x), steps=3, seed=0)
    frames = len(out["t"])
    for key in ("xt", "x0", "xt_net"):
        assert out[key].shape == (frames, *shape), key
    fwd = engine.forward_trajectory(x, steps=3, seed=0)
    assert fwd["xt"].shape == (len(fwd["t"]), *shape) and fwd["xt_net"].shape == fwd["xt"].shape
    xt = engine.to_net(x)
    eps = engine.eps_fn()(xt, torch.full((len(x),), 1, dtype=torch.long))
    assert eps.shape == shape and engine.to_data(xt).shape == shape
    x0, eps2 = engine.predict(xt, 1)
    assert x0.shape == shape and torch.equal(eps2, eps) and _finite(x0)
    assert engine.schedule.T >= 1


def _eps_field(engine, spec, x, z, shape):
    grid = np.zeros((7, spec.dim), np.float32)
    assert engine.eps_field(1, grid).shape == (7, spec.dim)


def _invert(engine, spec, x, z, shape):
    zt = engine.invert(x)
    assert zt.shape == (len(x), *engine.noise_shape) and _finite(zt)
    assert engine.decode_noise(zt).shape == shape


def _critic(engine, spec, x, z, shape):
    assert isinstance(engine.critic_label, str) and engine.critic_label
    v = engine.critic_field(x)
    assert v.shape == (len(x),) and _finite(v) and not v.requires_grad


def _generator_field(engine, spec, x, z, shape):
    at, push = engine.generator_field(z)
    assert at.shape == shape and push.shape == shape and _finite(push)


def _generator_features(engine, spec, x, z, shape):
    f = engine.generator_features(z)
    assert f.dim() == 2 and f.shape[0] == len(z) and _finite(f)


def _train_phase(engine, spec, x, z, shape):
    with torch.enable_grad():
        for phase in PHASES:
            out = engine.train_phase(_batch(spec, n=8, seed=5), phase)
            assert out["loss/total"].dim() == 0 and _finite(out["loss/total"])


def _conditional(engine, spec, x, z, shape):
    k = engine.num_classes
    assert k == spec.num_classes > 0
    outs = [engine.sample(len(z), z=z, labels=torch.full((len(z),), c, dtype=torch.long))
            for c in range(k)]
    assert all(o.shape == shape and _finite(o) for o in outs)


def _translate(engine, spec, x, z, shape):
    assert spec.pairing in engine.pairing_needed
    assert z.shape == (len(x), *spec.source_shape)        # a translator's "noise" is a source image
    out = engine.translate(z)
    assert out.shape == shape and _finite(out) and 0 <= float(out.min()) and float(out.max()) <= 1
    assert torch.equal(engine.translate(z), out)          # eval mode: deterministic
    assert torch.allclose(engine.sample(len(z), z=z), out)


def _translate_back(engine, spec, x, z, shape):
    back = engine.translate_back(x)
    assert back.shape == (len(x), *spec.source_shape) and _finite(back)
    assert 0 <= float(back.min()) and float(back.max()) <= 1


def _sr_stages(engine, spec, x, z, shape):
    stages = engine.sr_stages()
    assert tuple(stages) == ("srresnet", "srgan") and engine.stage_now() in stages
    for stage in stages:
        assert engine.translate_stage(z, stage).shape == shape


CHECKS = {"encode": _encode, "decode": _decode, "elbo": _elbo, "log_prob": _log_prob,
          "trajectory": _trajectory, "eps_field": _eps_field, "invert": _invert,
          "critic": _critic, "generator_field": _generator_field,
          "generator_features": _generator_features, "train_phase": _train_phase,
          "conditional": _conditional, "temperature": _temperature,
          "flow_layers": _flow_layers, "flow_levels": _flow_levels, "translate": _translate,
          "translate_back": _translate_back, "sr_stages": _sr_stages}


def test_every_capability_has_a_check():
    assert set(CHECKS) == set(CAPABILITIES)


# hasattr/getattr with an engine as the object: engine, self.engine, trainer.engine, t.engine ...
ENGINE_PROBE = re.compile(r"\b(?:hasattr|getattr)\(\s*(?:[\w.]*[._])?engine\s*,")


def test_no_module_outside_engines_probes_an_engine():
    offenders = []
    for folder in ("studio", "widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ENGINE_PROBE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "ask engine.capabilities instead:\n" + "\n".join(offenders)


def test_the_probe_pattern_catches_engines_only():
    for probe in ('hasattr(engine, "invert")', 'getattr(t.engine, "x", None)',
                  'hasattr(trainer.engine, "iwae_bound")', "getattr(self.engine, 'a')",
                  "hasattr(self._engine, 'b')"):
        assert ENGINE_PROBE.search(probe), probe
    for fine in ('hasattr(self.engine.config, key)', 'getattr(ds, "modes", None)',
                 'getattr(engine_cls, "x")'):
        assert not ENGINE_PROBE.search(fine), fine
