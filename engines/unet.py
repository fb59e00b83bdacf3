"""Denoising networks for diffusion: a small U-Net for images and a time-conditioned MLP for
points (torch only). Both map (x_t, t, y) -> a tensor shaped like x_t.

- t: (B,) diffusion times (1..T, any float/int dtype), fed through the sinusoidal embedding
  of Vaswani et al. / Ho et al. (half cos, half sin, periods up to 10000 steps).
- y: (B,) int64 class ids in 0..num_classes, where num_classes itself is the *null* class
  used by classifier-free guidance; None means the null class. Ignored when the network
  was built with num_classes = 0.

U-Net (Ronneberger et al. 2015 as used by Ho et al. 2020), sized for CPU speed:
  [space-to-depth by `patch`] -> 3x3 conv -> per level: `res_blocks` ResBlocks, keep a skip,
  stride-2 conv down (not after the last level) -> one middle ResBlock -> per level (coarse
  to fine): concat the skip, `res_blocks` ResBlocks, nearest x2 + 3x3 conv up ->
  GroupNorm, SiLU, 3x3 conv (zero-initialised) -> [depth-to-space].
  ResBlock: GN -> SiLU -> conv3x3 -> + Linear(SiLU(temb)) per channel -> GN -> SiLU ->
  dropout -> conv3x3 (zero-initialised), plus a 1x1 conv skip when the width changes.
  temb = MLP(sinusoidal(t)) (+ class embedding). No attention (too slow on a CPU for its
  worth at 28x28). GroupNorm uses the largest group count <= 8 that divides the width.
  Inputs of any H, W: padded (zeros) up to a multiple of patch * 2**(levels - 1), cropped back.
  `patch` = 2 (the ddpm-mnist preset's) runs the whole net on 2x2 pixel patches (like
  DiT's patch size 2), which makes it ~4x cheaper; patch = 1 is the classic U-Net.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .nets import MLP


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """(B,) times -> (B, dim): [cos(t f_k), sin(t f_k)], f_k = max_period^(-k / half),
    k = 0..half-1 (a zero column is appended when dim is odd)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device,
                                                           dtype=torch.float32) / max(half, 1))
    args = t.float().view(-1, 1) * freqs.view(1, -1)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def norm_groups(channels: int, max_groups: int = 8) -> int:
    """The largest group count <= max_groups that divides `channels`."""
    for g in range(min(max_groups, channels), 0, -1):
        if channels % g == 0:
            return g
    return 1


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(norm_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb_dim, cout)
        self.norm2 = nn.GroupNorm(norm_groups(cout), cout)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(temb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class UNet(nn.Module):
    """(B, C, H, W) x_t, (B,) t, optional (B,) labels -> (B, C, H, W)."""

    def __init__(self, in_channels: int, channels: int = 32, mults: Sequence[int] = (1, 2),
                 res_blocks: int = 1, dropout: float = 0.0, num_classes: int = 0,
                 patch: int = 2, out_channels: Optional[int] = None):
        super().__init__()
        if not mults:
            raise ValueError("mults needs at least one level")
        if patch < 1 or res_blocks < 1 or channels < 1:
            raise ValueError("patch, res_blocks and channels must be >= 1")
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.patch = patch
        self.levels = len(mults)
        self.num_classes = num_classes
        self.temb_in = channels
        temb_dim = 4 * channels
        self.time_mlp = nn.Sequential(nn.Linear(channels, temb_dim), nn.SiLU(),
                                      nn.Linear(temb_dim, temb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, temb_dim) if num_classes > 0 else None
        chans = [channels * m for m in mults]
        self.conv_in = nn.Conv2d(in_channels * patch * patch, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = chans[0]
        for i, ch in enumerate(chans):
            blocks = nn.ModuleList()
            for _ in range(res_blocks):
                blocks.append(ResBlock(c, ch, temb_dim, dropout))
                c = ch
            self.down.append(blocks)
            if i < len(chans) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid = ResBlock(c, c, temb_dim, dropout)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(len(chans))):
            ch = chans[i]
            blocks = nn.ModuleList()
            for r in range(res_blocks):
                blocks.append(ResBlock(c + ch if r == 0 else c, ch, temb_dim, dropout))
                c = ch
            self.up.append(blocks)
            if i > 0:
                self.upsample.append(nn.Conv2d(c, chans[i - 1], 3, padding=1))
                c = chans[i - 1]
        self.norm_out = nn.GroupNorm(norm_groups(c), c)
        self.conv_out = nn.Conv2d(c, self.out_channels * patch * patch, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def embed(self, t: Tensor, y: Optional[Tensor], batch: int) -> Tensor:
        temb = self.time_mlp(sinusoidal_embedding(t.reshape(-1), self.temb_in))
        if temb.shape[0] == 1 and batch > 1:
            temb = temb.expand(batch, -1)
        if self.class_emb is not None:
            if y is None:
                y = torch.full((batch,), self.num_classes, dtype=torch.long, device=temb.device)
            temb = temb + self.class_emb(y.long())
        return temb

    def forward(self, x: Tensor, t: Tensor, y: Optional[Tensor] = None) -> Tensor:
        b, _, h, w = x.shape
        m = self.patch * 2 ** (self.levels - 1)
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        if self.patch > 1:
            x = F.pixel_unshuffle(x, self.patch)
        temb = self.embed(t, y, b)
        hcur = self.conv_in(x)
        skips = []
        for i, blocks in enumerate(self.down):
            for blk in blocks:
                hcur = blk(hcur, temb)
            skips.append(hcur)
            if i < len(self.downsample):
                hcur = self.downsample[i](hcur)
        hcur = self.mid(hcur, temb)
        for j, blocks in enumerate(self.up):
            hcur = torch.cat([hcur, skips.pop()], dim=1)
            for blk in blocks:
                hcur = blk(hcur, temb)
            if j < len(self.upsample):
                hcur = self.upsample[j](F.interpolate(hcur, scale_factor=2.0, mode="nearest"))
        out = self.conv_out(F.silu(self.norm_out(hcur)))
        if self.patch > 1:
            out = F.pixel_shuffle(out, self.patch)
        if ph or pw:
            out = out[:, :, :h, :w]
        return out


class TimeMLP(nn.Module):
    """Points: (B, dim) x_t, (B,) t, optional (B,) labels -> (B, dim).
    MLP(concat(x, sinusoidal(t) [, class embedding])) with `depth` hidden layers of
    `hidden` units (nets.MLP)."""

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, num_classes: int = 0,
                 temb_dim: int = 32, class_dim: int = 16, act: str = "silu"):
        super().__init__()
        self.dim = dim
        self.temb_dim = temb_dim
        self.num_classes = num_classes
        self.class_emb = nn.Embedding(num_classes + 1, class_dim) if num_classes > 0 else None
        in_dim = dim + temb_dim + (class_dim if num_classes > 0 else 0)
        self.net = MLP(in_dim, dim, (hidden,) * depth, act)

    def forward(self, x: Tensor, t: Tensor, y: Optional[Tensor] = None) -> Tensor:
        b = x.shape[0]
        temb = sinusoidal_embedding(t.reshape(-1), self.temb_dim).to(x.dtype)
        if temb.shape[0] == 1 and b > 1:
            temb = temb.expand(b, -1)
        parts = [x, temb]
        if self.class_emb is not None:
            if y is None:
                y = torch.full((b,), self.num_classes, dtype=torch.long, device=x.device)
            parts.append(self.class_emb(y.long()))
        return self.net(torch.cat(parts, dim=1))
