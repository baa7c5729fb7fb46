"""The audit's tone levels in calibrated units, those of :mod:`.lines` (the compare
report's): a level that a floor of float rounding cannot inflate.

:func:`~upsamplers.analysis.tones.find_tones` reads every tone over a local
floor, clamped at 150 dB below the output's power; on an exactly periodic output
(silence or a constant through an upsampler whose phases differ) that floor is
float rounding, and a line reads "148 dB above the floor". The audit keeps that
reading to decide whether a tone is *found* (its verdicts are unchanged), and
reports each tone's level in the unit of its probe (:data:`UNITS`):

* ``silence``: **dBFS** (0 dBFS: a sine of amplitude 1, power
  :data:`~upsamplers.analysis.lines.FULL_SCALE_POWER`), from the exact line
  powers of the output's mean period
  (:func:`~upsamplers.analysis.lines.periodic_line_powers`, period ``R`` output
  samples, ``R`` the total factor);
* ``ones``: **dB re the output RMS** (its total power, DC included), from the same
  line powers;
* ``noise``: **dB above a real floor**: the median of the neighbouring bins of
  the same Welch spectrum, not clamped; no figure (``None``) where that floor is
  float rounding or the output ignores its input (exactly periodic).

A line of silence or a constant below
:data:`~upsamplers.analysis.lines.ROUNDING_DB` re the output's power is float
rounding: no figure either. :func:`floor_levels` gives the level above a real
floor on every probe (``None`` where it is rounding), for ``audit.json``'s
``level_db_above_floor``.
"""

from __future__ import annotations

import math

import numpy as np

from .lines import (
    FULL_SCALE_POWER,
    ROUNDING_DB,
    line_spectrum_levels,
    no_floor_note,
    periodic_line_powers,
)
from .spectrum import db
from .tones import ToneAnalysis

#: The unit of a tone's calibrated level, per audit probe.
UNITS = {"silence": "dBFS", "ones": "dB re output RMS", "noise": "dB above floor"}


def _periodic_levels(y: np.ndarray, tones: ToneAnalysis, total: int, probe: str
                     ) -> list[float | None]:
    """Every tone of ``tones`` from the exact line powers of ``y`` ``(C, T)``'s
    mean period of ``total`` samples: dBFS on silence, dB re the output's power
    on ones; ``None`` below float rounding."""
    power = float(np.mean(y * y))
    if power == 0.0 or total < 2 or y.shape[-1] < total:
        return [None] * len(tones.tones)
    lines = periodic_line_powers(y, total)
    rounding = power * 10.0 ** (ROUNDING_DB / 10.0)
    reference = FULL_SCALE_POWER if probe == "silence" else power
    out: list[float | None] = []
    for t in tones.tones:
        k = int(round(t.frequency * total / tones.sample_rate))
        p = float(lines[k - 1]) if 1 <= k <= len(lines) else 0.0
        out.append(float(db(p / reference)) if p > rounding else None)
    return out


def floor_levels(y: np.ndarray, tones: ToneAnalysis, total: int) -> list[float | None]:
    """Every tone of ``tones`` in dB above its local floor in ``tones.spectrum`` (the
    spectrum of ``y`` ``(C, T)``), ``None`` where the floor is not real: ``y`` is
    exactly periodic with period ``total``, or the floor is below
    :data:`~upsamplers.analysis.lines.ROUNDING_DB` re the mean power per bin."""
    if not tones.tones:
        return []
    if total < 2 or no_floor_note(y, total) is not None:
        return [None] * len(tones.tones)
    levels = line_spectrum_levels(tones.spectrum, [t.frequency for t in tones.tones])
    return [float(v) if math.isfinite(v) else None for v in levels]


def calibrated_levels(probe: str, y: np.ndarray, tones: ToneAnalysis, total: int
                      ) -> list[float | None]:
    """The level of every tone of ``tones`` (measured on ``y`` ``(C, T)``, the
    output of ``probe``, a model of total factor ``total``) in ``UNITS[probe]``."""
    if probe == "noise":
        return floor_levels(y, tones, total)
    return _periodic_levels(y, tones, total, probe)
