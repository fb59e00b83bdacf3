"""The 2D canvas render (studio.core.renders.canvas) and the latent-grid manifold it draws."""
from __future__ import annotations

import numpy as np
import pytest

from studio.core import renders
from studio.core.metrics import mode_metrics
from studio.core.training import Trainer

from .helpers import tiny_points_config


def test_latent_grid_lines_run_along_the_first_two_coordinates():
    """Rows 0..L-1 vary z_0 at fixed z_1; rows L..2L-1 vary z_1 at fixed z_0; others are 0."""
    g = renders.latent_grid(4, lines=5, points_per_line=7, extent=2.0)
    assert g.shape == (10, 7, 4)
    np.testing.assert_allclose(g[:5, :, 0], np.tile(np.linspace(-2, 2, 7), (5, 1)), atol=1e-6)
    np.testing.assert_allclose(g[:5, :, 1], np.repeat(np.linspace(-2, 2, 5)[:, None], 7, 1), atol=1e-6)
    np.testing.assert_allclose(g[5:, :, 1], np.tile(np.linspace(-2, 2, 7), (5, 1)), atol=1e-6)
    assert not g[..., 2:].any()
    assert renders.latent_grid(1, points_per_line=9).shape == (1, 9, 1)


def test_canvas_frame_for_an_autoencoder_on_ring8():
    """No critic: real and generated points, the manifold (the decoder applied to the latent
    grid) and the PacGAN mode scores of exactly the frame's generated points."""
    t = Trainer(tiny_points_config("ae", steps=5))
    t.train()
    out = renders.canvas(t, n=500, arrows=0)
    assert out["real"].shape == (500, 2) and out["fake"].shape == (500, 2)
    assert "field_values" not in out and "arrows" not in out
    grid = renders.latent_grid(2)
    assert out["manifold"].shape == (grid.shape[0], grid.shape[1], 2)
    direct = renders.decode(t, grid[3])
    np.testing.assert_allclose(out["manifold"][3], direct, rtol=1e-5, atol=1e-5)
    ref = mode_metrics(out["fake"], t.dataset.modes, t.dataset.mode_sigma)
    assert out["mode_scores"]["modes_captured"] == ref["modes_captured"]
    assert out["mode_scores"]["high_quality_fraction"] == pytest.approx(ref["high_quality_fraction"])
    lo, hi = out["bounds"]
    assert np.all(lo < out["real"].min(0)) and np.all(hi > out["real"].max(0))
    # same seed, same frame: frames are comparable while the model trains
    np.testing.assert_array_equal(renders.canvas(t, n=500, arrows=0)["fake"], out["fake"])


def test_canvas_refuses_image_runs():
    from .helpers import tiny_mnist_config
    t = Trainer(tiny_mnist_config("ae", steps=1))
    with pytest.raises(ValueError, match="2D points"):
        renders.canvas(t)


def test_ganspace_basis_recovers_the_direction_the_first_layer_varies_most():
    """GANSpace: PCA of the first layer's features y = W z, then U = lstsq(PCA coords, z).
    For a linear first layer with one dominant singular direction, the first basis vector
    is that right-singular vector of W (up to sign), and it explains most of the variance."""
    import torch
    from studio.core.config import config_from_dict
    cfg = config_from_dict({
        "run": {"seed": 0, "steps": 1, "batch_size": 32, "device": "cpu"},
        "data": {"name": "ring8", "n": 256, "n_test": 64},
        "model": {"engine": "gan", "latent_dim": 6, "g_hidden": 16, "d_hidden": 16, "ema": 0.0,
                  "g_norm": "none"}})
    t = Trainer(cfg)
    lin = t.engine.sampling_generator().net[0]
    with torch.no_grad():
        u, _, vt = torch.linalg.svd(torch.randn(16, 6), full_matrices=False)
        lin.weight.copy_(u @ torch.diag(torch.tensor([10.0, 1, 0.5, 0.3, 0.2, 0.1])) @ vt)
        lin.bias.zero_()
    out = renders.basis(t, n=3000, k=4)
    assert out["basis"].shape == (4, 6)
    cos = abs(float(out["basis"][0] @ vt[0].numpy()))
    assert cos > 0.99, cos
    assert out["explained"][0] > 0.9
