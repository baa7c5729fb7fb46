"""Artifact-free initialisation, shown in numbers: tones of a three-layer stack
for a constant input, measured with a Welch spectrum."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.signal import welch
from torch import nn

from upsamplers import ArtifactWarning, SubPixel1d, TransposedUpsample1d, icnr_, nearest_init_

FACTOR, LAYERS, CHANNELS = 2, 3, 8


pytestmark = pytest.mark.usefixtures("one_thread")


def _stack(kind: str, init: str, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    if kind == "subpixel":
        layers = [SubPixel1d(CHANNELS, CHANNELS, FACTOR, 3, init=init) for _ in range(LAYERS)]
    else:
        layers = [TransposedUpsample1d(CHANNELS, CHANNELS, FACTOR, init=init)
                  for _ in range(LAYERS)]
    return nn.Sequential(*layers).double()


def _tone_prominence_db(model: nn.Module, seed: int) -> np.ndarray:
    """Level of each tone at k * fs_out / r**L (k = 1 .. r**L / 2) above the floor, dB.

    Input: a constant (ones) plus white noise 60 dB below it, so that the floor is
    the processed noise. The first and last 10 % of the output (zero-padding
    transients) are dropped. Floor: median of the bins 3 to 12 bins away from the
    tone on either side.
    """
    total = FACTOR ** LAYERS
    rng = np.random.default_rng(seed)
    time = 2048
    x = 1.0 + 1e-3 * rng.standard_normal((1, CHANNELS, time))
    with torch.no_grad():
        y = model(torch.as_tensor(x)).numpy()[0]  # (C, T * total)
    y = y[:, y.shape[1] // 10: -y.shape[1] // 10]
    nperseg = 1024
    freq, psd = welch(y, fs=1.0, nperseg=nperseg, axis=-1)
    psd = psd.mean(axis=0)  # average over channels
    out = []
    for k in range(1, total // 2 + 1):
        bin_ = int(round(k / total * nperseg))
        assert abs(freq[bin_] - k / total) < 1e-12
        neighbours = [b for d in range(3, 13) for b in (bin_ - d, bin_ + d) if 0 < b < psd.size]
        floor = np.median(psd[neighbours])
        out.append(10 * np.log10(psd[bin_] / floor))
    return np.array(out)


@pytest.mark.parametrize(("kind", "init"), [("subpixel", "icnr"), ("transposed", "nearest")])
@pytest.mark.parametrize("seed", range(3))
def test_default_init_has_tones_and_equal_phase_init_has_none(kind, init, seed):
    default = _tone_prominence_db(_stack(kind, "default", seed), seed)
    assert default.max() >= 30.0, default  # tonal artifacts of random phase kernels
    equal = _tone_prominence_db(_stack(kind, init, seed), seed)
    assert equal.max() < 0.0, equal  # at every tone frequency: below the floor


@pytest.mark.parametrize("order", ["channel", "phase"])
def test_icnr_copies_one_kernel_to_every_phase_in_the_layer_order(order):
    torch.manual_seed(0)
    r, c_out = 3, 4
    layer = SubPixel1d(2, c_out, r, 5, bias=True, order=order)
    icnr_(layer)
    w, b = layer.conv.weight.detach(), layer.conv.bias.detach()
    if order == "channel":  # row c * r + i
        grouped, grouped_b = w.reshape(c_out, r, 2, 5), b.reshape(c_out, r)
        wrong = w.reshape(r, c_out, 2, 5).transpose(0, 1)
    else:  # row i * C + c
        grouped, grouped_b = w.reshape(r, c_out, 2, 5).transpose(0, 1), b.reshape(r, c_out).T
        wrong = w.reshape(c_out, r, 2, 5)
    for i in range(1, r):
        assert torch.equal(grouped[:, i], grouped[:, 0])
        assert torch.equal(grouped_b[:, i], grouped_b[:, 0])
    # the other order's grouping is not constant: the layout really depends on order
    assert not torch.allclose(wrong[:, 1], wrong[:, 0])
    # read through the layer's own phase convention: all phases equal
    kernels = layer.phase_kernels().weight.detach()
    for i in range(1, r):
        assert torch.equal(kernels[i], kernels[0])
    # scale: PyTorch's default bound 1 / sqrt(C_in * K)
    assert w.abs().max() <= 1 / np.sqrt(2 * 5)
    assert w.std() > 0.3 / np.sqrt(2 * 5)


def test_icnr_output_is_nearest_upsampling_of_a_low_rate_conv():
    torch.manual_seed(1)
    layer = icnr_(SubPixel1d(3, 2, 4, 3, order="phase"))
    w0 = layer.conv.weight.detach()[:2]  # rows i * C + c with i = 0
    x = torch.randn(2, 3, 17)
    low = torch.nn.functional.conv1d(x, w0, padding=1)
    torch.testing.assert_close(layer(x), low.repeat_interleave(4, dim=-1))


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_nearest_init_gives_equal_phase_kernels(factor):
    torch.manual_seed(factor)
    layer = TransposedUpsample1d(3, 2, factor, 2 * factor, init="nearest")
    gains = layer.phase_kernels().dc_gains().detach()
    for i in range(1, factor):
        torch.testing.assert_close(gains[i], gains[0])
    default = TransposedUpsample1d(3, 2, factor, 2 * factor)
    gains = default.phase_kernels().dc_gains().detach()
    assert (gains - gains[0]).abs().max() > 1e-3


def test_nearest_init_on_a_plain_conv_transpose():
    torch.manual_seed(0)
    conv = nn.ConvTranspose1d(2, 3, 6, stride=3)
    nearest_init_(conv)
    w = conv.weight.detach().reshape(2, 3, 2, 3)  # [.., j, i] = w[j * 3 + i]
    assert torch.equal(w, w[..., :1].expand_as(w))


def test_bad_layers():
    with pytest.raises(TypeError, match="icnr_ expects a SubPixel1d layer; received Conv1d"):
        icnr_(nn.Conv1d(2, 2, 3))
    with pytest.raises(TypeError, match="received SubPixel1d"):
        nearest_init_(SubPixel1d(2, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ArtifactWarning)
        layer = TransposedUpsample1d(2, 2, 4, 6)
    with pytest.raises(ValueError, match="multiple of the stride 4 .*; received kernel_size=6"):
        nearest_init_(layer)
