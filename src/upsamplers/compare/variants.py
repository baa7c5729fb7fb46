"""The upsampler *variants* a compare run can train: a layer kind and its options,
under a short name (a row of the report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variant:
    """An upsampler to compare: a kind and its options, under a short name."""

    name: str
    kind: str
    options: tuple[tuple[str, Any], ...] = ()
    description: str = ""

    @property
    def upsampler_options(self) -> dict[str, Any]:
        return dict(self.options)


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("transposed", "transposed", (), "transposed convolution, default init"),
    Variant("transposed-nearest", "transposed", (("init", "nearest"),),
            "transposed convolution, nearest-neighbour init"),
    Variant("subpixel", "subpixel", (), "subpixel convolution, default init"),
    Variant("subpixel-icnr", "subpixel", (("init", "icnr"),), "subpixel convolution, ICNR init"),
    Variant("nearest", "nearest", (), "nearest interpolation + conv (polyphase)"),
    Variant("linear", "linear", (), "linear interpolation + conv (polyphase)"),
    Variant("sinc", "sinc", (), "windowed-sinc interpolation + conv (polyphase)"),
    Variant("nearest-naive", "nearest", (("impl", "naive"),),
            "nearest interpolation + conv, naive (high-rate) form"),
    Variant("linear-naive", "linear", (("impl", "naive"),),
            "linear interpolation + conv, naive (high-rate) form"),
    Variant("sinc-naive", "sinc", (("impl", "naive"),),
            "windowed-sinc interpolation + conv, naive (high-rate) form"),
    Variant("resample", "resample", (),
            "resampling upsampler: conv at the low rate + fixed sinc low-pass (90 dB)"),
)}
# the four of Pons et al. (2021), Table 1; the others (ICNR and nearest inits, sinc,
# resample) on request: each variant costs one training run per seed
DEFAULT_VARIANTS = ("transposed", "subpixel", "nearest", "linear")
# the naive form timed beside each polyphase interpolation kind
NAIVE_OF = {"nearest": "nearest-naive", "linear": "linear-naive", "sinc": "sinc-naive"}
# the variant every step time is divided by
REFERENCE = "subpixel"
