"""Diffusion scrubber: watch a diffusion model (DDPM / DDIM) generate step by step, scrub the
steps, and edit a sample mid-way.

The engine runs on the host thread; this panel only shows numpy data and emits requests:

- ``set_schedule(alpha_bar, t_max)`` draws alpha-bar and log10 SNR against t, with a marker
  (draggable) at the t of the step on screen.
- ``set_trajectory(traj)`` takes ``{"t": (S,), "xt": (S, N, C, H, W) | (S, N, 2), "x0": ...,
  "eps": ..., "mode": "sample" | "forward"}`` and shows, for the current step, three grids
  (x_t, predicted x0, predicted noise) or, for points, a scatter with particle paths, the x0
  predictions and (``set_vector_field``) the predicted-noise field. "x0" and "eps" are the
  model's guesses; a forward trajectory may add the truth, "x0_true" and "eps_true" (shown
  beside the guesses, titled as the truth), and "eps_mse" ((S,) or (S, N): the noise
  guess's squared error, read out per step).
- The transport (slider, Play / Reverse / Pause at 5-60 fps) scrubs the steps; Run, the edit
  buttons, "Continue from here" and the Export menu emit ``trajectory_requested``,
  ``edit_requested``, ``continue_requested`` and ``export_requested``; the window answers
  with ``set_trajectory`` (or writes the files).

Preview: ``python -m widgets.diffusion_scrubber [--points] [--size 900x650] [--grab OUT.png]``.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPalette, QPen, QTransform
from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QDoubleSpinBox, QFrame, QGraphicsRectItem, QGridLayout, QHBoxLayout,
    QLabel, QMenu, QProgressBar, QPushButton, QSizePolicy, QSlider, QSpinBox, QStackedWidget,
    QStyle, QToolButton, QVBoxLayout, QWidget,
)

from widgets.kit import PaletteAware, image_view
from widgets.kit import muted as _muted
from widgets.sample_gallery import GridGeometry, make_grid

__all__ = ["DiffusionScrubberPanel", "x0_across_steps", "pick_steps", "log10_snr",
           "noise_to_display", "EMPTY_TEXT", "READY_TEXT", "GRID_TITLES", "NOISE_NOTE",
           "MAX_TRAILS"]

EMPTY_TEXT = "Train or open a diffusion run to scrub its denoising steps"
READY_TEXT = ("Press Run to generate samples step by step, or choose "
              "\u201cForward (noise real images)\u201d to watch data being noised")
NO_STEPS_TEXT = "no trajectory yet"
GRID_KEYS = ("xt", "x0", "eps", "x0_true", "eps_true")
TRUTH_KEYS = ("x0_true", "eps_true")
NOISE_KEYS = ("eps", "eps_true")
GRID_TITLES = {"xt": "x_t", "x0": "predicted x0", "eps": "predicted noise",
               "x0_true": "true x0", "eps_true": "true noise"}
GRID_TIPS = {"x0": "The model's guess of the clean image, from x_t alone",
             "eps": "The model's guess of the noise in x_t: eps_theta(x_t, t)",
             "x0_true": "The real image that was noised: the answer the model never sees",
             "eps_true": "The noise that was actually added: the answer the model never sees"}
# grid layouts: key -> (row, column); titles sit above their grid
LAYOUTS = {"row": {"xt": (0, 0), "x0": (0, 1), "eps": (0, 2)},
           "square": {"xt": (0, 0), "x0": (0, 1), "eps": (1, 0)},
           "truth": {"xt": (0, 0), "x0": (0, 1), "x0_true": (0, 2), "eps": (1, 1), "eps_true": (1, 2)},
           "truth_row": {"xt": (0, 0), "x0": (0, 1), "x0_true": (0, 2), "eps": (0, 3),
                         "eps_true": (0, 4)}}
NOISE_NOTE = "shown as 0.5 + 0.25\u00b7\u03b5, clipped (grey = 0)"
TRUTH_NOTE = ("The model sees only x_t and t. Middle: its guesses. Right: the truth, "
              "which it never sees.")
MAX_TRAILS = 300              # particle paths drawn in points mode
FPS_DEFAULT, FPS_MIN, FPS_MAX = 20, 5, 60
SCHED_MIN, SCHED_MAX = 96, 220   # schedule plot height: what the grids leave, in this range
WIDE = 640                    # panel width from which the control rows go on one line
ERROR_COLOUR = "#e0443e"
XT_COLOUR = (230, 110, 20)    # x_t samples (as the sample gallery's samples)
X0_COLOUR = (60, 140, 220)    # predicted x0
ABAR_COLOUR = (60, 140, 220)
SNR_COLOUR = (230, 110, 20)
SELECT_COLOUR = (255, 190, 0)
TRUE_COLOUR = (40, 170, 90)   # true x0 (points mode)


# --------------------------------------------------------------------------------------------
# numpy helpers (no Qt)

def log10_snr(alpha_bar: np.ndarray) -> np.ndarray:
    """log10(abar / (1 - abar)), with abar kept inside (1e-12, 1 - 1e-12) so the ends stay
    finite; non-finite inputs stay NaN."""
    ab = np.asarray(alpha_bar, np.float64)
    c = np.clip(ab, 1e-12, 1.0 - 1e-12)
    out = np.log10(c / (1.0 - c))
    out[~np.isfinite(ab)] = np.nan
    return out


def noise_to_display(eps: np.ndarray) -> np.ndarray:
    """Predicted noise (unit variance) as an image in [0, 1]: 0.5 + 0.25 eps, clipped."""
    e = np.nan_to_num(np.asarray(eps, np.float32), nan=0.0)
    return np.clip(e * 0.25 + 0.5, 0.0, 1.0)


def pick_steps(n_steps: int, k: int = 10) -> np.ndarray:
    """min(k, n_steps) step indices evenly spaced over 0..n_steps-1, first and last included,
    ascending and distinct (int64)."""
    n_steps, k = int(n_steps), int(k)
    if n_steps <= 0 or k <= 0:
        return np.zeros(0, np.int64)
    k = min(k, n_steps)
    if k == 1:
        return np.array([n_steps - 1], np.int64)
    return np.round(np.linspace(0, n_steps - 1, k)).astype(np.int64)


def x0_across_steps(traj: dict, k: int = 10) -> np.ndarray:
    """The predicted x0 at k evenly spaced steps of a trajectory: (k, N, C, H, W) (or
    (k, N, 2) for points), picked by `pick_steps` (k is capped at the number of steps)."""
    if "x0" not in traj or traj["x0"] is None:
        raise ValueError("x0_across_steps: the trajectory has no 'x0'")
    x0 = np.asarray(traj["x0"])
    return x0[pick_steps(len(x0), k)]


def _grid_channels(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) with C in {1, 3} for make_grid: 4 channels -> RGB, others -> channel 0."""
    c = images.shape[1]
    if c in (1, 3):
        return images
    if c == 4:
        return images[:, :3]
    return images[:, :1]


def _normalise_trajectory(traj: dict) -> dict:
    """Check shapes and return {"t", "xt", "x0", "eps", "mode", "kind"} (x0/eps may be None)."""
    if not isinstance(traj, dict) or "t" not in traj or "xt" not in traj:
        raise ValueError("set_trajectory: expected a dict with at least 't' and 'xt'")
    t = np.asarray(traj["t"]).reshape(-1).astype(np.int64)
    xt = np.asarray(traj["xt"])
    if xt.ndim == 5:
        kind = "images"
    elif xt.ndim == 3 and xt.shape[2] == 2:
        kind = "points"
    else:
        raise ValueError(f"set_trajectory: 'xt' must be (S, N, C, H, W) images or (S, N, 2) "
                         f"points, got shape {xt.shape}")
    if len(t) != len(xt) or len(t) == 0:
        raise ValueError(f"set_trajectory: 't' has {len(t)} steps but 'xt' has {len(xt)}")
    out: dict[str, Any] = {"t": t, "xt": xt, "kind": kind}
    for key in ("x0", "eps", *TRUTH_KEYS):
        a = traj.get(key)
        if a is not None:
            a = np.asarray(a)
            if a.shape != xt.shape:
                raise ValueError(f"set_trajectory: '{key}' has shape {a.shape}, 'xt' {xt.shape}")
        out[key] = a
    mse = traj.get("eps_mse")
    if mse is not None:
        mse = np.asarray(mse, np.float64)
        mse = mse.reshape(len(mse), -1)
        if len(mse) != len(t) or mse.shape[1] not in (1, xt.shape[1]):
            raise ValueError(f"set_trajectory: 'eps_mse' must be (S,) or (S, N), got {mse.shape}")
    out["eps_mse"] = mse
    mode = traj.get("mode")
    if mode not in ("sample", "forward"):
        mode = "forward" if len(t) > 1 and t[-1] > t[0] else "sample"
    out["mode"] = mode
    return out


def _typical_spacing(xy: np.ndarray) -> float:
    """Median distance from a point to its nearest neighbour (on a subsample of <= 400)."""
    pts = xy[np.isfinite(xy).all(axis=1)]
    if len(pts) < 2:
        return 1.0
    probe = pts[np.linspace(0, len(pts) - 1, min(len(pts), 400)).astype(np.int64)]
    d = np.linalg.norm(probe[:, None, :] - pts[None, :, :], axis=2)
    d[d <= 1e-12] = np.inf                       # itself (and duplicates)
    nearest = d.min(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    return float(np.median(nearest)) if nearest.size else 1.0


def _arrow_segments(xy: np.ndarray, vec: np.ndarray, scale: float) -> np.ndarray:
    """Line segments ((3M, 2, 2): shaft and two head barbs) of arrows from xy along vec*scale."""
    tip = xy + vec * scale
    d = tip - xy
    length = np.linalg.norm(d, axis=1, keepdims=True)
    u = np.divide(d, length, out=np.zeros_like(d), where=length > 0)
    head = 0.3 * length
    c, s = math.cos(math.radians(25)), math.sin(math.radians(25))
    back = -u
    left = np.stack([back[:, 0] * c - back[:, 1] * s, back[:, 0] * s + back[:, 1] * c], 1)
    right = np.stack([back[:, 0] * c + back[:, 1] * s, -back[:, 0] * s + back[:, 1] * c], 1)
    segs = np.stack([np.stack([xy, tip], 1), np.stack([tip, tip + left * head], 1),
                     np.stack([tip, tip + right * head], 1)], 1)       # (M, 3, 2, 2)
    return segs.reshape(-1, 2, 2)


# --------------------------------------------------------------------------------------------
# Qt helpers

def _image_view(name: str) -> tuple[pg.GraphicsView, pg.ViewBox, pg.ImageItem, QGraphicsRectItem]:
    view, vb, item = image_view(name)
    view.setMinimumSize(60, 60)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    rect = QGraphicsRectItem()
    pen = QPen(QColor(*SELECT_COLOUR))
    pen.setWidthF(2.0)
    pen.setCosmetic(True)
    rect.setPen(pen)
    rect.setZValue(10)
    rect.setVisible(False)
    vb.addItem(rect, ignoreBounds=True)
    return view, vb, item, rect


# --------------------------------------------------------------------------------------------
# the panel

class DiffusionScrubberPanel(PaletteAware, QWidget):
    """Scrub the steps of a diffusion trajectory; run, edit and continue trajectories.

    Signals:
        trajectory_requested(dict): {"mode": "sample" | "forward", "sampler": "ddpm" | "ddim",
            "steps", "eta", "seed", "n"} (Run). The window answers with set_trajectory.
        edit_requested(dict): {"step_index", "t", "index", "action": "renoise" | "swap",
            "seed"} for the selected sample at the current step.
        continue_requested(dict): {"step_index", "t", "x_t" (numpy, the x_t of that step:
            (N, C, H, W) or (N, 2)), "sampler", "steps", "eta", "seed"}.
        export_requested(str): "gif" (trajectory GIF), "x0_grid" (predicted x0 across steps,
            see x0_across_steps), "final" (final samples). The window writes the files.
        step_changed(int, int): (step index, t) of the step on screen.
        sample_selected(int): index of the selected sample (-1: none).
    """

    trajectory_requested = Signal(dict)
    edit_requested = Signal(dict)
    continue_requested = Signal(dict)
    export_requested = Signal(str)
    step_changed = Signal(int, int)
    sample_selected = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._traj: Optional[dict] = None           # normalised, see _normalise_trajectory
        self._raw_traj: Optional[dict] = None       # as given
        self._step = 0
        self._selected: Optional[int] = None
        self._geometry: Optional[GridGeometry] = None
        self._grids: dict[str, np.ndarray] = {}
        self._schedule: Optional[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = None
        self._field_xy: Optional[np.ndarray] = None
        self._field_vec: Optional[np.ndarray] = None      # (M, 2) or per step (S, M, 2)
        self._field_scale = 1.0
        self._trail_idx = np.zeros(0, np.int64)
        self._direction = 1
        self._keep_t: Optional[int] = None          # set by edit/continue: stay at this t
        self._updating_marker = False
        self._wide: Optional[bool] = None
        self._fitting = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._build()
        self._set_fps_interval()
        self._arrange(False)
        self._update_enabled()
        self.apply_palette()

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages, 1)

        self._empty = QLabel(EMPTY_TEXT)
        self._empty.setObjectName("scrubberEmptyState")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._empty.setMargin(24)
        self._pages.addWidget(self._empty)

        page = QWidget()
        self._pages.addWidget(page)
        pv = QVBoxLayout(page)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.setSpacing(4)

        # header: title + export menu
        header = QHBoxLayout()
        header.setSpacing(6)
        self._title = QLabel(" ")
        self._title.setObjectName("scrubberTitle")
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header.addWidget(self._title, 1)
        self._export_button = QToolButton()
        self._export_button.setObjectName("exportButton")
        self._export_button.setText("Export")
        self._export_button.setToolTip("Save the trajectory as a GIF, the predicted x0 across "
                                       "steps as one grid, or the final samples")
        self._export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self._export_button)
        self._export_actions: dict[str, QAction] = {}
        for kind, text in (("gif", "Trajectory as GIF\u2026"),
                           ("x0_grid", "Predicted x0 across steps\u2026"),
                           ("final", "Final samples\u2026")):
            act = menu.addAction(text)
            act.setObjectName(f"export_{kind}")
            act.triggered.connect(lambda _=False, k=kind: self.export_requested.emit(k))
            self._export_actions[kind] = act
        self._export_button.setMenu(menu)
        header.addWidget(self._export_button)
        pv.addLayout(header)

        # run settings
        self._run_box = QFrame()
        self._run_box.setObjectName("runSettings")
        self._run_box.setFrameShape(QFrame.Shape.StyledPanel)
        self._run_grid = QGridLayout(self._run_box)
        self._run_grid.setContentsMargins(6, 4, 6, 4)
        self._run_grid.setHorizontalSpacing(6)
        self._run_grid.setVerticalSpacing(4)

        self._mode_row = QWidget()
        mode_layout = QHBoxLayout(self._mode_row)
        mode_layout.setContentsMargins(0, 0, 0, 0)
        mode_layout.setSpacing(0)
        self._generate_button = QPushButton("Generate")
        self._generate_button.setObjectName("generateModeButton")
        self._generate_button.setToolTip("Run: sample new images from noise, step by step")
        self._forward_button = QPushButton("Forward (noise real images)")
        self._forward_button.setObjectName("forwardModeButton")
        self._forward_button.setToolTip("Run: take real images from the data set and add noise "
                                        "step by step (the forward process)")
        self._mode_group = QButtonGroup(self)
        self._mode_group.setExclusive(True)
        for b in (self._generate_button, self._forward_button):
            b.setCheckable(True)
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 26)
            self._mode_group.addButton(b)
            mode_layout.addWidget(b)
        self._generate_button.setChecked(True)
        self._mode_group.buttonToggled.connect(lambda *_: self._update_enabled())

        self._run_button = QPushButton("Run")
        self._run_button.setObjectName("runButton")
        self._run_button.setToolTip("Compute a trajectory with these settings")
        self._run_button.setDefault(True)
        self._run_button.clicked.connect(self._on_run_button_clicked)

        self._sampler = QComboBox()
        self._sampler.setObjectName("samplerCombo")
        self._sampler.addItems(["ddpm", "ddim"])
        self._sampler.setToolTip("ddpm: ancestral sampling (stochastic). ddim: deterministic "
                                 "for eta = 0, DDPM-like for eta = 1.")
        self._sampler.currentTextChanged.connect(lambda *_: self._update_enabled())
        self._steps = QSpinBox()
        self._steps.setObjectName("stepsBox")
        self._steps.setRange(2, 1000)
        self._steps.setValue(50)
        self._steps.setToolTip("Number of sampling steps (timesteps visited)")
        self._eta = QDoubleSpinBox()
        self._eta.setObjectName("etaBox")
        self._eta.setRange(0.0, 1.0)
        self._eta.setSingleStep(0.1)
        self._eta.setDecimals(2)
        self._eta.setToolTip("DDIM noise: 0 = deterministic, 1 = as much noise as DDPM")
        self._seed = QSpinBox()
        self._seed.setObjectName("seedBox")
        self._seed.setRange(0, 2 ** 31 - 1)
        self._seed.setToolTip("Seed of the starting noise (and of re-noising edits)")
        self._n = QSpinBox()
        self._n.setObjectName("samplesBox")
        self._n.setRange(1, 256)
        self._n.setValue(16)
        self._n.setToolTip("How many samples (or real images, in forward mode)")
        self._labels: dict[str, QLabel] = {}
        for key, text, buddy in (("sampler", "sampler", self._sampler), ("steps", "steps", self._steps),
                                 ("eta", "eta", self._eta), ("seed", "seed", self._seed),
                                 ("n", "samples", self._n)):
            lab = QLabel(text)
            lab.setBuddy(buddy)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._labels[key] = lab
        pv.addWidget(self._run_box)

        # the display: hint | three grids | points plot
        self._display = QStackedWidget()
        self._display.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._ready = QLabel(READY_TEXT)
        self._ready.setObjectName("scrubberReadyHint")
        self._ready.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._ready.setWordWrap(True)
        self._ready.setMargin(16)
        self._display.addWidget(self._ready)

        self._images_page = QWidget()
        ig = QGridLayout(self._images_page)
        ig.setContentsMargins(0, 0, 0, 0)
        ig.setHorizontalSpacing(4)
        ig.setVerticalSpacing(2)
        self._grid_titles: dict[str, QLabel] = {}
        self._grid_views: dict[str, pg.GraphicsView] = {}
        self._grid_vbs: dict[str, pg.ViewBox] = {}
        self._grid_items: dict[str, pg.ImageItem] = {}
        self._grid_rects: dict[str, QGraphicsRectItem] = {}
        for col, key in enumerate(GRID_KEYS):
            title = QLabel(GRID_TITLES[key])
            title.setObjectName(f"{key}Title")
            title.setToolTip(GRID_TIPS.get(key, ""))
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            view, vb, item, rect = _image_view(f"{key}View")
            view.setToolTip("Click a sample to select it for editing")
            view.scene().sigMouseClicked.connect(
                lambda ev, k=key: self._on_grid_mouse_clicked(k, ev))
            self._grid_titles[key], self._grid_views[key] = title, view
            self._grid_vbs[key], self._grid_items[key], self._grid_rects[key] = vb, item, rect
        self._noise_note = QLabel(NOISE_NOTE)
        self._noise_note.setObjectName("noiseNote")
        self._noise_note.setWordWrap(True)
        self._noise_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._noise_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._images_grid = ig
        self._layout = ""
        self._arrange_grids("row")
        self._display.addWidget(self._images_page)
        self._display.installEventFilter(self)

        self._plot = pg.PlotWidget()
        self._plot.setObjectName("pointsPlot")
        self._plot.setAspectLocked(True)
        self._plot.setMenuEnabled(False)
        self._plot.hideButtons()
        self._plot.showGrid(x=True, y=True, alpha=0.15)
        self._plot.setMinimumSize(120, 120)
        self._trails = pg.PlotCurveItem(connect="finite", pen=pg.mkPen(*XT_COLOUR, 40, width=1))
        self._field_item = pg.PlotCurveItem(connect="pairs")
        self._x0_scatter = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*X0_COLOUR, 200))
        self._x0_true_scatter = pg.ScatterPlotItem(size=6, brush=None,
                                                   pen=pg.mkPen(*TRUE_COLOUR, 160, width=1))
        self._xt_scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(*XT_COLOUR))
        self._sel_trail = pg.PlotCurveItem(pen=pg.mkPen(*SELECT_COLOUR, width=2))
        self._sel_ring = pg.ScatterPlotItem(size=14, brush=None, pen=pg.mkPen(*SELECT_COLOUR, width=2))
        for z, item in enumerate((self._field_item, self._trails, self._x0_true_scatter,
                                  self._x0_scatter, self._xt_scatter, self._sel_trail,
                                  self._sel_ring)):
            item.setZValue(z)
            self._plot.addItem(item)
        self._legend = pg.LegendItem(offset=(6, 6), verSpacing=-4, labelTextSize="8pt")
        self._legend.setParentItem(self._plot.getPlotItem().vb)
        self._legend.addItem(self._xt_scatter, "x_t")
        self._legend.addItem(self._x0_scatter, "predicted x0")
        self._legend_field = False
        self._legend_truth = False
        self._plot.scene().sigMouseClicked.connect(self._on_plot_mouse_clicked)
        self._display.addWidget(self._plot)
        pv.addWidget(self._display, 1)

        # transport
        transport = QVBoxLayout()
        transport.setContentsMargins(0, 0, 0, 0)
        transport.setSpacing(2)
        scrub_row, play_row = QHBoxLayout(), QHBoxLayout()
        scrub_row.setSpacing(6)
        play_row.setSpacing(6)
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setObjectName("stepSlider")
        self._slider.setRange(0, 0)
        self._slider.setToolTip("Scrub through the steps of the trajectory")
        self._slider.valueChanged.connect(self._on_slider_value_changed)
        self._slider.sliderPressed.connect(self.pause)
        self._step_label = QLabel(NO_STEPS_TEXT)
        self._step_label.setObjectName("stepLabel")
        self._step_label.setMinimumWidth(
            self._step_label.fontMetrics().horizontalAdvance("step 999 / 999, t = 1000") + 4)
        self._step_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        scrub_row.addWidget(self._slider, 1)
        scrub_row.addWidget(self._step_label)
        style = self.style()
        play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        reverse_icon = play_icon.pixmap(QSize(16, 16)).transformed(QTransform().scale(-1, 1))
        self._reverse_button = QPushButton(reverse_icon, "Reverse")
        self._reverse_button.setObjectName("reverseButton")
        self._reverse_button.setToolTip("Play backwards (towards the first step)")
        self._reverse_button.clicked.connect(self.reverse)
        self._pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self._pause_button.setObjectName("pauseButton")
        self._pause_button.clicked.connect(self.pause)
        self._play_button = QPushButton(play_icon, "Play")
        self._play_button.setObjectName("playButton")
        self._play_button.setToolTip("Play forwards (towards the last step)")
        self._play_button.clicked.connect(self.play)
        self._fps = QSpinBox()
        self._fps.setObjectName("fpsBox")
        self._fps.setRange(FPS_MIN, FPS_MAX)
        self._fps.setValue(FPS_DEFAULT)
        self._fps.setSuffix(" fps")
        self._fps.setToolTip("Playback speed, steps per second")
        self._fps.valueChanged.connect(self._set_fps_interval)
        self._error_label = QLabel()
        self._error_label.setObjectName("errorReadout")
        self._error_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._error_label.setWordWrap(True)
        self._error_label.setToolTip(
            "How far the model's noise guess is from the noise actually added at this t: mean "
            "squared error over the images (and of the selected one). 0 is perfect; guessing "
            "zero noise scores about 1.")
        self._error_label.hide()
        for b in (self._reverse_button, self._pause_button, self._play_button):
            play_row.addWidget(b)
        play_row.addStretch(1)
        play_row.addWidget(self._fps)
        transport.addLayout(scrub_row)
        transport.addLayout(play_row)
        transport.addWidget(self._error_label)
        pv.addLayout(transport)

        # schedule plot
        self._sched = pg.PlotWidget()
        self._sched.setObjectName("schedulePlot")
        self._sched.setMenuEnabled(False)
        self._sched.hideButtons()
        self._sched.setMouseEnabled(False, False)
        self._sched.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._sched.setFixedHeight(SCHED_MIN)
        pi = self._sched.getPlotItem()
        pi.showAxis("right")
        for name in ("left", "right", "bottom"):
            ax = pi.getAxis(name)
            ax.setStyle(tickFont=self._small_font(), tickTextOffset=2)
        pi.getAxis("left").setWidth(34)
        pi.getAxis("right").setWidth(34)
        pi.getAxis("bottom").setHeight(20)
        self._snr_vb = pg.ViewBox(enableMouse=False, enableMenu=False)
        pi.scene().addItem(self._snr_vb)
        pi.getAxis("right").linkToView(self._snr_vb)
        self._snr_vb.setXLink(pi.vb)
        pi.vb.sigResized.connect(self._sync_snr_view)
        self._abar_curve = pg.PlotDataItem(pen=pg.mkPen(*ABAR_COLOUR, width=2), connect="finite")
        self._snr_curve = pg.PlotDataItem(pen=pg.mkPen(*SNR_COLOUR, width=2), connect="finite")
        self._abar_dot = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(*ABAR_COLOUR))
        self._snr_dot = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(*SNR_COLOUR))
        pi.addItem(self._abar_curve)
        pi.addItem(self._abar_dot)
        self._snr_vb.addItem(self._snr_curve)
        self._snr_vb.addItem(self._snr_dot)
        self._marker = pg.InfiniteLine(angle=90, movable=True, label="t = {value:.0f}",
                                       labelOpts={"position": 0.88, "anchors": [(0, 0.5), (0, 0.5)]})
        self._marker.setToolTip("Drag to scrub to the nearest step")
        self._marker.setVisible(False)
        self._marker.sigPositionChanged.connect(self._on_marker_position_changed)
        pi.addItem(self._marker, ignoreBounds=True)
        self._sched_legend = pg.LegendItem(offset=(-4, 2), verSpacing=-6, labelTextSize="8pt")
        self._sched_legend.setParentItem(pi.vb)
        self._place_schedule_legend()
        self._sched_legend.addItem(self._abar_curve, "\u1fb1 (alpha-bar)")
        self._sched_legend.addItem(self._snr_curve, "log10 SNR (right)")
        pv.addWidget(self._sched)

        # edit row
        self._edit_grid = QGridLayout()
        self._edit_grid.setContentsMargins(0, 0, 0, 0)
        self._edit_grid.setHorizontalSpacing(6)
        self._edit_grid.setVerticalSpacing(4)
        self._selection_label = QLabel()
        self._selection_label.setObjectName("selectionLabel")
        self._selection_label.setWordWrap(True)
        self._selection_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._renoise_button = QPushButton("Re-noise selected")
        self._renoise_button.setObjectName("renoiseButton")
        self._renoise_button.setToolTip("Replace the selected sample's x_t at this step with fresh "
                                        "noise (seeded) and carry on sampling from here")
        self._renoise_button.clicked.connect(lambda: self._emit_edit("renoise"))
        self._swap_button = QPushButton("Swap with data image")
        self._swap_button.setObjectName("swapButton")
        self._swap_button.setToolTip("Replace the selected sample with a real data image noised "
                                     "to this step's t, and carry on sampling from here")
        self._swap_button.clicked.connect(lambda: self._emit_edit("swap"))
        self._continue_button = QPushButton("Continue from here")
        self._continue_button.setObjectName("continueButton")
        self._continue_button.setToolTip("Sample again from this step's x_t with the settings "
                                         "above (e.g. another sampler or eta)")
        self._continue_button.clicked.connect(self._on_continue_button_clicked)
        pv.addLayout(self._edit_grid)

        # status (on both pages)
        status = QHBoxLayout()
        status.setSpacing(6)
        self._busy_bar = QProgressBar()
        self._busy_bar.setObjectName("busyBar")
        self._busy_bar.setRange(0, 0)
        self._busy_bar.setTextVisible(False)
        self._busy_bar.setFixedSize(48, 10)
        self._busy_bar.hide()
        self._status = QLabel()
        self._status.setObjectName("statusLabel")
        self._status.setWordWrap(True)
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._status.hide()
        status.addWidget(self._busy_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        status.addWidget(self._status, 1)
        root.addLayout(status)

    def _small_font(self):
        f = self.font()
        f.setPointSizeF(max(6.5, f.pointSizeF() * 0.85))
        return f

    def _arrange(self, wide: bool) -> None:
        """Lay the control rows out for a wide panel (fewer rows) or a narrow dock."""
        if wide == self._wide:
            return
        self._wide = wide
        g = self._run_grid
        for w in [self._mode_row, self._run_button, self._sampler, self._steps, self._eta,
                  self._seed, self._n, *self._labels.values()]:
            g.removeWidget(w)
        for c in range(g.columnCount()):
            g.setColumnStretch(c, 0)
        pairs = [(self._labels[k], w) for k, w in (("sampler", self._sampler), ("steps", self._steps),
                                                   ("eta", self._eta), ("seed", self._seed),
                                                   ("n", self._n))]
        if wide:
            g.addWidget(self._mode_row, 0, 0, 1, 10, Qt.AlignmentFlag.AlignLeft)
            g.addWidget(self._run_button, 0, 11)
            for i, (lab, w) in enumerate(pairs):
                g.addWidget(lab, 1, 2 * i)
                g.addWidget(w, 1, 2 * i + 1)
            g.setColumnStretch(10, 1)
        else:
            g.addWidget(self._mode_row, 0, 0, 1, 5, Qt.AlignmentFlag.AlignLeft)
            g.addWidget(self._run_button, 0, 5)
            for i, (lab, w) in enumerate(pairs):
                r, c = divmod(i, 3)
                g.addWidget(lab, 1 + r, 2 * c)
                g.addWidget(w, 1 + r, 2 * c + 1)
            for c in (1, 3, 5):
                g.setColumnStretch(c, 1)

        e = self._edit_grid
        for w in (self._selection_label, self._renoise_button, self._swap_button,
                  self._continue_button):
            e.removeWidget(w)
        for c in range(e.columnCount()):
            e.setColumnStretch(c, 0)
        if wide:
            e.addWidget(self._selection_label, 0, 0)
            e.addWidget(self._renoise_button, 0, 1)
            e.addWidget(self._swap_button, 0, 2)
            e.addWidget(self._continue_button, 0, 3)
            e.setColumnStretch(0, 1)
        else:
            e.addWidget(self._renoise_button, 0, 0)
            e.addWidget(self._swap_button, 0, 1)
            e.addWidget(self._continue_button, 1, 0)
            e.addWidget(self._selection_label, 1, 1)
            e.setColumnStretch(0, 1)
            e.setColumnStretch(1, 1)

    def _arrange_grids(self, layout: str) -> None:
        """Place the grids by LAYOUTS[layout]; the noise note goes under the noise grid in a
        single row, else into the free cell left of it."""
        if layout == self._layout:
            return
        self._layout = layout
        ig = self._images_grid
        widgets = [*self._grid_titles.values(), *self._grid_views.values(), self._noise_note]
        for w in widgets:
            ig.removeWidget(w)
        for r in range(ig.rowCount()):
            ig.setRowStretch(r, 0)
        for c in range(ig.columnCount()):
            ig.setColumnStretch(c, 0)
        cells = LAYOUTS[layout]
        for key in GRID_KEYS:
            shown = key in cells
            self._grid_titles[key].setVisible(shown)
            self._grid_views[key].setVisible(shown)
            if not shown:
                continue
            r, c = cells[key]
            ig.addWidget(self._grid_titles[key], 2 * r, c)
            ig.addWidget(self._grid_views[key], 2 * r + 1, c)
            ig.setRowStretch(2 * r + 1, 1)
            ig.setColumnStretch(c, 1)
        rows = 1 + max(r for r, _ in cells.values())
        self._noise_note.setText(f"{TRUTH_NOTE}\n\n{NOISE_NOTE}" if layout == "truth" else NOISE_NOTE)
        if rows == 1:
            ig.addWidget(self._noise_note, 2, cells["eps"][1], 1, len(cells) - cells["eps"][1])
            self._noise_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        else:
            cols = 1 + max(c for _, c in cells.values())
            free = next(c for c in range(cols) if (1, c) not in cells.values())
            ig.addWidget(self._noise_note, 3, free)
            self._noise_note.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def _fit_heights(self) -> None:
        """Share the height of the display and the schedule plot: the grids (or the points
        plot) get what they can use at this width, in one row of three or a 2 x 2 block,
        whichever shows them larger; the schedule plot gets the rest (96-220 px)."""
        if self._fitting or not self._sched.isVisibleTo(self):
            return
        self._fitting = True
        try:
            share = self._display.height() + self._sched.height()
            width = self._display.width()
            if share <= 0 or width <= 0:
                return
            room = share - SCHED_MIN
            page = self._display.currentWidget()
            if page is self._images_page and self._geometry is not None:
                gh, gw = self._geometry.shape
                aspect = gh / max(gw, 1)
                title_h = self._grid_titles["xt"].sizeHint().height() + 2
                note_h = self._noise_note.fontMetrics().height() + 2
                best = None
                truth = self._traj is not None and self._traj["x0_true"] is not None
                for layout in (("truth", "truth_row") if truth else ("row", "square")):
                    cells = LAYOUTS[layout].values()
                    rows = 1 + max(r for r, _ in cells)
                    cols = 1 + max(c for _, c in cells)
                    col_w = (width - 4 * (cols - 1)) / cols
                    avail = (room - rows * title_h - (note_h if rows == 1 else 0)) / rows
                    side = min(col_w * aspect, avail)
                    if best is None or side > best[1] * 1.15:
                        best = (layout, side, rows * (title_h + side) + (note_h if rows == 1 else 0))
                self._arrange_grids(best[0])
                need = best[2]
            elif page is self._plot:
                need = width * 0.9
            else:
                need = share * 0.6
            sched = int(np.clip(share - need, SCHED_MIN, SCHED_MAX))
            if abs(sched - self._sched.height()) > 1:
                self._sched.setFixedHeight(sched)
        finally:
            self._fitting = False

    # -- public API: data in -----------------------------------------------------------------

    def set_schedule(self, alpha_bar: np.ndarray, t_max: int) -> None:
        """The noise schedule: alpha-bar for t = 1..t_max ((T,); T may be < t_max, then the
        values are spread evenly over 1..t_max). Draws alpha-bar and log10 SNR against t."""
        ab = np.asarray(alpha_bar, np.float64).reshape(-1)
        if ab.size == 0:
            self._schedule = None
            self._abar_curve.setData([], [])
            self._snr_curve.setData([], [])
            self._update_page()
            return
        t_max = int(t_max) if int(t_max) > 0 else len(ab)
        ts = (np.arange(1, len(ab) + 1, dtype=np.float64) if len(ab) == t_max
              else np.linspace(1, t_max, len(ab)))
        snr = log10_snr(ab)
        self._schedule = (ts, ab, snr, t_max)
        self._abar_curve.setData(ts, ab)
        self._snr_curve.setData(ts, snr)
        pi = self._sched.getPlotItem()
        pi.setXRange(0, t_max, padding=0.02)
        pi.setYRange(0, 1, padding=0.05)
        finite = snr[np.isfinite(snr)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            if hi - lo < 1e-6:
                lo, hi = lo - 1, hi + 1
            self._snr_vb.setYRange(lo, hi, padding=0.05)
        self._marker.setBounds((0, t_max))
        self._update_page()
        self._update_marker()

    def set_trajectory(self, traj: dict, step: Optional[int] = None) -> None:
        """Show a trajectory (see the module docstring for its keys). Opens at `step`; by
        default at the first step, or, when it answers an edit / "Continue from here", at
        the first step with the t that was on screen. Clears busy; keeps the selection if
        the sample still exists."""
        norm = _normalise_trajectory(traj)
        self.pause()
        keep_t, self._keep_t = self._keep_t, None
        self._traj, self._raw_traj = norm, traj
        S, N = norm["xt"].shape[0], norm["xt"].shape[1]
        if self._selected is not None and self._selected >= N:
            self._selected = None
            self.sample_selected.emit(-1)
        if step is None:
            step = 0
            if keep_t is not None:
                hits = np.flatnonzero(norm["t"] == keep_t)
                if hits.size:
                    step = int(hits[0])
        step = int(np.clip(step, 0, S - 1))
        self._geometry = None
        self._grids = {}
        if norm["kind"] == "points":
            self._trail_idx = np.unique(np.round(np.linspace(0, N - 1, min(N, MAX_TRAILS))).astype(np.int64))
            self._fit_points_range()
            self._display.setCurrentWidget(self._plot)
        else:
            for key in GRID_KEYS:
                self._grid_items[key].clear()
                present = norm[key] is not None
                self._grid_titles[key].setText(GRID_TITLES[key] if present
                                               else f"{GRID_TITLES[key]} (not given)")
            truth = norm["x0_true"] is not None
            if truth != (self._layout in ("truth", "truth_row")):
                self._arrange_grids("truth" if truth else "row")
            self._display.setCurrentWidget(self._images_page)
        self._clear_status()
        self._set_slider(step, S - 1)
        self._step = step
        self._update_title()
        self._update_page()
        self._show_step(step, force=True)
        self._update_enabled()
        QTimer.singleShot(0, self, self._fit_heights)

    def set_vector_field(self, grid_xy: Optional[np.ndarray], vectors: Optional[np.ndarray]) -> None:
        """The predicted-noise field for points mode, drawn as short arrows: grid_xy (M, 2)
        positions; vectors (M, 2), or (S, M, 2) for one field per step of the trajectory
        (shown only while a trajectory of S steps is on screen). None clears it. Arrow
        lengths are scaled so that long arrows span about one grid spacing."""
        if grid_xy is None or vectors is None:
            self._field_xy = self._field_vec = None
            self._field_item.setData([], [])
            self._set_field_legend(False)
            return
        xy = np.asarray(grid_xy, np.float64).reshape(-1, 2)
        vec = np.asarray(vectors, np.float64)
        if vec.shape[-2:] != xy.shape or vec.ndim not in (2, 3):
            raise ValueError(f"set_vector_field: vectors must be ({len(xy)}, 2) or (S, {len(xy)}, 2), "
                             f"got {vec.shape}")
        self._field_xy, self._field_vec = xy, vec
        spacing = _typical_spacing(xy)
        norms = np.linalg.norm(vec.reshape(-1, 2), axis=1)
        norms = norms[np.isfinite(norms)]
        ref = float(np.percentile(norms, 95)) if norms.size else 0.0
        self._field_scale = 0.9 * spacing / ref if ref > 0 else 0.0
        self._draw_field()

    def set_busy(self, message: str) -> None:
        """The host is computing (a trajectory, an edit...); cleared by set_trajectory or
        set_error."""
        self._set_status(message or "Working\u2026", busy=True)

    def set_error(self, message: str) -> None:
        """Show an error (in red); clears busy."""
        self._set_status(message, error=True)

    def clear(self) -> None:
        """Back to the empty state (no schedule, no trajectory, no field)."""
        self.pause()
        self._traj = self._raw_traj = None
        self._selected = None
        self._keep_t = None
        self._geometry = None
        self._grids = {}
        self._step = 0
        for key in GRID_KEYS:
            self._grid_items[key].clear()
            self._grid_rects[key].setVisible(False)
        for item in (self._trails, self._sel_trail):
            item.setData([], [])
        for item in (self._xt_scatter, self._x0_scatter, self._x0_true_scatter, self._sel_ring):
            item.setData([], [])
        self._set_truth_legend(False)
        self._error_label.hide()
        self.set_vector_field(None, None)
        self.set_schedule(np.zeros(0), 0)
        self._set_slider(0, 0)
        self._step_label.setText(NO_STEPS_TEXT)
        self._display.setCurrentWidget(self._ready)
        self._clear_status()
        self._update_title()
        self._update_page()
        self._update_enabled()

    # -- public API: state -------------------------------------------------------------------

    def trajectory(self) -> Optional[dict]:
        """The trajectory dict as given to set_trajectory (None before one)."""
        return self._raw_traj

    def current_step(self) -> int:
        """Index of the step on screen (0..S-1)."""
        return self._step

    def current_t(self) -> Optional[int]:
        return None if self._traj is None else int(self._traj["t"][self._step])

    def step_count(self) -> int:
        return 0 if self._traj is None else len(self._traj["t"])

    def set_step(self, i: int) -> None:
        """Show step i (clamped), as the slider would."""
        if self._traj is None:
            return
        self._slider.setValue(int(np.clip(int(i), 0, self.step_count() - 1)))

    def selected_index(self) -> Optional[int]:
        """Index of the selected sample, or None."""
        return self._selected

    def select(self, index: Optional[int]) -> None:
        """Select sample `index` (None clears), as a click would."""
        if self._traj is None:
            return
        n = self._traj["xt"].shape[1]
        new = None if index is None or not (0 <= int(index) < n) else int(index)
        if new == self._selected:
            return
        self._selected = new
        self._update_selection()
        self._update_error()
        self._update_enabled()
        self.sample_selected.emit(-1 if new is None else new)

    def current_grids(self) -> dict[str, np.ndarray]:
        """The uint8 (H, W, C) grids on screen, keys "xt", "x0", "eps" (those given); empty
        for points."""
        return {k: v.copy() for k, v in self._grids.items()}

    def grid_geometry(self) -> Optional[GridGeometry]:
        """Cell layout of the grids on screen (the same for all three), None for points."""
        return self._geometry

    def is_playing(self) -> bool:
        return self._timer.isActive()

    def play(self) -> None:
        """Play towards the last step (from the first when already at the end)."""
        self._start(+1)

    def reverse(self) -> None:
        """Play towards the first step (from the last when already at the start)."""
        self._start(-1)

    def pause(self) -> None:
        self._timer.stop()
        self._update_enabled()

    def run_settings(self) -> dict:
        """What Run would emit: {"mode", "sampler", "steps", "eta", "seed", "n"}."""
        return {"mode": "forward" if self._forward_button.isChecked() else "sample",
                "sampler": self._sampler.currentText(),
                "steps": int(self._steps.value()),
                "eta": float(self._eta.value()),
                "seed": int(self._seed.value()),
                "n": int(self._n.value())}

    def set_run_settings(self, **settings: Any) -> None:
        """Set any of mode, sampler, steps, eta, seed, n (e.g. to restore them)."""
        if "mode" in settings:
            (self._forward_button if settings["mode"] == "forward" else self._generate_button).setChecked(True)
        if "sampler" in settings:
            i = self._sampler.findText(str(settings["sampler"]))
            if i < 0:
                raise ValueError(f"unknown sampler {settings['sampler']!r}")
            self._sampler.setCurrentIndex(i)
        for key, box in (("steps", self._steps), ("eta", self._eta), ("seed", self._seed),
                         ("n", self._n)):
            if key in settings:
                box.setValue(settings[key])
        self._update_enabled()

    def title(self) -> str:
        return self._title.text()

    def step_text(self) -> str:
        return self._step_label.text()

    def error_text(self) -> str:
        """The noise-error readout on screen ("" when the trajectory has no truth)."""
        return "" if self._error_label.isHidden() else self._error_label.text()

    def status_text(self) -> str:
        return "" if self._status.isHidden() else self._status.text()

    def is_busy(self) -> bool:
        return not self._busy_bar.isHidden()

    def fps(self) -> int:
        return int(self._fps.value())

    def set_fps(self, fps: int) -> None:
        self._fps.setValue(int(fps))

    def apply_palette(self) -> None:
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        base = pal.color(QPalette.ColorRole.Base)
        muted = _muted(fg, bg)
        for view in self._grid_views.values():
            view.setBackground(bg)
        for plot in (self._plot, self._sched):
            plot.setBackground(base)
            pi = plot.getPlotItem()
            for name in ("left", "right", "bottom"):
                ax = pi.getAxis(name)
                ax.setPen(pg.mkPen(muted))
                ax.setTextPen(pg.mkPen(fg))
        self._sched.getPlotItem().getAxis("left").setTextPen(pg.mkPen(*ABAR_COLOUR))
        self._sched.getPlotItem().getAxis("right").setTextPen(pg.mkPen(*SNR_COLOUR))
        line = QColor(fg)
        line.setAlphaF(0.8)
        self._marker.setPen(pg.mkPen(line, width=1.5))
        self._marker.setHoverPen(pg.mkPen(QColor(*SELECT_COLOUR), width=2.5))
        self._marker.label.setColor(fg)
        fill = QColor(base)
        fill.setAlphaF(0.8)
        self._marker.label.fill = pg.mkBrush(fill)
        field = QColor(fg)
        field.setAlphaF(0.45)
        self._field_item.setPen(pg.mkPen(field, width=1))
        for legend in (self._legend, self._sched_legend):
            legend.setLabelTextColor(fg)
            for _sample, label in legend.items:           # setAttr alone does not re-render
                label.setText(label.text, color=fg)
            lb = QColor(base)
            lb.setAlphaF(0.75)
            legend.setBrush(pg.mkBrush(lb))
        hl = pal.color(QPalette.ColorRole.Highlight)
        hl_text = pal.color(QPalette.ColorRole.HighlightedText)
        toggle_css = (f"QPushButton:checked {{ background: {hl.name()}; color: {hl_text.name()}; "
                      f"border: 1px solid {hl.darker(130).name()}; border-radius: 3px; "
                      f"padding: 3px 8px; }}")
        for b in (self._generate_button, self._forward_button):
            b.setStyleSheet(toggle_css)
        hint = QColor(fg)
        hint.setAlphaF(0.55)
        css = hint.name(QColor.NameFormat.HexArgb)
        self._empty.setStyleSheet(f"color: {css}; font-size: 11pt;")
        self._ready.setStyleSheet(f"color: {css};")
        self._noise_note.setStyleSheet(f"color: {muted.name()}; font-size: 8pt;")
        self._selection_label.setStyleSheet(f"color: {muted.name()};")

    # -- Qt overrides ------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(640, 620)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._arrange(self.width() >= WIDE)
        self._fit_heights()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit_heights()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self._display and event.type() == event.Type.Resize:
            self._fit_heights()
        return super().eventFilter(obj, event)


    # -- display -----------------------------------------------------------------------------

    def _show_step(self, i: int, force: bool = False) -> None:
        if self._traj is None:
            return
        if i == self._step and not force:
            return
        self._step = i
        traj = self._traj
        if traj["kind"] == "images":
            self._show_grids(i)
        else:
            self._show_points(i)
        t = int(traj["t"][i])
        self._step_label.setText(f"step {i} / {len(traj['t']) - 1}, t = {t}")
        self._update_error()
        self._update_marker()
        self._update_selection()
        self.step_changed.emit(i, t)

    def _show_grids(self, i: int) -> None:
        traj = self._traj
        grids: dict[str, np.ndarray] = {}
        for key in GRID_KEYS:
            arr = traj[key]
            item = self._grid_items[key]
            if arr is None:
                item.clear()
                continue
            frame = arr[i]
            if key in NOISE_KEYS:
                frame = noise_to_display(frame)
            grid, geometry = make_grid(_grid_channels(frame))
            self._geometry = geometry
            grids[key] = grid
            resized = item.image is None or item.image.shape[:2] != grid.shape[:2]
            item.setImage(grid[:, :, 0] if grid.shape[2] == 1 else grid,
                          autoLevels=False, levels=(0, 255))
            if resized:
                self._grid_vbs[key].autoRange(padding=0.0, items=[item])
        self._grids = grids

    def _show_points(self, i: int) -> None:
        traj = self._traj
        xt = traj["xt"]
        self._xt_scatter.setData(pos=np.asarray(xt[i], np.float64))
        for key, item in (("x0", self._x0_scatter), ("x0_true", self._x0_true_scatter)):
            if traj[key] is not None:
                item.setData(pos=np.asarray(traj[key][i], np.float64))
            else:
                item.setData([], [])
        self._set_truth_legend(traj["x0_true"] is not None)
        idx = self._trail_idx
        if len(idx) and i > 0:
            path = np.asarray(xt[:i + 1, idx], np.float64).transpose(1, 0, 2)     # (P, i+1, 2)
            path = np.concatenate([path, np.full((len(idx), 1, 2), np.nan)], axis=1).reshape(-1, 2)
            self._trails.setData(path[:, 0], path[:, 1])
        else:
            self._trails.setData([], [])
        self._draw_field()

    def _draw_field(self) -> None:
        vec = self._field_vec
        if vec is None or self._field_xy is None:
            return
        if vec.ndim == 3:
            if self._traj is None or len(vec) != self.step_count():
                self._field_item.setData([], [])
                self._set_field_legend(False)
                return
            vec = vec[self._step]
        segs = _arrow_segments(self._field_xy, vec, self._field_scale).reshape(-1, 2)
        self._field_item.setData(segs[:, 0], segs[:, 1])
        self._set_field_legend(True)

    def _set_truth_legend(self, shown: bool) -> None:
        if shown and not self._legend_truth:
            self._legend.addItem(self._x0_true_scatter, "true x0")
        elif not shown and self._legend_truth:
            self._legend.removeItem(self._x0_true_scatter)
        self._legend_truth = shown

    def _set_field_legend(self, shown: bool) -> None:
        if shown and not self._legend_field:
            self._legend.addItem(self._field_item, "predicted noise \u03b5")
        elif not shown and self._legend_field:
            self._legend.removeItem(self._field_item)
        self._legend_field = shown

    def _fit_points_range(self) -> None:
        traj = self._traj
        parts = [traj["xt"].reshape(-1, 2)]
        if traj["x0"] is not None:
            parts.append(traj["x0"].reshape(-1, 2))
        pts = np.concatenate(parts).astype(np.float64)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if not len(pts):
            return
        lo = np.percentile(pts, 0.5, axis=0)
        hi = np.percentile(pts, 99.5, axis=0)
        if self._field_xy is not None:
            lo = np.minimum(lo, self._field_xy.min(axis=0))
            hi = np.maximum(hi, self._field_xy.max(axis=0))
        hi = np.maximum(hi, lo + 1e-6)
        self._plot.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]), padding=0.05)

    def _update_selection(self) -> None:
        k = self._selected
        geo = self._geometry
        for key, rect in self._grid_rects.items():
            if k is None or geo is None or key not in self._grids:
                rect.setVisible(False)
                continue
            r, c = divmod(k, geo.cols)
            half = geo.pad / 2
            rect.setRect(QRectF(geo.pad + c * (geo.w + geo.pad) - half,
                                geo.pad + r * (geo.h + geo.pad) - half,
                                geo.w + geo.pad, geo.h + geo.pad))
            rect.setVisible(True)
        if self._traj is not None and self._traj["kind"] == "points" and k is not None:
            xt = self._traj["xt"]
            p = np.asarray(xt[self._step, k], np.float64)
            self._sel_ring.setData([p[0]], [p[1]])
            path = np.asarray(xt[:self._step + 1, k], np.float64)
            self._sel_trail.setData(path[:, 0], path[:, 1])
        else:
            self._sel_ring.setData([], [])
            self._sel_trail.setData([], [])
        if self._traj is None:
            self._selection_label.setText("")
        elif k is None:
            self._selection_label.setText("Click a sample to edit it")
        else:
            self._selection_label.setText(f"Selected: sample #{k}")

    def _update_error(self) -> None:
        """The noise guess's error at this step (forward mode, where the truth is known)."""
        mse = None if self._traj is None else self._traj["eps_mse"]
        self._error_label.setVisible(mse is not None)
        if mse is None:
            self._error_label.setText("")
            return
        row = mse[self._step]
        t = int(self._traj["t"][self._step])
        if not np.isfinite(row).any():
            self._error_label.setText(f"t = {t}: the data itself, no noise to guess")
            return
        text = f"Noise guess error (MSE) at t = {t}: {np.nanmean(row):.3f}"
        k = self._selected
        if k is not None and len(row) > 1 and k < len(row):
            text += f" · #{k}: {row[k]:.3f}"
        self._error_label.setText(text)

    def _update_marker(self) -> None:
        t = self.current_t()
        shown = t is not None and self._schedule is not None
        self._marker.setVisible(shown)
        if not shown:
            self._abar_dot.setData([], [])
            self._snr_dot.setData([], [])
            return
        self._updating_marker = True
        try:
            self._marker.setValue(t)
        finally:
            self._updating_marker = False
        ts, ab, snr, _ = self._schedule
        j = int(np.argmin(np.abs(ts - t)))
        self._abar_dot.setData([ts[j]], [ab[j]])
        self._snr_dot.setData([ts[j]], [snr[j]])
        sample = self._traj is not None and self._traj["mode"] == "sample"
        pi = self._sched.getPlotItem()
        if pi.vb.xInverted() != sample:        # sampling runs from T to 0: so does the axis
            pi.vb.invertX(sample)
            self._snr_vb.invertX(sample)
            self._sync_snr_view()
            self._place_schedule_legend()

    def _place_schedule_legend(self) -> None:
        """Into the top corner at large t, where alpha-bar is ~0 and the log SNR low."""
        if self._sched.getPlotItem().vb.xInverted():
            self._sched_legend.anchor((0, 0), (0, 0), offset=(4, 2))
        else:
            self._sched_legend.anchor((1, 0), (1, 0), offset=(-4, 2))

    def _sync_snr_view(self) -> None:
        vb = self._sched.getPlotItem().vb
        self._snr_vb.setGeometry(vb.sceneBoundingRect())
        self._snr_vb.linkedViewChanged(vb, self._snr_vb.XAxis)

    def _update_title(self) -> None:
        traj = self._traj
        if traj is None:
            self._title.setText("Diffusion steps" if self._schedule is not None else " ")
            return
        S, N = traj["xt"].shape[:2]
        t = traj["t"]
        if traj["mode"] == "sample":
            what = "Sampling"
            noun = "points" if traj["kind"] == "points" else "samples"
        else:
            what = "Forward noising"
            noun = "points" if traj["kind"] == "points" else "images"
        self._title.setText(f"{what} \u00b7 {N} {noun} \u00b7 {S} steps, t {t[0]} \u2192 {t[-1]}")

    def _update_page(self) -> None:
        has = self._traj is not None or self._schedule is not None
        self._pages.setCurrentIndex(1 if has else 0)
        self._sched.setVisible(self._schedule is not None)
        if self._traj is None:
            self._display.setCurrentWidget(self._ready)
        self._update_title()

    def _update_enabled(self) -> None:
        has = self._traj is not None
        multi = has and self.step_count() > 1
        playing = self._timer.isActive()
        self._slider.setEnabled(has)
        self._play_button.setEnabled(multi and not (playing and self._direction > 0))
        self._reverse_button.setEnabled(multi and not (playing and self._direction < 0))
        self._pause_button.setEnabled(playing)
        selected = has and self._selected is not None
        self._renoise_button.setEnabled(selected)
        self._swap_button.setEnabled(selected)
        self._continue_button.setEnabled(has)
        self._export_button.setEnabled(has)
        if has:
            images = self._traj["kind"] == "images"
            self._export_actions["x0_grid"].setEnabled(self._traj["x0"] is not None)
            self._swap_button.setText("Swap with data image" if images else "Swap with data point")
        forward = self._forward_button.isChecked()
        self._sampler.setEnabled(not forward)
        self._eta.setEnabled(not forward and self._sampler.currentText() == "ddim")
        for key in ("sampler", "eta"):
            self._labels[key].setEnabled(getattr(self, f"_{key}").isEnabled())

    # -- status ------------------------------------------------------------------------------

    def _set_status(self, text: str, *, error: bool = False, busy: bool = False) -> None:
        self._status.setText(text)
        self._status.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self._status.setVisible(bool(text))
        self._busy_bar.setVisible(busy)

    def _clear_status(self) -> None:
        self._set_status("")

    # -- transport ---------------------------------------------------------------------------

    def _set_slider(self, value: int, maximum: int) -> None:
        self._slider.blockSignals(True)
        self._slider.setRange(0, max(0, maximum))
        self._slider.setValue(value)
        self._slider.blockSignals(False)

    def _on_slider_value_changed(self, value: int) -> None:
        self._show_step(int(value))

    def _start(self, direction: int) -> None:
        n = self.step_count()
        if n < 2:
            return
        self._direction = direction
        if direction > 0 and self._step >= n - 1:
            self.set_step(0)
        elif direction < 0 and self._step <= 0:
            self.set_step(n - 1)
        self._timer.start()
        self._update_enabled()

    def _set_fps_interval(self, *_args) -> None:
        self._timer.setInterval(max(1, round(1000 / self._fps.value())))

    def _on_timer_timeout(self) -> None:
        n = self.step_count()
        nxt = self._step + self._direction
        if n == 0 or nxt < 0 or nxt > n - 1:
            self.pause()
            return
        self.set_step(nxt)
        if nxt in (0, n - 1):
            self.pause()

    def _on_marker_position_changed(self) -> None:
        if self._updating_marker or self._traj is None:
            return
        t = self._marker.value()
        i = int(np.argmin(np.abs(self._traj["t"] - t)))
        self.pause()
        self.set_step(i)
        self._update_marker()        # snap to the step's t

    # -- requests ----------------------------------------------------------------------------

    def _on_run_button_clicked(self) -> None:
        self.pause()
        self._keep_t = None
        self.trajectory_requested.emit(self.run_settings())

    def _emit_edit(self, action: str) -> None:
        if self._traj is None or self._selected is None:
            return
        self.pause()
        t = int(self._traj["t"][self._step])
        self._keep_t = t
        self.edit_requested.emit({"step_index": int(self._step), "t": t,
                                  "index": int(self._selected), "action": action,
                                  "seed": int(self._seed.value())})

    def _on_continue_button_clicked(self) -> None:
        if self._traj is None:
            return
        self.pause()
        t = int(self._traj["t"][self._step])
        self._keep_t = t
        s = self.run_settings()
        self.continue_requested.emit({"step_index": int(self._step), "t": t,
                                      "x_t": np.array(self._traj["xt"][self._step], copy=True),
                                      "sampler": s["sampler"], "steps": s["steps"],
                                      "eta": s["eta"], "seed": s["seed"]})

    # -- mouse -------------------------------------------------------------------------------

    def _on_grid_mouse_clicked(self, key: str, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._geometry is None:
            return
        vb = self._grid_vbs[key]
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        k = self._geometry.index_at(p.x(), p.y())
        if k is not None:
            self.select(k)

    def _on_plot_mouse_clicked(self, event) -> None:
        if (event.button() != Qt.MouseButton.LeftButton or self._traj is None
                or self._traj["kind"] != "points"):
            return
        vb = self._plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        pts = np.asarray(self._traj["xt"][self._step], np.float64)
        d = np.sum((pts - (p.x(), p.y())) ** 2, axis=1)
        if np.isfinite(d).any():
            self.select(int(np.nanargmin(d)))


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import (fake_image_trajectory, fake_point_trajectory, preview_app,
                          preview_parser, show_or_grab)

    ap = preview_parser("Preview DiffusionScrubberPanel with fake data.", "900x650")
    ap.add_argument("--points", action="store_true", help="a 2D particle trajectory")
    ap.add_argument("--forward", action="store_true", help="a forward (noising) trajectory")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    ap.add_argument("--ready", action="store_true", help="a schedule but no trajectory yet")
    ap.add_argument("--step", type=int, default=30, help="step index to show")
    ap.add_argument("--select", type=int, default=5, help="sample to select (-1: none)")
    ap.add_argument("--busy", metavar="MSG", help="show a busy message")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = DiffusionScrubberPanel()
    panel.setWindowTitle("DiffusionScrubberPanel preview")
    for name in ("trajectory_requested", "edit_requested", "continue_requested", "export_requested"):
        getattr(panel, name).connect(lambda payload, name=name: print(
            name, {k: (v.shape if isinstance(v, np.ndarray) else v) for k, v in payload.items()}
            if isinstance(payload, dict) else payload))
    if not args.empty:
        if args.points:
            traj, ab, grid_xy, field = fake_point_trajectory()
            panel.set_schedule(ab, len(ab))
            panel.set_vector_field(grid_xy, field)
        else:
            traj, ab = fake_image_trajectory(mode="forward" if args.forward else "sample")
            panel.set_schedule(ab, len(ab))
            if args.forward:
                panel.set_run_settings(mode="forward")
        if not args.ready:
            panel.set_trajectory(traj, step=args.step)
            if args.select >= 0:
                panel.select(args.select)

            def answer_run(req: dict) -> None:
                panel.set_busy(f"Sampling {req['steps']} steps\u2026")
                new = (fake_point_trajectory(n=max(req["n"], 2), steps=req["steps"], seed=req["seed"])[0]
                       if args.points else
                       fake_image_trajectory(n=req["n"], steps=req["steps"], seed=req["seed"],
                                             mode=req["mode"])[0])
                QTimer.singleShot(300, lambda: panel.set_trajectory(new))
            panel.trajectory_requested.connect(answer_run)
    if args.busy:
        panel.set_busy(args.busy)
    return show_or_grab(app, panel, args.size, args.grab)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
