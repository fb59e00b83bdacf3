"""Sources of the data browser (a mixin of DataBrowserPanel): the source picker, the options
form generated from its FieldSpecs (forms.make_editor, floats as spin boxes, browse buttons
for paths), and the load requests of Load, Add folder, Open file and drag and drop."""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from ..forms import editor_value, make_editor, set_editor_value
from ..viewmodels import FieldSpec, SourceInfo
from .paths import DROP_HINT, request_for_paths
from .views import MUTED_STYLE


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


class SourcesMixin:
    """Which data set to load and how: the source picker, its options form (remembered per
    source), and the requests from Load, Add folder, Open file and drops."""

    # -- construction ----------------------------------------------------------------------------

    def _build_sources(self, root: QVBoxLayout) -> None:
        """The "Data source" box: source picker, description, generated options, Load,
        Add folder and Open file."""
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

    # -- sources and options ---------------------------------------------------------------------

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

    # -- actions ---------------------------------------------------------------------------------

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

    # -- drag and drop ---------------------------------------------------------------------------

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

