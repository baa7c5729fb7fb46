"""Upsampling layers for PyTorch, tensors ``(B, C, T)``.

Every layer maps ``(B, C_in, T)`` to exactly ``(B, C_out, T * factor)`` for
every ``T >= 1``. Upsamplers have no bias by default: a bias (like a ReLU) adds
an offset, and the upsampler's replicas of that offset are tones at multiples
of ``sample_rate / factor``.

The families:

* :class:`SubPixel1d`: low-rate convolution to ``C_out * factor`` channels,
  then :func:`~upsamplers.shuffle.periodic_shuffle`;
* :class:`TransposedUpsample1d`: transposed convolution with stride ``factor``,
  cropped to ``T * factor`` samples;
* :class:`InterpUpsample1d`: nearest or linear interpolation by ``factor``,
  then a convolution at the high rate.

:func:`make_upsampler` builds any of them by name.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_bool, check_choice, check_positive_int, check_signal
from .shuffle import ORDERS, Order, periodic_shuffle


class ArtifactWarning(UserWarning):
    """A layer was configured in a way known to cause audible artifacts."""


def same_padding(kernel_size: int) -> tuple[int, int]:
    """Zero padding ``(left, right)`` that keeps a stride-1 convolution's length.

    ``left = (kernel_size - 1) // 2`` and ``right = kernel_size - 1 - left``: for an
    even kernel the extra sample goes on the right, as in PyTorch's ``padding="same"``.
    """
    left = (kernel_size - 1) // 2
    return left, kernel_size - 1 - left


def conv1d_same(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Stride-1 convolution with zero padding :func:`same_padding`.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T)`` with ``weight`` of shape ``(C_out, C_in, K)``.
    """
    left, right = same_padding(weight.shape[-1])
    if left == right:
        return F.conv1d(x, weight, bias, padding=left)
    return F.conv1d(F.pad(x, (left, right)), weight, bias)


class _Upsampler(nn.Module):
    """Shared bookkeeping: channels, factor, input checks."""

    in_channels: int
    out_channels: int
    factor: int

    def __init__(self, in_channels: int, out_channels: int, factor: int) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.factor = check_positive_int("factor", factor)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        return check_signal("x", x, channels=self.in_channels)

    def __repr__(self) -> str:
        # one line: the wrapped convolution is an implementation detail
        return f"{type(self).__name__}({self.extra_repr()})"

    def output_length(self, length: int) -> int:
        """Number of output samples for ``length`` input samples: ``length * factor``."""
        return check_positive_int("length", length) * self.factor


class SubPixel1d(_Upsampler):
    """Subpixel convolution: a low-rate convolution to ``out_channels * factor``
    channels, then the periodic shuffle of those channels into time.

    ::

        x (B, C_in, T) --conv1d, "same" zero padding--> (B, C_out * r, T)
                       --periodic_shuffle(r, order)---> (B, C_out, T * r)

    The convolution keeps the length ``T`` with zero padding
    ``(kernel_size - 1) // 2`` on the left and the rest on the right, so the output
    has exactly ``T * factor`` samples.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``, channels after the shuffle.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the low-rate convolution (default 3).
        bias: learnable bias (default ``False``: offsets become tones).
        order: shuffle convention, ``"channel"`` (conv channel ``c * r + i`` is phase
            ``i`` of output channel ``c``) or ``"phase"`` (channel ``i * C_out + c``,
            the convention of the classic Keras ``SubPixel1D``).
        init: ``"default"`` (PyTorch's ``Conv1d`` initialisation) or ``"icnr"``
            (all phases equal, no tonal artifacts at initialisation; see
            :func:`upsamplers.init.icnr_`).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the ``nn.Conv1d(in_channels, out_channels * factor, kernel_size)``
            holding the weights.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int = 3,
        *,
        bias: bool = False,
        order: Order = "channel",
        init: Literal["default", "icnr"] = "default",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_channels, out_channels, factor)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.order: str = check_choice("order", order, ORDERS)
        check_bool("bias", bias)
        self.init = check_choice("init", init, ("default", "icnr"))
        self.conv = nn.Conv1d(
            self.in_channels,
            self.out_channels * self.factor,
            self.kernel_size,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        if init == "icnr":
            from .init import icnr_

            icnr_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        y = conv1d_same(x, self.conv.weight, self.conv.bias)  # (B, C_out * r, T)
        return periodic_shuffle(y, self.factor, order=self.order)  # type: ignore[arg-type]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"kernel_size={self.kernel_size}, bias={self.conv.bias is not None}, "
            f"order={self.order!r}, init={self.init!r}"
        )


def overlap_regime(kernel_size: int, stride: int) -> str:
    """Overlap regime of a transposed convolution.

    ``"none"`` when ``kernel_size == stride`` (each input sample writes its own
    block), ``"full"`` when ``kernel_size`` is a multiple of ``stride`` (every
    output sample gets the same number of contributions), ``"partial"`` otherwise
    (uneven overlap: a period-``stride`` pattern, i.e. tonal artifacts).
    """
    kernel_size = check_positive_int("kernel_size", kernel_size)
    stride = check_positive_int("stride", stride)
    if kernel_size == stride:
        return "none"
    if kernel_size % stride == 0:
        return "full"
    return "partial"


class TransposedUpsample1d(_Upsampler):
    """Transposed convolution with stride ``factor``, cropped to ``T * factor``.

    The full transposed convolution of ``T`` samples with a ``K``-tap kernel has
    ``(T - 1) * r + K`` samples. With ``E = K - r`` extra samples, the layer keeps
    the centre: it drops ``E // 2`` at the start and ``E - E // 2`` at the end. A
    kernel shorter than the stride (``E < 0``) leaves gaps, and the output is
    completed with ``-E`` zeros at the end::

        r = 2, K = 4 (E = 2): each input sample writes K taps, r apart

        x[0] -> o o o o
        x[1] ->     o o o o
        x[2] ->         o o o o
        full      0 1 2 3 4 5 6 7      (T - 1) * r + K = 8 samples
        kept        1 2 3 4 5 6        drop E // 2 = 1 left, 1 right -> T * r = 6

    Overlap regimes (:attr:`overlap`): ``"none"`` (``K == r``), ``"full"`` (``K``
    a multiple of ``r``), ``"partial"`` (otherwise). Partial overlap makes the
    number of contributions per output sample vary with period ``r``, which is
    heard as tones at multiples of ``sample_rate / r``; the layer warns about it
    (:class:`ArtifactWarning`) when it is built.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor and stride ``r >= 1``.
        kernel_size: kernel taps ``K`` (default ``2 * factor``: full overlap).
        bias: learnable bias (default ``False``).
        init: ``"default"`` (PyTorch's ``ConvTranspose1d`` initialisation) or
            ``"nearest"`` (all ``r`` phase kernels equal, so the layer starts as
            nearest-neighbour upsampling of a low-rate convolution and has no tonal
            artifacts; needs ``K`` a multiple of ``r``).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the ``nn.ConvTranspose1d(in_channels, out_channels, K, stride=factor)``
            holding the weights (its own padding is 0; the crop is done here).
        crop: ``(left, right)`` samples dropped from the full output (``right``
            negative when zeros are appended).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int | None = None,
        *,
        bias: bool = False,
        init: Literal["default", "nearest"] = "default",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_channels, out_channels, factor)
        if kernel_size is None:
            kernel_size = 2 * self.factor
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        check_bool("bias", bias)
        self.init = check_choice("init", init, ("default", "nearest"))
        self.overlap = overlap_regime(self.kernel_size, self.factor)
        extra = self.kernel_size - self.factor
        self.crop = (extra // 2, extra - extra // 2) if extra >= 0 else (0, extra)
        self.conv = nn.ConvTranspose1d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.factor,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        if init == "nearest":
            from .init import nearest_init_

            nearest_init_(self)
        if self.overlap == "partial":
            if self.kernel_size < self.factor:
                why = (f"kernel_size={self.kernel_size} is shorter than the stride "
                       f"factor={self.factor}, so {self.factor - self.kernel_size} of every "
                       f"{self.factor} output samples get no contribution")
            else:
                why = (f"kernel_size={self.kernel_size} is not a multiple of the stride "
                       f"factor={self.factor}, so output samples get an uneven number of "
                       "contributions with period factor")
            better = self.factor * max(1, round(self.kernel_size / self.factor))
            warnings.warn(
                f"TransposedUpsample1d has partial overlap: {why}; this causes tonal "
                f"artifacts at multiples of sample_rate / {self.factor}. "
                f"Use kernel_size={better} (a multiple of factor).",
                ArtifactWarning,
                stacklevel=2,
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        left, right = self.crop
        if right >= 0:
            # conv padding p crops p samples on both sides; crop one more on the right
            # when the extra is odd.
            y = F.conv_transpose1d(x, self.conv.weight, self.conv.bias,
                                   stride=self.factor, padding=left)
            if right > left:
                y = y[..., : y.shape[-1] - (right - left)]
            return y
        # kernel shorter than the stride: output_padding appends -right samples
        # (zeros, plus the bias when there is one).
        return F.conv_transpose1d(x, self.conv.weight, self.conv.bias,
                                  stride=self.factor, output_padding=-right)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"kernel_size={self.kernel_size}, bias={self.conv.bias is not None}, "
            f"init={self.init!r}, overlap={self.overlap!r}"
        )


INTERP_MODES = ("nearest", "linear")


class InterpUpsample1d(_Upsampler):
    """Interpolation by ``factor``, then a convolution at the high rate.

    ::

        x (B, C_in, T) --interpolate(r, mode)--> (B, C_in, T * r)
                       --conv1d, "same" zero padding--> (B, C_out, T * r)

    ``mode="nearest"`` repeats every sample ``r`` times; ``mode="linear"`` is
    ``F.interpolate(mode="linear", align_corners=False)`` (half-sample aligned,
    edge samples repeated at both ends). The convolution pads
    ``(kernel_size - 1) // 2`` zeros on the left and the rest on the right.

    This naive composition runs the convolution at the high rate on a
    materialised ``T * r`` input, which is the slow way to compute it.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r >= 1``.
        mode: ``"nearest"`` or ``"linear"``.
        kernel_size: taps of the high-rate convolution (default ``2 * factor + 1``).
        bias: learnable bias (default ``False``).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the high-rate ``nn.Conv1d(in_channels, out_channels, kernel_size)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        mode: Literal["nearest", "linear"] = "nearest",
        kernel_size: int | None = None,
        *,
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_channels, out_channels, factor)
        self.mode: str = check_choice("mode", mode, INTERP_MODES)
        if kernel_size is None:
            kernel_size = 2 * self.factor + 1
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        check_bool("bias", bias)
        self.conv = nn.Conv1d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            bias=bias,
            device=device,
            dtype=dtype,
        )

    def interpolate(self, x: torch.Tensor) -> torch.Tensor:
        """The interpolation alone: ``(B, C, T) -> (B, C, T * factor)``."""
        if self.factor == 1:
            return x
        size = x.shape[-1] * self.factor
        if self.mode == "nearest":
            return F.interpolate(x, size=size, mode="nearest")
        return F.interpolate(x, size=size, mode="linear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        return conv1d_same(self.interpolate(x), self.conv.weight, self.conv.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"mode={self.mode!r}, kernel_size={self.kernel_size}, "
            f"bias={self.conv.bias is not None}"
        )


# kind -> (class, options fixed by the kind)
_KINDS: dict[str, tuple[type[nn.Module], dict[str, Any]]] = {
    "transposed": (TransposedUpsample1d, {}),
    "subpixel": (SubPixel1d, {}),
    "nearest": (InterpUpsample1d, {"mode": "nearest"}),
    "linear": (InterpUpsample1d, {"mode": "linear"}),
}


def upsampler_kinds() -> tuple[str, ...]:
    """The names :func:`make_upsampler` accepts."""
    return tuple(_KINDS)


def make_upsampler(
    kind: str, in_channels: int, out_channels: int, factor: int, **options: Any
) -> nn.Module:
    """Build an upsampler by name.

    Args:
        kind: one of :func:`upsampler_kinds` (``"transposed"``, ``"subpixel"``,
            ``"nearest"``, ``"linear"``, ...).
        in_channels, out_channels, factor: as for every layer.
        **options: keyword arguments of the layer's class (``kernel_size``,
            ``bias``, ``init``, ``order``, ...).

    Shape:
        the returned module maps ``(B, C_in, T) -> (B, C_out, T * factor)``.

    Example:
        >>> up = make_upsampler("subpixel", 16, 8, 4, init="icnr")
        >>> up(torch.randn(2, 16, 100)).shape
        torch.Size([2, 8, 400])
    """
    kind = check_choice("kind", kind, _KINDS)
    cls, fixed = _KINDS[kind]
    clash = sorted(set(fixed) & set(options))
    if clash:
        raise TypeError(
            f"kind={kind!r} fixes {', '.join(f'{k}={fixed[k]!r}' for k in clash)}; "
            f"do not pass {', '.join(clash)}"
        )
    return cls(in_channels, out_channels, factor, **fixed, **options)


def _register_kind(kind: str, cls: type[nn.Module], **fixed: Any) -> None:
    """Make ``kind`` known to :func:`make_upsampler` (used by other modules)."""
    _KINDS[kind] = (cls, dict(fixed))

