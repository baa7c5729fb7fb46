"""The tone columns of a compare report: ``(key, title, sentence)`` of every
calibrated tone measure a run records (:func:`.measures.tone_measures`)."""

from __future__ import annotations

TONE_COLUMNS: tuple[tuple[str, str, str], ...] = ()
