"""Crash-safe file writes: temp file in the same folder + fsync + os.replace.

A crash or exception at any point leaves either the old file or the new one, never a mix,
and never a temporary file behind (the temp is removed on every failure path we can see;
a hard kill can leave one, which `clean_stale_temps` removes on the next open).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

TEMP_PREFIX = ".tmp-"

# Tests replace this to kill the process (os._exit) or fail a write (OSError ENOSPC) at a
# named point of a multi-file save; production code never sets it.
FAULT_HOOK: Optional[Callable[[str], None]] = None


def fault_point(name: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(name)


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates files 0600; a saved file should get the mode any other new file gets
_FILE_MODE = 0o666 & ~_current_umask()
_DIR_MODE = 0o777 & ~_current_umask()


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yields a temp path beside `target`; on clean exit it replaces `target` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + target.name + ".", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        os.chmod(tmp_path, _FILE_MODE)
        yield tmp_path
        fault_point(f"write:{target.name}")
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


def publish_folder(target: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Create the folder `target` whole or not at all: `writer` fills a temp folder beside
    it, every file is fsynced, and one rename publishes it. `target` must not exist."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + target.name + ".", dir=target.parent))
    try:
        os.chmod(tmp, _DIR_MODE)
        writer(tmp)
        for f in tmp.iterdir():
            os.chmod(f, _FILE_MODE)
            _fsync_file(f)
        _fsync_dir(tmp)
        fault_point(f"publish:{target.name}")
        os.rename(tmp, target)
        fault_point(f"published:{target.name}")
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_folder(folder: str | os.PathLike) -> None:
    """Rename first, then delete: a kill half-way leaves a temp name (cleaned on the next
    open for writing), never a half-deleted folder under its real name."""
    folder = Path(folder)
    doomed = folder.with_name(f"{TEMP_PREFIX}del-{folder.name}.{os.getpid()}")
    os.rename(folder, doomed)
    fault_point(f"removing:{folder.name}")
    shutil.rmtree(doomed, ignore_errors=True)


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    removed = []
    for p in Path(folder).glob(TEMP_PREFIX + "*"):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
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
