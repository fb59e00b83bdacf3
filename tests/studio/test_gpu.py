"""Every engine on CUDA (skipped, saying so, on a machine without one): a few steps, samples
and a checkpoint round trip; with two GPUs, torchrun over nccl gives one process's weights."""
from __future__ import annotations

import pytest
import torch

from studio.core.training import Trainer
from tests.studio.dist_worker import EQUIV_CONFIGS, points_config

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device on this machine: the GPU "
                                                 "tests run only where torch sees a GPU")


@needs_cuda
@pytest.mark.parametrize("name", sorted(EQUIV_CONFIGS))
def test_every_engine_trains_and_samples_on_cuda(name, tmp_path):
    engine, model, optim = EQUIV_CONFIGS[name]
    config = points_config(engine, optim=optim, run={"device": "cuda"}, **model)
    trainer = Trainer.create(config, tmp_path / name)
    trainer.train()
    assert trainer.device.type == "cuda"
    assert all(v.device.type == "cuda" for v in trainer.engine.state_dict().values())
    x = trainer.preview()
    assert x.shape[0] == config.run.preview_samples and (x == x).all()
    again = Trainer.load(tmp_path / name, device="cuda")
    for k, v in trainer.engine.state_dict().items():
        assert torch.equal(v, again.engine.state_dict()[k]), k


@pytest.mark.skipif(not CUDA or torch.cuda.device_count() < 2,
                    reason="fewer than 2 CUDA devices on this machine: the nccl test needs two")
def test_two_gpus_over_nccl_train_to_the_weights_of_one(tmp_path):
    from tests.studio.test_distributed import torchrun
    p = torchrun("equiv", str(tmp_path), env={"EQUIV_DEVICE": "cuda"})
    assert p.returncode == 0, p.stderr[-3000:]
    for name, (engine, model, optim) in EQUIV_CONFIGS.items():
        trainer = Trainer(points_config(engine, optim=optim, run={"device": "cuda"}, **model), None)
        trainer.train()
        got = torch.load(tmp_path / f"{name}.pt", weights_only=True, map_location="cuda")
        ref = trainer.engine.state_dict()
        assert max((ref[k].double() - got[k].double()).abs().max().item()
                   for k in ref if ref[k].numel()) < 1e-4, name


@needs_cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_cuda_trains_and_keeps_float32_weights(precision, tmp_path):
    from tests.studio.test_precision import _config
    trainer = Trainer.create(_config("vae", precision).replace(run={"device": "cuda"}),
                             tmp_path / precision)
    assert trainer.train().reason == "finished"
    assert all(v.dtype == torch.float32 for v in trainer.engine.state_dict().values()
               if v.is_floating_point())
    if precision == "fp16":          # the loss scaler's state goes into the checkpoint
        assert "grad_scaler" in trainer.training_state()
