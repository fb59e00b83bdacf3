"""studio.core.renders.codes: the AE/VAE codes figure (test codes in 2D, coloured by class) and
inputs beside their reconstructions, for widgets/codes_view.py."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from studio.core import renders
from studio.core.training import Trainer

from .helpers import tiny_mnist_config, tiny_points_config


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def trainer(engine, **model):
    t = Trainer(tiny_mnist_config(engine, steps=10, **model).replace(run={"threads": 1}))
    t.train()
    return t


@pytest.fixture(scope="module")
def vae():
    return trainer("vae")


def test_codes_of_test_images_in_their_first_two_principal_directions(vae):
    t = vae
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    r = renders.render(t, SimpleNamespace(kind="codes", payload={"n": 120, "pairs": 8}))
    assert torch.equal(torch.get_rng_state(), torch_state)              # no global RNG drawn
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()
    ds = t.dataset
    idx = r["index"]
    assert len(idx) == len(set(idx.tolist())) == 120 and idx.max() < len(ds.test_x)
    assert r["step"] == t.step and r["latent_dim"] == 4
    np.testing.assert_array_equal(r["thumbs"], ds.test_x[idx])           # uint8, as stored
    np.testing.assert_array_equal(r["labels"], ds.test_y[idx])
    assert r["class_names"] == [str(k) for k in range(10)]
    # the 2D view is the PCA of the posterior means: centred, uncorrelated, the top-2 variance
    mu = t.engine.encode(torch.as_tensor(ds.test_x[idx], dtype=torch.float32) / 255).numpy()
    xy = r["xy"].astype(np.float64)
    assert r["xy"].shape == (120, 2) and r["xy"].dtype == np.float32
    np.testing.assert_allclose(xy.mean(0), 0, atol=1e-4)
    cov = np.cov(xy.T)
    assert abs(cov[0, 1]) < 1e-4 * cov[0, 0] + 1e-7 and cov[0, 0] >= cov[1, 1]
    eig = np.sort(np.linalg.eigvalsh(np.cov(mu.T)))[::-1]
    np.testing.assert_allclose(np.diag(cov), eig[:2], rtol=1e-3)
    shares = eig[:2] / eig.sum()
    assert r["axes"] == (f"PC1 ({100 * shares[0]:.0f}% of variance)",
                         f"PC2 ({100 * shares[1]:.0f}% of variance)")
    # inputs beside reconstructions; z is the explorer's code of each point
    np.testing.assert_allclose(r["inputs"], ds.test_x[idx[:8]] / 255.0, atol=1e-6)
    assert r["reconstructions"].shape == (8, 1, 28, 28) and r["reconstructions"].dtype == np.float32
    np.testing.assert_allclose(r["reconstructions"], renders.decode(t, r["z"][:8]), atol=1e-5)
    assert r["z"].shape == (120, 4)
    # seeded: the same request gives the same figure
    again = renders.codes(t, n=120, pairs=8)
    np.testing.assert_array_equal(again["index"], idx)
    np.testing.assert_array_equal(again["xy"], r["xy"])


def test_two_dimensional_codes_are_shown_as_they_are():
    t = trainer("ae", latent_dim=2)
    r = renders.codes(t, n=50, pairs=4, seed=1)
    codes = t.engine.encode(torch.as_tensor(t.dataset.test_x[r["index"]], dtype=torch.float32) / 255)
    np.testing.assert_allclose(r["xy"], codes.numpy(), atol=1e-6)
    assert r["axes"] == ("z1", "z2")
    # the AE's explorer code is whitened: decoding it still reconstructs
    np.testing.assert_allclose(r["reconstructions"], renders.decode(t, r["z"][:4]), atol=1e-4)
    assert len(renders.codes(t, n=10_000_000)["index"]) == len(t.dataset.test_x)


def test_models_without_an_encoder_or_images_are_refused():
    gan = Trainer(tiny_mnist_config("gan").replace(run={"threads": 1}))
    with pytest.raises(ValueError, match="encoder"):
        renders.codes(gan)
    points = Trainer(tiny_points_config("vae").replace(run={"threads": 1}))
    with pytest.raises(ValueError, match="images"):
        renders.codes(points)
