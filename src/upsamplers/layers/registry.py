"""Upsamplers by name: :func:`make_upsampler` and :func:`upsampler_kinds`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from .._checks import InvalidType, check_choice
from .base import Upsampler
from .interpolation import InterpUpsample1d, SincUpsample1d
from .istft import ISTFTUpsample1d
from .resample import ResampleUpsample1d
from .subpixel import SubPixel1d
from .transposed import TransposedUpsample1d

# kind -> (class, options fixed by the kind)
_KINDS: dict[str, tuple[type[Upsampler], dict[str, Any]]] = {
    "transposed": (TransposedUpsample1d, {}),
    "subpixel": (SubPixel1d, {}),
    "nearest": (InterpUpsample1d, {"mode": "nearest"}),
    "linear": (InterpUpsample1d, {"mode": "linear"}),
    "sinc": (SincUpsample1d, {}),
    "resample": (ResampleUpsample1d, {}),
    "istft": (ISTFTUpsample1d, {}),
}


def upsampler_kinds() -> tuple[str, ...]:
    """The names :func:`make_upsampler` accepts."""
    return tuple(_KINDS)


def check_upsampler_options(kind: str, options: Mapping[str, Any],
                            name: str = "upsampler_options") -> None:
    """``InvalidType`` naming the first of ``options`` that the class of ``kind``
    does not take as a keyword argument, and those it takes (before anything is
    built: an unknown keyword was a raw ``TypeError`` from the constructor)."""
    kind = check_choice("kind", kind, _KINDS)
    cls, fixed = _KINDS[kind]
    skip = {"self", "in_channels", "out_channels", "factor", *fixed}
    known = sorted(p.name for p in inspect.signature(cls.__init__).parameters.values()
                   if p.name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    unknown = sorted(set(options) - set(known) - set(fixed))
    if unknown:
        raise InvalidType(f"{name}: {kind} upsamplers ({cls.__name__}) take no argument "
                          f"{', '.join(unknown)}; they take {', '.join(known)}; received "
                          f"{name}={dict(options)!r}")


def make_upsampler(
    kind: str, in_channels: int, out_channels: int, factor: int, **options: Any
) -> Upsampler:
    """Build an upsampler by name.

    Args:
        kind: one of :func:`upsampler_kinds` (``"transposed"``, ``"subpixel"``,
            ``"nearest"``, ``"linear"``, ``"sinc"``, ``"resample"``, ``"istft"``).
        in_channels, out_channels, factor: as for every layer.
        **options: keyword arguments of the layer's class (``kernel_size``,
            ``bias``, ``init``, ``order``, ...).

    Shape:
        the returned module maps ``(B, C_in, T) -> (B, C_out, T * factor)``.

    Example:
        >>> up = make_upsampler("subpixel", 16, 8, 4, init="icnr")
        >>> up(torch.randn(2, 16, 100)).shape
        torch.Size([2, 8, 400])
    """
    kind = check_choice("kind", kind, _KINDS)
    cls, fixed = _KINDS[kind]
    clash = sorted(set(fixed) & set(options))
    if clash:
        raise InvalidType(
            f"kind={kind!r} fixes {', '.join(f'{k}={fixed[k]!r}' for k in clash)}; "
            f"do not pass {', '.join(clash)}"
        )
    check_upsampler_options(kind, options, "options")
    return cls(in_channels, out_channels, factor, **fixed, **options)
