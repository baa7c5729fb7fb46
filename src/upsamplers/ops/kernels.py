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
(:func:`polyphase_forward`). Each layer gives its own kernels
(:meth:`upsamplers.layers.Upsampler.phase_kernels`); this module knows no layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .._checks import check_positive_int, check_signal
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


def transposed_phase_taps(weight: torch.Tensor, factor: int, crop_left: int
                          ) -> tuple[torch.Tensor, list[int]]:
    """The compact phase kernels of a transposed convolution and where each starts.

    ``weight`` is a ``ConvTranspose1d`` weight ``(C_in, C_out, K)``; the upsampler's
    output is the full transposed convolution with its first ``crop_left`` samples
    dropped. Full output ``z[n] = sum_t x[t] w[n - t r]``; output sample
    ``y[s r + i] = z[s r + i + L]``. Writing ``i + L = q_i r + p_i``,
    ``y[s r + i] = sum_j w[j r + p_i] x[s + q_i - j]``: phase ``i`` uses every
    ``r``-th tap starting at ``p_i``, reversed.

    Returns:
        ``(taps, q)``: ``taps`` ``(r, C_out, C_in, J)`` with ``J = ceil(K / r)``,
        ``taps[i][..., k'] = w[(J - 1 - k') r + p_i]`` (reading ``x[s + q_i - (J - 1) +
        k']``), differentiable in ``weight``; ``q`` the ``r`` offsets ``q_i``.
    """
    r = factor
    c_in, c_out, k = weight.shape
    taps = -(-k // r)  # J = ceil(K / r) taps per phase
    q, p = zip(*(divmod(i + crop_left, r) for i in range(r)), strict=True)
    w = F.pad(weight, (0, taps * r - k)).reshape(c_in, c_out, taps, r)  # [.., j, p] = w[j r + p]
    # (C_in, C_out, J, r)[..., p_i], taps reversed -> (r, C_out, C_in, J)
    phases = w[..., list(p)].flip(2).permute(3, 1, 0, 2)
    return phases, list(q)


def transposed_phase_kernels(
    weight: torch.Tensor, factor: int, crop_left: int, bias: torch.Tensor | None = None
) -> PhaseKernels:
    """Phase kernels of a transposed convolution (:func:`transposed_phase_taps`), each
    padded to one common window."""
    r = factor
    c_out = weight.shape[1]
    compact, q = transposed_phase_taps(weight, factor, crop_left)
    taps = compact.shape[-1]
    left = taps - 1 - q[0]
    size = taps - q[0] + q[-1]
    phases = []
    for i in range(r):
        start = left + q[i] - (taps - 1)  # where tap j = J - 1 lands: k = left + q - j
        phases.append(F.pad(compact[i], (start, size - start - taps)))
    if bias is not None:
        bias = bias.expand(r, c_out)
    return PhaseKernels(torch.stack(phases), left, bias)


def overlap_regime(kernel_size: int, factor: int) -> str:
    """Overlap regime of a transposed convolution with stride ``factor``.

    ``"none"`` when ``kernel_size == factor`` (each input sample writes its own
    block), ``"full"`` when ``kernel_size`` is a multiple of ``factor`` (every
    output sample gets the same number of contributions), ``"partial"`` otherwise
    (uneven overlap: a period-``factor`` pattern, i.e. tonal artifacts).
    """
    kernel_size = check_positive_int("kernel_size", kernel_size)
    factor = check_positive_int("factor", factor)
    if kernel_size == factor:
        return "none"
    if kernel_size % factor == 0:
        return "full"
    return "partial"
