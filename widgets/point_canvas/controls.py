"""Transport controls of the point canvas (a mixin of PointCanvasPanel): Play / Pause / Step,
the single-player D step and G step with their badge and counts, slow motion."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QAbstractSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QStyle,
                               QVBoxLayout)


STEP_KINDS = ("both", "discriminator", "generator")
BADGE_MS = 1600               # how long "D moved" / "G moved" stays on the canvas
PLAYER = {"discriminator": "D", "generator": "G"}


def phase_loss_text(losses: dict) -> str:
    """ "loss/d 0.693": the losses of one single-player step, without loss/total when it
    only repeats the player's own loss."""
    items = [(k, float(v)) for k, v in losses.items() if k.startswith("loss/")]
    own = [v for k, v in items if k != "loss/total"]
    shown = [(k, v) for k, v in items if not (k == "loss/total" and v in own)]
    return ", ".join(f"{k} {v:.3g}" for k, v in shown)


class ControlsMixin:
    """The transport (Play, Pause, Step, D step, G step, slow motion) and what a single-player
    step shows: the "D moved" / "G moved" badge, its losses, the step counts."""

    # -- construction ----------------------------------------------------------------------------

    def _build_transport(self, pv: QVBoxLayout) -> None:
        """The transport row: Play, Pause, Step, D step, G step and slow motion."""
        tr = QHBoxLayout()
        tr.setSpacing(4)
        style = self.style()
        self._play_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self._play_button.setObjectName("playButton")
        self._play_button.setToolTip("Train continuously")
        self._play_button.clicked.connect(self.play_requested)
        self._pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self._pause_button.setObjectName("pauseButton")
        self._pause_button.setToolTip("Pause training")
        self._pause_button.clicked.connect(self.pause_requested)
        self._step_button = QPushButton("Step")
        self._step_button.setObjectName("stepButton")
        self._step_button.setToolTip("One full training step")
        self._step_button.clicked.connect(lambda: self.step_requested.emit("both"))
        self._d_step_button = QPushButton("D step")
        self._d_step_button.setObjectName("dStepButton")
        self._d_step_button.clicked.connect(lambda: self.step_requested.emit("discriminator"))
        self._g_step_button = QPushButton("G step")
        self._g_step_button.setObjectName("gStepButton")
        self._g_step_button.clicked.connect(lambda: self.step_requested.emit("generator"))
        for b in (self._play_button, self._pause_button, self._step_button,
                  self._d_step_button, self._g_step_button):
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text())
                              + (34 if not b.icon().isNull() else 16))
            tr.addWidget(b)
        tr.addStretch(1)
        self._slow_label = QLabel("Slow motion")
        self._slow = QSpinBox()
        self._slow.setObjectName("slowMotionBox")
        self._slow.setRange(0, 5000)
        self._slow.setSingleStep(50)
        self._slow.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self._slow.setSuffix(" ms/step")
        self._slow.setSpecialValueText("full speed")
        self._slow.setKeyboardTracking(False)
        tip = "Delay after each training step, in milliseconds (full speed = no delay)"
        self._slow.setToolTip(tip)
        self._slow_label.setToolTip(tip)
        self._slow_label.setBuddy(self._slow)
        self._slow.valueChanged.connect(lambda v: self.slow_motion_changed.emit(int(v)))
        tr.addWidget(self._slow_label)
        tr.addWidget(self._slow)
        pv.addLayout(tr)

    def _build_badge(self) -> None:
        # "D moved" / "G moved": a widget over the canvas, so it stays put when the view pans
        self._moved_badge = QLabel(self._canvas.viewport())
        self._moved_badge.setObjectName("movedBadge")
        self._moved_badge.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._moved_badge.hide()
        self._badge_timer = QTimer(self)
        self._badge_timer.setSingleShot(True)
        self._badge_timer.setInterval(BADGE_MS)
        self._badge_timer.timeout.connect(self._moved_badge.hide)

    # -- public API ------------------------------------------------------------------------------

    def set_running(self, running: bool) -> None:
        """Training is running (Pause on, Play and the step buttons off) or not."""
        self._running = bool(running)
        self._update_transport()

    def is_running(self) -> bool:
        return self._running

    def set_phase_steps_available(self, available: bool) -> None:
        """Whether D step / G step make sense (only GANs train in two phases)."""
        self._phase_steps = bool(available)
        self._update_transport()

    def slow_motion(self) -> int:
        """Delay per step in ms (0 = full speed)."""
        return int(self._slow.value())

    def set_slow_motion(self, ms: int) -> None:
        """Set the delay without emitting slow_motion_changed (to restore a setting)."""
        self._slow.blockSignals(True)
        self._slow.setValue(int(ms))
        self._slow.blockSignals(False)

    def show_phase_step(self, kind: str, step: int, losses: dict) -> None:
        """A single-player step was taken at `step` ("discriminator" or "generator"), with
        its {name: value} metrics (the "loss/..." ones are shown)."""
        if kind not in PLAYER:
            raise ValueError(f"unknown player {kind!r}; choose 'discriminator' or 'generator'")
        step = int(step)
        if self._phase_step is not None and step != self._phase_step:
            self._reset_phase_counts()
        self._phase_step = step
        self._phase_counts[kind] += 1
        self._phase_totals[kind] += 1
        self._phase_last = kind
        loss = phase_loss_text(losses)
        self._phase_label.setText(f"{PLAYER[kind]} moved" + (f" \u00b7 {loss}" if loss else ""))
        self._update_step_text()
        self._style_phase()
        self._moved_badge.setText(f"{PLAYER[kind]} moved")
        self._moved_badge.adjustSize()
        self._place_badge()
        self._moved_badge.show()
        self._moved_badge.raise_()
        self._badge_timer.start()

    def phase_counts(self) -> dict[str, int]:
        """Single-player steps since the last full step: {"discriminator": n, "generator": m}."""
        return dict(self._phase_counts)

    def phase_text(self) -> str:
        """ "D moved · loss/d 0.693" after a single-player step; "" after a full step."""
        return self._phase_label.text()

    def moved_badge_visible(self) -> bool:
        return not self._moved_badge.isHidden()

    def moved_badge_text(self) -> str:
        return self._moved_badge.text()

    def step_text(self) -> str:
        return self._step_label.text()

    # -- look ------------------------------------------------------------------------------------

    def _palette_controls(self, muted: QColor) -> None:
        self._step_label.setStyleSheet(f"color: {muted.name()};")
        self._style_phase()

    # -- state -----------------------------------------------------------------------------------

    def _update_transport(self) -> None:
        run = self._running
        self._play_button.setEnabled(not run)
        self._pause_button.setEnabled(run)
        self._step_button.setEnabled(not run)
        for b, what in ((self._d_step_button, "discriminator"), (self._g_step_button, "generator")):
            b.setEnabled(not run and self._phase_steps)
            other = "generator" if what == "discriminator" else "discriminator"
            b.setToolTip(f"One update of the {what} only (the {other} stays frozen)"
                         if self._phase_steps else
                         "Only GANs train in separate discriminator / generator steps")

    def _reset_phase_counts(self) -> None:
        self._phase_step = None
        self._phase_counts = {"discriminator": 0, "generator": 0}
        self._phase_last = None
        self._phase_label.setText("")
        self._badge_timer.stop()
        self._moved_badge.hide()

    def _update_step_text(self) -> None:
        if self._frame is None:
            self._step_label.setText("")
        else:
            parts = [f"step {int(self._frame.step):,}"]
            for kind, n in self._phase_counts.items():
                if n:
                    parts.append(f"{n} {PLAYER[kind]} step{'s' if n != 1 else ''}")
            self._step_label.setText(" + ".join(parts))
        t = self._phase_totals
        self._step_label.setToolTip(
            "" if not any(t.values()) else
            "A step trains both players; D step and G step train one and leave the step "
            f"count alone. Single-player steps in this run: {t['discriminator']} D, "
            f"{t['generator']} G")

    def _style_phase(self) -> None:
        if self._phase_last is None:
            return
        colour = self._real_colour if self._phase_last == "discriminator" else self._fake_colour
        text = self.palette().color(QPalette.ColorRole.Base)
        self._phase_label.setStyleSheet(f"color: {colour.name()}; font-weight: bold;")
        f = self.font()
        self._moved_badge.setStyleSheet(
            f"QLabel {{ background: {colour.name()}; color: {text.name()}; border-radius: 4px; "
            f"padding: 3px 8px; font-weight: bold; font-size: {f.pointSizeF() * 1.25:.1f}pt; }}")

    def _place_badge(self) -> None:
        """Top left of the plot area (inside the axes)."""
        corner = self._canvas.mapFromScene(self._vb.sceneBoundingRect().topLeft())
        self._moved_badge.move(corner.x() + 8, corner.y() + 8)

