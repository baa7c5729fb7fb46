"""Low-rate forms of the Keras upsamplers, ``(B, T, C)`` tensors, ``keras.ops`` only.

* Interpolation (nearest, linear) + a ``K``-tap "same" ``Conv1D`` at the high
  rate: the interpolation is a polyphase filter, so output ``y[s * r + i]`` is a
  low-rate convolution of ``x`` with a phase kernel that is a fixed linear map of
  the learnable kernel (:func:`upsamplers.ops.fold_map`, the numpy table shared
  with the PyTorch core). One low-rate convolution to ``r * C_out`` channels and
  the periodic shuffle (a reshape) replace the composition. Where the high-rate
  convolution reads the zeros it pads the interpolated signal with while the
  folded form, on zero-padded ``x``, reads interpolated values (linear: next to the
  ends), the first ``head`` and last ``tail`` low-rate columns are corrected
  exactly (:func:`end_corrections`). Each phase kernel can be non-zero only on
  ``width`` taps starting at its own ``start``; :func:`phase_conv` can run one
  convolution per run of phases with the same start, ``width`` taps each.
* ``Conv1DTranspose`` with stride ``r`` and "same" padding: phase ``i`` of output
  step ``q`` is ``sum_d x[q - d] w[d * r + i + p]`` (``p = max(K - r, 0) // 2``, the
  crop of every Keras backend), one low-rate convolution and the shuffle.

The kernels built here are in the channel order of :class:`~upsamplers.keras.SubPixel1D`:
channel ``i * C_out + c`` is phase ``i`` of output channel ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from keras import ops

from ..ops.interpolation import (
    InterpolationPhases,
    fold_map,
    linear_phases,
    nearest_phases,
)


@dataclass(frozen=True)
class InterpFold:
    """Interpolation + "same" convolution as one low-rate convolution.

    Attributes:
        matrix: ``(K, r, E)``: phase kernel ``h_i[e] = sum_k w[k] matrix[k, i, e]``,
            applied to ``x[s + e - left]``, ``x`` padded with zeros.
        left, right: input samples read before ``s`` and after it (``E - 1 - left``).
        head_mask: ``(K, head, r)``: what the folded form has in excess of the
            composition in low-rate column ``s < head``, phase ``i``, per unit of
            tap ``k`` and of ``x[0]`` (:func:`_end_masks`).
        tail_mask: ``(K, tail, r)``: the same for the last ``tail`` columns, per unit
            of ``x[T - 1]``.
        starts: ``(r,)``: phase ``i`` can be non-zero only at taps
            ``starts[i] .. starts[i] + width - 1`` of its ``E``.
        width: the taps executed per phase (:class:`~upsamplers.ops.FoldMap`'s ``width``,
            at most ``E``): linear x4 with the default kernel, 4 of ``E = 5``.
    """

    matrix: np.ndarray
    left: int
    right: int
    head_mask: np.ndarray
    tail_mask: np.ndarray
    starts: tuple[int, ...]
    width: int

    @property
    def size(self) -> int:
        return int(self.matrix.shape[-1])

    def compact(self) -> np.ndarray:
        """``(K, r, width)``: ``matrix[:, i, starts[i] : starts[i] + width]``, the
        taps of each phase that can be non-zero (the others are zero for every kernel)."""
        return np.stack([self.matrix[:, i, o: o + self.width]
                         for i, o in enumerate(self.starts)], axis=1)

    def groups(self) -> list[tuple[int, int, int]]:
        """Runs of consecutive phases with the same start: ``(first, end, start)``."""
        runs: list[tuple[int, int, int]] = []
        for i, o in enumerate(self.starts):
            if runs and runs[-1][2] == o:
                runs[-1] = (runs[-1][0], i + 1, o)
            else:
                runs.append((i, i + 1, o))
        return runs


def _interpolate(phases: InterpolationPhases, x: np.ndarray, n: np.ndarray,
                 replicate: bool) -> np.ndarray:
    """``u[n]`` of a scalar signal ``x`` (``T`` samples) at any integer ``n``:
    ``u[t r + j] = sum_d taps[j, d] x[t + offset + d]``, ``x`` extended past its
    ends by repeating its end samples or with zeros."""
    t, j = np.divmod(n, phases.factor)
    m = t[:, None] + phases.offset + np.arange(phases.taps.shape[1])
    inside = (m >= 0) & (m < len(x))
    values = x[np.clip(m, 0, len(x) - 1)] * (replicate | inside)
    return np.sum(phases.taps[j] * values, axis=1)


def _end_masks(phases: InterpolationPhases, kernel_size: int) -> tuple[np.ndarray, ...]:
    """``(head_mask, tail_mask)`` of :class:`InterpFold`.

    The folded form on zero-padded ``x`` convolves ``u0``, the interpolation of
    ``x`` extended with zeros, evaluated past the ends too; the composition
    convolves ``u``, the interpolation as the layer defines it (``replicate``:
    edge samples repeated) inside ``[0, T r)`` and zero outside. For nearest and
    linear interpolation ``u0 - u`` is a multiple of ``x[0]`` near the start and of
    ``x[T - 1]`` near the end, whatever ``T >= 1`` (each reads at most one sample
    past an end), so column ``s`` phase ``i`` has
    ``sum_k w[k] (u0 - u)[s r + i + k - pad]`` in excess. Computed here from the
    interpolation itself on a unit sample at each end of a signal long enough for
    the two ends not to meet.
    """
    r, pad = phases.factor, (kernel_size - 1) // 2
    time = 2 * (kernel_size // r + phases.taps.shape[1] + 2)  # ends that do not meet
    n = np.arange(-pad - 2 * r, time * r + kernel_size + 2 * r)
    masks = []
    for end in (0, time - 1):
        x = np.zeros(time)
        x[end] = 1.0
        excess = _interpolate(phases, x, n, False)
        excess -= _interpolate(phases, x, n, phases.extension == "replicate") * (
            (n >= 0) & (n < time * r))
        # column s phase i tap k reads n = s r + i + k - pad
        s = np.arange(time)[None, :, None]
        at = s * r + np.arange(r)[None, None, :] + np.arange(kernel_size)[:, None, None] - pad
        mask = excess[at - n[0]]  # (K, T, r)
        used = np.flatnonzero(np.any(mask != 0, axis=(0, 2)))
        if end == 0:
            masks.append(mask[:, : used[-1] + 1] if used.size else mask[:, :0])
        else:
            masks.append(mask[:, used[0]:] if used.size else mask[:, time:])
    return tuple(masks)


def interp_fold(mode: str, factor: int, kernel_size: int) -> InterpFold:
    """The fold of ``mode`` interpolation by ``factor`` into a ``kernel_size``-tap
    "same" convolution (left padding ``(K - 1) // 2``, the Keras convention)."""
    phases = nearest_phases(factor) if mode == "nearest" else linear_phases(factor)
    fold = fold_map(phases, kernel_size)
    head_mask, tail_mask = _end_masks(phases, kernel_size)
    return InterpFold(fold.matrix, fold.left, fold.right, head_mask, tail_mask,
                      fold.starts, fold.width)


def _constant(array: np.ndarray, like: Any) -> Any:
    return ops.convert_to_tensor(array, dtype=like.dtype)


def lowrate_conv(x: Any, kernel: Any, left: int, right: int) -> Any:
    """``z[s] = sum_e kernel[e] x[s + e - left]``, ``x`` padded with zeros past its ends.

    Shape:
        ``x`` ``(B, T, C_in)``, ``kernel`` ``(E, C_in, N)`` with ``E = left + 1 + right``
        ``-> (B, T, N)``.
    """
    if left == (left + right) // 2:
        return ops.conv(x, kernel, padding="same")  # the same split, no padded copy
    return ops.conv(ops.pad(x, [[0, 0], [left, right], [0, 0]]), kernel, padding="valid")


def end_corrections(x: Any, kernel: Any, fold: InterpFold, z: Any) -> Any:
    """``z`` ``(B, T, r * C_out)`` from the folded kernels on the zero-padded input,
    less what they have in excess of the composition near the ends (multiples of
    ``x[0]`` and ``x[T - 1]``, :func:`_end_masks`): exact for every ``T >= 1``,
    without branching on ``T`` (which may be unknown when a graph is traced)."""
    c_in, c_out = kernel.shape[1], kernel.shape[2]
    batch = ops.shape(x)[0]
    head, tail = fold.head_mask.shape[1], fold.tail_mask.shape[1]
    terms = []
    for mask, end in ((fold.head_mask, 0), (fold.tail_mask, -1)):
        count, r = mask.shape[1], mask.shape[2]
        # (K, C_in, C_out) x (K, n, r) -> (C_in, n, r, C_out): what x[end] adds wrongly
        gain = ops.einsum("kco,ksi->csio", kernel, _constant(mask, kernel))
        gain = ops.reshape(gain, (c_in, count * r * c_out))
        terms.append(ops.reshape(ops.matmul(x[:, end], gain), (batch, count, r * c_out)))
    time = x.shape[1]
    if isinstance(time, int) and time >= head + tail:
        # T known when traced: one correction tensor, zero between the ends, and
        # one subtraction (slicing z and joining the pieces copies it twice forward
        # and again backward: 2.6x SubPixelConv1D instead of 1.3x on TensorFlow)
        parts = [terms[0]] if head else []
        if time > head + tail:
            parts.append(ops.zeros((batch, time - head - tail, r * c_out), dtype=z.dtype))
        if tail:
            parts.append(terms[1])
        return z - (ops.concatenate(parts, axis=1) if len(parts) > 1 else parts[0])
    # any T >= 1 (fewer columns than head or tail when T is short)
    zeros = ops.zeros_like(z)
    if head:
        z = z - ops.concatenate([terms[0], zeros], axis=1)[:, :-head]
    if tail:
        z = z - ops.concatenate([zeros, terms[1]], axis=1)[:, tail:]
    return z


def phase_conv(x: Any, kernel: Any, fold: InterpFold, *, grouped: bool = True) -> Any:
    """The folded kernels applied to ``x`` (padded as ``fold`` says): phase ``i``
    of column ``s`` is ``sum_e h_i[e] x[s + e - left]``.

    ``grouped``: one low-rate convolution per run of phases with the same start
    (:meth:`InterpFold.groups`), each executing ``fold.width`` taps and reading
    ``x`` from its own offset, joined along the channels (one copy); otherwise
    (or when every phase starts at the same tap) one convolution with all ``E``
    taps and no copy.

    Args:
        x: ``(B, T, C_in)``.
        kernel: the high-rate ``Conv1D`` kernel ``(K, C_in, C_out)``.
        fold: :func:`interp_fold`.

    Shape:
        ``(B, T, C_in) -> (B, T, r * C_out)``, channel ``i * C_out + c`` phase ``i``
        of output channel ``c`` (the folded form before any end correction).
    """
    c_in, c_out = kernel.shape[1], kernel.shape[2]
    groups = fold.groups()
    # the window of a group starting at tap o reads x[s + o - left .. s + o - left + W - 1]
    pads = [(fold.left - o, fold.width - 1 - fold.left + o) for _, _, o in groups]
    if not grouped or len(groups) == 1 or min(min(p) for p in pads) < 0:
        r = fold.matrix.shape[1]
        # (K, C_in, C_out) x (K, r, E) -> (E, C_in, r, C_out) -> (E, C_in, r * C_out)
        folded = ops.einsum("kco,kie->ecio", kernel, _constant(fold.matrix, kernel))
        folded = ops.reshape(folded, (fold.size, c_in, r * c_out))
        return lowrate_conv(x, folded, fold.left, fold.right)
    compact = fold.compact()
    parts = []
    for (first, end, _), (left, right) in zip(groups, pads, strict=True):
        # (K, C_in, C_out) x (K, n, W) -> (W, C_in, n, C_out) -> (W, C_in, n * C_out)
        folded = ops.einsum("kco,kiw->wcio", kernel,
                            _constant(compact[:, first:end], kernel))
        folded = ops.reshape(folded, (fold.width, c_in, (end - first) * c_out))
        parts.append(lowrate_conv(x, folded, left, right))
    return ops.concatenate(parts, axis=2)  # (B, T, r * C_out)


def interp_conv_lowrate(x: Any, kernel: Any, bias: Any, fold: InterpFold, *,
                        grouped: bool = True) -> Any:
    """Interpolation + "same" convolution in low-rate form.

    Args:
        x: ``(B, T, C_in)``.
        kernel: the high-rate ``Conv1D`` kernel ``(K, C_in, C_out)``.
        bias: ``(C_out,)`` or ``None``.
        fold: :func:`interp_fold` for this layer.
        grouped: see :func:`phase_conv`.

    Shape:
        ``(B, T, C_in) -> (B, T * r, C_out)``
    """
    r, c_out = fold.matrix.shape[1], kernel.shape[2]
    z = phase_conv(x, kernel, fold, grouped=grouped)  # (B, T, r * C_out)
    if fold.head_mask.size or fold.tail_mask.size:
        z = end_corrections(x, kernel, fold, z)
    if bias is not None:
        z = z + ops.tile(bias, (r,))
    return ops.reshape(z, (ops.shape(x)[0], -1, c_out))  # (B, T * r, C_out)


def transpose_fold(factor: int, kernel_size: int) -> tuple[np.ndarray, int, int]:
    """``(matrix, left, right)``: tap ``k`` of a stride-``factor`` "same"
    ``Conv1DTranspose`` kernel is tap ``e`` of phase ``i`` of the low-rate kernel
    where ``matrix[k, e, i] = 1``; the low-rate kernel reads ``x[q + e - left]``."""
    crop = max(kernel_size - factor, 0) // 2
    # output q r + i takes x[t] w[k] with t r + k - crop = q r + i, so d = q - t and
    # k - crop = d r + i
    d, i = np.divmod(np.arange(kernel_size) - crop, factor)
    d_lo, d_hi = int(d.min()), int(d.max())
    matrix = np.zeros((kernel_size, d_hi - d_lo + 1, factor))
    matrix[np.arange(kernel_size), d_hi - d, i] = 1.0  # e = left - d, left = d_hi
    return matrix, d_hi, -d_lo


def transposed_as_subpixel(x: Any, kernel: Any, matrix: np.ndarray, left: int,
                           right: int) -> Any:
    """A stride-``r`` "same" ``Conv1DTranspose`` computed as one low-rate
    convolution and the periodic shuffle (no bias, no activation).

    Args:
        x: ``(B, T, C_in)``.
        kernel: the ``Conv1DTranspose`` kernel, ``(K, C_out, C_in)``.
        matrix, left, right: :func:`transpose_fold`.

    Shape:
        ``(B, T, C_in) -> (B, T * r, C_out)``
    """
    c_out, c_in = kernel.shape[1], kernel.shape[2]
    size, r = matrix.shape[1], matrix.shape[2]
    # (K, C_out, C_in) x (K, E, r) -> (E, C_in, r, C_out) -> (E, C_in, r * C_out)
    folded = ops.einsum("koc,kei->ecio", kernel, _constant(matrix, kernel))
    folded = ops.reshape(folded, (size, c_in, r * c_out))
    z = lowrate_conv(x, folded, left, right)
    return ops.reshape(z, (ops.shape(x)[0], -1, c_out))
