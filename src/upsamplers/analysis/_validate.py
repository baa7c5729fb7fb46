"""Validation of the inputs of the analysis functions (numpy only).

Every helper raises :class:`~upsamplers._checks.InvalidType` (a ``TypeError``) or
:class:`~upsamplers._checks.InvalidValue` (a ``ValueError``) naming the argument, what is
allowed and what was received, e.g. ``sample_rate must be a positive finite
number; received sample_rate=-1``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._checks import InvalidType, InvalidValue


def check_rate(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a positive finite number (a sample rate, Hz)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidType(f"{name} must be a positive finite number (Hz); "
                          f"received {name}={value!r}")
    if not math.isfinite(float(value)) or value <= 0:
        raise InvalidValue(f"{name} must be a positive finite number (Hz); "
                           f"received {name}={value!r}")
    return float(value)


def check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidType(f"{name} must be a positive finite number; received {name}={value!r}")
    if not math.isfinite(float(value)) or value <= 0:
        raise InvalidValue(f"{name} must be a positive finite number; received {name}={value!r}")
    return float(value)


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidType(f"{name} must be an integer >= {minimum}; received {name}={value!r}")
    if value < minimum:
        raise InvalidValue(f"{name} must be an integer >= {minimum}; received {name}={value!r}")
    return int(value)


def check_factors(factors: Any, name: str = "factors") -> tuple[int, ...]:
    """``factors`` as a tuple of positive integers, first stage first.

    Accepts one integer (a single stage) or a non-empty sequence of integers.
    """
    if isinstance(factors, numbers.Integral) and not isinstance(factors, bool):
        values: Sequence[Any] = (factors,)
    elif isinstance(factors, Iterable) and not isinstance(factors, (str, bytes)):
        values = tuple(factors)
    else:
        raise InvalidType(f"{name} must be a positive integer or a sequence of positive integers; "
                          f"received {name}={factors!r}")
    if not values:
        raise InvalidValue(f"{name} must name at least one upsampling factor; received {name}=()")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InvalidValue(f"{name} must be positive integers; received {name}={factors!r}")
        out.append(int(value))
    return tuple(out)


def check_audio(name: str, signal: Any) -> np.ndarray:
    """Return ``signal`` as a float64 array of shape ``(C, T)``.

    Accepts ``(T,)`` (one channel) or ``(C, T)``; rejects empty and non-finite input.
    """
    try:
        array = np.asarray(signal)
    except Exception as error:  # pragma: no cover - numpy raises many kinds
        raise InvalidType(f"{name} must be an array of numbers; received "
                          f"{type(signal).__name__}") from error
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise InvalidType(f"{name} must be an array of real numbers; received dtype={array.dtype}")
    if np.iscomplexobj(array):
        raise InvalidType(f"{name} must be real; received dtype={array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidValue(f"{name} must have shape (T,) or (C, T); received shape {array.shape}")
    if array.size == 0:
        raise InvalidValue(f"{name} must not be empty; received shape {array.shape}")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise InvalidValue(f"{name} must be finite; received {bad} NaN or infinite samples")
    return array


def check_fraction_list(name: str, values: Any) -> tuple[float, ...]:
    """A non-empty sequence of numbers in (0, 1]."""
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise InvalidType(f"{name} must be a sequence of numbers in (0, 1]; "
                          f"received {name}={values!r}") from None
    if not out or any(not (0 < v <= 1) for v in out):
        raise InvalidValue(f"{name} must be a non-empty sequence of numbers in (0, 1]; "
                           f"received {name}={values!r}")
    return out


#: Most samples (samples times channels, of its input and of its output each)
#: one probe of the analysis may hold: 2**27, 0.5 GiB in float32 (a few copies
#: are made while it is measured).
MAX_PROBE_SAMPLES = 2 ** 27


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number (NaN and infinities
    are refused: a NaN threshold compares false with every level)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidType(f"{name} must be a finite real number; received {name}={value!r}")
    if not math.isfinite(float(value)):
        raise InvalidValue(f"{name} must be a finite real number; received {name}={value!r}")
    return float(value)


def check_duration(name: str, seconds: Any, sample_rate: float, channels: int = 1) -> float:
    """Return ``seconds`` (a probe's output duration) if it is positive, finite and
    ``seconds * sample_rate * channels`` is at most :data:`MAX_PROBE_SAMPLES`."""
    seconds = check_positive_float(name, seconds)
    samples = seconds * sample_rate * channels
    if samples > MAX_PROBE_SAMPLES:
        most = MAX_PROBE_SAMPLES / (sample_rate * channels)
        per = f" x {channels} channels" if channels > 1 else ""
        raise InvalidValue(
            f"{name} must be at most {most:.6g} s at {sample_rate:g} Hz{per} "
            f"({MAX_PROBE_SAMPLES:,} samples, upsamplers.analysis._validate.MAX_PROBE_SAMPLES); "
            f"received {name}={seconds!r} ({samples:.3g} samples)")
    return seconds


def check_probe_seconds(name: str, seconds: Any, *, input_rate: float, in_channels: int,
                        output_rate: float, out_channels: int) -> float:
    """Return ``seconds`` (a probe's duration) if both arrays a probe allocates fit:
    its input, ``seconds * input_rate * in_channels`` samples, and its output,
    ``seconds * output_rate * out_channels``, each at most :data:`MAX_PROBE_SAMPLES`
    (a latent decoder's input is few samples of many channels, its output many
    samples of few). The message names both."""
    seconds = check_positive_float(name, seconds)
    sides = (("input", input_rate, in_channels), ("output", output_rate, out_channels))
    if all(seconds * rate * c <= MAX_PROBE_SAMPLES for _, rate, c in sides):
        return seconds
    most = MAX_PROBE_SAMPLES / max(rate * c for _, rate, c in sides)
    held = ", ".join(f"{side} {seconds * rate * c:.3g} samples ({rate:g} Hz x {c} channels)"
                     for side, rate, c in sides)
    raise InvalidValue(
        f"{name} must be at most {most:.6g} s: a probe's input and output must each hold at "
        f"most {MAX_PROBE_SAMPLES:,} samples (upsamplers.analysis._validate.MAX_PROBE_SAMPLES); "
        f"received {name}={seconds!r}: {held}")


#: Output rates above which a given ``--sample-rate`` is read as a mistake (Hz).
MAX_PLAUSIBLE_RATE = 10e6


def implausible_rate(output_rate: float, ratio: float) -> str | None:
    """Why ``output_rate`` (the model's output rate, Hz) is implausible for a model
    whose output has ``ratio`` samples per input sample, or ``None``: an implied
    input rate below 1 Hz (a factor above the rate), or a rate above 10 MHz, most
    often the input rate given where the output rate is meant or the reverse."""
    if ratio <= 0:
        return None
    input_rate = output_rate / ratio
    if input_rate < 1.0:
        why = (f"the model's rate ratio {ratio:g} exceeds it: its input rate would be "
               f"{input_rate:.3g} Hz")
    elif output_rate > MAX_PLAUSIBLE_RATE:
        why = f"it is above {MAX_PLAUSIBLE_RATE:g} Hz (input rate {input_rate:.6g} Hz)"
    else:
        return None
    return (f"--sample-rate {output_rate:g} is the model's OUTPUT rate, but {why}; "
            "check that you gave the rate of the audio the model produces")

