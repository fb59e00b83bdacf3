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


def interleave_order(n_a: int, n_b: int) -> np.ndarray:
    """(2, n_a + n_b) int64: per position, the side (0 = a, 1 = b) and the index in it:
    a0, b0, a1, b1, ... while both last, then the rest of the longer side."""
    m = min(n_a, n_b)
    side = np.empty(n_a + n_b, np.int64)
    index = np.empty(n_a + n_b, np.int64)
    side[:2 * m:2], side[1:2 * m:2] = 0, 1
    index[:2 * m:2] = index[1:2 * m:2] = np.arange(m)
    rest_side = 0 if n_a > m else 1
    side[2 * m:] = rest_side
    index[2 * m:] = np.arange(m, max(n_a, n_b))
    return np.stack([side, index])


class InterleavedImages:
    """Two unpaired domains shown as one list: a0, b0, a1, b1, ... (then the rest of the
    longer domain), each centred on a canvas of the larger shape, so the browser shows both
    domains side by side without suggesting they are pairs. Lazy like PairImages."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self.sides = (a, b)
        self.order = interleave_order(len(a), len(b))
        self.channels = max(a.shape[1], b.shape[1])
        self.shape = (len(a) + len(b), self.channels, max(a.shape[2], b.shape[2]),
                      max(a.shape[3], b.shape[3]))
        self.ndim, self.dtype = 4, np.uint8

    def __len__(self) -> int:
        return self.shape[0]

    def side_of(self, i: int) -> int:
        return int(self.order[0, int(i)])

    def interleave(self, values_a: np.ndarray, values_b: np.ndarray) -> np.ndarray:
        """Per-image values (labels) of the two domains in this list's order."""
        out = np.empty(len(self), np.result_type(values_a, values_b))
        s, k = self.order
        out[s == 0] = values_a[k[s == 0]]
        out[s == 1] = values_b[k[s == 1]]
        return out

    def __getitem__(self, i: int) -> np.ndarray:
        s, k = self.order[:, int(i)]
        img = self.sides[int(s)][int(k)]
        if img.shape == self.shape[1:]:
            return img
        out = np.zeros(self.shape[1:], np.uint8)
        top = (self.shape[2] - img.shape[1]) // 2
        left = (self.shape[3] - img.shape[2]) // 2
        out[:, top:top + img.shape[1], left:left + img.shape[2]] = img
        return out
