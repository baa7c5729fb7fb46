"""The aliasing results of the README, asserted: Gu et al.'s module ordering reproduced
with this package's AHR measurement (prime-length periodic sines, f0 0.05 to 0.40 of
the rate, amplitude 0.8, power mean over f0), then the issue's bars.

The measurement (``upsamplers.analysis.measure_aliasing``) knows nothing of the modules:
it reads the output spectrum of periodic test signals."""

from __future__ import annotations

import functools

import torch
from torch import nn

from upsamplers.activations import AntiAliasedActivation1d, SnakeBeta1d
from upsamplers.analysis import measure_aliasing
from upsamplers.layers import make_upsampler


@functools.cache
def ahr(name: str) -> float:
    """Mean AHR (dB, power mean over f0) of a sine at amplitude 0.8."""
    module = MODULES[name]()
    report = measure_aliasing(module, waves=("sine",), amplitudes=(0.8,), length=1031)
    (summary,) = report.summaries
    assert summary.steady
    return summary.mean_ahr_db


def _alias_free(act):
    from alias_free_torch import Activation1d
    return Activation1d(act)


def _unit(kind: str, factor: int = 2, **options):
    """A one-channel upsampler: ``kernel_size=1`` with unit weights (a pure
    interpolator), or, with other options, its own initialisation under seed 0."""
    torch.manual_seed(0)
    layer = make_upsampler(kind, 1, 1, factor, **options)
    if options.get("kernel_size") == 1:
        with torch.no_grad():
            for p in layer.parameters():
                p.fill_(1.0)
    return layer


MODULES = {
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "snakebeta": lambda: SnakeBeta1d(1),
    "snakebeta x4 (bigvgan)": lambda: AntiAliasedActivation1d.bigvgan(SnakeBeta1d(1), 4),
    "snakebeta adaa": lambda: SnakeBeta1d(1, adaa=True),
    "snakebeta adaa x2 (bigvgan)": lambda: AntiAliasedActivation1d.bigvgan(
        SnakeBeta1d(1, adaa=True)),
    "alias-free Activation1d(snakebeta)": lambda: _alias_free(SnakeBeta1d(1)),
    "aa snakebeta adaa": lambda: AntiAliasedActivation1d(SnakeBeta1d(1, adaa=True), 2),
    "aa leaky_relu": lambda: AntiAliasedActivation1d(nn.LeakyReLU(0.01), 2),
    "transposed": lambda: _unit("transposed"),
    "linear": lambda: _unit("linear", kernel_size=1),
    "resample": lambda: _unit("resample", kernel_size=1),
}


def test_gu_et_al_activation_ordering_is_reproduced():
    """LeakyReLU worst, then SnakeBeta, then oversampled or ADAA SnakeBeta, then ADAA
    with 2x oversampling best (their -25.3 > -39.6 > -42.4 ~ -42.3 > -46.0 dB)."""
    leaky, snake = ahr("leaky_relu"), ahr("snakebeta")
    x4, adaa = ahr("snakebeta x4 (bigvgan)"), ahr("snakebeta adaa")
    best = ahr("snakebeta adaa x2 (bigvgan)")
    assert leaky > snake > max(x4, adaa)
    assert best < min(x4, adaa)


def test_anti_aliased_snakebeta_adaa_is_10_db_below_bigvgans_configuration():
    assert ahr("aa snakebeta adaa") <= ahr("alias-free Activation1d(snakebeta)") - 10


def test_anti_aliased_leaky_relu_is_15_db_below_the_plain_one():
    assert ahr("aa leaky_relu") <= ahr("leaky_relu") - 15


def test_gu_et_al_upsampler_ordering_is_reproduced():
    """ConvTranspose worst, linear interpolation next, the resampling upsampler best
    (their -21.7 > -48.1 > -53.9 dB); x2, one channel, the transposed convolution as
    initialised, the others as pure interpolators."""
    assert ahr("transposed") > ahr("linear") > ahr("resample")
    assert ahr("resample") <= -70


def test_resample_images_are_70_db_down_at_the_issues_frequencies():
    """make_upsampler("resample", 1, 1, 4, kernel_size=1) with unit weights: images re
    the signal for sines at 0.25, 0.5 and 0.75 of the input Nyquist frequency."""
    layer = _unit("resample", 4, kernel_size=1)
    report = measure_aliasing(layer, waves=("sine",), amplitudes=(0.8,),
                              f0s=(0.125, 0.25, 0.375))
    images = [m.image_db for m in report.measures]
    assert len(images) == 3
    assert all(level is not None and level <= -70 for level in images), images
