"""The one form builder from `FieldSpec`s: `make_editor` builds the editor of a field and
`editor_value` / `set_editor_value` read and write its typed value; `FieldForm` is a form of
one labelled editor per hyperparameter built with them.

Shared by the panels that edit config sections (run, model, optim; run_controls uses
FieldForm) and the data browser's source options (its own rows, with browse buttons, built
with make_editor). Nothing here knows engines: it gets plain `FieldSpec`s and hands back
plain Python values.

Editors: int -> QSpinBox, float -> QLineEdit with a scientific-notation validator (so a
learning rate can be typed as 0.0002 or 2e-4) or, with float_spin, a QDoubleSpinBox, str
with choices -> QComboBox, str -> QLineEdit, bool -> QCheckBox. In a FieldForm each label
and editor carries the field's help, its range and default as a tooltip; `edited(name,
value)` fires on user edits only, never on `set_values`.
"""
from __future__ import annotations

import ast
import html
import math
from typing import Any, Iterable, Mapping, Optional, Sequence

from PySide6.QtCore import QLocale, QObject, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QSpinBox, QStyle, QVBoxLayout, QWidget)

from .kit import WheelGuard
from .viewmodels import FieldSpec

__all__ = ["FieldForm", "make_editor", "editor_value", "set_editor_value", "field_label",
           "field_tooltip", "format_float", "NEW_RUN_WARNING"]

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
NEW_RUN_WARNING = "changing this starts a new run"


def field_label(spec: FieldSpec) -> str:
    """The readable label of a field: its name with underscores as spaces."""
    return spec.name.replace("_", " ")


def format_float(value: float) -> str:
    """Shortest text that reads back as the same float: 0.0002, 1e-05, 0.999, 1.0."""
    return repr(float(value))


def _fmt_bound(x: float, kind: str) -> str:
    if kind == "int":
        return str(int(x)) if float(x).is_integer() else f"{x:g}"
    return f"{x:g}"


def range_hint(spec: FieldSpec) -> str:
    lo, hi = spec.min, spec.max
    if spec.choices:
        return "Choices: " + ", ".join(str(c) for c in spec.choices)
    if lo is not None and hi is not None:
        return f"Range: {_fmt_bound(lo, spec.kind)} to {_fmt_bound(hi, spec.kind)}"
    if lo is not None:
        return f"Range: \u2265 {_fmt_bound(lo, spec.kind)}"
    if hi is not None:
        return f"Range: \u2264 {_fmt_bound(hi, spec.kind)}"
    return ""


def _fmt_value(value: Any, kind: str) -> str:
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_float(value)
    if kind == "bool":
        return "on" if value else "off"
    return str(value)


def field_tooltip(spec: FieldSpec) -> str:
    """Rich-text tooltip (so long help wraps): help, range or choices, default, live/structural."""
    parts = [html.escape(spec.help, quote=False) if spec.help else f"<b>{html.escape(spec.name)}</b>"]
    notes = []
    hint = range_hint(spec)
    if hint:
        notes.append(html.escape(hint, quote=False))
    notes.append("Default: " + html.escape(_fmt_value(spec.default, spec.kind), quote=False))
    if not spec.structural:
        notes.append("Applies immediately, also while training.")
    parts.append("<br>".join(notes))
    return "<p>" + "</p><p style='color:gray'>".join(parts) + "</p>"


class _DoubleValidator(QDoubleValidator):
    """Scientific notation, C locale, and a comma typed as a decimal point."""

    def __init__(self, lo: Optional[float], hi: Optional[float], parent: QObject) -> None:
        super().__init__(parent)
        self.setNotation(QDoubleValidator.Notation.ScientificNotation)
        loc = QLocale.c()
        loc.setNumberOptions(QLocale.NumberOption.RejectGroupSeparator
                             | QLocale.NumberOption.OmitGroupSeparator)
        self.setLocale(loc)
        self.setDecimals(1000)
        self.setRange(-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi),
                      1000)

    def validate(self, text: str, pos: int):  # noqa: D401 - Qt override
        text = text.replace(",", ".").strip()
        return super().validate(text, pos)


class _FloatEdit(QLineEdit):
    """A line edit for a float: commits on Enter or focus out; invalid text is shown in red
    and reverts to the last good value when focus leaves."""

    committed = Signal(float)

    def __init__(self, spec: FieldSpec, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._spec = spec
        self._value = float(spec.default) if spec.default is not None else 0.0
        self.setValidator(_DoubleValidator(spec.min, spec.max, self))
        self.setText(format_float(self._value))
        self.textChanged.connect(self._update_style)
        self.editingFinished.connect(self._on_editing_finished)

    def value(self) -> float:
        return self._value

    def set_value(self, value: float) -> None:
        self._value = float(value)
        self.setText(format_float(self._value))

    def _parse(self) -> Optional[float]:
        if not self.hasAcceptableInput():
            return None
        try:
            return float(self.text().replace(",", ".").strip())
        except ValueError:
            return None

    def _on_editing_finished(self) -> None:
        v = self._parse()
        if v is None:
            return
        if v != self._value:
            self._value = v
            self.committed.emit(v)

    def _update_style(self, _text: str = "") -> None:
        bad = bool(self.text()) and not self.hasAcceptableInput()
        self.setStyleSheet("QLineEdit { border: 1px solid #d03b3b; }" if bad else "")

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        if self._parse() is None:
            self.setText(format_float(self._value))


def float_decimals_and_step(spec: FieldSpec) -> tuple[int, float]:
    """Decimals and single step of a float spin box: enough decimals for the smallest of the
    default and the bounds, a step of the default's order of magnitude."""
    vals = [abs(float(v)) for v in (spec.default, spec.min, spec.max)
            if isinstance(v, (int, float)) and v not in (None, 0) and math.isfinite(v)]
    smallest = min(vals) if vals else 0.1
    digits = max(0, -math.floor(math.log10(smallest))) if smallest > 0 else 1
    decimals = min(8, max(2, digits + 1))
    default = abs(float(spec.default or 0.0))
    if default > 0:
        step = 10.0 ** math.floor(math.log10(default))
    elif spec.min is not None and spec.max is not None and spec.max > spec.min:
        step = (float(spec.max) - float(spec.min)) / 100.0
    else:
        step = 0.1
    return decimals, step


def make_editor(spec: FieldSpec, parent: Optional[QWidget] = None, *,
                float_spin: bool = False) -> QWidget:
    """The editor of one field, named "field_<name>", its value not set yet (write the
    default with set_editor_value): bool -> QCheckBox, choices -> QComboBox, int ->
    QSpinBox (the field's range, clamped to 32 bits), float -> _FloatEdit (typed, scientific
    notation) or with `float_spin` a QDoubleSpinBox, anything else -> QLineEdit. Spin boxes
    emit once per typed number (no keyboard tracking) and accelerate when held."""
    if spec.kind == "bool":
        w: QWidget = QCheckBox(parent)
    elif spec.choices:
        w = QComboBox(parent)
        for c in spec.choices:
            w.addItem(str(c), c)
    elif spec.kind == "int":
        w = QSpinBox(parent)
        lo = INT_MIN if spec.min is None else max(INT_MIN, math.ceil(spec.min))
        hi = INT_MAX if spec.max is None else min(INT_MAX, math.floor(spec.max))
        w.setRange(int(lo), int(hi))
        w.setKeyboardTracking(False)      # typing "128" emits once, not 1, 12, 128
        w.setAccelerated(True)
    elif spec.kind == "float" and float_spin:
        w = QDoubleSpinBox(parent)
        decimals, step = float_decimals_and_step(spec)
        w.setDecimals(decimals)
        w.setRange(-1e12 if spec.min is None else float(spec.min),
                   1e12 if spec.max is None else float(spec.max))
        w.setSingleStep(step)
        w.setAccelerated(True)
        w.setKeyboardTracking(False)
    elif spec.kind == "float":
        w = _FloatEdit(spec, parent)
    else:
        w = QLineEdit(parent)
    w.setObjectName(f"field_{spec.name}")
    return w


def set_editor_value(spec: FieldSpec, w: QWidget, value: Any, *, keep_unknown: bool = True) -> None:
    """Show `value` in an editor from make_editor. A value a combo box does not list is
    added to it (`keep_unknown`, so a loaded value survives) or ignored. Line edits show str
    fields as they are and other kinds as Python literals; None shows as empty."""
    if isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QComboBox):
        i = w.findData(value)
        if i < 0:
            i = w.findText(str(value))
        if i < 0 and keep_unknown:
            w.addItem(str(value), value)
            i = w.count() - 1
        if i >= 0:
            w.setCurrentIndex(i)
    elif isinstance(w, QSpinBox):
        w.setValue(int(value))
    elif isinstance(w, QDoubleSpinBox):
        w.setValue(float(value))
    elif isinstance(w, _FloatEdit):
        w.set_value(float(value))
    elif isinstance(w, QLineEdit):
        text = value if spec.kind == "str" else repr(value)
        w.setText("" if value is None else str(text))


def editor_value(spec: FieldSpec, w: QWidget) -> Any:
    """The typed value of an editor from make_editor: bool, the combo's item data, int,
    float, or the text (str fields; other kinds are read as Python literals when they
    parse)."""
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QSpinBox):
        return int(w.value())
    if isinstance(w, QDoubleSpinBox):
        return float(w.value())
    if isinstance(w, _FloatEdit):
        return w.value()
    text = w.text() if isinstance(w, QLineEdit) else ""
    if spec.kind == "str":
        return text
    try:                                     # other kinds (lists, tuples): Python literals
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


class FieldForm(QWidget):
    """A form with one editor per FieldSpec.

    Signals:
        edited(str, object): field name and its new value, on user edits only.
    """

    edited = Signal(str, object)

    def __init__(self, fields: Sequence[FieldSpec] = (), parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("FieldForm")
        self._specs: dict[str, FieldSpec] = {}
        self._editors: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._warn_icons: dict[str, QLabel] = {}
        self._updating = False
        self._locked = False
        self._locked_values: dict[str, Any] = {}
        self._wheel_guard = WheelGuard(self)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        self._form_host = QWidget(self)
        outer.addWidget(self._form_host)
        self._layout = QFormLayout(self._form_host)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self._layout.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._notice = QLabel(self)
        self._notice.setObjectName("structuralNotice")
        self._notice.setWordWrap(True)
        self._notice.setStyleSheet("color: #b07800;")
        self._notice.hide()
        outer.addWidget(self._notice)
        self._empty = QLabel("No options.", self)
        self._empty.setStyleSheet("color: gray;")
        outer.addWidget(self._empty)
        self.set_fields(fields)

    # ---------------------------------------------------------------- building
    def set_fields(self, fields: Iterable[FieldSpec]) -> None:
        """Rebuild the form for new fields (values reset to the fields' defaults)."""
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._specs.clear()
        self._editors.clear()
        self._labels.clear()
        self._warn_icons.clear()
        self._locked_values = {}
        for spec in fields:
            self._add_row(spec)
        self._empty.setVisible(not self._specs)
        if self._locked:
            self._locked_values = self.values()
        self._refresh_warnings()

    def _add_row(self, spec: FieldSpec) -> None:
        tip = field_tooltip(spec)
        label = QLabel(field_label(spec), self._form_host)
        label.setToolTip(tip)
        editor = self._make_editor(spec)
        editor.setToolTip(tip)
        label.setBuddy(editor)
        warn = QLabel(self._form_host)
        warn.setObjectName(f"warn_{spec.name}")
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        warn.setPixmap(icon.pixmap(14, 14))
        warn.setToolTip(NEW_RUN_WARNING[0].upper() + NEW_RUN_WARNING[1:] + ".")
        warn.setFixedWidth(16)
        warn.hide()
        row = QWidget(self._form_host)
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        h.setSpacing(4)
        h.addWidget(editor, 1)
        h.addWidget(warn, 0)
        self._layout.addRow(label, row)
        self._specs[spec.name] = spec
        self._editors[spec.name] = editor
        self._labels[spec.name] = label
        self._warn_icons[spec.name] = warn
        self._write(spec, editor, spec.default)

    def _make_editor(self, spec: FieldSpec) -> QWidget:
        name = spec.name
        w = make_editor(spec, self._form_host)
        if isinstance(w, QCheckBox):
            w.toggled.connect(lambda v, n=name: self._user_edit(n, bool(v)))
        elif isinstance(w, QComboBox):
            w.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(6)
            w.currentIndexChanged.connect(lambda _i, n=name, w=w: self._user_edit(n, w.currentData()))
        elif isinstance(w, QSpinBox):
            w.setMinimumWidth(70)
            w.valueChanged.connect(lambda v, n=name: self._user_edit(n, int(v)))
        elif isinstance(w, _FloatEdit):
            w.committed.connect(lambda v, n=name: self._user_edit(n, float(v)))
        else:
            w.setProperty("_last", None)
            w.editingFinished.connect(lambda n=name, w=w: self._on_text_finished(n, w))
        if isinstance(w, (QComboBox, QSpinBox)):
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            w.installEventFilter(self._wheel_guard)
        return w

    # ---------------------------------------------------------------- values
    def fields(self) -> tuple[FieldSpec, ...]:
        return tuple(self._specs.values())

    def spec(self, name: str) -> FieldSpec:
        return self._specs[name]

    def editor(self, name: str) -> QWidget:
        """The editor widget of a field (tests, focus handling)."""
        return self._editors[name]

    def label(self, name: str) -> QLabel:
        return self._labels[name]

    def names(self) -> list[str]:
        return list(self._specs)

    def value(self, name: str) -> Any:
        return self._read(self._specs[name], self._editors[name])

    def values(self) -> dict[str, Any]:
        """Current values as proper Python types, in field order."""
        return {n: self._read(s, self._editors[n]) for n, s in self._specs.items()}

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show values (unknown keys ignored); emits nothing."""
        for key, value in values.items():
            spec = self._specs.get(key)
            if spec is not None:
                self._write(spec, self._editors[key], value)
        self._refresh_warnings()

    def reset_to_defaults(self) -> None:
        self.set_values({s.name: s.default for s in self._specs.values()})

    def label_width_hint(self) -> int:
        """Width the widest label needs (to line up several forms)."""
        return max((lab.sizeHint().width() for lab in self._labels.values()), default=0)

    def set_label_width(self, width: int) -> None:
        """Give every label at least `width` pixels, so stacked forms line up."""
        for lab in self._labels.values():
            lab.setMinimumWidth(int(width))

    def mark_structural(self, locked: bool) -> None:
        """While locked (a run is training), structural fields stay editable, but editing one
        shows a warning icon and a note that the change starts a new run."""
        self._locked = bool(locked)
        self._locked_values = self.values() if self._locked else {}
        self._refresh_warnings()

    def is_locked(self) -> bool:
        return self._locked

    def changed_structural(self) -> list[str]:
        """Structural fields edited since `mark_structural(True)`."""
        if not self._locked:
            return []
        cur = self.values()
        return [n for n, s in self._specs.items()
                if s.structural and n in self._locked_values and cur[n] != self._locked_values[n]]

    # ---------------------------------------------------------------- internals
    def _user_edit(self, name: str, value: Any) -> None:
        if self._updating:
            return
        self._refresh_warnings()
        self.edited.emit(name, value)

    def _on_text_finished(self, name: str, w: QLineEdit) -> None:
        spec = self._specs[name]
        value = self._read(spec, w)
        if value == w.property("_last") or self._updating:
            return
        w.setProperty("_last", value)
        self._user_edit(name, value)

    def _refresh_warnings(self) -> None:
        changed = set(self.changed_structural())
        for n, icon in self._warn_icons.items():
            icon.setVisible(n in changed)
        if changed:
            names = ", ".join(field_label(self._specs[n]) for n in self._specs if n in changed)
            self._notice.setText(f"\u26a0 {names}: {NEW_RUN_WARNING}.")
            self._notice.show()
        else:
            self._notice.hide()

    def _write(self, spec: FieldSpec, w: QWidget, value: Any) -> None:
        self._updating = True
        try:
            set_editor_value(spec, w, value)
            if isinstance(w, QLineEdit) and not isinstance(w, _FloatEdit):
                w.setProperty("_last", self._read(spec, w))
        finally:
            self._updating = False

    @staticmethod
    def _read(spec: FieldSpec, w: QWidget) -> Any:
        return editor_value(spec, w)


def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_form_fields, preview_app, preview_parser, show_or_grab

    args = preview_parser("Preview FieldForm with one field of each kind.", "340x220").parse_args(argv)
    app = preview_app(args.dark)
    form = FieldForm(fake_form_fields())
    form.edited.connect(lambda n, v: print("edited", n, repr(v)))
    form.mark_structural(True)
    return show_or_grab(app, form, args.size, args.grab, settle=1)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
