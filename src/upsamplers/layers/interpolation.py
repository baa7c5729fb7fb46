"""Interpolation + convolution, computed at the low rate.

An interpolation by ``r`` is itself a fixed polyphase filter
(:class:`~upsamplers.ops.InterpolationPhases`), so interpolation followed by a
learnable high-rate convolution folds into ``r`` phase kernels that are a linear
map of the learnable kernel. :class:`FoldedUpsample1d` holds that machinery once;
:class:`InterpUpsample1d` (nearest, linear) and :class:`SincUpsample1d` are its
siblings and differ only in the interpolation they fold and in its naive form.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import (
    InvalidType,
    InvalidValue,
    check_bool,
    check_choice,
    check_positive_int,
    check_real,
)
from ..ops.convolution import conv1d_same, is_exporting, polyphase_conv
from ..ops.filters import (
    InterpolationResponse,
    interpolation_response,
    kaiser_attenuation,
    kaiser_beta,
    kaiser_half_length,
    sinc_filter,
)
from ..ops.interpolation import (
    InterpolationPhases,
    depthwise_phases,
    end_plan,
    end_terms,
    fold_map,
    fold_weight,
    linear_phases,
    nearest_phases,
    polyphase_interpolate,
    shift_phases,
    sinc_phases,
)
from ..ops.kernels import PhaseKernels
from .base import Upsampler, check_factor_limit, format_bytes

IMPLS = ("polyphase", "folded", "filtered", "naive")
#: The exact low-rate forms ``impl="polyphase"`` chooses between (see
#: :meth:`FoldedUpsample1d.form_macs`).
FORMS = ("folded", "filtered")
#: Most memory the fixed float64 tables of one interpolation layer (the folded map
#: from the learnable kernel to the phase kernels, its compact copy, the
#: interpolation's phases) may take; a layer needing more is refused before any is
#: built.
MAX_TABLE_BYTES = 2 ** 30


def table_bytes(factor: int, kernel_size: int, depth: int) -> int:
    """An upper bound of the bytes of the fixed float64 tables of a layer (see
    :func:`check_table_size`)."""
    taps = -(-kernel_size // factor) + depth + 2
    return 8 * (2 * kernel_size * factor * taps + factor * (depth + 2))


def check_table_size(factor: int, kernel_size: Any, depth: int, **more: Any) -> int:
    """Check ``factor`` and ``kernel_size`` (``None``: ``2 * factor + 1``) and that the
    fixed tables of a layer whose interpolation reads ``depth`` input samples per
    output sample fit :data:`MAX_TABLE_BYTES`; return ``kernel_size``.

    The fold map is ``(K, r, E)`` with ``E <= ceil(K / r) + depth + 2``; it and its
    compact copy are float64, the interpolation table ``(r, depth)`` too. ``more``
    (e.g. ``zeros``) is named in the message."""
    factor = check_factor_limit(check_positive_int("factor", factor))
    k = 2 * factor + 1 if kernel_size is None else check_positive_int("kernel_size", kernel_size)
    need = table_bytes(factor, k, depth)
    if need > MAX_TABLE_BYTES:
        named = "".join(f", {key}={value!r}" for key, value in more.items())
        raise InvalidValue(
            f"factor={factor}, kernel_size={k}{named} need about {format_bytes(need)} of fixed "
            f"tables, more than the limit of {format_bytes(MAX_TABLE_BYTES)} "
            f"(upsamplers.layers.interpolation.MAX_TABLE_BYTES); lower one of them")
    return k

INTERP_MODES = ("nearest", "linear")


class FoldedUpsample1d(Upsampler):
    """Base of the interpolation + convolution layers: a fixed interpolation by
    ``factor`` (given as :class:`~upsamplers.ops.InterpolationPhases`), then a
    learnable ``kernel_size``-tap convolution at the high rate with "same" zero
    padding, executed folded at the low rate (``impl="polyphase"``) or as written
    (``impl="naive"``). Subclasses give the interpolation's phases and implement
    :meth:`interpolate` (the naive form).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the high-rate ``nn.Conv1d(in_channels, out_channels, kernel_size)``.
        phases: the interpolation as ``factor`` low-rate filters.
        fold: the :class:`~upsamplers.ops.FoldMap` from ``conv.weight`` to the phase
            kernels.
        plan: how many low-rate columns at each end get an exact correction.
    """

    def __init__(self, in_channels: int, out_channels: int, factor: int,
                 kernel_size: int, phases: InterpolationPhases, *,
                 impl: str = "polyphase", bias: bool = False,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__(in_channels, out_channels, factor, kernel_size)
        self.impl: str = check_choice("impl", impl, IMPLS)
        check_bool("bias", bias)
        self.conv = nn.Conv1d(self.in_channels, self.out_channels, self.kernel_size,
                              bias=bias, device=device, dtype=dtype)
        self.phases = phases
        self.fold = fold_map(phases, self.kernel_size)
        macs = self.form_macs()
        # the filtered form holds its phases per input channel (float64): not when that
        # table would pass the limit of the others
        depthwise_bytes = 8 * self.in_channels * phases.taps.size
        forms = FORMS if depthwise_bytes <= MAX_TABLE_BYTES else ("folded",)
        if self.impl == "filtered" and "filtered" not in forms:
            raise InvalidValue(f"impl='filtered' needs {format_bytes(depthwise_bytes)} of fixed "
                               f"tables for in_channels={self.in_channels}, more than "
                               f"{format_bytes(MAX_TABLE_BYTES)}; use impl='polyphase'")
        self.form: str = (min(forms, key=lambda f: (macs[f], f)) if self.impl == "polyphase"
                          else self.impl)
        self.plan = end_plan(self.factor, self.kernel_size)
        # The folded kernels on a zero-padded input agree with the naive form (which
        # pads the interpolated signal with zeros) when the interpolation of block t
        # reads x[t] alone (nearest; linear at factor 1), or when the folded kernels
        # reach no column beyond the ends.
        reads_own_block = phases.offset == 0 and phases.taps.shape[1] == 1
        self._exact_at_ends = reads_own_block or self.fold.left == self.fold.right == 0
        # Fixed float64 arrays, converted on use (and cached) for the weight's dtype
        # and device: a buffer would lose precision on .float().double().
        self._compact = self.fold.compact()
        self._depthwise = (depthwise_phases(phases, self.in_channels)
                           if self.form == "filtered" else np.zeros((0, 1, 1)))
        self._converted: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}
        self._as_tensor(self._compact, self.conv.weight)
        self._as_tensor(self.phases.taps, self.conv.weight)
        self._as_tensor(self._depthwise, self.conv.weight)

    def _as_tensor(self, array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """``array`` (one of this layer's fixed tables) in ``like``'s dtype and device,
        converted once. Always an ordinary tensor: one first made under
        ``torch.inference_mode`` (a model evaluated on a new device or dtype before it
        trains there) could not be saved for backward by the training steps after."""
        key = (id(array), like.dtype, like.device)
        if key not in self._converted:
            with torch.inference_mode(False):
                tensor = torch.as_tensor(array, dtype=like.dtype, device=like.device)
            if torch.jit.is_tracing() or is_exporting():
                # not kept: torch.jit.trace runs forward twice and checks that both
                # runs record the same graph; torch.export warns of a cache write
                return tensor
            self._converted[key] = tensor
        return self._converted[key]

    @property
    def has_bias(self) -> bool:
        return self.conv.bias is not None

    @property
    def end_effects(self) -> str | None:  # type: ignore[override]
        if self._exact_at_ends:
            return None
        why = "its high-rate convolution pads the interpolated signal with zeros"
        if self.phases.extension == "replicate":
            why += " and the interpolation repeats the edge samples"
        return why

    def interpolate(self, x: torch.Tensor) -> torch.Tensor:
        """The interpolation alone: ``(B, C, T) -> (B, C, T * factor)``."""
        raise NotImplementedError

    def phase_weight(self) -> torch.Tensor:
        """The phase kernels, stacked: ``(C_out * factor, C_in, E)``, row ``c * r + i``
        is phase ``i`` of output channel ``c``; a differentiable function of
        ``conv.weight``. Output ``y[s * r + i]`` (away from the ends) is
        ``sum_e h_i[e] * x[s + e - fold.left]``."""
        return fold_weight(self.conv.weight, self._as_tensor(self.fold.matrix, self.conv.weight))

    def phase_kernels(self) -> PhaseKernels:
        """The interpolation folded into ``conv.weight``. They give the layer's
        output exactly when :attr:`end_effects` is ``None`` (nearest), and away from
        the first ``left`` and last ``K - 1 - left`` low-rate columns otherwise."""
        r, c_out = self.factor, self.out_channels
        stacked = self.phase_weight()  # (C_out * r, C_in, E), row c*r + i
        weight = stacked.reshape(c_out, r, *stacked.shape[1:]).transpose(0, 1)
        bias = None if self.conv.bias is None else self.conv.bias.expand(r, c_out)
        return PhaseKernels(weight, self.fold.left, bias)

    def band_edges(self) -> tuple[float, float]:
        """``(pass-band edge, stop-band edge)`` of the interpolation, as fractions of
        the input Nyquist frequency, over which :meth:`response` measures the
        ripple and the image level: half the input band and the start of the
        images (1.0) for nearest and linear, which are not designed to edges."""
        return 0.5, 1.0

    def response(self, points_per_band: int = 4096) -> InterpolationResponse:
        """The frequency response of the fixed interpolation (gain re DC against
        frequency as a fraction of the input Nyquist, 0 to ``factor``), with its
        pass-band ripple, -3 dB point, worst image level and per-frequency image
        rejection (:class:`~upsamplers.ops.filters.InterpolationResponse`). The
        learnable convolution that follows is not included."""
        passband, stopband = self.band_edges()
        return interpolation_response(self.phases.taps, self.phases.offset,
                                      passband_edge=passband, stopband_edge=stopband,
                                      points_per_band=check_positive_int(
                                          "points_per_band", points_per_band))

    def phase_taps(self) -> int:
        """The folded support: taps of each phase kernel that can be non-zero, summed."""
        return int(self.fold.support.sum())

    def form_macs(self) -> dict[str, int]:
        """Multiply-adds per input time step (per batch item) of each exact form:

        * ``"folded"``: one low-rate convolution with the interpolation folded into
          the learnable kernel, ``C_in * C_out * r * width`` (``width``: taps per
          phase as executed, :attr:`fold`);
        * ``"filtered"``: the interpolation as ``r`` low-rate filters of ``D`` taps on
          each input channel (:func:`~upsamplers.ops.polyphase_interpolate`; the
          zero-stuffed signal is never built), then the ``K``-tap high-rate
          convolution, ``C_in * r * D + C_in * C_out * r * K``;
        * ``"naive"``: the composition as written, its interpolation counted as the
          ``filtered`` one (``F.interpolate`` for nearest and linear).

        ``impl="polyphase"`` runs the cheaper of the first two (:attr:`form`): the
        folded form wins when the interpolation is short against the kernel
        (nearest, linear), the filtered form when a long fixed filter would be
        multiplied into every output channel (sinc)."""
        c_in, c_out, r, k = self.in_channels, self.out_channels, self.factor, self.kernel_size
        depth = int(self.phases.taps.shape[1])
        filtered = c_in * r * depth + c_in * c_out * r * k
        return {"folded": c_in * c_out * r * self.fold.width, "filtered": filtered,
                "naive": filtered}

    def macs_per_input_sample(self) -> int:
        """Multiply-adds per input time step (per batch item) at the arithmetic
        floor, whichever ``impl`` runs (a property of the function): the folded
        form counting only the taps that can be non-zero (``C_in * C_out *
        phase_taps()``), or the filtered form (:meth:`form_macs`) when it needs
        fewer."""
        folded = self.in_channels * self.out_channels * self.phase_taps()
        return min(folded, self.form_macs()["filtered"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        if self.form == "naive":
            return conv1d_same(self.interpolate(x), self.conv.weight, self.conv.bias)
        if self.form == "filtered":
            weight = self._as_tensor(self._depthwise, self.conv.weight)
            u = polyphase_interpolate(x, self.phases, weight)
            return conv1d_same(u, self.conv.weight, self.conv.bias)
        return self._polyphase(x)

    def _polyphase(self, x: torch.Tensor) -> torch.Tensor:
        r, time = self.factor, x.shape[-1]
        fold = self.fold
        # Phase i keeps only taps starts[i] .. starts[i] + width - 1 of its kernel
        # (the others are zero): (C_out * r, C_in, width), row c * r + i.
        weight = fold_weight(self.conv.weight, self._as_tensor(self._compact, self.conv.weight))
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
                                           self._as_tensor(self.phases.taps, x),
                                           kernel_size=self.kernel_size)
        low = min(starts)
        return polyphase_conv(
            x_exec, weight, bias, padding=pad, length=time,
            starts=[tail + o + shift for o in starts],
            head=-shift_phases(head_terms, starts), head_at=tail + low + shift,
            tail=-shift_phases(tail_terms, starts), tail_at=time + low + shift)


def _legacy_mode(kernel_size: Any, legacy: tuple[Any, ...], mode: str | None
                 ) -> tuple[Any, str]:
    """Before 0.2 the 4th positional argument of InterpUpsample1d was ``mode``
    (and the 5th ``kernel_size``); it still works for one release, with a warning."""
    if not isinstance(kernel_size, str):
        if legacy:
            raise InvalidType(f"InterpUpsample1d takes 4 positional arguments; received "
                            f"{4 + len(legacy)}")
        return kernel_size, "nearest" if mode is None else mode
    if mode is not None:
        raise InvalidType(f"InterpUpsample1d got mode twice: {kernel_size!r} (4th positional "
                        f"argument) and mode={mode!r}")
    if len(legacy) > 1:
        raise InvalidType(f"InterpUpsample1d takes 5 positional arguments in the old order; "
                        f"received {4 + len(legacy)}")
    warnings.warn(
        f"InterpUpsample1d(in, out, factor, {kernel_size!r}, ...): mode is now keyword-only "
        f"and the 4th positional argument is kernel_size, as on every layer; "
        f"write mode={kernel_size!r}. The old order stops working in the next release.",
        FutureWarning, stacklevel=3)
    return (legacy[0] if legacy else None), kernel_size


class InterpUpsample1d(FoldedUpsample1d):
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
    ``conv.weight`` (see :func:`upsamplers.ops.fold_map`):

    * ``impl="polyphase"`` (default) runs whichever of the two exact low-rate
      forms below needs fewer multiply-adds (:meth:`form_macs`; decided once, by
      arithmetic, when the layer is built: :attr:`form`). For nearest and
      linear that is the folded form, for sinc the filtered one.
    * ``impl="folded"`` computes the ``r`` phase kernels from
      ``conv.weight`` on every call (they are small; gradients reach
      ``conv.weight`` through them), runs one low-rate convolution to
      ``C_out * r`` channels and shuffles (fused, a batch chunk at a time:
      :func:`~upsamplers.ops.polyphase_conv`). Each phase keeps only the
      taps that can be non-zero. The high-rate signal is never materialised.
      Near the two ends, the high-rate convolution reads the zeros it pads the
      interpolated signal with (and linear interpolation repeats edge samples);
      the first ``plan.head`` and last ``plan.tail`` low-rate columns get an
      exact correction computed from a few input samples at each end
      (:func:`~upsamplers.ops.end_terms`), so the output equals the naive
      composition everywhere, for every ``T >= 1``.
    * ``impl="filtered"`` computes the interpolation as ``r`` low-rate filters on
      each input channel (one depthwise convolution, interleaved: the
      zero-stuffed signal is never built), then the high-rate convolution; exact
      at the ends by construction.
    * ``impl="naive"`` runs the composition as written above, at the high rate.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the high-rate convolution (default ``2 * factor + 1``).
        mode: ``"nearest"`` (default) or ``"linear"``; keyword-only (a mode passed as the
            4th positional argument, the order before 0.2, still works and warns).
        impl: ``"polyphase"`` (default), ``"folded"``, ``"filtered"`` or ``"naive"``;
            the same function every way.
        bias: learnable bias (default ``False``).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the high-rate ``nn.Conv1d(in_channels, out_channels, kernel_size)``.
        fold: the :class:`~upsamplers.ops.FoldMap` from ``conv.weight`` to
            the phase kernels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int | None = None,
        *legacy: Any,
        mode: Literal["nearest", "linear"] | None = None,
        bias: bool = False,
        impl: Literal["polyphase", "folded", "filtered", "naive"] = "polyphase",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        kernel_size, mode = _legacy_mode(kernel_size, legacy, mode)
        mode = check_choice("mode", mode, INTERP_MODES)
        factor_ = check_positive_int("factor", factor)  # before the tables use it
        kernel_size = check_table_size(factor_, kernel_size, 3, mode=mode)
        phases = nearest_phases(factor_) if mode == "nearest" else linear_phases(factor_)
        self.mode: str = mode
        self.kind = mode  # type: ignore[misc]
        super().__init__(in_channels, out_channels, factor_, kernel_size, phases,
                         impl=impl, bias=bias, device=device, dtype=dtype)

    def interpolate(self, x: torch.Tensor) -> torch.Tensor:
        """The interpolation alone: ``(B, C, T) -> (B, C, T * factor)``."""
        if self.factor == 1:
            return x
        size = x.shape[-1] * self.factor
        if self.mode == "nearest":
            return F.interpolate(x, size=size, mode="nearest")
        return F.interpolate(x, size=size, mode="linear", align_corners=False)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"mode={self.mode!r}, kernel_size={self.kernel_size}, "
            f"bias={self.conv.bias is not None}, impl={self.impl!r}"
        )


class SincUpsample1d(FoldedUpsample1d):
    """Windowed-sinc interpolation by ``factor`` (a fixed anti-imaging low-pass),
    then a learnable convolution at the high rate.

    ::

        x (B, C_in, T) --zero stuffing (r)--> (B, C_in, T * r)
                       --fixed low-pass f, centred, zero padded--> (B, C_in, T * r)
                       --conv1d, "same" zero padding--> (B, C_out, T * r)

    The low-pass ``f`` is :func:`upsamplers.ops.sinc_filter`: a
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

    Execution as for :class:`InterpUpsample1d`: ``impl="polyphase"`` (default)
    runs the filtered form here (the ``r`` phases of the low-pass, about
    ``2 * zeros / cutoff`` taps each, on every input channel, then the high-rate
    convolution): folding the long fixed filter into the learnable kernel
    (``impl="folded"``) would multiply its taps into every output channel.
    ``impl="naive"`` runs the three steps above.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the learnable high-rate convolution (default
            ``2 * factor + 1``).
        cutoff: cut-off of the low-pass (its -6 dB point) as a fraction of the
            input Nyquist frequency, in ``(0, 1]`` (default 0.9).
        zeros: zero crossings of the sinc kept on each side (default 6 unless
            ``transition`` is given).
        beta: Kaiser window parameter (default ``None``: ``kaiser_beta(80)``, about 7.9).
        transition: design by quality instead of ``zeros``: the width of the
            transition band, centred on ``cutoff``, as a fraction of the input
            Nyquist frequency; the filter gets the length Kaiser's estimate gives
            for it and ``attenuation``, lengthened (by at most half) until the
            whole stop band from ``cutoff + transition / 2`` up is
            ``attenuation`` down.
        attenuation: stop-band attenuation in dB, in ``[21, 300]``, instead of
            ``beta`` (which it sets with :func:`~upsamplers.ops.kaiser_beta`).

    Filters by quality (``layer.response()`` reports each one's ripple, -3 dB
    point, worst image and image rejection per frequency, as fractions of the
    input Nyquist; figures for ``factor=4``, ``tests/test_sinc_design.py``):

    ==============================================  ======  =====  ==================
    setting                                         taps    -3 dB  image rejection
                                                    /phase         at 0.75 / 0.9 (dB)
    ==============================================  ======  =====  ==================
    default (``cutoff=0.9, zeros=6``)               14      0.83   61 / 18
    ``cutoff=0.8, transition=0.4, attenuation=60``  20      0.75   63 / 45
    ``cutoff=0.9, transition=0.2, attenuation=80``  56      0.88   97 / 80
    ==============================================  ======  =====  ==================

    The default keeps the filter short (images of content above 0.75 of the
    input Nyquist are only partly removed: 61 dB at 0.75, 18 dB at 0.9);
    ``transition=0.2, attenuation=80`` removes every image of content below 0.8
    by 80 dB or more.
        impl: ``"polyphase"`` (default), ``"folded"``, ``"filtered"`` or ``"naive"``.
        bias: learnable bias (default ``False``).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the learnable high-rate ``nn.Conv1d(in_channels, out_channels, kernel_size)``.
        lowpass: the fixed filter ``f``, a float64 numpy array ``(2 * H + 1,)``
            (not a parameter).
    """

    kind = "sinc"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int | None = None,
        *,
        bias: bool = False,
        cutoff: float = 0.9,
        zeros: int | None = None,
        beta: float | None = None,
        transition: float | None = None,
        attenuation: float | None = None,
        impl: Literal["polyphase", "folded", "filtered", "naive"] = "polyphase",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factor_ = check_positive_int("factor", factor)  # before the tables use it
        self.cutoff = check_real("cutoff", cutoff, low=0.0, high=1.0, low_open=True)
        half = self._design(factor_, zeros, beta, transition, attenuation)
        # the filter reaches ceil(H / r) input samples on each side; a designed one
        # may grow by half again to meet its attenuation (_meet_attenuation)
        longest = half if transition is None else half + half // 2
        depth = 2 * math.ceil(longest / factor_) + 3
        named = ({"transition": transition} if transition is not None
                 else {"zeros": self.zeros})
        kernel_size = check_table_size(factor_, kernel_size, depth, **named,
                                       cutoff=self.cutoff)
        if transition is not None:
            half = self._meet_attenuation(factor_, half)
        self.half = half
        self.lowpass = sinc_filter(factor_, cutoff=self.cutoff, beta=self.beta, half=half)
        self.mode = "sinc"
        phases = sinc_phases(factor_, cutoff=self.cutoff, beta=self.beta, half=half)
        super().__init__(in_channels, out_channels, factor_, kernel_size, phases,
                         impl=impl, bias=bias, device=device, dtype=dtype)
        self._as_tensor(self.lowpass, self.conv.weight)  # converted once, like the others

    def _design(self, factor: int, zeros: Any, beta: Any, transition: Any,
                attenuation: Any) -> int:
        """Check the filter options and set :attr:`beta`, :attr:`zeros`,
        :attr:`transition` and :attr:`attenuation`; returns ``H``."""
        if beta is not None and attenuation is not None:
            raise InvalidValue(f"give beta or attenuation, not both; received beta={beta!r}, "
                               f"attenuation={attenuation!r}")
        if zeros is not None and transition is not None:
            raise InvalidValue(f"give zeros or transition, not both; received zeros={zeros!r}, "
                               f"transition={transition!r}")
        if attenuation is not None:
            self.attenuation = check_real("attenuation", attenuation, low=21.0, high=300.0)
            self.beta = kaiser_beta(self.attenuation)
        else:
            self.beta = check_real("beta", kaiser_beta(80.0) if beta is None else beta,
                                   low=0.0)
            self.attenuation = kaiser_attenuation(self.beta)
        if transition is not None:
            self.transition = check_real("transition", transition, low=0.0,
                                         high=2 * self.cutoff, low_open=True)
            self.zeros: int | None = None
            return kaiser_half_length(factor, self.transition, self.attenuation)
        self.zeros = check_positive_int("zeros", 6 if zeros is None else zeros)
        half = math.ceil(self.zeros * factor / self.cutoff)
        # the transition band Kaiser's estimate gives this length and attenuation
        self.transition = (max(self.attenuation, 21.0) - 7.95) * factor / (
            2 * 2.285 * math.pi * half)
        return half

    def _meet_attenuation(self, factor: int, half: int) -> int:
        """``half`` (Kaiser's estimate, which can fall short by a fraction of a dB),
        lengthened by 5 % steps (at most by half) until the stop band from
        ``cutoff + transition / 2`` is :attr:`attenuation` down (after the phase
        normalisation too)."""
        stopband, longest = self.cutoff + self.transition / 2, half + half // 2
        while half < longest:
            phases = sinc_phases(factor, cutoff=self.cutoff, beta=self.beta, half=half)
            response = interpolation_response(phases.taps, phases.offset, passband_edge=0.0,
                                              stopband_edge=stopband)
            if response.stopband_db <= -self.attenuation:
                break
            half = min(longest, half + max(1, half // 20))
        return half

    def band_edges(self) -> tuple[float, float]:
        """``(cutoff - transition / 2, cutoff + transition / 2)``: the designed pass-
        and stop-band edges (with ``zeros``, the transition band Kaiser's estimate
        gives the filter's length and attenuation)."""
        return max(self.cutoff - self.transition / 2, 0.0), self.cutoff + self.transition / 2

    def interpolate(self, x: torch.Tensor) -> torch.Tensor:
        """The interpolation alone (zero stuffing, then the centred low-pass):
        ``(B, C, T) -> (B, C, T * factor)``."""
        batch, channels, time = x.shape
        r = self.factor
        stuffed = F.pad(x.unsqueeze(-1), (0, r - 1))  # (B, C, T, 1) -> (B, C, T, r)
        stuffed = stuffed.reshape(batch * channels, 1, time * r)
        half = (self.lowpass.shape[0] - 1) // 2
        kernel = self._as_tensor(self.lowpass, x).reshape(1, 1, -1)  # symmetric: no flip
        return F.conv1d(stuffed, kernel, padding=half).reshape(batch, channels, time * r)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"kernel_size={self.kernel_size}, cutoff={self.cutoff:g}, "
            + (f"zeros={self.zeros}, beta={self.beta:.3g}, " if self.zeros is not None else
               f"transition={self.transition:g}, attenuation={self.attenuation:g}, ")
            + f"bias={self.conv.bias is not None}, impl={self.impl!r}"
        )
