"""Scores of a model on whole validation signals: the one place where the scores
of a trained model are computed (``evaluate`` and ``compare`` use it).

A model declares what it is scored with, ``model.metrics`` (names of
:data:`METRIC_INFO`; the first is its primary metric, :func:`primary_metric`):
SI-SDR and SDR by default, SNR and log-spectral distance for bandwidth
extension, spectral SNR and log-spectral distance for a vocoder. Every signal
is turned into ``(input, target)`` by
:meth:`ReferenceModel.scoring_pair`, the input goes through
:meth:`ReferenceModel.process_long` (exact chunking where the model allows,
else cross-faded chunks) and the output is scored with
:mod:`upsamplers.metrics` (whole-signal, float64):

* a model that does not separate is scored against its input (a bandwidth
  extension model: against the full-rate signal whose degraded version it was
  given);
* a signal with several channels through a mono model is processed (and
  scored) one channel at a time;
* a separator is scored per source against the stems; its track score is the
  mean over sources and channels.

A track is scored at any length down to what its metrics need
(:func:`min_track_samples`: 256 samples at the model's rate). A track that gives
no figure to average is skipped with one
:class:`~upsamplers.data.SkippedFileWarning` line naming it and why
(:class:`UnscorableTrack`), and the means are over the scored tracks only: a
shorter one (a one-sample track reads +inf dB of SI-SDR and 100 dB of SDR, the
ceiling of its diagonal loading: figures of nothing), one whose reference is
silent (every metric is undefined against it). Both are properties of the
data, the same for every model.

A figure that the *output* makes infinite or undefined (an output equal to the
reference reads +inf; a silent one, or one holding nothing of the reference,
-inf or NaN) is the model's result, not the data's: the track stays scored (its
output level counts for :mod:`upsamplers.health`, which fails a silent model),
the figure is written as ``null``, and it is left out of its mean with one
:class:`NonFiniteScoreWarning` line naming the track, the figure and why
(:attr:`Scores.left_out`). No infinity, NaN or ceiling enters a mean.

A silent channel of a track (a separator's silent stem) has no figure and is
left out of the track's mean over channels (and of its source's mean). The mean
of a separator is the mean over sources of the per-source means over tracks;
that of any other model the mean over tracks.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from ._checks import InvalidValue
from .data import SkippedFileWarning
from .health import OutputLevel, pooled_level, signal_level
from .metrics import SILENCE, lsd, sdr, si_sdr, snr, spectral_snr


class MetricInfo(NamedTuple):
    """What a metric's figure means: its ``label`` in reports, ``unit``,
    ``higher_is_better`` and a one-sentence ``description``."""

    label: str
    unit: str
    higher_is_better: bool
    description: str


#: every metric a model may declare in ``metrics``
METRIC_INFO: dict[str, MetricInfo] = {
    "si_sdr": MetricInfo("SI-SDR", "dB", True,
                         "Scale-invariant signal-to-distortion ratio: the target's power over "
                         "the error's after the best scaling of the target."),
    "sdr": MetricInfo("SDR", "dB", True,
                      "BSS-eval signal-to-distortion ratio: the error left after the best "
                      "512-tap filter of the target, relative to that filtered target."),
    "snr": MetricInfo("SNR", "dB", True,
                      "Signal-to-noise ratio: the target's power over the power of the "
                      "difference between output and target (no scaling allowed)."),
    "lsd": MetricInfo("LSD", "log10 power", False,
                      "Log-spectral distance: RMS over frequency of the difference of the "
                      "log10 power spectra (1 = 10 dB), averaged over 2048-point STFT "
                      "frames."),
    "spectral_snr": MetricInfo(
        "spectral SNR", "dB", True,
        "SNR of the STFT magnitudes (-20 log10 of the spectral convergence), mean over 512-, "
        "1024- and 2048-point Hann STFTs: blind to phase, which a vocoder cannot recover "
        "from a mel spectrogram."),
    "lsd_high": MetricInfo("LSD high", "log10 power", False,
                           "Log-spectral distance over the band the input lacks, from its "
                           "Nyquist frequency (sample_rate / (2 * rate_ratio)) up."),
}

#: the metrics of a model that does not declare its own
METRICS = ("si_sdr", "sdr")

#: the fewest target samples (at the model's rate) a track needs for each metric to
#: be a figure of the track rather than of a handful of samples: with one sample
#: SI-SDR's projection is exact (+inf dB), and below a few hundred the 512-tap SDR
#: filter has about as many taps as samples and the STFT metrics read one zero-padded
#: frame. 256 samples (16 ms at 16 kHz) for every metric, so that all the metrics of
#: a model are means over the same tracks.
MIN_SAMPLES = {"si_sdr": 256, "sdr": 256, "snr": 256, "lsd": 256, "lsd_high": 256,
               "spectral_snr": 256}


def min_track_samples(model: Any) -> int:
    """The fewest target samples a track needs to be scored: the most any metric of
    ``model.metrics`` needs (:data:`MIN_SAMPLES`), so that all its metrics are means
    over the same tracks whatever subset is asked for."""
    return max(MIN_SAMPLES[m] for m in getattr(model, "metrics", METRICS))


class UnscorableTrack(InvalidValue):
    """A track that gives no figure to average whatever the model: it is too short,
    or its reference is silent. :func:`score_model` skips it with one warning line
    naming it and why."""


class NonFiniteScoreWarning(UserWarning):
    """A figure of a scored track is infinite or undefined because of the output
    (equal to the reference, or silent): it is left out of its mean; the message
    names the track, the figure and why."""


class ShortTrackError(UnscorableTrack):
    """A track holds fewer samples than its metrics need (:func:`min_track_samples`)."""


def _silent(target: torch.Tensor) -> np.ndarray:
    """Per signal of ``target`` ``(..., T)``: whether it is silent (no metric is
    defined against it; :data:`upsamplers.metrics.SILENCE`)."""
    return (target.double() ** 2).sum(-1).cpu().numpy() <= SILENCE


def _not_finite(name: str, values: dict[str, np.ndarray], silent: np.ndarray,
                whose: str) -> list[str]:
    """One line per metric whose figure against an audible reference is not finite
    (the output's doing): it is left out of the mean, never averaged as a made-up
    figure (an infinity, or a ceiling)."""
    lines = []
    for metric, v in values.items():
        bad = ~np.isfinite(v) & ~silent
        if bad.any():
            value = float(v[bad][0])
            why = ("the output equals the reference exactly" if value == math.inf
                   else "the output is silent or holds nothing of the reference")
            label = METRIC_INFO[metric].label
            lines.append(f"{name}: {whose}{label} is {value} ({why}): left out of the "
                         f"mean {label}")
    return lines


def _mean(v: np.ndarray, silent: np.ndarray) -> float | None:
    """The mean of ``v`` over the signals whose reference is audible (``None`` if
    none; not finite if one of them is not)."""
    kept = v[~silent]
    if not kept.size:
        return None
    with np.errstate(invalid="ignore"):  # inf and -inf give nan: still not finite
        return float(np.mean(kept))


def primary_metric(model: Any) -> str:
    """The metric ``model`` is trained and ranked by: the first of its ``metrics``."""
    return tuple(getattr(model, "metrics", METRICS))[0]


def metric_values(model: Any, metric: str, estimate: Any, target: Any) -> np.ndarray:
    """``metric`` (a name of :data:`METRIC_INFO`) of ``estimate`` against ``target``
    ``(..., T)`` at ``model``'s rate, per signal: shape ``(...)``."""
    if metric == "si_sdr":
        return si_sdr(estimate, target)
    if metric == "sdr":
        return sdr(estimate, target)
    if metric == "snr":
        return snr(estimate, target)
    if metric == "spectral_snr":
        return spectral_snr(estimate, target)
    rate = float(model.sample_rate)
    if metric == "lsd":
        return lsd(estimate, target, sample_rate=rate)
    if metric == "lsd_high":
        return lsd(estimate, target, sample_rate=rate,
                   band=(rate / (2 * getattr(model, "rate_ratio", 1)), rate / 2))
    raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRIC_INFO)}")


# a validation signal: (name, input (C, T), sources (S, C, T); for a plain audio
# file the sources are the input itself, (1, C, T))
Signal = tuple[str, torch.Tensor, torch.Tensor]


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float if it is finite, else ``None`` (JSON has no infinity or
    NaN; the report says why a figure is missing)."""
    return None if value is None or not math.isfinite(value) else float(value)


def finite_mean(values: Iterable[float | None]) -> float | None:
    """Mean of the finite values; ``None`` when there are none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


@dataclass
class TrackScore:
    """Scores of one validation signal.

    ``values``: per metric of the model (its ``metrics``), the mean over channels
    (and sources, for a separator), in the metric's unit (:data:`METRIC_INFO`);
    ``sources``: per source name, ``{metric: ...}`` (means over channels), for a
    separator only; ``seconds``: time spent processing it; ``level``: sums of
    squares of the output and of the target, their sample count and whether the
    output is all finite (:func:`upsamplers.health.signal_level`).
    ``si_sdr`` / ``sdr``: those values (``nan`` for a model not scored with them).
    """

    track: str
    values: dict[str, float] = field(default_factory=dict)
    sources: dict[str, dict[str, float | None]] | None = None
    seconds: float = 0.0
    audio_seconds: float = 0.0
    level: tuple[float, float, int, bool] | None = None
    not_finite: list[str] = field(default_factory=list)

    @property
    def si_sdr(self) -> float:
        return self.values.get("si_sdr", math.nan)

    @property
    def sdr(self) -> float:
        return self.values.get("sdr", math.nan)

    def finite_values(self) -> dict[str, float | None]:
        """``values`` with every figure that is not finite as ``None`` (for JSON;
        ``not_finite`` says why)."""
        return {m: finite_or_none(v) for m, v in self.values.items()}


@dataclass
class Scores:
    """Scores of a model on a set of validation signals.

    ``metrics``: the model's metrics, primary first; ``mean``: per metric, the
    mean (``None`` when no figure is finite; see the module docstring);
    ``per_source``: per source, the means over tracks (separators only);
    ``inference_seconds`` / ``audio_seconds``: processing time and audio duration,
    summed over tracks; ``skipped``: one line per track that gives no figure
    (too short, silent reference); ``left_out``: one line per figure of a scored
    track left out of its mean because the output made it infinite or undefined.
    """

    tracks: list[TrackScore]
    mean: dict[str, float | None]
    per_source: dict[str, dict[str, float | None]] | None = None
    metrics: tuple[str, ...] = METRICS
    inference_seconds: float = 0.0
    audio_seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio (``nan`` when no track was scored)."""
        return self.inference_seconds / self.audio_seconds if self.audio_seconds else math.nan

    def track_mean(self, metric: str) -> float | None:
        """Mean over tracks of the track scores ``metric`` (equal to ``mean`` up to
        rounding, except for a separator with a non-finite per-source score)."""
        return finite_mean(t.values.get(metric) for t in self.tracks)

    def output_level(self) -> OutputLevel:
        """The output's RMS against the target's, pooled over every track
        (:class:`upsamplers.health.OutputLevel`)."""
        return pooled_level(t.level for t in self.tracks if t.level is not None)


def _sync(device: torch.device | str | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def score_signal(model: Any, signal: Signal, *, device: torch.device | str | None = None,
                 metrics: Sequence[str] | None = None, baseline: bool = False) -> TrackScore:
    """Score ``model`` (a :class:`~upsamplers.models.ReferenceModel`) on one
    validation ``signal`` ``(name, audio (C, T), sources (S, C, T))`` with
    ``metrics`` (default: the model's ``metrics``): the model's
    :meth:`scoring_pair` gives its input and the target; an input with more
    channels than a mono model takes goes through it one channel at a time; the
    output is cropped to the target's length. :class:`ShortTrackError` when the
    target holds fewer samples than :func:`min_track_samples`. ``baseline``: score
    the model's non-learned answer
    (:meth:`~upsamplers.models.ReferenceModel.baseline`) to the same input instead
    of the model."""
    name, audio, sources = signal
    inputs, target = model.scoring_pair(audio, sources)
    need = min_track_samples(model)
    if target.shape[-1] < need:
        raise ShortTrackError(f"{name}: {target.shape[-1]} samples at {model.sample_rate} Hz "
                              f"is shorter than the {need} its metrics need; not scored")
    silent = _silent(target)
    if silent.all():
        raise UnscorableTrack(f"{name}: its reference is silent (every sample 0 at "
                              f"{model.sample_rate} Hz), against which no metric is defined; "
                              "not scored")
    fold = model.audio_channels == 1 and inputs.shape[0] > 1
    _sync(device)
    start = time.perf_counter()
    if baseline:
        estimate = model.baseline(inputs)  # (*S, C, T), on the CPU
    else:
        estimate = model.process_long(inputs, device=device, fold_channels=fold)
    _sync(device)
    seconds = time.perf_counter() - start
    estimate = estimate[..., :target.shape[-1]]
    values = {m: metric_values(model, m, estimate, target)
              for m in (model.metrics if metrics is None else metrics)}
    not_finite = _not_finite(name, values, silent, "the baseline's " if baseline else "")
    # a silent channel (or a separator's silent stem) has no figure: left out
    per_source = None
    if model.separates:
        per_source = {source: {m: _mean(v[i], silent[i]) for m, v in values.items()}
                      for i, source in enumerate(model.source_names)}
    return TrackScore(name, {m: _mean(v, silent) for m, v in values.items()}, per_source,
                      seconds, audio.shape[-1] / model.sample_rate,
                      signal_level(estimate, target), not_finite)


def score_model(model: Any, signals: Iterable[Signal], *,
                device: torch.device | str | None = None,
                metrics: Sequence[str] | None = None, baseline: bool = False) -> Scores:
    """Score ``model`` on every validation signal of ``signals`` (see the module
    docstring) with ``metrics`` (default: the model's); ``device`` is where the
    model runs. ``baseline``: score the model's non-learned answer instead
    (:func:`score_baseline`)."""
    metrics = tuple(model.metrics if metrics is None else metrics)
    tracks, skipped = [], []
    for signal in signals:
        try:
            tracks.append(score_signal(model, signal, device=device, metrics=metrics,
                                       baseline=baseline))
        except UnscorableTrack as error:
            skipped.append(f"skipping {error}")
            warnings.warn(skipped[-1], SkippedFileWarning, stacklevel=2)
            continue
        for line in tracks[-1].not_finite:
            warnings.warn(line, NonFiniteScoreWarning, stacklevel=2)
    per_source = None
    if model.separates:
        per_source = {s: {m: finite_mean(t.sources[s][m] for t in tracks if t.sources)
                          for m in metrics} for s in model.source_names}
        mean = {m: finite_mean(v[m] for v in per_source.values()) for m in metrics}
    else:
        mean = {m: finite_mean(t.values.get(m) for t in tracks) for m in metrics}
    return Scores(tracks, mean, per_source, metrics,
                  inference_seconds=sum(t.seconds for t in tracks),
                  audio_seconds=sum(t.audio_seconds for t in tracks), skipped=skipped,
                  left_out=[line for t in tracks for line in t.not_finite])


def score_baseline(model: Any, signals: Iterable[Signal], *,
                   metrics: Sequence[str] | None = None) -> Scores:
    """The scores of ``model``'s baseline, the simplest non-learned answer to its
    task (:meth:`~upsamplers.models.ReferenceModel.baseline`: the mixture for a
    separator, the sinc-resampled input for bandwidth extension, Griffin-Lim for a
    vocoder), on the same ``signals`` and by the same scorer as the model."""
    return score_model(model, signals, metrics=metrics, baseline=True)


def improvement(metric: str, value: float | None, baseline: float | None) -> float | None:
    """How much better ``value`` is than the ``baseline``'s, in ``metric``'s unit:
    ``value - baseline`` for a metric where higher is better, ``baseline - value``
    otherwise (so a positive improvement is always better); ``None`` when
    either is missing or not finite."""
    if value is None or baseline is None or not (math.isfinite(value)
                                                 and math.isfinite(baseline)):
        return None
    gain = value - baseline
    return float(gain if METRIC_INFO[metric].higher_is_better else -gain)


def improvement_label(metric: str) -> str:
    """The name of ``metric``'s improvement over the baseline: SI-SDRi, SNRi, ...
    for a metric in dB, else "<label> improvement"."""
    info = METRIC_INFO[metric]
    return f"{info.label}i" if info.unit == "dB" else f"{info.label} improvement"


def validation_signals(dataset: Any, count: int | None = None) -> Iterable[Signal]:
    """The whole signals of a data set of :mod:`upsamplers.data` (its first
    ``count``; default all): ``(name, input (C, T), sources (S, C, T))``."""
    total = len(dataset.clips) if count is None else min(count, len(dataset.clips))
    return (dataset.track(index) for index in range(total))


def primary_score(model: Any, signals: Iterable[Signal], device: torch.device | str | None = None
                  ) -> float | None:
    """``model``'s primary metric (:func:`primary_metric`) on ``signals``: the mean
    over tracks of its finite track scores (:meth:`Scores.track_mean`), in dB;
    ``None`` when no track has a finite score (e.g. an all-zero output). Only that
    metric is computed (an evaluation during training costs what it must). Its
    skipped tracks and left-out figures are not warned about: a model whose output
    is silent would repeat one line per track at every evaluation; its evaluation
    reads ``None``, as the training log records."""
    primary = primary_metric(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFileWarning)
        warnings.simplefilter("ignore", NonFiniteScoreWarning)
        scores = score_model(model, signals, device=device, metrics=(primary,))
    return finite_or_none(scores.track_mean(primary))
