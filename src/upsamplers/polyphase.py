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
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_signal
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


def phase_kernels(module: nn.Module) -> PhaseKernels:
    """The phase kernels of an upsampling layer, as a differentiable function of
    its weights.

    Supports :class:`~upsamplers.layers.SubPixel1d` and
    :class:`~upsamplers.layers.TransposedUpsample1d`.

    Raises:
        TypeError: for a module whose phase kernels are not known.
    """
    from .layers import SubPixel1d, TransposedUpsample1d

    if isinstance(module, SubPixel1d):
        return _subpixel_kernels(module)
    if isinstance(module, TransposedUpsample1d):
        return transposed_phase_kernels(module.conv.weight, module.factor, module.crop[0],
                                        module.conv.bias)
    raise TypeError(
        "phase_kernels supports SubPixel1d and TransposedUpsample1d; "
        f"received {type(module).__name__}"
    )
