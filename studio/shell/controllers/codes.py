"""The codes view: test codes of an autoencoder or VAE in 2D, coloured by class, with
inputs beside their reconstructions; asks for a new "codes" render while it is looked at."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Signal

from studio.core.snapshot import RunSnapshot
from widgets.codes_view import CodesView
from widgets.on_screen import is_on_screen

from .base import Controller


class CodesController(Controller):
    RENDERS = ("codes",)
    code_clicked = Signal(object)        # a code (numpy) to show in the latent explorer

    def __init__(self, session, panel):
        super().__init__(session, panel)
        panel.refresh_requested.connect(self.request)
        panel.code_clicked.connect(self.code_clicked)

    def applies(self) -> bool:
        snap, ds = self.session.snapshot, self.session.browser_dataset
        return (snap is not None and "encode" in snap.capabilities and snap.is_images
                and ds is not None and ds.spec.is_images)

    def request(self) -> None:
        if self.session.snapshot is not None:
            self.session.host.request_render("codes")

    def on_run_opened(self, snap: RunSnapshot) -> None:
        if "encode" in snap.capabilities and snap.is_images:
            self.panel.clear()
            self.request()
        else:
            self.panel.set_unavailable("The codes view is for autoencoders and VAEs on images.")

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        if is_on_screen(self.panel) and self.applies():
            self.request()

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        self.panel.set_codes(CodesView.from_mapping(result))
