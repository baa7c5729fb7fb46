"""Activations by name: :func:`make_activation` and :func:`activation_names`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .._checks import InvalidType, check_choice, check_positive_int, check_real
from .antialiased import AntiAliasedActivation1d
from .snake import Snake1d, SnakeBeta1d

#: the forms ``anti_aliased`` takes (``None``: the plain activation)
ANTI_ALIASING = ("default", "bigvgan")


def _leaky_relu(channels: int, negative_slope: float = 0.01) -> nn.Module:
    return nn.LeakyReLU(check_real("negative_slope", negative_slope, low=0.0, high=1.0))


_NAMES: dict[str, Callable[..., nn.Module]] = {
    "relu": lambda channels: nn.ReLU(),
    "leaky_relu": _leaky_relu,
    "tanh": lambda channels: nn.Tanh(),
    "snake": lambda channels, **o: Snake1d(channels, **o),
    "snakebeta": lambda channels, **o: SnakeBeta1d(channels, **o),
    "snakebeta_adaa": lambda channels, **o: SnakeBeta1d(channels, adaa=True, **o),
}

#: the options each name takes (``snakebeta_adaa`` fixes ``adaa``)
_OPTIONS: dict[str, tuple[str, ...]] = {
    "relu": (), "leaky_relu": ("negative_slope",), "tanh": (),
    "snake": ("alpha", "trainable", "adaa"),
    "snakebeta": ("alpha", "beta", "trainable", "adaa"),
    "snakebeta_adaa": ("alpha", "beta", "trainable"),
}


def check_activation_options(name: str, options: dict[str, Any]) -> None:
    """Refuse, in one line, an option activation ``name`` does not take (the
    PyTorch and Keras factories alike)."""
    unknown = sorted(set(options) - set(_OPTIONS[name]))
    if unknown:
        takes = ", ".join(_OPTIONS[name]) or "none"
        raise InvalidType(f"{name} takes no option {', '.join(unknown)} (its options: {takes}); "
                          f"received options={options!r}")


def activation_names() -> tuple[str, ...]:
    """The names :func:`make_activation` accepts."""
    return tuple(_NAMES)


def make_activation(name: str, channels: int = 1, *, anti_aliased: str | None = None,
                    ratio: int = 2, **options: Any) -> nn.Module:
    """Build an activation by name.

    Args:
        name: one of :func:`activation_names`.
        channels: ``C`` (the Snake family learns per channel).
        anti_aliased: ``None`` (the plain activation), ``"default"``
            (:class:`AntiAliasedActivation1d` with its default filter) or
            ``"bigvgan"`` (:meth:`AntiAliasedActivation1d.bigvgan`).
        ratio: the oversampling of the anti-aliased forms.
        **options: keyword arguments of the activation (``negative_slope`` of
            ``leaky_relu``; ``alpha``, ``beta``, ``trainable`` of the Snakes).

    Shape: ``(B, C, T) -> (B, C, T)``.
    """
    name = check_choice("name", name, _NAMES)
    channels = check_positive_int("channels", channels)
    if anti_aliased is not None:
        check_choice("anti_aliased", anti_aliased, ANTI_ALIASING)
    check_activation_options(name, options)
    activation = _NAMES[name](channels, **options)
    if anti_aliased == "default":
        return AntiAliasedActivation1d(activation, ratio)
    if anti_aliased == "bigvgan":
        return AntiAliasedActivation1d.bigvgan(activation, ratio)
    return activation
