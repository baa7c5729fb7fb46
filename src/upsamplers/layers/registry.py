"""Upsamplers by name: :func:`make_upsampler` and :func:`upsampler_kinds`."""

from __future__ import annotations

from typing import Any

from .._checks import InvalidType, check_choice
from .base import Upsampler
from .interpolation import InterpUpsample1d, SincUpsample1d
from .subpixel import SubPixel1d
from .transposed import TransposedUpsample1d

# kind -> (class, options fixed by the kind)
_KINDS: dict[str, tuple[type[Upsampler], dict[str, Any]]] = {
    "transposed": (TransposedUpsample1d, {}),
    "subpixel": (SubPixel1d, {}),
    "nearest": (InterpUpsample1d, {"mode": "nearest"}),
    "linear": (InterpUpsample1d, {"mode": "linear"}),
    "sinc": (SincUpsample1d, {}),
}


def upsampler_kinds() -> tuple[str, ...]:
    """The names :func:`make_upsampler` accepts."""
    return tuple(_KINDS)


def make_upsampler(
    kind: str, in_channels: int, out_channels: int, factor: int, **options: Any
) -> Upsampler:
    """Build an upsampler by name.

    Args:
        kind: one of :func:`upsampler_kinds` (``"transposed"``, ``"subpixel"``,
            ``"nearest"``, ``"linear"``, ...).
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
    return cls(in_channels, out_channels, factor, **fixed, **options)
