"""The baseline of a compare run: the simplest non-learned answer to the task
(the mixture for a separator, the sinc-resampled input for bandwidth extension,
Griffin-Lim for a vocoder; :meth:`upsamplers.models.ReferenceModel.baseline`),
scored once by the same scorer on the same validation audio as every trained
run. Every variant's improvement and its ``not learned`` status are read
against it (:mod:`.aggregate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..scoring import Signal, finite_or_none, score_baseline
from ..train import Task
from .config import CompareConfig
from .folder import read_json, write_json
from .variants import VARIANTS

BASELINE = "baseline.json"


def baseline_scores(config: CompareConfig, root: Path, variant: str, validation: list[Signal],
                    out: Path | None = None) -> dict[str, Any]:
    """The baseline's figures on ``validation``: ``name`` (what it is), ``metrics``
    (the means, as a run's), ``tracks`` (per track). The model is built (not
    trained) as ``variant``'s runs are: the baseline depends on its task, rate and
    sources, not on its weights. Kept in ``out/baseline.json`` when ``out`` is
    given, and read back from there when its data and model settings match."""
    key = {"data": str(root), "model": config.model, "model_options": config.model_options,
           "sample_rate": config.sample_rate,
           "tracks": [name for name, _, _ in validation]}
    if out is not None and (out / BASELINE).is_file():
        saved = read_json(out / BASELINE)
        if saved.get("key") == key:
            return saved["scores"]
    model = Task(config.variant_training(VARIANTS[variant], 1, root)).build_model().eval()
    scores = score_baseline(model, validation)
    metrics = tuple(model.metrics)
    result = {"name": model.baseline_name, "metric": metrics[0],
              "metrics": {m: finite_or_none(scores.track_mean(m)) for m in metrics},
              "tracks": [{"track": t.track,
                          **{m: finite_or_none(t.values.get(m)) for m in metrics}}
                         for t in scores.tracks]}
    if out is not None:
        write_json(out / BASELINE, {"key": key, "scores": result})
    return result
