"""Files written so that nothing the user had is lost: every write goes to a
temporary file in the same folder and is renamed over the target, so a reader
(or a crash) sees the old file or the new one, never a partial one.

Also :func:`plain`, which turns configuration and result values into plain,
JSON-ready Python.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ._checks import UserFileError


def refuse_overwrite(paths: Iterable[str | os.PathLike[str]], force: bool) -> None:
    """Raise :class:`~upsamplers._checks.UserFileError` naming those of ``paths``
    that exist, unless ``force``: no output replaces a user's file unasked."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not force:
        raise UserFileError(f"{', '.join(existing)} already exist; pass --force to overwrite")


def temporary_path(path: str | os.PathLike[str]) -> Path:
    """The temporary name :func:`atomic_write` uses for ``path``: hidden, in the
    same folder, with the process id, and the same suffix (audio writers pick the
    format from it)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it is flushed to disk and
    renamed over ``path``, on failure it is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _sync_folder(path.parent)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(handle)`` on a binary handle to a temporary file, then rename
    it over ``path`` (see :func:`atomic_path`)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        write(handle)
        handle.flush()
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` to ``path`` atomically; creates the folder if needed."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda handle: torch.save(obj, handle))


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def plain(value: Any, *, strict: bool = False, infinities: bool = False) -> Any:
    """``value`` as plain Python: mappings with string keys, lists for tuples,
    numbers for numpy scalars, ``None`` for non-finite floats.

    With ``infinities=True`` a measured infinity stays visible as the string
    ``"inf"`` / ``"-inf"`` (e.g. ``-inf`` dB for an exact zero); only NaN becomes
    ``None``. With ``strict=True`` nothing is converted (floats stay as they are)
    and anything but plain values (an object, a tensor, a numpy scalar) raises
    ``TypeError``: model configurations must rebuild exactly.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v, strict=strict, infinities=infinities) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, strict=strict, infinities=infinities) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0 and not strict:
        value = value.item()  # numpy (or torch) scalar
    if isinstance(value, float) and not math.isfinite(value) and not strict:
        if infinities and not math.isnan(value):
            return "-inf" if value < 0 else "inf"
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"configuration values must be plain Python values; "
                    f"received {type(value).__name__}: {value!r}")
