"""What is measured on one model: the artifact audit of its upsampling part, its
validation scores and inference speed, and its outputs on a clip and on silence."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..analysis import audit
from ..inference import overlap_add
from ..metrics import sdr, si_sdr
from .results import AuditSummary, WorstTone

# a validation signal: (name, input (C, T), target: (C, T), or (S, C, T) for a separator)
Signal = tuple[str, torch.Tensor, torch.Tensor]
AUDIT_PROBES = ("silence", "ones", "noise")


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (so that wall-clock time measures it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def worst_tone(report: Any) -> dict[str, Any] | None:
    """The strongest measured tone of an audit over its probes: level (dB above its
    local floor), frequency (Hz) and probe; ``None`` when no level is finite (e.g.
    an output that is exactly zero)."""
    tone = _worst_tone(report)
    return None if tone is None else {
        "level_db": tone.level_db, "frequency_hz": tone.frequency_hz, "probe": tone.probe,
        "found": tone.found, "relative_db": tone.relative_db}


def _worst_tone(report: Any) -> WorstTone | None:
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


def summarize_audit(model: Any, seconds: float) -> AuditSummary:
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


def audit_summary(model: Any, seconds: float) -> dict[str, Any]:
    """:func:`summarize_audit` as a JSON-ready dictionary."""
    return summarize_audit(model, seconds).to_dict()


def _on_device(model: Any, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        return model(x.to(device)).cpu()
    return run


def _process(model: Any, x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``model`` over a whole signal in chunks of its length, overlapping by a
    quarter. Shape: ``(C, T) -> (*D, T)``."""
    chunk = model.length
    return overlap_add(_on_device(model, device), x, chunk=chunk, overlap=chunk // 4)


def score(model: Any, signals: list[Signal], device: torch.device) -> dict[str, Any]:
    """Validation SI-SDR and SDR (means over tracks, and sources for a separator)
    and the inference real-time factor (processing seconds / audio seconds)."""
    tracks = []
    seconds = audio = 0.0
    for name, mixture, target in signals:
        sync(device)
        start = time.perf_counter()
        estimate = _process(model, mixture, device)
        sync(device)
        seconds += time.perf_counter() - start
        audio += mixture.shape[-1] / model.sample_rate
        tracks.append({"track": name, "si_sdr": float(np.mean(si_sdr(estimate, target))),
                       "sdr": float(np.mean(sdr(estimate, target)))})

    def mean(key: str) -> float | None:
        values = [t[key] for t in tracks if math.isfinite(t[key])]
        return float(np.mean(values)) if values else None

    return {"si_sdr": mean("si_sdr"), "sdr": mean("sdr"), "tracks": tracks,
            "inference_seconds": seconds, "audio_seconds": audio,
            "real_time_factor": seconds / audio}


def outputs(model: Any, clip: torch.Tensor, device: torch.device) -> dict[str, np.ndarray]:
    """Outputs ``(C, T)`` on the clip ``(C, T)`` and on silence of its length (a
    separator's first source)."""
    out = {}
    for name, x in (("clip", clip), ("silence", torch.zeros_like(clip))):
        y = _process(model, x, device)
        if y.dim() == 3:  # (S, C, T): the first source
            y = y[0]
        out[name] = y.numpy()
    return out
