"""The scrubber's display (a mixin of DiffusionScrubberPanel): the image grids (x_t,
predicted x0 and noise, and the truth beside them in forward mode) or the points plot,
the selected sample, and the height the display shares with the schedule plot."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (QGraphicsRectItem, QGridLayout, QLabel, QSizePolicy, QStackedWidget,
                               QVBoxLayout, QWidget)

from ..kit import arrow_segments, hint_label, image_view
from ..sample_gallery import GridGeometry, make_grid
from .trajectory import GRID_KEYS, NOISE_KEYS, _grid_channels, _typical_spacing, noise_to_display


SCHED_MIN, SCHED_MAX = 96, 220   # schedule plot height: what the grids leave, in this range
READY_TEXT = ("Press Run to generate samples step by step, or choose "
              "\u201cForward (noise real images)\u201d to watch data being noised")
GRID_TITLES = {"xt": "x_t", "x0": "predicted x0", "eps": "predicted noise",
               "x0_true": "true x0", "eps_true": "true noise"}
GRID_TIPS = {"x0": "The model's guess of the clean image, from x_t alone",
             "eps": "The model's guess of the noise in x_t: eps_theta(x_t, t)",
             "x0_true": "The real image that was noised: the answer the model never sees",
             "eps_true": "The noise that was actually added: the answer the model never sees"}
LAYOUTS = {"row": {"xt": (0, 0), "x0": (0, 1), "eps": (0, 2)},
           "square": {"xt": (0, 0), "x0": (0, 1), "eps": (1, 0)},
           "truth": {"xt": (0, 0), "x0": (0, 1), "x0_true": (0, 2), "eps": (1, 1), "eps_true": (1, 2)},
           "truth_row": {"xt": (0, 0), "x0": (0, 1), "x0_true": (0, 2), "eps": (0, 3),
                         "eps_true": (0, 4)}}
NOISE_NOTE = "shown as 0.5 + 0.25\u00b7\u03b5, clipped (grey = 0)"
TRUTH_NOTE = ("The model sees only x_t and t. Middle: its guesses. Right: the truth, "
              "which it never sees.")
MAX_TRAILS = 300              # particle paths drawn in points mode
XT_COLOUR = (230, 110, 20)    # x_t samples (as the sample gallery's samples)
X0_COLOUR = (60, 140, 220)    # predicted x0
SELECT_COLOUR = (255, 190, 0)
TRUE_COLOUR = (40, 170, 90)   # true x0 (points mode)


def _grid_view(name: str) -> tuple[pg.GraphicsView, pg.ViewBox, pg.ImageItem, QGraphicsRectItem]:
    """kit.image_view for one grid, with the selection rectangle on top (hidden)."""
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


class DisplayMixin:
    """What a step shows: three (or five) image grids, or the points with their paths, x0
    guesses and noise field; the selected sample; the grids' layout and the height they
    share with the schedule plot."""

    # -- construction ----------------------------------------------------------------------------

    def _build_display(self, pv: QVBoxLayout) -> None:
        """The display: the ready hint, the image grids, the points plot."""
        self._display = QStackedWidget()
        self._display.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._ready = hint_label(READY_TEXT, "scrubberReadyHint")
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
            view, vb, item, rect = _grid_view(f"{key}View")
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

    # -- public API ------------------------------------------------------------------------------

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

    # -- look ------------------------------------------------------------------------------------

    def _palette_display(self, bg: QColor, fg: QColor, muted: QColor, hint: str) -> None:
        """Grid backgrounds, the noise-field pen, the ready hint and the noise note."""
        for view in self._grid_views.values():
            view.setBackground(bg)
        field = QColor(fg)
        field.setAlphaF(0.45)
        self._field_item.setPen(pg.mkPen(field, width=1))
        self._ready.setStyleSheet(f"color: {hint};")
        self._noise_note.setStyleSheet(f"color: {muted.name()}; font-size: 8pt;")

    # -- display ---------------------------------------------------------------------------------

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
        segs = arrow_segments(self._field_xy, vec, self._field_scale, 1.0)
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

    # -- mouse -----------------------------------------------------------------------------------

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

