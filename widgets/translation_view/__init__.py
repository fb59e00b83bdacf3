"""Translation view: what an image-to-image translator (pix2pix, CycleGAN, SRGAN) does to
images, live while it trains.

- Strip: a few inputs (test images from an index, "New inputs" for the next ones, or images
  double-clicked in the data set browser) and their outputs; with a way back (CycleGAN) the
  reconstructions F(G(x)); with paired data the targets, each output captioned with its L1
  and PSNR against its target. For SRGAN: low-res input, bicubic, SRResNet, SRGAN and truth
  side by side, with a magnifier (zoom slider, click a tile to move it).
- Draw: a canvas at the input side's resolution, enlarged, with pen, eraser, brush size and
  clear; the drawing is translated at every stroke and again at every training snapshot.
- Steganography probe (CycleGAN, Chu et al. 2017): noise of amplitude a (slider) added to
  G(x) before F and the reconstruction collapsing; x' = x with a small patch inverted and
  |G(x) - G(x')| amplified as a heat map beside F(G(x')); the curve of reconstruction error
  against a.
- A direction switch (X -> Y, Y -> X) for a translator with a way back.

The panel takes numpy (the results of the "translation_strip", "translation_drawn",
"translation_probe" and "translation_probe_curve" renders) and emits requests; it never
imports torch, engines or studio.

Preview: ``python -m widgets.translation_view [--engine pix2pix|cyclegan|srgan]
[--view strip|draw|probe|empty] [--grab OUT.png] [--dark]``.

By concern: images (numpy helpers), canvas (the drawing canvas), tiles (clickable rows of
images), strip, draw and probe (the three tabs), panel (TranslationViewPanel and its
preview), fakes (preview data).
"""
from .canvas import TOOLS, DrawingCanvas, stamp, stroke
from .draw import DrawView
from .images import amplified, heat, score_caption, to_size, zoom_crop
from .panel import EMPTY_TEXT, VIEWS, TranslationViewPanel, main
from .probe import EXPLAIN, ProbeView
from .strip import StripView, stage_title

__all__ = ["TranslationViewPanel", "StripView", "DrawView", "ProbeView", "DrawingCanvas",
           "EMPTY_TEXT", "EXPLAIN", "TOOLS", "VIEWS", "amplified", "heat", "score_caption",
           "stage_title", "stamp", "stroke", "to_size", "zoom_crop", "main"]
