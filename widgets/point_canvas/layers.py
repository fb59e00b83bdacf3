"""Layers of the point canvas (a mixin of PointCanvasPanel): the canvas plot and its items,
the layer checkboxes, pushing a frame's data into the visible layers, the view's fit."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QCheckBox, QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ..kit import small_font, with_alpha
from .drawing import DRAWN_COLOUR
from .geometry import _bbox, arrow_segments, field_rect, grid_polylines, ring_polylines
from .items import _Dots, _ModeNumbers, _mix, _styled_plot, _swatch


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
# A model with a density (a normalizing flow: "field_kind" "density") has no critic and no
# generator in the GAN sense: what its layers mean, in its own words.
DENSITY_LAYER_TEXT = {"field": "Density"}
DENSITY_LAYER_TIP = {
    "fake": "Samples from the model (its Gaussian codes mapped through the inverse flow)",
    "field": "{label} over the plane, exact by the change of variables log p(x) = "
             "log N(f(x); 0, I) + log |det df/dx|: bright where the model puts its mass. "
             "Choose log p(x) below to see where it puts little (the thin bridges a flow "
             "leaves between separate modes)",
    "manifold": "The flow's inverse applied to a regular grid of latent codes: how it bends "
                "the Gaussian's plane onto the data",
}
# layers a density starts without, ticked to show: its samples (2,500 of them sit right on
# top of the mass the heatmap shows, and hide it) and its latent grid (a flow's covers the
# whole plane, folded across the gaps between the data's parts: a thicket over the density)
DENSITY_LAYERS_OFF = ("fake", "manifold")
DENSITY_DOT = (3.0, 0.55)     # dot size and opacity over a density (the heatmap shows between)
# the two scales of a density heatmap (DENSITY_SCALES[0] is the default)
DENSITY_SCALES = {"density": "p(x)", "log": "log p(x)"}
DENSITY_SCALE_TIP = ("p(x): the density itself, where the mass is. log p(x): its logarithm, "
                     "which shows the low-density regions too (the bridges between modes)")
LOG_DENSITY_RANGE = 12.0      # nats below the top of the log p(x) colour range it spans at most
DENSITY_COLOURS = ((236, 140, 30), (255, 170, 70))   # the density ramp's amber (light, dark)
DENSITY_TOP_COLOURS = ((150, 36, 24), (255, 236, 180))   # and its top: red-brown / pale gold
LAYER_MISSING = {
    "real": "no real data in this frame",
    "fake": "no generated points in this frame",
    "field": "this model has no discriminator, critic or density",
    "arrows": "this model has no discriminator, so no gradients push its samples",
    "manifold": "this model does not map a grid of latent codes (no manifold)",
    "modes": "this data set has no known mode centres",
}
ARROW_FRACTION = 0.06         # 95th-percentile arrow length, as a fraction of the data extent
FIT_PADDING = 0.08
DEFAULT_RANGE = (-2.0, 2.0)   # view when drawing with no data yet
# light-theme / dark-theme variants (GAN Lab: real green, generated purple)
REAL_COLOURS = ((24, 138, 66), (92, 214, 128))
FAKE_COLOURS = ((132, 56, 200), (164, 104, 236))


class LayersMixin:
    """The canvas and its layers: real and generated points, the discriminator's heatmap and
    colour bar, gradient arrows, the manifold and the mode centres; their checkboxes, which
    layers a frame has, pushing a frame's data into the visible ones, fitting the view."""

    # -- construction ----------------------------------------------------------------------------

    def _build_layer_checks(self, sv: QVBoxLayout) -> None:
        """A checkbox per layer and Fit view, into the side column."""
        self._checks: dict[str, QCheckBox] = {}
        for name in LAYERS:
            cb = QCheckBox(LAYER_TEXT[name])
            cb.setObjectName(f"{name}LayerCheck")
            cb.setChecked(True)
            cb.toggled.connect(lambda on, n=name: self._on_layer_toggled(n, on))
            self._checks[name] = cb
            sv.addWidget(cb)
            if name == "field":
                self._build_density_scale(sv)

    def _build_density_scale(self, sv: QVBoxLayout) -> None:
        """p(x) / log p(x), under the heatmap's checkbox; shown for a density only."""
        self._density_row = row = QFrame()
        row.setObjectName("densityScaleRow")
        lay = QHBoxLayout(row)
        lay.setContentsMargins(20, 0, 0, 2)           # under the checkbox's text
        lay.setSpacing(4)
        label = QLabel("scale")
        self._density_combo = QComboBox()
        self._density_combo.setObjectName("densityScaleCombo")
        for key, text in DENSITY_SCALES.items():
            self._density_combo.addItem(text, key)
        self._density_combo.setToolTip(DENSITY_SCALE_TIP)
        label.setToolTip(DENSITY_SCALE_TIP)
        label.setBuddy(self._density_combo)
        self._density_combo.currentIndexChanged.connect(self._on_density_scale_changed)
        lay.addWidget(label)
        lay.addWidget(self._density_combo, 1)
        row.setVisible(False)
        sv.addWidget(row)
        self._fit_button = QPushButton("Fit view")
        self._fit_button.setObjectName("fitViewButton")
        self._fit_button.setToolTip("Zoom to the data (the view otherwise fits once per data set)")
        self._fit_button.clicked.connect(self.fit_view)
        sv.addWidget(self._fit_button)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        sv.addWidget(line)

    def _build_canvas(self) -> None:
        """The canvas plot: an item per layer (and the drawing), the colour bar."""
        self._canvas = _styled_plot("pointCanvas")
        self._canvas.setMinimumSize(160, 140)
        self._canvas.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)   # smooth heatmap
        pi = self._canvas.getPlotItem()
        self._vb = pi.vb
        self._vb.setAspectLocked(True)
        self._vb.disableAutoRange()
        self._vb.setRange(xRange=DEFAULT_RANGE, yRange=DEFAULT_RANGE, padding=0)
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=small_font(self.font()), tickTextOffset=3)
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
        self._colorbar.axis.setStyle(tickFont=small_font(self.font()), tickTextOffset=2)
        pi.setContentsMargins(2, 8, 2, 2)            # room for the colour bar's top tick label
        self._canvas.viewport().installEventFilter(self)
        self._canvas.viewport().setMouseTracking(True)

    # -- public API ------------------------------------------------------------------------------

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

    def field_kind(self) -> str:
        """What the heatmap shows: "critic" or "density" (the frame on screen's)."""
        return self._field_kind

    def density_scale(self) -> str:
        """The density heatmap's scale: "density" (p(x)) or "log" (log p(x))."""
        return self._density_combo.currentData()

    def set_density_scale(self, scale: str) -> None:
        """Show a density as p(x) ("density") or log p(x) ("log"), as the combo box does."""
        if scale not in DENSITY_SCALES:
            raise ValueError(f"density scale must be one of {tuple(DENSITY_SCALES)}, got {scale!r}")
        self._density_combo.setCurrentIndex(list(DENSITY_SCALES).index(scale))

    def field_label(self) -> str:
        """The colour bar's label as shown."""
        return self._shown_field_label()

    def field_levels(self) -> tuple[float, float]:
        """The colour range of the heatmap on screen."""
        lo, hi = self._colorbar.levels()
        return float(lo), float(hi)

    def field_colour(self, value: float) -> QColor:
        """The heatmap colour of a field value at the current levels (for tests / legends)."""
        lo, hi = self._colorbar.levels()
        t = 0.5 if hi <= lo else float(np.clip((value - lo) / (hi - lo), 0, 1))
        return self._colorbar.colorMap().map(t, mode="qcolor")

    # -- look ------------------------------------------------------------------------------------

    def _palette_layers(self, fg: QColor, base: QColor, muted: QColor) -> None:
        """The colour bar, the layer items and the checkboxes' legend icons."""
        self._colorbar.axis.setPen(pg.mkPen(muted))
        self._colorbar.axis.setTextPen(pg.mkPen(fg))
        self._colorbar.axis.setLabel(self._shown_field_label(), color=fg.name())
        self._colorbar.setColorMap(self._field_colormap(base))
        if self._field_kind == "density":
            size, alpha = DENSITY_DOT
            self._real_item.setStyle(with_alpha(self._real_colour, alpha), size)
            self._fake_item.setStyle(with_alpha(self._fake_colour, alpha), size)
        else:
            self._real_item.setStyle(with_alpha(self._real_colour, 0.9), 5)
            self._fake_item.setStyle(with_alpha(self._fake_colour, 0.75), 5)
        self._manifold_item.setPen(pg.mkPen(with_alpha(self._fake_colour, 0.55), width=1))
        self._arrow_item.setPen(pg.mkPen(with_alpha(fg, 0.7), width=1))
        self._mode_rings.setPen(pg.mkPen(with_alpha(fg, 0.85), width=1.5))
        self._mode_marks.setPen(pg.mkPen(with_alpha(fg, 0.85), width=1.2))
        self._mode_numbers.setStyle(with_alpha(fg, 0.8), small_font(self.font()))
        field_lo, field_hi = self._field_ends(base)
        icons = {"real": _swatch("dots", self._real_colour),
                 "fake": _swatch("dots", self._fake_colour),
                 "field": _swatch("field", field_hi, field_lo),
                 "arrows": _swatch("arrow", fg), "manifold": _swatch("grid", self._fake_colour),
                 "modes": _swatch("ring", fg)}
        for name, cb in self._checks.items():
            cb.setIcon(icons[name])

    def _field_ends(self, base: QColor) -> tuple[QColor, QColor]:
        """The heatmap's (low, high) colours: purple and green tints of the plot background
        for a critic; the background and a warm amber for a density (no mass = nothing)."""
        if self._field_kind == "density":
            return QColor(base), _mix(base, QColor(*DENSITY_COLOURS[1 if self._dark else 0]), 0.8)
        t = 0.5 if self._dark else 0.42
        return (_mix(base, QColor(*FAKE_COLOURS[0 if not self._dark else 1]), t),
                _mix(base, QColor(*REAL_COLOURS[0 if not self._dark else 1]), t))

    def _field_colormap(self, base: QColor) -> pg.ColorMap:
        lo, hi = self._field_ends(base)
        if self._field_kind == "density":          # background -> pale amber -> amber -> red-brown
            top = QColor(*DENSITY_TOP_COLOURS[1 if self._dark else 0])
            stops = [lo, _mix(base, hi, 0.4), hi, _mix(base, top, 0.9)]
            return pg.ColorMap([0.0, 0.3, 0.65, 1.0], [c.getRgb()[:3] for c in stops])
        return pg.ColorMap([0.0, 0.5, 1.0], [lo.getRgb()[:3], base.getRgb()[:3], hi.getRgb()[:3]])

    # -- frames into layers ----------------------------------------------------------------------

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
            density = self._field_kind == "density"
            cb.setText((DENSITY_LAYER_TEXT if density else LAYER_TEXT).get(name, LAYER_TEXT[name]))
            tips = DENSITY_LAYER_TIP if density else LAYER_TIP
            tip = tips.get(name, LAYER_TIP[name]).format(
                label=self._field_label or "The discriminator's output")
            cb.setToolTip(tip if avail or self._frame is None
                          else f"Not available: {LAYER_MISSING[name]}")
        self._density_row.setVisible(self._field_kind == "density" and self._available["field"])
        self._density_combo.setEnabled(self._data.get("field_log") is not None)
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

    def _shown_field_label(self) -> str:
        if self._field_kind == "density" and self._log_density_shown():
            return self._frame.field_log_label or "log p(x)"
        return self._field_label or "discriminator output"

    def _log_density_shown(self) -> bool:
        return (self._field_kind == "density" and self.density_scale() == "log"
                and self._data.get("field_log") is not None)

    def _on_density_scale_changed(self, _index: int) -> None:
        self._field_levels = None                 # a new scale: its own colour range
        self._colorbar.axis.setLabel(self._shown_field_label())
        self._dirty.add("field")
        self._push_layers()

    def _density_levels(self, finite: np.ndarray, log: bool) -> tuple[float, float]:
        """p(x): 0 (no mass, the background) to its 99.5th percentile (a few sharp peaks do
        not wash out the rest); log p(x): the top down LOG_DENSITY_RANGE nats at most, so a
        far corner's -200 does not flatten the modes and the bridges between them."""
        if log:
            hi = float(finite.max())
            return max(float(np.percentile(finite, 1)), hi - LOG_DENSITY_RANGE), hi
        return 0.0, float(np.percentile(finite, 99.5))

    def _push_field(self) -> None:
        if self._data.get("field") is None:
            return
        fx, fy, v = self._data["field_log" if self._log_density_shown() else "field"]
        if len(fx) > 1 and fx[0] > fx[-1]:
            fx, v = fx[::-1], v[:, ::-1]
        if len(fy) > 1 and fy[0] > fy[-1]:
            fy, v = fy[::-1], v[::-1]
        finite = v[np.isfinite(v)]
        levels = self._frame.field_levels
        if levels is not None:
            lo, hi = float(levels[0]), float(levels[1])
        elif finite.size and self._field_kind == "density":
            lo, hi = self._density_levels(finite, self._log_density_shown())
            if self._field_levels is not None:            # widen at once, narrow slowly
                plo, phi = self._field_levels
                lo = lo if lo < plo else plo + 0.15 * (lo - plo)
                hi = hi if hi > phi else phi + 0.15 * (hi - phi)
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

