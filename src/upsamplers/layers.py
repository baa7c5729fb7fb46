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
from .polyphase import fold_weight, polyphase_conv
from .shuffle import ORDERS, Order


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
        r, c_out, k = self.factor, self.out_channels, self.kernel_size
        weight, bias = self.conv.weight, self.conv.bias
        if self.order == "phase":
            # rows i * C + c -> c * r + i, the layout polyphase_conv shuffles
            weight = weight.view(r, c_out, *weight.shape[1:]).transpose(0, 1).reshape(
                weight.shape)
            if bias is not None:
                bias = bias.view(r, c_out).T.reshape(-1)
        # "same" zero padding (K - 1) // 2 before, K // 2 after: pad K // 2 on both
        # sides and start every phase one column later when K is even.
        return polyphase_conv(x, weight, bias, padding=k // 2, starts=(1 - k % 2,) * r,
                              length=x.shape[-1])

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
IMPLS = ("polyphase", "naive")


def _shift_phases(terms: torch.Tensor, starts: tuple[int, ...]) -> torch.Tensor:
    """Delay phase ``i`` of ``(B, C * r, n)`` (row ``c * r + i``) by
    ``starts[i] - min(starts)`` columns: ``(B, C * r, n + max - min)``."""
    low, high = min(starts), max(starts)
    if low == high:
        return terms
    batch, rows, n = terms.shape
    r = len(starts)
    t4 = terms.view(batch, rows // r, r, n)  # (B, C * r, n) -> (B, C, r, n)
    parts = [F.pad(t4[:, :, i: i + 1], (o - low, high - o)) for i, o in enumerate(starts)]
    return torch.cat(parts, dim=2).reshape(batch, rows, n + high - low)


class InterpUpsample1d(_Upsampler):
    """Interpolation by ``factor``, then a convolution at the high rate.

    ::

        x (B, C_in, T) --interpolate(r, mode)--> (B, C_in, T * r)
                       --conv1d, "same" zero padding--> (B, C_out, T * r)

    ``mode="nearest"`` repeats every sample ``r`` times; ``mode="linear"`` is
    ``F.interpolate(mode="linear", align_corners=False)`` (half-sample aligned,
    edge samples repeated at both ends). The convolution pads
    ``(kernel_size - 1) // 2`` zeros on the left and the rest on the right.

    Execution (``impl``). The interpolation is itself a polyphase filter, so
    output sample ``y[s * r + i]`` is a low-rate convolution of ``x`` with a phase
    kernel ``h_i`` that is a fixed linear map of the learnable kernel
    ``conv.weight`` (see :func:`upsamplers.polyphase.fold_map`):

    * ``impl="polyphase"`` (default) computes the ``r`` phase kernels from
      ``conv.weight`` on every call (they are small; gradients reach
      ``conv.weight`` through them), runs one low-rate convolution to
      ``C_out * r`` channels and shuffles (fused, a batch chunk at a time:
      :func:`~upsamplers.polyphase.polyphase_conv`). Each phase keeps only the
      taps that can be non-zero. The high-rate signal is never materialised.
      Near the two ends, the high-rate convolution reads the zeros it pads the
      interpolated signal with (and linear interpolation repeats edge samples);
      the first ``plan.head`` and last ``plan.tail`` low-rate columns get an
      exact correction computed from a few input samples at each end
      (:func:`~upsamplers.polyphase.end_terms`), so the output equals the naive
      composition everywhere, for every ``T >= 1``.
    * ``impl="naive"`` runs the composition as written above, at the high rate.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r >= 1``.
        mode: ``"nearest"`` or ``"linear"``.
        kernel_size: taps of the high-rate convolution (default ``2 * factor + 1``).
        impl: ``"polyphase"`` (default) or ``"naive"``; the same function either way.
        bias: learnable bias (default ``False``).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the high-rate ``nn.Conv1d(in_channels, out_channels, kernel_size)``.
        fold: the :class:`~upsamplers.polyphase.FoldMap` from ``conv.weight`` to
            the phase kernels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        mode: Literal["nearest", "linear"] = "nearest",
        kernel_size: int | None = None,
        *,
        impl: Literal["polyphase", "naive"] = "polyphase",
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_channels, out_channels, factor)
        self.mode: str = check_choice("mode", mode, INTERP_MODES)
        self._setup(kernel_size, impl, bias, device, dtype)

    def _setup(self, kernel_size: int | None, impl: str, bias: bool,
               device: torch.device | str | None, dtype: torch.dtype | None) -> None:
        from . import polyphase

        if kernel_size is None:
            kernel_size = 2 * self.factor + 1
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.impl: str = check_choice("impl", impl, IMPLS)
        check_bool("bias", bias)
        self.conv = nn.Conv1d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        self.phases = self._interpolation_phases()
        self.fold = polyphase.fold_map(self.phases, self.kernel_size)
        # The polyphase form is exact up to the ends unless the interpolation reads
        # beyond the ends or the high-rate convolution's zero padding differs from
        # what the folded kernels see there (nearest: neither).
        self.plan = polyphase.end_plan(self.factor, self.kernel_size)
        self._exact_at_ends = self.mode == "nearest" or self.fold.left == self.fold.right == 0
        # Fixed float64 tables, converted on use (and cached) for the weight's
        # dtype and device: a buffer would lose precision on .float().double().
        self._tables: dict[tuple[str, torch.dtype, torch.device], torch.Tensor] = {}
        for name in ("compact", "taps"):  # ready for the weight's dtype and device
            self._table(name, self.conv.weight)

    def _table(self, name: str, like: torch.Tensor) -> torch.Tensor:
        key = (name, like.dtype, like.device)
        if key not in self._tables:
            array = {"fold": self.fold.matrix, "taps": self.phases.taps}.get(name)
            if name == "compact":
                array = self.fold.compact()
            if array is None:
                array = self.lowpass
            self._tables[key] = torch.as_tensor(array, dtype=like.dtype, device=like.device)
        return self._tables[key]

    def _interpolation_phases(self) -> Any:
        from . import polyphase

        if self.mode == "nearest":
            return polyphase.nearest_phases(self.factor)
        return polyphase.linear_phases(self.factor)

    def interpolate(self, x: torch.Tensor) -> torch.Tensor:
        """The interpolation alone: ``(B, C, T) -> (B, C, T * factor)``."""
        if self.factor == 1:
            return x
        size = x.shape[-1] * self.factor
        if self.mode == "nearest":
            return F.interpolate(x, size=size, mode="nearest")
        return F.interpolate(x, size=size, mode="linear", align_corners=False)

    def phase_weight(self) -> torch.Tensor:
        """The phase kernels, stacked: ``(C_out * factor, C_in, E)``, row ``c * r + i``
        is phase ``i`` of output channel ``c``; a differentiable function of
        ``conv.weight``. Output ``y[s * r + i]`` (away from the ends) is
        ``sum_e h_i[e] * x[s + e - fold.left]``."""
        return fold_weight(self.conv.weight, self._table("fold", self.conv.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        if self.impl == "naive":
            return self._naive(x)
        return self._polyphase(x)

    def _naive(self, x: torch.Tensor) -> torch.Tensor:
        return conv1d_same(self.interpolate(x), self.conv.weight, self.conv.bias)

    def _polyphase(self, x: torch.Tensor) -> torch.Tensor:
        from .polyphase import end_terms, polyphase_conv

        r, time = self.factor, x.shape[-1]
        fold = self.fold
        # Phase i keeps only taps starts[i] .. starts[i] + width - 1 of its kernel
        # (the others are zero): (C_out * r, C_in, width), row c * r + i.
        weight = fold_weight(self.conv.weight, self._table("compact", self.conv.weight))
        bias = None if self.conv.bias is None else self.conv.bias.repeat_interleave(r)
        starts = fold.starts
        if self._exact_at_ends:
            # Symmetric zero padding p: column j of z reads x[j - p .. j - p + width - 1],
            # and phase i of block s is column s + starts[i] + p - left.
            pad = max(fold.left, max(starts) + fold.width - 1 - fold.left)
            shift = pad - fold.left
            return polyphase_conv(x, weight, bias, padding=pad, length=time,
                                  starts=[o + shift for o in starts])
        # With margins of `tail` blocks before and `head` blocks after, so that the end
        # corrections fit for every T >= 1 without branching on T: phase i of block s
        # is column s + tail + starts[i] (+ shift, with symmetric zero padding).
        head, tail = self.plan.head, self.plan.tail
        before = fold.left + tail
        after = max(0, head + max(starts) + fold.width - 1 - fold.left)
        if self.phases.extension == "replicate":
            x_exec, pad, shift = F.pad(x, (before, after), mode="replicate"), 0, 0
        else:
            x_exec, pad = x, max(before, after)
            shift = pad - before
        head_terms, tail_terms = end_terms(x, self.conv.weight, self.phases,
                                           self._table("taps", x))
        low = min(starts)
        return polyphase_conv(
            x_exec, weight, bias, padding=pad, length=time,
            starts=[tail + o + shift for o in starts],
            head=-_shift_phases(head_terms, starts), head_at=tail + low + shift,
            tail=-_shift_phases(tail_terms, starts), tail_at=time + low + shift)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"mode={self.mode!r}, kernel_size={self.kernel_size}, "
            f"bias={self.conv.bias is not None}, impl={self.impl!r}"
        )


class SincUpsample1d(InterpUpsample1d):
    """Windowed-sinc interpolation by ``factor`` (a fixed anti-imaging low-pass),
    then a learnable convolution at the high rate.

    ::

        x (B, C_in, T) --zero stuffing (r)--> (B, C_in, T * r)
                       --fixed low-pass f, centred, zero padded--> (B, C_in, T * r)
                       --conv1d, "same" zero padding--> (B, C_out, T * r)

    The low-pass ``f`` is :func:`upsamplers.polyphase.sinc_filter`: a
    Kaiser-windowed sinc of odd length ``2 * H + 1``, ``H = ceil(zeros * r /
    cutoff)``, applied centred ("same" length: ``H`` zeros padded on each side),
    so output sample ``t * r`` is aligned with input sample ``t`` and the
    interpolation adds no delay. Each of its phases sums to one (gain ``r``
    overall), so a constant input stays constant: no replicas of DC. The
    cut-off is a fraction of the *input* Nyquist frequency: images of the input
    spectrum above it are removed (the anti-aliased upsampler of BigVGAN-style
    vocoders). With the defaults the pass band is flat within 0.1 dB up to 0.6
    times the input Nyquist frequency, the response is -6 dB at 0.9 times it, and
    images beyond 1.25 times it are attenuated by more than 60 dB (measured in
    ``tests/test_polyphase.py``).

    Like :class:`InterpUpsample1d`, ``impl="polyphase"`` (default) folds the fixed
    filter into the learnable kernel and runs one low-rate convolution plus a
    shuffle, exact at the ends too; ``impl="naive"`` runs the three steps above.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the learnable high-rate convolution (default
            ``2 * factor + 1``).
        cutoff: cut-off of the low-pass as a fraction of the input Nyquist
            frequency, in ``(0, 1]`` (default 0.9).
        zeros: zero crossings of the sinc kept on each side (default 6).
        beta: Kaiser window parameter (default ``None``: ``kaiser_beta(80)``, about 7.9).
        impl: ``"polyphase"`` (default) or ``"naive"``.
        bias: learnable bias (default ``False``).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the learnable high-rate ``nn.Conv1d(in_channels, out_channels, kernel_size)``.
        lowpass: the fixed filter ``f``, a float64 numpy array ``(2 * H + 1,)``
            (not a parameter).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int | None = None,
        *,
        cutoff: float = 0.9,
        zeros: int = 6,
        beta: float | None = None,
        impl: Literal["polyphase", "naive"] = "polyphase",
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        from .polyphase import kaiser_beta, sinc_filter

        _Upsampler.__init__(self, in_channels, out_channels, factor)
        self.mode = "sinc"
        if beta is None:
            beta = kaiser_beta(80.0)
        taps = sinc_filter(self.factor, cutoff=cutoff, zeros=zeros, beta=beta)
        self.cutoff, self.zeros, self.beta = float(cutoff), int(zeros), float(beta)
        self.lowpass = taps
        self._setup(kernel_size, impl, bias, device, dtype)

    def _interpolation_phases(self) -> Any:
        from .polyphase import sinc_phases

        return sinc_phases(self.factor, cutoff=self.cutoff, zeros=self.zeros, beta=self.beta)

    def interpolate(self, x: torch.Tensor) -> torch.Tensor:
        """The interpolation alone (zero stuffing, then the centred low-pass):
        ``(B, C, T) -> (B, C, T * factor)``."""
        batch, channels, time = x.shape
        r = self.factor
        stuffed = F.pad(x.unsqueeze(-1), (0, r - 1))  # (B, C, T, 1) -> (B, C, T, r)
        stuffed = stuffed.reshape(batch * channels, 1, time * r)
        half = (self.lowpass.shape[0] - 1) // 2
        kernel = self._table("lowpass", x).reshape(1, 1, -1)  # symmetric: flip not needed
        return F.conv1d(stuffed, kernel, padding=half).reshape(batch, channels, time * r)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"kernel_size={self.kernel_size}, cutoff={self.cutoff:g}, zeros={self.zeros}, "
            f"beta={self.beta:.3g}, bias={self.conv.bias is not None}, impl={self.impl!r}"
        )


# kind -> (class, options fixed by the kind)
_KINDS: dict[str, tuple[type[nn.Module], dict[str, Any]]] = {
    "transposed": (TransposedUpsample1d, {}),
    "subpixel": (SubPixel1d, {}),
    "nearest": (InterpUpsample1d, {"mode": "nearest"}),
    "linear": (InterpUpsample1d, {"mode": "linear"}),
    "sinc": (SincUpsample1d, {}),
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

