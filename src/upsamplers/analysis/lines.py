"""The lines an upsampler leaves at ``k * fs / hop``, in units a user can act on.

An upsampler by ``hop`` whose phases differ turns an offset into a signal of
period ``hop`` output samples: lines at ``f_k = k * fs / hop``, ``k = 1 ..
hop // 2`` (``fs`` the output rate; ``f = fs / 2`` included for an even
``hop``; DC is not a line here, it is an offset). :func:`tone_measures` runs a
model on four inputs and reads those lines, each as one :class:`LineLevel`:

* **silence** (zeros): the strongest line in **dBFS**, full scale being a sine
  of amplitude 1 (power 1/2): a line of amplitude ``A`` reads ``20 log10(A)``
  (at ``fs / 2``, where a line is ``A cos(phi) (-1)^n``, its power over 1/2);
* **constant** (``level`` on every input channel): the strongest line in
  **dB re the output's total power** (its mean square, DC included);
* **noise** (white Gaussian, standard deviation 1) and **audio** (a clip the
  caller gives): the strongest line in **dB above a real local floor**, and the
  largest **excess**: a line's level above its floor at the output minus the
  same bin's level above its floor in the input brought to the output rate by
  zero-stuffing (for a model that keeps the rate, the input itself). Above the
  input's Nyquist a bin of the zero-stuffed input reads the input's spectrum
  mirrored there (at ``k * fs_in``, the input's DC), so the excess is what the
  model adds beyond an image of what the input already held.

Silence and constant lines are exact: the output (its borders dropped) is
averaged period by period (``hop`` samples) and the average's DFT gives every
line's amplitude, whatever the window or the floor. Noise and audio lines are
read from a Welch spectrum (Blackman-Harris, at least :data:`MIN_SEGMENTS`
averaged segments, a segment length that is a multiple of ``hop``, so every
line is one bin, lines at least :data:`MIN_SPACING_BINS` bins apart); the floor
of a line is the median power of the bins within half a line spacing (at most
:data:`FLOOR_HALF_WIDTH`), leaving out :data:`GUARD_BINS` bins around every line
and DC. At ``fs / 2`` the one-sided spectrum's bin holds half the noise power of
its neighbours, so noise alone reads -3 dB above floor there; the excess is free
of it (input and output read it alike), and a line there reads its full power.

No figure comes from a clamp or from rounding noise: a measure is ``None``
with a ``note`` saying why when the output is exactly zero, when a line is
below :data:`ROUNDING_DB` re the output power (float rounding, e.g. equal
phases), when the output is exactly periodic (it ignores its noise or audio
input: its floor would be rounding noise), or when a floor is below
:data:`ROUNDING_DB` re the mean power per bin (a band of digital silence); lines
without a real floor are left out of the maximum, and the note says how many.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._checks import InvalidValue
from ._validate import (
    check_audio,
    check_duration,
    check_int,
    check_positive_float,
    check_probe_seconds,
    check_rate,
)
from .channels import settle_in_channels
from .spectrum import GUARD_BINS, Spectrum, choose_nperseg, db, local_floor, welch_spectrum
from .tones import FLOOR_HALF_WIDTH, MIN_SPACING_BINS

#: A line, a floor or a non-periodic part below this power re the signal's (dB) is not
#: a figure: float32 sums of N products carry relative errors up to about N * 6e-8 in
#: amplitude (a linear layer on a constant measured -110 dB re RMS of lines that its
#: float64 phase kernels put at -135 dB), and -100 dB is below a 16-bit quantisation's floor.
ROUNDING_DB = -100.0
#: Power of a full-scale sine (amplitude 1): 0 dBFS.
FULL_SCALE_POWER = 0.5
#: Welch segments averaged at least for a noise or audio floor (16: a 4 s clip at
#: 16 kHz resolves lines 62.5 Hz apart, ``hop = 256``, 16 bins apart).
MIN_SEGMENTS = 16
DEFAULT_SECONDS = 4.0
#: The input's spectrum is the mean over at most this many of its channels (a
#: decoder's code can have hundreds; white noise is alike on every one).
MAX_REFERENCE_CHANNELS = 8
ZERO_NOTE = "output exactly zero"


@dataclass(frozen=True)
class LineLevel:
    """One measured line: ``db`` (unit set by the measure) at ``frequency_hz``, or
    ``db = None`` with ``note`` saying why no figure exists; ``note`` may also
    qualify a figure (e.g. lines left out)."""

    db: float | None
    frequency_hz: float | None
    note: str | None = None

    @classmethod
    def missing(cls, note: str) -> LineLevel:
        return cls(None, None, note)

    def to_dict(self) -> dict[str, Any]:
        return {"db": self.db, "frequency_hz": self.frequency_hz, "note": self.note}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LineLevel:
        return cls(values["db"], values["frequency_hz"], values.get("note"))


@dataclass(frozen=True)
class ToneMeasures:
    """Result of :func:`tone_measures`; every field but the settings is a
    :class:`LineLevel`, explained in one sentence in :attr:`COLUMNS`."""

    sample_rate: float
    hop: int
    constant_level: float
    silence_dbfs: LineLevel
    constant_db_re_rms: LineLevel
    noise_db_above_floor: LineLevel
    noise_excess_db: LineLevel
    audio_db_above_floor: LineLevel
    audio_excess_db: LineLevel

    COLUMNS: ClassVar[dict[str, str]] = {
        "silence_dbfs": "On an all-zero input, the strongest line at k * fs / hop in dBFS "
                        "(0 dBFS: a sine of amplitude 1): how loud the whine is in silence.",
        "constant_db_re_rms": "On a constant input, the strongest line at k * fs / hop in dB "
                              "re the output's RMS: how far below the output level it is.",
        "noise_db_above_floor": "On white noise, the strongest line at k * fs / hop in dB above "
                                "the median of its neighbouring bins (how far it stands out).",
        "noise_excess_db": "On white noise, the largest line level above floor at the output "
                           "minus the same bin's level in the input: what the model adds.",
        "audio_db_above_floor": "On the audio clip, the strongest line at k * fs / hop in dB "
                                "above the median of its neighbouring bins.",
        "audio_excess_db": "On the audio clip, the largest line level above floor at the output "
                           "minus the same bin's level in the input: what the model adds.",
    }
    LINES: ClassVar[tuple[str, ...]] = tuple(COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sample_rate": self.sample_rate, "hop": self.hop,
                               "constant_level": self.constant_level}
        out.update({name: getattr(self, name).to_dict() for name in self.LINES})
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ToneMeasures:
        return cls(sample_rate=values["sample_rate"], hop=values["hop"],
                   constant_level=values["constant_level"],
                   **{name: LineLevel.from_dict(values[name]) for name in cls.LINES})


def line_frequencies(sample_rate: float, hop: int) -> list[float]:
    """``k * sample_rate / hop`` for ``k = 1 .. hop // 2`` (Hz)."""
    sample_rate = check_rate("sample_rate", sample_rate)
    hop = check_int("hop", hop)
    return [k * sample_rate / hop for k in range(1, hop // 2 + 1)]


def _periodic_part(y: np.ndarray, hop: int) -> np.ndarray:
    """The mean period ``(C, hop)`` of ``y`` ``(C, T)`` over its whole periods."""
    periods = y.shape[-1] // hop
    return y[:, : periods * hop].reshape(y.shape[0], periods, hop).mean(axis=1)


def periodic_line_powers(signal: np.ndarray, hop: int) -> np.ndarray:
    """Power of the lines ``k = 1 .. hop // 2`` of ``signal`` ``(C, T)`` (or ``(T,)``)
    from its mean period: ``2 |c_k|**2`` (``|c_k|**2`` at ``k = hop / 2``) with
    ``c_k`` the DFT of the mean period over ``hop``; mean over channels; a sine of
    amplitude ``A`` at ``k * fs / hop`` reads ``A**2 / 2``.

    Shape:
        ``(C, T) -> (hop // 2,)``, ``T >= hop``.
    """
    y = check_audio("signal", signal)
    hop = check_int("hop", hop)
    if y.shape[-1] < hop:
        raise InvalidValue(f"signal must hold at least one period of hop={hop} samples; "
                           f"received {y.shape[-1]} samples")
    c = np.fft.rfft(_periodic_part(y, hop), axis=-1) / hop  # (C, hop // 2 + 1)
    power = 2.0 * np.abs(c[:, 1:]) ** 2
    if hop % 2 == 0:
        power[:, -1] /= 2.0  # the Nyquist line is real: |c|**2 is its power
    return power.mean(axis=0)[: hop // 2]


def _strongest_periodic(y: np.ndarray, sample_rate: float, hop: int
                        ) -> tuple[float, float, str | None]:
    """``(power, frequency, note)`` of the strongest exact line of ``y``; ``note``
    is set (and power meaningless) when there is no figure to give."""
    total = float(np.mean(y * y))
    if total == 0.0:
        return 0.0, 0.0, ZERO_NOTE
    if hop < 2:
        return 0.0, 0.0, "hop 1: no line below fs / 2"
    power = periodic_line_powers(y, hop)
    k = int(np.argmax(power))
    if power[k] <= total * 10.0 ** (ROUNDING_DB / 10.0):
        return 0.0, 0.0, (f"no line above float rounding: all below {ROUNDING_DB:g} dB re "
                          "output power")
    return float(power[k]), (k + 1) * sample_rate / hop, None


def silence_line(output: np.ndarray, sample_rate: float, hop: int) -> LineLevel:
    """The strongest line of ``output`` ``(C, T)`` (a model's output on zeros) in dBFS:
    ``10 log10(P / 0.5)`` with ``P`` its power (:func:`periodic_line_powers`)."""
    y = check_audio("output", output)
    power, frequency, note = _strongest_periodic(y, check_rate("sample_rate", sample_rate), hop)
    if note is not None:
        return LineLevel.missing(note)
    return LineLevel(float(db(power / FULL_SCALE_POWER)), frequency)


def constant_line(output: np.ndarray, sample_rate: float, hop: int) -> LineLevel:
    """The strongest line of ``output`` ``(C, T)`` (a model's output on a constant)
    in dB re the output's total power (mean square over samples and channels)."""
    y = check_audio("output", output)
    power, frequency, note = _strongest_periodic(y, check_rate("sample_rate", sample_rate), hop)
    if note is not None:
        return LineLevel.missing(note)
    return LineLevel(float(db(power / float(np.mean(y * y)))), frequency)


def line_spectrum_levels(spec: Spectrum, frequencies: list[float]) -> np.ndarray:
    """Level (dB) of every line over its local floor; NaN where the floor is not
    real (at most :data:`ROUNDING_DB` re the mean power per bin)."""
    bins = [int(round(f / spec.bin_width)) for f in frequencies]
    power = spec.power
    excluded = np.zeros(len(power), dtype=bool)
    excluded[: GUARD_BINS + 1] = True
    for b in bins:
        excluded[max(0, b - GUARD_BINS): b + GUARD_BINS + 1] = True
    spacing = bins[0]
    half_width = min(FLOOR_HALF_WIDTH, spacing // 2)
    rounding = spec.total_power / len(power) * 10.0 ** (ROUNDING_DB / 10.0)
    levels = np.full(len(bins), np.nan)
    for i, b in enumerate(bins):
        floor = local_floor(power, b, half_width=half_width, excluded=excluded)
        if math.isfinite(floor) and floor > rounding:
            levels[i] = float(db(max(power[b], 1e-300) / floor))
    return levels


def no_floor_note(y: np.ndarray, hop: int) -> str | None:
    """Why ``y`` ``(C, T)`` has no real floor at all, else ``None``."""
    total = float(np.mean(y * y))
    if total == 0.0:
        return ZERO_NOTE
    periods = y.shape[-1] // hop
    residual = y[:, : periods * hop] - np.tile(_periodic_part(y, hop), periods)
    if float(np.mean(residual * residual)) <= total * 10.0 ** (ROUNDING_DB / 10.0):
        return (f"exactly periodic with period hop={hop}, it ignores its input: its floor "
                "would be rounding noise")
    return None


def _best(levels: np.ndarray, frequencies: list[float], what: str) -> LineLevel:
    """The largest finite entry of ``levels``, with a note on the lines left out."""
    ok = np.isfinite(levels)
    if not np.any(ok):
        return LineLevel.missing(f"no line has a real floor in the {what}: every floor is "
                                 f"below {ROUNDING_DB:g} dB re the mean power per bin")
    k = int(np.nanargmax(levels))
    left_out = int(np.sum(~ok))
    note = (None if not left_out else
            f"{left_out} of {len(levels)} lines left out: no real floor in the {what}")
    return LineLevel(float(levels[k]), frequencies[k], note)


def lines_above_floor(output: np.ndarray, sample_rate: float, hop: int, *,
                      reference: np.ndarray | None = None, min_segments: int = MIN_SEGMENTS,
                      max_nperseg: int = 2**16) -> tuple[LineLevel, LineLevel]:
    """Strongest line of ``output`` in dB above its local floor, and the largest
    excess over ``reference`` (see the module docstring).

    Args:
        output: ``(C_out, T)`` at ``sample_rate``.
        reference: the input ``(C_in, T / R)`` that gave ``output`` (aligned, same
            span), zero-stuffed by the integer ``R`` here (its first
            :data:`MAX_REFERENCE_CHANNELS` channels); ``None``: no excess.

    Returns:
        ``(above_floor, excess)``, two :class:`LineLevel`; ``excess`` has no
        figure without ``reference``.
    """
    y = check_audio("output", output)
    sample_rate = check_rate("sample_rate", sample_rate)
    hop = check_int("hop", hop)
    frequencies = line_frequencies(sample_rate, hop)
    note = no_floor_note(y, hop) if hop >= 2 else "hop 1: no line below fs / 2"
    needed = (min_segments + 1) * MIN_SPACING_BINS * hop // 2
    if note is None and y.shape[-1] < needed:
        note = (f"too short to resolve lines {sample_rate / hop:g} Hz apart: needs {needed} "
                f"samples ({needed / sample_rate:.2f} s), received {y.shape[-1]}")
    if note is not None:
        return LineLevel.missing(note), LineLevel.missing(note)
    nperseg = choose_nperseg(y.shape[-1], multiple_of=hop, min_segments=min_segments,
                             max_nperseg=max(max_nperseg, MIN_SPACING_BINS * hop))
    out_levels = line_spectrum_levels(welch_spectrum(y, sample_rate, nperseg=nperseg),
                                       frequencies)
    above = _best(out_levels, frequencies, "output")
    if reference is None:
        return above, LineLevel.missing("no input to compare with")
    x = _zero_stuffed(check_audio("reference", reference)[:MAX_REFERENCE_CHANNELS], y.shape[-1])
    input_note = no_floor_note(x, hop)
    if input_note is not None:
        return above, LineLevel.missing(f"input {input_note}")
    in_levels = line_spectrum_levels(welch_spectrum(x, sample_rate, nperseg=nperseg),
                                      frequencies)
    return above, _best(out_levels - in_levels, frequencies, "output or the input")


def _zero_stuffed(x: np.ndarray, length: int) -> np.ndarray:
    """``x`` ``(C, T)`` zero-stuffed to ``length = R * T`` samples (``R`` an integer)."""
    ratio = length // x.shape[-1]
    if ratio * x.shape[-1] != length:
        raise InvalidValue(f"the output length {length} must be an integer multiple of the "
                           f"input length {x.shape[-1]}")
    out = np.zeros((x.shape[0], length))
    out[:, ::ratio] = x
    return out


def _run(module: Any, x: np.ndarray) -> np.ndarray:
    """``module`` on ``x`` ``(C_in, T)`` (one batch item, no gradient, in eval
    mode, on the module's device), as float64 ``(C_out, T_out)``."""
    import torch

    first = next(iter(module.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            y = module(torch.as_tensor(x, dtype=dtype, device=device)[None])
    finally:
        module.train(training)
    if not isinstance(y, torch.Tensor) or y.dim() != 3:
        raise InvalidValue("the module must return a tensor of shape (1, C, T); received "
                           f"{getattr(y, 'shape', type(y).__name__)}")
    return check_audio("module output", y[0].detach().cpu().double().numpy())


def tone_measures(module: Any, sample_rate: float, hop: int, *, clip: Any = None,
                  clip_runner: Callable[[Any], Any] | None = None,
                  seconds: float = DEFAULT_SECONDS, level: float = 1.0, seed: int = 0,
                  in_channels: int | None = None) -> ToneMeasures:
    """Measure the lines at ``k * sample_rate / hop`` that ``module`` leaves.

    Args:
        module: a ``torch.nn.Module`` mapping ``(1, C_in, T)`` to ``(1, C_out, T * R)``
            (an upsampler, a decoder, a whole model with ``R = 1``).
        sample_rate: its output rate (Hz).
        hop: the period of its lines in output samples (its total upsampling factor).
        clip: audio ``(C, T)`` at the input rate for the audio measures; ``None``:
            not measured.
        clip_runner: maps ``clip`` to the output ``(..., C', T * R)`` (leading
            dimensions, e.g. a separator's sources, become channels); default:
            ``module`` on ``clip``.
        seconds: output seconds of the silence, constant and noise probes (after
            ``8 + 2 %`` input samples are dropped at each end).
        level: the constant input's value.
        in_channels: ``C_in``; default: guessed from the layers the input reaches and
            run (:func:`~upsamplers.analysis.channels.settle_in_channels`, as ``audit``).

    Returns:
        a :class:`ToneMeasures`.
    """
    fs = check_rate("sample_rate", sample_rate)
    hop = check_int("hop", hop)
    seconds = check_duration("seconds", seconds, fs)
    level = check_positive_float("level", level)
    given = None if in_channels is None else check_int("in_channels", in_channels)
    probe = hop * -(-256 // hop)  # a short probe, a multiple of hop, for the length ratio
    # the input channels as audit settles them (a given count wins; a guess is run),
    # and the length ratio from the same dry run
    channels, dry = settle_in_channels(
        module, given, lambda c: _run(module, np.zeros((c, probe), np.float32)))
    ratio = dry.shape[-1] // probe
    if ratio < 1:
        raise InvalidValue(f"the module must keep or raise the rate; {probe} samples in gave "
                           "fewer out")
    # what the probes allocate: input and output, each bounded (a latent decoder's
    # input is few samples of many channels)
    check_probe_seconds("seconds", seconds, input_rate=fs / ratio, in_channels=channels,
                        output_rate=fs, out_channels=dry.shape[0])
    n_in = math.ceil(seconds * fs / ratio)
    margin = 8 + math.ceil(0.02 * n_in)
    length = -(-(n_in + 2 * margin) // hop) * hop

    def cut(y: np.ndarray) -> np.ndarray:
        return y[:, margin * ratio: y.shape[-1] - margin * ratio]

    silence = silence_line(cut(_run(module, np.zeros((channels, length), np.float32))), fs, hop)
    constant = constant_line(cut(_run(module, np.full((channels, length), level, np.float32))),
                             fs, hop)
    noise = np.random.default_rng(seed).standard_normal((channels, length)).astype(np.float32)
    noise_lines = lines_above_floor(cut(_run(module, noise)), fs, hop,
                                    reference=noise[:, margin: length - margin])
    audio_lines = (LineLevel.missing("no clip given"),) * 2
    if clip is not None:
        audio_lines = _clip_lines(module, clip, clip_runner, fs, hop)
    return ToneMeasures(fs, hop, level, silence, constant, *noise_lines, *audio_lines)


def _clip_lines(module: Any, clip: Any, clip_runner: Callable[[Any], Any] | None,
                sample_rate: float, hop: int) -> tuple[LineLevel, LineLevel]:
    """:func:`lines_above_floor` of the output on ``clip`` ``(C, T)``, re the clip."""
    import torch

    x = torch.as_tensor(clip, dtype=torch.float32)
    check_audio("clip", x.numpy())
    if clip_runner is None:
        y = _run(module, x.numpy())
    else:
        with torch.no_grad():
            out = clip_runner(x)
        y = np.asarray(torch.as_tensor(out).detach().cpu().double().numpy())
        y = check_audio("clip output", y.reshape(-1, y.shape[-1]))
    return lines_above_floor(y, sample_rate, hop, reference=x.double().numpy())
