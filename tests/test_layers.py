import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from reference import conv1d_same_loop, conv_transpose1d_loop, interpolate_loop, shuffle_loop

from upsamplers import (
    ArtifactWarning,
    InterpUpsample1d,
    SubPixel1d,
    TransposedUpsample1d,
    make_upsampler,
    overlap_regime,
    upsampler_kinds,
)


def _np(t):
    return None if t is None else t.detach().double().numpy()


def _random_config(rng):
    return dict(
        batch=int(rng.integers(1, 4)),
        c_in=int(rng.integers(1, 5)),
        c_out=int(rng.integers(1, 5)),
        factor=int(rng.integers(1, 9)),
        time=int(rng.integers(1, 12)),
    )


def _naive_interp_conv(module, x):
    """The naive composition the layer promises: F.interpolate, then conv1d 'same'."""
    r = module.factor
    if module.mode == "nearest":
        u = F.interpolate(x, scale_factor=r, mode="nearest")
    else:
        u = F.interpolate(x, scale_factor=r, mode="linear", align_corners=False)
    with warnings.catch_warnings():
        # PyTorch notes that an even kernel makes it pad a copy: expected here
        warnings.simplefilter("ignore", UserWarning)
        return F.conv1d(u, module.conv.weight, module.conv.bias, padding="same")


# ---------------------------------------------------------------- references


@pytest.mark.parametrize("order", ["channel", "phase"])
@pytest.mark.parametrize("seed", range(8))
def test_subpixel_matches_conv_and_numpy_shuffle(order, seed):
    rng = np.random.default_rng(seed)
    cfg = _random_config(rng)
    kernel_size = int(rng.integers(1, 8))
    bias = bool(rng.integers(0, 2))
    torch.manual_seed(seed)
    layer = SubPixel1d(cfg["c_in"], cfg["c_out"], cfg["factor"], kernel_size, bias=bias,
                       order=order).double()
    x = torch.randn(cfg["batch"], cfg["c_in"], cfg["time"], dtype=torch.float64)
    expected = shuffle_loop(
        conv1d_same_loop(x.numpy(), _np(layer.conv.weight), _np(layer.conv.bias)),
        cfg["factor"], order)
    y = layer(x)
    assert y.shape == (cfg["batch"], cfg["c_out"], cfg["time"] * cfg["factor"])
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


def _documented_crop(full, factor, kernel_size, time):
    """Crop of the TransposedUpsample1d docstring: E = K - r; drop E // 2 at the start
    and keep T * r samples; for E < 0 append zeros (the bias, if any) at the end."""
    extra = kernel_size - factor
    if extra >= 0:
        return full[..., extra // 2: extra // 2 + time * factor]
    return full


@pytest.mark.parametrize("impl", ["auto", "polyphase", "native"])
@pytest.mark.parametrize("seed", range(10))
def test_transposed_matches_conv_transpose1d_plus_documented_crop(seed, impl):
    rng = np.random.default_rng(seed)
    cfg = _random_config(rng)
    r = cfg["factor"]
    kernel_size = int(rng.integers(r, 3 * r + 2))  # K >= r: crop only
    bias = bool(rng.integers(0, 2))
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ArtifactWarning)
        layer = TransposedUpsample1d(cfg["c_in"], cfg["c_out"], r, kernel_size,
                                     bias=bias, impl=impl).double()
    x = torch.randn(cfg["batch"], cfg["c_in"], cfg["time"], dtype=torch.float64)
    full = F.conv_transpose1d(x, layer.conv.weight, layer.conv.bias, stride=r)
    expected = _documented_crop(full, r, kernel_size, cfg["time"])
    y = layer(x)
    assert y.shape == (cfg["batch"], cfg["c_out"], cfg["time"] * r)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)
    # and the scatter-add definition, independent of PyTorch
    loop = conv_transpose1d_loop(x.numpy(), _np(layer.conv.weight), r, _np(layer.conv.bias))
    np.testing.assert_allclose(y.detach().numpy(),
                               _documented_crop(loop, r, kernel_size, cfg["time"]), atol=1e-12)


@pytest.mark.parametrize("impl", ["polyphase", "native"])
@pytest.mark.parametrize(("factor", "kernel_size"), [(4, 1), (4, 3), (3, 2), (8, 5)])
@pytest.mark.parametrize("bias", [False, True])
def test_transposed_kernel_shorter_than_stride_appends_samples(factor, kernel_size, bias, impl):
    torch.manual_seed(0)
    with pytest.warns(ArtifactWarning, match="shorter than the stride"):
        layer = TransposedUpsample1d(2, 3, factor, kernel_size, bias=bias, impl=impl).double()
    x = torch.randn(2, 2, 5, dtype=torch.float64)
    y = layer(x)
    assert y.shape == (2, 3, 5 * factor)
    loop = conv_transpose1d_loop(x.numpy(), _np(layer.conv.weight), factor, None)
    y_np = y.detach().numpy()
    b = 0.0 if not bias else _np(layer.conv.bias)[None, :, None]
    np.testing.assert_allclose(y_np[..., : loop.shape[-1]], loop + b, atol=1e-12)
    # the appended tail holds no contribution of the input: only the bias
    np.testing.assert_allclose(y_np[..., loop.shape[-1]:],
                               np.broadcast_to(b, y_np[..., loop.shape[-1]:].shape), atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_transposed_phase_form_has_the_native_gradients(seed):
    """The phase-kernel form (kernels taken from conv.weight on every call) against
    PyTorch's transposed convolution: outputs and the input, weight and bias
    gradients, random shapes, kernels shorter and longer than the stride."""
    rng = np.random.default_rng(50 + seed)
    cfg = _random_config(rng)
    r = cfg["factor"]
    kernel_size = int(rng.integers(1, 4 * r + 2))
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ArtifactWarning)
        phase = TransposedUpsample1d(cfg["c_in"], cfg["c_out"], r, kernel_size, bias=True,
                                     impl="polyphase").double()
        native = TransposedUpsample1d(cfg["c_in"], cfg["c_out"], r, kernel_size, bias=True,
                                      impl="native").double()
    native.load_state_dict(phase.state_dict())
    x = torch.randn(cfg["batch"], cfg["c_in"], cfg["time"], dtype=torch.float64,
                    requires_grad=True)
    y, want = phase(x), native(x)
    torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    got = torch.autograd.grad(y, [x, *phase.parameters()], g)
    expected = torch.autograd.grad(want, [x, *native.parameters()], g)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_transposed_auto_runs_the_engine_choice():
    from upsamplers.ops.plan import TRANSPOSED_PHASE_STEPS, transposed_form

    layer = TransposedUpsample1d(2, 2, 4)
    small, large = TRANSPOSED_PHASE_STEPS["factor_4_up"] - 1, TRANSPOSED_PHASE_STEPS["factor_4_up"]
    assert layer.form_for(1, small) == transposed_form(1, small, 4) == "native"
    assert layer.form_for(1, large) == "polyphase"
    assert TransposedUpsample1d(2, 2, 2).form_for(1, large) == "native"
    assert TransposedUpsample1d(2, 2, 2).form_for(1, TRANSPOSED_PHASE_STEPS["below"]) == "polyphase"
    assert TransposedUpsample1d(2, 2, 4, impl="native").form_for(8, 10 ** 6) == "native"


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("seed", range(6))
def test_interp_matches_interpolate_plus_conv(mode, seed):
    rng = np.random.default_rng(seed)
    cfg = _random_config(rng)
    kernel_size = int(rng.integers(1, 12))
    torch.manual_seed(seed)
    layer = InterpUpsample1d(cfg["c_in"], cfg["c_out"], cfg["factor"], kernel_size, mode=mode,
                             bias=bool(rng.integers(0, 2))).double()
    x = torch.randn(cfg["batch"], cfg["c_in"], cfg["time"], dtype=torch.float64)
    y = layer(x)
    assert y.shape == (cfg["batch"], cfg["c_out"], cfg["time"] * cfg["factor"])
    torch.testing.assert_close(y, _naive_interp_conv(layer, x), rtol=1e-10, atol=1e-10)
    # independent numpy definition of the interpolation and the convolution
    expected = conv1d_same_loop(interpolate_loop(x.numpy(), cfg["factor"], mode),
                                _np(layer.conv.weight), _np(layer.conv.bias))
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["transposed", "subpixel", "nearest", "linear"])
def test_every_length_gives_exactly_t_times_factor(kind):
    for factor in (1, 2, 3, 5):
        for kernel_size in (1, 2, 3, 4, 7, 8):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ArtifactWarning)
                layer = make_upsampler(kind, 2, 3, factor, kernel_size=kernel_size)
            for time in (1, 2, 3, 10):
                y = layer(torch.randn(1, 2, time))
                assert y.shape == (1, 3, time * factor), (factor, kernel_size, time)
                assert layer.output_length(time) == time * factor


# --------------------------------------------------- the textbook equivalence


@pytest.mark.parametrize("order", ["channel", "phase"])
@pytest.mark.parametrize(("factor", "taps"), [(2, 1), (2, 2), (3, 3), (4, 2), (5, 3), (8, 1)])
def test_transposed_equals_subpixel_with_every_factorth_tap(order, factor, taps):
    """Shi et al. 2016: a transposed conv with kernel taps*r and stride r is a subpixel
    conv whose phase-i kernel is w[i], w[i + r], ..., reversed."""
    torch.manual_seed(factor * 10 + taps)
    c_in, c_out, r = 3, 2, factor
    w = torch.randn(c_in, c_out, taps * r)  # ConvTranspose1d weight (C_in, C_out, K)
    x = torch.randn(2, c_in, 9)
    full = F.conv_transpose1d(x, w, stride=r)  # (T + taps - 1) * r samples

    # phase kernels: h_i[o, c, m] = w[c, o, (taps - 1 - m) * r + i]
    phase = torch.stack([w[:, :, i::r].flip(-1).transpose(0, 1) for i in range(r)])
    sub = SubPixel1d(c_in, c_out, r, 2 * taps - 1, order=order)
    with torch.no_grad():
        if order == "channel":
            rows = phase.transpose(0, 1).reshape(c_out * r, c_in, taps)  # row c*r + i
        else:
            rows = phase.reshape(r * c_out, c_in, taps)  # row i*C + c
        # the subpixel kernel of 2 * taps - 1 taps is centred (taps - 1 zeros of 'same'
        # padding on the left): putting the taps on its first half makes output s read
        # x[s - taps + 1 .. s], as the full transposed convolution does
        sub.conv.weight.zero_()
        sub.conv.weight[..., :taps] = rows
    # subpixel over the input padded with taps - 1 zeros on the right covers the full output
    y = sub(F.pad(x, (0, taps - 1)))
    torch.testing.assert_close(y, full, rtol=1e-5, atol=1e-5)

    # and the layer form: odd taps put the crop on a phase boundary, so a centred
    # subpixel kernel of `taps` taps equals TransposedUpsample1d exactly
    if taps % 2 == 1:
        layer = TransposedUpsample1d(c_in, c_out, r, taps * r)
        sub_same = SubPixel1d(c_in, c_out, r, taps, order=order)
        with torch.no_grad():
            layer.conv.weight.copy_(w)
            sub_same.conv.weight.copy_(rows)
        torch.testing.assert_close(sub_same(x), layer(x), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------ autograd and dtypes


@pytest.mark.parametrize("kind", ["transposed", "subpixel", "nearest", "linear"])
@pytest.mark.parametrize("bias", [False, True])
def test_gradcheck_input_and_weights(kind, bias):
    torch.manual_seed(0)
    layer = make_upsampler(kind, 2, 2, 3, kernel_size=4, bias=bias).double() \
        if kind != "transposed" else make_upsampler(kind, 2, 2, 3, bias=bias).double()
    x = torch.randn(2, 2, 5, dtype=torch.float64, requires_grad=True)
    params = tuple(layer.parameters())
    names = [n for n, _ in layer.named_parameters()]

    def fn(x, *weights):
        state = dict(zip(names, weights, strict=True))
        return torch.func.functional_call(layer, state, (x,))

    assert torch.autograd.gradcheck(fn, (x, *params))


@pytest.mark.parametrize("kind", ["transposed", "subpixel", "nearest", "linear"])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float16, 2e-2), (torch.bfloat16, 6e-2)])
def test_half_precision_forward(kind, dtype, tol):
    torch.manual_seed(0)
    layer = make_upsampler(kind, 4, 3, 2)
    x = torch.randn(2, 4, 16)
    expected = layer(x)
    y = layer.to(dtype)(x.to(dtype))
    assert y.dtype == dtype and y.shape == expected.shape
    assert torch.isfinite(y).all()
    scale = expected.abs().max()
    assert (y.float() - expected).abs().max() <= tol * scale


@pytest.mark.parametrize("kind", ["transposed", "subpixel", "nearest", "linear"])
def test_torch_export_with_dynamic_length(kind):
    torch.manual_seed(0)
    layer = make_upsampler(kind, 3, 2, 4).eval()
    time = torch.export.Dim("time", min=1, max=1 << 16)
    program = torch.export.export(layer, (torch.randn(2, 3, 8),),
                                  dynamic_shapes={"x": {2: time}})
    exported = program.module()
    for length in (1, 5, 33):
        x = torch.randn(2, 3, length)
        torch.testing.assert_close(exported(x), layer(x))


# ----------------------------------------------------------- configuration


def test_overlap_regimes_and_warning():
    assert overlap_regime(4, 4) == "none"
    assert overlap_regime(8, 4) == "full"
    assert overlap_regime(6, 4) == "partial"
    assert overlap_regime(3, 4) == "partial"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # full and no overlap do not warn
        assert TransposedUpsample1d(2, 2, 4).overlap == "full"
        assert TransposedUpsample1d(2, 2, 4, 4).overlap == "none"
    with pytest.warns(ArtifactWarning, match=r"partial overlap.*kernel_size=3 .* stride "
                                             r"factor=2.*tonal artifacts.*kernel_size=4"):
        layer = TransposedUpsample1d(2, 2, 2, 3)
    assert layer.overlap == "partial"
    # it warns at construction only, not on every call
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(torch.randn(1, 2, 4))


def test_repr_is_readable():
    assert "SubPixel1d(4, 2, factor=3, kernel_size=3, bias=False, order='channel'" in repr(
        SubPixel1d(4, 2, 3))
    assert "overlap='full'" in repr(TransposedUpsample1d(4, 2, 3))
    assert "mode='linear', kernel_size=7" in repr(InterpUpsample1d(4, 2, 3, mode="linear"))


def test_defaults_have_no_bias():
    for kind in upsampler_kinds():
        layer = make_upsampler(kind, 2, 2, 2)
        assert all("bias" not in name for name, _ in layer.named_parameters()), kind


@pytest.mark.parametrize("order", ["channel", "phase"])
def test_icnr_init_starts_with_equal_phases(order):
    torch.manual_seed(0)
    layer = SubPixel1d(3, 2, 4, 5, bias=True, order=order, init="icnr")
    x = torch.randn(1, 3, 10)
    y = layer(x).reshape(1, 2, 10, 4)  # (B, C, T * r) -> (B, C, T, r): the phases
    assert torch.allclose(y, y[..., :1].expand_as(y), atol=1e-6)
    default = SubPixel1d(3, 2, 4, 5, order=order)(x).reshape(1, 2, 10, 4)
    assert not torch.allclose(default, default[..., :1].expand_as(default), atol=1e-3)


def test_nearest_init_starts_with_equal_phases():
    torch.manual_seed(0)
    layer = TransposedUpsample1d(3, 2, 4, 8, init="nearest")
    x = torch.randn(1, 3, 10)
    # the crop of 2 samples shifts the blocks of equal samples by 2
    y = layer(x)[..., 2:-2].reshape(1, 2, 9, 4)
    assert torch.allclose(y, y[..., :1].expand_as(y), atol=1e-6)
    with pytest.raises(ValueError, match="multiple of the stride 4.*received kernel_size=6"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ArtifactWarning)
            TransposedUpsample1d(3, 2, 4, 6, init="nearest")


# --------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: SubPixel1d(4, 2, 0), ValueError,
         "factor must be a positive integer; received factor=0"),
        (lambda: SubPixel1d(4, 2, 1.5), TypeError, "received factor=1.5"),
        (lambda: SubPixel1d(0, 2, 2), ValueError, "received in_channels=0"),
        (lambda: SubPixel1d(4, 2, 2, kernel_size=0), ValueError, "received kernel_size=0"),
        (lambda: SubPixel1d(4, 2, 2, order="batch"), ValueError,
         "order must be one of 'channel', 'phase'; received order='batch'"),
        (lambda: SubPixel1d(4, 2, 2, init="zeros"), ValueError,
         "init must be one of 'default', 'icnr'; received init='zeros'"),
        (lambda: SubPixel1d(4, 2, 2, bias=1), TypeError, "bias must be True or False"),
        (lambda: TransposedUpsample1d(4, 2, 2, kernel_size=0), ValueError,
         "received kernel_size=0"),
        (lambda: TransposedUpsample1d(4, 2, 2, kernel_size=2.0), TypeError,
         "received kernel_size=2.0"),
        (lambda: TransposedUpsample1d(4, 2, 2, init="icnr"), ValueError,
         "init must be one of 'default', 'nearest'; received init='icnr'"),
        (lambda: InterpUpsample1d(4, 2, 2, mode="cubic"), ValueError,
         "mode must be one of 'nearest', 'linear'; received mode='cubic'"),
        (lambda: make_upsampler("deconv", 4, 2, 2), ValueError,
         "kind must be one of 'transposed', 'subpixel', 'nearest', 'linear'.*"
         "received kind='deconv'"),
        (lambda: make_upsampler("nearest", 4, 2, 2, mode="linear"), TypeError,
         "kind='nearest' fixes mode='nearest'"),
        (lambda: make_upsampler("subpixel", 4, 2, 2, stride=3), TypeError, "stride"),
    ],
)
def test_bad_construction(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("kind", ["transposed", "subpixel", "nearest", "linear"])
@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (torch.randn(4, 10), ValueError, r"\(3 dimensions\); received shape \(4, 10\)"),
        (torch.randn(1, 1, 4, 10), ValueError, r"received shape \(1, 1, 4, 10\)"),
        (torch.randn(2, 4, 0), ValueError, r"at least one time step"),
        (torch.ones(2, 4, 10, dtype=torch.int32), TypeError, "floating-point.*torch.int32"),
        (torch.randn(2, 3, 10), ValueError,
         r"x must have 4 channels .*; received shape \(2, 3, 10\)"),
        ([[1.0]], TypeError, "x must be a torch.Tensor.*received list"),
    ],
)
def test_bad_input_tensor(kind, x, error, message):
    layer = make_upsampler(kind, 4, 2, 2)
    with pytest.raises(error, match=message):
        layer(x)


@pytest.mark.parametrize("kind", ["subpixel", "transposed", "nearest", "linear", "sinc"])
def test_a_layer_first_run_in_inference_mode_on_a_new_dtype_still_trains(kind):
    """Evaluation under ``torch.inference_mode`` before training on a new device or
    dtype (what a training run that evaluates at step 0 does on a GPU) must not
    leave the layer with tables that autograd cannot save."""
    torch.manual_seed(0)
    layer = make_upsampler(kind, 2, 3, 4, kernel_size=8).double()
    reference = make_upsampler(kind, 2, 3, 4, kernel_size=8).double()
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(2, 2, 13, dtype=torch.float64)
    with torch.inference_mode():
        evaluated = layer(x)
    y = layer(x)
    y.square().sum().backward()
    expected = reference(x)
    expected.square().sum().backward()
    torch.testing.assert_close(y, expected, rtol=0, atol=0)
    torch.testing.assert_close(evaluated, expected.detach(), rtol=0, atol=0)
    for (name, p), q in zip(layer.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=0, msg=name)
