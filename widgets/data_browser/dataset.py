"""The loaded data set in the data browser (a mixin of DataBrowserPanel): summary, class
filter and counts bar, thumbnails (widgets.thumbnails) or a scatter of up to 20,000
points, skipped files, and picking an image for the latent explorer."""
from __future__ import annotations

import html
from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QMenu, QStackedWidget,
                               QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..thumbnails import ThumbnailModel
from ..viewmodels import DatasetView
from .views import CANVAS_BG, MUTED_STYLE, ClassCountsBar, ThumbnailView, class_color


MAX_SCATTER_POINTS = 20_000


class DatasetMixin:
    """The loaded data set: its summary, the class filter and counts, the virtualised
    thumbnail grid or the points scatter, skipped files, and picking an image."""

    # -- construction ----------------------------------------------------------------------------

    def _build_dataset_view(self, root: QVBoxLayout) -> None:
        """The loaded data set: summary, class filter and bars, the thumbnail grid or the
        scatter, and the list of skipped files."""
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

    # -- the data set ----------------------------------------------------------------------------

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
            parts.append(f"{n:,} {view.noun}")
            if view.shape_text:
                parts.append(view.shape_text)
            elif view.images is not None and view.images.ndim >= 3:
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

    # -- class filter ----------------------------------------------------------------------------

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

    # -- points ----------------------------------------------------------------------------------

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

    # -- picking ---------------------------------------------------------------------------------

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

