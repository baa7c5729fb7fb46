"""The aliasing of a trained model, for the report: its aliased-to-harmonic ratio
(AHR, dB, lower is better; Gu et al., 2025) measured on sines through the WHOLE
model (a vocoder: audio -> mel spectrogram -> generator -> audio), so that the
figure is what its activations and upsamplers fold back into the band after
training, beside the tone measures of :mod:`.tones`.

:func:`model_aliasing` is what a compare run calls; the measurement itself is
:func:`_measure_ahr`. It is not :func:`upsamplers.analysis.measure_aliasing`,
which reads one prime period of a time-invariant module's output: a vocoder is
periodically time-varying (its mel frames are ``hop`` samples apart), so its
output repeats every ``prime * hop`` samples and that is the window read here.
The test signals and the definition are the same (sines with ``k0`` cycles in a
prime period, f0 from 0.05 to 0.40 of the rate, amplitude 0.8; off-harmonic over
harmonic power).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..models import ReferenceModel

#: f0 of the test sines, fractions of the sample rate (Gu et al.'s band)
AHR_FRACTIONS = tuple(float(f) for f in np.linspace(0.05, 0.40, 15))
#: peak amplitude of the test sines (full scale 1)
AHR_AMPLITUDE = 0.8
#: the prime period (samples) every test sine repeats with: ``k0`` cycles in it
AHR_PERIOD = 509
#: harmonics 2..LOW_HARMONICS that must not land within NYQUIST_GUARD bins of the
#: Nyquist frequency (where a harmonic and its alias would share bins)
LOW_HARMONICS = 5
NYQUIST_GUARD = 3

Run = Callable[[torch.Tensor], torch.Tensor]


def model_aliasing(model: ReferenceModel, device: torch.device | None = None
                   ) -> dict[str, Any]:
    """The AHR of ``model`` (audio in and out at one rate, one channel, not a
    separator): sines through ``model.process`` (a vocoder: through its mel
    spectrogram and back), one steady-state period of the output read.

    Returns ``{"ahr_db": the power mean over f0 (dB), "per_f0": [{"f0_hz", "ahr_db"}],
    "amplitude", "method"}``.
    """
    if model.separates or model.rate_ratio != 1 or model.audio_channels != 1:
        raise ValueError(f"the aliasing of {type(model).__name__} is not measured: it needs a "
                         "mono model from audio to audio at one rate")
    if model.receptive_field is None:
        raise ValueError(f"{type(model).__name__}'s outputs read its whole input: no steady "
                         "state to read the aliasing from")
    first = next(iter(model.parameters()), None)
    dtype = first.dtype if first is not None else torch.float32

    def run(audio: torch.Tensor) -> torch.Tensor:  # (B, 1, T) -> (B, 1, T)
        return model.process(audio.to(device=device, dtype=dtype)).cpu()

    return _measure_ahr(run, float(model.sample_rate), hop=model.hop,
                        settle=int(model.receptive_field))


# ---- the AHR of a hop-periodic model (a window of prime * hop samples) ----


def ahr_f0_bins(period: int = AHR_PERIOD, fractions: Sequence[float] = AHR_FRACTIONS
                ) -> list[int]:
    """Cycles per ``period`` samples of each test sine: the nearest to each
    fraction of the rate whose harmonics 2..:data:`LOW_HARMONICS` stay at least
    :data:`NYQUIST_GUARD` bins from the Nyquist frequency (folded into the band),
    without repeats."""
    out: list[int] = []
    for fraction in fractions:
        centre = round(fraction * period)
        for k0 in sorted(range(max(1, centre - 8), centre + 9), key=lambda k: abs(k - centre)):
            folded = [min(h * k0 % period, period - h * k0 % period)
                      for h in range(2, LOW_HARMONICS + 1)]
            if k0 not in out and all(abs(f - period / 2) >= NYQUIST_GUARD for f in folded):
                out.append(k0)
                break
    return out


def _measure_ahr(run: Run, sample_rate: float, *, hop: int = 1, settle: int = 0,
                 period: int = AHR_PERIOD, amplitude: float = AHR_AMPLITUDE,
                 fractions: Sequence[float] = AHR_FRACTIONS) -> dict[str, Any]:
    """AHR of ``run`` (``(B, 1, T) -> (B, 1, T)``, periodic in time with period
    ``hop``, outputs reading at most ``settle`` samples on either side).

    Each test sine has ``k0`` cycles in the prime ``period`` P (:func:`ahr_f0_bins`),
    so its output repeats every ``W = P * hop`` samples; one such window is read
    after ``settle`` samples (the steady state) and its ``rfft`` taken. Its
    harmonics lie at bins ``h * k0 * hop`` (``h k0 < P / 2``); an alias of a
    harmonic above the Nyquist frequency lands at ``hop * (h k0 mod P)``, never on
    a harmonic bin for ``h < P`` (P is prime), and the lines a ``hop``-periodic
    model adds at ``f +- j fs / hop`` never do either. So::

        AHR(f0) = 10 log10( sum of |X|^2 off the harmonic bins (DC excluded)
                            / sum of |X|^2 on them )

    and the summary is the power mean, ``10 log10(mean over f0 of the ratio)``.
    """
    bins = ahr_f0_bins(period, fractions)
    window = period * hop
    start = -(-settle // hop) * hop
    length = start + window + start
    n = torch.arange(length, dtype=torch.float64)
    k = torch.tensor(bins, dtype=torch.float64)[:, None]
    sines = amplitude * torch.sin(2 * math.pi * k * n / period)  # (F, T), period P each
    with torch.no_grad():
        y = run(sines[:, None])[:, 0, start:start + window].double().numpy()  # (F, W)
    power = np.abs(np.fft.rfft(y, axis=-1)) ** 2
    per_f0 = []
    ratios = []
    for row, k0 in zip(power, bins, strict=True):
        harmonic = np.zeros(row.shape, dtype=bool)
        harmonic[np.arange(k0 * hop, window / 2, k0 * hop).astype(int)] = True
        on, off = row[harmonic].sum(), row[~harmonic][1:].sum()  # DC (bin 0) left out
        ratio = off / on if on > 0 else math.inf
        ratios.append(ratio)
        per_f0.append({"f0_hz": k0 * sample_rate / period,
                       "ahr_db": 10 * math.log10(ratio) if 0 < ratio < math.inf else None})
    mean = float(np.mean(ratios))
    return {"ahr_db": 10 * math.log10(mean) if 0 < mean < math.inf else None,
            "per_f0": per_f0, "amplitude": amplitude,
            "method": f"sines with k0 cycles in {period} samples (prime), amplitude "
                      f"{amplitude:g}, f0 {min(fractions):.2f}-{max(fractions):.2f} of the rate "
                      f"({len(bins)} f0); one steady-state period of {window} samples of the "
                      "output, rfft; off-harmonic power over harmonic power, power mean over f0"}
