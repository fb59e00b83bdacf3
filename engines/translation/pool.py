"""CycleGAN's image history pool (Zhu et al. 2017, sec. 4, after Shrivastava et al. 2017):
the discriminator sees generated images from a buffer of the last `size` (50) ones instead of
only the newest batch, which damps the oscillation between the two players.

For each image of a batch, in order (the paper's code, `util/image_pool.py`):
  - while the pool holds fewer than `size` images: store it, return it;
  - once full: with probability 1/2 return a stored image picked uniformly and put the new
    one in its place; otherwise return the new image (the pool is unchanged).

The state resumes exactly: the images and the fill count are tensors of fixed size
(`tensors()`, saved with the weights as extra tensors), and the random decisions are inputs
(`query(images, u, slot)`), which the engine draws from the global torch RNG (checkpointed).
`draws(n)` draws them: u ~ U[0, 1) and slot ~ U{0..size-1}, one of each per image, whether
or not the pool is full yet, so the RNG stream does not depend on the fill count.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

RETURN_STORED = 0.5     # probability that a full pool returns a stored image


class HistoryPool:
    def __init__(self, size: int, shape: tuple[int, ...], device: torch.device | str = "cpu"):
        if size < 0:
            raise ValueError(f"a history pool holds 0 or more images, got {size}")
        self.size = int(size)
        self.shape = tuple(shape)
        self.images = torch.zeros((self.size, *self.shape), device=device)
        self.count = torch.zeros((), dtype=torch.int64, device=device)
        self._n = 0         # = count, kept as a Python int so a query never syncs the device

    def __len__(self) -> int:
        return self._n

    @property
    def full(self) -> bool:
        return self._n >= self.size

    def draws(self, n: int, device: torch.device | str | None = None,
              generator: Optional[torch.Generator] = None) -> tuple[Tensor, Tensor]:
        """The random inputs of a query of n images: (u (n,), slot (n,) int64), from the
        global RNG (or `generator`)."""
        device = self.images.device if device is None else device
        u = torch.rand((n,), generator=generator, device=device)
        slot = torch.randint(0, max(self.size, 1), (n,), generator=generator, device=device)
        return u, slot

    @torch.no_grad()
    def query(self, images: Tensor, u: Tensor, slot: Tensor) -> Tensor:
        """The images the discriminator sees in place of `images` (detached), and the pool
        updated (see the module doc): image i is stored while the pool fills; once full, it
        swaps with stored image slot[i] when u[i] < 1/2."""
        images = images.detach()
        if self.size == 0:
            return images
        out = images.clone()
        b = images.shape[0]
        fill = min(b, self.size - self._n)
        if fill > 0:
            self.images[self._n:self._n + fill].copy_(images[:fill])
            self._n += fill
            self.count.fill_(self._n)
        swap = (u[fill:] < RETURN_STORED).to(images.device)
        slot = slot.to(images.device)
        for j, i in enumerate(range(fill, b)):
            # one image at a time: two images of a batch may pick the same slot, and the
            # second then gets the first (the paper's sequential loop); index tensors, not
            # Python ints, so nothing waits for the device
            s = slot[i:i + 1]
            old = self.images.index_select(0, s)
            new = images[i:i + 1]
            w = swap[j]
            out[i:i + 1] = torch.where(w, old, new)
            self.images.index_copy_(0, s, torch.where(w, new, old))
        return out

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """The state as extra tensors: `<prefix>.images` (size, *shape), `<prefix>.count`."""
        return {f"{prefix}.images": self.images, f"{prefix}.count": self.count}

    def loaded(self) -> None:
        """Call after the tensors were overwritten in place (a checkpoint loaded)."""
        self._n = int(self.count)
        if not 0 <= self._n <= self.size:
            raise ValueError(f"a history pool of {self.size} images cannot hold {self._n}")
