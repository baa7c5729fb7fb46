"""The ``upsamplers train``-family sub-commands (argparse only; the work is in :mod:`upsamplers.train`)."""

from __future__ import annotations

from ..train import add_subcommand

__all__ = ["add_subcommand"]
