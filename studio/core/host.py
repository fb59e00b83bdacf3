"""The engine host: the one thread that touches the engine and its trainer. Qt-free.

GUI thread -> host: commands through a queue (new/open run, train, pause, step, stop, save,
live values) and render requests through a slot per kind where the newest request wins.
Host -> GUI thread: a locked mailbox the GUI drains on a timer (~30 Hz). The host never
signals per step; it copies the latest metrics, samples, progress (its MailboxPoster, a
trainer callback) and render results into the mailbox, and the GUI takes at most one update
of each kind per frame. What the GUI knows of the open run comes in one RunSnapshot
(studio.core.snapshot), posted when a run is created or opened; the GUI never reads
`trainer` (tests/scenarios check it with a guard that fails on any access from another
thread).
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .config import RunConfig
from .device import keep_this_thread_serial
from .snapshot import RunSnapshot, snapshot_of
from .callbacks import Progress, ProgressReporter
from .training import Trainer


@dataclass
class RenderRequest:
    kind: str                 # a key of studio.core.renders.RENDERERS ("decode", "canvas", ...)
    payload: dict[str, Any]
    stamp: int


@dataclass
class Updates:
    """Everything that happened since the last drain."""
    metrics: list[dict[str, float]] = field(default_factory=list)
    samples: Optional[tuple[int, np.ndarray]] = None
    progress: Optional[Progress] = None
    state: Optional[str] = None
    message: str = ""
    run_changed: Optional[RunSnapshot] = None    # the run that was created or opened
    state_step: int = -1                         # the model's step when `state` was set
    renders: dict[str, tuple[int, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    evaluation: Optional[dict[str, float]] = None
    # Mode-collapse monitor: every record belongs in the history, so a list (not newest
    # wins) of (ModeRecord, samples, note); a reset (unavailable reason, history) per run.
    mode_records: list[tuple[Any, np.ndarray, str]] = field(default_factory=list)
    mode_reset: Optional[tuple[Optional[str], list]] = None

    def empty(self) -> bool:
        return not (self.metrics or self.samples or self.progress or self.state
                    or self.run_changed is not None
                    or self.renders or self.errors or self.evaluation or self.mode_records
                    or self.mode_reset)


class Mailbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._u = Updates()
        # Called (from the host thread) when something the user is waiting on arrives, such
        # as a render for a slider move, so the GUI need not wait for its next timer tick.
        self.on_urgent: Optional[Callable[[], None]] = None

    def put(self, fn: Callable[[Updates], None], urgent: bool = False) -> None:
        with self._lock:
            fn(self._u)
        if urgent and self.on_urgent is not None:
            self.on_urgent()

    def drain(self) -> Updates:
        with self._lock:
            u, self._u = self._u, Updates()
        return u

    def drain_renders(self) -> Updates:
        """Only the render results (and errors); everything else waits for the next drain."""
        with self._lock:
            u = Updates(renders=self._u.renders, errors=self._u.errors)
            self._u.renders, self._u.errors = {}, []
        return u


class MailboxPoster(ProgressReporter):
    """The trainer callback that feeds the GUI: progress (at most every 0.25 s), every
    metrics record and the newest fixed-z snapshot, copied into the host's mailbox on the
    training thread; the bus drains them on its timer."""

    def __init__(self, mailbox: Mailbox):
        super().__init__(lambda p: mailbox.put(lambda u: setattr(u, "progress", p)))
        self.mailbox = mailbox

    def on_log(self, trainer: Trainer, record: dict[str, float]) -> None:
        self.mailbox.put(lambda u: u.metrics.append(record))

    def on_snapshot(self, trainer: Trainer, step: int, samples: np.ndarray) -> None:
        self.mailbox.put(lambda u: setattr(u, "samples", (step, samples)))


class EngineHost:
    # Renders a person is waiting on with a hand on the mouse (a latent slider's decode):
    # while one is out, the GUI drains only renders (see interactive_render_pending).
    INTERACTIVE_RENDERS = frozenset({"decode"})
    IDLE, LOADING, RUNNING, PAUSED, FINISHED, STOPPED, FAILED = (
        "idle", "loading", "running", "paused", "finished", "stopped", "failed")

    def __init__(self, renderer: Optional[Callable[[Trainer, RenderRequest], Any]] = None,
                 reserve_cpu_for_gui: bool = True):
        from .renders import render
        self._render_fn = renderer or render
        self._reserve = reserve_cpu_for_gui
        self._commands: "queue.Queue[tuple[str, tuple]]" = queue.Queue()
        self._renders: dict[str, RenderRequest] = {}
        # which run each pending render was asked for (counts the runs opened or created)
        self._run_generation = 0
        self._render_generation: dict[str, int] = {}
        self._render_lock = threading.Lock()
        self._stamp = 0
        self._interactive_since: Optional[float] = None
        self.mailbox = Mailbox()
        self.trainer: Optional[Trainer] = None       # touched only on the host thread
        self.state = self.IDLE                       # written only on the host thread
        self._want_running = False
        self._step_budget = 0
        self._pending_live: dict[tuple[str, str], Any] = {}
        self._deferred: Optional[tuple[str, tuple]] = None
        self._step_delay_s = 0.0                    # slow motion: a pause after every step
        self._poster = MailboxPoster(self.mailbox)  # the GUI's view of training (a callback)
        self.mode_monitor = None                    # studio.core.mode_monitor.RunMonitor or None
        # Scoring a snapshot takes 30-50 ms of evaluator work: on the host thread it held up
        # renders (a slider move waited for it), so the monitor runs it on its own serial
        # thread (one torch thread: a second OpenMP team would slow every training op, see
        # studio.core.device.keep_this_thread_serial), in order, one snapshot after another.
        self._side = ThreadPoolExecutor(1, thread_name_prefix="mode-monitor",
                                        initializer=keep_this_thread_serial)
        self._side.submit(lambda: None).result()    # its thread set up now, before any training
        self._thread = threading.Thread(target=self._loop, name="engine-host", daemon=True)
        self._stopped = threading.Event()

    # -- GUI thread API ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def new_run(self, config: RunConfig, run_dir: str | Path) -> None:
        self._send("new_run", config, Path(run_dir))

    def open_run(self, run_dir: str | Path) -> None:
        self._send("open_run", Path(run_dir))

    def train(self) -> None:
        self._send("train")

    def pause(self) -> None:
        self._send("pause")

    def step(self, n: int = 1) -> None:
        self._send("step", n)

    def stop(self) -> None:
        self._send("stop")

    def step_phase(self, phase: str) -> None:
        """One inner step of one player only ("discriminator" or "generator"), for engines
        with separate phases (GANs); applies when training is not running."""
        self._send("phase", phase)

    def set_step_delay(self, ms: float) -> None:
        """Slow motion: wait this long after every training step (0 = full speed). Renders
        and commands are still served during the wait."""
        self._send("delay", float(ms))

    def save(self) -> None:
        self._send("save")

    def set_live(self, section: str, key: str, value: Any) -> None:
        """A value that may change mid-run (learning rate, loss weights); applies next step."""
        self._send("live", section, key, value)

    def evaluate(self, n: int = 10000, seed: int = 0) -> None:
        """Every metric that applies (studio.core.evaluation), saved to the run's evaluations.jsonl."""
        self._send("evaluate", n, seed)

    def call(self, fn: Callable[[Optional[Trainer]], Any]) -> None:
        """Run fn(trainer) on the host thread (for one-off jobs like export)."""
        self._send("call", fn)

    def request_render(self, kind: str, **payload: Any) -> int:
        """Queue a render; a newer request of the same kind replaces an unserved one."""
        with self._render_lock:
            self._stamp += 1
            self._renders[kind] = RenderRequest(kind, payload, self._stamp)
            self._render_generation[kind] = self._run_generation
            stamp = self._stamp
            if kind in self.INTERACTIVE_RENDERS and self._interactive_since is None:
                self._interactive_since = time.perf_counter()
        self._commands.put(("wake", ()))
        return stamp

    def interactive_render_pending(self, within_s: float) -> bool:
        """True while an interactive render asked for less than `within_s` ago is unserved:
        the GUI then leaves plots and samples for later, so painting them does not delay
        the image the user is waiting for."""
        since = self._interactive_since
        return since is not None and time.perf_counter() - since < within_s

    def shutdown(self, timeout: float = 3.0) -> bool:
        """Stop training (saving a checkpoint) and join the thread. True if it ended."""
        self._send("quit")
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _send(self, name: str, *args: Any) -> None:
        self._commands.put((name, args))

    # -- host thread ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopped.is_set():
            training = self._want_running and self.trainer is not None
            if self._deferred is not None:
                (name, args), self._deferred = self._deferred, None
            else:
                try:
                    name, args = (self._commands.get_nowait() if training
                                  else self._commands.get(timeout=0.1))
                except queue.Empty:
                    name = None
            if name is not None:
                self._handle(name, args)
                self._serve_renders()
                continue          # every waiting command is handled before training resumes
            if training:
                self._train_chunk()

    def _handle(self, name: str, args: tuple) -> bool:
        """Run one command. Returns True if training must stop to act on it."""
        try:
            return getattr(self, f"_cmd_{name}")(*args)
        except Exception as e:  # noqa: BLE001 - a failure must never kill the host thread
            self._fail(e)
            return True

    def _between_steps(self) -> bool:
        """Called by the training loop after every step: serve renders and commands (and, in
        slow motion, keep serving them until the step's delay has passed)."""
        deadline = time.perf_counter() + self._step_delay_s
        while True:
            self._serve_renders()
            remaining = deadline - time.perf_counter()
            try:
                name, args = (self._commands.get(timeout=remaining) if remaining > 0
                              else self._commands.get_nowait())
            except queue.Empty:
                return False
            if name in ("wake", "live", "save", "evaluate", "call", "delay"):
                self._handle(name, args)
                continue
            self._deferred = (name, args)   # handled by the loop once training has yielded
            return True

    def _train_chunk(self) -> None:
        t = self.trainer
        assert t is not None
        if self._pending_live:            # training goes on: now the edits take effect
            self._apply_pending_live()
        target = t.config.run.steps if not self._step_budget else t.step + self._step_budget
        if t.step >= target:
            self._want_running = False
            self._set_state(self.FINISHED, f"finished at step {t.step}")
            return
        self._set_state(self.RUNNING)
        callbacks = [self._poster] + ([self.mode_monitor] if self.mode_monitor is not None else [])
        try:
            result = t.train(until=target, callbacks=callbacks, should_abort=self._between_steps)
        except Exception as e:  # noqa: BLE001
            self._want_running = False
            self._fail(e)
            return
        if result.reason == "finished":
            self._want_running = False
            self._step_budget = 0
            if t.step >= t.config.run.steps:
                self._set_state(self.FINISHED, f"finished at step {t.step}")
            else:
                self._mark_paused()
        elif result.reason == "nonfinite":
            self._want_running = False
            self._set_state(self.PAUSED, result.message)
        # "aborted": a command is waiting; the loop handles it next

    def wait_for_monitor(self, timeout: Optional[float] = None) -> None:
        """Until every snapshot handed to the mode-collapse monitor is scored."""
        if self.mode_monitor is not None:
            self.mode_monitor.wait(timeout)

    def _start_monitor(self) -> None:
        """A mode-collapse monitor for image runs, with the run's history up to its step. A
        trainer callback (as in `genstudio train`) that scores each snapshot on the side
        thread; its records follow the snapshot into the mailbox in a later update."""
        from .mode_monitor import RunMonitor
        self.wait_for_monitor()        # the previous run's last records are written first
        self.mode_monitor = None
        if self.trainer is None:
            return

        def on_record(rec: Any, x: np.ndarray, note: str) -> None:
            if mon is self.mode_monitor:              # not a run replaced since
                self.mailbox.put(lambda u: u.mode_records.append((rec, x, note)))

        def on_error(e: Exception) -> None:           # the monitor must never stop training
            self.mailbox.put(lambda u: u.errors.append(f"mode monitor: {e}"))

        mon = RunMonitor(self.trainer, executor=self._side, on_record=on_record, on_error=on_error)
        self.mode_monitor = mon if mon.monitor is not None else None
        reason, history = mon.reason, mon.history
        self.mailbox.put(lambda u: setattr(u, "mode_reset", (reason, history)))

    def _mark_paused(self, message: str = "") -> None:
        if self.trainer is not None and self.trainer.run is not None:
            self.trainer.run.write_status("paused", message, self.trainer.step)
        self._set_state(self.PAUSED, message)

    def _serve_renders(self) -> None:
        with self._render_lock:
            pending, self._renders = self._renders, {}
            stale = {k for k in pending if self._render_generation.get(k) != self._run_generation}
        for kind, req in pending.items():
            try:
                result = self._render_fn(self.trainer, req) if self.trainer is not None else None
            except Exception as e:  # noqa: BLE001
                # a render asked for the run this one replaced (a codes view of an image run,
                # served on a run of points) may not apply here: no error for what nobody
                # asked of this run
                if kind not in stale:
                    self.mailbox.put(lambda u, e=e: u.errors.append(f"render {kind} failed: {e}"))
                continue
            if result is not None:
                self.mailbox.put(lambda u, k=kind, s=req.stamp, r=result: u.renders.__setitem__(k, (s, r)),
                                 urgent=True)
        with self._render_lock:
            if not self.INTERACTIVE_RENDERS.intersection(self._renders):
                self._interactive_since = None

    def _set_state(self, state: str, message: str = "") -> None:
        if state in (self.PAUSED, self.FINISHED, self.STOPPED, self.FAILED):
            self.wait_for_monitor(timeout=5.0)  # who waits for the state finds every record in
        self.state = state
        step = self.trainer.step if self.trainer is not None else -1
        self.mailbox.put(lambda u: (setattr(u, "state", state), setattr(u, "message", message),
                                    setattr(u, "state_step", step)))

    def _fail(self, e: BaseException) -> None:
        text = "".join(traceback.format_exception_only(type(e), e)).strip()
        detail = traceback.format_exc()
        self._want_running = False
        if self.trainer is not None and self.trainer.run is not None:
            try:
                self.trainer.run.write_status("failed", text, self.trainer.step)
            except OSError:
                pass
        self.mailbox.put(lambda u: u.errors.append(f"{text}\n\n{detail}"))
        self._set_state(self.FAILED, text)

    # -- commands (host thread) ----------------------------------------------------------------------
    def _cmd_wake(self) -> bool:
        return False

    def _replace_trainer(self, make: Callable[[], Trainer]) -> bool:
        self._finish_current()
        self._pending_live.clear()
        self._set_state(self.LOADING)
        self.trainer = None
        self.trainer = make()
        self._start_monitor()
        samples = self.trainer.preview()
        step = self.trainer.step
        snapshot = snapshot_of(self.trainer)
        with self._render_lock:
            self._run_generation += 1
        self.mailbox.put(lambda u: (setattr(u, "run_changed", snapshot),
                                    setattr(u, "samples", (step, samples))))
        status = self.trainer.run.status() if self.trainer.run is not None else {}
        done = step >= self.trainer.config.run.steps
        # the state comes last: whoever waits for it finds the run and its samples already in
        message = status.get("message", "")
        if self.trainer.checkpoint_notes:      # a newer checkpoint was damaged: say which and why
            message = (f"opened at the checkpoint of step {step}; "
                       + "; ".join(self.trainer.checkpoint_notes))
        self._set_state(self.FINISHED if done else (self.PAUSED if step else self.IDLE), message)
        return True

    def _cmd_new_run(self, config: RunConfig, run_dir: Path) -> bool:
        return self._replace_trainer(lambda: Trainer.create(config, run_dir,
                                                            reserve_cpu_for_gui=self._reserve))

    def _cmd_open_run(self, run_dir: Path) -> bool:
        return self._replace_trainer(lambda: Trainer.resume(run_dir, reserve_cpu_for_gui=self._reserve))

    def _has_run(self) -> bool:
        """Whether a run is open to train; raises without one, unless the run just failed to
        open (the window's Train is new_run + train: that failure was already said once)."""
        if self.trainer is not None:
            return True
        if self.state == self.FAILED:
            return False
        raise RuntimeError("no run: create or open a run first")

    def _cmd_train(self) -> bool:
        if not self._has_run():
            return False
        steps = int(self._pending_live.get(("run", "steps"), self.trainer.config.run.steps))
        if self.trainer.step >= steps:
            self._set_state(self.FINISHED, f"this run has finished its {steps:,} steps: raise "
                                           f"Steps to train it further, or start a new run")
            return False
        self._step_budget = 0
        self._want_running = True
        return False

    def _cmd_pause(self) -> bool:
        if self._want_running:
            self._want_running = False
            self._step_budget = 0
            self._mark_paused()
        return True

    def _cmd_step(self, n: int) -> bool:
        if not self._has_run():
            return False
        if not self._want_running:
            self._step_budget = max(1, n)
            self._want_running = True
        return False

    def _cmd_stop(self) -> bool:
        self._want_running = False
        self._step_budget = 0
        if self.trainer is not None:
            if self.trainer.unsaved:
                self.trainer.save_checkpoint()
            if self.trainer.run is not None:
                self.trainer.run.write_status("stopped", "stopped by the user", self.trainer.step)
            self._set_state(self.STOPPED, f"stopped at step {self.trainer.step}")
        return True

    def _cmd_save(self) -> bool:
        if self.trainer is not None:
            self.trainer.flush_metrics()
            self.trainer.save_checkpoint()
        return False

    def _cmd_live(self, section: str, key: str, value: Any) -> bool:
        """While training runs, a live value applies from the next step and is recorded in
        the run. Otherwise it waits until training goes on with it: editing the form for
        the next run must not change a run that is not training."""
        if self.trainer is None:
            return False
        self._pending_live[(section, key)] = value
        if self._want_running:
            self._apply_pending_live()
        return False

    def _apply_pending_live(self) -> None:
        t = self.trainer
        changes = {}
        for (section, key), value in self._pending_live.items():
            changed = t.apply_live(section, key, value) if t is not None else None
            if changed is not None:
                changes[f"{section}.{key}"] = changed
        self._pending_live.clear()
        if t is not None:
            t.record_live_changes(changes)

    def _cmd_evaluate(self, n: int = 10000, seed: int = 0) -> bool:
        from .evaluation import evaluate
        t = self.trainer
        if t is None:
            return False
        self.trainer.flush_metrics()
        metrics = evaluate(t, n=n, seed=seed, progress=lambda s: self.mailbox.put(
            lambda u: setattr(u, "message", f"Evaluating: {s}...")))
        record = {"run": str(t.run.path) if t.run else "", "engine": t.engine.name,
                  "step": t.step, "seed": seed, "n": n, **metrics}
        if t.run is not None:
            t.run.append_evaluation(record)
        self.mailbox.put(lambda u: setattr(u, "evaluation", record), urgent=True)
        return False

    def _cmd_delay(self, ms: float) -> bool:
        self._step_delay_s = max(0.0, min(float(ms), 5000.0)) / 1000.0
        return False

    def _cmd_phase(self, phase: str) -> bool:
        t = self.trainer
        if t is None:
            raise RuntimeError("no run: create or open a run first")
        if self._want_running:
            return False                 # the buttons are disabled while training runs
        out = t.train_phase(phase)
        samples, step = t.preview(), t.step
        values = {k: float(v) for k, v in out.items()}
        text = f"one {phase} step: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()
                                                 if k.startswith("loss/"))
        self.mailbox.put(lambda u: (setattr(u, "samples", (step, samples)),
                                    setattr(u, "message", text)), urgent=True)
        return False

    def _cmd_call(self, fn: Callable[[Optional[Trainer]], Any]) -> bool:
        fn(self.trainer)
        return False

    def _finish_current(self) -> None:
        """Save what trained since the last checkpoint; a run only viewed is left as it is."""
        if self.trainer is not None and self.trainer.unsaved:
            self.trainer.flush_metrics()
            self.trainer.save_checkpoint()

    def _cmd_quit(self) -> bool:
        self._want_running = False
        try:
            self.wait_for_monitor(timeout=1.0)
            self._side.shutdown(wait=False, cancel_futures=True)
            self._finish_current()
            if self.trainer is not None and self.trainer.run is not None and self.state == self.RUNNING:
                self.trainer.run.write_status("stopped", "window closed", self.trainer.step)
        finally:
            self._stopped.set()
        return True
