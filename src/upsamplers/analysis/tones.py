"""Tonal artifacts: tones at the multiples of each upsampling stage's input rate.

An upsampler by ``r`` whose ``r`` phases differ turns any offset (a constant, a
bias, the mean of a ReLU's output) into a signal of period ``r`` samples, i.e.
tones at multiples of its *input* rate. For stages ``r_1 .. r_L`` ending at
``sample_rate``, stage ``l`` runs at input rate
``sample_rate / (r_l * ... * r_L)``, so its tones form a comb with that spacing.
A frequency on several combs is attributed to the coarsest one (the latest
stage), e.g. for ``factors=(2, 2, 2)`` at 32 kHz: 16 kHz to stage 3, 8 kHz to
stage 2, 4 and 12 kHz to stage 1.

Detection (:func:`find_tones`): a Welch spectrum whose segment length is a
multiple of the stage products, so every comb line falls exactly on a bin. A
tone's *level* is its bin's power over the local floor, the median of the bins
within half a comb spacing (at most :data:`FLOOR_HALF_WIDTH` bins) leaving out
the :data:`~upsamplers.analysis.spectrum.GUARD_BINS` bins next to it and next
to every other comb line. A tone is *found* when its level is at least
``threshold_db`` (default :data:`DEFAULT_THRESHOLD_DB` = 10 dB). For a signal
without tones (e.g. white noise, with the default of at least 8 averaged
segments) the bin-to-median ratio exceeds 10 dB with negligible probability
(the 16-degree-of-freedom chi-square tail at 10 times its median is below
1e-20), so none is reported. The floor is never taken below the total power
minus ``floor_limit_db`` (default 150 dB), so that numerically silent bins of
an exactly periodic signal do not make rounding noise look like a tone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validate import (
    check_audio,
    check_factors,
    check_finite,
    check_int,
    check_positive_float,
    check_rate,
)
from .spectrum import GUARD_BINS, Spectrum, db, local_floor, welch_spectrum

DEFAULT_THRESHOLD_DB = 10.0
#: A comb is measured only if its lines are at least this many bins apart.
MIN_SPACING_BINS = 16
#: Neighbouring bins (each side) that the local floor looks at, at most.
FLOOR_HALF_WIDTH = 64


@dataclass
class Tone:
    """One expected tone, measured.

    Attributes:
        frequency: the expected frequency (Hz), a multiple of ``spacing``.
        stage: 1-based index of the stage whose comb it belongs to (the coarsest).
        spacing: that stage's comb spacing, i.e. its input rate (Hz).
        measured_frequency: centre of the strongest bin within one bin of ``frequency``.
        power: that bin's power (squared signal units; ``A**2 / 2`` for a sinusoid).
        level_db: power over the local floor, dB.
        relative_db: power over the signal's total power, dB.
        found: ``level_db >= threshold_db``.
    """

    frequency: float
    stage: int
    spacing: float
    measured_frequency: float
    power: float
    level_db: float
    relative_db: float
    found: bool


@dataclass
class ToneAnalysis:
    """Result of :func:`find_tones`.

    Attributes:
        sample_rate: Hz.
        factors: the upsampling factors, first stage first.
        threshold_db: level above the floor at which a tone counts as found.
        tones: every expected tone of the resolved stages, by frequency.
        dc_power: power of the DC bin; ``dc_db`` is it over the total power (dB).
        total_power: mean square of the signal.
        resolved_stages / unresolved_stages: stages whose comb lines are at least
            :data:`MIN_SPACING_BINS` bins apart at this resolution, or not.
        bin_width: Hz per bin.
        spectrum: the spectrum the tones were read from.
    """

    sample_rate: float
    factors: tuple[int, ...]
    threshold_db: float
    tones: list[Tone]
    dc_power: float
    dc_db: float
    total_power: float
    resolved_stages: list[int]
    unresolved_stages: list[int]
    bin_width: float
    spectrum: Spectrum = field(repr=False)

    @property
    def found(self) -> list[Tone]:
        """The tones at least ``threshold_db`` above their floor."""
        return [t for t in self.tones if t.found]

    def strongest(self) -> Tone | None:
        """The found tone with the highest power, or ``None``."""
        found = self.found
        return max(found, key=lambda t: t.power) if found else None

    def tone_at(self, frequency: float) -> Tone:
        """The measured tone expected at ``frequency`` (Hz) (nearest expected one)."""
        if not self.tones:
            raise ValueError("no tones were measured (every stage is unresolved)")
        return min(self.tones, key=lambda t: abs(t.frequency - frequency))


def stage_rates(sample_rate: float, factors: tuple[int, ...] | list[int] | int) -> list[float]:
    """Input rate of every stage (Hz): ``sample_rate / (r_l * ... * r_L)``."""
    sample_rate = check_rate("sample_rate", sample_rate)
    factors = check_factors(factors)
    return [sample_rate / math.prod(factors[i:]) for i in range(len(factors))]


def expected_tone_frequencies(sample_rate: float, factors: tuple[int, ...] | list[int] | int
                              ) -> list[tuple[float, int]]:
    """Every ``(frequency, stage)`` in ``(0, sample_rate / 2]`` where the stages put
    tones, each attributed to the coarsest comb that contains it (1-based stage)."""
    factors = check_factors(factors)
    rates = stage_rates(sample_rate, factors)
    total = math.prod(factors)
    out = []
    # frequency k * sample_rate / total, k = 1 .. total // 2
    for k in range(1, total // 2 + 1):
        stage = 1
        for i in range(len(factors)):
            step = math.prod(factors[:i])  # k must be a multiple of r_1 ... r_(i)
            if k % step == 0:
                stage = i + 1
        out.append((k * rates[0], stage))
    return out


def _multiple_for(factors: tuple[int, ...], length: int, min_segments: int,
                  max_nperseg: int) -> int:
    limit = min(max_nperseg, (2 * length) // (min_segments + 1))
    for i in range(len(factors)):
        m = math.prod(factors[i:])
        if m * MIN_SPACING_BINS <= limit:
            return m
    return factors[-1] if length >= factors[-1] else 1


def find_tones(signal: np.ndarray, sample_rate: float,
               factors: tuple[int, ...] | list[int] | int, *,
               threshold_db: float = DEFAULT_THRESHOLD_DB, nperseg: int | None = None,
               min_segments: int = 8, max_nperseg: int = 2**17,
               floor_limit_db: float = 150.0) -> ToneAnalysis:
    """Measure the tones that upsampling by ``factors`` can leave in ``signal``.

    Args:
        signal: ``(T,)`` or ``(C, T)`` samples at ``sample_rate`` (the output of
            the upsampler(s)); multichannel power is averaged over channels.
        sample_rate: Hz, the rate of ``signal``.
        factors: the upsampling factors that produced it, first stage first (or the
            total factor as one integer).
        threshold_db: level over the local floor from which a tone counts as found.
        nperseg: Welch segment length; default: the largest ``m * 2**j`` (``m`` the
            product of the stages to resolve) with ``min_segments`` segments, at
            most ``max_nperseg``. Comb lines fall on bins when ``nperseg`` is a
            multiple of the stage product.
        floor_limit_db: the floor is taken at least ``total_power`` minus this.

    Returns:
        a :class:`ToneAnalysis`; stages whose comb is finer than
        :data:`MIN_SPACING_BINS` bins are listed as unresolved and not measured.
    """
    x = check_audio("signal", signal)
    sample_rate = check_rate("sample_rate", sample_rate)
    factors = check_factors(factors)
    threshold_db = check_finite("threshold_db", threshold_db)
    floor_limit_db = check_positive_float("floor_limit_db", floor_limit_db)
    min_segments = check_int("min_segments", min_segments)
    if nperseg is None:
        multiple = _multiple_for(factors, x.shape[-1], min_segments, max_nperseg)
        spec = welch_spectrum(x, sample_rate, multiple_of=multiple, min_segments=min_segments,
                              max_nperseg=max_nperseg)
    else:
        spec = welch_spectrum(x, sample_rate, nperseg=nperseg)
    rates = stage_rates(sample_rate, factors)
    resolved = [i + 1 for i, rate in enumerate(rates) if rate / spec.bin_width >= MIN_SPACING_BINS]
    unresolved = [i + 1 for i in range(len(factors)) if i + 1 not in resolved]
    candidates = []
    if resolved:
        coarse = factors[resolved[0] - 1:]
        for frequency, stage in expected_tone_frequencies(sample_rate, coarse):
            candidates.append((frequency, stage + resolved[0] - 1))
    power = spec.power
    total = max(spec.total_power, np.finfo(float).tiny)
    min_floor = total * 10.0 ** (-floor_limit_db / 10.0)
    excluded = np.zeros(len(power), dtype=bool)
    excluded[: GUARD_BINS + 1] = True
    bins = [spec.bin_of(f) for f, _ in candidates]
    for b in bins:
        excluded[max(0, b - GUARD_BINS): b + GUARD_BINS + 1] = True
    tones = []
    for (frequency, stage), b in zip(candidates, bins, strict=True):
        lo, hi = max(0, b - 1), min(len(power), b + 2)
        peak = lo + int(np.argmax(power[lo:hi]))
        spacing = rates[stage - 1]
        half_width = min(FLOOR_HALF_WIDTH, int(rates[resolved[0] - 1] / spec.bin_width) // 2)
        floor = local_floor(power, b, half_width=half_width, excluded=excluded)
        floor = max(floor, min_floor) if math.isfinite(floor) else min_floor
        level = float(db(power[peak] / floor))
        tones.append(Tone(frequency=frequency, stage=stage, spacing=spacing,
                          measured_frequency=float(spec.frequencies[peak]),
                          power=float(power[peak]), level_db=level,
                          relative_db=float(db(max(power[peak], 1e-300) / total)),
                          found=level >= threshold_db))
    return ToneAnalysis(sample_rate=sample_rate, factors=factors, threshold_db=threshold_db,
                        tones=tones, dc_power=float(power[0]),
                        # an all-zero output has no DC share: -inf, not DC over "tiny"
                        dc_db=(float(db(max(power[0], 1e-300) / total))
                               if spec.total_power > 0 else -math.inf),
                        total_power=spec.total_power, resolved_stages=resolved,
                        unresolved_stages=unresolved, bin_width=spec.bin_width, spectrum=spec)
