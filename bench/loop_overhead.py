"""Loop overhead: the studio's training loop against a bare hand-written PyTorch loop.

    python bench/loop_overhead.py [--engines ae,vae,ddpm,ddpm-moons] [--steps N] [--rounds R]
                                  [--arch conv|mlp]

For each engine preset (ae, vae, ddpm: examples/<engine>-mnist.toml; ddpm-moons:
examples/ddpm-moons.toml, the points MLP) it measures the training throughput of

  engine  the real `studio.core.training.Trainer(config)` (no run folder, so nothing is written to
          disk: no checkpoints, no PNGs), driven by `trainer.train(until=...)` with the example
          config's log_every / sample_every (metric read-backs and fixed-z sample snapshots
          included), the trainer's own callbacks and CLI/GUI-like ones (progress, metrics,
          samples: studio.core.callbacks) plus should_abort; each
          round ends through should_abort (as the GUI's pause does), so the snapshots fall on
          their schedule as in one long run;
  bare    the loop a user would write by hand: the same networks (same make_encoder /
          make_decoder, UNet or TimeMLP calls, initial weights copied from the Trainer), the
          same optimizer settings, the same batch indices (torch.Generator with the same seed,
          the same randperm-per-epoch scheme), the same uint8 -> float / 255 conversion of the
          same device tensor, the loss written out (DDPM: Algorithm 1 of Ho et al. with the
          schedule computed in float64, gradient clipping and an EMA copy of the weights, as
          the preset does), and `.item()` of the loss every log_every steps;

on the same batches, with the same thread count, warm-up excluded, interleaved in R rounds of
N steps (the order alternates every round to cancel drift), and prints steps/s of each, the
ratio engine / bare per engine and PASS/BELOW against the goal (>= 0.95).

Before timing, it checks that the bare loop is the same model: from identical weights, the
same batches and (for the VAE) the same RNG state for the reparameterisation noise, the
per-step losses of the first steps agree (and the weights after them).

Figures are measured side by side in one run and printed; nothing here is asserted in tests.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as _dt
import math
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from engines.nets import make_decoder, make_encoder  # noqa: E402
from engines.unet import TimeMLP, UNet  # noqa: E402
from studio.core.config import RunConfig, load_config  # noqa: E402
from studio.core.device import configure_threads, usable_cpus  # noqa: E402
from studio.core.callbacks import ProgressReporter, overrides  # noqa: E402
from studio.core.training import BatchSampler, Trainer  # noqa: E402

GOAL = 0.95
CHECK_STEPS = 5
CHECK_SEED = 1234
BUSY_OTHERS = 0.25   # other processes' CPU s per wall s above which a round is marked BUSY
WARMUP = 250         # default warm-up steps per loop (rounded up to a multiple of log_every)
NEVER = 10 ** 12     # `until` of the engine's train() calls: rounds end through should_abort
PRESETS = {"ae": "ae-mnist", "vae": "vae-mnist", "ddpm": "ddpm-mnist", "ddpm-moons": "ddpm-moons"}


# ----------------------------------------------------------------------------- the bare loop
class Shuffler:
    """A user's epoch loop over shuffled indices: a seeded generator, one randperm per epoch,
    the last partial batch dropped."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device):
        self.n, self.bs, self.device = n, batch_size, device
        self.g = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.g)
        self.pos = 0

    def next(self) -> torch.Tensor:
        if self.pos + self.bs > self.n:                # new epoch
            self.perm = torch.randperm(self.n, generator=self.g)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.bs]
        self.pos += self.bs
        return idx.to(self.device)


class BareLoop:
    """What a user writes: nets, Adam, a shuffled index stream, the loss by hand."""

    def __init__(self, trainer: Trainer):
        cfg: RunConfig = trainer.config
        m, o, rc = cfg.model, cfg.optim, cfg.run
        self.kind = cfg.engine
        spec = trainer.dataset.spec
        dev = trainer.device
        kw = dict(arch=m.arch, hidden=m.hidden, depth=m.depth, channels=m.channels, act=m.act)
        d = m.latent_dim
        out_dim = 2 * d if self.kind == "vae" else d          # the VAE encoder gives (mu, logvar)
        self.enc = make_encoder(spec, out_dim, **kw).to(dev)
        self.dec = make_decoder(spec, d, **kw).to(dev)
        # identical starting weights (the VAE wraps its decoder net in VAEDecoder as `.net`)
        eng = trainer.engine
        self.enc.load_state_dict(eng.encoder.state_dict())
        self.dec.load_state_dict((eng.decoder.net if self.kind == "vae" else eng.decoder).state_dict())
        if o.name != "adam" or o.grad_clip > 0:
            raise SystemExit(f"bench: the bare loop writes Adam without clipping; config has "
                             f"optim.name={o.name!r}, grad_clip={o.grad_clip}")
        self.opt = torch.optim.Adam([*self.enc.parameters(), *self.dec.parameters()], lr=o.lr,
                                    betas=(o.beta1, o.beta2), weight_decay=o.weight_decay)
        if self.kind == "vae":
            if m.decoder not in ("bernoulli", "auto"):
                raise SystemExit("bench: the bare VAE loop writes the Bernoulli (BCE) likelihood")
            self.beta = m.beta
        else:
            if m.denoise_std > 0 or m.contractive > 0:
                raise SystemExit("bench: the bare AE loop writes the plain (not denoising / "
                                 "contractive) autoencoder")
            self.loss_name = m.loss
        self.X = trainer.train_data.x               # the same uint8 tensor on the device
        self.device = dev
        self.n, self.bs, self.log_every = len(self.X), rc.batch_size, rc.log_every
        self.indices = Shuffler(self.n, self.bs, rc.seed, dev)
        self.next_indices = self.indices.next
        self.step = 0
        self.last_logged = float("nan")

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        if self.kind == "vae":
            mu, logvar = self.enc(x).chunk(2, dim=1)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            logits = self.dec(z)
            bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return (bce + self.beta * kld) / b
        out = self.dec(self.enc(x))
        if self.loss_name == "bce":
            return F.binary_cross_entropy_with_logits(out, x, reduction="sum") / b
        return F.mse_loss(torch.sigmoid(out), x, reduction="sum") / b

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        return self.X.index_select(0, idx).float().div_(255.0)

    def optimise(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def one_step(self) -> torch.Tensor:
        loss = self.loss(self.batch(self.next_indices()))
        self.optimise(loss)
        self.step += 1
        return loss

    def weight_diff(self, trainer: Trainer) -> str:
        eng = trainer.engine
        dec = eng.decoder.net if self.kind == "vae" else eng.decoder
        return f"max |engine - bare| over the weights {max_diff(self.enc, eng.encoder, self.dec, dec):.3g}"

    def train(self, steps: int) -> None:
        for _ in range(steps):
            loss = self.one_step()
            if self.step % self.log_every == 0:
                self.last_logged = loss.item()      # a script printing progress


class BareDDPM(BareLoop):
    """DDPM training the way the reference code writes it (Ho et al. 2020, Algorithm 1):
    the linear betas in float64 (as their numpy code), sqrt(abar) and sqrt(1 - abar) tables
    cast to float32 once, t ~ U{1..T} and eps ~ N(0, I) from the global RNG, x_t in closed
    form, MSE to eps; Adam, clip_grad_norm_, and an EMA copy updated parameter by parameter
    with the warm-up decay min(ema, (1 + n) / (10 + n)) (as diffusers' EMAModel). The same
    network class and weights as the engine's (UNet for images, TimeMLP for points)."""

    def __init__(self, trainer: Trainer):   # noqa: D107  (BareLoop.__init__ not called)
        cfg: RunConfig = trainer.config
        m, o, rc = cfg.model, cfg.optim, cfg.run
        self.kind = "ddpm"
        spec = trainer.dataset.spec
        dev = trainer.device
        if o.name != "adam":
            raise SystemExit(f"bench: the bare DDPM loop writes Adam; config has optim.name={o.name!r}")
        if m.schedule != "linear" or m.prediction != "eps" or (m.conditional and spec.num_classes):
            raise SystemExit("bench: the bare DDPM loop writes the linear schedule, eps-prediction "
                             "and no class conditioning")
        if spec.is_images:
            self.net = UNet(spec.channels, channels=m.channels, mults=(1,) + (2,) * (m.levels - 1),
                            res_blocks=m.res_blocks, dropout=m.dropout, patch=m.patch).to(dev)
            self.mean = self.std = None
        else:
            self.net = TimeMLP(spec.dim, hidden=m.hidden, depth=m.depth).to(dev)
            self.mean = torch.tensor(spec.point_mean, dtype=torch.float32, device=dev)
            self.std = torch.tensor(spec.point_std, dtype=torch.float32, device=dev)
        self.net.load_state_dict(trainer.engine.net.state_dict())
        self.ema_decay = m.ema
        self.ema = copy.deepcopy(self.net).eval().requires_grad_(False) if m.ema > 0 else None
        self.ema_n = 0
        self.opt = torch.optim.Adam(self.net.parameters(), lr=o.lr, betas=(o.beta1, o.beta2),
                                    weight_decay=o.weight_decay)
        self.grad_clip = o.grad_clip
        T = self.T = m.timesteps
        betas = torch.linspace(1e-4 * (1000.0 / T), 0.02 * (1000.0 / T), T, dtype=torch.float64)
        abar = torch.cumprod(1.0 - betas, 0)
        self.sqrt_ab = abar.sqrt().float().to(dev)              # index t - 1 for t = 1..T
        self.sqrt_1m_ab = (1.0 - abar).sqrt().float().to(dev)
        self.X = trainer.train_data.x
        self.images = self.X.dtype == torch.uint8
        self.device = dev
        self.n, self.bs, self.log_every = len(self.X), rc.batch_size, rc.log_every
        self.indices = Shuffler(self.n, self.bs, rc.seed, dev)
        self.next_indices = self.indices.next
        self.step = 0
        self.last_logged = float("nan")

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.X.index_select(0, idx)
        return x.float().div_(255.0) if self.images else x

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        x0 = x * 2.0 - 1.0 if self.mean is None else (x - self.mean) / self.std
        b = x0.shape[0]
        t = torch.randint(1, self.T + 1, (b,), device=x0.device)
        eps = torch.randn_like(x0)
        shape = (b,) + (1,) * (x0.dim() - 1)
        xt = self.sqrt_ab[t - 1].view(shape) * x0 + self.sqrt_1m_ab[t - 1].view(shape) * eps
        return F.mse_loss(self.net(xt, t), eps)

    def optimise(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip)
        self.opt.step()
        if self.ema is not None:
            self.ema_n += 1
            d = min(self.ema_decay, (1.0 + self.ema_n) / (10.0 + self.ema_n))
            with torch.no_grad():
                for pe, p in zip(self.ema.parameters(), self.net.parameters()):
                    pe.lerp_(p, 1.0 - d)

    def weight_diff(self, trainer: Trainer) -> str:
        eng = trainer.engine
        out = f"max |engine - bare| over the weights {max_diff(self.net, eng.net):.3g}"
        if self.ema is not None and eng.ema_net is not None:
            out += f", over the EMA weights {max_diff(self.ema, eng.ema_net):.3g}"
        return out


def max_diff(*modules: torch.nn.Module) -> float:
    """max |a - b| over the parameters of module pairs (a1, b1, a2, b2, ...)."""
    out = 0.0
    for a, b in zip(modules[0::2], modules[1::2]):
        for pa, pb in zip(a.parameters(), b.parameters()):
            out = max(out, float((pa.detach() - pb.detach()).abs().max()))
    return out


def make_bare(trainer: Trainer) -> BareLoop:
    return BareDDPM(trainer) if trainer.config.engine == "ddpm" else BareLoop(trainer)


# ------------------------------------------------------------------------- the engine loop
class UserCallbacks(ProgressReporter):
    """Like `genstudio train` (a progress reporter, the Ctrl-C event) plus the GUI's mailbox
    poster (metrics and samples): a trainer callback that just stores/counts what it gets."""

    def __init__(self) -> None:
        super().__init__(self.on_progress)
        self.stop = threading.Event()
        self.progress_calls = 0
        self.snapshots = 0
        self.latest: dict[str, float] = {}

    def on_progress(self, progress) -> None:
        self.progress_calls += 1

    def on_log(self, trainer, record) -> None:
        self.latest = record

    def on_snapshot(self, trainer, step, samples) -> None:
        self.snapshots += 1


# -------------------------------------------------------------------------------- helpers
def example_config(engine: str, arch: str | None) -> RunConfig:
    """The preset of `engine` (a PRESETS key); --arch applies to ae/vae (ddpm has no arch)."""
    path = ROOT / "examples" / f"{PRESETS[engine]}.toml"
    cfg = load_config(path)
    if arch is not None and cfg.engine in ("ae", "vae"):
        cfg = cfg.replace(model={"arch": arch})
    return cfg


def check_same_indices(trainer: Trainer, batches: int) -> bool:
    """The bare loop's index stream equals a fresh BatchSampler's (across epoch boundaries)."""
    rc = trainer.config.run
    n = len(trainer.train_data)
    s = BatchSampler(n, rc.batch_size, rc.seed, trainer.device)
    u = Shuffler(n, rc.batch_size, rc.seed, trainer.device)
    return all(torch.equal(s.next_indices(), u.next()) for _ in range(batches))


def same_losses(trainer: Trainer, bare: BareLoop, steps: int) -> tuple[float, list[float], list[float]]:
    """Losses of the first `steps` steps of each loop from identical weights and batches, the
    global RNG reseeded before each (the VAE's eps ~ N(0, I) comes from it)."""
    torch.manual_seed(CHECK_SEED)
    eng = [float(trainer.train_one_step()["loss/total"]) for _ in range(steps)]
    torch.manual_seed(CHECK_SEED)
    bar = [float(bare.one_step().detach()) for _ in range(steps)]
    return max(abs(a - b) for a, b in zip(eng, bar)), eng, bar


def timed(fn, *a) -> float:
    t0 = time.perf_counter()
    fn(*a)
    return time.perf_counter() - t0


def busy_cpu_s() -> float | None:
    """CPU seconds all processes have used on this machine (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def timed_cpu(fn, *a) -> tuple[float, float, float]:
    """Wall seconds; this process's CPU seconds per wall second (about the thread count when
    the cores are ours); other processes' CPU seconds per wall second (nan if unknown)."""
    b0, c0, t0 = busy_cpu_s(), time.process_time(), time.perf_counter()
    fn(*a)
    wall = time.perf_counter() - t0
    own = time.process_time() - c0
    b1 = busy_cpu_s()
    others = (max(0.0, b1 - b0 - own) / wall) if b0 is not None and b1 is not None else math.nan
    return wall, own / wall, others


def fmt_cfg(cfg: RunConfig) -> str:
    m = cfg.model
    if cfg.engine == "ddpm":
        net = (f"U-Net channels={m.channels} levels={m.levels} res_blocks={m.res_blocks} "
               f"patch={m.patch}" if cfg.data_name == "mnist" else
               f"TimeMLP hidden={m.hidden} depth={m.depth}")
        return (f"data={cfg.data_name}, {net}, schedule={m.schedule} T={m.timesteps} "
                f"prediction={m.prediction} ema={m.ema} dropout={m.dropout}; snapshots "
                f"{m.sampler} {m.sample_steps} steps; batch_size={cfg.run.batch_size} "
                f"optim={cfg.optim.name} lr={cfg.optim.lr} grad_clip={cfg.optim.grad_clip}")
    extra = f"loss={m.loss}" if cfg.engine == "ae" else f"decoder={m.decoder} beta={m.beta}"
    return (f"arch={m.arch} latent_dim={m.latent_dim} channels={m.channels} hidden={m.hidden} "
            f"depth={m.depth} act={m.act} {extra}; batch_size={cfg.run.batch_size} "
            f"optim={cfg.optim.name} lr={cfg.optim.lr}")


# ------------------------------------------------------------------------------- profiling
@contextlib.contextmanager
def quiet_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def profile_engine(trainer: Trainer, bare: BareLoop, steps: int) -> None:
    """Where a step's time goes: perf_counter around each piece of Trainer.train's body (the
    same calls, in the same order) and of the bare step, the two interleaved step by step so
    machine drift hits both alike. Means per step (flush and snapshot are periodic), and the
    median of whole steps."""
    rc = trainer.config.run
    user = UserCallbacks()
    cbs = [*trainer.callbacks, user]
    per_step = [c for c in cbs if overrides(c, "on_step_end")]
    for c in cbs:
        c.on_train_start(trainer, NEVER)
    parts = dict(sampler=0.0, batch=0.0, train_step=0.0, accumulate=0.0, flush=0.0, snapshot=0.0,
                 callbacks=0.0)
    bparts = dict(sampler=0.0, batch=0.0, fwd_bwd_step=0.0, item=0.0)
    e_tot, b_tot = [], []
    pc = time.perf_counter
    trainer.engine.train(True)
    for _ in range(steps):
        t0 = pc()
        idx = trainer.sampler.next_indices()
        t1 = pc()
        batch = trainer.train_data.batch(idx)
        t2 = pc()
        out = trainer.engine.train_step(batch)
        t3 = pc()
        for k, v in out.items():
            prev = trainer._acc.get(k)
            trainer._acc[k] = v.detach().clone() if prev is None else prev + v.detach()
        trainer._acc_steps += 1
        trainer.step += 1
        t4 = pc()
        s = trainer.step
        if s % rc.log_every == 0:
            trainer.flush_metrics(cbs)
        t5 = pc()
        if s % rc.sample_every == 0:
            trainer.snapshot(cbs)
        t6 = pc()
        for c in per_step:
            c.on_step_end(trainer, s)
        user.stop.is_set()            # should_abort
        t7 = pc()
        for k, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)):
            parts[k] += dt
        e_tot.append(t7 - t0)

        t0 = pc()
        idx = bare.next_indices()
        t1 = pc()
        x = bare.batch(idx)
        t2 = pc()
        loss = bare.loss(x)
        bare.optimise(loss)
        bare.step += 1
        t3 = pc()
        if bare.step % bare.log_every == 0:
            bare.last_logged = loss.item()
        t4 = pc()
        for k, dt in zip(bparts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            bparts[k] += dt
        b_tot.append(t4 - t0)
    trainer.flush_metrics(cbs)
    t_snap = statistics.median(timed(trainer.snapshot) for _ in range(5))

    et, bt = sum(parts.values()), sum(bparts.values())
    em, bm = statistics.median(e_tot), statistics.median(b_tot)
    print(f"    {steps} steps each, interleaved step by step; median step: engine "
          f"{1000 * em:.3f} ms, bare {1000 * bm:.3f} ms (engine +{1e6 * (em - bm):.0f} us, "
          f"ratio {bm / em:.3f})")
    print(f"    engine, mean {1000 * et / steps:.3f} ms/step:")
    for k, v in parts.items():
        print(f"      {k:<12} {1000 * v / steps:8.3f} ms/step  {100 * v / et:5.1f}%")
    print(f"    bare, mean {1000 * bt / steps:.3f} ms/step:")
    for k, v in bparts.items():
        print(f"      {k:<12} {1000 * v / steps:8.3f} ms/step  {100 * v / bt:5.1f}%")
    print(f"    one snapshot (trainer.snapshot, {rc.preview_samples} fixed-z samples): "
          f"{1000 * t_snap:.1f} ms = {1000 * t_snap / rc.sample_every:.3f} ms/step amortised "
          f"over sample_every={rc.sample_every}")
    # aten op counts of one step each (what the engine adds per step, op by op)
    from torch.profiler import ProfilerActivity, profile
    with quiet_stderr():            # the profiler's C++ side logs start/stop lines on fd 2
        with profile(activities=[ProfilerActivity.CPU]) as pe:
            trainer.train_one_step()
        with profile(activities=[ProfilerActivity.CPU]) as pb:
            bare.one_step()
    ne = sum(e.count for e in pe.key_averages() if e.key.startswith("aten::"))
    nb = sum(e.count for e in pb.key_averages() if e.key.startswith("aten::"))
    print(f"    aten ops per step (torch.profiler, nested calls included): engine {ne}, bare {nb}")
    ce = {e.key: e.count for e in pe.key_averages()}
    cbare = {e.key: e.count for e in pb.key_averages()}
    more = sorted(((ce[k] - cbare.get(k, 0), k) for k in ce if ce[k] > cbare.get(k, 0)
                   and k.startswith("aten::")), reverse=True)[:8]
    if more:
        print("    ops the engine step calls more often: "
              + ", ".join(f"{k} +{n}" for n, k in more))


# ----------------------------------------------------------------------------------- main
def bench_engine(engine: str, args: argparse.Namespace) -> dict:
    cfg = example_config(engine, args.arch)
    rc = cfg.run
    period = math.lcm(rc.log_every, rc.sample_every)
    steps = args.steps or rc.log_every
    warmup = args.warmup if args.warmup is not None else -(-WARMUP // rc.log_every) * rc.log_every
    t0 = time.perf_counter()
    trainer = Trainer(cfg)                 # no run folder: nothing is written to disk
    bare = make_bare(trainer)
    print(f"\n== {engine} ({fmt_cfg(cfg)})")
    print(f"   engine loop: Trainer(config) without a run folder (checkpoint_every="
          f"{rc.checkpoint_every} inert: no checkpoints or PNGs written), log_every={rc.log_every}, "
          f"sample_every={rc.sample_every} (fixed-z snapshots of {rc.preview_samples} included), "
          f"CLI/GUI-like callbacks, rounds ended by should_abort; built in "
          f"{time.perf_counter() - t0:.2f}s, {trainer.engine.num_parameters():,} parameters")
    extra = (", clip_grad_norm_, per-parameter EMA lerp_" if engine.startswith("ddpm") else "")
    print(f"   bare loop: same nets/weights/Adam/batches, loss by hand{extra}, loss.item() every "
          f"{rc.log_every} steps")
    if steps % rc.log_every:
        print(f"   NOTE: --steps {steps} is not a multiple of log_every={rc.log_every}: every "
              f"round ends with an extra metric read-back (cheap; not removed)")
    # 1. the bare loop is the same model
    idx_ok = check_same_indices(trainer, 2 * (bare.n // bare.bs) + 3)
    diff, le, lb = same_losses(trainer, bare, CHECK_STEPS)
    print(f"   same batch indices as BatchSampler over 2 epochs + 3 batches: "
          f"{'yes' if idx_ok else 'NO'}")
    print(f"   same losses, first {CHECK_STEPS} steps (identical weights, batches, RNG state): "
          f"max |engine - bare| = {diff:.3g}")
    print("     engine " + " ".join(f"{v:.4f}" for v in le))
    print("     bare   " + " ".join(f"{v:.4f}" for v in lb))
    print(f"     after them: {bare.weight_diff(trainer)}")

    # 2. warm-up (excluded), up to a step aligned with the logging schedule
    user = UserCallbacks()
    w = max(warmup, CHECK_STEPS)

    def engine_until(stop_at: int):
        # one train() call per round, stopped by should_abort like the GUI's pause: no
        # end-of-call snapshot, so snapshots fall every sample_every steps as in one long run
        return trainer.train, NEVER, [user], lambda: trainer.step >= stop_at

    tw_e = timed(*engine_until(w))
    tw_b = timed(bare.train, w - CHECK_STEPS)
    print(f"   warm-up to step {w}: engine {tw_e:.1f}s, bare {tw_b:.1f}s (excluded)")

    # 3. interleaved rounds
    user.snapshots = 0
    e_sps, b_sps, ratios, quiet = [], [], [], []
    snap_rounds = []
    for r in range(args.rounds):
        def run_engine() -> tuple[float, float, float]:
            return timed_cpu(*engine_until(trainer.step + steps))

        def run_bare() -> tuple[float, float, float]:
            return timed_cpu(bare.train, steps)

        if r % 2 == 0:
            (te, ce, oe), (tb, cb, ob) = run_engine(), run_bare()
        else:
            (tb, cb, ob), (te, ce, oe) = run_bare(), run_engine()
        if trainer.step // rc.sample_every > (trainer.step - steps) // rc.sample_every:
            snap_rounds.append(r + 1)
        e_sps.append(steps / te)
        b_sps.append(steps / tb)
        ratios.append(e_sps[-1] / b_sps[-1])
        busy = max(oe, ob) > BUSY_OTHERS
        if not busy:
            quiet.append(ratios[-1])
        if args.verbose or busy:
            print(f"   round {r + 1:>2}/{args.rounds} ({'engine first' if r % 2 == 0 else 'bare first  '}): "
                  f"engine {e_sps[-1]:7.2f} steps/s (cpu {ce:.2f}, others {oe:.2f}), "
                  f"bare {b_sps[-1]:7.2f} steps/s (cpu {cb:.2f}, others {ob:.2f}), "
                  f"ratio {ratios[-1]:.3f}{'  BUSY' if busy else ''}")
    assert trainer.step == bare.step, (trainer.step, bare.step)
    total = args.rounds * steps
    t_snap = statistics.median(timed(trainer.preview) for _ in range(5))
    e_time = sum(steps / v for v in e_sps)
    print(f"   timed: {args.rounds} rounds x {steps} steps per loop; ratios (engine/bare) by round: "
          + " ".join(f"{v:.3f}" for v in ratios))
    b_time = sum(steps / v for v in b_sps)
    print(f"   snapshots taken by the engine loop: {user.snapshots} (on schedule, every "
          f"sample_every={rc.sample_every} steps: {total // rc.sample_every} expected; in rounds "
          f"{', '.join(map(str, snap_rounds)) or '-'}), ~{1000 * t_snap:.1f} ms each = "
          f"{100 * user.snapshots * t_snap / e_time:.2f}% of the engine's timed time (included); "
          f"all timed steps together: engine {total / e_time:.2f} steps/s, bare "
          f"{total / b_time:.2f}, ratio {b_time / e_time:.3f}")
    print(f"   last logged loss: engine mean over last {rc.log_every} steps "
          f"{user.latest.get('loss/total', float('nan')):.3f}, bare last step "
          f"{bare.last_logged:.3f}")
    ratio = statistics.median(ratios)
    res = dict(engine=engine, e=statistics.median(e_sps), b=statistics.median(b_sps),
               ratio=ratio, lo=min(ratios), hi=max(ratios), diff=diff, idx_ok=idx_ok,
               ok=ratio >= GOAL, device=str(trainer.device), quiet=quiet, rounds=len(ratios))
    if args.profile or not res["ok"]:
        print(f"   profile of {engine} ({'requested' if args.profile else 'ratio below goal'}):")
        profile_engine(trainer, bare, max(steps, min(period, WARMUP)))
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", default=",".join(PRESETS),
                   help=f"comma-separated, from {', '.join(PRESETS)} (default: all)")
    p.add_argument("--steps", type=int, default=None,
                   help="steps per loop per round (default: the example config's log_every, 50)")
    p.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    p.add_argument("--arch", choices=("conv", "mlp"), default=None,
                   help="override model.arch of ae/vae (default: the example config's, conv)")
    p.add_argument("--warmup", type=int, default=None,
                   help=f"warm-up steps per loop, excluded (default: {WARMUP} rounded up to a "
                        f"multiple of log_every)")
    p.add_argument("--profile", action="store_true",
                   help="print the engine loop's time breakdown even when the goal is met")
    p.add_argument("--verbose", action="store_true",
                   help="print every round (by default only rounds marked BUSY)")
    args = p.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in PRESETS:
            p.error(f"--engines: {e!r} is not supported here; choose from {', '.join(PRESETS)}")
    if args.rounds < 1 or (args.steps is not None and args.steps < 1):
        p.error("--rounds and --steps must be at least 1")

    threads = configure_threads(0)          # what Trainer does with run.threads = 0
    la = os.getloadavg()
    print("loop_overhead: engine loop (studio.core.training.Trainer) vs a bare PyTorch loop, "
          f"goal engine/bare >= {GOAL}")
    print(f"command:  python {' '.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])}"
          if argv is None else f"command:  loop_overhead.main({argv})")
    print(f"date:     {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine:  {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"os.cpu_count()={os.cpu_count()}, usable CPUs={usable_cpus()}, "
          f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    print(f"software: Python {platform.python_version()}, torch {torch.__version__}, "
          f"intra-op threads {threads} (configure_threads(0), both loops), "
          f"inter-op {torch.get_num_interop_threads()}")
    print(f"method:   per engine: same-model check, warm-up (excluded), then {args.rounds} rounds "
          f"of {args.steps or 'log_every'} steps per loop, order alternating (engine,bare / "
          f"bare,engine); ratio = median of per-round (engine/bare) steps/s. A round is BUSY when "
          f"other processes used > {BUSY_OTHERS} CPU s per wall s during it (from /proc/stat); "
          f"'cpu' = this process's CPU s per wall s (~{threads} when the cores are ours)")
    t0 = time.perf_counter()
    results = [bench_engine(e, args) for e in engines]
    dev = ", ".join(sorted({r["device"] for r in results}))
    la = os.getloadavg()
    print(f"\nsummary (device {dev}, {threads} threads, {time.perf_counter() - t0:.0f}s; load average "
          f"now {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}):")
    ew = max(7, max(len(r["engine"]) for r in results) + 2)
    print(f"  {'engine':<{ew}}{'engine steps/s':>15}{'bare steps/s':>14}{'ratio':>8}"
          f"{'min':>7}{'max':>7}  {'quiet rounds: n, ratio':>22}  {'loss diff':>9}  "
          f"verdict (goal >= {GOAL})")
    for r in results:
        q = r["quiet"]
        qs = f"{len(q)}/{r['rounds']}, " + (f"{statistics.median(q):.3f}" if q else "  -  ")
        print(f"  {r['engine']:<{ew}}{r['e']:>15.2f}{r['b']:>14.2f}{r['ratio']:>8.3f}{r['lo']:>7.3f}"
              f"{r['hi']:>7.3f}  {qs:>22}  {r['diff']:>9.2g}  {'PASS' if r['ok'] else 'BELOW'}"
              + (f" (unreliable: {r['rounds'] - len(q)}/{r['rounds']} rounds BUSY; rerun on an "
                 f"idle machine)" if 2 * len(q) < r["rounds"] else ""))
    print("  (steps/s: medians over rounds; ratio: median of per-round ratios, with min and max; "
          "quiet rounds: those not BUSY)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
