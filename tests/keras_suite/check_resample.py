"""The Keras resampling upsampler against the PyTorch layer, on the backend named by
KERAS_BACKEND (one process per backend)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from check_keras import _assert_same_function, _np

from upsamplers import ResampleUpsample1d
from upsamplers.keras import ResampleConv1D, make_upsampler


def _torch_twin(layer: ResampleConv1D, c_in: int, impl: str) -> ResampleUpsample1d:
    """The PyTorch layer with ``layer``'s weights (float64, to compare against)."""
    twin = ResampleUpsample1d(c_in, layer.filters, layer.factor, layer.kernel_size,
                              bias=layer.use_bias, impl=impl).double()
    with torch.no_grad():
        # Keras (K, C_in, C_out) -> (C_out, C_in, K), the Conv1d layout
        twin.conv.weight.copy_(torch.from_numpy(_np(layer.kernel).transpose(2, 1, 0)))
        if layer.use_bias:
            twin.conv.bias.copy_(torch.from_numpy(_np(layer.bias)))
    return twin


@pytest.mark.parametrize("impl", ["mix_first", "filter_first"])
@pytest.mark.parametrize(("factor", "kernel_size", "time", "use_bias"),
                         [(1, 3, 6, True), (2, 1, 1, False), (2, 4, 9, True), (3, 3, 2, False),
                          (4, 1, 40, False), (4, 3, 17, True), (8, 2, 5, True)])
def test_same_output_as_the_torch_layer(impl, factor, kernel_size, time, use_bias):
    rng = np.random.default_rng(factor * 10 + kernel_size)
    c_in, c_out = 3, 2
    layer = ResampleConv1D(c_out, factor, kernel_size, use_bias=use_bias, impl=impl,
                           bias_initializer="random_normal")
    x = rng.standard_normal((2, time, c_in)).astype("float32")
    y = _np(layer(x))
    assert layer.form == impl and y.shape == (2, time * factor, c_out)
    twin = _torch_twin(layer, c_in, impl)
    # (B, T, C) -> (B, C, T) and back
    expected = twin(torch.from_numpy(x.astype("float64")).transpose(1, 2)).detach()
    np.testing.assert_allclose(y, expected.transpose(1, 2).numpy(), rtol=0, atol=1e-5)


def test_both_forms_are_the_same_function_with_gradients():
    rng = np.random.default_rng(5)
    for factor, kernel_size in ((2, 3), (3, 4), (4, 1)):
        x = rng.standard_normal((2, 11, 3)).astype("float32")
        fast = ResampleConv1D(4, factor, kernel_size, use_bias=True, impl="mix_first")
        reference = ResampleConv1D(4, factor, kernel_size, use_bias=True, impl="filter_first")
        fast(x)
        reference(x)
        _assert_same_function(fast, reference, x, rng)


def test_auto_form_and_the_bar_in_keras():
    wide, narrow = ResampleConv1D(64, 4), ResampleConv1D(64, 4)
    wide(np.zeros((1, 4, 64), "float32"))
    narrow(np.zeros((1, 4, 1), "float32"))
    assert (wide.form, narrow.form) == ("mix_first", "filter_first")
    # unit weights, kernel 1, factor 4: the images of periodic sines (400-sample period,
    # 0.25 / 0.5 / 0.75 of the input Nyquist) at least 70 dB below the sine
    layer = make_upsampler("resample", 1, 4, kernel_size=1)
    layer(np.zeros((1, 4, 1), "float32"))
    layer.set_weights([np.ones((1, 1, 1), "float32")])
    for k0 in (50, 100, 150):
        x = np.sin(2 * np.pi * k0 * np.arange(1200) / 400).astype("float32")[None, :, None]
        period = _np(layer(x))[0, 1600:3200, 0]
        spectrum = np.abs(np.fft.rfft(period))
        images = [m * 400 + s * k0 for m in (1, 2) for s in (-1, 1) if m * 400 + s * k0 <= 800]
        assert 20 * np.log10(spectrum[images].max() / spectrum[k0]) <= -70.0, k0


def test_config_round_trip_and_symbolic_shape():
    layer = ResampleConv1D(4, 3, 5, use_bias=True, cutoff=0.8, transition=0.25,
                           attenuation=70.0, impl="filter_first", name="up")
    clone = ResampleConv1D.from_config(layer.get_config())
    assert (clone.filters, clone.factor, clone.kernel_size, clone.use_bias, clone.cutoff,
            clone.transition, clone.attenuation, clone.impl) == (4, 3, 5, True, 0.8, 0.25,
                                                                  70.0, "filter_first")
    inputs = keras.Input(shape=(None, 6))
    assert tuple(layer(inputs).shape) == (None, None, 4)
    assert layer.compute_output_shape((None, 7, 6)) == (None, 21, 4)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: ResampleConv1D(4, 2, cutoff=0.0), ValueError, "received cutoff=0.0"),
    (lambda: ResampleConv1D(4, 2, impl="fast"), ValueError, "received impl='fast'"),
    (lambda: ResampleConv1D(4, 0), ValueError, "received factor=0"),
    (lambda: ResampleConv1D(4, 2)(np.zeros((4, 4), "float32")), ValueError,
     r"Received: input_shape=\(4, 4\)"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
