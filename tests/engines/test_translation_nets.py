"""The translators' networks (engines/translation/nets.py): sizes, the PatchGAN grid and its
receptive field measured by gradients, pixel shuffle and its inverse."""
import pytest
import torch
from torch import nn

from engines.translation.nets import (PatchGAN, ResnetGenerator, SRDiscriminator, SRResNet,
                                      UNetGenerator, patchgan_grid, patchgan_max_layers,
                                      patchgan_receptive_field, sr_stages_for)

SIZES = [(7, 7), (14, 14), (28, 28), (64, 48), (5, 9)]


@pytest.mark.parametrize("hw", SIZES)
def test_unet_keeps_the_input_size(hw):
    """U-Net: (B, C_in, H, W) -> (B, C_out, H, W) for odd sizes (7, 14 -> 7 -> 3, 28) and
    non-square ones: each transposed conv is asked for its skip's size, and the skip is used
    (changing the input's last pixel changes the output's last pixel region)."""
    torch.manual_seed(0)
    g = UNetGenerator(1, 2, *hw, base=8).eval()
    x = torch.randn(2, 1, *hw)
    y = g(x)
    assert y.shape == (2, 2, *hw)
    assert y.abs().max() <= 1.0
    x2 = x.clone()
    x2[..., -1, -1] += 1.0
    assert not torch.equal(g(x2)[..., -1, -1], y[..., -1, -1])


@pytest.mark.parametrize("hw", [(7, 7), (14, 14), (28, 28), (64, 48)])
def test_resnet_generator_keeps_the_input_size(hw):
    """ResnetGenerator (CycleGAN): (B, C, H, W) -> (B, C, H, W), tanh range."""
    g = ResnetGenerator(3, 3, *hw, base=8, n_blocks=2)
    y = g(torch.randn(2, 3, *hw))
    assert y.shape == (2, 3, *hw) and y.abs().max() <= 1.0


@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("hw", [(28, 28), (64, 48), (14, 14)])
def test_patchgan_grid_matches_the_network(n_layers, hw):
    """Output grid = floor^n(H / 2) - 2 per side (n stride-2 convs, two stride-1 4x4 convs with
    padding 1); inputs too small for the depth are refused naming a depth that fits."""
    try:
        grid = patchgan_grid(*hw, n_layers)
    except ValueError as e:
        assert "n_layers" in str(e)
        assert patchgan_max_layers(*hw) < n_layers
        return
    d = PatchGAN(2, base=4, n_layers=n_layers).eval()
    assert d(torch.randn(1, 2, *hw)).shape == (1, 1, *grid)


def test_patchgan_grid_known_values():
    """28x28: n=1 -> 12x12, n=2 -> 5x5, n=3 -> 1x1; 7x7: n=1 -> 1x1, n=2 has none."""
    assert patchgan_grid(28, 28, 1) == (12, 12)
    assert patchgan_grid(28, 28, 2) == (5, 5)
    assert patchgan_grid(28, 28, 3) == (1, 1)
    assert patchgan_grid(7, 7, 1) == (1, 1)
    with pytest.raises(ValueError, match="n_layers <= 1"):
        patchgan_grid(7, 7, 2)


@pytest.mark.parametrize("n_layers,expected", [(1, 16), (2, 34), (3, 70)])
def test_patchgan_receptive_field_by_gradient(n_layers, expected):
    """Receptive field r(n): r = 7 after the two stride-1 4x4 convs, r <- 2(r - 1) + 4 per
    stride-2 conv (n = 3: 70, the paper's 70x70). Measured: the input pixels with a nonzero
    gradient of one interior output span exactly r rows and r columns."""
    assert patchgan_receptive_field(n_layers) == expected
    torch.manual_seed(0)
    d = PatchGAN(1, base=4, n_layers=n_layers).eval().double()
    size = expected * 2 + 16
    x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = d(x)
    gh, gw = out.shape[-2:]
    out[0, 0, gh // 2, gw // 2].backward()
    nz = x.grad[0, 0].abs() > 0
    rows = nz.any(1).nonzero().flatten()
    cols = nz.any(0).nonzero().flatten()
    assert int(rows.max() - rows.min() + 1) == expected
    assert int(cols.max() - cols.min() + 1) == expected


def test_pixel_shuffle_shape_and_inverse():
    """PixelShuffle(r): (C r^2, H, W) -> (C, rH, rW) with out[c, rh + i, rw + j] =
    in[c r^2 + i r + j, h, w]; PixelUnshuffle(r) is its exact inverse both ways."""
    r = 2
    x = torch.randn(2, 3 * r * r, 5, 7)
    y = nn.PixelShuffle(r)(x)
    assert y.shape == (2, 3, 5 * r, 7 * r)
    c, h, w, i, j = 1, 3, 4, 1, 0
    assert y[0, c, r * h + i, r * w + j] == x[0, c * r * r + i * r + j, h, w]
    assert torch.equal(nn.PixelUnshuffle(r)(y), x)
    assert torch.equal(nn.PixelShuffle(r)(nn.PixelUnshuffle(r)(y)), y)


@pytest.mark.parametrize("factor,hw", [(2, (14, 14)), (4, (7, 7)), (2, (5, 9)), (8, (3, 3))])
def test_srresnet_output_is_factor_times_input(factor, hw):
    """SRResNet: (B, C, h, w) -> (B, C, factor h, factor w), log2(factor) pixel shuffles."""
    g = SRResNet(1, 1, factor, n_blocks=1, channels=8)
    assert sum(isinstance(m, nn.PixelShuffle) for m in g.modules()) == sr_stages_for(factor)
    y = g(torch.randn(2, 1, *hw))
    assert y.shape == (2, 1, factor * hw[0], factor * hw[1])


@pytest.mark.parametrize("factor", [3, 6, 1, 0])
def test_sr_factor_must_be_a_power_of_two(factor):
    with pytest.raises(ValueError, match="power of 2"):
        sr_stages_for(factor)


def test_sr_discriminator_one_logit_per_image_any_size():
    d = SRDiscriminator(1, base=8, n_stages=3, dense=16)
    assert d(torch.randn(3, 1, 28, 28)).shape == (3,)
    assert d(torch.randn(2, 1, 64, 48)).shape == (2,)
