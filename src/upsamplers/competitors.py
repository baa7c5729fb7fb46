"""What users run today for an anti-aliased interpolation followed by a
convolution, built the same way for the benchmark: alias-free-torch's
``UpSample1d`` (BigVGAN's) and julius's ``resample_frac``, each followed by the
same learnable ``nn.Conv1d`` as our layers; and a measurement of the image
rejection of any interpolation, from its output.

Both libraries are optional (``pip install 'neural-upsamplers[bench]'``);
:func:`available` lists those installed. torchaudio is left out: its wheels pin
one torch version each, and none matches this package's torch pin (2.13).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ._checks import InvalidValue, check_positive_int, check_real
from .ops.convolution import conv1d_same

Interpolation = Callable[[torch.Tensor], torch.Tensor]

#: library -> (import name, what is built)
LIBRARIES = {
    "alias-free-torch": ("alias_free_torch", "UpSample1d(ratio=r) (BigVGAN's)"),
    "julius": ("julius", "resample_frac(x, 1, r) (zeros=24, rolloff=0.945)"),
}


def available() -> list[str]:
    """The libraries of :data:`LIBRARIES` that are installed."""
    return [name for name, (module, _) in LIBRARIES.items()
            if importlib.util.find_spec(module) is not None]


def interpolation(library: str, factor: int) -> Interpolation:
    """The library's interpolation by ``factor``: ``(B, C, T) -> (B, C, T * factor)``."""
    factor = check_positive_int("factor", factor)
    if library not in LIBRARIES:
        raise InvalidValue(f"library must be one of {', '.join(map(repr, LIBRARIES))}; "
                           f"received library={library!r}")
    if library not in available():
        raise ImportError(f"{library} is not installed: pip install "
                          "'neural-upsamplers[bench]'")
    if library == "alias-free-torch":
        from alias_free_torch import UpSample1d

        module = UpSample1d(ratio=factor)
        return module
    import julius

    return lambda x: julius.resample_frac(x, 1, factor)


class InterpolateThenConv(nn.Module):
    """``interpolate`` (fixed) then a learnable ``Conv1d(channels, channels,
    kernel_size)`` with this package's "same" padding: the composition a user
    writes with another library, for timing against our layers.

    Shape:
        ``(B, C, T) -> (B, C, T * factor)``
    """

    def __init__(self, interpolate: Interpolation, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.interpolate = interpolate
        self.conv = nn.Conv1d(channels, channels, kernel_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv1d_same(self.interpolate(x), self.conv.weight, self.conv.bias)


def measured_image_rejection(interpolate: Interpolation, factor: int, frequency: float, *,
                             length: int = 1 << 14) -> float:
    """How far (dB) below a sine at ``frequency`` (a fraction of the input Nyquist
    frequency, in ``(0, 1)``) its strongest image lies in ``interpolate``'s output:
    a float32 sine of ``2 * length`` samples goes in, the middle ``length * factor``
    output samples are Kaiser-windowed (beta 20, sidelobes about 150 dB down) and
    the peaks within 0.01 of each frequency compared. Images: ``2 m +- frequency``
    below ``factor``."""
    factor = check_positive_int("factor", factor)
    frequency = check_real("frequency", frequency, low=0.0, high=1.0, low_open=True)
    t = np.arange(2 * length)
    x = torch.from_numpy(np.sin(np.pi * frequency * t).astype(np.float32))[None, None]
    with torch.no_grad():
        u = interpolate(x)[0, 0].double().numpy()
    start = (len(u) - length * factor) // 2
    mid = u[start: start + length * factor]
    spectrum = np.abs(np.fft.rfft(mid * np.kaiser(len(mid), 20.0)))
    freqs = np.arange(len(spectrum)) * 2.0 * factor / len(mid)

    def level(f: float) -> float:
        near = np.abs(freqs - f) <= 0.01
        return float(20 * np.log10(max(spectrum[near].max(), 1e-300)))

    images = [f for m in range(1, factor // 2 + 1) for f in (2 * m - frequency,
                                                             2 * m + frequency)
              if f < factor - 0.01]
    if not images:
        return math.inf
    return level(frequency) - max(level(f) for f in images)


__all__ = ["LIBRARIES", "InterpolateThenConv", "available", "interpolation",
           "measured_image_rejection"]
