"""Look-alikes of the architectures users run, for the audit gallery and its tests.

Each builder returns a small, randomly initialised ``torch.nn.Module`` written the
way the public code of its family writes it (weight norm, functional activations,
wrappers that trim, hand-written shuffles, ``torch.istft`` heads), not with this
package's layers, so that ``lint``, ``audit`` and ``aliasing`` meet what they meet
in users' code. Widths are small (the tests run them on CPU); the structure, the
factors and the rates are those of the family. Nothing is downloaded.

:data:`GALLERY` maps a name to ``(builder, output rate in Hz, what it looks like)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations

wn = parametrizations.weight_norm


class UserSnake(nn.Module):
    """Snake written the way vocoder repositories write it: ``x + sin(a x)^2 / a``,
    ``a`` per channel (log scale off)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sin(self.alpha * x) ** 2 / (self.alpha + 1e-9)


class ResBlock(nn.Module):
    """Two dilated convolutions with an activation before each, and a skip."""

    def __init__(self, channels: int, act: Callable[[int], nn.Module] | None,
                 dilation: int = 1) -> None:
        super().__init__()
        self.act1 = act(channels) if act else None
        self.act2 = act(channels) if act else None
        self.conv1 = wn(nn.Conv1d(channels, channels, 3, dilation=dilation, padding=dilation))
        self.conv2 = wn(nn.Conv1d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(x) if self.act1 else F.leaky_relu(x, 0.1)
        y = self.conv1(y)
        y = self.act2(y) if self.act2 else F.leaky_relu(y, 0.1)
        return x + self.conv2(y)


def _transposed(c: int, r: int) -> nn.Module:
    """``ConvTranspose1d(C, C/2, 2r, r)`` padded to give exactly ``T * r`` samples."""
    return wn(nn.ConvTranspose1d(c, c // 2, 2 * r, r, padding=(r + 1) // 2,
                                 output_padding=r % 2))


class HiFiGANLike(nn.Module):
    """HiFi-GAN-like generator: mel ``(B, 80, T)`` to ``(B, 1, T * prod(factors))``
    through weight-normed transposed convolutions, each after
    ``F.leaky_relu(x, 0.1)`` called in ``forward`` and before a residual block."""

    def __init__(self, factors: tuple[int, ...] = (8, 8, 2, 2), width: int = 128,
                 mels: int = 80) -> None:
        super().__init__()
        self.pre = wn(nn.Conv1d(mels, width, 7, padding=3))
        self.ups = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for i, r in enumerate(factors):
            self.ups.append(_transposed(width // 2**i, r))
            self.blocks.append(ResBlock(width // 2 ** (i + 1), None, dilation=3))
        self.post = wn(nn.Conv1d(width // 2 ** len(factors), 1, 7, padding=3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre(x)
        for up, block in zip(self.ups, self.blocks, strict=True):
            x = F.leaky_relu(x, 0.1)
            x = block(up(x))
        return torch.tanh(self.post(F.leaky_relu(x)))


class BigVGANLike(nn.Module):
    """BigVGAN-like generator: as :class:`HiFiGANLike`, with a Snake module (per
    channel ``alpha``) before every transposed convolution and in the blocks."""

    def __init__(self, factors: tuple[int, ...] = (4, 4, 2, 2, 2, 2), width: int = 128,
                 mels: int = 80) -> None:
        super().__init__()
        self.pre = wn(nn.Conv1d(mels, width, 7, padding=3))
        self.stages = nn.ModuleList()
        for i, r in enumerate(factors):
            c = width // 2**i
            self.stages.append(nn.Sequential(UserSnake(c), _transposed(c, r),
                                             ResBlock(c // 2, UserSnake, dilation=3)))
        c = width // 2 ** len(factors)
        self.post = nn.Sequential(UserSnake(c), wn(nn.Conv1d(c, 1, 7, padding=3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre(x)
        for stage in self.stages:
            x = stage(x)
        return torch.tanh(self.post(x))


class TrimmedTransposed(nn.Module):
    """EnCodec's ``SConvTranspose1d``: a padding-0 transposed convolution, then
    ``kernel - stride`` samples trimmed (the right part ceil, the left the rest)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.convtr = wn(nn.ConvTranspose1d(c_in, c_out, kernel, stride))
        self.trim = kernel - stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convtr(x)
        right = (self.trim + 1) // 2
        return y[..., self.trim - right: y.shape[-1] - right]


class SEANetDecoder(nn.Module):
    """EnCodec-like codec decoder: latent ``(B, 128, T)`` to ``(B, 1, T * 320)``
    (factors 8, 5, 4, 2), ELU modules before trimmed transposed convolutions."""

    def __init__(self, latent: int = 128, width: int = 64,
                 factors: tuple[int, ...] = (8, 5, 4, 2)) -> None:
        super().__init__()
        layers: list[nn.Module] = [wn(nn.Conv1d(latent, width, 7, padding=3))]
        c = width
        for r in factors:
            layers += [nn.ELU(), TrimmedTransposed(c, c // 2, 2 * r, r)]
            c //= 2
            layers += [nn.ELU(), wn(nn.Conv1d(c, c, 3, padding=1))]
        layers += [nn.ELU(), wn(nn.Conv1d(c, 1, 7, padding=3))]
        self.model = nn.Sequential(*layers)
        self.channels = 1  # its audio channels, as codec decoders name them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class RateKeepingUNet(nn.Module):
    """Wave-U-Net / Demucs-like separator: strided convolutions down, transposed
    ones up with skips, the input padded to a multiple of ``stride ** depth`` and
    the output trimmed back: ``(B, C, T) -> (B, sources, C, T)``."""

    def __init__(self, depth: int = 4, stride: int = 4, channels: int = 2, width: int = 8,
                 sources: int = 2) -> None:
        super().__init__()
        self.depth, self.stride, self.sources = depth, stride, sources
        self.encoder, self.decoder = nn.ModuleList(), nn.ModuleList()
        c = channels
        for i in range(depth):
            self.encoder.append(nn.Sequential(
                nn.Conv1d(c, width * 2**i, 2 * stride, stride, padding=stride // 2), nn.ReLU()))
            c = width * 2**i
        for i in reversed(range(depth)):
            out = sources * channels if i == 0 else width * 2 ** (i - 1)
            self.decoder.append(nn.Sequential(
                nn.ConvTranspose1d(width * 2**i, out, 2 * stride, stride, padding=stride // 2),
                nn.ReLU() if i else nn.Identity()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        x = F.pad(x, (0, (-length) % self.stride**self.depth))
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        for block in self.decoder:
            x = block(x + skips.pop())
        x = x[..., :length]  # (B, S * C, T) -> (B, S, C, T)
        return x.reshape(x.shape[0], self.sources, -1, length)


class HybridSeparator(nn.Module):
    """Hybrid-Demucs-like: a spectrogram branch (``torch.stft``, ``Conv2d`` over
    real and imaginary parts, ``torch.istft``) beside a time branch (a strided
    ``Conv1d`` and a ``ConvTranspose1d`` back), summed; ``(B, 2, T) -> (B, 2, 2, T)``."""

    def __init__(self, n_fft: int = 256, hop: int = 64, width: int = 8) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop
        self.freq = nn.Sequential(nn.Conv2d(4, width, 3, padding=1), nn.GELU(),
                                  nn.Conv2d(width, 8, 3, padding=1))
        self.down = nn.Conv1d(2, width, 8, 4, padding=2)
        self.up = nn.ConvTranspose1d(width, 4, 8, 4, padding=2)
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        z = torch.stft(x.reshape(b * c, t), self.n_fft, self.hop_length, window=self.window,
                       return_complex=True)  # (B * C, F, N)
        z = torch.view_as_real(z).reshape(b, c, *z.shape[-2:], 2)
        z = z.permute(0, 1, 4, 2, 3).reshape(b, c * 2, *z.shape[2:4])  # (B, 2C, F, N)
        z = self.freq(z).reshape(b * 4, 2, *z.shape[-2:]).permute(0, 2, 3, 1)
        spec = torch.istft(torch.view_as_complex(z.contiguous()), self.n_fft, self.hop_length,
                           window=self.window, length=t).reshape(b, 4, t)
        time_branch = self.up(F.gelu(self.down(x)))[..., :t]
        return (spec + time_branch).reshape(b, 2, 2, t)


class ISTFTHead(nn.Module):
    """Vocos-like head: a linear map to magnitude and phase at the frame rate,
    ``exp`` of the clipped log-magnitude, then ``torch.istft`` whose hop is the
    upsampling factor (``center`` padding trimmed: ``T`` frames give ``T * hop``)."""

    def __init__(self, dim: int, n_fft: int, hop_length: int) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.out = nn.Linear(dim, n_fft + 2)
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.out(x.transpose(1, 2)).transpose(1, 2)  # (B, D, T) -> (B, n_fft + 2, T)
        mag, phase = x.chunk(2, dim=1)
        spec = torch.exp(mag).clip(max=1e2) * torch.exp(1j * phase)
        y = torch.istft(spec, self.n_fft, self.hop_length, window=self.window, center=True,
                        length=x.shape[-1] * self.hop_length)
        return y[:, None]


class VocosLike(nn.Module):
    """Vocos-like vocoder: mel ``(B, 100, T)``, depthwise-separable blocks at the
    frame rate, an :class:`ISTFTHead` with hop 256 and n_fft 1024."""

    def __init__(self, mels: int = 100, dim: int = 64, n_fft: int = 1024, hop: int = 256) -> None:
        super().__init__()
        self.embed = nn.Conv1d(mels, dim, 7, padding=3)
        self.blocks = nn.Sequential(*[nn.Sequential(
            nn.Conv1d(dim, dim, 7, padding=3, groups=dim), nn.Conv1d(dim, 2 * dim, 1), nn.GELU(),
            nn.Conv1d(2 * dim, dim, 1)) for _ in range(2)])
        self.head = ISTFTHead(dim, n_fft, hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        return self.head(x + self.blocks(x))


class SubPixelAudioUNet(nn.Module):
    """Kuleshov et al.'s audio super-resolution U-Net: strided convolutions down,
    convolutions to twice the channels and a subpixel shuffle written with
    ``reshape``/``permute`` up, the input added back: ``(B, 1, T) -> (B, 1, T)``,
    ``T`` a multiple of ``2 ** depth``."""

    def __init__(self, depth: int = 3, width: int = 16) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        c = 1
        for i in range(depth):
            self.down.append(nn.Conv1d(c, width * 2**i, 9, 2, padding=4))
            c = width * 2**i
        for i in reversed(range(depth)):
            out = 1 if i == 0 else width * 2 ** (i - 1)
            self.up.append(nn.Conv1d(width * 2**i, 2 * out, 9, padding=4))

    @staticmethod
    def shuffle(x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape  # (B, 2C, T) -> (B, C, 2, T) -> (B, C, T, 2) -> (B, C, 2T)
        return x.reshape(b, c // 2, 2, t).permute(0, 1, 3, 2).reshape(b, c // 2, 2 * t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips, y = [], x
        for conv in self.down:
            y = F.leaky_relu(conv(y), 0.2)
            skips.append(y)
        for conv in self.up:
            y = self.shuffle(F.relu(conv(y + skips.pop())))
        return x + y


class DACSnake(nn.Module):
    """Snake as DAC writes it: ``x + (alpha + 1e-9)^-1 sin(alpha x)^2``, through a
    reshape to ``(B, C, -1)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(shape[0], shape[1], -1)
        x = x + (self.alpha + 1e-9).reciprocal() * torch.sin(self.alpha * x).pow(2)
        return x.reshape(shape)


class DACLikeDecoder(nn.Module):
    """DAC-like codec decoder: a 1024-channel latent, Snake before every weight-normed
    transposed convolution (factors 8, 8, 4, 2; kernel ``2r``, padding ``ceil(r/2)``)."""

    def __init__(self, latent: int = 1024, width: int = 64,
                 factors: tuple[int, ...] = (8, 8, 4, 2)) -> None:
        super().__init__()
        layers: list[nn.Module] = [wn(nn.Conv1d(latent, width, 7, padding=3))]
        c = width
        for r in factors:
            layers += [DACSnake(c), _transposed(c, r)]
            c //= 2
            layers += [DACSnake(c), wn(nn.Conv1d(c, c, 7, padding=3))]
        layers += [DACSnake(c), wn(nn.Conv1d(c, 1, 7, padding=3)), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class WaveGradLikeUBlock(nn.Module):
    """WaveGrad-like upsampling block: ``F.interpolate`` by ``factor`` in
    ``forward``, then dilated convolutions (the factor is visible only by running)."""

    def __init__(self, c_in: int, c_out: int, factor: int) -> None:
        super().__init__()
        self.factor = float(factor)  # a float, as such blocks often store it
        self.skip = nn.Conv1d(c_in, c_out, 1)
        self.conv = nn.Conv1d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=self.factor)
        return self.skip(x) + self.conv(F.leaky_relu(x, 0.2))


class WaveGradLike(nn.Module):
    """WaveGrad-like: mel ``(B, 80, T)`` upsampled by 5, 5, 3, 2, 2 (hop 300) with
    interpolation blocks."""

    def __init__(self, mels: int = 80, width: int = 64) -> None:
        super().__init__()
        self.pre = nn.Conv1d(mels, width, 3, padding=1)
        self.blocks = nn.Sequential(*[WaveGradLikeUBlock(width, width, r)
                                      for r in (5, 5, 3, 2, 2)])
        self.post = nn.Conv1d(width, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.blocks(self.pre(x)))


GALLERY: dict[str, tuple[Callable[[], nn.Module], float, str]] = {
    "hifigan-like": (HiFiGANLike, 22050.0,
                     "HiFi-GAN-like: weight-normed transposed stack 8x8x2x2, F.leaky_relu "
                     "called in forward()"),
    "bigvgan-like": (BigVGANLike, 24000.0,
                     "BigVGAN-like: weight-normed transposed stack 4x4x2x2x2x2, Snake modules "
                     "(written as vocoder repositories write them)"),
    "encodec-like": (SEANetDecoder, 24000.0,
                     "EnCodec-like codec decoder: 128-channel latent, ELU, padding-0 transposed "
                     "convolutions 8x5x4x2 trimmed by a wrapper, `.channels` = 1"),
    "dac-like": (DACLikeDecoder, 44100.0,
                 "DAC-like codec decoder: 1024-channel latent, Snake written as DAC writes it, "
                 "weight-normed transposed stack 8x8x4x2"),
    "wavegrad-like": (WaveGradLike, 24000.0,
                      "WaveGrad-like: F.interpolate by 5, 5, 3, 2, 2 inside blocks' forward, "
                      "convolutions after"),
    "unet-at-input-rate": (RateKeepingUNet, 44100.0,
                           "Demucs / Wave-U-Net-like separator: strided encoder, transposed "
                           "decoder 4x4x4x4, output (B, sources, channels, T) at the input rate"),
    "hybrid-spectrogram": (HybridSeparator, 44100.0,
                           "Hybrid-Demucs-like: an STFT / Conv2d / iSTFT branch beside a "
                           "strided time branch, output (B, 2, 2, T) at the input rate"),
    "vocos-like": (VocosLike, 24000.0,
                   "Vocos-like: blocks at the frame rate, then an iSTFT head (hop 256, "
                   "n_fft 1024)"),
    "subpixel-audio-unet": (SubPixelAudioUNet, 16000.0,
                            "Kuleshov et al.'s audio super-resolution U-Net: a subpixel shuffle "
                            "written with reshape/permute, at the input rate"),
}
