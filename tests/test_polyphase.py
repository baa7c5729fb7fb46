"""Polyphase execution of interpolation + convolution (nearest, linear, sinc).

Every check compares the polyphase path with an independent reference: the
naive PyTorch composition written out here (``F.interpolate`` or zero stuffing
+ ``F.conv1d``), or the numpy loops of ``tests/reference.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from reference import conv1d_same_loop, interpolate_loop, phase_shuffle_loop

from upsamplers import InterpUpsample1d, SincUpsample1d, make_upsampler, periodic_shuffle
from upsamplers._checks import InvalidValue
from upsamplers.layers.interpolation import FORMS
from upsamplers.ops import (
    CostModel,
    FormCost,
    choose_form,
    convolution,
    fold_map,
    kaiser_beta,
    linear_phases,
    polyphase_conv,
    polyphase_forward,
    sinc_filter,
    sinc_phases,
)
from upsamplers.ops.plan import CPU_MODEL, PLAIN_MARGIN

MODES = ("nearest", "linear", "sinc")


pytestmark = pytest.mark.usefixtures("one_thread")


def _layer(mode, c_in, c_out, factor, kernel_size, *, bias=False, impl="polyphase", **sinc):
    if mode == "sinc":
        return SincUpsample1d(c_in, c_out, factor, kernel_size, bias=bias, impl=impl, **sinc)
    return InterpUpsample1d(c_in, c_out, factor, kernel_size, mode=mode, bias=bias, impl=impl)


def _naive(layer, x):
    """The composition written out with PyTorch primitives, independently of the
    layer's own code: interpolate (or zero-stuff + centred low-pass), then a
    "same" convolution with (K - 1) // 2 zeros on the left."""
    r = layer.factor
    if layer.mode == "sinc":
        stuffed = torch.zeros(x.shape[0], x.shape[1], x.shape[2] * r, dtype=x.dtype)
        stuffed = stuffed.index_copy(2, torch.arange(x.shape[2]) * r, x)
        f = torch.as_tensor(layer.lowpass, dtype=x.dtype)
        half = (f.numel() - 1) // 2
        u = F.conv1d(stuffed.reshape(-1, 1, stuffed.shape[-1]), f.flip(0).view(1, 1, -1),
                     padding=half).reshape(stuffed.shape)
    elif r == 1:
        u = x
    else:
        kw = {} if layer.mode == "nearest" else {"align_corners": False}
        u = F.interpolate(x, scale_factor=r, mode=layer.mode, **kw)
    k = layer.conv.weight.shape[-1]
    left = (k - 1) // 2
    return F.conv1d(F.pad(u, (left, k - 1 - left)), layer.conv.weight, layer.conv.bias)


def _random_case(rng):
    return {
        "factor": int(rng.integers(1, 9)),
        "kernel_size": int(rng.integers(1, 20)),
        "c_in": int(rng.integers(1, 5)),
        "c_out": int(rng.integers(1, 5)),
        "batch": int(rng.integers(1, 3)),
        "time": int(rng.choice([1, 2, 3, int(rng.integers(4, 60))])),
        "bias": bool(rng.integers(0, 2)),
    }


def _max_rel(a, b):
    return float((a - b).detach().abs().max() / b.detach().abs().max().clamp_min(1e-30))


@pytest.mark.parametrize("impl", ["polyphase", "folded", "filtered", "projected"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(12))
def test_polyphase_equals_naive_forward_and_gradients_float64(mode, seed, impl):
    """Every exact form (folded, filtered, projected, and the one polyphase picks)
    against the composition written out independently, on random shapes, ends
    included."""
    rng = np.random.default_rng(seed)
    case = _random_case(rng)
    torch.manual_seed(seed)
    layer = _layer(mode, case["c_in"], case["c_out"], case["factor"], case["kernel_size"],
                   bias=case["bias"], impl=impl).double()
    assert layer.form == impl or (impl == "polyphase" and layer.form in FORMS)
    x = torch.randn(case["batch"], case["c_in"], case["time"], dtype=torch.float64,
                    requires_grad=True)
    y = layer(x)
    assert y.shape == (case["batch"], case["c_out"], case["time"] * case["factor"])
    reference = _naive(layer, x)
    scale = float(reference.detach().abs().max())
    torch.testing.assert_close(y, reference, rtol=1e-10, atol=1e-10 * scale)
    g = torch.randn_like(y)
    params = [x, *layer.parameters()]
    got = torch.autograd.grad(y, params, g)
    want = torch.autograd.grad(reference, params, g)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10 * float(b.abs().max()))


@pytest.mark.parametrize("impl", ["polyphase", "folded", "filtered", "projected"])
@pytest.mark.parametrize("mode", MODES)
def test_every_factor_kernel_and_length_float32(mode, impl):
    """Factors 1..8, odd and even kernels, T from 1 up: float32 polyphase against
    the float64 naive composition, forward and both gradients, 1e-5 relative."""
    torch.manual_seed(1)
    for factor in range(1, 9):
        for kernel_size in sorted({1, 2, 3, 4, 2 * factor, 2 * factor + 1}):
            layer = _layer(mode, 2, 3, factor, kernel_size, bias=True, impl=impl)
            ref_layer = _layer(mode, 2, 3, factor, kernel_size, bias=True).double()
            ref_layer.load_state_dict(layer.state_dict())
            for time in (1, 2, 3, 7, 31):
                x = torch.randn(2, 2, time, requires_grad=True)
                x64 = x.detach().double().requires_grad_(True)
                y, ref = layer(x), _naive(ref_layer, x64)
                assert _max_rel(y.double(), ref) < 1e-5, (factor, kernel_size, time)
                g = torch.randn_like(ref)
                got = torch.autograd.grad(y, [x, layer.conv.weight, layer.conv.bias], g.float())
                want = torch.autograd.grad(ref, [x64, ref_layer.conv.weight,
                                                 ref_layer.conv.bias], g)
                for a, b in zip(got, want, strict=True):
                    assert _max_rel(a.double(), b) < 1e-5, (factor, kernel_size, time)


def test_form_costs_count_the_multiply_adds_each_form_runs():
    """The multiply-adds of :meth:`form_costs` against the convolutions each forced form
    actually runs, counted by torch's FlopCounterMode on a long input (the end
    corrections and F.interpolate, which it does not count, are a small part)."""
    from torch.utils.flop_counter import FlopCounterMode

    for mode, factor, kernel_size in [("nearest", 4, 9), ("linear", 8, 3), ("linear", 3, 7),
                                      ("sinc", 2, 3), ("sinc", 4, 9)]:
        for form in ("folded", "filtered", "projected", "naive"):
            layer = _layer(mode, 6, 5, factor, kernel_size, impl=form)
            x = torch.randn(2, 6, 4000)
            with FlopCounterMode(display=False) as counter:
                layer(x)
            counted = counter.get_total_flops() / (2 * 2 * 4000)
            cost = layer.form_costs()[form]
            expected = cost.dense + cost.depthwise + (cost.interp if mode == "sinc" else 0)
            assert expected == pytest.approx(counted, rel=0.02), (mode, factor, form)


def test_choose_form_prices_fixed_and_per_step_costs():
    """Fixed costs decide short inputs, per-step costs long ones, and the choice
    flips where the model says the two totals cross."""
    model = CostModel(dense=1e-9, dense_rows=0.0, depthwise=0.0, interp=0.0, moved=0.0,
                      weight=1e-6, ends=0.0, calls={"a": 1e-4, "b": 1e-5})
    costs = {"a": FormCost(dense=100, weight=50), "b": FormCost(dense=300)}
    # a: 1e-7 per step + 1.5e-4 fixed; b: 3e-7 per step + 1e-5: equal at 700 steps
    assert choose_form(costs, 1, 699, model) == "b"
    assert choose_form(costs, 1, 701, model) == "a"
    assert choose_form(costs, 7, 100, model) == "a"  # batch x time counts
    assert choose_form(costs, 1, 10, None) == "a"  # no model: fewest multiply-adds
    with pytest.raises(InvalidValue, match="at least one form"):
        choose_form({}, 1, 1, model)
    # the preferred form (the plain composition) keeps its place unless another is
    # predicted PLAIN_MARGIN cheaper: at 10**5 steps a costs 0.01015 s, b 0.03001 s
    assert choose_form(costs, 1, 10 ** 5, model, prefer="b") == "a"
    near = {"a": FormCost(dense=100), "b": FormCost(dense=100 / (1 - PLAIN_MARGIN) - 1)}
    flat = CostModel(dense=1e-9, dense_rows=0.0, depthwise=0.0, interp=0.0, moved=0.0,
                     weight=0.0, ends=0.0)
    assert choose_form(near, 1, 10 ** 5, flat) == "a"
    assert choose_form(near, 1, 10 ** 5, flat, prefer="b") == "b"
    assert choose_form(near, 1, 10 ** 5, flat, prefer="missing") == "a"


def test_polyphase_chooses_per_call_from_the_engine_model():
    """``impl="polyphase"`` asks the engine for every call's form: the same layer runs
    one form on short inputs and another on long ones, never the plain composition
    where it is inexact, and the forced impls run as named."""
    layer = _layer("linear", 512, 512, 8, 3)
    short, long = layer.form_for(1, 256), layer.form_for(1, 1 << 20)
    costs = layer.form_costs()
    assert short == choose_form(costs, 1, 256, CPU_MODEL, prefer="naive")
    assert long == layer.form == choose_form(costs, 1, 1 << 20, CPU_MODEL, prefer="naive")
    # far fewer multiply-adds: the kernel's 3 taps applied at the low rate
    assert costs["projected"].dense == 512 * 512 * 3 < costs["folded"].dense
    odd = _layer("linear", 4, 4, 3, 3)
    assert not odd.naive_is_exact
    assert all(odd.form_for(1, 2 ** e) != "naive" for e in range(2, 21))
    for impl in FORMS:
        assert _layer("linear", 4, 4, 3, 3, impl=impl).form_for(1, 10) == impl
    cuda = torch.device("cuda")  # a device the model was not measured on: fewest macs
    assert layer.form_for(1, 16, cuda) == min(sorted(costs), key=lambda f: costs[f].macs)
    # what forward runs is what form_for says (a spy on the plain composition)
    tiny = _layer("nearest", 2, 2, 4, 3)
    calls = []
    original = tiny.interpolate
    tiny.interpolate = lambda x: calls.append(x.shape) or original(x)  # type: ignore[method-assign]
    for time in (4, 4096):
        calls.clear()
        tiny(torch.randn(1, 2, time))
        assert bool(calls) == (tiny.form_for(1, time) == "naive"), time


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("seed", range(3))
def test_polyphase_matches_numpy_loops(mode, seed):
    rng = np.random.default_rng(100 + seed)
    case = _random_case(rng)
    torch.manual_seed(seed)
    layer = _layer(mode, case["c_in"], case["c_out"], case["factor"], case["kernel_size"],
                   bias=case["bias"]).double()
    x = torch.randn(case["batch"], case["c_in"], case["time"], dtype=torch.float64)
    bias = None if layer.conv.bias is None else layer.conv.bias.detach().numpy()
    expected = conv1d_same_loop(interpolate_loop(x.numpy(), case["factor"], mode),
                                layer.conv.weight.detach().numpy(), bias)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-10, atol=1e-10)


def _sinc_loop(x, f, factor):
    """Zero stuffing, then the centred filter ``f`` (length 2H + 1), sample by sample."""
    half = (len(f) - 1) // 2
    time = x.shape[-1]
    u = np.zeros(x.shape[:-1] + (time * factor,))
    for m in range(time * factor):
        for t in range(time):
            n = m - t * factor
            if -half <= n <= half:
                u[..., m] += f[n + half] * x[..., t]
    return u


def test_sinc_matches_numpy_loops():
    torch.manual_seed(3)
    for factor, kernel_size, time in ((2, 5, 9), (3, 4, 2), (4, 1, 17)):
        layer = SincUpsample1d(2, 3, factor, kernel_size, bias=True).double()
        x = torch.randn(2, 2, time, dtype=torch.float64)
        f = layer.lowpass
        expected = conv1d_same_loop(_sinc_loop(x.numpy(), f, factor),
                                    layer.conv.weight.detach().numpy(),
                                    layer.conv.bias.detach().numpy())
        np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_polyphase(mode):
    torch.manual_seed(0)
    for factor, kernel_size, time in ((3, 4, 5), (2, 5, 2), (4, 3, 9)):
        extra = {"zeros": 2} if mode == "sinc" else {}
        layer = _layer(mode, 2, 2, factor, kernel_size, bias=True, **extra).double()
        x = torch.randn(1, 2, time, dtype=torch.float64, requires_grad=True)
        w = layer.conv.weight.detach().clone().requires_grad_(True)
        b = layer.conv.bias.detach().clone().requires_grad_(True)

        def run(x, w, b, layer=layer):
            return torch.func.functional_call(layer, {"conv.weight": w, "conv.bias": b}, (x,))

        assert torch.autograd.gradcheck(run, (x, w, b))


@pytest.mark.parametrize("mode", MODES)
def test_batch_chunks_give_the_same_result(mode, monkeypatch):
    """The polyphase path works a batch chunk at a time; force one item per chunk."""
    monkeypatch.setattr(convolution, "CHUNK_BYTES", 1)
    torch.manual_seed(7)
    layer = _layer(mode, 3, 2, 3, 6, bias=True).double()
    x = torch.randn(4, 3, 11, dtype=torch.float64, requires_grad=True)
    y, reference = layer(x), _naive(layer, x)
    torch.testing.assert_close(y, reference, rtol=1e-10, atol=1e-10)
    g = torch.randn_like(y)
    params = [x, *layer.parameters()]
    for a, b in zip(torch.autograd.grad(y, params, g), torch.autograd.grad(reference, params, g),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_gradcheck_polyphase_conv_with_chunks_and_end_terms(monkeypatch):
    monkeypatch.setattr(convolution, "CHUNK_BYTES", 1)
    torch.manual_seed(0)
    args = [torch.randn(3, 2, 5, dtype=torch.float64, requires_grad=True),  # x
            torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True),  # weight, r = 3
            torch.randn(6, dtype=torch.float64, requires_grad=True),  # bias
            torch.randn(3, 6, 2, dtype=torch.float64, requires_grad=True),  # head
            torch.randn(3, 6, 3, dtype=torch.float64, requires_grad=True)]  # tail

    def run(x, w, b, head, tail):
        return polyphase_conv(x, w, b, padding=2, starts=(0, 1, 1), length=5,
                                        head=head, head_at=1, tail=tail, tail_at=4)

    assert torch.autograd.gradcheck(run, tuple(args))
    # against the composition of the unfused pieces
    x, w, b, head, tail = (a.detach() for a in args)
    z = torch.nn.functional.conv1d(x, w, b, padding=2)
    z[..., 1:3] += head
    z[..., 4:7] += tail
    expected = torch.from_numpy(phase_shuffle_loop(z.numpy(), (0, 1, 1), 5))
    torch.testing.assert_close(run(*args), expected)


def test_impl_naive_is_the_composition_and_polyphase_is_default():
    layer = InterpUpsample1d(3, 2, 4, mode="linear")
    assert layer.impl == "polyphase"
    assert "impl='polyphase'" in repr(layer)
    naive = InterpUpsample1d(3, 2, 4, mode="linear", impl="naive")
    naive.load_state_dict(layer.state_dict())
    x = torch.randn(2, 3, 50)
    torch.testing.assert_close(naive(x), _naive(naive, x))
    torch.testing.assert_close(layer(x), naive(x), rtol=1e-5, atol=1e-6)


def test_linear_phases_follow_pytorch_positions():
    # output t*r + j sits at t + (j + 0.5) / r - 0.5; f_j = -0.375, -0.125, 0.125, 0.375
    phases = linear_phases(4)
    assert phases.offset == -1 and phases.extension == "replicate"
    np.testing.assert_allclose(phases.taps, [[0.375, 0.625, 0], [0.125, 0.875, 0],
                                             [0, 0.875, 0.125], [0, 0.625, 0.375]])


def test_fold_of_nearest_matches_block_arithmetic():
    # nearest, r = 4, K = 9: output block s reads input samples s - 1, s, s + 1, and
    # phase i takes taps k with (i + k - 4) // 4 = e, i.e. h_i[e] sums those taps.
    fold = fold_map(make_upsampler("nearest", 1, 1, 4).phases, 9)
    assert fold.left == 1 and fold.size == 3
    for i in range(4):
        for e in range(3):
            taps = [k for k in range(9) if (i + k - 4) // 4 == e - 1]
            expected = np.zeros(9)
            expected[taps] = 1
            np.testing.assert_array_equal(fold.matrix[:, i, e], expected)
    assert list(fold.support) == [3, 3, 3, 3]


@pytest.mark.parametrize("mode", MODES)
def test_phase_kernels_of_interp_layers(mode):
    torch.manual_seed(5)
    layer = _layer(mode, 3, 2, 3, 7, bias=True).double()
    kernels = layer.phase_kernels()
    assert kernels.weight.shape[:3] == (3, 2, 3)
    x = torch.randn(2, 3, 40, dtype=torch.float64)
    y_phase, y = polyphase_forward(x, kernels), layer(x)
    if mode == "nearest":  # exact everywhere
        torch.testing.assert_close(y_phase, y, rtol=1e-12, atol=1e-12)
    else:  # exact away from the ends
        left, right = kernels.left, kernels.kernel_size - 1 - kernels.left
        inner = slice(left * 3, (40 - right) * 3)
        torch.testing.assert_close(y_phase[..., inner], y[..., inner], rtol=1e-12, atol=1e-12)
        assert not torch.allclose(y_phase[..., :3], y[..., :3], atol=1e-6)
    # nearest and sinc (phases normalised) have equal DC gains across phases;
    # every interpolation here passes DC, so the gains are the sums of the taps.
    gains = kernels.dc_gains()
    torch.testing.assert_close(gains, layer.conv.weight.sum(-1).expand_as(gains))
    # gradients reach the learnable kernel through the phase kernels
    kernels.weight.sum().backward()
    assert layer.conv.weight.grad is not None and layer.conv.weight.grad.abs().sum() > 0


# ------------------------------------------------------------------ the sinc filter


@pytest.mark.parametrize("factor", [1, 2, 3, 4, 8])
def test_sinc_filter_shape_symmetry_and_dc(factor):
    f = sinc_filter(factor, cutoff=0.9, zeros=6)
    half = math.ceil(6 * factor / 0.9)
    assert f.shape == (2 * half + 1,)
    np.testing.assert_allclose(f, f[::-1], atol=1e-15)
    n = np.arange(-half, half + 1)
    for j in range(factor):
        assert abs(f[(n - j) % factor == 0].sum() - 1.0) < 1e-12


def _response_db(taps, factor, n_fft=1 << 15):
    """Magnitude (dB re the gain ``factor``) and frequency in units of the input
    Nyquist frequency."""
    mag = np.abs(np.fft.rfft(taps, n_fft)) / factor
    freq = np.arange(mag.size) / n_fft * 2 * factor
    return 20 * np.log10(np.maximum(mag, 1e-300)), freq


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
def test_sinc_filter_image_rejection(factor):
    db, freq = _response_db(sinc_filter(factor), factor)
    # images of the input spectrum start above the input Nyquist frequency (1.0)
    assert db[freq >= 1.25].max() < -60.0
    assert np.abs(db[freq <= 0.6]).max() < 0.1  # flat pass band
    assert abs(db[np.argmin(np.abs(freq - 0.9))] + 6.02) < 0.5  # -6 dB at the cut-off


def test_sinc_layer_image_rejection_of_a_tone():
    """Through the layer itself (learnable kernel set to identity): a tone at 0.4
    of the input Nyquist frequency comes out with its images >= 60 dB below it."""
    factor, time = 4, 4096
    layer = SincUpsample1d(1, 1, factor, 1).double()
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
    t = np.arange(time)
    f0 = 0.4 * 0.5  # cycles per input sample
    x = torch.as_tensor(np.sin(2 * np.pi * f0 * t)).view(1, 1, -1)
    y = layer(x).detach().numpy()[0, 0]
    y = y[512 * factor: -512 * factor]  # away from the zero-padded ends
    spectrum = np.abs(np.fft.rfft(y * np.kaiser(y.size, 20)))
    freq = np.fft.rfftfreq(y.size) * factor  # cycles per input sample
    level = 20 * np.log10(spectrum / spectrum.max())
    tone = np.argmin(np.abs(freq - f0))
    assert level[tone] > -0.1
    for k in range(1, factor):  # images at k * fs_in +- f0
        for image in (k - f0, k + f0):
            if image < factor / 2:
                near = np.abs(freq - image) < 0.01
                assert level[near].max() < -60.0, (k, image, level[near].max())


def test_sinc_layer_folded_response_rejects_images():
    """The equivalent high-rate filter read off the folded phase kernels: with the
    learnable kernel a unit impulse, the interleaved phase kernels are the
    low-pass, and their stop band is the filter's."""
    layer = SincUpsample1d(1, 1, 3, 1).double()
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
    kernels = layer.phase_kernels().weight.detach().numpy()[:, 0, 0, :]  # (r, E)
    # y[s r + i] = sum_e h_i[e] x[s + e - left], so the high-rate impulse response is
    # g[(left - e) r + i] = h_i[e]: interleave the phases with e reversed
    impulse = kernels[:, ::-1].T.reshape(-1)
    db, freq = _response_db(impulse, 3)
    assert db[freq >= 1.25].max() < -60.0
    assert abs(db[0]) < 1e-9


def test_kaiser_beta_formula():
    assert kaiser_beta(80) == pytest.approx(0.1102 * (80 - 8.7))
    assert kaiser_beta(30) == pytest.approx(0.5842 * 9 ** 0.4 + 0.07886 * 9)
    assert kaiser_beta(10) == 0.0


def test_sinc_state_dict_holds_only_the_learnable_kernel():
    layer = SincUpsample1d(2, 2, 2, bias=True)
    assert set(layer.state_dict()) == {"conv.weight", "conv.bias"}
    assert "cutoff=0.9, zeros=6" in repr(layer)
    assert isinstance(make_upsampler("sinc", 2, 2, 2), SincUpsample1d)


def test_dtype_round_trip_keeps_float64_precision():
    """Fixed tables are kept in float64 and converted on use, so a layer built in
    float32 and moved to float64 is exact to float64 precision."""
    torch.manual_seed(0)
    layer = InterpUpsample1d(2, 2, 3, mode="linear").double()
    x = torch.randn(1, 2, 30, dtype=torch.float64)
    torch.testing.assert_close(layer(x), _naive(layer, x), rtol=1e-12, atol=1e-12)
    layer.float()
    assert layer(x.float()).dtype == torch.float32


# -------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: InterpUpsample1d(2, 2, 2, impl="fast"), ValueError,
         "impl must be one of 'polyphase', 'folded', 'filtered', 'projected', 'naive'; "
         "received impl='fast'"),
        (lambda: SincUpsample1d(2, 2, 2, impl="fast"), ValueError, "received impl='fast'"),
        (lambda: SincUpsample1d(2, 2, 2, cutoff=0.0), ValueError,
         r"cutoff must be in \(0, 1\]; received cutoff=0.0"),
        (lambda: SincUpsample1d(2, 2, 2, cutoff=1.5), ValueError, "received cutoff=1.5"),
        (lambda: SincUpsample1d(2, 2, 2, cutoff="0.5"), TypeError,
         "cutoff must be a real number; received cutoff='0.5'"),
        (lambda: SincUpsample1d(2, 2, 2, zeros=0), ValueError, "received zeros=0"),
        (lambda: SincUpsample1d(2, 2, 2, beta=-1.0), ValueError,
         r"beta must be in \[0, inf\); received beta=-1.0"),
        (lambda: SincUpsample1d(2, 2, 2, kernel_size=0), ValueError, "received kernel_size=0"),
        (lambda: make_upsampler("sinc", 2, 2, 2, mode="linear"), TypeError, "mode"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(("mode", "kernel_size"), [("linear", 9), ("sinc", 3), ("nearest", 3)])
def test_torch_export_keeps_the_length_dynamic_down_to_one(mode, kernel_size):
    torch.manual_seed(0)
    layer = _layer(mode, 3, 2, 4, kernel_size).eval()
    time = torch.export.Dim("time", min=1, max=1 << 16)
    program = torch.export.export(layer, (torch.randn(2, 3, 8),),
                                  dynamic_shapes={"x": {2: time}})
    exported = program.module()
    for length in (1, 2, 5, 33):
        x = torch.randn(2, 3, length)
        torch.testing.assert_close(exported(x), layer(x))


def _shuffle_only(z, starts, length):
    """polyphase_conv with an identity 1-tap kernel: its shuffle with per-phase starts alone."""
    eye = torch.eye(z.shape[1], dtype=z.dtype).unsqueeze(-1)  # (C * r, C * r, 1)
    return polyphase_conv(z, eye, None, padding=0, starts=starts, length=length)


def test_polyphase_conv_lines_up_each_phase():
    z = torch.arange(2 * 6 * 5, dtype=torch.float64).reshape(2, 6, 5)  # C = 2, r = 3
    for starts, length in (((0, 1, 1), 3), ((2, 0, 1), 3), ((0, 0, 0), 5)):
        expected = torch.from_numpy(phase_shuffle_loop(z.numpy(), starts, length))
        torch.testing.assert_close(_shuffle_only(z, starts, length), expected)
    zz = z.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: _shuffle_only(t, (2, 0, 1), 3), (zz,))
    torch.testing.assert_close(_shuffle_only(z, (0, 0, 0), 5), periodic_shuffle(z, 3))
    with pytest.raises(ValueError, match="within the 5 columns"):
        _shuffle_only(z, (0, 3, 0), 3)


def test_bad_input_to_the_polyphase_path():
    layer = InterpUpsample1d(3, 2, 2, mode="linear")
    with pytest.raises(ValueError, match="must have 3 channels"):
        layer(torch.randn(1, 4, 10))
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(1, 3, 10, dtype=torch.int64))


def test_interpolation_runs_transposed_up_to_its_factor_and_grouped_beyond():
    """Both executions of the interpolation stage give the same signal; the
    transposed one is used for zero-extended interpolations up to
    TRANSPOSED_MAX_FACTOR, never for linear (edges replicated)."""
    from upsamplers.ops.interpolation import (
        TRANSPOSED_MAX_FACTOR,
        depthwise_phases,
        interpolation_weight,
        polyphase_interpolate,
        transposed_filter,
        transposed_geometry,
    )

    x = torch.randn(2, 3, 11, dtype=torch.float64)
    for factor in (2, 3, 4, 5, 8):
        phases = sinc_phases(factor, cutoff=0.8, zeros=3)
        grouped = torch.as_tensor(depthwise_phases(phases, 3))
        assert transposed_geometry(phases) is not None
        taps = torch.as_tensor(transposed_filter(phases))
        transposed = taps.expand(3, 1, -1).contiguous()
        torch.testing.assert_close(polyphase_interpolate(x, phases, transposed),
                                   polyphase_interpolate(x, phases, grouped))
        used = interpolation_weight(phases, 3)
        assert used.shape == (tuple(transposed.shape) if factor <= TRANSPOSED_MAX_FACTOR
                              else tuple(grouped.shape))
    linear = linear_phases(4)
    assert transposed_geometry(linear) is None
    assert interpolation_weight(linear, 3).shape == (12, 1, linear.taps.shape[1])
