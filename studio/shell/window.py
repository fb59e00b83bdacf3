"""The studio's main window: the frame around the panels (menus, toolbar, docks, status bar)
and the run's life (new, open, train, pause, step, stop, continuity).

The window owns the EngineHost (training thread) and the TelemetryBus (GUI timer). It builds
the docks and their controllers from the panel registry (studio.shell.panels) and is the
Session they use (studio.shell.session): the open run as a RunSnapshot, host requests, and
the frame's services. Panels get numpy arrays and view models; every engine call goes
through the host, and the window never reads the host's trainer.
"""
from __future__ import annotations

import copy
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow,
                               QMessageBox, QToolBar, QWidget)

from studio import __version__
from studio.core.config import ConfigError, config_from_dict, live_keys, structural_changes
from studio.core.data import DataError
from studio.core.device import keep_this_thread_serial
from studio.core.example_runs import copy_example_run, list_example_runs
from studio.core.export import provenance
from studio.core.host import EngineHost
from studio.core.paths import DOCS
from studio.core.presets import examples_dir, list_presets, load_preset
from studio.core.runs import Run
from studio.core.snapshot import RunSnapshot
from widgets.viewmodels import RunInfo

from .bus import TelemetryBus
from .controllers.base import Controller
from .gui_gc import gui_thread_collector
from .panels import PANELS
from .presenters import (data_problem, engine_infos, optim_fields, picked_image, run_fields,
                         source_infos)
from .session import RenderRouter
from .theme import THEMES, apply_theme

LAYOUT_VERSION = 4      # 3: the Codes dock; 4: the Translation dock
RECENT_RUNS = 10
EXPORT_SCALES = (1, 2, 4, 8)
PRESENTATION_FONT_SCALE = 1.5
USER_GUIDE = DOCS / "user-guide.md"
GIL_SWITCH_INTERVAL_S = 0.0005


def default_runs_dir() -> Path:
    return Path(os.environ.get("GENSTUDIO_RUNS_DIR", Path.home() / "GenerativeStudio" / "runs"))


class MainWindow(QMainWindow):
    # Past-participle signals so tests (and future plugins) can wait on what happened.
    run_state_changed = Signal(str)
    export_written = Signal(list)
    decoded_shown = Signal(int)

    def __init__(self, settings: Optional[QSettings] = None, runs_dir: Optional[Path] = None,
                 host: Optional[EngineHost] = None):
        super().__init__()
        keep_this_thread_serial()            # before any torch op on the GUI thread
        # Before any thread starts: from here on Qt garbage dies on this thread only.
        gui_thread_collector().acquire()
        self._holds_collector = True
        self.setObjectName("MainWindow")
        self.setWindowTitle("Generative Studio")
        self.settings = settings or QSettings("GenerativeStudio", "GenerativeStudio")
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.host = host or EngineHost()
        self.bus = TelemetryBus(self.host, parent=self)
        self.state = "idle"
        self.run_info = RunInfo()
        self.run_config = None               # config of the open run
        self.run_path: Optional[Path] = None
        self.snapshot: Optional[RunSnapshot] = None   # the open run, as the host last posted it
        self.renders = RenderRouter()        # render results, by kind, to the controller that owns it
        self.eval_samples = 10000             # samples scored by Evaluate (as genstudio eval)
        self._before_presentation: Optional[tuple] = None   # layout, full screen, font

        self._build_panels()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._restore_layout()
        self._update_actions()

        # The training thread needs the GIL back after every torch op; with the default 5 ms
        # switch interval a busy GUI thread (plot redraws) makes it wait up to 5 ms each time.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        self.host.start()
        self.bus.start()
        self.load_data("mnist", {})
        QTimer.singleShot(0, self._restore_session)

    # -- construction ---------------------------------------------------------------------------
    def _build_panels(self) -> None:
        """Every dock from the registry (studio.shell.panels), then the default layout."""
        centre = QWidget()
        centre.setMaximumSize(0, 0)
        self.setCentralWidget(centre)
        self.setDockNestingEnabled(True)
        self.panels: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}     # by the panel's object name
        for spec in PANELS:
            panel = spec.panel()
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(panel.objectName() + "Dock")
            dock.setWidget(panel)
            dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                             | QDockWidget.DockWidgetClosable)
            self.addDockWidget(spec.area, dock)
            self.panels[spec.key] = panel
            self.docks[panel.objectName()] = dock
        p = self.panels
        self.data_panel, self.controls_panel, self.plots_panel = p["data"], p["run"], p["plots"]
        self.gallery_panel, self.latent_panel, self.eval_panel = p["gallery"], p["latent"], p["evaluation"]
        self.scrubber_panel, self.canvas_panel = p["diffusion"], p["canvas"]
        self.modes_panel, self.codes_panel = p["modes"], p["codes"]
        self.controls_panel.set_engines(engine_infos())
        self.controls_panel.set_run_fields(list(run_fields()))
        self.controls_panel.set_optim_fields(list(optim_fields()))
        self.data_panel.set_sources(source_infos())
        self.controls_panel.set_presets([(p.name, p.description) for p in list_presets()])

        d = self.docks
        self.splitDockWidget(d["SampleGalleryPanel"], d["RunControlsPanel"], Qt.Horizontal)
        self.splitDockWidget(d["SampleGalleryPanel"], d["LivePlotsPanel"], Qt.Vertical)
        self.tabifyDockWidget(d["RunControlsPanel"], d["LatentExplorerPanel"])
        self.tabifyDockWidget(d["LatentExplorerPanel"], d["EvaluationTable"])
        # One tab group only: a second group tabified after the splits leaves a stale tab
        # bar painted mid-window (Qt 6.11).
        self.tabifyDockWidget(d["EvaluationTable"], d["DiffusionScrubberPanel"])
        self.tabifyDockWidget(d["DiffusionScrubberPanel"], d["PointCanvasPanel"])
        self.tabifyDockWidget(d["PointCanvasPanel"], d["ModeCollapsePanel"])
        self.tabifyDockWidget(d["ModeCollapsePanel"], d["CodesViewPanel"])
        self.tabifyDockWidget(d["CodesViewPanel"], d["FlowViewPanel"])
        self.tabifyDockWidget(d["FlowViewPanel"], d["TranslationViewPanel"])
        d["RunControlsPanel"].raise_()
        self.resizeDocks([d["DataBrowserPanel"], d["SampleGalleryPanel"], d["RunControlsPanel"]],
                         [330, 620, 360], Qt.Horizontal)
        self.resizeDocks([d["SampleGalleryPanel"], d["LivePlotsPanel"]], [430, 330], Qt.Vertical)

    def _build_controllers(self) -> None:
        """One controller per panel of the registry that has one; the data controller first,
        so every other sees the run's data set when a run opens."""
        self.controllers: dict[str, Controller] = {}
        for spec in PANELS:
            if spec.controller is not None:
                self.controllers[spec.key] = spec.controller(self, self.panels[spec.key])
        c = self.controllers
        self.data, self.gallery, self.plots = c["data"], c["gallery"], c["plots"]
        self.latent, self.evaluation, self.diffusion = c["latent"], c["evaluation"], c["diffusion"]
        self.canvas, self.modes, self.codes = c["canvas"], c["modes"], c["codes"]
        # what one panel sends to another
        self.gallery_panel.sample_clicked.connect(self.latent.explore_sample)
        self.data_panel.image_picked.connect(self._on_image_picked)
        self.codes.code_clicked.connect(self.latent.explore)
        self.latent.decoded_shown.connect(self.decoded_shown)
        self.data.dataset_shown.connect(self._on_dataset_shown)

    def _on_image_picked(self, index: int) -> None:
        """A thumbnail double-clicked in the browser: the panels that take data images get
        it (an unpaired set's thumbnails alternate its two domains; only the target domain
        is what one-sided models train on)."""
        side, k = picked_image(self.browser_dataset, index)
        if side == "target":
            self.latent.encode_data_image(k)
            self.controllers["flow"].pick_image(k)
        self.controllers["translation"].pick_image(k, side)

    def _on_dataset_shown(self, dataset: Any) -> None:
        for c in self.controllers.values():
            c.on_dataset(dataset)

    def _action(self, text: str, slot, shortcut: Any = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(f"{tip or text} ({QKeySequence(shortcut).toString()})" if shortcut else (tip or text))
        a.setStatusTip(tip or text)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        self.act_train = self._action("Train", self.on_train, "F5", "Start training (a new run if none is open)")
        self.act_pause = self._action("Pause", self.on_pause, "F6", "Pause training (saves a checkpoint)")
        self.act_resume = self._action("Resume", self.on_resume, "F7", "Resume the paused run")
        self.act_step = self._action("Step", self.on_step, "F10", "Run a single training step")
        self.act_stop = self._action("Stop", self.on_stop, "Shift+F5", "Stop and save")
        self.act_new = self._action("New run", self.on_new_run, QKeySequence.New,
                                    "Start a fresh run from the current settings")
        self.act_open = self._action("Open run...", self.on_open_run, QKeySequence.Open,
                                     "Open a run folder (also ones trained by genstudio train)")
        self.act_save = self._action("Save checkpoint", self.host.save, QKeySequence.Save)
        self.act_open_example = self._action("Open example run...", self.on_open_example_run, None,
                                             "Ready-trained runs shipped with the studio: a copy "
                                             "opens at once and can train on")
        self.act_open_config = self._action("Open config...", self.on_open_config, "Ctrl+Shift+O",
                                            "Fill the Run panel and data set from a TOML config "
                                            "(e.g. examples/*.toml); Train starts it")
        self.act_export_grid = self._action("Sample grid (PNG)...", lambda: self.gallery.export_grid())
        self.act_export_each = self._action("Individual samples (PNGs)...", lambda: self.gallery.export_individual())
        self.act_export_gif = self._action("Interpolation (GIF)...", lambda: self.latent.export_gif())
        self.act_export_z = self._action("Latent vectors (.npy)...", lambda: self.latent.export_latents())
        self.act_export_config = self._action("Export config...", self.on_export_config)
        self.act_export_csv = self._action("Curves (CSV)...", lambda: self.plots.export_csv(), None,
                                           "Every metric of the open run, one row per step")
        self.act_compare = self._action("Compare with run...", lambda: self.plots.compare())
        self.act_evaluate = self._action("Evaluate", self.on_evaluate, "Ctrl+E",
                                         "Every metric that applies, on 10,000 samples")
        self.act_quit = self._action("Quit", self.close, QKeySequence.Quit)
        self.act_reset_layout = self._action("Reset layout", self.reset_layout)
        self.act_about = self._action("About Generative Studio", self.on_about)
        self.act_user_guide = self._action("User guide", self.on_user_guide, QKeySequence.HelpContents,
                                           "How to use the studio (docs/user-guide.md)")
        self.act_presentation = self._action("Presentation mode", self.toggle_presentation, "F11",
                                             "Full screen, larger fonts, one panel large (F11 or "
                                             "Esc to leave)")
        self.act_presentation.setCheckable(True)
        self.act_rename = self._action("Rename run...", self.on_rename_run, "F2",
                                       "Give the open run a name (shown in the title and comparisons)")
        self.act_notes = self._action("Run notes...", self.on_edit_notes, None,
                                      "Notes about the open run, kept in its folder (about.json)")

    def _build_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        file = mb.addMenu("&File")
        for a in (self.act_new, self.act_open, self.act_open_example, self.act_open_config):
            file.addAction(a)
        self.examples_menu = file.addMenu("New run from example")
        for preset in list_presets():
            a = self.examples_menu.addAction(preset.name)
            a.setToolTip(preset.description)
            a.setStatusTip(preset.description)
            a.triggered.connect(lambda _=False, n=preset.name: self.new_run_from_example(n))
        self.examples_menu.setToolTipsVisible(True)
        self.recent_menu = file.addMenu("Recent runs")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file.addAction(self.act_save)
        file.addSeparator()
        export = file.addMenu("Export images")
        for a in (self.act_export_grid, self.act_export_each, self.act_export_gif, self.act_export_z,
                  self.act_export_csv):
            export.addAction(a)
        export.addSeparator()
        scale_menu = export.addMenu("Scale for slides")
        scale_group = QActionGroup(self)
        for k in EXPORT_SCALES:
            a = QAction(f"{k}x (nearest neighbour)" if k > 1 else "1x (as trained)", self,
                        checkable=True)
            a.setChecked(k == self.export_scale())
            a.triggered.connect(lambda _=False, k=k: self.settings.setValue("export_scale", k))
            scale_group.addAction(a)
            scale_menu.addAction(a)
        self.scale_actions = scale_group.actions()
        file.addAction(self.act_export_config)
        file.addAction(self.act_compare)
        file.addSeparator()
        file.addAction(self.act_quit)

        run = mb.addMenu("&Run")
        for a in (self.act_train, self.act_pause, self.act_resume, self.act_step, self.act_stop):
            run.addAction(a)
        run.addSeparator()
        run.addAction(self.act_evaluate)
        run.addSeparator()
        run.addAction(self.act_rename)
        run.addAction(self.act_notes)

        view = mb.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self.act_presentation)
        self.presentation_menu = view.addMenu("Presentation panel")
        pres_group = QActionGroup(self)
        for key, dock in self.docks.items():
            a = QAction(dock.windowTitle(), self, checkable=True)
            a.setChecked(key == self.presentation_panel())
            a.triggered.connect(lambda _=False, k=key: self.settings.setValue("presentation_panel", k))
            pres_group.addAction(a)
            self.presentation_menu.addAction(a)
        view.addAction(self.act_reset_layout)
        theme_menu = view.addMenu("Theme")
        group = QActionGroup(self)
        current = self.settings.value("theme", "system")
        for name in THEMES:
            a = QAction(name.capitalize(), self, checkable=True)
            a.setChecked(name == current)
            a.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            group.addAction(a)
            theme_menu.addAction(a)

        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.act_user_guide)
        help_menu.addAction(self.act_about)

        tb = QToolBar("Training", self)
        tb.setObjectName("TrainingToolBar")
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for a in (self.act_train, self.act_pause, self.act_resume, self.act_step, self.act_stop):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_evaluate)
        self.addToolBar(Qt.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_labels = {k: QLabel() for k in ("state", "step", "speed", "eta", "device")}
        for key in ("state", "step", "speed", "eta", "device"):
            self.status_labels[key].setMinimumWidth(90)
            sb.addPermanentWidget(self.status_labels[key])
        self._refresh_status()

    def _connect(self) -> None:
        self._build_controllers()
        b = self.bus
        b.samples_updated.connect(self._on_bus_samples)
        b.progress_updated.connect(self._on_bus_progress)
        b.state_changed.connect(self._on_bus_state)
        b.run_changed.connect(self._on_bus_run_changed)
        b.render_ready.connect(self._on_bus_render)
        b.error_raised.connect(self._on_bus_error)
        b.status_message.connect(self._on_bus_status)
        # the Run panel is the frame's: its buttons are the Run menu's actions
        self.controls_panel.live_value_edited.connect(self._on_controls_live_value)
        self.controls_panel.structural_edit_while_running.connect(self._on_controls_structural_edit)
        self.controls_panel.open_run_requested.connect(self.open_run)
        self.controls_panel.new_run_requested.connect(self.on_new_run)
        self.controls_panel.preset_requested.connect(self.use_preset)

    # -- data -------------------------------------------------------------------------------------
    def load_data(self, name: str, options: dict, seed: Optional[int] = None) -> None:
        self.data.load(name, options, seed)

    def form_seed(self) -> int:
        try:
            return int(self.controls_panel.config()["run"].get("seed", 0))
        except Exception:  # noqa: BLE001 - a half-typed form: the default seed
            return 0

    @property
    def browser_dataset(self) -> Any:
        return self.data.dataset

    @property
    def data_choice(self) -> tuple[str, dict]:
        return self.data.choice

    def selected_data_indices(self) -> np.ndarray:
        return self.data_panel.selected_indices()

    # -- runs -------------------------------------------------------------------------------------
    def current_config(self):
        """The config the run controls and data browser describe right now."""
        d = self.controls_panel.config()
        name, options = self.data_choice
        d["data"] = {"name": name, **options}
        return config_from_dict(d)

    def on_new_run(self) -> bool:
        try:
            config = self.current_config()
        except (ConfigError, DataError) as e:
            self.warn("Cannot start a run", str(e))
            return False
        problem = data_problem(config, self.browser_dataset)
        if problem:
            self.warn("Cannot start a run", problem)
            return False
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = self.runs_dir / f"{config.engine}-{config.data_name}-{stamp}"
        n = 1
        while run_dir.exists():
            n += 1
            run_dir = self.runs_dir / f"{config.engine}-{config.data_name}-{stamp}-{n}"
        self.run_config = config
        self.run_path = run_dir
        self.plots.start_new(config.run.log_every)
        self.gallery.clear()
        self.evaluation.set_current_run(run_dir.name)
        self.host.new_run(config, run_dir)
        return True

    def on_open_run(self) -> None:
        path = self.ask_folder("Open run folder")
        if path:
            self.open_run(path)

    def open_run(self, path: str | Path) -> None:
        path = Path(path)
        try:
            run = Run.open(path)
            config = run.config()
        except Exception as e:  # noqa: BLE001 - any unreadable run gets a message
            self.warn("Cannot open run", str(e))
            return
        self.run_config = config
        self.run_path = path
        self.controls_panel.set_config(config.to_dict())
        data = config.to_dict()["data"]
        name = data.pop("name")
        self.data.await_run_data(name, data)    # Train continues this run, on its own data
        self.plots.show_run(run)
        self.gallery.clear()
        evals = run.read_evaluations()
        self.evaluation.set_current_run(run.about()["title"], evals[-1] if evals else None)
        self.host.open_run(path)

    def on_train(self) -> None:
        """Train: continue the open run if the settings still describe it, else start anew."""
        if self.run_config is not None and self.state not in ("failed",):
            try:
                changed = structural_changes(self.run_config, self.current_config())
            except (ConfigError, DataError) as e:
                self.warn("Cannot train", str(e))
                return
            if not changed:
                if self.state == "finished" and self.current_config().run.steps <= self.run_info.step:
                    self.warn("Nothing to train", (
                        f"This run has finished its {self.run_info.step:,} steps. Raise Steps in "
                        f"the Run panel to train it further, or press New run (Ctrl+N) to start "
                        f"another with these settings."))
                    return
                self._apply_live_settings()
                self.host.train()
                return
        if self.on_new_run():
            self.host.train()

    def _apply_live_settings(self) -> None:
        """Every value the form changed that may change without a new model (the fields
        marked structural=False) goes to the host, which applies it as training goes on."""
        cfg = self.current_config()
        if self.run_config is None:
            return
        for section, key in sorted(live_keys(cfg)):
            new = getattr(getattr(cfg, section), key)
            if new != getattr(getattr(self.run_config, section), key):
                self.host.set_live(section, key, new)
        self.run_config = cfg

    def on_evaluate(self) -> None:
        if self.snapshot is None:
            self.warn("Nothing to evaluate", "Train or open a run first.")
            return
        self.statusBar().showMessage("Evaluating (training waits meanwhile)...", 10000)
        self.host.evaluate(n=self.eval_samples)

    def on_pause(self) -> None:
        self.host.pause()

    def on_resume(self) -> None:
        self._apply_live_settings()
        self.host.train()

    def on_step(self) -> None:
        if self.run_config is None and not self.on_new_run():
            return
        self.host.step(1)

    def on_stop(self) -> None:
        self.host.stop()

    # -- bus slots ----------------------------------------------------------------------------------
    def _on_bus_samples(self, step: int, samples: np.ndarray) -> None:
        for c in self.controllers.values():
            c.on_samples(step, samples)
        self.run_info.step = max(self.run_info.step, step)
        self._refresh_status()

    def _on_bus_progress(self, p) -> None:
        self.run_info.step, self.run_info.total = p.step, p.total
        self.run_info.it_per_s, self.run_info.eta_s = p.it_per_s, p.eta_s
        self._refresh_status()

    def _on_bus_state(self, state: str, message: str, step: int) -> None:
        self.state = state
        self.run_info.state, self.run_info.message = state, message
        if step >= 0:
            self.run_info.step = step
        self.controls_panel.set_running(state == "running")
        for c in self.controllers.values():
            c.on_state(state, message, step)
        self._refresh_status()
        self._update_actions()
        self.run_state_changed.emit(state)

    def _on_bus_run_changed(self, snap: RunSnapshot) -> None:
        self.snapshot = snap
        self.run_config = copy.deepcopy(snap.config)   # the form edits ours, never the snapshot's
        self.run_path = snap.path
        self.run_info = RunInfo(path=str(self.run_path or ""), engine=snap.engine,
                                data=snap.data, device=snap.device, state=self.state,
                                step=snap.step, total=snap.total,
                                latent_dim=snap.latent_dim, capabilities=snap.capabilities)
        for c in self.controllers.values():        # the data first: the others may look at it
            c.on_run_opened(snap)
        self.status_labels["device"].setText(
            f"Device: {snap.device} ({snap.threads} thread{'s' if snap.threads != 1 else ''})")
        if self.run_path is not None:
            self._remember_run(self.run_path)
        self._update_title()
        self._refresh_status()

    def _on_bus_render(self, kind: str, stamp: int, result: Any) -> None:
        self.renders.deliver(kind, stamp, result)

    def _on_bus_error(self, text: str) -> None:
        summary = text.split("\n\n")[0]
        self.statusBar().showMessage(f"Error: {summary}", 15000)
        box = QMessageBox(QMessageBox.Critical, "The engine raised an error", summary,
                          QMessageBox.Ok, self)
        box.setInformativeText("The run is marked failed; the window keeps working. Fix the "
                               "settings and start a new run.")
        box.setDetailedText(text)
        box.setObjectName("ErrorBox")
        box.open()
        self.error_box = box

    def _on_bus_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    # -- panel slots --------------------------------------------------------------------------------
    def _on_controls_live_value(self, section: str, key: str, value: Any) -> None:
        if self.snapshot is not None:
            self.host.set_live(section, key, value)

    def set_live_value(self, section: str, key: str, value: Any) -> None:
        """A live value edited in another panel (the gallery's temperature): the Run panel's
        form shows it, and it goes to the host as the form's own live edits do."""
        self.controls_panel.form(section).set_values({key: value})
        self._on_controls_live_value(section, key, value)

    def _on_controls_structural_edit(self, key: str) -> None:
        answer = QMessageBox.question(
            self, "Start a new run?",
            f"Changing {key} needs a new model. Stop this run and start a new one with the change?")
        if answer == QMessageBox.Yes:
            self.host.stop()
            if self.on_new_run():
                self.host.train()

    # -- export -------------------------------------------------------------------------------------
    def provenance(self, extra: Optional[dict] = None, step: Optional[int] = None) -> dict[str, str]:
        """What produced the exported images: `step` is the step their weights were at (the
        frames of an interpolation made earlier are not from the run's current step); the
        checkpoint hash is given only when a saved checkpoint holds exactly those weights."""
        step = self.run_info.step if step is None else int(step)
        info = Run(self.run_path).checkpoint_info() if self.run_path else None
        sha = info[1] if info is not None and info[0] == step else ""
        extra = dict(extra or {})
        if info is not None and not sha:
            extra["weights"] = (f"in memory at step {step}, not saved as a checkpoint "
                                f"(the newest checkpoint is step {info[0]})")
        return provenance(
            config_toml=self.run_config.to_toml() if self.run_config else "",
            seed=self.run_config.run.seed if self.run_config else None,
            step=step, checkpoint_sha256=sha,
            engine=self.snapshot.engine if self.snapshot is not None else "", extra=extra)

    def ask_save(self, title: str, name: str, filt: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, str(self.runs_dir / name), filt)
        return path

    def ask_folder(self, title: str) -> str:
        """Starts where the last folder was picked (runs trained elsewhere, e.g. by
        `genstudio train --out`, are one click away), else in the runs folder."""
        start = self.settings.value("last_folder", "")
        start = start if isinstance(start, str) and start and Path(start).is_dir() else str(self.runs_dir)
        path = QFileDialog.getExistingDirectory(self, title, start)
        if path:
            self.settings.setValue("last_folder", str(Path(path).parent))
        return path

    def on_export_config(self) -> Optional[list]:
        try:
            cfg = self.current_config()
        except (ConfigError, DataError) as e:
            return self.warn("Invalid settings", str(e))
        path = self.ask_save("Export config", "config.toml", "TOML configs (*.toml)")
        if not path:
            return None
        cfg.save(path)
        return self.exported([Path(path)])

    def exported(self, paths: list) -> list:
        self.statusBar().showMessage(f"Wrote {len(paths)} file(s): {paths[0]}", 8000)
        self.export_written.emit([str(p) for p in paths])
        return paths

    def on_open_config(self) -> None:
        examples = examples_dir()
        start = str(examples if examples.is_dir() else self.runs_dir)
        path, _ = QFileDialog.getOpenFileName(self, "Open config", start, "TOML configs (*.toml)")
        if path:
            self.use_config_file(path)

    def use_config_file(self, path: str | Path) -> bool:
        """A config for the next run: its settings go into the form and its data set is
        loaded; nothing trains until Train (an open run is left as it is)."""
        from studio.core.config import load_config
        try:
            config = load_config(path)
        except ConfigError as e:
            self.warn("Cannot use this config", str(e))
            return False
        self.use_config(config)
        self.statusBar().showMessage(f"Settings from {Path(path).name}: press Train to start a "
                                     f"new run with them", 10000)
        return True

    def use_config(self, config) -> None:
        d = config.to_dict()
        self.controls_panel.set_config(d)
        data = dict(d["data"])
        name = data.pop("name")
        self.data.choice = (name, data)        # what a run started now trains on
        self.load_data(name, data)

    def use_preset(self, name: str) -> bool:
        try:
            config = load_preset(name)
        except ConfigError as e:
            self.warn("Cannot use this preset", str(e))
            return False
        self.use_config(config)
        self.statusBar().showMessage(f"Preset {name}: press Train to start a new run with it", 10000)
        return True

    def new_run_from_example(self, name: str) -> bool:
        """File > New run from example: the preset's settings, a new run, ready to Train."""
        if self.state == "running":
            self.host.pause()
        if not self.use_preset(name):
            return False
        self.controls_panel.show_preset(name)
        return self.on_new_run()

    def on_open_example_run(self, welcome: bool = False) -> None:
        from widgets.example_runs_dialog import ExampleRunItem, ExampleRunsDialog
        runs = list_example_runs()
        if not runs:
            return self.warn("No example runs", "This installation has no ready-trained runs "
                                                 "(assets/runs/); `python -m studio.core.example_runs "
                                                 "build` makes them.")
        items = [ExampleRunItem(r.name, r.title, r.description,
                                f"{r.engine} on {r.data}, {r.step:,} steps",
                                str(r.thumbnail) if r.thumbnail else None) for r in runs]
        dlg = ExampleRunsDialog(items, self, welcome=bool(welcome))
        dlg.open_requested.connect(self.open_example_run)
        if dlg.dont_show is not None:
            dlg.finished.connect(lambda _=0: self.settings.setValue(
                "welcome_shown", "1" if dlg.dont_show.isChecked() else ""))
        dlg.open()
        self.examples_dialog = dlg

    def open_example_run(self, name: str) -> Optional[Path]:
        """A copy of the shipped run in the runs folder, opened: the shipped one never changes."""
        try:
            path = copy_example_run(name, self.runs_dir)
        except OSError as e:
            self.warn("Cannot open the example run", str(e))
            return None
        self.open_run(path)
        return path

    # -- continuity ------------------------------------------------------------------------------
    def recent_runs(self) -> list[str]:
        try:
            paths = json.loads(self.settings.value("recent_runs", "[]") or "[]")
        except (TypeError, ValueError):
            return []
        return [p for p in paths if isinstance(p, str)][:RECENT_RUNS]

    def _remember_run(self, path: Path) -> None:
        path = str(Path(path).resolve())
        self.settings.setValue("recent_runs", json.dumps(
            [path] + [p for p in self.recent_runs() if p != path][:RECENT_RUNS - 1]))
        self.settings.setValue("last_run", path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        runs = [p for p in self.recent_runs() if (Path(p) / "config.toml").is_file()]
        if not runs:
            self.recent_menu.addAction("(no recent runs)").setEnabled(False)
        for p in runs:
            title = Run(p).about()["title"]
            a = self.recent_menu.addAction(title if title == Path(p).name else f"{title}  ({Path(p).name})")
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open_run(p))

    def _restore_session(self) -> None:
        """Where the last session left off: its open run, or else its form settings; on a
        first start, the example runs are offered. A run opened before this ran (a script,
        a test, a click before the first event) wins: the user asked for it."""
        if self.run_path is not None:
            return
        last = self.settings.value("last_run", "")
        if isinstance(last, str) and last and (Path(last) / "config.toml").is_file():
            self.open_run(last)
            return
        if self.settings.value("welcome_shown", "") != "1" and list_example_runs():
            self.on_open_example_run(welcome=True)
        try:
            saved = json.loads(self.settings.value("last_form", "") or "null")
        except (TypeError, ValueError):
            saved = None
        if isinstance(saved, dict) and isinstance(saved.get("config"), dict):
            try:
                config_from_dict({**saved["config"], "data": saved.get("data") or {"name": "mnist"}})
            except (ConfigError, DataError, TypeError):
                return                          # settings from an older version: ignore them
            self.controls_panel.set_config(saved["config"])
            data = dict(saved.get("data") or {})
            name = data.pop("name", "mnist")
            if (name, data) != self.data_choice:
                self.load_data(name, data)

    def _save_session(self) -> None:
        name, options = self.data_choice
        try:
            form = self.controls_panel.config()
        except Exception:  # noqa: BLE001 - a half-typed form is not worth an error at exit
            return
        self.settings.setValue("last_form", json.dumps(
            {"config": form, "data": {"name": name, **options}}, default=str))
        if self.run_path is None:
            self.settings.remove("last_run")

    def _update_title(self) -> None:
        if self.run_path is None:
            self.setWindowTitle("Generative Studio")
            return
        title = Run(self.run_path).about()["title"]
        what = f"{self.run_info.engine} on {self.run_info.data}" if self.run_info.engine else ""
        self.setWindowTitle(f"{title} - {what} - Generative Studio" if what else
                            f"{title} - Generative Studio")

    def on_rename_run(self) -> None:
        if self.run_path is None:
            return self.warn("No run open", "Open or start a run first.")
        run = Run(self.run_path)
        about = run.about()
        title, ok = QInputDialog.getText(self, "Rename run", "Name of this run:", text=about["title"])
        if ok and title.strip():
            run.set_about(title, about["description"])
            self._update_title()

    def on_edit_notes(self) -> None:
        if self.run_path is None:
            return self.warn("No run open", "Open or start a run first.")
        run = Run(self.run_path)
        about = run.about()
        text, ok = QInputDialog.getMultiLineText(self, "Run notes", f"Notes about {about['title']}:",
                                                 about["description"])
        if ok:
            run.set_about(about["title"], text)

    # -- lecture aids ----------------------------------------------------------------------------
    def export_scale(self) -> int:
        try:
            k = int(self.settings.value("export_scale", 1))
        except (TypeError, ValueError):
            return 1
        return k if k in EXPORT_SCALES else 1

    def presentation_panel(self) -> str:
        key = self.settings.value("presentation_panel", "SampleGalleryPanel")
        return key if key in self.docks else "SampleGalleryPanel"

    def toggle_presentation(self, on: Optional[bool] = None) -> None:
        """Full screen, fonts 1.5x, the chosen panel alone and large; again (F11/Esc) to
        return to the layout as it was."""
        from PySide6.QtWidgets import QApplication
        on = (not self.in_presentation()) if on is None else bool(on)
        app = QApplication.instance()
        if on == self.in_presentation():
            pass
        elif on:
            self._before_presentation = (self.saveState(LAYOUT_VERSION), self.isFullScreen(),
                                         app.font())
            font = app.font()
            font.setPointSizeF(font.pointSizeF() * PRESENTATION_FONT_SCALE)
            app.setFont(font)
            keep = self.presentation_panel()
            for key, dock in self.docks.items():
                dock.setVisible(key == keep)
            self.toolbar.show()
            self.showFullScreen()
        elif self._before_presentation is not None:
            state, was_full, font = self._before_presentation
            self._before_presentation = None
            app.setFont(font)
            if not was_full:
                self.showNormal()
            self.restoreState(state, LAYOUT_VERSION)
        self.act_presentation.setChecked(self.in_presentation())

    def in_presentation(self) -> bool:
        return getattr(self, "_before_presentation", None) is not None

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key_Escape and self.in_presentation():
            self.toggle_presentation(False)
            return
        super().keyPressEvent(event)

    def on_user_guide(self) -> None:
        from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout
        path = USER_GUIDE
        if not path.is_file():
            return self.warn("User guide", f"The user guide is not installed here ({path}).")
        dlg = QDialog(self)
        dlg.setWindowTitle("Generative Studio: user guide")
        browser = QTextBrowser(dlg)
        browser.setOpenExternalLinks(True)
        browser.setSearchPaths([str(path.parent)])
        browser.setMarkdown(path.read_text(encoding="utf-8"))
        QVBoxLayout(dlg).addWidget(browser)
        dlg.resize(860, 720)
        dlg.open()
        self.guide_dialog = dlg

    # -- misc ----------------------------------------------------------------------------------------
    def on_about(self) -> None:
        import PySide6
        import pyqtgraph
        import torch
        QMessageBox.about(self, "About Generative Studio", (
            f"<b>Generative Studio {__version__}</b><br>Train and explore generative image "
            f"models, point and click.<br><br>Python {platform.python_version()}<br>"
            f"PyTorch {torch.__version__}<br>PySide6 {PySide6.__version__}<br>"
            f"pyqtgraph {pyqtgraph.__version__}<br>NumPy {np.__version__}"))

    def set_theme(self, theme: str) -> None:
        from PySide6.QtWidgets import QApplication
        self.settings.setValue("theme", theme)
        apply_theme(QApplication.instance(), theme)
        for panel in (self.plots_panel,):
            if hasattr(panel, "apply_palette"):
                panel.apply_palette()

    # -- what controllers use of the frame (studio.shell.session.Session) ------------------------------
    def show_status(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    def dock(self, panel_name: str) -> QDockWidget:
        return self.docks[panel_name]

    def raise_panel(self, panel_name: str) -> None:
        self.docks[panel_name].raise_()

    def warn(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.open()
        self.warning_box = box
        return None

    def _refresh_status(self) -> None:
        i = self.run_info
        self.status_labels["state"].setText(f"State: {i.state}")
        self.status_labels["step"].setText(f"Step {i.step:,}" + (f" / {i.total:,}" if i.total else ""))
        self.status_labels["speed"].setText(f"{i.it_per_s:.1f} it/s" if i.state == "running" else "")
        eta = i.eta_s
        self.status_labels["eta"].setText(
            f"ETA {int(eta // 60)}:{int(eta % 60):02d}" if i.state == "running" and np.isfinite(eta) else "")
        if not self.status_labels["device"].text():
            from studio.core.device import pick_device
            self.status_labels["device"].setText(f"Device: {pick_device('auto')}")
        self.controls_panel.set_run_info(i)

    def _update_actions(self) -> None:
        s = self.state
        has_run = self.snapshot is not None or self.run_config is not None
        self.act_train.setEnabled(s not in ("running", "loading"))
        self.act_pause.setEnabled(s == "running")
        self.act_resume.setEnabled(s in ("paused", "stopped") and has_run)
        self.act_step.setEnabled(s not in ("running", "loading"))
        self.act_stop.setEnabled(s in ("running", "paused"))

    # -- layout persistence ---------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("windowState")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self._save_session()
        self.bus.stop()
        joined = self.host.shutdown(3.0)
        if not joined:
            self.statusBar().showMessage("The training thread did not stop in time", 2000)
        # Only a joined host lets automatic collection back on: one still running may allocate.
        if joined and self._holds_collector:
            gui_thread_collector().release()
            self._holds_collector = False
        super().closeEvent(event)