"""Small pieces several panels share, each in one copy: numpy helpers (the image tiler, the
float-to-uint8 conversion, slerp and the latent interpolation path, arrow segments, a growing
buffer) and Qt ones (a wheel guard for editors in scrolled lists, a pyqtgraph image view, the
PaletteAware mixin that re-applies a panel's colours when the palette changes, colour and
font helpers). Torch-free like the rest of widgets/."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QWidget

__all__ = ["tile", "to_uint8", "slerp", "interpolate", "arrow_segments", "Growing",
           "WheelGuard", "image_view", "PaletteAware", "muted", "mute_label", "with_alpha",
           "small_font", "checked_button_css"]

# ---------------------------------------------------------------------------- numpy


def tile(images: np.ndarray, cols: int, pad: int, pad_value: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) uint8 picture,
    images row by row, `pad` pixels of `pad_value` around and between them (vectorised)."""
    n, h, w, c = images.shape
    rows = max(1, -(-n // cols))
    cells = np.full((rows * cols, h + pad, w + pad, c), pad_value, np.uint8)
    cells[:n, pad:, pad:] = images
    body = cells.reshape(rows, cols, h + pad, w + pad, c).transpose(0, 2, 1, 3, 4)
    body = body.reshape(rows * (h + pad), cols * (w + pad), c)
    grid = np.full((body.shape[0] + pad, body.shape[1] + pad, c), pad_value, np.uint8)
    grid[:body.shape[0], :body.shape[1]] = body
    return grid


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float pictures in [0, 1] (any shape) as uint8 0..255: NaN -> 0, +-inf and values
    outside [0, 1] clipped, rounded half up."""
    f = np.nan_to_num(np.asarray(images, np.float32), nan=0.0)
    return (np.clip(f, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical linear interpolation (Shoemake 1985) from vector a to vector b at fractions
    t: sin((1-t)w)/sin(w) a + sin(tw)/sin(w) b, w the angle between a and b (its cosine
    clipped to [-1, 1]). float64, shape (len(t), dim) for a 1-D t.

    It keeps the norm of equal-norm ends and follows the great circle. Where the angle is
    undefined or the formula divides by ~0 it is the straight line (1-t) a + t b instead:
    an end of norm <= 1e-12 (a zero vector), or sin w <= 1e-6 (a and b parallel, w ~ 0, or
    opposite, w ~ pi: then the path runs through the origin)."""
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    t = np.asarray(t, np.float64).reshape(-1, 1)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na > 1e-12 and nb > 1e-12:
        w = math.acos(float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0)))
        sin_w = math.sin(w)
        if sin_w > 1e-6:
            return (np.sin((1.0 - t) * w) / sin_w) * a + (np.sin(t * w) / sin_w) * b
    return (1.0 - t) * a + t * b


def interpolate(za: np.ndarray, zb: np.ndarray, steps: int, mode: str = "linear") -> np.ndarray:
    """`steps` codes from za to zb inclusive, as float32 (steps, dim): t = linspace(0, 1,
    steps) (t = 0 alone for steps == 1), then mode "linear" (or "lerp"): (1 - t) a + t b, or
    "spherical" (or "slerp", any case): `slerp` with its fallbacks. The first row is
    exactly za and the last exactly zb (as float32). Raises ValueError for ends of
    different sizes, steps < 1 or another mode."""
    a = np.asarray(za, np.float64).reshape(-1)
    b = np.asarray(zb, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"interpolate: zA and zB differ in shape, {a.shape} vs {b.shape}")
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"interpolate: steps must be >= 1, got {steps}")
    mode = mode.lower()
    if mode not in ("linear", "lerp", "spherical", "slerp"):
        raise ValueError(f"interpolate: unknown mode {mode!r}; choose 'linear' or 'spherical'")
    t = np.linspace(0.0, 1.0, steps)[:, None] if steps > 1 else np.zeros((1, 1))
    out = slerp(a, b, t) if mode in ("spherical", "slerp") else (1.0 - t) * a + t * b
    out = out.astype(np.float32)
    out[0] = np.asarray(za, np.float32).reshape(-1)
    if steps > 1:
        out[-1] = np.asarray(zb, np.float32).reshape(-1)
    return out


def arrow_segments(at: np.ndarray, vec: np.ndarray, length: float, ref: float,
                   cap: float = math.inf) -> np.ndarray:
    """Line segments ((6K, 2), consecutive pairs: shaft and two head barbs) of arrows from
    `at` along `vec`: an arrow of magnitude `ref` is `length` long, longer ones are clipped
    at cap * length; heads are 30% of the arrow at +-25 degrees. Non-finite vectors count
    as zero; ref <= 0 gives no arrows."""
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


class Growing:
    """A preallocated float buffer that doubles its capacity when full: 1-D values when
    `width` is None, else rows of `width` columns."""
    __slots__ = ("data", "n")

    def __init__(self, width: Optional[int] = None, capacity: int = 256, dtype=np.float64):
        self.data = np.empty(capacity if width is None else (capacity, width), dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values, self.data.dtype).reshape((-1,) + self.data.shape[1:])
        need = self.n + len(values)
        if need > len(self.data):
            cap = len(self.data)
            while cap < need:
                cap *= 2
            grown = np.empty((cap,) + self.data.shape[1:], self.data.dtype)
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:need] = values
        self.n = need

    def replace(self, values: np.ndarray) -> None:
        self.n = 0
        self.extend(values)

    def clear(self) -> None:
        self.n = 0

    def view(self) -> np.ndarray:
        return self.data[:self.n]


# ---------------------------------------------------------------------------- Qt

class WheelGuard(QObject):
    """Install on spin/combo boxes and sliders: unfocused ones ignore the wheel, so scrolling
    the list they sit in does not change values under the mouse."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()
            return True
        return False


def image_view(name: str, parent: Optional[QWidget] = None, background=None
               ) -> tuple[pg.GraphicsView, pg.ViewBox, pg.ImageItem]:
    """A frameless GraphicsView showing one row-major ImageItem in an aspect-locked,
    y-down ViewBox without padding, mouse or menu."""
    view = pg.GraphicsView(parent, background=background) if background is not None \
        else pg.GraphicsView(parent)
    view.setObjectName(name)
    view.setFrameShape(QFrame.Shape.NoFrame)
    vb = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False,
                    defaultPadding=0.0)
    view.setCentralItem(vb)
    item = pg.ImageItem(axisOrder="row-major")
    item.setAutoDownsample(False)
    vb.addItem(item)
    return view, vb, item


class PaletteAware:
    """Mixin for a QWidget panel with an `apply_palette()` method: it is called again when
    the widget's or the application's palette changes. List it before the Qt base class."""

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.apply_palette()


def muted(fg: QColor, bg: QColor, amount: float = 0.45) -> QColor:
    """`fg` blended towards `bg` by `amount` (channels truncated to ints)."""
    return QColor(int(fg.red() * (1 - amount) + bg.red() * amount),
                  int(fg.green() * (1 - amount) + bg.green() * amount),
                  int(fg.blue() * (1 - amount) + bg.blue() * amount))


def hint_label(text: str, name: str, margin: int = 16, parent: Optional[QWidget] = None) -> QLabel:
    """A panel's centred, word-wrapped message (its empty state, a "ready" hint)."""
    label = QLabel(text, parent)
    label.setObjectName(name)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setMargin(margin)
    return label


def mute_label(label: QLabel) -> None:
    """Secondary text: the label's text colour blended 40% towards its background (any theme)."""
    pal = label.palette()
    fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    pal.setColor(QPalette.ColorRole.WindowText, muted(fg, bg, 0.4))
    label.setPalette(pal)


def style_axes(plot_item, fg: QColor, bg: QColor, names=("left", "bottom")) -> None:
    """Axis lines muted, tick labels in the text colour, for a pyqtgraph PlotItem."""
    for name in names:
        ax = plot_item.getAxis(name)
        ax.setPen(pg.mkPen(muted(fg, bg)))
        ax.setTextPen(pg.mkPen(fg))


def with_alpha(colour: QColor, alpha: float) -> QColor:
    """A copy of `colour` with alpha `alpha` (0..1)."""
    c = QColor(colour)
    c.setAlphaF(alpha)
    return c


def small_font(font: QFont) -> QFont:
    """`font` at 85% of its point size, at least 6.5 pt (tick labels, captions)."""
    f = QFont(font)
    f.setPointSizeF(max(6.5, f.pointSizeF() * 0.85))
    return f


def checked_button_css(palette: QPalette) -> str:
    """Style sheet for checkable push buttons: a checked one in the highlight colour."""
    hl = palette.color(QPalette.ColorRole.Highlight)
    hl_text = palette.color(QPalette.ColorRole.HighlightedText)
    return (f"QPushButton:checked {{ background: {hl.name()}; color: {hl_text.name()}; "
            f"border: 1px solid {hl.darker(130).name()}; border-radius: 3px; padding: 3px 8px; }}")
