"""The ``upsamplers compare`` sub-command (argparse only)."""

from __future__ import annotations

from ..compare import add_subcommand

__all__ = ["add_subcommand"]
