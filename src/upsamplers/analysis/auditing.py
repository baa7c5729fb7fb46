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

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

from .._checks import InvalidType, InvalidValue
from .._io import atomic_write_text, plain
from ._validate import (
    MAX_PROBE_SAMPLES,
    check_audio,
    check_duration,
    check_factors,
    check_finite,
    check_int,
    check_probe_seconds,
    check_rate,
)
from .aliasing import BAR_AMPLITUDE, AliasingReport, measure_aliasing, next_prime
from .calibration import UNITS, calibrated_levels, floor_levels
from .channels import condense, settle_in_channels
from .kernels import PredictedTone, predicted_constant_tones
from .linting import lint
from .plots import plot_report
from .replicas import ReplicaEnergy, replica_energy
from .response import zero_stuff
from .spectrum import DEFAULT_WINDOW, Spectrum, choose_nperseg, db
from .stages import hidden_stages
from .tones import DEFAULT_THRESHOLD_DB, ToneAnalysis, find_tones, stage_rates

PROBES = ("ones", "silence", "noise", "tones", "aliasing")
DEFAULT_SECONDS = 4.0
DEFAULT_SEED = 0
#: The files :meth:`ArtifactReport.save` writes (besides the PNGs of ``plot``).
OUTPUT_NAMES = ("audit.md", "audit.json")
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


@dataclass
class Verdict:
    status: str  # "pass", "warn" or "fail"
    message: str


@dataclass
class ProbeResult:
    """What one probe produced: its tones, the output level and its DC.

    ``levels`` holds every tone of ``tones.tones`` (same order) in ``unit``
    (:data:`~upsamplers.analysis.calibration.UNITS`: dBFS on silence, dB re the
    output RMS on ones, dB above a real floor on noise), ``None`` where there is
    no figure (float rounding); ``above_floor`` the same tones in dB above a real
    local floor, ``None`` where that floor is float rounding. Whether a tone is
    found (``tones.found``: over a floor clamped at 150 dB below the output's
    power) decides the verdict."""

    probe: str
    tones: ToneAnalysis
    output_rms: float
    dc: float
    unit: str = ""
    levels: list[float | None] = field(default_factory=list)
    above_floor: list[float | None] = field(default_factory=list)
    _position: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._position = {id(t): i for i, t in enumerate(self.tones.tones)}

    def level_of(self, tone: Any) -> float | None:
        """The calibrated level of ``tone`` (one of ``tones.tones``), in ``unit``."""
        return self._by_tone(self.levels, tone)

    def _by_tone(self, values: list[float | None], tone: Any) -> float | None:
        """The entry of ``values`` (one per ``tones.tones``) for ``tone``."""
        i = self._position.get(id(tone))
        return values[i] if i is not None and i < len(values) else None

    def to_dict(self) -> dict[str, Any]:
        t = self.tones
        return {
            "probe": self.probe, "output_rms": self.output_rms, "dc": self.dc,
            "dc_db_re_total": t.dc_db, "threshold_db": t.threshold_db,
            "bin_width_hz": t.bin_width, "resolved_stages": t.resolved_stages,
            "unresolved_stages": t.unresolved_stages, "level_unit": self.unit,
            "tones_found": [self._tone_dict(x) for x in t.found],
            "tones_measured": len(t.tones),
        }

    def _tone_dict(self, t: Any) -> dict[str, Any]:
        return {"frequency_hz": t.frequency, "stage": t.stage,
                "measured_frequency_hz": t.measured_frequency, "power_db": float(db(t.power)),
                "level_db": self.level_of(t), "level_unit": self.unit,
                "level_db_above_floor": self._by_tone(self.above_floor, t),
                "relative_db": t.relative_db}


def level_text(probe: ProbeResult, tone: Any) -> str:
    """``tone``'s calibrated level in words: ``-20.3 dBFS``, ``-1.4 dB re output
    RMS``, ``13.2 dB above the floor``, or why there is no figure."""
    level = probe.level_of(tone)
    if level is None:
        return ("no figure (its floor is float rounding)" if probe.unit == UNITS["noise"]
                else "no figure (below float rounding)")
    unit = "dB above the floor" if probe.unit == UNITS["noise"] else probe.unit
    return f"{level:.1f} {unit}"


@dataclass
class FilteringResult:
    """Noise response (dB re its level near DC) at fractions of the input Nyquist
    and at the stage input rates."""

    fractions: tuple[float, ...]
    frequencies: list[float]
    attenuation_db: list[float]
    notch_frequencies: list[float]
    notch_db: list[float]
    curve: Spectrum = field(repr=False)


@dataclass
class StageOffset:
    """DC and strongest tone after one upsampling stage, for one probe."""

    probe: str
    stage: int
    layer: str
    output_rate: float
    dc_rms: float
    dc_db: float
    strongest_tone_hz: float | None
    strongest_tone_relative_db: float | None
    significant: bool = False


@dataclass
class ToneComparison:
    """A tone predicted from the phase kernels and measured, powers in dB."""

    frequency: float
    predicted_db: float
    measured_db: float

    @property
    def difference_db(self) -> float:
        return self.measured_db - self.predicted_db


@dataclass
class ArtifactReport:
    """Result of :func:`audit`. ``to_markdown()``, ``to_json()``, ``plot(directory)``."""

    model: str
    sample_rate: float
    factors: tuple[int, ...]
    input_rate: float
    in_channels: int | None
    output_seconds: float
    probes: dict[str, ProbeResult]
    filtering: FilteringResult | None
    replicas: ReplicaEnergy | None
    offsets: list[StageOffset]
    predicted: list[ToneComparison] | None
    verdicts: dict[str, Verdict]
    notes: list[str]
    elapsed_s: float
    signals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    aliasing: AliasingReport | None = None
    #: the probes whose output was all zero (no DC share, no tones, no response)
    zero_outputs: list[str] = field(default_factory=list)
    #: the model's output length over its input length (``prod(factors)`` unless the
    #: model also lowers the rate, like a U-Net that returns its input rate: 1)
    ratio: int | None = None
    #: why a tonal "pass" cannot be given: lines of a found layer not searched
    unsearched: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ratio is None:
            self.ratio = self.total

    @property
    def total(self) -> int:
        """The product of ``factors`` (the finest comb's period, output samples)."""
        return math.prod(self.factors)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model, "sample_rate": self.sample_rate, "factors": list(self.factors),
            "ratio": self.ratio, "unsearched": list(self.unsearched),
            "input_rate": self.input_rate, "in_channels": self.in_channels,
            "output_seconds": self.output_seconds, "elapsed_s": self.elapsed_s,
            "verdicts": {k: {"status": v.status, "message": v.message}
                         for k, v in self.verdicts.items()},
            "probes": {k: v.to_dict() for k, v in self.probes.items()},
            "notes": list(self.notes), "zero_output_probes": list(self.zero_outputs),
        }
        if self.filtering is not None:
            f = self.filtering
            d["filtering"] = {"fractions_of_input_nyquist": list(f.fractions),
                              "frequencies_hz": f.frequencies, "attenuation_db": f.attenuation_db,
                              "notch_frequencies_hz": f.notch_frequencies, "notch_db": f.notch_db}
        if self.replicas is not None:
            r = self.replicas
            d["replicas"] = {"bands_hz": [list(b) for b in r.bands], "energy_db": r.energy_db,
                             "total_db": r.total_db}
        d["offsets"] = [vars(o) for o in self.offsets]
        if self.predicted is not None:
            d["predicted_vs_measured"] = [
                {"frequency_hz": c.frequency, "predicted_db": c.predicted_db,
                 "measured_db": c.measured_db, "difference_db": c.difference_db}
                for c in self.predicted]
        if self.aliasing is not None:
            d["aliasing"] = self.aliasing.to_dict()
        return plain(d, infinities=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        return _markdown(self)

    def save(self, directory: str | Path, *, plot: bool = True) -> list[Path]:
        """Write ``audit.md`` and ``audit.json`` into ``directory`` (created if
        needed), and with ``plot`` the PNGs of :meth:`plot`; returns the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        markdown, data = (directory / name for name in OUTPUT_NAMES)
        written = [atomic_write_text(markdown, self.to_markdown()),
                   atomic_write_text(data, self.to_json())]
        if plot:
            written += self.plot(directory)
        return written

    def plot(self, directory: str | Path) -> list[Path]:
        """Write a spectrogram PNG per probe (expected tone frequencies marked) and
        the noise response, and the AHR of the aliasing probe; returns the paths.
        Needs matplotlib (``[plot]`` extra)."""
        paths = plot_report(self, Path(directory))
        if self.aliasing is not None:
            paths.append(self.aliasing.plot(Path(directory) / "aliasing.png"))
        return paths


# ----------------------------------------------------------------------------- running


class _Runner:
    """Calls the model on ``(C_in, T)`` float32 numpy input, returns ``(C_out, T * R)``."""

    def __init__(self, model: Any, in_channels: int | None) -> None:
        self.model = model
        self.torch_module = False
        self.stage_modules: list[tuple[str, Any, int]] = []
        try:
            import torch

            self.torch_module = isinstance(model, torch.nn.Module)
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        self.in_channels = in_channels  # a module's: settled by its first run
        self.out_channels = 1
        self.shape_note: str | None = None  # how an output not (B, C, T) was read
        self.length_step = 1  # the model runs on input lengths that are multiples of this
        #: the stage index and (input samples, output samples) of every hooked call,
        #: in call order (empty for a callable)
        self.calls: list[int] = []
        self.lengths: list[tuple[int, int]] = []
        if self.torch_module:
            self._hook_stages()
        elif not callable(model):
            raise InvalidType("model must be a torch.nn.Module or a callable mapping a numpy "
                              f"array to a numpy array; received {type(model).__name__}")
        self.name = type(model).__name__ if self.torch_module else getattr(
            model, "__name__", type(model).__name__)

    def _hook_stages(self) -> None:
        report = lint(self.model)
        modules = dict(self.model.named_modules())
        for f in report.findings:
            if f.factor is not None and f.kind != "interpolate":
                self.stage_modules.append((f.name, modules[f.name], f.factor))
        self.capture: Callable[[int, Any], None] | None = None

    def first_run(self, length: int) -> np.ndarray:
        """The model on zeros of ``length`` samples; for a module, the input channels
        are settled here (:func:`~upsamplers.analysis.channels.settle_in_channels`:
        the user's count as given, else the guesses from its layers in turn)."""
        def run(channels: int) -> np.ndarray:
            return self(np.zeros((channels, length), dtype=np.float32))

        if self.torch_module:
            self.in_channels, y = settle_in_channels(self.model, self.in_channels, run)
        else:
            y = run(self.in_channels or 1)
        self.out_channels = y.shape[0]
        return y

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if not self.torch_module:
            arg = x[0] if self.in_channels is None else x
            y = self.model(arg)
            return check_audio("model output", np.asarray(y))
        import torch

        first = next(iter(self.model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
        dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
        handles = []
        self.calls, self.lengths = [], []
        for index, (_, module, _) in enumerate(self.stage_modules):
            def hook(mod: Any, inputs: Any, output: Any, index: int = index) -> None:
                position = len(self.calls)  # the call order, not the registration order
                self.calls.append(index)
                self.lengths.append((_length(inputs[0] if inputs else None), _length(output)))
                if self.capture is not None and isinstance(output, torch.Tensor):
                    self.capture(position, output.detach())
            handles.append(module.register_forward_hook(hook))
        training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                y = self.model(torch.as_tensor(x, dtype=dtype, device=device)[None])
        finally:
            self.model.train(training)
            for h in handles:
                h.remove()
        if not isinstance(y, torch.Tensor):
            raise InvalidType(f"the model must return a tensor (B, C, T); received "
                              f"{type(y).__name__}")
        if y.dim() < 2:
            raise InvalidValue(f"the model must return shape (B, C, T), (B, T) or (B, ..., T) "
                               f"(sources, channels, ...); received shape {tuple(y.shape)}")
        if y.dim() != 3:
            self.shape_note = (f"the model returns shape {tuple(y.shape)}: read as "
                               f"{math.prod(y.shape[1:-1])} output channel(s) of "
                               f"{y.shape[-1]} samples")
            y = y.reshape(y.shape[0], -1, y.shape[-1])  # (B, S, C, T) -> (B, S * C, T)
        return check_audio("model output", y[0].detach().cpu().double().numpy())


def _length(value: Any) -> int:
    """The last dimension of a tensor (a hooked layer's input or output), else 0."""
    shape = getattr(value, "shape", None)
    return int(shape[-1]) if shape else 0


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
    runner = _Runner(model, in_channels)
    notes: list[str] = []
    ratio, found, hooked = _find_factors(runner, user_factors, notes)
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
    for key, probe_result in report.probes.items():
        if probe_result.tones.unresolved_stages:
            unresolved = probe_result.tones.unresolved_stages
            notes.append(f"{key}: stages {unresolved} have combs finer "
                         f"than the resolution ({probe_result.tones.bin_width:.3g} Hz per bin); "
                         "give more seconds to measure them")
            report.unsearched.append(
                f"the combs of stages {unresolved} (every "
                f"{', '.join(f'{r:.6g}' for r in _stage_rates(plan, unresolved))} Hz) are finer "
                f"than the resolution: give more --seconds")
            break
    report.verdicts = _verdicts(report)
    report.elapsed_s = time.perf_counter() - start
    return report


#: Input samples of the dry run that finds the rate ratio (then one more).
DRY_RUN_LENGTH = 64
#: Longer dry runs tried in turn when the model fails on the first (an STFT
#: branch needs more samples than its reflect padding).
DRY_RUN_LENGTHS = (DRY_RUN_LENGTH, 1024, 16384)
#: Largest length step tried after the dry run: a model that runs on multiples
#: of ``2**k`` samples only (a U-Net without padding) gets probes of such lengths.
MAX_LENGTH_STEP = 4096


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


def _find_factors(runner: _Runner, user_factors: tuple[int, ...] | None, notes: list[str]
                  ) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """A dry run on zeros: the model's rate ratio ``R`` (output over input
    samples), the factors whose input rates the tones are searched at, first
    stage first, and the factors of the hooked layers in the order they ran.

    The factors are the user's, else those of the hooked layers (in call order,
    the last one taken to output at the model's output rate; this holds whatever
    ``R`` is: the decoder of a U-Net that returns its input rate has factors
    multiplying to 4096 for ``R = 1``), else ``(R,)``."""
    probe_len, y = _first_run(runner)
    ratio = y.shape[-1] / probe_len
    step, y2 = _second_run(runner, probe_len)
    if step > 1:
        notes.append(f"the model fails on {probe_len + 1} input samples and runs on "
                     f"{probe_len + step}: every probe's length is a multiple of {step}")
    runner.length_step = step
    if ratio != int(ratio) or y2.shape[-1] != (probe_len + step) * int(ratio):
        raise InvalidValue(f"the model changes the length unexpectedly: {probe_len} input samples "
                           f"gave {y.shape[-1]} and {probe_len + step} gave {y2.shape[-1]}; an "
                           "upsampler by R must return exactly T * R samples")
    ratio = int(ratio)
    hooked = tuple(runner.stage_modules[i][2] for i in runner.calls) if runner.torch_module else ()
    wrapped = _wrapping_calls(runner)
    if wrapped:
        return ratio, _wrapped_combs(runner, hooked, wrapped, notes), ()
    if user_factors is not None and math.prod(user_factors) != ratio:
        raise InvalidValue(f"factors={user_factors} multiply to {math.prod(user_factors)}, but "
                           f"the model upsamples by {ratio} ({probe_len} samples in, "
                           f"{y.shape[-1]} out)")
    if hooked and math.prod(hooked) != ratio:
        notes.append(
            f"the model's output is {ratio} x its input rate, but its upsampling layers "
            f"(factors {'x'.join(map(str, hooked))}) multiply to {math.prod(hooked)} (it also "
            "lowers the rate): the tones are searched at those layers' own input rates, the "
            "last layer outputting at the model's output rate")
        return ratio, hooked, hooked
    hidden = [] if hooked or not runner.torch_module else hidden_stages(
        runner.model, lambda: runner(np.zeros((runner.in_channels or 1, probe_len),
                                              dtype=np.float32)), probe_len)
    if hidden and (user_factors is None or math.prod(s.factor for s in hidden) != ratio):
        notes.append("upsampling found between layers, not in a module (a reshape shuffle, "
                     "an F.interpolate, an iSTFT call): "
                     + "; ".join(s.where() for s in hidden)
                     + "; the tones are searched at those stages' input rates")
        return ratio, tuple(s.factor for s in hidden), hooked
    if user_factors is not None:
        return ratio, user_factors, hooked
    if hooked:
        return ratio, hooked, hooked
    if ratio < 2:
        raise InvalidValue(f"the model does not upsample ({probe_len} samples in, "
                           f"{y.shape[-1]} out) and no upsampling layer was found in it; pass "
                           "a model that upsamples, or factors=")
    if runner.torch_module:
        notes.append(f"no upsampling layer was found to explain the length ratio {ratio}; "
                     f"analysed as one stage of {ratio}")
    return ratio, (ratio,), hooked


def _wrapping_calls(runner: _Runner) -> list[int]:
    """The positions of the hooked calls whose output is not about ``factor`` times
    their input (within :data:`CHAIN_TOLERANCE`): a module that holds an analysis
    and a synthesis (a hybrid model calling ``torch.stft`` then ``torch.istft``,
    found as an iSTFT head of hop ``factor``) keeps its rate at its boundary."""
    out = []
    names = [runner.stage_modules[i][0] for i in runner.calls]
    for position, (in_len, out_len) in enumerate(runner.lengths):
        factor = runner.stage_modules[runner.calls[position]][2]
        name = names[position]
        # a head whose forward runs other stages first (a model that is an iSTFT head)
        inner = math.prod(runner.stage_modules[runner.calls[q]][2] for q, n in enumerate(names)
                          if q != position and (name == "" or n.startswith(name + ".")))
        if in_len > 0 and not 1 / CHAIN_TOLERANCE <= out_len / (in_len * factor * inner) <= \
                CHAIN_TOLERANCE:
            out.append(position)
    return out


def _wrapped_combs(runner: _Runner, hooked: tuple[int, ...], wrapped: list[int],
                   notes: list[str]) -> tuple[int, ...]:
    """The factors whose stage rates hold the lines of every hooked layer when some
    keep their rate at their boundary (:func:`_wrapping_calls`): each of those
    synthesises at the output rate, lines at multiples of ``fs / factor``; the
    others chain to the output. The combs as a chain of factors when their hops
    divide one another, else one stage of their least common multiple."""
    chain = [f for p, f in enumerate(hooked) if p not in wrapped]
    hops = {math.prod(chain[i:]) for i in range(len(chain))} | {hooked[p] for p in wrapped}
    hops = sorted(hops)
    names = ", ".join(f"`{runner.stage_modules[runner.calls[p]][0] or '(model)'}` "
                      f"(hop {hooked[p]})" for p in wrapped)
    if all(b % a == 0 for a, b in zip(hops, hops[1:], strict=False)):
        # hops h_1 < ... < h_n: stages of input rates fs / h_n, ..., fs / h_1
        factors = tuple(b // a for a, b in zip(hops, hops[1:], strict=False))[::-1] + (hops[0],)
        how = f"searched at multiples of fs / {', fs / '.join(map(str, hops[::-1]))}"
    else:
        factors = (math.lcm(*hops),)
        how = (f"hops {', '.join(map(str, hops))} do not divide one another: searched at "
               f"multiples of fs / {factors[0]}, which hold them all")
    notes.append(f"{names} keep{'s' if len(wrapped) == 1 else ''} the rate at the boundary "
                 "(an analysis and a synthesis, e.g. an STFT then an iSTFT): lines at multiples "
                 f"of the output rate over the hop; {how}")
    return factors


def _first_run(runner: _Runner) -> tuple[int, np.ndarray]:
    """The first dry run, at the first of :data:`DRY_RUN_LENGTHS` the model runs on
    (its input channels settled there); the shortest length's error if none."""
    first: InvalidValue | None = None
    for length in DRY_RUN_LENGTHS:
        try:
            return length, runner.first_run(length)
        except InvalidValue as error:
            first = first or error
            if not runner.torch_module:
                raise
    assert first is not None
    lengths = ", ".join(map(str, DRY_RUN_LENGTHS[:-1])) + f" and {DRY_RUN_LENGTHS[-1]}"
    raise InvalidValue(f"at {lengths} input samples alike, {first}") from None


def _second_run(runner: _Runner, length: int) -> tuple[int, np.ndarray]:
    """The dry run at ``length + step``, ``step`` the first power of two (up to
    :data:`MAX_LENGTH_STEP`) the model runs on: a module that takes only
    multiples of 8 samples runs on ``length + 8``. An error raised once the
    model's forward returned (the output refused) is not retried."""
    step, error = 1, None
    finished: list[bool] = []
    while step <= MAX_LENGTH_STEP:
        finished.clear()
        handle = (runner.model.register_forward_hook(lambda *_: finished.append(True))
                  if runner.torch_module else None)
        x = np.zeros((runner.in_channels or 1, length + step), dtype=np.float32)
        try:
            return step, runner(x)
        except Exception as caught:  # the user's model: try a longer step
            if finished or not runner.torch_module:
                raise
            error = error or caught
        finally:
            if handle is not None:
                handle.remove()
        step *= 2
    raise InvalidValue(f"the model runs on {length} input samples but fails on {length} + 1, "
                       f"2, 4, ..., {MAX_LENGTH_STEP}: {condense(error)}")


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


def _run_probe(report: ArtifactReport, plan: _Plan, runner: _Runner, probe: str,
               rng: np.random.Generator) -> None:
    """Run ``probe`` and add what it measures to ``report``."""
    if probe == "aliasing":
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


#: A hooked layer's measured rate may differ from its place in the call-order
#: chain by padding (a U-Net pads to a multiple of its strides) by this ratio at
#: most; a layer off the chain is off by a factor of 2 or more.
CHAIN_TOLERANCE = 1.5


def _off_chain(runner: _Runner, plan: _Plan, out_len: int) -> list[str]:
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


def _aliasing_probe(plan: _Plan, runner: _Runner) -> AliasingReport:
    """The aliasing probe: sines at :data:`AUDIT_F0S`, amplitude 0.8, with a prime
    period within :data:`AUDIT_LENGTHS` giving about as many output samples as the
    other probes (4 periods per sine: one warm-up period either side)."""
    low, high = AUDIT_LENGTHS
    budget = (plan.length - 2 * plan.margin) // (4 * len(AUDIT_F0S))
    length = next_prime(min(max(budget, low), high))
    return measure_aliasing(runner.model, sample_rate=plan.input_rate, f0s=AUDIT_F0S,
                            amplitudes=(BAR_AMPLITUDE,), waves=("sine",), length=length,
                            warmup=1, channels=runner.in_channels, top=3, ratio=plan.ratio)


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


def _markdown(r: ArtifactReport) -> str:
    lines = [f"# Audit: {r.model}", "",
             f"Output {r.sample_rate:g} Hz, factors {'x'.join(map(str, r.factors))} "
             f"(input rate {r.input_rate:.6g} Hz"
             f"{'' if r.ratio == r.total else f', output {r.ratio} x input'}), "
             f"{r.output_seconds:.2f} s per probe, "
             f"{r.elapsed_s:.1f} s.", "", "| artifact | verdict | detail |", "|---|---|---|"]
    for k, v in r.verdicts.items():
        lines.append(f"| {k} | **{v.status}** | {v.message} |")
    for name, p in r.probes.items():
        t = p.tones
        lines += ["", f"## Probe `{name}`", ""]
        if name in r.zero_outputs:
            lines.append("The output is all zero: no DC, no tone.")
            continue
        lines += [f"Output RMS {p.output_rms:.4g}, DC {p.dc:.4g} ({t.dc_db:.1f} dB re total); "
                  f"{t.bin_width:.3g} Hz per bin; stages resolved {t.resolved_stages}.", ""]
        found = t.found
        if not found:
            lines.append(f"No tone {t.threshold_db:g} dB above its floor.")
            continue
        lines += [f"| frequency (Hz) | stage | level ({p.unit}) | dB re total |",
                  "|---:|---:|---:|---:|"]
        for tone in sorted(found, key=lambda x: -x.power)[:24]:
            level = p.level_of(tone)
            lines.append(f"| {tone.frequency:.6g} | {tone.stage} | "
                         f"{'float rounding' if level is None else f'{level:.1f}'} | "
                         f"{tone.relative_db:.1f} |")
        if len(found) > 24:
            lines.append(f"| ... {len(found) - 24} more | | | |")
    if r.predicted:
        lines += ["", "## Predicted (phase kernels) vs measured, ones input", "",
                  "| frequency (Hz) | predicted (dB) | measured (dB) | difference (dB) |",
                  "|---:|---:|---:|---:|"]
        for c in r.predicted:
            lines.append(f"| {c.frequency:.6g} | {c.predicted_db:.2f} | {c.measured_db:.2f} | "
                         f"{c.difference_db:+.2f} |")
    if r.filtering is not None:
        f = r.filtering
        lines += ["", "## Filtering (noise response re its level near DC)", "",
                  "| where | frequency (Hz) | dB |", "|---|---:|---:|"]
        for q, fr, a in zip(f.fractions, f.frequencies, f.attenuation_db, strict=True):
            lines.append(f"| {q:g} x input Nyquist | {fr:.6g} | {a:.2f} |")
        for fr, a in zip(f.notch_frequencies, f.notch_db, strict=True):
            lines.append(f"| stage input rate | {fr:.6g} | {a:.2f} |")
    if r.replicas is not None:
        rep = r.replicas
        lines += ["", "## Replicas (tones probe, dB re in-band energy)", "",
                  f"Total above the input Nyquist: {rep.total_db:.1f} dB.", "",
                  "| band (Hz) | dB |", "|---|---:|"]
        for (lo, hi), e in list(zip(rep.bands, rep.energy_db, strict=True))[:16]:
            lines.append(f"| {lo:.6g} - {hi:.6g} | {e:.1f} |")
        if len(rep.bands) > 16:
            lines.append(f"| ... {len(rep.bands) - 16} more bands | |")
    if r.offsets:
        lines += ["", "## Offsets after each upsampling stage", "",
                  "| probe | stage | layer | rate (Hz) | DC rms | DC dB re power | "
                  "strongest tone (dB re its power) |", "|---|---:|---|---:|---:|---:|---|"]
        for o in r.offsets:
            tone = ("" if o.strongest_tone_hz is None else
                    f"{o.strongest_tone_hz:.6g} Hz, {o.strongest_tone_relative_db:.1f} dB")
            lines.append(f"| {o.probe} | {o.stage} | `{o.layer or '(model)'}` | "
                         f"{o.output_rate:.6g} | "
                         f"{o.dc_rms:.3g} | {o.dc_db:.1f} | {tone} |")
    if r.aliasing is not None:
        lines += ["", r.aliasing.to_markdown(level=2).rstrip("\n")]
    if r.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in r.notes]
    return "\n".join(lines) + "\n"
