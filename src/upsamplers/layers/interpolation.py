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
from ..ops.convolution import conv1d_same, is_symbolic, polyphase_conv
from ..ops.filters import (
    InterpolationResponse,
    interpolation_response,
    kaiser_attenuation,
    kaiser_beta,
    kaiser_half_length,
    response_points,
    sinc_filter,
)
from ..ops.interpolation import (
    InterpolationPhases,
    end_plan,
    end_terms,
    fold_map,
    fold_weight,
    interpolation_weight,
    linear_phases,
    nearest_phases,
    polyphase_interpolate,
    projection_phases,
    shift_phases,
    sinc_phases,
)
from ..ops.kernels import PhaseKernels
from ..ops.lowpass import check_lowpass_size, design_points, lengthen_to_attenuation
from ..ops.plan import CPU_MODEL, FormCost, choose_form
from .base import Upsampler, cached_table, check_factor_limit, format_bytes

IMPLS = ("polyphase", "folded", "filtered", "projected", "naive")
#: The exact low-rate forms, and the plain composition, that ``impl="polyphase"``
#: chooses between (see :meth:`FoldedUpsample1d.form_costs`).
FORMS = ("folded", "filtered", "projected", "naive")
#: The input steps (batch x length) at which :attr:`FoldedUpsample1d.form` is
#: chosen: large enough that the per-call costs no longer matter (the form run
#: for long inputs, and by exported graphs, whose length is not known).
LARGE_STEPS = 1 << 20
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
        self.plan = end_plan(self.factor, self.kernel_size)
        # The folded kernels on a zero-padded input agree with the naive form (which
        # pads the interpolated signal with zeros) when the interpolation of block t
        # reads x[t] alone (nearest; linear at factor 1), or when the folded kernels
        # reach no column beyond the ends.
        reads_own_block = phases.offset == 0 and phases.taps.shape[1] == 1
        self._exact_at_ends = reads_own_block or self.fold.left == self.fold.right == 0
        self._forms = self._candidate_forms()
        self._costs = self._compute_costs()
        # what impl="polyphase" chooses from: the plain composition only where exact
        self._auto_costs = {name: cost for name, cost in self._costs.items()
                            if name != "naive" or self.naive_is_exact}
        if self.impl != "polyphase" and self.impl not in self._forms:
            raise InvalidValue(f"impl={self.impl!r} needs more than "  # filtered, projected
                               f"{format_bytes(MAX_TABLE_BYTES)} of fixed tables for "
                               f"in_channels={self.in_channels}, out_channels="
                               f"{self.out_channels}; use impl='polyphase'")
        #: The form run for long inputs (and by exported graphs): ``impl``, or with
        #: ``impl="polyphase"`` the cheapest at :data:`LARGE_STEPS` input steps.
        self.form: str = self.form_for(LARGE_STEPS, 1)
        # Fixed float64 arrays, converted on use (and cached) for the weight's dtype
        # and device: a buffer would lose precision on .float().double().
        self._compact = self.fold.compact()
        self._depthwise = (interpolation_weight(phases, self.in_channels)
                           if "filtered" in self._forms else np.zeros((0, 1, 1)))
        self._projection = (projection_phases(self.fold, self.out_channels)
                            if "projected" in self._forms else np.zeros((0, 1, 1)))
        self._converted: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}
        self._as_tensor(self._compact, self.conv.weight)
        self._as_tensor(self.phases.taps, self.conv.weight)
        self._as_tensor(self._depthwise, self.conv.weight)
        self._as_tensor(self._projection, self.conv.weight)

    def _as_tensor(self, array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """``array`` (one of this layer's fixed tables) in ``like``'s dtype and device,
        converted once (:func:`~upsamplers.layers.base.cached_table`)."""
        return cached_table(self._converted, array, like)

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

    def response(self, points_per_band: int | None = None) -> InterpolationResponse:
        """The frequency response of the fixed interpolation (gain re DC against
        frequency as a fraction of the input Nyquist, 0 to ``factor``), with its
        pass-band ripple, -3 dB point, worst image level and per-frequency image
        rejection (:class:`~upsamplers.ops.filters.InterpolationResponse`). The
        learnable convolution that follows is not included.
        ``points_per_band``: default 4096, fewer above factor 4096 (the FFT within
        :data:`~upsamplers.ops.filters.MAX_RESPONSE_POINTS`; more is refused)."""
        passband, stopband = self.band_edges()
        return interpolation_response(self.phases.taps, self.phases.offset,
                                      passband_edge=passband, stopband_edge=stopband,
                                      points_per_band=response_points(
                                          self.factor, points_per_band))

    def phase_taps(self) -> int:
        """The folded support: taps of each phase kernel that can be non-zero, summed."""
        return int(self.fold.support.sum())

    def _candidate_forms(self) -> tuple[str, ...]:
        """The forms this layer can run: the exact low-rate forms whose fixed tables
        fit :data:`MAX_TABLE_BYTES`, and the plain composition."""
        depth = int(self.phases.taps.shape[1])
        forms = ["folded"]
        if 8 * self.in_channels * self.factor * depth <= MAX_TABLE_BYTES:
            forms.append("filtered")
        if 8 * self.out_channels * self.factor * self.kernel_size * self.fold.width \
                <= MAX_TABLE_BYTES:
            forms.append("projected")
        return (*forms, "naive")

    @property
    def naive_is_exact(self) -> bool:
        """Whether the plain composition (:meth:`interpolate`) computes the
        interpolation exactly, so that ``impl="polyphase"`` may run it: sinc always;
        nearest and linear at a power-of-two factor (``F.interpolate`` computes
        positions in float32: at factor 3, linear drifts by 1e-2 at T = 65536)."""
        return self.kind == "sinc" or self.factor & (self.factor - 1) == 0

    def interpolation_macs(self) -> int:
        """Multiply-adds per input time step (per channel) of the interpolation as
        written (:meth:`interpolate`): ``factor * D`` (``D`` taps a phase; nearest
        and linear)."""
        return self.factor * int(self.phases.taps.shape[1])

    def form_costs(self) -> dict[str, FormCost]:
        """What each form this layer may run computes: see :meth:`_compute_costs`
        (fixed for a layer, computed when it is built)."""
        return dict(self._costs)

    def _compute_costs(self) -> dict[str, FormCost]:
        """What each form this layer may run computes (:class:`~upsamplers.ops.FormCost`,
        per input time step and batch item; ``O``, ``I``: output and input channels,
        ``r`` the factor, ``K`` the kernel, ``D`` the interpolation's taps a phase, ``W``
        the taps a folded phase executes, :attr:`fold`):

        * ``"folded"``: the interpolation folded into the learnable kernel (``O * r``
          phase kernels of ``W`` taps, built on every call), one low-rate convolution:
          ``I * O * r * W`` multiply-adds;
        * ``"filtered"``: the interpolation as ``r`` filters of ``D`` taps on each input
          channel (the zero-stuffed signal is never built), then the ``K``-tap
          high-rate convolution: ``I * r * D`` per-channel and ``I * O * r * K``
          channel-mixing multiply-adds;
        * ``"projected"``: the learnable kernel's ``K`` taps applied at the low rate
          (``I * O * K``), then the interpolation and the taps' offsets as ``r`` filters
          of ``W`` taps on each of the ``O * K`` projections (``O * r * K * W``
          per-channel), in one grouped convolution;
        * ``"naive"``: the composition as written (only where it is exact).

        The folded and projected forms also run the exact end corrections unless
        the function needs none (:attr:`end_effects` is ``None``)."""
        i, o, r, k = self.in_channels, self.out_channels, self.factor, self.kernel_size
        depth, width = int(self.phases.taps.shape[1]), self.fold.width
        ends = not self._exact_at_ends
        stuffed = i * r if self.kind == "sinc" else 0
        costs = {
            "folded": FormCost(i * o * r * width, o * r * width, moved=o * r,
                               weight=i * o * r * width, ends=ends),
            "filtered": FormCost(i * o * r * k, o * r * k, depthwise=i * r * depth,
                                 moved=i * r),
            "projected": FormCost(i * o * k, o * k, depthwise=o * r * k * width,
                                  moved=o * (k + r), ends=ends),
            "naive": FormCost(i * o * r * k, o * r * k, interp=i * self.interpolation_macs(),
                              moved=i * r + stuffed),
        }
        return {name: costs[name] for name in self._forms}

    def form_macs(self) -> dict[str, int]:
        """Multiply-adds per input time step (per batch item) of each form this layer
        may run (:meth:`form_costs`, both kinds of multiply-add)."""
        return {name: cost.macs for name, cost in self.form_costs().items()}

    def form_for(self, batch: int, time: int, device: torch.device | None = None) -> str:
        """The form a call on a ``(batch, C_in, time)`` input runs: ``impl``, or with
        ``impl="polyphase"`` the cheapest of :meth:`form_costs` for that many input
        steps under the engine's CPU cost model (:func:`~upsamplers.ops.choose_form`):
        the per-call costs (a folded weight, end corrections) decide short inputs,
        the multiply-adds long ones; the plain composition (where it is exact)
        unless another form is predicted cheaper by
        :data:`~upsamplers.ops.plan.PLAIN_MARGIN`. On another device, the fewest
        multiply-adds (the model is measured on CPU)."""
        if self.impl != "polyphase":
            return self.impl
        model = CPU_MODEL if device is None or device.type == "cpu" else None
        return choose_form(self._auto_costs, batch, time, model, prefer="naive")

    def macs_per_input_sample(self) -> int:
        """Multiply-adds per input time step (per batch item) at the arithmetic
        floor, whichever ``impl`` runs (a property of the function): the least of
        the folded form counting only the taps that can be non-zero (``C_in * C_out *
        phase_taps()``) and the filtered and projected forms (:meth:`form_costs`)."""
        folded = self.in_channels * self.out_channels * self.phase_taps()
        return min([folded] + [self._costs[f].macs for f in ("filtered", "projected")
                               if f in self._costs])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        if is_symbolic():
            form = self.form  # the length is symbolic: the form for long inputs
        else:
            form = self.form_for(x.shape[0], x.shape[-1], x.device)
        if form == "naive":
            return conv1d_same(self.interpolate(x), self.conv.weight, self.conv.bias)
        if form == "filtered":
            weight = self._as_tensor(self._depthwise, self.conv.weight)
            u = polyphase_interpolate(x, self.phases, weight)
            return conv1d_same(u, self.conv.weight, self.conv.bias)
        return self._low_rate(x, projected=form == "projected")

    def _low_rate(self, x: torch.Tensor, *, projected: bool) -> torch.Tensor:
        """The folded form (the phase kernels built from ``conv.weight``, one low-rate
        convolution) or the projected one (``conv.weight``'s taps at the low rate, then
        the fixed grouped filter of :func:`~upsamplers.ops.projection_phases`): the same
        phase sums, shuffled with per-phase starts and corrected at the ends."""
        r, time = self.factor, x.shape[-1]
        fold = self.fold
        bias = None if self.conv.bias is None else self.conv.bias.repeat_interleave(r)
        if projected:
            # (C_out, C_in, K) -> (C_out * K, C_in, 1): row c * K + k is tap k of channel c
            taps = self.conv.weight.permute(0, 2, 1).reshape(-1, self.in_channels, 1)
            source, groups = F.conv1d(x, taps), self.out_channels  # (B, C_out * K, T)
            weight = self._as_tensor(self._projection, self.conv.weight)
        else:
            # Phase i keeps only taps starts[i] .. starts[i] + width - 1 of its kernel
            # (the others are zero): (C_out * r, C_in, width), row c * r + i.
            source, groups = x, 1
            weight = fold_weight(self.conv.weight,
                                 self._as_tensor(self._compact, self.conv.weight))
        starts = fold.starts
        if self._exact_at_ends:
            # Symmetric zero padding p: column j of z reads x[j - p .. j - p + width - 1],
            # and phase i of block s is column s + starts[i] + p - left.
            pad = max(fold.left, max(starts) + fold.width - 1 - fold.left)
            shift = pad - fold.left
            return polyphase_conv(source, weight, bias, padding=pad, length=time,
                                  starts=[o + shift for o in starts], groups=groups)
        # With margins of `tail` blocks before and `head` blocks after, so that the end
        # corrections fit for every T >= 1 without branching on T: phase i of block s
        # is column s + tail + starts[i] (+ shift, with symmetric zero padding).
        head, tail = self.plan.head, self.plan.tail
        before = fold.left + tail
        after = max(0, head + max(starts) + fold.width - 1 - fold.left)
        if self.phases.extension == "replicate":
            # (the projection is per time step, so it commutes with the replication)
            source, pad, shift = F.pad(source, (before, after), mode="replicate"), 0, 0
        else:
            pad = max(before, after)
            shift = pad - before
        head_terms, tail_terms = end_terms(x, self.conv.weight, self.phases,
                                           self._as_tensor(self.phases.taps, x),
                                           kernel_size=self.kernel_size)
        low = min(starts)
        return polyphase_conv(
            source, weight, bias, padding=pad, length=time,
            starts=[tail + o + shift for o in starts], groups=groups,
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

    * ``impl="polyphase"`` (default) runs, on every call, the form the engine's
      cost model prices cheapest for that batch and length (:meth:`form_for`,
      :meth:`form_costs`, ``docs/speed.md``): per-call costs decide short
      inputs, multiply-adds long ones; :attr:`form` is the form for long inputs
      (and exported graphs). The plain composition is a candidate only where it
      is exact (:attr:`naive_is_exact`).
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
    * ``impl="projected"`` applies the kernel's ``K`` taps at the low rate (one
      convolution to ``C_out * K`` channels), then the interpolation and the
      taps' offsets as ``r`` fixed filters on each projection (one grouped
      convolution, :func:`~upsamplers.ops.projection_phases`), with the same
      shuffle and end corrections as the folded form.
    * ``impl="naive"`` runs the composition as written above, at the high rate.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the high-rate convolution (default ``2 * factor + 1``).
        mode: ``"nearest"`` (default) or ``"linear"``; keyword-only (a mode passed as the
            4th positional argument, the order before 0.2, still works and warns).
        impl: ``"polyphase"`` (default), ``"folded"``, ``"filtered"``, ``"projected"``
            or ``"naive"``; the same function every way.
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
        impl: Literal["polyphase", "folded", "filtered", "projected", "naive"] = "polyphase",
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
    runs the form the engine prices cheapest per call, usually the filtered one
    (the ``r`` phases of the low-pass, about ``2 * zeros / cutoff`` taps each, on
    every input channel, then the high-rate convolution) and the projected one
    with many channels and a short kernel; folding the long fixed filter into
    the learnable kernel (``impl="folded"``) would multiply its taps into every
    output channel. ``impl="naive"`` runs the three steps above.

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
        impl: ``"polyphase"`` (default), ``"folded"``, ``"filtered"``, ``"projected"``
            or ``"naive"``.
        bias: learnable bias (default ``False``).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the learnable high-rate ``nn.Conv1d(in_channels, out_channels, kernel_size)``.
        lowpass: the fixed filter ``f``, a float64 numpy array ``(2 * H + 1,)``
            (not a parameter); at most :data:`~upsamplers.ops.lowpass.MAX_LOWPASS_TAPS`
            taps (a designed one at its longest), refused before it is built.
        half_length: ``H`` (not ``half``, which would hide ``nn.Module.half``).
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
        impl: Literal["polyphase", "folded", "filtered", "projected", "naive"] = "polyphase",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factor_ = check_positive_int("factor", factor)  # before the tables use it
        self.cutoff = check_real("cutoff", cutoff, low=0.0, high=1.0, low_open=True)
        check_factor_limit(factor_)
        half = self._design(factor_, zeros, beta, transition, attenuation)
        # the filter reaches ceil(H / r) input samples on each side; a designed one
        # may grow by half again to meet its attenuation (_meet_attenuation)
        longest = half if transition is None else half + half // 2
        depth = 2 * math.ceil(longest / factor_) + 3
        named = ({"transition": transition} if transition is not None
                 else {"zeros": self.zeros})
        kernel_size = check_table_size(factor_, kernel_size, depth, **named,
                                       cutoff=self.cutoff)
        check_lowpass_size(factor_, half, designed=transition is not None, **named,
                           cutoff=self.cutoff, attenuation=self.attenuation,
                           hint="raise transition or cutoff, lower attenuation, zeros or "
                                "the factor (chain layers)")
        if transition is not None:
            half = self._meet_attenuation(factor_, half)
        #: ``H``: the fixed low-pass has ``2 H + 1`` taps (named so as not to hide
        #: ``nn.Module.half``)
        self.half_length = half
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
        """``half`` lengthened until the stop band from ``cutoff + transition / 2`` is
        :attr:`attenuation` down (:func:`~upsamplers.ops.lowpass.lengthen_to_attenuation`)."""
        return lengthen_to_attenuation(factor, self.cutoff, self.beta, half, self.attenuation,
                                       self.cutoff + self.transition / 2,
                                       design_points(factor, 4096))

    def band_edges(self) -> tuple[float, float]:
        """``(cutoff - transition / 2, cutoff + transition / 2)``: the designed pass-
        and stop-band edges (with ``zeros``, the transition band Kaiser's estimate
        gives the filter's length and attenuation)."""
        return max(self.cutoff - self.transition / 2, 0.0), self.cutoff + self.transition / 2

    def interpolation_macs(self) -> int:
        """Multiply-adds per input time step (per channel) of :meth:`interpolate`: the
        whole low-pass on the zero-stuffed signal, ``factor * (2 H + 1)``."""
        return self.factor * int(self.lowpass.shape[0])

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
