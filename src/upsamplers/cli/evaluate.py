"""The ``upsamplers evaluate``-family sub-commands (argparse only; the work is in :mod:`upsamplers.evaluate`)."""

from __future__ import annotations

from ..evaluate import add_subcommand

__all__ = ["add_subcommand"]
