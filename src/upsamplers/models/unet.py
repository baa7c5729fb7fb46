"""x``factor`` bandwidth extension (audio super-resolution) with a U-Net with skips:
the setting the classic sub-pixel layer (``SubPixel1D``) came from (Kuleshov et
al., "Audio super resolution using neural networks", ICLR workshop 2017), with
its upsamplers swappable."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import InvalidValue, check_positive_int, check_signal
from ..layers import make_upsampler
from ..ops import sinc_filter
from .base import ReferenceModel, check_options, check_upsampler_kind, register_model
from .baselines import sinc_resample
from .chunking import Span, layer_span, receptive_field, span_union

#: stop-band attenuation of the anti-alias filter of :meth:`BandwidthUNet.degrade`, dB
ANTIALIAS_STOPBAND_DB = 80.0
#: its pass band ends at this fraction of the low rate's Nyquist frequency; its
#: stop band starts at that Nyquist frequency
ANTIALIAS_PASSBAND = 0.9
#: cut-off of the fixed sinc interpolation of the residual path, as a fraction of
#: the low rate's Nyquist frequency (between the anti-alias pass and stop band edges)
RESIDUAL_CUTOFF = 0.95
_SLOPE = 0.2  # of the LeakyReLUs


def antialias_filter(factor: int) -> np.ndarray:
    """The low-pass FIR applied before decimating by ``factor``: a Kaiser-windowed
    sinc (``scipy.signal.firwin``) whose length and window come from
    ``scipy.signal.kaiserord`` for :data:`ANTIALIAS_STOPBAND_DB` of attenuation over
    the transition band ``[0.9, 1.0]`` times the low rate's Nyquist frequency
    ``fs / (2 * factor)`` (cut-off at its middle, 0.95; odd length, so it is
    centred). Unit gain at DC. float64, shape ``(L,)``."""
    from scipy.signal import firwin, kaiserord

    factor = check_positive_int("factor", factor)
    width = (1.0 - ANTIALIAS_PASSBAND) / factor  # as a fraction of the full-rate Nyquist
    taps, beta = kaiserord(ANTIALIAS_STOPBAND_DB, width)
    taps |= 1
    cutoff = (1.0 + ANTIALIAS_PASSBAND) / 2 / factor
    return firwin(taps, cutoff, window=("kaiser", beta))


def decimate(audio: torch.Tensor, fir: torch.Tensor, factor: int) -> torch.Tensor:
    """Low-pass ``audio`` by the odd-length ``fir`` (centred, zero padding beyond
    the ends) and keep every ``factor``-th sample, starting with the first: what
    ``scipy.signal.resample_poly(audio, 1, factor, window=fir)`` computes.

    Shape: ``(..., T) -> (..., ceil(T / factor))``.
    """
    length = audio.shape[-1]
    out = -(-length // factor)
    half = (fir.shape[-1] - 1) // 2
    right = (out - 1) * factor + fir.shape[-1] - length - half
    x = nn.functional.pad(audio.reshape(-1, 1, length), (half, max(right, 0)))
    y = nn.functional.conv1d(x, fir.to(audio.dtype).flip(-1).view(1, 1, -1), stride=factor)
    return y[..., :out].reshape(*audio.shape[:-1], out)


class FixedSincUpsample(nn.Module):
    """A fixed (not learned) windowed-sinc interpolation by ``factor``, channel by
    channel: zero stuffing, then the centred low-pass
    :func:`upsamplers.ops.sinc_filter` (``cutoff`` times the input Nyquist
    frequency, ``zeros`` zero crossings per side, every phase summing to one).
    Output sample ``t * factor`` is aligned with input sample ``t``.

    Shape: ``(B, C, T) -> (B, C, T * factor)``.
    """

    def __init__(self, factor: int, *, cutoff: float = RESIDUAL_CUTOFF, zeros: int = 8) -> None:
        super().__init__()
        self.factor = check_positive_int("factor", factor)
        taps = torch.as_tensor(sinc_filter(self.factor, cutoff=cutoff, zeros=zeros))
        self.half_length = (taps.shape[0] - 1) // 2
        # not in the state dict: fixed by (factor, cutoff, zeros)
        self.register_buffer("taps", taps.float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, length = x.shape
        stuffed = x.new_zeros(batch * channels, 1, length * self.factor)
        stuffed[..., ::self.factor] = x.reshape(-1, 1, length)
        y = nn.functional.conv1d(stuffed, self.taps.to(x.dtype).flip(-1).view(1, 1, -1),
                                 padding=self.half_length)
        return y.view(batch, channels, length * self.factor)

    def input_span(self, span: Span) -> Span:
        """Input samples that the outputs ``span`` read: output ``n`` reads the
        stuffed samples ``n - half .. n + half``, which hold inputs
        ``ceil((n - half) / r) .. floor((n + half) / r)``."""
        first, last = span
        half = self.half_length
        return -((half - first) // self.factor), (last + half) // self.factor


def _prime_factors(n: int) -> list[int]:
    """``n``'s prime factors, smallest first (``12 -> [2, 2, 3]``)."""
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _act() -> nn.Module:
    return nn.LeakyReLU(_SLOPE)


def _conv(cin: int, cout: int, kernel_size: int) -> nn.Conv1d:
    """A "same" convolution (odd ``kernel_size``)."""
    return nn.Conv1d(cin, cout, kernel_size, padding=(kernel_size // 2,))


class _UpLevel(nn.Module):
    """One decoder level: ``up`` (x2 upsampler + LeakyReLU), the skip added, then
    ``post`` ("same" convolution + LeakyReLU).
    ``(B, W_{i+1}, T / 2^{i+1}), skip (B, W_i, T / 2^i) -> (B, W_i, T / 2^i)``."""

    def __init__(self, up: nn.Module, post: nn.Module) -> None:
        super().__init__()
        self.up, self.post = up, post

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = self.up(x)
        return self.post(x if skip is None else x + skip)


def _checked(**config: Any) -> dict[str, Any]:
    out = dict(config)
    out["upsampler"] = check_upsampler_kind(config["upsampler"])
    for name in ("audio_channels", "width", "kernel_size", "length", "sample_rate"):
        out[name] = check_positive_int(name, config[name])
    out["depth"] = check_positive_int("depth", config["depth"], minimum=0)
    out["factor"] = check_positive_int("factor", config["factor"], minimum=2)
    if out["kernel_size"] % 2 == 0:
        raise InvalidValue(f"kernel_size must be odd (a centred convolution); "
                           f"received kernel_size={out['kernel_size']}")
    hop = out["factor"] * 2 ** out["depth"]
    if out["length"] % hop:
        raise InvalidValue(f"length must be a multiple of factor * 2 ** depth = {hop}; "
                           f"received length={out['length']}")
    out["upsampler_options"] = check_options("upsampler_options", config["upsampler_options"])
    return out


@register_model
class BandwidthUNet(ReferenceModel):
    """x``factor`` bandwidth extension with a U-Net with skips, after Kuleshov et
    al. (2017), the model the sub-pixel layer ``SubPixel1D`` was introduced with.

    Why it is here: it is where upsampling layers are used in practice to *create*
    content (the band above the input's Nyquist frequency), with skips so that no
    bottleneck hides what an upsampler does; it is scored as that literature
    scores it, with SNR and log-spectral distance (full band and upper band).

    The input is the audio low-passed and decimated by ``factor``
    (:meth:`degrade`, the rate ``sample_rate / factor``); the output is the audio
    at ``sample_rate``. With ``T`` output samples, ``t = T / factor`` input
    samples, ``W_i = width * 2**i``, ``D = depth``, ``r`` = ``factor``::

        x (B, C, t) --Conv(k) + LReLU--> h_0 (B, W_0, t)
        level i < D:  h_i --Conv(k) + LReLU, Conv(k+1, stride 2) + LReLU--> h_{i+1}
                                                      (B, W_{i+1}, t / 2^{i+1})
        bottleneck:   h_D --Conv(k) + LReLU--> y_D
        level i = D-1 .. 0:
                      y_i = LReLU(Conv(k)(LReLU(upsampler x2 (y_{i+1})) + h_i))
                                                      (B, W_i, t / 2^i), additive skip
        output:       y_0 --upsampler x p_1, LReLU, ..., upsampler x p_n--> (B, C, T)
                      (p_1 ... p_n the prime factors of r: two x2 stages for x4;
                      the last stage maps to the C audio channels, no activation)
        + residual:   x --fixed windowed-sinc interpolation x r--> (B, C, T)

    Every upsampler (the decoder's and the output's) is of the kind ``upsampler``;
    the residual path is fixed (:class:`FixedSincUpsample`, not learned, cut-off
    0.95 times the input's Nyquist frequency), so the network learns only what
    the interpolated input lacks: the missing band (Kuleshov's residual
    connection; his used cubic splines at the full rate, a sinc is its
    band-limited counterpart). ``"same"`` zero padding everywhere; the input is
    zero-padded on the right to a multiple of ``2**depth`` and the output cropped
    to ``t * factor``, so every input length is taken.

    The model is convolutional throughout: :attr:`receptive_field` is computed
    from its layers and :meth:`process_long` is exact (chunked == whole).

    Args:
        upsampler: the kind of every learned upsampler (any kind
            :func:`upsamplers.make_upsampler` knows).
        audio_channels: ``C`` (default 1).
        factor: ``r``, the rate ratio (default 4): output samples per input sample.
        width: channels of the first level, ``W_0`` (default 16).
        depth: levels of x2 down/upsampling at the low rate (default 3).
        kernel_size: of the "same" convolutions, odd (default 9); the strided ones
            have ``kernel_size + 1`` taps.
        upsampler_options: keyword arguments of the upsamplers.
        length: training crop in output samples (a multiple of
            ``factor * 2**depth``; default 16384).
        sample_rate: the output (full) rate in Hz (default 16000).

    Shape:
        ``(B, C, t) -> (B, C, t * factor)`` for every ``t >= 1``.
    """

    name = "unet"
    dataset_kind = "audio"
    pads_input = True
    metrics = ("snr", "lsd", "lsd_high")

    def __init__(
        self,
        upsampler: str = "subpixel",
        *,
        audio_channels: int = 1,
        factor: int = 4,
        width: int = 16,
        depth: int = 3,
        kernel_size: int = 9,
        upsampler_options: dict[str, Any] | None = None,
        length: int = 16384,
        sample_rate: int = 16000,
    ) -> None:
        super().__init__()
        config = _checked(upsampler=upsampler, audio_channels=audio_channels, factor=factor,
                          width=width, depth=depth, kernel_size=kernel_size,
                          upsampler_options=upsampler_options, length=length,
                          sample_rate=sample_rate)
        self._remember(**config)
        self.audio_channels, self.factor = config["audio_channels"], config["factor"]
        self.depth, self.length = config["depth"], config["length"]
        self.sample_rate = config["sample_rate"]
        self.rate_ratio = self.factor
        self.hop = self.factor * 2 ** self.depth
        self._build(config)
        self.residual = FixedSincUpsample(self.factor)
        self.register_buffer("antialias", torch.as_tensor(antialias_filter(self.factor)),
                             persistent=False)

    def _build(self, config: dict[str, Any]) -> None:
        """The encoder, bottleneck, decoder and output stages of ``config``."""
        k, kind, options = config["kernel_size"], config["upsampler"], config["upsampler_options"]
        widths = [config["width"] * 2 ** i for i in range(self.depth + 1)]
        self.inp = nn.Sequential(_conv(self.audio_channels, widths[0], k), _act())
        self.down = nn.ModuleList(
            nn.Sequential(_conv(widths[i], widths[i], k), _act(),
                          nn.Conv1d(widths[i], widths[i + 1], k + 1, stride=2,
                                    padding=((k - 1) // 2,)), _act())
            for i in range(self.depth))
        self.mid = nn.Sequential(_conv(widths[-1], widths[-1], k), _act())
        self.decoder = nn.ModuleList(  # deepest level first, as they run
            _UpLevel(nn.Sequential(make_upsampler(kind, widths[i + 1], widths[i], 2, **options),
                                   _act()),
                     nn.Sequential(_conv(widths[i], widths[i], k), _act()))
            for i in reversed(range(self.depth)))
        stages: list[nn.Module] = []
        primes = _prime_factors(self.factor)
        for i, p in enumerate(primes):
            last = i == len(primes) - 1
            stages.append(make_upsampler(kind, widths[0], self.audio_channels if last
                                         else widths[0], p, **options))
            if not last:
                stages.append(_act())
        self.output = nn.Sequential(*stages)

    # ---- data
    def degrade(self, audio: torch.Tensor) -> torch.Tensor:
        """The model's input for full-rate ``audio``: low-passed by
        :func:`antialias_filter` (Kaiser-windowed sinc, pass band to 0.9 and at
        least 80 dB of attenuation from 1.0 times the low rate's Nyquist
        frequency ``sample_rate / (2 * factor)``, centred: no delay) and decimated
        by ``factor`` (what ``scipy.signal.resample_poly(audio, 1, factor,
        window=fir)`` computes; zeros beyond the ends). No gradient.

        Shape: ``(..., T) -> (..., ceil(T / factor))``.
        """
        if not isinstance(audio, torch.Tensor) or not audio.is_floating_point():
            raise InvalidValue("audio must be a floating-point torch.Tensor (..., T)")
        with torch.no_grad():
            return decimate(audio, self.antialias.to(audio.device), self.factor)

    baseline_name = "the input resampled with a Kaiser-windowed sinc"

    def baseline(self, audio: torch.Tensor) -> torch.Tensor:
        """The band-limited input resampled to the full rate with a long
        Kaiser-windowed sinc (:func:`upsamplers.models.baselines.sinc_resample`):
        ``(C, t) -> (C, t * factor)``."""
        return sinc_resample(audio, self.factor, 1)

    def training_pair(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(degrade(batch) (B, C, T / factor), batch (B, C, T))``: a batch of
        full-rate crops (``T`` a multiple of ``hop``) is the target."""
        return self.degrade(batch), batch

    def scoring_pair(self, signal: torch.Tensor, sources: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """A whole full-rate signal ``(C, T)``: input ``degrade(signal)``
        ``(C, ceil(T / factor))``, target the signal."""
        return self.degrade(signal), signal

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.audio_channels, self.length // self.factor)

    def upsampling_part(self) -> nn.Module:
        """The decoder and output stages fed with zero skips, without the residual:
        ``(B, W_D, t') -> (B, C, t' * 2**depth * factor)``, for the artifact audit."""
        return _UpsamplingProbe(self)

    # ---- chunking
    @property
    def receptive_field(self) -> int:
        """Input samples on either side of an output sample (counted from input
        sample ``n // factor``) that can change it: computed from the
        convolutions, the skips, the upsamplers' phase kernels and the residual
        interpolation. Every layer is convolutional, so chunking is exact."""
        return receptive_field(self._input_span, self.hop, self.factor)

    def _input_span(self, out: Span) -> Span:
        """Input samples that the outputs ``out`` read."""
        span = layer_span(out, self.output)  # at y_0
        needed = []  # needed[i]: the span of h_i read through skip i
        for level in reversed(self.decoder):  # level 0 (the top) first
            span = layer_span(span, level.post)
            needed.append(span)
            span = layer_span(span, level.up)
        span = layer_span(span, self.mid)
        for i in reversed(range(self.depth)):
            span = span_union(layer_span(span, self.down[i]), needed[i])
        return span_union(layer_span(span, self.inp), self.residual.input_span(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, t) -> (B, C, t * factor)``: the full-rate estimate of the audio
        whose :meth:`degrade` is ``x``."""
        x = check_signal("x", x, channels=self.audio_channels)
        length = x.shape[-1]
        padded = nn.functional.pad(x, (0, self.valid_input_length(length) - length))
        h = self.inp(padded)
        skips = []
        for down in self.down:
            skips.append(h)
            h = down(h)
        y = self.mid(h)
        for level in self.decoder:
            y = level(y, skips.pop())
        y = self.output(y) + self.residual(padded)
        return y[..., :length * self.factor]


class _UpsamplingProbe(nn.Module):
    """The decoder and output stages of a :class:`BandwidthUNet` with zero skips
    and no residual: the part that upsamples.
    ``(B, W_D, t') -> (B, C, t' * 2**depth * factor)``."""

    def __init__(self, model: BandwidthUNet) -> None:
        super().__init__()
        self.decoder, self.output = model.decoder, model.output

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for level in self.decoder:
            z = level(z, None)
        return self.output(z)

