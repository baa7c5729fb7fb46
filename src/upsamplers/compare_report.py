"""Deprecated: the compare reports moved to :mod:`upsamplers.compare.report`.

Names read from here still work for one release, with a ``FutureWarning``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .compare import report as _report


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_report, name)
    warnings.warn(f"upsamplers.compare_report.{name} moved to upsamplers.compare.report.{name}; "
                  "the old module goes in the next release", FutureWarning, stacklevel=2)
    return value
