"""The latent explorer: decode a code as the sliders move, sample, encode a data image,
interpolate (between any two codes, or two data images encoded as the ends) and sweep, and
the PCA basis (GANSpace) for latents wider than the sliders."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from PySide6.QtCore import Signal

from studio.core.export import export_gif, export_latents
from studio.core.snapshot import RunSnapshot
from widgets.on_screen import is_on_screen

from .base import Controller

MAX_SLIDERS = 16     # wider latents get sliders along their principal directions ("basis")
GIF_MIN_SCALE = 4    # a 28-pixel GIF is a thumbnail; GIFs always get at least 4x


def explorer_capabilities(caps: frozenset) -> frozenset:
    """What the latent explorer can do with an engine of capabilities `caps`: every engine
    decodes its standard-normal input (the "decode" render, `sample(z=...)`), and engines
    that "invert" (diffusion: DDIM inversion) "encode" data to it."""
    out = set(caps) | {"decode"}
    if "invert" in caps:
        out.add("encode")
    return frozenset(out)


class LatentController(Controller):
    RENDERS = ("decode", "basis", "sweep", "sample", "encode", "invert", "interpolate")
    decoded_shown = Signal(int)          # the stamp of a decode now on screen

    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.last_interpolation: Optional[dict[str, np.ndarray]] = None
        # encode renders asked for as an interpolation end: stamp -> ("A" | "B", its name);
        # any other encode result is the explorer's new base code
        self._end_requests: dict[int, tuple[str, str]] = {}
        self.last_picked: Optional[int] = None   # the data image last picked in the browser
        panel.z_changed.connect(self._on_z_changed)
        panel.random_requested.connect(lambda seed: self.session.host.request_render("sample", seed=seed, n=1))
        panel.encode_requested.connect(self._on_encode_requested)
        panel.interpolate_requested.connect(self._on_interpolate)
        panel.encode_end_requested.connect(self._on_encode_end)
        panel.label_changed.connect(lambda _label: panel.set_base(panel.current_z()))
        panel.sweep_requested.connect(self._on_sweep)

    # -- hooks ----------------------------------------------------------------------------------
    def on_run_opened(self, snap: RunSnapshot) -> None:
        caps = snap.capabilities
        self.panel.set_classes(list(snap.class_names) if "conditional" in caps else [])
        self.panel.set_capabilities(explorer_capabilities(caps))
        if snap.latent_dim > MAX_SLIDERS:
            self.session.host.request_render("basis")
        else:
            self.panel.set_space(snap.latent_dim)

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        # follows training while looked at (a diffusion decode is a whole sampling loop: it
        # waits for the user)
        snap = self.session.snapshot
        if is_on_screen(self.panel) and snap is not None and "trajectory" not in snap.capabilities:
            self.panel.refresh()

    def on_dataset(self, dataset: Any) -> None:
        if dataset.spec.kind == "points":
            self.panel.set_reference_points(dataset.train_x[:2000])

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        if kind == "decode":
            self.panel.show_decoded(stamp, result[0])
            self.decoded_shown.emit(stamp)
        elif kind == "basis":
            labels = [f"PC{i + 1} ({100 * v:.1f}% var)" for i, v in enumerate(result["explained"])]
            self.panel.set_space(self.session.run_info.latent_dim, basis=result["basis"],
                                 scales=result["scales"], labels=labels)
            self.panel.set_base(result["mean"])
        elif kind == "sweep":
            self.last_interpolation = result
            self.panel.show_sweep(result["samples"], result["z"], result["labels"])
        elif kind in ("sample", "encode", "invert"):     # invert: a diffusion model's x_T of x
            z = result["z"][0] if kind == "sample" else result[0]
            end = self._end_requests.pop(stamp, None) if kind == "encode" else None
            for old in [s for s in self._end_requests if s < stamp]:   # replaced, never served
                del self._end_requests[old]
            if end is not None:
                self.panel.set_end(end[0], z, end[1])
                if all(self.panel.end_names()):  # two real images: their path at once
                    self.panel.interpolate()
            else:
                self.panel.set_base(z)           # emits z_changed, which asks for a decode
        elif kind == "interpolate":
            self.last_interpolation = result
            self.panel.show_interpolation(result["samples"])

    # -- what other panels send here --------------------------------------------------------------
    def explore(self, z: np.ndarray, label: Optional[int] = None) -> None:
        """Show code z (a gallery sample, a point of the codes view) in the explorer."""
        if label is not None:
            self.panel.set_label(label)
        self.session.raise_panel(self.panel.objectName())
        self.panel.set_base(z)                   # emits z_changed, which asks for a decode

    def explore_sample(self, index: int) -> None:
        """The gallery's sample `index`: its fixed code (and, for a conditional model, the
        class the preview grid asked for: class i % K at sample i)."""
        snap = self.session.snapshot
        if snap is None or index >= len(snap.eval_z):
            return
        label = index % max(1, snap.num_classes) if "conditional" in snap.capabilities else None
        self.explore(snap.eval_z[index], label)

    def encode_data_image(self, index: int, end: Optional[str] = None) -> None:
        """Encode data image `index` (of the browser's data set) as the explorer's code, or
        as end "A" / "B" of the interpolation."""
        ds, snap = self.session.browser_dataset, self.session.snapshot
        if ds is None or snap is None:
            return
        if not ({"encode", "trajectory"} & snap.capabilities):
            self.session.show_status(f"The {snap.engine} engine cannot encode images")
            return
        x = ds.train_x[index:index + 1]
        if x.shape[1:] != snap.sample_shape:
            self.session.warn("Cannot encode", f"This image has shape {x.shape[1:]}, the model "
                                               f"expects {snap.sample_shape}.")
            return
        self.session.raise_panel(self.panel.objectName())
        stamp = self.session.host.request_render("encode", x=x)
        if end is not None:
            self._end_requests[stamp] = (end, f"data image #{index}")
        else:
            self.last_picked = int(index)

    # -- panel signals ----------------------------------------------------------------------------
    def _on_z_changed(self, z: np.ndarray, _stamp: int) -> None:
        self.session.host.request_render("decode", z=z, label=self.panel.current_label())

    def _on_sweep(self, kind: str) -> None:
        label = self.panel.current_label()
        self.session.host.request_render("sweep", which=kind, z=self.panel.current_z(),
                                         label=label or 0, n=10, seed=self.panel.seed())

    def _on_encode_requested(self) -> None:
        idx = self.session.selected_data_indices()
        if not len(idx):
            self.session.warn("Pick an image", "Select an image in the data set browser first.")
            return
        self.encode_data_image(int(idx[0]))

    def _on_encode_end(self, which: str) -> None:
        """End A or B from the data image last picked in the browser (double-click), else
        the first one it shows (as "Pick from data set")."""
        index = self.last_picked
        if index is None:
            idx = self.session.selected_data_indices()
            if not len(idx):
                self.session.warn("Pick an image", "Double-click an image in the data set browser "
                                                   f"first: it becomes end {which} of the "
                                                   "interpolation.")
                return
            index = int(idx[0])
        self.encode_data_image(index, end=which)

    def _on_interpolate(self, za, zb, mode: str, steps: int) -> None:
        self.session.host.request_render("interpolate", za=za, zb=zb, steps=steps, mode=mode,
                                         label=self.panel.current_label())

    # -- exports ----------------------------------------------------------------------------------
    def export_gif(self) -> Optional[list]:
        s, interp = self.session, self.last_interpolation
        if interp is None or interp["samples"].ndim != 4:
            return s.warn("Nothing to export", "Make an image interpolation in the latent "
                                               "explorer first.")
        path = s.ask_save("Export interpolation", "interpolation.gif", "GIF images (*.gif)")
        if not path:
            return None
        return s.exported([export_gif(path, interp["samples"], s.provenance(step=interp.get("step")),
                                      scale=max(GIF_MIN_SCALE, s.export_scale()))])

    def export_latents(self) -> Optional[list]:
        s = self.session
        z = self.panel.current_z() if s.run_info.latent_dim else None
        interp = self.last_interpolation
        if z is None:
            return s.warn("Nothing to export", "Open a run with a latent space first.")
        path = s.ask_save("Export latent vectors", "latents.npy", "NumPy arrays (*.npy)")
        if not path:
            return None
        arr = interp["z"] if interp is not None else np.atleast_2d(z)
        return s.exported([export_latents(path, arr)])
