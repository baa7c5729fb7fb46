"""Report values made JSON-ready, keeping what a non-finite figure means.

Unlike :func:`upsamplers._io.plain` (``None`` for any non-finite float), a
measured ``-inf`` dB (an exact zero, e.g. equal phases) stays visible as the
string ``"-inf"``; only NaN becomes ``None``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` with dicts and sequences walked, numpy scalars as Python numbers,
    NaN as ``None`` and infinities as ``"inf"`` / ``"-inf"``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("-inf" if value < 0 else "inf")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    return value
