"""Device and thread selection for training."""
from __future__ import annotations

import os
from pathlib import Path

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def pick_device(requested: str = "auto") -> torch.device:
    """"auto" prefers CUDA, then Apple's MPS, then the CPU; an explicit choice must exist.
    A config names its device without checking it (a run trained on a GPU still opens on a
    CPU-only machine for viewing), so this is where an absent device is refused."""
    from .config import ConfigError     # late: studio.core.config imports this module
    avail = available_devices()
    if requested == "auto":
        for name in ("cuda", "mps", "cpu"):
            if name in avail:
                return torch.device(name)
    text = str(requested)
    base, colon, index = text.partition(":")
    # only CUDA numbers its devices; torch.device("cuda:abc") would raise a RuntimeError
    numbered = base == "cuda" and index.isascii() and index.isdigit()
    if base not in DEVICE_CHOICES[1:] or (colon and not numbered):
        raise ConfigError(f"run.device: unknown device {text[:40]!r}; choose one of "
                          f"{', '.join(DEVICE_CHOICES)}")
    if base not in avail or (numbered and int(index) >= torch.cuda.device_count()):
        present = avail + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        raise ConfigError(f"run.device: {text!r} is not available on this machine; "
                          f"available: {', '.join(present)} (or 'auto')")
    return torch.device(text)


def usable_cpus() -> int:
    """CPUs this process may really use: affinity mask, then a cgroup v2 quota if set."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def choose_threads(requested: int = 0, reserve_for_gui: bool = False, tiny: bool = False,
                   share: int = 1) -> int:
    """Intra-op threads for torch. More threads than usable CPUs only adds contention;
    beyond 8, small models gain nothing. The GUI keeps a core for itself when it can.
    `tiny` work (MLPs on 2D points) gets one thread: its ops are too small to split, and
    with two threads on a busy machine every op waits for a descheduled partner (measured
    here: 6.8 ms/step with one thread, 839 ms/step with two, while another process ran).
    `share`: the training processes on this machine (torchrun's LOCAL_WORLD_SIZE), which
    split the CPUs between them."""
    if requested > 0:
        return requested
    if tiny:
        return 1
    n = min(max(1, usable_cpus() // max(1, share)), 8)
    if reserve_for_gui and n > 2:
        n -= 1
    return n


def keep_this_thread_serial() -> None:
    """Run the calling thread's torch ops on one intra-op thread; for the GUI thread, whose
    torch work is small. OpenMP keeps one thread team per thread that opens a parallel
    region. Once the GUI thread owns a team of its own, the teams together outnumber the
    cores and libgomp stops spinning between regions, so every op on the engine host thread
    pays a futex wake-up: the window trained the MNIST VAE at 43-48 it/s against 66-80 it/s
    for the same host thread with a serial GUI thread (measured on 2 cores). The setting is
    per thread (OpenMP's nthreads ICV); the host thread sets its own in configure_threads.
    Call it before other threads compute: torch.set_num_threads also resizes torch's global
    pthreadpool, which must not change under a running op.
    torch initialises a thread's setting from the global one at the thread's first
    get_num_threads or parallel op, so that happens first, or it would undo this."""
    torch.get_num_threads()
    torch.set_num_threads(1)


def configure_threads(requested: int = 0, reserve_for_gui: bool = False, tiny: bool = False,
                      share: int = 1) -> int:
    n = choose_threads(requested, reserve_for_gui, tiny, share)
    # get_num_threads first: it runs torch's per-thread initialisation, which would otherwise
    # reset this thread to the process-wide value at its first parallel op
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
