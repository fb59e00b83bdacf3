"""[run] precision: bf16 autocast on the CPU for every engine (the steps run under autocast,
the weights and checkpoints stay float32, training goes on finite), fp16 refused off CUDA with
a message naming what works, and every engine's optimisation step goes through the one
backward_and_step that knows the gradient scaler."""
from __future__ import annotations

import pytest
import torch

from studio.core.config import ConfigError, config_from_dict
from studio.core.training import Trainer

ENGINES = {
    "ae": {"arch": "mlp", "latent_dim": 4},
    "vae": {"arch": "mlp", "latent_dim": 4},
    "gan": {"arch": "mlp", "latent_dim": 8},
    "ddpm": {"timesteps": 20, "sample_steps": 2, "channels": 8, "levels": 1},
    "flow": {"levels": 1, "steps": 2, "hidden": 8},
}


def _config(engine: str, precision: str, steps: int = 3):
    return config_from_dict({
        "run": {"seed": 0, "steps": steps, "batch_size": 8, "log_every": 1, "sample_every": 100,
                "checkpoint_every": 100, "preview_samples": 4, "device": "cpu", "threads": 1,
                "precision": precision},
        "data": {"name": "mnist", "limit": 64},
        "model": {"engine": engine, **ENGINES[engine]},
        "optim": {"lr": 1e-3},
    })


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_bf16_steps_autocast_and_keep_float32_weights(engine, tmp_path):
    trainer = Trainer.create(_config(engine, "bf16"), tmp_path / "run")
    seen = []
    step = trainer.engine.train_step

    def spy(batch):
        seen.append(torch.is_autocast_enabled("cpu") and
                    torch.get_autocast_dtype("cpu") == torch.bfloat16)
        return step(batch)

    trainer.engine.train_step = spy
    result = trainer.train()
    assert result.reason == "finished" and seen and all(seen)
    assert all(torch.isfinite(torch.tensor(v)) for v in trainer.latest.values())
    weights = trainer.engine.state_dict()
    assert all(v.dtype == torch.float32 for v in weights.values() if v.is_floating_point())
    again = Trainer.load(tmp_path / "run")       # the checkpoint reads back as float32
    assert again.step == 3 and again.config.run.precision == "bf16"


def test_fp32_steps_do_not_autocast(tmp_path):
    trainer = Trainer(_config("vae", "fp32", steps=1))
    seen = []
    step = trainer.engine.train_step
    trainer.engine.train_step = lambda b: (seen.append(torch.is_autocast_enabled("cpu")), step(b))[1]
    trainer.train()
    assert seen == [False] and trainer.engine.grad_scaler is None


def test_fp16_off_cuda_is_refused_naming_what_works():
    with pytest.raises(ConfigError, match="fp16.*CUDA.*'bf16' or 'fp32'"):
        Trainer(_config("vae", "fp16"))


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="precision"):
        _config("vae", "fp8")


def test_every_engine_steps_through_backward_and_step(monkeypatch):
    """The gradient scaler of fp16 only works if no engine calls backward/step around it."""
    from engines.base import Engine
    calls = []
    real = Engine.backward_and_step

    def counting(self, loss, opt, params, **kw):
        calls.append(type(self).__name__)
        return real(self, loss, opt, params, **kw)

    monkeypatch.setattr(Engine, "backward_and_step", counting)
    for engine in sorted(ENGINES):
        calls.clear()
        Trainer(_config(engine, "fp32", steps=1)).train()
        assert calls, f"{engine} does not step through Engine.backward_and_step"
