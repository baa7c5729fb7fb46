"""The ``upsamplers bench`` sub-command (argparse only)."""

from __future__ import annotations

from ..bench import add_subcommand

__all__ = ["add_subcommand"]
