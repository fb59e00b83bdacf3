"""Quality per CPU minute: the studio's default preset of each family against a reference
implementation of the same kind of model written the way the well-known reference scripts
write it (bench/reference_models.py), both trained for the same wall time on this machine,
one after the other, then scored with the same metrics (studio/core/evaluation.py).

Also: sampling speed per family (samples per second at batch 64 and 1,000).

Run: python bench/quality_per_minute.py [--seconds 60] [--n 10000] [--families ae,vae]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reference_models import (ReferenceAE, ReferenceVAE, reference_samples,  # noqa: E402
                              reference_test_elbo, train_for)
from studio.core.config import load_config  # noqa: E402
from studio.core.device import configure_threads  # noqa: E402
from studio.core.evaluation import draw_samples, image_quality  # noqa: E402
from studio.core.training import Callbacks, Trainer  # noqa: E402

COLUMNS = ["quality/fd", "quality/precision", "quality/recall", "quality/classifier_score",
           "coverage/classes", "coverage/kl"]


def train_studio(family: str, seconds: float) -> tuple[Trainer, dict]:
    config = load_config(ROOT / "examples" / f"{family}-mnist.toml").replace(run={"steps": 10 ** 9})
    t = Trainer(config)
    t0 = time.perf_counter()
    t.train(callbacks=Callbacks(should_abort=lambda: time.perf_counter() - t0 >= seconds))
    return t, {"steps": t.step, "seconds": time.perf_counter() - t0}


def sampling_speed(sample_fn, n: int, repeats: int = 3) -> float:
    sample_fn(n)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        sample_fn(n)
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--families", default="ae,vae")
    args = ap.parse_args()
    threads = configure_threads(0)
    families = args.families.split(",")
    print(f"### Quality per CPU minute ({args.seconds:.0f} s of training each, {threads} threads)\n")
    print(f"Command: `python bench/quality_per_minute.py --seconds {args.seconds:g} --n {args.n} "
          f"--families {args.families}`. Each model trains for the same wall time, one after the "
          f"other, then {args.n:,} samples are scored against the MNIST test split with the "
          f"bundled evaluator (studio/core/evaluation.py). The `real data` row is real training "
          f"images scored the same way (the best reachable value at this n).\n")
    header = "| model | steps | test ELBO | " + " | ".join(c.split("/")[1] for c in COLUMNS) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    speeds = []
    real_row = None
    for family in families:
        trainer, info = train_studio(family, args.seconds)
        ds = trainer.dataset
        samples = draw_samples(trainer.engine, args.n, seed=0)
        q = image_quality(samples, ds)
        elbo = trainer.evaluate().get("test/elbo") if family == "vae" else None
        _row(f"studio `{family}` (examples/{family}-mnist.toml)", info["steps"], elbo, q)
        real_row = q
        ref = ReferenceVAE() if family == "vae" else ReferenceAE()
        rinfo = train_for(ref, ds.train_x, args.seconds)
        rq = image_quality(reference_samples(ref, args.n, 0, ds.train_x), ds)
        relbo = reference_test_elbo(ref, ds.test_x) if family == "vae" else None
        style = "pytorch/examples vae/main.py" if family == "vae" else "tutorial-style MLP AE"
        _row(f"reference {family} ({style})", rinfo["steps"], relbo, rq)

        engine = trainer.engine
        with torch.no_grad():
            s64 = sampling_speed(lambda n: draw_samples(engine, n, seed=1, batch=n), 64)
            s1k = sampling_speed(lambda n: draw_samples(engine, n, seed=1, batch=n), 1000)
        speeds.append((family, engine.num_parameters(), s64, s1k))
    if real_row is not None:
        print("| real data (train vs test) | | | "
              f"{real_row['quality/fd_floor']:.3g} | {real_row['quality/precision_floor']:.3f} | "
              f"{real_row['quality/recall_floor']:.3f} | {real_row['quality/classifier_score_real']:.3f} "
              f"| 10 | 0 |")
    print("\nfd: Frechet distance on evaluator features (lower is better); precision/recall: "
          "k-NN manifolds, k = 3; classifier_score: Inception Score analogue (ceiling: real "
          "data); classes: classes with at least one sample; kl: KL of the predicted class "
          "histogram to the test split's.\n")
    print("### Sampling speed per family\n")
    print("| family | parameters | samples/s at batch 64 | samples/s at batch 1,000 |")
    print("|---|---|---|---|")
    for family, params, s64, s1k in speeds:
        print(f"| {family} | {params:,} | {s64:,.0f} | {s1k:,.0f} |")
    return 0


def _row(name, steps, elbo, q) -> None:
    cells = [f"{q[c]:.3g}" if c != "coverage/classes" else f"{q[c]:.0f}" for c in COLUMNS]
    e = f"{elbo:.1f}" if elbo is not None else "-"
    print(f"| {name} | {steps:,} | {e} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
