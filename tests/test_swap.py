"""upsamplers.swap: every upsampling layer of a foreign model replaced by another kind,
every output length kept. The models are look-alikes of HiFi-GAN, EnCodec and
Upsample + Conv1d decoders built here (no download)."""

from __future__ import annotations

import random
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from upsamplers import SwapReport, make_upsampler, swap, upsampler_kinds
from upsamplers.analysis import audit
from upsamplers.swapping import LengthMatched, SwapError

KINDS = upsampler_kinds()
NORMS = {"weight_norm": nn.utils.weight_norm,
         "parametrizations": nn.utils.parametrizations.weight_norm,
         "none": lambda m: m}


@pytest.fixture(autouse=True)
def _quiet_weight_norm():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*weight_norm.*deprecated",
                                category=FutureWarning)
        yield


# ----------------------------------------------------------------------------- look-alikes

def _geometry(style: str, s: int) -> dict[str, int]:
    """ConvTranspose1d arguments: HiFi-GAN/BigVGAN's, and variants with other padding."""
    return {
        "hifigan": dict(kernel_size=2 * s, padding=s // 2 + s % 2, output_padding=s % 2),
        "plain": dict(kernel_size=s, padding=0, output_padding=0),
        "long": dict(kernel_size=2 * s + 1, padding=0, output_padding=0),
        "over": dict(kernel_size=2 * s, padding=s, output_padding=1),
        "dilated": dict(kernel_size=3, padding=1, output_padding=0, dilation=2),
    }[style]


class HiFiLike(nn.Module):
    """Conv1d, then per factor: LeakyReLU + (weight-normed) ConvTranspose1d halving
    the channels; a last Conv1d + tanh."""

    def __init__(self, factors=(8, 5, 4, 2, 3), style="hifigan", norm="parametrizations",
                 mels=12, width=32):
        super().__init__()
        self.pre = nn.Conv1d(mels, width, 7, padding=3)
        self.ups = nn.ModuleList()
        c = width
        for s in factors:
            self.ups.append(NORMS[norm](nn.ConvTranspose1d(c, max(c // 2, 2), stride=s,
                                                           **_geometry(style, s))))
            c = max(c // 2, 2)
        self.post = nn.Conv1d(c, 1, 7, padding=3)

    def forward(self, x):
        x = self.pre(x)
        for up in self.ups:
            x = up(F.leaky_relu(x, 0.1))
        return torch.tanh(self.post(x))


class SConvTranspose1d(nn.Module):
    """EnCodec's wrapper: a padding-0 transposed convolution, then ``kernel_size -
    stride`` samples trimmed (read from the child), all on the right if causal."""

    def __init__(self, c_in, c_out, kernel_size, stride, causal=False, norm="weight_norm"):
        super().__init__()
        self.convtr = NORMS[norm](nn.ConvTranspose1d(c_in, c_out, kernel_size, stride))
        self.causal = causal

    def forward(self, x):
        total = self.convtr.kernel_size[0] - self.convtr.stride[0]
        y = self.convtr(x)
        right = total if self.causal else total // 2
        return y[..., total - right: y.shape[-1] - right]


class EncodecLike(nn.Module):
    def __init__(self, ratios=(8, 5, 4, 2), dim=16, width=32, causal=False):
        super().__init__()
        layers = [nn.Conv1d(dim, width, 7, padding=3)]
        c = width
        for r in ratios:
            layers += [nn.ELU(), SConvTranspose1d(c, c // 2, 2 * r, r, causal)]
            c //= 2
        layers += [nn.ELU(), nn.Conv1d(c, 1, 7, padding=3)]
        self.model = nn.Sequential(*layers)

    def forward(self, z):
        return self.model(z)


def _upsample_conv(factors=(4, 3, 2), width=24):
    layers = [nn.Conv1d(6, width, 3, padding=1)]
    modes = ["nearest", "linear"]
    for i, s in enumerate(factors):
        layers += [nn.ReLU(), nn.Upsample(scale_factor=s, mode=modes[i % 2]),
                   nn.Conv1d(width, width // 2, 7, padding=3)]
        width //= 2
    return nn.Sequential(*layers)


class SharedUp(nn.Module):
    """One ConvTranspose1d registered twice (``up`` and ``blocks[1][0]``) and called
    twice; another nested in a ModuleList of Sequentials."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Conv1d(4, 8, 3, padding=1)
        self.up = nn.ConvTranspose1d(8, 8, 6, stride=3, padding=1)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1), nn.ReLU()),
            nn.Sequential(self.up, nn.Tanh()),
        ])

    def forward(self, x):
        x = self.up(self.pre(x))
        for block in self.blocks:
            x = block(x)
        return x


def _lengths(model, x_channels, lengths):
    with torch.no_grad():
        return [model(torch.randn(1, x_channels, t)).shape for t in lengths]


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- lengths

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("norm", list(NORMS))
def test_hifigan_like_every_kind_keeps_every_length_and_leaves_the_model(kind, norm):
    torch.manual_seed(0)
    model = HiFiLike(norm=norm).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    children = list(model.modules())
    report = swap(model, kind)
    assert isinstance(report, SwapReport) and report.model is not model
    # the user's model: same modules, same weights, same mode
    assert list(model.modules()) == children and _same_state(model.state_dict(), state)
    assert all(m.training for m in model.modules())
    assert all(m.training for m in report.model.modules())
    assert [e.factor for e in report.replaced] == [8, 5, 4, 2, 3]
    assert [e.name for e in report.replaced] == [f"ups.{i}" for i in range(5)]
    assert all(e.extra == 0 and e.new == kind for e in report.replaced)
    assert not report.skipped
    lengths = random.Random(kind).sample(range(1, 40), 5)
    assert _lengths(report.model, 12, lengths) == _lengths(model, 12, lengths)
    for i, e in enumerate(report.replaced):
        new = report.model.ups[i]
        assert isinstance(new, LengthMatched) and new.upsampler.kind == kind
        assert (new.in_channels, new.out_channels) == (e.in_channels, e.out_channels)


@pytest.mark.parametrize("style", ["plain", "long", "over", "dilated"])
@pytest.mark.parametrize("kind", ["transposed", "sinc"])
def test_padding_variants_keep_the_transposed_convolutions_length(style, kind):
    torch.manual_seed(1)
    model = HiFiLike(factors=(2, 5, 3), style=style, norm="none")
    report = swap(model, kind)
    for e, old in zip(report.replaced, model.ups, strict=True):
        t = 11
        expected = old(torch.randn(1, old.in_channels, t)).shape[-1]  # torch's own formula
        assert e.extra == expected - t * e.factor
        assert e.left + e.right == e.extra
    lengths = [4, 9, 17, 30]
    assert _lengths(report.model, 12, lengths) == _lengths(model, 12, lengths)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("causal", [False, True])
def test_encodec_like_wrapper_still_trims_the_right_count(kind, causal):
    torch.manual_seed(2)
    model = EncodecLike(causal=causal)
    report = swap(model, kind)
    assert [e.name for e in report.replaced] == [f"model.{i}.convtr" for i in (2, 4, 6, 8)]
    assert [e.extra for e in report.replaced] == [8, 5, 4, 2]  # kernel - stride
    for i in (2, 4, 6, 8):
        old, new = model.model[i].convtr, report.model.model[i].convtr
        assert (new.kernel_size, new.stride) == (old.kernel_size, old.stride)
    lengths = random.Random(1).sample(range(1, 30), 4)
    assert _lengths(report.model, 16, lengths) == _lengths(model, 16, lengths)
    if not causal:  # the added samples are the ones the wrapper trims: what is left is
        for i in (2, 4, 6, 8):  # the new upsampler's own T * r samples, unshifted
            block = report.model.model[i]
            x = torch.randn(2, block.convtr.in_channels, 9)
            with torch.no_grad():
                torch.testing.assert_close(block(x), block.convtr.upsampler(x))


@pytest.mark.parametrize("kind", KINDS)
def test_upsample_conv_decoder_reads_the_channels_from_the_calls(kind):
    model = _upsample_conv()
    report = swap(model, kind)
    assert [(e.name, e.old, e.factor, e.in_channels, e.out_channels)
            for e in report.replaced] == [("2", "Upsample", 4, 24, 24),
                                          ("5", "Upsample", 3, 12, 12),
                                          ("8", "Upsample", 2, 6, 6)]
    assert all(e.kernel_size is None and e.extra == 0 for e in report.replaced)
    assert report.parameters_after > report.parameters_before  # the new layers learn
    lengths = [1, 5, 13]
    assert _lengths(report.model, 6, lengths) == _lengths(model, 6, lengths)


@pytest.mark.parametrize("kind", KINDS)
def test_a_module_registered_twice_and_called_twice_is_one_replacement(kind):
    model = SharedUp()
    report = swap(model, kind)
    assert [(e.name, e.also, e.calls) for e in report.replaced] == [
        ("up", ["blocks.1.0"], 6),  # called twice in each of 3 check runs
        ("blocks.0.0", [], 3)]
    new = report.model
    assert new.up is new.blocks[1][0] and isinstance(new.up, LengthMatched)
    lengths = [2, 7, 19]
    assert _lengths(new, 4, lengths) == _lengths(model, 4, lengths)


def test_inplace_swaps_the_model_itself():
    model = EncodecLike(ratios=(4, 2))
    expected = _lengths(model, 16, [5, 9])
    report = swap(model, "subpixel", inplace=True, init="icnr")
    assert report.model is model and isinstance(model.model[2].convtr, LengthMatched)
    assert report.options == {"init": "icnr"}
    assert _lengths(model, 16, [5, 9]) == expected


def test_swap_twice_replaces_the_wrappers():
    model = HiFiLike(factors=(3, 2), style="over", norm="none")
    once = swap(model, "nearest")
    twice = swap(once.model, "sinc")
    assert [e.old for e in twice.replaced] == ["LengthMatched", "LengthMatched"]
    assert [(e.left, e.right) for e in twice.replaced] == [
        (e.left, e.right) for e in once.replaced]
    assert _lengths(twice.model, 12, [3, 8]) == _lengths(model, 12, [3, 8])


# ----------------------------------------------------------------------------- skipped

class _Interpolates(nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2.0)


class _SharedUpsample(nn.Module):
    """One nn.Upsample called at two channel counts, one with a fixed size, one by
    1.5, and an F.interpolate inside a forward."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(3, 8, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)
        self.b = nn.Conv1d(8, 4, 3, padding=1)
        self.fixed = nn.Upsample(size=64)
        self.tr = nn.ConvTranspose1d(4, 4, 4, stride=2, padding=1)
        self.odd = nn.Upsample(scale_factor=1.5)
        self.inner = _Interpolates()

    def forward(self, x):
        x = self.b(self.up(self.a(x)))
        return self.inner(self.odd(self.tr(self.fixed(self.up(x)))))


def test_layers_that_cannot_be_matched_are_left_with_the_reason():
    model = _SharedUpsample()
    report = swap(model, "linear")
    assert [e.name for e in report.replaced] == ["tr"]
    reasons = dict(report.skipped)
    assert "different channel counts" in reasons["up"]
    assert "fixed output size" in reasons["fixed"]
    assert "not an integer (scale_factor=1.5)" in reasons["odd"]
    assert "F.interpolate" in reasons["inner"]
    assert report.model.up is not model.up and type(report.model.up) is nn.Upsample
    assert _lengths(report.model, 3, [5, 6]) == _lengths(model, 3, [5, 6])
    text = str(report)
    assert "`tr`" in text and "Skipped 4" in text and "different channel counts" in text


# ----------------------------------------------------------------------------- the wrapper

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("left", "right"), [(0, 0), (3, 5), (-2, -1), (4, -6), (-3, 9),
                                            (5, -82)])
def test_length_matched_is_the_upsampler_shifted_by_left(kind, left, right):
    torch.manual_seed(3)
    s, t = 4, 20
    up = make_upsampler(kind, 3, 2, s).double()
    wrapped = LengthMatched(up, left, right)
    x = torch.randn(2, 3, t, dtype=torch.double, requires_grad=True)
    y = wrapped(x)
    assert y.shape == (2, 2, t * s + left + right) and wrapped.output_length(t) == y.shape[-1]
    # out[n] = up(x)[n - left] where that exists, zero elsewhere (a loop over n)
    plain = up(x)
    expected = torch.zeros_like(y)
    for n in range(y.shape[-1]):
        if 0 <= n - left < t * s:
            expected[..., n] = plain[..., n - left]
    torch.testing.assert_close(y, expected, rtol=0, atol=0)
    short = x[:1, :, :6].detach().requires_grad_()
    if wrapped.output_length(6) > 0:
        torch.autograd.gradcheck(wrapped, (short,))


def test_length_matched_keeps_the_hyperparameters_a_parent_reads():
    old = nn.ConvTranspose1d(4, 2, 10, stride=5, padding=2, output_padding=1, dilation=1)
    new = LengthMatched(make_upsampler("linear", 4, 2, 5), 1, 2, like=old)
    assert (new.kernel_size, new.stride, new.padding, new.output_padding, new.dilation,
            new.groups) == ((10,), (5,), (2,), (1,), (1,), 1)
    with pytest.raises(ValueError, match="gives no output"):
        LengthMatched(make_upsampler("linear", 4, 2, 5), -3, -3)(torch.randn(1, 4, 1))


# ----------------------------------------------------------------------------- bad input

def test_bad_input_is_refused_where_it_enters():
    model = HiFiLike(factors=(2,))
    with pytest.raises(ValueError, match="kind must be one of") as info:
        swap(model, "deconv")
    assert all(repr(k) in str(info.value) for k in KINDS)
    with pytest.raises(TypeError, match="take no argument zeros"):
        swap(model, "subpixel", zeros=4)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module; received str"):
        swap("hifigan", "sinc")
    with pytest.raises(TypeError, match="inplace must be True or False"):
        swap(model, "sinc", inplace=1)
    with pytest.raises(ValueError, match="no upsampling layer"):
        swap(nn.Sequential(nn.Conv1d(2, 2, 3), nn.ReLU()), "sinc")
    with pytest.raises(TypeError, match="example_input must be"):
        swap(model, "sinc", example_input=[1, 12, 8])
    with pytest.raises(ValueError, match="failed on the check input"):
        swap(model, "sinc", example_input=(1, 5, 8))


class _ReadsTheWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose1d(2, 2, 4, stride=2, padding=1)

    def forward(self, x):
        return self.up(x) * self.up.weight.mean()


def test_a_parent_that_reads_a_lost_attribute_gets_a_swap_error_and_keeps_its_layer():
    model = _ReadsTheWeight()
    up = model.up
    with pytest.raises(SwapError, match="AttributeError.*weight.*replaced: up"):
        swap(model, "sinc", inplace=True)
    assert model.up is up


# ----------------------------------------------------------------------------- artifacts

def test_resample_on_a_random_codec_like_decoder_removes_tones_and_replicas():
    """Measured on a random-init EnCodec-like decoder (factors 4 x 2, 16 kHz): the
    transposed convolutions' audit fails on tones, the resample swap's passes; the
    energy above the input Nyquist falls."""
    torch.manual_seed(0)
    model = EncodecLike(ratios=(4, 2), dim=8, width=16)
    swapped = swap(model, "resample").model
    probes = ("ones", "silence", "noise", "tones")
    before = audit(model, 16000, inputs=probes, seconds=0.5)
    after = audit(swapped, 16000, inputs=probes, seconds=0.5)
    order = {"pass": 0, "warn": 1, "fail": 2}
    assert before.verdicts["tonal"].status == "fail"
    assert order[after.verdicts["tonal"].status] <= order[before.verdicts["tonal"].status]
    assert after.verdicts["tonal"].status == "pass"
    assert after.replicas.total_db < before.replicas.total_db - 20


# ----------------------------------------------------------------------------- other layers

class _ShuffleAndOwn(nn.Module):
    """A subpixel pair (Conv1d to C * 3 channels + PeriodicShuffle1d) and one of this
    package's upsamplers, in float64."""

    def __init__(self):
        super().__init__()
        from upsamplers import PeriodicShuffle1d

        self.conv = nn.Conv1d(5, 6 * 3, 3, padding=1)
        self.shuffle = PeriodicShuffle1d(3)
        self.own = make_upsampler("linear", 6, 4, 2)

    def forward(self, x):
        return self.own(self.shuffle(self.conv(x)))


@pytest.mark.parametrize("kind", KINDS)
def test_a_shuffle_and_an_own_upsampler_are_swapped_in_their_dtype(kind):
    model = _ShuffleAndOwn().double()
    x = torch.randn(2, 5, 9, dtype=torch.double)
    report = swap(model, kind, example_input=x)
    assert [(e.name, e.old, e.factor, e.in_channels, e.out_channels, e.extra)
            for e in report.replaced] == [("shuffle", "PeriodicShuffle1d", 3, 18, 6, 0),
                                          ("own", "InterpUpsample1d", 2, 6, 4, 0)]
    assert report.lengths == [9, 10, 16]
    assert all(p.dtype == torch.double for p in report.model.parameters())
    with torch.no_grad():
        assert report.model(x).shape == model(x).shape == (2, 4, 54)
