"""Aliasing of a module: the aliased-to-harmonic ratio (AHR) of periodic test signals.

:func:`measure_aliasing` feeds a module (an activation, an upsampler, a block, a
whole model; a ``torch.nn.Module`` or a callable on numpy arrays) with test
signals whose period is a *prime* number ``N`` of input samples, and reads one
period of its output in steady state.

Test signals. A sine at ``f0 = k0 / N`` of the input rate (``k0 = round(f * N)``
for a requested fraction ``f``) holds exactly ``k0`` cycles per period, so a
rectangular window of one period has no leakage: every component of the
periodic output falls exactly on one bin. ``N`` being prime, harmonic ``h``
lands on bin ``h * k0 mod N`` and no two harmonics ``h, h' < N / 2`` share a
bin, nor does a harmonic share one with a folded harmonic: each is separable.
Sawtooth and triangle waves are *band-limited* (their harmonics below the input
Nyquist only, amplitudes ``(-1)**(h+1) / h`` and ``(-1)**((h-1)/2) / h**2`` for odd
``h``) and scaled to the requested peak: a naive sawtooth is itself aliased.

Steady state. The module may have memory. With whole periods (``layout="periods"``)
one period is tiled ``2 * warmup + 2`` times (more for a decimator), and the
period after ``warmup`` periods is analysed. If the module changes the rate by
``r = p / q`` (output samples per input sample), the analysed window is ``q``
input periods, ``M = p * N`` output samples, and the fundamental is bin
``K = q * k0``. The next window is compared with it: if they differ by more than
``max(-100 dB, AHR - 20 dB)`` re the window's power the measure is flagged *not
steady* (the module's memory is longer than the warm-up, or it is not
time-invariant) and its AHR is unreliable. By default (``layout="auto"``) each
signal is fed only the context it needs, ``4 q``, ``8 q``, ... input samples
around the window, the window's start compared with one window later
(:mod:`.aliasing_run`), whole periods when no shorter context settles.

Definition. With ``P[b]`` the power of bin ``b`` of the one-sided spectrum of
the window (``rfft``, summed over output channels; the test signal is fed
identically to every input channel), the harmonic bins are ``b = h * K`` for
``h >= 1`` and ``b < M / 2``; DC is left out; every other bin is aliased or
inharmonic (folded harmonics, an upsampler's images, intermodulation)::

    AHR = 10 log10( sum_{b not in {0} U H} P[b] / sum_{b in H} P[b] )  dB,   H = {h K < M/2}

Lower is better; ``-inf`` when the inharmonic power is exactly zero. Every
measure also carries the *floor*: the AHR of the test signal itself after
rounding to the dtype the module runs in; an AHR within 20 dB of it measures
rounding, not aliasing (``at_floor``; the markdown shows it as "at floor").

Summary, per wave and amplitude: the mean over f0 of the power ratio, in dB
(``mean_ahr_db = 10 log10(mean(P_inh / P_harm))``, dominated by the worst f0s),
the mean of the AHRs in dB (``mean_of_db``, closer to the typical f0), and the
worst (largest) AHR with its f0. For a module that raises the rate, the *image level*
of a sine is the power at the bins ``m * N +- k0`` (``m >= 1``) re the power of
the fundamental, dB. The strongest inharmonic components (those more than 20 dB
above the floor) are listed per measure in dB re the harmonic power, with the
harmonic ``h`` that folds there (the smallest ``h <= 1000`` with ``h K = +-b``
modulo ``M``, or modulo ``N`` at the input rate for an upsampler), or the image
``m`` of the fundamental (``b = m N +- k0``), or a tone at ``m`` times the input
rate (``b = m N``: an upsampler's tonal artifact, there whatever the input).

numpy only at import; torch when a module runs, matplotlib when a plot is drawn.
"""

from __future__ import annotations

import json
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import InvalidType, InvalidValue, check_choice
from .._io import atomic_write_text, plain
from ._validate import MAX_PROBE_SAMPLES, check_int, check_rate
from .aliasing_run import (
    DRY_RUN_LENGTH,
    MAX_DECIMATION,
    _Model,
    _Plan,
    batches,
    rate_ratio,
    schedule,
    settle_channels,
)
from .aliasing_sweep import QUICK_F0S, SWEEP_BUDGET_S, SWEEPS, quick_length, sweep_seconds

WAVES = ("sine", "sawtooth", "triangle")
#: Sine fundamentals, fractions of the input rate (0.05 to 0.40 by 0.025).
DEFAULT_F0S = tuple(round(0.05 + 0.025 * i, 4) for i in range(15))
#: Fundamentals of the sawtooth and triangle waves.
DEFAULT_WAVE_F0S = (0.05, 0.1, 0.2)
DEFAULT_AMPLITUDES = (0.1, 0.5, 0.8)
#: The amplitude of the headline figure (Gu et al.'s benchmark).
BAR_AMPLITUDE = 0.8
DEFAULT_LENGTH = 4099
DEFAULT_WARMUP = 2
DEFAULT_TOP = 5
MIN_LENGTH = 31
#: A measure is not steady when two consecutive windows differ by more than
#: ``max(STEADY_LIMIT_DB, AHR - STEADY_MARGIN_DB)`` dB re the window's power.
STEADY_LIMIT_DB = -100.0
STEADY_MARGIN_DB = 20.0
#: A shorter layout is taken when the change one window later is this far below the
#: harmonic and the aliased power (:func:`_settled`).
SETTLE_MARGIN_DB = 40.0
#: An AHR within this many dB of the rounding floor measures rounding.
FLOOR_MARGIN_DB = 20.0
#: The largest harmonic number searched for when naming a component.
MAX_HARMONIC = 1000
#: The largest test amplitude and module output: the analysis sums squares of up to
#: 2**27 samples in float64 (1e100 x 2**27, squared, is 1.8e216 < 1.8e308).
MAX_AMPLITUDE = 1e100
OUTPUT_NAMES = ("aliasing.md", "aliasing.json")
PLOT_NAME = "aliasing.png"


def is_prime(n: int) -> bool:
    """Whether the integer ``n`` is prime."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


def next_prime(n: int) -> int:
    """The smallest prime ``>= n``."""
    n = max(int(n), 2)
    while not is_prime(n):
        n += 1
    return n


def fundamental_bin(f0: float, length: int) -> int:
    """``k0 = round(f0 * length)``: cycles of a fundamental at ``f0`` (fraction of the
    input rate) per period of ``length`` samples, kept in ``1 .. (length - 1) // 2``."""
    return int(min(max(round(f0 * length), 1), (length - 1) // 2))


def aliasing_signal(wave: str, f0: float, amplitude: float, length: int) -> tuple[np.ndarray, int]:
    """One period (``(length,)``, float64) of ``wave`` at ``k0 / length`` of the rate,
    peak ``amplitude``, and ``k0`` (see :func:`fundamental_bin`).

    ``"sine"`` is ``amplitude * sin(2 pi k0 n / length)``; ``"sawtooth"`` and
    ``"triangle"`` sum their harmonics below the Nyquist only and are scaled to
    the peak ``amplitude`` on the sampled grid.
    """
    wave = check_choice("wave", wave, WAVES)
    k0 = fundamental_bin(f0, length)
    phase = 2 * np.pi * k0 * np.arange(length) / length
    if wave == "sine":
        return amplitude * np.sin(phase), k0
    x = np.zeros(length)
    top = (length - 1) // 2 // k0  # harmonics h with 2 h k0 < length
    for h in range(1, top + 1):
        if wave == "sawtooth":
            x += (-1) ** (h + 1) * np.sin(h * phase) / h
        elif h % 2:
            x += (-1) ** ((h - 1) // 2) * np.sin(h * phase) / h**2
    return amplitude * x / np.max(np.abs(x)), k0


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Component:
    """An inharmonic bin of the output window.

    Attributes:
        bin: index ``b`` in the window's one-sided spectrum (``0 .. M / 2``).
        frequency: ``b / M``, a fraction of the output rate.
        frequency_hz: Hz at the output rate, when a sample rate was given.
        level_db: its power in dB re the total harmonic power.
        harmonic: the harmonic ``h`` that folds onto it, when one is found.
        folded_at: ``"output"`` (``h K = +-b`` mod ``M``) or ``"input"`` (mod ``N``,
            an upsampler's image of a harmonic folded before it), or ``None``.
        image: ``m`` when ``b = m N +- k0`` for a module raising the rate.
        tone: ``m`` when ``b = m N`` for a module raising the rate: a line at ``m``
            times the input rate whatever the input (an upsampler's tonal artifact).
    """

    bin: int
    frequency: float
    frequency_hz: float | None
    level_db: float
    harmonic: int | None
    folded_at: str | None
    image: int | None
    tone: int | None = None

    @property
    def source(self) -> str:
        if self.tone is not None:
            return f"tone at {self.tone} x the input rate"
        if self.image is not None:
            return f"image {self.image} of the fundamental"
        if self.harmonic is not None:
            return f"harmonic {self.harmonic} folded at the {self.folded_at} rate"
        return "unidentified"


@dataclass
class AliasingMeasure:
    """The AHR of one test signal (one wave, f0 and amplitude).

    ``f0`` is the requested fraction of the input rate, ``f0_actual = k0 / N`` the
    one measured. Powers are in squared output units (mean square per window,
    summed over output channels); dB figures as in the module docstring.
    """

    wave: str
    f0: float
    k0: int
    f0_actual: float
    amplitude: float
    ahr_db: float
    harmonic_power: float
    inharmonic_power: float
    floor_db: float
    steady_db: float
    image_db: float | None
    components: list[Component] = field(default_factory=list)
    #: Input samples fed before the window (and after the span compared with it).
    context: int | None = None

    @property
    def at_floor(self) -> bool:
        """The AHR is within :data:`FLOOR_MARGIN_DB` of the rounding floor."""
        return bool(self.ahr_db <= self.floor_db + FLOOR_MARGIN_DB)

    @property
    def steady(self) -> bool:
        """The window agrees with the output one window later (see the module
        docstring)."""
        limit = max(STEADY_LIMIT_DB, self.ahr_db - STEADY_MARGIN_DB)
        return bool(self.steady_db <= limit)

    @property
    def ratio(self) -> float:
        """``P_inh / P_harm`` (linear)."""
        return _ratio(self.inharmonic_power, self.harmonic_power)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in vars(self).items() if k != "components"}
        d.update(at_floor=self.at_floor, steady=self.steady,
                 components=[dict(vars(c), source=c.source) for c in self.components])
        return d


@dataclass(frozen=True)
class AliasingSummary:
    """One wave at one amplitude over its f0s: ``mean_ahr_db`` is
    ``10 log10(mean over f0 of P_inh / P_harm)``, ``mean_of_db`` the mean of the
    AHRs in dB (``-inf`` if one is), ``worst_ahr_db`` the largest AHR
    (at ``worst_f0``), ``mean_image_db`` the mean image power ratio in dB (sines
    through a module that raises the rate; else ``None``)."""

    wave: str
    amplitude: float
    f0s: tuple[float, ...]
    mean_ahr_db: float
    mean_of_db: float
    worst_ahr_db: float
    worst_f0: float
    mean_image_db: float | None
    at_floor: bool
    steady: bool


@dataclass
class AliasingReport:
    """Result of :func:`measure_aliasing`: ``to_dict()``, ``to_json()``,
    ``to_markdown()``, ``save(directory)``, ``plot(path)``.

    ``ratio`` is ``(p, q)``: the module gives ``p`` output samples per ``q`` input
    samples. ``sample_rate`` is the module's *input* rate (Hz) or ``None``.
    """

    module: str
    sample_rate: float | None
    ratio: tuple[int, int]
    length: int
    warmup: int
    channels: int | None
    dtype: str
    measures: list[AliasingMeasure]
    summaries: list[AliasingSummary]
    notes: list[str]
    elapsed_s: float
    spectrum: tuple[np.ndarray, np.ndarray, str] | None = field(default=None, repr=False)

    @property
    def rate_ratio(self) -> float:
        return self.ratio[0] / self.ratio[1]

    @property
    def steady(self) -> bool:
        return all(m.steady for m in self.measures)

    def summary(self, wave: str = "sine", amplitude: float = BAR_AMPLITUDE) -> AliasingSummary:
        """The summary of ``wave`` at ``amplitude`` (``InvalidValue`` if not measured)."""
        for s in self.summaries:
            if s.wave == wave and math.isclose(s.amplitude, amplitude):
                return s
        have = ", ".join(f"{s.wave}@{s.amplitude:g}" for s in self.summaries)
        raise InvalidValue(f"no summary for wave={wave!r} at amplitude={amplitude!r}; "
                           f"measured: {have}")

    def ahr(self, wave: str, f0: float, amplitude: float) -> float:
        """The AHR (dB) of one measure (``InvalidValue`` if not measured)."""
        for m in self.measures:
            if m.wave == wave and math.isclose(m.f0, f0) and math.isclose(m.amplitude, amplitude):
                return m.ahr_db
        raise InvalidValue(f"no measure for wave={wave!r}, f0={f0!r}, amplitude={amplitude!r}")

    def to_dict(self) -> dict[str, Any]:
        d = {
            "module": self.module, "sample_rate": self.sample_rate, "ratio": list(self.ratio),
            "rate_ratio": self.rate_ratio, "length": self.length, "warmup": self.warmup,
            "channels": self.channels, "dtype": self.dtype, "steady": self.steady,
            "definition": "AHR = 10 log10(P_inharmonic / P_harmonic) dB, DC excluded",
            "summaries": [vars(s) for s in self.summaries],
            "measures": [m.to_dict() for m in self.measures],
            "notes": list(self.notes), "elapsed_s": self.elapsed_s,
        }
        return plain(d, infinities=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self, *, level: int = 1) -> str:
        from .aliasing_report import markdown

        return markdown(self, level=level)

    def plot(self, path: str | Path) -> Path:
        """Write a PNG: AHR vs f0 per amplitude and wave, and the output spectrum of
        the worst sine. Needs matplotlib (``[plot]`` extra)."""
        from .aliasing_report import plot

        return plot(self, Path(path))

    def save(self, directory: str | Path, *, plot: bool = True) -> list[Path]:
        """Write ``aliasing.md``, ``aliasing.json`` and (with ``plot``) ``aliasing.png``
        into ``directory`` (created if needed), atomically; returns the paths."""
        directory = Path(directory)
        markdown, data = (directory / name for name in OUTPUT_NAMES)
        written = [atomic_write_text(markdown, self.to_markdown()),
                   atomic_write_text(data, self.to_json())]
        if plot:
            written.append(self.plot(directory / PLOT_NAME))
        return written


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return math.inf if num > 0 else math.nan


def _db(ratio: float) -> float:
    if math.isnan(ratio):
        return math.nan
    return -math.inf if ratio <= 0 else 10 * math.log10(ratio)


# ----------------------------------------------------------------------------- running


# ----------------------------------------------------------------------------- measuring


def measure_aliasing(module: Any, *, sample_rate: float | None = None,
                     output_rate: float | None = None,
                     f0s: Sequence[float] = DEFAULT_F0S,
                     amplitudes: Sequence[float] = DEFAULT_AMPLITUDES,
                     waves: Sequence[str] = WAVES,
                     wave_f0s: Sequence[float] = DEFAULT_WAVE_F0S,
                     length: int = DEFAULT_LENGTH, warmup: int = DEFAULT_WARMUP,
                     channels: int | None = None, dtype: str | None = None,
                     top: int = DEFAULT_TOP, ratio: int | Fraction | None = None,
                     layout: str = "auto", sweep: str = "auto",
                     out_channels: int | None = None,
                     progress: Callable[[str], None] | None = None) -> AliasingReport:
    """Measure the aliasing of ``module`` (see the module docstring for the definition).

    Args:
        module: a ``torch.nn.Module`` mapping ``(B, C, T)`` to ``(B, C_out, T * r)``
            (run in eval mode, without gradients, in its parameters' dtype and on
            their device), or a callable taking a numpy array ``(T,)`` (``(C, T)``
            when ``channels`` is given) and returning ``(T * r,)`` or
            ``(C_out, T * r)``. ``r`` is rational: ``p / q`` (an upsampler by 4:
            4; a decimator by 2: 1/2).
        sample_rate: the module's *input* rate in Hz, for Hz labels only; or
        output_rate: its *output* rate (the command line's ``--sample-rate``),
            divided by the measured rate ratio. At most one of the two.
        f0s: sine fundamentals, fractions of the input rate in ``(0, 0.5)``.
        amplitudes: peak amplitudes of every wave.
        waves: among :data:`WAVES`.
        wave_f0s: fundamentals of the sawtooth and triangle waves.
        length: the period ``N`` in input samples, a prime (see :func:`next_prime`);
            for a module raising the rate by ``p``, keep ``k0 = round(f0 N)`` above
            ``p / 2`` (a note says when it is not).
        warmup: periods fed before (and after) the two analysed windows, at most
            (``layout="auto"`` feeds less when less is steady).
        channels: input channels; default: guessed from a module's layers, its
            first ``Conv1d`` first, and settled by a dry run
            (:func:`~upsamplers.analysis.channels.settle_in_channels`; 1 for an
            elementwise one); a callable gets ``(T,)``.
        dtype: ``"float32"`` or ``"float64"``; default: a module's parameters'
            (the default dtype without any), float64 for a callable.
        top: strongest inharmonic components kept per measure.
        ratio: output samples per input sample (``p / q``, ``int`` or ``Fraction``):
            no rate dry run (checked on the channels' dry run, else on the first
            measurement); default: found by short dry runs on zeros.
        layout: ``"auto"``: each signal at the first steady context of ``4 q``,
            ``8 q``, ... input samples (:mod:`.aliasing_run`), else whole warm-up
            periods; ``"periods"``: whole periods only (the exhaustive layout).
        sweep: ``"auto"``: with every signal argument (``f0s``, ``amplitudes``,
            ``waves``, ``wave_f0s``, ``length``) at its default, the quick sweep of
            :mod:`.aliasing_sweep` when the default one is estimated, from the dry
            runs' time, above :data:`~.aliasing_sweep.SWEEP_BUDGET_S` (a large
            decoder); ``"full"``: the signals as given, always.
        out_channels: the module's output channels, when known (the audit's): they
            bound the probe's output side where no dry run tells them.
        progress: called once after the dry run (``"N signals, ..."``), then once
            per signal measured.

    Returns:
        an :class:`AliasingReport`.

    Raises:
        InvalidValue / InvalidType: an argument out of range, a non-prime ``length``,
            a module that changes the length unexpectedly, a fundamental above the
            output Nyquist, non-finite output; before any run, a probe above
            ``MAX_PROBE_SAMPLES`` (:func:`check_probe`) or an amplitude the module's
            dtype cannot hold (:func:`check_amplitudes_fit`).
    """
    start = time.perf_counter()
    quick = (check_choice("sweep", sweep, SWEEPS) == "auto"
             and _all_default(f0s, amplitudes, waves, wave_f0s, length))
    sample_rate, output_rate = _check_rates(sample_rate, output_rate)
    warmup = check_int("warmup", warmup, minimum=0)
    channels = None if channels is None else check_int("channels", channels)
    length = _check_length(length, warmup, channels or 1)
    signals = _signal_list(waves, f0s, wave_f0s, _check_amplitudes(amplitudes))
    layout = check_choice("layout", layout, ("auto", "periods"))
    ratio = None if ratio is None else _check_ratio(ratio)
    top = check_int("top", top, minimum=0)
    return _sweep_and_report(_model(module, channels, dtype, out_channels, signals), ratio,
                             length, warmup, signals, quick, (sample_rate, output_rate),
                             layout, top, progress, start)


def _sweep_and_report(model: _Model, ratio: Fraction | None, length: int, warmup: int,
                      signals: list[tuple[str, float, float]], quick: bool,
                      rates: tuple[float | None, float | None], layout: str, top: int,
                      progress: Callable[[str], None] | None, start: float
                      ) -> AliasingReport:
    """:func:`measure_aliasing` once its arguments are checked: the dry runs, the
    quick sweep where ``quick`` allows it, the measures, the report."""
    how = "found by the dry run" if ratio is None else "given"
    plan = _plan(model, ratio, length, warmup)
    notes: list[str] = []
    if quick:
        signals, plan = _quick_sweep(model, signals, plan, notes)
    _check_fundamentals(signals, plan)
    sample_rate, output_rate = rates
    sample_rate = sample_rate if output_rate is None else output_rate / float(plan.ratio)
    plans = schedule(plan.length, plan.ratio, warmup) if layout == "auto" else [plan]
    if progress is not None:
        progress(f"{len(signals)} signals, period {plan.length}, rate ratio {plan.ratio}")
    measures, spectra = _run_all(model, plans, signals, sample_rate, top, how, progress)
    return _report(model, plan, measures, spectra, sample_rate, time.perf_counter() - start,
                   notes)


def _model(module: Any, channels: int | None, dtype: str | None, out_channels: Any,
           signals: list[tuple[str, float, float]]) -> _Model:
    """The module to measure, in its dtype, which must hold every amplitude."""
    dtype = None if dtype is None else check_choice("dtype", dtype, ("float32", "float64"))
    model = _Model(module, channels, dtype)
    if out_channels is not None:
        model.out_channels = check_int("out_channels", out_channels)
    check_amplitudes_fit(tuple(a for _, _, a in signals), model.dtype)
    return model


def _all_default(f0s: Any, amplitudes: Any, waves: Any, wave_f0s: Any, length: Any) -> bool:
    """Whether the caller left every signal argument at its default (the quick sweep
    never replaces signals the caller chose)."""
    try:
        given = (tuple(f0s), tuple(amplitudes), (waves,) if isinstance(waves, str)
                 else tuple(waves), tuple(wave_f0s), length)
    except TypeError:  # not a sequence: refused by the checks
        return False
    return given == (DEFAULT_F0S, DEFAULT_AMPLITUDES, WAVES, DEFAULT_WAVE_F0S, DEFAULT_LENGTH)


def _quick_sweep(model: _Model, signals: list[tuple[str, float, float]], plan: _Plan,
                 notes: list[str]) -> tuple[list[tuple[str, float, float]], _Plan]:
    """The quick sweep of :mod:`.aliasing_sweep` (with a note) when the default one
    is estimated above its budget from the dry runs' time; else the default."""
    per_sample = model.seconds_per_sample
    if per_sample is None or plan.ratio <= 1:
        return signals, plan
    estimate = sweep_seconds(len(signals), plan.length, plan.ratio, per_sample)
    if estimate <= SWEEP_BUDGET_S:
        return signals, plan
    length = next_prime(quick_length(plan.ratio, QUICK_F0S, MIN_LENGTH))
    quick = [("sine", f0, BAR_AMPLITUDE) for f0 in QUICK_F0S]
    notes.append(
        f"quick sweep: the default sweep ({len(signals)} signals, period {plan.length}) was "
        f"estimated at {estimate:,.0f} s from the dry runs ({per_sample * 1e6:.3g} us per "
        f"output sample, rate ratio {plan.ratio}); measured sines at "
        f"{', '.join(map(str, QUICK_F0S))} of the input rate, amplitude {BAR_AMPLITUDE}, "
        f"period {length} (k0 above half the rate ratio); sweep='full' (--sweep full) or any "
        "signal argument measures more")
    return quick, _Plan(length, plan.ratio, plan.warmup)


def _report(model: _Model, plan: _Plan, measures: list[AliasingMeasure],
            spectra: list[np.ndarray], sample_rate: float | None, elapsed: float,
            notes: list[str]) -> AliasingReport:
    report = AliasingReport(
        module=model.name, sample_rate=sample_rate,
        ratio=(plan.ratio.numerator, plan.ratio.denominator), length=plan.length,
        warmup=plan.warmup, channels=model.channels, dtype=model.dtype, measures=measures,
        summaries=_summaries(measures), notes=notes + _notes(measures, plan),
        elapsed_s=elapsed)
    report.spectrum = _worst_spectrum(measures, spectra, plan.window)
    return report


def _plan(model: _Model, ratio: Fraction | None, length: int, warmup: int) -> _Plan:
    """The whole-period layout, after the dry run where one is needed (the module's
    channels, unless given; its rate ratio, unless given), the probe bounded."""
    if model.channels is None or ratio is None:  # both known (audit's probe): no dry run
        settle_channels(model, ratio)
    check_probe(length=length, warmup=warmup, channels=model.channels or 1)
    ratio = rate_ratio(model) if ratio is None else ratio
    check_probe(length=length, warmup=warmup, channels=model.channels or 1, ratio=ratio,
                out_channels=model.out_channels)
    return _Plan(length, ratio, warmup)


def _check_rates(sample_rate: float | None, output_rate: float | None
                 ) -> tuple[float | None, float | None]:
    """``(sample_rate, output_rate)`` checked: each a rate in Hz or ``None``, not both."""
    sample_rate = None if sample_rate is None else check_rate("sample_rate", sample_rate)
    output_rate = None if output_rate is None else check_rate("output_rate", output_rate)
    if sample_rate is not None and output_rate is not None:
        raise InvalidValue(f"give sample_rate (the input rate) or output_rate, not both; "
                           f"received sample_rate={sample_rate!r}, output_rate={output_rate!r}")
    return sample_rate, output_rate


def check_probe(*, length: int, warmup: int, channels: int = 1,
                ratio: int | Fraction = 1, factor: int = 1,
                out_channels: int | None = None) -> int:
    """The samples of the largest array a measure makes: its input, ``channels`` x
    the input periods (``2 * warmup + 2``, more for a decimator; at least the dry
    run's :data:`DRY_RUN_LENGTH` x 2) x ``length``, or its output, ``out_channels``
    (``channels`` while unknown) x as many periods x ``length`` x the rate ``ratio``
    (or the internal ``factor`` of a built-in target, known before it is built),
    whichever is larger (a decoder of 128 latent channels to 1: the output's).

    Raises:
        InvalidValue: above :data:`~upsamplers.analysis._validate.MAX_PROBE_SAMPLES`,
            naming every argument, before anything is allocated or run.
    """
    ratio = Fraction(ratio)
    q = ratio.denominator
    periods = 2 * q * -(-warmup // q) + 2 * q
    scale = max(ratio, Fraction(1)) * max(factor, 1)
    frames = max(periods * length, 2 * DRY_RUN_LENGTH)
    samples = max(channels * frames,
                  math.ceil((channels if out_channels is None else out_channels)
                            * frames * scale))
    if samples <= MAX_PROBE_SAMPLES:
        return samples
    scaled = (" x factor" if factor > 1 else "") + (" x rate ratio" if ratio > 1 else "")
    given = (f", factor={factor}" if factor > 1 else "") + (
        f", rate ratio {ratio}" if ratio != 1 else "")
    raise InvalidValue(
        f"the aliasing probe must hold at most {MAX_PROBE_SAMPLES:,} samples at its input "
        f"(channels x (2 x warmup + 2) periods x length) and at its output (the same with the "
        f"output channels{scaled}; "
        f"upsamplers.analysis._validate.MAX_PROBE_SAMPLES); received channels={channels}, "
        f"warmup={warmup}, length={length}{given}: {samples:,} samples")


def check_amplitudes_fit(amplitudes: Sequence[float], dtype: str) -> None:
    """Refuse an amplitude above the largest finite value of ``dtype`` (the module's):
    the test signal would be infinite before the module sees it."""
    if dtype in ("float16", "float32", "float64"):
        largest = float(np.finfo(np.dtype(dtype)).max)
    else:
        import torch  # bfloat16 and other dtypes numpy lacks

        largest = float(torch.finfo(getattr(torch, dtype)).max)
    if any(a > min(largest, MAX_AMPLITUDE) for a in amplitudes):
        given = tuple(dict.fromkeys(amplitudes))
        why = (f"{largest:.6g}, the largest {dtype} (the module's dtype): a larger test signal "
               "is not finite in it" if largest < MAX_AMPLITUDE else
               f"{MAX_AMPLITUDE:g}: the analysis squares the output in float64")
        raise InvalidValue(f"amplitudes must be at most {why}; received amplitudes={given!r}")


def _check_ratio(ratio: Any) -> Fraction:
    if isinstance(ratio, bool) or not isinstance(ratio, (numbers.Integral, Fraction)):
        raise InvalidType(f"ratio must be a positive int or Fraction; received ratio={ratio!r}")
    if ratio <= 0 or Fraction(ratio).denominator > MAX_DECIMATION:
        raise InvalidValue(f"ratio must be a positive int or Fraction p/q with q <= "
                           f"{MAX_DECIMATION}; received ratio={ratio!r}")
    return Fraction(ratio)


def _check_length(length: Any, warmup: int = 0, channels: int = 1) -> int:
    """``length`` if it is a prime ``>= MIN_LENGTH`` whose probe fits (checked first:
    the primality test of a huge number would take minutes)."""
    length = check_int("length", length, minimum=MIN_LENGTH)
    check_probe(length=length, warmup=warmup, channels=channels)
    if not is_prime(length):
        raise InvalidValue(f"length must be a prime number >= {MIN_LENGTH} (e.g. "
                           f"{next_prime(length)}); received length={length}")
    return length


def _check_amplitudes(amplitudes: Any) -> tuple[float, ...]:
    values = _real_list("amplitudes", amplitudes, "positive finite numbers")
    if any(not (v > 0 and math.isfinite(v)) for v in values):
        raise InvalidValue(f"amplitudes must be positive finite numbers; "
                           f"received amplitudes={amplitudes!r}")
    return values


def _real_list(name: str, values: Any, what: str) -> tuple[float, ...]:
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        values = (values,)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidType(f"{name} must be a sequence of {what}; received {name}={values!r}")
    if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Real)
                         for v in values):
        raise InvalidValue(f"{name} must be a non-empty sequence of {what}; "
                           f"received {name}={values!r}")
    return tuple(float(v) for v in values)


def _check_f0s(name: str, values: Any) -> tuple[float, ...]:
    out = _real_list(name, values, "fractions of the input rate in (0, 0.5)")
    if any(not (0 < v < 0.5) for v in out):
        raise InvalidValue(f"{name} must be fractions of the input rate in (0, 0.5); "
                           f"received {name}={values!r}")
    return out


def _signal_list(waves: Any, f0s: Any, wave_f0s: Any, amplitudes: tuple[float, ...]
                 ) -> list[tuple[str, float, float]]:
    """``(wave, f0, amplitude)`` of every measure, in report order."""
    if isinstance(waves, str):
        waves = (waves,)
    waves = tuple(check_choice("waves", w, WAVES) for w in waves)
    if not waves:
        raise InvalidValue(f"waves must name at least one of {', '.join(WAVES)}; received ()")
    out = []
    for wave in waves:
        freqs = _check_f0s("f0s", f0s) if wave == "sine" else _check_f0s("wave_f0s", wave_f0s)
        out += [(wave, f, a) for a in amplitudes for f in freqs]
    return out


def signal_list(waves: Any = WAVES, f0s: Any = DEFAULT_F0S, wave_f0s: Any = DEFAULT_WAVE_F0S,
                amplitudes: Any = DEFAULT_AMPLITUDES) -> list[tuple[str, float, float]]:
    """``(wave, f0, amplitude)`` of every measure :func:`measure_aliasing` makes with
    these options, in report order (checked as it checks them)."""
    return _signal_list(waves, f0s, wave_f0s, _check_amplitudes(amplitudes))


def _check_fundamentals(signals: list[tuple[str, float, float]], plan: _Plan) -> None:
    """Every fundamental must be below the output Nyquist (a decimator's limit)."""
    q = plan.ratio.denominator
    for _, f0, _ in signals:
        if 2 * q * fundamental_bin(f0, plan.length) >= plan.window:
            raise InvalidValue(f"f0s must be below {float(plan.ratio) / 2:g} of the input rate "
                               f"for a module giving {plan.ratio} output samples per input "
                               f"sample (its output Nyquist); received f0={f0!r}")


def _run_all(model: _Model, plans: list[_Plan], signals: list[tuple[str, float, float]],
             sample_rate: float | None, top: int, how: str,
             progress: Callable[[str], None] | None
             ) -> tuple[list[AliasingMeasure], list[np.ndarray]]:
    """Measure every signal at the first layout of ``plans`` where it is steady (the
    last layout when none is). The first signal of the largest amplitude settles
    first, alone; the others start at its layout. Also returns each measure's
    window power spectrum. ``how`` says where the rate ratio came from."""
    length = plans[0].length
    periods = [_rounded(aliasing_signal(w, f, a, length)[0], model.dtype) for w, f, a in signals]
    done: dict[int, tuple[AliasingMeasure, np.ndarray]] = {}

    def settle(indices: list[int], level: int) -> int:
        pending = {level: indices}
        while pending:
            level = min(pending)
            group = pending.pop(level)
            for i, result in zip(group, _run(model, plans[level], group, signals, periods,
                                             sample_rate, top, how), strict=True):
                if _settled(*result) or level == len(plans) - 1:
                    done[i] = result
                    if progress is not None:
                        progress(_said(result[0]))
                else:
                    pending.setdefault(level + 1, []).append(i)
        return level

    first = max(range(len(signals)), key=lambda i: (signals[i][2], -i))
    level = settle([first], 0)
    settle([i for i in range(len(signals)) if i != first], level)
    measures, spectra = zip(*(done[i] for i in range(len(signals))), strict=True)
    return list(measures), list(spectra)


def _settled(m: AliasingMeasure, power: np.ndarray) -> bool:
    """The change one window later is :data:`SETTLE_MARGIN_DB` below the smaller of
    the harmonic and the aliased power, or below the rounding floor (``power``: the
    window's spectrum, summing to its mean square): the AHR of a shorter layout is
    then within ``20 log10(1.01) = 0.09`` dB of the steady state's, and at the floor
    where that is. Stricter than :attr:`AliasingMeasure.steady`."""
    total = float(np.sum(power))
    smaller = min(m.harmonic_power, m.inharmonic_power)
    limit = _db(_ratio(smaller, total)) - SETTLE_MARGIN_DB if total > 0 else math.nan
    return bool(m.steady_db <= max(limit, m.floor_db))


def _said(m: AliasingMeasure) -> str:
    return f"{m.wave} f0={m.f0:g} amplitude {m.amplitude:g}: AHR {m.ahr_db:.1f} dB"


def _run(model: _Model, plan: _Plan, group: list[int], signals: list[tuple[str, float, float]],
         periods: list[np.ndarray], sample_rate: float | None, top: int, how: str
         ) -> list[tuple[AliasingMeasure, np.ndarray]]:
    """The measures of ``signals[group]`` laid out as ``plan``, in batches."""
    c = model.channels or 1
    out = []
    for batch in batches(len(group), plan, c):
        chunk = [group[j] for j in batch]
        x = np.stack([plan.tile(periods[i]) for i in chunk])[:, None, :]
        y = _call(model, np.repeat(x, c, axis=1), [signals[i] for i in chunk], plan, how)
        out += [_measure(y_i, periods[i], *signals[i], plan, sample_rate, top)
                for i, y_i in zip(chunk, y, strict=True)]
    return out


def _call(model: _Model, x: np.ndarray, chunk: list[tuple[str, float, float]], plan: _Plan,
          how: str) -> np.ndarray:
    """``model(x)``, its output checked: finite, bounded, of the planned length."""
    try:
        y = model(x)
    except InvalidValue as error:
        if "must be finite" not in str(error):
            raise
        raise InvalidValue(f"{error}, on the test signals of amplitude {_amps(chunk)} (a "
                           "smaller amplitude may keep the output finite)") from None
    if y.size and np.max(np.abs(y)) > MAX_AMPLITUDE:
        raise InvalidValue(f"module output must be at most {MAX_AMPLITUDE:g} in magnitude "
                           "(the analysis squares it in float64); received a peak of "
                           f"{np.max(np.abs(y)):.3g} on the test signals of amplitude "
                           f"{_amps(chunk)}")
    if y.shape[-1] != plan.output_length:
        raise InvalidValue(
            f"the module changes the length unexpectedly: {plan.input_length} input samples "
            f"gave {y.shape[-1]}, not {plan.output_length} as the rate ratio {plan.ratio} "
            f"({how}) implies")
    return y


def _amps(chunk: list[tuple[str, float, float]]) -> str:
    return ", ".join(f"{a:g}" for a in dict.fromkeys(a for _, _, a in chunk))


def _rounded(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` rounded to ``dtype`` (a torch dtype's name), as float64."""
    if dtype in ("float16", "float32", "float64"):
        return x.astype(np.dtype(dtype)).astype(np.float64)
    import torch  # bfloat16 and other dtypes numpy lacks

    return torch.as_tensor(x).to(getattr(torch, dtype)).double().numpy()


def window_power(window: np.ndarray) -> np.ndarray:
    """One-sided power per bin of a ``(C, M)`` window, summed over channels: ``2
    |X[b]|^2 / M^2`` (``|X[b]|^2 / M^2`` at DC and at Nyquist), so that the bins
    sum to the mean square (a sine of amplitude ``A`` on a bin reads ``A^2 / 2``)."""
    m = window.shape[-1]
    spec = np.fft.rfft(np.asarray(window, dtype=np.float64), axis=-1)
    power = np.sum(spec.real**2 + spec.imag**2, axis=0) / float(m) ** 2
    power[1: (m + 1) // 2] *= 2.0
    return power


def harmonic_bins(fundamental: int, window: int) -> np.ndarray:
    """The bins ``h * fundamental`` (``h >= 1``) below ``window / 2``."""
    count = (window - 1) // 2 // fundamental if window % 2 else (window // 2 - 1) // fundamental
    return fundamental * np.arange(1, count + 1)


def split_power(power: np.ndarray, fundamental: int, window: int
                ) -> tuple[float, float, np.ndarray]:
    """``(P_harmonic, P_inharmonic, inharmonic)`` of the one-sided ``power`` of a
    window of ``window`` samples whose fundamental is bin ``fundamental``:
    ``inharmonic`` is the boolean mask of the bins other than DC and the harmonics."""
    harmonics = harmonic_bins(fundamental, window)
    inharmonic = np.ones(power.shape, dtype=bool)
    inharmonic[0] = False
    inharmonic[harmonics] = False
    return float(np.sum(power[harmonics])), float(np.sum(power[inharmonic])), inharmonic


def image_bins(k0: int, length: int, window: int) -> np.ndarray:
    """The bins ``m * length +- k0`` (``m >= 1``) of a window of ``window`` samples
    (``window // length`` periods of the input rate): an upsampler's images."""
    top = window // 2
    bins = [b for m in range(1, window // length + 1) for b in (m * length - k0, m * length + k0)
            if 0 < b <= top]
    return np.asarray(sorted(set(bins)), dtype=int)


def _measure(y: np.ndarray, period: np.ndarray, wave: str, f0: float, amplitude: float,
             plan: _Plan, sample_rate: float | None, top: int
             ) -> tuple[AliasingMeasure, np.ndarray]:
    """The measure of one output ``y`` ``(C_out, T_out)`` of the tiled ``period``."""
    k0 = fundamental_bin(f0, plan.length)
    q = plan.ratio.denominator
    fundamental, m = q * k0, plan.window
    first = y[:, plan.start: plan.start + m]
    # the window's first check_out samples against one window later (all of the
    # next window with whole periods)
    span = plan.check_out
    here = y[:, plan.start: plan.start + span]
    later = y[:, plan.start + m: plan.start + m + span]
    power = window_power(first)
    harm, inh, mask = split_power(power, fundamental, m)
    total = float(np.sum(first**2))
    steady_db = _db(_ratio(float(np.sum((here - later) ** 2)), total))
    in_power = window_power(period[None])
    floor_harm, floor_inh, _ = split_power(in_power, k0, plan.length)
    image_db = None
    if wave == "sine" and plan.ratio > 1 and q == 1:
        images = image_bins(k0, plan.length, m)
        image_db = _db(_ratio(float(np.sum(power[images])), float(power[k0])))
    measure = AliasingMeasure(
        wave=wave, f0=f0, k0=k0, f0_actual=k0 / plan.length, amplitude=amplitude,
        ahr_db=_db(_ratio(inh, harm)), harmonic_power=harm, inharmonic_power=inh,
        floor_db=_db(_ratio(floor_inh, floor_harm)), steady_db=steady_db, image_db=image_db,
        components=[], context=plan.lead)
    # components within the margin of the rounding floor are rounding, not aliasing
    keep = harm * 10 ** ((measure.floor_db + FLOOR_MARGIN_DB) / 10)
    measure.components = _components(power, mask & (power > keep), harm, k0, plan,
                                     sample_rate, top)
    return measure, power


def _components(power: np.ndarray, mask: np.ndarray, harmonic_power: float, k0: int,
                plan: _Plan, sample_rate: float | None, top: int) -> list[Component]:
    """The ``top`` strongest bins of ``mask`` (non-zero ones), strongest first."""
    bins = np.flatnonzero(mask)
    if top == 0 or bins.size == 0 or harmonic_power <= 0:
        return []
    order = bins[np.argsort(power[bins], kind="stable")[::-1][:top]]
    out_rate = None if sample_rate is None else sample_rate * float(plan.ratio)
    upsampling = plan.ratio > 1 and plan.ratio.denominator == 1
    out = []
    for b in map(int, order):
        if power[b] <= 0:
            break
        tone = b // plan.length if upsampling and b % plan.length == 0 else None
        harmonic, where = (None, None) if tone else _which_harmonic(b, k0, plan)
        out.append(Component(
            bin=b, frequency=b / plan.window,
            frequency_hz=None if out_rate is None else b / plan.window * out_rate,
            level_db=_db(float(power[b]) / harmonic_power), harmonic=harmonic, folded_at=where,
            image=None if tone else _which_image(b, k0, plan), tone=tone))
    return out


def _which_harmonic(b: int, k0: int, plan: _Plan) -> tuple[int | None, str | None]:
    """The smallest ``h`` in ``2 .. MAX_HARMONIC`` with ``h K = +-b`` mod ``M`` (folded
    at the output rate), else mod ``N`` for a module raising the rate (folded at
    the input rate, then imaged); ``(None, None)`` when there is none."""
    h = np.arange(2, MAX_HARMONIC + 1)
    m = plan.window
    hits = np.flatnonzero(np.isin((h * plan.ratio.denominator * k0) % m, (b % m, (-b) % m)))
    if hits.size:
        return int(h[hits[0]]), "output"
    if plan.ratio > 1 and plan.ratio.denominator == 1:
        n = plan.length
        hits = np.flatnonzero(np.isin((h * k0) % n, (b % n, (-b) % n)))
        if hits.size:
            return int(h[hits[0]]), "input"
    return None, None


def _which_image(b: int, k0: int, plan: _Plan) -> int | None:
    """``m`` when ``b = m N +- k0`` (``m >= 1``) for a module raising the rate."""
    if not (plan.ratio > 1 and plan.ratio.denominator == 1):
        return None
    n = plan.length
    for m in ((b + k0) // n, (b - k0) // n):
        if m >= 1 and (b in (m * n - k0, m * n + k0)):
            return int(m)
    return None


def _summaries(measures: list[AliasingMeasure]) -> list[AliasingSummary]:
    """One :class:`AliasingSummary` per (wave, amplitude), in report order."""
    groups: dict[tuple[str, float], list[AliasingMeasure]] = {}
    for m in measures:
        groups.setdefault((m.wave, m.amplitude), []).append(m)
    out = []
    for (wave, amplitude), ms in groups.items():
        ratios = [m.ratio for m in ms]
        worst = max(ms, key=lambda m: (m.ratio if not math.isnan(m.ratio) else math.inf))
        images = [m.image_db for m in ms if m.image_db is not None]
        mean_image = (None if not images else
                      _db(float(np.mean([10 ** (d / 10) for d in images]))))
        out.append(AliasingSummary(
            wave=wave, amplitude=amplitude, f0s=tuple(m.f0 for m in ms),
            mean_ahr_db=_db(float(np.mean(ratios))),
            mean_of_db=float(np.mean([m.ahr_db for m in ms])), worst_ahr_db=worst.ahr_db,
            worst_f0=worst.f0, mean_image_db=mean_image,
            at_floor=all(m.at_floor for m in ms), steady=all(m.steady for m in ms)))
    return out


def _notes(measures: list[AliasingMeasure], plan: _Plan) -> list[str]:
    notes = []
    unsteady = [m for m in measures if not m.steady]
    if unsteady:
        worst = max(unsteady, key=lambda m: m.steady_db)
        notes.append(
            f"{len(unsteady)} of {len(measures)} measures are not steady: two consecutive "
            f"output periods differ by up to {worst.steady_db:.1f} dB re the period's power "
            f"({worst.wave}, f0={worst.f0:g}); the module's memory is longer than the warm-up "
            f"of {plan.warmup} periods of {plan.length} samples, or it is not time-invariant: "
            "their AHR is unreliable (give more warmup periods)")
    p, q = plan.ratio.numerator, plan.ratio.denominator
    # the image at k0 x the input rate, bin k0 (N - 1), is a harmonic bin below the
    # output Nyquist unless k0 > p / 2
    dense = sorted({m.k0 for m in measures if q == 1 and m.k0 <= p // 2})
    if dense:
        notes.append(
            f"the period of {plan.length} input samples puts k0 = {dense[0]} cycles in it "
            f"(f0 = {dense[0] / plan.length:.4g}), at most half the rate ratio {p}: "
            f"images m N +- k0 with m a multiple of k0 fall on harmonic bins and count "
            f"as harmonic, lowering the AHR; give a length above {p // 2 + 0.5:g} / f0 "
            f"(e.g. {next_prime(math.ceil((p // 2 + 0.5) * plan.length / dense[0]))})")
    silent = [m for m in measures if not m.harmonic_power > 0]
    if silent:
        notes.append(f"{len(silent)} measures have no output power at the harmonics: "
                     "their AHR is undefined (NaN) or +inf")
    floor = [m for m in measures if m.at_floor]
    if floor:
        notes.append(f"{len(floor)} of {len(measures)} measures are within "
                     f"{FLOOR_MARGIN_DB:g} dB of the rounding floor of their input: no "
                     "aliasing is measurable there")
    return notes


def _worst_spectrum(measures: list[AliasingMeasure], spectra: list[np.ndarray], window: int
                    ) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The window spectrum (frequency as a fraction of the output rate, dB re the
    harmonic power) of the worst sine at its largest amplitude, for the plot."""
    sines = [i for i, m in enumerate(measures) if m.wave == "sine" and m.harmonic_power > 0]
    if not sines:
        return None
    top_amp = max(measures[i].amplitude for i in sines)
    worst = max((i for i in sines if measures[i].amplitude == top_amp),
                key=lambda i: measures[i].ratio)
    m, power = measures[worst], spectra[worst]
    level = 10 * np.log10(np.maximum(power / m.harmonic_power, 1e-300))
    label = f"sine f0={m.f0_actual:.4g}, amplitude {m.amplitude:g}: AHR {m.ahr_db:.1f} dB"
    return np.arange(len(power)) / window, level, label
