from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from engines.spec import DataSpec


class DataError(ValueError):
    """A data set cannot be loaded; the message says why in words a user can act on.
    `report` is the folder scan behind it, when there was one (to list every skipped file)."""

    def __init__(self, message: str, report: Optional["ScanReport"] = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str   # short, human: "corrupt image (cannot identify image file)", "zero bytes", ...
    # Machine-readable category, one of SKIP_KINDS, so the GUI can group and tests can check.
    kind: str = ""


# Why a folder scan skips a file. A hidden, unreadable, looping or duplicate folder is listed
# as one entry (its files are not searched).
SKIP_KINDS = ("empty", "not_image", "corrupt", "truncated", "bomb", "unreadable", "unsupported",
              "hidden", "unreadable_folder", "symlink_loop", "duplicate_folder",
              # two folders A/ and B/ paired by file name: a loaded image with no partner on
              # the other side, or a second file of the same name (e.g. 1.png and 1.jpg)
              "unmatched", "duplicate_name")
PAIRINGS = ("paired", "unpaired")


@dataclass
class ScanReport:
    """What a folder scan did: every file it looked at is either loaded or listed here."""

    loaded: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)

    def summary(self, limit: Optional[int] = None) -> str:
        """Counts, then one skipped file per line (the first `limit` of them)."""
        s = f"{self.loaded} loaded, {len(self.skipped)} skipped"
        shown = self.skipped if limit is None else self.skipped[:limit]
        s += "".join(f"\n  {f.path}: {f.reason}" for f in shown)
        more = len(self.skipped) - len(shown)
        return s + (f"\n  ... and {more:,} more" if more else "")

    def by_kind(self) -> dict[str, list[SkippedFile]]:
        out: dict[str, list[SkippedFile]] = {}
        for f in self.skipped:
            out.setdefault(f.kind, []).append(f)
        return out

    def one_line(self, label: str = "folder") -> str:
        """For a CLI status line: `folder: 1,204 loaded, 3 skipped (2 corrupt, 1 hidden)`."""
        s = f"{label}: {self.loaded:,} loaded, {len(self.skipped):,} skipped"
        kinds = sorted(self.by_kind().items(), key=lambda kv: (-len(kv[1]), kv[0]))
        counts = ", ".join(f"{len(files):,} {kind.replace('_', ' ')}" for kind, files in kinds)
        return s + (f" ({counts})" if counts else "")

    def write(self, path: str | os.PathLike) -> None:
        """The whole report as plain text: the one-line summary, then one skipped file per
        line as `kind<TAB>path<TAB>reason`."""
        def cell(text: str) -> str:   # a file name may hold a tab or a newline
            return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        lines = [self.one_line()] + [f"{f.kind}\t{cell(f.path)}\t{cell(f.reason)}"
                                     for f in self.skipped]
        # Undecodable file names (surrogate escapes) must not make the report unwritable.
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write("\n".join(lines) + "\n")


@dataclass
class Dataset:
    name: str
    spec: DataSpec
    train_x: np.ndarray
    train_y: Optional[np.ndarray]
    test_x: np.ndarray
    test_y: Optional[np.ndarray]
    class_names: list[str] = field(default_factory=list)
    report: Optional[ScanReport] = None
    # Ground-truth generative factors per training sample (the `shapes` set), name -> (N,)
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    # Mixture toys (ring8, grid25): the true mode centres (K, dim) and their common std, so
    # evaluation can count covered modes and high-quality samples as in the PacGAN paper.
    modes: Optional[np.ndarray] = None
    mode_sigma: float = 0.0
    # Two sides (image-to-image translation; docs/architecture.md, "Data with two sides").
    # train_x/test_x above stay the TARGET side (B, domain Y): what a translator produces and
    # what every one-sided engine and evaluation sees. The second side is the SOURCE (A,
    # domain X), the translator's input, uint8 (N2, C2, H2, W2) at its own size:
    # - pairing "paired": N2 == N and train_x2[i] is the partner of train_x[i] (shuffle
    #   both with one permutation); train_y2 is then train_y;
    # - pairing "unpaired": two domains of different images, N2 may differ from N (each
    #   side is shuffled on its own); train_y2 are the source side's labels.
    # pairing "" = an ordinary one-sided data set (the x2 fields are None).
    train_x2: Optional[np.ndarray] = None
    train_y2: Optional[np.ndarray] = None
    test_x2: Optional[np.ndarray] = None
    test_y2: Optional[np.ndarray] = None
    pairing: str = ""
    sides: tuple[str, str] = ()       # (source name, target name), e.g. ("edges", "digits")

    @property
    def two_sided(self) -> bool:
        return self.train_x2 is not None

    def __len__(self) -> int:
        return len(self.train_x)
