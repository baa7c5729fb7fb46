"""Keras anti-aliased activations against the PyTorch modules of
``upsamplers.activations``, on the backend named by KERAS_BACKEND."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from check_keras import _np, _outputs_and_gradients
from keras import ops

from upsamplers import activations as torch_activations
from upsamplers.keras import (
    AntiAliasedActivation1D,
    Snake1D,
    SnakeBeta1D,
    activation_names,
    make_activation,
)


def _pair(name, channels, rng, anti_aliased=None, ratio=2):
    """The Keras and PyTorch activation of that name and form, built, with the
    same random parameters."""
    layer = make_activation(name, anti_aliased=anti_aliased, ratio=ratio)
    module = torch_activations.make_activation(name, channels, anti_aliased=anti_aliased,
                                               ratio=ratio)
    layer.build((None, None, channels))
    weights = [rng.normal(0.0, 0.5, w.shape).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)
    with torch.no_grad():
        for p, w in zip(module.parameters(), weights, strict=True):  # log_alpha, log_beta
            p.copy_(torch.from_numpy(w))
    return layer, module


def _torch_outputs_and_gradients(module, x, cotangent):
    """``module`` on ``x`` ``(B, T, C)`` and the gradients of ``sum(y * cotangent)``
    with respect to ``x`` and every parameter, channels last."""
    xt = torch.tensor(x).transpose(1, 2).requires_grad_(True)  # (B, T, C) -> (B, C, T)
    y = module(xt)
    grads = torch.autograd.grad((y * torch.tensor(cotangent).transpose(1, 2)).sum(),
                                [xt, *module.parameters()])
    return (y.detach().transpose(1, 2).numpy(),
            [grads[0].transpose(1, 2).numpy(), *[g.numpy() for g in grads[1:]]])


def _close(actual, expected, what):
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5 * scale, err_msg=what)


def test_names_are_the_torch_names():
    assert activation_names() == torch_activations.activation_names()


@pytest.mark.parametrize("name", ["snake", "snakebeta", "snakebeta_adaa"])
def test_snakes_match_torch_with_gradients(name):
    rng = np.random.default_rng(len(name))
    for time in (1, 2, 3, int(rng.integers(100, 400))):
        channels = int(rng.integers(1, 5))
        layer, module = _pair(name, channels, rng)
        x = (2 * rng.standard_normal((2, time, channels))).astype("float32")
        cotangent = rng.standard_normal(x.shape).astype("float32")
        y, grads = _outputs_and_gradients(layer, x, cotangent)
        y_ref, grads_ref = _torch_outputs_and_gradients(module, x, cotangent)
        _close(y, y_ref, f"{name} T={time}")
        assert len(grads) == len(grads_ref) == 1 + len(list(module.parameters()))
        for i, (g, g_ref) in enumerate(zip(grads, grads_ref, strict=True)):
            _close(g, g_ref, f"{name} T={time} gradient {i}")


@pytest.mark.parametrize("name", torch_activations.activation_names())
def test_antialiased_outputs_match_torch(name):
    # every ratio, both filters (BigVGAN's needs ratio >= 2), the shortest signals
    # (where both ends meet inside one block) and a few hundred samples; the same
    # shapes for every activation (JAX compiles each operation once per shape)
    rng = np.random.default_rng(sum(map(ord, name)))
    for ratio in (1, 2, 3, 4):
        for long, time in enumerate((1 + ratio % 3, 250 + 37 * ratio)):
            form = "bigvgan" if ratio > 1 and (ratio + long) % 2 == 0 else "default"
            layer, module = _pair(name, 2, rng, anti_aliased=form, ratio=ratio)
            x = (1.5 * rng.standard_normal((2, time, 2))).astype("float32")
            expected = module(torch.from_numpy(x).transpose(1, 2)).detach().transpose(1, 2)
            _close(_np(layer(x)), expected.numpy(), f"{name} x{ratio} {form} T={time}")


@pytest.mark.parametrize(("name", "form", "ratio"),
                         [("snakebeta_adaa", "default", 2), ("snake", "bigvgan", 3),
                          ("leaky_relu", "default", 4)])
def test_antialiased_gradients_match_torch(name, form, ratio):
    rng = np.random.default_rng(ratio)
    for time in (2, 97):
        layer, module = _pair(name, 3, rng, anti_aliased=form, ratio=ratio)
        x = rng.standard_normal((2, time, 3)).astype("float32")
        cotangent = rng.standard_normal(x.shape).astype("float32")
        y, grads = _outputs_and_gradients(layer, x, cotangent)
        y_ref, grads_ref = _torch_outputs_and_gradients(module, x, cotangent)
        _close(y, y_ref, f"{name} T={time}")
        assert len(grads) == len(grads_ref)
        for i, (g, g_ref) in enumerate(zip(grads, grads_ref, strict=True)):
            _close(g, g_ref, f"{name} T={time} gradient {i}")


def test_adaa_is_finite_on_runs_of_equal_samples():
    # runs of equal samples (d = 0 exactly), zeros and large values: the closed form
    # divides by nothing, so values and gradients stay finite, and on a run the
    # output is f(x) itself (the mean of f over a segment of zero length)
    rng = np.random.default_rng(5)
    x = np.repeat(rng.standard_normal((2, 12, 3)) * 3, 5, axis=1)
    x[:, :9] = 0.0
    x[:, -7:] = 40.0
    x = x.astype("float32")
    cotangent = rng.standard_normal(x.shape).astype("float32")
    plain = SnakeBeta1D(alpha=1.3, beta=0.7)
    adaa = SnakeBeta1D(alpha=1.3, beta=0.7, adaa=True)
    for layer in (adaa, make_activation("snakebeta_adaa", anti_aliased="default")):
        layer.build(x.shape)
        y, grads = _outputs_and_gradients(layer, x, cotangent)
        assert np.isfinite(y).all() and all(np.isfinite(g).all() for g in grads)
        assert len(grads) == 3 and np.abs(grads[0]).max() > 0
    run = np.zeros(x.shape[1], dtype=bool)
    run[1:] = x[0, 1:, 0] == x[0, :-1, 0]
    assert 40 < run.sum() < x.shape[1]
    np.testing.assert_allclose(_np(adaa(x))[:, run], _np(plain(x))[:, run], atol=1e-5)


def test_dynamic_time_length():
    # a model built with an unknown time dimension, compiled (predict) and eager
    inputs = keras.Input(shape=(None, 2))
    model = keras.Model(inputs, AntiAliasedActivation1D.bigvgan("snakebeta_adaa")(inputs))
    assert tuple(model.output_shape) == (None, None, 2)
    rng = np.random.default_rng(3)
    for time in (50, 173):
        x = rng.standard_normal((2, time, 2)).astype("float32")
        y = model.predict(x, verbose=0)
        assert y.shape == (2, time, 2)
        np.testing.assert_allclose(y, _np(model(x)), atol=1e-5)


def test_save_and_load_gives_identical_outputs(tmp_path):
    rng = np.random.default_rng(4)
    inputs = keras.Input(shape=(None, 3))
    hidden = AntiAliasedActivation1D("snakebeta_adaa", ratio=3, taps=31, window="hann")(inputs)
    hidden = AntiAliasedActivation1D.bigvgan(keras.layers.LeakyReLU(negative_slope=0.2),
                                             taps=10)(hidden)
    model = keras.Model(inputs, Snake1D(trainable=False)(hidden))
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32")
                       for w in model.get_weights()])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = rng.standard_normal((2, 40, 3)).astype("float32")
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))
    first, second = loaded.layers[1], loaded.layers[2]
    assert (first.ratio, first.taps, first.filter_config["window"]) == (3, 31, "hann")
    assert first.activation.adaa
    assert (second.preset, second.taps) == ("bigvgan", 10)
    assert second.activation.negative_slope == pytest.approx(0.2)
    assert not loaded.layers[-1].trainable and len(loaded.trainable_weights) == 2


def test_default_filter_lengths_are_the_torch_ones():
    for ratio in (1, 2, 3, 4):
        layer = AntiAliasedActivation1D("tanh", ratio)
        module = torch_activations.AntiAliasedActivation1d(torch.nn.Tanh(), ratio)
        assert layer.taps == module.config["taps"]
    assert AntiAliasedActivation1D.bigvgan("tanh").taps == 12


def test_callable_activation():
    x = np.random.default_rng(6).standard_normal((1, 20, 2)).astype("float32")
    by_name = AntiAliasedActivation1D("tanh")
    by_callable = AntiAliasedActivation1D(ops.tanh)
    np.testing.assert_allclose(_np(by_callable(x)), _np(by_name(x)), atol=1e-6)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: Snake1D(alpha=0), ValueError, r"alpha must be in \(0, inf\); received alpha=0"),
        (lambda: SnakeBeta1D(beta=-1.0), ValueError, "received beta=-1.0"),
        (lambda: Snake1D(adaa=1), TypeError, "adaa must be True or False; received adaa=1"),
        (lambda: Snake1D(trainable="yes"), TypeError, "received trainable='yes'"),
        (lambda: Snake1D()(np.zeros((4, 4), dtype="float32")), ValueError,
         r"\(batch, time, channels\).*Received: input_shape=\(4, 4\)"),
        (lambda: AntiAliasedActivation1D("gelu"), ValueError,
         "activation must be one of 'relu', .*; received activation='gelu'"),
        (lambda: AntiAliasedActivation1D(3), TypeError, "received activation=int"),
        (lambda: AntiAliasedActivation1D("snake", ratio=0), ValueError, "received ratio=0"),
        (lambda: AntiAliasedActivation1D("snake", taps=4), ValueError,
         "taps must be odd.*received taps=4"),
        (lambda: AntiAliasedActivation1D("snake", cutoff=3.0), ValueError,
         "received cutoff=3.0"),
        (lambda: AntiAliasedActivation1D("snake", window="box"), ValueError,
         "received window='box'"),
        (lambda: AntiAliasedActivation1D("snake", attenuation_db=10), ValueError,
         "received attenuation_db=10"),
        (lambda: AntiAliasedActivation1D.bigvgan("snake", ratio=1), ValueError,
         "ratio must be an integer >= 2; received ratio=1"),
        (lambda: AntiAliasedActivation1D.bigvgan("snake", taps=1), ValueError,
         "received taps=1"),
        (lambda: AntiAliasedActivation1D("snake", preset="bigvgan", cutoff=0.5), ValueError,
         "leave cutoff at the default; received cutoff=0.5"),
        (lambda: AntiAliasedActivation1D("snake", preset="alias"), ValueError,
         "received preset='alias'"),
        (lambda: AntiAliasedActivation1D("snake")(np.zeros((2, 4, 4, 1), dtype="float32")),
         ValueError, r"Received: input_shape=\(2, 4, 4, 1\)"),
        (lambda: make_activation("snake", anti_aliased="fancy"), ValueError,
         "received anti_aliased='fancy'"),
        (lambda: make_activation("mish"), ValueError, "received name='mish'"),
        (lambda: make_activation("leaky_relu", negative_slope=2.0), ValueError,
         "received negative_slope=2.0"),
        (lambda: make_activation("tanh", alpha=2.0), TypeError, "tanh takes no option alpha"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
