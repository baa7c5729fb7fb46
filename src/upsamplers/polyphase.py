"""The polyphase view: every upsampler by ``r`` is ``r`` low-rate kernels plus an
interleave.

Before any nonlinearity, output sample ``y[s * r + i]`` of an upsampler is a
low-rate convolution of the input with a kernel ``h_i`` that depends only on the
phase ``i``. :class:`PhaseKernels` holds those kernels in one convention for
every family::

    y[b, c, s * r + i] = bias[i, c] + sum_{c', k} weight[i, c, c', k] * xpad[b, c', s + k]

where ``xpad`` is the input with ``left`` zeros before it and
``K - 1 - left`` zeros after it (``K = weight.shape[-1]``). Executing it is one
low-rate convolution to ``r * C_out`` channels and a periodic shuffle
(:func:`polyphase_forward`).

Interpolation + convolution (:class:`~upsamplers.layers.InterpUpsample1d`,
:class:`~upsamplers.layers.SincUpsample1d`) is folded into this form:

* :class:`InterpolationPhases` (:func:`nearest_phases`, :func:`linear_phases`,
  :func:`sinc_phases`) writes an interpolation as ``r`` low-rate filters;
* :func:`fold_map` gives the linear map from the learnable high-rate kernel to
  the phase kernels, and :func:`fold_weight` applies it (differentiably);
* :func:`end_terms` gives the exact corrections at the two ends, where the
  high-rate convolution reads zeros instead of interpolated values;
* :func:`phase_shuffle` and :func:`polyphase_conv` execute it: each phase keeps
  only the taps it needs, and convolution + shuffle run a batch chunk at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_positive_int, check_real, check_signal
from .shuffle import periodic_shuffle


@dataclass
class PhaseKernels:
    """The ``r`` low-rate kernels of an upsampler.

    Attributes:
        weight: ``(factor, C_out, C_in, K)``; ``weight[i]`` computes phase ``i``.
        left: zeros padded before the input (the rest, ``K - 1 - left``, after it).
        bias: ``(factor, C_out)`` or ``None``; ``bias[i]`` is added to phase ``i``.
    """

    weight: torch.Tensor
    left: int
    bias: torch.Tensor | None = None

    @property
    def factor(self) -> int:
        return self.weight.shape[0]

    @property
    def kernel_size(self) -> int:
        return self.weight.shape[-1]

    def dc_gains(self) -> torch.Tensor:
        """``(factor, C_out, C_in)``: each phase kernel's response to a constant input
        (the sum of its taps). Unequal gains across phases mean tonal artifacts."""
        return self.weight.sum(dim=-1)

    def detached(self) -> PhaseKernels:
        """The same kernels, cut from the autograd graph."""
        bias = None if self.bias is None else self.bias.detach()
        return PhaseKernels(self.weight.detach(), self.left, bias)

    def stacked(self) -> torch.Tensor:
        """``(C_out * factor, C_in, K)`` in ``order="channel"`` layout: row ``c * r + i``
        is ``weight[i, c]``."""
        r, c_out, c_in, k = self.weight.shape
        return self.weight.transpose(0, 1).reshape(c_out * r, c_in, k)


def polyphase_forward(x: torch.Tensor, kernels: PhaseKernels) -> torch.Tensor:
    """Run an upsampler from its phase kernels: one low-rate convolution to
    ``C_out * factor`` channels, then the periodic shuffle.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``
    """
    check_signal("x", x, channels=kernels.weight.shape[2])
    r = kernels.factor
    right = kernels.kernel_size - 1 - kernels.left
    bias = None if kernels.bias is None else kernels.bias.T.reshape(-1)  # row c*r + i
    if kernels.left == right:
        y = F.conv1d(x, kernels.stacked(), bias, padding=right)
    else:
        y = F.conv1d(F.pad(x, (kernels.left, right)), kernels.stacked(), bias)
    return periodic_shuffle(y, r, order="channel")


def _subpixel_kernels(layer: nn.Module) -> PhaseKernels:
    conv = layer.conv
    r, c_out = layer.factor, layer.out_channels
    w = conv.weight  # (C_out * r, C_in, K)
    if layer.order == "channel":
        weight = w.reshape(c_out, r, *w.shape[1:]).transpose(0, 1)  # row c*r + i
    else:
        weight = w.reshape(r, c_out, *w.shape[1:])  # row i*C + c
    bias = None
    if conv.bias is not None:
        b = conv.bias
        bias = b.reshape(c_out, r).T if layer.order == "channel" else b.reshape(r, c_out)
    left = (conv.weight.shape[-1] - 1) // 2
    return PhaseKernels(weight, left, bias)


def transposed_phase_kernels(
    weight: torch.Tensor, stride: int, crop_left: int, bias: torch.Tensor | None = None
) -> PhaseKernels:
    """Phase kernels of a transposed convolution.

    ``weight`` is a ``ConvTranspose1d`` weight ``(C_in, C_out, K)``; the upsampler's
    output is the full transposed convolution with its first ``crop_left`` samples
    dropped. Full output ``z[n] = sum_t x[t] w[n - t r]``; output sample
    ``y[s r + i] = z[s r + i + L]``. Writing ``i + L = q r + p``,
    ``y[s r + i] = sum_j w[j r + p] x[s + q - j]``: phase ``i`` uses every
    ``r``-th tap starting at ``p``, reversed.
    """
    r = stride
    c_in, c_out, k = weight.shape
    taps = -(-k // r)  # J = ceil(K / r) taps per phase
    w = F.pad(weight, (0, taps * r - k)).reshape(c_in, c_out, taps, r)  # [.., j, p] = w[j r + p]
    q = [(i + crop_left) // r for i in range(r)]
    p = [(i + crop_left) % r for i in range(r)]
    left = taps - 1 - q[0]
    size = taps - q[0] + q[-1]
    phases = []
    for i in range(r):
        h = w[:, :, :, p[i]].flip(-1)  # h[k'] = w[(J - 1 - k') r + p]
        start = left + q[i] - (taps - 1)  # where tap j = J - 1 lands: k = left + q - j
        h = F.pad(h, (start, size - start - taps))
        phases.append(h.transpose(0, 1))  # (C_in, C_out, K) -> (C_out, C_in, K)
    if bias is not None:
        bias = bias.expand(r, c_out)
    return PhaseKernels(torch.stack(phases), left, bias)


# --------------------------------------------------------------------------
# Interpolation + convolution in polyphase form.
#
# An interpolation by r is itself a polyphase filter: the upsampled signal is
#     u[t r + j] = sum_d A[j, d] * x[t + d0 + d]          (0 <= t < T)
# with x extended past its ends as the interpolation defines (replicated edge
# samples for linear, zeros otherwise). A high-rate "same" convolution of u with
# a K-tap kernel w (left padding L = (K - 1) // 2) then gives
#     y[s r + i] = sum_k w[k] u[s r + i + k - L]
# and writing i + k - L = q r + j,
#     y[s r + i] = sum_k w[k] sum_d A[j, d] x[s + q + d0 + d] = sum_e h_i[e] x[s + e]
# so the phase kernel h_i is a fixed linear map of w: h_i[e] = sum_k w[k] M[k, i, e].
# This holds wherever the window of the high-rate convolution stays inside
# u[0 : T r]. Near the ends the high-rate convolution reads the zeros it pads u
# with, not interpolated values, and the few low-rate columns concerned are
# corrected exactly (see InterpUpsample1d).


@dataclass(frozen=True)
class InterpolationPhases:
    """An interpolation by ``factor`` as ``factor`` low-rate filters.

    ``u[t * r + j] = sum_d taps[j, d] * x[t + offset + d]``, where ``x`` is extended
    past its ends with zeros (``extension="zeros"``) or by repeating its first and
    last samples (``extension="replicate"``).

    Attributes:
        taps: ``(factor, D)`` float64 array.
        offset: input offset of ``taps[:, 0]`` (``d0 <= 0``).
        extension: ``"zeros"`` or ``"replicate"``.
    """

    taps: np.ndarray
    offset: int
    extension: str

    @property
    def factor(self) -> int:
        return int(self.taps.shape[0])


def _trim_columns(taps: np.ndarray, offset: int) -> tuple[np.ndarray, int]:
    """Drop all-zero leading and trailing columns, keeping the offset right."""
    used = np.flatnonzero(np.any(taps != 0, axis=0))
    return taps[:, used[0]: used[-1] + 1], offset + int(used[0])


def nearest_phases(factor: int) -> InterpolationPhases:
    """Nearest neighbour: ``u[t * r + j] = x[t]``."""
    factor = check_positive_int("factor", factor)
    return InterpolationPhases(np.ones((factor, 1)), 0, "zeros")


def linear_phases(factor: int) -> InterpolationPhases:
    """Linear interpolation, ``F.interpolate(mode="linear", align_corners=False)``.

    Output ``t * r + j`` sits at input position ``t + f_j`` with
    ``f_j = (j + 0.5) / r - 0.5`` in ``(-0.5, 0.5)``: between ``x[t]`` and ``x[t + 1]``
    when ``f_j >= 0``, between ``x[t - 1]`` and ``x[t]`` otherwise. PyTorch clamps the
    position to ``[0, T - 1]``, which is the same as repeating the edge samples.
    """
    factor = check_positive_int("factor", factor)
    taps = np.zeros((factor, 3))  # columns: x[t - 1], x[t], x[t + 1]
    for j in range(factor):
        frac = (j + 0.5) / factor - 0.5
        if frac >= 0:
            taps[j, 1], taps[j, 2] = 1.0 - frac, frac
        else:
            taps[j, 0], taps[j, 1] = -frac, 1.0 + frac
    taps, offset = _trim_columns(taps, -1)
    return InterpolationPhases(taps, offset, "replicate")


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser's formula for the window parameter ``beta`` that gives a stop band
    ``attenuation_db`` below the pass band."""
    a = float(attenuation_db)
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def sinc_filter(factor: int, *, cutoff: float = 0.9, zeros: int = 6,
                beta: float | None = None) -> np.ndarray:
    """The high-rate low-pass filter of :class:`~upsamplers.layers.SincUpsample1d`.

    Kaiser-windowed sinc, centred, odd length ``2 * H + 1`` with
    ``H = ceil(zeros * factor / cutoff)``::

        f[n] = (cutoff / r) * sinc(cutoff * n / r) * kaiser(n / H, beta),   |n| <= H

    so the cut-off is ``cutoff`` times the input Nyquist frequency and the window
    spans ``zeros`` zero crossings of the sinc on each side. Then every phase is
    scaled so that its taps sum to one (``f[j - d * r]`` over ``d``, for each ``j``):
    the filter has gain ``factor`` (which undoes the zero stuffing) and a constant
    input gives a constant output, with no replicas of DC.

    Args:
        factor: upsampling factor ``r``.
        cutoff: cut-off as a fraction of the input Nyquist frequency, in ``(0, 1]``.
        zeros: zero crossings of the sinc kept on each side (``>= 1``).
        beta: Kaiser window parameter; ``None`` picks ``kaiser_beta(80)``.

    Returns:
        float64 array of length ``2 * H + 1``; tap ``H`` is the centre.
    """
    factor = check_positive_int("factor", factor)
    zeros = check_positive_int("zeros", zeros)
    cutoff = check_real("cutoff", cutoff, low=0.0, high=1.0, low_open=True)
    if beta is None:
        beta = kaiser_beta(80.0)
    beta = check_real("beta", beta, low=0.0)
    half = math.ceil(zeros * factor / cutoff)
    n = np.arange(-half, half + 1)
    arg = cutoff * n / factor
    taps = cutoff / factor * np.sinc(arg) * np.kaiser(2 * half + 1, beta)
    crossing = (n != 0) & (np.abs(arg - np.round(arg)) < 1e-12)
    taps[crossing] = 0.0  # exact zeros of the sinc (np.sinc leaves ~1e-17 there)
    for j in range(factor):  # phase j of the interpolation uses taps n = j - d r
        sel = (n - j) % factor == 0
        taps[sel] /= taps[sel].sum()
    return taps


def sinc_phases(factor: int, *, cutoff: float = 0.9, zeros: int = 6,
                beta: float | None = None) -> InterpolationPhases:
    """Zero stuffing by ``factor`` then the centred filter :func:`sinc_filter`
    (zero padding): ``u[t r + j] = sum_s f[j + (t - s) r] x[s]``, so output
    ``t * r`` is aligned with input sample ``t``."""
    taps = sinc_filter(factor, cutoff=cutoff, zeros=zeros, beta=beta)
    half = (len(taps) - 1) // 2
    d_lo = -((half + factor - 1) // factor) - 1
    d_hi = (half + factor - 1) // factor + 1
    table = np.zeros((factor, d_hi - d_lo + 1))
    for j in range(factor):
        for col, d in enumerate(range(d_lo, d_hi + 1)):
            n = j - d * factor  # u[t r + j] takes x[t + d] with tap f[n]
            if -half <= n <= half:
                table[j, col] = taps[n + half]
    table, offset = _trim_columns(table, d_lo)
    return InterpolationPhases(table, offset, "zeros")


@dataclass(frozen=True)
class FoldMap:
    """The linear map from a high-rate kernel to the phase kernels of
    interpolation + convolution: ``h[i, e] = sum_k w[k] * matrix[k, i, e]``.

    Attributes:
        matrix: ``(K, factor, E)`` float64 array.
        left: the phase kernels read ``x[s + e - left]`` (``left`` zeros padded before).
        support: ``(factor,)`` number of taps of each phase kernel that can be non-zero.
        starts: ``(factor,)`` first tap of a window of ``width`` taps that holds every
            tap of phase ``i`` that can be non-zero.
        width: the widest phase's support; executing with ``width`` taps per phase
            (:func:`phase_shuffle` lines the phases up) does the least arithmetic.
    """

    matrix: np.ndarray
    left: int
    support: np.ndarray
    starts: tuple[int, ...] = ()
    width: int = 0

    def compact(self) -> np.ndarray:
        """``(K, factor, width)``: ``matrix[:, i, starts[i] : starts[i] + width]``."""
        return np.stack([self.matrix[:, i, o: o + self.width]
                         for i, o in enumerate(self.starts)], axis=1)

    @property
    def size(self) -> int:
        return int(self.matrix.shape[-1])

    @property
    def right(self) -> int:
        return self.size - 1 - self.left


def fold_map(phases: InterpolationPhases, kernel_size: int) -> FoldMap:
    """Fold an interpolation into a ``kernel_size``-tap high-rate "same"
    convolution (see the comment above :class:`InterpolationPhases`)."""
    kernel_size = check_positive_int("kernel_size", kernel_size)
    r = phases.factor
    pad = (kernel_size - 1) // 2
    depth = phases.taps.shape[1]
    e_lo = (-pad) // r + phases.offset
    e_hi = (r - 1 + kernel_size - 1 - pad) // r + phases.offset + depth - 1
    matrix = np.zeros((kernel_size, r, e_hi - e_lo + 1))
    for k in range(kernel_size):
        for i in range(r):
            q, j = divmod(i + k - pad, r)
            start = q + phases.offset - e_lo
            matrix[k, i, start: start + depth] += phases.taps[j]
    used = np.flatnonzero(np.any(matrix != 0, axis=(0, 1)))
    matrix = matrix[:, :, used[0]: used[-1] + 1]
    left = -(e_lo + int(used[0]))
    nonzero = np.any(matrix != 0, axis=0)  # (r, E)
    first = np.array([np.flatnonzero(row)[0] for row in nonzero])
    last = np.array([np.flatnonzero(row)[-1] for row in nonzero])
    support = last - first + 1
    width = int(support.max())
    starts = tuple(int(min(a, matrix.shape[-1] - width)) for a in first)
    return FoldMap(matrix, left, support, starts, width)


def fold_weight(weight: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Phase kernels from a high-rate kernel, stacked in ``order="channel"`` layout.

    ``weight`` ``(C_out, C_in, K)`` and ``matrix`` ``(K, r, E)`` give
    ``(C_out * r, C_in, E)`` whose row ``c * r + i`` is phase ``i`` of output channel
    ``c``. Linear in ``weight``, so gradients flow to it.
    """
    c_out, c_in, _ = weight.shape
    _, r, size = matrix.shape
    # (C_out, C_in, K) x (K, r, E) -> (C_out, r, C_in, E)
    folded = torch.einsum("ock,kie->oice", weight, matrix)
    return folded.reshape(c_out * r, c_in, size)


def _phase_groups(starts: Sequence[int]) -> list[tuple[int, int, int]]:
    """Runs of consecutive phases with the same start: ``(first, end, start)``."""
    groups: list[tuple[int, int, int]] = []
    for i, o in enumerate(starts):
        if groups and groups[-1][2] == o:
            groups[-1] = (groups[-1][0], i + 1, o)
        else:
            groups.append((i, i + 1, o))
    return groups


class _PhaseShuffle(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, starts: tuple[int, ...],  # type: ignore[override]
                length: int) -> torch.Tensor:
        batch, rows, columns = z.shape
        r = len(starts)
        z4 = z.view(batch, rows // r, r, columns)  # (B, C * r, N) -> (B, C, r, N)
        out = z.new_empty(batch, rows // r, length, r)
        for first, end, start in _phase_groups(starts):
            # (B, C, p, T) -> (B, C, T, p): phase i of block s is column s + starts[i]
            out[..., first:end].copy_(z4[:, :, first:end, start: start + length].transpose(2, 3))
        ctx.meta = (starts, columns)
        return out.view(batch, rows // r, length * r)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        starts, columns = ctx.meta
        r = len(starts)
        batch, channels, total = grad.shape
        length = total // r
        g4 = grad.reshape(batch, channels, length, r)
        out = grad.new_empty(batch, channels, r, columns)
        for first, end, start in _phase_groups(starts):
            out[:, :, first:end, :start].zero_()
            out[:, :, first:end, start + length:].zero_()
            out[:, :, first:end, start: start + length].copy_(g4[..., first:end].transpose(2, 3))
        return out.view(batch, channels * r, columns), None, None


def phase_shuffle(z: torch.Tensor, starts: Sequence[int], length: int) -> torch.Tensor:
    """Periodic shuffle in which each phase starts at its own column:
    ``y[b, c, s * r + i] = z[b, c * r + i, s + starts[i]]`` for ``0 <= s < length``.

    With ``starts`` all zero and ``length = N`` it is
    :func:`~upsamplers.shuffle.periodic_shuffle` (``order="channel"``). It lets
    each phase kernel keep only the taps it needs (:attr:`FoldMap.width`) while
    the phases stay aligned. One copy forward, one copy backward.

    Shape:
        ``(B, C * r, N) -> (B, C, length * r)`` with ``r = len(starts)``.
    """
    starts = tuple(int(o) for o in starts)
    if z.shape[1] % len(starts) != 0:
        raise ValueError(f"the channel count of z must be divisible by {len(starts)}; "
                         f"received shape {tuple(z.shape)}")
    if min(starts) < 0 or max(starts) + length > z.shape[-1]:
        raise ValueError(f"starts + length must lie within the {z.shape[-1]} columns of z; "
                         f"received starts={starts}, length={length}")
    return _PhaseShuffle.apply(z, starts, length)


# Work on batches of about this many bytes of low-rate convolution output at a
# time: the intermediate stays in cache and is recycled by the allocator instead
# of being page-faulted in afresh on every call (large allocations are mmapped).
# Measured on a 2-core machine (B=8, C=64, T=4096, x4): 4 and 8 MB equally fast
# on one thread, 8 MB better on two (fewer parallel regions); unchunked ~1.4-1.9x slower.
CHUNK_BYTES = 1 << 23


def _chunks(batch: int, per_item: Any) -> list[tuple[int, int]]:
    if not isinstance(per_item, int) or torch.compiler.is_compiling():
        return [(0, batch)]  # traced with a symbolic length: one chunk, no shape guard
    step = max(1, min(batch, CHUNK_BYTES // max(1, per_item)))
    return [(b, min(batch, b + step)) for b in range(0, batch, step)]


class _PolyphaseConv(torch.autograd.Function):
    """Low-rate convolution, optional additions at two column ranges, and
    :func:`phase_shuffle`, batch chunk by batch chunk, with a hand-written backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor,  # type: ignore[override]
                bias: torch.Tensor | None, head: torch.Tensor, tail: torch.Tensor,
                meta: tuple[Any, ...]) -> torch.Tensor:
        padding, starts, length, head_at, tail_at = meta
        r = len(starts)
        batch = x.shape[0]
        rows = weight.shape[0]
        columns = x.shape[-1] + 2 * padding - weight.shape[-1] + 1
        out = x.new_empty(batch, rows // r, length, r)
        groups = _phase_groups(starts)
        spans = _chunks(batch, rows * columns * x.element_size())
        for b0, b1 in spans:
            z = F.conv1d(x[b0:b1], weight, bias, padding=padding)  # (b, C * r, N)
            if head.shape[-1]:
                z[..., head_at: head_at + head.shape[-1]] += head[b0:b1]
            if tail.shape[-1]:
                z[..., tail_at: tail_at + tail.shape[-1]] += tail[b0:b1]
            z4 = z.view(b1 - b0, rows // r, r, columns)  # (b, C * r, N) -> (b, C, r, N)
            for first, end, start in groups:
                # (b, C, p, T) -> (b, C, T, p): phase i of block s is column s + starts[i]
                out[b0:b1, :, :, first:end].copy_(
                    z4[:, :, first:end, start: start + length].transpose(2, 3))
        ctx.save_for_backward(x, weight)
        ctx.meta = (meta, columns, bias is not None, head.shape[-1], tail.shape[-1], spans)
        return out.view(batch, rows // r, length * r)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        meta, columns, has_bias, n_head, n_tail, spans = ctx.meta
        padding, starts, length, head_at, tail_at = meta
        r = len(starts)
        batch, rows = x.shape[0], weight.shape[0]
        need_x, need_w, need_b, need_h, need_t = ctx.needs_input_grad[:5]
        g4 = grad.reshape(batch, rows // r, length, r)
        gx = torch.empty_like(x) if need_x else None
        gw = torch.zeros_like(weight) if need_w else None
        gb = weight.new_zeros(rows) if (need_b and has_bias) else None
        gh = grad.new_empty(batch, rows, n_head) if need_h else None
        gt = grad.new_empty(batch, rows, n_tail) if need_t else None
        groups = _phase_groups(starts)
        for b0, b1 in spans:
            gz = grad.new_empty(b1 - b0, rows // r, r, columns)
            for first, end, start in groups:
                gz[:, :, first:end, :start].zero_()
                gz[:, :, first:end, start + length:].zero_()
                gz[:, :, first:end, start: start + length].copy_(
                    g4[b0:b1, :, :, first:end].transpose(2, 3))
            gz = gz.view(b1 - b0, rows, columns)
            if gh is not None:
                gh[b0:b1] = gz[..., head_at: head_at + n_head]
            if gt is not None:
                gt[b0:b1] = gz[..., tail_at: tail_at + n_tail]
            if need_x or need_w or (need_b and has_bias):
                gx_c, gw_c, gb_c = torch.ops.aten.convolution_backward(
                    gz, x[b0:b1], weight, [rows] if has_bias else None, [1], [padding], [1],
                    False, [0], 1, [need_x, need_w, need_b and has_bias])
                if gx is not None:
                    gx[b0:b1] = gx_c
                if gw is not None:
                    gw += gw_c
                if gb is not None:
                    gb += gb_c
        return gx, gw, gb, gh, gt, None


def polyphase_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
                   padding: int, starts: Sequence[int], length: int,
                   head: torch.Tensor | None = None, head_at: int = 0,
                   tail: torch.Tensor | None = None, tail_at: int = 0) -> torch.Tensor:
    """Low-rate convolution and shuffle in one pass: with
    ``z = conv1d(x, weight, bias, padding=padding)``, then ``z[..., head_at:][..., :a] +=
    head`` and ``z[..., tail_at:][..., :b] += tail`` (the ranges may overlap), the
    result is ``phase_shuffle(z, starts, length)``. Computed a batch chunk at a time
    (see :data:`CHUNK_BYTES`) so that ``z`` never exists in full; differentiable
    with respect to ``x``, ``weight``, ``bias``, ``head`` and ``tail``.

    Shape:
        ``x`` ``(B, C_in, T)``, ``weight`` ``(C_out * r, C_in, E)`` (row ``c * r + i``),
        ``head`` ``(B, C_out * r, a)``, ``tail`` ``(B, C_out * r, b)``
        ``-> (B, C_out, length * r)`` with ``r = len(starts)``.
    """
    starts = tuple(int(o) for o in starts)
    empty = x.new_zeros(x.shape[0], weight.shape[0], 0)
    head = empty if head is None else head
    tail = empty if tail is None else tail
    meta = (int(padding), starts, length, head_at, tail_at)
    return _PolyphaseConv.apply(x, weight, bias, head, tail, meta)


@dataclass(frozen=True)
class EndPlan:
    """Where interpolation + convolution in folded form reads values that the
    naive composition does not (see :func:`end_terms`).

    Attributes:
        head: low-rate output columns at the start that need a correction.
        tail: low-rate output columns at the end that need a correction.
    """

    head: int
    tail: int


def end_plan(factor: int, kernel_size: int) -> EndPlan:
    """The high-rate "same" convolution (``L = (K - 1) // 2`` zeros before) reaches
    ``ceil(L / r)`` blocks of ``r`` samples before the signal and
    ``(r - 1 + K - 1 - L) // r`` blocks after it."""
    pad = (kernel_size - 1) // 2
    return EndPlan(-((-pad) // factor), (factor - 1 + kernel_size - 1 - pad) // factor)


def end_terms(x: torch.Tensor, weight: torch.Tensor, phases: InterpolationPhases,
              taps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What the folded kernels add at the two ends and the naive composition does not.

    The folded form computes the interpolated signal ``u`` for *every* block of
    ``r`` samples its window reaches, including the blocks before ``t = 0`` and
    after ``t = T - 1`` (there ``u`` is the interpolation of the extended input),
    whereas the high-rate convolution pads ``u`` with zeros. The difference is
    the high-rate convolution of those outside blocks alone, which only touches
    the first ``head`` and last ``tail`` low-rate columns (:func:`end_plan`).

    Args:
        x: ``(B, C_in, T)``.
        weight: the high-rate kernel ``(C_out, C_in, K)``.
        phases: the interpolation.
        taps: ``phases.taps`` as a tensor of ``x``'s dtype and device, ``(r, D)``.

    Returns:
        ``(head_terms, tail_terms)`` in low-rate layout, ``(B, C_out * r, head)`` and
        ``(B, C_out * r, tail)`` (row ``c * r + i``), to be *subtracted* from the
        folded output's first ``head`` and last ``tail`` columns. Their shapes do not
        depend on ``T``.
    """
    from .shuffle import periodic_unshuffle

    batch, c_in, time = x.shape
    r, depth = taps.shape
    k = weight.shape[-1]
    pad = (k - 1) // 2
    plan = end_plan(r, k)
    off = phases.offset
    mode = "replicate" if phases.extension == "replicate" else "constant"
    flat = x.reshape(batch * c_in, 1, time)  # (B, C, T) -> (B * C, 1, T)
    kernel = taps.reshape(r, 1, depth)

    def blocks(xe: torch.Tensor) -> torch.Tensor:
        # u of consecutive blocks from the extended input: (B*C, 1, n + D - 1) -> (B, C, n*r)
        u = F.conv1d(xe, kernel)  # (B * C, r, n): u[t r + j] = sum_d A[j, d] xe[t + d]
        n = u.shape[-1]
        return u.reshape(batch, c_in, r, n).transpose(2, 3).reshape(batch, c_in, n * r)

    head_terms = tail_terms = x.new_zeros(batch, weight.shape[0] * r, 0)
    # The blocks before t = 0 read the extended input at indices lo_h .. lo_h + n_h - 1,
    # the blocks after t = T - 1 at T + off .. T + off + n_t - 1. Every slice below
    # has a constant size and constant offsets from the start or the end, so the
    # code does not branch on T (torch.export keeps T dynamic down to T = 1).
    lo_h, n_h = -plan.head + off, plan.head + depth - 1
    n_t = plan.tail + depth - 1
    if lo_h + n_h <= 1 and -off <= 1:
        # only x[0] and x[T - 1] are read (linear): extend one-sample slices
        pad_h = max(0, -lo_h)
        ext_h = F.pad(flat[..., :1], (pad_h, max(0, lo_h + n_h - 1)), mode=mode)
        src_h = ext_h[..., pad_h + lo_h: pad_h + lo_h + n_h]
        pad_t = max(0, -off - 1)
        ext_t = F.pad(flat[..., time - 1:], (pad_t, max(0, off + n_t)), mode=mode)
        src_t = ext_t[..., pad_t + off + 1: pad_t + off + 1 + n_t]
    else:
        # extend the whole input once (zeros for sinc)
        before = max(0, -lo_h, -off - 1)
        after = max(0, lo_h + n_h - 1, off + n_t)
        ext = F.pad(flat, (before, after), mode=mode)
        src_h = ext[..., before + lo_h: before + lo_h + n_h]
        start = ext.shape[-1] - (after - off)  # index T + off
        src_t = ext[..., start: start + n_t]
    if plan.head:
        spill = blocks(src_h)  # (B, C_in, head * r), the blocks before t = 0
        # output n < head * r takes sum_k w[k] spill[n + k - L + head * r]
        width = plan.head * r - pad
        signal = F.pad(spill, (0, width + k - 1))
        head_terms = F.conv1d(signal, weight)[..., width: width + plan.head * r]
        head_terms = periodic_unshuffle(head_terms, r)
    if plan.tail:
        spill = blocks(src_t)  # (B, C_in, tail * r), the blocks after t = T - 1
        # output (T - tail) r + n' takes sum_k w[k] spill[n' + k - L - tail * r]
        signal = F.pad(spill, (pad + plan.tail * r, k))
        tail_terms = F.conv1d(signal, weight)[..., : plan.tail * r]
        tail_terms = periodic_unshuffle(tail_terms, r)
    return head_terms, tail_terms


def phase_kernels(module: nn.Module) -> PhaseKernels:
    """The phase kernels of an upsampling layer, as a differentiable function of
    its weights.

    Supports :class:`~upsamplers.layers.SubPixel1d`,
    :class:`~upsamplers.layers.TransposedUpsample1d` and
    :class:`~upsamplers.layers.InterpUpsample1d` (nearest, linear, and
    :class:`~upsamplers.layers.SincUpsample1d`). For interpolation + convolution
    the kernels are the interpolation folded into ``conv.weight``; they give the
    layer's output exactly for ``mode="nearest"``, and away from the first
    ``left`` and last ``K - 1 - left`` low-rate columns for linear and sinc (at the
    ends those layers read zeros padded at the high rate, and linear
    interpolation repeats the edge samples).

    Raises:
        TypeError: for a module whose phase kernels are not known.
    """
    from .layers import InterpUpsample1d, SubPixel1d, TransposedUpsample1d

    if isinstance(module, SubPixel1d):
        return _subpixel_kernels(module)
    if isinstance(module, InterpUpsample1d):
        r, c_out = module.factor, module.out_channels
        stacked = module.phase_weight()  # (C_out * r, C_in, E), row c*r + i
        weight = stacked.reshape(c_out, r, *stacked.shape[1:]).transpose(0, 1)
        bias = None if module.conv.bias is None else module.conv.bias.expand(r, c_out)
        return PhaseKernels(weight, module.fold.left, bias)
    if isinstance(module, TransposedUpsample1d):
        return transposed_phase_kernels(module.conv.weight, module.factor, module.crop[0],
                                        module.conv.bias)
    raise TypeError(
        "phase_kernels supports SubPixel1d, TransposedUpsample1d and InterpUpsample1d; "
        f"received {type(module).__name__}"
    )
