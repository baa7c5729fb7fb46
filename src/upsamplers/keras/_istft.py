"""The inverse-STFT head in ``keras.ops``, ``(B, T, C)`` tensors.

The fixed synthesis is the PyTorch core's (:func:`upsamplers.ops.istft.istft_tables`,
numpy) in its polyphase form: ``y[s r + i] = scale[i] sum_{j, e} P[i, j, e] z_j[s + e -
left]`` over the ``N`` coefficients ``z`` of each output channel, run as one
convolution of the coefficients (the channels moved into the batch) to ``r`` phases
and an interleave.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from ..ops.istft import ISTFTTables
from ._resample import _fit


def synthesis_kernel(tables: ISTFTTables, normalize: bool) -> np.ndarray:
    """``(D, N, r)``: ``[e, j, i] = P[i, j, e] * scale[i]``, the kernel of ``ops.conv``
    from ``N`` coefficients to ``r`` phases (``scale`` the inverse envelope, or 1)."""
    scale = 1 / tables.envelope if normalize else np.ones(len(tables.envelope))
    return np.ascontiguousarray((tables.phases * scale[:, None, None]).transpose(2, 1, 0))


def istft_head(x: Any, kernel: Any, synthesis: Any, tables: ISTFTTables) -> Any:
    """``(B, T, C_in) -> (B, T * r, C_out)``: the learnable ``kernel`` ``(K, C_in, C_out
    N)`` (column ``c N + j``: coefficient ``j`` of output channel ``c``) over every
    step where the coefficients can be non-zero (``-(K - 1 - L)`` to ``T - 1 + L``,
    ``x`` zero-extended), then the synthesis."""
    k = kernel.shape[0]
    left = (k - 1) // 2
    n, depth = synthesis.shape[1], synthesis.shape[0]
    channels = kernel.shape[-1] // n
    batch = ops.shape(x)[0]
    z = ops.conv(ops.pad(x, ((0, 0), (k - 1, k - 1), (0, 0))), kernel, padding="valid")
    # output step s reads z[s - left_p .. s - left_p + D - 1], left_p = tables.left
    z = _fit(z, tables.left - (k - 1 - left), depth - 1 - tables.left - left)
    # (B, T', C N) -> (B, T', C, N) -> (B, C, T', N) -> (B C, T', N)
    z = ops.transpose(ops.reshape(z, (batch, -1, channels, n)), (0, 2, 1, 3))
    z = ops.reshape(z, (batch * channels, -1, n))
    u = ops.conv(z, synthesis, padding="valid")  # (B C, T, r)
    # (B C, T, r) -> (B, C, T r) -> (B, T r, C)
    return ops.transpose(ops.reshape(u, (batch, channels, -1)), (0, 2, 1))
