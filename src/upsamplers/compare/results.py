"""What the stages of a compare run hand to each other, typed: the step timing,
the audit summaries and the result of one variant.

Each converts to the JSON-ready dictionary written to its file
(``timing.json``, ``init_audit.json``, ``result.json``) with ``to_dict`` and back
with ``from_dict``; the keys and their order are those of the files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .._io import plain
from ..analysis import ToneMeasures


@dataclass
class AuditSummary:
    """An audit of a model's upsampling part, as the report uses it.

    ``tones``: the lines at ``k * fs / hop`` in dBFS on silence, dB re RMS on a
    constant, dB above a real floor and excess over the input on noise and on the
    held-out clip (:class:`upsamplers.analysis.ToneMeasures`; ``None`` in a file
    written before they existed, whose clamp-derived ``worst_tone`` is not read);
    ``attenuation_09_db``: the noise response at 0.9 of the input Nyquist, dB re
    the low band (``None`` when too few audit seconds resolve it); ``verdicts``:
    status of every verdict; ``audit``: the whole audit as a dictionary;
    ``parameters``: the model's parameter count (only at initialisation).
    """

    tones: ToneMeasures | None
    attenuation_09_db: float | None
    verdicts: dict[str, str]
    audit: dict[str, Any]
    parameters: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"tones": self.tones.to_dict() if self.tones is not None else None,
               "attenuation_09_db": self.attenuation_09_db, "verdicts": self.verdicts,
               "audit": self.audit}
        if self.parameters is not None:
            out["parameters"] = self.parameters
        return plain(out)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AuditSummary:
        tones = values.get("tones")
        return cls(tones=ToneMeasures.from_dict(tones) if tones is not None else None,
                   attenuation_09_db=values["attenuation_09_db"], verdicts=values["verdicts"],
                   audit=values["audit"], parameters=values.get("parameters"))


@dataclass
class StepTiming:
    """Median and minimum seconds of one training step of every timed variant
    (``median_s[name]``, ``min_s[name]``), their parameter counts, how they were
    timed, and the seconds the timing phase took (``None`` until known)."""

    method: str
    device: str
    threads: int
    median_s: dict[str, float]
    min_s: dict[str, float]
    parameters: dict[str, int]
    seconds: float | None = None
    #: seconds of one evaluation during training, per trained variant (the budget plan)
    eval_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.seconds is None:
            out.pop("seconds")
        return plain(out)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> StepTiming:
        return cls(**values)


@dataclass
class VariantResult:
    """Everything measured on one trained run: one variant with one seed
    (``result.json`` of its run folder).

    ``seed``; ``steps``: the run's step budget (its maximum); ``stopped_at``: the
    step it stopped at; ``train_status``: ``"converged"`` (its validation metric
    reached a plateau) or ``"improving"`` (the budget ended while it still gained),
    from training (:func:`upsamplers.train.run_status`); ``curve``: the learning
    curve, ``[step, value]`` pairs of the primary metric (``None`` where not
    finite); ``metric``: the primary metric's name; ``metrics``: the validation
    means of the model's metrics in their units (``None`` when no track has a
    finite value); ``train_seconds``: training time from the log (over every
    invocation); ``first_loss`` / ``last_loss``: logged training losses;
    ``real_time_factor``: inference seconds per audio second; ``tracks``: per-track
    scores; ``init`` / ``trained``: the audits before and after training;
    ``files``: outputs written, relative to the
    report's folder, with their RMS; ``wall_seconds``: wall time of the invocation
    that finished the run; ``status``: ``"failed"`` (see :mod:`upsamplers.health`: a
    validation output more than 30 dB below the target's RMS, exactly zero, or
    non-finite), else ``train_status``; ``cause``: for a failed run, why
    (``failure``, a sentence), what the model shows (``summary``, ``dead_relu`` per
    ReLU layer, ``nonfinite_parameters``), else ``None``; ``output_level``: the
    validation output's RMS re the target's (:class:`upsamplers.health.OutputLevel`
    as a dictionary); ``folder``: the run folder; ``aliasing``: the trained model's
    aliased-to-harmonic ratio (:func:`upsamplers.compare.aliasing.model_aliasing`:
    ``ahr_db``, ``per_f0``...) for a task that measures it, else ``None``;
    ``test``: the scores on the test data (``compare --test-data``:
    :func:`upsamplers.compare.generalisation.score_test`), else ``None``.
    """

    variant: str
    kind: str
    options: dict[str, Any]
    description: str
    seed: int
    parameters: int
    steps: int
    stopped_at: int | None
    train_status: str | None
    curve: list[list[Any]]
    metric: str
    metrics: dict[str, float | None]
    train_seconds: float | None
    first_loss: float | None
    last_loss: float | None
    real_time_factor: float
    tracks: list[dict[str, Any]]
    init: AuditSummary
    trained: AuditSummary
    files: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float | None = None
    status: str = "converged"
    cause: dict[str, Any] | None = None
    output_level: dict[str, Any] | None = None
    folder: str = ""
    aliasing: dict[str, Any] | None = None
    test: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def tones(self) -> dict[str, Any] | None:
        """The trained model's tone measures (``trained.tones``) as a dictionary
        (``None`` for a failed run: no artifact figure)."""
        return None if self.trained.tones is None else self.trained.tones.to_dict()

    @property
    def ahr_db(self) -> float | None:
        """The trained model's AHR summary (dB), ``None`` when not measured."""
        return None if self.aliasing is None else self.aliasing.get("ahr_db")

    @property
    def si_sdr(self) -> float | None:
        return self.metrics.get("si_sdr")

    @property
    def sdr(self) -> float | None:
        return self.metrics.get("sdr")

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["init"] = self.init.to_dict()
        out["trained"] = self.trained.to_dict()
        return plain(out)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VariantResult:
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in values.items() if k in known},
                      "init": AuditSummary.from_dict(values["init"]),
                      "trained": AuditSummary.from_dict(values["trained"])})
