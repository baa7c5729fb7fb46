"""The input rule that every activation module shares: ``(B, C, T)``, real floating
point (float16 and bfloat16 are computed in float32 and returned in their dtype)."""

from __future__ import annotations

from typing import Any

import torch

from .._checks import InvalidType, check_signal


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
