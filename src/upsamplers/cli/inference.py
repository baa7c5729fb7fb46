"""The ``upsamplers inference``-family sub-commands (argparse only; the work is in :mod:`upsamplers.inference`)."""

from __future__ import annotations

from ..inference import add_subcommand

__all__ = ["add_subcommand"]
