"""The sample gallery: the fixed-z preview as it trains, the run's saved snapshots as a
history to scrub, and the sample exports (grid, individual PNGs)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from studio.core.export import export_grid, export_individual
from studio.core.snapshot import RunSnapshot

from .base import Controller


def load_snapshot(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("L" if im.mode in ("L", "LA", "I", "I;16") else "RGB"))


class GalleryController(Controller):
    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.last_samples: Optional[tuple[int, np.ndarray]] = None

    def on_run_opened(self, snap: RunSnapshot) -> None:
        if snap.path is not None:
            snaps = dict(snap.snapshots)
            self.panel.set_history(sorted(snaps), lambda s, snaps=snaps: load_snapshot(snaps[s]))

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        self.last_samples = (step, samples)
        self.panel.set_samples(step, samples)

    def on_dataset(self, dataset: Any) -> None:
        if dataset.spec.kind == "points":
            self.panel.set_reference_points(dataset.train_x[:2000])

    def clear(self) -> None:
        self.last_samples = None
        self.panel.clear()

    # -- exports ----------------------------------------------------------------------------------
    def export_grid(self) -> Optional[list]:
        s = self.session
        if self.last_samples is None:
            return s.warn("Nothing to export", "No samples yet: train or open a run.")
        path = s.ask_save("Export sample grid", "samples.png", "PNG images (*.png)")
        if not path:
            return None
        step, samples = self.last_samples
        ds = s.browser_dataset
        ref = ds.train_x[:2000] if samples.ndim == 2 and ds is not None else None
        return s.exported([export_grid(path, samples,
                                       s.provenance({"samples": "fixed-z preview grid"}, step),
                                       reference=ref, scale=s.export_scale())])

    def export_individual(self) -> Optional[list]:
        s = self.session
        if self.last_samples is None or self.last_samples[1].ndim != 4:
            return s.warn("Nothing to export", "Individual PNGs need image samples.")
        folder = s.ask_folder("Export samples into folder")
        if not folder:
            return None
        step, samples = self.last_samples
        return s.exported(export_individual(folder, samples, s.provenance(step=step),
                                            scale=s.export_scale()))
