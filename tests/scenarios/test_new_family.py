"""A new model family costs its engine and nothing else: an engine unknown to the studio,
registered only inside this test (2D points, capability "decode" only), trains in the real
window and shows in the gallery and the latent explorer, with no change to studio/ or
widgets/ (issue 15's proof of the seams)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox
from torch import nn

import engines
from engines import Engine, param
from engines.base import make_optimizer
from engines.capabilities import missing_members
from studio.shell.window import MainWindow

from .conftest import WAIT


@dataclass
class DiagonalGaussianConfig:
    init_std: float = param(1.0, "Initial standard deviation of every coordinate.", min=1e-3, max=1e3)


class DiagonalGaussian(nn.Module):
    def __init__(self, dim: int, init_std: float):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(dim))
        self.log_sigma = nn.Parameter(torch.full((dim,), math.log(init_std)))


class DiagonalGaussianEngine(Engine):
    """x = mu + sigma * z, fitted by maximum likelihood: the smallest honest generative model.
    NLL per sample = sum_i log sigma_i + (x_i - mu_i)^2 / (2 sigma_i^2) + const."""

    name = "test-diagonal-gaussian"
    Config = DiagonalGaussianConfig
    family_capabilities = frozenset({"decode"})
    description = "A diagonal Gaussian fitted by maximum likelihood (test-only engine)."

    def __init__(self, config, optim, spec, device):
        super().__init__(config, optim, spec, device)
        self.model = DiagonalGaussian(spec.numel, config.init_std).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), optim)

    def train_step(self, batch):
        m = self.model
        x = batch.x.reshape(len(batch.x), -1)
        nll = (m.log_sigma + (x - m.mu) ** 2 / (2 * torch.exp(2 * m.log_sigma))).sum(1).mean()
        self.opt.zero_grad(set_to_none=True)
        nll.backward()
        self.opt.step()
        return {"loss/total": nll.detach()}

    @property
    def noise_shape(self):
        return (self.spec.numel,)

    def decode(self, z):
        m = self.model
        return (m.mu + torch.exp(m.log_sigma) * z.to(self.device)).reshape(len(z), *self.spec.sample_shape)

    def sample(self, n, *, z=None, labels=None, generator=None):
        z = self.noise(n, generator) if z is None else z
        return self.decode(z)

    def modules(self):
        return {"model": self.model}

    def optimizers(self):
        return {"model": self.opt}


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(engines._REGISTRY, DiagonalGaussianEngine.name, DiagonalGaussianEngine)
    assert not missing_members(DiagonalGaussianEngine)     # it keeps the contract it declares
    return DiagonalGaussianEngine


def test_an_unknown_engine_trains_in_the_window_and_shows_in_gallery_and_explorer(
        qtbot, tmp_path, registered):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("welcome_shown", "1")
    w = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    try:
        combo = w.controls_panel.findChild(QComboBox, "engineCombo")
        names = [combo.itemData(i) or combo.itemText(i) for i in range(combo.count())]
        assert any(registered.name in str(n) for n in names)      # offered like any family
        w.controls_panel.set_config({
            "run": {"seed": 0, "steps": 300, "batch_size": 64, "log_every": 50, "sample_every": 100,
                    "checkpoint_every": 300, "preview_samples": 256, "device": "cpu"},
            "model": {"engine": registered.name, "init_std": 0.1},
            "optim": {"lr": 0.05}})
        assert w.controls_panel.engine() == registered.name
        w.load_data("ring8", {"n": 1024, "n_test": 128})
        qtbot.waitUntil(lambda: w.data_choice[0] == "ring8" and w.browser_dataset is not None
                        and w.browser_dataset.spec.kind == "points", timeout=WAIT)
        w.act_train.trigger()
        qtbot.waitUntil(lambda: w.state == "finished", timeout=WAIT)

        # the gallery shows the fixed-z samples of the last step: a fitted Gaussian's spread
        step, samples = w.gallery.last_samples
        assert step == 300 and samples.shape == (256, 2)
        data = w.browser_dataset.train_x
        assert np.allclose(samples.std(0), data.std(0), rtol=0.25)   # grew from 0.1 to the data's
        assert w.gallery_panel.current_image().size > 0

        # the latent explorer decodes a gallery sample's code to the same point
        w.docks["LatentExplorerPanel"].raise_()
        with qtbot.waitSignal(w.decoded_shown, timeout=WAIT):
            w.gallery_panel.sample_clicked.emit(3)
        assert w.latent_panel.current_image() is not None
        assert w.latent_panel.dim() == 2
        assert {"decode"} <= set(w.run_info.capabilities)
    finally:
        w.close()
