"""The ``compare`` job: rank upsamplers on real audio by quality, speed and artifacts.

For every upsampler *variant* (a kind of :func:`upsamplers.make_upsampler` with
its options, e.g. ``subpixel-icnr``) the chosen reference model is trained with
:func:`upsamplers.train.train` under the same budget, seed and data, then:

* **speed**: the median time of one training step (forward, loss, backward,
  Adam), measured for all variants *round-robin* on the same batch before any
  training (so that a change of load on a shared machine hits every variant
  alike), and its ratio to subpixel; the naive (high-rate) forms of the
  interpolation kinds are timed too (timing-only rows), which is the form the
  article timed;
* **inference**: real-time factor of reconstructing the validation split
  (processing seconds / audio seconds; below 1 is faster than real time);
* **quality**: validation SI-SDR and SDR (:mod:`upsamplers.metrics`);
* **artifacts**: :func:`upsamplers.analysis.audit` of ``model.upsampling_part()``
  on silence, ones and noise, at initialisation and after training: the lines
  at ``k * fs / hop`` (:func:`upsamplers.analysis.tone_measures`: dBFS on
  silence, dB re the output RMS on a constant, dB above a real floor and excess
  over the input on noise and, after training, on the held-out clip through the
  whole model) and the noise response at 0.9 of the input Nyquist (filtering);
* the outputs on a held-out clip and on silence, as wav files and spectrograms.
* **status**: ``failed`` when the validation output (pooled over every track,
  source, channel and sample) is more than 30 dB below the target's RMS, exactly
  zero, or non-finite (:mod:`upsamplers.health`), with its cause (dead ReLU
  units per layer on the validation inputs, non-finite weights); ``ok``
  otherwise. A failed variant is not ranked and gets no artifact verdict (its
  audit figures are kept, its verdicts withheld).

Budget: ``steps`` per variant, or ``minutes`` of training per variant (turned
into a step count per variant from its measured step time, so every variant
gets the same training time).

Loss and learning rate. The compare job trains with the L1 loss only
(``stft_weight=0``) and ``lr=1e-3`` by default: on the embedded chorales, L1 +
multi-resolution STFT made every step about five times slower on CPU and, in a
few hundred steps, drove the STFT term down while the waveform (L1) error stayed
put, leaving SI-SDR far below 0 dB; the log-magnitude term weighs the near-silent
bins of the chorales as much as the notes, and says nothing of phase. L1 alone
at ``lr=1e-3`` gave positive SI-SDR within the default budget (``lr=3e-4`` was
slower, ``3e-3`` no better). Both are options.

Files in ``out``: ``compare.json`` (the settings), ``timing.json``,
``variants/<name>/`` (the training run, ``init_audit.json``, ``clip.wav``,
``silence.wav``, ``clip.png``, ``silence.png`` and, last, ``result.json``: a
variant is finished when its ``result.json`` exists, and a rerun of the same
command skips it), ``input_clip.wav`` / ``input_clip.png``, and the reports
``report.md``, ``report.json``, ``report.html``.

Modules, in the order a run uses them: :mod:`.variants` (what can be compared),
:mod:`.config` (:class:`CompareConfig`), :mod:`.folder` (the output folder),
:mod:`.signals` (the data), :mod:`.step_timing` (speed), :mod:`.measures` (audit,
scores, outputs), :mod:`.results` (the typed results the stages pass on),
:mod:`.pipeline` (the job), :mod:`.summary` (the report's figures and reading)
and :mod:`.report` (markdown and HTML). No argparse here: the command is
:mod:`upsamplers.cli.compare`.
"""

from __future__ import annotations

from .config import COMPARE_MODELS, COMPARE_TRAINING, DEFAULT_STEPS, TRAINING_FIELDS, CompareConfig
from .folder import REPORT_FILES, RESULT, SETTINGS, TIMING
from .measures import audit_summary, score, summarize_audit, tone_measures
from .pipeline import compare, run_variant
from .results import AuditSummary, StepTiming, VariantResult
from .step_timing import time_training_steps
from .summary import PARITY, build_report, reading, speed_claims
from .variants import DEFAULT_VARIANTS, NAIVE_OF, REFERENCE, VARIANTS, Variant

__all__ = [
    "COMPARE_MODELS", "COMPARE_TRAINING", "DEFAULT_STEPS", "DEFAULT_VARIANTS", "NAIVE_OF", "PARITY",
    "REFERENCE", "REPORT_FILES", "RESULT", "SETTINGS", "TIMING", "TRAINING_FIELDS",
    "AuditSummary", "CompareConfig", "StepTiming", "Variant", "VariantResult", "VARIANTS",
    "audit_summary", "build_report", "compare", "reading", "run_variant", "score",
    "speed_claims", "summarize_audit", "time_training_steps", "tone_measures",
]


def __getattr__(name: str) -> object:
    if name == "DEFAULT_KINDS":  # its name before 0.2; kept for one release
        import warnings

        warnings.warn("upsamplers.compare.DEFAULT_KINDS is now DEFAULT_VARIANTS",
                      FutureWarning, stacklevel=2)
        return DEFAULT_VARIANTS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
