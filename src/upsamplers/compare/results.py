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
from ..health import Status


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
    """Everything measured on one trained variant (``result.json``).

    ``steps``: training steps; ``train_seconds``: training time from the log
    (over every invocation); ``first_loss`` / ``last_loss``: logged training
    losses; ``si_sdr`` / ``sdr``: validation means in dB (``None`` when no track
    has a finite value); ``real_time_factor``: inference seconds per audio
    second; ``tracks``: per-track scores; ``init`` / ``trained``: the audits
    before and after training; ``files``: outputs written, relative to the run
    folder, with their RMS; ``wall_seconds``: wall time of the invocation that
    finished the variant (a resumed variant's earlier training is in
    ``train_seconds`` only); ``status``: ``"ok"`` or ``"failed"`` (see
    :mod:`upsamplers.health`: a validation output more than 30 dB below the
    target's RMS, exactly zero, or non-finite); ``cause``: for a failed variant,
    why (``failure``, a sentence), what the model shows (``summary``,
    ``dead_relu`` per ReLU layer, ``nonfinite_parameters``), else ``None``;
    ``output_level``: the validation output's RMS re the target's
    (:class:`upsamplers.health.OutputLevel` as a dictionary).
    """

    variant: str
    kind: str
    options: dict[str, Any]
    description: str
    parameters: int
    steps: int
    train_seconds: float | None
    first_loss: float | None
    last_loss: float | None
    si_sdr: float | None
    sdr: float | None
    real_time_factor: float
    tracks: list[dict[str, Any]]
    init: AuditSummary
    trained: AuditSummary
    files: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float | None = None
    status: Status = "ok"
    cause: dict[str, Any] | None = None
    output_level: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["init"] = self.init.to_dict()
        out["trained"] = self.trained.to_dict()
        return plain(out)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VariantResult:
        return cls(**{**values, "init": AuditSummary.from_dict(values["init"]),
                      "trained": AuditSummary.from_dict(values["trained"])})
