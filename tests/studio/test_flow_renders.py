"""studio.core.flow_renders on tiny flows: the layers slider's stages (stage 0 is the data,
the last pulled-back stage maps back onto the latent grid exactly), the density heatmap
integrates to the mass the model puts in the box, one image's levels (keep all = the exact
reconstruction), and per-image bits/dim ordered into the most and least likely images."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from studio.core import renders
from studio.core.config import config_from_dict
from studio.core.training import Trainer


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def flow(data: dict, train_steps: int, **model) -> Trainer:
    cfg = config_from_dict({
        "run": {"seed": 0, "steps": max(train_steps, 1), "batch_size": 64, "log_every": 10,
                "sample_every": 1000, "checkpoint_every": 1000, "preview_samples": 4,
                "device": "cpu", "threads": 1},
        "data": data, "model": {"engine": "flow", "warmup": 0, **model},
        "optim": {"lr": 3e-3}})
    t = Trainer(cfg)
    if train_steps:
        t.train()
    return t


@pytest.fixture(scope="module")
def moons():
    return flow({"name": "moons", "n": 2048, "n_test": 512}, 150, steps=4, hidden=32)


@pytest.fixture(scope="module")
def digits():
    return flow({"name": "mnist", "limit": 256}, 4, levels=2, steps=2, hidden=8)


def render(t: Trainer, kind: str, **payload):
    torch_state = torch.get_rng_state()
    out = renders.render(t, SimpleNamespace(kind=kind, payload=payload))
    assert torch.equal(torch.get_rng_state(), torch_state)          # no global RNG drawn
    return out


def test_layers_stage_zero_is_the_data_and_the_pulled_back_grid_maps_back(moons):
    t = moons
    r = render(t, "flow_layers", n=300, res=32)
    K = len(r["names"])
    assert r["names"] == t.engine.layer_names() and r["names"][0] == "standardise"
    assert r["stages"].shape == (K + 1, 300, 2) and r["grid"].shape == (K + 1, 22, 121, 2)
    # stage 0: a fixed subset of the training points, as they are
    rows = {tuple(p) for p in t.dataset.train_x.astype(np.float32)}
    assert all(tuple(p) in rows for p in r["stages"][0])
    assert render(t, "flow_layers", n=300, res=32)["stages"][0].tobytes() == r["stages"][0].tobytes()
    # the last stage is z = f(x) and grid[K] the straight grid in z
    z = t.engine.encode(torch.as_tensor(r["stages"][0])).numpy()
    np.testing.assert_allclose(r["stages"][-1], z, atol=1e-5)
    np.testing.assert_array_equal(r["grid"][-1], renders.latent_grid(2, 11, 121))
    # push_forward(pull_back(z)[-1])[-1] ~ z: the grid in data space goes back onto the grid
    grid_x = torch.as_tensor(r["grid"][0].reshape(-1, 2))
    back = t.engine.push_forward(grid_x)
    np.testing.assert_allclose(back[-1].numpy().reshape(r["grid"][-1].shape), r["grid"][-1],
                               atol=1e-4)
    # and every intermediate stage too: pushing grid[0] through k layers gives grid[k]
    for k in (1, K // 2):
        np.testing.assert_allclose(back[k].numpy().reshape(r["grid"][k].shape), r["grid"][k],
                                   atol=1e-4)


def density_mass_check(t: Trainer, res: int = 96) -> tuple[float, float]:
    """(sum(p) * cell area over the render's grid, the share of 40,000 model samples that fall
    in the cells' box): the heatmap integrates to the mass the model puts in the box."""
    r = render(t, "flow_layers", n=100, res=res)
    fx, fy = r["field_x"].astype(np.float64), r["field_y"].astype(np.float64)
    dx, dy = fx[1] - fx[0], fy[1] - fy[0]
    mass = float(r["density"].astype(np.float64).sum() * dx * dy)
    seen = r["log_p"] > -50                              # exp(log p) of the rest underflows
    np.testing.assert_allclose(np.log(r["density"][seen]), r["log_p"][seen], rtol=1e-4, atol=1e-4)
    x = t.engine.sample(40_000, generator=torch.Generator().manual_seed(5)).numpy()
    inside = ((x[:, 0] >= fx[0] - dx / 2) & (x[:, 0] <= fx[-1] + dx / 2)
              & (x[:, 1] >= fy[0] - dy / 2) & (x[:, 1] <= fy[-1] + dy / 2)).mean()
    return mass, float(inside)


def test_the_density_heatmap_integrates_to_the_mass_in_the_box_trained(moons):
    mass, inside = density_mass_check(moons)
    assert inside > 0.9 and abs(mass - inside) < 0.1 * inside, (mass, inside)


def test_the_density_heatmap_integrates_to_the_mass_in_the_box_untrained():
    t = flow({"name": "ring8", "n": 1024, "n_test": 256}, 0, steps=2, hidden=8)
    mass, inside = density_mass_check(t)
    assert inside > 0.5 and abs(mass - inside) < 0.1 * inside, (mass, inside)


def test_layers_field_is_the_log_det_and_the_test_nll(moons):
    t = moons
    r = render(t, "flow_layers", n=50, res=16)
    cells = np.stack(np.meshgrid(r["field_x"], r["field_y"]), -1).reshape(-1, 2)
    ld = t.engine.log_det_field(torch.as_tensor(cells)).numpy().reshape(16, 16)
    np.testing.assert_allclose(r["log_det"], ld, rtol=1e-5, atol=1e-5)
    test = torch.as_tensor(t.dataset.test_x[:2000], dtype=torch.float32)
    assert r["nll"] == pytest.approx(float(-t.engine.log_prob(test).mean()), rel=1e-5)
    assert r["nll_unit"] == "nats"


def test_levels_keep_all_is_the_reconstruction_and_keep_none_varies(digits):
    t = digits
    r = render(t, "flow_levels", seed=3, temperature=0.7, n=4)
    shapes = t.engine.level_shapes()
    L = len(shapes)
    assert [c.shape for c in r["codes"]] == [tuple(s) for s in shapes]
    assert r["image"].shape == (1, 28, 28) and r["decodes"].shape == (L + 1, 4, 1, 28, 28)
    np.testing.assert_allclose(r["reconstruction"], r["image"], atol=1e-4)
    np.testing.assert_allclose(r["decodes"][L], np.broadcast_to(r["reconstruction"], (4, 1, 28, 28)),
                               atol=1e-5)
    assert np.abs(r["decodes"][0][0] - r["decodes"][0][1]).max() > 1e-3      # fresh draws
    assert r["source"].startswith("test image #")
    again = render(t, "flow_levels", seed=3, temperature=0.7, n=4)
    np.testing.assert_array_equal(again["decodes"], r["decodes"])
    # a picked training image
    p = render(t, "flow_levels", index=7, n=2)
    np.testing.assert_allclose(p["image"], t.dataset.train_x[7] / 255.0, atol=1e-6)
    assert p["source"] == "training image #7"


def test_likelihood_orders_the_most_and_least_likely_test_images(digits):
    t = digits
    r = render(t, "flow_likelihood", n=64, seed=1, k=8)
    bpd = r["test_bpd"]
    assert bpd.shape == (64,) and r["sample_bpd"].shape == (64,) and r["unit"] == "bits/dim"
    assert np.isfinite(bpd).all() and np.isfinite(r["sample_bpd"]).all()
    assert (np.diff(r["most_bpd"]) >= 0).all() and (np.diff(r["least_bpd"]) <= 0).all()
    assert r["most_bpd"][0] == bpd.min() and r["least_bpd"][0] == bpd.max()
    assert r["most_bpd"][-1] <= np.sort(bpd)[7] and r["least_bpd"][-1] >= np.sort(bpd)[-8]
    pool = t.dataset.test_x
    np.testing.assert_allclose(r["most"], pool[r["most_index"]] / 255.0)
    np.testing.assert_allclose(r["least"], pool[r["least_index"]] / 255.0)
    # the scores are the engine's own, with the dequantisation drawn from the seed
    g = torch.Generator().manual_seed(2)
    x = torch.as_tensor(pool[r["index"]], dtype=torch.float32) / 255.0
    np.testing.assert_allclose(bpd, t.engine.nll(x, generator=g).numpy(), rtol=1e-5)
    again = render(t, "flow_likelihood", n=64, seed=1, k=8)
    np.testing.assert_array_equal(again["test_bpd"], bpd)


def test_renders_refuse_runs_without_the_capability(moons, digits):
    with pytest.raises(ValueError, match="flow_levels"):
        render(moons, "flow_levels")
    with pytest.raises(ValueError, match="flow_layers"):
        render(digits, "flow_layers")
    with pytest.raises(ValueError, match="images"):
        render(moons, "flow_likelihood")
