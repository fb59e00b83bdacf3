"""Drawing your own 2D data set on the point canvas (a mixin of PointCanvasPanel): the
draw tools, spraying and dropping blobs with the mouse, and what "Train on drawing" emits."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QButtonGroup, QDoubleSpinBox, QGridLayout, QLabel, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from ..kit import checked_button_css
from .geometry import ring_polylines


DRAW_TIP = ("Draw your own 2D distribution: drag to spray points, or choose the Mode tool "
            "and click to drop a Gaussian blob. Then press \u201cTrain on drawing\u201d.")
DRAW_SEED = 20240605          # drag k of a session uses default_rng(DRAW_SEED + k)
MAX_DRAWN = 20000             # points a drawing may hold
MIN_DRAWN = 10                # points needed before "Train on drawing"
DRAWN_COLOUR = (235, 120, 20)


class DrawingMixin:
    """Draw mode: spray points with a brush or drop Gaussian blobs (recorded as modes),
    then "Train on drawing" emits the drawn distribution."""

    # -- construction ----------------------------------------------------------------------------

    def _build_draw_tools(self, sv: QVBoxLayout) -> None:
        """The Draw toggle and the draw tools (spray / mode, brush, Clear, Train), into
        the side column."""
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

    # -- public API ------------------------------------------------------------------------------

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

    # -- look ------------------------------------------------------------------------------------

    def _palette_drawing(self, pal: QPalette, muted: QColor) -> None:
        """The drawn-points count and the checked look of Draw and the tool buttons."""
        self._count_label.setStyleSheet(f"color: {muted.name()};")
        css = checked_button_css(pal)
        for b in (self._draw_button, self._spray_tool, self._mode_tool):
            b.setStyleSheet(css)

    # -- mouse on the canvas ---------------------------------------------------------------------

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

    # -- drawing ---------------------------------------------------------------------------------

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

