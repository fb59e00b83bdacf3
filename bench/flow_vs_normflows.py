"""Test bits/dim per CPU minute: the studio's `flow` engine (Glow) against normflows' Glow
(issue #16), same data, same wall time, side by side in one run.

    python bench/flow_vs_normflows.py [--budgets 2,5,15] [--test-n 10000] [--sequential]
                                      [--config examples/flow-mnist.toml] [--json OUT]

normflows (https://github.com/VincentStimper/normalizing-flows, `pip install normflows`) is
installed only for this benchmark; it is not a dependency of the studio.

What runs
- studio: `studio.core.training.Trainer` with the config of examples/flow-mnist.toml (only
  `run.threads` and `run.device = "cpu"` overridden; without the file: levels 2, steps 8,
  hidden 64, warm-up 200, batch 64, Adam lr 1e-3, beta1 0.9). Everything a user's run pays
  is paid here: metric read-backs every `log_every` steps, the fixed-z sample snapshot and
  the 512-image held-out curve every `sample_every` steps (no run folder: nothing written).
- normflows: the multi-scale Glow of normflows' examples/glow.ipynb built for 1x28x28
  (L = the preset's levels, K = its steps): level i has K `nf.flows.GlowBlock(C 2^(L+1-i),
  hidden)` (affine coupling with sigmoid scale and a zero-initialised ConvNet2d 3x3 -> 1x1 ->
  3x3, LU 1x1 convolution, actnorm with data-dependent init) then `nf.flows.Squeeze()`,
  `nf.flows.Merge()` between levels and a learned diagonal Gaussian per level
  (`nf.distributions.DiagGaussian(latent_shape)`: the notebook's ClassCondDiagGaussian
  without the class conditioning, since the studio's model is unconditional; `--nf-base glow`
  uses `nf.distributions.GlowBase`, one mean and log-std per channel) in
  `nf.MultiscaleFlow(q0, flows, merges, class_cond=False)`. The preset's coupling and mixing
  map to GlowBlock's `scale` ('additive' -> False) and `use_lu` ('plain' -> False); the hidden
  width is the one whose parameter count is closest to the studio model's (both printed).
  Trained by a plain loop with the studio's training recipe so only the model differs: the
  same batches in the same order (the studio's BatchSampler with the run seed over the same
  uint8 training split), the same optimizer built from the same [optim] section
  (engines.base.make_optimizer, clip_and_step), the same linear lr warm-up, the same loss
  (mean bits/dim of the dequantised batch). A step whose loss is not finite is skipped, as
  in normflows' notebook (counted in the output).

The same variable for both
- Dequantisation: x_deq = (pixel + u) / 256, u ~ U[0, 1)^D, in [0, 1)^D
  (engines.flow.model.Dequantise), for training batches and the test set alike. This is
  exactly normflows' own MNIST/CIFAR pipeline (ToTensor, Scale(255/256), Jitter(1/256)).
- normflows' Glow example has no `transform` (no logit or centring layer) and no
  preprocessing inside MultiscaleFlow.log_prob, so `model.log_prob(x_deq, None)` is already
  the log density of x_deq in [0, 1)^D: nothing to correct. By default (`--nf-preprocess
  same`) normflows' model gets the preset's own preprocessing in front of it (the studio's
  `Preprocess`, logit on MNIST, its log-det added), so both model the same variable the same
  way and only the flows differ; `--nf-preprocess none` runs the notebook as it is. The studio's log_prob is also
  the density of x_deq in [0, 1)^D: its 'center' preprocessing (x - 1/2) has log-det 0 and
  its 'logit' option adds its exact log-det. (normflows' own `nf.utils.Logit` /
  `nf.transforms.Logit`, if a variant used it, would need its log-det counted the same way;
  the Glow example does not use it.)
- Test bits/dim = mean over images of (-log p(x_deq) + D log 256) / (D log 2), D = 784, on
  the first `--test-n` images of the MNIST test split (all 10,000 by default), with ONE
  dequantisation draw u from torch.Generator().manual_seed(EVAL_SEED) shared by both models,
  computed in float64 by the same function for both.

Timing
- Budgets are minutes of training wall time. At each budget the training clock stops, the
  test bits/dim is evaluated, and training continues; evaluation time is not counted.
- Default: both libraries train at the same time, each in its own process (multiprocessing
  spawn) with 1 torch thread, so each has one of the 2 cores for the same wall time.
  `--sequential`: one after the other, 2 threads each. The CPU seconds each process spent
  training are printed beside the steps, so a starved process shows.

Published MNIST test bits/dim, for reference (long GPU training, much larger models), as
tabulated by FFJORD (Grathwohl et al. 2019, table 2): MAF 1.89 (Papamakarios et al. 2017),
RealNVP 1.06 (Dinh et al. 2017), Glow 1.05 (Kingma & Dhariwal 2018).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESET = ROOT / "examples" / "flow-mnist.toml"
# until examples/flow-mnist.toml exists (the brief's values)
FALLBACK = {
    "run": {"seed": 0, "batch_size": 64},
    "data": {"name": "mnist"},
    "model": {"engine": "flow", "levels": 2, "steps": 8, "hidden": 64, "warmup": 200},
    "optim": {"name": "adam", "lr": 1e-3, "beta1": 0.9},
}
EVAL_SEED = 12345
EVAL_BATCH = 500
PUBLISHED = [("MAF (Papamakarios et al. 2017)", 1.89), ("RealNVP (Dinh et al. 2017)", 1.06),
             ("Glow (Kingma & Dhariwal 2018)", 1.05)]
LIBS = ("studio", "normflows")


# -- shared by both workers ---------------------------------------------------------------------
def load_config_dict(path: Optional[str]) -> tuple[dict, str]:
    from studio.core.config import config_from_dict, load_config
    p = Path(path) if path else PRESET
    if p.exists():
        cfg, source = load_config(p), str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
    elif path:
        raise SystemExit(f"{path}: no such config file")
    else:
        cfg, source = config_from_dict(FALLBACK), "built-in fallback (examples/flow-mnist.toml missing)"
    if cfg.engine != "flow":
        raise SystemExit(f"{source}: engine is {cfg.engine!r}, not 'flow'")
    return cfg.to_dict(), source


def test_images(dataset, n: int):
    """The first n test images dequantised once with the fixed seed: (pixel + u) / 256."""
    import torch
    from engines.flow.model import Dequantise
    x = torch.from_numpy(dataset.test_x[:n]).float().div_(255.0)
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(EVAL_SEED))
    return Dequantise.apply(x, u)


def test_bits_per_dim(log_prob: Callable, xd) -> float:
    """Mean of (-log p(x_deq) + D log 256) / (D log 2) over the images, in float64."""
    import torch
    from engines.flow.model import Dequantise
    dims = xd[0].numel()
    with torch.no_grad():
        lp = torch.cat([log_prob(xd[i:i + EVAL_BATCH]).double()
                        for i in range(0, len(xd), EVAL_BATCH)])
    return float(Dequantise.bits_per_dim(lp, dims).mean())


def build_normflows_glow(shape, levels: int, steps: int, hidden: int, coupling: str,
                         mixing: str, base: str = "diag"):
    """normflows' examples/glow.ipynb for a (C, H, W) image, unconditional."""
    import normflows as nf
    if mixing not in ("lu", "plain"):
        raise SystemExit(f"model.mixing = {mixing!r}: normflows' GlowBlock has only the 1x1 "
                         "convolution ('lu' or 'plain')")
    c, h, w = shape
    L = levels
    q0, merges, flows = [], [], []
    for i in range(L):
        level = [nf.flows.GlowBlock(c * 2 ** (L + 1 - i), hidden, split_mode="channel",
                                    scale=coupling == "affine", use_lu=mixing == "lu")
                 for _ in range(steps)]
        level.append(nf.flows.Squeeze())
        flows.append(level)
        if i > 0:
            merges.append(nf.flows.Merge())
            latent = (c * 2 ** (L - i), h // 2 ** (L - i), w // 2 ** (L - i))
        else:
            latent = (c * 2 ** (L + 1), h // 2 ** L, w // 2 ** L)
        q0.append(nf.distributions.GlowBase(latent) if base == "glow"
                  else nf.distributions.DiagGaussian(latent))
    return nf.MultiscaleFlow(q0, flows, merges, class_cond=False)


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def matched_hidden(cfg, target: int, base: str) -> tuple[int, int]:
    """The normflows hidden width whose parameter count is closest to `target`."""
    import torch
    m = cfg["model"]
    best = None
    state = torch.random.get_rng_state()
    for hid in range(max(2, m["hidden"] - 16), m["hidden"] + 17):
        count = n_params(build_normflows_glow((1, 28, 28), m["levels"], m["steps"], hid,
                                              m["coupling"], m["mixing"], base))
        if best is None or abs(count - target) < abs(best[1] - target):
            best = (hid, count)
    torch.random.set_rng_state(state)
    return best


# -- the two workers ----------------------------------------------------------------------------
class Clock:
    """Training wall time and CPU time, only while running."""

    def __init__(self):
        self.wall = self.cpu = 0.0
        self._t = None

    def start(self):
        self._t = (time.perf_counter(), time.process_time())

    def stop(self):
        w, c = self._t
        self.wall += time.perf_counter() - w
        self.cpu += time.process_time() - c
        self._t = None

    def now(self) -> float:
        return self.wall + (time.perf_counter() - self._t[0] if self._t else 0.0)


def run_studio(cfg_dict, threads, budgets_s, test_n, report, ready) -> None:
    from studio.core.config import config_from_dict
    from studio.core.training import Trainer
    cfg = config_from_dict(cfg_dict).replace(run={"threads": threads, "device": "cpu"})
    trainer = Trainer(cfg)
    xd = test_images(trainer.dataset, test_n)
    engine = trainer.engine
    report({"event": "ready", "params": engine.num_parameters(), "threads": threads})
    ready()
    cpu = 0.0
    for budget in budgets_s:
        c0 = time.process_time()
        result = trainer.train(until=10 ** 15,
                               should_abort=lambda: trainer.training_time() >= budget)
        cpu += time.process_time() - c0
        row = {"event": "budget", "budget_s": budget, "steps": trainer.step,
               "images": trainer.step * cfg.run.batch_size, "train_s": trainer.training_time(),
               "cpu_s": cpu, "train_bpd": trainer.latest.get("loss/total")}
        if result.reason == "nonfinite":
            row.update(test_bpd=float("nan"), note=result.message)
            report(row)
            return
        t0 = time.perf_counter()
        row["test_bpd"] = test_bits_per_dim(engine.log_prob, xd)
        row["eval_s"] = time.perf_counter() - t0
        report(row)


def run_normflows(cfg_dict, threads, budgets_s, test_n, report, ready, hidden, base,
                  preprocess="same") -> None:
    import torch
    from engines.base import clip_and_step, make_optimizer
    from engines.flow.model import Dequantise, Preprocess
    from studio.core.config import config_from_dict
    from studio.core.data import load_dataset
    from studio.core.device import configure_threads
    from studio.core.training import BatchSampler, DeviceData
    cfg = config_from_dict(cfg_dict)
    configure_threads(threads)
    rc, m = cfg.run, cfg.model
    dataset = load_dataset(cfg.data_name, cfg.data, seed=rc.seed)
    spec = dataset.spec
    torch.manual_seed(rc.seed)
    device = torch.device("cpu")
    model = build_normflows_glow(spec.sample_shape, m.levels, m.steps, hidden, m.coupling,
                                 m.mixing, base).to(device)
    opt = make_optimizer(model.parameters(), cfg.optim)
    # "same": the preset's preprocessing in front of normflows' model, its log-det counted,
    # so both model the density of the same x_deq and only the flows differ; "none": the
    # notebook as it is (no preprocessing)
    pre = Preprocess(m.preprocess, m.logit_alpha) if preprocess == "same" else None

    def log_prob(x):
        if pre is None:
            return model.log_prob(x, None)
        y, ld = pre(x)
        return model.log_prob(y, None) + ld

    train = DeviceData(dataset.train_x, dataset.train_y, device)
    sampler = BatchSampler(len(train), rc.batch_size, rc.seed, device)
    dims = spec.numel
    xd = test_images(dataset, test_n)
    report({"event": "ready", "params": n_params(model), "threads": threads})
    ready()
    clock, steps, skipped = Clock(), 0, 0
    acc, acc_n, last = 0.0, 0, None        # the train loss read back like the Trainer's
    lr = cfg.optim.lr
    for budget in budgets_s:
        model.train()
        clock.start()
        while clock.now() < budget:
            if m.warmup > 0 and steps <= m.warmup:       # the engine's linear warm-up
                for group in opt.param_groups:
                    group["lr"] = lr * min(1.0, (steps + 1) / m.warmup)
            x = train.batch(sampler.next_indices()).x
            x = Dequantise.apply(x, torch.rand_like(x))
            loss = Dequantise.bits_per_dim(log_prob(x), dims).mean()
            opt.zero_grad(set_to_none=True)
            if torch.isfinite(loss):
                loss.backward()
                clip_and_step(opt, model.parameters(), cfg.optim.grad_clip)
            else:
                skipped += 1
            steps += 1
            acc, acc_n = acc + loss.detach(), acc_n + 1
            if steps % rc.log_every == 0:
                last, acc, acc_n = float(acc) / acc_n, 0.0, 0
        if acc_n:
            last, acc, acc_n = float(acc) / acc_n, 0.0, 0
        clock.stop()
        model.eval()
        t0 = time.perf_counter()
        bpd = test_bits_per_dim(log_prob, xd)
        report({"event": "budget", "budget_s": budget, "steps": steps,
                "images": steps * rc.batch_size, "train_s": clock.wall, "cpu_s": clock.cpu,
                "train_bpd": last, "test_bpd": bpd,
                "eval_s": time.perf_counter() - t0, "skipped": skipped})


def worker(lib: str, args: tuple, queue, barrier) -> None:
    import warnings
    warnings.filterwarnings("ignore", message=".*torch.lu is deprecated.*")
    report = lambda row: queue.put((lib, row))          # noqa: E731
    ready = (lambda: barrier.wait()) if barrier is not None else (lambda: None)
    try:
        (run_studio if lib == "studio" else run_normflows)(*args[:4], report, ready, *args[4:])
    except BaseException as e:            # noqa: BLE001  (reported, then the worker ends)
        import traceback
        if barrier is not None:
            barrier.abort()
        report({"event": "error", "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc()})
    finally:
        report({"event": "done"})


# -- driver ---------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budgets", default="2,5,15", help="minutes of training wall time")
    ap.add_argument("--test-n", type=int, default=10000, help="test images (all: 10000)")
    ap.add_argument("--sequential", action="store_true",
                    help="one library after the other with 2 threads each")
    ap.add_argument("--config", help="the studio config (default examples/flow-mnist.toml)")
    ap.add_argument("--nf-hidden", type=int, help="normflows hidden channels (default: the "
                                                 "width closest in parameter count)")
    ap.add_argument("--nf-base", choices=("diag", "glow"), default="diag",
                    help="normflows base per level: DiagGaussian (per element) or GlowBase "
                         "(per channel)")
    ap.add_argument("--nf-preprocess", choices=("same", "none"), default="same",
                    help="normflows' input: 'same' = the studio preset's preprocessing (logit) "
                         "in front of it, log-det counted (only the flows differ); 'none' = "
                         "its glow.ipynb as it is")
    ap.add_argument("--json", help="write the figures to this JSON file")
    args = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore", message=".*torch.lu is deprecated.*")
    budgets = sorted(float(b) for b in args.budgets.split(","))
    budgets_s = [60.0 * b for b in budgets]
    cfg, source = load_config_dict(args.config)
    m = cfg["model"]

    import torch
    from engines.flow.model import GlowFlow
    ours = n_params(GlowFlow((1, 28, 28), m["levels"], m["steps"], m["hidden"], m["coupling"],
                             m["mixing"]))
    if args.nf_hidden:
        nf_hidden = args.nf_hidden
        nf_count = n_params(build_normflows_glow((1, 28, 28), m["levels"], m["steps"],
                                                 nf_hidden, m["coupling"], m["mixing"],
                                                 args.nf_base))
    else:
        nf_hidden, nf_count = matched_hidden(cfg, ours, args.nf_base)
    threads = 2 if args.sequential else 1
    mode = ("sequential, 2 threads each" if args.sequential
            else "side by side, one process and 1 torch thread each")
    print(f"# Flows against normflows: test bits/dim per training minute ({mode})\n")
    print(f"Command: `python bench/flow_vs_normflows.py --budgets {args.budgets} --test-n "
          f"{args.test_n}{' --sequential' if args.sequential else ''}"
          f"{' --nf-base glow' if args.nf_base == 'glow' else ''}"
          f"{' --nf-preprocess none' if args.nf_preprocess == 'none' else ''}`; torch {torch.__version__}, "
          f"normflows {_version('normflows')}; config: {source}.\n")
    r, o = cfg["run"], cfg["optim"]
    print(f"- studio `flow`: Glow, levels {m['levels']}, steps {m['steps']}, hidden {m['hidden']}, "
          f"{m['coupling']} coupling, {m['mixing']} 1x1 conv, preprocess {m['preprocess']}: "
          f"{ours:,} parameters")
    print(f"- normflows Glow (examples/glow.ipynb, unconditional, {args.nf_base} base): L "
          f"{m['levels']}, K {m['steps']}, hidden {nf_hidden}: {nf_count:,} parameters")
    print(f"- both: MNIST train split, batch {r['batch_size']}, seed {r['seed']}, {o['name']} "
          f"lr {o['lr']:g} betas ({o['beta1']:g}, {o['beta2']:g}), weight decay "
          f"{o['weight_decay']:g}, grad clip {o['grad_clip']:g}, warm-up {m['warmup']} steps; "
          f"x = (pixel + u) / 256; test: first {args.test_n:,} test images, one draw of u\n",
          flush=True)

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    work = {"studio": (cfg, threads, budgets_s, args.test_n),
            "normflows": (cfg, threads, budgets_s, args.test_n, nf_hidden, args.nf_base,
                          args.nf_preprocess)}
    results: dict[str, dict[str, Any]] = {lib: {"rows": []} for lib in LIBS}
    t_start = time.perf_counter()
    if args.sequential:
        for lib in LIBS:
            p = ctx.Process(target=worker, args=(lib, work[lib], queue, None))
            p.start()
            _collect(queue, results, {lib}, t_start)
            p.join()
    else:
        barrier = ctx.Barrier(len(LIBS))
        procs = [ctx.Process(target=worker, args=(lib, work[lib], queue, barrier))
                 for lib in LIBS]
        for p in procs:
            p.start()
        _collect(queue, results, set(LIBS), t_start)
        for p in procs:
            p.join()

    _table(budgets, results)
    if args.json:
        out = {"command": sys.argv, "config_source": source, "config": cfg, "mode": mode,
               "threads": threads, "test_n": args.test_n, "eval_seed": EVAL_SEED,
               "torch": torch.__version__, "normflows": _version("normflows"),
               "params": {"studio": ours, "normflows": nf_count},
               "normflows_hidden": nf_hidden, "normflows_base": args.nf_base,
               "normflows_preprocess": args.nf_preprocess,
               "published": dict(PUBLISHED), "results": results}
        Path(args.json).write_text(json.dumps(out, indent=2))
        print(f"\nwrote {args.json}")
    failed = [lib for lib in LIBS if "error" in results[lib]]
    return 1 if failed else 0


def _collect(queue, results, libs: set, t_start: float) -> None:
    running = set(libs)
    while running:
        lib, row = queue.get()
        event = row.pop("event")
        if event == "done":
            running.discard(lib)
        elif event == "ready":
            results[lib].update(row)
        elif event == "error":
            results[lib]["error"] = row["error"]
            print(f"{lib} FAILED: {row['error']}\n{row['traceback']}", file=sys.stderr)
        else:
            results[lib]["rows"].append(row)
            print(f"  [{time.perf_counter() - t_start:6.0f} s] {lib:9s} "
                  f"{row['budget_s'] / 60:g} min: {row['steps']:,} steps, test "
                  f"{row['test_bpd']:.4f} bits/dim", file=sys.stderr, flush=True)


def _table(budgets, results) -> None:
    print("| budget (min) | library | steps | images seen | CPU s training | train bits/dim "
          "(last log) | test bits/dim |")
    print("|---|---|---|---|---|---|---|")
    for i, b in enumerate(budgets):
        for lib in LIBS:
            rows = results[lib]["rows"]
            if i >= len(rows):
                print(f"| {b:g} | {lib} | - | - | - | - | {results[lib].get('error', 'no result')} |")
                continue
            row = rows[i]
            tr = row.get("train_bpd")
            extra = f" ({row['skipped']} non-finite steps skipped)" if row.get("skipped") else ""
            print(f"| {b:g} | {lib} | {row['steps']:,} | {row['images']:,} | {row['cpu_s']:.0f} | "
                  f"{'-' if tr is None else f'{tr:.3f}'} | **{row['test_bpd']:.3f}**{extra} |")
    for name, value in PUBLISHED:
        print(f"| published | {name} | | | | | {value:.2f} |")
    print("\nTest bits/dim on the MNIST test split, one uniform dequantisation draw (lower is "
          "better); CPU s: process CPU seconds while training (about 60 per minute means one "
          "full core). Published figures (FFJORD's table 2): long GPU training of much larger models.")
    wins = []
    for i, b in enumerate(budgets):
        try:
            s, n = (results[lib]["rows"][i]["test_bpd"] for lib in LIBS)
        except IndexError:
            continue
        wins.append(f"{b:g} min: studio {s:.3f} vs normflows {n:.3f} "
                    f"({'lower' if s < n else 'NOT lower'})")
    if wins:
        print("Goal (studio lower at every budget): " + "; ".join(wins) + ".")


def _version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:     # noqa: BLE001
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
