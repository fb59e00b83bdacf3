"""Run controls: the engine picker and the generated forms for the [model], [run] and [optim]
sections of a run config, plus a small box describing the current run.

The panel only edits plain dicts and reports edits through signals; the main window decides
what to do with them (apply a live value mid-run, start a new run, open a folder).
"""
from __future__ import annotations

import math
import os
from typing import Any, Mapping, Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QFrame, QGroupBox,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from .forms import NEW_RUN_WARNING, FieldForm
from .kit import WheelGuard, mute_label
from .viewmodels import EngineInfo, FieldSpec, RunInfo

__all__ = ["RunControlsPanel", "STATE_COLOURS"]

STATE_COLOURS = {
    "idle": "#9a9a9a",
    "running": "#2e9d4f",
    "paused": "#e0a000",
    "finished": "#3a7bd5",
    "stopped": "#7a7a7a",
    "failed": "#d03b3b",
}


CUSTOM_PRESET = "(your settings)"


def _format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


class _ElidedLabel(QWidget):
    """One line of text elided in the middle to fit; the full text is the tooltip."""

    def __init__(self, text: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel-like API
        self._text = text
        self.setToolTip(text)
        self.update()

    def text(self) -> str:
        return self._text

    def elidedText(self) -> str:  # noqa: N802
        return self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideMiddle,
                                             max(0, self.width()))

    def sizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        return QSize(min(fm.horizontalAdvance(self._text), 300), fm.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(20, self.fontMetrics().height())

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   self.elidedText())


class RunControlsPanel(QWidget):
    """Engine picker, model/training/optimizer forms and the current run's status.

    Signals:
        config_edited(dict): the whole config() after any user edit.
        live_value_edited(str, str, object): (section, key, value) of an edited non-structural
            field (optim.lr, model.beta...), emitted whether or not a run is training.
        structural_edit_while_running(str): "section.key" (e.g. "model.latent_dim",
            "model.engine") of a structural field edited while set_running(True).
        open_run_requested(str): a run folder chosen with "Open run folder...".
        new_run_requested(): the "New run" button.
    """

    config_edited = Signal(dict)
    live_value_edited = Signal(str, str, object)
    structural_edit_while_running = Signal(str)
    open_run_requested = Signal(str)
    new_run_requested = Signal()
    preset_requested = Signal(str)          # a preset's name, chosen in the preset picker

    SECTIONS = ("run", "model", "optim")

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunControlsPanel")
        self._engines: dict[str, EngineInfo] = {}
        self._engine_memory: dict[str, dict[str, Any]] = {}
        self._engine: str = ""
        self._engine_at_lock: str = ""
        self._running = False
        self._updating = False
        self._pending: dict[str, dict[str, Any]] = {}
        self._run_info = RunInfo()

        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(6)

        # ----- scrollable forms
        self._scroll = QScrollArea(self)
        self._scroll.setObjectName("runControlsScroll")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget(self._scroll)
        content.setObjectName("runControlsContent")
        col = QVBoxLayout(content)
        col.setContentsMargins(0, 0, 4, 0)
        col.setSpacing(8)

        self._model_box = QGroupBox("Model", content)
        mv = QVBoxLayout(self._model_box)
        mv.setSpacing(4)
        engine_row = QFormLayout()
        engine_row.setContentsMargins(0, 0, 0, 0)
        engine_row.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._engine_combo = QComboBox(self._model_box)
        self._engine_combo.setObjectName("engineCombo")
        self._engine_combo.setToolTip("The model family to train.")
        self._engine_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._engine_combo.setMinimumContentsLength(8)
        self._engine_combo.currentIndexChanged.connect(self._on_engine_combo_changed)
        self._engine_combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._engine_combo.installEventFilter(WheelGuard(self._engine_combo))
        self._preset_combo = QComboBox(self._model_box)
        self._preset_combo.setObjectName("presetCombo")
        self._preset_combo.setToolTip("Ready settings from examples/: choose one to fill this "
                                      "form and load its data set; Train starts it.")
        self._preset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._preset_combo.setMinimumContentsLength(8)
        self._preset_combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._preset_combo.installEventFilter(WheelGuard(self._preset_combo))
        self._preset_combo.activated.connect(self._on_preset_activated)
        preset_label = QLabel("preset", self._model_box)
        preset_label.setBuddy(self._preset_combo)
        engine_row.addRow(preset_label, self._preset_combo)
        self._preset_desc = QLabel(self._model_box)
        self._preset_desc.setObjectName("presetDescription")
        self._preset_desc.setWordWrap(True)
        mute_label(self._preset_desc)
        self._preset_desc.hide()
        engine_row.addRow(self._preset_desc)
        self.set_presets([])
        engine_label = self._engine_label = QLabel("engine", self._model_box)
        engine_label.setBuddy(self._engine_combo)
        engine_row.addRow(engine_label, self._engine_combo)
        mv.addLayout(engine_row)
        self._engine_desc = QLabel(self._model_box)
        self._engine_desc.setObjectName("engineDescription")
        self._engine_desc.setWordWrap(True)
        mute_label(self._engine_desc)
        self._engine_desc.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mv.addWidget(self._engine_desc)
        self._engine_warn = QLabel(f"\u26a0 engine: {NEW_RUN_WARNING}.", self._model_box)
        self._engine_warn.setObjectName("engineWarning")
        self._engine_warn.setStyleSheet("color: #b07800;")
        self._engine_warn.setWordWrap(True)
        self._engine_warn.hide()
        mv.addWidget(self._engine_warn)
        self._model_form = FieldForm(parent=self._model_box)
        self._model_form.setObjectName("modelForm")
        self._model_form.edited.connect(lambda k, v: self._on_form_edited("model", k, v))
        mv.addWidget(self._model_form)

        self._run_box = QGroupBox("Training", content)
        rv = QVBoxLayout(self._run_box)
        self._run_form = FieldForm(parent=self._run_box)
        self._run_form.setObjectName("runForm")
        self._run_form.edited.connect(lambda k, v: self._on_form_edited("run", k, v))
        rv.addWidget(self._run_form)

        self._optim_box = QGroupBox("Optimizer", content)
        ov = QVBoxLayout(self._optim_box)
        self._optim_form = FieldForm(parent=self._optim_box)
        self._optim_form.setObjectName("optimForm")
        self._optim_form.edited.connect(lambda k, v: self._on_form_edited("optim", k, v))
        ov.addWidget(self._optim_form)

        col.addWidget(self._model_box)
        col.addWidget(self._run_box)
        col.addWidget(self._optim_box)
        col.addStretch(1)
        self._scroll.setWidget(content)
        root.addWidget(self._scroll, 1)

        # ----- run box
        self._status = QFrame(self)
        self._status.setObjectName("runStatusBox")
        self._status.setFrameShape(QFrame.Shape.StyledPanel)
        sv = QVBoxLayout(self._status)
        sv.setContentsMargins(8, 6, 8, 6)
        sv.setSpacing(3)
        top = QHBoxLayout()
        top.setSpacing(6)
        self._dot = QLabel(self._status)
        self._dot.setObjectName("stateDot")
        self._dot.setFixedSize(10, 10)
        self._state_label = QLabel(self._status)
        self._state_label.setObjectName("stateLabel")
        f = self._state_label.font()
        f.setBold(True)
        self._state_label.setFont(f)
        self._step_label = QLabel(self._status)
        self._step_label.setObjectName("stepLabel")
        self._step_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self._dot)
        top.addWidget(self._state_label)
        top.addStretch(1)
        top.addWidget(self._step_label)
        sv.addLayout(top)
        self._progress = QProgressBar(self._status)
        self._progress.setObjectName("runProgress")
        self._progress.setTextVisible(False)
        self._progress.setFixedHeight(6)
        sv.addWidget(self._progress)
        speed_row = QHBoxLayout()
        self._speed_label = QLabel(self._status)
        self._speed_label.setObjectName("speedLabel")
        self._what_label = QLabel(self._status)
        self._what_label.setObjectName("whatLabel")
        self._what_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        mute_label(self._what_label)
        speed_row.addWidget(self._speed_label)
        speed_row.addStretch(1)
        speed_row.addWidget(self._what_label)
        sv.addLayout(speed_row)
        self._path_label = _ElidedLabel(parent=self._status)
        self._path_label.setObjectName("runPath")
        sv.addWidget(self._path_label)
        self._message_label = QLabel(self._status)
        self._message_label.setObjectName("runMessage")
        self._message_label.setWordWrap(True)
        self._message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sv.addWidget(self._message_label)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self._new_button = QPushButton("New run", self._status)
        self._new_button.setObjectName("newRunButton")
        self._new_button.setToolTip("Start a fresh run from the settings above.")
        self._new_button.clicked.connect(self.new_run_requested)
        self._open_button = QPushButton("Open run folder\u2026", self._status)
        self._open_button.setObjectName("openRunButton")
        self._open_button.setToolTip("Open a run folder (config.toml, weights, metrics) to "
                                     "inspect or continue it.")
        self._open_button.clicked.connect(self._on_open_clicked)
        buttons.addWidget(self._new_button)
        buttons.addWidget(self._open_button)
        sv.addLayout(buttons)
        root.addWidget(self._status, 0)

        self._update_engine_description()
        self.set_run_info(RunInfo())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(340, 640)

    # ---------------------------------------------------------------- presets
    def set_presets(self, presets: Sequence[tuple[str, str]]) -> None:
        """(name, one-line description) of every preset, in the picker's order."""
        combo = self._preset_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(CUSTOM_PRESET, "")
        combo.setItemData(0, "Your own settings (the form as it is).", Qt.ItemDataRole.ToolTipRole)
        for name, description in presets:
            combo.addItem(name, name)
            combo.setItemData(combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        combo.blockSignals(False)
        combo.setEnabled(bool(presets))

    def presets(self) -> list[str]:
        return [self._preset_combo.itemData(i) for i in range(1, self._preset_combo.count())]

    def current_preset(self) -> str:
        return self._preset_combo.currentData() or ""

    def choose_preset(self, name: str) -> None:
        """Select a preset as a person would (emits preset_requested)."""
        i = self._preset_combo.findData(name)
        if i < 0:
            raise KeyError(name)
        self._preset_combo.setCurrentIndex(i)
        self._on_preset_activated(i)

    def show_preset(self, name: str) -> None:
        """Show `name` as the current preset without asking for it again."""
        i = self._preset_combo.findData(name)
        self._preset_combo.setCurrentIndex(max(i, 0))
        self._show_preset_description(max(i, 0))

    def _show_preset_description(self, index: int) -> None:
        text = self._preset_combo.itemData(index, Qt.ItemDataRole.ToolTipRole) if index > 0 else ""
        self._preset_desc.setText(text or "")
        self._preset_desc.setVisible(bool(text))

    def _on_preset_activated(self, index: int) -> None:
        name = self._preset_combo.itemData(index)
        self._show_preset_description(index)
        if name:
            self.preset_requested.emit(name)

    # ---------------------------------------------------------------- fields
    def set_engines(self, engines: Sequence[EngineInfo]) -> None:
        """Offer these engines; keeps the current choice if it is still offered."""
        keep = self._engine
        self._engines = {e.name: e for e in engines}
        self._updating = True
        try:
            self._engine_combo.clear()
            for e in engines:
                self._engine_combo.addItem(e.name, e.name)
                self._engine_combo.setItemData(self._engine_combo.count() - 1, e.description,
                                               Qt.ItemDataRole.ToolTipRole)
        finally:
            self._updating = False
        pending = self._pending.pop("model", None)
        target = (pending or {}).get("engine") or keep
        if target not in self._engines:
            target = engines[0].name if engines else ""
        self._switch_engine(target, values=self._model_values_without_engine(pending)
                            if pending and pending.get("engine") == target else None)

    def set_run_fields(self, fields: Sequence[FieldSpec]) -> None:
        self._rebuild_form("run", self._run_form, fields)

    def set_optim_fields(self, fields: Sequence[FieldSpec]) -> None:
        self._rebuild_form("optim", self._optim_form, fields)

    def engines(self) -> list[EngineInfo]:
        return list(self._engines.values())

    def engine(self) -> str:
        """Name of the chosen engine ("" before set_engines)."""
        return self._engine

    def form(self, section: str) -> FieldForm:
        """The FieldForm of "run", "model" or "optim"."""
        return {"run": self._run_form, "model": self._model_form, "optim": self._optim_form}[section]

    # ---------------------------------------------------------------- config
    def config(self) -> dict[str, dict[str, Any]]:
        """{"run": {...}, "model": {"engine": name, ...}, "optim": {...}} (no "data")."""
        model: dict[str, Any] = {"engine": self._engine} if self._engine else {}
        model.update(self._model_form.values())
        return {"run": self._run_form.values(), "model": model, "optim": self._optim_form.values()}

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Show a (loaded run's) config: switches engine; missing keys show their defaults,
        unknown keys and sections (e.g. "data") are ignored. Emits nothing."""
        for section, form in (("run", self._run_form), ("optim", self._optim_form)):
            values = config.get(section)
            if values is None:
                continue
            if not form.fields():
                self._pending[section] = dict(values)
                continue
            form.reset_to_defaults()
            form.set_values(values)
        model = config.get("model")
        if model is not None:
            engine = model.get("engine", self._engine)
            if not self._engines:
                self._pending["model"] = dict(model)
            elif engine not in self._engines:
                self._engine_desc.setText(
                    f"<span style='color:#d03b3b'>The run's engine {engine!r} is not available "
                    f"here; showing {self._engine!r}.</span>")
            else:
                self._engine_memory.pop(engine, None)
                self._switch_engine(engine, values=self._model_values_without_engine(model),
                                    reset=True)
        self._relock()

    # ---------------------------------------------------------------- run state
    def set_running(self, running: bool) -> None:
        """While running, structural edits are flagged and reported through
        structural_edit_while_running; live values stay plain edits."""
        self._running = bool(running)
        self._relock()

    def is_running(self) -> bool:
        return self._running

    def set_run_info(self, info: RunInfo) -> None:
        self._run_info = info
        state = info.state or "idle"
        colour = STATE_COLOURS.get(state, "#9a9a9a")
        self._dot.setStyleSheet(f"background: {colour}; border-radius: 5px;")
        self._dot.setToolTip(state)
        self._state_label.setText(state.capitalize())
        if info.total > 0:
            self._step_label.setText(f"step {info.step:,} / {info.total:,}")
            self._progress.setRange(0, max(1, info.total))
            self._progress.setValue(max(0, min(info.step, info.total)))
            self._progress.setVisible(True)
        else:
            self._step_label.setText(f"step {info.step:,}" if info.step else "")
            self._progress.setRange(0, 1)
            self._progress.setValue(0)
            self._progress.setVisible(bool(info.path))
        speed = []
        if info.it_per_s > 0:
            speed.append(f"{info.it_per_s:.1f} it/s" if info.it_per_s < 100
                         else f"{info.it_per_s:,.0f} it/s")
        eta = _format_eta(info.eta_s)
        if eta and state == "running":
            speed.append(f"ETA {eta}")
        self._speed_label.setText(" \u00b7 ".join(speed))
        what = " \u00b7 ".join(x for x in (info.engine, info.data, info.device) if x)
        self._what_label.setText(what)
        if info.path:
            self._path_label.setText(info.path)
        else:
            self._path_label.setText("No run folder yet")
            self._path_label.setToolTip("The run folder appears when training starts or a run "
                                        "is opened.")
        self._message_label.setText(info.message)
        self._message_label.setVisible(bool(info.message))
        self._message_label.setStyleSheet("color: #d03b3b;" if state == "failed" else "")

    def run_info(self) -> RunInfo:
        return self._run_info

    # ---------------------------------------------------------------- dialogs
    def _ask_directory(self) -> str:
        """Ask for a run folder ("" if cancelled). Tests monkeypatch this."""
        start = os.path.dirname(self._run_info.path) if self._run_info.path else ""
        return QFileDialog.getExistingDirectory(self, "Open run folder", start)

    def _on_open_clicked(self) -> None:
        path = self._ask_directory()
        if path:
            self.open_run_requested.emit(str(path))

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _model_values_without_engine(model: Optional[Mapping[str, Any]]) -> dict[str, Any]:
        return {k: v for k, v in (model or {}).items() if k != "engine"}

    def _rebuild_form(self, section: str, form: FieldForm, fields: Sequence[FieldSpec]) -> None:
        keep = form.values()
        form.set_fields(fields)
        form.set_values(keep)
        pending = self._pending.pop(section, None)
        if pending:
            form.set_values(pending)
        form.mark_structural(self._running)
        self._align_labels()

    def _switch_engine(self, name: str, values: Optional[Mapping[str, Any]] = None,
                       reset: bool = False) -> None:
        """Show engine `name`'s form (remembering the old engine's values); no signals."""
        if self._engine and self._engine in self._engines:
            self._engine_memory[self._engine] = self._model_form.values()
        info = self._engines.get(name)
        self._engine = name if info else ""
        self._updating = True
        try:
            idx = self._engine_combo.findData(name)
            if idx >= 0:
                self._engine_combo.setCurrentIndex(idx)
        finally:
            self._updating = False
        self._model_form.set_fields(info.fields if info else ())
        if not reset and name in self._engine_memory:
            self._model_form.set_values(self._engine_memory[name])
        if values:
            self._model_form.set_values(values)
        self._model_form.mark_structural(self._running)
        self._align_labels()
        self._update_engine_description()
        self._update_engine_warning()

    def _align_labels(self) -> None:
        forms = (self._run_form, self._model_form, self._optim_form)
        width = max([f.label_width_hint() for f in forms] + [self._engine_label.sizeHint().width()])
        for f in forms:
            f.set_label_width(width)
        self._engine_label.setMinimumWidth(width)

    def _update_engine_description(self) -> None:
        info = self._engines.get(self._engine)
        if info is None:
            self._engine_desc.setText("No engines available." if not self._engines else "")
        else:
            self._engine_desc.setText(info.description)
        self._engine_desc.setVisible(bool(self._engine_desc.text()))

    def _update_engine_warning(self) -> None:
        self._engine_warn.setVisible(self._running and bool(self._engine_at_lock)
                                     and self._engine != self._engine_at_lock)

    def _relock(self) -> None:
        self._engine_at_lock = self._engine if self._running else ""
        for form in (self._run_form, self._model_form, self._optim_form):
            form.mark_structural(self._running)
        self._update_engine_warning()

    def _on_engine_combo_changed(self, index: int) -> None:
        if self._updating or index < 0:
            return
        name = self._engine_combo.itemData(index)
        if name == self._engine:
            return
        self._switch_engine(name)
        if self._running:
            self.structural_edit_while_running.emit("model.engine")
        self.config_edited.emit(self.config())

    def _on_form_edited(self, section: str, key: str, value: Any) -> None:
        form = self.form(section)
        spec = form.spec(key)
        if not spec.structural:
            self.live_value_edited.emit(section, key, value)
        elif self._running:
            self.structural_edit_while_running.emit(f"{section}.{key}")
        self.config_edited.emit(self.config())


# ---------------------------------------------------------------------------- preview
def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import (fake_engines, fake_optim_fields, fake_run_fields, preview_app,
                          preview_parser, show_or_grab)

    ap = preview_parser("Preview RunControlsPanel with fake data.", "360x700")
    ap.add_argument("--scroll", type=int, default=0, help="scroll the form down by N pixels")
    args = ap.parse_args(argv)
    app = preview_app(args.dark)
    panel = RunControlsPanel()
    panel.set_engines(fake_engines())
    panel.set_run_fields(fake_run_fields())
    panel.set_optim_fields(fake_optim_fields())
    panel.set_config({"model": {"engine": "vae", "latent_dim": 16}, "optim": {"lr": 2e-4}})
    panel.set_running(True)
    panel.form("model").editor("latent_dim").setValue(32)   # a structural edit mid-run
    panel.set_run_info(RunInfo(
        path="/home/someone/generative-studio/runs/2025-06-01_vae_mnist_latent16_seed0",
        engine="vae", data="mnist", device="cpu", state="running", step=1240, total=2000,
        it_per_s=38.4, eta_s=19.8, message="Checkpoint saved at step 1000."))
    for sig in ("config_edited", "live_value_edited", "structural_edit_while_running",
                "open_run_requested", "new_run_requested"):
        getattr(panel, sig).connect(lambda *a, s=sig: print(s, *a))

    def scroll() -> None:
        if args.scroll:
            panel._scroll.verticalScrollBar().setValue(args.scroll)

    return show_or_grab(app, panel, args.size, args.grab, settle=1, before_grab=scroll)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
