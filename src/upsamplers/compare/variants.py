"""The upsampler *variants* a compare run can train: a layer kind and its options,
and the model options that go with them (the vocoder's activations), under a
short name (a row of the report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variant:
    """An upsampler to compare: a kind and its options, under a short name;
    ``model_options``: constructor arguments of the task's model laid over the
    task's (e.g. the vocoder's ``activation`` and ``anti_aliased``), for a
    variant that differs in more than its upsampler."""

    name: str
    kind: str
    options: tuple[tuple[str, Any], ...] = ()
    description: str = ""
    model_options: tuple[tuple[str, Any], ...] = ()

    @property
    def upsampler_options(self) -> dict[str, Any]:
        return dict(self.options)

    @property
    def model_overrides(self) -> dict[str, Any]:
        """``model_options`` as a dictionary (laid over the task's model options)."""
        return dict(self.model_options)


def _activations(activation: str, anti_aliased: str | None) -> tuple[tuple[str, Any], ...]:
    """The model options of a vocoder variant: its activation, plain or anti-aliased."""
    return (("activation", activation), ("anti_aliased", anti_aliased))


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
    # the vocoder's (task "vocoder"): MelGAN's transposed convolutions throughout, the
    # activations differ
    Variant("melgan", "transposed", (),
            "MelGAN: transposed convolutions, LeakyReLU(0.2) at the signal's rate (plain)",
            _activations("leaky_relu", None)),
    Variant("melgan-aa", "transposed", (),
            "MelGAN with every LeakyReLU(0.2) anti-aliased: 2x oversampled between 53-tap "
            "Kaiser low-passes (this package's default filter, 80 dB stop band)",
            _activations("leaky_relu", "default")),
    Variant("bigvgan", "transposed", (),
            "BigVGAN's activations: SnakeBeta in alias-free-torch's anti-aliased activation "
            "(2x, 12-tap Kaiser sinc)", _activations("snakebeta", "bigvgan")),
    Variant("snakebeta-adaa-aa", "transposed", (),
            "SnakeBeta with first-order ADAA, 2x oversampled between 53-tap Kaiser low-passes "
            "(this package's default anti-aliased activation)",
            _activations("snakebeta_adaa", "default")),
    Variant("snakebeta-adaa-aa-resample", "resample", (),
            "Gu et al.'s recipe: the resampling upsampler (images 90 dB down) and SnakeBeta "
            "with ADAA, 2x oversampled (this package's default anti-aliased activation); "
            "on request", _activations("snakebeta_adaa", "default")),
    Variant("istft", "istft", (),
            "Vocos-like: the convolutions at the frame rate, then an inverse-STFT head "
            "(a convolution to n_fft = 4 hop real/imaginary STFT coefficients, overlap-add "
            "with hop = the whole factor; ISTFTUpsample1d); on request",
            (("layout", "vocos"),)),
)}
# the four of Pons et al. (2021), Table 1; the others (ICNR and nearest inits, sinc,
# resample) on request: each variant costs one training run per seed
DEFAULT_VARIANTS = ("transposed", "subpixel", "nearest", "linear")
# the naive form timed beside each polyphase interpolation kind
NAIVE_OF = {"nearest": "nearest-naive", "linear": "linear-naive", "sinc": "sinc-naive"}
# the variant every step time is divided by
REFERENCE = "subpixel"
