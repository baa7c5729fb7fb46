"""Files written so that nothing the user had is lost: every write goes to a
temporary file in the same folder and is renamed over the target, so a reader
(or a crash) sees the old file or the new one, never a partial one.

Also :func:`plain`, which turns configuration and result values into plain,
JSON-ready Python.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ._checks import UserFileError

NAME_MAX = 255  # bytes in one file name (Linux, macOS, Windows)
LOCK = ".lock"  # the lock file of a run folder (:class:`RunLock`)
SPACE_MARGIN = 16 * 2**20  # bytes left free on top of a command's estimate

# write failures a user can act on (turned into one UserFileError line), by errno
_WRITE_FAILURES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file is larger than this process may write (file size limit)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "an input/output error on the disk",
}


def _size(nbytes: float) -> str:
    """``nbytes`` for people: ``'512 B'``, ``'3.4 MiB'``, ``'1.2 GiB'``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{int(nbytes)} B"


def _existing_folder(path: Path) -> Path:
    """The nearest existing folder on the way up from ``path``."""
    for part in (path, *path.parents):
        if part.is_dir():
            return part
    return Path(".")


def free_space(folder: str | os.PathLike[str]) -> int:
    """Bytes free to this process on the disk that holds (or would hold) ``folder``."""
    return shutil.disk_usage(_existing_folder(Path(folder))).free


def check_space(folder: str | os.PathLike[str], nbytes: int, what: str = "the outputs") -> None:
    """Raise one :class:`~upsamplers._checks.UserFileError` line when the disk that
    holds ``folder`` has less than ``nbytes`` (a command's estimate of what it
    will write) plus :data:`SPACE_MARGIN` free: refused before the compute, not
    after it."""
    free = free_space(folder)
    if nbytes + SPACE_MARGIN > free:
        raise UserFileError(
            f"not enough free space for {what} in {folder}: about {_size(nbytes)} needed "
            f"(+{_size(SPACE_MARGIN)} margin), {_size(free)} free; free some space or "
            "choose another output")


def write_failure(path: str | os.PathLike[str], error: BaseException) -> UserFileError | None:
    """The one-line :class:`~upsamplers._checks.UserFileError` for a failed write of
    ``path`` (full disk, quota, file size limit, read-only or forbidden folder),
    or ``None`` when ``error`` is not such a failure (a bug: let it propagate)."""
    if not isinstance(error, OSError) or error.errno not in _WRITE_FAILURES:
        return None
    reason = _WRITE_FAILURES[error.errno]
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        with contextlib.suppress(OSError):
            reason += f" ({_size(free_space(Path(path).parent))} free)"
    return UserFileError(f"cannot write {path}: {reason}; any earlier {Path(path).name} is "
                         "unchanged and no partial file is left")


def refuse_overwrite(paths: Iterable[str | os.PathLike[str]], force: bool) -> None:
    """Raise :class:`~upsamplers._checks.UserFileError` naming those of ``paths``
    that exist, unless ``force``: no output replaces a user's file unasked."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not force:
        raise UserFileError(f"{', '.join(existing)} already exist; pass --force to overwrite")


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (links and hard links included), or
    ``b`` is a folder and ``a`` an existing file under it (a folder input is
    read whole)."""
    real_a, real_b = os.path.realpath(a), os.path.realpath(b)
    if real_a == real_b:
        return True
    if b.is_dir() and a.exists() and real_a.startswith(real_b.rstrip(os.sep) + os.sep):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def make_folder(folder: str | os.PathLike[str], what: str = "out") -> Path:
    """Create ``folder`` (and its parents) or raise one clear
    :class:`~upsamplers._checks.UserFileError`: a path that is a file, or one
    that cannot be created."""
    folder = Path(folder)
    for part in (folder, *folder.parents):
        if part.exists() and not part.is_dir():
            raise UserFileError(f"{what} must be a folder; {str(part)!r} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserFileError(f"cannot create the folder {str(folder)!r}: "
                            f"{error.strerror or error}") from None
    return folder


def check_outputs(outputs: Iterable[str | os.PathLike[str]],
                  inputs: Iterable[str | os.PathLike[str]] = (), force: bool = False,
                  nbytes: int = 0) -> list[Path]:
    """Check the files a command will write, before it computes anything, and
    that their folders exist or can be created; raise one :class:`~upsamplers._checks.UserFileError`
    line otherwise. An output may not be an input of the same run (compared
    resolved, and by :func:`os.path.samefile` for links), even with ``force``;
    may not be a folder, nor have a name over :data:`NAME_MAX` bytes; an
    existing output is replaced only with ``force``; the disk must have about
    ``nbytes`` (the command's estimate of what it writes) free
    (:func:`check_space`). Returns the outputs."""
    outputs = [Path(p) for p in outputs]
    inputs = [Path(p) for p in inputs]
    for path in outputs:
        if len(os.fsencode(path.name)) > NAME_MAX:
            raise UserFileError(f"output name {path.name[:40]!r}... is longer than "
                                f"{NAME_MAX} bytes; choose a shorter one")
        for source in inputs:
            if _same_file(path, source):
                raise UserFileError(f"output {path} is the input file {source} of this "
                                    "run; it is never overwritten, choose another output")
        if path.is_dir():
            raise UserFileError(f"output {path} is a folder; name a file")
    refuse_overwrite(outputs, force)
    folders = list(dict.fromkeys(path.parent for path in outputs))
    for folder in folders:
        _check_creatable(folder, "the folder of an output")
    if folders:
        check_space(folders[0], nbytes)
    return outputs


def _check_creatable(folder: Path, what: str) -> None:
    """Raise one :class:`~upsamplers._checks.UserFileError` line unless ``folder``
    exists or can be created: no file on its path, and its nearest existing
    ancestor a folder this process may write. Nothing is created here (the
    writers create the folder when they write), so a command refused later
    leaves no empty folder behind."""
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise UserFileError(f"{what} must be a folder; {str(part)!r} is a file")
            if part != folder and not os.access(part, os.W_OK | os.X_OK):
                raise UserFileError(f"cannot create the folder {str(folder)!r}: "
                                    f"{str(part)!r} is not writable")
            return


def temporary_path(path: str | os.PathLike[str]) -> Path:
    """The temporary name :func:`atomic_write` uses for ``path``: hidden, in the
    same folder, with the process id, and the same suffix (audio writers pick the
    format from it); the name is shortened to stay within :data:`NAME_MAX` bytes."""
    path = Path(path)
    tail = f".{os.getpid()}.tmp{path.suffix}"
    name = path.name
    while len(os.fsencode(f".{name}{tail}")) > NAME_MAX:
        name = name[:-1]
    return path.with_name(f".{name}{tail}")


def _lock_holder(lock: Path) -> int | None:
    """The process id in ``lock`` if that process is alive, else ``None``."""
    try:
        pid = int(lock.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        return pid
    except OSError:  # pragma: no cover - e.g. platforms without signal 0
        return pid
    return pid


def lock_holder(folder: str | os.PathLike[str]) -> int | None:
    """The id of the live process that holds ``folder``'s :class:`RunLock` (a run
    writing there now), else ``None``: no lock file, or one left by a process that
    has ended. Only reads."""
    path = Path(folder) / LOCK
    return _lock_holder(path) if path.is_file() else None


def _try_lock(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` without waiting; ``True`` on success
    (and on platforms without ``fcntl``, where the process id alone decides)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class RunLock:
    """``with RunLock(folder):`` holds ``folder`` (created if needed) for one
    run: the file ``folder/.lock`` holds this process's id while the block runs.
    A second run on the folder is refused with a
    :class:`~upsamplers._checks.UserFileError` naming the holder's id; a lock
    left by a process that no longer runs is taken over. A folder the lock
    created is removed again if the run left it empty (a refused run).

    The holder also keeps an exclusive ``flock`` on the file (released by the
    kernel when it dies), so two runs starting or taking over a stale lock at
    the same moment cannot both go ahead: reading, checking and writing the
    process id happen under that lock."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.created = False
        self._fd: int | None = None

    def _holder_once_written(self, seconds: float = 2.0) -> int | None:
        """The live process id in the lock file, waiting up to ``seconds`` for a
        holder that has the ``flock`` but has not written its id yet (two runs
        started at the same moment)."""
        deadline = time.monotonic() + seconds
        while True:
            holder = _lock_holder(self.path)
            if holder is not None or time.monotonic() > deadline:
                return holder
            time.sleep(0.02)

    def _refuse(self, holder: int | None) -> UserFileError:
        who = f"process {holder}" if holder is not None else "a process starting now"
        return UserFileError(f"{self.folder} is in use by another run ({who}, lock file "
                             f"{self.path}); wait for it or choose another --out")

    def __enter__(self) -> RunLock:
        self.created = not self.folder.exists()
        make_folder(self.folder)
        for _ in range(3):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not _try_lock(fd):
                    raise self._refuse(self._holder_once_written())
                if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                    os.close(fd)  # the holder ended and removed the file meanwhile
                    continue
                holder = _lock_holder(self.path)
                if holder is not None and holder != os.getpid():
                    raise self._refuse(holder)  # a holder without flock (older version)
                self._write_pid(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
            self._fd = fd
            return self
        raise UserFileError(f"cannot lock {self.folder}: {self.path} keeps being replaced")

    def _write_pid(self, fd: int) -> None:
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.fsync(fd)
        except OSError as error:
            failure = write_failure(self.path, error)
            if failure is None:
                raise
            raise failure from None

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError, ValueError):
            if int(self.path.read_text().strip()) == os.getpid():
                self.path.unlink()  # while still holding the flock
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self.created:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only if empty


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it is flushed to disk and
    renamed over ``path``, on failure it is removed and ``path`` is untouched.
    ``path``'s folder is created when missing (:func:`check_outputs` only checked
    that it can be)."""
    path = Path(path)
    make_folder(path.parent, "the folder of an output")
    tmp = temporary_path(path)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        failure = write_failure(path, error)
        if failure is None:
            raise
        raise failure from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    _sync_folder(path.parent)


class _Recording:
    """A binary handle that remembers the first ``OSError`` its writes raised:
    libraries that write through a handle (``torch.save``, ``soundfile``) hide
    that cause behind an error of their own. With ``short_writes`` a failed
    write returns 0 bytes written instead of raising (for writers that call
    ``write`` from a C callback, where an exception is only printed)."""

    def __init__(self, handle: IO[bytes], short_writes: bool = False) -> None:
        self._handle = handle
        self._short_writes = short_writes
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._handle.write(data)
        except OSError as error:
            self.error = self.error or error
            if self._short_writes:
                return 0
            raise

    def flush(self) -> None:
        try:
            self._handle.flush()
        except OSError as error:
            self.error = self.error or error
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any], *,
                 short_writes: bool = False) -> Path:
    """Call ``write(handle)`` on a binary handle to a temporary file, then rename
    it over ``path`` (see :func:`atomic_path`). A write that fails for a reason
    the user can act on (a full disk, :func:`write_failure`) is one
    :class:`~upsamplers._checks.UserFileError`, even when the writer hid it
    behind an error of its own or ignored it; ``short_writes`` is for writers
    that call ``write`` from C (soundfile): a failed write returns 0 instead of
    raising."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        handle = _Recording(raw, short_writes)
        try:
            write(handle)  # type: ignore[arg-type]
            handle.flush()
        except Exception as error:
            hidden = handle.error is not None and not isinstance(error, OSError)
            failure = write_failure(path, handle.error) if hidden else None
            if failure is None:
                raise
            raise failure from None
        if handle.error is not None:  # the writer ignored a failed write
            failure = write_failure(path, handle.error)
            raise failure if failure is not None else handle.error
    return path


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` (UTF-8) to ``path`` and flush it (a log line). A failed
    append (a full disk, :func:`write_failure`) is cut back off, so the file
    ends as it was, and raised as one :class:`~upsamplers._checks.UserFileError`."""
    with open(path, "a", encoding="utf-8") as handle:
        start = handle.tell()
        try:
            handle.write(text)
            handle.flush()
        except OSError as error:
            with contextlib.suppress(OSError):
                os.truncate(path, start)
            failure = write_failure(path, error)
            if failure is None:
                raise
            raise failure from None


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
