"""Anti-aliased activations for Keras 3, ``(B, T, C)`` tensors, ``keras.ops`` only.

The Keras front end of :mod:`upsamplers.activations` (same formulas, same
filters, same ends, same outputs to float rounding, channels last):

* :class:`Snake1D`, :class:`SnakeBeta1D`: Snake activations with learnable
  per-channel parameters in log scale (``log_alpha``, ``log_beta``, created in
  ``build`` from the channel count); ``adaa=True`` is first-order
  antiderivative anti-aliasing in closed form,
  ``y[n] = s / 2 + c (1 - cos(a s) sinc(a d)) / 2`` with ``s = x[n] + x[n-1]``,
  ``d = x[n] - x[n-1]``, ``c = 1 / (b + 1e-9)`` and ``x[-1] = x[0]``, finite in
  value and gradient when consecutive samples are equal;
* :class:`AntiAliasedActivation1D`: oversample by ``r``, apply the activation,
  low-pass, decimate, with the filter tables of :mod:`upsamplers.ops.resample`
  (numpy) computed as block matrix products: time cut into blocks of ``L``
  low-rate samples, each block with its halo one matrix product per stage, so
  the zero-stuffed samples are never built and the discarded outputs never
  computed;
* :func:`make_activation`: any of them by name (the names of the PyTorch
  :func:`upsamplers.activations.make_activation`).

All map ``(B, T, C) -> (B, T, C)``; ``B`` and ``T`` may be ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from .._checks import (
    InvalidType,
    InvalidValue,
    check_bool,
    check_choice,
    check_positive_int,
    check_real,
)
from ..activations._input import check_parameter
from ..activations.registry import check_activation_options
from ..ops.resample import (
    block_matrices,
)
from ..ops.resample_design import (
    WINDOWS,
    alias_free_kaiser_sinc,
    check_table_size,
    default_taps,
    resample_tables,
    window_sinc,
)

#: added to the divisor (as BigVGAN and the PyTorch modules do)
EPS = 1e-9
#: the forms ``anti_aliased`` takes in :func:`make_activation` (``None``: plain)
ANTI_ALIASING = ("default", "bigvgan")

_serializable = keras.saving.register_keras_serializable(package="upsamplers")


def _check_3d(layer: str, input_shape: Any) -> int:
    """The channel count of a ``(B, T, C)`` input shape; ``ValueError`` otherwise."""
    if len(input_shape) != 3 or input_shape[-1] is None:
        raise InvalidValue(
            f"{layer} expects inputs of shape (batch, time, channels) with a known channel "
            f"count. Received: input_shape={tuple(input_shape)}")
    return int(input_shape[-1])


def _check_inputs(inputs: Any, channels: int | None) -> None:
    """The input rule of the PyTorch activations, before Keras builds or calls: a real
    floating-point tensor, with the channel count the layer was built on."""
    dtype = getattr(inputs, "dtype", None)
    if dtype is not None:
        dtype = keras.backend.standardize_dtype(dtype)
        if "float" not in dtype:
            raise InvalidType(f"inputs must be a real floating-point tensor; "
                              f"received dtype={dtype}")
    shape = getattr(inputs, "shape", None)
    if channels is not None and shape is not None and len(shape) == 3 \
            and shape[-1] is not None and int(shape[-1]) != channels:
        raise InvalidValue(f"inputs must have {channels} channels (the last dimension of "
                           f"(B, T, C), as built); received shape={tuple(shape)}")


def _safe_sinc(z: Any) -> Any:
    """``sin(z) / z`` with value 1 and slope 0 at ``z = 0``, finite gradients everywhere."""
    small = ops.abs(z) < 1e-4
    safe = ops.where(small, ops.ones_like(z), z)
    return ops.where(small, 1 - z * z / 6, ops.sin(safe) / safe)


class _Snake(keras.layers.Layer):
    """What :class:`Snake1D` and :class:`SnakeBeta1D` share."""

    def __init__(self, alpha: float, trainable: bool, adaa: bool, **kwargs: Any) -> None:
        super().__init__(trainable=check_bool("trainable", trainable), **kwargs)
        self.alpha = check_parameter("alpha", alpha)
        self.adaa = check_bool("adaa", adaa)
        self._channels: int | None = None

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        _check_inputs(inputs, self._channels)
        return super().__call__(inputs, *args, **kwargs)

    def build(self, input_shape: Any) -> None:
        channels = _check_3d(type(self).__name__, input_shape)
        self._channels = channels
        self.log_alpha = self.add_weight(
            shape=(channels,), name="log_alpha",
            initializer=keras.initializers.Constant(math.log(self.alpha)))

    def _divisor_inverse(self, a: Any) -> Any:
        raise NotImplementedError

    def call(self, inputs: Any) -> Any:
        # (C,): broadcast along the last axis, the channels
        a = ops.exp(ops.cast(self.log_alpha, self.compute_dtype))
        c = self._divisor_inverse(a)
        if not self.adaa:
            return inputs + ops.square(ops.sin(a * inputs)) * c
        previous = ops.concatenate([inputs[:, :1], inputs[:, :-1]], axis=1)  # x[-1] = x[0]
        s, d = inputs + previous, inputs - previous
        return 0.5 * s + 0.5 * c * (1 - ops.cos(a * s) * _safe_sinc(a * d))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "adaa": self.adaa}


@_serializable
class Snake1D(_Snake):
    """Snake, ``f(x) = x + sin^2(a x) / a``, ``a = exp(log_alpha)`` per channel
    (the Keras form of :class:`upsamplers.activations.Snake1d`).

    Args:
        alpha: initial ``a`` (default 1).
        trainable: whether ``log_alpha`` learns.
        adaa: first-order antiderivative anti-aliasing (module docstring).

    Shape: ``(B, T, C) -> (B, T, C)``.

    Weights: ``log_alpha`` ``(C,)``.
    """

    def __init__(self, alpha: float = 1.0, trainable: bool = True, adaa: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(alpha, trainable, adaa, **kwargs)

    def _divisor_inverse(self, a: Any) -> Any:
        return 1.0 / (a + EPS)


@_serializable
class SnakeBeta1D(_Snake):
    """SnakeBeta, ``f(x) = x + sin^2(a x) / b`` with ``a = exp(log_alpha)`` (the
    frequency) and ``b = exp(log_beta)`` (the magnitude) learnable per channel
    (the Keras form of :class:`upsamplers.activations.SnakeBeta1d`).

    Args:
        alpha, beta: initial ``a`` and ``b`` (default 1).
        trainable: whether the parameters learn.
        adaa: first-order antiderivative anti-aliasing in closed form, finite in
            float32 when consecutive samples are equal (module docstring).

    Shape: ``(B, T, C) -> (B, T, C)``.

    Weights: ``log_alpha`` and ``log_beta``, ``(C,)`` each.
    """

    def __init__(self, alpha: float = 1.0, beta: float = 1.0, trainable: bool = True,
                 adaa: bool = False, **kwargs: Any) -> None:
        super().__init__(alpha, trainable, adaa, **kwargs)
        self.beta = check_parameter("beta", beta)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self.log_beta = self.add_weight(
            shape=(int(input_shape[-1]),), name="log_beta",
            initializer=keras.initializers.Constant(math.log(self.beta)))

    def _divisor_inverse(self, a: Any) -> Any:
        return 1.0 / (ops.exp(ops.cast(self.log_beta, self.compute_dtype)) + EPS)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta": self.beta}


def _leaky_relu(negative_slope: float = 0.01) -> keras.layers.Layer:
    slope = check_real("negative_slope", negative_slope, low=0.0, high=1.0)
    return keras.layers.LeakyReLU(negative_slope=slope)


_NAMES: dict[str, Callable[..., keras.layers.Layer]] = {
    "relu": lambda: keras.layers.ReLU(),
    "leaky_relu": _leaky_relu,  # slope 0.01 as torch's (Keras' own default is 0.3)
    "tanh": lambda: keras.layers.Activation("tanh"),
    "snake": lambda **o: Snake1D(**o),
    "snakebeta": lambda **o: SnakeBeta1D(**o),
    "snakebeta_adaa": lambda **o: SnakeBeta1D(adaa=True, **o),
}


def activation_names() -> tuple[str, ...]:
    """The names :func:`make_activation` (and :class:`AntiAliasedActivation1D`) accept."""
    return tuple(_NAMES)


def _plain_activation(name: str, **options: Any) -> keras.layers.Layer:
    name = check_choice("activation", name, _NAMES)
    check_activation_options(name, options)  # the PyTorch activations' options
    return _NAMES[name](**options)


def make_activation(name: str, *, anti_aliased: str | None = None, ratio: int = 2,
                    **options: Any) -> keras.layers.Layer:
    """Build a Keras activation by name (the names and options of
    :func:`upsamplers.activations.make_activation`).

    Args:
        name: one of :func:`activation_names`: ``relu``, ``leaky_relu`` (slope 0.01
            unless ``negative_slope=``), ``tanh``, ``snake``, ``snakebeta``,
            ``snakebeta_adaa``.
        anti_aliased: ``None`` (the plain activation), ``"default"``
            (:class:`AntiAliasedActivation1D` with its default filter) or
            ``"bigvgan"`` (:meth:`AntiAliasedActivation1D.bigvgan`).
        ratio: the oversampling of the anti-aliased forms.
        **options: keyword arguments of the activation (``negative_slope``;
            ``alpha``, ``beta``, ``trainable`` of the Snakes).

    Shape: ``(B, T, C) -> (B, T, C)``.
    """
    check_choice("name", name, _NAMES)
    if anti_aliased is not None:
        check_choice("anti_aliased", anti_aliased, ANTI_ALIASING)
    ratio = check_positive_int("ratio", ratio)
    activation = _plain_activation(name, **options)
    if anti_aliased == "default":
        return AntiAliasedActivation1D(activation, ratio)
    if anti_aliased == "bigvgan":
        return AntiAliasedActivation1D.bigvgan(activation, ratio)
    return activation


def _resolve(activation: Any) -> Any:
    """A Keras layer or callable as given; a name built by :func:`make_activation`."""
    if isinstance(activation, str):
        return _plain_activation(activation)
    if not callable(activation):
        raise InvalidType(
            f"activation must be a Keras layer, a callable mapping (B, L, C) -> (B, L, C) or "
            f"one of {', '.join(map(repr, _NAMES))}; received "
            f"activation={type(activation).__name__}")
    return activation


def _windows(signal: Any, blocks: int, step: int, width: int, channels: int) -> Any:
    """``(B, >= (blocks + 1) * step, C)`` -> ``(B, blocks, width, C)``: windows of
    ``width`` samples ``step`` apart (``width <= 2 * step``), from the first
    ``(blocks + 1) * step`` samples."""
    cut = ops.reshape(signal[:, : (blocks + 1) * step],
                      (ops.shape(signal)[0], -1, step, channels))  # (B, blocks + 1, step, C)
    if width <= step:
        return cut[:, :-1, :width]
    return ops.concatenate([cut[:, :-1], cut[:, 1:, : width - step]], axis=2)


def _edge_pad(x: Any, left: int, right: int) -> Any:
    """``x`` ``(B, L, C)`` continued by ``left`` copies of its first sample and
    ``right`` of its last."""
    parts = [x]
    if left:
        parts.insert(0, ops.repeat(x[:, :1], left, axis=1))
    if right:
        parts.append(ops.repeat(x[:, -1:], right, axis=1))
    return ops.concatenate(parts, axis=1) if len(parts) > 1 else x


@_serializable
class AntiAliasedActivation1D(keras.layers.Layer):
    """An elementwise activation applied at ``ratio`` times the rate, between two
    low-pass filters, so that the harmonics it creates above the input's Nyquist
    frequency are removed instead of folding back into the band (the Keras form
    of :class:`upsamplers.activations.AntiAliasedActivation1d`: same filters,
    same ends, same outputs)::

        x (B, T, C) --zero stuffing x r, low-pass h (gain r)--> (B, T r, C)
                    --activation--> --low-pass h, keep every r-th--> (B, T, C)

    Computed as block matrix products (the tables of
    :func:`upsamplers.ops.resample.block_matrices`): time is cut into blocks of
    ``L`` low-rate samples; each block with its halo times one matrix gives its
    ``r L`` high-rate samples in time order (the stuffed zeros never built), the
    activation runs on them, and each high-rate block with its halo times a
    second matrix gives the ``L`` kept outputs (the discarded ones never
    computed); the matrices are banded, and the zeros of their bands are the
    only multiplications beyond the polyphase count (the form the PyTorch module
    runs in eager mode). The ends are continued by the edge samples at both
    rates (the replicate padding of alias-free-torch and BigVGAN).

    The filter ``h``: a windowed sinc of odd length ``taps``, centred, -6 dB at
    ``cutoff`` times the input Nyquist frequency; with ``taps=None`` its length
    comes from ``transition`` (the width of the transition band, a fraction of
    the input Nyquist frequency) and ``attenuation_db`` (Kaiser's estimate; the
    Kaiser window's ``beta`` too). The defaults (53 taps at ``ratio=2``) pass
    sines up to 0.7 of the Nyquist frequency within 0.01 dB and stop everything
    above 1.1 times it by 80 dB. :meth:`bigvgan` builds BigVGAN's filter.

    Args:
        activation: a Keras layer or a callable mapping ``(B, L, C) -> (B, L, C)``
            (it gets the high-rate signal in time order, so one that reads the
            previous sample, as ADAA does, works), or a name of
            :func:`activation_names` (built by :func:`make_activation`).
        ratio: oversampling factor ``r >= 1``.
        taps, cutoff, transition, attenuation_db, window: the low-pass (above);
            ``window`` one of ``"kaiser"``, ``"hann"``, ``"hamming"``, ``"blackman"``.
        preset: ``None``, or ``"bigvgan"`` (what :meth:`bigvgan` passes: the filter
            is BigVGAN's, ``taps`` default 12 and may be even, the other filter
            arguments must keep their defaults).

    Shape: ``(B, T, C) -> (B, T, C)``, ``B`` and ``T`` may be ``None``.

    Weights: the activation's (as a nested layer); the filters are constants.
    """

    _FILTER_DEFAULTS = {"cutoff": 0.9, "transition": 0.4, "attenuation_db": 80.0,
                        "window": "kaiser"}

    def __init__(self, activation: Any, ratio: int = 2, taps: int | None = None,
                 cutoff: float = 0.9, transition: float = 0.4, attenuation_db: float = 80.0,
                 window: str = "kaiser", *, preset: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._channels: int | None = None
        self.activation = _resolve(activation)
        self.ratio = check_positive_int("ratio", ratio)
        filter_args = {"cutoff": cutoff, "transition": transition,
                       "attenuation_db": attenuation_db, "window": window}
        if preset is not None:
            check_choice("preset", preset, ("bigvgan",))
            self._design_bigvgan(taps, filter_args)
        else:
            self._design(taps, filter_args)
        self.preset = preset

    def _design(self, taps: int | None, args: dict[str, Any]) -> None:
        r = self.ratio
        cutoff = check_real("cutoff", args["cutoff"], low=0.0, high=float(r), low_open=True)
        transition = check_real("transition", args["transition"], low=0.0, low_open=True)
        attenuation_db = check_real("attenuation_db", args["attenuation_db"], low=21.0,
                                    high=300.0)
        window = check_choice("window", args["window"], WINDOWS)
        received = f"ratio={r}, taps={taps}"
        if taps is None:
            taps = default_taps(r, transition, attenuation_db)
            received = (f"ratio={r}, taps=None (estimated {taps} from transition="
                        f"{transition!r}, attenuation_db={attenuation_db!r})")
        taps = check_positive_int("taps", taps)
        if taps % 2 == 0:
            raise InvalidValue(f"taps must be odd (a centred filter; AntiAliasedActivation1D."
                               f"bigvgan builds the even-length one); received taps={taps}")
        check_table_size(r, taps, taps // 2, taps // 2, received)
        h = window_sinc(taps, 0.5 * cutoff / r, window=window, attenuation_db=attenuation_db)
        half = taps // 2
        self._set_filters(resample_tables(r, h, half, h, half), h, half)
        self.taps = taps
        self.filter_config = {"cutoff": cutoff, "transition": transition,
                              "attenuation_db": attenuation_db, "window": window}

    def _design_bigvgan(self, taps: int | None, args: dict[str, Any]) -> None:
        changed = [name for name, value in args.items() if value != self._FILTER_DEFAULTS[name]]
        if changed:
            raise InvalidValue(f"preset='bigvgan' sets the filter; leave {', '.join(changed)} "
                               f"at the default; received "
                               + ", ".join(f"{n}={args[n]!r}" for n in changed))
        r = check_positive_int("ratio", self.ratio, minimum=2)
        taps = check_positive_int("taps", 12 if taps is None else taps, minimum=2)
        delay = taps // 2 - int(taps % 2 == 0)
        check_table_size(r, taps, (taps - r) // 2, delay, f"ratio={r}, taps={taps} (bigvgan)")
        h = alias_free_kaiser_sinc(0.5 / r, 0.6 / r, taps)
        self._set_filters(resample_tables(r, h, (taps - r) // 2, h, delay), h, delay)
        self.taps = taps
        self.filter_config = {}

    def _set_filters(self, tables: Any, down_filter: np.ndarray, down_delay: int) -> None:
        plan = block_matrices(tables, down_filter, down_delay)
        self.block, self.up_pad, self.down_delay = plan.block, plan.up_pad, plan.down_delay
        self._up_matrix, self._down_matrix = plan.up, plan.down  # float64 numpy

    @classmethod
    def bigvgan(cls, activation: Any, ratio: int = 2, taps: int = 12,
                **kwargs: Any) -> AntiAliasedActivation1D:
        """BigVGAN's anti-aliased activation (alias-free-torch's ``Activation1d``
        with ``up_ratio = down_ratio = ratio >= 2``, ``up_kernel_size =
        down_kernel_size = taps``): the Kaiser-windowed sinc of
        :func:`~upsamplers.ops.resample_design.alias_free_kaiser_sinc`, cut-off
        ``0.5 / ratio`` and half-width ``0.6 / ratio`` cycles per high-rate
        sample. Same outputs as alias-free-torch's (to float rounding), ends included.

        Shape: ``(B, T, C) -> (B, T, C)``.
        """
        return cls(activation, ratio, taps, preset="bigvgan", **kwargs)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # the channels this layer, or the activation inside it, was built on
        _check_inputs(inputs, self._channels if self._channels is not None
                      else getattr(self.activation, "_channels", None))
        return super().__call__(inputs, *args, **kwargs)

    def build(self, input_shape: Any) -> None:
        channels = _check_3d("AntiAliasedActivation1D", input_shape)
        self._channels = channels
        if isinstance(self.activation, keras.layers.Layer) and not self.activation.built:
            self.activation.build((input_shape[0], None, channels))

    def call(self, inputs: Any) -> Any:
        r, block, channels = self.ratio, self.block, inputs.shape[-1]
        time = ops.shape(inputs)[1]
        blocks = (time + block - 1) // block
        up = ops.convert_to_tensor(self._up_matrix, dtype=self.compute_dtype)
        down = ops.convert_to_tensor(self._down_matrix, dtype=self.compute_dtype)
        # low rate, continued by the edge samples; blocks of L with a halo of P each side
        x = _edge_pad(inputs, self.up_pad, 2 * block)
        windows = _windows(x, blocks, block, up.shape[0], channels)  # (B, nb, L + 2P, C)
        high = ops.einsum("bnwc,wk->bnkc", windows, up)  # (B, nb, r L, C): time order
        high = self.activation(ops.reshape(high, (ops.shape(inputs)[0], -1, channels)))
        # high rate: the first r T samples, continued by their edge samples
        high = _edge_pad(high[:, : r * time], self.down_delay, 2 * r * block)
        windows = _windows(high, blocks, r * block, down.shape[0], channels)  # (B, nb, W, C)
        out = ops.einsum("bnwc,wl->bnlc", windows, down)  # (B, nb, L, C)
        return ops.reshape(out, (ops.shape(inputs)[0], -1, channels))[:, :time]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(),
                  "activation": keras.saving.serialize_keras_object(self.activation),
                  "ratio": self.ratio, "taps": self.taps, **self.filter_config}
        if self.preset is not None:
            config["preset"] = self.preset
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AntiAliasedActivation1D:
        config = dict(config)
        activation = keras.saving.deserialize_keras_object(config.pop("activation"))
        return cls(activation, **config)
