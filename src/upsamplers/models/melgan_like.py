"""A MelGAN-like generator (Kumar et al., 2019) from log-mel spectrograms, with
its upsamplers swappable. Trained here with a reconstruction loss only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import InvalidValue, check_choice, check_positive_int, check_signal
from ..activations import ANTI_ALIASING, activation_names, make_activation
from ..layers import make_upsampler
from .base import (
    ReferenceModel,
    check_int_sequence,
    check_options,
    check_upsampler_kind,
    register_model,
)
from .baselines import griffin_lim, mel_to_magnitude
from .chunking import Span, conv_span, layer_span, receptive_field, span_union


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters (HTK mel scale, ``2595 log10(1 + f / 700)``),
    each normalised to unit area (Slaney-style).

    Shape: ``(n_mels, n_fft // 2 + 1)``.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel = np.linspace(2595 * np.log10(1 + fmin / 700), 2595 * np.log10(1 + fmax / 700),
                      n_mels + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (centre - lower)
    down = (upper - freqs[None]) / (upper - centre)
    filters = np.maximum(0, np.minimum(up, down))
    return filters * (2.0 / (upper - lower))


class LogMel(nn.Module):
    """Log-mel spectrogram with one frame per ``hop`` samples.

    The signal is reflect-padded by ``(n_fft - hop) / 2`` on both sides and framed
    without centring, so ``T`` samples give exactly ``T // hop`` frames.

    Shape: ``(B, 1, T) -> (B, n_mels, T // hop)``.
    """

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("filters", torch.from_numpy(
            mel_filterbank(sample_rate, n_fft, n_mels)).float(), persistent=False)

    def input_span(self, span: Span) -> Span:
        """Audio samples that the frames ``span`` read: frame ``f`` is samples
        ``f * hop - (n_fft - hop) // 2 + [0, n_fft - 1]``."""
        return conv_span(span, self.n_fft, stride=self.hop, padding=(self.n_fft - self.hop) // 2)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        pad = (self.n_fft - self.hop) // 2
        x = nn.functional.pad(audio, (pad, self.n_fft - self.hop - pad), mode="reflect")
        spec = torch.stft(x[:, 0], self.n_fft, self.hop, window=self.window, center=False,
                          return_complex=True).abs()  # (B, F, frames)
        return torch.log(torch.clamp(self.filters @ spec, min=1e-5))


#: builds the activation of ``channels`` channels (``(B, C, T) -> (B, C, T)``)
ActivationFactory = Callable[[int], nn.Module]


def _melgan_activation(channels: int) -> nn.Module:
    return nn.LeakyReLU(0.2)


class ResidualStack(nn.Module):
    """MelGAN's residual stack: blocks ``x + conv1x1(act(conv3_dilated(act(x))))``
    with dilations 1, 3, 9, ..., ``act`` a LeakyReLU(0.2) unless ``activation``
    builds another. Shape: ``(B, C, T) -> (B, C, T)``."""

    def __init__(self, channels: int, blocks: int,
                 activation: ActivationFactory = _melgan_activation) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        for i in range(blocks):
            dilation = 3 ** i
            self.blocks.append(nn.Sequential(
                activation(channels), nn.ReflectionPad1d(dilation),
                nn.Conv1d(channels, channels, 3, dilation=dilation),
                activation(channels), nn.Conv1d(channels, channels, 1)))

    def input_span(self, span: Span) -> Span:
        """Samples that the outputs ``span`` read (each block: itself and its branch)."""
        for block in reversed(self.blocks):
            span = span_union(span, layer_span(span, block))
        return span

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = x + block(x)
        return x


def _activation_factory(name: Any, options: Any, anti_aliased: Any) -> ActivationFactory:
    """What builds each activation of the generator (checked once, here):
    ``channels -> module``. MelGAN's LeakyReLU(0.2) unless told otherwise."""
    name = check_choice("activation", name, activation_names())
    options = check_options("activation_options", options)
    if anti_aliased is not None:
        check_choice("anti_aliased", anti_aliased, ANTI_ALIASING)
    if name == "leaky_relu":
        options = {"negative_slope": 0.2, **options}
    if name == "leaky_relu" and anti_aliased is None and options == {"negative_slope": 0.2}:
        return _melgan_activation
    make_activation(name, 1, anti_aliased=anti_aliased, **options)  # checks the options

    def build(channels: int) -> nn.Module:
        return make_activation(name, channels, anti_aliased=anti_aliased, **options)

    return build


#: The generator layouts (:class:`MelGANLike`'s ``layout``).
LAYOUTS = ("melgan", "vocos")


def _melgan_layers(upsampler: str, factors: Sequence[int], hidden: int, blocks: int,
                   n_mels: int, options: dict[str, Any], act: ActivationFactory
                   ) -> list[nn.Module]:
    """MelGAN's generator: an upsampler per factor, each halving the channels."""
    layers: list[nn.Module] = [nn.ReflectionPad1d(3), nn.Conv1d(n_mels, hidden, 7)]
    width = hidden
    for factor in factors:
        layers += [act(width), make_upsampler(upsampler, width, width // 2, factor, **options)]
        width //= 2
        if blocks:
            layers.append(ResidualStack(width, blocks, act))
    return [*layers, act(width), nn.ReflectionPad1d(3), nn.Conv1d(width, 1, 7), nn.Tanh()]


def _vocos_layers(upsampler: str, factors: Sequence[int], hidden: int, blocks: int,
                  n_mels: int, options: dict[str, Any], act: ActivationFactory
                  ) -> list[nn.Module]:
    """Vocos' layout: the convolutions at the frame rate (a residual stack per factor),
    then one upsampler by the whole hop to the waveform, with a linear output."""
    layers: list[nn.Module] = [nn.ReflectionPad1d(3), nn.Conv1d(n_mels, hidden, 7)]
    if blocks:
        layers += [ResidualStack(hidden, blocks, act) for _ in factors]
    hop = int(np.prod(factors))
    return [*layers, act(hidden), make_upsampler(upsampler, hidden, 1, hop, **options)]


@register_model
class MelGANLike(ReferenceModel):
    """Generator from log-mel spectrograms to waveforms, after MelGAN.

    ::

        mel (B, n_mels, F) -> Conv1d(7) -> [act -> upsampler x r_i (channels / 2)
            -> residual stack] for r_i in factors -> act -> Conv1d(7) -> tanh
            -> (B, 1, F * prod(factors))

    With ``layout="vocos"`` (Vocos, iSTFTNet, WavTokenizer: every convolution at the
    frame rate, then one upsampler by the whole hop, no ``tanh``)::

        mel (B, n_mels, F) -> Conv1d(7) -> [residual stack] x len(factors) (hidden)
            -> act -> upsampler x hop (hidden -> 1) -> (B, 1, F * hop)

    with ``upsampler="istft"`` the upsampler is the inverse-STFT head
    (:class:`~upsamplers.ISTFTUpsample1d`: a convolution to ``n_fft = 4 * hop``
    spectral coefficients per frame, then the inverse STFT with hop ``hop``; Vocos'
    ``n_fft``/hop ratio), in real/imaginary parts rather than Vocos' log-magnitude
    and phase.

    ``hop = prod(factors)`` (default 8 * 8 * 2 * 2 = 256). The upsamplers default
    to their layer defaults; for ``"transposed"`` that is MelGAN's kernel of twice
    the stride. :meth:`mel` computes the input from audio. ``act`` is MelGAN's
    LeakyReLU(0.2) by default; ``activation`` and ``anti_aliased`` make every one of
    them (before each upsampler, in the residual stacks, the last) another, e.g.
    BigVGAN's ``activation="snakebeta", anti_aliased="bigvgan"`` (a Snake learns
    per channel: each gets the channels it sees).

    Args:
        upsampler: any kind :func:`upsamplers.make_upsampler` knows.
        factors: upsampling factors.
        hidden: channels after the first convolution, halved by every upsampler.
        residual_blocks: blocks per residual stack.
        sample_rate, n_fft, n_mels: of the mel front end (its hop is ``prod(factors)``).
        upsampler_options: keyword arguments of the upsamplers.
        length: audio length used by ``summary`` and the artifact audit.
        activation: a name of :func:`upsamplers.activations.activation_names`.
        activation_options: its keyword arguments (default for ``"leaky_relu"``:
            ``negative_slope=0.2``, MelGAN's).
        anti_aliased: ``None`` (the activation at the signal's rate), ``"default"``
            or ``"bigvgan"``: :func:`upsamplers.activations.make_activation`'s
            anti-aliased forms (2x oversampling).
        layout: ``"melgan"`` (default: one upsampler per factor, the channels halved
            by each) or ``"vocos"`` (the convolutions at the frame rate, then one
            upsampler by ``hop`` to the waveform; see above).

    Shape:
        ``forward``: ``(B, n_mels, F) -> (B, 1, F * hop)``; ``mel``:
        ``(B, 1, T) -> (B, n_mels, T // hop)``.
    """

    name = "melgan"
    # a mel spectrogram has no phase: scored on STFT magnitudes first (a waveform figure
    # punishes a right spectrum with another phase as hard as noise); SI-SDR kept last
    metrics = ("spectral_snr", "lsd", "si_sdr")

    def __init__(
        self,
        upsampler: str = "transposed",
        *,
        factors: Sequence[int] = (8, 8, 2, 2),
        hidden: int = 512,
        residual_blocks: int = 3,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        n_mels: int = 80,
        upsampler_options: dict[str, Any] | None = None,
        length: int = 16384,
        activation: str = "leaky_relu",
        activation_options: dict[str, Any] | None = None,
        anti_aliased: str | None = None,
        layout: str = "melgan",
    ) -> None:
        super().__init__()
        layout = check_choice("layout", layout, LAYOUTS)
        upsampler = check_upsampler_kind(upsampler)
        factors = check_int_sequence("factors", factors)
        hidden = check_positive_int("hidden", hidden)
        if hidden % 2 ** len(factors):
            raise InvalidValue(f"hidden must be divisible by 2 ** len(factors) = "
                               f"{2 ** len(factors)}; received hidden={hidden}")
        residual_blocks = check_positive_int("residual_blocks", residual_blocks, minimum=0)
        sample_rate = check_positive_int("sample_rate", sample_rate)
        n_fft = check_positive_int("n_fft", n_fft)
        n_mels = check_positive_int("n_mels", n_mels)
        options = check_options("upsampler_options", upsampler_options)
        length = check_positive_int("length", length)
        self.hop = int(np.prod(factors))
        if n_fft < self.hop:
            raise InvalidValue(f"n_fft must be >= the hop prod(factors) = {self.hop}; "
                               f"received n_fft={n_fft}")
        if length % self.hop:
            raise InvalidValue(f"length must be a multiple of prod(factors) = {self.hop}; "
                               f"received length={length}")
        act = _activation_factory(activation, activation_options, anti_aliased)
        self._remember(upsampler=upsampler, factors=factors, hidden=hidden,
                       residual_blocks=residual_blocks, sample_rate=sample_rate, n_fft=n_fft,
                       n_mels=n_mels, upsampler_options=options, length=length,
                       activation=activation, activation_options=dict(activation_options or {}),
                       anti_aliased=anti_aliased, layout=layout)
        self.n_mels, self.length, self.sample_rate = n_mels, length, sample_rate
        self.n_fft = n_fft
        self.audio_channels = 1
        self.mel = LogMel(sample_rate, n_fft, self.hop, n_mels)
        build = _vocos_layers if layout == "vocos" else _melgan_layers
        self.generator = nn.Sequential(*build(upsampler, factors, hidden, residual_blocks,
                                              n_mels, options, act))
        self._receptive_field: int | None = None  # computed when first asked

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.n_mels, self.length // self.hop)

    def upsampling_part(self) -> nn.Module:
        """The generator itself: ``(B, n_mels, F) -> (B, 1, F * hop)``."""
        return self

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, F) -> (B, 1, F * hop)``."""
        mel = check_signal("mel", mel, channels=self.n_mels)
        return self.generator(mel)

    def reconstruct(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio through its mel spectrogram and back: ``(B, 1, T) -> (B, 1, T // hop * hop)``."""
        audio = check_signal("audio", audio, channels=1)
        if audio.shape[-1] < self.hop:
            raise InvalidValue(f"audio must have at least hop={self.hop} samples; received "
                               f"shape {tuple(audio.shape)}")
        return self(self.mel(audio))

    @classmethod
    def audio_channels_of(cls, options: Any) -> int:
        """Always 1: the generator makes mono audio."""
        return 1

    baseline_name = "Griffin-Lim from the same log-mel spectrogram"

    def baseline(self, audio: torch.Tensor) -> torch.Tensor:
        """Griffin-Lim from the log-mel spectrogram the generator gets: magnitudes
        from the mel by non-negative least squares
        (:func:`~upsamplers.models.baselines.mel_to_magnitude`), then
        :func:`~upsamplers.models.baselines.griffin_lim` with the mel's framing.
        ``(1, T) -> (1, T // hop * hop)``, as :meth:`process`."""
        length = audio.shape[-1]
        padded = audio
        if length < self.shortest_input:
            padded = nn.functional.pad(audio, (0, self.shortest_input - length))
        with torch.no_grad():
            log_mel = self.mel(padded.reshape(1, 1, -1).float())  # (1, M, F)
        magnitude = mel_to_magnitude(log_mel, self.mel.filters)
        out = griffin_lim(magnitude, self.n_fft, self.hop, pad=(self.n_fft - self.hop) // 2,
                          length=log_mel.shape[-1] * self.hop)
        return out.reshape(1, -1)[..., :length // self.hop * self.hop].to(audio.dtype)

    def training_pair(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mel(batch), batch)``: ``(B, 1, T) -> ((B, n_mels, T // hop), (B, 1, T))``
        (the mel spectrogram is not differentiated)."""
        with torch.no_grad():
            mel = self.mel(batch)
        return mel, batch

    @property
    def receptive_field(self) -> int:
        """Audio samples on either side of an output sample that can change it,
        computed from the mel frames, the convolutions, residual stacks and the
        upsamplers' phase kernels (the generator is convolutional throughout, so
        long signals are chunked exactly). Computed once: it depends on the
        layers' shapes only, and asking every phase of a hop of 64 or more through
        every layer cost about 0.1 s, on every chunked call."""
        if self._receptive_field is None:
            def inputs(span: Span) -> Span:  # audio out -> audio in
                return layer_span(layer_span(span, self.generator), self.mel)

            self._receptive_field = receptive_field(inputs, self.hop)
        return self._receptive_field

    @property
    def shortest_input(self) -> int:
        """The fewest audio samples (a multiple of ``hop``) that every reflection
        padding accepts (each needs more samples than it pads)."""
        frames = 1
        while not self._runs_on(frames):
            frames += 1
        return frames * self.hop

    def _runs_on(self, frames: int) -> bool:
        """Whether the mel front end and the generator's reflection paddings accept
        ``frames`` frames."""
        if frames * self.hop <= self.n_fft - self.hop - (self.n_fft - self.hop) // 2:
            return False
        length = frames
        for layer in self.generator:
            if isinstance(layer, nn.ReflectionPad1d):
                if length <= max(layer.padding):
                    return False
                length += sum(layer.padding)
            elif isinstance(layer, nn.Conv1d):
                length -= layer.dilation[0] * (layer.kernel_size[0] - 1)
            elif isinstance(layer, ResidualStack):
                if any(length <= 3 ** i for i in range(len(layer.blocks))):
                    return False
            elif hasattr(layer, "factor"):  # an upsampler
                length *= layer.factor
        return True

    def process(self, audio: torch.Tensor, statistics: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Audio through its mel spectrogram and back (:meth:`reconstruct`); audio
        shorter than :attr:`shortest_input` is zero-padded to it and the output
        cropped back. ``statistics`` is unused (the model computes none)."""
        length = audio.shape[-1]
        if length < self.shortest_input:
            padded = nn.functional.pad(audio, (0, self.shortest_input - length))
            return self.reconstruct(padded)[..., :length // self.hop * self.hop]
        return self.reconstruct(audio)
