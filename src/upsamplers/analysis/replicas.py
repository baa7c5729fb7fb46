"""Spectral replicas: energy that upsampling leaves above the input's Nyquist.

Upsampling a signal of rate ``fs_in`` by ``r`` creates images of its spectrum
around every multiple ``k fs_in`` (zero stuffing makes them at full level, the
upsampler's filter attenuates them). For a band-limited input, everything the
output holds above ``fs_in / 2`` is such a replica (or distortion). Replica band
``k`` is ``[(k - 1/2) fs_in, (k + 1/2) fs_in)`` clipped to ``[fs_in / 2,
fs_out / 2]``: the pair of images around ``k fs_in``. Energies are in dB
relative to the in-band energy ``[0, fs_in / 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import InvalidValue
from ._validate import check_audio, check_int, check_rate
from .spectrum import db, welch_spectrum

#: In-band bins (DC's left out) below which there is no in-band energy to compare
#: with: a short output of a large factor has its whole band within the DC bins.
MIN_IN_BAND_BINS = 4


@dataclass
class ReplicaEnergy:
    """Result of :func:`replica_energy`.

    Attributes:
        bands: ``[(low, high), ...]`` Hz, replica band ``k = 1, 2, ...``.
        energy_db: energy of each band over the in-band energy, dB.
        total_db: all energy above ``fs_in / 2`` over the in-band energy, dB.
        in_band_power: power in ``[0, fs_in / 2)`` (DC excluded).
    """

    sample_rate: float
    sample_rate_in: float
    bands: list[tuple[float, float]]
    energy_db: list[float]
    total_db: float
    in_band_power: float


def replica_bands(sample_rate_in: float, sample_rate_out: float) -> list[tuple[float, float]]:
    """Replica bands ``[(k - 1/2) fs_in, (k + 1/2) fs_in)`` within ``[fs_in/2, fs_out/2]``."""
    fs_in = check_rate("sample_rate_in", sample_rate_in)
    fs_out = check_rate("sample_rate_out", sample_rate_out)
    if fs_out < fs_in:
        raise InvalidValue(f"sample_rate_out must be at least sample_rate_in={fs_in}; "
                           f"received sample_rate_out={fs_out}")
    bands = []
    k = 1
    while (k - 0.5) * fs_in < fs_out / 2 - 1e-9:
        bands.append(((k - 0.5) * fs_in, min((k + 0.5) * fs_in, fs_out / 2)))
        k += 1
    return bands


def replica_energy(signal: np.ndarray, sample_rate: float, factor: int, *,
                   nperseg: int | None = None, skip_dc_bins: int = 4) -> ReplicaEnergy:
    """Energy of ``signal`` (the output of an upsampler by ``factor`` at ``sample_rate``)
    in each replica band, relative to its in-band energy.

    Args:
        signal: ``(T,)`` or ``(C, T)``.
        sample_rate: output rate, Hz; the input rate is ``sample_rate / factor``.
        factor: total upsampling factor.
        skip_dc_bins: bins at DC left out of the in-band energy (offsets are
            measured separately).

    Shape: ``(C, T) -> ReplicaEnergy`` with ``ceil(factor / 2)`` bands (fewer
    when they reach the output Nyquist).

    Raises:
        ValueError: when fewer than :data:`MIN_IN_BAND_BINS` bins lie between the
            skipped DC bins and ``fs_in / 2`` (the signal is too short for its
            factor: a 0.5 s output of a factor 320 read "+2964 dB re in-band").
    """
    x = check_audio("signal", signal)
    fs = check_rate("sample_rate", sample_rate)
    r = check_int("factor", factor)
    if r < 2:
        raise InvalidValue(f"factor must be at least 2 for replicas to exist; received factor={r}")
    fs_in = fs / r
    spec = welch_spectrum(x, fs, nperseg=nperseg, multiple_of=2 * r, min_segments=8,
                          max_nperseg=1 << 16) if nperseg is None else \
        welch_spectrum(x, fs, nperseg=nperseg)
    power = spec.power.copy()
    power[:skip_dc_bins] = 0.0
    f = spec.frequencies
    bins = int(np.count_nonzero(f[skip_dc_bins:] < fs_in / 2))
    if bins < MIN_IN_BAND_BINS:
        raise InvalidValue(
            f"signal is too short for replicas of a factor {r}: {bins} bin(s) of "
            f"{spec.bin_width:.3g} Hz lie between DC and the input Nyquist {fs_in / 2:g} Hz "
            f"(at least {MIN_IN_BAND_BINS} needed); give a longer signal")
    in_band = float(power[f < fs_in / 2].sum())
    bands = replica_bands(fs_in, fs)
    energies = []
    for i, (lo, hi) in enumerate(bands):
        last = i == len(bands) - 1
        mask = (f >= lo) & ((f <= hi) if last else (f < hi))
        energies.append(float(power[mask].sum()))
    ref = max(in_band, 1e-300)
    return ReplicaEnergy(sample_rate=fs, sample_rate_in=fs_in, bands=bands,
                         energy_db=[float(db(max(e, 1e-300) / ref)) for e in energies],
                         total_db=float(db(max(sum(energies), 1e-300) / ref)),
                         in_band_power=in_band)
