"""The ``upsamplers audit``, ``lint`` and ``figures`` sub-commands (argparse only)."""

from __future__ import annotations

from ..analysis.commands import add_subcommand

__all__ = ["add_subcommand"]
