"""The all-convolutional raw-audio autoencoder of the upsampling-artifacts
article (Pons et al., ICASSP 2021), with its upsampler swappable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._checks import check_positive_int, check_signal
from ..layers import make_upsampler
from .base import ReferenceModel, check_options, check_upsampler_kind, register_model


@register_model
class Autoencoder(ReferenceModel):
    """Strided-convolution encoder, decoder of x``factor`` upsamplers.

    ::

        x (B, C, T) --[Conv1d(k, stride r, pad (k-r)/2) + ReLU] x N--> (B, W_N, T / r^N)
                    --[upsampler x r + ReLU] x (N-1), upsampler x r--> (B, C, T)

    With the defaults (``widths=(16, 32, 64, 128)``, ``factor=4``) a 16384-sample
    input becomes a ``(128, 64)`` code and is decoded by four x4 upsamplers; the
    last upsampler maps straight to the audio channels with no activation.

    Args:
        upsampler: any kind :func:`upsamplers.make_upsampler` knows
            (``"transposed"``, ``"subpixel"``, ``"nearest"``, ``"linear"``, ...).
        channels: audio channels ``C``.
        widths: channels after each encoder stage (its length is the number of
            stages ``N``).
        factor: stride of every encoder stage and factor of every upsampler ``r``.
        kernel_size: encoder kernel (``kernel_size - factor`` must be even, so that the
            padding ``(kernel_size - factor) / 2`` keeps ``T / r`` samples exactly).
        upsampler_options: keyword arguments of the upsampler (``kernel_size``,
            ``init``, ``bias``, ...).
        length: the input length the model is meant for (``summary`` uses it);
            any multiple of ``r^N`` is accepted.
        sample_rate: the audio rate the model is trained at (inference resamples
            other rates to it).

    Shape:
        ``(B, C, T) -> (B, C, T)`` for ``T`` a multiple of ``factor ** len(widths)``.
    """

    def __init__(
        self,
        upsampler: str = "transposed",
        *,
        channels: int = 1,
        widths: Sequence[int] = (16, 32, 64, 128),
        factor: int = 4,
        kernel_size: int = 8,
        upsampler_options: dict[str, Any] | None = None,
        length: int = 16384,
        sample_rate: int = 16000,
    ) -> None:
        super().__init__()
        upsampler = check_upsampler_kind(upsampler)
        channels = check_positive_int("channels", channels)
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
            raise TypeError(f"widths must be a non-empty sequence of positive integers; "
                            f"received widths={widths!r}")
        widths = [check_positive_int("widths[]", w) for w in widths]
        factor = check_positive_int("factor", factor)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        if kernel_size < factor or (kernel_size - factor) % 2:
            raise ValueError(f"kernel_size must be >= factor with kernel_size - factor even; "
                             f"received kernel_size={kernel_size}, factor={factor}")
        options = check_options("upsampler_options", upsampler_options)
        length = check_positive_int("length", length)
        sample_rate = check_positive_int("sample_rate", sample_rate)
        self.hop = factor ** len(widths)
        if length % self.hop:
            raise ValueError(f"length must be a multiple of factor ** len(widths) = {self.hop}; "
                             f"received length={length}")
        self._remember(upsampler=upsampler, channels=channels, widths=widths, factor=factor,
                       kernel_size=kernel_size, upsampler_options=options, length=length,
                       sample_rate=sample_rate)
        self.channels, self.length, self.factor = channels, length, factor
        self.sample_rate = sample_rate

        encoder: list[nn.Module] = []
        previous = channels
        for width in widths:
            encoder += [nn.Conv1d(previous, width, kernel_size, stride=factor,
                                  padding=(kernel_size - factor) // 2), nn.ReLU()]
            previous = width
        self.encoder = nn.Sequential(*encoder)
        decoder: list[nn.Module] = []
        outs = list(reversed(widths[:-1])) + [channels]
        for i, out in enumerate(outs):
            decoder.append(make_upsampler(upsampler, previous, out, factor, **options))
            if i < len(outs) - 1:
                decoder.append(nn.ReLU())
            previous = out
        self.decoder = nn.Sequential(*decoder)

    def valid_length(self, length: int) -> int:
        """Smallest length ``>= length`` the model accepts (a multiple of ``r^N``)."""
        length = check_positive_int("length", length)
        return -(-length // self.hop) * self.hop

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.channels, self.length)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, W_N, T / r^N)``."""
        x = check_signal("x", x, channels=self.channels)
        if x.shape[-1] % self.hop:
            raise ValueError(f"x must have a length that is a multiple of {self.hop}; received "
                             f"shape {tuple(x.shape)} (see valid_length)")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, W_N, T / r^N) -> (B, C, T)``."""
        return self.decoder(z)

    def upsampling_part(self) -> nn.Module:
        """The decoder: ``(B, W_N, T / r^N) -> (B, C, T)``, for the artifact audit."""
        return self.decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``: reconstruction of ``x``."""
        return self.decode(self.encode(x))
