"""The sinc layer's filter chosen by quality (a transition band and a stop-band
attenuation, Kaiser's design) and the response every interpolation layer reports
(``layer.response()``), checked against measurements of the layer's own output."""

import math

import numpy as np
import pytest
import torch

from upsamplers.layers import InterpUpsample1d, SincUpsample1d
from upsamplers.ops.filters import kaiser_attenuation, kaiser_beta, kaiser_half_length

pytestmark = pytest.mark.usefixtures("one_thread")


def _measured_rejection(layer, frequency, periods=400):
    """Image rejection (dB) of a sine at ``frequency`` (fraction of the input
    Nyquist) measured on the layer's interpolation output: the sine's level over
    the strongest image's, from an FFT of a Kaiser-windowed (beta 30) stretch in
    the middle of a long float64 signal."""
    r = layer.factor
    n = 1 << 15
    t = np.arange(n)
    x = np.sin(np.pi * frequency * t)
    u = layer.double().interpolate(torch.from_numpy(x)[None, None])[0, 0].numpy()
    mid = u[len(u) // 4: len(u) // 4 + n]  # away from the ends
    spectrum = np.abs(np.fft.rfft(mid * np.kaiser(len(mid), 30.0)))
    freqs = np.arange(len(spectrum)) * 2.0 * r / len(mid)  # fraction of the input Nyquist

    def level(f):
        near = np.abs(freqs - f) <= 0.01
        return 20 * np.log10(spectrum[near].max())

    images = [f for m in range(1, r // 2 + 1) for f in (2 * m - frequency, 2 * m + frequency)
              if f < r - 0.01]
    return level(frequency) - max(level(f) for f in images)


@pytest.mark.parametrize(("make", "factor"), [
    (lambda r: SincUpsample1d(1, 1, r), 4),
    (lambda r: SincUpsample1d(1, 1, r, cutoff=0.9, transition=0.4, attenuation=60), 2),
    (lambda r: InterpUpsample1d(1, 1, r, mode="nearest"), 4),
    (lambda r: InterpUpsample1d(1, 1, r, mode="linear"), 8),
])
def test_the_reported_response_is_what_the_layer_does(make, factor):
    layer = make(factor)
    response = layer.response()
    for frequency in (0.25, 0.5, 0.75, 0.9):
        predicted = response.image_rejection_db(frequency)
        measured = _measured_rejection(layer, frequency)
        # the window's floor is about 150 dB down: compare where both are above it
        assert abs(predicted - min(measured, 140)) < 1.0 or (predicted > 140
                                                             and measured > 125), (
            frequency, predicted, measured)


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
@pytest.mark.parametrize(("cutoff", "transition", "attenuation"),
                         [(0.9, 0.2, 80), (0.8, 0.4, 60), (0.95, 0.1, 100)])
def test_a_designed_filter_meets_its_attenuation_over_the_whole_stop_band(
        factor, cutoff, transition, attenuation):
    layer = SincUpsample1d(2, 2, factor, cutoff=cutoff, transition=transition,
                           attenuation=attenuation)
    response = layer.response()
    assert layer.band_edges() == pytest.approx((cutoff - transition / 2,
                                                cutoff + transition / 2))
    assert response.stopband_db <= -attenuation
    # Kaiser's window: pass-band ripple of the order of its stop-band level
    assert response.ripple_db <= 20 * math.log10(1 + 10 * 10 ** (-attenuation / 20))
    assert cutoff - transition / 2 < response.minus_3db < cutoff + transition / 2
    # no longer than needed: Kaiser's estimate, lengthened only a little
    estimate = kaiser_half_length(factor, transition, attenuation)
    assert estimate <= layer.half_length <= 1.25 * estimate


def test_a_setting_rejects_every_image_by_80_db():
    """cutoff 0.9, transition 0.2, 80 dB: the stop band starts at the input
    Nyquist, so every image of every in-band sine up to 0.8 of it is 80 dB down
    (the default trades this for a short filter: 18 dB at 0.9, documented)."""
    for factor in (2, 4, 8):
        response = SincUpsample1d(1, 1, factor, cutoff=0.9, transition=0.2,
                                  attenuation=80).response()
        assert response.stopband_edge == pytest.approx(1.0)
        assert response.stopband_db <= -80
        assert all(response.image_rejection_db(f) >= 80 for f in (0.25, 0.5, 0.75, 0.8))
    default = SincUpsample1d(1, 1, 4).response()
    assert 15 < default.image_rejection_db(0.9) < 25  # what the docstring states
    assert default.image_rejection_db(0.25) > 90


def test_kaiser_formulas_invert_and_match_the_textbook():
    for a in (21.0, 30.0, 50.0, 60.0, 80.0, 120.0):
        assert kaiser_attenuation(kaiser_beta(a)) == pytest.approx(a, abs=1e-6)
    assert kaiser_beta(80.0) == pytest.approx(0.1102 * (80 - 8.7))
    # N - 1 = (A - 7.95) / (2.285 dw): 80 dB, dw = pi * 0.2 / 4 -> N - 1 = 200.8
    assert kaiser_half_length(4, 0.2, 80.0) == math.ceil(72.05 / (2.285 * math.pi * 0.05) / 2)


@pytest.mark.parametrize("impl", ["folded", "filtered", "naive"])
def test_a_designed_filter_runs_exactly_in_every_form(impl):
    torch.manual_seed(0)
    kw = dict(cutoff=0.85, transition=0.3, attenuation=70, bias=True)
    ref = SincUpsample1d(3, 4, 4, 5, impl="naive", **kw).double()
    layer = SincUpsample1d(3, 4, 4, 5, impl=impl, **kw).double()
    layer.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 37, dtype=torch.float64, requires_grad=True)
    y, want = layer(x), ref(x)
    torch.testing.assert_close(y, want, rtol=1e-10, atol=1e-12)
    g = torch.randn_like(y)
    for a, b in zip(torch.autograd.grad(y, [x, layer.conv.weight], g),
                    torch.autograd.grad(want, [x, ref.conv.weight], g), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(beta=5.0, attenuation=60), ValueError, "give beta or attenuation, not both"),
    (dict(zeros=6, transition=0.2), ValueError, "give zeros or transition, not both"),
    (dict(transition=2.0), ValueError, r"transition must be in \(0, 1.8\]; received"),
    (dict(transition=float("nan")), ValueError, "received transition=nan"),
    (dict(transition=0.2, attenuation=10), ValueError, r"attenuation must be in \[21, 300\]"),
    (dict(transition="0.2"), TypeError, "transition must be a real number"),
    (dict(transition=1e-9), ValueError, "fixed tables"),
])
def test_bad_filter_options_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        SincUpsample1d(1, 1, 4, **kwargs)
