"""The engine contract (engines/base.py; docs/architecture.md, "Engines"), checked for every
registered engine on CPU with its default config on tiny data. A new engine is covered the moment it registers."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from safetensors.torch import load_file, save_file

from engines import Batch, DataSpec, OptimConfig, engine_names, get_engine
from engines.capabilities import KNOWN as KNOWN_CAPABILITIES, missing_members
SPECS = {
    "points": DataSpec("points", dim=2, point_mean=(0.5, -1.0), point_std=(1.5, 0.7)),
    "gray8": DataSpec("images", channels=1, height=8, width=8, num_classes=3),
    "rgb12": DataSpec("images", channels=3, height=12, width=12),
    "gray8-defaults": DataSpec("images", channels=1, height=8, width=8, num_classes=3),
}
# The image specs run the conv networks (and the diffusion U-Net at two levels of 2x2
# patches) explicitly; "gray8-defaults" runs each engine's plain defaults (MLPs, one level).
CONV = {"arch": "conv", "patch": 2, "levels": 2, "prediction": "eps"}
OVERRIDES = {"gray8": CONV, "rgb12": CONV}


def _batch(spec: DataSpec, n: int = 8, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    if spec.is_images:
        x = torch.rand(n, *spec.sample_shape, generator=g)
    else:
        x = torch.randn(n, spec.dim, generator=g) * torch.tensor(spec.point_std) + torch.tensor(spec.point_mean)
    y = torch.randint(0, spec.num_classes, (n,), generator=g) if spec.num_classes else None
    if spec.two_sided:
        return Batch(x, y, torch.rand(n, *spec.source_shape, generator=g), y)
    return Batch(x, y)


# Translators read a source side: on an image spec they get a two-sided version at a size
# their default discriminators fit (28 px gray, 24 px colour), the source at half the size
# for SRGAN (super-resolution x2) and the target's size otherwise; points do not apply.
TRANSLATOR_SIZE = {1: 28, 3: 24}


def _spec(name: str, spec_name: str) -> DataSpec:
    spec = SPECS[spec_name]
    E = get_engine(name)
    if "translate" not in E.capabilities:
        return spec
    if not spec.is_images:
        pytest.skip(f"{name} translates images; it does not train on points")
    size = TRANSLATOR_SIZE[spec.channels]
    src = size // 2 if "sr_stages" in E.capabilities else size
    return dataclasses.replace(spec, height=size, width=size, pairing=E.pairing_needed[0],
                               source_channels=spec.channels, source_height=src,
                               source_width=src)


def _step_batch(engine, spec: DataSpec, n: int = 8, seed: int = 0) -> Batch:
    """What the trainer hands to train_step: batches_for_next_step() batches as one Batch."""
    return _batch(spec, n=n * engine.batches_for_next_step(), seed=seed)


def _build(name: str, spec: DataSpec, seed: int = 0):
    torch.manual_seed(seed)
    E = get_engine(name)
    fields = {f.name for f in dataclasses.fields(E.Config)}
    # (translators' two-sided specs are new objects: they run their defaults)
    over = dict(next((OVERRIDES.get(k, {}) for k, v in SPECS.items() if v is spec), {}))
    if spec.two_sided and spec.sample_shape != (1, 28, 28):
        over["content_loss"] = "pixel"          # SRGAN's evaluator features are for 1x28x28
    engine = E.build(E.Config(**{k: v for k, v in over.items() if k in fields}), OptimConfig(),
                     spec, "cpu")
    if engine.feature_net_wanted():          # the trainer attaches the evaluator; a stand-in here
        engine.attach_feature_net(torch.nn.Conv2d(spec.channels, 4, 3))
    return engine


params = pytest.mark.parametrize("name", engine_names())
specs = pytest.mark.parametrize("spec_name", list(SPECS))


@params
def test_declaration(name):
    E = get_engine(name)
    assert E.name == name
    assert set(E.capabilities) <= KNOWN_CAPABILITIES
    assert missing_members(E) == [], f"{name} lacks methods of the capabilities it declares"
    assert dataclasses.is_dataclass(E.Config)
    for f in dataclasses.fields(E.Config):
        assert f.metadata.get("help"), f"{name}.{f.name} has no help text for the GUI tooltip"


@params
@specs
def test_train_step_returns_finite_detached_scalars(name, spec_name):
    spec = _spec(name, spec_name)
    engine = _build(name, spec)
    for i in range(3):
        out = engine.train_step(_step_batch(engine, spec, seed=i))
        assert "loss/total" in out
        for k, v in out.items():
            assert "/" in k or k in ("elbo",), f"metric key {k!r} is not group/name"
            assert isinstance(v, torch.Tensor) and v.dim() == 0, k
            assert not v.requires_grad, f"{k} is not detached"
            assert torch.isfinite(v), k


@params
@specs
def test_samples_have_the_right_shape_range_and_are_a_function_of_z(name, spec_name):
    spec = _spec(name, spec_name)
    engine = _build(name, spec)
    engine.train_step(_step_batch(engine, spec))
    rng_before = torch.get_rng_state()
    z = engine.noise(5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), rng_before), "noise() with a generator used the global RNG"
    assert z.shape == (5, *engine.noise_shape)
    a = engine.sample(5, z=z)
    b = engine.sample(5, z=z.clone())
    assert a.shape == (5, *spec.sample_shape)
    assert torch.equal(a, b)
    assert torch.isfinite(a).all()
    if spec.is_images:
        assert a.min() >= 0 and a.max() <= 1
    c = engine.sample(5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, c), "sample(generator=g) must equal sample(z=noise(g))"


@params
@specs
def test_checkpoint_round_trip_reproduces_samples(name, spec_name, tmp_path):
    spec = _spec(name, spec_name)
    engine = _build(name, spec, seed=0)
    for i in range(2):
        engine.train_step(_step_batch(engine, spec, seed=i))
    save_file({k: v.contiguous() for k, v in engine.state_dict().items()}, str(tmp_path / "w.st"))
    fresh = _build(name, spec, seed=123)
    fresh.load_state_dict(load_file(str(tmp_path / "w.st")))
    z = engine.noise(4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(engine.sample(4, z=z), fresh.sample(4, z=z))
    opt = engine.optim_state_dict()
    fresh.load_optim_state_dict(opt)


@params
@specs
def test_evaluate_gives_finite_floats(name, spec_name):
    spec = _spec(name, spec_name)
    engine = _build(name, spec)
    metrics = engine.evaluate([_batch(spec, seed=9), _batch(spec, n=3, seed=10)])
    assert metrics, f"{name} reports no held-out metric"
    for k, v in metrics.items():
        assert isinstance(v, float) and v == v, k


@params
def test_set_lr_reaches_every_optimizer(name):
    E = get_engine(name)
    engine = _build(name, _spec(name, "gray8") if "translate" in E.capabilities else SPECS["points"])
    engine.set_lr(0.123)
    for opt in engine.optimizers().values():
        assert all(g["lr"] == 0.123 for g in opt.param_groups)


@params
@specs
def test_critic_methods(name, spec_name):
    """Engines with the "critic" capability: critic_field gives one finite value per point
    (or image) without gradients; generator_field (with its capability) gives G(z) in data units
    and one push vector per sample of the same shape; train_phase runs both phases."""
    E = get_engine(name)
    if "critic" not in E.capabilities:
        pytest.skip(f"{name} has no critic")
    spec = _spec(name, spec_name)
    engine = _build(name, spec)
    engine.train_step(_step_batch(engine, spec))
    assert isinstance(engine.critic_label, str) and engine.critic_label
    pts = _batch(spec, n=6, seed=4).x
    with torch.no_grad():
        v = engine.critic_field(pts)
    assert v.shape == (6,) and torch.isfinite(v).all() and not v.requires_grad
    z = engine.noise(6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        at, push = engine.generator_field(z)
    assert at.shape == (6, *spec.sample_shape) and push.shape == at.shape
    assert torch.isfinite(push).all() and push.abs().sum() > 0
    assert torch.allclose(at, engine.sample(6, z=z))
    for phase in ("discriminator", "generator"):
        out = engine.train_phase(_batch(spec, seed=5), phase)
        assert torch.isfinite(out["loss/total"]) and out["loss/total"].dim() == 0
