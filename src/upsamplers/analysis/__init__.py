"""Measure upsampling artifacts: tones, filtering, replicas, offsets; audit and lint models.

numpy/scipy only at import time; :func:`audit`, :func:`lint` and the figures
import torch (and matplotlib for plots) when they run.

* :func:`find_tones`: tones at the multiples of every stage's input rate,
  in dB above the local floor and relative to the total power.
* :func:`measure_response`, :func:`interpolation_response`, :func:`sinc_response`,
  :func:`filtering_summary`: filtering artifacts, measured and in theory.
* :func:`replica_energy`: spectral replicas above the input's Nyquist.
* :func:`predicted_constant_tones`, :func:`predicted_response`: the same read off
  the phase kernels of a linear upsampler.
* :func:`tone_measures`: the lines at ``k * fs / hop`` in units a user can act
  on: dBFS on silence, dB re RMS on a constant, dB above a real floor and
  excess over the input on noise and on audio.
* :func:`measure_aliasing`: the aliased-to-harmonic ratio (AHR, dB) of any
  module (activation, upsampler, block, model) on prime-period test signals.
* :func:`audit`, :func:`lint`: a whole model, by probing it or by reading it.
* :func:`find_combs`: combs of lines at ``k * fs / hop`` in any recording, without the model.
"""

from __future__ import annotations

from .aliasing import (
    AliasingMeasure,
    AliasingReport,
    AliasingSummary,
    Component,
    aliasing_signal,
    measure_aliasing,
    next_prime,
)
from .auditing import PROBES, ArtifactReport, audit
from .combs import Comb, CombReport, find_combs
from .kernels import (
    PredictedTone,
    as_kernel_arrays,
    equivalent_filter,
    phase_gain_spread_db,
    phase_outputs,
    predicted_constant_tones,
    predicted_response,
)
from .lines import LineLevel, ToneMeasures, line_frequencies, tone_measures
from .linting import LintFinding, LintReport, lint
from .replicas import ReplicaEnergy, replica_bands, replica_energy
from .response import (
    FilteringSummary,
    Response,
    filtering_summary,
    interpolation_kernel,
    interpolation_response,
    measure_response,
    sinc_response,
    zero_stuff,
)
from .spectrum import Spectrum, choose_nperseg, welch_spectrum
from .tones import (
    DEFAULT_THRESHOLD_DB,
    Tone,
    ToneAnalysis,
    expected_tone_frequencies,
    find_tones,
    stage_rates,
)

__all__ = [
    "DEFAULT_THRESHOLD_DB",
    "PROBES",
    "AliasingMeasure",
    "AliasingReport",
    "AliasingSummary",
    "Component",
    "ArtifactReport",
    "Comb",
    "CombReport",
    "find_combs",
    "FilteringSummary",
    "LintFinding",
    "LintReport",
    "PredictedTone",
    "ReplicaEnergy",
    "Response",
    "Spectrum",
    "LineLevel",
    "Tone",
    "ToneAnalysis",
    "ToneMeasures",
    "as_kernel_arrays",
    "audit",
    "choose_nperseg",
    "equivalent_filter",
    "expected_tone_frequencies",
    "filtering_summary",
    "find_tones",
    "interpolation_kernel",
    "interpolation_response",
    "line_frequencies",
    "lint",
    "measure_aliasing",
    "measure_response",
    "next_prime",
    "phase_gain_spread_db",
    "phase_outputs",
    "predicted_constant_tones",
    "predicted_response",
    "replica_bands",
    "replica_energy",
    "sinc_response",
    "stage_rates",
    "aliasing_signal",
    "tone_measures",
    "welch_spectrum",
    "zero_stuff",
]
