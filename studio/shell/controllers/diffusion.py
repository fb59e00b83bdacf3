"""The diffusion scrubber: a trajectory (sampling T -> 0, or noising a data image), continuing
from a step, editing a step's image and continuing, and the trajectory exports."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from studio.core.export import export_gif, export_grid
from studio.core.images import image_grid, save_png
from studio.core.snapshot import RunSnapshot
from widgets.diffusion_scrubber import x0_across_steps

from .base import Controller


class DiffusionController(Controller):
    RENDERS = ("trajectory", "continue", "edit")

    def __init__(self, session, panel):
        super().__init__(session, panel)
        self.last_trajectory: Optional[dict] = None
        panel.trajectory_requested.connect(self.request_trajectory)
        panel.continue_requested.connect(self.continue_from)
        panel.edit_requested.connect(self.edit)
        panel.export_requested.connect(self.export)

    def on_run_opened(self, snap: RunSnapshot) -> None:
        if snap.schedule is not None:
            s = snap.schedule
            self.panel.set_schedule(s.alpha_bar, s.T)
            self.panel.set_run_settings(sampler=s.sampler, steps=s.sample_steps)

    def on_render(self, kind: str, stamp: int, result: Any) -> None:
        self.last_trajectory = result
        self.panel.set_trajectory(result)
        if "field_grid" in result:
            self.panel.set_vector_field(result["field_grid"], result["field_vectors"])

    def _ready(self) -> bool:
        snap = self.session.snapshot
        if snap is None or "trajectory" not in snap.capabilities:
            self.panel.set_error("Open or train a diffusion (ddpm) run to scrub its steps.")
            return False
        return True

    def _sampled(self) -> Optional[dict]:
        traj = self.last_trajectory
        return traj if self._ready() and traj is not None and traj.get("mode") == "sample" else None

    # -- panel requests ---------------------------------------------------------------------------
    def request_trajectory(self, d: dict) -> None:
        if self._ready():
            self.panel.set_busy("Sampling..." if d["mode"] == "sample" else "Noising...")
            self.session.host.request_render("trajectory", **d)

    def continue_from(self, d: dict) -> None:
        traj = self._sampled()
        if traj is None:
            return
        i = int(d["step_index"])
        self.panel.set_busy("Continuing from this step...")
        self.session.host.request_render("continue", x_start=traj["xt_net"][i],
                                         start_index=int(traj["index"][i]), sampler=traj["sampler"],
                                         steps=traj["steps"], eta=traj["eta"], seed=traj["seed"])

    def edit(self, d: dict) -> None:
        traj = self._sampled()
        if traj is None:
            return
        i, k = int(d["step_index"]), int(d["index"])
        data_x = None
        if d["action"] == "swap":
            ds = self.session.browser_dataset     # the run's data set, loaded with its seed
            if ds is None or ds.train_x.shape[1:] != self.session.snapshot.sample_shape:
                return self.session.warn("No data set",
                                         "The data set browser has not loaded this run's data.")
            pick = self.session.selected_data_indices()
            j = int(pick[0]) if len(pick) else int(np.random.default_rng(d["seed"]).integers(len(ds.train_x)))
            data_x = ds.train_x[j]
        self.panel.set_busy("Editing and continuing...")
        self.session.host.request_render(
            "edit", xt_net=traj["xt_net"][i], x0=traj["x0"][i], t=int(traj["t"][i]), index=k,
            action=d["action"], start_index=int(traj["index"][i]), seed=traj["seed"],
            sampler=traj["sampler"], steps=traj["steps"], eta=traj["eta"], data_x=data_x)

    def export(self, what: str) -> Optional[list]:
        s, traj = self.session, self.last_trajectory
        if traj is None:
            return s.warn("Nothing to export", "Run a trajectory in the diffusion panel first.")
        images = traj["xt"].ndim == 5
        meta = s.provenance({"trajectory": f"{traj['mode']} {traj['sampler']} {traj['steps']} "
                                           f"steps eta {traj['eta']} seed {traj['seed']}"})
        if what == "gif":
            if not images:
                return s.warn("Not for points", "Trajectory GIFs are made of image grids.")
            path = s.ask_save("Export trajectory", "trajectory.gif", "GIF images (*.gif)")
            if not path:
                return None
            grids = np.stack([image_grid(f).transpose(2, 0, 1) for f in traj["xt"]]) / 255.0
            return s.exported([export_gif(path, grids, meta, boomerang=False, scale=2,
                                          duration_ms=80)])
        if what == "x0_grid":
            path = s.ask_save("Export predicted x0 across steps", "x0_across_steps.png",
                              "PNG images (*.png)")
            if not path:
                return None
            picks = x0_across_steps(traj, k=10)
            if images:
                rows = picks.transpose(1, 0, 2, 3, 4).reshape(-1, *picks.shape[2:])
                save_png(path, image_grid(rows, ncols=len(picks)), meta)
                return s.exported([Path(path)])
            return s.exported([export_grid(path, picks[-1], meta)])
        path = s.ask_save("Export final samples", "diffusion_samples.png", "PNG images (*.png)")
        if not path:
            return None
        return s.exported([export_grid(path, traj["x0"][-1], meta, scale=s.export_scale())])
