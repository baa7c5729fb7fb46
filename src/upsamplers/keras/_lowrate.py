"""Low-rate forms of the Keras upsamplers, ``(B, T, C)`` tensors, ``keras.ops`` only.

* Interpolation (nearest, linear) + a ``K``-tap "same" ``Conv1D`` at the high
  rate: the interpolation is a polyphase filter, so output ``y[s * r + i]`` is a
  low-rate convolution of ``x`` with a phase kernel that is a fixed linear map of
  the learnable kernel (:func:`upsamplers.ops.fold_map`, the numpy table shared
  with the PyTorch core). One low-rate convolution to ``r * C_out`` channels and
  the periodic shuffle (a reshape) replace the composition. Where the high-rate
  convolution reads the zeros it pads the interpolated signal with while the
  folded form reads interpolated values (linear, which repeats the edge samples),
  the first ``head`` and last ``tail`` low-rate columns are corrected exactly
  (:func:`end_corrections`).
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

from ..ops.interpolation import fold_map, linear_phases, nearest_phases


@dataclass(frozen=True)
class InterpFold:
    """Interpolation + "same" convolution as one low-rate convolution.

    Attributes:
        matrix: ``(K, r, E)``: phase kernel ``h_i[e] = sum_k w[k] matrix[k, i, e]``,
            applied to ``x[s + e - left]``.
        left, right: input samples read before ``s`` and after it (``E - 1 - left``).
        edge: pad ``x`` by repeating its end samples (``True``) or with zeros.
        head_mask: ``(K, head, r)``: 1 where tap ``k`` of phase ``i`` in low-rate
            column ``s`` reads before the signal, where the folded form reads
            ``x[0]`` (edge padding) and the composition reads zero.
        tail_mask: ``(K, tail, r)``: the same for the last ``tail`` columns, past the end.
    """

    matrix: np.ndarray
    left: int
    right: int
    edge: bool
    head_mask: np.ndarray
    tail_mask: np.ndarray

    @property
    def size(self) -> int:
        return int(self.matrix.shape[-1])


def interp_fold(mode: str, factor: int, kernel_size: int) -> InterpFold:
    """The fold of ``mode`` interpolation by ``factor`` into a ``kernel_size``-tap
    "same" convolution (left padding ``(K - 1) // 2``, the Keras convention)."""
    phases = nearest_phases(factor) if mode == "nearest" else linear_phases(factor)
    fold = fold_map(phases, kernel_size)
    r, pad = factor, (kernel_size - 1) // 2
    # An interpolation that reads its own block only gives zeros outside the
    # signal when x is zero padded: exact at the ends without corrections.
    own_block = phases.offset == 0 and phases.taps.shape[1] == 1
    edge = phases.extension == "replicate" and not own_block
    head = -((-pad) // r) if edge else 0
    tail = (r - 1 + kernel_size - 1 - pad) // r if edge else 0
    k = np.arange(kernel_size)[:, None, None]
    i = np.arange(r)[None, None, :]
    # high-rate index read by tap k of phase i in column s, relative to the start
    # (head) or to the end T * r (tail)
    head_mask = (np.arange(head)[None, :, None] * r + i + k - pad < 0).astype(float)
    tail_mask = ((np.arange(tail)[None, :, None] - tail) * r + i + k - pad >= 0).astype(float)
    return InterpFold(fold.matrix, fold.left, fold.right, edge, head_mask, tail_mask)


def _constant(array: np.ndarray, like: Any) -> Any:
    return ops.convert_to_tensor(array, dtype=like.dtype)


def _pad_time(x: Any, left: int, right: int, edge: bool) -> Any:
    """``(B, T, C) -> (B, left + T + right, C)``, zeros or repeated end samples."""
    if not edge:
        return ops.pad(x, [[0, 0], [left, right], [0, 0]])
    parts = [ops.repeat(x[:, :1], left, axis=1)] if left else []
    parts.append(x)
    if right:
        parts.append(ops.repeat(x[:, -1:], right, axis=1))
    return ops.concatenate(parts, axis=1) if len(parts) > 1 else x


def lowrate_conv(x: Any, kernel: Any, left: int, right: int, *, edge: bool = False) -> Any:
    """``z[s] = sum_e kernel[e] x[s + e - left]``, ``x`` padded past its ends.

    Shape:
        ``x`` ``(B, T, C_in)``, ``kernel`` ``(E, C_in, N)`` with ``E = left + 1 + right``
        ``-> (B, T, N)``.
    """
    if not edge and left == (left + right) // 2:
        return ops.conv(x, kernel, padding="same")  # the same split, no padded copy
    if left or right:
        x = _pad_time(x, left, right, edge)
    return ops.conv(x, kernel, padding="valid")


def end_corrections(x: Any, kernel: Any, fold: InterpFold, z: Any) -> Any:
    """``z`` ``(B, T, r * C_out)`` from the folded kernels on the edge-padded input,
    less what they read outside the signal (``x[0]`` before it, ``x[T - 1]`` after
    it) and the composition does not: exact for every ``T >= 1``, without
    branching on ``T`` (which may be unknown when a graph is traced)."""
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
        # T known when traced: correct the end columns, one copy of z
        parts = [z[:, :head] - terms[0]] if head else []
        parts.append(z[:, head: time - tail])
        if tail:
            parts.append(z[:, time - tail:] - terms[1])
        return ops.concatenate(parts, axis=1)
    # any T >= 1 (fewer columns than head or tail when T is short)
    zeros = ops.zeros_like(z)
    if head:
        z = z - ops.concatenate([terms[0], zeros], axis=1)[:, :-head]
    if tail:
        z = z - ops.concatenate([zeros, terms[1]], axis=1)[:, tail:]
    return z


def interp_conv_lowrate(x: Any, kernel: Any, bias: Any, fold: InterpFold) -> Any:
    """Interpolation + "same" convolution in low-rate form.

    Args:
        x: ``(B, T, C_in)``.
        kernel: the high-rate ``Conv1D`` kernel ``(K, C_in, C_out)``.
        bias: ``(C_out,)`` or ``None``.
        fold: :func:`interp_fold` for this layer.

    Shape:
        ``(B, T, C_in) -> (B, T * r, C_out)``
    """
    c_in, c_out = kernel.shape[1], kernel.shape[2]
    r = fold.matrix.shape[1]
    # (K, C_in, C_out) x (K, r, E) -> (E, C_in, r, C_out) -> (E, C_in, r * C_out)
    folded = ops.einsum("kco,kie->ecio", kernel, _constant(fold.matrix, kernel))
    folded = ops.reshape(folded, (fold.size, c_in, r * c_out))
    z = lowrate_conv(x, folded, fold.left, fold.right, edge=fold.edge)  # (B, T, r * C_out)
    if fold.edge:
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
