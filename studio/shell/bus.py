"""The GUI side of the mailbox: a timer on the GUI thread drains the engine host at ~30 Hz and
emits at most one Qt signal of each kind per frame."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from studio.core.host import EngineHost

# While a slider's decode is out (at most this long), the GUI takes only render results from
# the mailbox: painting plots (15-30 ms) would otherwise sit between the image and the screen.
INTERACTIVE_PRIORITY_S = 0.15


class TelemetryBus(QObject):
    metrics_appended = Signal(list)             # records {"step", "time", "loss/total", ...}
    samples_updated = Signal(int, object)       # step, float32 samples
    progress_updated = Signal(object)           # training.Progress
    state_changed = Signal(str, str, int)       # state, message, the model's step (-1: no run)
    status_message = Signal(str)                # progress text of a long host job
    run_changed = Signal(object)                # studio.core.snapshot.RunSnapshot
    render_ready = Signal(str, int, object)     # kind, stamp, result
    error_raised = Signal(str)
    evaluation_ready = Signal(dict)
    mode_records_appended = Signal(list)        # [(ModeRecord, samples, note)]
    mode_reset = Signal(object, list)           # unavailable reason or None, history
    job_finished = Signal(str, object)          # job name, result
    job_failed = Signal(str, str)               # job name, message
    _urgent = Signal()                          # emitted from the host thread, queued to us

    def __init__(self, host: EngineHost, fps: float = 30.0, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.host = host
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / fps))
        self._timer.timeout.connect(self._on_timer_timeout)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-job")
        self._jobs: list[tuple[str, Future]] = []
        # A render result wakes the GUI at once (a queued cross-thread signal, one per render,
        # never per step) so a slider move is not delayed by up to a timer period.
        self._urgent.connect(self._on_timer_timeout, Qt.QueuedConnection)
        host.mailbox.on_urgent = self._urgent.emit

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self.host.mailbox.on_urgent = None
        self._timer.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, name: str, fn: Callable[[], Any]) -> None:
        """Run a slow Qt-free job (a data set load, a folder scan) off the GUI thread."""
        self._jobs.append((name, self._pool.submit(fn)))

    def flush(self) -> None:
        self._on_timer_timeout()

    def _on_timer_timeout(self) -> None:
        mailbox = self.host.mailbox
        u = (mailbox.drain_renders() if self.host.interactive_render_pending(INTERACTIVE_PRIORITY_S)
             else mailbox.drain())
        # renders first: someone is waiting for them; plots and samples can be a frame late
        for kind, (stamp, result) in u.renders.items():
            self.render_ready.emit(kind, stamp, result)
        if u.run_changed is not None:
            self.run_changed.emit(u.run_changed)
        if not u.state and u.message:
            self.status_message.emit(u.message)
        if u.mode_reset is not None:
            self.mode_reset.emit(*u.mode_reset)
        if u.metrics:
            self.metrics_appended.emit(u.metrics)
        if u.mode_records:
            self.mode_records_appended.emit(u.mode_records)
        if u.samples is not None:
            self.samples_updated.emit(*u.samples)
        if u.progress is not None:
            self.progress_updated.emit(u.progress)
        if u.state:    # after samples and progress: the state's step is the newest news
            self.state_changed.emit(u.state, u.message, u.state_step)
        for text in u.errors:
            self.error_raised.emit(text)
        if u.evaluation is not None:
            self.evaluation_ready.emit(u.evaluation)
        if self._jobs:
            done = [(n, f) for n, f in self._jobs if f.done()]
            self._jobs = [(n, f) for n, f in self._jobs if not f.done()]
            for name, fut in done:
                if fut.cancelled():
                    continue
                err = fut.exception()
                if err is not None:
                    self.job_failed.emit(name, str(err) or type(err).__name__)
                else:
                    self.job_finished.emit(name, fut.result())
