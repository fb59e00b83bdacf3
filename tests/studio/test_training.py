"""The shared training loop: exact resume, non-finite handling, metrics and snapshots."""
import json
import math

import numpy as np
import pytest
import torch

from studio.core.callbacks import Callback, Callbacks, ProgressReporter, SnapshotWriter
from studio.core.runs import Run
from studio.core.training import Trainer

from .helpers import tiny_mnist_config, tiny_points_config


class Recorder(Callback):
    """Every hook appended to `events` as (hook, step, ...); optional functions per hook."""

    def __init__(self, **fns):
        self.events, self.fns = [], fns

    def on_train_start(self, trainer, target):
        self.events.append(("start", trainer.step, target))

    def on_step_end(self, trainer, step):
        self.events.append(("step", step))

    def on_log(self, trainer, record):
        self.events.append(("log", record["step"]))
        if "on_log" in self.fns:
            self.fns["on_log"](record)

    def on_snapshot(self, trainer, step, samples):
        self.events.append(("snapshot", step))
        if "on_snapshot" in self.fns:
            self.fns["on_snapshot"](step, samples)

    def on_checkpoint(self, trainer, step):
        self.events.append(("checkpoint", step))

    def on_end(self, trainer, result):
        self.events.append(("end", result.step, result.reason))


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.engine.state_dict().items()}


@pytest.mark.parametrize("make_config", [tiny_points_config, tiny_mnist_config])
@pytest.mark.parametrize("engine", ["ae", "vae"])
def test_resume_is_bit_exact(tmp_path, make_config, engine):
    """N steps, save, resume in a fresh Trainer, N more == 2N straight, bit for bit."""
    n = 15   # deliberately not a multiple of log/sample/checkpoint intervals
    cfg = make_config(engine, steps=2 * n)
    straight = Trainer.create(cfg, tmp_path / "straight")
    straight.train()

    first = Trainer.create(cfg, tmp_path / "split")
    first.train(until=n)
    del first
    second = Trainer.resume(tmp_path / "split")
    assert second.step == n
    second.train()

    a, b = _weights(straight), _weights(second)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    sa = straight.engine.optim_state_dict()["opt"]["state"]
    sb = second.engine.optim_state_dict()["opt"]["state"]
    for i in sa:
        for key in sa[i]:
            assert torch.equal(torch.as_tensor(sa[i][key]), torch.as_tensor(sb[i][key]))


def test_non_finite_loss_pauses_and_keeps_last_good_checkpoint(tmp_path):
    trainer = Trainer.create(tiny_points_config(steps=60), tmp_path / "run")
    real_step = trainer.engine.train_step

    def poisoned(batch):
        out = real_step(batch)
        if trainer.step >= 27:   # injected blow-up after the step-20 checkpoint
            with torch.no_grad():
                for m in trainer.engine.modules().values():
                    for p in m.parameters():
                        p.fill_(float("nan"))
            out = {**out, "loss/total": torch.tensor(float("nan"))}
        return out

    trainer.engine.train_step = poisoned
    result = trainer.train()
    assert result.reason == "nonfinite"
    assert "loss/total" in result.message
    assert trainer.step == 20
    run = Run.open(tmp_path / "run")
    assert run.status()["state"] == "paused"
    assert "non-finite" in run.status()["message"]
    # the engine in memory was restored, and the checkpoint on disk is the good one
    for k, v in trainer.engine.state_dict().items():
        assert torch.isfinite(v).all(), k
    ckpt = run.load_checkpoint()
    assert ckpt.step == 20 and all(torch.isfinite(v).all() for v in ckpt.weights.values())
    # no metric line of the poisoned steps survives, and the run can continue
    assert max(r["step"] for r in run.read_metrics()) <= 20
    trainer.engine.train_step = real_step
    assert trainer.train().reason == "finished"
    assert trainer.step == 60


def test_metrics_are_read_once_per_tick_and_logged(tmp_path):
    cfg = tiny_points_config(steps=20)
    seen = []
    trainer = Trainer.create(cfg, tmp_path / "run")
    trainer.train(callbacks=[Recorder(on_log=lambda r: seen.append((r["step"], r)))])
    assert [s for s, _ in seen] == [5, 10, 15, 20]
    for _, m in seen:
        assert {"loss/total", "loss/recon", "loss/kl", "perf/step_ms"} <= set(m)
        assert all(math.isfinite(v) for v in m.values())
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [5, 10, 15, 20]


def test_previews_do_not_disturb_training_and_use_fixed_z(tmp_path):
    cfg = tiny_points_config(steps=10)
    a = Trainer(cfg)
    p1 = a.preview()
    a.train()
    wa = _weights(a)
    b = Trainer(cfg)          # re-seeds the global RNG exactly as `a` did
    assert np.array_equal(b.preview(), p1)   # same fixed z, same initial weights
    for _ in range(3):
        b.preview()
        b.train_one_step()
    b.train()
    for k, v in wa.items():
        assert torch.equal(v, b.engine.state_dict()[k]), k
    assert p1.shape == (16, 2)
    assert not np.array_equal(b.preview(), p1)   # training moved the samples


def test_snapshots_written_for_images_and_points(tmp_path):
    t = Trainer.create(tiny_mnist_config(steps=20), tmp_path / "img")
    got = []
    t.train(callbacks=[Recorder(on_snapshot=lambda s, x: got.append((s, x.shape)))])
    assert got == [(10, (9, 1, 28, 28)), (20, (9, 1, 28, 28))]
    assert [s for s, _ in t.run.snapshots()] == [10, 20]
    p = Trainer.create(tiny_points_config(steps=20), tmp_path / "pts")
    p.train()
    snaps = p.run.snapshots()
    assert [s for s, _ in snaps] == [10, 20]     # 10: an early snapshot before sample_every
    assert np.load(snaps[-1][1], allow_pickle=False).shape == (16, 2)


def test_abort_saves_and_marks_stopped(tmp_path):
    t = Trainer.create(tiny_points_config(steps=100), tmp_path / "run")
    result = t.train(should_abort=lambda: t.step >= 7)
    assert result.reason == "aborted" and result.step == 7
    run = Run.open(tmp_path / "run")
    assert run.status()["state"] == "stopped"
    assert run.load_checkpoint().step == 7


def test_learning_rate_changes_mid_run(tmp_path):
    t = Trainer.create(tiny_points_config(steps=10), tmp_path / "run")
    t.train(until=5)
    assert t.apply_live("optim", "lr", 0.0) == (1e-3, 0.0)      # the host's path
    t.record_live_changes({"optim.lr": (1e-3, 0.0)})
    before = _weights(t)
    t.train()
    after = _weights(t)
    params = [k for k in before if not k.startswith("extra.")]
    assert all(torch.equal(before[k], after[k]) for k in params)
    t2 = Trainer.resume(tmp_path / "run")
    assert t2.engine.optimizers()["opt"].param_groups[0]["lr"] == 0.0
    change = json.loads((tmp_path / "run" / "config_changes.jsonl").read_text())
    assert change["step"] == 5 and change["changes"] == {"optim.lr": {"from": 1e-3, "to": 0.0}}


def test_training_time_counts_the_session_under_way(tmp_path):
    """metrics.jsonl "time" grows within one train() call, and a checkpoint saved inside the
    loop stores the time trained so far (it used to store 0 until train() returned)."""
    from studio.core.runs import Run
    from .helpers import tiny_points_config
    cfg = tiny_points_config("ae", steps=40).replace(run={"checkpoint_every": 20, "log_every": 10})
    t = Trainer.create(cfg, tmp_path / "run")
    t.train()
    times = [r["time"] for r in Run.open(tmp_path / "run").read_metrics()]
    assert len(times) == 4 and times[0] > 0 and times == sorted(times) and times[-1] > times[0]
    ckpt_elapsed = Trainer.load(tmp_path / "run").elapsed_s
    assert 0 < ckpt_elapsed <= t.elapsed_s + 1e-9


def test_point_runs_use_one_thread_unless_asked(tmp_path):
    """Tiny MLPs on 2D points get one intra-op thread (studio.core.device.choose_threads)."""
    import torch
    from .helpers import tiny_points_config
    t = Trainer(tiny_points_config("ae", steps=1))
    assert t.threads == 1 and torch.get_num_threads() == 1
    t = Trainer(tiny_points_config("ae", steps=1).replace(run={"threads": 2}))
    assert t.threads == 2


def test_keeping_the_gui_thread_serial_leaves_the_host_threads_setting_alone():
    """studio.core.device.keep_this_thread_serial: one intra-op thread for the calling thread
    only (OpenMP's per-thread setting), so the GUI thread never opens an OpenMP team of its
    own while the engine host thread keeps its threads."""
    import threading
    import torch
    from studio.core.device import configure_threads, keep_this_thread_serial
    before = torch.get_num_threads()
    seen = {}

    def host_thread(ready: threading.Event, go: threading.Event) -> None:
        configure_threads(2)                        # as the Trainer does on the host thread
        ready.set()
        go.wait(10)
        seen["host"] = torch.get_num_threads()

    def gui_thread() -> None:
        keep_this_thread_serial()
        torch.ones(10_000).add_(1)                  # a parallel-capable op does not reset it
        seen["gui"] = torch.get_num_threads()

    ready, go = threading.Event(), threading.Event()
    h = threading.Thread(target=host_thread, args=(ready, go))
    h.start()
    ready.wait(10)
    g = threading.Thread(target=gui_thread)
    g.start()
    g.join(10)
    go.set()
    h.join(10)
    torch.set_num_threads(before)
    assert seen == {"gui": 1, "host": 2}


def test_progress_reports_the_runs_total_even_for_a_single_step(tmp_path):
    """Step (F10) after Pause showed "step 645 / 645" with a full bar: the total is the run's."""
    t = Trainer.create(tiny_points_config(steps=100), tmp_path / "run")
    t.train(until=7)
    seen = []
    t.train(until=8, callbacks=[ProgressReporter(seen.append)])
    assert seen[-1].step == 8 and seen[-1].total == 100


def test_apply_live_follows_the_metadata(tmp_path):
    cfg = tiny_points_config("vae", steps=10)
    t = Trainer.create(cfg, tmp_path / "run")
    assert t.apply_live("model", "beta", 2.0) == (1.0, 2.0) and t.engine.config.beta == 2.0
    assert t.apply_live("run", "seed", 5) is None and t.config.run.seed == 1      # structural
    before, n = torch.get_num_threads(), t.config.run.threads
    assert t.apply_live("run", "threads", n + 1) == (n, n + 1) and t.config.run.threads == n + 1
    assert torch.get_num_threads() == before             # applies when the run is reopened


def test_callback_hooks_come_in_order(tmp_path):
    """Per step: metrics, snapshot, checkpoint, then on_step_end; a call's end flushes,
    checkpoints and snapshots what its last step left, then on_end."""
    cfg = tiny_points_config(steps=100).replace(run={"checkpoint_every": 10})
    t = Trainer.create(cfg, tmp_path / "run")
    rec = Recorder()
    assert t.train(until=12, callbacks=[rec]).reason == "finished"
    ev = rec.events
    assert ev[0] == ("start", 0, 12) and ev[-1] == ("end", 12, "finished")
    assert [e[1] for e in ev if e[0] == "step"] == list(range(1, 13))
    assert ev[ev.index(("step", 4)) + 1:ev.index(("step", 5)) + 1] == [("log", 5), ("step", 5)]
    assert ev[ev.index(("step", 9)) + 1:ev.index(("step", 10)) + 1] == [
        ("log", 10), ("snapshot", 10), ("checkpoint", 10), ("step", 10)]
    assert ev[ev.index(("step", 11)) + 1:] == [
        ("log", 12), ("snapshot", 12), ("step", 12), ("checkpoint", 12), ("end", 12, "finished")]

    rec = Recorder()                # an abort: the end still saves and snapshots step 14
    assert t.train(callbacks=[rec], should_abort=lambda: t.step >= 14).reason == "aborted"
    assert rec.events[1:] == [("step", 13), ("step", 14), ("log", 14), ("checkpoint", 14),
                              ("snapshot", 14), ("end", 14, "aborted")]


def test_snapshot_files_are_the_trainers_snapshot_writer(tmp_path):
    """Every trainer has a SnapshotWriter; without it the samples still reach the other
    callbacks and nothing is written into samples/."""
    t = Trainer.create(tiny_points_config(steps=20), tmp_path / "run")
    assert [type(c) for c in t.callbacks] == [SnapshotWriter]
    t.callbacks = []
    rec = Recorder()
    t.train(callbacks=[rec])
    assert [e[1] for e in rec.events if e[0] == "snapshot"] == [10, 20]
    assert t.run.snapshots() == []


def test_on_end_reports_a_non_finite_pause(tmp_path):
    t = Trainer.create(tiny_points_config(steps=20), tmp_path / "run")
    real_step = t.engine.train_step
    t.engine.train_step = lambda b: {**real_step(b), "loss/total": torch.tensor(float("nan"))}
    rec = Recorder()
    assert t.train(callbacks=[rec]).reason == "nonfinite"
    assert rec.events[-1] == ("end", 0, "nonfinite")
    assert not [e for e in rec.events if e[0] in ("log", "checkpoint")]


def test_the_functions_shorthand_still_drives_a_run(tmp_path):
    """`Callbacks(progress=, should_abort=, metrics=, samples=)`, as scripts use it: its
    should_abort stops the run when train() is given none."""
    t = Trainer.create(tiny_points_config(steps=100), tmp_path / "run")
    seen = {"progress": [], "metrics": [], "samples": []}
    result = t.train(callbacks=Callbacks(
        progress=seen["progress"].append, should_abort=lambda: t.step >= 12,
        metrics=lambda r: seen["metrics"].append(r["step"]),
        samples=lambda s, x: seen["samples"].append(s)))
    assert result.reason == "aborted" and result.step == 12
    assert seen["metrics"] == [5, 10, 12] and seen["samples"] == [10, 12]
    assert seen["progress"] and seen["progress"][0].step == 1
