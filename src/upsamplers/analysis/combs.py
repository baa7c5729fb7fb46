"""Combs of lines in a recording, found from the audio alone (no model needed).

An upsampler whose phases differ leaves lines at ``k * fs / hop`` (``fs`` the
output rate, ``hop`` the model's output samples per input frame, ``k = 1 ..
hop // 2``): a *comb*. :func:`find_combs` looks for such combs in any audio, so
that a user who has only a model's output can see whether it carries one and
which hop it implies ("lines every 86.13 Hz = 44100 / 512").

How (the numbers are constants of this module and of :mod:`.comb_search`):

1. **Spectra.** Blackman-Harris windows of ``nperseg`` samples, half
   overlapping, ``nperseg`` the power of two that gives
   :data:`BINS_PER_SPACING` bins between the lines of the largest hop searched
   (less for a short file, which lowers that hop). Windows are averaged in
   segments of :data:`WINDOWS_PER_SEGMENT` or more; all of them make the
   file's spectrum.
2. **Floor and peaks.** A bin's level above the local floor is its power over
   the median of the :data:`FLOOR_BINS` bins around it. A *peak* is a local
   maximum at least ``threshold_db`` above the floor. A line ``k * fs / hop`` is
   *present* when a peak lies within one bin of it.
3. **Significance.** Every integer hop in ``[min_hop, max_hop]`` is tested
   for more present lines than chance: a Poisson tail whose mean is the sum,
   over its lines, of the share of bins near a peak around each (peaks cluster,
   on a note's partials and on the skirts of strong lines), at the threshold
   and at :data:`LADDER_DB` above it (a few strong lines count as well as many
   weak ones). A hop is a candidate when the tail is below
   ``10 ** LOG10_P_FILE`` (about 1e-6 after the thousands of hops tried) and
   :data:`MIN_LINES` of its lines are present. Its *own* lines (``k`` coprime
   to ``hop``; with ``d = gcd(k, hop) > 1`` the line is one of hop ``hop / d``)
   are tested the same way, for step 5.
4. **On the comb.** A candidate's own present lines must sit on their exact
   positions: the median distance of their peaks (refined by a parabola) from
   ``k * nperseg / hop`` at most :data:`MAX_OFFSET_BINS`; and they must not be
   one sub-comb (:data:`SUBCOMB_SHARE` of them on the multiples of one ``m``:
   lines every ``m * fs / hop``, a spacing that is ``fs`` over no integer).
5. **Merge.** Two candidates (neither dividing the other) that share half of
   their present lines beyond those of their greatest common divisor are both
   dropped: exact combs share no others. The lines of hop ``h`` are lines of
   every multiple of ``h``: a hop above a found comb is kept only one prime step
   above a kept hop, with its own lines significant and present alike at every
   offset from that comb's lines (a strong comb's modulation sidebands repeat at
   a few offsets around each line); a comb whose hop divides another's is left
   out, so each comb is reported at the largest hop whose own lines are present.
6. **Spacing and extent.** The spacing is fitted to the present lines' refined
   frequencies. Each segment is tested for the comb's lines (one test,
   ``10 ** LOG10_P_SEGMENT``); the share of segments that pass is "how much of
   the file".

What counts as a comb, and what does not. Lines must fall within one bin of
exact multiples of ``fs / hop`` for an integer ``hop``, and be narrow (a local
peak at the analysis resolution, about 1 Hz at 44.1 kHz). Musical harmonics
are at multiples of a note's f0, which is almost never ``fs`` over an integer:
their multiples drift off any comb within a few harmonics, and notes, vibrato
and pitch changes smear them. A steady tone whose f0 *is* ``fs / hop`` (within
a bin) and whose harmonics reach past a few lines is physically a comb and is
reported as one: nothing in the audio tells the two apart. Mains hum (50 or
60 Hz harmonics) is such a comb; the report names the frequency.

Shape:
    ``(T,)`` or ``(C, T)`` audio -> :class:`CombReport` (channels are averaged in power).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .._checks import InvalidValue
from ._validate import check_audio, check_finite, check_int, check_rate
from .comb_search import (
    MIN_LINES,
    above_floor,
    drop_ambiguous,
    even_step,
    hop_scores,
    is_comb,
    line_table,
    log10_tail,
    merge,
    near_peaks,
    peak_chance,
    present_lines,
)

#: A peak must stand this far above the local floor (dB) for a line to be present.
DEFAULT_THRESHOLD_DB = 6.0
DEFAULT_MIN_HOP = 2
#: The largest hop searched by default, and the smallest line spacing (Hz): a
#: default search stops at ``min(DEFAULT_MAX_HOP, sample_rate / MIN_SPACING_HZ)``.
#: Closer lines are the territory of rhythm (a loop at 120 BPM repeats every
#: 125 ms: lines every 8 Hz), and the slowest common frame rates of neural codecs
#: are above it (12.5 Hz: 24000 / 1920; 10.8 Hz: 44100 / 4096).
DEFAULT_MAX_HOP = 4096
MIN_SPACING_HZ = 10.0
#: The largest ``max_hop`` taken: the table of every hop's lines holds about
#: ``max_hop ** 2 / 4`` entries (17 million, some 150 MB, at 8192).
MAX_HOP_LIMIT = 8192
#: Bins per line spacing of the largest hop (the window's main lobe spans 8).
BINS_PER_SPACING = 16
#: Windows averaged per segment (the unit of "how much of the file").
WINDOWS_PER_SEGMENT = 4
#: Smallest window: shorter files are not analysed.
MIN_NPERSEG = 512
#: log10 of the largest binomial tail that makes a hop a comb over the whole file.
LOG10_P_FILE = -10.0
#: ... and that makes a found comb present in one segment.
LOG10_P_SEGMENT = -3.0
#: No floor is taken below this level re the file's strongest bin (dB): lines in a
#: band of digital silence are not measured against rounding noise.
FLOOR_CLAMP_DB = -120.0
#: Mains frequencies named in a comb's note.
MAINS_HZ = (50.0, 60.0)


@dataclass(frozen=True)
class Comb:
    """One comb of lines found in the audio.

    Attributes:
        hop: the largest hop whose own lines are present; lines at ``k * fs / hop``.
        spacing: Hz between lines, fitted to the present lines (``sample_rate /
            hop`` within a fraction of a bin).
        lines_present: lines (``k = 1 .. hop // 2``) with a peak within one bin.
        lines_possible: ``hop // 2``.
        peak_db: the strongest present line, dB above its local floor.
        median_db: the median present line, dB above its local floor.
        fraction: the fraction of the file's segments in which the comb is found.
        log10_p: log10 of the chance of as many of its lines by accident.
        frequencies: ``(lines_present,)`` the present lines, ``k * sample_rate / hop`` Hz.
        note: ``""``, or what else the spacing is (mains hum).
    """

    hop: int
    spacing: float
    lines_present: int
    lines_possible: int
    peak_db: float
    median_db: float
    fraction: float
    log10_p: float
    frequencies: tuple[float, ...] = field(repr=False)
    note: str = ""

    def describe(self, sample_rate: float) -> str:
        """``lines every 86.13 Hz = 44100 / 512, up to 23.4 dB above the local
        floor (median 12.1 dB), in 97 % of the file``."""
        text = (f"lines every {self.spacing:.2f} Hz = {sample_rate:g} / {self.hop}, up to "
                f"{self.peak_db:.1f} dB above the local floor (median {self.median_db:.1f} dB), "
                f"{self._extent()} "
                f"({self.lines_present} of {self.lines_possible} lines)")
        return f"{text}; {self.note}" if self.note else text

    def _extent(self) -> str:
        if self.fraction == 0:
            return "in the whole file's average only (too weak for any one segment)"
        return f"in {100 * self.fraction:.0f} % of the file"

    def to_dict(self) -> dict[str, Any]:
        return {"hop": self.hop, "spacing_hz": self.spacing, "lines_present": self.lines_present,
                "lines_possible": self.lines_possible, "peak_db": self.peak_db,
                "median_db": self.median_db, "fraction": self.fraction,
                "log10_p": self.log10_p, "note": self.note}


@dataclass
class CombReport:
    """What :func:`find_combs` found in one recording.

    Attributes:
        sample_rate: Hz.
        combs: the combs found, strongest first (empty: no comb).
        min_hop, max_hop: the hops searched (``max_hop`` lowered for a short file).
        threshold_db: the peak threshold used.
        nperseg: samples per analysis window (bin width ``sample_rate / nperseg``).
        segments: segments the fraction of the file is counted over.
        seconds: the recording's duration.
        note: ``""``, or why nothing could be measured or the search was narrowed.
        frequencies: ``(F,)`` bin centres, Hz (for figures; not in :meth:`to_dict`).
        level_db: ``(F,)`` the file's spectrum, dB (power per bin re full-scale sine).
        floor_db: ``(F,)`` its local floor, dB.
    """

    sample_rate: float
    combs: list[Comb]
    min_hop: int
    max_hop: int
    threshold_db: float
    nperseg: int
    segments: int
    seconds: float
    note: str = ""
    frequencies: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    level_db: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    floor_db: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def found(self) -> bool:
        return bool(self.combs)

    def summary(self) -> str:
        """One line: ``no comb`` or the combs found (``; `` between them)."""
        if not self.combs:
            return f"no comb ({self.note})" if self.note else "no comb"
        return "; ".join(c.describe(self.sample_rate) for c in self.combs)

    def to_dict(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "seconds": self.seconds,
                "min_hop": self.min_hop, "max_hop": self.max_hop,
                "threshold_db": self.threshold_db, "nperseg": self.nperseg,
                "segments": self.segments, "note": self.note, "summary": self.summary(),
                "combs": [c.to_dict() for c in self.combs]}


def _segment_spectra(x: np.ndarray, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean periodograms of the segments of ``x`` ``(C, T)`` and their window counts.

    Shape:
        ``(C, T) -> ((S, nperseg // 2 + 1), (S,))``; power per bin, full-scale
        sine = 1 (window normalised to unit sum; |A/2|^2 times 4).
    """
    step = nperseg // 2
    starts = np.arange(0, x.shape[-1] - nperseg + 1, step)
    groups = np.array_split(starts, max(1, len(starts) // WINDOWS_PER_SEGMENT))
    window = _window(nperseg)
    spectra = np.empty((len(groups), nperseg // 2 + 1))
    for s, group in enumerate(groups):
        total = np.zeros(nperseg // 2 + 1)
        for start in group:
            frames = x[:, start:start + nperseg] * window  # (C, nperseg)
            total += (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).mean(axis=0)
        spectra[s] = 4.0 * total / len(group)  # a sine of amplitude 1 reads 1 on its bin
    return spectra, np.array([len(g) for g in groups])


@lru_cache(maxsize=8)
def _window(nperseg: int) -> np.ndarray:
    from scipy.signal import get_window

    w = get_window("blackmanharris", nperseg)
    return w / w.sum()


def _plan(length: int, sample_rate: float, min_hop: int, max_hop: int) -> tuple[int, int, str]:
    """``(nperseg, max_hop, note)`` for a recording of ``length`` samples."""
    wanted = 1 << math.ceil(math.log2(BINS_PER_SPACING * max_hop))
    fits = 1 << int(math.floor(math.log2(max(1, (2 * length) // (WINDOWS_PER_SEGMENT + 1)))))
    nperseg = min(wanted, fits)
    if nperseg < MIN_NPERSEG:
        return nperseg, max_hop, (f"too short to analyse: {length} samples "
                                  f"({length / sample_rate:.3g} s); at least "
                                  f"{MIN_NPERSEG * (WINDOWS_PER_SEGMENT + 1) // 2} needed")
    searched = min(max_hop, nperseg // BINS_PER_SPACING)
    if searched < min_hop:
        return nperseg, searched, (f"too short to search hops from {min_hop}: "
                                   f"{length / sample_rate:.3g} s resolves hops up to {searched}")
    note = (f"hops above {searched} not searched: the file ({length / sample_rate:.3g} s) is "
            "too short to resolve their lines" if searched < max_hop else "")
    return nperseg, searched, note


def _mains_note(spacing: float) -> str:
    for mains in MAINS_HZ:
        if abs(spacing - mains) < 0.01 * mains:
            return f"{mains:g} Hz: the harmonics of mains hum, not an upsampler's comb?"
    return ""


def _segment_fraction(spectra: np.ndarray, hop: int, nperseg: int, threshold: float,
                      clamp: float, first_bin: int) -> float:
    """Fraction of the segments ``(S, F)`` in which the lines of ``hop`` (all ``k``)
    are present beyond chance (:data:`LOG10_P_SEGMENT`, at least :data:`MIN_LINES`)."""
    k = np.arange(1, hop // 2 + 1)
    bins = np.rint(k * (nperseg / hop)).astype(np.int64)
    passed = 0
    for power in spectra:
        excess, _ = above_floor(power, clamp)
        near = near_peaks(excess, threshold, first_bin)
        hits = int(near[bins].sum())
        tail = log10_tail(np.array([hits]), np.array([peak_chance(near)[bins].sum()]))[0]
        passed += hits >= MIN_LINES and tail <= LOG10_P_SEGMENT
    return passed / len(spectra)


def _comb(hop: int, log10_p: float, excess: np.ndarray, spectra: np.ndarray,
          sample_rate: float, nperseg: int, threshold: float, clamp: float,
          first_bin: int) -> Comb:
    """The :class:`Comb` of ``hop``: its present lines' levels and its fraction."""
    k, levels, offsets = present_lines(excess, hop, nperseg, threshold, first_bin)
    where = (k * (nperseg / hop) + offsets) * (sample_rate / nperseg)  # refined, Hz
    spacing = float(np.sum(k * where) / np.sum(k * k))  # least squares through 0
    return Comb(hop=hop, spacing=spacing, lines_present=len(k),
                lines_possible=hop // 2, peak_db=float(levels.max()),
                median_db=float(np.median(levels)),
                fraction=float(_segment_fraction(spectra, hop, nperseg, threshold, clamp,
                                                 first_bin)),
                log10_p=float(log10_p),
                frequencies=tuple(float(f) for f in k * (sample_rate / hop)),
                note=_mains_note(sample_rate / hop))


def _check_hops(min_hop: int, max_hop: Any) -> tuple[int, int]:
    max_hop = check_int("max_hop", max_hop, minimum=2)
    if max_hop < min_hop:
        raise InvalidValue(f"max_hop must be at least min_hop={min_hop}; "
                           f"received max_hop={max_hop}")
    if max_hop > MAX_HOP_LIMIT:
        raise InvalidValue(f"max_hop must be at most {MAX_HOP_LIMIT}; received max_hop={max_hop}")
    return min_hop, max_hop


def find_combs(audio: Any, sample_rate: float, *, threshold_db: float = DEFAULT_THRESHOLD_DB,
               min_hop: int = DEFAULT_MIN_HOP, max_hop: int | None = None) -> CombReport:
    """Find the combs of lines at ``k * sample_rate / hop`` in a recording.

    Args:
        audio: ``(T,)`` or ``(C, T)`` samples, full scale 1 (channels averaged in power).
        sample_rate: Hz.
        threshold_db: how far above its local floor a peak must stand (dB, > 0).
        min_hop, max_hop: the integer hops searched (2 .. 8192); ``max_hop``
            defaults to ``min(4096, sample_rate / 10)`` (:data:`MIN_SPACING_HZ`)
            and is lowered for a file too short to resolve its lines (the
            report's note says so).

    Returns:
        a :class:`CombReport`; ``report.combs`` is empty when there is no comb.
        The method is in this module's docstring.

    Shape:
        ``(T,)`` or ``(C, T)`` -> :class:`CombReport`.
    """
    x = check_audio("audio", audio)
    sample_rate = check_rate("sample_rate", sample_rate)
    threshold_db = check_finite("threshold_db", threshold_db)
    min_hop = check_int("min_hop", min_hop, minimum=2)
    if threshold_db <= 0:
        raise InvalidValue(f"threshold_db must be above 0 dB; received threshold_db={threshold_db}")
    if max_hop is None:
        max_hop = max(min_hop, min(DEFAULT_MAX_HOP, int(sample_rate // MIN_SPACING_HZ)))
    min_hop, max_hop = _check_hops(min_hop, max_hop)
    length = x.shape[-1]
    nperseg, searched, note = _plan(length, sample_rate, min_hop, max_hop)
    base = dict(sample_rate=sample_rate, min_hop=min_hop, max_hop=searched,
                threshold_db=threshold_db, nperseg=nperseg, seconds=length / sample_rate)
    if nperseg < MIN_NPERSEG or searched < min_hop:
        return CombReport(combs=[], segments=0, note=note, **base)
    spectra, counts = _segment_spectra(x, nperseg)
    power = (spectra * counts[:, None]).sum(axis=0) / counts.sum()
    if not np.any(power > 0):
        return CombReport(combs=[], segments=len(spectra), note="silent: nothing to measure",
                          **base)
    clamp = float(power.max()) * 10 ** (FLOOR_CLAMP_DB / 10)
    excess, floor = above_floor(power, clamp)
    first_bin = max(2, nperseg // (2 * searched))  # below half the finest spacing
    table = line_table(nperseg, min_hop, searched)
    scores, own, present = hop_scores(excess, table, threshold_db, first_bin)
    candidates = np.flatnonzero((scores <= LOG10_P_FILE) & (present >= MIN_LINES))
    found = [int(table.hops[i]) for i in candidates
             if is_comb(int(table.hops[i]), excess, nperseg, threshold_db, first_bin)]
    found = drop_ambiguous(
        found, lambda h: present_lines(excess, h, nperseg, threshold_db, first_bin)[0], nperseg)

    def is_step(h: int, d: int) -> bool:
        k = present_lines(excess, h, nperseg, threshold_db, first_bin)[0]
        return even_step(h, d, k, float(own[h - min_hop]))

    merged = merge(found, is_step)
    combs = [_comb(h, scores[h - min_hop], excess, spectra, sample_rate, nperseg,
                   threshold_db, clamp, first_bin) for h in merged]
    combs.sort(key=lambda c: (-c.fraction, -c.median_db))
    return CombReport(combs=combs, segments=len(spectra), note=note,
                      frequencies=np.fft.rfftfreq(nperseg, 1 / sample_rate),
                      level_db=10 * np.log10(np.maximum(power, clamp)),
                      floor_db=10 * np.log10(floor), **base)
