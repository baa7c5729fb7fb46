"""One run of a compare job: one variant trained with one seed, in a folder of its
own, then measured.

A run folder is an ordinary training run (:func:`upsamplers.train.train`:
``config.json``, ``log.jsonl``, ``checkpoint.pt``, ``model.pt``), which is what
``upsamplers train`` writes, so runs trained elsewhere (another machine, a
cluster, ``torchrun``) are measured the same way (:func:`measure_run`, used by
``compare --collect``). Measuring adds ``init_audit.json``, the outputs on the
held-out clip and on silence (``clip.wav``/``.png``, ``silence.wav``/``.png``)
and, last, ``result.json``: a run is finished when its ``result.json`` exists.

:func:`execute` is what a worker process runs (:mod:`.parallel`): everything it
needs travels in a :class:`RunSpec`, and it returns the result as a dictionary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..analysis.plots import marked_frequencies, spectrogram_png
from ..data import write_audio
from ..models import ReferenceModel, build_model, load_model, read_checkpoint
from ..scoring import Signal
from ..train import CHECKPOINT, FINAL, LOG, learning_curve, log_records, run_status, train
from .aliasing import model_aliasing
from .config import CompareConfig
from .folder import INIT_AUDIT, RESULT, read_json, write_json
from .generalisation import score_test, test_signals
from .measures import (
    model_input,
    outputs,
    score,
    summarize_audit,
    why_failed,
    withhold_verdicts,
)
from .results import AuditSummary, VariantResult
from .signals import held_out_clip, signals, validation_set
from .variants import VARIANTS, Variant


@dataclass(frozen=True)
class RunSpec:
    """What a worker needs to train and measure one run: the compare settings,
    the variant's name, the seed, the step budget, the data folder, the run
    folder, the report's folder (paths of the files are relative to it) and the
    device."""

    config: CompareConfig
    variant: str
    seed: int
    steps: int
    root: str
    folder: str
    out: str
    device: str


def run_folder(out: Path, variant: str, seed: int) -> Path:
    """Where the run of ``variant`` with ``seed`` lives in a compare folder."""
    return out / "runs" / variant / f"seed-{seed}"


def finished(folder: Path) -> dict[str, Any] | None:
    """The result of a finished run (its ``result.json``), else ``None``."""
    path = folder / RESULT
    if not path.is_file():
        return None
    saved = read_json(path)
    return saved if isinstance(saved, dict) and "seed" in saved else None


def check_checkpoints(folder: Path) -> None:
    """Read the checkpoints an unfinished run in ``folder`` will load, so that one
    that cannot be loaded (corrupt, not a checkpoint, or holding objects whose
    pickle would run code) is refused with one line before any compute."""
    if finished(folder) is None:
        for name in (CHECKPOINT, FINAL):
            if (folder / name).is_file():
                read_checkpoint(folder / name)


def execute(spec: RunSpec) -> dict[str, Any] | None:
    """Train (or resume) and measure one run; its result as a dictionary, or
    ``None`` when training was interrupted. Runs in a worker process: torch uses
    ``spec.config.threads`` threads."""
    torch.set_num_threads(spec.config.threads)
    saved = finished(Path(spec.folder))
    if saved is not None:
        return saved
    begun = time.perf_counter()
    folder = Path(spec.folder)
    folder.mkdir(parents=True, exist_ok=True)
    variant = VARIANTS[spec.variant]
    train_config = spec.config.variant_training(variant, spec.steps, Path(spec.root), spec.seed)
    if not (folder / FINAL).is_file():
        outcome = train(train_config, folder, resume=(folder / CHECKPOINT).is_file(),
                        progress=False, echo=lambda message: None)
        if outcome.interrupted:
            return None
    result = measure_run(folder, Path(spec.root), spec.config, torch.device(spec.device),
                         out=Path(spec.out), variant=variant, seed=spec.seed)
    result.wall_seconds = time.perf_counter() - begun
    write_json(folder / RESULT, result.to_dict())
    return result.to_dict()


def _init_audit(model: ReferenceModel, seed: int, seconds: float, folder: Path
                ) -> AuditSummary:
    """The audit of the run's initial model (rebuilt from the trained model's
    configuration with the run's seed, as training built it), reused from
    ``init_audit.json`` when there."""
    path = folder / INIT_AUDIT
    if path.is_file():
        return AuditSummary.from_dict(read_json(path))
    options = {k: v for k, v in model.config.items() if k != "upsampler"}
    torch.manual_seed(seed)
    initial = build_model(model.name, model.config["upsampler"], **options)
    init = summarize_audit(initial, seconds)
    init.parameters = initial.num_parameters()
    write_json(path, init.to_dict())
    return init


def _losses(folder: Path) -> tuple[float | None, float | None, float | None]:
    """Training seconds (of the last ``end`` event), first and last logged loss."""
    if not (folder / LOG).is_file():
        return None, None, None
    log = log_records(folder)  # a last line cut by a kill is left out
    ends = [r for r in log if r.get("event") == "end"]
    losses = [r for r in log if "loss" in r and "event" not in r]
    return (ends[-1].get("seconds") if ends else None, losses[0]["loss"] if losses else None,
            losses[-1]["loss"] if losses else None)


def _relative(path: Path, out: Path) -> str:
    try:
        return str(path.resolve().relative_to(out.resolve()))
    except ValueError:
        return str(path.resolve())


def _write_outputs(model: ReferenceModel, variant: str, folder: Path, out: Path,
                   clip: torch.Tensor, marks: list[float], device: torch.device
                   ) -> dict[str, Any]:
    """Audio and spectrograms of the outputs on the clip and on silence; returns
    their paths (relative to ``out``) and RMS."""
    files: dict[str, Any] = {}
    for name, audio in outputs(model, clip, device).items():
        write_audio(folder / f"{name}.wav", audio, model.sample_rate, force=True,
                    subtype="FLOAT")
        what = "the held-out clip" if name == "clip" else "silence"
        spectrogram_png(folder / f"{name}.png", audio[0], model.sample_rate,
                        title=f"{variant}: output on {what}",
                        marks=marks if name == "silence" else ())
        files[f"{name}_wav"] = _relative(folder / f"{name}.wav", out)
        files[f"{name}_png"] = _relative(folder / f"{name}.png", out)
        files[f"{name}_rms"] = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    if model.separates:  # a separator's outputs are its first source
        files["source"] = str(model.source_names[0])
    return files


def measure_run(folder: Path, root: Path, config: CompareConfig, device: torch.device, *,
                out: Path, variant: Variant, seed: int,
                validation: list[Signal] | None = None, dest: Path | None = None,
                test: list[Signal] | None = None) -> VariantResult:
    """Score, audit and listen to the trained model of the run ``folder`` on the
    validation split of ``root`` (``validation``: those signals, when the caller
    has them), and score it on ``config.test_data`` (``test``: its signals).
    The files measuring writes go to ``dest`` (default: the run
    folder); the run folder is only read."""
    dest = folder if dest is None else dest
    model = load_model(folder / FINAL).eval().to(device)
    if validation is None:
        validation = signals(validation_set(config, root))
    scores = score(model, validation, device)
    clip = held_out_clip(validation, model.sample_rate, config.clip_seconds)[1]
    trained = summarize_audit(model, config.audit_seconds, model_input(model, clip))
    failure = scores["output_level"].failure()
    cause = None if failure is None else why_failed(model, validation, failure, device)
    if failure is not None:
        trained = withhold_verdicts(trained, failure)
    marks = marked_frequencies(model.sample_rate, [int(f) for f in trained.audit["factors"]])
    files = _write_outputs(model, variant.name, dest, out, clip, marks, device)
    aliasing = model_aliasing(model, device) if config.task_spec.aliasing else None
    train_seconds, first_loss, last_loss = _losses(folder)
    train_status = run_status(folder)
    curve = [[step, value] for step, value in learning_curve(folder)]
    return VariantResult(
        variant=variant.name, kind=variant.kind, options=variant.upsampler_options,
        description=variant.description, seed=seed, parameters=model.num_parameters(),
        steps=_budget(folder), stopped_at=_stopped_at(folder, curve), train_status=train_status,
        curve=curve, metric=scores["metric"], metrics=scores["metrics"],
        train_seconds=train_seconds, first_loss=first_loss, last_loss=last_loss,
        real_time_factor=scores["real_time_factor"], tracks=scores["tracks"],
        init=_init_audit(model, seed, config.audit_seconds, dest), trained=trained,
        files=files,
        status="failed" if failure is not None else (train_status or "converged"),
        cause=cause, output_level=scores["output_level"].to_dict(),
        folder=_relative(folder, out), aliasing=aliasing,
        test=_test_scores(model, config, device, test))


def _test_scores(model: ReferenceModel, config: CompareConfig, device: torch.device,
                 test: list[Signal] | None) -> dict[str, Any] | None:
    """The model's scores on ``config.test_data`` (``test``: its signals, when the
    caller has them), ``None`` without test data."""
    if config.test_data is None:
        return None
    if test is None:
        test = test_signals(config, model.source_names if model.separates else None)
    assert test is not None
    return score_test(model, test, device, data=str(config.test_data))



def _budget(folder: Path) -> int:
    """The run's step budget (``steps`` of its ``config.json``)."""
    return int(read_json(folder / "config.json")["steps"])


def _stopped_at(folder: Path, curve: list[list[Any]]) -> int | None:
    """The step training ended at (its last ``end`` event, else the curve's end)."""
    if (folder / LOG).is_file():
        for record in reversed(log_records(folder)):
            if record.get("event") == "end":
                return int(record.get("stopped_at", record.get("step", 0)))
    return int(curve[-1][0]) if curve else None
