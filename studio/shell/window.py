"""The studio's main window: docked panels around the engine host.

The window owns the EngineHost (training thread) and the TelemetryBus (GUI timer). Panels get
numpy arrays and view models; every engine call goes through the host.
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
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

from widgets.codes_view import CodesView, CodesViewPanel
from widgets.data_browser import DataBrowserPanel
from widgets.diffusion_scrubber import DiffusionScrubberPanel, x0_across_steps
from widgets.evaluation_table import EvaluationTable
from widgets.latent_explorer import LatentExplorerPanel
from widgets.live_plots import LivePlotsPanel
from widgets.mode_collapse import ModeCollapsePanel
from widgets.on_screen import is_on_screen
from widgets.point_canvas import PointCanvasPanel
from widgets.run_controls import RunControlsPanel
from widgets.sample_gallery import SampleGalleryPanel
from widgets.viewmodels import RunInfo

from studio import __version__
from studio.core.config import ConfigError, config_from_dict, live_keys, structural_changes
from studio.core.data import DataError, load_dataset
from studio.core.device import keep_this_thread_serial
from studio.core.example_runs import copy_example_run, list_example_runs
from studio.core.export import export_gif, export_grid, export_individual, export_latents, provenance
from studio.core.host import EngineHost
from studio.core.paths import DOCS
from studio.core.presets import examples_dir, list_presets, load_preset
from studio.core.runs import Run
from studio.core.snapshot import RunSnapshot

from .bus import TelemetryBus
from .gui_gc import gui_thread_collector
from .presenters import dataset_view, engine_infos, optim_fields, run_fields, source_infos
from .theme import THEMES, apply_theme

LAYOUT_VERSION = 3      # 3: the Codes dock
RECENT_RUNS = 10
EXPORT_SCALES = (1, 2, 4, 8)
GIF_MIN_SCALE = 4            # a 28-pixel GIF is a thumbnail; GIFs always get at least 4x
PRESENTATION_FONT_SCALE = 1.5
USER_GUIDE = DOCS / "user-guide.md"
MODES_TITLE = "Modes"
MODES_ALERT_TITLE = "Modes (!)"             # the tab's title while an alert is unseen
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
        self.data_choice: tuple[str, dict] = ("mnist", {})
        self.browser_dataset = None          # the Dataset shown in the browser
        self.eval_z: Optional[np.ndarray] = None
        self.snapshot: Optional[RunSnapshot] = None   # the open run, as the host last posted it
        self._awaiting_run_data: Optional[tuple[str, dict]] = None
        self.last_samples: Optional[tuple[int, np.ndarray]] = None
        self.last_interpolation: Optional[dict[str, np.ndarray]] = None
        self.eval_samples = 10000             # samples scored by Evaluate (as genstudio eval)
        self._before_presentation: Optional[tuple] = None   # layout, full screen, font

        self._build_panels()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        from .canvas_controller import CanvasController
        self.canvas = CanvasController(self, self.canvas_panel)
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
        self.data_panel = DataBrowserPanel()
        self.controls_panel = RunControlsPanel()
        self.plots_panel = LivePlotsPanel()
        self.gallery_panel = SampleGalleryPanel()
        self.latent_panel = LatentExplorerPanel()
        self.eval_panel = EvaluationTable()
        self.scrubber_panel = DiffusionScrubberPanel()
        self.canvas_panel = PointCanvasPanel()
        self.modes_panel = ModeCollapsePanel()
        self.codes_panel = CodesViewPanel()
        self.last_trajectory: Optional[dict] = None
        self.controls_panel.set_engines(engine_infos())
        self.controls_panel.set_run_fields(list(run_fields()))
        self.controls_panel.set_optim_fields(list(optim_fields()))
        self.data_panel.set_sources(source_infos())
        self.controls_panel.set_presets([(p.name, p.description) for p in list_presets()])

        centre = QWidget()
        centre.setMaximumSize(0, 0)
        self.setCentralWidget(centre)
        self.setDockNestingEnabled(True)
        self.docks: dict[str, QDockWidget] = {}
        for title, panel, area in [
            ("Data set", self.data_panel, Qt.LeftDockWidgetArea),
            ("Samples", self.gallery_panel, Qt.RightDockWidgetArea),
            ("Live plots", self.plots_panel, Qt.RightDockWidgetArea),
            ("Run", self.controls_panel, Qt.RightDockWidgetArea),
            ("Latent", self.latent_panel, Qt.RightDockWidgetArea),
            ("Evaluation", self.eval_panel, Qt.RightDockWidgetArea),
            ("Diffusion", self.scrubber_panel, Qt.RightDockWidgetArea),
            ("2D canvas", self.canvas_panel, Qt.RightDockWidgetArea),
            (MODES_TITLE, self.modes_panel, Qt.RightDockWidgetArea),
            ("Codes", self.codes_panel, Qt.RightDockWidgetArea),
        ]:
            dock = QDockWidget(title, self)
            dock.setObjectName(panel.objectName() + "Dock")
            dock.setWidget(panel)
            dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                             | QDockWidget.DockWidgetClosable)
            self.addDockWidget(area, dock)
            self.docks[panel.objectName()] = dock
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
        d["RunControlsPanel"].raise_()
        self.resizeDocks([d["DataBrowserPanel"], d["SampleGalleryPanel"], d["RunControlsPanel"]],
                         [330, 620, 360], Qt.Horizontal)
        self.resizeDocks([d["SampleGalleryPanel"], d["LivePlotsPanel"]], [430, 330], Qt.Vertical)

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
        self.act_export_grid = self._action("Sample grid (PNG)...", self.on_export_grid)
        self.act_export_each = self._action("Individual samples (PNGs)...", self.on_export_individual)
        self.act_export_gif = self._action("Interpolation (GIF)...", self.on_export_gif)
        self.act_export_z = self._action("Latent vectors (.npy)...", self.on_export_latents)
        self.act_export_config = self._action("Export config...", self.on_export_config)
        self.act_export_csv = self._action("Curves (CSV)...", self.on_export_csv, None,
                                           "Every metric of the open run, one row per step")
        self.act_compare = self._action("Compare with run...", self.on_compare)
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
        b = self.bus
        b.metrics_appended.connect(self._on_bus_metrics)
        b.samples_updated.connect(self._on_bus_samples)
        b.progress_updated.connect(self._on_bus_progress)
        b.state_changed.connect(self._on_bus_state)
        b.run_changed.connect(self._on_bus_run_changed)
        b.render_ready.connect(self._on_bus_render)
        b.error_raised.connect(self._on_bus_error)
        b.evaluation_ready.connect(self._on_bus_evaluation)
        b.mode_reset.connect(self._on_bus_mode_reset)
        b.mode_records_appended.connect(self._on_bus_mode_records)
        self.modes_panel.alert_raised.connect(self._on_modes_alert)
        self.docks["ModeCollapsePanel"].visibilityChanged.connect(self._on_modes_dock_visibility)
        b.status_message.connect(self._on_bus_status)
        self.eval_panel.compare_requested.connect(self.on_compare_evaluation)
        b.job_finished.connect(self._on_bus_job_finished)
        b.job_failed.connect(self._on_bus_job_failed)

        self.data_panel.load_requested.connect(self.load_data)
        self.data_panel.image_picked.connect(self._on_data_image_picked)
        self.controls_panel.live_value_edited.connect(self._on_controls_live_value)
        self.controls_panel.structural_edit_while_running.connect(self._on_controls_structural_edit)
        self.controls_panel.open_run_requested.connect(self.open_run)
        self.controls_panel.new_run_requested.connect(self.on_new_run)
        self.controls_panel.preset_requested.connect(self.use_preset)
        self.gallery_panel.sample_clicked.connect(self._on_gallery_sample_clicked)
        self.latent_panel.z_changed.connect(self._on_latent_z_changed)
        self.latent_panel.random_requested.connect(self._on_latent_random)
        self.latent_panel.encode_requested.connect(self._on_latent_encode)
        self.latent_panel.interpolate_requested.connect(self._on_latent_interpolate)
        self.latent_panel.label_changed.connect(self._on_latent_label_changed)
        self.latent_panel.sweep_requested.connect(self._on_latent_sweep)
        self.plots_panel.overlay_requested.connect(self.on_compare)
        self.codes_panel.refresh_requested.connect(self._request_codes)
        self.codes_panel.code_clicked.connect(self._on_code_clicked)
        self.plots_panel.export_requested.connect(self.on_export_csv)
        sp = self.scrubber_panel
        sp.trajectory_requested.connect(self._on_scrubber_trajectory)
        sp.continue_requested.connect(self._on_scrubber_continue)
        sp.edit_requested.connect(self._on_scrubber_edit)
        sp.export_requested.connect(self._on_scrubber_export)

    # -- data -------------------------------------------------------------------------------------
    def load_data(self, name: str, options: dict, seed: Optional[int] = None) -> None:
        """Load a data set for the browser with the seed a run would use (the Run panel's),
        so seeded sets (ring8, moons, shapes, splits) show the points a run trains on."""
        if seed is None:
            seed = self._form_seed()
        if self.data_panel.current_source() != name:
            self.data_panel.set_current_source(name, dict(options))
        self.data_panel.set_busy(f"Loading {name}...")
        self.bus.submit("dataset", lambda: (name, dict(options),
                                            _load_or_failure(name, options, seed)))

    def _form_seed(self) -> int:
        try:
            return int(self.controls_panel.config()["run"].get("seed", 0))
        except Exception:  # noqa: BLE001 - a half-typed form: the default seed
            return 0

    def _on_bus_job_finished(self, job: str, result: Any) -> None:
        if job == "dataset":
            name, options, ds = result
            if isinstance(ds, LoadFailure):       # a refused scan lists what it skipped
                self.data_panel.set_error(ds.message, ds.skipped)
                return
            self._show_dataset(name, options, ds)

    def _show_dataset(self, name: str, options: dict, ds: Any) -> None:
        self.browser_dataset = ds
        self.data_choice = (name, options)
        self.data_panel.show_dataset(dataset_view(ds))
        if ds.spec.kind == "points":
            self.gallery_panel.set_reference_points(ds.train_x[:2000])
            self.latent_panel.set_reference_points(ds.train_x[:2000])

    def _await_run_data(self, name: str, options: dict) -> None:
        """The run being opened brings its data set in its snapshot (loaded once, by the
        trainer, with the run's seed): the browser waits for it instead of loading a copy."""
        if self.data_panel.current_source() != name:
            self.data_panel.set_current_source(name, dict(options))
        self.data_panel.set_busy(f"Opening the run's {name} data...")
        self._awaiting_run_data = (name, dict(options))

    def _on_bus_job_failed(self, job: str, message: str) -> None:
        if job == "dataset":
            self.data_panel.set_error(message)

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
            self._warn("Cannot start a run", str(e))
            return False
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = self.runs_dir / f"{config.engine}-{config.data_name}-{stamp}"
        n = 1
        while run_dir.exists():
            n += 1
            run_dir = self.runs_dir / f"{config.engine}-{config.data_name}-{stamp}-{n}"
        self.run_config = config
        self.run_path = run_dir
        self.plots_panel.clear()
        self.plots_panel.set_hint(f"Training: the first curves come at step {config.run.log_every}")
        self.gallery_panel.clear()
        self.eval_panel.set_current_run(run_dir.name)
        self.host.new_run(config, run_dir)
        return True

    def on_open_run(self) -> None:
        path = self._ask_folder("Open run folder")
        if path:
            self.open_run(path)

    def open_run(self, path: str | Path) -> None:
        path = Path(path)
        try:
            run = Run.open(path)
            config = run.config()
        except Exception as e:  # noqa: BLE001 - any unreadable run gets a message
            self._warn("Cannot open run", str(e))
            return
        self.run_config = config
        self.run_path = path
        self.controls_panel.set_config(config.to_dict())
        data = config.to_dict()["data"]
        name = data.pop("name")
        self.data_choice = (name, data)         # Train continues this run, on its own data
        self._await_run_data(name, data)
        self.plots_panel.clear()
        records, skipped = run.read_metrics_report()
        self.plots_panel.append(records)
        if skipped:
            self._warn("Some metrics were skipped", _skipped_lines_text(skipped))
        self.gallery_panel.clear()
        evals = run.read_evaluations()
        self.eval_panel.set_current_run(run.about()["title"], evals[-1] if evals else None)
        self.host.open_run(path)

    def on_train(self) -> None:
        """Train: continue the open run if the settings still describe it, else start anew."""
        if self.run_config is not None and self.state not in ("failed",):
            try:
                changed = structural_changes(self.run_config, self.current_config())
            except (ConfigError, DataError) as e:
                self._warn("Cannot train", str(e))
                return
            if not changed:
                if self.state == "finished" and self.current_config().run.steps <= self.run_info.step:
                    self._warn("Nothing to train", (
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
            self._warn("Nothing to evaluate", "Train or open a run first.")
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
    def _on_bus_metrics(self, records: list) -> None:
        self.plots_panel.append(records)

    def _on_bus_samples(self, step: int, samples: np.ndarray) -> None:
        self.last_samples = (step, samples)
        # the explorer and the codes follow training while they are looked at (a diffusion
        # decode is a whole sampling loop: it waits for the user)
        if is_on_screen(self.latent_panel) and "trajectory" not in self.run_info.capabilities:
            self.latent_panel.refresh()
        if is_on_screen(self.codes_panel) and self._codes_apply():
            self._request_codes()
        self.gallery_panel.set_samples(step, samples)
        self.run_info.step = max(self.run_info.step, step)
        self._refresh_status()

    def _on_bus_progress(self, p) -> None:
        self.run_info.step, self.run_info.total = p.step, p.total
        self.run_info.it_per_s, self.run_info.eta_s = p.it_per_s, p.eta_s
        self._refresh_status()

    def _on_bus_state(self, state: str, message: str, step: int) -> None:
        self.state = state
        if state == "failed" and self._awaiting_run_data is not None:
            self.load_data(*self._awaiting_run_data)   # the run did not open: show its data anyway
            self._awaiting_run_data = None
        self.run_info.state, self.run_info.message = state, message
        if step >= 0:
            self.run_info.step = step
        self.controls_panel.set_running(state == "running")
        self._refresh_status()
        self._update_actions()
        self.run_state_changed.emit(state)

    def _on_bus_run_changed(self, snap: RunSnapshot) -> None:
        self.snapshot = snap
        if snap.dataset is not None:
            options = snap.config.to_dict()["data"]
            self._show_dataset(options.pop("name"), options, snap.dataset)
        self._awaiting_run_data = None
        self.run_config = copy.deepcopy(snap.config)   # the form edits ours, never the snapshot's
        self.run_path = snap.path
        caps = snap.capabilities
        self.run_info = RunInfo(path=str(self.run_path or ""), engine=snap.engine,
                                data=snap.data, device=snap.device, state=self.state,
                                step=snap.step, total=snap.total,
                                latent_dim=snap.latent_dim, capabilities=caps)
        self.eval_z = snap.eval_z
        self.latent_panel.set_classes(list(snap.class_names) if "conditional" in caps else [])
        self.latent_panel.set_capabilities(explorer_capabilities(caps))
        if snap.schedule is not None:
            sched = snap.schedule
            self.scrubber_panel.set_schedule(sched.alpha_bar, sched.T)
            self.scrubber_panel.set_run_settings(sampler=sched.sampler, steps=sched.sample_steps)
        if "encode" in caps and snap.is_images:
            self.codes_panel.clear()
            self._request_codes()
        else:
            self.codes_panel.set_unavailable("The codes view is for autoencoders and VAEs on images.")
        dim = self.run_info.latent_dim
        if dim > 16:
            self.host.request_render("basis")
        else:
            self.latent_panel.set_space(dim)
        if snap.path is not None:
            snaps = dict(snap.snapshots)
            self.gallery_panel.set_history(sorted(snaps), lambda s, snaps=snaps: _load_snapshot(snaps[s]))
        self.status_labels["device"].setText(f"Device: {snap.device} ({snap.threads} threads)")
        if self.run_path is not None:
            self._remember_run(self.run_path)
        self._update_title()
        self._refresh_status()

    def _on_bus_render(self, kind: str, stamp: int, result: Any) -> None:
        if kind == "decode":
            self.latent_panel.show_decoded(stamp, result[0])
            self.decoded_shown.emit(stamp)
        elif kind == "basis":
            labels = [f"PC{i + 1} ({100 * v:.1f}% var)" for i, v in enumerate(result["explained"])]
            self.latent_panel.set_space(self.run_info.latent_dim, basis=result["basis"],
                                        scales=result["scales"], labels=labels)
            self.latent_panel.set_base(result["mean"])
        elif kind == "sweep":
            self.last_interpolation = result
            self.latent_panel.show_sweep(result["samples"], result["z"], result["labels"])
        elif kind in ("sample", "encode"):
            z = result["z"][0] if kind == "sample" else result[0]
            self.latent_panel.set_base(z)          # emits z_changed, which asks for a decode
        elif kind in ("trajectory", "continue", "edit"):
            self.last_trajectory = result
            self.scrubber_panel.set_trajectory(result)
            if "field_grid" in result:
                self.scrubber_panel.set_vector_field(result["field_grid"], result["field_vectors"])
        elif kind == "codes":
            self.codes_panel.set_codes(CodesView.from_mapping(result))
        elif kind == "interpolate":
            self.last_interpolation = result
            self.latent_panel.show_interpolation(result["samples"])

    def _on_bus_mode_reset(self, reason: Optional[str], history: list) -> None:
        self.modes_panel.clear()
        if reason:
            self.modes_panel.set_unavailable(reason)
        else:
            self.modes_panel.set_history(history)

    def _on_bus_mode_records(self, items: list) -> None:
        for rec, samples, note in items:
            self.modes_panel.append_record(rec, samples, alert_note=note)

    def _on_modes_alert(self, step: int, message: str) -> None:
        self.statusBar().showMessage(f"Mode collapse alert at step {step:,}: {message}", 15000)
        # The tab is marked rather than raised: raising it would pull the user away from the
        # panel in use (a latent slider mid-drag) every time an alert fires.
        dock = self.docks["ModeCollapsePanel"]
        if not is_on_screen(self.modes_panel):
            dock.setWindowTitle(MODES_ALERT_TITLE)

    def _on_modes_dock_visibility(self, visible: bool) -> None:
        if visible:
            self.docks["ModeCollapsePanel"].setWindowTitle(MODES_TITLE)
            self.modes_panel.refresh_if_stale()

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

    def _on_bus_evaluation(self, record: dict) -> None:
        self.last_evaluation = record
        run = record.get("run")
        title = Run(run).about()["title"] if run else "current run"
        self.eval_panel.add_run(title, record)
        self.docks["EvaluationTable"].show()
        self.docks["EvaluationTable"].raise_()
        self.statusBar().showMessage(f"Evaluated step {record.get('step')}", 8000)

    def _on_bus_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    def on_compare_evaluation(self) -> None:
        path = self._ask_folder("Compare with run")
        if path:
            self.add_evaluation_of(path)

    def add_evaluation_of(self, path: str | Path) -> None:
        try:
            evals = Run.open(path).read_evaluations()
        except Exception as e:  # noqa: BLE001
            self._warn("Cannot compare", str(e))
            return
        if not evals:
            self._warn("No evaluation in that run",
                       f"Evaluate it first: open it and press Evaluate, or run "
                       f"`genstudio eval {path}`.")
            return
        self.eval_panel.add_run(Run(path).about()["title"], evals[-1])

    # -- panel slots --------------------------------------------------------------------------------
    def _on_controls_live_value(self, section: str, key: str, value: Any) -> None:
        if self.snapshot is not None:
            self.host.set_live(section, key, value)

    def _on_controls_structural_edit(self, key: str) -> None:
        answer = QMessageBox.question(
            self, "Start a new run?",
            f"Changing {key} needs a new model. Stop this run and start a new one with the change?")
        if answer == QMessageBox.Yes:
            self.host.stop()
            if self.on_new_run():
                self.host.train()

    def _on_gallery_sample_clicked(self, index: int) -> None:
        if self.eval_z is None or index >= len(self.eval_z):
            return
        z = self.eval_z[index]
        if "conditional" in self.run_info.capabilities:
            # the preview grid asks a conditional model for class i % K at sample i
            self.latent_panel.set_label(index % max(1, self.snapshot.num_classes))
        self.docks["LatentExplorerPanel"].raise_()
        self.latent_panel.set_base(z)              # emits z_changed, which asks for a decode

    def _on_latent_z_changed(self, z: np.ndarray, _stamp: int) -> None:
        self.host.request_render("decode", z=z, label=self.latent_panel.current_label())

    def _on_latent_label_changed(self, _label: int) -> None:
        self.latent_panel.set_base(self.latent_panel.current_z())   # decodes with the label

    def _on_latent_sweep(self, kind: str) -> None:
        label = self.latent_panel.current_label()
        self.host.request_render("sweep", which=kind, z=self.latent_panel.current_z(),
                                 label=label or 0, n=10, seed=self.latent_panel.seed())

    def _on_latent_random(self, seed: int) -> None:
        self.host.request_render("sample", seed=seed, n=1)

    def _on_latent_encode(self) -> None:
        idx = self.data_panel.selected_indices()
        if not len(idx):
            self._warn("Pick an image", "Select an image in the data set browser first.")
            return
        self._on_data_image_picked(int(idx[0]))

    def _on_data_image_picked(self, index: int) -> None:
        ds, snap = self.browser_dataset, self.snapshot
        if ds is None or snap is None:
            return
        if not ({"encode", "trajectory"} & snap.capabilities):
            self.statusBar().showMessage(f"The {snap.engine} engine cannot encode images", 8000)
            return
        x = ds.train_x[index:index + 1]
        if x.shape[1:] != snap.sample_shape:
            self._warn("Cannot encode", f"This image has shape {x.shape[1:]}, the model expects "
                                        f"{snap.sample_shape}.")
            return
        self.docks["LatentExplorerPanel"].raise_()
        self.host.request_render("encode", x=x)

    def _on_latent_interpolate(self, za, zb, mode: str, steps: int) -> None:
        self.host.request_render("interpolate", za=za, zb=zb, steps=steps, mode=mode,
                                 label=self.latent_panel.current_label())

    # -- diffusion scrubber -------------------------------------------------------------------
    def _diffusion_ready(self) -> bool:
        if self.snapshot is None or "trajectory" not in self.snapshot.capabilities:
            self.scrubber_panel.set_error("Open or train a diffusion (ddpm) run to scrub its steps.")
            return False
        return True

    def _on_scrubber_trajectory(self, d: dict) -> None:
        if self._diffusion_ready():
            self.scrubber_panel.set_busy("Sampling..." if d["mode"] == "sample" else "Noising...")
            self.host.request_render("trajectory", **d)

    def _on_scrubber_continue(self, d: dict) -> None:
        traj = self.last_trajectory
        if not self._diffusion_ready() or traj is None or traj.get("mode") != "sample":
            return
        i = int(d["step_index"])
        self.scrubber_panel.set_busy("Continuing from this step...")
        self.host.request_render("continue", x_start=traj["xt_net"][i],
                                 start_index=int(traj["index"][i]), sampler=traj["sampler"],
                                 steps=traj["steps"], eta=traj["eta"], seed=traj["seed"])

    def _on_scrubber_edit(self, d: dict) -> None:
        traj = self.last_trajectory
        if not self._diffusion_ready() or traj is None or traj.get("mode") != "sample":
            return
        i, k = int(d["step_index"]), int(d["index"])
        data_x = None
        if d["action"] == "swap":
            ds = self.browser_dataset          # the run's data set, loaded with the run's seed
            if ds is None or ds.train_x.shape[1:] != self.snapshot.sample_shape:
                return self._warn("No data set", "The data set browser has not loaded this run's data.")
            pick = self.data_panel.selected_indices()
            j = int(pick[0]) if len(pick) else int(np.random.default_rng(d["seed"]).integers(len(ds.train_x)))
            data_x = ds.train_x[j]
        self.scrubber_panel.set_busy("Editing and continuing...")
        self.host.request_render("edit", xt_net=traj["xt_net"][i], x0=traj["x0"][i],
                                 t=int(traj["t"][i]), index=k, action=d["action"],
                                 start_index=int(traj["index"][i]), seed=traj["seed"],
                                 sampler=traj["sampler"], steps=traj["steps"], eta=traj["eta"],
                                 data_x=data_x)

    def _on_scrubber_export(self, what: str) -> Optional[list]:
        traj = self.last_trajectory
        if traj is None:
            return self._warn("Nothing to export", "Run a trajectory in the diffusion panel first.")
        images = traj["xt"].ndim == 5
        meta = self._provenance({"trajectory": f"{traj['mode']} {traj['sampler']} "
                                               f"{traj['steps']} steps eta {traj['eta']} seed {traj['seed']}"})
        if what == "gif":
            if not images:
                return self._warn("Not for points", "Trajectory GIFs are made of image grids.")
            path = self._ask_save("Export trajectory", "trajectory.gif", "GIF images (*.gif)")
            if not path:
                return None
            from studio.core.images import image_grid
            grids = np.stack([image_grid(f).transpose(2, 0, 1) for f in traj["xt"]]) / 255.0
            return self._exported([export_gif(path, grids, meta, boomerang=False, scale=2,
                                              duration_ms=80)])
        if what == "x0_grid":
            path = self._ask_save("Export predicted x0 across steps", "x0_across_steps.png",
                                  "PNG images (*.png)")
            if not path:
                return None
            picks = x0_across_steps(traj, k=10)
            if images:
                from studio.core.images import image_grid, save_png
                rows = picks.transpose(1, 0, 2, 3, 4).reshape(-1, *picks.shape[2:])
                save_png(path, image_grid(rows, ncols=len(picks)), meta)
                return self._exported([Path(path)])
            return self._exported([export_grid(path, picks[-1], meta)])
        path = self._ask_save("Export final samples", "diffusion_samples.png", "PNG images (*.png)")
        if not path:
            return None
        return self._exported([export_grid(path, traj["x0"][-1], meta, scale=self.export_scale())])

    def _codes_apply(self) -> bool:
        caps = self.run_info.capabilities or frozenset()
        return "encode" in caps and self.browser_dataset is not None and self.browser_dataset.spec.is_images

    def _request_codes(self) -> None:
        if self.snapshot is not None:
            self.host.request_render("codes")

    def _on_code_clicked(self, z) -> None:
        self.latent_panel.set_base(z)
        self.docks["LatentExplorerPanel"].raise_()

    # -- export -------------------------------------------------------------------------------------
    def _provenance(self, extra: Optional[dict] = None, step: Optional[int] = None) -> dict[str, str]:
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

    def _ask_save(self, title: str, name: str, filt: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, str(self.runs_dir / name), filt)
        return path

    def _ask_folder(self, title: str) -> str:
        """Starts where the last folder was picked (runs trained elsewhere, e.g. by
        `genstudio train --out`, are one click away), else in the runs folder."""
        start = self.settings.value("last_folder", "")
        start = start if isinstance(start, str) and start and Path(start).is_dir() else str(self.runs_dir)
        path = QFileDialog.getExistingDirectory(self, title, start)
        if path:
            self.settings.setValue("last_folder", str(Path(path).parent))
        return path

    def on_export_grid(self) -> Optional[list]:
        if self.last_samples is None:
            return self._warn("Nothing to export", "No samples yet: train or open a run.")
        path = self._ask_save("Export sample grid", "samples.png", "PNG images (*.png)")
        if not path:
            return None
        step, samples = self.last_samples
        ref = self.browser_dataset.train_x[:2000] if samples.ndim == 2 and self.browser_dataset else None
        out = [export_grid(path, samples, self._provenance({"samples": "fixed-z preview grid"}, step),
                           reference=ref, scale=self.export_scale())]
        return self._exported(out)

    def on_export_individual(self) -> Optional[list]:
        if self.last_samples is None or self.last_samples[1].ndim != 4:
            return self._warn("Nothing to export", "Individual PNGs need image samples.")
        folder = self._ask_folder("Export samples into folder")
        if not folder:
            return None
        step, samples = self.last_samples
        return self._exported(export_individual(folder, samples, self._provenance(step=step),
                                                scale=self.export_scale()))

    def on_export_gif(self) -> Optional[list]:
        interp = self.last_interpolation
        if interp is None or interp["samples"].ndim != 4:
            return self._warn("Nothing to export", "Make an image interpolation in the latent "
                                                   "explorer first.")
        path = self._ask_save("Export interpolation", "interpolation.gif", "GIF images (*.gif)")
        if not path:
            return None
        return self._exported([export_gif(path, interp["samples"],
                                          self._provenance(step=interp.get("step")),
                                          scale=max(GIF_MIN_SCALE, self.export_scale()))])

    def on_export_latents(self) -> Optional[list]:
        z = self.latent_panel.current_z() if self.run_info.latent_dim else None
        interp = self.last_interpolation
        if z is None:
            return self._warn("Nothing to export", "Open a run with a latent space first.")
        path = self._ask_save("Export latent vectors", "latents.npy", "NumPy arrays (*.npy)")
        if not path:
            return None
        arr = interp["z"] if interp is not None else np.atleast_2d(z)
        return self._exported([export_latents(path, arr)])

    def on_export_csv(self) -> Optional[list]:
        name = Run(self.run_path).about()["title"] if self.run_path else "run"
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        path = self._ask_save("Export curves as CSV", f"{safe}-metrics.csv", "CSV files (*.csv)")
        if not path:
            return None
        rows = self.plots_panel.export_csv(path)
        self.statusBar().showMessage(f"Exported {rows} rows to {path}", 8000)
        self.export_written.emit([str(path)])
        return [Path(path)]

    def on_export_config(self) -> Optional[list]:
        try:
            cfg = self.current_config()
        except (ConfigError, DataError) as e:
            return self._warn("Invalid settings", str(e))
        path = self._ask_save("Export config", "config.toml", "TOML configs (*.toml)")
        if not path:
            return None
        cfg.save(path)
        return self._exported([Path(path)])

    def _exported(self, paths: list) -> list:
        self.statusBar().showMessage(f"Wrote {len(paths)} file(s): {paths[0]}", 8000)
        self.export_written.emit([str(p) for p in paths])
        return paths

    def on_compare(self) -> None:
        path = self._ask_folder("Compare with run")
        if path:
            self.add_comparison(path)

    def add_comparison(self, path: str | Path) -> None:
        try:
            records, skipped = Run.open(path).read_metrics_report()
        except Exception as e:  # noqa: BLE001
            self._warn("Cannot compare", str(e))
            return
        if skipped:
            self._warn("Some metrics were skipped", _skipped_lines_text(skipped))
        self.plots_panel.add_overlay(Run(path).about()["title"], records)

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
            self._warn("Cannot use this config", str(e))
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
        self.data_choice = (name, data)        # what a run started now trains on
        self.load_data(name, data)

    def use_preset(self, name: str) -> bool:
        try:
            config = load_preset(name)
        except ConfigError as e:
            self._warn("Cannot use this preset", str(e))
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
            return self._warn("No example runs", "This installation has no ready-trained runs "
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
            self._warn("Cannot open the example run", str(e))
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
        first start, the example runs are offered."""
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
            return self._warn("No run open", "Open or start a run first.")
        run = Run(self.run_path)
        about = run.about()
        title, ok = QInputDialog.getText(self, "Rename run", "Name of this run:", text=about["title"])
        if ok and title.strip():
            run.set_about(title, about["description"])
            self._update_title()

    def on_edit_notes(self) -> None:
        if self.run_path is None:
            return self._warn("No run open", "Open or start a run first.")
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
            return self._warn("User guide", f"The user guide is not installed here ({path}).")
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

    def _warn(self, title: str, text: str) -> None:
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


def explorer_capabilities(caps: frozenset) -> frozenset:
    """What the latent explorer can do with an engine of capabilities `caps`: every engine
    decodes its standard-normal input (the "decode" render, `sample(z=...)`), and engines
    that "invert" (diffusion: DDIM inversion) "encode" data to it."""
    out = set(caps) | {"decode"}
    if "invert" in caps:
        out.add("encode")
    return frozenset(out)


def _load_snapshot(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("L" if im.mode in ("L", "LA", "I", "I;16") else "RGB"))


@dataclass
class LoadFailure:
    message: str
    skipped: list[tuple[str, str]]


def _load_or_failure(name: str, options: dict, seed: int = 0):
    try:
        return load_dataset(name, options, seed=seed)
    except DataError as e:
        report = getattr(e, "report", None)
        return LoadFailure(str(e), [(f.path, f.reason) for f in report.skipped] if report else [])


def _skipped_lines_text(skipped: list[str]) -> str:
    shown = "\n".join(skipped[:8])
    more = f"\n... and {len(skipped) - 8} more" if len(skipped) > 8 else ""
    return f"{len(skipped)} line(s) of metrics.jsonl could not be used:\n{shown}{more}"
