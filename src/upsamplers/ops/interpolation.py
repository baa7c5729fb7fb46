"""Interpolation + convolution in polyphase form: interpolation tables, the fold
map from a high-rate kernel to phase kernels, and the exact corrections at the
two ends.

* :class:`InterpolationPhases` (:func:`nearest_phases`, :func:`linear_phases`,
  :func:`sinc_phases`) writes an interpolation as ``r`` low-rate filters;
* :func:`fold_map` gives the linear map from the learnable high-rate kernel to
  the phase kernels, and :func:`fold_weight` applies it (differentiably);
* :func:`end_terms` gives the exact corrections at the two ends, where the
  high-rate convolution reads zeros instead of interpolated values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import InvalidValue, check_positive_int
from .filters import sinc_filter
from .shuffle import periodic_unshuffle

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


def sinc_phases(factor: int, *, cutoff: float = 0.9, zeros: int = 6,
                beta: float | None = None, half: int | None = None) -> InterpolationPhases:
    """Zero stuffing by ``factor`` then the centred filter :func:`sinc_filter`
    (zero padding): ``u[t r + j] = sum_s f[j + (t - s) r] x[s]``, so output
    ``t * r`` is aligned with input sample ``t``."""
    taps = sinc_filter(factor, cutoff=cutoff, zeros=zeros, beta=beta, half=half)
    half = (len(taps) - 1) // 2
    d_lo = -((half + factor - 1) // factor) - 1
    d_hi = (half + factor - 1) // factor + 1
    # u[t r + j] takes x[t + d] with tap f[n], n = j - d r (zero outside |n| <= half)
    n = np.arange(factor)[:, None] - np.arange(d_lo, d_hi + 1)[None, :] * factor
    inside = np.abs(n) <= half
    table = np.where(inside, taps[np.where(inside, n + half, 0)], 0.0)
    table, offset = _trim_columns(table, d_lo)
    return InterpolationPhases(table, offset, "zeros")


def depthwise_phases(phases: InterpolationPhases, channels: int) -> np.ndarray:
    """``phases.taps`` for every one of ``channels`` channels, as the weight of a
    depthwise convolution: ``(channels * r, 1, D)``, row ``c * r + j`` phase ``j``
    (the fixed weight of :func:`polyphase_interpolate`)."""
    channels = check_positive_int("channels", channels)
    return np.tile(phases.taps[:, None, :], (channels, 1, 1))


def projection_phases(fold: FoldMap, channels: int) -> np.ndarray:
    """The fold map as the fixed weight of a grouped convolution that applies the
    interpolation after the channel mixing (the projected form): ``(channels * r, K,
    width)``, row ``c * r + i``, input channel ``k`` of group ``c``, taps
    ``fold.compact()[k, i]``.

    With ``p[c * K + k] = sum_c' w[c, c', k] * x[c']`` (the learnable kernel's ``K``
    taps applied at the low rate), phase ``i`` of output channel ``c`` is
    ``sum_k sum_e compact[k, i, e] * p[c * K + k][s + starts[i] + e - left]``: the same
    sums as the folded kernels, taken in the other order."""
    channels = check_positive_int("channels", channels)
    table = np.ascontiguousarray(fold.compact().transpose(1, 0, 2))  # (r, K, width)
    return np.tile(table, (channels, 1, 1))


#: Largest factor at which :func:`polyphase_interpolate` runs a zero-extended
#: interpolation as one grouped transposed convolution rather than a grouped
#: convolution + interleave: forward + backward on a 2-core EPYC, one thread, the
#: transposed form took 0.55x the time at x2 (B=4 C=128 T=2048), 0.74x at x4
#: (B=8 C=64 T=4096), about the same at x4 (B=2 C=32 T=1024) and 1.4x at x8
#: (B=1 C=512 T=256).
TRANSPOSED_MAX_FACTOR = 4


def _centred(phases: InterpolationPhases) -> tuple[np.ndarray, int]:
    """``phases.taps`` with zero columns added on one side so that its columns run
    from ``-(D - 1) / 2`` to ``(D - 1) / 2``: ``(taps, offset)``."""
    taps, offset = phases.taps, phases.offset
    excess = 2 * offset + taps.shape[1] - 1  # > 0: more columns after input t than before
    zeros = np.zeros((taps.shape[0], abs(excess)))
    if excess > 0:
        return np.concatenate([zeros, taps], axis=1), offset - excess
    return np.concatenate([taps, zeros], axis=1), offset


def transposed_geometry(phases: InterpolationPhases) -> tuple[int, int] | None:
    """``padding`` and ``length`` of the stride-``r`` transposed convolution with
    :func:`transposed_filter` that computes a zero-extended interpolation (output
    length ``T r``, output padding 0); ``None`` for an interpolation extended by
    replication, or at factor 1."""
    if phases.extension != "zeros" or phases.factor == 1:
        return None
    taps, offset = _centred(phases)
    # centred: offset = -(D - 1) / 2, so the padding is (D r - r) / 2 = (length - r) / 2
    return -offset * phases.factor, taps.size


def transposed_filter(phases: InterpolationPhases) -> np.ndarray:
    """The interpolation as one filter ``g`` for a transposed convolution with stride
    ``r``, ``u[m] = sum_s x[s] g[m + p - s r]`` (:func:`transposed_geometry` gives
    ``p``): with the columns centred (zero columns added), tap ``j + (D - 1 - d) r``
    is ``taps[j, d]``."""
    taps, _ = _centred(phases)
    return np.ascontiguousarray(taps[:, ::-1].T).reshape(-1)


def interpolation_weight(phases: InterpolationPhases, channels: int) -> np.ndarray:
    """The fixed weight :func:`polyphase_interpolate` runs for ``channels`` channels:
    :func:`transposed_filter` for every channel, ``(C, 1, D r)``, where the
    transposed form applies and the factor is at most
    :data:`TRANSPOSED_MAX_FACTOR`; otherwise :func:`depthwise_phases`, ``(C r, 1,
    D)``."""
    channels = check_positive_int("channels", channels)
    if phases.factor <= TRANSPOSED_MAX_FACTOR and transposed_geometry(phases) is not None:
        return np.tile(transposed_filter(phases)[None, None, :], (channels, 1, 1))
    return depthwise_phases(phases, channels)


def polyphase_interpolate(x: torch.Tensor, phases: InterpolationPhases,
                          weight: torch.Tensor) -> torch.Tensor:
    """The interpolation ``u`` of ``x`` (see :class:`InterpolationPhases`), computed
    at the low rate: the zero-stuffed signal is never built nor filtered. With the
    weight of :func:`interpolation_weight`: one grouped transposed convolution
    that writes ``u`` in place (a zero-extended interpolation up to
    :data:`TRANSPOSED_MAX_FACTOR`), or ``r`` low-rate filters on every channel (one
    grouped convolution) and an interleave.

    Args:
        x: ``(B, C, T)``.
        phases: the interpolation.
        weight: :func:`interpolation_weight` of ``phases`` for ``C`` channels as a
            tensor of ``x``'s dtype and device, ``(C, 1, D r)`` or ``(C r, 1, D)``
            (fixed shape: exporters need it).

    Shape:
        ``(B, C, T) -> (B, C, T * r)``
    """
    batch, channels, time = x.shape
    r, depth = phases.taps.shape
    if r > 1 and weight.shape[0] == channels:  # the transposed form, (C, 1, D r)
        if phases.extension != "zeros":
            raise InvalidValue("polyphase_interpolate: a (C, 1, L) weight needs a "
                               "zero-extended interpolation (interpolation_weight)")
        # the filter is centred (transposed_geometry): padding (L - r) / 2, from its length
        return F.conv_transpose1d(x, weight, stride=r, padding=(weight.shape[-1] - r) // 2,
                                  groups=channels)
    left, right = -phases.offset, depth - 1 + phases.offset
    if left or right:
        mode = "replicate" if phases.extension == "replicate" else "constant"
        x = F.pad(x, (max(left, 0), max(right, 0)), mode=mode)
    # one depthwise convolution, the r phases of every channel its outputs (a grouped
    # convolution: faster forward + backward than one 1-channel batch of B * C rows)
    out = F.conv1d(x, weight, groups=channels)  # (B, C * r, T)
    return out.reshape(batch, channels, r, time).transpose(2, 3).reshape(batch, channels,
                                                                         time * r)


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
            (:func:`~upsamplers.ops.polyphase_conv` lines the phases up) does the least arithmetic.
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
    # (k, i) writes taps[j] at columns start .. start + depth - 1, with
    # q, j = divmod(i + k - pad, r) and start = q + offset - e_lo: each (k, i, column)
    # once, so one vectorised assignment (a Python loop over K * r took minutes at
    # large factors)
    k_idx, i_idx = np.meshgrid(np.arange(kernel_size), np.arange(r), indexing="ij")
    q, j = np.divmod(i_idx + k_idx - pad, r)
    cols = (q + phases.offset - e_lo)[..., None] + np.arange(depth)
    matrix[k_idx[..., None], i_idx[..., None], cols] = phases.taps[j]
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
              taps: torch.Tensor, *, kernel_size: int | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
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
        kernel_size: ``K`` (default ``weight.shape[-1]``): the layers pass it, so that
            under ``torch.jit.trace`` (where shapes are tensors) the plan stays constant.

    Returns:
        ``(head_terms, tail_terms)`` in low-rate layout, ``(B, C_out * r, head)`` and
        ``(B, C_out * r, tail)`` (row ``c * r + i``), to be *subtracted* from the
        folded output's first ``head`` and last ``tail`` columns. Their shapes do not
        depend on ``T``.
    """
    batch, c_in, time = x.shape
    # sizes that do not depend on x as ints (under torch.jit.trace .shape gives tensors)
    r, depth = phases.taps.shape
    k = weight.shape[-1] if kernel_size is None else kernel_size
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


def shift_phases(terms: torch.Tensor, starts: tuple[int, ...]) -> torch.Tensor:
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
