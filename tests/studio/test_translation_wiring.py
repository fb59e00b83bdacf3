"""The trainer's side of translation (docs/architecture.md, "Data with two sides"): a
translator gets batches with their source side (paired rows aligned, unpaired domains drawn
apart), the gallery's fixed inputs are test-split sources, its held-out L1/PSNR is logged,
`samples_from_run` translates test sources, and a resume continues both samplers exactly.
A tiny translator (tests/studio/tiny_translators.py) registered only in this test stands in
for pix2pix/CycleGAN/SRGAN, so these check the trainer, not an engine."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engines.translation import psnr
from studio.core.config import ConfigError, config_from_dict
from studio.core.training import Trainer, samples_from_run

from .tiny_translators import CopyTranslator, register


@pytest.fixture
def translator(monkeypatch):
    register(monkeypatch, CopyTranslator)
    return CopyTranslator


def _config(data: str, engine: str = CopyTranslator.name, steps: int = 6, **data_opts):
    model = {"engine": engine}
    if engine == "vae":
        model.update(arch="mlp", latent_dim=2)
    return config_from_dict({
        "run": {"seed": 3, "steps": steps, "batch_size": 8, "log_every": 2, "sample_every": 3,
                "checkpoint_every": 3, "preview_samples": 5, "device": "cpu"},
        "data": {"name": data, "limit": 64, **data_opts},
        "model": model, "optim": {"lr": 1e-2}})


def _rows(images: torch.Tensor, pool: np.ndarray) -> list[int]:
    """Where each image of `images` sits in the uint8 array `pool`."""
    flat = pool.reshape(len(pool), -1).astype(np.float32) / 255.0
    out = []
    for im in images.reshape(len(images), -1).numpy():
        hits = np.flatnonzero(np.abs(flat - im).max(1) < 1e-6)
        assert len(hits) >= 1
        out.append(int(hits[0]))
    return out


def test_paired_batches_carry_each_targets_own_source(translator):
    t = Trainer(_config("mnist-lowres", factor=2))
    ds = t.dataset
    assert t.two_sided and t.train_data.x2 is not None
    for _ in range(3):
        b = t.next_batch()
        assert b.x.shape == (8, 1, 28, 28) and b.x2.shape == (8, 1, 14, 14)
        rows = _rows(b.x, ds.train_x)
        # x2[i] is the 2x2 average pooling of x[i] (the pair, not a neighbour)
        expect = torch.as_tensor(ds.train_x2[rows]).float() / 255.0
        assert torch.equal(b.x2, expect)
        assert torch.equal(b.y, b.y2)


def test_unpaired_domains_are_drawn_apart_and_the_gallery_shows_test_sources(translator):
    t = Trainer(_config("mnist-thin-thick"))
    ds = t.dataset
    b = t.next_batch()
    rows_x, rows_x2 = _rows(b.x, ds.train_x), _rows(b.x2, ds.train_x2)
    assert rows_x != rows_x2            # two independent shuffles
    # the fixed gallery inputs: the first preview_samples source images of the test split
    assert torch.equal(t.eval_z, torch.as_tensor(ds.test_x2[:5]).float() / 255.0)
    out = t.preview()
    assert out.shape == (5, 1, 28, 28) and 0.0 <= out.min() and out.max() <= 1.0


def test_a_one_sided_engine_on_two_sided_data_sees_only_the_target(translator):
    t = Trainer(_config("mnist-edges", engine="vae"))
    assert not t.two_sided and t.train_data.x2 is None
    assert t.next_batch().x2 is None


def test_a_translator_on_one_sided_data_is_refused_with_the_sets_it_needs(translator):
    with pytest.raises(ConfigError, match="two-sided set.*mnist-edges"):
        Trainer(_config("mnist"))


def test_held_out_curve_is_the_paired_l1_and_psnr(translator, tmp_path):
    t = Trainer.create(_config("mnist-edges"), tmp_path / "r")
    t.train()
    records = t.run.read_metrics()
    held = [r for r in records if "test/l1" in r]
    assert held and all("test/psnr" in r for r in held)
    # the logged value is the engine's translation of the first 512 test sources
    x2 = torch.as_tensor(t.dataset.test_x2[:512]).float() / 255.0
    x = torch.as_tensor(t.dataset.test_x[:512]).float() / 255.0
    out = t.engine.translate(x2)
    assert held[-1]["test/l1"] == pytest.approx(float((out - x).abs().mean()), rel=1e-4)
    assert held[-1]["test/psnr"] == pytest.approx(float(psnr(out, x).mean()), rel=1e-4)


def test_samples_from_a_translator_run_translate_test_sources(translator, tmp_path):
    Trainer.create(_config("mnist-edges"), tmp_path / "r").train()
    out, t = samples_from_run(tmp_path / "r", 7, seed=1)
    assert out.shape == (7, 1, 28, 28)
    g = torch.Generator().manual_seed(1)
    idx = torch.randperm(len(t.dataset.test_x2), generator=g)[:7]
    src = torch.as_tensor(t.dataset.test_x2[idx.numpy()]).float() / 255.0
    assert np.allclose(out, t.engine.translate(src).numpy(), atol=1e-6)


@pytest.mark.parametrize("data", ["mnist-edges", "mnist-thin-thick"])
def test_resume_continues_both_sides_exactly(translator, tmp_path, data):
    a = Trainer.create(_config(data, steps=12), tmp_path / "a")
    a.train()
    b = Trainer.create(_config(data, steps=12), tmp_path / "b")
    b.train(until=6)
    del b
    b = Trainer.resume(tmp_path / "b")
    b.train()
    for k, v in a.engine.state_dict().items():
        assert torch.equal(v, b.engine.state_dict()[k]), k
    assert b.sampler.state()["main"]["pos"] == a.sampler.state()["main"]["pos"]
