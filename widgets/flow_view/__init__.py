"""Flow view: what only a normalizing flow allows (exact codes, exact densities, every layer
invertible).

- Points (2D): the layers view. A slider k = 0..K: the data pushed through the first k
  layers (dots coloured by their angle around the data's centre at k = 0, so a region can be
  followed through the layers) and the lines of a regular grid in z (+-2.5 std) pulled back
  through the last K - k layers; k = 0 shows the data with the grid bent into data space,
  k = K the Gaussian and the straight grid. Two play buttons animate k (towards z: encoding;
  towards x: generation). Under the dots at k = 0 a heatmap: the density exp(log p(x)) or
  log |det dz/dx|, both over data space (hidden with a hint at k > 0).
- Images, tab "Levels": one image (a random test image or the one picked in the data set
  browser), its code at every level (eps channels as grey images) and decodes that keep the
  top j levels and draw the others at a temperature, j = 0..L, several draws each.
- Images, tab "Likelihood": per-image bits/dim of test images and of samples as two
  histograms, and the most and least likely test images with their bits/dim.

The panel takes numpy (the results of the "flow_layers", "flow_levels" and
"flow_likelihood" renders) and emits requests; it never imports torch, engines or studio.

Preview: ``python -m widgets.flow_view [--view layers|levels|likelihood|empty] [--stage K]
[--heatmap none|density|log_det] [--grab OUT.png] [--dark]``.

By concern: stages (numpy helpers), tiles (rows of small images), layers, levels and
likelihood (the three views), panel (FlowViewPanel and its preview).
"""
from .layers import HEATMAP_HINT, HEATMAPS, LayersView
from .levels import LevelsView
from .likelihood import LikelihoodView
from .panel import EMPTY_TEXT, VIEWS, FlowViewPanel, main
from .stages import at_position, hue_bins, layer_caption, mass_in_box, normalise_layers
from .tiles import TileRow, TileRows

__all__ = ["FlowViewPanel", "LayersView", "LevelsView", "LikelihoodView", "TileRow", "TileRows",
           "EMPTY_TEXT", "HEATMAPS", "HEATMAP_HINT", "VIEWS", "at_position", "hue_bins",
           "layer_caption", "mass_in_box", "normalise_layers", "main"]
