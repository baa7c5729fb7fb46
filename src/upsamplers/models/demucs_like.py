"""A Demucs-like waveform source separator (Défossez et al., 2019) whose
decoder upsamplers are swappable."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._checks import check_bool, check_positive_int, check_signal
from ..layers import make_upsampler
from .base import ReferenceModel, check_options, check_upsampler_kind, register_model


class BLSTM(nn.Module):
    """Bidirectional LSTM over time and a linear map back to ``dim`` channels.

    Shape: ``(B, dim, T) -> (B, dim, T)``.
    """

    summary_unit = True

    def __init__(self, dim: int, layers: int, *, bias: bool = True) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers=layers, bidirectional=True, bias=bias)
        self.linear = nn.Linear(2 * dim, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(2, 0, 1)  # (B, C, T) -> (T, B, C)
        x = self.linear(self.lstm(x)[0])
        return x.permute(1, 2, 0)  # (T, B, C) -> (B, C, T)


def rescale_conv_weights_(module: nn.Module, reference: float) -> None:
    """Demucs' weight rescaling: divide every convolution's weight (and bias) by
    ``sqrt(std(weight) / reference)``, which brings the initial output scale
    towards ``reference`` (it helps the first steps of training)."""
    for sub in module.modules():
        if isinstance(sub, (nn.Conv1d, nn.ConvTranspose1d)):
            std = sub.weight.detach().std()
            if std > 0:
                scale = (std / reference) ** 0.5
                with torch.no_grad():
                    sub.weight.div_(scale)
                    if sub.bias is not None:
                        sub.bias.div_(scale)


@register_model
class DemucsLike(ReferenceModel):
    """U-Net separator on waveforms, after Demucs (v1/v2).

    ::

        encoder i:  Conv1d(k, stride s) -> ReLU -> Conv1d(1x1, 2 ch) -> GLU      (T -> T/s)
        bottleneck: optional BLSTM + linear
        decoder i:  (+ skip of encoder i) -> Conv1d(1x1, 2 ch) -> GLU
                    -> upsampler x s -> ReLU (not after the last)                 (T -> T*s)

    The encoder convolutions are padded by ``(k - s) / 2`` on both sides, so that
    a length that is a multiple of ``s ** depth`` is divided exactly; the input is
    zero-padded on the right to such a length and the output cropped back.
    The input is normalised by the standard deviation of its mono mix (and the
    output scaled back), as in Demucs v2.

    Args:
        upsampler: the decoder's upsampler, any kind :func:`upsamplers.make_upsampler`
            knows. ``"transposed"`` with the default ``kernel_size=2*stride`` is
            Demucs' own transposed convolution.
        sources: ``S``, number of separated sources.
        audio_channels: ``C``.
        channels: channels of the first encoder layer; layer ``i`` has
            ``channels * growth**i``.
        growth: channel growth per layer.
        depth: number of encoder/decoder layers.
        kernel_size, stride: of the encoder convolutions (default 8 and 4).
        lstm_layers: layers of the BLSTM bottleneck (0: none).
        rescale: reference of the weight rescaling at initialisation (0: none).
        modified: the upsampling-artifacts paper's variant: no biases anywhere
            (convolutions, upsamplers, LSTM) and no ReLU after the first encoder
            convolution.
        normalize: normalise the input by the std of its mono mix.
        upsampler_options: keyword arguments of the upsamplers.
        length: the input length ``summary`` uses.
        sample_rate: the audio rate the model is trained at.
        source_names: names of the sources (default ``source0``, ``source1``, ...).

    Shape:
        ``(B, C, T) -> (B, S, C, T)`` for every ``T >= 1``.
    """

    def __init__(
        self,
        upsampler: str = "transposed",
        *,
        sources: int = 4,
        audio_channels: int = 1,
        channels: int = 32,
        growth: int = 2,
        depth: int = 5,
        kernel_size: int = 8,
        stride: int = 4,
        lstm_layers: int = 2,
        rescale: float = 0.1,
        modified: bool = False,
        normalize: bool = True,
        upsampler_options: dict[str, Any] | None = None,
        length: int = 16384,
        sample_rate: int = 16000,
        source_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        upsampler = check_upsampler_kind(upsampler)
        sources = check_positive_int("sources", sources)
        audio_channels = check_positive_int("audio_channels", audio_channels)
        channels = check_positive_int("channels", channels)
        growth = check_positive_int("growth", growth)
        depth = check_positive_int("depth", depth)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        stride = check_positive_int("stride", stride)
        if kernel_size < stride or (kernel_size - stride) % 2:
            raise ValueError(f"kernel_size must be >= stride with kernel_size - stride even; "
                             f"received kernel_size={kernel_size}, stride={stride}")
        lstm_layers = check_positive_int("lstm_layers", lstm_layers, minimum=0)
        if isinstance(rescale, bool) or not isinstance(rescale, (int, float)) or rescale < 0:
            raise ValueError(f"rescale must be a number >= 0; received rescale={rescale!r}")
        check_bool("modified", modified)
        check_bool("normalize", normalize)
        options = check_options("upsampler_options", upsampler_options)
        length = check_positive_int("length", length)
        sample_rate = check_positive_int("sample_rate", sample_rate)
        if source_names is None:
            source_names = [f"source{i}" for i in range(sources)]
        if (isinstance(source_names, str) or not isinstance(source_names, Sequence)
                or len(source_names) != sources
                or not all(isinstance(n, str) and n for n in source_names)
                or len(set(source_names)) != sources):
            raise ValueError(f"source_names must be {sources} distinct names (one per source); "
                             f"received source_names={source_names!r}")
        self._remember(upsampler=upsampler, sources=sources, audio_channels=audio_channels,
                       channels=channels, growth=growth, depth=depth, kernel_size=kernel_size,
                       stride=stride, lstm_layers=lstm_layers, rescale=float(rescale),
                       modified=modified, normalize=normalize, upsampler_options=options,
                       length=length, sample_rate=sample_rate, source_names=list(source_names))
        self.sample_rate, self.source_names = sample_rate, tuple(source_names)
        self.sources, self.audio_channels, self.length = sources, audio_channels, length
        self.stride, self.depth, self.normalize = stride, depth, normalize
        bias = not modified
        up_options = {"bias": bias, **options}

        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        previous = audio_channels
        width = channels
        for index in range(depth):
            layers: list[nn.Module] = [
                nn.Conv1d(previous, width, kernel_size, stride, padding=(kernel_size - stride) // 2,
                          bias=bias)]
            if not (modified and index == 0):
                layers.append(nn.ReLU())
            layers += [nn.Conv1d(width, 2 * width, 1, bias=bias), nn.GLU(dim=1)]
            self.encoder.append(nn.Sequential(*layers))
            out = sources * audio_channels if index == 0 else previous
            decode: list[nn.Module] = [nn.Conv1d(width, 2 * width, 1, bias=bias), nn.GLU(dim=1),
                                       make_upsampler(upsampler, width, out, stride, **up_options)]
            if index > 0:
                decode.append(nn.ReLU())
            self.decoder.insert(0, nn.Sequential(*decode))
            previous = width
            width *= growth
        self.lstm = BLSTM(previous, lstm_layers, bias=bias) if lstm_layers else None
        if rescale:
            rescale_conv_weights_(self, float(rescale))

    def valid_length(self, length: int) -> int:
        """Smallest multiple of ``stride ** depth`` that is ``>= length``."""
        length = check_positive_int("length", length)
        hop = self.stride ** self.depth
        return math.ceil(length / hop) * hop

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.audio_channels, self.length)

    def upsampling_part(self) -> nn.Module:
        """The decoder alone, fed with zero skips: ``(B, W, T) -> (B, S * C, T * s^depth)``
        (``W`` the bottleneck width), for the artifact audit."""
        return _DecoderProbe(self)

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, S, C, T)``: the estimated sources of ``mix``."""
        mix = check_signal("mix", mix, channels=self.audio_channels)
        length = mix.shape[-1]
        x = mix
        if self.normalize:
            mono = mix.mean(dim=1, keepdim=True)
            mean = mono.mean(dim=-1, keepdim=True)
            std = mono.std(dim=-1, keepdim=True) if length > 1 else torch.ones_like(mean)
            x = (x - mean) / (1e-5 + std)
        x = nn.functional.pad(x, (0, self.valid_length(length) - length))
        skips = []
        for encode in self.encoder:
            x = encode(x)
            skips.append(x)
        if self.lstm is not None:
            x = self.lstm(x)
        for decode in self.decoder:
            x = decode(x + skips.pop())
        x = x[..., :length]
        if self.normalize:
            x = x * (1e-5 + std) + mean
        return x.view(x.shape[0], self.sources, self.audio_channels, length)


class _DecoderProbe(nn.Module):
    """The decoder of a :class:`DemucsLike` without its skips (they are zero): the
    part of the model that upsamples. ``(B, W, T) -> (B, S * C, T * stride**depth)``."""

    def __init__(self, model: DemucsLike) -> None:
        super().__init__()
        self.decoder = model.decoder
        self.lstm = model.lstm

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.lstm(z) if self.lstm is not None else z
        for decode in self.decoder:
            x = decode(x)
        return x
