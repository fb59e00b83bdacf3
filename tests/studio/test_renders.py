"""studio/core/renders.py: what the engine host computes for the GUI between training steps.

The renders ask engines through capabilities, never classes. The diffusion-specific paths
checked here: `encode` on a ddpm engine (no "encode" capability) falls back to DDIM inversion,
and decode(encode(x)) with DDIM at eta = 0 maps a data image back to itself (Song et al. 2021:
the eta = 0 update is a discretised ODE, so running it backwards and forwards along the same
timesteps reconstructs x up to the discretisation error); the scrubber's trajectory,
continue and edit renders; the points field; and the generic branches (dispatch,
interpolation paths, basis, the errors for engines that cannot do a render). Tiny models on
the CPU, one thread; the module takes ~10 s (most of it training the small U-Net).
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from studio.core import renders
from studio.core.config import config_from_dict
from studio.core.training import Trainer

from .helpers import tiny_mnist_config

DDPM_TRAIN_STEPS = 200
# decode(encode(x)) of MNIST test images, DDIM 50 steps, eta 0, no x0 clipping, measured on
# this fixture (U-Net channels 16, 200 steps) for test images 0-3, 4-7, 8-11: max |x - x_rec|
# 0.19, 0.19, 0.14 and mean 0.0049, 0.0049, 0.0060 (150 steps: max up to 0.27, mean 0.008;
# 300 steps: 0.15, 0.006; channels 8: mean 0.03), against a mean |x - x'| of 0.12-0.20
# between different digits. The bounds leave ~2.5x headroom on the max pixel, ~5x on the mean.
ROUND_TRIP_MAX = 0.5
ROUND_TRIP_MEAN = 0.025


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny workloads: one intra-op thread is as fast, and far faster when other processes
    share the cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def ddpm_config(data: dict, steps: int, **model):
    return config_from_dict({
        # threads = 1: the Trainer sets the thread count from the config (0 would mean 2)
        "run": {"seed": 3, "steps": steps, "batch_size": 32, "log_every": 50,
                "sample_every": 10_000, "checkpoint_every": 10_000, "preview_samples": 4,
                "threads": 1, "device": "cpu"},
        "data": data,
        # eps prediction (Ho et al.), whose DDIM inversion these tests hold to tight bounds
        "model": {"engine": "ddpm", "sampler": "ddim", "sample_steps": 50, "eta": 0.0,
                  "ema": 0.0, "clip": False, "prediction": "eps", "patch": 2, "levels": 2,
                  **model},
        "optim": {"lr": 2e-3, "grad_clip": 1.0, "beta1": 0.9},
    })


@pytest.fixture(scope="module")
def ddpm_mnist():
    """A small U-Net DDPM (channels 16) on 512 MNIST images, trained DDPM_TRAIN_STEPS steps
    so its eps prediction is a real, non-trivial function (a fresh U-Net predicts eps = 0,
    for which the round trip is exact and proves nothing). Sampling without x0 clipping:
    see test_x0_clipping_breaks_the_round_trip."""
    t = Trainer(ddpm_config({"name": "mnist", "limit": 512}, DDPM_TRAIN_STEPS, channels=16))
    t.train()
    return t


@pytest.fixture(scope="module")
def ddpm_points():
    t = Trainer(ddpm_config({"name": "ring8", "n": 512, "n_test": 256}, 50, hidden=32, depth=2))
    t.train()
    return t


def test_the_ddpm_engine_cannot_encode_but_can_invert(ddpm_mnist):
    e = ddpm_mnist.engine
    assert "encode" not in e.capabilities and "invert" in e.capabilities


def test_encode_on_ddpm_falls_back_to_ddim_inversion(ddpm_mnist):
    """encode(x) on a diffusion engine is the DDIM inversion x_0 -> x_T (network units, the
    `z` of sample), and uint8 images mean pixel / 255."""
    x8 = ddpm_mnist.dataset.test_x[:3]
    assert x8.dtype == np.uint8
    z = renders.encode(ddpm_mnist, x8)
    assert z.shape == (3, *ddpm_mnist.engine.noise_shape) and z.dtype == np.float32
    direct = ddpm_mnist.engine.invert(torch.as_tensor(x8).float() / 255.0).numpy()
    np.testing.assert_array_equal(z, direct)
    np.testing.assert_array_equal(z, renders.encode(ddpm_mnist, x8.astype(np.float32) / 255.0))
    np.testing.assert_array_equal(z, renders.invert(ddpm_mnist, x8))
    # x_T of a data image looks like noise: unit scale, roughly centred, and not the image
    assert 0.5 < z.std() < 1.5 and abs(z.mean()) < 0.3
    assert np.isfinite(z).all()


def test_decode_of_encode_round_trips_a_data_image_with_ddim_eta0(ddpm_mnist):
    """decode(encode(x)) ~= x: DDIM inversion then DDIM sampling (eta = 0, the same 50
    steps) reconstructs a test image far closer than any other digit is to it."""
    m = ddpm_mnist.config.model
    assert (m.sampler, m.eta, m.sample_steps, m.clip) == ("ddim", 0.0, 50, False)
    x = ddpm_mnist.dataset.test_x[:4].astype(np.float32) / 255.0
    rec = renders.decode(ddpm_mnist, renders.encode(ddpm_mnist, x))
    assert rec.shape == x.shape
    err = np.abs(rec - x)
    assert err.max() < ROUND_TRIP_MAX and err.mean() < ROUND_TRIP_MEAN, (err.max(), err.mean())
    # the reconstruction is this image, not a generic digit: far closer than the others
    others = np.abs(x[:, None] - x[None]).mean(axis=(2, 3, 4))
    assert err.mean(axis=(1, 2, 3)).max() < 0.25 * others[~np.eye(4, dtype=bool)].min()


def test_round_trip_holds_with_x0_clipping_on(ddpm_mnist):
    """With the default clip = True, `sample` clamps the predicted x0 to [-1, 1] at every
    step, which the unclipped DDIM inversion cannot undo (measured before the fix: mean
    |x - x_rec| 0.17, max 1.0 on this fixture). The explorer's decode therefore runs
    `decode_noise`: DDIM, eta 0, no clipping, the exact counterpart of `invert`."""
    e = ddpm_mnist.engine
    cfg = e.config
    e.config = dataclasses.replace(cfg, clip=True)
    try:
        x = ddpm_mnist.dataset.test_x[:4].astype(np.float32) / 255.0
        err = np.abs(renders.decode(ddpm_mnist, renders.encode(ddpm_mnist, x)) - x)
    finally:
        e.config = cfg
    assert err.mean() < ROUND_TRIP_MEAN, err.mean()


def test_decode_of_fresh_noise_is_sampling(ddpm_mnist):
    """decode(z) == engine.decode_noise(z) (DDIM, eta 0, deterministic), and `sample` draws
    z from the seed, so the same seed gives the same images."""
    import torch
    out = renders.sample(ddpm_mnist, seed=5, n=2)
    assert out["z"].shape == (2, 1, 28, 28) and out["samples"].shape == (2, 1, 28, 28)
    np.testing.assert_array_equal(out["samples"], renders.sample(ddpm_mnist, seed=5, n=2)["samples"])
    with torch.no_grad():
        exact = ddpm_mnist.engine.decode_noise(torch.as_tensor(out["z"])).numpy()
    np.testing.assert_array_equal(renders.decode(ddpm_mnist, out["z"]), exact)
    assert 0.0 <= out["samples"].min() and out["samples"].max() <= 1.0


def test_render_dispatches_by_kind_and_restores_training_mode(ddpm_mnist):
    assert renders.render(None, SimpleNamespace(kind="sample", payload={})) is None
    with pytest.raises(ValueError, match="unknown render kind"):
        renders.render(ddpm_mnist, SimpleNamespace(kind="nope", payload={}))
    out = renders.render(ddpm_mnist, SimpleNamespace(kind="sample", payload={"seed": 1, "n": 1}))
    assert out["samples"].shape == (1, 1, 28, 28)
    assert ddpm_mnist.engine.net.training          # back in training mode for the next step
    assert set(renders.RENDERERS) >= {"decode", "sample", "encode", "interpolate", "basis",
                                      "trajectory", "continue", "edit", "invert"}


def test_interpolation_paths():
    a = np.array([3.0, 0.0], np.float32)
    b = np.array([0.0, 3.0], np.float32)
    lin = renders.interpolation_path(a, b, 5, "linear")
    assert lin.shape == (5, 2) and lin.dtype == np.float32
    np.testing.assert_allclose(lin[[0, -1]], [a, b])
    np.testing.assert_allclose(lin[2], (a + b) / 2)
    sph = renders.interpolation_path(a, b, 5, "spherical")
    np.testing.assert_allclose(sph[[0, -1]], [a, b], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(sph, axis=1), 3.0, rtol=1e-6)   # stays on the arc
    # parallel vectors (angle ~0): spherical falls back to linear
    np.testing.assert_allclose(renders.interpolation_path(a, 2 * a, 3, "spherical"),
                               renders.interpolation_path(a, 2 * a, 3, "linear"))
    np.testing.assert_array_equal(renders.interpolation_path(a, b, 1, "linear"), [a])
    with pytest.raises(ValueError, match="interpolation mode"):
        renders.interpolation_path(a, b, 3, "cubic")
    with pytest.raises(ValueError, match="at least 1 step"):
        renders.interpolation_path(a, b, 0, "linear")


def test_the_rendered_path_and_the_explorers_clicked_frame_agree():
    """The render decodes frames along renders.interpolation_path; a click on frame k sets
    the explorer to widgets.kit.interpolate(...)[k]. Same codes, on ordinary ends and on the
    edge cases (opposite ends: sin w ~ 0; a zero end; parallel ends; one step)."""
    from widgets.kit import interpolate
    rng = np.random.default_rng(0)
    a = rng.standard_normal(8).astype(np.float32)
    cases = [(a, rng.standard_normal(8).astype(np.float32)), (a, -a), (a, np.zeros(8, np.float32)),
             (np.zeros(8, np.float32), a), (a, 3 * a), (a, a)]
    for za, zb in cases:
        for mode in ("linear", "spherical"):
            for steps in (1, 2, 7):
                np.testing.assert_allclose(renders.interpolation_path(za, zb, steps, mode),
                                           interpolate(za, zb, steps, mode), rtol=1e-6, atol=1e-6)
    # opposite ends: the straight line through the origin, not a division by sin(pi) ~ 0
    mid = renders.interpolation_path(a, -a, 3, "spherical")[1]
    np.testing.assert_allclose(mid, 0.0, atol=1e-6)


def test_interpolate_between_inverted_images_decodes_the_endpoints(ddpm_mnist):
    """The latent explorer's diffusion path: invert two images, interpolate the noises
    (flat codes, as the explorer panel sends them; decode reshapes to the noise shape)."""
    x = ddpm_mnist.dataset.test_x[:2]
    z = renders.encode(ddpm_mnist, x).reshape(2, -1)
    for mode in ("linear", "spherical"):
        out = renders.interpolate(ddpm_mnist, z[0], z[1], steps=3, mode=mode)
        assert out["z"].shape == (3, 28 * 28) and out["samples"].shape == (3, 1, 28, 28)
        np.testing.assert_allclose(out["samples"][[0, -1]], renders.decode(ddpm_mnist, z),
                                   atol=1e-5)


def test_basis_of_an_engine_without_encode_uses_prior_noise(ddpm_mnist):
    out = renders.basis(ddpm_mnist, n=64, k=4)
    d = 28 * 28
    assert out["mean"].shape == (d,) and out["basis"].shape == (4, d)
    assert out["scales"].shape == (4,) and out["explained"].shape == (4,)
    np.testing.assert_allclose(out["basis"] @ out["basis"].T, np.eye(4), atol=1e-4)
    assert np.all(np.diff(out["scales"]) <= 1e-6) and out["explained"].sum() <= 1.0 + 1e-6


def test_trajectory_sample_mode_ends_at_the_sample(ddpm_mnist):
    out = renders.trajectory(ddpm_mnist, mode="sample", steps=10, seed=4, n=3)
    F = len(out["t"])
    assert F == 11 and out["t"][0] == 1000 and out["t"][-1] == 0
    for k in ("xt", "x0", "eps", "xt_net"):
        assert out[k].shape == (F, 3, 1, 28, 28), k
    assert "field_grid" not in out                          # images: no vector field
    assert (out["mode"], out["sampler"], out["steps"], out["n"]) == ("sample", "ddim", 10, 3)
    # with the config's steps the last frame is exactly sample(seed)
    full = renders.trajectory(ddpm_mnist, mode="sample", steps=50, seed=4, n=3)
    np.testing.assert_array_equal(full["xt"][-1], renders.sample(ddpm_mnist, seed=4, n=3)["samples"])


def test_trajectory_forward_mode_noises_test_images(ddpm_mnist):
    out = renders.trajectory(ddpm_mnist, mode="forward", steps=10, seed=1, n=2)
    F = len(out["t"])
    # the forward process plays from the data (t = 0) to the noise (t = T)
    assert F == 11 and out["t"][0] == 0 and out["t"][-1] == ddpm_mnist.engine.schedule.T
    assert np.all(np.diff(out["t"]) > 0)
    np.testing.assert_array_equal(out["index"], np.arange(F))
    # the truth: the data (the t = 0 frame) and one noise draw, the same at every frame
    np.testing.assert_array_equal(out["x0_true"], np.broadcast_to(out["xt"][0], out["xt"].shape))
    np.testing.assert_array_equal(out["eps_true"][0], out["eps_true"][-1])
    data = ddpm_mnist.dataset.test_x.astype(np.float32) / 255.0
    for img in out["xt"][0]:
        assert np.abs(data - img).reshape(len(data), -1).max(1).min() < 1e-6   # a test image
    assert out["xt"][-1].std() > 0.2                       # t = T: noise (clamped to [0, 1])
    # every frame is still q(x_t | x_0) at its own t: sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
    s = ddpm_mnist.engine.schedule
    for i in (1, F // 2):
        ab = float(s.alpha_bar[int(out["t"][i])])
        x0 = ddpm_mnist.engine.to_net(torch.as_tensor(out["x0_true"][i])).numpy()
        np.testing.assert_allclose(out["xt_net"][i], np.sqrt(ab) * x0 + np.sqrt(1 - ab) * out["eps_true"][i],
                                   atol=1e-4)


def test_forward_mode_shows_the_models_guesses_beside_the_truth(ddpm_mnist):
    """Forward mode once labelled the true x0 and noise "predicted": a barely trained model
    showed perfect digits at t = T. "x0"/"eps" are now what the network says at each x_t."""
    engine = ddpm_mnist.engine
    before = torch.random.get_rng_state()
    out = renders.trajectory(ddpm_mnist, mode="forward", steps=10, seed=1, n=3)
    assert torch.equal(torch.random.get_rng_state(), before)
    F = len(out["t"])
    for k in ("x0", "eps", "x0_true", "eps_true"):
        assert out[k].shape == (F, 3, 1, 28, 28), k
    assert out["eps_mse"].shape == (F, 3)
    i = 4
    t = int(out["t"][i])
    x = torch.as_tensor(out["xt_net"][i])
    with engine._inference():
        eps = engine.eps_fn()(x, torch.full((3,), t, dtype=torch.long))
    np.testing.assert_allclose(out["eps"][i], eps.numpy(), atol=1e-5)
    x0 = engine.to_data(engine.schedule.x0_from_eps(x, t, eps)).numpy()
    np.testing.assert_allclose(out["x0"][i], x0, atol=1e-5)
    # at t = T the model sees almost pure noise: its x0 is far from the truth, and nearer at small t
    # (frames play t = 0 -> T: the last is the noisiest)
    err = np.abs(out["x0"] - out["x0_true"]).mean(axis=(1, 2, 3, 4))
    assert err[-1] > 0.1 and err[1] < err[-1] / 2, err
    mse = ((out["eps"] - out["eps_true"]) ** 2).mean(axis=(2, 3, 4))
    np.testing.assert_allclose(out["eps_mse"][1:], mse[1:], rtol=1e-5)
    assert np.isnan(out["eps_mse"][0]).all()              # t = 0: no noise to guess
    np.testing.assert_array_equal(out["x0"][0], out["x0_true"][0])


def test_continue_from_a_frame_reproduces_the_rest_of_the_trajectory(ddpm_mnist):
    out = renders.trajectory(ddpm_mnist, mode="sample", steps=10, seed=2, n=2)
    i = 4
    cont = renders.continue_trajectory(ddpm_mnist, out["xt_net"][i], start_index=i, steps=10,
                                       seed=2)
    assert list(cont["index"]) == list(out["index"][i:])
    np.testing.assert_allclose(cont["xt"], out["xt"][i:], atol=1e-6)


def test_edit_renoise_and_swap_change_only_the_edited_sample(ddpm_mnist):
    out = renders.trajectory(ddpm_mnist, mode="sample", steps=10, seed=2, n=3)
    i = 5
    common = dict(xt_net=out["xt_net"][i], x0=out["x0"][i], t=int(out["t"][i]), index=1,
                  start_index=i, seed=2, steps=10)
    ren = renders.edit_trajectory(ddpm_mnist, action="renoise", **common)
    np.testing.assert_allclose(ren["xt"][-1][[0, 2]], out["xt"][-1][[0, 2]], atol=1e-5)
    assert np.abs(ren["xt_net"][0][1] - out["xt_net"][i][1]).max() > 0.1
    data = ddpm_mnist.dataset.test_x[7].astype(np.float32) / 255.0
    swp = renders.edit_trajectory(ddpm_mnist, action="swap", data_x=data, **common)
    np.testing.assert_allclose(swp["xt"][-1][[0, 2]], out["xt"][-1][[0, 2]], atol=1e-5)
    # swapping at t = 0 (the final frame) puts the data image itself in place
    last = len(out["t"]) - 1
    at0 = renders.edit_trajectory(ddpm_mnist, xt_net=out["xt_net"][last - 1],
                                  x0=out["x0"][last - 1], t=0, index=1, action="swap",
                                  start_index=last - 1, seed=2, steps=10, data_x=data)
    assert at0["xt_net"].shape[1] == 3
    with pytest.raises(ValueError, match="swap needs a data image"):
        renders.edit_trajectory(ddpm_mnist, action="swap", **common)


def test_points_trajectory_carries_the_noise_field(ddpm_points):
    out = renders.trajectory(ddpm_points, mode="sample", steps=5, seed=0, n=8)
    F = len(out["t"])
    assert out["xt"].shape == (F, 8, 2)
    assert out["field_grid"].shape == (21 * 21, 2)
    assert out["field_vectors"].shape == (F, 21 * 21, 2)
    assert np.all(out["field_vectors"][-1] == 0)           # t = 0: no field
    assert np.abs(out["field_vectors"][0]).max() > 0
    fwd = renders.trajectory(ddpm_points, mode="forward", steps=5, seed=0, n=8)
    assert fwd["field_vectors"].shape == (len(fwd["t"]), 21 * 21, 2)


def test_renders_ask_capabilities_not_classes():
    """An engine without trajectory, encode or invert: the renders say what it cannot do."""
    bare = SimpleNamespace(engine=SimpleNamespace(name="toy", capabilities=frozenset()))
    with pytest.raises(ValueError, match="toy engine has no step-by-step trajectory"):
        renders.trajectory(bare)
    with pytest.raises(ValueError, match="toy engine cannot encode"):
        renders.encode(bare, np.zeros((1, 2), np.float32))


def test_encode_of_an_autoencoder_is_whitened_so_decode_inverts_it():
    """AE: encode gives z = L^-1 (code - m) (the fitted Gaussian's whitening), so
    decode(encode(x)) is the AE's own reconstruction decode(encode(x))."""
    t = Trainer(tiny_mnist_config("ae", steps=10).replace(run={"threads": 1}))
    t.train()
    x = t.dataset.test_x[:3]
    z = renders.encode(t, x)
    assert z.shape == (3, 4)
    xt = torch.as_tensor(x).float() / 255.0
    np.testing.assert_allclose(renders.decode(t, z), t.engine.reconstruct(xt).numpy(), atol=1e-4)
    b = renders.basis(t, n=100, k=2)                         # encodes the training data
    assert b["basis"].shape == (2, 4)
