"""The resampling upsampler's two forms in ``keras.ops``, ``(B, T, C)`` tensors.

The fixed low-pass is the PyTorch core's (:func:`upsamplers.layers.resample.
design_resample_filter`, numpy), as ``r`` low-rate phases ``A`` (``(r, D)``,
offset ``o``): ``u[t r + j] = sum_d A[j, d] z[t + o + d]``, run as one depthwise
convolution (``C * r`` outputs, channel ``c * r + j``) and an interleave.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from ..ops.interpolation import InterpolationPhases


def depthwise_table(phases: InterpolationPhases, channels: int) -> np.ndarray:
    """The low-pass as the kernel of ``ops.depthwise_conv``: ``(D, C, r)``,
    ``[d, c, j] = A[j, d]`` for every channel ``c``."""
    return np.ascontiguousarray(np.broadcast_to(phases.taps.T[:, None, :],
                                                (phases.taps.shape[1], channels,
                                                 phases.factor)))


def _fit(z: Any, before: int, after: int) -> Any:
    """``z`` ``(B, N, C)`` with ``before`` zeros added at the start (or ``-before``
    samples dropped) and ``after`` at the end (or dropped): static sizes only."""
    if before < 0:
        z = z[:, -before:]
    if after < 0:
        z = z[:, :after]
    if before > 0 or after > 0:
        z = ops.pad(z, ((0, 0), (max(before, 0), max(after, 0)), (0, 0)))
    return z


def lowpass(z: Any, table: Any, phases: InterpolationPhases) -> Any:
    """The interpolation of ``z`` ``(B, N + D - 1, C)`` that already holds every input
    sample the ``N`` output steps read (``z[:, t + d]`` for step ``t``, tap ``d``):
    ``(B, N * r, C)``."""
    channels = z.shape[-1]
    r = phases.factor
    batch = ops.shape(z)[0]
    u = ops.depthwise_conv(z, table, padding="valid")  # (B, N, C * r), channel c * r + j
    u = ops.reshape(u, (batch, -1, channels, r))
    u = ops.transpose(u, (0, 1, 3, 2))  # (B, N, C, r) -> (B, N, r, C)
    return ops.reshape(u, (batch, -1, channels))  # (B, N * r, C)


def mix_first(x: Any, kernel: Any, table: Any, phases: InterpolationPhases) -> Any:
    """The learnable kernel ``(K, C_in, C_out)`` at the low rate over every step where
    ``z`` can be non-zero (``-(K - 1 - L)`` to ``T - 1 + L``), then the low-pass:
    ``(B, T, C_in) -> (B, T * r, C_out)``."""
    k = kernel.shape[0]
    left = (k - 1) // 2
    z = ops.conv(ops.pad(x, ((0, 0), (k - 1, k - 1), (0, 0))), kernel, padding="valid")
    # step t reads z[t + o .. t + o + D - 1]; z holds steps -(K - 1 - L) .. T - 1 + L
    depth, offset = phases.taps.shape[1], phases.offset
    z = _fit(z, -(k - 1 - left) - offset, offset + depth - 1 - left)
    return lowpass(z, table, phases)


def filter_first(x: Any, kernel: Any, table: Any, phases: InterpolationPhases) -> Any:
    """The low-pass on ``C_in`` channels over the steps ``-L .. T + K - 2 - L``, then
    the kernel dilated by ``r``: ``(B, T, C_in) -> (B, T * r, C_out)``."""
    k = kernel.shape[0]
    left = (k - 1) // 2
    depth, offset = phases.taps.shape[1], phases.offset
    # step t (from -L) reads x[t + o .. t + o + D - 1], x zero-extended
    xp = _fit(x, left - offset, k - 1 - left + offset + depth - 1)
    u = lowpass(xp, table, phases)
    if k == 1:
        return ops.conv(u, kernel, padding="valid")
    return ops.conv(u, kernel, padding="valid", dilation_rate=phases.factor)
