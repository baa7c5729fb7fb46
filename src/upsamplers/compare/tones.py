"""The tone columns of a compare report: ``(key, title, sentence)`` of every
calibrated tone measure a run records (:class:`upsamplers.analysis.ToneMeasures`),
in the order of its ``LINES``."""

from __future__ import annotations

from ..analysis import ToneMeasures

TITLES = {
    "silence_dbfs": "line on silence (dBFS)",
    "constant_db_re_rms": "line on a constant (dB re output RMS)",
    "noise_db_above_floor": "line on noise (dB above floor)",
    "noise_excess_db": "added on noise (dB over the input)",
    "audio_db_above_floor": "line on the clip (dB above floor)",
    "audio_excess_db": "added on the clip (dB over the input)",
}
TONE_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (name, TITLES[name], ToneMeasures.COLUMNS[name]) for name in ToneMeasures.LINES)
