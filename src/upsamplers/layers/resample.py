"""The resampling upsampler (Gu et al., "Aliasing-Free Neural Audio Synthesis", 2025):
a fixed anti-imaging low-pass with unit pass-band gain and a learnable convolution,
the convolution run at the low rate."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import InvalidValue, check_bool, check_choice, check_positive_int
from ..ops.convolution import is_symbolic
from ..ops.filters import (
    InterpolationResponse,
    interpolation_response,
    kaiser_beta,
    kaiser_half_length,
    response_points,
    sinc_filter,
)
from ..ops.interpolation import (
    interpolation_weight,
    polyphase_interpolate,
    transposed_geometry,
)
from ..ops.kernels import PhaseKernels
from ..ops.lowpass import (
    BLOCK,
    BLOCK_MAX_FACTOR,
    RESAMPLE_IMPLS,
    block_table,
    cheaper_form,
    check_filter_options,
    check_lowpass_size,
    design_resample_filter,
    form_macs,
)
from .base import Upsampler, cached_table, check_factor_limit, format_bytes
from .interpolation import MAX_TABLE_BYTES, check_table_size


def check_resample_filter(factor: int, cutoff: float, transition: float,
                          attenuation: float) -> int:
    """Kaiser's estimate of the low-pass's half length ``H`` for these options, after
    refusing a factor over :data:`~upsamplers.layers.base.MAX_FACTOR` and a low-pass
    longer than :data:`~upsamplers.ops.lowpass.MAX_LOWPASS_TAPS` (before any design
    work; the PyTorch and Keras layers alike)."""
    check_factor_limit(factor)
    half = kaiser_half_length(factor, transition, attenuation)
    check_lowpass_size(factor, half, designed=True, transition=transition,
                       attenuation=attenuation,
                       hint="raise transition, lower attenuation or the factor (chain layers)")
    return half


def check_resample_tables(in_channels: int, out_channels: int, factor: int,
                          kernel_size: int, half: int, impl: str,
                          depth: int | None = None) -> None:
    """Refuse a layer whose fixed float64 tables (the low-pass's ``r`` phases of ``D``
    taps for each channel of the form that runs, and the block table) pass
    :data:`~upsamplers.layers.interpolation.MAX_TABLE_BYTES`, before any is built.
    Before the design (``depth`` not given), from the range of ``D`` the design may give
    (Kaiser's estimate ``half``, lengthened by at most half), and with ``impl="auto"``
    the channels of either form it may pick over that range."""
    longest = half + half // 2
    if depth is None:
        depth = 2 * math.ceil(longest / factor) + 3  # taps per phase, at most
        # at least H // r + 1 (factor >= 2: each column d = 0 .. H // r holds two
        # consecutive taps inside the filter, at most one of them a zero of the sinc)
        shortest = half // factor + 1 if factor >= 2 else 1
    else:
        shortest = depth
    forms = {impl} if impl != "auto" else {
        cheaper_form(form_macs(in_channels, out_channels, factor, kernel_size, d))
        for d in (shortest, depth)}  # the macs differ by a linear function of D
    channels = max(out_channels if form == "mix_first" else in_channels for form in forms)
    need = 8 * factor * depth * (channels + 1)
    if factor <= BLOCK_MAX_FACTOR:
        need += 8 * (BLOCK + depth - 1) * BLOCK * factor
    if need > MAX_TABLE_BYTES:
        raise InvalidValue(
            f"in_channels={in_channels}, out_channels={out_channels}, factor={factor} need "
            f"about {format_bytes(need)} of fixed low-pass tables (up to {depth} taps a "
            f"phase for each of {channels} channels), more than the limit of "
            f"{format_bytes(MAX_TABLE_BYTES)} (upsamplers.layers.interpolation."
            f"MAX_TABLE_BYTES); use fewer channels or a lower factor")


class ResampleUpsample1d(Upsampler):
    """The resampling upsampler: zero stuffing by ``factor``, a fixed
    Kaiser-windowed sinc low-pass with unit pass-band gain, and a learnable
    ``kernel_size``-tap convolution ``C_in -> C_out`` *at the low rate* (Gu et al.,
    2025). The function::

        x (B, C_in, T) --conv1d w, K taps, "same" alignment, at the input rate--> z
                       --zero stuffing (r), centred low-pass f (gain r)----------> u
                       + bias                                       -> (B, C_out, T * r)

    ``z`` and ``u`` are those of the input extended with zeros past both ends (the
    layer is one linear time-invariant filter of the zero-extended input, cropped
    to ``T * r`` samples): ``y[t r + j] = b + sum_d A[j, d] z[t + o + d]`` with
    ``z[t] = sum_k w[k] x[t + k - (K - 1) // 2]`` over all ``t``, where ``A`` is the
    low-pass as ``r`` phases (:func:`~upsamplers.ops.sinc_phases`, ``o`` their
    offset). Output sample ``t * r`` is aligned with input sample ``t`` (the
    filter is centred; ``K`` odd: the convolution too; ``K`` even: one
    more tap after the centre, as ``padding="same"``). Equivalently: the
    learnable kernel dilated by ``r`` applied at the high rate after the
    interpolation (a low-rate mixing commutes with the depthwise fixed filter only
    in this dilated form).

    Each phase of ``f`` sums to one, so a constant stays constant (no replicas of
    DC) and the pass band has unit gain. Filter design: the -6 dB point at
    ``cutoff`` times the input Nyquist frequency, a transition band ``transition``
    wide centred on it, the stop band ``attenuation`` dB down from ``cutoff +
    transition / 2``. With the defaults (``cutoff=0.9, transition=0.3,
    attenuation=90``): flat within 0.001 dB up to 0.75 of the input Nyquist,
    images 90 dB down from 1.05 on (every image of content below 0.95), 40 taps
    per phase (43 at factor 2). Measured on the output in ``tests/test_resample.py``
    (unit weights, ``kernel_size=1``): images of sines at 0.25, 0.5, 0.75 of the
    input Nyquist at -104/-101/-109 dB (factor 2), -104/-127/-105 (3),
    -106/-125/-107 (4), -99/-106/-94 (8), float32 and float64 alike.

    Execution (``impl``), the same function either way (to float rounding), the
    zero-stuffed signal never built:

    * ``"mix_first"``: the learnable convolution at the low rate on the ``C_in``
      channels (``C_in * C_out * K`` multiply-adds per input step), then the
      low-pass on the ``C_out`` channels as ``r`` filters of ``D`` taps
      (``C_out * r * D``): in eager calls as one matrix product per block of
      :data:`BLOCK` input steps (:func:`block_table`, factors up to
      :data:`BLOCK_MAX_FACTOR`; about 3x faster there than the grouped
      convolution, though it multiplies ``(BLOCK + D - 1) / D`` times more);
      in traced, exported or compiled graphs as convolutions (one grouped
      transposed convolution up to x4, as :func:`~upsamplers.ops.polyphase_interpolate`,
      a grouped convolution and an interleave above);
    * ``"filter_first"``: the low-pass on the ``C_in`` channels (``C_in * r * D``),
      then the kernel dilated by ``r`` at the high rate (``C_in * C_out * K * r``):
      cheaper only when ``C_in`` is much smaller than ``C_out`` (e.g. ``C_in = 1``);
    * ``"auto"`` (default): the one with fewer multiply-adds (:attr:`form`).

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the learnable convolution at the *input* rate (default 3,
            the span of a default subpixel convolution; 1 for a pointwise mixing).
        bias: learnable bias, added after the low-pass (default ``False``).
        cutoff: the low-pass's -6 dB point as a fraction of the input Nyquist
            frequency, in ``(0, 1]`` (default 0.9).
        transition: width of the transition band, centred on ``cutoff``, as a
            fraction of the input Nyquist frequency, in ``(0, 2 * cutoff]``
            (default 0.3).
        attenuation: stop-band attenuation in dB, in ``[21, 300]`` (default 90).
        impl: ``"auto"``, ``"mix_first"`` or ``"filter_first"``.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: ``nn.Conv1d(in_channels, out_channels, kernel_size)`` holding the
            learnable weights (used by ``forward`` through its ``weight`` and ``bias``).
        phases: the fixed low-pass as ``factor`` low-rate filters.
        lowpass: the fixed high-rate filter ``f``, float64 ``(2 H + 1,)``.
        half_length: ``H`` (not ``half``, which would hide ``nn.Module.half``).

    Limits (refused in one line before any design work): ``factor`` up to
    :data:`~upsamplers.layers.base.MAX_FACTOR`; a low-pass of at most
    :data:`~upsamplers.ops.lowpass.MAX_LOWPASS_TAPS` taps at its longest (with the
    default filter options, factors up to about 18000: ``factor=16000`` builds in
    about 2 s); fixed tables within
    :data:`~upsamplers.layers.interpolation.MAX_TABLE_BYTES`.
        form: the form ``forward`` runs (``"mix_first"`` or ``"filter_first"``).
    """

    kind = "resample"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int = 3,
        *,
        bias: bool = False,
        cutoff: float = 0.9,
        transition: float = 0.3,
        attenuation: float = 90.0,
        impl: Literal["auto", "mix_first", "filter_first"] = "auto",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factor_ = check_factor_limit(check_positive_int("factor", factor))
        self.cutoff, self.transition, self.attenuation = check_filter_options(
            cutoff, transition, attenuation)
        half = kaiser_half_length(factor_, self.transition, self.attenuation)
        longest = half + half // 2
        check_table_size(factor_, kernel_size, 2 * math.ceil(longest / factor_) + 3,
                         transition=self.transition, cutoff=self.cutoff)
        check_resample_filter(factor_, self.cutoff, self.transition, self.attenuation)
        super().__init__(in_channels, out_channels, factor_, kernel_size)
        self.impl: str = check_choice("impl", impl, RESAMPLE_IMPLS)
        check_bool("bias", bias)
        check_resample_tables(self.in_channels, self.out_channels, self.factor,
                              self.kernel_size, half, self.impl)
        self.conv = nn.Conv1d(self.in_channels, self.out_channels, self.kernel_size,
                              bias=bias, device=device, dtype=dtype)
        #: ``H``: the fixed low-pass has ``2 H + 1`` taps (named so as not to hide
        #: ``nn.Module.half``)
        self.half_length, self.phases = design_resample_filter(
            self.factor, self.cutoff, self.transition, self.attenuation)
        self.lowpass = sinc_filter(self.factor, cutoff=self.cutoff,
                                   beta=kaiser_beta(self.attenuation), half=self.half_length)
        self.form: str = cheaper_form(self.form_macs()) if self.impl == "auto" else self.impl
        channels = self.out_channels if self.form == "mix_first" else self.in_channels
        # fixed float64 tables, converted on use (and cached) for the input's dtype and device
        self._interp = interpolation_weight(self.phases, channels)
        self._blocks = (block_table(self.phases, BLOCK) if self.factor <= BLOCK_MAX_FACTOR
                        else np.zeros((0, 0)))
        self._converted: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}

    # ------------------------------------------------------------------ execution

    def _as_tensor(self, table: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """``table`` (one of this layer's fixed tables) in ``like``'s dtype and device,
        converted once (:func:`~upsamplers.layers.base.cached_table`)."""
        return cached_table(self._converted, table, like)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        if self.form == "filter_first":
            return self._filter_first(x)
        blocks = self._blocks.size and not is_symbolic()
        y = self._mix_first_blocks(x) if blocks else self._mix_first(x)
        return y if self.conv.bias is None else y + self.conv.bias[:, None]

    def _mixed(self, x: torch.Tensor, first: int, length: int) -> torch.Tensor:
        """``z`` (the learnable kernel at the low rate, ``x`` zero-extended) over the
        steps ``first .. first + length - 1``: ``(B, C_out, length)``."""
        k = self.kernel_size
        left = (k - 1) // 2
        # z[t] reads x[t - L .. t + K - 1 - L]: pad x so that the valid convolution
        # starts at step `first` and ends at step first + length - 1
        before = left - first
        after = first + length - 1 + k - 1 - left - (x.shape[-1] - 1)
        return F.conv1d(F.pad(x, (before, after)), self.conv.weight)

    def _mix_first_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """The mix-first form with the low-pass as one matrix product per block of
        :data:`BLOCK` input steps (:func:`block_table`): eager calls."""
        time = x.shape[-1]
        depth, offset = self.phases.taps.shape[1], self.phases.offset
        count = -(-time // BLOCK)
        z = self._mixed(x, offset, count * BLOCK + depth - 1)
        windows = z.unfold(-1, BLOCK + depth - 1, BLOCK)  # (B, C_out, count, BLOCK + D - 1)
        y = windows @ self._as_tensor(self._blocks, z)  # (B, C_out, count, BLOCK r)
        y = y.reshape(*y.shape[:2], -1)  # (B, C_out, count BLOCK r), blocks in time order
        return y if count * BLOCK == time else y[..., : time * self.factor].contiguous()

    def _mix_first(self, x: torch.Tensor) -> torch.Tensor:
        """The mix-first form with the low-pass as convolutions (traced and exported
        graphs, and factors over :data:`BLOCK_MAX_FACTOR`). No bias."""
        k, r = self.kernel_size, self.factor
        left = (k - 1) // 2
        before = k - 1 - left  # z reaches this many steps before x, and `left` after it
        weight = self._as_tensor(self._interp, x)
        if r > 1 and weight.shape[0] == self.out_channels:  # (C_out, 1, D r), not (C_out r, 1, D)
            # one grouped transposed convolution (the transposed form of
            # polyphase_interpolate) on z over the steps -before .. T - 1 + before,
            # cropped by `before` blocks on both sides
            pad = transposed_geometry(self.phases)[0] + before * r  # type: ignore[index]
            z = self._mixed(x, -before, x.shape[-1] + 2 * before)
            return F.conv_transpose1d(z, weight, stride=r, padding=pad,
                                      groups=self.out_channels)
        # r filters of D taps on each channel: step t reads z[t + o .. t + o + D - 1]
        depth, offset = self.phases.taps.shape[1], self.phases.offset
        out = F.conv1d(self._mixed(x, offset, x.shape[-1] + depth - 1), weight,
                       groups=self.out_channels)  # (B, C_out * r, T)
        batch, rows, time = out.shape
        # (B, C, r, T) -> (B, C, T, r) -> (B, C, T * r)
        return out.reshape(batch, rows // r, r, time).transpose(2, 3).reshape(
            batch, rows // r, time * r)

    def _filter_first(self, x: torch.Tensor) -> torch.Tensor:
        """The low-pass on ``C_in`` channels over the steps ``-L .. T + K - 2 - L``,
        then the kernel dilated by ``r``: ``y[m] = sum_k w[k] u[m + (k - L) r]``."""
        k, r = self.kernel_size, self.factor
        left = (k - 1) // 2
        xp = F.pad(x, (left, k - 1 - left)) if k > 1 else x
        u = polyphase_interpolate(xp, self.phases, self._as_tensor(self._interp, xp))
        return F.conv1d(u, self.conv.weight, self.conv.bias, dilation=r)  # (B, C_out, T r)

    # ------------------------------------------------------------------ interface

    @property
    def has_bias(self) -> bool:
        return self.conv.bias is not None

    def form_macs(self) -> dict[str, int]:
        """Multiply-adds per input time step (per batch item) of each form
        (:func:`form_macs`): ``"mix_first"`` ``C_in C_out K + C_out r D``,
        ``"filter_first"`` ``C_in r D + C_in C_out K r`` (``D`` the low-pass's taps
        per phase)."""
        return form_macs(self.in_channels, self.out_channels, self.factor, self.kernel_size,
                         int(self.phases.taps.shape[1]))

    def macs_per_input_sample(self) -> int:
        """Multiply-adds per input time step at the arithmetic floor of the form that
        runs (:attr:`form`; with ``impl="auto"`` the cheaper of :meth:`form_macs`).
        Not ``C_in * C_out * phase_taps()``: the fixed low-pass is applied per
        channel, not folded into every channel pair. (The eager block form of the
        low-pass does ``(BLOCK + D - 1) / D`` times its share, at the matrix-product
        rate.)"""
        return self.form_macs()[self.form]

    def phase_kernels(self) -> PhaseKernels:
        """Phase ``i`` is the learnable kernel convolved (fully) with the low-pass's
        phase ``i``: ``h_i[c, c', e] = sum_{d + k = e} A[i, d] w[c, c', k]``, ``K + D - 1``
        taps, reading ``x[s + e - left]`` with ``left = (K - 1) // 2 - o``. Exact,
        ends included (:attr:`end_effects` is ``None``); differentiable in
        ``conv.weight``."""
        w = self.conv.weight  # (C_out, C_in, K)
        c_out, c_in, k = w.shape
        taps = torch.as_tensor(self.phases.taps, dtype=w.dtype, device=w.device)  # (r, D)
        depth = taps.shape[1]
        # full convolution of each (c, c') kernel with each phase: correlation with the
        # flipped phase over the kernel padded by D - 1 on both sides
        full = F.conv1d(w.reshape(c_out * c_in, 1, k), taps.flip(-1).unsqueeze(1),
                        padding=depth - 1)  # (C_out * C_in, r, K + D - 1)
        weight = full.reshape(c_out, c_in, self.factor, -1).permute(2, 0, 1, 3)
        bias = None if self.conv.bias is None else self.conv.bias.expand(self.factor, c_out)
        return PhaseKernels(weight, (k - 1) // 2 - self.phases.offset, bias)

    def phase_taps(self) -> int:
        """Taps of the phase kernels that can be non-zero, summed over the phases:
        each phase's span of the low-pass plus ``K - 1``."""
        total = 0
        for row in self.phases.taps:
            nonzero = np.flatnonzero(row)
            total += int(nonzero[-1] - nonzero[0] + 1) + self.kernel_size - 1
        return total

    def band_edges(self) -> tuple[float, float]:
        """``(cutoff - transition / 2, cutoff + transition / 2)``, fractions of the
        input Nyquist frequency: the designed pass- and stop-band edges."""
        return max(self.cutoff - self.transition / 2, 0.0), self.cutoff + self.transition / 2

    def response(self, points_per_band: int | None = None) -> InterpolationResponse:
        """The frequency response of the fixed low-pass (gain re DC against frequency
        as a fraction of the input Nyquist, 0 to ``factor``), with its ripple over
        ``[0, cutoff - transition / 2]`` and worst image from ``cutoff + transition /
        2``; the learnable convolution is not included.
        ``points_per_band``: default 4096, fewer above factor 4096 (the FFT within
        :data:`~upsamplers.ops.filters.MAX_RESPONSE_POINTS`; more is refused)."""
        passband, stopband = self.band_edges()
        return interpolation_response(self.phases.taps, self.phases.offset,
                                      passband_edge=passband, stopband_edge=stopband,
                                      points_per_band=response_points(
                                          self.factor, points_per_band))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
                f"kernel_size={self.kernel_size}, cutoff={self.cutoff:g}, "
                f"transition={self.transition:g}, attenuation={self.attenuation:g}, "
                f"bias={self.conv.bias is not None}, impl={self.impl!r}")
