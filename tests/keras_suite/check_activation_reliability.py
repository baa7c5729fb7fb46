"""The reliability rows of the PyTorch activations, for every Keras activation layer
on the backend named by KERAS_BACKEND: one dtype and channel rule (named in one
line, before Keras wraps the call), the shared table-size bound refused before any
allocation, parameters float32 cannot hold, options a name does not take."""

from __future__ import annotations

import time

import numpy as np
import pytest

from upsamplers._checks import InvalidType, InvalidValue
from upsamplers.keras import (
    AntiAliasedActivation1D,
    Snake1D,
    SnakeBeta1D,
    activation_names,
    make_activation,
)
from upsamplers.ops.resample_design import MAX_TABLE_BYTES

FORMS = (None, "default", "bigvgan")
#: every layer of this library (a plain relu, leaky_relu or tanh is Keras' own)
OURS = [(name, form) for name in activation_names() for form in FORMS
        if form is not None or name.startswith("snake")]


@pytest.mark.parametrize(("name", "form"), OURS)
def test_one_dtype_rule_and_the_built_channel_count(name, form):
    layer = make_activation(name, anti_aliased=form)
    for dtype in ("int32", "int64", "bool"):
        with pytest.raises(InvalidType) as error:
            layer(np.ones((1, 6, 3), dtype=dtype))
        assert str(error.value) == ("inputs must be a real floating-point tensor; received "
                                    f"dtype={dtype}")
    layer(np.zeros((1, 6, 3), dtype="float32"))
    with pytest.raises(InvalidValue) as error:
        layer(np.zeros((2, 6, 5), dtype="float32"))
    assert str(error.value) == ("inputs must have 3 channels (the last dimension of "
                                "(B, T, C), as built); received shape=(2, 6, 5)")


def test_a_nested_layer_built_elsewhere_is_checked_too():
    snake = Snake1D()
    snake(np.zeros((1, 4, 3), dtype="float32"))
    with pytest.raises(InvalidValue, match=r"have 3 channels .*received shape=\(1, 12, 5\)"):
        AntiAliasedActivation1D(snake)(np.zeros((1, 12, 5), dtype="float32"))


@pytest.mark.parametrize(("call", "text"), [
    (lambda: AntiAliasedActivation1D("relu", ratio=10 ** 5),
     r"received ratio=100000, taps=None \(estimated 2509217 from transition=0.4"),
    (lambda: AntiAliasedActivation1D("relu", taps=10 ** 5 + 1), "received ratio=2, taps=100001$"),
    (lambda: AntiAliasedActivation1D("tanh", transition=1e-9), "from transition=1e-09"),
    (lambda: AntiAliasedActivation1D("tanh", transition=1e-3, attenuation_db=300),
     "attenuation_db=300"),
    (lambda: AntiAliasedActivation1D.bigvgan("snake", taps=10 ** 7),
     r"received ratio=2, taps=10000000 \(bigvgan\)"),
    (lambda: make_activation("snake", anti_aliased="bigvgan", ratio=10 ** 6),
     "received ratio=1000000, taps=12"),
])
def test_tables_over_the_limit_are_refused_at_once(call, text):
    start = time.perf_counter()
    with pytest.raises(InvalidValue, match=text) as error:
        call()
    assert time.perf_counter() - start < 5
    assert f"within {MAX_TABLE_BYTES >> 20} MiB" in str(error.value)


@pytest.mark.parametrize(("call", "error", "text"), [
    (lambda: Snake1D(alpha=1e39), InvalidValue, r"received alpha=1e\+39$"),
    (lambda: SnakeBeta1D(beta=1e-40), InvalidValue, "received beta=1e-40$"),
    (lambda: make_activation("snakebeta_adaa", adaa=False), InvalidType,
     r"snakebeta_adaa takes no option adaa \(its options: alpha, beta, trainable\)"),
])
def test_parameters_and_options(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_the_snakes_take_the_options_of_the_pytorch_ones():
    # one table of options for both front ends: Keras' copy had lost ``adaa``
    from upsamplers.keras.activations import Snake1D, SnakeBeta1D

    assert make_activation("snake", adaa=True).adaa
    layer = make_activation("snakebeta", adaa=True, alpha=0.5)
    assert isinstance(layer, SnakeBeta1D) and layer.adaa
    assert not isinstance(layer, Snake1D)
