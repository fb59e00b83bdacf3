"""The panel registry: every dock of the main window, its panel and its controller.

The window builds its docks from this list in this order (the View menu lists them so) and
calls the same controller hooks for each (studio.shell.controllers.base.Controller). A new
family that needs a panel of its own adds one entry here; one that does not touches nothing
in the shell."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from PySide6.QtCore import Qt

from widgets.codes_view import CodesViewPanel
from widgets.data_browser import DataBrowserPanel
from widgets.diffusion_scrubber import DiffusionScrubberPanel
from widgets.evaluation_table import EvaluationTable
from widgets.flow_view import FlowViewPanel
from widgets.latent_explorer import LatentExplorerPanel
from widgets.live_plots import LivePlotsPanel
from widgets.mode_collapse import ModeCollapsePanel
from widgets.point_canvas import PointCanvasPanel
from widgets.run_controls import RunControlsPanel
from widgets.sample_gallery import SampleGalleryPanel
from widgets.translation_view import TranslationViewPanel

from .controllers.base import Controller
from .controllers.canvas import CanvasController
from .controllers.codes import CodesController
from .controllers.data import DataController
from .controllers.diffusion import DiffusionController
from .controllers.evaluation import EvaluationController
from .controllers.flow import FlowController
from .controllers.gallery import GalleryController
from .controllers.latent import LatentController
from .controllers.modes import MODES_TITLE, ModesController
from .controllers.plots import PlotsController
from .controllers.translation import TranslationController


@dataclass(frozen=True)
class PanelSpec:
    key: str                     # the controller's name in window.controllers
    title: str                   # the dock's title (and its View menu entry)
    panel: type                  # a widgets/ panel class (numpy in, signals out)
    controller: Optional[Callable[..., Controller]]   # (session, panel) -> controller
    area: Qt.DockWidgetArea = Qt.RightDockWidgetArea


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec("data", "Data set", DataBrowserPanel, DataController, Qt.LeftDockWidgetArea),
    PanelSpec("gallery", "Samples", SampleGalleryPanel, GalleryController),
    PanelSpec("plots", "Live plots", LivePlotsPanel, PlotsController),
    # the Run panel is the frame's own: its buttons are the Run menu's actions (window.py)
    PanelSpec("run", "Run", RunControlsPanel, None),
    PanelSpec("latent", "Latent", LatentExplorerPanel, LatentController),
    PanelSpec("evaluation", "Evaluation", EvaluationTable, EvaluationController),
    PanelSpec("diffusion", "Diffusion", DiffusionScrubberPanel, DiffusionController),
    PanelSpec("canvas", "2D canvas", PointCanvasPanel, CanvasController),
    PanelSpec("modes", MODES_TITLE, ModeCollapsePanel, ModesController),
    PanelSpec("codes", "Codes", CodesViewPanel, CodesController),
    PanelSpec("flow", "Flow", FlowViewPanel, FlowController),
    PanelSpec("translation", "Translation", TranslationViewPanel, TranslationController),
)
