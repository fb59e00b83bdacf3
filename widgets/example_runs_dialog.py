"""File > Open example run: the ready-trained runs shipped with the studio, each with a
thumbnail of its samples, a title and what it shows; opening one copies it into the runs
folder (the window does that), so it can train on without touching the shipped copy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QVBoxLayout, QWidget)

THUMB = 112


@dataclass(frozen=True)
class ExampleRunItem:
    name: str
    title: str
    description: str
    detail: str                      # e.g. "vae on mnist, 3,000 steps"
    thumbnail: Optional[str] = None  # a PNG path


class ExampleRunsDialog(QDialog):
    open_requested = Signal(str)     # the example's name

    def __init__(self, items: Sequence[ExampleRunItem], parent: Optional[QWidget] = None,
                 welcome: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("ExampleRunsDialog")
        self.setWindowTitle("Welcome: example runs" if welcome else "Open example run")
        root = QVBoxLayout(self)
        intro = QLabel(
            ("Welcome to Generative Studio. " if welcome else "")
            + "These runs were trained by the project's own configs (examples/). Opening one "
              "copies it into your runs folder: look at its curves, samples and latent space at "
              "once, or press Train to go on training it.", self)
        intro.setWordWrap(True)
        root.addWidget(intro)
        self.list = QListWidget(self)
        self.list.setObjectName("exampleRunsList")
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSpacing(4)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        for it in items:
            row = QListWidgetItem(f"{it.title}\n{it.detail}\n{it.description}")
            row.setData(Qt.ItemDataRole.UserRole, it.name)
            row.setToolTip(it.description)
            if it.thumbnail:
                pix = QPixmap(it.thumbnail)
                if not pix.isNull():
                    row.setIcon(QIcon(pix.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.FastTransformation)))
            self.list.addItem(row)
        if items:
            self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _: self._open())
        root.addWidget(self.list, 1)
        bottom = QHBoxLayout()
        self.dont_show = QCheckBox("Do not show at start", self) if welcome else None
        if self.dont_show is not None:
            self.dont_show.setChecked(True)
            bottom.addWidget(self.dont_show)
        buttons = QDialogButtonBox(self)
        self.open_button = buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self._open)
        buttons.rejected.connect(self.reject)
        self.open_button.setEnabled(bool(items))
        bottom.addWidget(buttons, 1)
        root.addLayout(bottom)
        self.resize(640, 560)

    def names(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def select(self, name: str) -> None:
        self.list.setCurrentRow(self.names().index(name))

    def _open(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole))
        self.accept()
