"""The point canvas panel: `PointCanvasPanel` puts the layers, drawing, metrics and
controls mixins together on one widget; its construction, `set_frame`, the palette and the
layout for wide and narrow docks. `main` is its `python -m widgets.point_canvas` preview."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from ..kit import Growing, PaletteAware, hint_label, with_alpha
from .controls import ControlsMixin
from .drawing import DRAW_TIP, DrawingMixin
from .frame import CanvasFrame, _check_frame
from .items import _Dots, _mix
from .layers import DENSITY_LAYERS_OFF, FAKE_COLOURS, LAYERS, REAL_COLOURS, LayersMixin
from .metrics import HQ_TIP, MetricsMixin


EMPTY_TEXT = ("Open or train a run on 2D points (ring8, grid25, moons, spiral, or draw your "
              "own) to see it here.")
WIDE = 820                    # panel width from which the metrics sit right of the canvas


class PointCanvasPanel(LayersMixin, DrawingMixin, MetricsMixin, ControlsMixin, PaletteAware,
                       QWidget):
    """A 2D canvas of real and generated points with the model's inner workings on top.

    Signals:
        play_requested(), pause_requested(): train continuously / stop.
        step_requested(str): one step of "both" (a full training step), "discriminator"
            (D only) or "generator" (G only).
        slow_motion_changed(int): delay after each training step in ms (0 = full speed).
        distribution_drawn(object): {"x": (N, 2) float32, "modes": (K, 2) float32 or None,
            "sigma": float (the blobs' sigma, their mean if they differ; 0.0 without modes)}.
        layers_changed(dict): {layer name: wanted on} after a checkbox toggled (to persist).
    """

    play_requested = Signal()
    pause_requested = Signal()
    step_requested = Signal(str)
    slow_motion_changed = Signal(int)
    distribution_drawn = Signal(object)
    layers_changed = Signal(dict)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._frame: Optional[CanvasFrame] = None
        self._data: dict = {}                        # the frame's validated arrays
        self._dirty: set[str] = set()                # layers whose data is not pushed yet
        self._wanted = {name: True for name in LAYERS}
        self._available = {name: False for name in LAYERS}
        self._field_levels: Optional[list[float]] = None
        self._field_label = ""
        self._field_kind = "critic"                  # "density": a model's p(x)
        self._wanted_before_density: dict[str, bool] = {}
        self._arrow_ref = 0.0
        self._extent = 1.0                           # data extent for the arrow length
        self._shown_real: Optional[np.ndarray] = None
        self._shown_modes: Optional[tuple] = None
        self._running = False
        self._phase_steps = True
        # single-player steps: since the last full step (at _phase_step), and in this run
        self._phase_step: Optional[int] = None
        self._phase_counts = {"discriminator": 0, "generator": 0}
        self._phase_totals = {"discriminator": 0, "generator": 0}
        self._phase_last: Optional[str] = None
        self._dark = False
        self._wide: Optional[bool] = None
        # mode metrics history
        self._hist = Growing(4)                     # step, captured %, hq %, reverse KL
        self._last_metrics: Optional[tuple] = None
        # drawing
        self._drawn = Growing(2, 1024, np.float32)
        self._drawn_modes: list[tuple[float, float, float]] = []   # (x, y, sigma)
        self._drag_count = 0
        self._dragging = False
        self._rng: Optional[np.random.Generator] = None
        self._last_dab: Optional[np.ndarray] = None
        self._build()
        self._arrange(False)
        self._update_layers()
        self._update_transport()
        self._update_draw()
        self._update_page()
        self.apply_palette()

    # -- construction ----------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages, 1)

        # empty state
        empty = QWidget()
        ev = QVBoxLayout(empty)
        ev.addStretch(1)
        self._empty = hint_label(EMPTY_TEXT, "canvasEmptyState")
        ev.addWidget(self._empty)
        self._empty_draw = QPushButton("Draw your own\u2026")
        self._empty_draw.setObjectName("emptyDrawButton")
        self._empty_draw.setToolTip(DRAW_TIP)
        self._empty_draw.clicked.connect(lambda: self.set_draw_mode(True))
        ev.addWidget(self._empty_draw, 0, Qt.AlignmentFlag.AlignHCenter)
        ev.addStretch(1)
        self._pages.addWidget(empty)

        page = QWidget()
        self._pages.addWidget(page)
        pv = QVBoxLayout(page)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.setSpacing(4)

        self._build_transport(pv)

        # middle: side column | (canvas, metrics)
        mid = QHBoxLayout()
        mid.setSpacing(4)
        pv.addLayout(mid, 1)
        side = QWidget()
        side.setObjectName("canvasSideColumn")
        sv = QVBoxLayout(side)
        sv.setContentsMargins(0, 0, 2, 0)
        sv.setSpacing(3)
        head = QLabel("Layers")
        font = head.font()
        font.setBold(True)
        head.setFont(font)
        sv.addWidget(head)
        self._build_layer_checks(sv)
        self._build_draw_tools(sv)
        sv.addStretch(1)

        self._side_scroll = QScrollArea()
        self._side_scroll.setObjectName("canvasSideScroll")
        self._side_scroll.setWidget(side)
        self._side_scroll.setWidgetResizable(True)
        self._side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._side_scroll.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self._side = side
        mid.addWidget(self._side_scroll)

        self._splitter = QSplitter(Qt.Orientation.Horizontal)
        self._splitter.setObjectName("canvasSplitter")
        self._splitter.setChildrenCollapsible(False)
        mid.addWidget(self._splitter, 1)

        self._build_canvas()
        self._splitter.addWidget(self._canvas)

        self._build_metrics()
        self._splitter.addWidget(self._metrics)
        self._metrics.setVisible(False)              # until the first append_mode_metrics
        self._splitter.setStretchFactor(0, 3)
        self._splitter.setStretchFactor(1, 2)

        # bottom: step, the last single-player step and the mode readout (placed by _arrange)
        self._bottom = QGridLayout()
        self._bottom.setHorizontalSpacing(8)
        self._bottom.setVerticalSpacing(0)
        self._bottom.setColumnStretch(2, 1)
        self._step_label = QLabel()
        self._step_label.setObjectName("stepLabel")
        self._readout = QLabel()
        self._readout.setObjectName("modeReadout")
        self._readout.setToolTip(HQ_TIP)
        self._readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._readout.setVisible(False)           # until the first append_mode_metrics
        self._phase_label = QLabel()
        self._phase_label.setObjectName("phaseStepLabel")
        self._phase_label.setToolTip("The player that moved in the last single-player step, "
                                     "and its loss after that step")
        pv.addLayout(self._bottom)

        self._build_badge()

    def _arrange(self, wide: bool) -> None:
        """Metrics right of the canvas (wide) or under it, bars beside curves (narrow)."""
        if wide == self._wide:
            return
        self._wide = wide
        # one line when wide; narrow, the readout gets a line of its own so neither is cut
        for w in (self._step_label, self._phase_label, self._readout):
            self._bottom.removeWidget(w)
        self._bottom.addWidget(self._step_label, 0, 0)
        self._bottom.addWidget(self._phase_label, 0, 1)
        if wide:
            self._bottom.addWidget(self._readout, 0, 2)
        else:
            self._bottom.addWidget(self._readout, 1, 0, 1, 3)
        if wide:
            self._splitter.setOrientation(Qt.Orientation.Horizontal)
            self._metrics_box.setDirection(QVBoxLayout.Direction.TopToBottom)
            self._metrics.setMinimumSize(200, 0)
            self._metrics.setMaximumSize(16777215, 16777215)
            total = max(self._splitter.width(), 600)
            self._splitter.setSizes([round(total * 0.63), round(total * 0.37)])
        else:
            self._splitter.setOrientation(Qt.Orientation.Vertical)
            self._metrics_box.setDirection(QVBoxLayout.Direction.LeftToRight)
            self._metrics.setMinimumSize(0, 110)
            total = max(self._splitter.height(), 400)
            side = min(170, round(total * 0.36))
            self._splitter.setSizes([total - side, side])

    # -- public API: data in ---------------------------------------------------------------------

    def set_frame(self, frame: CanvasFrame) -> None:
        """Show one training step (see CanvasFrame). Cheap: items are updated in place and
        hidden layers only remember their data."""
        data = _check_frame(frame)
        first = self._frame is None
        self._frame = frame
        self._data = data
        new_set = self._is_new_data_set(data)
        self._dirty.update(("fake", "field", "arrows", "manifold", "modes"))
        if new_set or first:
            self._dirty.add("real")
        if new_set:
            self._field_levels = None
            self._arrow_ref = 0.0
        kind_changed = frame.field_kind != self._field_kind
        if kind_changed:
            self._field_kind = frame.field_kind
            self._field_levels = None
            self._swap_density_layers(frame.field_kind == "density")
        if frame.field_label != self._field_label or first or kind_changed:
            self._field_label = frame.field_label
            self._colorbar.axis.setLabel(self._shown_field_label())
        if new_set or first:
            self.fit_view()
        available = {"real": data["real"] is not None, "fake": data["fake"] is not None,
                     "field": data["field"] is not None, "arrows": data["arrows"] is not None,
                     "manifold": data["manifold"] is not None, "modes": data["modes"] is not None}
        if available != self._available or first or kind_changed:   # texts, tooltips too
            self._available = available
            self._update_layers()
        else:
            self._push_layers()
        if kind_changed:
            self.apply_palette()                     # its colour map and legend icon
        if self._phase_step is not None and int(frame.step) > self._phase_step:
            self._reset_phase_counts()        # a full step moved both players since
        self._update_step_text()
        self._update_page()

    def _swap_density_layers(self, density: bool) -> None:
        """A density starts with DENSITY_LAYERS_OFF unticked; back to a critic, they are as
        they were."""
        if density:
            self._wanted_before_density = {n: self._wanted[n] for n in DENSITY_LAYERS_OFF}
            self._wanted.update({n: False for n in DENSITY_LAYERS_OFF})
        else:
            self._wanted.update(self._wanted_before_density)
            self._wanted_before_density = {}

    def frame(self) -> Optional[CanvasFrame]:
        """The frame on screen (None before the first)."""
        return self._frame

    def clear(self) -> None:
        """Back to the empty state: no frame, no metrics history (the drawing stays)."""
        self._frame = None
        self._data = {}
        self._shown_real = None
        self._shown_modes = None
        self._field_levels = None
        self._arrow_ref = 0.0
        self._available = {name: False for name in LAYERS}
        for items in self._layer_items.values():
            for item in items:
                if isinstance(item, pg.ImageItem):
                    item.clear()
                elif isinstance(item, _Dots):
                    item.setData(None)
                else:
                    item.setData([], [])
        self._reset_phase_counts()
        self._phase_totals = {"discriminator": 0, "generator": 0}
        self._update_step_text()
        self.clear_history()
        self._update_layers()
        self._update_page()

    # -- look ------------------------------------------------------------------------------------

    def apply_palette(self) -> None:
        """Colours from the widget palette (palette-change events call it too)."""
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        base = pal.color(QPalette.ColorRole.Base)
        self._dark = bg.lightnessF() < 0.5
        i = 1 if self._dark else 0
        self._real_colour = QColor(*REAL_COLOURS[i])
        self._fake_colour = QColor(*FAKE_COLOURS[i])
        muted = _mix(fg, bg, 0.45)
        for plot in (self._canvas, self._bars_plot, self._curves_plot):
            plot.setBackground(base)
            p = plot.getPlotItem()
            for name in ("left", "bottom", "right"):
                ax = p.getAxis(name)
                ax.setPen(pg.mkPen(muted))
                ax.setTextPen(pg.mkPen(fg))
        self._palette_layers(fg, base, muted)
        self._palette_metrics(fg, i)
        self._palette_drawing(pal, muted)
        self._palette_controls(muted)
        hint = with_alpha(fg, 0.6).name(QColor.NameFormat.HexArgb)
        self._empty.setStyleSheet(f"color: {hint}; font-size: 11pt;")
        self._side.setAutoFillBackground(False)
        self._side_scroll.viewport().setAutoFillBackground(False)
        self._dirty.add("field")
        self._push_layers()

    # -- Qt overrides ----------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(900, 640)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), 480), min(hint.height(), 420))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._arrange(self.width() >= WIDE)
        self._fit_side()
        self._place_badge()

    # -- state -----------------------------------------------------------------------------------

    def _fit_side(self) -> None:
        """Size the side column to its widest content (the draw tools included, shown or
        not), plus a scroll bar when it is taller than the room it has."""
        lay = self._side.layout()
        content = max(lay.sizeHint().width(), self._draw_box.layout().sizeHint().width()
                      + lay.contentsMargins().left() + lay.contentsMargins().right())
        room = self._side_scroll.height()
        bar = (self._side_scroll.verticalScrollBar().sizeHint().width()
               if room > 0 and lay.sizeHint().height() > room else 0)
        if self._side_scroll.width() != content + bar:
            self._side_scroll.setFixedWidth(content + bar)

    def _update_page(self) -> None:
        show = self._frame is not None or self.is_draw_mode()
        self._pages.setCurrentIndex(1 if show else 0)


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from ..preview import (fake_density_frame, fake_frame, fake_metrics, preview_app, preview_parser,
                           show_or_grab)

    ap = preview_parser("Preview PointCanvasPanel with fake ring8 data.", "1000x700")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    ap.add_argument("--draw", action="store_true", help="show draw mode with a drawing")
    ap.add_argument("--vae", action="store_true", help="a model without a discriminator")
    ap.add_argument("--flow", action="store_true", help="a normalizing flow's density p(x)")
    ap.add_argument("--log", action="store_true", help="with --flow: the log p(x) scale")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = PointCanvasPanel()
    panel.setWindowTitle("PointCanvasPanel preview")
    state = {"step": 1200, "progress": 0.7}
    timer = QTimer(panel)

    def advance(kind: str = "both") -> None:
        if kind in ("discriminator", "generator"):
            panel.show_phase_step(kind, state["step"], {f"loss/{kind[0]}": 0.6931})
            return
        state["step"] += 1
        state["progress"] = min(1.0, state["progress"] + 0.004)
        panel.set_frame(fake_density_frame(state["step"], seed=state["step"]) if args.flow else
                        fake_frame(state["step"], state["progress"], seed=state["step"],
                                   discriminator=not args.vae))

    def play() -> None:
        timer.start(max(66, panel.slow_motion()))
        panel.set_running(True)

    def pause() -> None:
        timer.stop()
        panel.set_running(False)

    timer.timeout.connect(advance)
    panel.play_requested.connect(play)
    panel.pause_requested.connect(pause)
    panel.step_requested.connect(advance)
    panel.slow_motion_changed.connect(lambda ms: timer.setInterval(max(66, ms)))
    panel.distribution_drawn.connect(lambda d: print(
        "distribution_drawn", {k: (v.shape if isinstance(v, np.ndarray) else v) for k, v in d.items()}))
    panel.set_phase_steps_available(not (args.vae or args.flow))
    if args.flow:
        panel.set_frame(fake_density_frame())
        panel.set_density_scale("log" if args.log else "density")
    elif not args.empty:
        panel.set_frame(fake_frame(discriminator=not args.vae))
        for row in fake_metrics():
            panel.append_mode_metrics(*row)
    if args.draw:
        panel.set_draw_mode(True)
        rng_centres = [(-0.8, 0.6), (0.7, 0.7), (0.0, -0.7)]
        panel.set_draw_tool("mode")
        panel.set_brush(sigma=0.06, blob_points=150)
        panel.show()
        app.processEvents()
        for c in rng_centres:
            panel._on_canvas_pressed(panel._vb.mapViewToScene(QPointF(*c)))
        panel.set_draw_tool("spray")
        path = [panel._vb.mapViewToScene(QPointF(-1.2 + 0.1 * k, -1.2 + 0.04 * k)) for k in range(15)]
        panel._on_canvas_pressed(path[0])
        for p in path[1:]:
            panel._on_canvas_dragged(p)
        panel._on_canvas_released(path[-1])
    return show_or_grab(app, panel, args.size, args.grab)

