"""Audit a model by probing it: tones, filtering, replicas and offsets, with verdicts.

:func:`audit` feeds a model (a ``torch.nn.Module``, or any callable mapping a
numpy array to a numpy array) with probe inputs at its input rate
``sample_rate / R`` (``R`` = product of the upsampling factors) and measures
its output at ``sample_rate``:

* ``"ones"``: a constant 1 on every input channel: tones (and, for a linear
  layer with readable phase kernels, tone levels predicted from its phase DC
  gains, compared with the measured ones);
* ``"silence"``: zeros: the offsets (DC) that biases leave, and their tones;
* ``"noise"``: white Gaussian noise (standard deviation 1): tones, and the
  *noise response*: the best linear response (H1 estimate) from the zero-stuffed
  input noise to the output, relative to its mean over ``(0, 0.2]`` of the input
  Nyquist, read at 0.5, 0.75 and 0.9 of the input Nyquist (mean over +-2 % of
  it) and at every stage's input rate (the notches of interpolation);
* ``"tones"``: five sines at 0.13, 0.31, 0.53, 0.71 and 0.89 of the input
  Nyquist (amplitude 0.3 each, random phases): the replica energy above the
  input Nyquist, per replica band, relative to the in-band energy;
* ``"aliasing"``: sines at :data:`AUDIT_F0S` of the input rate, amplitude 0.8,
  identical on every input channel, whose period is a prime number of input
  samples (:func:`~upsamplers.analysis.measure_aliasing`, one warm-up period;
  the period is chosen so that the probe's output is about ``seconds`` long,
  37 to 4099 input samples): the aliased-to-harmonic ratio (AHR, dB) per f0,
  its mean, the image level of a model that upsamples, and the strongest
  aliased components.

``margin`` input samples (default ``8 + 2 %`` of the probe) are dropped at each
end of every output (times ``R``), so that borders (padding, edge effects) do
not count. For a ``torch.nn.Module`` the upsampling layers found by
:func:`~upsamplers.analysis.lint` are hooked: their call order gives the
factors, and their outputs give the DC offset and the strongest tone after
every stage (at most 8 channels are analysed per stage).

Verdicts (``pass`` / ``warn`` / ``fail``), thresholds in :data:`VERDICT_LIMITS`:

* tonal: ``fail`` if a tone is found (``threshold_db`` above its floor) in the
  silence or noise output, or in the ones output at -60 dB or more relative to
  its total power; ``warn`` for weaker tones with ones; tones below -100 dB re a
  full-scale power of 1 are ignored; the report gives each tone's level in
  calibrated units (:mod:`~upsamplers.analysis.calibration`: dBFS on silence, dB
  re the output RMS on ones, dB above a real floor on noise), never over a floor
  that is float rounding;
* filtering: noise response at 0.9 of the input Nyquist within 1 dB ``pass``,
  within 6 dB ``warn``, else ``fail``;
* replicas: total replica energy below -60 dB ``pass``, below -20 dB ``warn``;
* offsets: silence output DC below 1e-5 and no stage with a significant DC (at
  least -40 dB of its power, and above 5 standard deviations of the mean of that
  many noise samples) for silence or noise ``pass``, else ``warn``;
* aliasing: mean AHR at most -40 dB and every measure steady ``pass``, else
  ``warn`` (aliasing is a matter of degree, not a defect: no ``fail``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal as sps

from .._checks import InvalidValue
from ._validate import (
    MAX_PROBE_SAMPLES,
    check_duration,
    check_factors,
    check_finite,
    check_int,
    check_probe_seconds,
    check_rate,
)
from .aliasing import BAR_AMPLITUDE, AliasingReport, measure_aliasing, next_prime
from .audit_report import (
    OUTPUT_NAMES as OUTPUT_NAMES,
)
from .audit_report import (
    ArtifactReport,
    FilteringResult,
    ProbeResult,
    StageOffset,
    ToneComparison,
    Verdict,
    level_text,
)
from .audit_runner import (
    CHAIN_TOLERANCE,
    DRY_RUN_LENGTH,
    ModelRunner,
    find_factors,
)
from .calibration import UNITS, calibrated_levels, floor_levels
from .kernels import PredictedTone, predicted_constant_tones
from .replicas import replica_energy
from .response import zero_stuff
from .spectrum import DEFAULT_WINDOW, Spectrum, choose_nperseg, db
from .tones import DEFAULT_THRESHOLD_DB, ToneAnalysis, find_tones, stage_rates

PROBES = ("ones", "silence", "noise", "tones", "aliasing")
DEFAULT_SECONDS = 4.0
DEFAULT_SEED = 0
TONE_FRACTIONS = (0.13, 0.31, 0.53, 0.71, 0.89)
#: Fundamentals of the aliasing probe, fractions of the input rate.
AUDIT_F0S = (0.05, 0.1, 0.2, 0.3, 0.4)
#: Bounds of the aliasing probe's period (a prime), input samples.
AUDIT_LENGTHS = (37, 4099)
VERDICT_LIMITS = {
    "tonal_fail_relative_db": -60.0,
    "tonal_min_power_db": -100.0,
    "filtering_pass_db": 1.0,
    "filtering_warn_db": 6.0,
    "replicas_pass_db": -60.0,
    "replicas_warn_db": -20.0,
    "offset_silence_dc": 1e-5,
    "offset_stage_db": -40.0,
    "aliasing_pass_db": -40.0,
}
MAX_STAGE_CHANNELS = 8
MAX_FILTER_CHANNELS = 8
MAX_PLOT_SAMPLES = 1 << 20




# ----------------------------------------------------------------------------- running


def _probe_input(probe: str, channels: int, length: int, input_rate: float,
                 rng: np.random.Generator) -> np.ndarray:
    if probe == "ones":
        return np.ones((channels, length), dtype=np.float32)
    if probe == "silence":
        return np.zeros((channels, length), dtype=np.float32)
    if probe == "noise":
        return rng.standard_normal((channels, length)).astype(np.float32)
    t = np.arange(length) / input_rate
    x = np.zeros((channels, length))
    for q in TONE_FRACTIONS:
        phases = rng.uniform(0, 2 * np.pi, size=(channels, 1))
        x += 0.3 * np.sin(2 * np.pi * q * input_rate / 2 * t + phases)
    return x.astype(np.float32)


def _tone_power_ok(power: float) -> bool:
    return float(db(max(power, 1e-300))) >= VERDICT_LIMITS["tonal_min_power_db"]


def audit(model: Any, sample_rate: float, *, factors: Sequence[int] | int | None = None,
          inputs: Sequence[str] = PROBES, seconds: float = DEFAULT_SECONDS,
          in_channels: int | None = None, margin: int | None = None,
          threshold_db: float = DEFAULT_THRESHOLD_DB, seed: int = DEFAULT_SEED,
          progress: Callable[[str], None] | None = None) -> ArtifactReport:
    """Probe ``model`` and measure its upsampling artifacts.

    Args:
        model: a ``torch.nn.Module`` taking ``(1, C_in, T)`` and returning
            ``(1, C_out, T * R)``, or a callable taking a numpy array ``(T,)``
            (``(C_in, T)`` when ``in_channels`` is given) and returning
            ``(T * R,)`` or ``(C_out, T * R)``.
        sample_rate: the model's output rate, Hz.
        factors: upsampling factors, first stage first; default: read from the
            upsampling layers of a module, or the output/input length ratio.
        inputs: probes to run, a subset of :data:`PROBES`.
        seconds: output duration of every probe (after the borders are dropped).
        in_channels: input channels; default: the first convolution's (modules) or
            a single-channel 1-D input (callables).
        margin: input samples dropped at each end of the output (times ``R``).
        threshold_db: a tone is found at this level above its floor.
        progress: called with a message before every probe.

    Returns:
        an :class:`ArtifactReport`.

    Raises:
        ValueError: for a sample rate <= 0, an unknown probe, factors whose product
            is not the model's length ratio, a model that changes the length
            unexpectedly, or non-finite output.
        TypeError: if ``model`` is neither a module nor a callable.
    """
    start = time.perf_counter()
    fs = check_rate("sample_rate", sample_rate)
    seconds = check_duration("seconds", seconds, fs)
    threshold_db = check_finite("threshold_db", threshold_db)
    inputs = _check_probes(inputs)
    if in_channels is not None:
        in_channels = _check_in_channels(in_channels)
    seed = check_int("seed", seed, minimum=0)
    user_factors = None if factors is None else check_factors(factors)
    runner = ModelRunner(model, in_channels)
    notes: list[str] = []
    ratio, found, hooked = find_factors(runner, user_factors, notes)
    check_probe_seconds("seconds", seconds, input_rate=fs / ratio,
                        in_channels=runner.in_channels or 1, output_rate=fs,
                        out_channels=runner.out_channels)
    n_in = math.ceil(seconds * fs / ratio)
    margin = (8 + math.ceil(0.02 * n_in)) if margin is None else _check_margin(
        margin, n_in, ratio, runner.in_channels or 1, runner.out_channels)
    n_in += -(n_in + 2 * margin) % runner.length_step  # a length the model runs on
    plan = _Plan(fs, found, n_in + 2 * margin, margin, threshold_db,
                 runner.torch_module and hooked == found, ratio)
    rng = np.random.default_rng(seed)
    report = ArtifactReport(
        model=runner.name, sample_rate=fs, factors=found, input_rate=plan.input_rate,
        in_channels=runner.in_channels, output_seconds=n_in * ratio / fs, probes={},
        filtering=None, replicas=None, offsets=[], predicted=None, verdicts={}, notes=notes,
        elapsed_s=0.0, signals={}, ratio=ratio)
    for probe in inputs:
        if progress is not None:
            progress(probe)
        _run_probe(report, plan, runner, probe, rng)
        if probe == "ones":
            report.predicted = _compare_predicted(model, fs, report.probes["ones"].tones, notes)
    if runner.shape_note is not None:
        notes.append(runner.shape_note)
    _note_unresolved(report, plan)
    report.verdicts = _verdicts(report)
    report.elapsed_s = time.perf_counter() - start
    return report


def _note_unresolved(report: ArtifactReport, plan: _Plan) -> None:
    """A note, and an entry of ``report.unsearched`` (no tonal pass then), for the
    first probe whose finest combs the resolution did not reach."""
    for key, probe_result in report.probes.items():
        unresolved = probe_result.tones.unresolved_stages
        if unresolved:
            report.notes.append(f"{key}: stages {unresolved} have combs finer than the "
                                f"resolution ({probe_result.tones.bin_width:.3g} Hz per bin); "
                                "give more seconds to measure them")
            rates = ", ".join(f"{r:.6g}" for r in _stage_rates(plan, unresolved))
            report.unsearched.append(f"the combs of stages {unresolved} (every {rates} Hz) are "
                                     "finer than the resolution: give more --seconds")
            return


def _check_in_channels(in_channels: Any) -> int:
    """``in_channels`` if the dry run's zeros (``in_channels x 65`` samples) fit
    ``MAX_PROBE_SAMPLES``: checked before the model runs; the probes are bounded
    once the rate ratio is known (:func:`check_probe_seconds`)."""
    in_channels = check_int("in_channels", in_channels)
    most = MAX_PROBE_SAMPLES // (DRY_RUN_LENGTH + 1)
    if in_channels > most:
        raise InvalidValue(
            f"in_channels must be at most {most:,} (a {DRY_RUN_LENGTH + 1}-sample dry run of "
            f"at most {MAX_PROBE_SAMPLES:,} samples, "
            f"upsamplers.analysis._validate.MAX_PROBE_SAMPLES); received in_channels={in_channels}")
    return in_channels


def _check_margin(margin: Any, n_in: int, total: int, in_channels: int,
                  out_channels: int) -> int:
    """``margin`` (input samples dropped at each end of every probe) if the probe it
    lengthens still holds at most ``MAX_PROBE_SAMPLES`` input and output samples."""
    margin = check_int("margin", margin, minimum=0)
    most = (MAX_PROBE_SAMPLES // max(in_channels, total * out_channels) - n_in) // 2
    if margin > most:
        raise InvalidValue(
            f"margin must be at most {max(most, 0)} input samples with {n_in} measured "
            f"({in_channels} input channels, {total} x {out_channels} output samples per input "
            f"sample; {MAX_PROBE_SAMPLES:,} samples each way, "
            f"upsamplers.analysis._validate.MAX_PROBE_SAMPLES); received margin={margin}")
    return margin


def _check_probes(inputs: Sequence[str] | str) -> tuple[str, ...]:
    """``inputs`` as a non-empty tuple of names from :data:`PROBES`."""
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    for probe in inputs:
        if probe not in PROBES:
            raise InvalidValue(f"inputs must be among {', '.join(map(repr, PROBES))}; "
                               f"received {probe!r}")
    if not inputs:
        raise InvalidValue("inputs must name at least one probe; received inputs=()")
    return inputs


@dataclass(frozen=True)
class _Plan:
    """How every probe runs: ``length`` input samples, of which ``margin`` at each
    end (``cut`` output samples) are dropped from the output."""

    sample_rate: float
    factors: tuple[int, ...]
    length: int
    margin: int
    threshold_db: float
    hooked_stages: bool  # the hooked layers are the stages: measure after each
    ratio: int  # output samples per input sample (prod(factors) unless the model downsamples)

    @property
    def total(self) -> int:
        """The product of the factors: the period of the finest comb (output samples)."""
        return math.prod(self.factors)

    @property
    def input_rate(self) -> float:
        return self.sample_rate / self.ratio

    @property
    def cut(self) -> int:
        return self.margin * self.ratio


def _stage_rates(plan: _Plan, stages: Sequence[int]) -> list[float]:
    """The input rates (Hz) of the 1-based ``stages``."""
    rates = stage_rates(plan.sample_rate, plan.factors)
    return [rates[i - 1] for i in stages]


def _run_probe(report: ArtifactReport, plan: _Plan, runner: ModelRunner, probe: str,
               rng: np.random.Generator) -> None:
    """Run ``probe`` and add what it measures to ``report``."""
    if probe == "aliasing":
        if runner.length_step > 1:  # its periods are prime: no length the model takes
            report.notes.append(
                f"aliasing probe not run: the model runs only on multiples of "
                f"{runner.length_step} input samples, and the probe's periods are prime")
            return
        report.aliasing = _aliasing_probe(plan, runner)
        return
    fs, total, cut, ratio = plan.sample_rate, plan.total, plan.cut, plan.ratio
    x = _probe_input(probe, runner.in_channels or 1, plan.length, plan.input_rate, rng)
    stage_data: dict[int, list[Any]] = {}
    if plan.hooked_stages and probe in ("silence", "noise", "ones"):
        runner.capture = _stage_capture(stage_data, plan)
    try:
        y = runner(x)
    finally:
        runner.capture = None
    if y.shape[-1] != plan.length * ratio:
        raise InvalidValue(f"the model changes the length unexpectedly: {plan.length} input "
                           f"samples gave {y.shape[-1]} output samples, expected {plan.length} "
                           f"* {ratio}")
    if plan.hooked_stages:
        report.unsearched += [m for m in _off_chain(runner, plan, y.shape[-1])
                              if m not in report.unsearched]
    y = y[:, cut: y.shape[-1] - cut]
    report.signals[probe] = y[0, :MAX_PLOT_SAMPLES].astype(np.float32)
    silent = not np.any(y)
    if silent:
        report.zero_outputs.append(probe)
    if probe in ("ones", "silence", "noise"):
        tones = find_tones(y, fs, plan.factors, threshold_db=plan.threshold_db)
        above_floor = floor_levels(y, tones, total)
        levels = above_floor if probe == "noise" else calibrated_levels(probe, y, tones, total)
        report.probes[probe] = ProbeResult(
            probe, tones, float(np.sqrt(np.mean(y * y))), float(np.mean(y)), UNITS[probe],
            levels, above_floor)
    if probe == "noise" and not silent:
        report.filtering = _filtering(x[:, plan.margin: x.shape[-1] - plan.margin], y, fs,
                                      ratio, stage_rates(fs, plan.factors))
    if probe == "tones" and ratio >= 2 and not silent:
        try:
            report.replicas = replica_energy(y, fs, ratio)
        except InvalidValue as error:  # too short for its factor: no in-band to compare with
            report.notes.append(f"replicas not measured: {error}")
    for index, (data, _) in sorted(stage_data.items()):
        name, _, r = runner.stage_modules[runner.calls[index]]
        report.offsets.append(_stage_offset(probe, index, name, r, data, plan))


def _off_chain(runner: ModelRunner, plan: _Plan, out_len: int) -> list[str]:
    """The hooked layers whose input length, times the factors from them to the
    output, is not the model's output length (within :data:`CHAIN_TOLERANCE`):
    their lines are not at the searched combs (a parallel branch, a layer that
    a later one downsamples), so the tonal verdict cannot pass."""
    off = []
    for position, (in_len, _) in enumerate(runner.lengths[:len(plan.factors)]):
        hop = math.prod(plan.factors[position:])
        name = runner.stage_modules[runner.calls[position]][0]
        if in_len <= 0 or not 1 / CHAIN_TOLERANCE <= in_len * hop / out_len <= CHAIN_TOLERANCE:
            off.append(f"layer `{name}` runs at {in_len} input samples for {out_len} output "
                       f"samples, not at 1/{hop} of the output rate: its lines were not searched")
    return off


def _aliasing_probe(plan: _Plan, runner: ModelRunner) -> AliasingReport:
    """The aliasing probe: sines at :data:`AUDIT_F0S`, amplitude 0.8, with a prime
    period within :data:`AUDIT_LENGTHS` giving about as many output samples as the
    other probes (4 periods per sine: one warm-up period either side)."""
    low, high = AUDIT_LENGTHS
    budget = (plan.length - 2 * plan.margin) // (4 * len(AUDIT_F0S))
    length = next_prime(min(max(budget, low), high))
    return measure_aliasing(runner.model, sample_rate=plan.input_rate, f0s=AUDIT_F0S,
                            amplitudes=(BAR_AMPLITUDE,), waves=("sine",), length=length,
                            warmup=1, channels=runner.in_channels, top=3, ratio=plan.ratio,
                            out_channels=runner.out_channels)


def _stage_capture(stage_data: dict[int, list[Any]], plan: _Plan
                   ) -> Callable[[int, Any], None]:
    """A hook callback keeping, for the first call of stage ``index``, at most
    :data:`MAX_STAGE_CHANNELS` channels of its output ``(1, C, T_stage)`` (its
    borders dropped, in the stage's own samples) and its total power."""
    def capture(index: int, out: Any) -> None:
        if index in stage_data:
            return
        later = math.prod(plan.factors[index + 1:])
        c = out[0, :MAX_STAGE_CHANNELS]
        trim = plan.cut // later
        c = c[:, trim: c.shape[-1] - trim] if c.shape[-1] > 4 * trim else c
        stage_data[index] = [c.double().cpu().numpy(), float(out.double().pow(2).mean())]
    return capture


def _stage_offset(probe: str, index: int, name: str, factor: int, data: np.ndarray,
                  plan: _Plan) -> StageOffset:
    """DC and strongest tone of stage ``index`` (from 0), output ``data`` ``(C, T)``."""
    rate_out = plan.sample_rate / math.prod(plan.factors[index + 1:])
    dc = data.mean(axis=-1)
    dc_rms = float(np.sqrt(np.mean(dc**2)))
    power = float(np.mean(data**2))
    strongest_hz = strongest_db = None
    if factor > 1 and data.shape[-1] >= 64 * factor:
        ta = find_tones(data, rate_out, (factor,), threshold_db=plan.threshold_db)
        s = ta.strongest()
        if s is not None:
            strongest_hz, strongest_db = s.frequency, s.relative_db
    dc_db = float(db(dc_rms**2 / power)) if power > 0 else -math.inf
    # the mean of N samples of zero-mean noise has power ~ power / N: count a DC
    # only above 25 times that (5 standard deviations) and above the dB limit
    significant = (dc_db >= VERDICT_LIMITS["offset_stage_db"]
                   and dc_rms**2 > 25.0 * power / data.shape[-1])
    return StageOffset(probe, index + 1, name, rate_out, dc_rms, dc_db,
                       strongest_hz, strongest_db, significant)


def _filtering(x: np.ndarray, y: np.ndarray, fs: float, ratio: int,
               stages: list[float]) -> FilteringResult:
    """Noise response: the best linear response (H1, ``|P_xy|^2 / P_xx^2`` summed over
    at most :data:`MAX_FILTER_CHANNELS` input and output channels) from the
    zero-stuffed input noise ``x`` (``(C_in, T)``, aligned with ``y``) to the output
    ``y`` (``(C_out, T * R)``), over its mean in ``(0, 0.2]`` of the input Nyquist;
    read as the mean over ``+-2 %`` of the input Nyquist around each point, and at the
    exact bin of every stage's input rate."""
    fs_in = fs / ratio
    nperseg = choose_nperseg(y.shape[-1], multiple_of=ratio, min_segments=16,
                             max_nperseg=1 << 14)
    kw = dict(fs=fs, window=DEFAULT_WINDOW, nperseg=nperseg, detrend=False)
    power = None
    for c in range(min(x.shape[0], MAX_FILTER_CHANNELS)):
        u = zero_stuff(x[c], ratio)
        f, pxx = sps.welch(u, **kw)
        for o in range(min(y.shape[0], MAX_FILTER_CHANNELS)):
            _, pxy = sps.csd(u, y[o], **kw)
            h2 = np.abs(pxy) ** 2 / np.maximum(pxx, 1e-300) ** 2
            power = h2 if power is None else power + h2
    assert power is not None
    bin_width = fs / nperseg
    low = (f > 0) & (f <= 0.2 * fs_in / 2)
    if not np.any(low):
        low = (f > 0) & (f <= fs_in / 2)
    ref = float(np.mean(power[low])) if np.any(low) else float("nan")
    level = np.asarray(db(np.maximum(power, 1e-300) / ref))
    fractions = (0.5, 0.75, 0.9)
    freqs = [q * fs_in / 2 for q in fractions]
    half = max(0.02 * fs_in / 2, bin_width)
    attenuation = [float(db(np.mean(power[np.abs(f - f0) <= half]) / ref)) for f0 in freqs]
    notch_f = [rate for rate in stages if rate <= fs / 2 + 1e-9]
    notch = [float(level[int(round(q / bin_width))]) for q in notch_f]
    curve = Spectrum(f, level, fs, nperseg, 0, float(np.mean(y * y)))
    return FilteringResult(fractions, freqs, attenuation, notch_f, notch, curve)


def _compare_predicted(model: Any, fs: float, measured: ToneAnalysis,
                       notes: list[str]) -> list[ToneComparison] | None:
    """For an :class:`~upsamplers.layers.Upsampler`, the tones its phase kernels
    predict for a constant input, beside the ``measured`` ones; else ``None``."""
    from ..layers import Upsampler

    if not isinstance(model, Upsampler):
        return None
    kernels = model.phase_kernels()
    tones: list[PredictedTone] = predicted_constant_tones(kernels, fs, level=1.0)
    # tones predicted 100 dB below the output's power are rounding noise (equal phases)
    floor = 1e-10 * sum(t.power for t in tones)
    out = []
    for t in tones:
        if t.frequency != 0 and t.power < floor:
            continue
        if t.frequency == 0:
            out.append(ToneComparison(0.0, float(db(t.power)), float(db(measured.dc_power))))
        elif measured.tones:
            m = measured.tone_at(t.frequency)
            if abs(m.frequency - t.frequency) < 1e-6 * fs:
                out.append(ToneComparison(t.frequency, float(db(max(t.power, 1e-300))),
                                          float(db(max(m.power, 1e-300)))))
    notes.append("ones: tone levels predicted from the phase kernels' DC gains "
                 "(Upsampler.phase_kernels) are compared with the measured ones")
    return out


def _verdicts(report: ArtifactReport) -> dict[str, Verdict]:
    lim = VERDICT_LIMITS
    out: dict[str, Verdict] = {}
    bad, weak = [], []
    for name, p in report.probes.items():
        for t in p.tones.found:
            if not _tone_power_ok(t.power):
                continue
            line = (t.frequency, name, f"{name}: {t.frequency:g} Hz at {level_text(p, t)}")
            if name != "ones" or t.relative_db >= lim["tonal_fail_relative_db"]:
                bad.append((t.relative_db, line))
            else:
                weak.append((t.relative_db, line))
    if not report.probes:
        out["tonal"] = Verdict("n/a", "no ones/silence/noise probe was run")
    elif bad:
        out["tonal"] = Verdict("fail", _tone_count(bad, ""))
    elif weak:
        out["tonal"] = Verdict("warn", _tone_count(weak, "weak "))
    elif report.unsearched:
        out["tonal"] = Verdict("warn", "no tone found, but not every layer's lines were "
                               "searched: " + "; ".join(report.unsearched))
    elif report.total < 2:
        out["tonal"] = Verdict("n/a", "no upsampling layer: no line to search for "
                               f"(factors {'x'.join(map(str, report.factors))})")
    elif set(report.probes) <= set(report.zero_outputs):
        out["tonal"] = Verdict("pass", "no tone found: the output is all zero")
    else:
        out["tonal"] = Verdict("pass", "no tone found at the multiples of every upsampling "
                               "layer's input rate")
    out.update(_response_verdicts(report))
    silence = report.probes.get("silence")
    stage_bad = [o for o in report.offsets if o.probe != "ones" and o.significant]
    if silence is not None or report.offsets:
        msgs = []
        if silence is not None:
            msgs.append(f"silence gives DC {silence.dc:.3g}")
        for o in stage_bad:
            msgs.append(f"{o.probe}: stage {o.stage} ({o.layer or 'model'}) DC "
                        f"{o.dc_db:.1f} dB re its power")
        ok = (silence is None or abs(silence.dc) < lim["offset_silence_dc"]) and not stage_bad
        out["offsets"] = Verdict("pass" if ok else "warn", "; ".join(msgs) or "no offsets")
    if report.aliasing is not None:
        out["aliasing"] = _aliasing_verdict(report.aliasing)
    return out


def _tone_count(found: list[tuple[float, tuple[float, str, str]]], weak: str) -> str:
    """"N distinct tones (seen M times over K probes); strongest ...": a line that
    several probes show counts once."""
    found.sort(key=lambda x: x[0], reverse=True)
    lines = {round(f, 6) for _, (f, _, _) in found}
    probes = {probe for _, (_, probe, _) in found}
    seen = (f" (seen {len(found)} times over {len(probes)} probes)" if len(found) > len(lines)
            else f" over {len(probes)} probe{'s' if len(probes) > 1 else ''}")
    plural = "s" if len(lines) > 1 else ""
    return f"{len(lines)} distinct {weak}tone{plural}{seen}; strongest {found[0][1][2]}"


#: Input channels above which the model's input is read as a latent, not a waveform.
WAVEFORM_MAX_CHANNELS = 2


def _response_verdicts(report: ArtifactReport) -> dict[str, Verdict]:
    """The filtering and replicas verdicts. Both compare the output with a waveform
    fed at the input rate: for a model taking more than
    :data:`WAVEFORM_MAX_CHANNELS` input channels (a latent decoder) they are "n/a",
    the measured figures kept in the message."""
    lim = VERDICT_LIMITS
    out: dict[str, Verdict] = {}
    channels = report.in_channels or 1
    latent = channels > WAVEFORM_MAX_CHANNELS
    why = (f"n/a for this model: the check assumes a waveform input, and the model takes "
           f"{channels} input channels (a latent?); measured: ")
    if "noise" in report.zero_outputs:
        out["filtering"] = Verdict("fail", "the noise probe's output is all zero: nothing "
                                           "passes")
    elif report.filtering is not None:
        att = report.filtering.attenuation_db[-1]
        notches = ", ".join(f"{f:g} Hz: {d:.1f} dB" for f, d in zip(
            report.filtering.notch_frequencies, report.filtering.notch_db, strict=True))
        status = ("pass" if abs(att) <= lim["filtering_pass_db"] else
                  "warn" if abs(att) <= lim["filtering_warn_db"] else "fail")
        message = f"noise response {att:+.1f} dB at 0.9 of the input Nyquist"
        if notches:
            message += f"; at the stage input rates: {notches}"
        out["filtering"] = (Verdict("n/a", why + message) if latent
                            else Verdict(status, message))
    if "tones" in report.zero_outputs:
        out["replicas"] = Verdict("n/a", "the tones probe's output is all zero: no in-band "
                                         "energy to compare with")
    elif report.replicas is not None:
        total = report.replicas.total_db
        status = ("pass" if total <= lim["replicas_pass_db"] else
                  "warn" if total <= lim["replicas_warn_db"] else "fail")
        message = f"energy above the input Nyquist {total:.1f} dB re in-band"
        out["replicas"] = (Verdict("n/a", why + message) if latent
                           else Verdict(status, message))
    return out


def _aliasing_verdict(aliasing: AliasingReport) -> Verdict:
    s = aliasing.summary("sine", BAR_AMPLITUDE)
    detail = (f"mean AHR {s.mean_ahr_db:.1f} dB (worst {s.worst_ahr_db:.1f} dB at "
              f"{s.worst_f0:g} of the input rate)")
    if s.at_floor:
        detail = "AHR at the rounding floor: no aliasing measurable"
    if s.mean_image_db is not None and not s.at_floor:
        detail += f"; images {s.mean_image_db:.1f} dB re the signal"
    if not s.steady:
        return Verdict("warn", detail + "; not steady: the model's memory is longer than "
                       "one period of the probe, its AHR is unreliable")
    ok = s.mean_ahr_db <= VERDICT_LIMITS["aliasing_pass_db"]
    return Verdict("pass" if ok else "warn", detail)
