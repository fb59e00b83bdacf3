"""Latent explorer: sliders over a model's latent code, the decoded result, and interpolation.

The engine lives on another thread. This panel never decodes anything itself: it emits
requests (`z_changed` with a stamp, `random_requested`, `encode_requested`,
`interpolate_requested`) and shows whatever results come back. Results carry the stamp of the
request they answer; a result older than the newest one already shown is dropped, so a slow
decode can never overwrite a newer picture (stylegan3 visualizer habit).

A new latent space asks for the decode of its base code by itself (once the panel can
decode), so an opened run shows a picture before anyone touches a slider; `refresh()` asks
again for the same code (new weights).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import (QComboBox, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QScrollArea, QSlider, QSpinBox, QSplitter,
                               QStackedWidget, QVBoxLayout, QWidget)

from .kit import WheelGuard, hint_label, image_view, interpolate, mute_label, tile, to_uint8

__all__ = ["LatentExplorerPanel", "interpolate", "to_display_uint8", "tile_row",
           "MAX_SLIDERS", "EMPTY_TEXT"]

MAX_SLIDERS = 16
SLIDER_RANGE = 3.0          # sliders span -3..3 ...
SLIDER_STEP = 0.01          # ... in steps of 0.01
_TICKS = int(round(1 / SLIDER_STEP))
EMPTY_TEXT = "Train or open a run with an encoder/decoder to explore its latent space"
_PAD, _PAD_VALUE = 2, 40    # gaps between interpolation frames (as studio.core.images.image_grid)


# ---------------------------------------------------------------------------- pure helpers
def to_display_uint8(image: np.ndarray) -> np.ndarray:
    """One image as (H, W, C) uint8, C in {1, 3, 4}.

    Accepts float (C, H, W) or (H, W, C) in [0, 1] (clipped, rounded), uint8 (H, W, C) or
    (C, H, W), and (H, W) of either."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    elif a.ndim != 3:
        raise ValueError(f"expected an image (C,H,W), (H,W,C) or (H,W), got shape {a.shape}")
    chans = (1, 3, 4)
    if a.dtype == np.uint8:
        if a.shape[-1] not in chans and a.shape[0] in chans:
            a = a.transpose(1, 2, 0)
    else:
        if a.shape[0] in chans and not (a.shape[-1] in chans and a.shape[0] > a.shape[-1]):
            a = a.transpose(1, 2, 0)
        a = to_uint8(a)
    if a.shape[-1] not in chans:
        raise ValueError(f"cannot tell the channels of an image of shape {np.shape(image)}")
    return np.ascontiguousarray(a)


def tile_row(frames: np.ndarray, pad: int = _PAD, pad_value: int = _PAD_VALUE,
             max_cols: int = 12) -> np.ndarray:
    """(N, H, W, C) uint8 -> one picture, frames left to right (wrapping after max_cols)."""
    n = len(frames)
    rows = max(1, math.ceil(n / max_cols))
    grid = tile(frames, math.ceil(n / rows), pad, pad_value)
    return np.ascontiguousarray(grid[pad:grid.shape[0] - pad, pad:grid.shape[1] - pad])


def _for_image_item(img: np.ndarray) -> np.ndarray:
    return img[:, :, 0] if img.shape[-1] == 1 else img


class LatentExplorerPanel(QWidget):
    """Drag sliders over a latent code and see it decoded; interpolate between two codes.

    Signals:
        z_changed(object, int): the current code (float32 (dim,)) and a stamp that increases
            with every request; emitted on every slider move and by set_base.
        random_requested(int): a seed; the window replies with set_base(z).
        encode_requested(): encode the image selected in the data browser, reply set_base(z).
        interpolate_requested(object, object, str, int): (zA, zB, mode, steps), mode
            "linear" or "spherical"; the window replies with show_interpolation(images).
        encode_end_requested(str): "A" or "B": encode the image selected in the data browser
            as that end of the interpolation; the window replies with set_end(which, z, name).
        label_changed(int): conditional models: the class to decode the code as changed;
            the window decodes current_z() with that label again.
        sweep_requested(str): conditional models: "class" (the current code decoded as
            every class) or "style" (the current class with several random codes); the
            window replies with show_sweep(images, codes, labels).
    """

    z_changed = Signal(object, int)
    random_requested = Signal(int)
    encode_requested = Signal()
    interpolate_requested = Signal(object, object, str, int)
    encode_end_requested = Signal(str)
    label_changed = Signal(int)
    sweep_requested = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("LatentExplorerPanel")
        self._dim = 0
        self._pca = False                     # sliders move along directions, not axes
        self._basis = np.zeros((0, 0), np.float64)
        self._scales = np.zeros(0, np.float64)
        self._base = np.zeros(0, np.float64)
        self._s = np.zeros(0, np.float64)     # slider values (axis mode: z itself)
        self._stamp = 0
        self._shown_stamp = -1
        self._updating = False
        self._caps: Optional[frozenset] = None
        # The first decode of a new space waits for the event loop: a caller that sets a
        # base right after set_space (principal directions: the data's mean) asks for one
        # decode, not two.
        self._first_decode_due = False
        self._first_decode_timer = QTimer(self)
        self._first_decode_timer.setSingleShot(True)
        self._first_decode_timer.setInterval(0)
        self._first_decode_timer.timeout.connect(self._first_decode)
        self._z_a: Optional[np.ndarray] = None
        self._z_b: Optional[np.ndarray] = None
        self._end_names = {"A": "", "B": ""}   # where an end came from ("data image #12")
        self._last_interp: Optional[tuple[np.ndarray, np.ndarray, str, int]] = None
        self._sweep: Optional[tuple[np.ndarray, np.ndarray]] = None   # codes, labels
        self._image: Optional[np.ndarray] = None          # (H, W, C) uint8 shown
        self._interp_images: Optional[np.ndarray] = None  # (N, H, W, C) uint8
        self._interp_shape: Optional[tuple[int, int, int]] = None   # rows, cols, frame h/w
        self._point: Optional[np.ndarray] = None
        self._sliders: list[QSlider] = []
        self._value_labels: list[QLabel] = []
        self._name_labels: list[QLabel] = []
        self._wheel_guard = WheelGuard(self)

        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages)

        # ----- empty page
        self._empty = hint_label(EMPTY_TEXT, "latentEmptyState", margin=24, parent=self)
        mute_label(self._empty)
        self._pages.addWidget(self._empty)

        # ----- explorer page
        page = QWidget(self)
        self._pages.addWidget(page)
        pv = QVBoxLayout(page)
        pv.setContentsMargins(0, 0, 0, 0)
        self._splitter = QSplitter(Qt.Orientation.Vertical, page)
        self._splitter.setChildrenCollapsible(False)
        pv.addWidget(self._splitter)

        self._views = QStackedWidget(self._splitter)
        self._views.setMinimumHeight(120)
        self._image_view, self._image_vb, self._image_item = image_view(
            "decodedView", self._views, background=self._views.palette().color(QPalette.ColorRole.Mid))
        self._image_view.setToolTip("The decoded latent code.")
        self._views.addWidget(self._image_view)
        self._plot = pg.PlotWidget(self._views)
        self._plot.setObjectName("decodedPointView")
        self._plot.setAspectLocked(True)
        self._plot.showGrid(x=True, y=True, alpha=0.15)
        self._plot.setMenuEnabled(False)
        self._ref_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(170, 170, 170, 120))
        self._path_item = pg.PlotDataItem(pen=pg.mkPen(90, 160, 230, width=1.5), symbol="o",
                                          symbolSize=6, symbolBrush=pg.mkBrush(90, 160, 230),
                                          symbolPen=None)
        self._marker = pg.ScatterPlotItem(size=14, pen=pg.mkPen("w", width=1.5),
                                          brush=pg.mkBrush(230, 110, 20))
        for item in (self._ref_item, self._path_item, self._marker):
            self._plot.addItem(item)
        self._views.addWidget(self._plot)
        self._splitter.addWidget(self._views)

        controls = QWidget(self._splitter)
        cv = QVBoxLayout(controls)
        cv.setContentsMargins(0, 4, 0, 0)
        cv.setSpacing(6)

        base_row = QHBoxLayout()
        base_row.setSpacing(4)
        seed_label = QLabel("seed", controls)
        self._seed = QSpinBox(controls)
        self._seed.setObjectName("seedBox")
        self._seed.setRange(0, 2 ** 31 - 1)
        self._seed.setKeyboardTracking(False)
        self._seed.setToolTip("Seed of the random code; typing a seed shows its sample.")
        self._seed.valueChanged.connect(self._on_seed_changed)
        seed_label.setBuddy(self._seed)
        self._random_button = QPushButton("Randomise", controls)
        self._random_button.setObjectName("randomButton")
        self._random_button.setToolTip("Draw a new random code (next seed).")
        self._random_button.clicked.connect(self._on_random_clicked)
        self._encode_button = QPushButton("Pick from data set", controls)
        self._encode_button.setObjectName("encodeButton")
        self._encode_button.setToolTip("Encode the image selected in the data set browser and "
                                       "start from its code.")
        self._encode_button.clicked.connect(self.encode_requested)
        base_row.addWidget(seed_label)
        base_row.addWidget(self._seed, 1)
        base_row.addWidget(self._random_button)
        base_row.addWidget(self._encode_button)
        cv.addLayout(base_row)

        # Conditional models: the class the code is decoded as, and the two sweeps.
        self._class_row = QWidget(controls)
        self._class_row.setObjectName("classRow")
        cr = QHBoxLayout(self._class_row)
        cr.setContentsMargins(0, 0, 0, 0)
        cr.setSpacing(4)
        class_label = QLabel("class", self._class_row)
        self._class_combo = QComboBox(self._class_row)
        self._class_combo.setObjectName("classCombo")
        self._class_combo.setToolTip("The class label the generator is asked for; the code "
                                     "(the style) stays the same.")
        self._class_combo.currentIndexChanged.connect(self._on_class_changed)
        class_label.setBuddy(self._class_combo)
        self._class_sweep_button = QPushButton("Class sweep", self._class_row)
        self._class_sweep_button.setObjectName("classSweepButton")
        self._class_sweep_button.setToolTip("This code decoded as every class: what the code "
                                            "holds apart from the class (the style).")
        self._class_sweep_button.clicked.connect(lambda: self.sweep_requested.emit("class"))
        self._style_sweep_button = QPushButton("Style sweep", self._class_row)
        self._style_sweep_button.setObjectName("styleSweepButton")
        self._style_sweep_button.setToolTip("This class with several random codes: the "
                                            "styles the generator knows for it.")
        self._style_sweep_button.clicked.connect(lambda: self.sweep_requested.emit("style"))
        cr.addWidget(class_label)
        cr.addWidget(self._class_combo, 1)
        cr.addWidget(self._class_sweep_button)
        cr.addWidget(self._style_sweep_button)
        self._class_row.hide()
        cv.addWidget(self._class_row)

        head = QHBoxLayout()
        self._mode_label = QLabel(controls)
        self._mode_label.setObjectName("sliderModeLabel")
        self._mode_label.setWordWrap(True)
        mute_label(self._mode_label)
        self._reset_button = QPushButton("Reset", controls)
        self._reset_button.setObjectName("resetSlidersButton")
        self._reset_button.setToolTip("Put the sliders back to the base code.")
        self._reset_button.clicked.connect(self.reset_sliders)
        head.addWidget(self._mode_label, 1)
        head.addWidget(self._reset_button)
        cv.addLayout(head)

        self._slider_scroll = QScrollArea(controls)
        self._slider_scroll.setObjectName("sliderScroll")
        self._slider_scroll.setWidgetResizable(True)
        self._slider_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._slider_scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self._slider_host = QWidget(self._slider_scroll)
        self._slider_grid = QGridLayout(self._slider_host)
        self._slider_grid.setContentsMargins(6, 4, 6, 4)
        self._slider_grid.setHorizontalSpacing(6)
        self._slider_grid.setVerticalSpacing(2)
        self._slider_grid.setColumnStretch(1, 1)
        self._slider_scroll.setWidget(self._slider_host)
        cv.addWidget(self._slider_scroll, 1)

        interp = QGroupBox("Interpolation", controls)
        interp.setObjectName("interpolationBox")
        iv = QVBoxLayout(interp)
        iv.setSpacing(4)
        ab = QHBoxLayout()
        self._set_a_button = QPushButton("Set A = current", interp)
        self._set_a_button.setObjectName("setAButton")
        self._set_a_button.clicked.connect(lambda: self.set_end("A"))
        self._set_b_button = QPushButton("Set B = current", interp)
        self._set_b_button.setObjectName("setBButton")
        self._set_b_button.clicked.connect(lambda: self.set_end("B"))
        ab.addWidget(self._set_a_button)
        ab.addWidget(self._set_b_button)
        iv.addLayout(ab)
        # the ends from two real images: a model that encodes gives each its exact code
        self._data_ends = QWidget(interp)
        self._data_ends.setObjectName("dataEndsRow")
        de = QHBoxLayout(self._data_ends)
        de.setContentsMargins(0, 0, 0, 0)
        self._data_a_button = QPushButton("A = data image", self._data_ends)
        self._data_a_button.setObjectName("dataAButton")
        self._data_b_button = QPushButton("B = data image", self._data_ends)
        self._data_b_button.setObjectName("dataBButton")
        for which, b in (("A", self._data_a_button), ("B", self._data_b_button)):
            b.setToolTip(f"End {which} = the code of the image last picked in the data set "
                         "browser (double-click a thumbnail). With both ends from real images "
                         "the interpolation runs at once: a walk through the model's code space "
                         "from one to the other (a flow encodes exactly, so its ends are the "
                         "images themselves).")
            b.clicked.connect(lambda _=False, w=which: self.encode_end_requested.emit(w))
            de.addWidget(b)
        iv.addWidget(self._data_ends)
        go = QHBoxLayout()
        self._interp_mode = QComboBox(interp)
        self._interp_mode.setObjectName("interpModeCombo")
        self._interp_mode.addItems(["linear", "spherical"])
        self._interp_mode.setToolTip("linear: straight line from A to B. spherical: slerp, "
                                     "keeps the norm (better for Gaussian latents).")
        steps_label = QLabel("steps", interp)
        self._interp_steps = QSpinBox(interp)
        self._interp_steps.setObjectName("interpStepsBox")
        self._interp_steps.setRange(2, 64)
        self._interp_steps.setValue(8)
        self._interp_steps.setToolTip("Frames from A to B, both ends included.")
        steps_label.setBuddy(self._interp_steps)
        self._interp_button = QPushButton("Interpolate", interp)
        self._interp_button.setObjectName("interpolateButton")
        self._interp_button.clicked.connect(self._on_interpolate_clicked)
        go.addWidget(self._interp_mode)
        go.addWidget(steps_label)
        go.addWidget(self._interp_steps)
        go.addWidget(self._interp_button, 1)
        iv.addLayout(go)
        self._ends_label = QLabel(interp)
        self._ends_label.setObjectName("endsLabel")
        self._ends_label.setWordWrap(True)
        mute_label(self._ends_label)
        iv.addWidget(self._ends_label)
        self._strip_view, self._strip_vb, self._strip_item = image_view(
            "interpolationView", interp, background=interp.palette().color(QPalette.ColorRole.Mid))
        self._strip_view.setToolTip("Click a frame to continue exploring from its code.")
        self._strip_view.scene().sigMouseClicked.connect(self._on_strip_clicked)
        iv.addWidget(self._strip_view)
        cv.addWidget(interp)

        self._splitter.addWidget(controls)
        self._splitter.setStretchFactor(0, 1)
        self._splitter.setStretchFactor(1, 1)
        self._controls = controls
        self._slider_row_h = 22
        self._splitter_touched = False
        self._splitter.splitterMoved.connect(self._on_splitter_moved)
        self._strip_aspect = 0.0            # strip height / width, 0 when empty

        self._update_ends()
        self._update_enabled()
        self._pages.setCurrentIndex(0)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(340, 680)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_strip()
        self._layout_splitter()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit_strip()
        self._layout_splitter()

    def _on_splitter_moved(self, *_args) -> None:
        self._splitter_touched = True

    def _layout_splitter(self) -> None:
        """Until the user drags the splitter: the controls get what they need (up to eight
        slider rows), the decoded view the rest, at least 35% and at most square."""
        if self._splitter_touched:
            return
        total = self._splitter.height()
        if total <= 0:
            return
        scroll_hint = self._slider_scroll.sizeHint().height()
        want_sliders = min(len(self._sliders), 8) * self._slider_row_h + 12
        controls = self._controls.sizeHint().height() - scroll_hint + want_sliders
        view = max(int(0.35 * total), total - controls)
        view = min(view, max(self._views.width(), int(0.35 * total)), total - 150)
        view = max(view, self._views.minimumHeight())
        self._splitter.blockSignals(True)
        self._splitter.setSizes([view, max(0, total - view)])
        self._splitter.blockSignals(False)

    def _fit_strip(self) -> None:
        if self._strip_aspect <= 0:
            self._strip_view.setFixedHeight(48)
            return
        w = max(1, self._strip_view.width())
        self._strip_view.setFixedHeight(int(min(120, max(32, w * self._strip_aspect + 2))))
        self._strip_vb.autoRange(padding=0.0)

    # ---------------------------------------------------------------- the space
    def set_space(self, dim: int, basis: Optional[np.ndarray] = None,
                  scales: Optional[np.ndarray] = None,
                  labels: Optional[Sequence[str]] = None) -> None:
        """Build the sliders for a `dim`-dimensional latent space (0 -> the empty state).

        dim <= 16: one slider per dimension, its value is z_i (-3..3, steps of 0.01).
        dim > 16: one slider per row of `basis` ((k, dim), k <= 16 principal directions with
        per-direction std `scales`), z = base + sum_i s_i * scales_i * basis_i; without a
        basis the first 16 axes are offered as offsets from the base. `labels` name the
        sliders (e.g. "PC1 (12.3% var)"). The base code is all zeros; once control returns
        to the event loop, z_changed asks for its decode unless set_base came first."""
        dim = int(dim)
        self._dim = max(0, dim)
        self._z_a = self._z_b = None
        self._end_names = {"A": "", "B": ""}
        self._last_interp = None
        self._interp_images = None
        self._interp_shape = None
        self._strip_aspect = 0.0
        self._strip_item.clear()
        self._strip_view.show()
        self._path_item.setData([], [])
        self._image = None
        self._image_item.clear()
        self._point = None
        self._marker.setData([], [])
        if self._dim == 0:
            self._first_decode_due = False
            self._build_sliders([], [])
            self._basis = np.zeros((0, 0))
            self._scales = self._base = self._s = np.zeros(0)
            self._update_ends()
            self._update_enabled()
            return
        self._base = np.zeros(self._dim, np.float64)
        if self._dim <= MAX_SLIDERS:
            self._pca = False
            self._basis = np.eye(self._dim)
            self._scales = np.ones(self._dim)
            names = [labels[i] if labels and i < len(labels) else f"z{i + 1}"
                     for i in range(self._dim)]
            tips = [f"Latent dimension {i + 1}: the value of z[{i}]." for i in range(self._dim)]
            self._mode_label.setText(f"{self._dim} latent dimensions")
        else:
            self._pca = True
            if basis is not None:
                b = np.asarray(basis, np.float64)
                if b.ndim != 2 or b.shape[1] != self._dim:
                    raise ValueError(f"basis must be (k, {self._dim}), got shape {b.shape}")
                b = b[:MAX_SLIDERS]
                k = len(b)
                sc = (np.ones(k) if scales is None
                      else np.asarray(scales, np.float64).reshape(-1)[:k])
                if len(sc) != k:
                    raise ValueError(f"scales must have {k} entries, got {len(sc)}")
                names = [labels[i] if labels and i < len(labels) else f"PC{i + 1}"
                         for i in range(k)]
                tips = [f"Moves z along direction {i + 1} by (slider \u00d7 {sc[i]:.3g}); "
                        "0 is the base code." for i in range(k)]
                self._mode_label.setText(f"{k} principal directions of {self._dim} dims "
                                         "(std units)")
            else:
                k = MAX_SLIDERS
                b = np.eye(self._dim)[:k]
                sc = np.ones(k)
                names = [labels[i] if labels and i < len(labels) else f"z{i + 1}"
                         for i in range(k)]
                tips = [f"Offset added to z[{i}]; 0 is the base code." for i in range(k)]
                self._mode_label.setText(f"First {k} of {self._dim} dims (offsets)")
            self._basis, self._scales = b, sc
        self._s = np.zeros(len(names), np.float64)
        self._build_sliders(names, tips)
        self._update_ends()
        self._update_enabled()
        self._first_decode_due = True
        self._schedule_first_decode()

    def set_capabilities(self, caps: Iterable[str]) -> None:
        """Hide "Pick from data set" without "encode"; no "decode" -> the empty state."""
        self._caps = frozenset(caps)
        self._update_enabled()
        self._schedule_first_decode()

    def set_classes(self, names: Sequence[str]) -> None:
        """Class names of a conditional model (shown with the "conditional" capability)."""
        self._class_combo.blockSignals(True)
        self._class_combo.clear()
        self._class_combo.addItems([str(n) for n in names])
        self._class_combo.blockSignals(False)
        self._update_enabled()

    def seed(self) -> int:
        return int(self._seed.value())

    def current_label(self) -> Optional[int]:
        """The class picked for a conditional model, else None."""
        if not self._class_row.isVisibleTo(self) or self._class_combo.count() == 0:
            return None
        return int(self._class_combo.currentIndex())

    def set_label(self, label: int) -> None:
        if 0 <= label < self._class_combo.count():
            self._class_combo.setCurrentIndex(int(label))

    def show_sweep(self, images: np.ndarray, codes: np.ndarray, labels: np.ndarray) -> None:
        """A class or style sweep in the strip; clicking a frame continues from its code
        and class."""
        self.show_interpolation(images)
        self._sweep = (np.asarray(codes, np.float32).reshape(len(codes), -1),
                       np.asarray(labels, np.int64).reshape(-1))

    def _on_class_changed(self, index: int) -> None:
        if index >= 0 and self._dim:
            self.label_changed.emit(int(index))

    def clear(self) -> None:
        """Back to the empty state."""
        self.set_space(0)

    def dim(self) -> int:
        return self._dim

    def slider_count(self) -> int:
        return len(self._sliders)

    def sliders(self) -> list[QSlider]:
        return list(self._sliders)

    def slider_labels(self) -> list[str]:
        return [lab.text() for lab in self._name_labels]

    def is_pca_mode(self) -> bool:
        return self._pca

    # ---------------------------------------------------------------- the code
    def set_base(self, z: np.ndarray, emit: bool = True) -> None:
        """Start from code z (a random sample, an encoded image...). Axis mode: the sliders
        show z; direction mode: base = z and the sliders go back to 0. Emits z_changed
        (so the host decodes it) unless emit=False."""
        if self._dim == 0:
            return
        z = np.asarray(z, np.float64).reshape(-1)
        if z.shape != (self._dim,):
            raise ValueError(f"set_base: expected a code of {self._dim} values, got {z.shape}")
        self._base = z.copy()
        self._s = z.copy() if not self._pca else np.zeros(len(self._sliders))
        self._sync_sliders()
        if emit:
            self._emit_z()

    def base(self) -> np.ndarray:
        return self._base.astype(np.float32)

    def current_z(self) -> np.ndarray:
        """The code the sliders describe, float32 (dim,)."""
        if self._dim == 0:
            return np.zeros(0, np.float32)
        if not self._pca:
            return self._s.astype(np.float32)
        return (self._base + (self._s * self._scales) @ self._basis).astype(np.float32)

    def slider_values(self) -> np.ndarray:
        return self._s.copy()

    def set_slider_value(self, index: int, value: float) -> None:
        """Move slider `index` to `value` as a user would (emits z_changed)."""
        self._sliders[index].setValue(int(round(value * _TICKS)))

    def reset_sliders(self) -> None:
        """Back to the base code; emits one z_changed."""
        if self._dim == 0:
            return
        self._s = self._base.copy() if not self._pca else np.zeros(len(self._sliders))
        self._sync_sliders()
        self._emit_z()

    def refresh(self) -> None:
        """Ask for the decode of the current code again (the model changed)."""
        if self._dim and self._decodable():
            self._emit_z()

    def last_stamp(self) -> int:
        """Stamp of the newest z_changed emitted."""
        return self._stamp

    def shown_stamp(self) -> int:
        """Stamp of the result on display (-1: none yet)."""
        return self._shown_stamp

    # ---------------------------------------------------------------- results
    def show_decoded(self, stamp: int, image: np.ndarray) -> bool:
        """Show a decoded result unless it is older than the one on display. An image
        (float (C,H,W) in [0,1] or uint8 (H,W,C)) or, for point data, a (2,) point.
        Returns whether it was shown."""
        stamp = int(stamp)
        if stamp < self._shown_stamp:
            return False
        a = np.asarray(image)
        if a.size == 2 and a.ndim <= 2:
            self._shown_stamp = stamp
            self._point = a.astype(np.float64).reshape(2)
            self._marker.setData([self._point[0]], [self._point[1]])
            self._views.setCurrentWidget(self._plot)
            return True
        img = to_display_uint8(a)
        self._shown_stamp = stamp
        new_shape = self._image is None or self._image.shape != img.shape
        self._image = img
        self._image_item.setImage(_for_image_item(img), levels=(0, 255), autoLevels=False)
        if new_shape:
            self._image_vb.autoRange(padding=0.0)
        self._views.setCurrentWidget(self._image_view)
        return True

    def set_reference_points(self, points: Optional[np.ndarray]) -> None:
        """Grey reference points (the data set) under the decoded point; point mode."""
        if points is None or len(points) == 0:
            self._ref_item.setData([], [])
            return
        p = np.asarray(points, np.float64).reshape(-1, 2)
        self._ref_item.setData(p[:, 0], p[:, 1])
        self._views.setCurrentWidget(self._plot)

    def show_interpolation(self, images: np.ndarray) -> None:
        """Show interpolation frames in a row: (N, C, H, W) float in [0, 1], (N, H, W, C)
        uint8, or (N, 2) points (drawn as a path on the point plot)."""
        a = np.asarray(images)
        if a.ndim == 2 and a.shape[1] == 2:
            self._interp_images = None
            self._interp_shape = None
            self._strip_item.clear()
            self._path_item.setData(a[:, 0].astype(np.float64), a[:, 1].astype(np.float64))
            self._strip_view.hide()
            self._views.setCurrentWidget(self._plot)
            return
        if a.ndim != 4:
            raise ValueError(f"show_interpolation expects (N,C,H,W), (N,H,W,C) or (N,2), "
                             f"got shape {a.shape}")
        frames = np.stack([to_display_uint8(f) for f in a]) if len(a) else None
        self._interp_images = frames
        if frames is None:
            self._strip_item.clear()
            return
        strip = tile_row(frames)
        n, h, w, _ = frames.shape
        rows = max(1, math.ceil(n / 12))
        self._interp_shape = (rows, math.ceil(n / rows), h, w)
        self._strip_view.show()
        self._strip_item.setImage(_for_image_item(strip), levels=(0, 255), autoLevels=False)
        self._strip_aspect = strip.shape[0] / strip.shape[1]
        self._fit_strip()

    def current_image(self) -> Optional[np.ndarray]:
        """What the view shows as uint8: the decoded image (H, W, C), or for point data a
        rendering of the plot (H, W, 3); None when nothing is shown."""
        if self._views.currentWidget() is self._plot:
            if self._point is None:
                return None
            return _qimage_to_rgb(self._plot.grab().toImage())
        return None if self._image is None else self._image.copy()

    def interpolation_images(self) -> Optional[np.ndarray]:
        """The interpolation frames shown, uint8 (N, H, W, C), or None."""
        return None if self._interp_images is None else self._interp_images.copy()

    # ---------------------------------------------------------------- interpolation ends
    def set_end(self, which: str, z: Optional[np.ndarray] = None, name: str = "") -> None:
        """Set end "A" or "B" of the interpolation (default: the current code); `name` says
        where it came from ("data image #12") in the ends' label."""
        if self._dim == 0:
            return
        v = self.current_z() if z is None else np.asarray(z, np.float32).reshape(-1).copy()
        if v.shape != (self._dim,):
            raise ValueError(f"set_end: expected a code of {self._dim} values, got {v.shape}")
        if which.upper() == "A":
            self._z_a = v
        elif which.upper() == "B":
            self._z_b = v
        else:
            raise ValueError(f"set_end: which must be 'A' or 'B', got {which!r}")
        self._end_names[which.upper()] = name
        self._update_ends()

    def end_names(self) -> tuple[str, str]:
        """Where ends A and B came from ("" for a code set from the sliders)."""
        return self._end_names["A"], self._end_names["B"]

    def interpolate(self) -> None:
        """Interpolate between the ends, as the Interpolate button does (nothing without both)."""
        self._on_interpolate_clicked()

    def ends(self) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        return self._z_a, self._z_b

    def interpolation_settings(self) -> tuple[str, int]:
        return self._interp_mode.currentText(), self._interp_steps.value()

    # ---------------------------------------------------------------- internals
    def _build_sliders(self, names: Sequence[str], tips: Sequence[str]) -> None:
        for w in self._sliders + self._value_labels + self._name_labels:
            self._slider_grid.removeWidget(w)
            w.hide()
            w.setParent(None)          # gone from the widget tree now, freed later
            w.deleteLater()
        self._sliders, self._value_labels, self._name_labels = [], [], []
        fm = self.fontMetrics()
        value_width = fm.horizontalAdvance("\u2212888.88") + 4
        lo, hi = int(-SLIDER_RANGE * _TICKS), int(SLIDER_RANGE * _TICKS)
        for i, (name, tip) in enumerate(zip(names, tips)):
            lab = QLabel(name, self._slider_host)
            lab.setToolTip(tip)
            sl = QSlider(Qt.Orientation.Horizontal, self._slider_host)
            sl.setObjectName(f"latentSlider{i}")
            sl.setRange(lo, hi)
            sl.setSingleStep(1)
            sl.setPageStep(25)
            sl.setToolTip(tip + " Double-click a value to reset.")
            sl.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            sl.installEventFilter(self._wheel_guard)
            sl.valueChanged.connect(lambda pos, i=i: self._on_slider_moved(i, pos))
            val = QLabel("+0.00", self._slider_host)
            val.setFixedWidth(value_width)
            val.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._slider_grid.addWidget(lab, i, 0)
            self._slider_grid.addWidget(sl, i, 1)
            self._slider_grid.addWidget(val, i, 2)
            self._sliders.append(sl)
            self._value_labels.append(val)
            self._name_labels.append(lab)
        self._slider_grid.setRowStretch(self._slider_grid.rowCount(), 0)
        self._slider_grid.setRowStretch(len(names), 1)      # rows stay compact at the top
        row_h = 22
        if self._sliders:
            row_h = (max(self._sliders[0].sizeHint().height(), fm.height())
                     + self._slider_grid.verticalSpacing())
        self._slider_row_h = row_h
        self._slider_scroll.setMinimumHeight(min(len(names), 3) * row_h + 10)
        self._layout_splitter()

    def _sync_sliders(self) -> None:
        self._updating = True
        try:
            for i, sl in enumerate(self._sliders):
                v = float(self._s[i])
                pos = int(round(v * _TICKS))
                if pos < sl.minimum() or pos > sl.maximum():      # a code beyond +-3: widen
                    reach = int(math.ceil(abs(v))) * _TICKS
                    sl.setRange(-reach, reach)
                sl.setValue(pos)
                self._value_labels[i].setText(f"{v:+.2f}")
        finally:
            self._updating = False

    def _on_slider_moved(self, i: int, pos: int) -> None:
        if self._updating:
            return
        self._s[i] = pos / _TICKS
        self._value_labels[i].setText(f"{self._s[i]:+.2f}")
        self._emit_z()

    def _decodable(self) -> bool:
        return self._caps is None or "decode" in self._caps

    def _schedule_first_decode(self) -> None:
        if self._first_decode_due and self._dim and self._decodable():
            self._first_decode_timer.start()

    def _first_decode(self) -> None:
        if self._first_decode_due and self._dim and self._decodable():
            self._emit_z()

    def _emit_z(self) -> None:
        self._first_decode_due = False
        self._stamp += 1
        self.z_changed.emit(self.current_z(), self._stamp)

    def _on_seed_changed(self, seed: int) -> None:
        if not self._updating and self._dim:
            self.random_requested.emit(int(seed))

    def _on_random_clicked(self) -> None:
        seed = (self._seed.value() + 1) % (self._seed.maximum() + 1)
        self._updating = True
        try:
            self._seed.setValue(seed)
        finally:
            self._updating = False
        self.random_requested.emit(int(seed))

    def _on_interpolate_clicked(self) -> None:
        if self._z_a is None or self._z_b is None:
            return
        mode, steps = self.interpolation_settings()
        self._last_interp = (self._z_a.copy(), self._z_b.copy(), mode, steps)
        self._sweep = None
        self.interpolate_requested.emit(self._z_a.copy(), self._z_b.copy(), mode, int(steps))

    def _on_strip_clicked(self, event: Any) -> None:
        """Clicking a frame of the strip continues from that frame's code."""
        if (self._last_interp is None and self._sweep is None) or self._interp_shape is None:
            return
        p = self._strip_vb.mapSceneToView(event.scenePos())
        rows, cols, h, w = self._interp_shape
        col, row = int(p.x() // (w + _PAD)), int(p.y() // (h + _PAD))
        k = row * cols + col
        if self._sweep is not None:
            codes, labels = self._sweep
            if 0 <= col < cols and 0 <= row < rows and 0 <= k < len(codes) and p.x() >= 0 and p.y() >= 0:
                self._class_combo.blockSignals(True)
                self.set_label(int(labels[k]))
                self._class_combo.blockSignals(False)
                self.set_base(codes[k])
            return
        assert self._last_interp is not None
        za, zb, mode, steps = self._last_interp
        if 0 <= col < cols and 0 <= row < rows and 0 <= k < steps and p.x() >= 0 and p.y() >= 0:
            self.set_base(interpolate(za, zb, steps, mode)[k])

    def _update_ends(self) -> None:
        def state(z: Optional[np.ndarray], name: str) -> str:
            if z is None:
                return "\u2014"
            return f"{name or 'set'} (|z| = {float(np.linalg.norm(z)):.2f})"
        self._ends_label.setText(f"A: {state(self._z_a, self._end_names['A'])}    "
                                 f"B: {state(self._z_b, self._end_names['B'])}")
        self._interp_button.setEnabled(self._z_a is not None and self._z_b is not None)

    def _update_enabled(self) -> None:
        decodable = self._decodable()
        self._pages.setCurrentIndex(1 if (self._dim > 0 and decodable) else 0)
        self._encode_button.setVisible(self._caps is None or "encode" in self._caps)
        self._data_ends.setVisible(self._caps is None or "encode" in self._caps)
        self._class_row.setVisible(self._caps is not None and "conditional" in self._caps
                                   and self._class_combo.count() > 0)
        self._reset_button.setEnabled(bool(self._sliders))


def _qimage_to_rgb(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, :w * 3].reshape(h, w, 3).copy()


# ---------------------------------------------------------------------------- preview
def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_decoder, preview_app, preview_parser, show_or_grab

    ap = preview_parser("Preview LatentExplorerPanel with a fake decoder.", "360x700")
    ap.add_argument("--dim", type=int, default=8, help="latent size (> 16: PCA sliders)")
    ap.add_argument("--points", action="store_true", help="point data instead of images")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = LatentExplorerPanel()
    dim = args.dim
    decode = fake_decoder(dim)
    rng = np.random.default_rng(1)
    mix = rng.normal(size=(2, dim))

    def decode_any(z):
        if args.points:
            return np.tanh(np.asarray(z, np.float64) @ mix.T * 0.8).astype(np.float32) * 2
        return decode(z)

    panel.z_changed.connect(lambda z, stamp: panel.show_decoded(stamp, decode_any(z)))
    panel.random_requested.connect(
        lambda seed: panel.set_base(np.random.default_rng(seed).normal(size=dim)))
    panel.encode_requested.connect(lambda: panel.set_base(rng.normal(size=dim) * 0.5))
    panel.interpolate_requested.connect(lambda a, b, mode, steps: panel.show_interpolation(
        np.stack([decode_any(z) for z in interpolate(a, b, steps, mode)])))
    if not args.empty:
        if dim > MAX_SLIDERS:
            k = 10
            q, _ = np.linalg.qr(rng.normal(size=(dim, k)))
            var = np.sort(rng.uniform(0.2, 3.0, size=k))[::-1]
            labels = [f"PC{i + 1} ({100 * v / var.sum() * 0.8:.1f}% var)" for i, v in enumerate(var)]
            panel.set_space(dim, basis=q.T, scales=np.sqrt(var), labels=labels)
        else:
            panel.set_space(dim)
        panel.set_capabilities({"encode", "decode"})
        if args.points:
            t = rng.uniform(0, 2 * np.pi, 600)
            panel.set_reference_points(np.stack([np.cos(t), np.sin(t)], 1) * 1.5
                                       + rng.normal(scale=0.08, size=(600, 2)))
        panel.set_base(np.random.default_rng(7).normal(size=dim))
        panel.set_end("A")
        panel.set_base(np.random.default_rng(8).normal(size=dim))
        panel.set_end("B")
        panel._on_interpolate_clicked()
        panel.set_slider_value(0, 1.25)
    return show_or_grab(app, panel, args.size, args.grab, settle=1)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
