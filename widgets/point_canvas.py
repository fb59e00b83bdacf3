"""Point canvas: watch a generative model learn 2D point data, GAN-Lab style, and draw your own
data set.

The engine runs on the host thread; this panel only shows numpy data and emits requests:

- ``set_frame(CanvasFrame(...))`` shows one training step: the real points, the generated
  points, the discriminator's (or critic's) output over the plane as a heatmap with a colour
  bar, the generator's gradient arrows, the generator's manifold (a regular grid of latent
  codes pushed through G, drawn as a warped grid) and the mode centres (rings of 3 sigma).
  Every layer has a checkbox; a layer the frame leaves out (None) is greyed out and says why.
  The view fits the real data once per data set ("Fit view" fits again).
- ``append_mode_metrics(step, modes_captured, num_modes, high_quality_fraction, reverse_kl,
  per_mode_counts)`` feeds the per-mode coverage bars, the curves against step and the
  readout "7/8 modes · 96.1% high quality · reverse KL 0.03"; ``clear_history()`` forgets them.
- The transport (Play, Pause, Step, D step, G step, slow motion in ms per step) emits
  ``play_requested``, ``pause_requested``, ``step_requested("both" | "discriminator" |
  "generator")`` and ``slow_motion_changed(ms)``; the window answers with ``set_running``.
  ``show_phase_step(kind, step, losses)`` reports a single-player step that was taken: a
  "D moved" / "G moved" badge on the canvas, its losses under it, and the count of D and G
  steps since the last full step beside the step number (the next frame of a later step
  starts the count again).
- Draw: drag to spray points (brush radius and density), or the Mode tool: click to drop a
  Gaussian blob and record its centre as a mode; "Train on drawing" emits
  ``distribution_drawn({"x": (N, 2) float32, "modes": (K, 2) float32 | None, "sigma": float})``.

Preview: ``python -m widgets.point_canvas [--size 1000x700] [--grab OUT.png] [--dark]
[--empty] [--draw] [--vae]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox, QButtonGroup, QCheckBox, QDoubleSpinBox, QFrame, QGridLayout, QHBoxLayout,
    QLabel, QPushButton, QScrollArea, QSizePolicy, QSpinBox, QSplitter, QStackedWidget, QStyle,
    QVBoxLayout, QWidget,
)

from .kit import Growing, PaletteAware

__all__ = ["PointCanvasPanel", "CanvasFrame", "LAYERS", "EMPTY_TEXT", "HQ_TIP",
           "arrow_segments", "grid_polylines", "ring_polylines", "field_rect",
           "mode_readout", "STEP_KINDS", "phase_loss_text"]

EMPTY_TEXT = ("Open or train a run on 2D points (ring8, grid25, moons, spiral, or draw your "
              "own) to see it here.")
HQ_TIP = ("high quality = within 3 sigma of a mode (3 standard deviations of that mode's "
          "Gaussian); a mode counts as captured when enough generated samples land there")
STEP_KINDS = ("both", "discriminator", "generator")
LAYERS = ("real", "fake", "field", "arrows", "manifold", "modes")
LAYER_TEXT = {"real": "Real data", "fake": "Generated", "field": "Heatmap",
              "arrows": "Gradients", "manifold": "Manifold", "modes": "Mode centres"}
LAYER_TIP = {
    "real": "Samples of the training data",
    "fake": "Samples from the generator",
    "field": "{label} over the plane: green where it judges points real, purple where it "
             "judges them generated",
    "arrows": "Which way the generator's training pushes generated points. Arrow length is "
              "proportional to the gradient's size within a frame, scaled so that the longest "
              "arrows (95th percentile) are 6% of the data's extent (and capped at 1.5x that)",
    "manifold": "The generator applied to a regular grid of latent codes: how it warps the "
                "latent plane onto the data",
    "modes": "The centres of the data's Gaussian modes; rings have radius 3 sigma (the "
             "high-quality zone)",
}
LAYER_MISSING = {
    "real": "no real data in this frame",
    "fake": "no generated points in this frame",
    "field": "this model has no discriminator or critic",
    "arrows": "this model has no discriminator, so no gradients push its samples",
    "manifold": "this model does not map a grid of latent codes (no manifold)",
    "modes": "this data set has no known mode centres",
}
DRAW_TIP = ("Draw your own 2D distribution: drag to spray points, or choose the Mode tool "
            "and click to drop a Gaussian blob. Then press \u201cTrain on drawing\u201d.")
DRAW_SEED = 20240605          # drag k of a session uses default_rng(DRAW_SEED + k)
MAX_DRAWN = 20000             # points a drawing may hold
MIN_DRAWN = 10                # points needed before "Train on drawing"
ARROW_FRACTION = 0.06         # 95th-percentile arrow length, as a fraction of the data extent
ARROW_CAP = 1.5               # longer arrows are clipped to this multiple of that length
RING_SEGMENTS = 48
MAX_MODE_NUMBERS = 30         # more mode centres than this are left unnumbered
BADGE_MS = 1600               # how long "D moved" / "G moved" stays on the canvas
PLAYER = {"discriminator": "D", "generator": "G"}
WIDE = 820                    # panel width from which the metrics sit right of the canvas
FIT_PADDING = 0.08
DEFAULT_RANGE = (-2.0, 2.0)   # view when drawing with no data yet

# colours: light-theme / dark-theme variants (GAN Lab: real green, generated purple)
REAL_COLOURS = ((24, 138, 66), (92, 214, 128))
FAKE_COLOURS = ((132, 56, 200), (164, 104, 236))
DRAWN_COLOUR = (235, 120, 20)
CURVE_COLOURS = {"captured": ("#1f77b4", "#5aa9e6"), "hq": ("#d9730d", "#ffa64d"),
                 "rkl": ("#d62728", "#ff6b6b")}


def _nice_step(span: float) -> float:
    """The smallest 1, 2 or 5 x 10^k >= span (> 0): a round tick spacing."""
    span = max(float(span), 1e-12)
    base = 10.0 ** math.floor(math.log10(span))
    return next(m * base for m in (1.0, 2.0, 5.0, 10.0) if m * base >= span * (1 - 1e-9))


# --------------------------------------------------------------------------------------------
# the frame

@dataclass
class CanvasFrame:
    """What the canvas shows for one training step (numpy only; None = the model or data set
    has no such thing, and that layer is greyed out).

    real: (N, 2) training samples; fake: (M, 2) generated samples.
    field_x (gx,), field_y (gy,): ascending, evenly spaced cell centres; field_values
        (gy, gx): the discriminator / critic output, field_values[j, i] at (field_x[i],
        field_y[j]); field_label names it for the colour bar (e.g. "D(x) = P(real)").
    field_levels: the colour range (lo, hi); None: (0, 1) for values inside [0, 1] (a
        probability), else the 1st-99th percentile, widened at once and narrowed slowly.
    arrows_at (K, 2) and arrows (K, 2): where the generator's gradient arrows start and the
        vectors (the direction G's update moves those points).
    manifold: (rows, cols, 2), G applied to a rows x cols grid of latent codes.
    modes: (Km, 2) mode centres; mode_sigma their standard deviation (0: unknown).
    """
    step: int
    real: Optional[np.ndarray] = None
    fake: Optional[np.ndarray] = None
    field_x: Optional[np.ndarray] = None
    field_y: Optional[np.ndarray] = None
    field_values: Optional[np.ndarray] = None
    field_label: str = ""
    field_levels: Optional[tuple[float, float]] = None
    arrows_at: Optional[np.ndarray] = None
    arrows: Optional[np.ndarray] = None
    manifold: Optional[np.ndarray] = None
    modes: Optional[np.ndarray] = None
    mode_sigma: float = 0.0


def _points(a: Optional[np.ndarray], name: str) -> Optional[np.ndarray]:
    if a is None:
        return None
    a = np.asarray(a, np.float32)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"CanvasFrame.{name} must be (N, 2), got shape {a.shape}")
    return a


def _check_frame(f: CanvasFrame) -> dict:
    """The frame's arrays as float32 (validated); a layer is None when its data is missing."""
    out = {"real": _points(f.real, "real"), "fake": _points(f.fake, "fake"),
           "modes": _points(f.modes, "modes"), "field": None, "arrows": None, "manifold": None}
    if f.field_values is not None:
        v = np.asarray(f.field_values, np.float32)
        if f.field_x is None or f.field_y is None:
            raise ValueError("CanvasFrame.field_values needs field_x and field_y")
        fx = np.asarray(f.field_x, np.float64).reshape(-1)
        fy = np.asarray(f.field_y, np.float64).reshape(-1)
        if v.shape != (len(fy), len(fx)):
            raise ValueError(f"CanvasFrame.field_values must be (len(field_y), len(field_x)) = "
                             f"({len(fy)}, {len(fx)}), got {v.shape}")
        if v.size:
            out["field"] = (fx, fy, v)
    if f.arrows_at is not None and f.arrows is not None:
        at, vec = _points(f.arrows_at, "arrows_at"), _points(f.arrows, "arrows")
        if at.shape != vec.shape:
            raise ValueError(f"CanvasFrame.arrows {vec.shape} must match arrows_at {at.shape}")
        out["arrows"] = (at, vec)
    if f.manifold is not None:
        m = np.asarray(f.manifold, np.float32)
        if m.ndim != 3 or m.shape[2] != 2:
            raise ValueError(f"CanvasFrame.manifold must be (rows, cols, 2), got {m.shape}")
        out["manifold"] = m
    return out


# --------------------------------------------------------------------------------------------
# numpy helpers (no Qt)

def arrow_segments(at: np.ndarray, vec: np.ndarray, length: float, ref: float,
                   cap: float = ARROW_CAP) -> np.ndarray:
    """Line segments ((6K, 2), consecutive pairs: shaft and two head barbs) of arrows from `at`
    along `vec`: an arrow of magnitude `ref` is `length` long, longer ones are clipped at
    cap * length; heads are 30% of the arrow at +-25 degrees. ref <= 0 gives no arrows."""
    at = np.asarray(at, np.float64)
    vec = np.nan_to_num(np.asarray(vec, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if ref <= 0 or len(at) == 0:
        return np.zeros((0, 2), np.float64)
    mag = np.linalg.norm(vec, axis=1, keepdims=True)
    u = np.divide(vec, mag, out=np.zeros_like(vec), where=mag > 0)
    ln = length * np.minimum(mag / ref, cap)
    tip = at + u * ln
    head = 0.3 * ln
    c, s = math.cos(math.radians(25)), math.sin(math.radians(25))
    bx, by = -u[:, 0], -u[:, 1]
    left = np.stack([bx * c - by * s, bx * s + by * c], 1) * head
    right = np.stack([bx * c + by * s, -bx * s + by * c], 1) * head
    segs = np.stack([at, tip, tip, tip + left, tip, tip + right], 1)      # (K, 6, 2)
    return segs.reshape(-1, 2)


def grid_polylines(m: np.ndarray) -> np.ndarray:
    """A warped grid (rows, cols, 2) as one NaN-separated polyline: each row, then each column."""
    m = np.asarray(m, np.float32)
    r, c, _ = m.shape
    rows = np.full((r, c + 1, 2), np.nan, np.float32)
    rows[:, :c] = m
    cols = np.full((c, r + 1, 2), np.nan, np.float32)
    cols[:, :r] = m.transpose(1, 0, 2)
    return np.concatenate([rows.reshape(-1, 2), cols.reshape(-1, 2)])


def ring_polylines(centres: np.ndarray, radius: float, n: int = RING_SEGMENTS) -> np.ndarray:
    """Circles of `radius` around each centre as one NaN-separated polyline."""
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    t = np.linspace(0, 2 * np.pi, n + 1)
    circle = np.stack([np.cos(t), np.sin(t)], 1) * radius                 # (n+1, 2)
    out = np.full((len(centres), n + 2, 2), np.nan)
    out[:, :n + 1] = centres[:, None, :] + circle[None]
    return out.reshape(-1, 2)


def field_rect(fx: np.ndarray, fy: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, w, h) of the image whose pixel centres are the grid's cell centres."""
    def span(a: np.ndarray) -> tuple[float, float]:
        if len(a) < 2:
            return float(a[0]) - 0.5, 1.0
        d = (float(a[-1]) - float(a[0])) / (len(a) - 1)
        return float(a[0]) - d / 2, d * len(a)
    x, w = span(fx)
    y, h = span(fy)
    return x, y, w, h


def mode_readout(modes_captured: int, num_modes: int, high_quality_fraction: float,
                 reverse_kl: float) -> str:
    """ "7/8 modes · 96.1% high quality · reverse KL 0.03" """
    kl = f"{reverse_kl:.2f}" if math.isfinite(reverse_kl) else "\u2014"
    return (f"{int(modes_captured)}/{int(num_modes)} modes \u00b7 "
            f"{100 * high_quality_fraction:.1f}% high quality \u00b7 reverse KL {kl}")


def phase_loss_text(losses: dict) -> str:
    """ "loss/d 0.693": the losses of one single-player step, without loss/total when it
    only repeats the player's own loss."""
    items = [(k, float(v)) for k, v in losses.items() if k.startswith("loss/")]
    own = [v for k, v in items if k != "loss/total"]
    shown = [(k, v) for k, v in items if not (k == "loss/total" and v in own)]
    return ", ".join(f"{k} {v:.3g}" for k, v in shown)


def _bbox(*arrays: Optional[np.ndarray]) -> Optional[tuple[float, float, float, float]]:
    pts = [a for a in arrays if a is not None and len(a)]
    if not pts:
        return None
    xy = np.concatenate(pts)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return None
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


# --------------------------------------------------------------------------------------------
# Qt helpers

def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """(1 - t) a + t b."""
    return QColor(round(a.red() * (1 - t) + b.red() * t), round(a.green() * (1 - t) + b.green() * t),
                  round(a.blue() * (1 - t) + b.blue() * t))


def _alpha(c: QColor, a: float) -> QColor:
    c = QColor(c)
    c.setAlphaF(a)
    return c


def _swatch(kind: str, colour: QColor, second: Optional[QColor] = None, size: int = 14) -> QIcon:
    """A small legend icon for a layer checkbox."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour)
    pen.setWidthF(1.5)
    if kind == "dots":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        for x, y in ((4, 9), (9, 5), (10, 10)):
            p.drawEllipse(QPointF(x, y), 2.2, 2.2)
    elif kind == "field":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(second or colour)
        p.drawRect(QRectF(1, 2, size / 2 - 1, size - 4))
        p.setBrush(colour)
        p.drawRect(QRectF(size / 2, 2, size / 2 - 1, size - 4))
    elif kind == "arrow":
        p.setPen(pen)
        p.drawLine(QPointF(2, 11), QPointF(11, 3))
        p.drawLine(QPointF(11, 3), QPointF(6.5, 3.8))
        p.drawLine(QPointF(11, 3), QPointF(10.2, 7.5))
    elif kind == "grid":
        p.setPen(pen)
        path = QPainterPath()
        for k in (3, 7, 11):
            path.moveTo(1, k)
            path.cubicTo(5, k - 2, 9, k + 2, 13, k)
            path.moveTo(k, 1)
            path.cubicTo(k + 1.5, 5, k - 1.5, 9, k, 13)
        p.drawPath(path)
    else:                                          # ring
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(QPointF(size / 2, size / 2), size / 2 - 2, size / 2 - 2)
    p.end()
    return QIcon(pm)


class _Dots(pg.GraphicsObject):
    """Many same-looking dots, cheap to update: setData only stores the positions and paint
    stamps one pre-rendered dot per point (QPainter.drawPixmapFragments). ScatterPlotItem
    rebuilds per-point style records on every setData (~4 ms for 2,500 points)."""

    def __init__(self, size: float = 5.0, colour: QColor = QColor(0, 0, 0)):
        super().__init__()
        self._xy = np.zeros((0, 2), np.float64)
        self._size = float(size)
        self._colour = QColor(colour)
        self._pixmap: Optional[QPixmap] = None
        self._bounds = QRectF()
        self._frags = internals.PrimitiveArray(QPainter.PixmapFragment, 10)

    def setData(self, pos: Optional[np.ndarray] = None) -> None:  # noqa: N802 - pyqtgraph style
        xy = np.zeros((0, 2)) if pos is None else np.asarray(pos, np.float64).reshape(-1, 2)
        xy = xy[np.isfinite(xy).all(axis=1)]
        self.prepareGeometryChange()
        self._xy = xy
        if len(xy):
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            self._bounds = QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
        else:
            self._bounds = QRectF()
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 - pyqtgraph style
        return self._xy[:, 0], self._xy[:, 1]

    def setStyle(self, colour: QColor, size: Optional[float] = None) -> None:  # noqa: N802
        self._colour = QColor(colour)
        if size is not None:
            self._size = float(size)
        self._pixmap = None
        self.update()

    def colour(self) -> QColor:
        return QColor(self._colour)

    def _dot(self, dpr: float) -> QPixmap:
        if self._pixmap is None or self._pixmap.devicePixelRatio() != dpr:
            side = max(1, math.ceil((self._size + 2) * dpr))
            pm = QPixmap(side, side)
            pm.fill(Qt.GlobalColor.transparent)
            p = QPainter(pm)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self._colour)
            p.drawEllipse(QPointF(side / 2, side / 2), self._size * dpr / 2, self._size * dpr / 2)
            p.end()
            pm.setDevicePixelRatio(dpr)
            self._pixmap = pm
        return self._pixmap

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        if self._bounds.isNull() and not len(self._xy):
            return QRectF()
        px, py = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
        r = self._bounds
        pad_x, pad_y = px * (self._size + 2), py * (self._size + 2)
        return QRectF(r.x() - pad_x, r.y() - pad_y, r.width() + 2 * pad_x, r.height() + 2 * pad_y)

    def paint(self, p: QPainter, *_args) -> None:
        if not len(self._xy):
            return
        dpr = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        pm = self._dot(dpr)
        t = p.transform()
        x = self._xy[:, 0] * t.m11() + self._xy[:, 1] * t.m21() + t.m31()
        y = self._xy[:, 0] * t.m12() + self._xy[:, 1] * t.m22() + t.m32()
        side = pm.width()
        self._frags.resize(len(x))
        f = self._frags.ndarray()
        f[:, 0] = x
        f[:, 1] = y
        f[:, 2:6] = (0, 0, side, side)
        f[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
        p.save()
        p.resetTransform()
        p.drawPixmapFragments(*self._frags.drawargs(), pm)
        p.restore()


class _ModeNumbers(pg.ItemGroup):
    """The index of each mode beside its centre (mode k is the data's class k), so a coverage
    bar can be found on the canvas. Nothing is drawn for more than MAX_MODE_NUMBERS modes."""

    def __init__(self) -> None:
        super().__init__()
        self._labels: list[pg.TextItem] = []
        self._colour = QColor(0, 0, 0)
        self._font = None

    def setData(self, x: Sequence[float], y: Sequence[float], offset: float = 0.0) -> None:  # noqa: N802
        for item in self._labels:
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self._labels = []
        if len(x) > MAX_MODE_NUMBERS:
            return
        for k, (cx, cy) in enumerate(zip(x, y)):
            t = pg.TextItem(str(k), color=self._colour, anchor=(-0.1, 1.0))
            if self._font is not None:
                t.setFont(self._font)
            t.setParentItem(self)
            t.setPos(float(cx) + offset, float(cy) + offset)
            self._labels.append(t)

    def setStyle(self, colour: QColor, font) -> None:  # noqa: N802 - pyqtgraph style
        self._colour, self._font = QColor(colour), font
        for t in self._labels:
            t.setColor(self._colour)
            t.setFont(font)

    def texts(self) -> list[str]:
        return [t.toPlainText() for t in self._labels]


def _styled_plot(name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setObjectName(name)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setFrameShape(QFrame.Shape.NoFrame)
    return plot


# --------------------------------------------------------------------------------------------
# the panel

class PointCanvasPanel(PaletteAware, QWidget):
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

    # -- construction ------------------------------------------------------------------------

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
        self._empty = QLabel(EMPTY_TEXT)
        self._empty.setObjectName("canvasEmptyState")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._empty.setMargin(16)
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

        # transport
        tr = QHBoxLayout()
        tr.setSpacing(4)
        style = self.style()
        self._play_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self._play_button.setObjectName("playButton")
        self._play_button.setToolTip("Train continuously")
        self._play_button.clicked.connect(self.play_requested)
        self._pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self._pause_button.setObjectName("pauseButton")
        self._pause_button.setToolTip("Pause training")
        self._pause_button.clicked.connect(self.pause_requested)
        self._step_button = QPushButton("Step")
        self._step_button.setObjectName("stepButton")
        self._step_button.setToolTip("One full training step")
        self._step_button.clicked.connect(lambda: self.step_requested.emit("both"))
        self._d_step_button = QPushButton("D step")
        self._d_step_button.setObjectName("dStepButton")
        self._d_step_button.clicked.connect(lambda: self.step_requested.emit("discriminator"))
        self._g_step_button = QPushButton("G step")
        self._g_step_button.setObjectName("gStepButton")
        self._g_step_button.clicked.connect(lambda: self.step_requested.emit("generator"))
        for b in (self._play_button, self._pause_button, self._step_button,
                  self._d_step_button, self._g_step_button):
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text())
                              + (34 if not b.icon().isNull() else 16))
            tr.addWidget(b)
        tr.addStretch(1)
        self._slow_label = QLabel("Slow motion")
        self._slow = QSpinBox()
        self._slow.setObjectName("slowMotionBox")
        self._slow.setRange(0, 5000)
        self._slow.setSingleStep(50)
        self._slow.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self._slow.setSuffix(" ms/step")
        self._slow.setSpecialValueText("full speed")
        self._slow.setKeyboardTracking(False)
        tip = "Delay after each training step, in milliseconds (full speed = no delay)"
        self._slow.setToolTip(tip)
        self._slow_label.setToolTip(tip)
        self._slow_label.setBuddy(self._slow)
        self._slow.valueChanged.connect(lambda v: self.slow_motion_changed.emit(int(v)))
        tr.addWidget(self._slow_label)
        tr.addWidget(self._slow)
        pv.addLayout(tr)

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
        self._checks: dict[str, QCheckBox] = {}
        for name in LAYERS:
            cb = QCheckBox(LAYER_TEXT[name])
            cb.setObjectName(f"{name}LayerCheck")
            cb.setChecked(True)
            cb.toggled.connect(lambda on, n=name: self._on_layer_toggled(n, on))
            self._checks[name] = cb
            sv.addWidget(cb)
        self._fit_button = QPushButton("Fit view")
        self._fit_button.setObjectName("fitViewButton")
        self._fit_button.setToolTip("Zoom to the data (the view otherwise fits once per data set)")
        self._fit_button.clicked.connect(self.fit_view)
        sv.addWidget(self._fit_button)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        sv.addWidget(line)

        self._draw_button = QPushButton("Draw")
        self._draw_button.setObjectName("drawButton")
        self._draw_button.setCheckable(True)
        self._draw_button.setToolTip(DRAW_TIP)
        self._draw_button.toggled.connect(self._on_draw_toggled)
        sv.addWidget(self._draw_button)
        self._draw_box = QWidget()
        self._draw_box.setObjectName("drawTools")
        dg = QGridLayout(self._draw_box)
        dg.setContentsMargins(0, 0, 0, 0)
        dg.setHorizontalSpacing(4)
        dg.setVerticalSpacing(3)
        self._spray_tool = QPushButton("Spray")
        self._spray_tool.setObjectName("sprayToolButton")
        self._spray_tool.setToolTip("Drag to spray points inside the brush circle")
        self._mode_tool = QPushButton("Mode")
        self._mode_tool.setObjectName("modeToolButton")
        self._mode_tool.setToolTip("Click to drop a Gaussian blob of points; its centre is "
                                   "recorded as a mode (for the mode metrics)")
        self._tools = QButtonGroup(self)
        self._tools.setExclusive(True)
        for col, b in enumerate((self._spray_tool, self._mode_tool)):
            b.setCheckable(True)
            self._tools.addButton(b)
            dg.addWidget(b, 0, col)
        self._spray_tool.setChecked(True)
        self._tools.buttonToggled.connect(lambda *_: self._update_draw())

        def dspin(name, lo, hi, value, step, decimals, tip):
            box = QDoubleSpinBox()
            box.setObjectName(name)
            box.setRange(lo, hi)
            box.setDecimals(decimals)
            box.setSingleStep(step)
            box.setValue(value)
            box.setToolTip(tip)
            return box

        self._radius = dspin("brushRadiusBox", 0.01, 5.0, 0.15, 0.05, 2,
                             "Brush radius, in data units")
        self._density = QSpinBox()
        self._density.setObjectName("brushDensityBox")
        self._density.setRange(1, 200)
        self._density.setValue(12)
        self._density.setToolTip("Points sprayed per brush dab (a dab every third of a radius "
                                 "along the stroke)")
        self._sigma = dspin("modeSigmaBox", 0.005, 2.0, 0.05, 0.01, 3,
                            "Standard deviation of a blob, in data units")
        self._blob = QSpinBox()
        self._blob.setObjectName("blobPointsBox")
        self._blob.setRange(1, 5000)
        self._blob.setValue(200)
        self._blob.setToolTip("Points per blob")
        self._tool_labels: dict[str, QLabel] = {}
        for row, (key, text, box) in enumerate((("radius", "radius", self._radius),
                                                ("density", "density", self._density),
                                                ("sigma", "sigma", self._sigma),
                                                ("blob", "points", self._blob))):
            lab = QLabel(text)
            lab.setBuddy(box)
            lab.setToolTip(box.toolTip())
            self._tool_labels[key] = lab
            dg.addWidget(lab, 1 + row, 0)
            dg.addWidget(box, 1 + row, 1)
        self._count_label = QLabel()
        self._count_label.setObjectName("drawnCountLabel")
        dg.addWidget(self._count_label, 5, 0, 1, 2)
        self._clear_button = QPushButton("Clear")
        self._clear_button.setObjectName("clearDrawingButton")
        self._clear_button.setToolTip("Remove all drawn points and modes")
        self._clear_button.clicked.connect(self.clear_drawing)
        dg.addWidget(self._clear_button, 6, 0, 1, 2)
        self._train_button = QPushButton("Train on drawing")
        self._train_button.setObjectName("trainOnDrawingButton")
        self._train_button.setToolTip("Start a run on the drawn points")
        self._train_button.clicked.connect(self._on_train_clicked)
        dg.addWidget(self._train_button, 7, 0, 1, 2)
        sv.addWidget(self._draw_box)
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

        # the canvas
        self._canvas = _styled_plot("pointCanvas")
        self._canvas.setMinimumSize(160, 140)
        self._canvas.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)   # smooth heatmap
        pi = self._canvas.getPlotItem()
        self._vb = pi.vb
        self._vb.setAspectLocked(True)
        self._vb.disableAutoRange()
        self._vb.setRange(xRange=DEFAULT_RANGE, yRange=DEFAULT_RANGE, padding=0)
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=self._small_font(), tickTextOffset=3)
        self._field_img = pg.ImageItem(axisOrder="row-major")
        self._field_img.setAutoDownsample(False)
        self._manifold_item = pg.PlotCurveItem(connect="finite")
        self._arrow_item = pg.PlotCurveItem(connect="pairs")
        self._real_item = _Dots(5)
        self._fake_item = _Dots(5)
        self._mode_rings = pg.PlotCurveItem(connect="finite")
        self._mode_marks = pg.ScatterPlotItem(size=9, symbol="+", brush=None)
        self._mode_numbers = _ModeNumbers()
        self._drawn_item = _Dots(4, QColor(*DRAWN_COLOUR, 220))
        self._drawn_rings = pg.PlotCurveItem(connect="finite", pen=pg.mkPen(*DRAWN_COLOUR, width=1.5))
        self._brush_item = pg.PlotCurveItem(pen=pg.mkPen(*DRAWN_COLOUR, width=1, style=Qt.PenStyle.DashLine))
        self._brush_item.setVisible(False)
        for z, item in enumerate((self._field_img, self._manifold_item, self._real_item,
                                  self._fake_item, self._arrow_item, self._mode_rings,
                                  self._mode_marks, self._mode_numbers, self._drawn_item,
                                  self._drawn_rings,
                                  self._brush_item)):
            item.setZValue(z - 10)
            pi.addItem(item, ignoreBounds=True)
        self._layer_items = {"real": [self._real_item], "fake": [self._fake_item],
                             "field": [self._field_img], "arrows": [self._arrow_item],
                             "manifold": [self._manifold_item],
                             "modes": [self._mode_rings, self._mode_marks, self._mode_numbers]}
        self._colorbar = pg.ColorBarItem(values=(0, 1), width=10, interactive=False,
                                         colorMap=pg.ColorMap([0, 1], [(0, 0, 0), (255, 255, 255)]),
                                         colorMapMenu=False)
        self._colorbar.setImageItem(self._field_img, insert_in=pi)
        self._colorbar.axis.setStyle(tickFont=self._small_font(), tickTextOffset=2)
        pi.setContentsMargins(2, 8, 2, 2)            # room for the colour bar's top tick label
        self._canvas.viewport().installEventFilter(self)
        self._canvas.viewport().setMouseTracking(True)
        self._splitter.addWidget(self._canvas)

        # metrics: coverage bars and curves
        self._metrics = QWidget()
        self._metrics.setObjectName("modeMetrics")
        self._metrics_box = QVBoxLayout(self._metrics)
        self._metrics_box.setContentsMargins(0, 0, 0, 0)
        self._metrics_box.setSpacing(6)
        self._bars_title = QLabel("High-quality samples per mode")
        self._bars_title.setObjectName("coverageTitle")
        self._bars_title.setWordWrap(True)
        self._bars_title.setToolTip(HQ_TIP)
        self._bars_plot = _styled_plot("coveragePlot")
        self._bars_plot.setMouseEnabled(False, False)
        self._bars_plot.setMinimumSize(120, 80)
        bpi = self._bars_plot.getPlotItem()
        self._bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.7)
        bpi.addItem(self._bars)
        self._ideal_line = pg.InfiniteLine(angle=0, movable=False, label="even share",
                                           labelOpts={"position": 0.98, "anchors": [(1, 1), (1, 1)]})
        self._ideal_line.setToolTip("Each mode's share if every sample were high quality and "
                                    "the modes were hit equally often")
        self._ideal_line.setVisible(False)
        bpi.addItem(self._ideal_line)
        self._curves_title = QLabel()
        self._curves_title.setObjectName("curvesTitle")
        self._curves_title.setWordWrap(True)
        self._curves_title.setTextFormat(Qt.TextFormat.RichText)
        self._curves_title.setToolTip(HQ_TIP)
        self._curves_plot = _styled_plot("modeCurvesPlot")
        self._curves_plot.setMinimumSize(120, 80)
        self._curves_plot.setMouseEnabled(False, False)
        cpi = self._curves_plot.getPlotItem()
        cpi.showAxis("right")
        cpi.setYRange(0, 100, padding=0.04)
        self._kl_vb = pg.ViewBox(enableMouse=False, enableMenu=False)
        cpi.scene().addItem(self._kl_vb)
        cpi.getAxis("right").linkToView(self._kl_vb)
        self._kl_vb.setXLink(cpi.vb)
        cpi.vb.sigResized.connect(self._sync_kl_view)
        self._curves: dict[str, pg.PlotDataItem] = {}
        for key in ("captured", "hq", "rkl"):
            c = pg.PlotDataItem(connect="finite")
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
            self._curves[key] = c
            (self._kl_vb if key == "rkl" else cpi).addItem(c)
        for plot in (self._bars_plot, self._curves_plot):
            p = plot.getPlotItem()
            for name in ("left", "bottom", "right"):
                p.getAxis(name).setStyle(tickFont=self._small_font(), tickTextOffset=2)
            p.getAxis("left").setWidth(30)
            p.getAxis("bottom").setHeight(22)
        cpi.getAxis("right").setWidth(30)
        self._bars_card = self._card(self._bars_title, self._bars_plot)
        self._curves_card = self._card(self._curves_title, self._curves_plot)
        self._metrics_box.addWidget(self._bars_card, 1)
        self._metrics_box.addWidget(self._curves_card, 1)
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

        # "D moved" / "G moved": a widget over the canvas, so it stays put when the view pans
        self._moved_badge = QLabel(self._canvas.viewport())
        self._moved_badge.setObjectName("movedBadge")
        self._moved_badge.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._moved_badge.hide()
        self._badge_timer = QTimer(self)
        self._badge_timer.setSingleShot(True)
        self._badge_timer.setInterval(BADGE_MS)
        self._badge_timer.timeout.connect(self._moved_badge.hide)

    @staticmethod
    def _card(title: QLabel, plot: pg.PlotWidget) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(1)
        v.addWidget(title)
        v.addWidget(plot, 1)
        return w

    def _small_font(self):
        f = self.font()
        f.setPointSizeF(max(6.5, f.pointSizeF() * 0.85))
        return f

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

    # -- public API: data in -----------------------------------------------------------------

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
        if frame.field_label != self._field_label:
            self._field_label = frame.field_label
            self._colorbar.axis.setLabel(frame.field_label or "discriminator output")
        if new_set or first:
            self.fit_view()
        available = {"real": data["real"] is not None, "fake": data["fake"] is not None,
                     "field": data["field"] is not None, "arrows": data["arrows"] is not None,
                     "manifold": data["manifold"] is not None, "modes": data["modes"] is not None}
        if available != self._available or first:
            self._available = available
            self._update_layers()
        else:
            self._push_layers()
        if self._phase_step is not None and int(frame.step) > self._phase_step:
            self._reset_phase_counts()        # a full step moved both players since
        self._update_step_text()
        self._update_page()

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

    def append_mode_metrics(self, step: int, modes_captured: int, num_modes: int,
                            high_quality_fraction: float, reverse_kl: float,
                            per_mode_counts: Sequence[int] | np.ndarray) -> None:
        """One evaluation of mode coverage: the bars show per_mode_counts (high-quality
        samples per mode, (num_modes,)), the curves gain a point, the readout updates."""
        counts = np.asarray(per_mode_counts, np.float64).reshape(-1)
        k = int(num_modes)
        hq = float(high_quality_fraction)
        rkl = float(reverse_kl)
        self._hist.extend([[float(step), 100.0 * int(modes_captured) / max(k, 1), 100.0 * hq,
                            rkl if math.isfinite(rkl) else np.nan]])
        h = self._hist.view()
        self._curves["captured"].setData(h[:, 0], h[:, 1])
        self._curves["hq"].setData(h[:, 0], h[:, 2])
        self._curves["rkl"].setData(h[:, 0], h[:, 3])
        finite = h[:, 3][np.isfinite(h[:, 3])]
        top = float(finite.max()) if finite.size else 1.0
        self._kl_vb.setYRange(0, max(top, 0.05) * 1.05, padding=0)
        x0, x1 = float(h[0, 0]), float(h[-1, 0])
        cpi = self._curves_plot.getPlotItem()
        if x1 <= x0:    # one evaluation (e.g. an opened run): a dot on the run's step axis
            x0, x1 = 0.0, max(x0, 1.0) * 1.1
        cpi.setXRange(x0, x1, padding=0.02)
        # the plot is narrow: at most ~3 step labels, or "1000" "2000" "3000" run together
        step = _nice_step((x1 - x0) / 2.5)
        cpi.getAxis("bottom").setTickSpacing(step, step)
        for c in self._curves.values():
            c.setSymbol("o" if len(h) == 1 else None)

        xs = np.arange(len(counts), dtype=np.float64)     # mode k is the data's class k
        self._bars.setOpts(x=xs, height=counts, width=0.7)
        bpi = self._bars_plot.getPlotItem()
        n_hq = float(counts.sum())
        ideal = n_hq / hq / max(k, 1) if hq > 0 else 0.0      # all samples, spread evenly
        self._ideal_line.setValue(ideal)
        self._ideal_line.setVisible(ideal > 0)
        bpi.setXRange(-0.6, max(len(counts), 1) - 0.4, padding=0)
        bpi.setYRange(0, max(float(counts.max()) if counts.size else 0.0, ideal, 1.0) * 1.08, padding=0)
        ax = bpi.getAxis("bottom")
        ax.setTicks([[(float(i), str(i)) for i in range(len(counts))]]
                    if len(counts) <= 12 else None)
        self._last_metrics = (int(step), int(modes_captured), k, hq, rkl, counts)
        self._readout.setText(mode_readout(modes_captured, k, hq, rkl))
        self._readout.setVisible(True)
        self._metrics.setVisible(True)

    def clear_history(self) -> None:
        """Forget the mode metrics (curves, bars, readout); the metrics pane hides."""
        self._hist.clear()
        self._last_metrics = None
        for c in self._curves.values():
            c.setData([], [])
        self._bars.setOpts(x=np.zeros(0), height=np.zeros(0))
        self._ideal_line.setVisible(False)
        self._readout.setText("")
        self._readout.setVisible(False)           # no empty line under a narrow canvas
        self._metrics.setVisible(False)

    # -- public API: transport -----------------------------------------------------------------

    def set_running(self, running: bool) -> None:
        """Training is running (Pause on, Play and the step buttons off) or not."""
        self._running = bool(running)
        self._update_transport()

    def is_running(self) -> bool:
        return self._running

    def set_phase_steps_available(self, available: bool) -> None:
        """Whether D step / G step make sense (only GANs train in two phases)."""
        self._phase_steps = bool(available)
        self._update_transport()

    def slow_motion(self) -> int:
        """Delay per step in ms (0 = full speed)."""
        return int(self._slow.value())

    def set_slow_motion(self, ms: int) -> None:
        """Set the delay without emitting slow_motion_changed (to restore a setting)."""
        self._slow.blockSignals(True)
        self._slow.setValue(int(ms))
        self._slow.blockSignals(False)

    def show_phase_step(self, kind: str, step: int, losses: dict) -> None:
        """A single-player step was taken at `step` ("discriminator" or "generator"), with
        its {name: value} metrics (the "loss/..." ones are shown)."""
        if kind not in PLAYER:
            raise ValueError(f"unknown player {kind!r}; choose 'discriminator' or 'generator'")
        step = int(step)
        if self._phase_step is not None and step != self._phase_step:
            self._reset_phase_counts()
        self._phase_step = step
        self._phase_counts[kind] += 1
        self._phase_totals[kind] += 1
        self._phase_last = kind
        loss = phase_loss_text(losses)
        self._phase_label.setText(f"{PLAYER[kind]} moved" + (f" \u00b7 {loss}" if loss else ""))
        self._update_step_text()
        self._style_phase()
        self._moved_badge.setText(f"{PLAYER[kind]} moved")
        self._moved_badge.adjustSize()
        self._place_badge()
        self._moved_badge.show()
        self._moved_badge.raise_()
        self._badge_timer.start()

    def phase_counts(self) -> dict[str, int]:
        """Single-player steps since the last full step: {"discriminator": n, "generator": m}."""
        return dict(self._phase_counts)

    def phase_text(self) -> str:
        """ "D moved · loss/d 0.693" after a single-player step; "" after a full step."""
        return self._phase_label.text()

    def moved_badge_visible(self) -> bool:
        return not self._moved_badge.isHidden()

    def moved_badge_text(self) -> str:
        return self._moved_badge.text()

    # -- public API: layers --------------------------------------------------------------------

    def layer_visibility(self) -> dict[str, bool]:
        """{layer: wanted on} (the checkboxes' states, remembered while a layer is absent)."""
        return dict(self._wanted)

    def set_layer_visibility(self, states: dict) -> None:
        """Restore checkbox states ({layer: bool}; unknown names are ignored)."""
        for name, on in states.items():
            if name in self._wanted:
                self._wanted[name] = bool(on)
        self._update_layers()

    def layer_available(self, name: str) -> bool:
        """Whether the frame on screen has data for this layer."""
        return self._available[name]

    def layer_shown(self, name: str) -> bool:
        """Whether the layer is drawn now (wanted and available)."""
        return self._wanted[name] and self._available[name]

    def fit_view(self) -> None:
        """Zoom to the real data (or the generated points, the drawing...) with padding."""
        d = self._data
        sigma = float(self._frame.mode_sigma) if self._frame is not None else 0.0
        box = _bbox(d.get("real"))
        if box is None:
            box = _bbox(d.get("fake"))
        if box is None and d.get("field") is not None:
            fx, fy, _ = d["field"]
            box = (float(fx.min()), float(fy.min()), float(fx.max()), float(fy.max()))
        if d.get("modes") is not None and len(d["modes"]):
            m = d["modes"]
            r = 3 * sigma
            mb = (float(m[:, 0].min()) - r, float(m[:, 1].min()) - r,
                  float(m[:, 0].max()) + r, float(m[:, 1].max()) + r)
            box = mb if box is None else (min(box[0], mb[0]), min(box[1], mb[1]),
                                          max(box[2], mb[2]), max(box[3], mb[3]))
        if self.is_draw_mode() and self._drawn.n:
            db = _bbox(self._drawn.view())
            box = db if box is None else (min(box[0], db[0]), min(box[1], db[1]),
                                          max(box[2], db[2]), max(box[3], db[3]))
        if box is None:
            self._vb.setRange(xRange=DEFAULT_RANGE, yRange=DEFAULT_RANGE, padding=0)
            self._extent = DEFAULT_RANGE[1] - DEFAULT_RANGE[0]
            return
        x0, y0, x1, y1 = box
        w, h = max(x1 - x0, 1e-3), max(y1 - y0, 1e-3)
        self._extent = max(w, h)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = w * (1 + 2 * FIT_PADDING), h * (1 + 2 * FIT_PADDING)
        self._vb.setRange(xRange=(cx - w / 2, cx + w / 2), yRange=(cy - h / 2, cy + h / 2), padding=0)

    def view_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        (x0, x1), (y0, y1) = self._vb.viewRange()
        return (x0, x1), (y0, y1)

    def readout_text(self) -> str:
        return self._readout.text()

    def step_text(self) -> str:
        return self._step_label.text()

    # -- public API: drawing -------------------------------------------------------------------

    def is_draw_mode(self) -> bool:
        return self._draw_button.isChecked()

    def set_draw_mode(self, on: bool) -> None:
        self._draw_button.setChecked(bool(on))

    def draw_tool(self) -> str:
        """"spray" or "mode"."""
        return "mode" if self._mode_tool.isChecked() else "spray"

    def set_draw_tool(self, tool: str) -> None:
        if tool not in ("spray", "mode"):
            raise ValueError(f"unknown draw tool {tool!r}; choose 'spray' or 'mode'")
        (self._mode_tool if tool == "mode" else self._spray_tool).setChecked(True)

    def set_brush(self, radius: Optional[float] = None, density: Optional[int] = None,
                  sigma: Optional[float] = None, blob_points: Optional[int] = None) -> None:
        """Set any of the spray radius and density (points per dab) and the Mode tool's sigma
        and points per blob."""
        for box, v in ((self._radius, radius), (self._density, density),
                       (self._sigma, sigma), (self._blob, blob_points)):
            if v is not None:
                box.setValue(v)

    def drawn_points(self) -> np.ndarray:
        """The drawn points, (N, 2) float32 (a copy)."""
        return self._drawn.view().copy()

    def drawn_modes(self) -> np.ndarray:
        """Centres recorded by the Mode tool, (K, 2) float32."""
        return np.array([(x, y) for x, y, _ in self._drawn_modes], np.float32).reshape(-1, 2)

    def drawing(self) -> dict:
        """What "Train on drawing" emits: {"x", "modes" (None without), "sigma"}."""
        modes = self.drawn_modes()
        sig = float(np.mean([s for _, _, s in self._drawn_modes])) if self._drawn_modes else 0.0
        return {"x": self.drawn_points(), "modes": modes if len(modes) else None, "sigma": sig}

    def clear_drawing(self) -> None:
        self._drawn.clear()
        self._drawn_modes.clear()
        self._push_drawing()

    # -- public API: look ----------------------------------------------------------------------

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
        self._colorbar.axis.setPen(pg.mkPen(muted))
        self._colorbar.axis.setTextPen(pg.mkPen(fg))
        self._colorbar.axis.setLabel(self._field_label or "discriminator output", color=fg.name())
        self._colorbar.setColorMap(self._field_colormap(base))
        self._real_item.setStyle(_alpha(self._real_colour, 0.9))
        self._fake_item.setStyle(_alpha(self._fake_colour, 0.75))
        self._manifold_item.setPen(pg.mkPen(_alpha(self._fake_colour, 0.55), width=1))
        self._arrow_item.setPen(pg.mkPen(_alpha(fg, 0.7), width=1))
        self._mode_rings.setPen(pg.mkPen(_alpha(fg, 0.85), width=1.5))
        self._mode_marks.setPen(pg.mkPen(_alpha(fg, 0.85), width=1.2))
        self._mode_numbers.setStyle(_alpha(fg, 0.8), self._small_font())
        self._bars.setOpts(brush=pg.mkBrush(_alpha(self._fake_colour, 0.85)), pen=pg.mkPen(None))
        self._ideal_line.setPen(pg.mkPen(_alpha(fg, 0.75), width=1.5, style=Qt.PenStyle.DashLine))
        self._ideal_line.label.setColor(fg)
        self._ideal_line.label.setFont(self._small_font())
        colours = {k: QColor(v[i]) for k, v in CURVE_COLOURS.items()}
        for key, c in self._curves.items():
            c.setPen(pg.mkPen(colours[key], width=1.5))
            c.setSymbolPen(pg.mkPen(colours[key]))
            c.setSymbolBrush(pg.mkBrush(colours[key]))
            c.setSymbolSize(7)
        self._curves_plot.getPlotItem().getAxis("right").setTextPen(pg.mkPen(colours["rkl"]))
        self._curves_title.setText(
            " &nbsp;".join(f"<span style='color:{colours[k].name()}'>\u25a0</span>&nbsp;"
                           + t.replace(" ", "&nbsp;")
                           for k, t in (("captured", "modes captured %"), ("hq", "high quality %"),
                                        ("rkl", "reverse KL (right axis)"))))
        field_lo, field_hi = self._field_ends(base)
        icons = {"real": _swatch("dots", self._real_colour),
                 "fake": _swatch("dots", self._fake_colour),
                 "field": _swatch("field", field_hi, field_lo),
                 "arrows": _swatch("arrow", fg), "manifold": _swatch("grid", self._fake_colour),
                 "modes": _swatch("ring", fg)}
        for name, cb in self._checks.items():
            cb.setIcon(icons[name])
        hint = _alpha(fg, 0.6).name(QColor.NameFormat.HexArgb)
        self._empty.setStyleSheet(f"color: {hint}; font-size: 11pt;")
        self._count_label.setStyleSheet(f"color: {muted.name()};")
        self._step_label.setStyleSheet(f"color: {muted.name()};")
        self._style_phase()
        hl = pal.color(QPalette.ColorRole.Highlight)
        hl_text = pal.color(QPalette.ColorRole.HighlightedText)
        css = (f"QPushButton:checked {{ background: {hl.name()}; color: {hl_text.name()}; "
               f"border: 1px solid {hl.darker(130).name()}; border-radius: 3px; padding: 3px 8px; }}")
        for b in (self._draw_button, self._spray_tool, self._mode_tool):
            b.setStyleSheet(css)
        self._side.setAutoFillBackground(False)
        self._side_scroll.viewport().setAutoFillBackground(False)
        self._dirty.add("field")
        self._push_layers()

    def _field_ends(self, base: QColor) -> tuple[QColor, QColor]:
        """The heatmap's (low, high) colours: purple and green tints of the plot background."""
        t = 0.5 if self._dark else 0.42
        return (_mix(base, QColor(*FAKE_COLOURS[0 if not self._dark else 1]), t),
                _mix(base, QColor(*REAL_COLOURS[0 if not self._dark else 1]), t))

    def _field_colormap(self, base: QColor) -> pg.ColorMap:
        lo, hi = self._field_ends(base)
        return pg.ColorMap([0.0, 0.5, 1.0], [lo.getRgb()[:3], base.getRgb()[:3], hi.getRgb()[:3]])

    def field_colour(self, value: float) -> QColor:
        """The heatmap colour of a field value at the current levels (for tests / legends)."""
        lo, hi = self._colorbar.levels()
        t = 0.5 if hi <= lo else float(np.clip((value - lo) / (hi - lo), 0, 1))
        return self._colorbar.colorMap().map(t, mode="qcolor")

    # -- Qt overrides ------------------------------------------------------------------------

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


    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self._canvas.viewport() and self.is_draw_mode():
            t = event.type()
            if t in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                     QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick):
                scene = self._canvas.mapToScene(event.position().toPoint())
                if t in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
                    if event.button() == Qt.MouseButton.LeftButton:
                        if t == QEvent.Type.MouseButtonDblClick and self.draw_tool() == "mode":
                            return True                  # one blob per click, not two
                        return self._on_canvas_pressed(scene)
                elif t == QEvent.Type.MouseMove:
                    self._move_brush(scene)
                    if self._dragging:
                        self._on_canvas_dragged(scene)
                        return True
                elif event.button() == Qt.MouseButton.LeftButton and self._dragging:
                    self._on_canvas_released(scene)
                    return True
            elif t == QEvent.Type.Leave:
                self._brush_item.setVisible(False)
        return super().eventFilter(obj, event)

    # -- layers --------------------------------------------------------------------------------

    def _is_new_data_set(self, data: dict) -> bool:
        """Whether the real points (or the modes) differ from the last frame's."""
        real = data["real"]
        old = self._shown_real
        same = (real is None and old is None) or (
            real is not None and old is not None and real.shape == old.shape
            and (real is old or np.array_equal(real, old)))
        if not same:
            self._shown_real = None if real is None else real.copy()
        return not same

    def _on_layer_toggled(self, name: str, on: bool) -> None:
        if not self._checks[name].isEnabled():
            return
        self._wanted[name] = on
        self._update_layers()
        self.layers_changed.emit(dict(self._wanted))

    def _update_layers(self) -> None:
        for name, cb in self._checks.items():
            avail = self._available[name]
            cb.blockSignals(True)
            cb.setChecked(self._wanted[name])
            cb.setEnabled(avail)
            cb.blockSignals(False)
            tip = LAYER_TIP[name].format(label=self._field_label or "The discriminator's output")
            cb.setToolTip(tip if avail or self._frame is None
                          else f"Not available: {LAYER_MISSING[name]}")
        self._push_layers()

    def _push_layers(self) -> None:
        """Show / hide the layer items and push the frame's data into the visible ones."""
        for name, items in self._layer_items.items():
            shown = self.layer_shown(name)
            for item in items:
                item.setVisible(shown)
            if shown and name in self._dirty:
                getattr(self, f"_push_{name}")()
                self._dirty.discard(name)
        self._colorbar.setVisible(self.layer_shown("field"))

    def _push_real(self) -> None:
        p = self._data["real"]
        self._real_item.setData(pos=p)

    def _push_fake(self) -> None:
        self._fake_item.setData(pos=self._data["fake"])

    def _push_field(self) -> None:
        if self._data.get("field") is None:
            return
        fx, fy, v = self._data["field"]
        if len(fx) > 1 and fx[0] > fx[-1]:
            fx, v = fx[::-1], v[:, ::-1]
        if len(fy) > 1 and fy[0] > fy[-1]:
            fy, v = fy[::-1], v[::-1]
        finite = v[np.isfinite(v)]
        levels = self._frame.field_levels
        if levels is not None:
            lo, hi = float(levels[0]), float(levels[1])
        elif finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
            lo, hi = 0.0, 1.0
        elif finite.size:
            lo, hi = (float(x) for x in np.percentile(finite, (1, 99)))
            if self._field_levels is not None:            # widen at once, narrow slowly
                plo, phi = self._field_levels
                lo = lo if lo < plo else plo + 0.15 * (lo - plo)
                hi = hi if hi > phi else phi + 0.15 * (hi - phi)
        else:
            lo, hi = 0.0, 1.0
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        self._field_levels = [lo, hi]
        img = np.nan_to_num(v, nan=(lo + hi) / 2)
        self._field_img.setImage(img, autoLevels=False, levels=(lo, hi))
        x, y, w, h = field_rect(fx, fy)
        self._field_img.setRect(QRectF(x, y, w, h))
        self._colorbar.setLevels((lo, hi))

    def _push_arrows(self) -> None:
        at, vec = self._data["arrows"]
        mag = np.linalg.norm(vec, axis=1)
        mag = mag[np.isfinite(mag)]
        ref = float(np.percentile(mag, 95)) if mag.size else 0.0
        if ref < self._arrow_ref:                         # grow at once, shrink slowly
            ref = self._arrow_ref + 0.2 * (ref - self._arrow_ref)
        self._arrow_ref = ref
        segs = arrow_segments(at, vec, ARROW_FRACTION * self._extent, ref)
        self._arrow_item.setData(segs[:, 0], segs[:, 1])

    def _push_manifold(self) -> None:
        line = grid_polylines(self._data["manifold"])
        self._manifold_item.setData(line[:, 0], line[:, 1])

    def _push_modes(self) -> None:
        m = self._data["modes"]
        sigma = float(self._frame.mode_sigma)
        key = (m.shape, m.tobytes(), sigma)
        if key == self._shown_modes:
            return
        self._shown_modes = key
        self._mode_numbers.setData(m[:, 0], m[:, 1], offset=2.1 * sigma)    # at the ring
        if sigma > 0:
            ring = ring_polylines(m, 3 * sigma)
            self._mode_rings.setData(ring[:, 0], ring[:, 1])
            self._mode_marks.setData([], [])
        else:
            self._mode_rings.setData([], [])
            self._mode_marks.setData(pos=m)

    # -- single-player steps -------------------------------------------------------------------

    def _reset_phase_counts(self) -> None:
        self._phase_step = None
        self._phase_counts = {"discriminator": 0, "generator": 0}
        self._phase_last = None
        self._phase_label.setText("")
        self._badge_timer.stop()
        self._moved_badge.hide()

    def _update_step_text(self) -> None:
        if self._frame is None:
            self._step_label.setText("")
        else:
            parts = [f"step {int(self._frame.step):,}"]
            for kind, n in self._phase_counts.items():
                if n:
                    parts.append(f"{n} {PLAYER[kind]} step{'s' if n != 1 else ''}")
            self._step_label.setText(" + ".join(parts))
        t = self._phase_totals
        self._step_label.setToolTip(
            "" if not any(t.values()) else
            "A step trains both players; D step and G step train one and leave the step "
            f"count alone. Single-player steps in this run: {t['discriminator']} D, "
            f"{t['generator']} G")

    def _style_phase(self) -> None:
        if self._phase_last is None:
            return
        colour = self._real_colour if self._phase_last == "discriminator" else self._fake_colour
        text = self.palette().color(QPalette.ColorRole.Base)
        self._phase_label.setStyleSheet(f"color: {colour.name()}; font-weight: bold;")
        f = self.font()
        self._moved_badge.setStyleSheet(
            f"QLabel {{ background: {colour.name()}; color: {text.name()}; border-radius: 4px; "
            f"padding: 3px 8px; font-weight: bold; font-size: {f.pointSizeF() * 1.25:.1f}pt; }}")

    def _place_badge(self) -> None:
        """Top left of the plot area (inside the axes)."""
        corner = self._canvas.mapFromScene(self._vb.sceneBoundingRect().topLeft())
        self._moved_badge.move(corner.x() + 8, corner.y() + 8)

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

    def _update_transport(self) -> None:
        run = self._running
        self._play_button.setEnabled(not run)
        self._pause_button.setEnabled(run)
        self._step_button.setEnabled(not run)
        for b, what in ((self._d_step_button, "discriminator"), (self._g_step_button, "generator")):
            b.setEnabled(not run and self._phase_steps)
            other = "generator" if what == "discriminator" else "discriminator"
            b.setToolTip(f"One update of the {what} only (the {other} stays frozen)"
                         if self._phase_steps else
                         "Only GANs train in separate discriminator / generator steps")

    def _update_draw(self) -> None:
        on = self.is_draw_mode()
        self._draw_box.setVisible(on)
        spray = self.draw_tool() == "spray"
        for key, box in (("radius", self._radius), ("density", self._density)):
            box.setVisible(spray)
            self._tool_labels[key].setVisible(spray)
        for key, box in (("sigma", self._sigma), ("blob", self._blob)):
            box.setVisible(not spray)
            self._tool_labels[key].setVisible(not spray)
        n, k = self._drawn.n, len(self._drawn_modes)
        text = "no points yet" if n == 0 else f"{n:,} point{'s' if n != 1 else ''}"
        if k:
            text += f" \u00b7 {k} mode{'s' if k != 1 else ''}"
        self._count_label.setText(text)
        self._train_button.setEnabled(n >= MIN_DRAWN)
        self._clear_button.setEnabled(n > 0)
        self._train_button.setToolTip("Start a run on the drawn points" if n >= MIN_DRAWN else
                                      f"Draw at least {MIN_DRAWN} points first")
        for item in (self._drawn_item, self._drawn_rings):
            item.setVisible(on)
        self._fit_side()
        if not on:
            self._brush_item.setVisible(False)
        self._canvas.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    # -- drawing ---------------------------------------------------------------------------------

    def _on_draw_toggled(self, on: bool) -> None:
        self._dragging = False
        self._update_draw()
        self._update_page()

    def _push_drawing(self) -> None:
        pts = self._drawn.view()
        self._drawn_item.setData(pos=pts)
        rings = [ring_polylines(np.array([[x, y]]), 3 * s) for x, y, s in self._drawn_modes]
        if rings:
            r = np.concatenate(rings)
            self._drawn_rings.setData(r[:, 0], r[:, 1])
        else:
            self._drawn_rings.setData([], [])
        self._update_draw()

    def _add_points(self, pts: np.ndarray) -> None:
        room = MAX_DRAWN - self._drawn.n
        if room > 0:
            self._drawn.extend(pts[:room])

    def _view_point(self, scene: QPointF) -> Optional[np.ndarray]:
        if not self._vb.sceneBoundingRect().contains(scene):
            return None
        p = self._vb.mapSceneToView(scene)
        return np.array([p.x(), p.y()], np.float64)

    def _dab(self, centre: np.ndarray) -> None:
        r = float(self._radius.value())
        n = int(self._density.value())
        rho = r * np.sqrt(self._rng.random(n))
        theta = 2 * np.pi * self._rng.random(n)
        self._add_points(centre + np.stack([rho * np.cos(theta), rho * np.sin(theta)], 1))

    def _on_canvas_pressed(self, scene: QPointF) -> bool:
        """Start a stroke (spray) or drop a blob (Mode tool) at a scene position. Returns
        whether the press was on the plot area."""
        p = self._view_point(scene)
        if p is None:
            return False
        self._rng = np.random.default_rng(DRAW_SEED + self._drag_count)
        self._drag_count += 1
        if self.draw_tool() == "mode":
            sigma = float(self._sigma.value())
            self._add_points(p + sigma * self._rng.standard_normal((int(self._blob.value()), 2)))
            self._drawn_modes.append((float(p[0]), float(p[1]), sigma))
            self._dragging = False
        else:
            self._dab(p)
            self._last_dab = p
            self._dragging = True
        self._push_drawing()
        return True

    def _on_canvas_dragged(self, scene: QPointF) -> None:
        """Spray along the stroke: a dab every third of a radius from the last one."""
        if not self._dragging or self._rng is None or self._last_dab is None:
            return
        p = self._vb.mapSceneToView(scene)
        p = np.array([p.x(), p.y()], np.float64)
        gap = max(float(self._radius.value()) / 3, 1e-9)
        d = p - self._last_dab
        dist = float(np.hypot(*d))
        k = int(dist // gap)
        if k == 0:
            return
        for i in range(1, min(k, 200) + 1):
            self._dab(self._last_dab + d * (i * gap / dist))
        self._last_dab = self._last_dab + d * (k * gap / dist)
        self._push_drawing()

    def _on_canvas_released(self, scene: QPointF) -> None:
        self._on_canvas_dragged(scene)
        self._dragging = False
        self._last_dab = None

    def _move_brush(self, scene: QPointF) -> None:
        p = self._view_point(scene)
        if p is None:
            self._brush_item.setVisible(False)
            return
        r = float(self._radius.value()) if self.draw_tool() == "spray" else 3 * float(self._sigma.value())
        ring = ring_polylines(p[None], r, 40)[:-1]
        self._brush_item.setData(ring[:, 0], ring[:, 1])
        self._brush_item.setVisible(True)

    def _on_train_clicked(self) -> None:
        if self._drawn.n < MIN_DRAWN:
            return
        payload = self.drawing()
        self.set_draw_mode(False)
        self.distribution_drawn.emit(payload)

    # -- metrics plot helpers ------------------------------------------------------------------

    def _sync_kl_view(self) -> None:
        vb = self._curves_plot.getPlotItem().vb
        self._kl_vb.setGeometry(vb.sceneBoundingRect())
        self._kl_vb.linkedViewChanged(vb, self._kl_vb.XAxis)


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_frame, fake_metrics, preview_app, preview_parser, show_or_grab

    ap = preview_parser("Preview PointCanvasPanel with fake ring8 data.", "1000x700")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    ap.add_argument("--draw", action="store_true", help="show draw mode with a drawing")
    ap.add_argument("--vae", action="store_true", help="a model without a discriminator")
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
        panel.set_frame(fake_frame(state["step"], state["progress"], seed=state["step"],
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
    panel.set_phase_steps_available(not args.vae)
    if not args.empty:
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
