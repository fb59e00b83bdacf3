"""The scrubber's transport (a mixin of DiffusionScrubberPanel): the step slider and
playback forwards or backwards at a chosen speed."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QSpinBox,
                               QStyle, QVBoxLayout)


NO_STEPS_TEXT = "no trajectory yet"
FPS_DEFAULT, FPS_MIN, FPS_MAX = 20, 5, 60


class TransportMixin:
    """Scrubbing the steps: the slider, Play / Reverse / Pause at 5-60 steps per second."""

    # -- construction ----------------------------------------------------------------------------

    def _build_transport(self, pv: QVBoxLayout) -> None:
        """The step slider, Reverse / Pause / Play with the speed, the noise-error readout."""
        transport = QVBoxLayout()
        transport.setContentsMargins(0, 0, 0, 0)
        transport.setSpacing(2)
        scrub_row, play_row = QHBoxLayout(), QHBoxLayout()
        scrub_row.setSpacing(6)
        play_row.setSpacing(6)
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setObjectName("stepSlider")
        self._slider.setRange(0, 0)
        self._slider.setToolTip("Scrub through the steps of the trajectory")
        self._slider.valueChanged.connect(self._on_slider_value_changed)
        self._slider.sliderPressed.connect(self.pause)
        self._step_label = QLabel(NO_STEPS_TEXT)
        self._step_label.setObjectName("stepLabel")
        self._step_label.setMinimumWidth(
            self._step_label.fontMetrics().horizontalAdvance("step 999 / 999, t = 1000") + 4)
        self._step_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        scrub_row.addWidget(self._slider, 1)
        scrub_row.addWidget(self._step_label)
        style = self.style()
        play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        reverse_icon = play_icon.pixmap(QSize(16, 16)).transformed(QTransform().scale(-1, 1))
        self._reverse_button = QPushButton(reverse_icon, "Reverse")
        self._reverse_button.setObjectName("reverseButton")
        self._reverse_button.setToolTip("Play backwards (towards the first step)")
        self._reverse_button.clicked.connect(self.reverse)
        self._pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self._pause_button.setObjectName("pauseButton")
        self._pause_button.clicked.connect(self.pause)
        self._play_button = QPushButton(play_icon, "Play")
        self._play_button.setObjectName("playButton")
        self._play_button.setToolTip("Play forwards (towards the last step)")
        self._play_button.clicked.connect(self.play)
        self._fps = QSpinBox()
        self._fps.setObjectName("fpsBox")
        self._fps.setRange(FPS_MIN, FPS_MAX)
        self._fps.setValue(FPS_DEFAULT)
        self._fps.setSuffix(" fps")
        self._fps.setToolTip("Playback speed, steps per second")
        self._fps.valueChanged.connect(self._set_fps_interval)
        self._error_label = QLabel()
        self._error_label.setObjectName("errorReadout")
        self._error_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._error_label.setWordWrap(True)
        self._error_label.setToolTip(
            "How far the model's noise guess is from the noise actually added at this t: mean "
            "squared error over the images (and of the selected one). 0 is perfect; guessing "
            "zero noise scores about 1.")
        self._error_label.hide()
        for b in (self._reverse_button, self._pause_button, self._play_button):
            play_row.addWidget(b)
        play_row.addStretch(1)
        play_row.addWidget(self._fps)
        transport.addLayout(scrub_row)
        transport.addLayout(play_row)
        transport.addWidget(self._error_label)
        pv.addLayout(transport)

    # -- public API ------------------------------------------------------------------------------

    def current_step(self) -> int:
        """Index of the step on screen (0..S-1)."""
        return self._step

    def current_t(self) -> Optional[int]:
        return None if self._traj is None else int(self._traj["t"][self._step])

    def step_count(self) -> int:
        return 0 if self._traj is None else len(self._traj["t"])

    def set_step(self, i: int) -> None:
        """Show step i (clamped), as the slider would."""
        if self._traj is None:
            return
        self._slider.setValue(int(np.clip(int(i), 0, self.step_count() - 1)))

    def is_playing(self) -> bool:
        return self._timer.isActive()

    def play(self) -> None:
        """Play towards the last step (from the first when already at the end)."""
        self._start(+1)

    def reverse(self) -> None:
        """Play towards the first step (from the last when already at the start)."""
        self._start(-1)

    def pause(self) -> None:
        self._timer.stop()
        self._update_enabled()

    def step_text(self) -> str:
        return self._step_label.text()

    def error_text(self) -> str:
        """The noise-error readout on screen ("" when the trajectory has no truth)."""
        return "" if self._error_label.isHidden() else self._error_label.text()

    def fps(self) -> int:
        return int(self._fps.value())

    def set_fps(self, fps: int) -> None:
        self._fps.setValue(int(fps))

    # -- transport -------------------------------------------------------------------------------

    def _set_slider(self, value: int, maximum: int) -> None:
        self._slider.blockSignals(True)
        self._slider.setRange(0, max(0, maximum))
        self._slider.setValue(value)
        self._slider.blockSignals(False)

    def _on_slider_value_changed(self, value: int) -> None:
        self._show_step(int(value))

    def _start(self, direction: int) -> None:
        n = self.step_count()
        if n < 2:
            return
        self._direction = direction
        if direction > 0 and self._step >= n - 1:
            self.set_step(0)
        elif direction < 0 and self._step <= 0:
            self.set_step(n - 1)
        self._timer.start()
        self._update_enabled()

    def _set_fps_interval(self, *_args) -> None:
        self._timer.setInterval(max(1, round(1000 / self._fps.value())))

    def _on_timer_timeout(self) -> None:
        n = self.step_count()
        nxt = self._step + self._direction
        if n == 0 or nxt < 0 or nxt > n - 1:
            self.pause()
            return
        self.set_step(nxt)
        if nxt in (0, n - 1):
            self.pause()

