"""Transposed convolution with stride ``factor``, cropped to ``T * factor``."""

from __future__ import annotations

import warnings
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_bool, check_choice, check_positive_int
from ..init import equal_phase_weight_
from ..ops.convolution import is_symbolic, polyphase_conv
from ..ops.kernels import (
    PhaseKernels,
    overlap_regime,
    transposed_phase_kernels,
    transposed_phase_taps,
)
from ..ops.plan import transposed_form
from .base import ArtifactWarning, Upsampler


class TransposedUpsample1d(Upsampler):
    """Transposed convolution with stride ``factor``, cropped to ``T * factor``.

    The full transposed convolution of ``T`` samples with a ``K``-tap kernel has
    ``(T - 1) * r + K`` samples. With ``E = K - r`` extra samples, the layer keeps
    the centre: it drops ``E // 2`` at the start and ``E - E // 2`` at the end. A
    kernel shorter than the stride (``E < 0``) leaves gaps, and the output is
    completed with ``-E`` zeros at the end::

        r = 2, K = 4 (E = 2): each input sample writes K taps, r apart

        x[0] -> o o o o
        x[1] ->     o o o o
        x[2] ->         o o o o
        full      0 1 2 3 4 5 6 7      (T - 1) * r + K = 8 samples
        kept        1 2 3 4 5 6        drop E // 2 = 1 left, 1 right -> T * r = 6

    Overlap regimes (:attr:`overlap`): ``"none"`` (``K == r``), ``"full"`` (``K``
    a multiple of ``r``), ``"partial"`` (otherwise). Partial overlap makes the
    number of contributions per output sample vary with period ``r``, which is
    heard as tones at multiples of ``sample_rate / r``; the layer warns about it
    (:class:`ArtifactWarning`) when it is built.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor and stride ``r >= 1``.
        kernel_size: kernel taps ``K`` (default ``2 * factor``: full overlap).
        bias: learnable bias (default ``False``).
        init: ``"default"`` (PyTorch's ``ConvTranspose1d`` initialisation) or
            ``"nearest"`` (all ``r`` phase kernels equal, so the layer starts as
            nearest-neighbour upsampling of a low-rate convolution and has no tonal
            artifacts; needs ``K`` a multiple of ``r``).
        impl: ``"auto"`` (default): ``"polyphase"`` from the number of input steps
            (batch x length) where it was measured faster, ``"native"`` below
            (:func:`~upsamplers.ops.plan.transposed_form`; exported graphs run
            ``"polyphase"``). ``"polyphase"``: the same function as ``r`` phase kernels of
            ``ceil(K / r)`` taps (every ``r``-th tap of the kernel, reversed, taken from
            ``conv.weight`` on every call, so gradients reach it), one low-rate
            convolution and the fused shuffle (:func:`~upsamplers.ops.polyphase_conv`);
            ``"native"``: ``F.conv_transpose1d`` and the crop.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the ``nn.ConvTranspose1d(in_channels, out_channels, K, stride=factor)``
            holding the weights (its own padding is 0; the crop is done here).
        crop: ``(left, right)`` samples dropped from the full output (``right``
            negative when zeros are appended).
    """

    kind = "transposed"
    learned_phases = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int | None = None,
        *,
        bias: bool = False,
        init: Literal["default", "nearest"] = "default",
        impl: Literal["auto", "polyphase", "native"] = "auto",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factor = check_positive_int("factor", factor)
        super().__init__(in_channels, out_channels, factor,
                         2 * factor if kernel_size is None else kernel_size)
        check_bool("bias", bias)
        self.init = check_choice("init", init, ("default", "nearest"))
        self.impl: str = check_choice("impl", impl, ("auto", "polyphase", "native"))
        self.overlap = overlap_regime(self.kernel_size, self.factor)
        extra = self.kernel_size - self.factor
        self.crop = (extra // 2, extra - extra // 2) if extra >= 0 else (0, extra)
        self.conv = nn.ConvTranspose1d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.factor,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        if init == "nearest":
            equal_phase_weight_(self.conv.weight, self.factor)
        if self.overlap == "partial":
            if self.kernel_size < self.factor:
                why = (f"kernel_size={self.kernel_size} is shorter than the stride "
                       f"factor={self.factor}, so {self.factor - self.kernel_size} of every "
                       f"{self.factor} output samples get no contribution")
            else:
                why = (f"kernel_size={self.kernel_size} is not a multiple of the stride "
                       f"factor={self.factor}, so output samples get an uneven number of "
                       "contributions with period factor")
            better = self.factor * max(1, round(self.kernel_size / self.factor))
            warnings.warn(
                f"TransposedUpsample1d has partial overlap: {why}; this causes tonal "
                f"artifacts at multiples of sample_rate / {self.factor}. "
                f"Use kernel_size={better} (a multiple of factor).",
                ArtifactWarning,
                stacklevel=2,
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        if self.form_for(x.shape[0], x.shape[-1]) == "polyphase":
            return self._polyphase(x)
        left, right = self.crop
        if right >= 0:
            # conv padding p crops p samples on both sides; crop one more on the right
            # when the extra is odd.
            y = F.conv_transpose1d(x, self.conv.weight, self.conv.bias,
                                   stride=self.factor, padding=left)
            if right > left:
                y = y[..., : y.shape[-1] - (right - left)]
            return y
        # kernel shorter than the stride: output_padding appends -right samples
        # (zeros, plus the bias when there is one).
        return F.conv_transpose1d(x, self.conv.weight, self.conv.bias,
                                  stride=self.factor, output_padding=-right)

    def form_for(self, batch: int, time: int) -> str:
        """``"polyphase"`` or ``"native"``: what a call on a ``(batch, C_in, time)``
        input runs (``impl``, or with ``"auto"`` the engine's
        :func:`~upsamplers.ops.plan.transposed_form`; ``"polyphase"`` while traced,
        exported or compiled, where the length is symbolic)."""
        if self.impl != "auto":
            return self.impl
        if is_symbolic():
            return "polyphase"
        return transposed_form(batch, time, self.factor)

    def _polyphase(self, x: torch.Tensor) -> torch.Tensor:
        """Output ``y[s r + i] = sum_j w[j r + p_i] x[s + q_i - j]`` with ``i + crop_left =
        q_i r + p_i`` (:func:`~upsamplers.ops.transposed_phase_kernels`): phase ``i``
        is a ``J``-tap low-rate kernel (``J = ceil(K / r)``) whose window starts
        ``q_i - (J - 1)`` samples from ``s``; one convolution, the shuffle with
        per-phase starts."""
        r = self.factor
        compact, q = transposed_phase_taps(self.conv.weight, r, self.crop[0])
        taps = compact.shape[-1]
        # (r, C_out, C_in, J) -> (C_out * r, C_in, J), row c * r + i
        weight = compact.transpose(0, 1).reshape(-1, self.in_channels, taps)
        bias = None if self.conv.bias is None else self.conv.bias.repeat_interleave(r)
        pad = max(taps - 1 - q[0], q[-1])
        return polyphase_conv(x, weight, bias, padding=pad, length=x.shape[-1],
                              starts=[qi - (taps - 1) + pad for qi in q])

    @property
    def has_bias(self) -> bool:
        return self.conv.bias is not None

    def phase_kernels(self) -> PhaseKernels:
        """Every ``factor``-th tap of the kernel, reversed, per phase
        (:func:`~upsamplers.ops.transposed_phase_kernels`)."""
        return transposed_phase_kernels(self.conv.weight, self.factor, self.crop[0],
                                        self.conv.bias)

    def phase_taps(self) -> int:
        """``kernel_size``: the phases share the kernel's taps between them."""
        return self.kernel_size

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"kernel_size={self.kernel_size}, bias={self.conv.bias is not None}, "
            f"init={self.init!r}, overlap={self.overlap!r}, impl={self.impl!r}"
        )
