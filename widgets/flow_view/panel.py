"""The flow panel: `FlowViewPanel` shows the layers view for a flow on 2D points, or the
levels and likelihood views (two tabs) for a flow on images, and an empty or unavailable
message otherwise. `main` is its `python -m widgets.flow_view` preview."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from ..kit import PaletteAware, hint_label, with_alpha
from .layers import LayersView
from .levels import LevelsView
from .likelihood import LikelihoodView

EMPTY_TEXT = ("Train or open a normalizing flow (engine 'flow') to look inside it: on 2D points "
              "the data pushed through it layer by layer and its exact density; on images the "
              "code of an image at every level and the likelihood of each image.")
VIEWS = ("layers", "levels", "likelihood")


class FlowViewPanel(PaletteAware, QWidget):
    """What only a flow allows: exact codes, exact densities, every layer invertible.

    Data in: set_layers (points), set_levels and set_likelihood (images), show_points() /
    show_images() to pick the page, set_unavailable(text), set_busy(text), clear().
    Signals: view_changed(str) ("layers", "levels" or "likelihood": the view now shown),
    layers_requested(), levels_requested(dict), likelihood_requested(dict), stage_changed(int).
    """

    view_changed = Signal(str)
    layers_requested = Signal()
    levels_requested = Signal(dict)
    likelihood_requested = Signal(dict)
    stage_changed = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages, 1)
        self._empty = hint_label(EMPTY_TEXT, "flowEmptyState", margin=24)
        self._pages.addWidget(self._empty)
        self.layers = LayersView()
        self._pages.addWidget(self.layers)
        self._tabs = QTabWidget()
        self._tabs.setObjectName("flowImageTabs")
        self.levels = LevelsView()
        self.likelihood = LikelihoodView()
        self._tabs.addTab(self.levels, "Levels")
        self._tabs.addTab(self.likelihood, "Likelihood")
        self._pages.addWidget(self._tabs)
        self._status = QLabel("")
        self._status.setObjectName("flowStatus")
        self._status.setWordWrap(True)
        root.addWidget(self._status)
        self.layers.refresh_requested.connect(self.layers_requested)
        self.layers.stage_changed.connect(self.stage_changed)
        self.levels.levels_requested.connect(self.levels_requested)
        self.likelihood.likelihood_requested.connect(self.likelihood_requested)
        self._tabs.currentChanged.connect(lambda _i: self.view_changed.emit(self.view()))
        self.apply_palette()

    # -- pages ----------------------------------------------------------------------------------
    def show_points(self) -> None:
        self._pages.setCurrentWidget(self.layers)
        self.view_changed.emit(self.view())

    def show_images(self) -> None:
        self._pages.setCurrentWidget(self._tabs)
        self.view_changed.emit(self.view())

    def set_view(self, view: str) -> None:
        """Show "layers", "levels" or "likelihood" (the page of the first, a tab of the others)."""
        if view == "layers":
            self.show_points()
            return
        self._pages.setCurrentWidget(self._tabs)
        self._tabs.setCurrentWidget(self.levels if view == "levels" else self.likelihood)

    def view(self) -> str:
        """The view on screen: "layers", "levels", "likelihood", or "" (a message)."""
        page = self._pages.currentWidget()
        if page is self.layers:
            return "layers"
        if page is self._tabs:
            return "levels" if self._tabs.currentWidget() is self.levels else "likelihood"
        return ""

    def set_unavailable(self, text: str) -> None:
        self.clear()
        self._empty.setText(text)

    def clear(self) -> None:
        self.layers.clear()
        self.levels.clear()
        self.likelihood.clear()
        self._empty.setText(EMPTY_TEXT)
        self._pages.setCurrentWidget(self._empty)
        self._status.setText("")

    def message(self) -> str:
        return self._empty.text() if self._pages.currentWidget() is self._empty else ""

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

    def set_busy(self, text: str) -> None:
        self._status.setText(text)

    def status_text(self) -> str:
        return self._status.text()

    # -- look -----------------------------------------------------------------------------------
    def apply_palette(self) -> None:
        pal = self.palette()
        fg = pal.color(QPalette.ColorRole.WindowText)
        hint = with_alpha(fg, 0.55).name(QColor.NameFormat.HexArgb)
        self._empty.setStyleSheet(f"color: {hint}; font-size: 11pt;")
        self._status.setStyleSheet(f"color: {hint};")
        for v in (self.layers, self.levels, self.likelihood):
            v.apply_palette()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(620, 640)


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from ..preview import preview_app, preview_parser, show_or_grab
    from .fakes import fake_flow_layers, fake_flow_levels, fake_flow_likelihood

    ap = preview_parser("Preview FlowViewPanel with fake data.", "640x680")
    ap.add_argument("--view", choices=VIEWS + ("empty",), default="layers")
    ap.add_argument("--stage", type=int, default=0, help="layer slider position (points)")
    ap.add_argument("--heatmap", choices=("none", "density", "log_det"), default="density")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = FlowViewPanel()
    panel.setWindowTitle("FlowViewPanel preview")
    for name in ("levels_requested", "likelihood_requested", "view_changed", "stage_changed"):
        getattr(panel, name).connect(lambda payload, name=name: print(name, payload))
    if args.view == "layers":
        panel.show_points()
        panel.set_layers(fake_flow_layers())
        panel.layers.set_heatmap(args.heatmap)
        panel.layers.set_stage(args.stage)
    elif args.view in ("levels", "likelihood"):
        panel.show_images()
        panel.set_levels(fake_flow_levels())
        panel.set_likelihood(fake_flow_likelihood())
        panel.set_view(args.view)
    return show_or_grab(app, panel, args.size, args.grab)
