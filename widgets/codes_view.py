"""Codes view: the standard figures of an autoencoder or VAE.

- Test images placed by their code (the first two latent dimensions, or the first two
  principal directions of the codes above two), one colour per class; hovering a dot shows
  its image, clicking it emits `code_clicked(z)` (the latent explorer can take it from
  there).
- The first test images beside their reconstructions: each input above its reconstruction.

The panel takes plain numpy (`set_codes(CodesView(...))`, or `CodesView.from_mapping` of
studio.core.renders.codes's result) and asks for a new render with `refresh_requested`. It never
imports torch, engines or studio.

Preview: ``python -m widgets.codes_view [--grab OUT.png] [--size WxH] [--dark] [--empty]``.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSplitter, QStackedWidget,
    QVBoxLayout, QWidget,
)

from .kit import PaletteAware, hint_label
from .thumbnails import to_qimage

__all__ = ["CodesViewPanel", "CodesView", "CLASS_COLOURS", "EMPTY_TEXT"]

EMPTY_TEXT = ("Train or open an autoencoder or VAE on images to see its codes: every test "
              "image placed by its code and coloured by class, and inputs beside their "
              "reconstructions.")
SCATTER_TIP = ("Each dot is a test image placed at its code (the encoder's output; for a VAE "
               "the mean of q(z|x)). With more than two latent dimensions the axes are the "
               "codes' two principal directions. Images of one class close together mean "
               "the code keeps what tells the classes apart. Hover a dot to see its image; "
               "click it to explore its code in the latent explorer.")
PAIRS_TIP = ("Test images (upper row of each pair) and what the model makes of them after "
             "encoding and decoding (lower row). Blur and lost strokes are what the code "
             "could not keep.")
# tab10 (Matplotlib's default category colours), then tab20's lighter halves
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                 "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
HOVER_PX = 10                   # a dot is hovered within this many pixels
THUMB_SIDE = 84                 # hover thumbnail, px (28 x 3)
MAX_LEGEND = 20                 # classes named under the plot
PAIR_COLUMNS = 8


@dataclass
class CodesView:
    """What the panel shows (numpy only).

    xy (N, 2): each test image's position; labels (N,) ints or None; thumbs (N, C, H, W)
    uint8 (or float in [0, 1]): the images, for hovering; z (N, D) or None: what
    code_clicked sends for each dot; axes: the two axis titles; class_names: names by label
    (missing ones are shown as the number); inputs and reconstructions (K, C, H, W) float in
    [0, 1] (or uint8); index (N,): each image's number in the test split (for the hover
    caption); step and latent_dim: for the title.
    """
    xy: np.ndarray
    thumbs: np.ndarray
    labels: Optional[np.ndarray] = None
    z: Optional[np.ndarray] = None
    axes: tuple[str, str] = ("z1", "z2")
    class_names: Sequence[str] = field(default_factory=list)
    inputs: Optional[np.ndarray] = None
    reconstructions: Optional[np.ndarray] = None
    index: Optional[np.ndarray] = None
    step: int = 0
    latent_dim: int = 2

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> "CodesView":
        """From a render result: the known keys, the others ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _uint8(images: np.ndarray) -> np.ndarray:
    a = np.asarray(images)
    if a.dtype == np.uint8:
        return a
    return (np.clip(np.nan_to_num(a.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class _PairsView(QWidget):
    """Inputs above their reconstructions, PAIR_COLUMNS pairs per row, tiles scaled by the
    same factor (nearest neighbour, never below the image's size) and labelled on the left."""

    LABELS = ("input", "reconstruction")

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("reconstructionPairs")
        self.setToolTip(PAIRS_TIP)
        self._inputs: list = []
        self._recons: list = []
        self._h = self._w = 1
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pairs(self, inputs: Optional[np.ndarray], recons: Optional[np.ndarray]) -> None:
        if inputs is None or recons is None:
            self._inputs, self._recons = [], []
        else:
            a, b = _uint8(inputs), _uint8(recons)
            k = min(len(a), len(b))
            self._inputs = [to_qimage(x) for x in a[:k]]
            self._recons = [to_qimage(x) for x in b[:k]]
            self._h, self._w = a.shape[-2], a.shape[-1]
        self.updateGeometry()
        self.update()

    def count(self) -> int:
        return len(self._inputs)

    def row_labels(self) -> tuple[str, str]:
        return self.LABELS

    def _grid(self) -> tuple[int, int, float, float, float]:
        """(columns, pair rows, tile scale, left of the tiles, gap): the column count that
        gives the largest tiles in the room there is (up to PAIR_COLUMNS)."""
        left = self.fontMetrics().horizontalAdvance(self.LABELS[1]) + 10
        gap = 3.0
        best = (1, max(1, self.count()), 0.0)
        for cols in range(1, max(1, min(PAIR_COLUMNS, self.count())) + 1):
            rows = max(1, math.ceil(self.count() / cols))
            sx = (self.width() - left - gap * cols) / (cols * self._w)
            sy = (self.height() - gap * (3 * rows)) / (2 * rows * self._h)
            if min(sx, sy) >= best[2]:
                best = (cols, rows, min(sx, sy))
        cols, rows, scale = best
        return cols, rows, max(1.0, math.floor(scale * 4) / 4), left, gap

    def tile_rect(self, i: int, which: int) -> QRectF:
        """Where pair i's input (which = 0) or reconstruction (1) is drawn."""
        cols, _, s, left, gap = self._grid()
        r, c = divmod(i, cols)
        w, h = self._w * s, self._h * s
        y = r * (2 * h + 3 * gap) + which * (h + gap)
        return QRectF(left + c * (w + gap), y, w, h)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        rows = max(1, math.ceil(self.count() / PAIR_COLUMNS))
        return QSize(160, int(rows * (2 * self._h + 9)))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        rows = max(1, math.ceil(self.count() / PAIR_COLUMNS))
        return QSize(480, int(rows * (4 * self._h + 9)))

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        if not self._inputs:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        muted = self.palette().color(QPalette.ColorRole.WindowText)
        muted.setAlphaF(0.65)
        p.setPen(muted)
        cols, rows, *_ = self._grid()
        for i, (a, b) in enumerate(zip(self._inputs, self._recons)):
            for which, img in ((0, a), (1, b)):
                rect = self.tile_rect(i, which)
                p.drawImage(rect, img)
                if i % cols == 0:
                    label = QRectF(0, rect.top(), rect.left() - 6, rect.height())
                    p.drawText(label, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                               self.LABELS[which])
        p.end()


class CodesViewPanel(PaletteAware, QWidget):
    """Test codes in 2D by class, with thumbnails on hover, and reconstructions.

    Signals:
        refresh_requested(): encode the test images again (the model changed).
        code_clicked(object): a dot was clicked: its z (float32 (D,)), when the view has z.
    """

    refresh_requested = Signal()
    code_clicked = Signal(object)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._view: Optional[CodesView] = None
        self._xy = np.zeros((0, 2))
        self._hovered: Optional[int] = None
        self._items: dict[int, pg.ScatterPlotItem] = {}
        self._build()
        self.apply_palette()
        self._show_hint(EMPTY_TEXT)

    # -- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages)
        self._hint = hint_label("", "codesEmptyState")
        self._pages.addWidget(self._hint)

        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        head = QHBoxLayout()
        self._title = QLabel()
        self._title.setObjectName("codesTitle")
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._refresh = QPushButton("Refresh")
        self._refresh.setObjectName("codesRefreshButton")
        self._refresh.setToolTip("Encode the test images again with the model as it is now")
        self._refresh.clicked.connect(self.refresh_requested)
        head.addWidget(self._title, 1)
        head.addWidget(self._refresh)
        v.addLayout(head)

        self._split = QSplitter(Qt.Orientation.Vertical)
        self._split.setChildrenCollapsible(False)
        v.addWidget(self._split, 1)
        scatter = QWidget()
        sv = QVBoxLayout(scatter)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.setSpacing(2)
        self._plot = pg.PlotWidget()
        self._plot.setObjectName("codesPlot")
        self._plot.setMenuEnabled(False)
        self._plot.hideButtons()
        self._plot.setFrameShape(QFrame.Shape.NoFrame)
        self._plot.setMinimumSize(200, 160)
        self._plot.setToolTip(SCATTER_TIP)
        pi = self._plot.getPlotItem()
        pi.showGrid(x=True, y=True, alpha=0.15)
        self._ring = pg.ScatterPlotItem(size=13, brush=None)
        self._ring.setZValue(10)
        pi.addItem(self._ring)
        self._plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self._plot.viewport().installEventFilter(self)
        sv.addWidget(self._plot, 1)
        self._legend = QLabel()
        self._legend.setObjectName("codesLegend")
        self._legend.setWordWrap(True)
        self._legend.setTextFormat(Qt.TextFormat.RichText)
        sv.addWidget(self._legend)
        self._split.addWidget(scatter)

        pairs = QWidget()
        pv = QVBoxLayout(pairs)
        pv.setContentsMargins(0, 4, 0, 0)
        pv.setSpacing(2)
        caption = QLabel("Inputs and their reconstructions")
        font = caption.font()
        font.setBold(True)
        caption.setFont(font)
        caption.setToolTip(PAIRS_TIP)
        pv.addWidget(caption)
        self._pairs = _PairsView()
        pv.addWidget(self._pairs, 1)
        self._split.addWidget(pairs)
        self._split.setStretchFactor(0, 3)
        self._split.setStretchFactor(1, 1)
        self._pages.addWidget(page)

        # the hover thumbnail: a frame over the plot with the image and a caption
        self._tip = QFrame(self._plot.viewport())
        self._tip.setObjectName("codesThumbnail")
        self._tip.setFrameShape(QFrame.Shape.StyledPanel)
        self._tip.setAutoFillBackground(True)
        self._tip.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        tv = QVBoxLayout(self._tip)
        tv.setContentsMargins(4, 4, 4, 4)
        tv.setSpacing(2)
        self._tip_image = QLabel()
        self._tip_caption = QLabel()
        tv.addWidget(self._tip_image, 0, Qt.AlignmentFlag.AlignHCenter)
        tv.addWidget(self._tip_caption, 0, Qt.AlignmentFlag.AlignHCenter)
        self._tip.hide()

    # -- public API ------------------------------------------------------------------------------

    def set_codes(self, view: CodesView) -> None:
        """Show a new set of codes (see CodesView)."""
        xy = np.asarray(view.xy, np.float64).reshape(-1, 2)
        n = len(xy)
        if len(view.thumbs) != n or (view.labels is not None and len(view.labels) != n):
            raise ValueError(f"CodesView: xy, thumbs and labels must have one row per image "
                             f"({n}, {len(view.thumbs)}, "
                             f"{'-' if view.labels is None else len(view.labels)})")
        self._view = view
        self._xy = xy
        self._set_hovered(None)
        pi = self._plot.getPlotItem()
        for item in self._items.values():
            pi.removeItem(item)
        self._items = {}
        labels = np.full(n, -1) if view.labels is None else np.asarray(view.labels).astype(np.int64)
        for k in np.unique(labels):
            pts = xy[labels == k]
            item = pg.ScatterPlotItem(pos=pts, size=5, pen=None, brush=pg.mkBrush(self._class_colour(int(k), 0.75)))
            pi.addItem(item)
            self._items[int(k)] = item
        finite = xy[np.isfinite(xy).all(axis=1)]
        if len(finite):
            lo, hi = finite.min(0), finite.max(0)
            pad = np.maximum((hi - lo) * 0.05, 1e-3)
            pi.setRange(xRange=(lo[0] - pad[0], hi[0] + pad[0]),
                        yRange=(lo[1] - pad[1], hi[1] + pad[1]), padding=0)
        pi.setLabel("bottom", view.axes[0])
        pi.setLabel("left", view.axes[1])
        self._title.setText(f"Test codes \u00b7 step {int(view.step):,} \u00b7 {n:,} test images "
                            f"\u00b7 {int(view.latent_dim)}-d codes")
        self._legend.setText(self._legend_html(labels))
        self._legend.setVisible(bool(self._legend.text()))
        self._pairs.set_pairs(view.inputs, view.reconstructions)
        self._pages.setCurrentIndex(1)

    def clear(self) -> None:
        """Back to the empty state (a new run)."""
        self._show_hint(EMPTY_TEXT)

    def set_unavailable(self, reason: str) -> None:
        """Why this run has no codes to show (e.g. a GAN, or 2D points)."""
        self._show_hint(reason)

    def view(self) -> Optional[CodesView]:
        return self._view

    def hint_text(self) -> str:
        return self._hint.text() if self._pages.currentIndex() == 0 else ""

    def title_text(self) -> str:
        return self._title.text()

    def legend_text(self) -> str:
        return self._legend.text()

    def class_counts(self) -> dict[int, int]:
        """Dots drawn per label (-1: no labels)."""
        return {k: len(item.data) for k, item in self._items.items()}

    def hovered(self) -> Optional[int]:
        """Index of the dot under the mouse, or None."""
        return self._hovered

    def tip_text(self) -> str:
        return self._tip_caption.text()

    # -- internals -------------------------------------------------------------------------------

    def _show_hint(self, text: str) -> None:
        self._view = None
        self._xy = np.zeros((0, 2))
        pi = self._plot.getPlotItem()
        for item in self._items.values():
            pi.removeItem(item)
        self._items = {}
        self._set_hovered(None)
        self._pairs.set_pairs(None, None)
        self._hint.setText(text)
        self._pages.setCurrentIndex(0)

    def _class_colour(self, k: int, alpha: float = 1.0) -> QColor:
        if k < 0:
            c = QColor(self.palette().color(QPalette.ColorRole.WindowText))
        else:
            c = QColor(CLASS_COLOURS[k % len(CLASS_COLOURS)])
        c.setAlphaF(alpha)
        return c

    def _class_name(self, k: int) -> str:
        names = list(self._view.class_names) if self._view is not None else []
        return names[k] if 0 <= k < len(names) else str(k)

    def _legend_html(self, labels: np.ndarray) -> str:
        present = [int(k) for k in np.unique(labels) if k >= 0]
        if not present:
            return ""
        items = [f"<span style='color:{self._class_colour(k).name()}'>\u25cf</span>&nbsp;"
                 f"{html.escape(self._class_name(k))}" for k in present[:MAX_LEGEND]]
        more = f" \u2026 {len(present) - MAX_LEGEND} more" if len(present) > MAX_LEGEND else ""
        return "&nbsp;&nbsp; ".join(items) + more

    def _nearest(self, scene: QPointF) -> Optional[int]:
        vb = self._plot.getPlotItem().vb
        if self._view is None or not len(self._xy) or not vb.sceneBoundingRect().contains(scene):
            return None
        p = vb.mapSceneToView(scene)
        px, py = vb.viewPixelSize()
        d2 = ((self._xy[:, 0] - p.x()) / px) ** 2 + ((self._xy[:, 1] - p.y()) / py) ** 2
        d2 = np.nan_to_num(d2, nan=np.inf)
        i = int(np.argmin(d2))
        return i if d2[i] <= HOVER_PX ** 2 else None

    def _on_mouse_moved(self, scene: QPointF) -> None:
        self._set_hovered(self._nearest(scene), scene)

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._view is None:
            return
        i = self._nearest(event.scenePos())
        if i is not None and self._view.z is not None:
            self.code_clicked.emit(np.asarray(self._view.z[i], np.float32).copy())

    def _set_hovered(self, i: Optional[int], scene: Optional[QPointF] = None) -> None:
        self._hovered = i
        if i is None or self._view is None:
            self._ring.setData([], [])
            self._tip.hide()
            return
        v = self._view
        self._ring.setData([self._xy[i, 0]], [self._xy[i, 1]])
        img = _uint8(v.thumbs[i])
        side = max(img.shape[-1], img.shape[-2], 1)
        scale = max(1, THUMB_SIDE // side)
        self._tip_image.setPixmap(QPixmap.fromImage(to_qimage(img, scale)))
        parts = []
        if v.labels is not None:
            parts.append(f"class {html.escape(self._class_name(int(v.labels[i])))}")
        parts.append(f"test image #{int(v.index[i]) if v.index is not None else i}")
        self._tip_caption.setText(" \u00b7 ".join(parts))
        self._tip.adjustSize()
        if scene is not None:
            at = self._plot.mapFromScene(scene)
            vp = self._plot.viewport().rect()
            x = at.x() + 14 if at.x() + 14 + self._tip.width() <= vp.right() else at.x() - 14 - self._tip.width()
            y = min(max(0, at.y() + 14), max(0, vp.bottom() - self._tip.height()))
            self._tip.move(max(0, x), y)
        self._tip.show()
        self._tip.raise_()

    # -- look ------------------------------------------------------------------------------------

    def apply_palette(self) -> None:
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        fg = pal.color(QPalette.ColorRole.WindowText)
        muted = QColor(fg)
        muted.setAlphaF(0.6)
        self._plot.setBackground(base)
        pi = self._plot.getPlotItem()
        for name in ("left", "bottom"):
            ax = pi.getAxis(name)
            ax.setPen(pg.mkPen(muted))
            ax.setTextPen(pg.mkPen(fg))
        self._ring.setPen(pg.mkPen(fg, width=2))
        self._hint.setStyleSheet(f"color: {muted.name(QColor.NameFormat.HexArgb)}; font-size: 11pt;")
        self._tip.setPalette(pal)
        if self._view is not None:
            self.set_codes(self._view)


    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self._plot.viewport() and event.type() == QEvent.Type.Leave:
            self._set_hovered(None)
        return super().eventFilter(obj, event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        # side by side when there is room across, one above the other in a tall dock
        wide = self.width() > 1.3 * self.height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if orientation != self._split.orientation():
            self._split.setOrientation(orientation)
            total = self.width() if wide else self.height()
            self._split.setSizes([round(total * 0.64), round(total * 0.36)] if wide
                                 else [round(total * 0.72), round(total * 0.28)])

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(480, 640)


# --------------------------------------------------------------------------------------------
# preview

def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_codes_view, preview_app, preview_parser, show_or_grab

    ap = preview_parser("Preview CodesViewPanel with made-up codes.", "480x700")
    ap.add_argument("--empty", action="store_true", help="show the empty state")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = CodesViewPanel()
    panel.setWindowTitle("CodesViewPanel preview")
    panel.code_clicked.connect(lambda z: print("code_clicked", np.round(z[:4], 3), "..."))
    panel.refresh_requested.connect(lambda: print("refresh_requested"))
    if not args.empty:
        panel.set_codes(fake_codes_view())
    return show_or_grab(app, panel, args.size, args.grab)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
