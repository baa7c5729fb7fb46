"""Output files of the commands: refuse to overwrite them without ``--force``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .._checks import UserFileError


def refuse_overwrite(paths: Iterable[Path], force: bool) -> None:
    """Raise :class:`~upsamplers._checks.UserFileError` naming those of ``paths``
    that exist, unless ``force``."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise UserFileError(f"{', '.join(existing)} already exist; pass --force to overwrite")
