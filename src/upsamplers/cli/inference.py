"""The ``reconstruct`` and ``separate`` sub-commands (argparse only)."""

from __future__ import annotations

from ..inference import add_subcommand

__all__ = ["add_subcommand"]
