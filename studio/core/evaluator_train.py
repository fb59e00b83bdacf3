"""Train the MNIST evaluator network and ship it as safetensors (Qt-free).

    python -m studio.core.evaluator_train [--out assets/evaluator-mnist.safetensors]
                                     [--epochs E] [--seed S] [--threads T]

Seeded and reproducible on the CPU (same seed, same thread count -> same weights): the
network's initialisation and dropout draw from the global torch RNG seeded with S; the data
order and the augmentation shifts from a dedicated torch.Generator seeded with S.
Training: the 60,000 MNIST training images, random shifts of up to +-2 px (zero padding +
random crop), Adam with a one-cycle learning-rate schedule, cross-entropy. Every epoch prints
loss, train accuracy (on the augmented batches), test accuracy and elapsed time.

The final test accuracy is measured on the full 10,000-image test split through
`MnistEvaluator` itself (BatchNorm folded, the exact path users get), written into the file's
metadata with the training config, and checked again after reloading the written file.
A result below --min-accuracy (default 0.992) is not written.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .atomic import write_with
from .device import configure_threads
from .evaluator import (DEFAULT_PATH, FORMAT, Architecture, MnistCNN, MnistEvaluator,
                        FEATURE_LAYER)

DEFAULTS = dict(epochs=8, batch=128, lr=3e-3, weight_decay=0.0, shift=2, seed=0)


def shift_batch(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Random translation of each image by up to +-shift px (zero fill): pad, then crop."""
    if shift <= 0:
        return x
    n, c, h, w = x.shape
    padded = F.pad(x, (shift, shift, shift, shift))
    offs = torch.randint(0, 2 * shift + 1, (2, n), generator=generator)
    rows = (offs[0][:, None] + torch.arange(h))[:, :, None]     # (n, h, 1)
    cols = (offs[1][:, None] + torch.arange(w))[:, None, :]     # (n, 1, w)
    idx = torch.arange(n)[:, None, None]
    return padded[:, 0][idx, rows, cols][:, None] if c == 1 else \
        padded.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)


def _to_input(xb_u8: torch.Tensor) -> torch.Tensor:
    return (xb_u8.float() / 255.0).contiguous(memory_format=torch.channels_last)


def test_accuracy(model: MnistCNN, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = torch.zeros((), dtype=torch.long)
    with torch.inference_mode():
        for s in range(0, len(x), batch):
            correct += (model(_to_input(x[s:s + batch])).argmax(1) == y[s:s + batch]).sum()
    model.train()
    return correct.item() / len(x)


def train(epochs: int, batch: int, lr: float, weight_decay: float, shift: int, seed: int,
          arch: Architecture = Architecture(), log=print) -> tuple[MnistCNN, dict]:
    from .data import load_dataset
    ds = load_dataset("mnist")
    train_x, train_y = torch.from_numpy(ds.train_x), torch.from_numpy(ds.train_y)
    test_x, test_y = torch.from_numpy(ds.test_x), torch.from_numpy(ds.test_y)

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = MnistCNN(arch).to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(train_x)
    steps_per_epoch = (n + batch - 1) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch)
    t0 = time.perf_counter()
    history = []
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.long)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            xb = _to_input(shift_batch(train_x[idx], shift, gen))
            yb = train_y[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == yb).sum()
        acc = test_accuracy(model, test_x, test_y)
        elapsed = time.perf_counter() - t0
        row = dict(epoch=epoch, loss=loss_sum.item() / n, train_acc=correct.item() / n,
                   test_acc=acc, elapsed=elapsed)
        history.append(row)
        log(f"epoch {epoch:2d}/{epochs}  loss {row['loss']:.4f}  train acc {row['train_acc']:.4f}"
            f"  test acc {acc:.4f}  elapsed {elapsed:6.1f} s", flush=True)
    model.eval()
    return model, {"history": history, "train_seconds": time.perf_counter() - t0,
                   "test_x": ds.test_x, "test_y": ds.test_y}


def save_evaluator(path: Path, model: MnistCNN, metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file
    # contiguous copies: channels_last parameters are not contiguous in NCHW order
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}

    def writer(tmp: Path) -> None:
        save_file(tensors, str(tmp), metadata=metadata)
        os.chmod(tmp, 0o644)     # the temp file is private (0600); this one is shipped
    write_with(path, writer)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m studio.core.evaluator_train",
                                description="Train the MNIST evaluator CNN and save it as "
                                            "safetensors with its accuracy and config.")
    p.add_argument("--out", type=Path, default=DEFAULT_PATH, help="output .safetensors file")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="peak one-cycle learning rate")
    p.add_argument("--weight-decay", type=float, default=DEFAULTS["weight_decay"])
    p.add_argument("--shift", type=int, default=DEFAULTS["shift"],
                   help="random shift augmentation in pixels (0 = none)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = usable CPUs)")
    p.add_argument("--min-accuracy", type=float, default=0.992,
                   help="refuse to write a network below this test accuracy")
    a = p.parse_args(argv)
    if a.epochs < 1 or a.batch < 1 or a.lr <= 0 or a.shift < 0:
        p.error("epochs and batch must be >= 1, lr > 0, shift >= 0")

    threads = configure_threads(a.threads)
    arch = Architecture()
    config = {"epochs": a.epochs, "batch": a.batch, "lr": a.lr, "weight_decay": a.weight_decay,
              "optimizer": "adam", "schedule": "onecycle", "seed": a.seed,
              "augmentation": {"random_shift_px": a.shift, "fill": 0},
              "data": "mnist train split (60000)", "architecture": arch.to_dict()}
    print(f"training the MNIST evaluator: {json.dumps(config)}\n"
          f"torch {torch.__version__}, {threads} threads", flush=True)
    model, info = train(a.epochs, a.batch, a.lr, a.weight_decay, a.shift, a.seed, arch)
    train_seconds = info["train_seconds"]

    # The accuracy that goes into the file is measured through the evaluator itself.
    ev = MnistEvaluator.from_model(model)
    t = time.perf_counter()
    accuracy = ev.accuracy_on(info["test_x"], info["test_y"])
    score_s = time.perf_counter() - t
    print(f"final test accuracy {accuracy:.4f} (full 10000-image test split, via MnistEvaluator, "
          f"scored in {score_s:.2f} s); training wall time {train_seconds:.1f} s", flush=True)
    if accuracy < a.min_accuracy:
        print(f"error: accuracy {accuracy:.4f} is below --min-accuracy {a.min_accuracy}; "
              f"{a.out} not written (train longer: --epochs)", file=sys.stderr)
        return 1

    metadata = {
        "format": FORMAT,
        "test_accuracy": f"{accuracy:.4f}",
        "test_correct": str(int(round(accuracy * len(info["test_y"])))),
        "test_images": str(len(info["test_y"])),
        "config": json.dumps(config, sort_keys=True),
        "feature_layer": FEATURE_LAYER,
        "feature_dim": str(arch.features),
        "history": json.dumps([{k: round(v, 5) if isinstance(v, float) else v
                                for k, v in r.items()} for r in info["history"]]),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "train_seconds": f"{train_seconds:.1f}",
        "threads": str(threads),
        "command": " ".join(["python -m studio.core.evaluator_train",
                             *(sys.argv[1:] if argv is None else argv)]),
    }
    save_evaluator(a.out, model, metadata)

    # Read the written file back and check it scores the same.
    reloaded = MnistEvaluator.load(a.out)
    again = reloaded.accuracy_on(info["test_x"], info["test_y"])
    if abs(again - accuracy) > 1e-9:
        print(f"error: the reloaded file scores {again:.4f}, not {accuracy:.4f}", file=sys.stderr)
        return 1
    print(f"wrote {a.out} ({a.out.stat().st_size / 1024:.0f} KiB), test accuracy {accuracy:.4f}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
