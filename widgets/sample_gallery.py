"""Sample gallery: the latest fixed-z samples as one crisp image grid (or a 2D scatter), with a
timeline slider that scrubs snapshots of earlier steps.

The main window feeds it with `set_samples(step, samples)` while training and
`set_history(steps, loader)` when a run is opened; `sample_clicked(int)` tells it which sample
was clicked (e.g. to open it in the latent explorer).

Models that sample with a temperature (normalizing flows) get a "Temperature T" slider
(`set_temperature(T)`, `temperature_changed(float)`).

Preview: ``python -m widgets.sample_gallery [--points] [--temperature T] [--grab OUT.png]``.
"""
from __future__ import annotations

import bisect
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QStackedWidget, QVBoxLayout, QWidget,
)

from .kit import PaletteAware, tile, to_uint8

__all__ = ["SampleGalleryPanel", "make_grid", "GridGeometry"]

HINT = "Samples appear here while training"
PAD = 2                  # same layout as studio.core.images.image_grid, so live grids and saved
PAD_VALUE = 40           # snapshot PNGs look alike and clicks map the same way
CACHE_SIZE = 50          # loaded snapshots kept in memory (LRU)
SAMPLE_COLOUR = (230, 110, 20)
TEMPERATURE_MAX = 2.0    # the temperature slider spans 0 .. TEMPERATURE_MAX (the config's range) ...
TEMPERATURE_TICKS = 100  # ... in steps of 1 / TEMPERATURE_TICKS
TEMPERATURE_TIP = (
    "Glow's sampling temperature: the samples decode T \u00b7 \u03b5 instead of \u03b5, "
    "i.e. the prior's standard deviation scaled by T. Lower T gives cleaner, more typical, "
    "less varied samples (the Glow paper's figures use T = 0.7); T = 0 is the prior's mean "
    "mapped through the flow, one most typical sample; T = 1 samples the model as trained. "
    "The grid is redrawn at once, and the run's next snapshots use it too.")
REFERENCE_COLOUR = (150, 150, 150, 130)

Loader = Callable[[int], np.ndarray]


# --------------------------------------------------------------------------------------------
# numpy helpers (no Qt)

@dataclass(frozen=True)
class GridGeometry:
    """Where the cells of a grid image are: cell (r, c) spans rows pad + r*(h+pad) .. +h."""
    rows: int
    cols: int
    h: int
    w: int
    n: int                   # cells holding a sample (the last row may be partial)
    pad: int = PAD

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows * (self.h + self.pad) + self.pad, self.cols * (self.w + self.pad) + self.pad)

    def index_at(self, x: float, y: float) -> Optional[int]:
        """Sample index under image coordinates (x = column, y = row), or None. Clicks on the
        padding count for the nearest cell."""
        c = math.floor((x - self.pad / 2) / (self.w + self.pad))
        r = math.floor((y - self.pad / 2) / (self.h + self.pad))
        if not (0 <= r < self.rows and 0 <= c < self.cols):
            return None
        h, w = self.shape
        if not (0 <= x < w and 0 <= y < h):
            return None
        i = r * self.cols + c
        return i if i < self.n else None

    def cell_centre(self, index: int) -> tuple[float, float]:
        r, c = divmod(index, self.cols)
        return (self.pad + c * (self.w + self.pad) + self.w / 2,
                self.pad + r * (self.h + self.pad) + self.h / 2)


def make_grid(images: np.ndarray, ncols: Optional[int] = None, pad: int = PAD,
              pad_value: int = PAD_VALUE) -> tuple[np.ndarray, GridGeometry]:
    """(N, C, H, W) float in [0, 1] (or uint8), C in {1, 3} -> uint8 (rows*(H+pad)+pad,
    cols*(W+pad)+pad, C) grid, vectorised (no per-image loop), plus its geometry."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, C, H, W) with C in {{1, 3}}, got {images.shape}")
    imgs = images if images.dtype == np.uint8 else to_uint8(images)
    n, c, h, w = imgs.shape
    cols = ncols or max(1, math.ceil(math.sqrt(max(n, 1))))
    rows = max(1, math.ceil(n / cols))
    grid = tile(imgs.transpose(0, 2, 3, 1), cols, pad, pad_value)
    return grid, GridGeometry(rows, cols, h, w, n, pad)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of the runs of True in a 1D bool array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), (ends - starts).tolist()))


def infer_geometry(grid: np.ndarray, pad_value: int = PAD_VALUE) -> Optional[GridGeometry]:
    """Recover the cell layout of a grid made like `make_grid` / studio's `image_grid` from its
    padding lines (None when it does not look like one)."""
    g = grid if grid.ndim == 3 else grid[:, :, None]
    is_pad = np.all(g == pad_value, axis=2)
    content_rows = _runs(~is_pad.all(axis=1))
    content_cols = _runs(~is_pad.all(axis=0))
    if not content_rows or not content_cols:
        return None
    h, w = content_rows[0][1], content_cols[0][1]
    pad = content_rows[0][0]
    if pad < 1 or content_cols[0][0] != pad:
        return None
    if any(ln != h for _, ln in content_rows) or any(ln != w for _, ln in content_cols):
        return None
    rows, cols = len(content_rows), len(content_cols)
    geo = GridGeometry(rows, cols, h, w, rows * cols, pad)
    if geo.shape != g.shape[:2]:
        return None
    filled = [not is_pad[pad + r * (h + pad): pad + r * (h + pad) + h,
                         pad + c * (w + pad): pad + c * (w + pad) + w].all()
              for r in range(rows) for c in range(cols)]
    n = max((i + 1 for i, f in enumerate(filled) if f), default=0)
    return GridGeometry(rows, cols, h, w, n, pad)


def _kind(arr: np.ndarray) -> str:
    """'images' (N, C, H, W) | 'points' (N, 2) float | 'grid' (H, W, C) / (H, W)."""
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        return "images"
    if arr.ndim == 2 and arr.shape[1] == 2 and arr.dtype.kind == "f":
        return "points"
    if arr.ndim == 3 and arr.shape[2] in (1, 3):
        return "grid"
    if arr.ndim == 2:
        return "grid"
    raise ValueError(f"samples must be images (N, C, H, W), points (N, 2) or a grid image "
                     f"(H, W[, C]); got shape {arr.shape} {arr.dtype}")


def _as_uint8_grid(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype == np.uint8:
        return arr
    f = np.nan_to_num(np.asarray(arr, np.float32))
    if f.size and float(f.max()) <= 1.0:
        f = f * 255.0
    return (np.clip(f, 0, 255) + 0.5).astype(np.uint8)


def _qimage_to_array(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, :w * 3].reshape(h, w, 3).copy()


# --------------------------------------------------------------------------------------------
# Qt

class _LoadBridge(QObject):
    """Carries loader results from the worker thread to the GUI thread (queued)."""
    loaded = Signal(int, int, object, str)     # generation, step, array or None, error


class SampleGalleryPanel(PaletteAware, QWidget):
    """Fixed-z samples of the current (or a scrubbed-to) step as one grid image or scatter."""

    sample_clicked = Signal(int)               # index of the clicked sample in the grid
    temperature_changed = Signal(float)        # the temperature slider moved (models with one)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._default_caption = "fixed z"
        self.setObjectName(type(self).__name__)
        self._pool = QThreadPool(self)         # created first: destroyed (joined) first
        self._pool.setMaxThreadCount(1)
        self._bridge = _LoadBridge(self)
        self._bridge.loaded.connect(self._on_loader_loaded)

        self._steps: list[int] = []                          # the timeline, sorted
        self._live: dict[int, tuple[np.ndarray, str]] = {}   # given by set_samples, as provided
        self._cache: OrderedDict[int, tuple[np.ndarray, str]] = OrderedDict()  # LRU
        self._loader: Optional[Loader] = None
        self._generation = 0                   # bumps on set_history/clear: stale loads dropped
        self._loading: Optional[int] = None    # step in flight
        self._wanted: Optional[int] = None     # step to show when its load arrives
        self._following = True                 # slider at the end: new samples show at once
        self._shown_step: Optional[int] = None
        self._mode: Optional[str] = None       # "images" or "points"
        self._grid: Optional[np.ndarray] = None
        self._geometry: Optional[GridGeometry] = None
        self._last_geometry: Optional[GridGeometry] = None
        self._points: Optional[np.ndarray] = None
        self._reference: Optional[np.ndarray] = None
        self._build()
        self.apply_palette()

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(3)

        header = QHBoxLayout()
        self._title = QLabel(" ")
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header.addWidget(self._title, 1)
        self._hover = QLabel("")
        self._hover.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._hover.setMinimumWidth(self._hover.fontMetrics().horizontalAdvance("sample #0000  (00, 00)"))
        header.addWidget(self._hover)
        root.addLayout(header)

        self._stack = QStackedWidget()
        self._hint = QLabel(HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._stack.addWidget(self._hint)

        self._view = pg.GraphicsView()
        self._view.setMinimumSize(120, 120)
        self._vb = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False,
                              defaultPadding=0.0)
        self._view.setCentralItem(self._vb)
        self._reference_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(*REFERENCE_COLOUR))
        self._reference_item.setZValue(-1)
        self._scatter = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*SAMPLE_COLOUR))
        self._image = pg.ImageItem(axisOrder="row-major")
        for item in (self._image, self._reference_item, self._scatter):
            item.setVisible(False)
            self._vb.addItem(item)
        self._stack.addWidget(self._view)
        root.addWidget(self._stack, 1)

        timeline = QHBoxLayout()
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setRange(0, 0)
        self._slider.setToolTip("Scrub through the snapshots of earlier steps")
        self._slider.valueChanged.connect(self._on_slider_value_changed)
        timeline.addWidget(self._slider, 1)
        self._position = QLabel("")
        self._position.setMinimumWidth(self._position.fontMetrics().horizontalAdvance("step 0000000  (000/000)"))
        self._position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        timeline.addWidget(self._position)
        self._live_button = QPushButton("Live")
        self._live_button.setToolTip("Jump back to the newest samples and follow training")
        self._live_button.clicked.connect(self._on_live_button_clicked)
        policy = self._live_button.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self._live_button.setSizePolicy(policy)
        self._live_button.setVisible(False)
        timeline.addWidget(self._live_button)
        self._timeline = QWidget()
        self._timeline.setLayout(timeline)
        timeline.setContentsMargins(0, 0, 0, 0)
        self._timeline.setVisible(False)
        root.addWidget(self._timeline)

        # models that sample with a temperature (normalizing flows): T scales the prior's std
        self._temperature_row = QWidget()
        self._temperature_row.setObjectName("temperatureRow")
        tr = QHBoxLayout(self._temperature_row)
        tr.setContentsMargins(0, 0, 0, 0)
        t_label = QLabel("Temperature T")
        self._temperature = QSlider(Qt.Orientation.Horizontal)
        self._temperature.setObjectName("temperatureSlider")
        self._temperature.setRange(0, round(TEMPERATURE_MAX * TEMPERATURE_TICKS))
        self._temperature.setSingleStep(5)
        self._temperature.setPageStep(10)
        self._temperature.setValue(TEMPERATURE_TICKS)
        self._temperature_value = QLabel("1.00")
        self._temperature_value.setObjectName("temperatureValue")
        self._temperature_value.setMinimumWidth(
            self._temperature_value.fontMetrics().horizontalAdvance("0.00") + 4)
        self._temperature_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for w in (t_label, self._temperature, self._temperature_value):
            w.setToolTip(TEMPERATURE_TIP)
        t_label.setBuddy(self._temperature)
        self._temperature.valueChanged.connect(self._on_temperature_moved)
        tr.addWidget(t_label)
        tr.addWidget(self._temperature, 1)
        tr.addWidget(self._temperature_value)
        self._temperature_row.setVisible(False)
        root.addWidget(self._temperature_row)

        scene = self._view.scene()
        scene.sigMouseClicked.connect(self._on_scene_mouse_clicked)
        scene.sigMouseMoved.connect(self._on_scene_mouse_moved)
        self._view.installEventFilter(self)        # Leave: clear the hover label

    # -- public API ---------------------------------------------------------------------------

    def set_default_caption(self, caption: str) -> None:
        """What the grid's title says the samples are, unless set_samples says otherwise
        ("fixed z"; a translator's: the translations of fixed test inputs)."""
        self._default_caption = caption

    def set_samples(self, step: int, samples: np.ndarray, caption: Optional[str] = None) -> None:
        """New live samples: images (N, C, H, W) float [0, 1], C in {1, 3}, or points (N, 2).
        Shown at once while following (slider at the end); otherwise only the timeline grows."""
        caption = self._default_caption if caption is None else caption
        arr = np.asarray(samples)
        _kind(arr)                                         # validate before storing
        step = int(step)
        self._cache.pop(step, None)
        self._live[step] = (arr, caption)
        if self._loader is not None:                       # the loader can reload older ones
            newest = max(self._live)
            for old in [s for s in self._live if s != newest]:
                self._cache_put(old, self._live.pop(old))
        self._insert_step(step)
        if self._following:
            self._set_slider(len(self._steps) - 1)
            self._show_step(self._steps[-1])               # a hit: clears any pending load
        self._update_timeline()

    def set_history(self, steps: list[int], loader: Loader) -> None:
        """The snapshots of a run: `loader(step)` returns samples (as for set_samples) or an
        already-made uint8 grid (H, W, C) / (H, W). It is called on a worker thread, one call
        at a time, only for the snapshot being looked at; results are kept in an LRU of
        ~50 snapshots. Jumps to the newest step."""
        self._loader = loader
        self._generation += 1
        self._cache.clear()
        self._wanted = None
        newest = max(self._live) if self._live else None
        for old in [s for s in self._live if s != newest]:
            self._cache_put(old, self._live.pop(old))
        self._steps = sorted(set(int(s) for s in steps) | set(self._live) | set(self._cache))
        self._following = True
        if self._steps:
            self._set_slider(len(self._steps) - 1)
            self._show_step(self._steps[-1])
        self._update_timeline()

    def set_reference_points(self, points: Optional[np.ndarray]) -> None:
        """Grey points drawn behind point samples (e.g. the data set); None removes them."""
        if points is None or len(points) == 0:
            self._reference = None
            self._reference_item.setData([], [])
        else:
            pts = np.asarray(points, np.float64)
            pts = pts[np.isfinite(pts).all(axis=1)]
            self._reference = pts
            self._reference_item.setData(pos=pts)
        self._reference_item.setVisible(self._mode == "points" and self._reference is not None)

    def clear(self) -> None:
        self._generation += 1
        self._steps.clear()
        self._live.clear()
        self._cache.clear()
        self._loader = None
        self._loading = self._wanted = None
        self._following = True
        self._shown_step = self._mode = None
        self._grid = self._geometry = self._points = None
        self._image.clear()
        self._scatter.setData([], [])
        for item in (self._image, self._scatter, self._reference_item):
            item.setVisible(False)
        self._set_slider(0, maximum=0)
        self._title.setText(" ")
        self._hover.setText("")
        self._timeline.setVisible(False)
        self._stack.setCurrentWidget(self._hint)

    def set_temperature(self, value: Optional[float]) -> None:
        """Show the temperature slider at `value` (a model that samples with one), or hide
        it (None). Emits nothing."""
        self._temperature_row.setVisible(value is not None)
        if value is None:
            return
        v = min(max(float(value), 0.0), TEMPERATURE_MAX)
        self._temperature.blockSignals(True)
        self._temperature.setValue(round(v * TEMPERATURE_TICKS))
        self._temperature.blockSignals(False)
        self._temperature_value.setText(f"{v:.2f}")

    def temperature(self) -> Optional[float]:
        """The temperature the slider shows (None while it is hidden)."""
        if self._temperature_row.isHidden():
            return None
        return self._temperature.value() / TEMPERATURE_TICKS

    def move_temperature(self, value: float) -> None:
        """Move the slider as a user would (emits temperature_changed)."""
        self._temperature.setValue(round(min(max(float(value), 0.0), TEMPERATURE_MAX) * TEMPERATURE_TICKS))

    def current_image(self) -> np.ndarray:
        """The uint8 picture shown: the (H, W, C) grid for images; for points an RGB render
        of the view. Empty (0, 0, 3) when nothing is shown."""
        if self._mode == "images" and self._grid is not None:
            return self._grid.copy()
        if self._mode == "points":
            return _qimage_to_array(self._view.grab().toImage())
        return np.zeros((0, 0, 3), np.uint8)

    def current_step(self) -> Optional[int]:
        """Step of the snapshot on screen."""
        return self._shown_step

    def steps(self) -> list[int]:
        return list(self._steps)

    def is_live(self) -> bool:
        return self._following

    def geometry_of_grid(self) -> Optional[GridGeometry]:
        return self._geometry

    def title(self) -> str:
        return self._title.text()

    def scrub_to(self, index: int) -> None:
        """Move the timeline slider (as the user would)."""
        self._slider.setValue(index)

    def go_live(self) -> None:
        self._on_live_button_clicked()

    def apply_palette(self) -> None:
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        self._view.setBackground(bg)
        hint = QColor(fg)
        hint.setAlphaF(0.55)
        self._hint.setStyleSheet(f"color: {hint.name(QColor.NameFormat.HexArgb)}; font-size: 11pt;")
        muted = QColor(fg)
        muted.setAlphaF(0.7)
        self._hover.setStyleSheet(f"color: {muted.name(QColor.NameFormat.HexArgb)};")

    def _on_temperature_moved(self, ticks: int) -> None:
        t = ticks / TEMPERATURE_TICKS
        self._temperature_value.setText(f"{t:.2f}")
        self.temperature_changed.emit(t)

    # -- timeline ------------------------------------------------------------------------------

    def _insert_step(self, step: int) -> None:
        if step in self._steps:
            return
        current = self._steps[self._slider.value()] if self._steps else None
        bisect.insort(self._steps, step)
        if not self._following and current is not None:
            self._set_slider(self._steps.index(current))      # stay on the same snapshot
        else:
            self._set_slider(self._slider.value())

    def _set_slider(self, value: int, maximum: Optional[int] = None) -> None:
        self._slider.blockSignals(True)
        self._slider.setRange(0, max(0, len(self._steps) - 1) if maximum is None else maximum)
        self._slider.setValue(value)
        self._slider.blockSignals(False)

    def _update_timeline(self) -> None:
        n = len(self._steps)
        self._timeline.setVisible(n > 0)
        if n:
            i = self._slider.value()
            self._position.setText(f"step {self._steps[i]}  ({i + 1}/{n})")
        self._live_button.setVisible(not self._following)

    def _on_slider_value_changed(self, index: int) -> None:
        if not self._steps:
            return
        self._following = index >= len(self._steps) - 1
        self._update_timeline()
        self._show_step(self._steps[index])

    def _on_live_button_clicked(self) -> None:
        if not self._steps:
            return
        self._following = True
        self._set_slider(len(self._steps) - 1)
        self._update_timeline()
        self._show_step(self._steps[-1])

    # -- snapshots -----------------------------------------------------------------------------

    def _cache_put(self, step: int, entry: tuple[np.ndarray, str]) -> None:
        self._cache[step] = entry
        self._cache.move_to_end(step)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _lookup(self, step: int) -> Optional[tuple[np.ndarray, str]]:
        if step in self._live:
            return self._live[step]
        entry = self._cache.get(step)
        if entry is not None:
            self._cache.move_to_end(step)
        return entry

    def _show_step(self, step: int) -> None:
        entry = self._lookup(step)
        if entry is not None:
            self._wanted = None
            self._display(step, *entry)
            return
        if self._loader is None:
            self._title.setText(f"Step {step} - snapshot not available")
            return
        self._wanted = step
        self._title.setText(f"Step {step} - loading\u2026")
        if self._loading is None:
            self._start_load(step)

    def _start_load(self, step: int) -> None:
        self._loading = step
        loader, generation, bridge = self._loader, self._generation, self._bridge

        def job() -> None:
            try:
                arr, error = np.asarray(loader(step)), ""
            except Exception as exc:                      # reported in the title
                arr, error = None, f"{type(exc).__name__}: {exc}"
            try:
                bridge.loaded.emit(generation, step, arr, error)
            except RuntimeError:                          # panel already gone
                pass

        self._pool.start(job)

    def _on_loader_loaded(self, generation: int, step: int, arr, error: str) -> None:
        self._loading = None
        if generation == self._generation:
            if arr is not None:
                try:
                    _kind(arr)
                except ValueError as exc:
                    arr, error = None, str(exc)
            if arr is not None:
                self._cache_put(step, (arr, self._default_caption))
            if self._wanted == step:
                self._wanted = None
                if arr is not None:
                    self._display(step, arr, self._default_caption)
                else:
                    self._title.setText(f"Step {step} - could not load: {error}")
        if self._wanted is not None and self._loader is not None:
            self._start_load(self._wanted)                # newest request wins

    def _display(self, step: int, arr: np.ndarray, caption: str) -> None:
        kind = _kind(arr)
        note = f" ({caption})" if caption else ""
        if kind == "points":
            pts = np.asarray(arr, np.float64)
            self._set_mode("points")
            self._points = pts
            self._grid = self._geometry = None
            finite = pts[np.isfinite(pts).all(axis=1)]
            self._scatter.setSize(4 if len(finite) <= 5000 else 2)
            self._scatter.setData(pos=finite)
            self._vb.autoRange()
            title = f"Step {step} - {len(pts)} samples{note}"
        else:
            if kind == "images":
                grid, geometry = make_grid(arr)
                self._last_geometry = geometry
                title = f"Step {step} - {geometry.n} samples{note}"
            else:
                grid = _as_uint8_grid(arr)
                geometry = (self._last_geometry if self._last_geometry is not None
                            and self._last_geometry.shape == grid.shape[:2] else infer_geometry(grid))
                title = (f"Step {step} - {geometry.n} samples{note}" if geometry is not None
                         else f"Step {step} - snapshot")
            self._set_mode("images")
            self._points = None
            self._grid, self._geometry = grid, geometry
            resized = self._image.image is None or self._image.image.shape[:2] != grid.shape[:2]
            self._image.setImage(grid[:, :, 0] if grid.shape[2] == 1 else grid,
                                 autoLevels=False, levels=(0, 255))
            if resized:
                self._vb.autoRange(padding=0.0)
        self._shown_step = step
        self._title.setText(title)
        self._stack.setCurrentWidget(self._view)

    def _set_mode(self, mode: str) -> None:
        if mode == self._mode:
            return
        self._mode = mode
        images = mode == "images"
        self._image.setVisible(images)
        self._scatter.setVisible(not images)
        self._reference_item.setVisible(not images and self._reference is not None)
        self._vb.invertY(images)
        self._vb.setDefaultPadding(0.0 if images else 0.04)
        if not images:
            self._image.clear()

    # -- mouse ---------------------------------------------------------------------------------

    def _index_at_scene(self, scene_pos: QPointF) -> Optional[int]:
        if not self._vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self._vb.mapSceneToView(scene_pos)
        if self._mode == "images" and self._geometry is not None:
            return self._geometry.index_at(p.x(), p.y())
        if self._mode == "points" and self._points is not None and len(self._points):
            d = np.sum((self._points - (p.x(), p.y())) ** 2, axis=1)
            if not np.isfinite(d).any():
                return None
            return int(np.nanargmin(d))
        return None

    def _on_scene_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        index = self._index_at_scene(event.scenePos())
        if index is not None:
            self.sample_clicked.emit(index)

    def _on_scene_mouse_moved(self, scene_pos: QPointF) -> None:
        index = self._index_at_scene(scene_pos)
        if index is None:
            self._hover.setText("")
        elif self._mode == "images" and self._geometry is not None:
            r, c = divmod(index, self._geometry.cols)
            self._hover.setText(f"sample #{index}  ({r}, {c})")
        else:
            x, y = self._points[index]
            self._hover.setText(f"sample #{index}  ({x:.3g}, {y:.3g})")

    def eventFilter(self, obj, event) -> bool:
        if obj is self._view and event.type() == event.Type.Leave:
            self._hover.setText("")
        return super().eventFilter(obj, event)



# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import (fake_gallery_images, fake_gallery_points, preview_app, preview_parser,
                          show_or_grab)

    ap = preview_parser("Preview SampleGalleryPanel with fake data.", "560x600")
    ap.add_argument("--points", action="store_true", help="2D points instead of images")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    ap.add_argument("--scrub", type=int, metavar="I", help="scrub back to timeline index I")
    ap.add_argument("--temperature", type=float, metavar="T",
                    help="a model that samples with a temperature: show its slider at T")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = SampleGalleryPanel()
    panel.setWindowTitle("SampleGalleryPanel preview")
    panel.sample_clicked.connect(lambda i: print(f"sample_clicked({i})"))
    panel.temperature_changed.connect(lambda t: print(f"temperature_changed({t:.2f})"))
    if args.temperature is not None:
        panel.set_temperature(args.temperature)
    if not args.empty:
        fake = fake_gallery_points if args.points else fake_gallery_images
        if args.points:
            panel.set_reference_points(fake_gallery_points(10**6, n=3000, seed=7))
        panel.set_history(list(range(200, 2001, 200)), fake)
        panel.set_samples(2200, fake(2200))
        if args.scrub is not None:
            panel.scrub_to(args.scrub)
            panel.set_samples(2400, fake(2400))       # arrives while scrubbed back: no jump

    def wait_for_load() -> None:          # a scrubbed-to snapshot loads on a worker thread
        deadline = time.monotonic() + 5
        while "loading" in panel.title() and time.monotonic() < deadline:
            app.processEvents()

    return show_or_grab(app, panel, args.size, args.grab, before_grab=wait_for_load)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
