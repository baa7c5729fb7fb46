"""Artifacts read off the phase kernels of a linear upsampler, without running it.

An upsampler by ``r`` computes output phase ``i`` with a low-rate kernel ``h_i``
(see :mod:`upsamplers.ops.kernels`)::

    y[c, s r + i] = bias[i, c] + sum_{c', k} h[i, c, c', k] x[c', s + k - left]

* A constant input ``a`` gives, away from the borders, the period-``r`` output
  ``v[i, c] = a * sum_{c'} D[i, c, c'] + bias[i, c]`` with ``D`` the phase DC gains.
  Its DFT over one period, ``c_k = (1/r) sum_i v[i] exp(-2 pi j k i / r)``, gives
  the exact tones at ``k fs_out / r``: power ``c_0**2`` at DC, ``2 |c_k|**2`` for
  ``0 < k < r / 2``, ``|c_k|**2`` at ``k = r / 2`` (:func:`predicted_constant_tones`).
* The same layer is the filter ``g[i - r (k - left)] = h_i[k]`` on the
  zero-stuffed input, so its response is ``G(f) / r`` (:func:`predicted_response`).

Kernels are a :class:`upsamplers.ops.PhaseKernels` (torch tensors,
converted here) or a numpy array ``(factor, C_out, C_in, K)`` with ``left`` and
``bias`` given separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import InvalidValue
from ._validate import check_finite, check_int, check_rate


@dataclass
class KernelArrays:
    """Phase kernels as numpy arrays: ``weight (r, C_out, C_in, K)``, ``left``,
    ``bias (r, C_out)`` or ``None``."""

    weight: np.ndarray
    left: int
    bias: np.ndarray | None

    @property
    def factor(self) -> int:
        return int(self.weight.shape[0])


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=float)


def as_kernel_arrays(kernels: Any, *, left: int | None = None,
                     bias: Any = None) -> KernelArrays:
    """Normalise ``kernels`` (a ``PhaseKernels`` or an array ``(r, C_out, C_in, K)``).

    For an array, ``left`` defaults to ``(K - 1) // 2`` and ``bias`` to none.
    """
    if hasattr(kernels, "weight") and hasattr(kernels, "left"):
        weight = _to_numpy(kernels.weight)
        left = int(kernels.left)
        bias = None if kernels.bias is None else _to_numpy(kernels.bias)
    else:
        weight = _to_numpy(kernels)
        if weight.ndim != 4:
            raise InvalidValue("kernels must be a PhaseKernels or an array of shape "
                               f"(factor, C_out, C_in, K); received shape {weight.shape}")
        left = (weight.shape[-1] - 1) // 2 if left is None else check_int("left", left, minimum=0)
        bias = None if bias is None else _to_numpy(bias)
    if bias is not None and bias.shape != weight.shape[:2]:
        raise InvalidValue(f"bias must have shape (factor, C_out)={weight.shape[:2]}; "
                           f"received shape {bias.shape}")
    if weight.size == 0 or not np.all(np.isfinite(weight)):
        raise InvalidValue("kernels must be non-empty and finite")
    return KernelArrays(weight, left, bias)


@dataclass
class PredictedTone:
    """A tone a constant input produces: frequency (Hz) and power (mean over output
    channels; ``A**2 / 2`` for a sinusoid of amplitude ``A``)."""

    frequency: float
    power: float


def phase_outputs(kernels: Any, *, level: float = 1.0) -> np.ndarray:
    """``(r, C_out)``: the output of every phase for a constant input ``level`` on
    every input channel, away from the borders."""
    level = check_finite("level", level)
    k = as_kernel_arrays(kernels)
    v = level * k.weight.sum(axis=(2, 3))  # (r, C_out, C_in, K) -> (r, C_out)
    if k.bias is not None:
        v = v + k.bias
    return v


def predicted_constant_tones(kernels: Any, sample_rate_out: float, *,
                             level: float = 1.0) -> list[PredictedTone]:
    """Tones (DC first) at ``k fs_out / r``, ``k = 0 .. r // 2``, for a constant input."""
    fs = check_rate("sample_rate_out", sample_rate_out)
    v = phase_outputs(kernels, level=level)  # (r, C_out)
    r = v.shape[0]
    c = np.fft.fft(v, axis=0) / r  # c[k, channel]
    out = []
    for k in range(r // 2 + 1):
        weight = 1.0 if k == 0 or 2 * k == r else 2.0
        out.append(PredictedTone(k * fs / r, float(np.mean(weight * np.abs(c[k]) ** 2))))
    return out


def equivalent_filter(kernels: Any) -> tuple[np.ndarray, int]:
    """The high-rate filter ``g`` on the zero-stuffed input and the index of its
    first tap: ``y[n] = sum_m g[m] u[n - m]`` with ``m = offset, offset + 1, ...``.

    Shape: ``(C_out, C_in, r * K)``.
    """
    k = as_kernel_arrays(kernels)
    r, c_out, c_in, taps = k.weight.shape
    # m = i - r (k - left): k = K - 1 gives the smallest m
    offset = -r * (taps - 1 - k.left)
    g = np.zeros((c_out, c_in, r * taps))
    for i in range(r):
        for j in range(taps):
            g[:, :, i - r * (j - k.left) - offset] = k.weight[i, :, :, j]
    return g, offset


def predicted_response(kernels: Any, frequencies: np.ndarray, sample_rate_out: float
                       ) -> np.ndarray:
    """Complex response ``G(f) / r`` of every (output, input) channel pair.

    Shape: ``(F,) -> (C_out, C_in, F)``.
    """
    fs = check_rate("sample_rate_out", sample_rate_out)
    g, offset = equivalent_filter(kernels)
    r = as_kernel_arrays(kernels).factor
    f = np.asarray(frequencies, dtype=float)
    m = offset + np.arange(g.shape[-1])
    phase = np.exp(-2j * np.pi * np.outer(m, f) / fs)  # (L, F)
    return (g @ phase) / r


def phase_gain_spread_db(kernels: Any) -> float:
    """How unequal the phases' DC gains are: power of the non-DC part of the
    period-``r`` response to ones (no bias) over its DC part, dB (``-inf`` when
    all phases are equal: no tones from offsets)."""
    k = as_kernel_arrays(kernels)
    v = k.weight.sum(axis=(2, 3))  # (r, C_out)
    mean = v.mean(axis=0, keepdims=True)
    ac = float(np.mean((v - mean) ** 2))
    dc = float(np.mean(mean**2))
    if ac == 0.0:
        return float("-inf")
    return float(10 * np.log10(ac / max(dc, 1e-300)))
