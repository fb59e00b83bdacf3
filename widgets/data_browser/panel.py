"""The data browser panel: `DataBrowserPanel` puts the sources and data-set mixins together
with the status line (busy, errors). `main` is its `python -m widgets.data_browser` preview."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from ..viewmodels import DatasetView, SourceInfo
from .dataset import DatasetMixin
from .sources import SourcesMixin, _FieldEditor


ERROR_COLOR = "#e0443e"
MAX_STATUS_LINES = 8            # of an error message; the rest is in its tooltip
MAX_TOOLTIP_LINES = 60


class DataBrowserPanel(SourcesMixin, DatasetMixin, QWidget):
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

    # -- UI --------------------------------------------------------------------------------------

    def _build_ui(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)

        self._build_sources(root)

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

        self._build_dataset_view(root)

    # -- status ----------------------------------------------------------------------------------

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


def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from ..preview import fake_sources, fake_view, preview_app, preview_parser, show_or_grab

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

