"""The engine host thread (Qt-free): commands in, mailbox out, newest render wins."""
import threading
import time

import numpy as np
import pytest

from studio.core.host import EngineHost
from studio.core.runs import Run

from .helpers import tiny_points_config


class Collector:
    """Drains the host's mailbox the way the GUI timer does, keeping everything seen."""

    def __init__(self, host):
        self.host = host
        self.metrics, self.states, self.errors, self.renders = [], [], [], {}
        self.samples = None
        self.run_changed = 0
        self.evaluation = None

    def drain(self):
        u = self.host.mailbox.drain()
        self.metrics += u.metrics
        if u.state:
            self.states.append(u.state)
        self.errors += u.errors
        self.renders.update(u.renders)
        self.samples = u.samples or self.samples
        self.run_changed += u.run_changed is not None
        self.evaluation = u.evaluation or self.evaluation

    def wait(self, predicate, timeout=30.0):
        tick = threading.Event()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            try:
                if predicate():
                    return
            except (IndexError, AttributeError):   # not there yet (no state, no trainer)
                pass
            tick.wait(0.01)
        raise AssertionError(f"timed out; states {self.states}, errors {self.errors}")


@pytest.fixture
def host():
    h = EngineHost(reserve_cpu_for_gui=False)
    h.start()
    yield h
    h.shutdown(5)


def test_train_pause_step_stop(host, tmp_path):
    c = Collector(host)
    host.new_run(tiny_points_config(steps=10 ** 6), tmp_path / "run")
    c.wait(lambda: c.run_changed and host.trainer is not None and c.states[-1] == "idle"
           and c.samples is not None)
    assert c.samples[1].shape == (16, 2)
    host.train()
    c.wait(lambda: len(c.metrics) >= 3)
    assert c.states[-1] == "running"
    host.pause()
    c.wait(lambda: c.states[-1] == "paused")
    paused_at = host.trainer.step
    host.step(1)
    c.wait(lambda: host.trainer.step == paused_at + 1 and c.states[-1] == "paused")
    host.step(4)
    c.wait(lambda: host.trainer.step == paused_at + 5 and c.states[-1] == "paused")
    host.stop()
    c.wait(lambda: c.states[-1] == "stopped")
    run = Run.open(tmp_path / "run")
    assert run.load_checkpoint().step == paused_at + 5
    assert run.status()["state"] == "stopped"


def test_shutdown_while_training_saves_and_joins_fast(tmp_path):
    host = EngineHost(reserve_cpu_for_gui=False)
    host.start()
    c = Collector(host)
    host.new_run(tiny_points_config(steps=10 ** 6), tmp_path / "run")
    host.train()
    c.wait(lambda: len(c.metrics) >= 2)
    t0 = time.monotonic()
    assert host.shutdown(3.0)
    assert time.monotonic() - t0 < 3.0
    step = Run.open(tmp_path / "run").load_checkpoint().step
    assert step >= 10


def test_newest_render_wins(host, tmp_path):
    c = Collector(host)
    host.new_run(tiny_points_config(steps=10 ** 6), tmp_path / "run")
    c.wait(lambda: host.trainer is not None and c.run_changed)
    host.train()
    c.wait(lambda: len(c.metrics) >= 1)
    stamps = [host.request_render("decode", z=np.full(2, i / 10, np.float32)) for i in range(50)]
    c.wait(lambda: "decode" in c.renders and c.renders["decode"][0] == stamps[-1])
    out = c.renders["decode"][1]
    assert out.shape == (1, 2) and np.isfinite(out).all()
    # the host is still training between renders
    n = len(c.metrics)
    c.wait(lambda: len(c.metrics) > n)


def test_live_learning_rate_applies_mid_run(host, tmp_path):
    c = Collector(host)
    host.new_run(tiny_points_config(steps=10 ** 6), tmp_path / "run")
    host.train()
    c.wait(lambda: len(c.metrics) >= 1)
    host.set_live("optim", "lr", 0.0005)
    c.wait(lambda: host.trainer.engine.optimizers()["opt"].param_groups[0]["lr"] == 0.0005)
    c.wait(lambda: Run.open(tmp_path / "run").config().optim.lr == 0.0005)   # saved for resume


def test_an_exception_on_the_host_marks_the_run_failed_and_keeps_the_host(host, tmp_path):
    c = Collector(host)
    host.new_run(tiny_points_config(steps=10 ** 6), tmp_path / "run")
    c.wait(lambda: host.trainer is not None and c.run_changed)

    def explode(batch):
        raise RuntimeError("boom in train_step")

    host.call(lambda t: setattr(t.engine, "train_step", explode))
    host.train()
    c.wait(lambda: c.states and c.states[-1] == "failed")
    assert any("boom in train_step" in e for e in c.errors)
    assert Run.open(tmp_path / "run").status()["state"] == "failed"
    assert host.is_alive()
    host.new_run(tiny_points_config(steps=30), tmp_path / "run2")
    host.train()
    c.wait(lambda: c.states[-1] == "finished")


def test_train_right_after_a_run_that_could_not_start_reports_one_error(host, tmp_path):
    """The window's Train is new_run + train: when the run cannot start, the user sees why,
    not a second "no run" error on top of it."""
    c = Collector(host)
    (tmp_path / "a-file").write_text("not a folder")
    host.new_run(tiny_points_config(steps=10), tmp_path / "a-file" / "run")
    host.train()
    host.step(1)
    c.wait(lambda: c.states[-1] == "failed" and c.errors)
    handled = threading.Event()
    host.call(lambda t: handled.set())          # a round trip: every command above is handled
    assert handled.wait(30)
    c.drain()
    assert len(c.errors) == 1 and "no run" not in c.errors[0], c.errors
    assert host.trainer is None


def test_evaluate_and_renders_when_paused(host, tmp_path):
    c = Collector(host)
    host.new_run(tiny_points_config(steps=10 ** 6), tmp_path / "run")
    c.wait(lambda: host.trainer is not None and c.run_changed)
    host.evaluate()
    c.wait(lambda: c.evaluation is not None)
    assert "test/elbo" in c.evaluation
    s = host.request_render("basis", n=200, k=2)
    c.wait(lambda: "basis" in c.renders)
    assert c.renders["basis"][0] == s and c.renders["basis"][1]["basis"].shape == (2, 2)
    host.request_render("interpolate", za=np.zeros(2), zb=np.ones(2), steps=5, mode="spherical")
    c.wait(lambda: "interpolate" in c.renders)
    assert c.renders["interpolate"][1]["samples"].shape == (5, 2)


def test_a_pending_slider_decode_lets_the_gui_take_renders_first(host, tmp_path):
    """While an interactive render (a slider's decode) is out, the GUI drains only render
    results: metrics and samples stay in the mailbox for the next full drain."""
    c = Collector(host)
    host.new_run(tiny_points_config(steps=10 ** 6), tmp_path / "run")
    c.wait(lambda: host.trainer is not None and c.run_changed)
    assert not host.interactive_render_pending(10.0)
    host.mailbox.put(lambda u: u.metrics.append({"step": 1, "loss/total": 1.0}))
    host.pause()                        # the host idles; the decode is served on its wake-up
    arrived = threading.Event()         # renders are posted as urgent: wait on that signal
    host.mailbox.on_urgent = arrived.set
    stamp = host.request_render("decode", z=np.zeros(2, np.float32))
    got = None
    while got is None:
        assert arrived.wait(30), "the decode never arrived"
        arrived.clear()
        u = host.mailbox.drain_renders()
        assert not u.metrics and u.samples is None        # only renders come out this way
        got = u.renders.get("decode")
    assert got[0] == stamp
    assert not host.interactive_render_pending(10.0)      # served: nothing pending any more
    rest = host.mailbox.drain()
    assert rest.metrics == [{"step": 1, "loss/total": 1.0}]
    # a non-interactive render (the 2D canvas) never holds plots back
    host.request_render("sample", n=4)
    assert not host.interactive_render_pending(10.0)


def test_mode_records_are_scored_off_the_host_thread_and_in_before_the_state(tmp_path, monkeypatch):
    """The mode-collapse monitor scores snapshots on its own thread (not the host's, so a
    slider's render never waits for it); whoever sees "finished" has every record already."""
    from studio.core.mode_monitor import RunMonitor, history_path, read_history
    from .helpers import tiny_mnist_config
    threads = []
    real = RunMonitor.on_samples
    monkeypatch.setattr(RunMonitor, "on_samples", lambda self, *a: (
        threads.append(threading.current_thread().name), real(self, *a))[1])
    h = EngineHost(reserve_cpu_for_gui=False)
    h.start()
    try:
        records = []
        posted = threading.Event()      # set after every post to the mailbox: wait on that
        put = h.mailbox.put
        h.mailbox.put = lambda fn, urgent=False: (put(fn, urgent), posted.set())
        h.new_run(tiny_mnist_config(steps=20), tmp_path / "run")
        deadline = time.monotonic() + 120
        state = None
        while time.monotonic() < deadline and state != "finished":
            posted.wait(max(0.0, deadline - time.monotonic()))
            posted.clear()
            u = h.mailbox.drain()
            records += [r for r, _x, _n in u.mode_records]
            if u.state == "idle" and h.trainer is not None:
                h.train()
            state = u.state or state
        assert state == "finished"
        assert [r.step for r in records] == [10, 20]
        assert threads and all(n.startswith("mode-monitor") for n in threads)
        assert [r.step for r in read_history(history_path(h.trainer.run.path))] == [10, 20]
    finally:
        h.shutdown(5)
