"""Loop overhead: the studio's training loop against a bare hand-written PyTorch loop.

    python bench/loop_overhead.py [--engines ae,vae] [--steps N] [--rounds R] [--arch conv|mlp]

For each engine (examples/<engine>-mnist.toml) it measures the training throughput of

  engine  the real `studio.training.Trainer(config)` (no run folder, so nothing is written to
          disk: no checkpoints, no PNGs), driven by `trainer.train(until=...)` with the example
          config's log_every / sample_every (metric read-backs and fixed-z sample snapshots
          included) and CLI-like callbacks (progress, should_abort, metrics, samples);
  bare    the loop a user would write by hand: the same networks (same make_encoder /
          make_decoder calls, initial weights copied from the Trainer), the same optimizer
          settings, the same batch indices (torch.Generator with the same seed, the same
          randperm-per-epoch scheme), the same uint8 -> float / 255 conversion of the same
          device tensor, the loss written out, and `.item()` of the loss every log_every steps;

on the same batches, with the same thread count, warm-up excluded, interleaved in R rounds of
N steps (the order alternates every round to cancel drift), and prints steps/s of each, the
ratio engine / bare per engine and PASS/BELOW against the goal (>= 0.95).

Before timing, it checks that the bare loop is the same model: from identical weights, the
same batches and (for the VAE) the same RNG state for the reparameterisation noise, the
per-step losses of the first steps agree.

Figures are measured side by side in one run and printed; nothing here is asserted in tests.
"""
from __future__ import annotations

import argparse
import contextlib
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
from studio.config import RunConfig, load_config  # noqa: E402
from studio.device import configure_threads, usable_cpus  # noqa: E402
from studio.training import BatchSampler, Callbacks, Trainer  # noqa: E402

GOAL = 0.95
CHECK_STEPS = 5
CHECK_SEED = 1234
BUSY_OTHERS = 0.25   # other processes' CPU s per wall s above which a round is marked BUSY


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

    def one_step(self) -> torch.Tensor:
        x = self.X.index_select(0, self.next_indices()).float().div_(255.0)
        loss = self.loss(x)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return loss

    def train(self, steps: int) -> None:
        for _ in range(steps):
            loss = self.one_step()
            if self.step % self.log_every == 0:
                self.last_logged = loss.item()      # a script printing progress


# ------------------------------------------------------------------------- the engine loop
class UserCallbacks:
    """Like `genstudio train` (progress bar, Ctrl-C event) plus the GUI's metric and sample
    mailboxes: each just stores what it is given."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.progress_calls = 0
        self.snapshots = 0
        self.latest: dict[str, float] = {}

    # *args: the callbacks' signatures are the Trainer's business; these only store/count.
    def on_progress(self, *args) -> None:
        self.progress_calls += 1

    def on_metrics(self, *args) -> None:
        self.latest = args[-1]          # (record) or (step, means): a dict with "loss/total"

    def on_samples(self, *args) -> None:
        self.snapshots += 1

    def callbacks(self) -> Callbacks:
        return Callbacks(progress=self.on_progress, should_abort=self.stop.is_set,
                         metrics=self.on_metrics, samples=self.on_samples)


# -------------------------------------------------------------------------------- helpers
def example_config(engine: str, arch: str | None) -> RunConfig:
    path = ROOT / "examples" / f"{engine}-mnist.toml"
    cfg = load_config(path)
    if arch is not None:
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
    cb = UserCallbacks().callbacks()
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
            trainer.flush_metrics(cb)
        t5 = pc()
        if s % rc.sample_every == 0:
            trainer.snapshot(cb)
        t6 = pc()
        cb.should_abort()
        t7 = pc()
        for k, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)):
            parts[k] += dt
        e_tot.append(t7 - t0)

        t0 = pc()
        idx = bare.next_indices()
        t1 = pc()
        x = bare.X.index_select(0, idx).float().div_(255.0)
        t2 = pc()
        loss = bare.loss(x)
        bare.opt.zero_grad(set_to_none=True)
        loss.backward()
        bare.opt.step()
        bare.step += 1
        t3 = pc()
        if bare.step % bare.log_every == 0:
            bare.last_logged = loss.item()
        t4 = pc()
        for k, dt in zip(bparts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            bparts[k] += dt
        b_tot.append(t4 - t0)
    trainer.flush_metrics(cb)
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
    warmup = args.warmup if args.warmup is not None else period
    t0 = time.perf_counter()
    trainer = Trainer(cfg)                 # no run folder: nothing is written to disk
    bare = BareLoop(trainer)
    print(f"\n== {engine} ({fmt_cfg(cfg)})")
    print(f"   engine loop: Trainer(config) without a run folder (checkpoint_every="
          f"{rc.checkpoint_every} inert: no checkpoints or PNGs written), log_every={rc.log_every}, "
          f"sample_every={rc.sample_every} (fixed-z snapshots of {rc.preview_samples} included), "
          f"CLI-like callbacks; built in {time.perf_counter() - t0:.2f}s, "
          f"{trainer.engine.num_parameters():,} parameters")
    print(f"   bare loop: same nets/weights/Adam/batches, loss by hand, loss.item() every "
          f"{rc.log_every} steps")
    if steps % rc.log_every:
        print(f"   NOTE: --steps {steps} is not a multiple of log_every={rc.log_every}: every "
              f"train(until=...) call ends with an extra metric read-back (cheap; not removed)")
    # 1. the bare loop is the same model
    idx_ok = check_same_indices(trainer, 2 * (bare.n // bare.bs) + 3)
    diff, le, lb = same_losses(trainer, bare, CHECK_STEPS)
    print(f"   same batch indices as BatchSampler over 2 epochs + 3 batches: "
          f"{'yes' if idx_ok else 'NO'}")
    print(f"   same losses, first {CHECK_STEPS} steps (identical weights, batches, RNG state): "
          f"max |engine - bare| = {diff:.3g}")
    print("     engine " + " ".join(f"{v:.4f}" for v in le))
    print("     bare   " + " ".join(f"{v:.4f}" for v in lb))

    # 2. warm-up (excluded), up to a step aligned with the logging/sampling schedule
    user = UserCallbacks()
    w = max(warmup, CHECK_STEPS)
    tw_e = timed(trainer.train, w, user.callbacks())
    tw_b = timed(bare.train, w - CHECK_STEPS)
    print(f"   warm-up to step {w}: engine {tw_e:.1f}s, bare {tw_b:.1f}s (excluded)")

    # 3. interleaved rounds
    user.snapshots = 0
    extra_snapshots = 0
    e_sps, b_sps, ratios, quiet = [], [], [], []
    for r in range(args.rounds):
        def run_engine() -> tuple[float, float, float]:
            return timed_cpu(trainer.train, trainer.step + steps, user.callbacks())

        def run_bare() -> tuple[float, float, float]:
            return timed_cpu(bare.train, steps)

        if r % 2 == 0:
            (te, ce, oe), (tb, cb, ob) = run_engine(), run_bare()
        else:
            (tb, cb, ob), (te, ce, oe) = run_bare(), run_engine()
        extra_snapshots += trainer.step % rc.sample_every != 0
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
    print(f"   snapshots taken by the engine loop: {user.snapshots} (one train() call over "
          f"these steps: {total // rc.sample_every}); the {extra_snapshots} extra ones at the ends "
          f"of train(until=...) calls cost ~{1000 * t_snap:.1f} ms each, "
          f"{100 * extra_snapshots * t_snap / e_time:.2f}% of the engine's timed time (not removed)")
    print(f"   last logged loss: engine mean over last {rc.log_every} steps "
          f"{user.latest.get('loss/total', float('nan')):.3f}, bare last step "
          f"{bare.last_logged:.3f}")
    ratio = statistics.median(ratios)
    res = dict(engine=engine, e=statistics.median(e_sps), b=statistics.median(b_sps),
               ratio=ratio, lo=min(ratios), hi=max(ratios), diff=diff, idx_ok=idx_ok,
               ok=ratio >= GOAL, device=str(trainer.device), quiet=quiet, rounds=len(ratios))
    if args.profile or not res["ok"]:
        print(f"   profile of {engine} ({'requested' if args.profile else 'ratio below goal'}):")
        profile_engine(trainer, bare, max(steps, period))
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", default="ae,vae", help="comma-separated: ae, vae (default ae,vae)")
    p.add_argument("--steps", type=int, default=None,
                   help="steps per loop per round (default: the example config's log_every, 50)")
    p.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    p.add_argument("--arch", choices=("conv", "mlp"), default=None,
                   help="override model.arch (default: the example config's, conv)")
    p.add_argument("--warmup", type=int, default=None,
                   help="warm-up steps per loop, excluded (default: lcm(log_every, sample_every) "
                        "of the example config, 250, so snapshots then fall on their schedule)")
    p.add_argument("--profile", action="store_true",
                   help="print the engine loop's time breakdown even when the goal is met")
    p.add_argument("--verbose", action="store_true",
                   help="print every round (by default only rounds marked BUSY)")
    args = p.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ("ae", "vae"):
            p.error(f"--engines: {e!r} is not supported here; choose from ae, vae")
    if args.rounds < 1 or (args.steps is not None and args.steps < 1):
        p.error("--rounds and --steps must be at least 1")

    threads = configure_threads(0)          # what Trainer does with run.threads = 0
    la = os.getloadavg()
    print("loop_overhead: engine loop (studio.training.Trainer) vs a bare PyTorch loop, "
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
    print(f"  {'engine':<7}{'engine steps/s':>15}{'bare steps/s':>14}{'ratio':>8}"
          f"{'min':>7}{'max':>7}  {'quiet rounds: n, ratio':>22}  {'loss diff':>9}  "
          f"verdict (goal >= {GOAL})")
    for r in results:
        q = r["quiet"]
        qs = f"{len(q)}/{r['rounds']}, " + (f"{statistics.median(q):.3f}" if q else "  -  ")
        print(f"  {r['engine']:<7}{r['e']:>15.2f}{r['b']:>14.2f}{r['ratio']:>8.3f}{r['lo']:>7.3f}"
              f"{r['hi']:>7.3f}  {qs:>22}  {r['diff']:>9.2g}  {'PASS' if r['ok'] else 'BELOW'}"
              + (f" (unreliable: {r['rounds'] - len(q)}/{r['rounds']} rounds BUSY; rerun on an "
                 f"idle machine)" if 2 * len(q) < r["rounds"] else ""))
    print("  (steps/s: medians over rounds; ratio: median of per-round ratios, with min and max; "
          "quiet rounds: those not BUSY)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
