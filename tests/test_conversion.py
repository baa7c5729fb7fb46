"""Exact conversions to subpixel convolution: the converted module's output is
compared with the original module's on random shapes, and with a numpy-loop
transposed convolution."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch
from reference import conv_transpose1d_loop
from torch import nn

from upsamplers import (
    ArtifactWarning,
    InterpUpsample1d,
    SincUpsample1d,
    SubPixel1d,
    TransposedUpsample1d,
)
from upsamplers.conversion import (
    ConversionError,
    PaddedSubPixel1d,
    convert,
    to_subpixel,
)

pytestmark = pytest.mark.usefixtures("one_thread")



def _rel(a, b):
    return float((a - b).detach().abs().max() / b.detach().abs().max())


@pytest.mark.parametrize("seed", range(16))
def test_conv_transpose1d_any_padding_and_output_padding(seed):
    rng = np.random.default_rng(seed)
    stride = int(rng.integers(1, 7))
    kernel = int(rng.integers(1, 3 * stride + 3))
    padding = int(rng.integers(0, kernel))  # PyTorch allows any padding >= 0
    output_padding = int(rng.integers(0, stride))
    c_in, c_out = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    order = ("channel", "phase")[seed % 2]
    torch.manual_seed(seed)
    layer = nn.ConvTranspose1d(c_in, c_out, kernel, stride=stride, padding=padding,
                               output_padding=output_padding, bias=bool(seed % 3))
    converted = to_subpixel(layer, order=order)
    for time in (1, 2, 5, 23):
        expected_length = (time - 1) * stride - 2 * padding + kernel + output_padding
        x = torch.randn(2, c_in, time)
        if expected_length < 1:
            with pytest.raises((ValueError, RuntimeError)):
                converted(x)
            continue
        want = layer(x)
        got = converted(x)
        assert got.shape == want.shape == (2, c_out, expected_length)
        assert _rel(got, want) < 1e-5, (stride, kernel, padding, output_padding, time)


def test_conv_transpose1d_against_numpy_scatter():
    torch.manual_seed(0)
    layer = nn.ConvTranspose1d(3, 2, 7, stride=3, padding=2, output_padding=1).double()
    x = torch.randn(2, 3, 11, dtype=torch.float64)
    full = conv_transpose1d_loop(x.numpy(), layer.weight.detach().numpy(), 3,
                                 layer.bias.detach().numpy())
    length = (11 - 1) * 3 - 4 + 7 + 1
    # PyTorch's definition: drop `padding` samples at the start, keep `length`
    # (the output_padding sample lies past the full output: bias only)
    expected = np.concatenate([full, np.broadcast_to(layer.bias.detach().numpy()[None, :, None],
                                                     (2, 2, 8))], axis=-1)[..., 2: 2 + length]
    np.testing.assert_allclose(to_subpixel(layer)(x).detach().numpy(), expected,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("order", ["channel", "phase"])
def test_transposed_upsample_every_kernel_size(order):
    torch.manual_seed(1)
    for factor in range(1, 7):
        for kernel in range(1, 3 * factor + 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ArtifactWarning)
                layer = TransposedUpsample1d(3, 2, factor, kernel, bias=True)
            converted = to_subpixel(layer, order=order)
            x = torch.randn(2, 3, 13)
            assert _rel(converted(x), layer(x)) < 1e-5, (factor, kernel)


def test_full_overlap_transposed_is_a_plain_subpixel():
    layer = TransposedUpsample1d(4, 3, 4)  # K = 8, crop 2 each side
    converted = to_subpixel(layer)
    assert type(converted) is SubPixel1d
    assert converted.kernel_size == 3 and converted.factor == 4
    x = torch.randn(1, 4, 20)
    assert _rel(converted(x), layer(x)) < 1e-5


@pytest.mark.parametrize("seed", range(6))
def test_nearest_interp_converts_exactly(seed):
    rng = np.random.default_rng(seed)
    factor = int(rng.integers(1, 9))
    kernel = int(rng.integers(1, 2 * factor + 4))
    torch.manual_seed(seed)
    layer = InterpUpsample1d(2, 3, factor, kernel, mode="nearest", bias=bool(seed % 2))
    converted = to_subpixel(layer, order=("channel", "phase")[seed % 2])
    for time in (1, 4, 17):
        x = torch.randn(2, 2, time)
        got, want = converted(x), layer(x)
        assert got.shape == want.shape
        assert _rel(got, want) < 1e-5


def test_converted_weights_are_a_copy():
    layer = TransposedUpsample1d(2, 2, 2)
    converted = to_subpixel(layer)
    with torch.no_grad():
        layer.conv.weight.zero_()
    assert converted.conv.weight.abs().sum() > 0


def test_padded_subpixel_output_length_and_repr():
    layer = nn.ConvTranspose1d(2, 2, 5, stride=2, padding=0)
    converted = to_subpixel(layer)
    assert isinstance(converted, PaddedSubPixel1d)
    assert converted.output_length(10) == (10 - 1) * 2 + 5
    assert "extra=3" in repr(converted)


@pytest.mark.parametrize(
    ("module", "error", "message"),
    [
        (nn.ConvTranspose1d(2, 2, 4, stride=2, dilation=2), ValueError,
         "dilation != 1.*received dilation=2"),
        (nn.ConvTranspose1d(2, 2, 4, stride=2, groups=2), ValueError,
         "groups != 1.*received groups=2"),
        (InterpUpsample1d(2, 2, 2, mode="linear"), ValueError,
         "cannot convert mode='linear' exactly.*pads the interpolated signal with zeros"),
        (SincUpsample1d(2, 2, 2), ValueError, "cannot convert mode='sinc'"),
        (nn.Conv1d(2, 2, 3), TypeError, "received Conv1d"),
    ],
)
def test_unconvertible_modules_raise_with_the_reason(module, error, message):
    with pytest.raises(error, match=message):
        to_subpixel(module)


def test_bad_order():
    with pytest.raises(ValueError, match="received order='time'"):
        to_subpixel(nn.ConvTranspose1d(2, 2, 4, stride=2), order="time")


class _Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ArtifactWarning)
            self.body = nn.Sequential(
                nn.Conv1d(4, 6, 3, padding=1),
                TransposedUpsample1d(6, 6, 2),
                nn.ReLU(),
                InterpUpsample1d(6, 5, 2, mode="nearest", bias=True),
                nn.Tanh(),
                nn.ConvTranspose1d(5, 4, 6, stride=3, padding=1, output_padding=1),
                InterpUpsample1d(4, 4, 2, mode="linear"),
                nn.ConvTranspose1d(4, 3, 3, stride=1, padding=1),
                nn.Dropout(0.5),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_convert_model_copy_reports_and_preserves_output():
    torch.manual_seed(0)
    model = _Decoder().train()
    report = convert(model, example_input=(2, 4, 20))
    assert report.model is not model
    assert [name for name, _, _ in report.replaced] == ["body.1", "body.3", "body.5"]
    assert [new for _, _, new in report.replaced] == ["SubPixel1d", "SubPixel1d",
                                                      "PaddedSubPixel1d"]
    skipped = dict(report.skipped)
    assert "mode='linear'" in skipped["body.6"]
    assert "stride 1" in skipped["body.7"]
    # the original is untouched, and training flags are restored on both
    assert isinstance(model.body[1], TransposedUpsample1d)
    assert model.training and model.body[8].training and report.model.training
    model.eval()
    report.model.eval()
    x = torch.randn(3, 4, 33)
    assert _rel(report.model(x), model(x)) < 1e-5
    assert report.max_difference <= 1e-5 * report.scale
    assert "replaced 3 module(s)" in str(report)


def test_convert_inplace_guesses_the_input_shape():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(3, 4, 1), TransposedUpsample1d(4, 2, 4))
    x = torch.randn(1, 3, 9)
    before = model(x).detach()
    report = convert(model, inplace=True)
    assert report.model is model and isinstance(model[1], SubPixel1d)
    assert _rel(model(x), before) < 1e-5


class _Sabotage(nn.Module):
    """Changes its output once its upsampler has been replaced: the check must notice."""

    def __init__(self) -> None:
        super().__init__()
        self.up = TransposedUpsample1d(2, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(x)
        return y if isinstance(self.up, TransposedUpsample1d) else y + 1.0


def test_convert_raises_and_restores_when_the_output_changes():
    model = _Sabotage()
    with pytest.raises(ConversionError, match="differs from the original's"):
        convert(model, inplace=True, example_input=(1, 2, 8))
    assert isinstance(model.up, TransposedUpsample1d)


def test_convert_bad_arguments():
    model = nn.Sequential(TransposedUpsample1d(2, 2, 2))
    with pytest.raises(ValueError, match="to must be one of 'subpixel'; received to='transposed'"):
        convert(model, to="transposed")
    with pytest.raises(TypeError, match="received example_input=\\[1, 2, 3\\]"):
        convert(model, example_input=[1, 2, 3])
    with pytest.raises(ValueError, match="pass example_input"):
        convert(nn.Sequential(nn.ReLU()))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        convert("model")


class _ReadsItsChild(nn.Module):
    """Trims its upsampler's output by reading the child's hyperparameters, as
    foreign decoders do."""

    def __init__(self, kernel: int, stride: int, padding: int, output_padding: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(3, 2, kernel, stride=stride, padding=padding,
                                     output_padding=output_padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.up
        y = up(x)
        trim = (up.kernel_size[0] - up.stride[0] - 2 * up.padding[0] + up.output_padding[0]
                + (up.dilation[0] - 1) + (up.groups - 1))
        assert up.in_channels == x.shape[1] and up.out_channels == y.shape[1]
        return y[..., : y.shape[-1] - trim] if trim > 0 else y


@pytest.mark.parametrize(("kernel", "stride", "padding", "output_padding"),
                         [(4, 4, 0, 0), (8, 4, 2, 0), (7, 3, 1, 1), (16, 8, 4, 0)])
def test_convert_keeps_the_hyperparameters_a_parent_reads(kernel, stride, padding,
                                                          output_padding):
    torch.manual_seed(0)
    model = _ReadsItsChild(kernel, stride, padding, output_padding)
    report = convert(model, example_input=(2, 3, 17))
    new, old = report.model.up, model.up
    assert isinstance(new, PaddedSubPixel1d)
    for attr in ("kernel_size", "stride", "padding", "output_padding", "dilation", "groups",
                 "in_channels", "out_channels", "padding_mode"):
        assert getattr(new, attr) == getattr(old, attr), attr
        assert type(getattr(new, attr)) is type(getattr(old, attr)), attr
    x = torch.randn(1, 3, 29)
    assert _rel(report.model(x), model(x)) < 1e-5


class _ReadsTheWeight(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(2, 2, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x) * self.up.weight.shape[0]


def test_convert_names_an_attribute_the_replacement_lacks():
    model = _ReadsTheWeight()
    with pytest.raises(ConversionError, match="AttributeError: .*'weight'.*up "
                                              "\\(ConvTranspose1d -> PaddedSubPixel1d\\)"):
        convert(model, inplace=True, example_input=(1, 2, 8))
    assert type(model.up) is nn.ConvTranspose1d  # restored


class _InjectsNoise(nn.Module):
    """Draws fresh noise on every call, from torch, numpy and Python's generators."""

    def __init__(self) -> None:
        super().__init__()
        self.pre = nn.Conv1d(4, 6, 3, padding=1)
        self.up = nn.utils.parametrizations.weight_norm(
            nn.ConvTranspose1d(6, 3, 8, stride=4, padding=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pre(x) + torch.randn(x.shape[0], 6, x.shape[-1])
        y = self.up(h)
        # the global generators a user's code draws from, on purpose
        y = y + torch.from_numpy(
            np.random.standard_normal(y.shape).astype(np.float32))  # noqa: NPY002
        return y + random.gauss(0.0, 1.0)


def test_convert_seeds_the_check_runs_and_restores_the_generators():
    torch.manual_seed(0)
    model = _InjectsNoise()
    torch.manual_seed(123)
    np.random.seed(7)  # noqa: NPY002
    random.seed(5)
    states = (torch.get_rng_state(), np.random.get_state()[1].copy(),  # noqa: NPY002
              random.getstate())
    report = convert(model, example_input=(2, 4, 40))
    assert report.replaced == [("up", "ParametrizedConvTranspose1d", "PaddedSubPixel1d")]
    assert report.max_difference <= 1e-5 * report.scale
    # the user's draws go on exactly as if convert had not run
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert random.getstate() == states[2]


@pytest.mark.parametrize("norm", [nn.utils.weight_norm, nn.utils.parametrizations.weight_norm],
                         ids=["weight_norm", "parametrizations.weight_norm"])
def test_convert_folds_weight_norm_into_the_weights(norm):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1),
                              norm(nn.ConvTranspose1d(4, 2, 6, stride=3, padding=1)))
    with torch.no_grad():  # a gain far from the direction's norm: folding must use it
        for name, p in model[1].named_parameters():
            if name.endswith(("weight_g", "original0")):
                p.mul_(5.0)
    report = convert(model, example_input=(1, 2, 21))
    names = [n for n, _ in report.model[1].named_parameters()]
    assert not any("weight_g" in n or "original" in n for n in names)
    x = torch.randn(2, 2, 31)
    assert _rel(report.model(x), model(x)) < 1e-5


def test_padded_subpixel_like_must_match():
    with pytest.raises(TypeError, match="like must be an nn.ConvTranspose1d; received Conv1d"):
        PaddedSubPixel1d(SubPixel1d(2, 3, 2), like=nn.Conv1d(2, 3, 1))
    with pytest.raises(ValueError, match=r"\(2, 3, 2\); received \(2, 3, 4\)"):
        PaddedSubPixel1d(SubPixel1d(2, 3, 2), like=nn.ConvTranspose1d(2, 3, 4, stride=4))
