"""Validation of user input, shared by every public entry point, and the
exception types that mark an error as the user's.

Each helper raises :class:`InvalidValue` (a ``ValueError``) or
:class:`InvalidType` (a ``TypeError``) whose message names the argument, what is
allowed and what was received, e.g.
``factor must be a positive integer; received factor=2.5``.

Both derive from :class:`UserInputError`, as does :class:`UserFileError` (a
file or folder the user named is missing, unreadable, or in the way). The
command line turns exactly these into one line and exit status 2; any other
exception is a bug and is shown as one.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import torch


class UserInputError(Exception):
    """An error in what the user gave: an argument, a file, a folder. The command
    line prints its message as one line and exits with status 2."""


class InvalidValue(UserInputError, ValueError):
    """A user-supplied value is out of range or not one of the allowed ones."""


class InvalidType(UserInputError, TypeError):
    """A user-supplied value has the wrong type."""


class UserFileError(UserInputError):
    """A file or folder the user named is missing, unreadable, of the wrong kind,
    or would be overwritten."""


def missing_file(path: Any) -> str:
    """Why ``path``, which must be a file, is not one: ``"does not exist"`` or
    ``"is a folder, not a file"`` (for messages such as ``f"checkpoint {path} {why}"``)."""
    from pathlib import Path

    return "is a folder, not a file" if Path(path).is_dir() else "does not exist"


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InvalidType(f"{name} must be {kind}; received {name}={value!r}")
    if value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InvalidValue(f"{name} must be {kind}; received {name}={value!r}")
    return int(value)


def check_real(name: str, value: Any, *, low: float, high: float = math.inf,
                low_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number in the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidType(f"{name} must be a real number; received {name}={value!r}")
    value = float(value)
    above = value > low if low_open else value >= low
    if not (above and value <= high and math.isfinite(value)):
        lo = "(" if low_open else "["
        hi = "inf)" if high == math.inf else f"{high:g}]"
        raise InvalidValue(f"{name} must be in {lo}{low:g}, {hi}; received {name}={value!r}")
    return value


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed`` (strings)."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise InvalidValue(f"{name} must be one of {listed}; received {name}={value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidType(f"{name} must be True or False; received {name}={value!r}")
    return value


def check_signal(name: str, x: Any, *, channels: int | None = None) -> torch.Tensor:
    """Check a ``(B, C, T)`` floating-point tensor with ``T >= 1``.

    ``channels``, when given, is the channel count the caller expects.
    """
    if not isinstance(x, torch.Tensor):
        raise InvalidType(f"{name} must be a torch.Tensor of shape (B, C, T); "
                          f"received {type(x).__name__}")
    if x.dim() != 3:
        raise InvalidValue(f"{name} must have shape (B, C, T) (3 dimensions); "
                           f"received shape {tuple(x.shape)}")
    if not (x.is_floating_point() or x.is_complex()):
        raise InvalidType(f"{name} must be a floating-point tensor; received dtype={x.dtype}")
    if x.shape[-1] < 1:
        raise InvalidValue(f"{name} must have at least one time step (T >= 1); "
                           f"received shape {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise InvalidValue(f"{name} must have {channels} channels (dimension 1 of (B, C, T)); "
                           f"received shape {tuple(x.shape)}")
    return x
