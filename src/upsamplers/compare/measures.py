"""What is measured on one model (a :class:`~upsamplers.models.ReferenceModel`):
the artifact audit of its upsampling part, its validation scores and inference
speed (:mod:`upsamplers.scoring`), and its outputs on a clip and on silence."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from ..analysis import ArtifactReport, audit
from ..health import failure_cause
from ..models import ReferenceModel
from ..scoring import Signal, score_model
from .results import AuditSummary, WorstTone

AUDIT_PROBES = ("silence", "ones", "noise")


def worst_tone(report: ArtifactReport) -> dict[str, Any] | None:
    """The strongest measured tone of an audit over its probes: level (dB above its
    local floor), frequency (Hz) and probe; ``None`` when no level is finite (e.g.
    an output that is exactly zero)."""
    tone = _worst_tone(report)
    return None if tone is None else asdict(tone)


def _worst_tone(report: ArtifactReport) -> WorstTone | None:
    best = None
    for probe, result in report.probes.items():
        for tone in result.tones.tones:
            if math.isfinite(tone.level_db) and (best is None or tone.level_db > best[0]):
                best = (tone.level_db, tone, probe)
    if best is None:
        return None
    level, tone, probe = best
    return WorstTone(level_db=float(level), frequency_hz=float(tone.frequency), probe=probe,
                     found=bool(tone.found), relative_db=float(tone.relative_db))


def summarize_audit(model: ReferenceModel, seconds: float) -> AuditSummary:
    """Audit of ``model.upsampling_part()`` on silence, ones and noise of
    ``seconds`` of output: the worst tone, the filtering at 0.9 of the input
    Nyquist, the verdicts and the full audit."""
    report = audit(model.upsampling_part(), float(model.sample_rate), inputs=AUDIT_PROBES,
                   seconds=seconds)
    attenuation = None
    f = report.filtering
    # read only when the bins resolve the reference band (0, 0.2] of the input Nyquist
    # from 0.9 of it: at least two bins in that band (else the audit falls back on the
    # whole band and reads 0 dB everywhere; give more audit seconds)
    if f is not None and f.curve.bin_width <= 0.1 * report.input_rate / 2:
        attenuation = f.attenuation_db[f.fractions.index(0.9)]
    return AuditSummary(worst_tone=_worst_tone(report), attenuation_09_db=attenuation,
                        verdicts={k: v.status for k, v in report.verdicts.items()},
                        audit=report.to_dict())


def audit_summary(model: ReferenceModel, seconds: float) -> dict[str, Any]:
    """:func:`summarize_audit` as a JSON-ready dictionary."""
    return summarize_audit(model, seconds).to_dict()


def model_metrics(model: ReferenceModel) -> tuple[str, ...]:
    """The metrics ``model`` is scored with, its primary (ranking, learning-curve)
    metric first."""
    return tuple(model.metrics)


def score(model: ReferenceModel, signals: list[Signal], device: torch.device) -> dict[str, Any]:
    """Validation means of the model's metrics (``metrics``; ``metric``: the
    primary), over tracks (and sources for a separator), the inference real-time
    factor (processing seconds / audio seconds) and the output's level re the
    target's (``output_level``, an :class:`upsamplers.health.OutputLevel`), by
    :func:`upsamplers.scoring.score_model`."""
    scores = score_model(model, signals, device=device)
    names = model_metrics(model)
    return {"metric": names[0], "metrics": {m: scores.track_mean(m) for m in names},
            "tracks": [{"track": t.track, **{m: _track_value(t, m) for m in names}}
                       for t in scores.tracks],
            "inference_seconds": scores.inference_seconds,
            "audio_seconds": scores.audio_seconds, "real_time_factor": scores.real_time_factor,
            "output_level": scores.output_level()}


def _track_value(track: Any, metric: str) -> float | None:
    values = getattr(track, "values", None)
    value = values.get(metric) if isinstance(values, dict) else getattr(track, metric, None)
    return None if value is None or not math.isfinite(value) else float(value)


def model_input(model: ReferenceModel, audio: torch.Tensor) -> torch.Tensor:
    """What ``model`` takes for the audio ``(C, T)``: the input of its
    :meth:`~upsamplers.models.ReferenceModel.scoring_pair` (the audio itself, or
    for bandwidth extension the degraded audio)."""
    return model.scoring_pair(audio, audio[None])[0]


def why_failed(model: ReferenceModel, signals: list[Signal], failure: str,
               device: torch.device) -> dict[str, Any]:
    """The cause of a failed variant: ``failure`` (why its output failed, a
    sentence) and what the model shows on the validation inputs
    (:func:`upsamplers.health.failure_cause`: dead ReLU units per layer, non-finite
    weights)."""
    inputs = [model_input(model, mixture) for _, mixture, _ in signals]  # (C, T) each
    cause = failure_cause(model, inputs, run=lambda x: model.process_long(x, device=device))
    return {"failure": failure, **cause}


def withhold_verdicts(summary: AuditSummary, failure: str) -> AuditSummary:
    """``summary`` without its verdicts (those of the audit included), with a note
    saying why: a model whose training failed gets no artifact verdict."""
    note = f"verdicts withheld: training failed ({failure})"
    audit_dict = {**summary.audit, "verdicts": {},
                  "notes": [*summary.audit.get("notes", []), note]}
    return replace(summary, verdicts={}, audit=audit_dict)


def outputs(model: ReferenceModel, clip: torch.Tensor, device: torch.device
            ) -> dict[str, np.ndarray]:
    """Outputs ``(C, T)`` on the clip ``(C, T)`` (through :func:`model_input`) and
    on silence of the same input length (a separator's first source)."""
    out = {}
    given = model_input(model, clip)
    for name, x in (("clip", given), ("silence", torch.zeros_like(given))):
        y = model.process_long(x, device=device)  # (C, T), or (S, C, T) for a separator
        out[name] = (y[0] if model.separates else y).numpy()
    return out


def tone_measures(model: ReferenceModel, clip: torch.Tensor, seconds: float
                  ) -> dict[str, Any] | None:
    """The calibrated tone measures of a trained model (``None`` until measured)."""
    return None
