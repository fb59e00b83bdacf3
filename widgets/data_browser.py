"""Data set browser: pick a source, set its options, load; browse images or 2D points.

`DataBrowserPanel` knows nothing of the studio: it is filled with `SourceInfo`s and
`DatasetView`s (widgets/viewmodels.py) and says what the person wants through signals:

    load_requested(str, dict)   source name and its options ("folder", {"path": ..., ...})
    image_picked(int)           index into the full training array (double-click or menu)

Images are shown in a virtualised grid (`widgets.thumbnails.ThumbnailModel`): thumbnails
are built only for painted rows and cached, so 60,000 MNIST digits scroll smoothly and the
class filter only swaps an index array. Points are drawn with one pyqtgraph scatter
(a random subset of 20,000 when there are more).

Preview: `python -m widgets.data_browser [--points] [--grab OUT.png] [--size 800x600]`.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QAction, QColor, QDragEnterEvent, QDropEvent, QFont, QFontMetrics,
                           QKeyEvent, QMouseEvent, QPainter, QPaintEvent)
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QFormLayout, QFrame,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListView,
                               QMenu, QProgressBar, QPushButton, QSizePolicy, QStackedWidget,
                               QToolButton, QToolTip, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from .forms import editor_value, make_editor, set_editor_value
from .thumbnails import ThumbnailModel
from .viewmodels import DatasetView, FieldSpec, SourceInfo

MAX_SCATTER_POINTS = 20_000
DROP_HINT = "Drop a folder of images, an IDX file or a .npz file"
CANVAS_BG = "#202124"           # thumbnail grid and scatter background
ERROR_COLOR = "#e0443e"
MUTED_STYLE = "color: palette(placeholder-text);"
MAX_STATUS_LINES = 8            # of an error message; the rest is in its tooltip
MAX_TOOLTIP_LINES = 60

# tab10: readable on a dark canvas, and the usual colours for class labels
_TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def class_color(label: int, n_classes: int) -> QColor:
    if n_classes <= len(_TAB10):
        return QColor(_TAB10[label % len(_TAB10)])
    return pg.intColor(label, hues=max(n_classes, 1))


# ----------------------------------------------------------------------------------------
# Paths: what a dropped or opened file is
# ----------------------------------------------------------------------------------------
_IDX_RE = re.compile(r"(-ubyte|\.idx\d*|\.idx\d*-ubyte)$", re.IGNORECASE)


def is_idx_name(path: str | os.PathLike) -> bool:
    """True for MNIST-style IDX names: *-ubyte, *.idx, *.idx3-ubyte, and any *.gz."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        return True
    return bool(_IDX_RE.search(name))


def _swap_images_for_labels(name: str) -> Optional[str]:
    """train-images-idx3-ubyte -> train-labels-idx1-ubyte (None if no 'images' in name)."""
    if not re.search("images", name, re.IGNORECASE):
        return None
    out = re.sub("images", "labels", name, flags=re.IGNORECASE)
    out = re.sub(r"idx3", "idx1", out, flags=re.IGNORECASE)
    return out


def _existing_sibling(path: Path, name: str) -> Optional[str]:
    """`name` next to `path`, also tried with and without .gz; None if none exists."""
    candidates = [name]
    candidates.append(name[:-3] if name.lower().endswith(".gz") else name + ".gz")
    for cand in candidates:
        p = path.with_name(cand)
        if p != path and p.is_file():
            return str(p)
    return None


def idx_labels_sibling(images: str | os.PathLike) -> Optional[str]:
    """The MNIST-convention labels file next to an IDX images file, if it exists."""
    p = Path(images)
    name = _swap_images_for_labels(p.name)
    return None if name is None else _existing_sibling(p, name)


def idx_request(images: str, labels: Optional[str] = None) -> dict:
    """Options for the "idx" source from an images file (labels and test split found next
    to it with MNIST's naming: train-images-idx3-ubyte -> train-labels-idx1-ubyte, and
    t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte for the test split)."""
    opts: dict[str, Any] = {"images": str(images)}
    labels = labels or idx_labels_sibling(images)
    if labels:
        opts["labels"] = str(labels)
    p = Path(images)
    if p.name.lower().startswith("train-"):
        test_images = _existing_sibling(p, "t10k-" + p.name[len("train-"):])
        if test_images:
            test_labels = idx_labels_sibling(test_images)
            if test_labels or not labels:
                opts["test_images"] = test_images
                if test_labels and labels:
                    opts["test_labels"] = test_labels
    return opts


def request_for_paths(paths: Iterable[str | os.PathLike]) -> Optional[tuple[str, dict]]:
    """(source, options) for dropped/opened paths, or None if none is usable.

    A folder -> "folder"; a .npz -> "npz"; IDX files -> "idx" (when an images and a labels
    file are dropped together both are used, else the labels are looked up next to it).
    """
    paths = [Path(p) for p in paths if str(p)]
    for p in paths:
        if p.is_dir():
            return "folder", {"path": str(p)}
    for p in paths:
        if p.suffix.lower() == ".npz":
            return "npz", {"path": str(p)}
    idx = [p for p in paths if is_idx_name(p)]
    if idx:
        label_files = [p for p in idx if "labels" in p.name.lower()]
        image_files = [p for p in idx if p not in label_files]
        if not image_files:          # only a labels file: its images are the sibling
            return None
        images = next((p for p in image_files if "images" in p.name.lower()), image_files[0])
        return "idx", idx_request(str(images), str(label_files[0]) if label_files else None)
    return None


# ----------------------------------------------------------------------------------------
# Options form
# ----------------------------------------------------------------------------------------
def _humanize(name: str) -> str:
    s = name.replace("_", " ").strip()
    return s[:1].upper() + s[1:]


_PATH_NAMES = {"path", "images", "labels", "test_images", "test_labels", "file", "dir"}


def _wants_browse(field: FieldSpec) -> bool:
    if field.kind != "str" or field.choices:
        return False
    n = field.name.lower()
    return n in _PATH_NAMES or n.endswith(("_path", "_file", "_dir", "folder"))


class _FieldEditor:
    """One generated editor (forms.make_editor) and its field: reads and writes its typed
    value; a value the editor cannot take is ignored."""

    def __init__(self, field: FieldSpec, widget: QWidget, editor: QWidget):
        self.field, self.widget, self.editor = field, widget, editor

    def value(self) -> Any:
        return editor_value(self.field, self.editor)

    def set_value(self, value: Any) -> None:
        try:
            set_editor_value(self.field, self.editor, value, keep_unknown=False)
        except (TypeError, ValueError):
            pass


def _options_editor(field: FieldSpec, parent: QWidget) -> QWidget:
    """The editor of one source option (forms.make_editor, floats as spin boxes), showing the
    field's default; path fields get a "Path…" placeholder (the browse button is added by
    the panel)."""
    ed = make_editor(field, parent, float_spin=True)
    if type(ed) is QLineEdit:
        ed.setClearButtonEnabled(True)
        if _wants_browse(field):
            ed.setPlaceholderText("Path…")
    ed.setToolTip(field.help or "")
    ed.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    _FieldEditor(field, ed, ed).set_value(field.default)
    return ed


# ----------------------------------------------------------------------------------------
# Small pieces
# ----------------------------------------------------------------------------------------
class ClassCountsBar(QWidget):
    """A compact bar chart of per-class counts; click a bar to filter by that class."""

    class_clicked = Signal(int)     # class label, -1 = all

    def __init__(self, parent=None):
        super().__init__(parent)
        self._labels: list[int] = []
        self._names: list[str] = []
        self._counts: list[int] = []
        self._n_classes = 0
        self._selected = -1
        self.setMouseTracking(True)
        self.setMinimumHeight(36)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:
        return QSize(200, 44)

    def set_counts(self, labels: Sequence[int], names: Sequence[str],
                   counts: Sequence[int], n_classes: int) -> None:
        self._labels, self._names = list(labels), list(names)
        self._counts, self._n_classes = [int(c) for c in counts], int(n_classes)
        self._selected = -1
        self.update()

    def set_selected(self, label: int) -> None:
        self._selected = label
        self.update()

    def counts(self) -> dict[int, int]:
        return dict(zip(self._labels, self._counts))

    def _bar_rects(self) -> list[QRectF]:
        n = len(self._counts)
        if n == 0:
            return []
        w = self.width() / n
        return [QRectF(i * w, 0, w, self.height()) for i in range(n)]

    def _show_names(self) -> bool:
        if not self._names:
            return False
        fm = self.fontMetrics()
        widest = max(fm.horizontalAdvance(s) for s in self._names)
        return widest + 2 <= self.width() / max(len(self._names), 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._counts:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        fm = self.fontMetrics()
        names = self._show_names()
        text_h = fm.height() if names else 0
        top, bottom = 2, self.height() - text_h - 1
        avail = max(bottom - top, 1)
        biggest = max(max(self._counts), 1)
        text_color = self.palette().color(self.foregroundRole())
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.8))
        sfm = QFontMetrics(small)
        bar_w = self.width() / len(self._counts)
        counts_fit = (sfm.horizontalAdvance(str(max(self._counts))) + 4 <= bar_w
                      and avail * min(self._counts) / biggest >= sfm.height())
        for i, r in enumerate(self._bar_rects()):
            label, count = self._labels[i], self._counts[i]
            col = QColor(class_color(label, self._n_classes))
            if self._selected >= 0 and label != self._selected:
                col.setAlpha(70)
            h = max(1.0, avail * count / biggest)
            pad = min(3.0, r.width() * 0.15)
            bar = QRectF(r.left() + pad, bottom - h, max(r.width() - 2 * pad, 1), h)
            p.fillRect(bar, col)
            if counts_fit:
                p.setFont(small)
                if col.alpha() < 255:
                    p.setPen(text_color)
                else:
                    p.setPen(QColor("black") if col.lightnessF() > 0.6 else QColor("white"))
                p.drawText(bar, Qt.AlignmentFlag.AlignCenter, f"{count}")
                p.setFont(self.font())
            if names:
                p.setPen(text_color)
                p.drawText(QRectF(r.left(), bottom, r.width(), text_h),
                           Qt.AlignmentFlag.AlignCenter, self._names[i])
        p.end()

    def _bar_at(self, pos: QPoint) -> int:
        n = len(self._counts)
        if n == 0 or self.width() <= 0:
            return -1
        i = int(pos.x() * n / self.width())
        return i if 0 <= i < n else -1

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        i = self._bar_at(event.position().toPoint())
        if i >= 0:
            QToolTip.showText(event.globalPosition().toPoint(),
                              f"{self._names[i]}: {self._counts[i]:,}", self)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        i = self._bar_at(event.position().toPoint())
        if i >= 0 and event.button() == Qt.MouseButton.LeftButton:
            label = self._labels[i]
            self.class_clicked.emit(-1 if label == self._selected else label)
        super().mousePressEvent(event)


class ThumbnailView(QListView):
    """Icon-mode grid, tuned for a huge uniform model. Enter picks like a double-click."""

    pick_requested = Signal(object)   # QModelIndex

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(4000)
        self.setSpacing(0)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setAcceptDrops(False)          # drops go to the panel
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setStyleSheet(f"QListView {{ background: {CANVAS_BG}; }}")
        self.set_thumbnail_size(QSize(56, 56))

    def set_thumbnail_size(self, size: QSize) -> None:
        self.setIconSize(size)
        self.setGridSize(QSize(size.width() + 6, size.height() + 6))
        self.verticalScrollBar().setSingleStep(max(8, size.height() // 2))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.pick_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


# ----------------------------------------------------------------------------------------
# The panel
# ----------------------------------------------------------------------------------------
class DataBrowserPanel(QWidget):
    """Pick and load a data set; browse its images (virtualised grid) or 2D points."""

    load_requested = Signal(str, dict)     # source name, options
    image_picked = Signal(int)             # index into the full training array

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("DataBrowserPanel")
        self.setAcceptDrops(True)
        self.setMinimumWidth(260)

        self._sources: list[SourceInfo] = []
        self._values: dict[str, dict[str, Any]] = {}   # remembered options per source
        self._editors: dict[str, _FieldEditor] = {}
        self._view: Optional[DatasetView] = None
        self._class_counts: dict[int, int] = {}
        self._point_indices = np.zeros(0, dtype=np.int64)
        self._drawn_indices = np.zeros(0, dtype=np.int64)

        self._build_ui()
        self._show_empty()

    # -- UI ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)

        # source picker, description, generated options, actions
        box = QGroupBox("Data source", self)
        self.source_box = box
        bl = QVBoxLayout(box)
        bl.setContentsMargins(8, 6, 8, 8)
        bl.setSpacing(6)
        self.source_combo = QComboBox(box)
        self.source_combo.setObjectName("source_combo")
        self.source_combo.setToolTip("The data set to load")
        self.source_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(8)
        self.source_combo.currentIndexChanged.connect(self._on_source_combo_changed)
        bl.addWidget(self.source_combo)

        self.description_label = QLabel(box)
        self.description_label.setObjectName("description_label")
        self.description_label.setWordWrap(True)
        self.description_label.setStyleSheet(MUTED_STYLE)
        self.description_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        bl.addWidget(self.description_label)

        self.options_widget = QWidget(box)
        self.options_widget.setObjectName("options_form")
        self.options_form = QFormLayout(self.options_widget)
        self.options_form.setContentsMargins(0, 0, 0, 0)
        self.options_form.setHorizontalSpacing(8)
        self.options_form.setVerticalSpacing(4)
        self.options_form.setFieldGrowthPolicy(
            QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.options_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.options_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight
                                            | Qt.AlignmentFlag.AlignVCenter)
        bl.addWidget(self.options_widget)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.load_button = QPushButton("Load", box)
        self.load_button.setObjectName("load_button")
        self.load_button.setToolTip("Load the chosen data set with these options")
        self.load_button.setDefault(True)
        self.load_button.clicked.connect(self._on_load_clicked)
        self.add_folder_button = QPushButton("Add folder…", box)
        self.add_folder_button.setObjectName("add_folder_button")
        self.add_folder_button.setToolTip("Load a folder of images (subfolders become classes)")
        self.add_folder_button.clicked.connect(self._on_add_folder_clicked)
        self.open_file_button = QPushButton("Open file…", box)
        self.open_file_button.setObjectName("open_file_button")
        self.open_file_button.setToolTip("Load an MNIST-format IDX file or a NumPy .npz file")
        self.open_file_button.clicked.connect(self._on_open_file_clicked)
        for b in (self.load_button, self.add_folder_button, self.open_file_button):
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 18)
            buttons.addWidget(b)
        bl.addLayout(buttons)
        root.addWidget(box)

        # status: busy / errors / drop hints
        status_row = QHBoxLayout()
        status_row.setSpacing(6)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedSize(48, 10)
        self.busy_bar.hide()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("status_label")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)   # messages quote file contents
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.hide()
        status_row.addWidget(self.busy_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        status_row.addWidget(self.status_label, 1)
        root.addLayout(status_row)

        # the loaded data set
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("summary_label")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        root.addWidget(self.summary_label)

        filter_row = QHBoxLayout()
        filter_row.setSpacing(6)
        self.filter_label = QLabel("Show", self)
        self.class_combo = QComboBox(self)
        self.class_combo.setObjectName("class_combo")
        self.class_combo.setToolTip("Show only one class (the count of each is in brackets)")
        self.class_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_combo.setMinimumContentsLength(10)
        self.class_combo.currentIndexChanged.connect(self._on_class_combo_changed)
        self.filter_label.setBuddy(self.class_combo)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("count_label")
        self.count_label.setStyleSheet(MUTED_STYLE)
        filter_row.addWidget(self.filter_label)
        filter_row.addWidget(self.class_combo, 1)
        filter_row.addWidget(self.count_label)
        self.filter_row = QWidget(self)
        self.filter_row.setLayout(filter_row)
        filter_row.setContentsMargins(0, 0, 0, 0)
        root.addWidget(self.filter_row)

        self.class_bars = ClassCountsBar(self)
        self.class_bars.setObjectName("class_bars")
        self.class_bars.setToolTip("Images per class; click a bar to show only that class")
        self.class_bars.class_clicked.connect(self._on_class_bars_clicked)
        root.addWidget(self.class_bars)

        self.stack = QStackedWidget(self)
        self.stack.setMinimumHeight(120)
        self.placeholder = QLabel(
            "No data set loaded.\n\nPick a source and press Load,\nor drop a folder of "
            "images, an IDX file\nor a .npz file here.", self.stack)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet(
            MUTED_STYLE + " border: 1px dashed palette(mid); border-radius: 6px;")
        self.stack.addWidget(self.placeholder)

        self.thumb_model = ThumbnailModel(self)
        self.thumb_view = ThumbnailView(self.stack)
        self.thumb_view.setObjectName("thumbnail_view")
        self.thumb_view.setModel(self.thumb_model)
        self.thumb_view.doubleClicked.connect(self._on_thumb_view_double_clicked)
        self.thumb_view.pick_requested.connect(self._on_thumb_view_double_clicked)
        self.thumb_view.customContextMenuRequested.connect(self._on_thumb_view_context_menu)
        self.use_in_explorer_action = QAction("Use in latent explorer", self)
        self.use_in_explorer_action.triggered.connect(self._on_use_action_triggered)
        self.stack.addWidget(self.thumb_view)

        self.plot = pg.PlotWidget(self.stack, background=CANVAS_BG)
        self.plot.setObjectName("points_plot")
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setAcceptDrops(False)
        self.scatter = pg.ScatterPlotItem(size=3, pen=None, pxMode=True)
        self.plot.addItem(self.scatter)
        self.stack.addWidget(self.plot)
        root.addWidget(self.stack, 1)

        self.note_label = QLabel(self)
        self.note_label.setObjectName("note_label")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet(MUTED_STYLE)
        self.note_label.hide()
        root.addWidget(self.note_label)

        # files a folder scan skipped
        self.skipped_button = QToolButton(self)
        self.skipped_button.setObjectName("skipped_button")
        self.skipped_button.setCheckable(True)
        self.skipped_button.setChecked(False)
        self.skipped_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.skipped_button.setArrowType(Qt.ArrowType.RightArrow)
        self.skipped_button.setAutoRaise(True)
        self.skipped_button.setToolTip("Files the scan could not use, and why")
        self.skipped_button.toggled.connect(self._on_skipped_button_toggled)
        self.skipped_tree = QTreeWidget(self)
        self.skipped_tree.setObjectName("skipped_tree")
        self.skipped_tree.setHeaderLabels(["File", "Reason"])
        self.skipped_tree.setRootIsDecorated(False)
        self.skipped_tree.setUniformRowHeights(True)
        self.skipped_tree.setAlternatingRowColors(True)
        self.skipped_tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.skipped_tree.setMaximumHeight(120)
        self.skipped_tree.header().setStretchLastSection(True)
        self.skipped_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.skipped_button.hide()
        self.skipped_tree.hide()
        root.addWidget(self.skipped_button)
        root.addWidget(self.skipped_tree)

    # -- sources and options -----------------------------------------------------------
    def set_sources(self, sources: Sequence[SourceInfo]) -> None:
        """Fill the source picker; keeps the current choice when it is still offered."""
        current = self.current_source()
        if current:
            self._values[current] = self.options()
        self._sources = list(sources)
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        for s in self._sources:
            self.source_combo.addItem(s.name, s.name)
            self.source_combo.setItemData(self.source_combo.count() - 1, s.description,
                                          Qt.ItemDataRole.ToolTipRole)
        i = self.source_combo.findData(current) if current else -1
        self.source_combo.setCurrentIndex(i if i >= 0 else (0 if self._sources else -1))
        self.source_combo.blockSignals(False)
        self._rebuild_form()

    def sources(self) -> list[SourceInfo]:
        return list(self._sources)

    def source_info(self, name: Optional[str] = None) -> Optional[SourceInfo]:
        name = self.current_source() if name is None else name
        return next((s for s in self._sources if s.name == name), None)

    def current_source(self) -> str:
        data = self.source_combo.currentData()
        return "" if data is None else str(data)

    def set_current_source(self, name: str, values: Optional[dict] = None) -> bool:
        """Choose source `name` (if offered), optionally setting some of its options."""
        i = self.source_combo.findData(name)
        if i < 0:
            return False
        if values:
            self._values.setdefault(name, {}).update(values)
        if i != self.source_combo.currentIndex():
            self.source_combo.setCurrentIndex(i)     # rebuilds from remembered values
        elif values:
            for k, v in values.items():
                if k in self._editors:
                    self._editors[k].set_value(v)
        return True

    def options(self) -> dict[str, Any]:
        """The current form's values, typed by FieldSpec.kind (ints are ints, ...)."""
        return {name: ed.value() for name, ed in self._editors.items()}

    def source_options(self, name: str) -> dict[str, Any]:
        """Options of source `name`: the form if it is current, else remembered/defaults."""
        if name == self.current_source():
            return self.options()
        info = self.source_info(name)
        out = {} if info is None else {f.name: f.default for f in info.fields}
        out.update(self._values.get(name, {}))
        return out

    def _on_source_combo_changed(self, _index: int) -> None:
        self._rebuild_form()

    def _clear_form(self) -> None:
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self._editors.clear()

    def _rebuild_form(self) -> None:
        # remember what the previous form held before it goes
        prev = getattr(self, "_form_source", "")
        if prev and self._editors:
            self._values[prev] = self.options()
        self._clear_form()
        info = self.source_info()
        self._form_source = info.name if info else ""
        self.description_label.setText(info.description if info else "")
        self.description_label.setVisible(bool(info and info.description))
        self.load_button.setEnabled(info is not None)
        if info is None:
            self.options_widget.hide()
            return
        remembered = self._values.get(info.name, {})
        for f in info.fields:
            container = editor = _options_editor(f, self.options_widget)
            fe = _FieldEditor(f, container, editor)
            if f.name in remembered:
                fe.set_value(remembered[f.name])
            if _wants_browse(f):
                container = self._with_browse_button(f, editor, info)
            label = QLabel(_humanize(f.name), self.options_widget)
            label.setToolTip(f.help or "")
            label.setBuddy(editor)
            self.options_form.addRow(label, container)
            self._editors[f.name] = fe
        self.options_widget.setVisible(bool(info.fields))

    def _with_browse_button(self, field: FieldSpec, editor: QLineEdit,
                            info: SourceInfo) -> QWidget:
        w = QWidget(self.options_widget)
        lay = QHBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        editor.setParent(w)
        lay.addWidget(editor, 1)
        btn = QToolButton(w)
        btn.setText("…")
        btn.setObjectName(f"browse_{field.name}")
        folder = (info.name == "folder" or "folder" in (field.help or "").lower()
                  or field.name.lower().endswith("dir"))
        btn.setToolTip("Choose a folder" if folder else "Choose a file")

        def browse() -> None:
            p = self._ask_directory() if folder else self._ask_file()
            if p:
                editor.setText(p)
        btn.clicked.connect(browse)
        lay.addWidget(btn)
        return w

    # -- actions -------------------------------------------------------------------------
    def _ask_directory(self) -> str:
        """Ask for a folder of images ("" when cancelled). Tests monkeypatch this."""
        return QFileDialog.getExistingDirectory(self, "Folder of images")

    def _ask_file(self) -> str:
        """Ask for an IDX or .npz file ("" when cancelled). Tests monkeypatch this."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an IDX or .npz file", "",
            "Data files (*.npz *-ubyte *.idx *.idx*-ubyte *.gz);;"
            "NumPy arrays (*.npz);;"
            "IDX files (*-ubyte *.idx *.idx*-ubyte *.gz);;"
            "All files (*)")
        return path

    def _on_load_clicked(self) -> None:
        name = self.current_source()
        if name:
            self.load_requested.emit(name, self.options())

    def _on_add_folder_clicked(self) -> None:
        d = self._ask_directory()
        if d:
            self.request_paths([d])

    def _on_open_file_clicked(self) -> None:
        p = self._ask_file()
        if p:
            self.request_paths([p])

    def request_paths(self, paths: Sequence[str | os.PathLike]) -> bool:
        """Load dropped/opened paths: emits load_requested, or shows the drop hint."""
        req = request_for_paths(paths)
        if req is None:
            self._set_status(f"{DROP_HINT}.", error=True)
            return False
        name, opts = req
        if name == "folder":          # keep the folder form's other options
            opts = {**self.source_options("folder"), **opts}
        elif name in ("npz", "idx"):
            opts = {**{k: v for k, v in self.source_options(name).items()
                       if k not in ("path", "images", "labels", "test_images",
                                    "test_labels")}, **opts}
        # show what is being loaded in the form, then ask for it
        self.set_current_source(name, opts)
        self.load_requested.emit(name, opts)
        return True

    # -- drag and drop -------------------------------------------------------------------
    @staticmethod
    def _local_paths(event) -> list[str]:
        md = event.mimeData()
        if md is None or not md.hasUrls():
            return []
        return [u.toLocalFile() for u in md.urls() if u.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        paths = self._local_paths(event)
        if paths and request_for_paths(paths) is not None:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            self._set_status(f"{DROP_HINT}.", error=True)
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._local_paths(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._local_paths(event)
        if self.request_paths(paths):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    # -- status --------------------------------------------------------------------------
    def _set_status(self, text: str, *, error: bool = False, busy: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip("")
        self.status_label.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")
        self.status_label.setVisible(bool(text))
        self.busy_bar.setVisible(busy)

    def set_busy(self, message: str) -> None:
        """Show that a data set is loading (cleared by show_dataset or set_error)."""
        self._set_status(message or "Loading…", busy=True)

    def set_error(self, message: str, skipped: Sequence[tuple[str, str]] = ()) -> None:
        """Show an error in red (e.g. a loader's message that names the bad option). Long
        messages (a failed scan lists its files) show their first lines, the rest on hover;
        `skipped` (path, reason) entries of a failed scan go to the skipped-files list."""
        message = str(message).strip() or "Loading failed, and no reason was given."
        lines = message.splitlines()
        shown = lines[:MAX_STATUS_LINES]
        more = len(lines) - len(shown)
        if more:
            shown.append(f"… {more:,} more line{'s' if more != 1 else ''} (hover to see them)")
        self._set_status("\n".join(shown), error=True)
        if more:
            self.status_label.setToolTip("\n".join(lines[:MAX_TOOLTIP_LINES]))
        if skipped:
            self._show_skipped(skipped)

    def clear_status(self) -> None:
        self._set_status("")

    def status_text(self) -> str:
        return "" if self.status_label.isHidden() else self.status_label.text()

    def is_busy(self) -> bool:
        return not self.busy_bar.isHidden()

    # -- the data set --------------------------------------------------------------------
    def current_view(self) -> Optional[DatasetView]:
        return self._view

    def show_dataset(self, view: DatasetView) -> None:
        """Show a loaded data set: summary, class filter and counts, grid or scatter."""
        self._view = view
        self.clear_status()
        labels = None if view.labels is None else np.asarray(view.labels).reshape(-1)
        n = view.count
        if labels is not None and len(labels) != n:
            labels = None
        self._labels = labels

        # summary
        self.summary_label.setText(self._summary_html(view, labels))
        self.summary_label.setToolTip(view.description or "")

        # class counts and filter
        self._class_counts = {}
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        if labels is not None and n:
            uniq, counts = np.unique(labels, return_counts=True)
            self._class_counts = {int(u): int(c) for u, c in zip(uniq, counts)}
            self.class_combo.addItem(f"All classes ({n})", -1)
            for u, c in self._class_counts.items():
                self.class_combo.addItem(f"{self._class_name(u)} ({c})", u)
            n_classes = max(len(view.class_names), int(uniq.max()) + 1 if len(uniq) else 0)
            self.class_bars.set_counts(list(self._class_counts),
                                       [self._class_name(u) for u in self._class_counts],
                                       list(self._class_counts.values()), n_classes)
            self._n_classes = n_classes
        else:
            self._n_classes = 0
            self.class_bars.set_counts([], [], [], 0)
        self.class_combo.setCurrentIndex(0)
        self.class_combo.blockSignals(False)
        has_classes = bool(self._class_counts)
        self.filter_row.setVisible(has_classes)
        self.class_bars.setVisible(has_classes and len(self._class_counts) > 1)

        # contents
        self.note_label.hide()
        if view.kind == "points" and view.points is not None:
            self.thumb_model.set_images(None)
            self._point_indices = np.arange(len(view.points), dtype=np.int64)
            self._draw_points()
            self.stack.setCurrentWidget(self.plot)
        elif view.images is not None and n:
            self.scatter.clear()
            self._drawn_indices = np.zeros(0, dtype=np.int64)
            images = view.images
            self.thumb_model.set_images(images, labels, tuple(view.class_names))
            self.thumb_view.set_thumbnail_size(self.thumb_model.thumbnail_size())
            self.thumb_view.scrollToTop()
            self.stack.setCurrentWidget(self.thumb_view)
        else:
            self.thumb_model.set_images(None)
            self.scatter.clear()
            self.placeholder.setText(f"“{view.name}” holds no samples.")
            self.stack.setCurrentWidget(self.placeholder)
            self.set_error(f"“{view.name}” holds no samples: there is nothing to train on.")
        self._update_count_label()

        # skipped files
        self._show_skipped(view.skipped)

    def _class_name(self, label: int) -> str:
        names = self._view.class_names if self._view is not None else ()
        if 0 <= label < len(names):
            return str(names[label])
        return str(label)

    def _summary_html(self, view: DatasetView, labels: Optional[np.ndarray]) -> str:
        n = view.count
        parts = []
        if view.kind == "points" or (view.images is None and view.points is not None):
            parts += [f"{n:,} points", "2D points"]
        else:
            parts.append(f"{n:,} images")
            if view.images is not None and view.images.ndim >= 3:
                shape = view.images.shape[1:]
                if len(shape) == 2:
                    shape = (1, *shape)
                parts.append("×".join(str(s) for s in shape))
        if labels is not None:
            k = len(np.unique(labels)) if n else 0
            parts.append(f"{max(k, len(view.class_names))} classes")
        else:
            parts.append("no labels")
        parts.append(f"{view.test_count:,} test")
        self._summary_plain = " · ".join([view.name, *parts])
        return (f"<b>{html.escape(view.name)}</b> &nbsp;·&nbsp; "
                + " &nbsp;·&nbsp; ".join(html.escape(p).replace(" ", "&nbsp;") for p in parts))

    def summary_text(self) -> str:
        """The summary line as plain text ("mnist · 60,000 images · 1×28×28 · ...")."""
        return self._summary_plain if self._view is not None else ""

    def _show_empty(self) -> None:
        self.summary_label.setText("")
        self.summary_label.hide()
        self.filter_row.hide()
        self.class_bars.hide()
        self.stack.setCurrentWidget(self.placeholder)
        self._show_skipped(())
        self._labels = None
        self._n_classes = 0

    def _show_skipped(self, skipped: Sequence[tuple[str, str]]) -> None:
        self.summary_label.setVisible(self._view is not None)
        self.skipped_tree.clear()
        items = []
        for entry in skipped:
            path, reason = (list(entry) + ["", ""])[:2]
            it = QTreeWidgetItem([str(path), str(reason)])
            it.setToolTip(0, str(path))
            it.setToolTip(1, str(reason))
            items.append(it)
        self.skipped_tree.addTopLevelItems(items)
        n = len(items)
        self.skipped_button.setText(f"{n} file{'s' if n != 1 else ''} skipped")
        self.skipped_button.setVisible(n > 0)
        self.skipped_tree.setVisible(n > 0 and self.skipped_button.isChecked())
        if n:
            self.skipped_tree.setColumnWidth(0, max(120, int(self.width() * 0.55)))

    def _on_skipped_button_toggled(self, checked: bool) -> None:
        self.skipped_button.setArrowType(Qt.ArrowType.DownArrow if checked
                                         else Qt.ArrowType.RightArrow)
        self.skipped_tree.setVisible(checked and self.skipped_tree.topLevelItemCount() > 0)

    def skipped_entries(self) -> list[tuple[str, str]]:
        t = self.skipped_tree
        return [(t.topLevelItem(i).text(0), t.topLevelItem(i).text(1))
                for i in range(t.topLevelItemCount())]

    # -- class filter --------------------------------------------------------------------
    def class_counts(self) -> dict[int, int]:
        """Per-class counts of the shown data set ({} without labels)."""
        return dict(self._class_counts)

    def current_class(self) -> int:
        """The class the filter shows (-1 = all)."""
        data = self.class_combo.currentData()
        return -1 if data is None else int(data)

    def set_class_filter(self, label: int) -> None:
        i = self.class_combo.findData(int(label))
        if i >= 0:
            self.class_combo.setCurrentIndex(i)

    def _on_class_bars_clicked(self, label: int) -> None:
        self.set_class_filter(label)

    def _on_class_combo_changed(self, _index: int) -> None:
        if self._view is None:
            return
        label = self.current_class()
        self.class_bars.set_selected(label)
        idx = None
        if label >= 0 and self._labels is not None:
            idx = np.flatnonzero(self._labels == label)
        if self.stack.currentWidget() is self.plot and self._view.points is not None:
            self._point_indices = (np.arange(len(self._view.points), dtype=np.int64)
                                   if idx is None else idx)
            self._draw_points()
        else:
            self.thumb_model.set_indices(idx)
            self.thumb_view.scrollToTop()
        self._update_count_label()

    def selected_indices(self) -> np.ndarray:
        """Indices into the full training array that the class filter currently shows."""
        if self._view is None:
            return np.zeros(0, dtype=np.int64)
        if self.stack.currentWidget() is self.plot:
            return self._point_indices.copy()
        return np.array(self.thumb_model.indices())

    def visible_count(self) -> int:
        """How many samples the class filter currently shows."""
        if self._view is None:
            return 0
        if self.stack.currentWidget() is self.plot:
            return len(self._point_indices)
        return self.thumb_model.rowCount()

    def _update_count_label(self) -> None:
        if self._view is None:
            self.count_label.setText("")
            return
        n = self.visible_count()
        kind = "points" if self.stack.currentWidget() is self.plot else "images"
        self.count_label.setText(f"{n:,} {kind}")

    # -- points --------------------------------------------------------------------------
    def drawn_indices(self) -> np.ndarray:
        """Indices of the points the scatter draws (a subset when there are > 20k)."""
        return self._drawn_indices.copy()

    def _draw_points(self) -> None:
        view = self._view
        pts = np.asarray(view.points, dtype=np.float32).reshape(-1, 2)
        idx = self._point_indices
        total = len(idx)
        if total > MAX_SCATTER_POINTS:
            rng = np.random.default_rng(0)
            idx = np.sort(rng.choice(idx, MAX_SCATTER_POINTS, replace=False))
            self.note_label.setText(
                f"Showing a random {MAX_SCATTER_POINTS:,} of {total:,} points.")
            self.note_label.show()
        else:
            self.note_label.hide()
        self._drawn_indices = idx
        xy = pts[idx]
        finite = np.isfinite(xy).all(axis=1)
        if not finite.all():
            xy, idx = xy[finite], idx[finite]
        if self._labels is not None and self._n_classes:
            brushes = [pg.mkBrush(class_color(c, self._n_classes)) for c in range(self._n_classes)]
            labs = self._labels[idx]
            brush = [brushes[int(c)] if 0 <= c < len(brushes) else brushes[0] for c in labs]
        else:
            brush = pg.mkBrush("#8ab4f8")
        self.scatter.setData(pos=xy, brush=brush, pen=None, size=3)
        if len(xy):
            self.plot.getPlotItem().enableAutoRange()
            self.plot.getPlotItem().autoRange(padding=0.05)

    # -- picking -------------------------------------------------------------------------
    def _pick(self, index) -> None:
        if index is not None and index.isValid():
            self.image_picked.emit(self.thumb_model.source_index(index.row()))

    def _on_thumb_view_double_clicked(self, index) -> None:
        self._pick(index)

    def _on_thumb_view_context_menu(self, pos: QPoint) -> None:
        index = self.thumb_view.indexAt(pos)
        if not index.isValid():
            return
        self.thumb_view.setCurrentIndex(index)
        self._menu_index = index
        menu = QMenu(self)
        menu.addAction(self.use_in_explorer_action)
        menu.exec(self.thumb_view.viewport().mapToGlobal(pos))

    def _on_use_action_triggered(self) -> None:
        index = getattr(self, "_menu_index", None)
        if index is None or not index.isValid():
            index = self.thumb_view.currentIndex()
        self._pick(index)
        self._menu_index = None


def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_sources, fake_view, preview_app, preview_parser, show_or_grab

    ap = preview_parser("Preview the data browser with fake data.", "800x600")
    ap.add_argument("--points", action="store_true", help="show a 2D point data set")
    ap.add_argument("--error", help="show this error message in the status line")
    ap.add_argument("--expand-skipped", action="store_true", help="open the skipped list")
    args = ap.parse_args(argv)

    app = preview_app(args.dark)
    panel = DataBrowserPanel()
    w, h = (int(v) for v in args.size.lower().split("x"))
    panel.resize(w, h)
    panel.set_sources(fake_sources())
    panel.set_current_source("ring8" if args.points else "mnist")

    def fake_load(name: str, options: dict) -> None:
        print("load_requested", name, options)
        panel.set_busy(f"Loading {name}…")
        kind = "points" if name in ("ring8",) else "images"
        QTimer.singleShot(300, lambda: panel.show_dataset(fake_view(kind)))

    panel.load_requested.connect(fake_load)
    panel.image_picked.connect(lambda i: print("image_picked", i))
    panel.show_dataset(fake_view("points" if args.points else "images"))
    if args.expand_skipped:
        panel.skipped_button.setChecked(True)
    if args.error:
        panel.set_error(args.error)
    panel.setWindowTitle("Data browser (fake data)")
    return show_or_grab(app, panel, args.size, args.grab, settle=100)   # batched layout


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
