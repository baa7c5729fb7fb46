"""A Demucs-like waveform source separator (Défossez et al., 2019) whose
decoder upsamplers are swappable."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .._checks import InvalidValue, check_bool, check_positive_int, check_signal
from ..layers import make_upsampler
from .base import (
    ReferenceModel,
    check_options,
    check_upsampler_kind,
    register_model,
    renamed_arguments,
)
from .chunking import Span, layer_span, receptive_field, span_union


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


def _checked_source_names(sources: int, source_names: Any) -> list[str]:
    if source_names is None:
        source_names = [f"source{i}" for i in range(sources)]
    if (isinstance(source_names, str) or not isinstance(source_names, Sequence)
            or len(source_names) != sources
            or not all(isinstance(n, str) and n for n in source_names)
            or len(set(source_names)) != sources):
        raise InvalidValue(f"source_names must be {sources} distinct names (one per source); "
                           f"received source_names={source_names!r}")
    return list(source_names)


def _checked_config(**config: Any) -> dict[str, Any]:
    """The constructor arguments of :class:`DemucsLike`, checked (errors name the
    argument), in the order of the signature."""
    out = dict(config)
    out["upsampler"] = check_upsampler_kind(config["upsampler"])
    for name in ("sources", "audio_channels", "width", "growth", "depth", "kernel_size",
                 "factor"):
        out[name] = check_positive_int(name, config[name])
    if out["kernel_size"] < out["factor"] or (out["kernel_size"] - out["factor"]) % 2:
        raise InvalidValue(f"kernel_size must be >= factor with kernel_size - factor even; "
                           f"received kernel_size={out['kernel_size']}, "
                           f"factor={out['factor']}")
    out["lstm_layers"] = check_positive_int("lstm_layers", config["lstm_layers"], minimum=0)
    rescale = config["rescale"]
    if isinstance(rescale, bool) or not isinstance(rescale, (int, float)) or rescale < 0:
        raise InvalidValue(f"rescale must be a number >= 0; received rescale={rescale!r}")
    out["rescale"] = float(rescale)
    out["modified"] = check_bool("modified", config["modified"])
    out["normalize"] = check_bool("normalize", config["normalize"])
    out["upsampler_options"] = check_options("upsampler_options", config["upsampler_options"])
    out["length"] = check_positive_int("length", config["length"])
    out["sample_rate"] = check_positive_int("sample_rate", config["sample_rate"])
    out["source_names"] = _checked_source_names(out["sources"], config["source_names"])
    return out


@register_model
class DemucsLike(ReferenceModel):
    """U-Net separator on waveforms, after Demucs (v1/v2).

    ::

        encoder i:  Conv1d(k, stride r) -> ReLU -> Conv1d(1x1, 2 ch) -> GLU      (T -> T/r)
        bottleneck: optional BLSTM + linear
        decoder i:  (+ skip of encoder i) -> Conv1d(1x1, 2 ch) -> GLU
                    -> upsampler x r -> ReLU (not after the last)                 (T -> T*r)

    The encoder convolutions are padded by ``(k - r) / 2`` on both sides, so that
    a length that is a multiple of ``hop = r ** depth`` is divided exactly; the input is
    zero-padded on the right to such a length and the output cropped back.
    The input is normalised by the standard deviation of its mono mix (and the
    output scaled back), as in Demucs v2.

    Args:
        upsampler: the decoder's upsampler, any kind :func:`upsamplers.make_upsampler`
            knows. ``"transposed"`` with the default ``kernel_size=2*factor`` is
            Demucs' own transposed convolution.
        sources: ``S``, number of separated sources.
        audio_channels: ``C``.
        width: channels of the first encoder layer (default 32); layer ``i`` has
            ``width * growth**i``. Old name: ``channels``.
        growth: channel growth per layer.
        depth: number of encoder/decoder layers.
        kernel_size: of the encoder convolutions (default 8).
        factor: ``r``, the stride of every encoder convolution and the factor of
            every upsampler (default 4). Old name: ``stride``.

    The old names ``channels`` and ``stride`` still work for one release, with a
    ``FutureWarning``; checkpoints saved with them load.
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

    name = "demucs"
    separates = True
    dataset_kind = "stems"
    pads_input = True
    renamed_config = {"channels": "width", "stride": "factor"}

    def __init__(
        self,
        upsampler: str = "transposed",
        *,
        sources: int = 4,
        audio_channels: int = 1,
        width: int | None = None,
        growth: int = 2,
        depth: int = 5,
        kernel_size: int = 8,
        factor: int | None = None,
        lstm_layers: int = 2,
        rescale: float = 0.1,
        modified: bool = False,
        normalize: bool = True,
        upsampler_options: dict[str, Any] | None = None,
        length: int = 16384,
        sample_rate: int = 16000,
        source_names: Sequence[str] | None = None,
        **renamed: Any,
    ) -> None:
        super().__init__()
        named = renamed_arguments("DemucsLike", renamed, self.renamed_config,
                                  {"width": width, "factor": factor})
        config = _checked_config(
            upsampler=upsampler, sources=sources, audio_channels=audio_channels,
            width=32 if named["width"] is None else named["width"], growth=growth, depth=depth,
            kernel_size=kernel_size, factor=4 if named["factor"] is None else named["factor"],
            lstm_layers=lstm_layers, rescale=rescale, modified=modified, normalize=normalize,
            upsampler_options=upsampler_options, length=length, sample_rate=sample_rate,
            source_names=source_names)
        self._remember(**config)
        self.sample_rate, self.source_names = config["sample_rate"], tuple(config["source_names"])
        self.sources, self.audio_channels = config["sources"], config["audio_channels"]
        self.length, self.factor, self.depth = config["length"], config["factor"], config["depth"]
        self.normalize = config["normalize"]
        self.hop = self.factor ** self.depth
        self._build(config)
        if config["rescale"]:
            rescale_conv_weights_(self, config["rescale"])

    @property
    def stride(self) -> int:
        """Deprecated name of :attr:`factor`."""
        warnings.warn("DemucsLike.stride is deprecated; use factor", FutureWarning,
                      stacklevel=2)
        return self.factor

    @classmethod
    def options_for_data(cls, options: Mapping[str, Any], dataset: Any) -> dict[str, Any]:
        """``sources`` and ``source_names`` default to the stems of the data set."""
        out = dict(options)
        stems = list(dataset.stems or [])
        out.setdefault("sources", len(stems))
        out.setdefault("source_names", stems)
        return out

    baseline_name = "the mixture, as every source"

    def baseline(self, audio: torch.Tensor) -> torch.Tensor:
        """The mixture given back as every source (SI-SDR improvement is measured
        from it): ``(C, T) -> (S, C, T)``."""
        return audio.unsqueeze(0).expand(self.sources, *audio.shape).clone()

    def training_pair(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """A stem folder's batch ``(mixture (B, C, T), sources (B, S, C, T))`` is
        already ``(inputs, targets)``."""
        mix, sources = batch
        return mix, sources

    def _build(self, config: dict[str, Any]) -> None:
        """The encoder, decoder and bottleneck of the checked ``config``."""
        bias = not config["modified"]
        up_options = {"bias": bias, **config["upsampler_options"]}
        kernel_size, factor = config["kernel_size"], config["factor"]
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        previous = config["audio_channels"]
        width = config["width"]
        for index in range(config["depth"]):
            layers: list[nn.Module] = [
                nn.Conv1d(previous, width, kernel_size, factor,
                          padding=(kernel_size - factor) // 2, bias=bias)]
            if not (config["modified"] and index == 0):
                layers.append(nn.ReLU())
            layers += [nn.Conv1d(width, 2 * width, 1, bias=bias), nn.GLU(dim=1)]
            self.encoder.append(nn.Sequential(*layers))
            out = config["sources"] * config["audio_channels"] if index == 0 else previous
            decode: list[nn.Module] = [
                nn.Conv1d(width, 2 * width, 1, bias=bias), nn.GLU(dim=1),
                make_upsampler(config["upsampler"], width, out, factor, **up_options)]
            if index > 0:
                decode.append(nn.ReLU())
            self.decoder.insert(0, nn.Sequential(*decode))
            previous = width
            width *= config["growth"]
        lstm_layers = config["lstm_layers"]
        self.lstm = BLSTM(previous, lstm_layers, bias=bias) if lstm_layers else None

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.audio_channels, self.length)

    def upsampling_part(self) -> nn.Module:
        """The decoder alone, fed with zero skips: ``(B, W, T) -> (B, S * C, T * r^depth)``
        (``W`` the bottleneck width), for the artifact audit."""
        return _DecoderProbe(self)

    @property
    def receptive_field(self) -> int | None:
        """Input samples on either side of an output sample that can change it,
        computed from the encoder convolutions, the skips and the upsamplers' phase
        kernels; ``None`` with an LSTM bottleneck (``lstm_layers > 0``), which reads
        the whole input: long signals are then cross-faded, not chunked exactly.
        The input normalisation is not in it: it is the whole signal's
        (:meth:`signal_statistics`)."""
        if self.lstm is not None:
            return None
        return receptive_field(self._input_span, self.hop)

    def _input_span(self, span: Span) -> Span:
        """Input samples that the outputs ``span`` read (LSTM-free model)."""
        needed = []  # needed[k]: span of encoder k's output (skip k) that is read
        for decode in reversed(self.decoder):  # from the output down to the bottleneck
            span = layer_span(span, decode)
            needed.append(span)
        for k in reversed(range(len(self.encoder))):
            span = layer_span(span_union(span, needed[k]), self.encoder[k])
        return span

    def signal_statistics(self, audio: torch.Tensor) -> torch.Tensor | None:
        """``(B, C, T) -> (B, 2)``: the mean and standard deviation of the mono mix
        that ``forward`` normalises by (``None`` unless ``normalize``). Given to every
        chunk of a long signal, so that chunks are normalised as the whole is (as
        Demucs does)."""
        if not self.normalize:
            return None
        mono = audio.mean(dim=1)  # (B, C, T) -> (B, T)
        mean = mono.mean(dim=-1)
        std = mono.std(dim=-1) if audio.shape[-1] > 1 else torch.ones_like(mean)
        return torch.stack([mean, std], dim=-1)

    def process(self, audio: torch.Tensor, statistics: torch.Tensor | None = None
                ) -> torch.Tensor:
        """``forward``, normalised by ``statistics`` when given."""
        return self(audio, statistics=statistics)

    def forward(self, mix: torch.Tensor, statistics: torch.Tensor | None = None
                ) -> torch.Tensor:
        """``(B, C, T) -> (B, S, C, T)``: the estimated sources of ``mix``.

        ``statistics``: ``(B, 2)`` as :meth:`signal_statistics` returns, to normalise
        by instead of ``mix``'s own (a chunk of a longer signal)."""
        mix = check_signal("mix", mix, channels=self.audio_channels)
        length = mix.shape[-1]
        x = mix
        if self.normalize:
            if statistics is None:
                statistics = self.signal_statistics(mix)
            assert statistics is not None
            mean, std = statistics[:, 0, None, None], statistics[:, 1, None, None]
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
    part of the model that upsamples. ``(B, W, T) -> (B, S * C, T * factor**depth)``."""

    def __init__(self, model: DemucsLike) -> None:
        super().__init__()
        self.decoder = model.decoder
        self.lstm = model.lstm

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.lstm(z) if self.lstm is not None else z
        for decode in self.decoder:
            x = decode(x)
        return x
