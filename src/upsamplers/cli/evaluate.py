"""The ``upsamplers evaluate`` sub-command (argparse only)."""

from __future__ import annotations

from ..evaluate import add_subcommand

__all__ = ["add_subcommand"]
