"""The translation view's controller on a fake session: it shows only for a run with
"translate" on two-sided data, asks for the renders of the tab on screen with at most one
request of each kind in flight (a fast drawing sends its newest state when the previous
translation is back), follows training through sample snapshots (no per-step signal),
carries the direction switch, and hands images picked in the data set browser to the strip."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from studio.core.snapshot import RunSnapshot
from studio.shell.controllers.translation import TranslationController, UNAVAILABLE
from studio.shell.session import RenderRouter
from widgets.translation_view import TranslationViewPanel
from widgets.translation_view.fakes import fake_curve, fake_drawn, fake_probe, fake_strip


class FakeBus(QObject):
    error_raised = Signal(str)


class FakeHost:
    def __init__(self):
        self.renders: list[tuple[str, dict]] = []

    def request_render(self, kind, **payload):
        self.renders.append((kind, payload))
        return len(self.renders)


class FakeSession:
    def __init__(self):
        self.host, self.bus, self.renders = FakeHost(), FakeBus(), RenderRouter()
        self.snapshot = None
        self.raised: list[str] = []

    def raise_panel(self, name):
        self.raised.append(name)


def dataset(n_src=50, n_tgt=60, pairing="unpaired"):
    return SimpleNamespace(two_sided=True, sides=("thin", "thick"), pairing=pairing,
                           spec=SimpleNamespace(source_shape=(1, 28, 28)),
                           test_x2=np.zeros((n_src, 1, 28, 28), np.uint8),
                           test_x=np.zeros((n_tgt, 1, 28, 28), np.uint8))


def snapshot(caps, ds="default") -> RunSnapshot:
    return RunSnapshot(path=None, engine="cyclegan", data="mnist-thin-thick", config=None,
                       device="cpu", threads=1, step=10, total=100, capabilities=frozenset(caps),
                       data_kind="images", sample_shape=(1, 28, 28), num_classes=10,
                       class_names=tuple("0123456789"), latent_dim=784,
                       eval_z=np.zeros((4, 784), np.float32),
                       dataset=dataset() if ds == "default" else ds)


@pytest.fixture
def wired(qtbot):
    panel = TranslationViewPanel()
    qtbot.addWidget(panel)
    panel.resize(660, 720)
    panel.show()
    qtbot.waitExposed(panel)
    session = FakeSession()
    c = TranslationController(session, panel)
    return session, panel, c


def open_run(session, c, caps):
    session.snapshot = snapshot(caps)
    c.on_run_opened(session.snapshot)


def kinds(session):
    return [k for k, _ in session.host.renders]


def test_only_translators_on_two_sided_data(wired):
    session, panel, c = wired
    open_run(session, c, {"decode", "encode"})
    assert panel.message() == UNAVAILABLE and session.host.renders == []
    assert session.raised == []                          # another family's run: left alone
    session.snapshot = snapshot({"translate"}, ds=None)
    c.on_run_opened(session.snapshot)
    assert panel.message() == UNAVAILABLE and session.host.renders == []


def test_the_strip_is_asked_once_in_flight_and_again_after_a_snapshot(wired):
    session, panel, c = wired
    open_run(session, c, {"translate", "translate_back"})
    assert session.raised == ["TranslationViewPanel"]      # a translator's run: its view
    assert session.host.renders == [("translation_strip", {"split": "test", "indices": None,
                                                           "start": 0, "n": 6, "direction": "ab"})]
    c.on_samples(20, np.zeros((4, 1, 28, 28)))            # the model changed ...
    assert kinds(session) == ["translation_strip"]         # ... but one is in flight
    session.renders.deliver("translation_strip", 1, fake_strip(back=True, paired=False))
    assert panel.strip.result() is not None
    assert kinds(session) == ["translation_strip"] * 2     # then the newer model's strip
    session.renders.deliver("translation_strip", 2, fake_strip(back=True, paired=False))
    assert len(session.host.renders) == 2                  # nothing new: nothing asked
    panel.add_pick(9)                                      # a browser pick goes to the strip
    assert session.host.renders[-1] == ("translation_strip", {
        "split": "train", "indices": [9], "start": 0, "n": 1, "direction": "ab"})


def test_a_drawing_keeps_one_request_in_flight_and_sends_its_newest_state(wired):
    session, panel, c = wired
    open_run(session, c, {"translate"})
    session.renders.deliver("translation_strip", 1, fake_strip())
    panel.set_view("draw")
    assert kinds(session) == ["translation_strip"]         # nothing drawn yet: nothing asked
    canvas = panel.draw.canvas
    img = np.zeros((28, 28), np.float32)
    for i in range(3):                                    # three strokes, quickly
        img[5 + i, 5:20] = 1.0
        canvas.set_image(img)
    draws = [p for k, p in session.host.renders if k == "translation_drawn"]
    assert len(draws) == 1 and draws[0]["image"][5, 5] == 1 and draws[0]["image"][7, 5] == 0
    session.renders.deliver("translation_drawn", 2, fake_drawn(draws[0]["image"]))
    draws = [p for k, p in session.host.renders if k == "translation_drawn"]
    assert len(draws) == 2 and np.array_equal(draws[1]["image"], img)
    assert panel.draw.result() is not None
    session.renders.deliver("translation_drawn", 3, fake_drawn(img))
    c.on_samples(30, np.zeros((4, 1, 28, 28)))            # training goes on: drawn again
    assert kinds(session)[-1] == "translation_drawn"
    assert kinds(session).count("translation_strip") == 1  # the strip is not on screen


def test_the_probe_tab_asks_for_the_images_and_the_curve_and_follows_the_direction(wired):
    session, panel, c = wired
    open_run(session, c, {"translate", "translate_back"})
    session.renders.deliver("translation_strip", 1, fake_strip(back=True, paired=False))
    panel.set_view("probe")
    assert kinds(session)[1:] == ["translation_probe", "translation_probe_curve"]
    assert session.host.renders[1][1] == {"index": 0, "amplitude": 0.05, "seed": 0,
                                          "change": "pixels", "direction": "ab"}
    session.renders.deliver("translation_probe", 2, fake_probe())
    session.renders.deliver("translation_probe_curve", 3, fake_curve())
    assert panel.probe.probe() is not None and panel.probe.curve() is not None
    panel.probe.set_amplitude(0.1)
    assert session.host.renders[-1] == ("translation_probe", {
        "index": 0, "amplitude": 0.1, "seed": 0, "change": "pixels", "direction": "ab"})
    panel.set_direction("ba")                               # everything again, the other way
    assert [p["direction"] for _, p in session.host.renders[-2:]] == ["ba", "ba"]
    stale = {**fake_probe(), "direction": "ab"}
    session.renders.deliver("translation_probe", len(session.host.renders) - 1, stale)
    assert panel.probe.probe() is None                     # asked before the switch: not shown


def test_browser_picks_go_to_the_strip_in_the_direction_their_domain_allows(wired):
    """Paired: pick i is pair i (its source is translated). Unpaired: a source-domain pick
    goes X -> Y; a target-domain pick switches a two-way translator to Y -> X, and a one-way
    translator cannot take it (a message, no request)."""
    session, panel, c = wired

    def answer():                                        # the host answers the last request
        stamp = len(session.host.renders)
        kind, payload = session.host.renders[-1]
        session.renders.deliver(kind, stamp, {**fake_strip(), "direction": payload["direction"]})

    session.snapshot = snapshot({"translate"})
    session.snapshot.dataset.pairing = "paired"
    c.on_run_opened(session.snapshot)
    answer()
    c.pick_image(4)
    assert session.host.renders[-1][1]["indices"] == [4]
    assert session.host.renders[-1][1]["direction"] == "ab"
    open_run(session, c, {"translate"})                  # unpaired, one way
    n = len(session.host.renders)
    c.pick_image(4)
    assert len(session.host.renders) == n and "target domain" in panel.status_text()
    c.pick_image(2, "source")
    answer()
    assert session.host.renders[-1][1]["indices"] == [2]
    assert session.host.renders[-1][1]["direction"] == "ab"
    open_run(session, c, {"translate", "translate_back"})
    answer()
    c.pick_image(7)
    assert panel.direction() == "ba"
    answer()                                             # the test images of Y -> X first
    assert session.host.renders[-1] == ("translation_strip", {
        "split": "train", "indices": [7], "start": 0, "n": 1, "direction": "ba"})
    answer()
    panel.set_direction("ab")                            # back to X -> Y: the Y picks go
    assert panel.strip.picks() == [] and session.host.renders[-1][1]["split"] == "test"


def test_a_failed_render_no_longer_blocks_the_next(wired):
    session, panel, c = wired
    open_run(session, c, {"translate"})
    session.bus.error_raised.emit("render translation_strip failed: boom")
    assert "failed" in panel.status_text() and c.queue.in_flight == {}
    panel.strip.new_inputs()
    assert kinds(session) == ["translation_strip"] * 2
