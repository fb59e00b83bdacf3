"""`TabbedViewPanel`: the frame of a panel of named views fed by renders (the flow view, the
translation view): an empty or "unavailable" message, the views (as tabs, or a page of their
own), a status line under them, `view()` / `set_view()` / `view_changed` / `tab_visible()`,
hint colours that follow the palette. `preview_main` runs such a panel's preview."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from .kit import PaletteAware, hint_label, with_alpha


class TabbedViewPanel(PaletteAware, QWidget):
    """Subclasses add their views with `_add_view` (a tab, or with no title a page of its
    own), may put a header above with `_root.insertWidget(0, ...)`, and end their __init__
    with `self.apply_palette()`. Every view has clear() and apply_palette().

    Signal: view_changed(str) (the name of the view now shown, "" for the message)."""

    view_changed = Signal(str)
    EMPTY_TEXT = ""
    SIZE_HINT = (620, 640)

    def __init__(self, prefix: str, tabs_name: str = "", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(type(self).__name__)
        self._views: dict[str, QWidget] = {}
        self._root = root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        self._pages = QStackedWidget(self)
        root.addWidget(self._pages, 1)
        self._empty = hint_label(self.EMPTY_TEXT, f"{prefix}EmptyState", margin=24)
        self._pages.addWidget(self._empty)
        self._tabs = QTabWidget()
        self._tabs.setObjectName(tabs_name or f"{prefix}Tabs")
        self._pages.addWidget(self._tabs)
        self._status = QLabel("")
        self._status.setObjectName(f"{prefix}Status")
        self._status.setWordWrap(True)
        root.addWidget(self._status)
        self._tabs.currentChanged.connect(lambda _i: self.view_changed.emit(self.view()))

    def _add_view(self, name: str, view: QWidget, title: Optional[str] = None) -> None:
        self._views[name] = view
        if title is None:
            self._pages.insertWidget(self._pages.indexOf(self._tabs), view)
        else:
            self._tabs.addTab(view, title)

    def _show(self, page: QWidget) -> None:
        """Show a page (the tabs, or a view of its own) and say which view is now shown."""
        self._pages.setCurrentWidget(page)
        self.view_changed.emit(self.view())

    # -- pages ----------------------------------------------------------------------------------
    def view(self) -> str:
        """The view on screen (its name), or "" (a message)."""
        page = self._pages.currentWidget()
        if page is self._tabs:
            page = self._tabs.currentWidget()
        return next((name for name, v in self._views.items() if v is page), "")

    def set_view(self, view: str) -> None:
        """Show a view: its page, or its tab (a hidden tab stays hidden)."""
        w = self._views[view]
        if self._tabs.indexOf(w) < 0:
            self._show(w)
        elif self.tab_visible(view):
            self._pages.setCurrentWidget(self._tabs)
            self._tabs.setCurrentWidget(w)

    def tab_visible(self, view: str) -> bool:
        return self._tabs.isTabVisible(self._tabs.indexOf(self._views[view]))

    def set_unavailable(self, text: str) -> None:
        self.clear()
        self._empty.setText(text)

    def clear(self) -> None:
        for v in self._views.values():
            v.clear()
        self._empty.setText(self.EMPTY_TEXT)
        self._pages.setCurrentWidget(self._empty)
        self._status.setText("")

    def message(self) -> str:
        return self._empty.text() if self._pages.currentWidget() is self._empty else ""

    def set_busy(self, text: str) -> None:
        self._status.setText(text)

    def status_text(self) -> str:
        return self._status.text()

    # -- look -----------------------------------------------------------------------------------
    def hint_colour(self) -> str:
        """The colour of hints (the message, the status) as a style sheet colour."""
        fg = self.palette().color(QPalette.ColorRole.WindowText)
        return with_alpha(fg, 0.55).name(QColor.NameFormat.HexArgb)

    def apply_palette(self) -> None:
        hint = self.hint_colour()
        self._empty.setStyleSheet(f"color: {hint}; font-size: 11pt;")
        self._status.setStyleSheet(f"color: {hint};")
        for v in self._views.values():
            v.apply_palette()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(*self.SIZE_HINT)


def preview_main(panel_type: type, argv: Optional[Sequence[str]], size: str, default: str,
                 signals: Sequence[str], fill: Callable[[Any, Any], None],
                 arguments: Callable[[Any], None] = lambda ap: None) -> int:
    """A panel's preview with fake data: --view (a view or "empty", default `default`) and
    the options `arguments` adds; prints the `signals` emitted; `fill(panel, args)` feeds
    it (nothing for "empty")."""
    from .preview import preview_app, preview_parser, show_or_grab

    name = panel_type.__name__
    ap = preview_parser(f"Preview {name} with fake data.", size)
    ap.add_argument("--view", choices=tuple(panel_type.VIEWS) + ("empty",), default=default)
    arguments(ap)
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = panel_type()
    panel.setWindowTitle(f"{name} preview")
    for s in signals:
        getattr(panel, s).connect(lambda payload, s=s: print(s, payload))
    if args.view != "empty":
        fill(panel, args)
    return show_or_grab(app, panel, args.size, args.grab)
