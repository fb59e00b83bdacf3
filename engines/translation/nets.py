"""The networks of the three translators (torch only), for any image size the data gives.

Every network works in network units (images in [-1, 1]); generators end in tanh.

- `UNetGenerator` (pix2pix, Isola et al. 2017): an encoder of stride-2 4x4 convolutions and a
  decoder of stride-2 4x4 transposed convolutions with a skip from each encoder level to the
  decoder level of the same size; dropout in the innermost decoder blocks is the generator's
  noise (train mode only). Odd sizes (7, 14 -> 7, 28 -> ... -> 3) are kept exactly: each
  transposed convolution is asked for its skip's size (`output_size`, which picks the output
  padding: floor(H / 2) -> 2 floor(H / 2) + H mod 2 = H), so no row is padded or cropped.
- `PatchGAN` (pix2pix's and CycleGAN's discriminator): `n_layers` stride-2 4x4 convolutions,
  one stride-1 4x4 convolution and a stride-1 4x4 convolution to one raw output per patch: a
  grid of real/fake scores (`patchgan_grid`), each seeing a `patchgan_receptive_field(n_layers)`
  square of the input (70 px for n_layers = 3, the paper's "70x70 PatchGAN").
- `ResnetGenerator` (CycleGAN, Zhu et al. 2017, after Johnson et al. 2016): 7x7 conv, stride-2
  downsamplings, residual blocks, transposed-conv upsamplings, 7x7 conv, tanh; instance norm;
  reflection padding. The output has the input's size for any size (each transposed conv is
  asked for the size before its downsampling).
- `SRResNet` (SRGAN's generator, Ledig et al. 2017): 9x9 conv + PReLU, residual blocks
  (conv-BN-PReLU-conv-BN + skip), conv-BN + a long skip, log2(factor) sub-pixel stages
  (conv to 4C channels, PixelShuffle(2), PReLU), 9x9 conv, tanh.
- `SRDiscriminator` (SRGAN's D): a VGG-style classifier: pairs of 3x3 convolutions (the second
  of stride 2) with doubling channels, LeakyReLU 0.2 and BatchNorm, then global average pooling
  and a two-layer "dense" head to one logit per image (pooling makes it size-agnostic).

Constructor signatures are part of the contract with the other translation engines: change
them only compatibly (new keyword arguments with defaults).
"""
from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("batch", "instance", "none")


def make_norm(kind: str, channels: int) -> nn.Module:
    """"batch" (BatchNorm2d), "instance" (InstanceNorm2d without affine parameters or running
    statistics, as CycleGAN's code), or "none" (identity)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """pix2pix / CycleGAN initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02),
    biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def fit_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """x (..., h, w) zero-padded or cropped at the bottom/right to size (H, W) (a helper for
    maps whose size no layer can be asked for; the networks here ask their transposed
    convolutions for the exact size instead)."""
    dh, dw = size[0] - x.shape[-2], size[1] - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    return F.pad(x, (0, dw, 0, dh))        # negative pads crop


def down_size(n: int) -> int:
    """The size after a stride-2 4x4 convolution with padding 1: floor(n / 2)."""
    return (n + 2 - 4) // 2 + 1


def unet_levels(height: int, width: int, max_depth: int = 8) -> int:
    """How many stride-2 levels a U-Net uses on (H, W): as many as halve the smaller side
    down to 1 (28: 28 -> 14 -> 7 -> 3 -> 1, 4 levels; 7: 7 -> 3 -> 1, 2 levels), at most
    max_depth, at least 1."""
    s, n = min(height, width), 0
    while n < max_depth and s >= 2:
        s = down_size(s)
        n += 1
    return max(n, 1)


# ------------------------------------------------------------------------------ U-Net

class UNetGenerator(nn.Module):
    """pix2pix's U-Net: x (B, in_ch, H, W) in [-1, 1] -> (B, out_ch, H, W) in [-1, 1].

    Encoder level i (i = 0..depth-1): Conv 4x4 stride 2 to min(base * 2^i, base * 8) channels,
    norm (not at level 0 nor at the innermost 1x1-ish bottleneck), LeakyReLU 0.2. Decoder level i
    (from the innermost): ReLU, ConvTranspose 4x4 stride 2 to the skip's size, norm,
    dropout (the `n_dropout` innermost decoder levels, rate `dropout`), concatenated with the
    encoder's map of that size; the outermost ends in tanh. `depth` is capped by the image
    size (`unet_levels`)."""

    def __init__(self, in_ch: int, out_ch: int, height: int, width: int, base: int = 64,
                 depth: int = 8, dropout: float = 0.5, n_dropout: int = 3, norm: str = "batch"):
        super().__init__()
        self.depth = unet_levels(height, width, depth)
        self.dropout = dropout
        ch = [min(base * 2 ** i, base * 8) for i in range(self.depth)]
        self.down = nn.ModuleList()
        prev = in_ch
        for i, c in enumerate(ch):
            layers: list[nn.Module] = [nn.Conv2d(prev, c, 4, 2, 1, bias=norm != "batch")]
            if 0 < i < self.depth - 1:
                layers.append(make_norm(norm, c))
            self.down.append(nn.Sequential(*layers))
            prev = c
        self.up = nn.ModuleList()
        self.up_post = nn.ModuleList()
        for j in range(self.depth):            # j = 0 the innermost, depth-1 the outermost
            i = self.depth - 1 - j
            c_in = ch[i] if j == 0 else ch[i] * 2
            outer = i == 0
            c_out = out_ch if outer else ch[i - 1]
            self.up.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=outer or norm != "batch"))
            post: list[nn.Module] = []
            if not outer:
                post.append(make_norm(norm, c_out))
                if j < n_dropout and dropout > 0:
                    post.append(nn.Dropout(dropout))
            else:
                post.append(nn.Tanh())
            self.up_post.append(nn.Sequential(*post))
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        sizes = []
        h = x
        for i, layer in enumerate(self.down):
            sizes.append(tuple(h.shape[-2:]))
            h = layer(h if i == 0 else F.leaky_relu(h, 0.2))
            skips.append(h)
        for j, (up, post) in enumerate(zip(self.up, self.up_post)):
            i = self.depth - 1 - j
            if j > 0:
                h = torch.cat((h, skips[i]), dim=1)
            h = post(up(F.relu(h), output_size=sizes[i]))
        return h


# ------------------------------------------------------------------------------ PatchGAN

def patchgan_receptive_field(n_layers: int) -> int:
    """The side of the input square one PatchGAN output sees: from one output, back through
    the output conv (k 4, s 1), the stride-1 conv (k 4, s 1) and n_layers stride-2 convs
    (k 4): r = 1 -> 4 -> 7, then r <- 2 (r - 1) + 4 per stride-2 conv: 16, 34, 70, 142, ...
    (n_layers = 3: the paper's 70x70)."""
    r = 7
    for _ in range(n_layers):
        r = 2 * (r - 1) + 4
    return r


def patchgan_grid(height: int, width: int, n_layers: int) -> tuple[int, int]:
    """The PatchGAN's output grid on an (H, W) input: each stride-2 conv floor-halves a side,
    each of the two stride-1 4x4 convs (padding 1) takes one off: floor^n(H / 2) - 2.
    Raises ValueError when a side would be smaller than 1 (the input is too small for that
    depth), naming the deepest depth that fits."""
    def side(n: int, layers: int) -> int:
        for _ in range(layers):
            n = down_size(n)
        return n - 2

    h, w = side(height, n_layers), side(width, n_layers)
    if h < 1 or w < 1:
        fits = [k for k in range(1, n_layers) if side(height, k) >= 1 and side(width, k) >= 1]
        hint = (f"choose n_layers <= {max(fits)}" if fits
                else "the image is too small for a PatchGAN (at least 6 px a side)")
        raise ValueError(f"a PatchGAN with n_layers = {n_layers} has no output on "
                         f"{height}x{width} images ({hint})")
    return h, w


def patchgan_max_layers(height: int, width: int, cap: int = 8) -> int:
    """The deepest PatchGAN (n_layers) that still has an output on (H, W); 0 if none."""
    best = 0
    for k in range(1, cap + 1):
        try:
            patchgan_grid(height, width, k)
            best = k
        except ValueError:
            break
    return best


class PatchGAN(nn.Module):
    """x (B, in_ch, H, W) -> raw scores (B, 1, h, w), h, w = patchgan_grid(H, W, n_layers).

    Conv 4x4 s2 -> base, LeakyReLU 0.2 (no norm); n_layers - 1 more Conv 4x4 s2 with channels
    base * min(2^k, 8), norm, LeakyReLU; Conv 4x4 s1 (base * min(2^n_layers, 8)), norm,
    LeakyReLU; Conv 4x4 s1 -> 1 (raw logits / LSGAN scores). Receptive field
    patchgan_receptive_field(n_layers)."""

    def __init__(self, in_ch: int, base: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        if n_layers < 1:
            raise ValueError("a PatchGAN needs n_layers >= 1")
        self.n_layers = n_layers
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(in_ch, base, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        prev = base
        for k in range(1, n_layers):
            c = base * min(2 ** k, 8)
            layers += [nn.Conv2d(prev, c, 4, 2, 1, bias=bias), make_norm(norm, c),
                       nn.LeakyReLU(0.2, True)]
            prev = c
        c = base * min(2 ** n_layers, 8)
        layers += [nn.Conv2d(prev, c, 4, 1, 1, bias=bias), make_norm(norm, c),
                   nn.LeakyReLU(0.2, True), nn.Conv2d(c, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    @property
    def receptive_field(self) -> int:
        return patchgan_receptive_field(self.n_layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


# ------------------------------------------------------------------------------ ResNet generator

class ResBlock(nn.Module):
    """x + [reflect pad 1, conv 3x3, norm, ReLU, (dropout), reflect pad 1, conv 3x3, norm](x)."""

    def __init__(self, c: int, norm: str = "instance", dropout: float = 0.0):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=bias),
                                   make_norm(norm, c), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=bias), make_norm(norm, c)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def resnet_downsamplings(height: int, width: int, n_down: int = 2) -> int:
    """How many stride-2 downsamplings (3x3, s2, p1: ceil(n / 2)) a ResnetGenerator uses:
    up to n_down while the smaller side stays >= 3 after it (the residual blocks' reflection
    padding needs >= 2): 28 -> 14 -> 7 (2), 7 -> 4 (1)."""
    s, k = min(height, width), 0
    while k < n_down and (s + 1) // 2 >= 3:
        s = (s + 1) // 2
        k += 1
    return k


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: x (B, in_ch, H, W) in [-1, 1] -> (B, out_ch, H, W) in [-1, 1].

    reflect pad 3, Conv 7x7 -> base, norm, ReLU; n_down x [Conv 3x3 stride 2, channels x2, norm,
    ReLU] (n_down capped by the size: resnet_downsamplings); n_blocks ResBlocks; n_down x
    [ConvTranspose 3x3 stride 2 to the size before that downsampling,
    channels / 2, norm, ReLU]; reflect pad 3, Conv 7x7 -> out_ch, tanh. Instance norm by
    default. (The 7x7 reflection padding needs sides >= 4.)"""

    def __init__(self, in_ch: int, out_ch: int, height: int, width: int, base: int = 64,
                 n_blocks: int = 9, n_down: int = 2, norm: str = "instance",
                 dropout: float = 0.0):
        super().__init__()
        self.n_down = resnet_downsamplings(height, width, n_down)
        bias = norm != "batch"
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_ch, base, 7, bias=bias),
                                  make_norm(norm, base), nn.ReLU(True))
        self.downs = nn.ModuleList()
        c = base
        for _ in range(self.n_down):
            self.downs.append(nn.Sequential(nn.Conv2d(c, c * 2, 3, 2, 1, bias=bias),
                                            make_norm(norm, c * 2), nn.ReLU(True)))
            c *= 2
        self.blocks = nn.Sequential(*[ResBlock(c, norm, dropout) for _ in range(n_blocks)])
        self.ups = nn.ModuleList()
        self.up_post = nn.ModuleList()
        for _ in range(self.n_down):
            self.ups.append(nn.ConvTranspose2d(c, c // 2, 3, 2, 1, bias=bias))
            self.up_post.append(nn.Sequential(make_norm(norm, c // 2), nn.ReLU(True)))
            c //= 2
        self.tail = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c, out_ch, 7), nn.Tanh())
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        h = self.head(x)
        sizes = []
        for d in self.downs:
            sizes.append(tuple(h.shape[-2:]))
            h = d(h)
        h = self.blocks(h)
        for up, post, size in zip(self.ups, self.up_post, reversed(sizes)):
            h = post(up(h, output_size=size))
        return self.tail(h)


# ------------------------------------------------------------------------------ SRGAN

def sr_stages_for(factor: int) -> int:
    """log2(factor) sub-pixel x2 stages; ValueError unless factor is a power of 2 >= 2."""
    if factor < 2 or factor & (factor - 1):
        raise ValueError(f"the upscaling factor must be a power of 2 (2, 4, 8); got {factor} "
                         f"(each sub-pixel stage doubles the size)")
    return int(math.log2(factor))


class SRResBlock(nn.Module):
    """x + [conv 3x3, BN, PReLU, conv 3x3, BN](x) (SRResNet's residual block)."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """x (B, in_ch, h, w) in [-1, 1] -> (B, out_ch, factor h, factor w) in [-1, 1].

    Conv 9x9 -> C, PReLU; n_blocks SRResBlocks; Conv 3x3, BN, + the first conv's output (long
    skip); log2(factor) x [Conv 3x3 -> 4C, PixelShuffle(2) (4C, H, W) -> (C, 2H, 2W), PReLU];
    Conv 9x9 -> out_ch; tanh. `factor` a power of 2 (sr_stages_for)."""

    def __init__(self, in_ch: int, out_ch: int, factor: int, n_blocks: int = 16,
                 channels: int = 64):
        super().__init__()
        self.factor = factor
        c = channels
        self.head = nn.Sequential(nn.Conv2d(in_ch, c, 9, 1, 4), nn.PReLU(c))
        self.blocks = nn.Sequential(*[SRResBlock(c) for _ in range(n_blocks)])
        self.mid = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))
        ups: list[nn.Module] = []
        for _ in range(sr_stages_for(factor)):
            ups += [nn.Conv2d(c, c * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(c)]
        self.up = nn.Sequential(*ups)
        self.tail = nn.Conv2d(c, out_ch, 9, 1, 4)

    def forward(self, x: Tensor) -> Tensor:
        h = self.head(x)
        h = h + self.mid(self.blocks(h))
        return self.tail(self.up(h)).tanh()


class SRDiscriminator(nn.Module):
    """SRGAN's VGG-style discriminator: x (B, in_ch, H, W) -> one raw logit per image (B,).

    Conv 3x3 -> base, LeakyReLU 0.2; Conv 3x3 s2 -> base, BN, LeakyReLU; then for k = 1..
    n_stages - 1: Conv 3x3 -> base 2^k, BN, LReLU; Conv 3x3 s2 -> base 2^k, BN, LReLU (the
    paper: 64-64s-128-128s-256-256s-512-512s, n_stages = 4); global average pooling; Dense
    (1x1 conv) -> dense channels, LReLU; Dense -> 1."""

    def __init__(self, in_ch: int, base: int = 64, n_stages: int = 4, dense: int = 1024):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, base, 3, 1, 1), nn.LeakyReLU(0.2, True),
                                   nn.Conv2d(base, base, 3, 2, 1), nn.BatchNorm2d(base),
                                   nn.LeakyReLU(0.2, True)]
        prev = base
        for k in range(1, n_stages):
            c = base * 2 ** k
            layers += [nn.Conv2d(prev, c, 3, 1, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True),
                       nn.Conv2d(c, c, 3, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            prev = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(prev, dense, 1),
                                  nn.LeakyReLU(0.2, True), nn.Conv2d(dense, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).flatten()


__all__ = ["NORMS", "make_norm", "init_weights", "fit_to", "unet_levels", "UNetGenerator",
           "patchgan_receptive_field", "patchgan_grid", "patchgan_max_layers", "PatchGAN",
           "ResBlock", "resnet_downsamplings", "ResnetGenerator", "sr_stages_for", "SRResBlock",
           "SRResNet", "SRDiscriminator"]
