"""Activations for audio models, and their anti-aliased form.

* :class:`Snake1d`, :class:`SnakeBeta1d`: Snake activations with learnable
  per-channel parameters in log scale; ``adaa=True`` for first-order
  antiderivative anti-aliasing in closed form.
* :class:`AntiAliasedActivation1d`: any elementwise activation run at ``ratio``
  times the rate between two low-pass filters, in polyphase form;
  :meth:`AntiAliasedActivation1d.bigvgan` is BigVGAN's configuration.
* :func:`make_activation`: any of them by name.

All map ``(B, C, T) -> (B, C, T)``.
"""

from __future__ import annotations

from .antialiased import AntiAliasedActivation1d
from .registry import ANTI_ALIASING, activation_names, make_activation
from .snake import Snake1d, SnakeBeta1d

__all__ = [
    "ANTI_ALIASING",
    "AntiAliasedActivation1d",
    "Snake1d",
    "SnakeBeta1d",
    "activation_names",
    "make_activation",
]
