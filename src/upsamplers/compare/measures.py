"""What is measured on one model (a :class:`~upsamplers.models.ReferenceModel`):
the artifact audit of its upsampling part, its validation scores and inference
speed (:mod:`upsamplers.scoring`), and its outputs on a clip and on silence."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ..analysis import ToneMeasures, audit
from ..analysis import tone_measures as analysis_tone_measures
from ..health import failure_cause
from ..models import ReferenceModel
from ..scoring import NonFiniteScoreWarning, Signal, finite_or_none, score_model
from .results import AuditSummary

AUDIT_PROBES = ("silence", "ones", "noise")


def tone_measures(model: ReferenceModel, clip: torch.Tensor | None, seconds: float
                  ) -> ToneMeasures:
    """The lines at ``k * fs / hop`` that ``model`` leaves
    (:func:`upsamplers.analysis.tone_measures`): on silence (dBFS), a constant 1
    (dB re the output's RMS) and white noise (dB above a real floor, and excess
    over the input) fed to its upsampling part (``model.upsampling_part()``, as
    the audit probes it, ``seconds`` of output each); on the audio ``clip``
    ``(C, T)`` through the WHOLE model (``model.process_long``, a separator's
    sources as channels), so that the excess over the clip is what the model adds
    to real audio (its upsampling part alone reads a code, not audio)."""
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else None
    return analysis_tone_measures(
        model.upsampling_part(), float(model.sample_rate), model.hop, clip=clip,
        clip_runner=lambda x: model.process_long(x, device=device), seconds=seconds)


def summarize_audit(model: ReferenceModel, seconds: float, clip: torch.Tensor | None = None
                    ) -> AuditSummary:
    """Audit of ``model.upsampling_part()`` on silence, ones and noise of
    ``seconds`` of output: the line measures (:func:`tone_measures`, the audio ones
    on ``clip`` ``(C, T)`` when given), the filtering at 0.9 of the input
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
    return AuditSummary(tones=tone_measures(model, clip, seconds), attenuation_09_db=attenuation,
                        verdicts={k: v.status for k, v in report.verdicts.items()},
                        audit=report.to_dict())


def audit_summary(model: ReferenceModel, seconds: float, clip: torch.Tensor | None = None
                  ) -> dict[str, Any]:
    """:func:`summarize_audit` as a JSON-ready dictionary."""
    return summarize_audit(model, seconds, clip).to_dict()


def score(model: ReferenceModel, signals: list[Signal], device: torch.device) -> dict[str, Any]:
    """Validation means of the model's metrics (``metrics``; ``metric``: the
    primary), over tracks (and sources for a separator), the inference real-time
    factor (processing seconds / audio seconds) and the output's level re the
    target's (``output_level``, an :class:`upsamplers.health.OutputLevel`), by
    :func:`upsamplers.scoring.score_model`. Figures the output made infinite or
    undefined are kept as ``left_out`` lines, not warned about one by one (a failed
    run, already reported as such, would print one line per track and metric)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteScoreWarning)
        scores = score_model(model, signals, device=device)
    names = tuple(model.metrics)  # the primary (ranking, learning-curve) metric first
    return {"metric": names[0], "metrics": {m: scores.track_mean(m) for m in names},
            "tracks": [{"track": t.track,
                        **{m: finite_or_none(t.values.get(m)) for m in names}}
                       for t in scores.tracks],
            "inference_seconds": scores.inference_seconds,
            "audio_seconds": scores.audio_seconds, "real_time_factor": scores.real_time_factor,
            "output_level": scores.output_level(), "skipped": scores.skipped,
            "left_out": scores.left_out}


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
    return replace(summary, verdicts={}, audit=audit_dict, tones=None)


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

