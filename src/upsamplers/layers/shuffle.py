"""Module forms of the periodic shuffle (:func:`upsamplers.ops.periodic_shuffle`)."""

from __future__ import annotations

from typing import NoReturn

import torch
from torch import nn

from .._checks import check_choice, check_positive_int
from ..ops.shuffle import ORDERS, Order, periodic_shuffle, periodic_unshuffle
from .base import refuse_script


class PeriodicShuffle1d(nn.Module):
    """Module form of :func:`periodic_shuffle`.

    Shape:
        ``(B, C * factor, T) -> (B, C, T * factor)``
    """

    def __init__(self, factor: int, *, order: Order = "channel") -> None:
        super().__init__()
        self.factor = check_positive_int("factor", factor)
        self.order: str = check_choice("order", order, ORDERS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return periodic_shuffle(x, self.factor, order=self.order)  # type: ignore[arg-type]

    def __prepare_scriptable__(self) -> NoReturn:
        """``torch.jit.script`` is refused here (:func:`~upsamplers.layers.base.refuse_script`)."""
        refuse_script(self)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, order={self.order!r}"


class PeriodicUnshuffle1d(nn.Module):
    """Module form of :func:`periodic_unshuffle`.

    Shape:
        ``(B, C, T * factor) -> (B, C * factor, T)``
    """

    def __init__(self, factor: int, *, order: Order = "channel") -> None:
        super().__init__()
        self.factor = check_positive_int("factor", factor)
        self.order: str = check_choice("order", order, ORDERS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return periodic_unshuffle(x, self.factor, order=self.order)  # type: ignore[arg-type]

    def __prepare_scriptable__(self) -> NoReturn:
        """``torch.jit.script`` is refused here (:func:`~upsamplers.layers.base.refuse_script`)."""
        refuse_script(self)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, order={self.order!r}"
