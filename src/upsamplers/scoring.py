"""Scores of a model on whole validation signals: the one place where SI-SDR and
SDR of a trained model are computed (``evaluate`` and ``compare`` use it).

Every signal goes through :meth:`ReferenceModel.process_long` (chunks of the
model's ``length``, a quarter overlap, cross-faded) and is scored with
:mod:`upsamplers.metrics` (whole-signal, float64):

* a model that does not separate is scored against its input;
* a signal with several channels through a mono model is processed (and
  scored) one channel at a time;
* a separator is scored per source against the stems; its track score is the
  mean over sources and channels.

Means leave out non-finite scores (a silent reference has none). The mean of a
separator is the mean over sources of the per-source means over tracks; that of
any other model the mean over tracks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .health import OutputLevel, pooled_level, signal_level
from .metrics import sdr, si_sdr

METRICS = ("si_sdr", "sdr")

# a validation signal: (name, input (C, T), sources (S, C, T); for a plain audio
# file the sources are the input itself, (1, C, T))
Signal = tuple[str, torch.Tensor, torch.Tensor]


def finite_mean(values: Iterable[float | None]) -> float | None:
    """Mean of the finite values; ``None`` when there are none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


@dataclass
class TrackScore:
    """Scores of one validation signal, in dB.

    ``si_sdr``/``sdr``: the mean over channels (and sources, for a separator);
    ``sources``: per source name, ``{"si_sdr": ..., "sdr": ...}`` (means over
    channels), for a separator only; ``seconds``: time spent processing it;
    ``level``: sums of squares of the output and of the target, their sample
    count and whether the output is all finite (:func:`upsamplers.health.signal_level`).
    """

    track: str
    si_sdr: float
    sdr: float
    sources: dict[str, dict[str, float]] | None = None
    seconds: float = 0.0
    audio_seconds: float = 0.0
    level: tuple[float, float, int, bool] | None = None


@dataclass
class Scores:
    """Scores of a model on a set of validation signals.

    ``mean``: ``{"si_sdr": dB or None, "sdr": ...}`` (see the module docstring);
    ``per_source``: per source, the means over tracks (separators only);
    ``inference_seconds`` / ``audio_seconds``: processing time and audio duration,
    summed over tracks.
    """

    tracks: list[TrackScore]
    mean: dict[str, float | None]
    per_source: dict[str, dict[str, float | None]] | None = None
    inference_seconds: float = 0.0
    audio_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio."""
        return self.inference_seconds / self.audio_seconds

    def track_mean(self, metric: str) -> float | None:
        """Mean over tracks of the track scores ``metric`` (equal to ``mean`` up to
        rounding, except for a separator with a non-finite per-source score)."""
        return finite_mean(getattr(t, metric) for t in self.tracks)

    def output_level(self) -> OutputLevel:
        """The output's RMS against the target's, pooled over every track
        (:class:`upsamplers.health.OutputLevel`)."""
        return pooled_level(t.level for t in self.tracks if t.level is not None)


def _sync(device: torch.device | str | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def score_signal(model: Any, signal: Signal, *, device: torch.device | str | None = None
                 ) -> TrackScore:
    """Score ``model`` (a :class:`~upsamplers.models.ReferenceModel`) on one
    validation ``signal`` ``(name, input (C, T), sources (S, C, T))``; a signal with
    more channels than a mono model takes goes through it one channel at a time."""
    name, mixture, sources = signal
    fold = model.audio_channels == 1 and mixture.shape[0] > 1
    _sync(device)
    start = time.perf_counter()
    estimate = model.process_long(mixture, device=device, fold_channels=fold)  # (*S, C, T)
    _sync(device)
    seconds = time.perf_counter() - start
    target = sources if model.separates else mixture
    si, sd = si_sdr(estimate, target), sdr(estimate, target)
    per_source = None
    if model.separates:
        per_source = {source: {"si_sdr": float(si[i].mean()), "sdr": float(sd[i].mean())}
                      for i, source in enumerate(model.source_names)}
    return TrackScore(name, float(np.mean(si)), float(np.mean(sd)), per_source, seconds,
                      mixture.shape[-1] / model.sample_rate, signal_level(estimate, target))


def score_model(model: Any, signals: Iterable[Signal], *,
                device: torch.device | str | None = None) -> Scores:
    """Score ``model`` on every validation signal of ``signals`` (see the module
    docstring); ``device`` is where the model runs."""
    tracks = [score_signal(model, signal, device=device) for signal in signals]
    per_source = None
    if model.separates:
        per_source = {s: {m: finite_mean(t.sources[s][m] for t in tracks if t.sources)
                          for m in METRICS} for s in model.source_names}
        mean = {m: finite_mean(v[m] for v in per_source.values()) for m in METRICS}
    else:
        mean = {m: finite_mean(getattr(t, m) for t in tracks) for m in METRICS}
    return Scores(tracks, mean, per_source,
                  inference_seconds=sum(t.seconds for t in tracks),
                  audio_seconds=sum(t.audio_seconds for t in tracks))


def validation_signals(dataset: Any, count: int | None = None) -> Iterable[Signal]:
    """The whole signals of a data set of :mod:`upsamplers.data` (its first
    ``count``; default all): ``(name, input (C, T), sources (S, C, T))``."""
    total = len(dataset.clips) if count is None else min(count, len(dataset.clips))
    return (dataset.track(index) for index in range(total))


def primary_metric(model: Any) -> str:
    """The name of ``model``'s primary metric (higher is better, dB): the first of
    its ``metrics``, ``"si_sdr"`` for a model that declares none."""
    return str(getattr(model, "metrics", ("si_sdr",))[0])


def primary_score(model: Any, signals: Iterable[Signal], device: torch.device | str | None = None
                  ) -> float | None:
    """``model``'s primary metric (:func:`primary_metric`) on ``signals``: the mean
    over tracks of its finite track scores (:meth:`Scores.track_mean`), in dB;
    ``None`` when no track has a finite score (e.g. an all-zero output)."""
    value = score_model(model, signals, device=device).track_mean(primary_metric(model))
    return value if value is not None and math.isfinite(value) else None
