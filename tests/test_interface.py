"""The Upsampler interface that conversion, lint, bench and the analysis ask.

Every registered kind is checked against the layer's own output: the phase
kernels run by ``polyphase_forward`` must reproduce the layer (everywhere when
``end_effects`` is None, away from the ends otherwise), ``phase_taps`` must be the
support measured from impulse responses, and the initialisers on bare weight
tensors must match the ones on layers.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest
import torch

import upsamplers
from upsamplers import (
    InterpUpsample1d,
    SubPixel1d,
    TransposedUpsample1d,
    Upsampler,
    icnr_,
    make_upsampler,
    nearest_init_,
    polyphase_forward,
    to_subpixel,
    upsampler_kinds,
)

pytestmark = pytest.mark.usefixtures("one_thread")

CASES = [(kind, factor, k) for kind in ("transposed", "subpixel", "nearest", "linear", "sinc")
         for factor, k in ((1, 3), (2, 4), (3, 7), (4, 9))]


def _layer(kind, c_in, c_out, factor, kernel_size, seed, **options):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", upsamplers.ArtifactWarning)  # partial overlap is fine
        return make_upsampler(kind, c_in, c_out, factor, kernel_size=kernel_size,
                              **options).double()


def test_every_kind_is_an_upsampler_that_names_its_kind():
    for kind in upsampler_kinds():
        layer = make_upsampler(kind, 3, 2, 2)
        assert isinstance(layer, Upsampler)
        assert layer.kind == kind
        assert (layer.in_channels, layer.out_channels, layer.factor) == (3, 2, 2)
        assert layer.output_length(5) == 10
        assert layer.has_bias is False
        assert make_upsampler(kind, 3, 2, 2, bias=True).has_bias is True
        assert layer.learned_phases == (kind in ("subpixel", "transposed", "istft"))
        assert (layer.overlap is None) == (kind != "transposed")


@pytest.mark.parametrize(("kind", "factor", "kernel_size"), CASES)
def test_phase_kernels_reproduce_the_layer(kind, factor, kernel_size):
    seed = factor * 31 + kernel_size
    layer = _layer(kind, 3, 2, factor, kernel_size, seed, bias=True)
    x = torch.randn(2, 3, 17, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    kernels = layer.phase_kernels()
    assert kernels.factor == factor
    assert kernels.weight.shape[1:3] == (2, 3)
    y, y_phase = layer(x), polyphase_forward(x, kernels)
    if layer.end_effects is None:
        torch.testing.assert_close(y_phase, y, rtol=1e-10, atol=1e-10)
    else:
        assert "pads the interpolated signal with zeros" in layer.end_effects
        left, right = kernels.left, kernels.kernel_size - 1 - kernels.left
        inner = slice(left * factor, (x.shape[-1] - right) * factor)
        torch.testing.assert_close(y_phase[..., inner], y[..., inner], rtol=1e-10, atol=1e-10)
        assert not torch.allclose(y_phase, y)  # the ends really differ


def test_end_effects_are_the_interpolation_families_with_reach():
    assert make_upsampler("nearest", 2, 2, 4).end_effects is None
    assert "repeats the edge samples" in make_upsampler("linear", 2, 2, 4).end_effects
    sinc = make_upsampler("sinc", 2, 2, 4).end_effects
    assert sinc is not None and "repeats" not in sinc
    # no reach past the ends: a 1-tap kernel at factor 1 is exact for linear too
    assert make_upsampler("linear", 2, 2, 1, kernel_size=1).end_effects is None


@pytest.mark.parametrize(("kind", "factor", "kernel_size"), CASES)
def test_phase_taps_and_cost_are_the_measured_support(kind, factor, kernel_size):
    layer = _layer(kind, 1, 1, factor, kernel_size, 0)
    weight = layer.phase_kernels().weight.detach()  # (r, 1, 1, E)
    # taps that can be non-zero: a phase's span from its first to its last non-zero tap
    # under a random kernel (exact zeros only where the structure puts them)
    support = 0
    for i in range(factor):
        nonzero = torch.nonzero(weight[i, 0, 0]).flatten()
        support += int(nonzero[-1] - nonzero[0] + 1) if len(nonzero) else 0
    assert layer.phase_taps() == support
    wide = _layer(kind, 3, 5, factor, kernel_size, 0)
    folded = 15 * wide.phase_taps()
    # interpolation layers may have a cheaper exact form (a long fixed filter run per
    # input channel, then the high-rate kernel): the floor is the cheaper one
    macs = wide.form_macs() if hasattr(wide, "form_macs") else {}
    cheaper = [macs[f] for f in ("filtered", "projected") if f in macs]
    assert wide.macs_per_input_sample() == min([folded, *cheaper])


def test_interp_mode_is_keyword_only_and_the_old_order_warns():
    new = InterpUpsample1d(3, 2, 4, 5, mode="linear")
    assert (new.kernel_size, new.mode, new.kind) == (5, "linear", "linear")
    with pytest.warns(FutureWarning, match="write mode='linear'"):
        old = InterpUpsample1d(3, 2, 4, "linear", 5)
    assert (old.kernel_size, old.mode) == (5, "linear")
    old.load_state_dict(new.state_dict())
    x = torch.randn(1, 3, 9)
    torch.testing.assert_close(old(x), new(x))
    with pytest.raises(TypeError, match="mode twice"):
        InterpUpsample1d(3, 2, 4, "linear", mode="nearest")
    with pytest.raises(TypeError, match="4 positional arguments"):
        InterpUpsample1d(3, 2, 4, 5, 6)
    assert InterpUpsample1d(3, 2, 4).mode == "nearest"


def test_initialisers_on_weight_tensors_match_those_on_layers():
    layer = SubPixel1d(3, 2, 4, 5, order="phase", bias=True)
    torch.manual_seed(7)
    icnr_(layer)
    weight = torch.empty_like(layer.conv.weight)
    torch.manual_seed(7)
    returned = icnr_(weight, 4, order="phase")
    assert returned is weight
    torch.testing.assert_close(weight, layer.conv.weight.detach())
    gains = layer.phase_kernels().dc_gains().detach()
    torch.testing.assert_close(gains, gains[:1].expand_as(gains))

    transposed = TransposedUpsample1d(3, 2, 4, 8)
    torch.manual_seed(3)
    nearest_init_(transposed)
    w = torch.empty_like(transposed.conv.weight)
    torch.manual_seed(3)
    nearest_init_(w, 4)
    torch.testing.assert_close(w, transposed.conv.weight.detach())
    with pytest.raises(TypeError, match="needs factor"):
        icnr_(torch.empty(8, 3, 3))
    with pytest.raises(ValueError, match="multiple of factor=3 rows"):
        icnr_(torch.empty(8, 3, 3), 3)


def test_to_subpixel_of_a_subpixel_changes_its_order_exactly():
    layer = SubPixel1d(3, 2, 4, 4, order="channel", bias=True)
    other = to_subpixel(layer, order="phase")
    x = torch.randn(2, 3, 11)
    torch.testing.assert_close(other(x), layer(x))


@pytest.mark.parametrize(("name", "use"), [
    ("upsamplers.polyphase", lambda m: m.phase_kernels(SubPixel1d(2, 2, 2))),
    ("upsamplers.shuffle", lambda m: m.periodic_shuffle(torch.ones(1, 4, 3), 2)),
])
def test_deprecated_modules_still_work_and_warn(name, use):
    sys.modules.pop(name, None)
    with pytest.warns(FutureWarning, match=f"{name} is deprecated"):
        module = importlib.import_module(name)
    assert use(module) is not None
