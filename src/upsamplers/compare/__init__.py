"""The ``compare`` job: which upsampler should I use, and what will it do to my
audio? Answered on a task (:mod:`.tasks`: ``separate``, ``bandwidth``,
``autoencoder``) with several seeds, training to a plateau.

For every upsampler *variant* (a kind of :func:`upsamplers.make_upsampler` with
its options, e.g. ``subpixel-icnr``) and every seed, the task's reference model is
trained with :func:`upsamplers.train.train` (an ordinary training run, in a run
folder of its own, in a worker process of its own: ``jobs`` at once) until its
validation metric reaches a plateau or its step budget ends, then measured:

* **status** per run: ``failed`` when the validation output (pooled over every
  track, source, channel and sample) is more than 30 dB below the target's RMS,
  exactly zero, or non-finite (:mod:`upsamplers.health`), with its cause (dead
  ReLU units per layer on the validation inputs, non-finite weights); else
  ``converged`` or ``improving`` (the budget ended while it still gained), from
  its learning curve. A variant's status gathers its seeds
  (:mod:`.aggregate`); only converged variants are ranked, and differences
  inside the seed spread are ties;
* **quality**: the model's validation metrics (SI-SDR and SDR; SNR and
  log-spectral distance for bandwidth extension), mean and spread over seeds;
* **speed**: the median time of one training step, measured for all variants
  *round-robin* on the same batch before any training, and its ratio to
  subpixel; the naive (high-rate) forms of the interpolation kinds are timed too
  (timing-only rows), the form the article timed; the inference real-time
  factor;
* **artifacts**: the audit of ``model.upsampling_part()`` at initialisation and
  after training, and the calibrated tone measures of the trained model (on
  silence in dBFS, on a constant in dB re the output RMS, on noise and on the
  recorded clip in dB above a real floor and in excess over the input); a
  failed run gets no artifact verdict;
* the outputs on a held-out recorded clip and on silence, as wav files and
  spectrograms, and the learning curves (``curves.png``).

Loss and learning rate: the L1 loss alone at ``lr=1e-3`` (the multi-resolution
STFT term made CPU steps about five times slower and, on short budgets, drove
the log magnitudes down while the waveform error stayed put). Both are options.

Files in ``out``: ``compare.json`` (the settings), ``timing.json``,
``runs/<variant>/seed-<seed>/`` (the training run, ``init_audit.json``,
``clip.wav``, ``silence.wav``, ``clip.png``, ``silence.png`` and, last,
``result.json``: a run is finished when its ``result.json`` exists, and a rerun
of the same command skips it), ``input_clip.wav`` / ``input_clip.png``,
``curves.png`` and the reports ``report.md``, ``report.json``, ``report.html``.
:func:`collect` writes the same from runs trained elsewhere.

Modules, in the order a run uses them: :mod:`.tasks` and :mod:`.variants` (what
can be compared), :mod:`.config` (:class:`CompareConfig`), :mod:`.folder` (the
output folder), :mod:`.signals` (the data), :mod:`.step_timing` (speed),
:mod:`.runs` (one run: train, then :mod:`.measures`), :mod:`.parallel` (the
workers), :mod:`.results` (the typed results), :mod:`.aggregate` (seeds to
variants), :mod:`.pipeline` (the job), :mod:`.summary` (the report's figures,
recommendation and reading), :mod:`.published` (Pons et al.'s figures),
:mod:`.curves` and :mod:`.report` (markdown and HTML). No argparse here: the
command is :mod:`upsamplers.cli.compare`.
"""

from __future__ import annotations

from .aggregate import Statistic, VariantSummary, rank, statistic, summarize
from .config import COMPARE_MODELS, DEFAULT_SEEDS, TRAINING_FIELDS, CompareConfig
from .folder import REPORT_FILES, RESULT, SETTINGS, TIMING
from .measures import audit_summary, score, summarize_audit, tone_measures
from .pipeline import collect, compare
from .results import AuditSummary, StepTiming, VariantResult
from .runs import RunSpec, execute, measure_run, run_folder
from .step_timing import time_training_steps
from .summary import PARITY, build_report, reading, recommendation, speed_claims
from .tasks import DEFAULT_TASK, TASKS, CompareTask
from .variants import DEFAULT_VARIANTS, NAIVE_OF, REFERENCE, VARIANTS, Variant

__all__ = [
    "COMPARE_MODELS", "DEFAULT_SEEDS", "DEFAULT_TASK", "DEFAULT_VARIANTS", "NAIVE_OF", "PARITY",
    "REFERENCE", "REPORT_FILES", "RESULT", "SETTINGS", "TASKS", "TIMING", "TRAINING_FIELDS",
    "AuditSummary", "CompareConfig", "CompareTask", "RunSpec", "Statistic", "StepTiming",
    "Variant", "VariantResult", "VariantSummary", "VARIANTS", "audit_summary",
    "build_report", "collect", "compare", "execute", "measure_run", "rank", "reading",
    "recommendation", "run_folder", "score", "speed_claims", "statistic", "summarize",
    "summarize_audit", "time_training_steps", "tone_measures",
]


def __getattr__(name: str) -> object:
    if name == "DEFAULT_KINDS":  # its name before 0.2; kept for one release
        import warnings

        warnings.warn("upsamplers.compare.DEFAULT_KINDS is now DEFAULT_VARIANTS",
                      FutureWarning, stacklevel=2)
        return DEFAULT_VARIANTS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
