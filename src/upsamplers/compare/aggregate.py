"""From runs to variants: the seeds of every variant gathered into a status, the
mean and spread of every metric, and a ranking in which differences inside the
seed spread are ties.

* **status** of a variant: ``failed`` when any of its seeds failed (its output
  more than 30 dB below the target, zero or non-finite: a variant that fails with
  some seeds is not one to pick); else ``not learned`` when it does not beat the
  task's baseline, the simplest non-learned answer scored on the same audio
  (:func:`learned`: any seed at or below it on the primary metric, or a 95 %
  interval of the mean improvement that reaches 0); else ``improving`` when any
  seed's budget ended while its validation metric still gained; else
  ``converged``.
* **improvement** of a metric: a seed's figure minus the baseline's, signed so
  that a positive improvement is better (SI-SDRi for SI-SDR), with the same
  statistics over the seeds.
* **statistics** of a metric over the seeds: mean, sample standard deviation
  (the *spread*, ``None`` with one seed) and the half-width of the 95 %
  confidence interval of the mean (Student's t, ``n - 1`` degrees of freedom).
* **ranking**: the variants that learned their task are ranked, ``converged``
  and ``improving`` alike (a ``not learned`` or ``failed`` variant's figure is
  not one of a model that does its task); a ranking that holds an ``improving``
  variant is provisional, and the report says so (its figure is not final).
  Two ranked variants *tie* when their means differ by no more than the sum of
  their spreads (their mean +- spread intervals overlap). A variant's rank is one plus the number of
  ranked variants better than it and not tied with it, so tied variants can
  share a rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..scoring import METRIC_INFO, improvement
from .results import VariantResult

STATUSES = ("converged", "improving", "not learned", "failed")


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better
    (:data:`upsamplers.scoring.METRIC_INFO`)."""
    return METRIC_INFO[metric].higher_is_better


@dataclass(frozen=True)
class Statistic:
    """A metric over the seeds: ``values`` (``None`` where not finite), their
    ``mean``, ``spread`` (sample standard deviation) and ``ci95`` (half-width of
    the 95 % confidence interval of the mean); ``None`` when undefined."""

    values: tuple[float | None, ...]
    mean: float | None
    spread: float | None
    ci95: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "mean": self.mean, "spread": self.spread,
                "ci95": self.ci95}


def statistic(values: Sequence[float | None]) -> Statistic:
    """Mean, spread and 95 % interval of the finite ``values``."""
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], np.float64)
    n = finite.size
    if n == 0:
        return Statistic(tuple(values), None, None, None)
    mean = float(finite.mean())
    if n == 1:
        return Statistic(tuple(values), mean, None, None)
    from scipy.stats import t

    spread = float(finite.std(ddof=1))
    return Statistic(tuple(values), mean, spread, float(t.ppf(0.975, n - 1) * spread / n ** 0.5))


@dataclass
class VariantSummary:
    """The seeds of one variant: ``runs`` (one :class:`VariantResult` per seed,
    by seed), ``status``, ``stats[metric]`` and, once ranked, ``rank`` and
    ``ties`` (the ranked variants it ties with)."""

    variant: str
    runs: list[VariantResult]
    status: str
    stats: dict[str, Statistic]
    rank: int | None = None
    ties: list[str] = field(default_factory=list)
    #: the improvement over the baseline of every metric (empty without a baseline)
    improvement: dict[str, Statistic] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.runs)


def learned(gain: Statistic) -> bool:
    """Whether the seeds' improvements over the baseline ``gain`` show a model that
    learned its task: every seed above 0 (a missing value counts as not), and,
    with two seeds or more, the 95 % interval of the mean above 0 too (one seed
    has no interval: its improvement alone decides)."""
    if not gain.values or any(v is None or not math.isfinite(v) or v <= 0
                              for v in gain.values):
        return False
    return gain.ci95 is None or gain.mean - gain.ci95 > 0


def variant_status(runs: Sequence[VariantResult], gain: Statistic | None = None) -> str:
    """``failed`` if any run failed, else ``not learned`` when the primary metric's
    improvement over the baseline ``gain`` is given and not :func:`learned`, else
    ``improving`` if any still improved, else ``converged``."""
    statuses = {r.status for r in runs}
    if "failed" in statuses:
        return "failed"
    if gain is not None and not learned(gain):
        return "not learned"
    return "improving" if "improving" in statuses else "converged"


def summarize(results: Sequence[VariantResult], order: Sequence[str],
              baseline: dict[str, float | None] | None = None) -> list[VariantSummary]:
    """One summary per variant of ``order`` that has runs, its runs by seed;
    ``baseline``: the baseline's figure of every metric, on the same audio
    (``None``: no improvement and no ``not learned`` status)."""
    out = []
    for name in order:
        runs = sorted((r for r in results if r.variant == name), key=lambda r: r.seed)
        if not runs:
            continue
        metrics = list(runs[0].metrics)
        stats = {m: statistic([r.metrics.get(m) for r in runs]) for m in metrics}
        gains: dict[str, Statistic] = {}
        if baseline is not None:
            gains = {m: statistic([improvement(m, r.metrics.get(m), baseline.get(m))
                                   for r in runs]) for m in metrics}
        primary = gains.get(runs[0].metric)
        out.append(VariantSummary(name, runs, variant_status(runs, primary), stats,
                                  improvement=gains))
    return out


def tied(a: Statistic, b: Statistic) -> bool:
    """Whether the means differ by no more than the sum of the spreads (a missing
    spread, with one seed, counts as zero)."""
    assert a.mean is not None and b.mean is not None
    return abs(a.mean - b.mean) <= (a.spread or 0.0) + (b.spread or 0.0)


RANKED = ("converged", "improving")


def rank(summaries: Sequence[VariantSummary], metric: str) -> list[VariantSummary]:
    """Rank the variants whose status is in :data:`RANKED` by ``metric`` (see the
    module docstring); sets ``rank`` and ``ties`` on them and returns them best
    first. Others keep ``rank=None``."""
    sign = 1.0 if higher_is_better(metric) else -1.0
    ranked = [s for s in summaries if s.status in RANKED
              and s.stats.get(metric) is not None and s.stats[metric].mean is not None]
    ranked.sort(key=lambda s: -sign * s.stats[metric].mean)
    for s in ranked:
        mine = s.stats[metric]
        s.ties = [o.variant for o in ranked if o is not s and tied(mine, o.stats[metric])]
        better = [o for o in ranked if o is not s and o.variant not in s.ties
                  and sign * (o.stats[metric].mean - mine.mean) > 0]
        s.rank = 1 + len(better)
    return ranked
