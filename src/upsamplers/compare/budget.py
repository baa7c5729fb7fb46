"""The time budget of a compare job: how many steps every run trains so that the
whole job, from its start to its report, fills ``--minutes``.

After the timing phase (one step of every variant, timed round-robin, with its
batch made inside the step; and one evaluation of each), every run of the job
gets the same number of steps ``S``, so that the variants are compared at equal
training. With ``J`` worker processes, ``R = variants x seeds`` runs, a step of
variant ``v`` taking ``t_v`` seconds (the fastest of its timed steps: the median
of a round-robin over six models came out 1.4-1.7x what the workers then took,
the fastest 0.9-1.4x) and an evaluation ``e_v``, the training phase takes
about::

    seeds * sum_v (S * t_v * CONTENTION + EVALUATIONS * e_v) / J

seconds, and measuring every run about ``R * (MEASURE_FACTOR * e_v_full +
MEASURE_SECONDS) / J`` (scoring the whole validation split, the audits, the
files). ``S`` is the largest step count for which the sum stays within what the
budget has left after the timing phase.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .._checks import InvalidValue
from .results import StepTiming

#: Evaluations of a run during training (the learning curve and the plateau status).
EVALUATIONS = 10
#: A worker's step time, evaluations included, with every core busy, over the fastest
#: step of the timing phase. Measured on 2 shared cores (the default job, 2026-12-07:
#: DemucsLike width 16, 12 runs, 2 workers): 0.92 (subpixel) to 1.37 (transposed), 1.12
#: over the four variants' sum; 1.2 keeps the job within its budget.
CONTENTION = 1.2
#: Seconds to audit one trained run and write its files (silence, constant, noise and
#: clip audits, spectrograms), beyond scoring its validation split; measured 6-12 s
#: per run on 2 shared cores for the default task.
MEASURE_SECONDS = 12.0
#: Seconds kept for gathering the report (learning curves, the baseline's scores).
REPORT_SECONDS = 20.0
#: Fewest steps a planned run trains; a budget that leaves less is refused.
MIN_STEPS = 20


@dataclass(frozen=True)
class BudgetPlan:
    """The steps of every run and the figures they were planned from (seconds)."""

    steps: int
    minutes: float
    spent_s: float
    train_s: float
    measure_s: float
    jobs: int
    runs: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_steps(variants: list[str], seeds: int, timing: StepTiming, *, minutes: float,
               spent_s: float, jobs: int, validation_s: float, eval_seconds: float
               ) -> BudgetPlan:
    """The plan of a job of ``minutes`` in all that has spent ``spent_s`` seconds
    (the timing phase), for ``variants`` x ``seeds`` runs over ``jobs`` workers;
    ``validation_s``: seconds of validation audio a run is scored on at the end,
    ``eval_seconds``: seconds an evaluation scores (the timing's ``eval_s`` was
    measured on them). :class:`~upsamplers._checks.InvalidValue` when the budget
    leaves fewer than
    :data:`MIN_STEPS` steps."""
    runs = len(variants) * seeds
    scale = max(1.0, validation_s / eval_seconds) if eval_seconds > 0 else 1.0
    evals = {v: timing.eval_s.get(v, 0.0) for v in variants}
    measure = seeds * sum(scale * evals[v] + MEASURE_SECONDS for v in variants) / jobs
    left = minutes * 60.0 - spent_s - measure - REPORT_SECONDS
    per_step = seeds * sum(timing.min_s[v] * CONTENTION for v in variants) / jobs
    fixed = seeds * sum(EVALUATIONS * evals[v] for v in variants) / jobs
    steps = int((left - fixed) / per_step) if per_step > 0 else MIN_STEPS
    if steps < MIN_STEPS:
        raise InvalidValue(
            f"minutes={minutes:g} leaves {max(0.0, left - fixed):.0f} s of training for "
            f"{runs} runs on {jobs} worker(s) after the step timing ({spent_s:.0f} s) and "
            f"the measuring ({measure:.0f} s): fewer than {MIN_STEPS} steps a run; give "
            f"more minutes, fewer variants or seeds, or --steps")
    return BudgetPlan(steps=steps, minutes=minutes, spent_s=spent_s,
                      train_s=steps * per_step + fixed, measure_s=measure, jobs=jobs,
                      runs=runs)
