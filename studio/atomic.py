"""Crash-safe file writes: temp file in the same folder + fsync + os.replace.

A crash or exception at any point leaves either the old file or the new one, never a mix,
and never a temporary file behind (the temp is removed on every failure path we can see;
a hard kill can leave one, which `clean_stale_temps` removes on the next open).
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

TEMP_PREFIX = ".tmp-"


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yields a temp path beside `target`; on clean exit it replaces `target` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + target.name + ".", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _fsync_file(tmp_path)
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | os.PathLike, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_with(target: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Atomically write `target` with a function that writes to a given path."""
    with atomic_path(target) as tmp:
        writer(tmp)


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    removed = []
    for p in Path(folder).glob(TEMP_PREFIX + "*"):
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
