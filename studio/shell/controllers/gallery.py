"""The sample gallery: the fixed-z preview as it trains, the run's saved snapshots as a
history to scrub, the sample exports (grid, individual PNGs), and for models that sample with
a temperature (normalizing flows) the temperature slider.

The slider edits the run's live parameter [model] temperature through the one live-value path
the Run panel's form uses (Session.set_live_value: the form shows it, the host applies it from
the next step), so the trainer's next snapshots sample at T; meanwhile the grid on screen is
redrawn at once from a "tempered" render (the gallery's fixed codes scaled by T)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QTimer

from studio.core.export import export_grid, export_individual
from studio.core.snapshot import RunSnapshot

from .base import Controller


def load_snapshot(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("L" if im.mode in ("L", "LA", "I", "I;16") else "RGB"))


LIVE_VALUE_DELAY_MS = 250   # a slider drag sends the live value once it rests


def temperature_caption(t: float) -> str:
    return f"fixed z, T = {t:.2f}"


class GalleryController(Controller):
    RENDERS = ("tempered",)

    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.last_samples: Optional[tuple[int, np.ndarray]] = None
        self.temperature: Optional[float] = None     # the run's, as last sent (None: no T)
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_VALUE_DELAY_MS)
        self._live_timer.timeout.connect(self._send_temperature)
        panel.temperature_changed.connect(self._on_panel_temperature)

    def on_run_opened(self, snap: RunSnapshot) -> None:
        self._live_timer.stop()
        self.temperature = (float(snap.config.model.temperature)
                            if "temperature" in snap.capabilities else None)
        self.panel.set_temperature(self.temperature)
        self.panel.set_default_caption("translations of the first test inputs"
                                       if "translate" in snap.capabilities else "fixed z")
        if snap.path is not None:
            snaps = dict(snap.snapshots)
            self.panel.set_history(sorted(snaps), lambda s, snaps=snaps: load_snapshot(snaps[s]))

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        self.last_samples = (step, samples)
        shown = self.panel.temperature()
        self.panel.set_samples(step, samples, None if shown is None else temperature_caption(shown))

    def on_render(self, kind: str, _stamp: int, result: Any) -> None:
        step, samples = int(result["step"]), result["samples"]
        self.last_samples = (step, samples)
        self.panel.set_samples(step, samples, temperature_caption(result["temperature"]))

    # -- temperature ------------------------------------------------------------------------------
    def _on_panel_temperature(self, t: float) -> None:
        if self.session.snapshot is None or self.temperature is None:
            return
        self.session.host.request_render("tempered", temperature=float(t))
        self._live_timer.start()

    def _send_temperature(self) -> None:
        t = self.panel.temperature()
        if t is None or self.session.snapshot is None or t == self.temperature:
            return
        self.temperature = t
        self.session.set_live_value("model", "temperature", t)

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
