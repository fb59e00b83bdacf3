"""Exact resume of image runs: whatever runs beside training (the mode-collapse monitor and
the MNIST evaluator it loads, the GUI's renders, Evaluate) leaves torch's global RNG, the
training run's random stream, alone. So N steps in one go and N/2 + a resume to N end with
the same weights and optimizer state, bit for bit, through the CLI and through the GUI's
engine host. Tiny CPU runs on 128 MNIST images; each case takes a few seconds.

Every CLI command is a process of its own, so the evaluator's per-process cache is cleared
before each one: a fresh process loads the evaluator when its monitor starts, which is what
used to draw from the restored RNG (building the network initialised its weights from it).
"""
from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
import torch

from studio.core import renders
from studio.core.cli import main
from studio.core.config import parse_config
from studio.core.data import load_dataset
from studio.core.evaluator import clear_cache
from studio.core.host import EngineHost, RenderRequest
from studio.core.mode_monitor import RunMonitor, history_path, read_history
from studio.core.training import Trainer

STEPS, HALF = 8, 4

# sample_every = 2: the monitor scores snapshots in both halves of a resumed run.
RUN = """
[run]
seed = 3
steps = 8
batch_size = 16
log_every = 2
sample_every = 2
checkpoint_every = 2
preview_samples = 8
threads = 1
device = "cpu"
"""
DATA = """
[data]
name = "mnist"
limit = 128
"""
# translators train on two-sided sets: both samplers and (CycleGAN) the history pools resume
TWO_SIDED = {
    "pix2pix": '[data]\nname = "mnist-edges"\nlimit = 128\n',
    "srgan": '[data]\nname = "mnist-lowres"\nfactor = 2\nlimit = 128\n',
    "cyclegan": '[data]\nname = "mnist-thin-thick"\nlimit = 128\n',
}

MODELS = {
    "vae": """
[model]
engine = "vae"
arch = "conv"
latent_dim = 4
channels = 4
hidden = 16

[optim]
lr = 0.001
""",
    "gan": """
[model]
engine = "gan"
loss = "nonsaturating"
arch = "conv"
latent_dim = 8
channels = 4
g_norm = "batch"
d_norm = "none"
ema = 0.999

[optim]
name = "adam"
lr = 0.0002
beta1 = 0.5
""",
    "ddpm": """
[model]
engine = "ddpm"
timesteps = 50
sample_steps = 3
channels = 8
levels = 2

[optim]
lr = 0.002
grad_clip = 1.0
""",
    # a warm-up that the resume lands in: the lr ramp must continue where it was
    "flow": """
[model]
engine = "flow"
levels = 2
steps = 2
hidden = 8
warmup = 6

[optim]
lr = 0.001
""",
    "pix2pix": """
[model]
engine = "pix2pix"
channels = 4
depth = 3
d_channels = 4

[optim]
lr = 0.0002
beta1 = 0.5
""",
    # the SRResNet phase ends at step 3, before the interruption at step 4; the content loss
    # goes through the bundled evaluator's features
    "srgan": """
[model]
engine = "srgan"
blocks = 1
channels = 4
d_channels = 4
d_dense = 8
pretrain_steps = 3

[optim]
lr = 0.0001
""",
    # pools of 4 images fill before the interruption; the lr decay starts at step 2
    "cyclegan": """
[model]
engine = "cyclegan"
g_channels = 4
g_blocks = 1
d_channels = 4
pool_size = 4
decay_start = 2
decay_steps = 6

[optim]
lr = 0.0002
beta1 = 0.5
""",
}


def config_text(engine: str) -> str:
    return RUN + TWO_SIDED.get(engine, DATA) + MODELS[engine]


@pytest.fixture(autouse=True, scope="module")
def _keep_thread_count():
    n = torch.get_num_threads()          # the runs set one intra-op thread (threads = 1)
    yield
    torch.set_num_threads(n)


def train(*args: str) -> None:
    clear_cache()                        # a new process: the evaluator loads anew
    assert main(["train", *args, "--quiet"]) == 0


def differences(a, b, path: str = "") -> list[str]:
    """Where two nested structures of tensors and plain values differ (bit for bit)."""
    if isinstance(a, torch.Tensor):
        same = isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
        return [] if same else [path]
    if isinstance(a, dict):
        if not isinstance(b, dict) or set(a) != set(b):
            return [f"{path} (keys)"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return [f"{path} (length)"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def assert_same_run(a, b) -> None:
    ta, tb = Trainer.load(a), Trainer.load(b)
    assert ta.step == tb.step == STEPS
    wa, wb = ta.engine.state_dict(), tb.engine.state_dict()
    diff = differences(wa, wb)
    assert not diff, f"{len(diff)} of {len(wa)} weight tensors differ: {diff[:5]}"
    diff = differences(ta.engine.optim_state_dict(), tb.engine.optim_state_dict())
    assert not diff, f"optimizer state differs: {diff[:5]}"


def monitor_records(run_dir) -> list[dict]:
    return [{k: v for k, v in r.to_dict().items() if k != "ms"}
            for r in read_history(history_path(run_dir))]


@pytest.mark.parametrize("engine", sorted(MODELS))
def test_cli_resume_is_bit_exact(engine, tmp_path):
    cfg = tmp_path / f"{engine}.toml"
    cfg.write_text(config_text(engine))
    a, b = tmp_path / "a", tmp_path / "b"
    train(str(cfg), "--out", str(a), "--steps", str(STEPS))
    train(str(cfg), "--out", str(b), "--steps", str(HALF))
    train("--resume", str(b), "--steps", str(STEPS))
    assert_same_run(a, b)
    # the monitor ran in both halves, through the evaluator, and saw the same samples
    recs = monitor_records(b)
    assert [r["step"] for r in recs] == [2, 4, 6, 8]
    assert {r["diversity_space"] for r in recs} == {"features"}
    assert recs == monitor_records(a)


# ------------------------------------------------------------------ nothing beside training

def tiny_trainer(engine: str) -> Trainer:
    cfg = parse_config(config_text(engine))
    ds = load_dataset(cfg.data_name, cfg.data, seed=cfg.run.seed)
    ds = dataclasses.replace(ds, test_x=ds.test_x[:64], test_y=ds.test_y[:64])   # fast Evaluate
    if ds.two_sided:
        ds = dataclasses.replace(ds, test_x2=ds.test_x2[:64], test_y2=ds.test_y2[:64])
    t = Trainer(cfg, dataset=ds)
    t.train(until=2)
    return t


@pytest.fixture(scope="module")
def trainers():
    return {e: tiny_trainer(e) for e in MODELS}


def render_requests(t: Trainer) -> list[tuple[str, dict]]:
    """The render kinds that apply to the engine, as the GUI asks for them (sweep and canvas
    need conditional or 2D runs; render() isolates every kind the same way)."""
    e = t.engine
    if "translate" in e.capabilities:
        reqs = [("sample", {"seed": 5, "n": 2}),
                ("translation_strip", {"n": 3}),
                ("translation_drawn", {"image": t.dataset.test_x2[0, 0].astype(np.float32) / 255})]
        if "translate_back" in e.capabilities:
            reqs += [("translation_strip", {"n": 3, "direction": "ba"}),
                     ("translation_probe", {"index": 1, "amplitude": 0.05}),
                     ("translation_probe_curve", {})]
        return reqs
    z = e.noise(2, generator=torch.Generator().manual_seed(0)).cpu().numpy().reshape(2, -1)
    reqs = [("decode", {"z": z[0]}), ("sample", {"seed": 5, "n": 2}),
            ("interpolate", {"za": z[0], "zb": z[1], "steps": 3, "mode": "spherical"}),
            ("basis", {"n": 40, "k": 3})]
    if "encode" in e.capabilities or "invert" in e.capabilities:
        reqs.append(("encode", {"x": t.dataset.test_x[:2]}))
    if hasattr(e, "invert"):
        reqs.append(("invert", {"x": t.dataset.test_x[:2]}))
    if "trajectory" in e.capabilities:
        tr = renders.trajectory(t, steps=3, n=2)
        reqs += [("trajectory", {"steps": 3, "n": 2}),
                 ("trajectory", {"mode": "forward", "steps": 3, "n": 2}),
                 ("continue", {"x_start": tr["xt_net"][1], "start_index": 1, "steps": 3}),
                 ("edit", {"xt_net": tr["xt_net"][1], "x0": tr["x0"][1], "t": int(tr["t"][1]),
                           "index": 0, "action": "renoise", "start_index": 1, "steps": 3})]
    return reqs


def same_result(a, b) -> bool:
    if isinstance(a, dict):
        return set(a) == set(b) and all(same_result(a[k], b[k]) for k in a)
    a, b = np.asarray(a), np.asarray(b)
    # NaN marks "not defined" in some results (the noise error at t = 0): equal to itself here
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f")


@pytest.mark.parametrize("engine", sorted(MODELS))
def test_renders_leave_the_training_rng_alone_and_are_deterministic(engine, trainers):
    t = trainers[engine]
    for kind, payload in render_requests(t):
        req = RenderRequest(kind, payload, 0)
        before = torch.get_rng_state()
        first = renders.render(t, req)
        assert torch.equal(before, torch.get_rng_state()), f"render {kind} moved the global RNG"
        torch.manual_seed(12345)         # what users see never depends on that RNG
        assert same_result(first, renders.render(t, req)), f"render {kind} is not deterministic"


@pytest.mark.parametrize("engine", sorted(MODELS))
def test_monitor_and_evaluation_leave_the_training_rng_alone(engine, trainers):
    from studio.core.evaluation import evaluate
    t = trainers[engine]
    clear_cache()
    before = torch.get_rng_state()
    mon = RunMonitor(t)
    assert mon.monitor is not None and mon.monitor.uses_evaluator
    mon.on_samples(t.step, t.preview())
    assert torch.equal(before, torch.get_rng_state()), "the mode monitor moved the global RNG"
    clear_cache()
    evaluate(t, n=40, iwae_k=4, iwae_n=20)
    assert torch.equal(before, torch.get_rng_state()), "evaluation moved the global RNG"


# ------------------------------------------------------------------ the GUI's engine host

class Watch:
    """Drains the host's mailbox and waits for a condition."""

    def __init__(self, host):
        self.host, self.state, self.errors, self.renders, self.runs = host, None, [], 0, 0

    def wait(self, predicate, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            u = self.host.mailbox.drain()
            self.state = u.state or self.state
            self.errors += u.errors
            self.renders += len(u.renders)
            self.runs += u.run_changed is not None
            assert not self.errors, self.errors
            if predicate():
                return
            time.sleep(0.005)
        raise AssertionError(f"timed out in state {self.state}")


def test_gui_host_pause_and_reopen_with_renders_is_bit_exact(tmp_path):
    """DDPM (whose latent decode used to draw from the global RNG) with the mode monitor on:
    an uninterrupted run against one stepped, paused, reopened (as a new session would, the
    evaluator loaded anew) and run on in slow motion while decodes are served between steps."""
    cfg = parse_config(RUN + MODELS["ddpm"])
    served: list[tuple[str, int]] = []

    def renderer(trainer, req):
        served.append((host.state, trainer.step))
        return renders.render(trainer, req)

    host = EngineHost(renderer=renderer, reserve_cpu_for_gui=False)
    host.start()
    w = Watch(host)
    z = np.random.default_rng(0).standard_normal(28 * 28).astype(np.float32)
    try:
        host.new_run(cfg, tmp_path / "a")
        w.wait(lambda: w.runs == 1 and w.state == "idle")
        host.train()
        w.wait(lambda: w.state == "finished")

        host.new_run(cfg, tmp_path / "b")
        w.wait(lambda: w.runs == 2 and w.state == "idle")
        host.step(3)
        w.wait(lambda: w.state == "paused" and host.trainer.step == 3)
        n = w.renders
        host.request_render("decode", z=z)
        w.wait(lambda: w.renders > n)
        clear_cache()
        host.open_run(tmp_path / "b")
        w.wait(lambda: w.runs == 3 and w.state == "paused")
        assert host.mode_monitor is not None
        host.set_step_delay(30)          # renders are served during each step's wait
        host.train()
        stop = threading.Event()

        def ask():
            while not stop.is_set():
                host.request_render("decode", z=z)
                host.request_render("sample", seed=1, n=2)
                time.sleep(0.05)

        asker = threading.Thread(target=ask)
        asker.start()
        try:
            w.wait(lambda: w.state == "finished")
        finally:
            stop.set()
            asker.join()
        host.wait_for_monitor(10)
    finally:
        assert host.shutdown(10)
    running = {step for state, step in served if state == "running"}
    assert len(running) >= 2, f"renders were served at steps {sorted(running)} while running"
    assert_same_run(tmp_path / "a", tmp_path / "b")
