"""Deprecated module, kept for one release: the shuffle functions moved to
:mod:`upsamplers.ops.shuffle` and the modules to :mod:`upsamplers.layers.shuffle`
(all are exported by :mod:`upsamplers` itself)."""

from __future__ import annotations

import warnings

from .layers.shuffle import PeriodicShuffle1d, PeriodicUnshuffle1d
from .ops.shuffle import ORDERS, Order, periodic_shuffle, periodic_unshuffle

warnings.warn("upsamplers.shuffle is deprecated and goes in the next release: import "
              "periodic_shuffle and PeriodicShuffle1d from upsamplers (or upsamplers.ops / "
              "upsamplers.layers)", FutureWarning, stacklevel=2)

__all__ = ["ORDERS", "Order", "PeriodicShuffle1d", "PeriodicUnshuffle1d", "periodic_shuffle",
           "periodic_unshuffle"]
