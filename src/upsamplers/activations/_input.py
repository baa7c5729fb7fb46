"""The rules that every activation shares: the input ``(B, C, T)``, real floating
point (float16 and bfloat16 are computed in float32 and returned in their dtype);
the Snakes' ``alpha`` and ``beta`` representable (the Keras layers use the same)."""

from __future__ import annotations

from typing import Any

import torch

from .._checks import InvalidType, InvalidValue, check_real, check_signal


def check_activation_input(x: Any, channels: int | None = None) -> torch.Tensor:
    """``x`` if it is a ``(B, C, T)`` real floating-point tensor (with ``channels``
    channels when given); one line naming the argument otherwise."""
    if isinstance(x, torch.Tensor) and not x.is_floating_point():
        raise InvalidType(f"x must be a real floating-point tensor; received dtype={x.dtype}")
    return check_signal("x", x, channels=channels)


def working_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype an activation computes in: float32 for the half-precision types
    (their range overflows ``exp(log_alpha)`` and their matrix products are not on
    every device), the input's own otherwise."""
    return torch.promote_types(dtype, torch.float32)


#: the range of ``alpha`` and ``beta``: ``exp(log_alpha)``, computed in float32 or
#: wider, must be a normal float32 (``1e39`` overflowed to inf and every output was NaN)
PARAMETER_RANGE = (float(torch.finfo(torch.float32).tiny), float(torch.finfo(torch.float32).max))


def check_parameter(name: str, value: Any) -> float:
    """``value`` as a float if ``exp(log(value))`` is a normal float32 (one line
    naming ``name`` otherwise)."""
    value = check_real(name, value, low=0.0, low_open=True)
    low, high = PARAMETER_RANGE
    if not low <= value <= high:
        raise InvalidValue(f"{name} must be in [{low:.4g}, {high:.4g}] (exp(log_{name}) a "
                           f"normal float32); received {name}={value!r}")
    return value
