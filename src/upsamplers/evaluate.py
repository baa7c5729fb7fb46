"""Evaluation of a trained model: SI-SDR and SDR on the validation split, and
the artifact audit of its upsampling part on silence and noise.

* autoencoder / MelGAN-like: each validation signal (the mixtures of a stem
  folder) is reconstructed whole, in overlapping chunks, and scored against
  itself;
* Demucs-like: each validation track is separated and every source scored
  against its stem (per source, and averaged).

Scores are those of :mod:`upsamplers.scoring` (whole-signal, float64; a silent
reference is left out of the means). The audit is
:func:`upsamplers.analysis.audit` of ``model.upsampling_part()`` (the decoder)
at the model's sample rate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._checks import InvalidValue, check_positive_int
from .analysis import audit
from .data import default_data_dir, is_stem_folder, open_dataset
from .models import load_model
from .scoring import TrackScore, score_model, validation_signals


def _validation_data(model: Any, root: Path) -> Any:
    """The validation split of ``root`` that ``model`` is scored on: a stem folder
    for a separator (its stems in the model's order), else the signals of ``root``
    (the mixtures of a stem folder, or every file of a plain folder)."""
    if model.dataset_kind == "stems" and not is_stem_folder(root):
        raise InvalidValue(f"a separator is evaluated on a stem folder; {root} is not one")
    options: dict[str, Any] = dict(split="validation", sample_rate=model.sample_rate,
                                   channels=model.audio_channels, crop=model.length)
    if model.separates:
        options["stems"] = list(model.source_names)
    return open_dataset(model.dataset_kind, root, **options)


def _track_record(track: TrackScore) -> dict[str, Any]:
    """One entry of the report's ``tracks``."""
    if track.sources is not None:
        return {"track": track.track, "sources": track.sources}
    return {"track": track.track, "si_sdr": track.si_sdr, "sdr": track.sdr}


def evaluate(
    checkpoint: str | Path,
    *,
    data: str | Path | None = None,
    max_tracks: int | None = None,
    audit_seconds: float = 2.0,
    progress: bool = False,
) -> dict[str, Any]:
    """Scores of ``checkpoint`` on the validation split of ``data`` (default: the
    embedded set) and its artifact audit. Returns a JSON-ready dictionary."""
    model = load_model(checkpoint).eval()
    root = Path(data) if data is not None else default_data_dir()
    if max_tracks is not None:
        max_tracks = check_positive_int("max_tracks", max_tracks)
    dataset = _validation_data(model, root)
    signals: Any = validation_signals(dataset, max_tracks)
    if progress:
        from tqdm.auto import tqdm

        count = len(dataset.clips) if max_tracks is None else min(max_tracks, len(dataset.clips))
        signals = tqdm(signals, total=count, unit="track", desc="evaluating")
    scores = score_model(model, signals)
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint), "model": type(model).__name__,
        "upsampler": model.config.get("upsampler"), "data": str(root),
        "sample_rate": model.sample_rate, "tracks": [_track_record(t) for t in scores.tracks],
    }
    if scores.per_source is not None:
        result["per_source"] = scores.per_source
    result["mean"] = scores.mean
    result["audit"] = audit_model(model, seconds=audit_seconds)
    return result


def audit_model(model: Any, *, seconds: float = 2.0) -> dict[str, Any]:
    """The artifact audit of ``model.upsampling_part()`` on silence and noise."""
    report = audit(model.upsampling_part(), float(model.sample_rate),
                   inputs=("silence", "noise"), seconds=seconds)
    return report.to_dict()


def summary(result: dict[str, Any]) -> str:
    """The report of :func:`evaluate` in a few lines: mean scores, per source for a
    separator, and the audit's verdicts."""
    mean = result["mean"]
    lines = [f"{result['model']} ({result['upsampler']}): SI-SDR "
             f"{_fmt(mean['si_sdr'])} dB, SDR {_fmt(mean['sdr'])} dB over "
             f"{len(result['tracks'])} validation track(s)"]
    for source, scores in result.get("per_source", {}).items():
        lines.append(f"  {source}: SI-SDR {_fmt(scores['si_sdr'])} dB, "
                     f"SDR {_fmt(scores['sdr'])} dB")
    for name, verdict in result["audit"]["verdicts"].items():
        lines.append(f"  audit {name}: {verdict['status']} ({verdict['message']})")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
