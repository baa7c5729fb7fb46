"""The Keras inverse-STFT head against a numpy loop and the PyTorch layer, outputs and
gradients, on the backend named by KERAS_BACKEND (one process per backend)."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import torch
from check_keras import _np, _outputs_and_gradients

from upsamplers import ISTFTUpsample1d
from upsamplers.keras import ISTFTConv1D, make_upsampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the numpy references
from reference import istft_loop  # noqa: E402


def _window(name: str, n: int) -> np.ndarray:
    phase = 2 * np.pi * np.arange(n) / n
    return {"hann": 0.5 - 0.5 * np.cos(phase), "hamming": 0.54 - 0.46 * np.cos(phase),
            "rectangular": np.ones(n)}[name]


def _case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    factor = int(rng.integers(1, 5))
    window = str(rng.choice(["hann", "hamming", "rectangular"]))
    return {"factor": factor, "kernel_size": int(rng.integers(1, 6)),
            "n_fft": int(rng.integers(factor + (window == "hann"), 5 * factor + 3)),
            "window": window, "normalize": bool(rng.integers(2)),
            "c_in": int(rng.integers(1, 4)), "c_out": int(rng.integers(1, 4)),
            "time": int(rng.integers(1, 13)), "use_bias": bool(rng.integers(2))}


def _twin(layer: ISTFTConv1D, c_in: int) -> ISTFTUpsample1d:
    """The PyTorch layer with ``layer``'s weights, float64."""
    twin = ISTFTUpsample1d(c_in, layer.filters, layer.factor, layer.kernel_size,
                           n_fft=layer.n_fft, window=layer.window, normalize=layer.normalize,
                           bias=layer.use_bias).double()
    with torch.no_grad():
        # Keras (K, C_in, C_out N) -> (C_out N, C_in, K), the Conv1d layout
        twin.conv.weight.copy_(torch.from_numpy(_np(layer.kernel).transpose(2, 1, 0)))
        if layer.use_bias:
            twin.bias.copy_(torch.from_numpy(_np(layer.bias)))
    return twin


@pytest.mark.parametrize("seed", range(8))
def test_same_function_as_a_numpy_loop_and_the_torch_layer_with_gradients(seed):
    case = _case(seed)
    rng = np.random.default_rng(seed)
    layer = ISTFTConv1D(case["c_out"], case["factor"], case["kernel_size"],
                        use_bias=case["use_bias"], n_fft=case["n_fft"], window=case["window"],
                        normalize=case["normalize"], bias_initializer="random_normal")
    x = rng.standard_normal((2, case["time"], case["c_in"])).astype("float32")
    y = _np(layer(x))
    assert y.shape == (2, case["time"] * case["factor"], case["c_out"])
    kernel = _np(layer.kernel).transpose(2, 1, 0).astype("float64")
    bias = _np(layer.bias).astype("float64") if case["use_bias"] else None
    # (B, T, C) -> (B, C, T) for the loop, and its output back
    want = istft_loop(x.transpose(0, 2, 1).astype("float64"), kernel, bias, case["factor"],
                      _window(case["window"], case["n_fft"]), case["normalize"])
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(y, want.transpose(0, 2, 1), rtol=0, atol=1e-5 * scale)
    # gradients of sum(y * g) against the PyTorch layer's (checked against a naive
    # irfft composition in tests/test_istft.py)
    cotangent = rng.standard_normal(y.shape).astype("float32")
    _, grads = _outputs_and_gradients(layer, x, cotangent)
    twin = _twin(layer, case["c_in"])
    xt = torch.from_numpy(x.astype("float64")).transpose(1, 2).requires_grad_(True)
    yt = twin(xt)
    params = [twin.conv.weight] + ([twin.bias] if case["use_bias"] else [])
    expected = torch.autograd.grad(yt, [xt, *params],
                                   torch.from_numpy(cotangent.astype("float64")).transpose(1, 2))
    expected = [expected[0].transpose(1, 2).numpy(), expected[1].numpy().transpose(2, 1, 0),
                *[g.numpy() for g in expected[2:]]]
    assert len(grads) == len(expected)
    for got, reference in zip(grads, expected, strict=True):
        tolerance = 1e-5 * max(1.0, float(np.abs(reference).max()))
        np.testing.assert_allclose(got, reference, rtol=0, atol=tolerance)


def test_symbolic_shapes_config_and_the_factory():
    layer = make_upsampler("istft", 3, 4, n_fft=12, window="hamming", normalize=False)
    assert isinstance(layer, ISTFTConv1D) and layer.kernel_size == 3
    inputs = keras.Input(shape=(None, 2))
    assert tuple(layer(inputs).shape) == (None, None, 3)
    clone = ISTFTConv1D.from_config(layer.get_config())
    assert (clone.filters, clone.factor, clone.n_fft, clone.window, clone.normalize) == (
        3, 4, 12, "hamming", False)
    model = keras.Model(inputs, layer(inputs))
    assert tuple(model(np.zeros((2, 5, 2), "float32")).shape) == (2, 20, 3)


@pytest.mark.parametrize(("options", "error", "text"), [
    ({"n_fft": 3}, ValueError, "the 'hann' window of n_fft=3 has 2; received n_fft=3"),
    ({"window": "kaiser"}, ValueError, "received window='kaiser'"),
    ({"normalize": "yes"}, TypeError, "received normalize='yes'"),
    ({"n_fft": 2 ** 14}, ValueError, "fixed iSTFT tables"),
])
def test_bad_options_are_refused_naming_them(options, error, text):
    with pytest.raises(error) as caught:
        ISTFTConv1D(1, 4, **options)
    assert text in str(caught.value)
