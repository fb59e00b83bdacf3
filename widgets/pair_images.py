"""Two image sides shown as one: a lazy array whose item i is source i | target i (no
copies; each composite is built when a thumbnail asks for it). Qt-free."""
from __future__ import annotations

import numpy as np

GAP = 2            # pixels of mid grey between the two sides
GAP_VALUE = 96


class PairImages:
    """`len`, `shape` and `[i]` like a uint8 (N, C, H, W) array: the source image scaled by
    pixel repetition to the target's height (or left as is when that is not a whole
    factor, centred), a thin grey gap, then the target image."""

    def __init__(self, source: np.ndarray, target: np.ndarray):
        self.source, self.target = source, target
        _, cs, hs, ws = source.shape
        _, ct, ht, wt = target.shape
        self.k = ht // hs if ht % hs == 0 and ht >= hs else 1
        self.channels = max(cs, ct)
        self.height = max(ht, hs * self.k)
        self.ws = ws * self.k
        self.shape = (len(target), self.channels, self.height, self.ws + GAP + wt)
        self.ndim, self.dtype = 4, np.uint8

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, i: int) -> np.ndarray:
        s, t = self.source[int(i)], self.target[int(i)]
        if self.k > 1:
            s = s.repeat(self.k, 1).repeat(self.k, 2)
        out = np.full(self.shape[1:], GAP_VALUE, np.uint8)
        for img, left in ((s, 0), (t, self.ws + GAP)):
            top = (self.height - img.shape[1]) // 2
            out[:, top:top + img.shape[1], left:left + img.shape[2]] = img   # gray broadcasts
        return out
