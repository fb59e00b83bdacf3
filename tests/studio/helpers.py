"""Tiny, fast configs shared by the studio tests."""
from studio.core.config import config_from_dict


def tiny_points_config(engine="vae", steps=40, **model):
    model_defaults = {"vae": {"decoder": "gaussian", "latent_dim": 2},
                      "ae": {"latent_dim": 2}}[engine]
    return config_from_dict({
        "run": {"seed": 1, "steps": steps, "batch_size": 32, "log_every": 5, "sample_every": 20,
                "checkpoint_every": 20, "preview_samples": 16, "device": "cpu"},
        "data": {"name": "ring8", "n": 512, "n_test": 256},
        "model": {"engine": engine, **model_defaults, **model},
        "optim": {"lr": 1e-3},
    })


def tiny_mnist_config(engine="vae", steps=20, **model):
    return config_from_dict({
        "run": {"seed": 2, "steps": steps, "batch_size": 16, "log_every": 5, "sample_every": 10,
                "checkpoint_every": 10, "preview_samples": 9, "device": "cpu"},
        "data": {"name": "mnist", "limit": 256},
        "model": {"engine": engine, "arch": "mlp", "latent_dim": 4, **model},
        "optim": {"lr": 1e-3},
    })
