"""The measuring instruments of upsamplers.analysis against closed-form physics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import signal as sps

from upsamplers import SubPixel1d, TransposedUpsample1d
from upsamplers.analysis import (
    filtering_summary,
    find_tones,
    measure_response,
    predicted_constant_tones,
    predicted_response,
    replica_energy,
)


def interp(factor: int, mode: str):
    def run(x: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))[None, None]
        kw = {} if mode == "nearest" else {"align_corners": False}
        return F.interpolate(t, scale_factor=factor, mode=mode, **kw)[0, 0].numpy()
    return run


def sinc_db(f: np.ndarray, r: int, fs_out: float, power: int) -> np.ndarray:
    """The textbook formula, written out here (not the package's)."""
    ratio = np.sin(np.pi * f * r / fs_out) / (r * np.sin(np.pi * f / fs_out))
    return 20 * power * np.log10(np.abs(ratio))


# ----------------------------------------------------------------------------- tones


def test_tone_in_noise_found_at_its_bin_with_the_expected_levels():
    fs, n, sigma, amp = 22050.0, 1 << 17, 0.1, 0.01
    rng = np.random.default_rng(1)
    t = np.arange(n) / fs
    x = sigma * rng.standard_normal(n) + amp * np.sin(2 * np.pi * 5512.5 * t + 0.3)
    ta = find_tones(x, fs, (2, 2))
    tone = ta.tone_at(5512.5)
    assert tone.found and abs(tone.measured_frequency - 5512.5) <= ta.bin_width
    # relative to the total power: (A^2/2) / (sigma^2 + A^2/2), within 0.3 dB
    expected_rel = 10 * np.log10((amp**2 / 2) / (sigma**2 + amp**2 / 2))
    assert tone.relative_db == pytest.approx(expected_rel, abs=0.3)
    # above the floor: tone power over the noise power in one bin of this window,
    # 2 sigma^2 sum(w^2) / sum(w)^2 (one-sided), within 1.5 dB (median vs mean of the
    # averaged noise bins, and the noise in the tone's own bin)
    w = sps.get_window("blackmanharris", ta.spectrum.nperseg)
    noise_bin = 2 * sigma**2 * np.sum(w**2) / np.sum(w) ** 2
    expected_level = 10 * np.log10((amp**2 / 2) / noise_bin)
    assert tone.level_db == pytest.approx(expected_level, abs=1.5)
    assert not ta.tone_at(11025.0).found  # nothing at the other stage's tone


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("fs", "factors"), [(22050.0, (8, 8, 2, 2)), (32000.0, (2, 2, 2))])
def test_white_noise_has_no_tones(seed, fs, factors):
    x = np.random.default_rng(seed).standard_normal(1 << 17)
    ta = find_tones(x, fs, factors)
    assert ta.tones, "some comb must be resolved"
    assert ta.found == []
    assert max(t.level_db for t in ta.tones) < ta.threshold_db


def test_stage_attribution_of_tone_frequencies():
    ta = find_tones(np.random.default_rng(0).standard_normal(1 << 16), 32000.0, (2, 2, 2))
    stages = {t.frequency: t.stage for t in ta.tones}
    assert stages == {4000.0: 1, 8000.0: 2, 12000.0: 1, 16000.0: 3}


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"signal": np.array([])}, ValueError, "must not be empty"),
        ({"signal": np.array([0.0, np.nan, 1.0] * 100)}, ValueError, "finite"),
        ({"signal": np.array([0.0, np.inf] * 100)}, ValueError, "finite"),
        ({"sample_rate": -1}, ValueError, "received sample_rate=-1"),
        ({"sample_rate": 0}, ValueError, "received sample_rate=0"),
        ({"factors": (2, 0)}, ValueError, "factors must be positive integers"),
        ({"factors": 2.5}, TypeError, "received factors=2.5"),
        ({"signal": np.ones((2, 3, 4))}, ValueError, "shape (T,) or (C, T)"),
        ({"signal": "abc"}, TypeError, "real numbers"),
    ],
)
def test_find_tones_rejects_bad_input(kwargs, error, text):
    args = {"signal": np.ones(4096), "sample_rate": 16000.0, "factors": (2,)}
    args.update(kwargs)
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        find_tones(args["signal"], args["sample_rate"], args["factors"])


# ----------------------------------------------------------------------------- filtering

FRACTIONS = np.array([0.1, 0.25, 0.5, 0.75, 0.9])


@pytest.mark.parametrize("method", ["noise", "sines"])
@pytest.mark.parametrize("r", [2, 3, 4])
def test_nearest_interpolation_matches_sinc_within_half_a_db(method, r):
    fs_in = 4000.0
    resp = measure_response(interp(r, "nearest"), fs_in, r, method=method, length=1 << 14)
    f = FRACTIONS * fs_in / 2
    measured = resp.db_at(f)
    np.testing.assert_allclose(measured, sinc_db(f, r, fs_in * r, 1), atol=0.5)


@pytest.mark.parametrize("method", ["noise", "sines"])
def test_linear_interpolation_odd_factor_matches_sinc_squared(method):
    r, fs_in = 3, 4000.0
    resp = measure_response(interp(r, "linear"), fs_in, r, method=method, length=1 << 14)
    f = FRACTIONS * fs_in / 2
    np.testing.assert_allclose(resp.db_at(f), sinc_db(f, r, fs_in * r, 2), atol=0.5)


@pytest.mark.parametrize("method", ["noise", "sines"])
def test_linear_interpolation_by_two_is_cos_cubed_not_sinc_squared(method):
    """F.interpolate(linear, align_corners=False) by 2 is the filter [1, 3, 3, 1] / 4
    on the zero-stuffed input, so |H| = |cos(pi f / fs_out)|**3, not cos**2."""
    r, fs_in = 2, 4000.0
    resp = measure_response(interp(r, "linear"), fs_in, r, method=method, length=1 << 14)
    f = FRACTIONS * fs_in / 2
    cos_cubed = 60 * np.log10(np.cos(np.pi * f / (fs_in * r)))
    np.testing.assert_allclose(resp.db_at(f), cos_cubed, atol=0.5)
    # and at 0.9 of the input Nyquist it is 2.4 dB below the textbook sinc^2
    gap = sinc_db(f[-1:], r, fs_in * r, 2)[0] - resp.db_at(f[-1])
    assert gap == pytest.approx(2.38, abs=0.3)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_summary_reports_attenuation_and_a_deep_notch_at_the_input_rate(mode):
    r, fs_in = 4, 4000.0
    s = filtering_summary(measure_response(interp(r, mode), fs_in, r, length=1 << 14))
    assert s.frequencies == [1000.0, 1500.0, 1800.0]
    assert s.notch_frequencies == [4000.0, 8000.0]
    assert all(d <= -50.0 for d in s.notch_db), s.notch_db
    assert s.attenuation_db[-1] < -2.0  # both filter audibly at 0.9 of the input Nyquist


def test_measure_response_rejects_a_length_changing_upsampler():
    with pytest.raises(ValueError, match="changed the length"):
        measure_response(lambda x: np.repeat(x, 2)[:-1], 4000.0, 2)


# ----------------------------------------------------------------------------- replicas


def test_replicas_of_nearest_interpolation_match_the_sinc_prediction():
    fs_in, r = 4000.0, 2
    taps = sps.firwin(511, 0.4 * fs_in, fs=fs_in)
    x = sps.lfilter(taps, 1, np.random.default_rng(0).standard_normal(1 << 16))[1024:]
    y = interp(r, "nearest")(x)[64:-64]
    rep = replica_energy(y, fs_in * r, r)
    assert rep.bands == [(2000.0, 4000.0)]
    # predicted: image of the input band at fs_in - f, shaped by the sinc, over the
    # in-band part shaped by the same sinc (numerical integration on a fine grid)
    f = np.linspace(1, 1999, 4000)
    _, h = sps.freqz(taps, worN=f, fs=fs_in)
    s_in = np.abs(h) ** 2
    fs_out = fs_in * r

    def sinc2(v: np.ndarray) -> np.ndarray:
        return (np.sin(np.pi * v * r / fs_out) / (r * np.sin(np.pi * v / fs_out))) ** 2

    predicted = 10 * np.log10(np.sum(s_in * sinc2(fs_in - f)) / np.sum(s_in * sinc2(f)))
    assert rep.energy_db[0] == pytest.approx(predicted, abs=0.5)


def test_a_good_anti_imaging_filter_leaves_no_replicas():
    x = sps.lfilter(sps.firwin(511, 1500.0, fs=4000.0), 1,
                    np.random.default_rng(0).standard_normal(1 << 15))
    y = sps.resample_poly(x, 4, 1, window=("kaiser", 12.0))
    rep = replica_energy(y[512:-512], 16000.0, 4)
    assert rep.total_db < -50.0


def test_replica_energy_rejects_factor_one():
    with pytest.raises(ValueError, match="factor must be at least 2"):
        replica_energy(np.ones(1024), 8000.0, 1)


# ----------------------------------------------------------------------------- kernels


def _ones_output(layer: torch.nn.Module, length: int = 1 << 14) -> np.ndarray:
    with torch.no_grad():
        y = layer(torch.ones(1, layer.in_channels, length))[0].double().numpy()
    return y[:, 64:-64]


@pytest.mark.parametrize(
    "build",
    [
        lambda: SubPixel1d(2, 3, 4, kernel_size=5, bias=True),
        lambda: SubPixel1d(1, 1, 3, bias=False, order="phase"),
        lambda: TransposedUpsample1d(2, 2, 4, kernel_size=8, bias=True),
    ],
    ids=["subpixel-bias", "subpixel-phase-order", "transposed-full"],
)
def test_predicted_tone_levels_match_measured_within_1_db(build):
    torch.manual_seed(3)
    layer = build()
    fs = 16000.0
    predicted = predicted_constant_tones(layer.phase_kernels(), fs)
    ta = find_tones(_ones_output(layer), fs, layer.factor)
    assert [p.frequency for p in predicted[1:]] == [t.frequency for t in ta.tones]
    assert 10 * np.log10(ta.dc_power) == pytest.approx(10 * np.log10(predicted[0].power), abs=1)
    for p in predicted[1:]:
        t = ta.tone_at(p.frequency)
        assert t.found
        assert 10 * np.log10(t.power) == pytest.approx(10 * np.log10(p.power), abs=1.0)


def test_predicted_tones_from_a_plain_array():
    # two phases with DC gains 1 and 0: output 1, 0, 1, 0 ... = 0.5 + 0.5 cos(pi n)
    weight = np.zeros((2, 1, 1, 3))
    weight[0, 0, 0, 1] = 1.0
    tones = predicted_constant_tones(weight, 8000.0)
    assert [t.frequency for t in tones] == [0.0, 4000.0]
    assert [t.power for t in tones] == pytest.approx([0.25, 0.25])


def test_predicted_response_matches_measured_h1():
    torch.manual_seed(0)
    layer = SubPixel1d(1, 1, 4, kernel_size=5)
    fs_in = 4000.0

    def run(x):
        with torch.no_grad():
            return layer(torch.as_tensor(x, dtype=torch.float32)[None, None])[0, 0].double().numpy()

    resp = measure_response(run, fs_in, 4, length=1 << 14)
    pred = 20 * np.log10(np.abs(predicted_response(layer.phase_kernels(), resp.frequencies,
                                                   fs_in * 4)[0, 0]))
    meas = 20 * np.log10(resp.magnitude)
    keep = pred > pred.max() - 30
    np.testing.assert_allclose(meas[keep], pred[keep], atol=0.5)
