"""The all-convolutional raw-audio autoencoder of the upsampling-artifacts
article (Pons et al., ICASSP 2021), with its upsampler swappable."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._checks import InvalidValue, check_positive_int, check_signal
from ..layers import make_upsampler
from .base import (
    ReferenceModel,
    check_int_sequence,
    check_options,
    check_upsampler_kind,
    register_model,
    renamed_arguments,
)
from .baselines import sinc_resample
from .chunking import Span, layer_span, receptive_field


def _encoder(audio_channels: int, widths: list[int], factor: int, kernel_size: int
             ) -> nn.Sequential:
    """Strided convolutions + ReLU: ``(B, C, T) -> (B, widths[-1], T / factor**N)``."""
    layers: list[nn.Module] = []
    previous = audio_channels
    for width in widths:
        layers += [nn.Conv1d(previous, width, kernel_size, stride=factor,
                             padding=(kernel_size - factor) // 2), nn.ReLU()]
        previous = width
    return nn.Sequential(*layers)


def _decoder(upsampler: str, audio_channels: int, widths: list[int], factor: int,
             options: dict[str, Any]) -> nn.Sequential:
    """Upsamplers (ReLU between them): ``(B, widths[-1], T / factor**N) -> (B, C, T)``."""
    layers: list[nn.Module] = []
    previous = widths[-1]
    outs = list(reversed(widths[:-1])) + [audio_channels]
    for i, out in enumerate(outs):
        layers.append(make_upsampler(upsampler, previous, out, factor, **options))
        if i < len(outs) - 1:
            layers.append(nn.ReLU())
        previous = out
    return nn.Sequential(*layers)


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
        audio_channels: audio channels ``C`` (default 1; the old name ``channels``
            still works for one release, with a ``FutureWarning``).
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

    name = "autoencoder"
    renamed_config = {"channels": "audio_channels"}

    def __init__(
        self,
        upsampler: str = "transposed",
        *,
        audio_channels: int | None = None,
        widths: Sequence[int] = (16, 32, 64, 128),
        factor: int = 4,
        kernel_size: int = 8,
        upsampler_options: dict[str, Any] | None = None,
        length: int = 16384,
        sample_rate: int = 16000,
        **renamed: Any,
    ) -> None:
        super().__init__()
        audio_channels = renamed_arguments(
            "Autoencoder", renamed, self.renamed_config,
            {"audio_channels": audio_channels})["audio_channels"]
        upsampler = check_upsampler_kind(upsampler)
        audio_channels = check_positive_int(
            "audio_channels", 1 if audio_channels is None else audio_channels)
        widths = check_int_sequence("widths", widths)
        factor = check_positive_int("factor", factor)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        if kernel_size < factor or (kernel_size - factor) % 2:
            raise InvalidValue(f"kernel_size must be >= factor with kernel_size - factor even; "
                               f"received kernel_size={kernel_size}, factor={factor}")
        options = check_options("upsampler_options", upsampler_options)
        length = check_positive_int("length", length)
        sample_rate = check_positive_int("sample_rate", sample_rate)
        self.hop = factor ** len(widths)
        if length % self.hop:
            raise InvalidValue(f"length must be a multiple of factor ** len(widths) = "
                               f"{self.hop}; received length={length}")
        self._remember(upsampler=upsampler, audio_channels=audio_channels, widths=widths,
                       factor=factor, kernel_size=kernel_size, upsampler_options=options,
                       length=length, sample_rate=sample_rate)
        self.audio_channels, self.length, self.factor = audio_channels, length, factor
        self.sample_rate = sample_rate
        self.encoder = _encoder(audio_channels, widths, factor, kernel_size)
        self.decoder = _decoder(upsampler, audio_channels, widths, factor, options)

    @property
    def channels(self) -> int:
        """Deprecated name of :attr:`audio_channels`."""
        warnings.warn("Autoencoder.channels is deprecated; use audio_channels", FutureWarning,
                      stacklevel=2)
        return self.audio_channels

    baseline_name = "the input band-limited to the code's rate (sinc down and up)"

    def code_decimation(self) -> int:
        """The decimation of a non-learned code that passes as many numbers per second
        as the bottleneck (``widths[-1]`` channels at ``1 / hop`` of the rate, per
        audio channel): ``ceil(hop * C / widths[-1])``, 1 when the code is not
        smaller than the audio."""
        code = int(self.config["widths"][-1])
        return max(1, -(-self.hop * self.audio_channels // code))

    def baseline(self, audio: torch.Tensor) -> torch.Tensor:
        """The input low-passed and decimated by :meth:`code_decimation`, then
        resampled back with the same sinc
        (:func:`upsamplers.models.baselines.sinc_resample`): the answer of a
        code as large as the model's with nothing learned. ``(C, T) -> (C, T)``."""
        d = self.code_decimation()
        if d == 1:
            return audio.clone()
        return sinc_resample(sinc_resample(audio, 1, d), d, 1)[..., :audio.shape[-1]]

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.audio_channels, self.length)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, W_N, T / r^N)``."""
        x = check_signal("x", x, channels=self.audio_channels)
        if x.shape[-1] % self.hop:
            raise InvalidValue(f"x must have a length that is a multiple of {self.hop}; "
                               f"received shape {tuple(x.shape)} (see valid_length)")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, W_N, T / r^N) -> (B, C, T)``."""
        return self.decoder(z)

    def upsampling_part(self) -> nn.Module:
        """The decoder: ``(B, W_N, T / r^N) -> (B, C, T)``, for the artifact audit."""
        return self.decoder

    @property
    def receptive_field(self) -> int:
        """Input samples on either side of an output sample that can change it,
        computed from the encoder convolutions and the upsamplers' phase kernels.
        The model is convolutional throughout (its code has ``T / r^N`` steps, not a
        fixed length), so long signals are chunked exactly."""
        def inputs(span: Span) -> Span:  # output span -> input span
            return layer_span(layer_span(span, self.decoder), self.encoder)

        return receptive_field(inputs, self.hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``: reconstruction of ``x``."""
        return self.decode(self.encode(x))
