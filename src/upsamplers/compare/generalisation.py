"""Generalisation as a measured claim: every trained model scored on recordings
outside its training distribution (``compare --test-data DIR``).

The article's claim is that interpolation upsamplers generalise better than
transposed or subpixel convolutions. Here that is a number per variant: the
mean over every track of ``DIR`` (whatever split folders it has) of the primary
metric, scored by the same scorer as validation
(:func:`upsamplers.compare.measures.score`, i.e.
:func:`upsamplers.scoring.score_model`, whole tracks at any length), and the
**gap**: validation mean minus test mean, per seed, in the metric's unit, with
its mean and spread over the seeds. For a metric where higher is better a
positive gap is what the model loses off its training distribution.

``DIR`` is a folder of the kind the task reads: a stem folder holding exactly
the model's sources for a separator, a folder of audio (or of stems, read as
their mixtures) otherwise. It is checked before any training
(:func:`check_test_data`).

Another scorer with the same signature as the model's, ``(model, signals,
device) -> {"metric", "metrics", "tracks", ...}`` (:data:`Scorer`), scores on the
same test signals through :func:`score_test` (``scorer=``): the hook for a
non-learned baseline (e.g. the mixture for a separator).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .._checks import InvalidType, UserFileError, UserInputError
from ..data import audio_files, folder_stems, open_dataset
from ..models import model_class
from ..scoring import METRIC_INFO, Signal, improvement
from .aggregate import Statistic, VariantSummary, higher_is_better, statistic, tied
from .config import CompareConfig
from .measures import score
from .signals import signals

#: what scores a model (or a baseline) on signals: ``(model, signals, device) -> dict``
#: with ``metric`` (the primary), ``metrics`` (means) and ``tracks``, as
#: :func:`upsamplers.compare.measures.score` returns
Scorer = Callable[[Any, list[Signal], torch.device], dict[str, Any]]


def expected_sources(config: CompareConfig, root: Path) -> tuple[str, ...] | None:
    """The sources the task's model separates when trained on ``root`` (its
    ``source_names`` option, else the training folder's stems); ``None`` for a
    model that does not separate."""
    cls = model_class(str(config.model))
    if not cls.separates:
        return None
    given = (config.model_options or {}).get("source_names")
    return tuple(given) if given else folder_stems(root)


def check_test_data(config: CompareConfig, root: Path) -> Path | None:
    """``config.test_data`` as a path, after checking, before any training, that
    it is an existing folder holding audio of the kind the model reads, with the
    sources it separates (:class:`~upsamplers._checks.UserFileError` naming the
    folder, the sources found and the sources expected); ``None`` without test
    data. ``root``: the training data folder."""
    if config.test_data is None:
        return None
    if not isinstance(config.test_data, (str, os.PathLike)):
        raise InvalidType(f"test_data must be a path to a folder; received "
                          f"test_data={config.test_data!r}")
    folder = Path(config.test_data)
    if not folder.is_dir():
        raise UserFileError(f"test_data must be an existing folder of audio; received "
                            f"test_data={str(folder)!r} (no such folder)")
    if not audio_files(folder):
        raise UserFileError(f"test_data folder {folder} holds no audio files (.wav, .flac, "
                            ".ogg)")
    expected = expected_sources(config, root)
    if expected is not None:
        found = folder_stems(folder)
        if found is None or set(found) != set(expected):
            what = ("no stems (not a stem folder: <track>/<stem>.wav)" if found is None
                    else f"stems {', '.join(found)}")
            raise UserFileError(f"test_data {folder} holds {what}; the {config.model} model "
                                f"separates {', '.join(expected)}: give a stem folder with "
                                "exactly those stems")
    try:
        test_set(config, folder, expected)
    except UserInputError as error:
        raise UserFileError(f"test_data {folder}: {error}") from None
    return folder


def test_set(config: CompareConfig, folder: Path, sources: Sequence[str] | None) -> Any:
    """Every track of ``folder`` (``split="all"``: train, test, validation folders
    alike) as the model reads it, whole at any length; a separator's stems in the
    order of ``sources`` (the model's ``source_names``)."""
    cls = model_class(str(config.model))
    options: dict[str, Any] = dict(split="all", sample_rate=config.sample_rate,
                                   channels=cls.audio_channels_of(config.model_options),
                                   crop=config.crop, seed=config.seed, min_length=1)
    if sources is not None:
        options["stems"] = list(sources)
    return open_dataset(cls.dataset_kind, folder, **options)


def test_signals(config: CompareConfig, sources: Sequence[str] | None) -> list[Signal] | None:
    """The whole test signals ``(name, input (C, T), sources (S, C, T))`` of
    ``config.test_data`` (``None`` without test data)."""
    if config.test_data is None:
        return None
    return signals(test_set(config, Path(config.test_data), sources))


def score_test(model: Any, test: list[Signal], device: torch.device, *, data: str,
               scorer: Scorer = score) -> dict[str, Any]:
    """``model`` scored on the test signals by ``scorer`` (default the model's
    validation scorer; a baseline's scorer of the same signature scores the
    same signals): ``data`` (the folder), ``metric``, ``metrics`` (means over the
    scored tracks), ``tracks`` (per track), ``skipped`` (tracks that give no
    figure: too short, a silent reference, an infinite score; one line each)
    and ``audio_seconds``. A JSON-ready dictionary, stored in the run's result
    (:attr:`~upsamplers.compare.results.VariantResult.test`)."""
    scores = scorer(model, test, device)
    return {"data": data, "metric": scores["metric"], "metrics": scores["metrics"],
            "tracks": scores["tracks"], "skipped": list(scores.get("skipped", [])),
            "audio_seconds": scores.get("audio_seconds")}


def _test_mean(run: Any, metric: str) -> float | None:
    test = getattr(run, "test", None)
    return None if not test else test["metrics"].get(metric)


def run_gap(run: Any, metric: str) -> float | None:
    """Validation mean minus test mean of ``metric`` for one run (``None`` when
    either is missing)."""
    validation, test = run.metrics.get(metric), _test_mean(run, metric)
    return None if validation is None or test is None else validation - test


def generalisation(summaries: Sequence[VariantSummary], metric: str,
                   config: CompareConfig, baseline: dict[str, float | None] | None = None
                   ) -> dict[str, Any] | None:
    """The report's test-data figures (``None`` without test data): per variant
    the statistics over seeds (:func:`~upsamplers.compare.aggregate.statistic`)
    of the validation mean, the test mean and the gap (validation minus test) of
    ``metric``, its status, and the variants whose gaps tie with the smallest;
    with the ``baseline``'s test figures, every variant's improvement over the
    baseline on the test data too."""
    if config.test_data is None:
        return None
    rows = []
    base = (baseline or {}).get(metric)
    for s in summaries:
        rows.append({"variant": s.variant, "status": s.status,
                     "validation": statistic([r.metrics.get(metric) for r in s.runs]).to_dict(),
                     "test": statistic([_test_mean(r, metric) for r in s.runs]).to_dict(),
                     "test_improvement": statistic([improvement(metric, _test_mean(r, metric),
                                                                base) for r in s.runs]).to_dict(),
                     "gap": statistic([run_gap(r, metric) for r in s.runs]).to_dict(),
                     "skipped": sorted({line for r in s.runs
                                        for line in (getattr(r, "test", None) or {})
                                        .get("skipped", [])})})
    return {"data": str(config.test_data), "metric": metric, "baseline": base,
            "unit": METRIC_INFO[metric].unit, "higher_is_better": higher_is_better(metric),
            "rows": rows, "smallest_gap": _smallest_gap(rows, higher_is_better(metric))}


def _smallest_gap(rows: list[dict[str, Any]], higher: bool) -> list[str]:
    """The variant that loses least off its training data (the smallest gap; for
    a lower-is-better metric the largest) and those whose gap ties with it (means
    within the sum of the spreads), among variants that did not fail."""
    gaps = [(r["variant"], Statistic(tuple(r["gap"]["values"]), r["gap"]["mean"],
                                     r["gap"]["spread"], r["gap"]["ci95"]))
            for r in rows if r["status"] != "failed" and r["gap"]["mean"] is not None]
    if not gaps:
        return []
    best = min(gaps, key=lambda g: g[1].mean if higher else -g[1].mean)
    return [name for name, st in gaps if name == best[0] or tied(st, best[1])]


def _stat(stats: dict[str, Any]) -> str:
    if stats["mean"] is None:
        return "n/a"
    spread = stats["spread"]
    return f"{stats['mean']:.2f}" + ("" if spread is None else f" ± {spread:.2f}")


def test_section(report: dict[str, Any]) -> list[str]:
    """The markdown lines of the report's test-data section (none without test
    data): per variant the validation and test means, the gap and its seed
    spread, and the variants with the smallest gap."""
    gen = report.get("generalisation")
    if not gen:
        return []
    unit, label = gen["unit"], METRIC_INFO[gen["metric"]].label
    lines = ["## Outside the training data", "",
             f"Every trained model scored on every track of `{gen['data']}` (recordings "
             f"outside its training data) with the validation scorer. Gap: validation mean "
             f"minus test mean of {label} ({unit}), per seed; mean ± spread over the seeds.",
             "", f"| variant | status | validation {label} | test {label} | gap ({unit}) | "
             f"test improvement over the baseline ({unit}) |", "|---|---|---|---|---|---|"]
    if gen.get("baseline") is not None:
        lines.append(f"| baseline | - | - | {gen['baseline']:.2f} | - | 0 (reference) |")
    for row in gen["rows"]:
        gain = row.get("test_improvement") or {"mean": None, "spread": None}
        lines.append(f"| {row['variant']} | {row['status']} | {_stat(row['validation'])} | "
                     f"{_stat(row['test'])} | {_stat(row['gap'])} | {_stat(gain)} |")
    lines.append("")
    if gen["smallest_gap"]:
        lines.append(f"Least lost off the training data: {', '.join(gen['smallest_gap'])} "
                     "(gaps within the sum of their spreads tie).")
        lines.append("")
    skipped = sorted({line for row in gen["rows"] for line in row["skipped"]})
    if skipped:
        lines += [f"Not scored: {len(skipped)} track(s) that give no figure "
                  f"({'; '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}).", ""]
    return lines
