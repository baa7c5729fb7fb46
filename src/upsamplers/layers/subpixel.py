"""Subpixel convolution: a low-rate convolution, then the periodic shuffle."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .._checks import check_bool, check_choice
from ..init import icnr_weight_
from ..ops.convolution import polyphase_conv
from ..ops.kernels import PhaseKernels
from ..ops.shuffle import ORDERS, Order
from .base import Upsampler


class SubPixel1d(Upsampler):
    """Subpixel convolution: a low-rate convolution to ``out_channels * factor``
    channels, then the periodic shuffle of those channels into time.

    ::

        x (B, C_in, T) --conv1d, "same" zero padding--> (B, C_out * r, T)
                       --periodic_shuffle(r, order)---> (B, C_out, T * r)

    The convolution keeps the length ``T`` with zero padding
    ``(kernel_size - 1) // 2`` on the left and the rest on the right, so the output
    has exactly ``T * factor`` samples.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``, channels after the shuffle.
        factor: upsampling factor ``r >= 1``.
        kernel_size: taps of the low-rate convolution (default 3).
        bias: learnable bias (default ``False``: offsets become tones).
        order: shuffle convention, ``"channel"`` (conv channel ``c * r + i`` is phase
            ``i`` of output channel ``c``) or ``"phase"`` (channel ``i * C_out + c``,
            the convention of the classic Keras ``SubPixel1D``).
        init: ``"default"`` (PyTorch's ``Conv1d`` initialisation) or ``"icnr"``
            (all phases equal, no tonal artifacts at initialisation; see
            :func:`upsamplers.init.icnr_`).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: the ``nn.Conv1d(in_channels, out_channels * factor, kernel_size)``
            holding the weights.
    """

    kind = "subpixel"
    learned_phases = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int = 3,
        *,
        bias: bool = False,
        order: Order = "channel",
        init: Literal["default", "icnr"] = "default",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_channels, out_channels, factor, kernel_size)
        self.order: str = check_choice("order", order, ORDERS)
        check_bool("bias", bias)
        self.init = check_choice("init", init, ("default", "icnr"))
        self.conv = nn.Conv1d(
            self.in_channels,
            self.out_channels * self.factor,
            self.kernel_size,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        if init == "icnr":
            icnr_weight_(self.conv.weight, self.factor, order=self.order,  # type: ignore[arg-type]
                         bias=self.conv.bias)

    def _weight_count(self) -> int:
        return self.in_channels * self.out_channels * self.factor * self.kernel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        r, c_out, k = self.factor, self.out_channels, self.kernel_size
        weight, bias = self.conv.weight, self.conv.bias
        if self.order == "phase":
            # rows i * C + c -> c * r + i, the layout polyphase_conv shuffles
            weight = weight.view(r, c_out, *weight.shape[1:]).transpose(0, 1).reshape(
                weight.shape)
            if bias is not None:
                bias = bias.view(r, c_out).T.reshape(-1)
        # "same" zero padding (K - 1) // 2 before, K // 2 after: pad K // 2 on both
        # sides and start every phase one column later when K is even.
        return polyphase_conv(x, weight, bias, padding=k // 2, starts=(1 - k % 2,) * r,
                              length=x.shape[-1])

    @property
    def has_bias(self) -> bool:
        return self.conv.bias is not None

    def phase_kernels(self) -> PhaseKernels:
        """Phase ``i`` of output channel ``c`` is conv channel ``c * r + i``
        (``order="channel"``) or ``i * C_out + c`` (``order="phase"``)."""
        r, c_out = self.factor, self.out_channels
        w = self.conv.weight  # (C_out * r, C_in, K)
        if self.order == "channel":
            weight = w.reshape(c_out, r, *w.shape[1:]).transpose(0, 1)  # row c*r + i
        else:
            weight = w.reshape(r, c_out, *w.shape[1:])  # row i*C + c
        bias = self.conv.bias
        if bias is not None:
            bias = bias.reshape(c_out, r).T if self.order == "channel" else bias.reshape(r, c_out)
        return PhaseKernels(weight, (self.kernel_size - 1) // 2, bias)

    def phase_taps(self) -> int:
        """``factor * kernel_size``: every phase has its own ``kernel_size`` taps."""
        return self.factor * self.kernel_size


    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
            f"kernel_size={self.kernel_size}, bias={self.conv.bias is not None}, "
            f"order={self.order!r}, init={self.init!r}"
        )
