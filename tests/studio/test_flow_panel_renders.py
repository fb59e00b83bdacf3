"""What the existing panels ask of a normalizing flow (issue 16): the 2D canvas's density
heatmap, the gallery's grid at temperature T, and the latent explorer's exact encode."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.core import renders
from studio.core.config import config_from_dict
from studio.core.training import Trainer


def flow_config(data: dict, steps: int = 20, **model) -> object:
    return config_from_dict({
        "run": {"seed": 3, "steps": steps, "batch_size": 64, "log_every": 10, "sample_every": 10,
                "checkpoint_every": 1000, "preview_samples": 9, "device": "cpu", "threads": 1},
        "data": data,
        "model": {"engine": "flow", "steps": 4, "hidden": 16, **model},
        "optim": {"lr": 1e-3}})


@pytest.fixture(scope="module")
def moons_flow():
    t = Trainer(flow_config({"name": "moons", "n": 512, "n_test": 128}))
    t.train()
    return t


@pytest.fixture(scope="module")
def image_flow():
    t = Trainer(flow_config({"name": "mnist", "limit": 128}, steps=4, levels=2))
    t.train()
    return t


def test_the_canvas_shows_a_flows_density_exp_log_p(moons_flow):
    """p(x) = exp(log p(x)) on the grid, from the engine's exact log_prob; no critic."""
    t = moons_flow
    out = renders.canvas(t, n=300, field_res=48)
    assert out["field_kind"] == "density" and "flow's density" in out["field_label"]
    assert out["field_log_label"].startswith("log p(x)")
    gx, gy = out["field_x"], out["field_y"]
    assert out["field_values"].shape == out["field_log_values"].shape == (48, 48)
    xx, yy = np.meshgrid(gx, gy)
    pts = torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1))
    logp = t.engine.log_prob(pts).numpy().reshape(48, 48)
    np.testing.assert_allclose(out["field_log_values"], logp, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["field_values"], np.exp(logp), rtol=1e-5, atol=1e-7)
    assert "arrows" not in out                        # no discriminator pushes its samples


def test_the_density_on_the_canvas_integrates_to_about_one(moons_flow):
    """A density: the Riemann sum of p(x) over the padded data box is its mass there, <= 1
    and most of it (the box is the data's bounds padded by a quarter of their span)."""
    out = renders.canvas(moons_flow, n=300, field_res=128)
    cell = np.diff(out["field_x"][:2])[0] * np.diff(out["field_y"][:2])[0]
    mass = float(out["field_values"].sum() * cell)
    assert 0.85 < mass < 1.02, mass


def test_gan_canvas_keeps_its_critic():
    cfg = config_from_dict({
        "run": {"seed": 0, "steps": 2, "batch_size": 32, "device": "cpu"},
        "data": {"name": "ring8", "n": 256, "n_test": 64},
        "model": {"engine": "gan", "g_hidden": 16, "d_hidden": 16}})
    t = Trainer(cfg)
    out = renders.canvas(t, n=100, arrows=10)
    assert out.get("field_kind", "critic") == "critic" and "field_log_values" not in out
    assert out["field_values"].shape == (64, 64)


def test_tempered_grid_is_the_fixed_codes_scaled_by_t(moons_flow):
    """Glow's temperature: the grid decodes T * eps of the gallery's fixed eps; T = 1 is the
    trainer's own preview (the run's temperature is 1), T = 0 decodes the prior's mean for
    every cell (all samples the same point)."""
    t = moons_flow
    one = renders.tempered(t, 1.0)
    np.testing.assert_allclose(one["samples"], t.preview(), rtol=1e-5, atol=1e-6)
    half = renders.tempered(t, 0.5)
    direct = t.engine.sample(len(t.eval_z), z=0.5 * t.eval_z).numpy()
    np.testing.assert_allclose(half["samples"], direct, rtol=1e-5, atol=1e-6)
    assert half["temperature"] == 0.5 and half["step"] == t.step
    zero = renders.tempered(t, 0.0)["samples"]
    np.testing.assert_allclose(zero, np.repeat(zero[:1], len(zero), 0), atol=1e-6)
    mean = t.engine.sample(1, z=torch.zeros(1, 2)).numpy()
    np.testing.assert_allclose(zero[0], mean[0], atol=1e-5)
    # the spread of the samples grows with T
    assert half["samples"].std(0).sum() < one["samples"].std(0).sum()


def test_tempered_refuses_engines_without_a_temperature():
    from .helpers import tiny_points_config
    t = Trainer(tiny_points_config("ae", steps=1))
    with pytest.raises(ValueError, match="temperature"):
        renders.tempered(t, 0.7)


def test_encode_then_decode_gives_the_data_image_back(image_flow):
    """A flow encodes exactly: decode(encode(x)) = x (to float precision) through the
    explorer's renders, on images of the training set (uint8 as the browser holds them)."""
    t = image_flow
    x = t.dataset.train_x[:3]
    z = renders.encode(t, x)
    assert z.shape == (3, 784)
    back = renders.decode(t, z)
    np.testing.assert_allclose(back, x.astype(np.float32) / 255.0, atol=1e-4)
    assert np.array_equal(np.round(back * 255).astype(np.uint8), x)   # the same picture


def test_interpolating_two_encoded_images_starts_and_ends_at_them(image_flow):
    t = image_flow
    x = t.dataset.train_x[:2]
    za, zb = renders.encode(t, x)
    out = renders.interpolate(t, za, zb, steps=5)
    assert out["samples"].shape == (5, 1, 28, 28)
    np.testing.assert_allclose(out["samples"][0], x[0] / 255.0, atol=1e-4)
    np.testing.assert_allclose(out["samples"][-1], x[1] / 255.0, atol=1e-4)
    mid = out["samples"][2]
    assert np.abs(mid - x[0] / 255.0).mean() > 1e-3 and np.abs(mid - x[1] / 255.0).mean() > 1e-3
