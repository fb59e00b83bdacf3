"""Point canvas: watch a generative model learn 2D point data, GAN-Lab style, and draw your own
data set.

The engine runs on the host thread; this panel only shows numpy data and emits requests:

- ``set_frame(CanvasFrame(...))`` shows one training step: the real points, the generated
  points, the discriminator's (or critic's) output over the plane as a heatmap with a colour
  bar (or, for a frame with field_kind "density", a model's p(x) on a sequential colour map,
  with a p(x) / log p(x) scale choice under its checkbox), the generator's gradient arrows, the generator's manifold (a regular grid of latent
  codes pushed through G, drawn as a warped grid) and the mode centres (rings of 3 sigma).
  Every layer has a checkbox; a layer the frame leaves out (None) is greyed out and says why.
  The view fits the real data once per data set ("Fit view" fits again).
- ``append_mode_metrics(step, modes_captured, num_modes, high_quality_fraction, reverse_kl,
  per_mode_counts)`` feeds the per-mode coverage bars, the curves against step and the
  readout "7/8 modes · 96.1% high quality · reverse KL 0.03"; ``clear_history()`` forgets them.
- The transport (Play, Pause, Step, D step, G step, slow motion in ms per step) emits
  ``play_requested``, ``pause_requested``, ``step_requested("both" | "discriminator" |
  "generator")`` and ``slow_motion_changed(ms)``; the window answers with ``set_running``.
  ``show_phase_step(kind, step, losses)`` reports a single-player step that was taken: a
  "D moved" / "G moved" badge on the canvas, its losses under it, and the count of D and G
  steps since the last full step beside the step number (the next frame of a later step
  starts the count again).
- Draw: drag to spray points (brush radius and density), or the Mode tool: click to drop a
  Gaussian blob and record its centre as a mode; "Train on drawing" emits
  ``distribution_drawn({"x": (N, 2) float32, "modes": (K, 2) float32 | None, "sigma": float})``.

Preview: ``python -m widgets.point_canvas [--size 1000x700] [--grab OUT.png] [--dark]
[--empty] [--draw] [--vae]``.

The package, by concern: frame (CanvasFrame and its checks), geometry (numpy: arrows,
polylines, rects), items (Qt graphics items and swatches), layers, drawing, metrics and
controls (mixins of the panel, one concern each) and panel (PointCanvasPanel and its
preview). Every name below is importable from `widgets.point_canvas` as before the split.
"""
from .controls import BADGE_MS, PLAYER, STEP_KINDS, phase_loss_text
from .drawing import DRAW_SEED, DRAW_TIP, DRAWN_COLOUR, MAX_DRAWN, MIN_DRAWN
from .frame import CanvasFrame
from .geometry import ARROW_CAP, RING_SEGMENTS, arrow_segments, field_rect, grid_polylines, ring_polylines
from .items import MAX_MODE_NUMBERS
from .layers import (ARROW_FRACTION, DEFAULT_RANGE, FAKE_COLOURS, FIT_PADDING, LAYER_MISSING, LAYER_TEXT,
                     LAYER_TIP, LAYERS, REAL_COLOURS)
from .metrics import CURVE_COLOURS, HQ_TIP, _nice_step, mode_readout
from .panel import EMPTY_TEXT, WIDE, PointCanvasPanel, main

__all__ = ["PointCanvasPanel", "CanvasFrame", "LAYERS", "EMPTY_TEXT", "HQ_TIP",
           "arrow_segments", "grid_polylines", "ring_polylines", "field_rect",
           "mode_readout", "STEP_KINDS", "phase_loss_text", "main",
           # constants and helpers the tests and tools read
           "ARROW_CAP", "ARROW_FRACTION", "BADGE_MS", "CURVE_COLOURS", "DEFAULT_RANGE", "DRAW_SEED",
           "DRAW_TIP", "DRAWN_COLOUR", "FAKE_COLOURS", "FIT_PADDING", "LAYER_MISSING", "LAYER_TEXT",
           "LAYER_TIP", "MAX_DRAWN", "MAX_MODE_NUMBERS", "MIN_DRAWN", "PLAYER", "REAL_COLOURS",
           "RING_SEGMENTS", "WIDE", "_nice_step"]
