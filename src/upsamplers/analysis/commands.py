"""Deprecated module, kept for one release: loading a ``TARGET`` moved to
:mod:`upsamplers.analysis.targets`, and the ``audit``, ``lint`` and ``figures``
commands to :mod:`upsamplers.cli.analysis`."""

from __future__ import annotations

import warnings

from .targets import load_target

warnings.warn("upsamplers.analysis.commands is deprecated and goes in the next release: "
              "import load_target from upsamplers.analysis.targets (the commands are in "
              "upsamplers.cli.analysis)", FutureWarning, stacklevel=2)

__all__ = ["load_target"]
