"""Diffusion scrubber: watch a diffusion model (DDPM / DDIM) generate step by step, scrub the
steps, and edit a sample mid-way.

The engine runs on the host thread; this panel only shows numpy data and emits requests:

- ``set_schedule(alpha_bar, t_max)`` draws alpha-bar and log10 SNR against t, with a marker
  (draggable) at the t of the step on screen.
- ``set_trajectory(traj)`` takes ``{"t": (S,), "xt": (S, N, C, H, W) | (S, N, 2), "x0": ...,
  "eps": ..., "mode": "sample" | "forward"}`` and shows, for the current step, three grids
  (x_t, predicted x0, predicted noise) or, for points, a scatter with particle paths, the x0
  predictions and (``set_vector_field``) the predicted-noise field. "x0" and "eps" are the
  model's guesses; a forward trajectory may add the truth, "x0_true" and "eps_true" (shown
  beside the guesses, titled as the truth), and "eps_mse" ((S,) or (S, N): the noise
  guess's squared error, read out per step).
- The transport (slider, Play / Reverse / Pause at 5-60 fps) scrubs the steps; Run, the edit
  buttons, "Continue from here" and the Export menu emit ``trajectory_requested``,
  ``edit_requested``, ``continue_requested`` and ``export_requested``; the window answers
  with ``set_trajectory`` (or writes the files).

Preview: ``python -m widgets.diffusion_scrubber [--points] [--size 900x650] [--grab OUT.png]``.

The package, by concern: trajectory (numpy: checks, log10 SNR, noise as a picture, step
picks), display (the grids or points of a step, selection), schedule (the alpha-bar / SNR
plot and its marker), transport (slider and playback), controls (run settings, edits,
export, status) - each a mixin of the panel - and panel (DiffusionScrubberPanel and its
preview). Every name below is importable from `widgets.diffusion_scrubber` as before.
"""
from .controls import ERROR_COLOUR
from .display import (GRID_TIPS, GRID_TITLES, LAYOUTS, MAX_TRAILS, NOISE_NOTE, READY_TEXT, SCHED_MAX,
                      SCHED_MIN, SELECT_COLOUR, TRUE_COLOUR, TRUTH_NOTE, X0_COLOUR, XT_COLOUR)
from .panel import EMPTY_TEXT, WIDE, DiffusionScrubberPanel, main
from .schedule import ABAR_COLOUR, SNR_COLOUR
from .trajectory import GRID_KEYS, NOISE_KEYS, TRUTH_KEYS, log10_snr, noise_to_display, pick_steps, x0_across_steps
from .transport import FPS_DEFAULT, FPS_MAX, FPS_MIN, NO_STEPS_TEXT

__all__ = ["DiffusionScrubberPanel", "x0_across_steps", "pick_steps", "log10_snr",
           "noise_to_display", "EMPTY_TEXT", "READY_TEXT", "GRID_TITLES", "NOISE_NOTE",
           "MAX_TRAILS", "main",
           # constants the tests and tools read
           "ABAR_COLOUR", "ERROR_COLOUR", "FPS_DEFAULT", "FPS_MAX", "FPS_MIN", "GRID_KEYS", "GRID_TIPS",
           "LAYOUTS", "NOISE_KEYS", "NO_STEPS_TEXT", "SCHED_MAX", "SCHED_MIN", "SELECT_COLOUR",
           "SNR_COLOUR", "TRUE_COLOUR", "TRUTH_KEYS", "TRUTH_NOTE", "WIDE", "X0_COLOUR", "XT_COLOUR"]
