"""What the mode-collapse view says: the empty hint and the tooltip of each part."""
from __future__ import annotations


HINT = ("Mode-collapse charts appear here with the first sample snapshot of an image run "
        "(every \u201csample every\u201d steps while training).")

TIPS = {
    "heatmap": ("Which digit each fixed-z sample looks like, over training. Every column is "
                "one snapshot; colour is the share of its samples the evaluator labels as "
                "that class (dark = none, yellow = half or more). A healthy model keeps "
                "every row lit at about the data's share; collapse shows as rows going dark "
                "while a few rows light up."),
    "bars": ("Latest snapshot: share of samples per class (bars) against the share in "
             "the real training data (black/white ticks, about 10% each for MNIST)."),
    "coverage": ("Classes covered: how many of the classes get at least one sample in the "
                 "snapshot. Dashed: what a batch of real images of the same size covers; "
                 "dotted: half of that, where the alert waits below. A drop means the "
                 "generator stopped producing some digits."),
    "kl": ("KL to data (nats): how far the samples' class mix is from the data's, "
           "KL(samples || data). 0 is a perfect match; log 10 = 2.3 is everything in one "
           "class. Dashed: the value for a real batch of the same size (sampling noise)."),
    "diversity": ("Diversity: the average distance between two samples of the same "
                  "snapshot (evaluator features, or pixels when no evaluator applies). "
                  "Dashed with band: real images (mean \u00b1 2 s.d.). Falling well below "
                  "the band means the samples look alike."),
    "duplicates": ("Near-duplicates: pairs of samples closer to each other than 99% of real "
                   "images are to their nearest real neighbour. Real batches almost never "
                   "have any; many pairs mean the generator repeats itself."),
    "alert": ("Raised once per drop: classes covered stays under half of a real batch's "
              "(the dotted line) for 3 snapshots in a row at step 1000 or later, falls 2 "
              "below its best, KL rises 0.5 nats above its best, diversity falls below half "
              "the real value, or a quarter of the samples have a near-duplicate. A snapshot "
              "of the samples is saved."),
}

