"""The controllers of the existing panels with a flow, on a fake session: the gallery's
temperature (a "tempered" render at once, the live value once the slider rests, through
Session.set_live_value), and the live plots' NLL grouping."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from studio.core.snapshot import RunSnapshot
from studio.shell.controllers.gallery import LIVE_VALUE_DELAY_MS, GalleryController
from studio.shell.controllers.plots import nll_key_groups
from studio.shell.session import RenderRouter
from widgets.sample_gallery import SampleGalleryPanel


def snapshot(caps, kind="images", temperature=1.0) -> RunSnapshot:
    model = SimpleNamespace(temperature=temperature)
    return RunSnapshot(path=None, engine="flow", data="mnist", config=SimpleNamespace(model=model),
                       device="cpu", threads=1, step=20, total=20, capabilities=frozenset(caps),
                       data_kind=kind, sample_shape=(1, 28, 28) if kind == "images" else (2,),
                       num_classes=10, class_names=tuple("0123456789"), latent_dim=784,
                       eval_z=np.zeros((9, 784), np.float32))


class FakeHost:
    def __init__(self):
        self.renders: list[tuple[str, dict]] = []

    def request_render(self, kind, **payload):
        self.renders.append((kind, payload))
        return len(self.renders)


class FakeSession:
    def __init__(self):
        self.host = FakeHost()
        self.renders = RenderRouter()
        self.snapshot = None
        self.live: list[tuple[str, str, float]] = []

    def set_live_value(self, section, key, value):
        self.live.append((section, key, value))


@pytest.fixture
def gallery(qtbot):
    panel = SampleGalleryPanel()
    qtbot.addWidget(panel)
    session = FakeSession()
    return session, panel, GalleryController(session, panel)


def test_the_slider_shows_for_engines_with_a_temperature_only(gallery):
    session, panel, c = gallery
    session.snapshot = snapshot({"encode", "decode", "log_prob", "temperature"}, temperature=0.8)
    c.on_run_opened(session.snapshot)
    assert panel.temperature() == pytest.approx(0.8) and c.temperature == pytest.approx(0.8)
    session.snapshot = snapshot({"decode", "critic"})
    c.on_run_opened(session.snapshot)
    assert panel.temperature() is None and c.temperature is None


def test_moving_t_renders_at_once_and_sends_the_live_value_when_it_rests(gallery, qtbot):
    session, panel, c = gallery
    session.snapshot = snapshot({"decode", "temperature"})
    c.on_run_opened(session.snapshot)
    for t in (0.9, 0.8, 0.7):                     # a drag: a render per position ...
        panel.move_temperature(t)
    assert [k for k, _ in session.host.renders] == ["tempered"] * 3
    assert session.host.renders[-1][1] == {"temperature": pytest.approx(0.7)}
    assert session.live == []                     # ... and one live value once it rests
    qtbot.waitUntil(lambda: session.live == [("model", "temperature", pytest.approx(0.7))],
                    timeout=LIVE_VALUE_DELAY_MS + 2000)
    # the render's result is the grid on screen, captioned with its T
    samples = np.random.default_rng(0).random((9, 1, 28, 28)).astype(np.float32)
    session.renders.deliver("tempered", 3, {"samples": samples, "temperature": 0.7, "step": 20})
    assert panel.title() == "Step 20 - 9 samples (fixed z, T = 0.70)"
    assert c.last_samples[0] == 20 and c.last_samples[1] is samples
    # the trainer's next snapshot samples at the run's T: captioned so
    c.on_samples(40, samples)
    assert panel.title() == "Step 40 - 9 samples (fixed z, T = 0.70)"


def test_nll_key_groups_name_the_unit():
    img = nll_key_groups(snapshot({"log_prob"}, kind="images"))
    assert img["loss/total"] == ("NLL (bits/dim)", "train")
    assert img["test/bits_per_dim"] == ("NLL (bits/dim)", "test")
    pts = nll_key_groups(snapshot({"log_prob"}, kind="points"))
    assert pts["test/nll"] == ("NLL (nats)", "test")
    assert nll_key_groups(snapshot({"decode", "elbo"})) == {}
