"""The ``upsamplers train`` sub-command (argparse only)."""

from __future__ import annotations

from ..train import add_subcommand

__all__ = ["add_subcommand"]
