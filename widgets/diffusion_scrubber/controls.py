"""The scrubber's controls (a mixin of DiffusionScrubberPanel): the title and Export menu,
the run settings and Run, the edit row (re-noise, swap, continue from here) and the status
line, laid out for wide and narrow docks."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDoubleSpinBox, QFrame, QGridLayout,
                               QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton, QSizePolicy,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from ..kit import checked_button_css


ERROR_COLOUR = "#e0443e"


class ControlsMixin:
    """Run settings (Generate / Forward, sampler, steps, eta, seed, samples), the edit
    buttons, Continue from here, the Export menu, and the busy / error status; the
    requests they emit."""

    # -- construction ----------------------------------------------------------------------------

    def _build_header(self, pv: QVBoxLayout) -> None:
        """The title and the Export menu."""
        header = QHBoxLayout()
        header.setSpacing(6)
        self._title = QLabel(" ")
        self._title.setObjectName("scrubberTitle")
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header.addWidget(self._title, 1)
        self._export_button = QToolButton()
        self._export_button.setObjectName("exportButton")
        self._export_button.setText("Export")
        self._export_button.setToolTip("Save the trajectory as a GIF, the predicted x0 across "
                                       "steps as one grid, or the final samples")
        self._export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self._export_button)
        self._export_actions: dict[str, QAction] = {}
        for kind, text in (("gif", "Trajectory as GIF\u2026"),
                           ("x0_grid", "Predicted x0 across steps\u2026"),
                           ("final", "Final samples\u2026")):
            act = menu.addAction(text)
            act.setObjectName(f"export_{kind}")
            act.triggered.connect(lambda _=False, k=kind: self.export_requested.emit(k))
            self._export_actions[kind] = act
        self._export_button.setMenu(menu)
        header.addWidget(self._export_button)
        pv.addLayout(header)

    def _build_run_settings(self, pv: QVBoxLayout) -> None:
        """Generate / Forward, Run, and the sampler settings (placed by _arrange)."""
        self._run_box = QFrame()
        self._run_box.setObjectName("runSettings")
        self._run_box.setFrameShape(QFrame.Shape.StyledPanel)
        self._run_grid = QGridLayout(self._run_box)
        self._run_grid.setContentsMargins(6, 4, 6, 4)
        self._run_grid.setHorizontalSpacing(6)
        self._run_grid.setVerticalSpacing(4)

        self._mode_row = QWidget()
        mode_layout = QHBoxLayout(self._mode_row)
        mode_layout.setContentsMargins(0, 0, 0, 0)
        mode_layout.setSpacing(0)
        self._generate_button = QPushButton("Generate")
        self._generate_button.setObjectName("generateModeButton")
        self._generate_button.setToolTip("Run: sample new images from noise, step by step")
        self._forward_button = QPushButton("Forward (noise real images)")
        self._forward_button.setObjectName("forwardModeButton")
        self._forward_button.setToolTip("Run: take real images from the data set and add noise "
                                        "step by step (the forward process)")
        self._mode_group = QButtonGroup(self)
        self._mode_group.setExclusive(True)
        for b in (self._generate_button, self._forward_button):
            b.setCheckable(True)
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 26)
            self._mode_group.addButton(b)
            mode_layout.addWidget(b)
        self._generate_button.setChecked(True)
        self._mode_group.buttonToggled.connect(lambda *_: self._update_enabled())

        self._run_button = QPushButton("Run")
        self._run_button.setObjectName("runButton")
        self._run_button.setToolTip("Compute a trajectory with these settings")
        self._run_button.setDefault(True)
        self._run_button.clicked.connect(self._on_run_button_clicked)

        self._sampler = QComboBox()
        self._sampler.setObjectName("samplerCombo")
        self._sampler.addItems(["ddpm", "ddim"])
        self._sampler.setToolTip("ddpm: ancestral sampling (stochastic). ddim: deterministic "
                                 "for eta = 0, DDPM-like for eta = 1.")
        self._sampler.currentTextChanged.connect(lambda *_: self._update_enabled())
        self._steps = QSpinBox()
        self._steps.setObjectName("stepsBox")
        self._steps.setRange(2, 1000)
        self._steps.setValue(50)
        self._steps.setToolTip("Number of sampling steps (timesteps visited)")
        self._eta = QDoubleSpinBox()
        self._eta.setObjectName("etaBox")
        self._eta.setRange(0.0, 1.0)
        self._eta.setSingleStep(0.1)
        self._eta.setDecimals(2)
        self._eta.setToolTip("DDIM noise: 0 = deterministic, 1 = as much noise as DDPM")
        self._seed = QSpinBox()
        self._seed.setObjectName("seedBox")
        self._seed.setRange(0, 2 ** 31 - 1)
        self._seed.setToolTip("Seed of the starting noise (and of re-noising edits)")
        self._n = QSpinBox()
        self._n.setObjectName("samplesBox")
        self._n.setRange(1, 256)
        self._n.setValue(16)
        self._n.setToolTip("How many samples (or real images, in forward mode)")
        self._labels: dict[str, QLabel] = {}
        for key, text, buddy in (("sampler", "sampler", self._sampler), ("steps", "steps", self._steps),
                                 ("eta", "eta", self._eta), ("seed", "seed", self._seed),
                                 ("n", "samples", self._n)):
            lab = QLabel(text)
            lab.setBuddy(buddy)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._labels[key] = lab
        pv.addWidget(self._run_box)

    def _build_edit_row(self, pv: QVBoxLayout) -> None:
        """The selection and the edit buttons (placed by _arrange)."""
        self._edit_grid = QGridLayout()
        self._edit_grid.setContentsMargins(0, 0, 0, 0)
        self._edit_grid.setHorizontalSpacing(6)
        self._edit_grid.setVerticalSpacing(4)
        self._selection_label = QLabel()
        self._selection_label.setObjectName("selectionLabel")
        self._selection_label.setWordWrap(True)
        self._selection_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._renoise_button = QPushButton("Re-noise selected")
        self._renoise_button.setObjectName("renoiseButton")
        self._renoise_button.setToolTip("Replace the selected sample's x_t at this step with fresh "
                                        "noise (seeded) and carry on sampling from here")
        self._renoise_button.clicked.connect(lambda: self._emit_edit("renoise"))
        self._swap_button = QPushButton("Swap with data image")
        self._swap_button.setObjectName("swapButton")
        self._swap_button.setToolTip("Replace the selected sample with a real data image noised "
                                     "to this step's t, and carry on sampling from here")
        self._swap_button.clicked.connect(lambda: self._emit_edit("swap"))
        self._continue_button = QPushButton("Continue from here")
        self._continue_button.setObjectName("continueButton")
        self._continue_button.setToolTip("Sample again from this step's x_t with the settings "
                                         "above (e.g. another sampler or eta)")
        self._continue_button.clicked.connect(self._on_continue_button_clicked)
        pv.addLayout(self._edit_grid)

    def _build_status(self, root: QVBoxLayout) -> None:
        """The busy bar and status line (on both pages)."""
        status = QHBoxLayout()
        status.setSpacing(6)
        self._busy_bar = QProgressBar()
        self._busy_bar.setObjectName("busyBar")
        self._busy_bar.setRange(0, 0)
        self._busy_bar.setTextVisible(False)
        self._busy_bar.setFixedSize(48, 10)
        self._busy_bar.hide()
        self._status = QLabel()
        self._status.setObjectName("statusLabel")
        self._status.setWordWrap(True)
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._status.hide()
        status.addWidget(self._busy_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        status.addWidget(self._status, 1)
        root.addLayout(status)

    def _arrange(self, wide: bool) -> None:
        """Lay the control rows out for a wide panel (fewer rows) or a narrow dock."""
        if wide == self._wide:
            return
        self._wide = wide
        g = self._run_grid
        for w in [self._mode_row, self._run_button, self._sampler, self._steps, self._eta,
                  self._seed, self._n, *self._labels.values()]:
            g.removeWidget(w)
        for c in range(g.columnCount()):
            g.setColumnStretch(c, 0)
        pairs = [(self._labels[k], w) for k, w in (("sampler", self._sampler), ("steps", self._steps),
                                                   ("eta", self._eta), ("seed", self._seed),
                                                   ("n", self._n))]
        if wide:
            g.addWidget(self._mode_row, 0, 0, 1, 10, Qt.AlignmentFlag.AlignLeft)
            g.addWidget(self._run_button, 0, 11)
            for i, (lab, w) in enumerate(pairs):
                g.addWidget(lab, 1, 2 * i)
                g.addWidget(w, 1, 2 * i + 1)
            g.setColumnStretch(10, 1)
        else:
            g.addWidget(self._mode_row, 0, 0, 1, 5, Qt.AlignmentFlag.AlignLeft)
            g.addWidget(self._run_button, 0, 5)
            for i, (lab, w) in enumerate(pairs):
                r, c = divmod(i, 3)
                g.addWidget(lab, 1 + r, 2 * c)
                g.addWidget(w, 1 + r, 2 * c + 1)
            for c in (1, 3, 5):
                g.setColumnStretch(c, 1)

        e = self._edit_grid
        for w in (self._selection_label, self._renoise_button, self._swap_button,
                  self._continue_button):
            e.removeWidget(w)
        for c in range(e.columnCount()):
            e.setColumnStretch(c, 0)
        if wide:
            e.addWidget(self._selection_label, 0, 0)
            e.addWidget(self._renoise_button, 0, 1)
            e.addWidget(self._swap_button, 0, 2)
            e.addWidget(self._continue_button, 0, 3)
            e.setColumnStretch(0, 1)
        else:
            e.addWidget(self._renoise_button, 0, 0)
            e.addWidget(self._swap_button, 0, 1)
            e.addWidget(self._continue_button, 1, 0)
            e.addWidget(self._selection_label, 1, 1)
            e.setColumnStretch(0, 1)
            e.setColumnStretch(1, 1)

    # -- public API ------------------------------------------------------------------------------

    def run_settings(self) -> dict:
        """What Run would emit: {"mode", "sampler", "steps", "eta", "seed", "n"}."""
        return {"mode": "forward" if self._forward_button.isChecked() else "sample",
                "sampler": self._sampler.currentText(),
                "steps": int(self._steps.value()),
                "eta": float(self._eta.value()),
                "seed": int(self._seed.value()),
                "n": int(self._n.value())}

    def set_run_settings(self, **settings: Any) -> None:
        """Set any of mode, sampler, steps, eta, seed, n (e.g. to restore them)."""
        if "mode" in settings:
            (self._forward_button if settings["mode"] == "forward" else self._generate_button).setChecked(True)
        if "sampler" in settings:
            i = self._sampler.findText(str(settings["sampler"]))
            if i < 0:
                raise ValueError(f"unknown sampler {settings['sampler']!r}")
            self._sampler.setCurrentIndex(i)
        for key, box in (("steps", self._steps), ("eta", self._eta), ("seed", self._seed),
                         ("n", self._n)):
            if key in settings:
                box.setValue(settings[key])
        self._update_enabled()

    def set_busy(self, message: str) -> None:
        """The host is computing (a trajectory, an edit...); cleared by set_trajectory or
        set_error."""
        self._set_status(message or "Working\u2026", busy=True)

    def set_error(self, message: str) -> None:
        """Show an error (in red); clears busy."""
        self._set_status(message, error=True)

    def title(self) -> str:
        return self._title.text()

    def status_text(self) -> str:
        return "" if self._status.isHidden() else self._status.text()

    def is_busy(self) -> bool:
        return not self._busy_bar.isHidden()

    # -- look ------------------------------------------------------------------------------------

    def _palette_controls(self, pal: QPalette, muted: QColor) -> None:
        """The checked look of Generate / Forward and the muted selection text."""
        css = checked_button_css(pal)
        for b in (self._generate_button, self._forward_button):
            b.setStyleSheet(css)
        self._selection_label.setStyleSheet(f"color: {muted.name()};")

    # -- state -----------------------------------------------------------------------------------

    def _update_title(self) -> None:
        traj = self._traj
        if traj is None:
            self._title.setText("Diffusion steps" if self._schedule is not None else " ")
            return
        S, N = traj["xt"].shape[:2]
        t = traj["t"]
        if traj["mode"] == "sample":
            what = "Sampling"
            noun = "points" if traj["kind"] == "points" else "samples"
        else:
            what = "Forward noising"
            noun = "points" if traj["kind"] == "points" else "images"
        self._title.setText(f"{what} \u00b7 {N} {noun} \u00b7 {S} steps, t {t[0]} \u2192 {t[-1]}")

    def _update_enabled(self) -> None:
        has = self._traj is not None
        multi = has and self.step_count() > 1
        playing = self._timer.isActive()
        self._slider.setEnabled(has)
        self._play_button.setEnabled(multi and not (playing and self._direction > 0))
        self._reverse_button.setEnabled(multi and not (playing and self._direction < 0))
        self._pause_button.setEnabled(playing)
        selected = has and self._selected is not None
        self._renoise_button.setEnabled(selected)
        self._swap_button.setEnabled(selected)
        self._continue_button.setEnabled(has)
        self._export_button.setEnabled(has)
        if has:
            images = self._traj["kind"] == "images"
            self._export_actions["x0_grid"].setEnabled(self._traj["x0"] is not None)
            self._swap_button.setText("Swap with data image" if images else "Swap with data point")
        forward = self._forward_button.isChecked()
        self._sampler.setEnabled(not forward)
        self._eta.setEnabled(not forward and self._sampler.currentText() == "ddim")
        for key in ("sampler", "eta"):
            self._labels[key].setEnabled(getattr(self, f"_{key}").isEnabled())

    def _set_status(self, text: str, *, error: bool = False, busy: bool = False) -> None:
        self._status.setText(text)
        self._status.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self._status.setVisible(bool(text))
        self._busy_bar.setVisible(busy)

    def _clear_status(self) -> None:
        self._set_status("")

    # -- requests --------------------------------------------------------------------------------

    def _on_run_button_clicked(self) -> None:
        self.pause()
        self._keep_t = None
        self.trajectory_requested.emit(self.run_settings())

    def _emit_edit(self, action: str) -> None:
        if self._traj is None or self._selected is None:
            return
        self.pause()
        t = int(self._traj["t"][self._step])
        self._keep_t = t
        self.edit_requested.emit({"step_index": int(self._step), "t": t,
                                  "index": int(self._selected), "action": action,
                                  "seed": int(self._seed.value())})

    def _on_continue_button_clicked(self) -> None:
        if self._traj is None:
            return
        self.pause()
        t = int(self._traj["t"][self._step])
        self._keep_t = t
        s = self.run_settings()
        self.continue_requested.emit({"step_index": int(self._step), "t": t,
                                      "x_t": np.array(self._traj["xt"][self._step], copy=True),
                                      "sampler": s["sampler"], "steps": s["steps"],
                                      "eta": s["eta"], "seed": s["seed"]})

