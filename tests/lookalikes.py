"""Look-alikes of real decoders, built from this package's layers, for tests,
benchmarks and the docs: one function per architecture, each a no-argument
factory (``upsamplers aliasing tests/lookalikes.py:hifigan_decoder``) with
keyword options to shrink it for a unit test.

They copy the *shape* of a published design (stage factors, channel widths,
kernel sizes, weight norm, the residual blocks, the activations), not its
trained weights: weights are drawn under a fixed seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from upsamplers.activations import Snake1d


class _SnakeResBlock(nn.Module):
    """HiFi-GAN's ResBlock1 with Snake: for each dilation ``d``, ``x + conv_1(snake(
    conv_d(snake(x))))`` (kernel ``k``, "same" padding).

    Shape: ``(B, C, T) -> (B, C, T)``.
    """

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int]) -> None:
        super().__init__()

        def conv(d: int) -> nn.Module:
            return weight_norm(nn.Conv1d(channels, channels, kernel_size, dilation=d,
                                         padding=d * (kernel_size - 1) // 2))

        self.acts1 = nn.ModuleList(Snake1d(channels) for _ in dilations)
        self.convs1 = nn.ModuleList(conv(d) for d in dilations)
        self.acts2 = nn.ModuleList(Snake1d(channels) for _ in dilations)
        self.convs2 = nn.ModuleList(conv(1) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for a1, c1, a2, c2 in zip(self.acts1, self.convs1, self.acts2, self.convs2, strict=True):
            x = x + c2(a2(c1(a1(x))))
        return x


class HiFiGANLikeDecoder(nn.Module):
    """A HiFi-GAN V1 / BigVGAN-base shaped generator with Snake activations.

    ``conv_pre`` (kernel 7) from ``in_channels`` latents or mel bands to
    ``channels``; per stage ``i``: Snake, a weight-normed ``ConvTranspose1d`` by
    ``factors[i]`` (kernel ``2 * factor``, padding ``factor // 2``: exactly
    ``T * factor`` samples) halving the channels, then the mean of one residual
    block per kernel in ``kernels`` (dilations 1, 3, 5); Snake, ``conv_post``
    (kernel 7) to one channel, tanh.

    Shape: ``(B, in_channels, T) -> (B, 1, T * prod(factors))``.
    """

    def __init__(self, in_channels: int = 128, channels: int = 608,
                 factors: Sequence[int] = (8, 8, 2, 2), kernels: Sequence[int] = (3, 7, 11),
                 dilations: Sequence[int] = (1, 3, 5)) -> None:
        super().__init__()
        self.conv_pre = weight_norm(nn.Conv1d(in_channels, channels, 7, padding=3))
        self.acts = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.blocks = nn.ModuleList()
        width = channels
        for r in factors:
            self.acts.append(Snake1d(width))
            self.ups.append(weight_norm(nn.ConvTranspose1d(
                width, width // 2, 2 * r, stride=r, padding=r // 2)))
            width //= 2
            self.blocks.append(nn.ModuleList(_SnakeResBlock(width, k, dilations)
                                             for k in kernels))
        self.act_post = Snake1d(width)
        self.conv_post = weight_norm(nn.Conv1d(width, 1, 7, padding=3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(x)
        for act, up, blocks in zip(self.acts, self.ups, self.blocks, strict=True):
            x = up(act(x))
            x = sum(block(x) for block in blocks) / len(blocks)
        return torch.tanh(self.conv_post(self.act_post(x)))


def hifigan_decoder(*, in_channels: int = 128, channels: int = 608,
                    factors: Sequence[int] = (8, 8, 2, 2), kernels: Sequence[int] = (3, 7, 11),
                    seed: int = 0) -> HiFiGANLikeDecoder:
    """A ~20 M-parameter latent decoder (defaults: 128 latent channels, 608 -> 38
    channels, factors 8, 8, 2, 2: 256 output samples per frame), weights drawn
    under ``seed``. Smaller ``channels`` / ``kernels`` give the same shape for
    unit tests."""
    torch.manual_seed(seed)
    return HiFiGANLikeDecoder(in_channels, channels, factors, kernels).eval()


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
