"""The flow panel: `FlowViewPanel` shows the layers view for a flow on 2D points, or the
levels and likelihood views (two tabs) for a flow on images, and an empty or unavailable
message otherwise. `main` is its `python -m widgets.flow_view` preview."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ..view_panel import TabbedViewPanel, preview_main
from .layers import LayersView
from .levels import LevelsView
from .likelihood import LikelihoodView

EMPTY_TEXT = ("Train or open a normalizing flow (engine 'flow') to look inside it: on 2D points "
              "the data pushed through it layer by layer and its exact density; on images the "
              "code of an image at every level and the likelihood of each image.")
VIEWS = ("layers", "levels", "likelihood")


class FlowViewPanel(TabbedViewPanel):
    """What only a flow allows: exact codes, exact densities, every layer invertible.

    Data in: set_layers (points), set_levels and set_likelihood (images), show_points() /
    show_images() to pick the page, set_unavailable(text), set_busy(text), clear().
    Signals: view_changed(str) ("layers", "levels" or "likelihood": the view now shown),
    layers_requested(), levels_requested(dict), likelihood_requested(dict), stage_changed(int).
    """

    layers_requested = Signal()
    levels_requested = Signal(dict)
    likelihood_requested = Signal(dict)
    stage_changed = Signal(int)
    EMPTY_TEXT = EMPTY_TEXT
    VIEWS = VIEWS
    SIZE_HINT = (620, 640)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__("flow", "flowImageTabs", parent)
        self.layers = LayersView()
        self.levels = LevelsView()
        self.likelihood = LikelihoodView()
        self._add_view("layers", self.layers)                 # a page of its own (2D points)
        self._add_view("levels", self.levels, "Levels")       # tabs (images)
        self._add_view("likelihood", self.likelihood, "Likelihood")
        self.layers.refresh_requested.connect(self.layers_requested)
        self.layers.stage_changed.connect(self.stage_changed)
        self.levels.levels_requested.connect(self.levels_requested)
        self.likelihood.likelihood_requested.connect(self.likelihood_requested)
        self.apply_palette()

    # -- pages ----------------------------------------------------------------------------------
    def show_points(self) -> None:
        self._show(self.layers)

    def show_images(self) -> None:
        self._show(self._tabs)

    # -- data -----------------------------------------------------------------------------------
    def set_layers(self, d: Mapping[str, Any]) -> None:
        self.layers.set_layers(d)
        self._status.setText("")

    def set_levels(self, d: Mapping[str, Any]) -> None:
        self.levels.set_levels(d)
        self._status.setText("")

    def set_likelihood(self, d: Mapping[str, Any]) -> None:
        self.likelihood.set_likelihood(d)
        self._status.setText("")

    def set_picked_image(self, index: Optional[int]) -> None:
        self.levels.set_picked(index)


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .fakes import fake_flow_layers, fake_flow_levels, fake_flow_likelihood

    def arguments(ap) -> None:
        ap.add_argument("--stage", type=int, default=0, help="layer slider position (points)")
        ap.add_argument("--heatmap", choices=("none", "density", "log_det"), default="density")

    def fill(panel: FlowViewPanel, args) -> None:
        if args.view == "layers":
            panel.show_points()
            panel.set_layers(fake_flow_layers())
            panel.layers.set_heatmap(args.heatmap)
            panel.layers.set_stage(args.stage)
        else:
            panel.show_images()
            panel.set_levels(fake_flow_levels())
            panel.set_likelihood(fake_flow_likelihood())
            panel.set_view(args.view)

    return preview_main(FlowViewPanel, argv, "640x680", "layers",
                        ("levels_requested", "likelihood_requested", "view_changed",
                         "stage_changed"), fill, arguments)
