"""Evaluation of a trained model: its metrics on audio (SI-SDR and SDR, or what
the model declares: SNR and log-spectral distance for bandwidth extension), and
the artifact audit of its upsampling part on silence and noise.

What is scored (``split``, default ``"auto"``):

* a **plain folder** of audio files (``--data FOLDER`` that is not a stem
  folder): *every* file under it, whole, with no train/validation split. Any
  length (shorter than the model's chunk too), any channel count (a mono model
  processes and scores each channel on its own), any sample rate: the file is
  resampled to the model's rate, the model runs on that, and the output is
  scored against that resampled input, at the model's rate (so the figure is the
  model's, not the resampler's). A file that cannot be read (or whose channel
  count a multi-channel model cannot take) is skipped with one warning line
  naming it; no usable file is a :class:`~upsamplers._checks.UserFileError`;
* the **embedded data set** and **stem folders**: their validation split, as
  the data sets of :mod:`upsamplers.data` define it (``validation/`` sub-folder
  or a hashed share); ``split="all"`` scores every track instead, and
  ``split="validation"`` on a plain folder scores its validation split the old
  way (crops of the model's length, the model's channel count).

How: an autoencoder / MelGAN-like model reconstructs each signal whole, in
overlapping chunks, scored against itself; a Demucs-like separator separates each
track and every source is scored against its stem (per source, and averaged); a
bandwidth extension model is given each signal low-passed and decimated
(``model.degrade``) and its output is scored against the signal.

Scores are those of :mod:`upsamplers.scoring` (whole-signal, float64). A file
or track that gives no figure to average (shorter than its metrics need, a
silent reference; a track missing a stem) is skipped with one warning line
naming it and why, listed under ``skipped``, and the means are over the scored
ones only; a figure the output makes infinite or undefined is ``null``, left
out of its mean and listed under ``left_out``. The audit is
:func:`upsamplers.analysis.audit` of ``model.upsampling_part()`` (the decoder)
at the model's sample rate.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import InvalidValue, UserFileError, check_choice, check_positive_int
from .analysis import audit
from .analysis._validate import check_duration
from .data import (
    AudioFileError,
    SkippedFileWarning,
    audio_files,
    default_data_dir,
    is_stem_folder,
    open_dataset,
    read_audio,
    resample,
)
from .models import load_model
from .scoring import (
    METRIC_INFO,
    Signal,
    TrackScore,
    finite_or_none,
    improvement,
    improvement_label,
    score_baseline,
    score_model,
    validation_signals,
)

SPLITS = ("auto", "validation", "all")


def _every_file(model: Any, root: Path, split: str) -> bool:
    """Whether ``root`` is scored file by file (a plain folder, unless ``split`` asks
    for its validation split)."""
    if not root.is_dir():
        raise UserFileError(f"--data {root} is not a folder")
    if model.dataset_kind == "stems" or is_stem_folder(root):
        return False
    return split != "validation"


def _validation_data(model: Any, root: Path, split: str) -> Any:
    """The split of ``root`` that ``model`` is scored on (``"auto"`` is the
    validation split): a stem folder for a separator (its stems in the model's
    order), else the signals of ``root`` (the mixtures of a stem folder, or the
    files of a plain folder)."""
    if model.dataset_kind == "stems" and not (is_stem_folder(root)
                                              or _holds_tracks(root, model.source_names)):
        raise InvalidValue(f"a separator is evaluated on a stem folder (track folders holding "
                           f"{', '.join(model.source_names)}); {root} is not one")
    options: dict[str, Any] = dict(split="validation" if split == "auto" else split,
                                   sample_rate=model.sample_rate,
                                   channels=model.audio_channels, crop=model.length,
                                   min_length=1)  # whole tracks: any length is scored
    if model.separates:
        options["stems"] = list(model.source_names)
    return open_dataset(model.dataset_kind, root, **options)


def _holds_tracks(root: Path, stems: Any) -> bool:
    """Whether a folder of ``root`` (or of its split folders) holds an audio file
    named after one of the separator's ``stems``: a stem folder whose tracks miss
    stems (each such track is skipped with one warning line naming it), even when
    most of them do and :func:`~upsamplers.data.is_stem_folder` cannot tell."""
    from .data import _audio_files_here, _split_roots

    names = set(stems)
    tops = _split_roots(root, "all") or [root]
    return any(f.stem in names for top in tops for d in top.iterdir() if d.is_dir()
               for f in _audio_files_here(d))


class FolderSignals:
    """Every audio file under ``root`` (its first ``count``), as whole signals at
    ``model``'s rate: ``(relative path, audio (C, T), audio as one source (1, C, T))``.

    ``files``: the files to read; ``info``: per scored file, its ``sample_rate``
    (Hz), ``channels`` and ``samples`` (decoded length at its own rate);
    ``skipped``: one message per file left out (also warned as
    :class:`~upsamplers.data.SkippedFileWarning`).
    """

    def __init__(self, model: Any, root: Path, count: int | None = None) -> None:
        self.model, self.root = model, root
        files = audio_files(root)
        if not files:
            raise UserFileError(f"no audio files (.wav, .flac, .ogg) under {root}")
        self.files = files if count is None else files[:count]
        self.info: dict[str, dict[str, Any]] = {}
        self.skipped: list[str] = []

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[Signal]:
        for path in self.files:
            signal = self._read(path)
            if signal is not None:
                yield signal

    def _skip(self, path: Path, reason: str) -> None:
        message = f"skipping {path}: {reason}"
        self.skipped.append(message)
        warnings.warn(message, SkippedFileWarning, stacklevel=3)

    def _read(self, path: Path) -> Signal | None:
        wanted = self.model.audio_channels
        try:
            audio, rate = read_audio(path)  # (C, T) as decoded, at the file's rate
        except AudioFileError as error:
            self._skip(path, str(error).split(": ", 1)[-1])
            return None
        if audio.shape[0] != wanted and wanted != 1:
            self._skip(path, f"has {audio.shape[0]} channel(s); the model takes {wanted}")
            return None
        name = path.relative_to(self.root).as_posix()
        self.info[name] = {"sample_rate": rate, "channels": int(audio.shape[0]),
                           "samples": int(audio.shape[-1])}
        x = torch.from_numpy(np.ascontiguousarray(resample(audio, rate, self.model.sample_rate)))
        return name, x, x[None]


def _track_record(track: TrackScore, info: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One entry of the report's ``tracks``."""
    if track.sources is not None:
        return {"track": track.track, "sources": {
            source: {m: finite_or_none(v) for m, v in figures.items()}
            for source, figures in track.sources.items()}}
    return {"track": track.track, **info.get(track.track, {}), **track.finite_values()}


def _signals(model: Any, root: Path, split: str, max_tracks: int | None
             ) -> tuple[Any, int, FolderSignals | None, list[str]]:
    """``(signals, how many at most, the folder reader or None, the files or tracks
    skipped so far)``."""
    if _every_file(model, root, split):
        folder = FolderSignals(model, root, max_tracks)
        return folder, len(folder), folder, folder.skipped
    dataset = _validation_data(model, root, split)
    total = len(dataset.clips) if max_tracks is None else min(max_tracks, len(dataset.clips))
    return validation_signals(dataset, max_tracks), total, None, dataset.skipped


def evaluate(
    checkpoint: str | Path,
    *,
    data: str | Path | None = None,
    split: str = "auto",
    max_tracks: int | None = None,
    audit_seconds: float = 2.0,
    progress: bool = False,
) -> dict[str, Any]:
    """Scores of ``checkpoint`` on ``data`` (default: the embedded set) and its
    artifact audit. ``split``: ``"auto"`` (every file of a plain folder, the
    validation split of a stem folder), ``"validation"`` or ``"all"`` (see the
    module docstring); ``max_tracks``: score only the first ones. Returns a
    JSON-ready dictionary; ``metrics`` names the model's metrics (primary first)
    and ``metric_info`` their label, unit, direction and meaning; ``tracks`` holds
    the per-file (per-track) figures, ``mean`` their means."""
    model = load_model(checkpoint).eval()
    # before any scoring: an audit too long to compute is refused now, not after it
    check_duration("audit_seconds", audit_seconds, float(model.sample_rate))
    root = Path(data) if data is not None else default_data_dir()
    split = check_choice("split", split, SPLITS)
    if max_tracks is not None:
        max_tracks = check_positive_int("max_tracks", max_tracks)
    signals, total, folder, skipped = _signals(model, root, split, max_tracks)
    if progress:
        from tqdm.auto import tqdm

        signals = tqdm(signals, total=total, unit="track", desc="evaluating")
    signals = list(signals)  # scored twice: the model, then its baseline
    scores = score_model(model, signals)
    skipped = [*skipped, *scores.skipped]  # unreadable, then unscorable (too short, silent)
    if not scores.tracks:
        raise UserFileError(f"no usable audio {'file' if folder else 'track'} under {root} "
                            f"({len(skipped)} skipped, each named in a warning)")
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint), "model": type(model).__name__,
        "upsampler": model.config.get("upsampler"), "data": str(root),
        "scored": "every file" if folder is not None else (
            "validation split" if split == "auto" else f"{split} split"),
        "sample_rate": model.sample_rate,
        "metrics": list(scores.metrics),
        "metric_info": {m: METRIC_INFO[m]._asdict() for m in scores.metrics},
        "tracks": [_track_record(t, folder.info if folder else {}) for t in scores.tracks],
    }
    result["skipped"] = skipped
    # figures the output made infinite or undefined: written as null, out of the means
    result["left_out"] = scores.left_out
    if scores.per_source is not None:
        result["per_source"] = scores.per_source
    result["mean"] = scores.mean
    result.update(_baseline(model, signals, scores))
    result["audit"] = audit_model(model, seconds=audit_seconds)
    return result


def _baseline(model: Any, signals: list[Any], scores: Any) -> dict[str, Any]:
    """The baseline's scores on the same signals (``baseline``: its ``name``,
    ``mean`` and per-track figures) and the model's ``improvement`` over it, metric
    by metric (positive is better; SI-SDRi for SI-SDR)."""
    base = score_baseline(model, [s for s in signals
                                  if any(t.track == s[0] for t in scores.tracks)])
    return {"baseline": {"name": model.baseline_name, "mean": base.mean,
                         "tracks": [{"track": t.track, **t.finite_values()} for t in base.tracks],
                         "skipped": base.skipped, "left_out": base.left_out},
            "improvement": {m: improvement(m, scores.mean.get(m), base.mean.get(m))
                            for m in scores.metrics}}


def audit_model(model: Any, *, seconds: float = 2.0) -> dict[str, Any]:
    """The artifact audit of ``model.upsampling_part()`` on silence and noise."""
    report = audit(model.upsampling_part(), float(model.sample_rate),
                   inputs=("silence", "noise"), seconds=seconds)
    return report.to_dict()


def _figures(values: dict[str, Any], metrics: list[str]) -> str:
    """``"SI-SDR 1.00 dB, SDR 2.00 dB"``: ``values`` of ``metrics`` with their units."""
    parts = []
    for name in metrics:
        info = METRIC_INFO[name]
        parts.append(f"{info.label} {_fmt(values.get(name))} {info.unit}")
    return ", ".join(parts)


def _track_line(track: dict[str, Any], metrics: list[str]) -> str:
    where = ""
    if "sample_rate" in track:
        where = (f" ({track['sample_rate']} Hz, {track['channels']} ch, "
                 f"{track['samples'] / track['sample_rate']:.2f} s)")
    return f"  {track['track']}{where}: {_figures(track, metrics)}"


def summary(result: dict[str, Any]) -> str:
    """The report of :func:`evaluate` in a few lines: mean scores (the model's
    metrics, with their units), the figures of
    each file (of a plain folder), per source for a separator, and the audit's
    verdicts."""
    mean = result["mean"]
    metrics = result.get("metrics", ["si_sdr", "sdr"])
    scored = result.get("scored", "validation split")
    what = (f"{len(result['tracks'])} file(s), every file of {result['data']}, scored at "
            f"{result['sample_rate']} Hz" if scored == "every file"
            else f"{len(result['tracks'])} track(s) of the {scored}")
    lines = [f"{result['model']} ({result['upsampler']}): mean "
             f"{_figures(mean, metrics)} over {what}"]
    if scored == "every file":
        lines.extend(_track_line(track, metrics) for track in result["tracks"])
    if result.get("skipped"):
        what = "file(s)" if scored == "every file" else "track(s)"
        lines.append(f"  {len(result['skipped'])} {what} skipped, left out of the means "
                     "(see the warnings)")
    if result.get("left_out"):
        lines.append(f"  {len(result['left_out'])} figure(s) the output made infinite or "
                     "undefined, left out of their means: " + "; ".join(result["left_out"][:3])
                     + (" ..." if len(result["left_out"]) > 3 else ""))
    for source, scores in result.get("per_source", {}).items():
        lines.append(f"  {source}: {_figures(scores, metrics)}")
    if result.get("baseline"):
        base = result["baseline"]
        lines.append(f"  baseline ({base['name']}): mean {_figures(base['mean'], metrics)}")
        gains = ", ".join(f"{improvement_label(m)} {_signed(result['improvement'].get(m))} "
                          f"{METRIC_INFO[m].unit}" for m in metrics)
        lines.append(f"  improvement over the baseline (positive is better): {gains}")
    for name, verdict in result["audit"]["verdicts"].items():
        lines.append(f"  audit {name}: {verdict['status']} ({verdict['message']})")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"
