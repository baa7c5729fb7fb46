"""Keras 3 upsampling layers, ``(B, T, C)`` tensors, ``keras.ops`` only.

The periodic shuffle here uses the convention of the classic Keras
``SubPixel1D`` (TensorFlow ``batch_to_space``)::

    out[b, t * r + i, c] = x[b, t, i * C_out + c]

which is ``order="phase"`` of the PyTorch core (:func:`upsamplers.periodic_shuffle`).
In channels-last layout this interleave is a plain reshape:
``(B, T, r * C_out) -> (B, T, r, C_out) -> (B, T * r, C_out)``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .._checks import InvalidType, InvalidValue, check_choice, check_positive_int
from ..layers.base import MAX_WEIGHTS, check_factor_limit
from ..layers.interpolation import check_table_size
from ..layers.istft import check_istft_options
from ..layers.resample import check_resample_filter, check_resample_tables
from ..ops.istft import ISTFT_WINDOWS, istft_tables
from ..ops.lowpass import (
    RESAMPLE_IMPLS,
    cheaper_form,
    check_filter_options,
    design_resample_filter,
    form_macs,
)
from . import _istft, _resample
from ._lowrate import interp_conv_lowrate, interp_fold, transpose_fold, transposed_as_subpixel

KINDS = ("subpixel", "transposed", "nearest", "linear", "resample", "istft")
INTERP_IMPLS = ("auto", "lowrate", "composition")
TRANSPOSED_IMPLS = ("auto", "subpixel", "native")
# Backends on which "auto" computes Conv1DTranspose in its subpixel form: those whose
# own transposed convolution is slower than it (forward + backward, CPU, B=8 C=64
# T=4096 x4, time / SubPixelConv1D's: JAX 12.5x native, 0.92x subpixel form;
# TensorFlow 0.91-1.84x native, 0.98-1.30x subpixel form, which does the arithmetic
# of SubPixelConv1D; torch 1.14x and 1.11x, so it keeps its own).
SUBPIXEL_TRANSPOSE_BACKENDS = ("jax", "tensorflow")

# Backends on which the linear low-rate form runs one convolution per run of
# phases with the same start (``fold.width`` taps each, joined along the channels)
# instead of one convolution with all ``E`` taps (forward + backward, CPU, B=8 C=64
# T=4096 x4 linear, K=9: 4 taps against 5, time / SubPixelConv1D's: JAX 1.04-1.10x
# grouped, 1.28-1.34x one convolution; TensorFlow 1.65-1.81x grouped, 1.44-1.64x one
# convolution: its convolutions of fewer channels and the join cost more than the tap
# saved; torch 1.78x grouped, 1.73x one convolution, load average 1.1-1.5).
GROUPED_BACKENDS = ("jax",)

_serializable = keras.saving.register_keras_serializable(package="upsamplers")


def _shape_error(layer: str, input_shape: Any) -> ValueError:
    return ValueError(
        f"{layer} expects inputs of shape (batch, time, channels) (3 dimensions). "
        f"Received: input_shape={tuple(input_shape)}"
    )


def check_inputs(layer: keras.layers.Layer, inputs: Any) -> None:
    """What the PyTorch layers' ``_check_input`` checks, in one line naming the received
    value, before Keras runs anything (an error raised in ``call`` comes back wrapped
    in several lines; a backend's own error names neither): a real floating-point
    input (an integer one was a backend traceback or computed silently; a complex one
    was cast to real, dropping its imaginary part), and once the layer is built, the
    channel count it was built for."""
    shape = getattr(inputs, "shape", None)
    dtype = getattr(inputs, "dtype", None)
    if shape is None or dtype is None:
        return  # Keras converts other inputs itself
    name = type(layer).__name__
    dtype = keras.backend.standardize_dtype(dtype)
    if not keras.backend.is_float_dtype(dtype):
        raise InvalidType(f"{name} takes real floating-point inputs (cast them, e.g. "
                          f"keras.ops.cast(x, 'float32')); received dtype={dtype}")
    channels = getattr(layer, "_input_channels", None)
    if channels is not None and len(shape) == 3 and shape[-1] is not None \
            and int(shape[-1]) != channels:
        raise InvalidValue(f"{name} was built for {channels} input channels (axis -1 of "
                           f"(batch, time, channels)); received input_shape={tuple(shape)}")


def check_weights(layer: keras.layers.Layer, count: int, what: str) -> None:
    """Refuse more than :data:`~upsamplers.layers.base.MAX_WEIGHTS` weights before
    they are allocated, as the PyTorch layers do."""
    if count > MAX_WEIGHTS:
        raise InvalidValue(f"{type(layer).__name__}: {what} give {count:,} weights, more "
                           f"than the limit of {MAX_WEIGHTS:,} (upsamplers.layers.base."
                           f"MAX_WEIGHTS); use fewer channels or taps")


class _CheckedInputs:
    """Mixin: :func:`check_inputs` on every call, before Keras builds or calls."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            check_inputs(self, args[0])  # type: ignore[arg-type]
        return super().__call__(*args, **kwargs)  # type: ignore[misc]


@_serializable
class SubPixel1D(_CheckedInputs, keras.layers.Layer):
    """Periodic shuffle of channels into time (the article's ``SubPixel1D``).

    ``out[b, t * factor + i, c] = x[b, t, i * C_out + c]``, the semantics of
    ``tf.batch_to_space`` applied to the channels: moves ``factor`` groups of
    ``C_out`` channels into time. The layer has no weights; put a convolution to
    ``C_out * factor`` channels before it (or use :class:`SubPixelConv1D`).

    Args:
        factor: upsampling factor ``r >= 1``.

    Shape:
        ``(B, T, C_out * factor) -> (B, T * factor, C_out)``; ``B`` and ``T`` may be
        ``None``.

    Raises:
        ValueError: at build time when the channel count is not divisible by
            ``factor`` or the input is not 3-D.
    """

    def __init__(self, factor: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = check_factor_limit(check_positive_int("factor", factor))

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3:
            raise _shape_error("SubPixel1D", input_shape)
        channels = input_shape[-1]
        if channels is None or channels % self.factor != 0:
            raise ValueError(
                "SubPixel1D needs a known channel count divisible by factor. "
                f"Received: factor={self.factor}, input_shape={tuple(input_shape)}"
            )

    def call(self, inputs: Any) -> Any:
        out_channels = inputs.shape[-1] // self.factor
        batch = ops.shape(inputs)[0]
        # (B, T, r * C) -> (B, T * r, C): row-major, so channel i * C + c of step t
        # lands at step t * r + i, channel c
        return ops.reshape(inputs, (batch, -1, out_channels))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        batch, time, channels = input_shape
        return (batch, None if time is None else time * self.factor,
                None if channels is None else channels // self.factor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@_serializable
class ICNR(keras.initializers.Initializer):
    """ICNR initialiser (Aitken et al. 2017) for a convolution followed by
    :class:`SubPixel1D`: every phase starts with the same kernel, so the pair
    starts as nearest-neighbour upsampling of one convolution and has no tonal
    artifacts.

    For a ``Conv1D`` kernel of shape ``(K, C_in, C_out * factor)`` it draws a base
    kernel ``(K, C_in, C_out)`` with ``initializer`` and tiles it along the
    channels: channel ``i * C_out + c`` gets base channel ``c``, matching
    :class:`SubPixel1D`'s order.

    Args:
        factor: the upsampling factor of the following :class:`SubPixel1D`.
        initializer: the initialiser of the base kernel (default ``"glorot_uniform"``).
    """

    def __init__(self, factor: int, initializer: Any = "glorot_uniform") -> None:
        self.factor = check_positive_int("factor", factor)
        self.initializer = keras.initializers.get(initializer)

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        *taps, channels = shape
        if channels % self.factor != 0:
            raise ValueError(
                "ICNR needs the kernel's output channels to be divisible by factor. "
                f"Received: factor={self.factor}, shape={tuple(shape)}"
            )
        base = self.initializer((*taps, channels // self.factor), dtype=dtype)
        return ops.tile(base, (1,) * len(taps) + (self.factor,))

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor,
                "initializer": keras.initializers.serialize(self.initializer)}


class _TwoStageUpsampler(_CheckedInputs, keras.layers.Layer):
    """Shared part of the upsamplers made of two sub-layers applied in turn
    (``_stages``): argument checks, build, call, output shape and config."""

    def __init__(self, filters: int, factor: int, kernel_size: int, *, use_bias: bool,
                 kernel_initializer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.factor = check_factor_limit(check_positive_int("factor", factor))
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    @property
    def _stages(self) -> tuple[keras.layers.Layer, keras.layers.Layer]:
        raise NotImplementedError

    def _weight_count(self, in_channels: int) -> int:
        return self.kernel_size * in_channels * self.filters

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise _shape_error(type(self).__name__, input_shape)
        check_weights(self, self._weight_count(int(input_shape[-1])),
                      f"{int(input_shape[-1])} input channels, filters={self.filters}, "
                      f"factor={self.factor}, kernel_size={self.kernel_size}")
        self._input_channels = int(input_shape[-1])
        first, second = self._stages
        first.build(input_shape)
        second.build(first.compute_output_shape(input_shape))

    def call(self, inputs: Any) -> Any:
        first, second = self._stages
        return second(first(inputs))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        batch, time, _ = input_shape
        return (batch, None if time is None else time * self.factor, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "factor": self.factor,
            "kernel_size": self.kernel_size,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@_serializable
class SubPixelConv1D(_TwoStageUpsampler):
    """Subpixel convolution: ``Conv1D`` to ``filters * factor`` channels ("same"
    padding), then :class:`SubPixel1D`.

    Args:
        filters: output channels ``C_out``.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the low-rate convolution (default 3).
        use_bias: learnable bias (default ``False``: offsets become tones).
        kernel_initializer: default :class:`ICNR` (no tonal artifacts at
            initialisation); any Keras initialiser otherwise.
        bias_initializer: default ``"zeros"``.

    Shape:
        ``(B, T, C_in) -> (B, T * factor, filters)``

    Weights:
        ``conv.kernel`` of shape ``(kernel_size, C_in, filters * factor)``; output
        channel ``c`` at phase ``i`` is computed by kernel channel ``i * filters + c``.
    """

    def __init__(
        self,
        filters: int,
        factor: int,
        kernel_size: int = 3,
        *,
        use_bias: bool = False,
        kernel_initializer: Any = None,
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        if kernel_initializer is None:
            kernel_initializer = ICNR(check_positive_int("factor", factor))
        super().__init__(filters, factor, kernel_size, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, **kwargs)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.conv = keras.layers.Conv1D(
            self.filters * self.factor, self.kernel_size, padding="same",
            use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer, name="conv", dtype=self.dtype_policy,
        )
        self.shuffle = SubPixel1D(self.factor, name="shuffle", dtype=self.dtype_policy)

    def _weight_count(self, in_channels: int) -> int:
        return self.kernel_size * in_channels * self.filters * self.factor

    @property
    def _stages(self) -> tuple[keras.layers.Layer, keras.layers.Layer]:
        return self.conv, self.shuffle  # (B, T, C_in) -> (B, T, C_out * r) -> (B, T * r, C_out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


@_serializable
class LinearUpSampling1D(_CheckedInputs, keras.layers.Layer):
    """Linear interpolation by ``factor`` along time, half-sample aligned (like
    ``F.interpolate(mode="linear", align_corners=False)`` and TensorFlow's
    ``resize(method="bilinear")``): output sample ``n`` sits at input position
    ``(n + 0.5) / factor - 0.5``, and the edge samples are repeated beyond the ends.

    Computed in polyphase form: phase ``i`` of step ``t`` is
    ``x[t] + w_i * (x[t +- 1] - x[t])`` with ``w_i = |(i + 0.5) / factor - 0.5|``.

    Shape:
        ``(B, T, C) -> (B, T * factor, C)``
    """

    def __init__(self, factor: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = check_factor_limit(check_positive_int("factor", factor))

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3:
            raise _shape_error("LinearUpSampling1D", input_shape)

    def call(self, inputs: Any) -> Any:
        r = self.factor
        if r == 1:
            return inputs
        channels = inputs.shape[-1]
        batch = ops.shape(inputs)[0]
        # edge samples repeated: previous and next neighbour of every step
        previous = ops.concatenate([inputs[:, :1], inputs[:, :-1]], axis=1)
        following = ops.concatenate([inputs[:, 1:], inputs[:, -1:]], axis=1)
        phases = []
        for i in range(r):
            offset = (i + 0.5) / r - 0.5  # in (-0.5, 0.5)
            neighbour = previous if offset < 0 else following
            phases.append(inputs + abs(offset) * (neighbour - inputs))
        stacked = ops.stack(phases, axis=2)  # (B, T, r, C)
        return ops.reshape(stacked, (batch, -1, channels))  # (B, T * r, C)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        batch, time, channels = input_shape
        return (batch, None if time is None else time * self.factor, channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@_serializable
class InterpConv1D(_TwoStageUpsampler):
    """Interpolation by ``factor`` (``"nearest"``: ``UpSampling1D``; ``"linear"``:
    :class:`LinearUpSampling1D`), then a ``Conv1D`` with "same" padding at the
    high rate: the function. How it is computed (``impl``):

    * ``"lowrate"``: the interpolation folded into the kernel (phase kernels
      ``(E, C_in, r * C_out)``, a fixed linear map of ``conv.kernel`` applied with
      ``keras.ops.einsum`` on every call, so gradients reach ``conv.kernel``), one
      low-rate convolution and the periodic shuffle; the high-rate signal is never
      built. Exact everywhere, ends included: ``x`` is padded with zeros; nearest
      needs no correction (it gives the zeros the composition pads with); linear
      subtracts, in the first and last low-rate columns, what the folded kernels
      then compute in excess of the composition (``x[0]`` and ``x[T - 1]`` times
      fixed sums of kernel taps). On the backends in ``GROUPED_BACKENDS`` (JAX) the
      phases are computed in runs that share the first tap where their kernels
      can be non-zero, with only the taps that can be (linear x4, default
      kernel: 4 taps per phase instead of 5).
    * ``"composition"``: the two sub-layers as written (``upsample``, then ``conv``).
    * ``"auto"`` (default): ``"lowrate"`` when its phase kernels have fewer taps
      than ``kernel_size`` (its multiply-adds are ``E / kernel_size`` of the
      composition's convolution: with the default kernel, ``3 / (2 r + 1)`` for
      nearest at ``r >= 2`` and ``5 / (2 r + 1)`` for linear at ``r >= 3``), the
      composition otherwise (factor 1; linear at factor 2, whose 5 phase taps
      equal the default kernel's). The same function either way (to float rounding).

    Args:
        filters: output channels.
        factor: upsampling factor ``r >= 1``.
        mode: ``"nearest"`` or ``"linear"``.
        kernel_size: taps of the high-rate convolution (default ``2 * factor + 1``).
        use_bias: learnable bias (default ``False``).
        impl: ``"auto"``, ``"lowrate"`` or ``"composition"``.

    Shape:
        ``(B, T, C_in) -> (B, T * factor, filters)``

    Weights:
        ``conv.kernel`` ``(kernel_size, C_in, filters)`` (and ``conv.bias``), the
        high-rate ``Conv1D``'s, whatever ``impl``.
    """

    def __init__(
        self,
        filters: int,
        factor: int,
        mode: str = "nearest",
        kernel_size: int | None = None,
        *,
        use_bias: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        impl: str = "auto",
        **kwargs: Any,
    ) -> None:
        if kernel_size is None:
            kernel_size = 2 * check_positive_int("factor", factor) + 1
        super().__init__(filters, factor, kernel_size, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, **kwargs)
        self.mode = check_choice("mode", mode, ("nearest", "linear"))
        self.impl = check_choice("impl", impl, INTERP_IMPLS)
        # the fold tables of the PyTorch layer, bounded the same way before they are built
        check_table_size(self.factor, self.kernel_size, 3, mode=self.mode)
        if self.mode == "nearest":
            self.upsample = keras.layers.UpSampling1D(self.factor, name="upsample",
                                                      dtype=self.dtype_policy)
        else:
            self.upsample = LinearUpSampling1D(self.factor, name="upsample",
                                               dtype=self.dtype_policy)
        self.conv = keras.layers.Conv1D(
            self.filters, self.kernel_size, padding="same", use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer, name="conv", dtype=self.dtype_policy,
        )
        self.fold = interp_fold(self.mode, self.factor, self.kernel_size)
        self.lowrate = self.impl == "lowrate" or (
            self.impl == "auto" and self.fold.size < self.kernel_size)
        self.grouped = keras.backend.backend() in GROUPED_BACKENDS

    @property
    def _stages(self) -> tuple[keras.layers.Layer, keras.layers.Layer]:
        return self.upsample, self.conv  # (B, T, C_in) -> (B, T * r, C_in) -> (B, T * r, C_out)

    def call(self, inputs: Any) -> Any:
        if not self.lowrate:
            return super().call(inputs)
        kernel = ops.cast(self.conv.kernel, self.compute_dtype)
        bias = ops.cast(self.conv.bias, self.compute_dtype) if self.use_bias else None
        return interp_conv_lowrate(ops.cast(inputs, self.compute_dtype), kernel, bias,
                                   self.fold, grouped=self.grouped)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "impl": self.impl}


@_serializable
class TransposedConv1D(_CheckedInputs, keras.layers.Conv1DTranspose):
    """``keras.layers.Conv1DTranspose`` (same arguments, weights and function),
    computed in its exact subpixel form when it upsamples (by default on JAX and
    TensorFlow, see ``impl``): with ``strides=r``,
    "same" padding, no dilation or output padding, channels last, output phase
    ``i`` of step ``q`` is ``sum_d x[q - d] kernel[d * r + i + p]``
    (``p = max(K - r, 0) // 2``), i.e. one low-rate convolution to ``r * filters``
    channels (its kernel a fixed rearrangement of ``kernel``) and the periodic
    shuffle.

    Args:
        impl: ``"auto"`` (default): the subpixel form on the backends in
            ``SUBPIXEL_TRANSPOSE_BACKENDS`` (JAX and TensorFlow, where the backend's
            own transposed convolution is slower: 20.9x ``SubPixelConv1D`` on JAX),
            ``"native"`` on the others (torch); ``"subpixel"``;
            ``"native"`` (``ops.conv_transpose``). Other configurations always run
            natively.
        **kwargs: those of ``Conv1DTranspose``.

    Shape:
        ``(B, T, C_in) -> (B, T * strides, filters)`` (with "same" padding).
    """

    def __init__(self, *args: Any, impl: str = "auto", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.impl = check_choice("impl", impl, TRANSPOSED_IMPLS)
        factor, size = self.strides[0], self.kernel_size[0]
        # the (K, E, r) table of transpose_fold is within the fold tables' bound
        check_table_size(check_positive_int("strides", factor), size, 1, strides=factor)
        self.subpixel = (
            self.padding == "same" and self.dilation_rate[0] == 1
            and self.output_padding is None and self.data_format == "channels_last"
            and (self.impl == "subpixel" or (
                self.impl == "auto"
                and keras.backend.backend() in SUBPIXEL_TRANSPOSE_BACKENDS)))
        self._fold = transpose_fold(factor, size)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise _shape_error(type(self).__name__, input_shape)
        channels = int(input_shape[-1])
        check_weights(self, self.kernel_size[0] * channels * self.filters,
                      f"{channels} input channels, filters={self.filters}, "
                      f"kernel_size={self.kernel_size[0]}")
        super().build(input_shape)
        self._input_channels = channels
        self.input_spec = None  # the channel count is checked by check_inputs, in one line

    def call(self, inputs: Any) -> Any:
        if not self.subpixel:
            return super().call(inputs)
        outputs = transposed_as_subpixel(inputs, ops.cast(self.kernel, self.compute_dtype),
                                         *self._fold)
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return outputs if self.activation is None else self.activation(outputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "impl": self.impl}


@_serializable
class ResampleConv1D(_CheckedInputs, keras.layers.Layer):
    """The resampling upsampler, :class:`upsamplers.ResampleUpsample1d` in Keras 3
    (same arguments, same function, same filter): a learnable ``kernel_size``-tap
    convolution at the *input* rate, then a fixed Kaiser-windowed sinc low-pass by
    ``factor`` with unit pass-band gain, on the input extended with zeros past both
    ends; output step ``t * factor`` is aligned with input step ``t``::

        z[t] = sum_k kernel[k] x[t + k - (K - 1) // 2]        (every t, x zero outside)
        y[t r + j] = bias + sum_d A[j, d] z[t + o + d]         (0 <= t < T)

    ``A``: the low-pass as ``r`` phases (:func:`~upsamplers.ops.sinc_phases`, offset
    ``o``), designed by :func:`upsamplers.layers.resample.design_resample_filter`
    (defaults: -6 dB at 0.9 of the input Nyquist, flat to 0.75, images 90 dB down
    from 1.05). ``impl``: ``"mix_first"`` (the convolution at the low rate, then the
    low-pass on ``filters`` channels as one depthwise convolution and an interleave),
    ``"filter_first"`` (the low-pass on the input channels, then the kernel dilated
    by ``factor``), ``"auto"`` (default): the one with fewer multiply-adds
    (:func:`~upsamplers.layers.resample.form_macs`), chosen when built.

    Args:
        filters: output channels ``C_out``.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the learnable convolution at the input rate (default 3).
        use_bias: learnable bias, added after the low-pass (default ``False``).
        cutoff, transition, attenuation: the low-pass (fractions of the input
            Nyquist frequency; dB), as for the PyTorch layer.
        impl: ``"auto"``, ``"mix_first"`` or ``"filter_first"``.

    Shape:
        ``(B, T, C_in) -> (B, T * factor, filters)``; ``B`` and ``T`` may be ``None``.

    Weights:
        ``kernel`` ``(kernel_size, C_in, filters)`` (the PyTorch layer's
        ``conv.weight`` transposed ``(2, 1, 0)``) and ``bias`` ``(filters,)``.
    """

    def __init__(
        self,
        filters: int,
        factor: int,
        kernel_size: int = 3,
        *,
        use_bias: bool = False,
        cutoff: float = 0.9,
        transition: float = 0.3,
        attenuation: float = 90.0,
        impl: str = "auto",
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.factor = check_factor_limit(check_positive_int("factor", factor))
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.use_bias = bool(use_bias)
        self.cutoff, self.transition, self.attenuation = check_filter_options(
            cutoff, transition, attenuation)
        self.impl = check_choice("impl", impl, RESAMPLE_IMPLS)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        # the PyTorch layer's bounds, before the design runs
        self._half_estimate = check_resample_filter(self.factor, self.cutoff,
                                                    self.transition, self.attenuation)
        _, self.phases = design_resample_filter(self.factor, self.cutoff, self.transition,
                                                self.attenuation)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise _shape_error("ResampleConv1D", input_shape)
        c_in = int(input_shape[-1])
        check_weights(self, self.kernel_size * c_in * self.filters,
                      f"{c_in} input channels, filters={self.filters}, "
                      f"kernel_size={self.kernel_size}")
        depth = int(self.phases.taps.shape[1])
        macs = form_macs(c_in, self.filters, self.factor, self.kernel_size, depth)
        self.form = cheaper_form(macs) if self.impl == "auto" else self.impl
        check_resample_tables(c_in, self.filters, self.factor, self.kernel_size,
                              self._half_estimate, self.form, depth)
        self._input_channels = c_in
        self.kernel = self.add_weight(name="kernel",
                                      shape=(self.kernel_size, c_in, self.filters),
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,),
                                     initializer=self.bias_initializer)
                     if self.use_bias else None)
        channels = self.filters if self.form == "mix_first" else c_in
        self._table = _resample.depthwise_table(self.phases, channels)

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        kernel = ops.cast(self.kernel, self.compute_dtype)
        table = ops.convert_to_tensor(self._table, dtype=self.compute_dtype)
        run = _resample.mix_first if self.form == "mix_first" else _resample.filter_first
        y = run(x, kernel, table, self.phases)
        return y if self.bias is None else y + ops.cast(self.bias, self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        batch, time, _ = input_shape
        return (batch, None if time is None else time * self.factor, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "factor": self.factor,
                "kernel_size": self.kernel_size, "use_bias": self.use_bias,
                "cutoff": self.cutoff, "transition": self.transition,
                "attenuation": self.attenuation, "impl": self.impl,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


@_serializable
class ISTFTConv1D(_CheckedInputs, keras.layers.Layer):
    """The inverse-STFT head, :class:`upsamplers.ISTFTUpsample1d` in Keras 3 (same
    arguments, same function, same tables): a learnable ``kernel_size``-tap convolution
    at the frame rate to ``n_fft`` real spectral coefficients per output channel, then
    the windowed inverse real DFT overlap-added with hop ``factor``, divided by the
    window-square envelope (``normalize``), on the input zero-extended past both ends;
    frame ``t`` is centred on output step ``t * factor``. See the PyTorch layer for the
    coefficient layout and the overlap-add condition.

    Args:
        filters: output channels ``C_out``.
        factor: hop and upsampling factor ``r >= 1``.
        kernel_size: taps of the convolution at the frame rate (default 3).
        use_bias: learnable offset per output channel after the overlap-add.
        n_fft, window, normalize: as for the PyTorch layer (``n_fft=None``: ``4 r``).

    Shape:
        ``(B, T, C_in) -> (B, T * factor, filters)``; ``B`` and ``T`` may be ``None``.

    Weights:
        ``kernel`` ``(kernel_size, C_in, filters * n_fft)`` (the PyTorch layer's
        ``conv.weight`` transposed ``(2, 1, 0)``) and ``bias`` ``(filters,)``.
    """

    def __init__(self, filters: int, factor: int, kernel_size: int = 3, *,
                 use_bias: bool = False, n_fft: int | None = None, window: str = "hann",
                 normalize: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.n_fft = check_istft_options(factor, n_fft)
        self.factor = int(factor)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.use_bias = bool(use_bias)
        self.window = check_choice("window", window, ISTFT_WINDOWS)
        if not isinstance(normalize, bool):
            raise InvalidType(f"normalize must be True or False; received normalize={normalize!r}")
        self.normalize = normalize
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.tables = istft_tables(self.n_fft, self.factor, self.window)
        self._synthesis = _istft.synthesis_kernel(self.tables, self.normalize)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise _shape_error("ISTFTConv1D", input_shape)
        c_in = int(input_shape[-1])
        check_weights(self, self.kernel_size * c_in * self.filters * self.n_fft,
                      f"{c_in} input channels, filters={self.filters}, n_fft={self.n_fft}, "
                      f"kernel_size={self.kernel_size}")
        self._input_channels = c_in
        self.kernel = self.add_weight(name="kernel", initializer=self.kernel_initializer,
                                      shape=(self.kernel_size, c_in, self.filters * self.n_fft))
        self.bias = (self.add_weight(name="bias", shape=(self.filters,),
                                     initializer=self.bias_initializer)
                     if self.use_bias else None)

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        synthesis = ops.convert_to_tensor(self._synthesis, dtype=self.compute_dtype)
        y = _istft.istft_head(x, ops.cast(self.kernel, self.compute_dtype), synthesis,
                              self.tables)
        return y if self.bias is None else y + ops.cast(self.bias, self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        batch, time, _ = input_shape
        return (batch, None if time is None else time * self.factor, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "factor": self.factor,
                "kernel_size": self.kernel_size, "use_bias": self.use_bias,
                "n_fft": self.n_fft, "window": self.window, "normalize": self.normalize,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


def make_upsampler(
    kind: str,
    filters: int,
    factor: int,
    *,
    kernel_size: int | None = None,
    use_bias: bool = False,
    **kwargs: Any,
) -> keras.layers.Layer:
    """Build a Keras upsampler by name.

    * ``"subpixel"``: :class:`SubPixelConv1D` (kernel 3 by default, ICNR init);
    * ``"transposed"``: :class:`TransposedConv1D` (``Conv1DTranspose`` computed in
      its subpixel form) with stride ``factor``, "same" padding, kernel
      ``2 * factor`` by default;
    * ``"nearest"`` / ``"linear"``: :class:`InterpConv1D` (kernel ``2 * factor + 1``);
    * ``"resample"``: :class:`ResampleConv1D` (kernel 3 at the input rate, then the
      fixed low-pass);
    * ``"istft"``: :class:`ISTFTConv1D` (kernel 3 at the frame rate to ``n_fft = 4 *
      factor`` spectral coefficients per channel, then the inverse STFT with hop
      ``factor``).

    Shape:
        every one maps ``(B, T, C_in) -> (B, T * factor, filters)``.

    Further keyword arguments go to the layer (``name``, initialisers, ...).
    """
    kind = check_choice("kind", kind, KINDS)
    filters = check_positive_int("filters", filters)
    factor = check_positive_int("factor", factor)
    if kernel_size is not None:
        kernel_size = check_positive_int("kernel_size", kernel_size)
    if kind == "subpixel":
        return SubPixelConv1D(filters, factor, kernel_size or 3, use_bias=use_bias, **kwargs)
    if kind == "transposed":
        return TransposedConv1D(filters, kernel_size or 2 * factor, strides=factor,
                                padding="same", use_bias=use_bias, **kwargs)
    if kind == "resample":
        return ResampleConv1D(filters, factor, kernel_size or 3, use_bias=use_bias, **kwargs)
    if kind == "istft":
        return ISTFTConv1D(filters, factor, kernel_size or 3, use_bias=use_bias, **kwargs)
    return InterpConv1D(filters, factor, kind, kernel_size, use_bias=use_bias, **kwargs)
