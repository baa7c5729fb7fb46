"""The ``upsamplers bench``-family sub-commands (argparse only; the work is in :mod:`upsamplers.bench`)."""

from __future__ import annotations

from ..bench import add_subcommand

__all__ = ["add_subcommand"]
