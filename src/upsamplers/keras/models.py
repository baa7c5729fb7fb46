"""The article's all-convolutional raw-audio autoencoder, in Keras 3."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras

from .._checks import check_choice, check_positive_int
from .layers import KINDS, make_upsampler


def build_autoencoder(
    input_length: int = 16384,
    channels: int = 1,
    *,
    upsampler: str = "subpixel",
    factors: Sequence[int] = (4, 4, 4),
    filters: Sequence[int] = (16, 32, 64),
    kernel_size: int = 9,
    activation: str | None = "tanh",
    use_bias: bool = False,
    name: str | None = None,
    **upsampler_options: Any,
) -> keras.Model:
    """An all-convolutional autoencoder for raw audio.

    Encoder: one strided ``Conv1D`` per factor (``filters[l]`` channels, stride
    ``factors[l]``, "same" padding, ``activation``). Decoder: the same stages in
    reverse, each an upsampler of ``kind=upsampler`` by the same factor, with
    ``activation`` after every stage but the last, which maps back to ``channels``
    with a linear output.

    With the defaults: 16384 samples -> 4096 -> 1024 -> 256 (64 channels) ->
    1024 -> 4096 -> 16384.

    Args:
        input_length: samples per clip; must be divisible by ``prod(factors)``.
        channels: audio channels (1 = mono).
        upsampler: one of ``"subpixel"``, ``"transposed"``, ``"nearest"``, ``"linear"``,
            ``"resample"``, ``"istft"``.
        factors: down/upsampling factor of each stage.
        filters: channels after each encoder stage (same length as ``factors``).
        kernel_size: taps of the encoder convolutions.
        activation: activation between stages (``None`` for none). The default,
            ``"tanh"``, is zero-centred: a ReLU adds a positive offset before the
            next upsampler, and the replicas of that offset are tones.
        use_bias: biases in the convolutions (off by default: offsets become tones).
        **upsampler_options: passed to :func:`make_upsampler` (e.g. ``kernel_size``).

    Shape:
        ``(B, input_length, channels) -> (B, input_length, channels)``
    """
    input_length = check_positive_int("input_length", input_length)
    channels = check_positive_int("channels", channels)
    upsampler = check_choice("upsampler", upsampler, KINDS)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    factors = [check_positive_int("factors", f) for f in factors]
    filters = [check_positive_int("filters", f) for f in filters]
    if not factors or len(factors) != len(filters):
        raise ValueError(
            "factors and filters must be non-empty and of the same length. "
            f"Received: factors={tuple(factors)}, filters={tuple(filters)}"
        )
    total = math.prod(factors)
    if input_length % total != 0:
        raise ValueError(
            f"input_length must be divisible by the product of factors ({total}). "
            f"Received: input_length={input_length}, factors={tuple(factors)}"
        )

    inputs = keras.Input(shape=(input_length, channels), name="audio")
    x = inputs
    for stage, (factor, width) in enumerate(zip(factors, filters, strict=True)):
        x = keras.layers.Conv1D(width, kernel_size, strides=factor, padding="same",
                                activation=activation, use_bias=use_bias,
                                name=f"encoder_{stage}")(x)
    widths = list(reversed(filters[:-1])) + [channels]
    for stage, (factor, width) in enumerate(zip(reversed(factors), widths, strict=True)):
        x = make_upsampler(upsampler, width, factor, use_bias=use_bias,
                           name=f"decoder_{stage}_{upsampler}", **upsampler_options)(x)
        if stage < len(factors) - 1 and activation is not None:
            x = keras.layers.Activation(activation, name=f"decoder_{stage}_{activation}")(x)
    return keras.Model(inputs, x, name=name or f"autoencoder_{upsampler}")
