"""Mode-collapse view: what the fixed-z samples are made of, snapshot after snapshot.

- a heatmap of the evaluator's classes over time (x = step, y = class 0..9, colour = share
  of the samples), with the current shares as bars beside it against the data's shares;
- classes covered and KL-to-data curves, each with the value a batch of real images of the
  same size gets (dashed);
- intra-batch diversity with the real-data baseline (dashed) and its +-2 s.d. band;
- a strip of the latest near-duplicate pairs as thumbnails;
- an alert banner (step + message, dismissable) and `alert_raised(int, str)`.

The panel takes plain values: `append_record(record, samples)` where record is a mapping or
any object with the fields of `studio.core.mode_monitor.ModeRecord` (step, n, class_hist,
data_hist, classes_covered, num_classes, kl_to_data, real_kl, real_classes_covered,
diversity, real_diversity, real_diversity_std, diversity_space, duplicates,
duplicate_pairs, duplicate_share, duplicate_threshold, alert), and samples the batch as
(N, C, H, W) uint8 or float in [0, 1]. It never imports studio or torch.

Preview: ``python -m widgets.mode_collapse [--grab OUT.png] [--size WxH] [--dark] [--empty]
[--unavailable] [--pixels]`` (fake data: a GAN whose coverage falls from 10 classes to 3).

The package, by concern: records (numpy: record normalisation, the heatmap's resampling,
number formats), texts (hint and tooltips), charts and duplicates (mixins of the panel) and
panel (ModeCollapsePanel: banner, summary, redraws, palette, preview). Every name below is
importable from `widgets.mode_collapse` as before.
"""
from .charts import BOTTOM_AXIS_HEIGHT, HEAT_LEVELS, LOW_COVERAGE, MAX_SYMBOLS, RIGHT_COLUMN, ROW_HEIGHTS
from .duplicates import MAX_PAIRS_SHOWN, THUMB_SIDE
from .panel import ModeCollapsePanel, main
from .records import FIELDS, MAX_HEAT_COLUMNS, heat_grid, normalise_record
from .texts import HINT, TIPS

__all__ = ["ModeCollapsePanel", "FIELDS", "HINT", "main",
           # helpers and constants the tests and tools read
           "TIPS", "heat_grid", "normalise_record", "BOTTOM_AXIS_HEIGHT", "HEAT_LEVELS", "LOW_COVERAGE",
           "MAX_HEAT_COLUMNS", "MAX_PAIRS_SHOWN", "MAX_SYMBOLS", "RIGHT_COLUMN", "ROW_HEIGHTS", "THUMB_SIDE"]
