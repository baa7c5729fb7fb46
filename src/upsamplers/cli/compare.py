"""The ``upsamplers compare``-family sub-commands (argparse only; the work is in :mod:`upsamplers.compare`)."""

from __future__ import annotations

from ..compare import add_subcommand

__all__ = ["add_subcommand"]
