"""The AHR measurement (upsamplers.analysis.measure_aliasing) against closed forms
and independent references."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch
from scipy import signal as sps
from torch import nn

from upsamplers._checks import InvalidType, InvalidValue
from upsamplers.analysis import AliasingReport, aliasing_signal, measure_aliasing, next_prime

N = 1031  # prime, short: the closed forms hold at any prime length


def _poly(coefficients):
    """``y = sum_n a_n x**n`` (n from 1), a memoryless polynomial on numpy arrays."""
    def apply(x):
        return sum(a * x ** (n + 1) for n, a in enumerate(coefficients))
    return apply


def _poly_harmonics(coefficients, amplitude):
    """Harmonic amplitudes ``|c_h|`` (h = 1..5) of ``sum a_n (A sin t)**n``, n <= 5, by
    the power-reduction formulas:
    sin^2 = (1 - cos 2t)/2, sin^3 = (3 sin t - sin 3t)/4,
    sin^4 = (3 - 4 cos 2t + cos 4t)/8, sin^5 = (10 sin t - 5 sin 3t + sin 5t)/16."""
    a = list(coefficients) + [0.0] * (5 - len(coefficients))
    p = [amplitude ** (n + 1) * a[n] for n in range(5)]  # a_n A^n for n = 1..5
    sines = {1: p[0] + 3 / 4 * p[2] + 10 / 16 * p[4], 3: -p[2] / 4 - 5 / 16 * p[4],
             5: p[4] / 16}
    cosines = {2: -p[1] / 2 - 4 / 8 * p[3], 4: p[3] / 8}
    return {h: abs(v) for h, v in {**sines, **cosines}.items()}


def _closed_form_ahr(coefficients, amplitude, k0, n):
    """Folded harmonics' power over in-band harmonics' power, dB."""
    c = _poly_harmonics(coefficients, amplitude)
    inband = sum(v**2 for h, v in c.items() if 2 * h * k0 < n)
    folded = sum(v**2 for h, v in c.items() if 2 * h * k0 > n)
    return 10 * math.log10(folded / inband)


POLY = (1.0, 0.4, -0.3, 0.2, 0.15)


@pytest.mark.parametrize("f0", [0.13, 0.21, 0.3, 0.4])
def test_polynomial_matches_its_closed_form(f0):
    report = measure_aliasing(_poly(POLY), f0s=[f0], amplitudes=[0.8], waves=["sine"],
                              length=N, warmup=1)
    m = report.measures[0]
    assert m.k0 == round(f0 * N)
    expected = _closed_form_ahr(POLY, 0.8, m.k0, N)
    assert m.ahr_db == pytest.approx(expected, abs=1e-3)
    assert not m.at_floor and m.steady


def test_polynomial_in_band_is_at_the_floor_and_the_torch_path_agrees():
    class Poly(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("a", torch.tensor(POLY, dtype=torch.float64))

        def forward(self, x):
            return sum(a * x ** (n + 1) for n, a in enumerate(self.a))

    report = measure_aliasing(Poly(), f0s=[0.05, 0.09, 0.3], amplitudes=[0.8],
                              waves=["sine"], length=N, warmup=1)
    assert report.dtype == "float64" and report.ratio == (1, 1)
    low, low2, high = report.measures
    for m in (low, low2):  # 5 * f0 < 0.5: every harmonic in band
        assert m.at_floor and m.ahr_db < -200
    assert high.ahr_db == pytest.approx(_closed_form_ahr(POLY, 0.8, high.k0, N), abs=1e-3)


def _fft_upsample(factor):
    def up(x):
        spec = np.fft.rfft(x)
        out = np.zeros(len(x) * factor // 2 + 1, dtype=complex)
        out[: len(spec)] = spec
        return np.fft.irfft(out, n=len(x) * factor) * factor
    return up


def _delay(x):
    return np.concatenate([np.zeros(7), x[:-7]])


@pytest.mark.parametrize("module", ["identity", "fir", "delay", "fft_up", "decimator"])
def test_band_limited_paths_do_not_alias(module):
    torch.manual_seed(0)
    fir = nn.Conv1d(1, 2, 31, padding=15, bias=False).double()
    modules = {"identity": (lambda x: x), "fir": fir, "delay": _delay,
               "fft_up": _fft_upsample(3), "decimator": (lambda x: x[::2])}
    f0s = [0.05, 0.2] if module == "decimator" else [0.05, 0.2, 0.4]
    report = measure_aliasing(modules[module], f0s=f0s, amplitudes=[0.5], waves=["sine"],
                              length=N, warmup=1)
    for m in report.measures:
        assert m.ahr_db < -240 and m.at_floor and m.steady
        if module == "fft_up":
            assert m.image_db is not None and m.image_db < -240
    assert report.ratio == {"fft_up": (3, 1), "decimator": (1, 2)}.get(module, (1, 1))
    assert report.summary("sine", 0.5).at_floor


def test_float32_identity_sits_at_its_rounding_floor():
    report = measure_aliasing(nn.Identity(), f0s=[0.1, 0.37], amplitudes=[0.8],
                              waves=["sine", "sawtooth"], wave_f0s=[0.1], length=N)
    assert report.dtype == "float32"
    for m in report.measures:
        assert m.ahr_db == pytest.approx(m.floor_db, abs=1e-9)
        assert -170 < m.floor_db < -130 and m.at_floor
    assert "at floor" in report.to_markdown()


def test_a_bfloat16_module_is_measured_against_the_bfloat16_floor():
    torch.manual_seed(0)
    fir = nn.Conv1d(1, 1, 5, padding=2).to(torch.bfloat16)
    report = measure_aliasing(fir, f0s=[0.1], amplitudes=[0.8], waves=["sine"], length=257)
    m = report.measures[0]
    assert report.dtype == "bfloat16" and -70 < m.floor_db < -40  # 8-bit mantissa
    assert m.at_floor and m.steady


def _zero_stuff(x):
    y = np.zeros(2 * len(x))
    y[::2] = x
    return y


def test_zero_stuffing_images_are_at_0_db_where_predicted():
    fs = 8000.0
    report = measure_aliasing(_zero_stuff, sample_rate=fs, f0s=[0.1, 0.3], amplitudes=[0.8],
                              waves=["sine"], length=N, warmup=1)
    assert report.ratio == (2, 1)
    for m in report.measures:
        assert m.image_db == pytest.approx(0.0, abs=1e-9)
        assert m.ahr_db == pytest.approx(0.0, abs=1e-9)  # the image is all the inharmonic power
        top = m.components[0]
        assert top.bin == N - m.k0 and top.image == 1 and top.level_db == pytest.approx(0, abs=1e-9)
        assert top.frequency_hz == pytest.approx((N - m.k0) / (2 * N) * 2 * fs)
        assert len(m.components) == 1  # nothing else in the window
    assert report.summary().mean_image_db == pytest.approx(0.0, abs=1e-9)


def test_a_line_at_the_input_rate_is_named_a_tone():
    def stuffed_with_a_line(x):  # zero stuffing x2 plus 0.05 cos(pi n): a line at fs_in
        return _zero_stuff(x) + 0.05 * np.cos(np.pi * np.arange(2 * len(x)))

    report = measure_aliasing(stuffed_with_a_line, f0s=[0.1], amplitudes=[0.8],
                              waves=["sine"], length=N, warmup=1)
    image, tone = report.measures[0].components[:2]
    assert image.image == 1 and image.tone is None
    assert tone.bin == N and tone.tone == 1 and tone.harmonic is None
    assert tone.source == "tone at 1 x the input rate"
    # the fundamental has amplitude 0.4 after zero stuffing: 0.08; the line 0.05^2
    assert tone.level_db == pytest.approx(10 * np.log10(0.05**2 / 0.08), abs=1e-9)


def _reference_ahr(fn, amplitude, k0, n, points=1 << 20):
    """AHR of ``fn(A sin(2 pi t))`` sampled ``n`` times over ``k0`` periods, from its
    Fourier series: coefficients from a ``points``-point evaluation over one period,
    each harmonic h folded by hand onto bin ``h k0 mod n``."""
    t = np.arange(points) / points
    c = np.fft.fft(fn(amplitude * np.sin(2 * np.pi * t))) / points
    h = np.fft.fftfreq(points, 1 / points).astype(np.int64)  # 0, 1, ..., -1
    spectrum = np.zeros(n, dtype=complex)
    np.add.at(spectrum, (h * k0) % n, c)
    half = np.arange(1, (n - 1) // 2 + 1)
    power = 2 * np.abs(spectrum[half]) ** 2
    harmonic = np.zeros(half.shape, dtype=bool)
    harmonic[np.arange(k0, (n - 1) // 2 + 1, k0) - 1] = True
    return 10 * np.log10(power[~harmonic].sum() / power[harmonic].sum())


@pytest.mark.parametrize(("name", "module", "fn"), [
    ("relu", nn.ReLU(), lambda x: np.maximum(x, 0)),
    ("leaky_relu", nn.LeakyReLU(0.01), lambda x: np.where(x > 0, x, 0.01 * x)),
])
def test_relus_match_an_independent_fourier_series_reference(name, module, fn):
    f0s = [0.05, 0.23, 0.4]
    report = measure_aliasing(module, f0s=f0s, amplitudes=[0.8], waves=["sine"], length=N,
                              warmup=1)
    for m in report.measures:
        assert m.ahr_db == pytest.approx(_reference_ahr(fn, 0.8, m.k0, N), abs=0.01), name
    # the same shape at another amplitude: a ReLU is homogeneous
    assert report.measures[1].ahr_db > report.measures[0].ahr_db  # more folds at 0.23


def test_strongest_component_is_the_predicted_fold():
    fs = 16000.0
    report = measure_aliasing(_poly((1.0, 0.0, 0.3)), sample_rate=fs, f0s=[0.3],
                              amplitudes=[0.8], waves=["sine"], length=N, warmup=1)
    m = report.measures[0]
    top = m.components[0]
    assert 3 * m.k0 < N < 6 * m.k0  # harmonic 3 at 0.9 of the rate folds to 0.1
    assert top.bin == N - 3 * m.k0 and top.harmonic == 3 and top.folded_at == "output"
    assert top.frequency_hz == pytest.approx((N - 3 * m.k0) / N * fs)
    c = _poly_harmonics((1.0, 0.0, 0.3), 0.8)
    assert top.level_db == pytest.approx(10 * np.log10(c[3] ** 2 / c[1] ** 2), abs=1e-6)
    assert "harmonic 3 folded at the output rate" in report.to_markdown()


def _iir(x):
    return sps.lfilter([1.0], [1.0, -0.99], x)  # memory ~ 100 samples per e-fold


def test_memory_longer_than_the_warm_up_is_flagged():
    n = 101
    short = measure_aliasing(_iir, f0s=[0.1], amplitudes=[0.5], waves=["sine"], length=n,
                             warmup=1)
    assert not short.measures[0].steady and not short.steady
    assert "not steady" in short.notes[0] and "warmup" in short.notes[0]
    assert "**no**" in short.to_markdown()
    long = measure_aliasing(_iir, f0s=[0.1], amplitudes=[0.5], waves=["sine"], length=n,
                            warmup=40)
    assert long.steady and long.measures[0].at_floor  # a linear filter: no aliasing


def test_a_module_that_is_not_time_invariant_is_flagged():
    ramp = lambda x: x * (1 + np.arange(len(x)) / len(x))  # noqa: E731
    report = measure_aliasing(ramp, f0s=[0.2], amplitudes=[0.5], waves=["sine"], length=N)
    assert not report.steady


def test_band_limited_waves_have_their_harmonics_below_nyquist_only():
    for wave, decay in (("sawtooth", 1), ("triangle", 2)):
        x, k0 = aliasing_signal(wave, 0.07, 0.8, N)
        assert np.max(np.abs(x)) == pytest.approx(0.8)
        power = np.abs(np.fft.rfft(x)) ** 2
        harmonics = np.arange(k0, N // 2 + 1, k0)
        assert power.sum() == pytest.approx(power[harmonics].sum(), rel=1e-12)
        h = harmonics // k0
        present = (h % 2 == 1) if wave == "triangle" else np.ones(h.shape, dtype=bool)
        ratio = power[harmonics][present] / power[k0]
        assert ratio == pytest.approx(1.0 / h[present] ** (2 * decay), rel=1e-9)
        assert np.all(power[harmonics][~present] < 1e-20 * power[k0])


def test_report_serialises_saves_and_plots(tmp_path):
    report = measure_aliasing(nn.LeakyReLU(0.2), sample_rate=16000, f0s=[0.1, 0.3],
                              amplitudes=[0.5, 0.8], wave_f0s=[0.1], length=N, warmup=1)
    assert isinstance(report, AliasingReport)
    data = json.loads(report.to_json())
    assert len(data["measures"]) == 2 * 2 + 2 * 2
    assert {(s["wave"], s["amplitude"]) for s in data["summaries"]} == {
        (w, a) for w in ("sine", "sawtooth", "triangle") for a in (0.5, 0.8)}
    s = report.summary("sine", 0.8)
    ratios = [10 ** (report.ahr("sine", f, 0.8) / 10) for f in (0.1, 0.3)]
    assert s.mean_ahr_db == pytest.approx(10 * np.log10(np.mean(ratios)))
    assert s.worst_ahr_db == max(report.ahr("sine", f, 0.8) for f in (0.1, 0.3))
    assert s.mean_of_db == pytest.approx(np.mean(10 * np.log10(ratios)))
    paths = report.save(tmp_path / "out")
    assert sorted(p.name for p in paths) == ["aliasing.json", "aliasing.md", "aliasing.png"]
    assert (tmp_path / "out" / "aliasing.png").stat().st_size > 1000
    assert "| sine | 0.8 |" in (tmp_path / "out" / "aliasing.md").read_text()


def test_next_prime():
    assert [next_prime(n) for n in (1, 2, 4, 4096, 8190)] == [2, 2, 5, 4099, 8191]


@pytest.mark.parametrize(("kwargs", "error", "text"), [
    ({"length": 1000}, InvalidValue, "length must be a prime number >= 31 (e.g. 1009)"),
    ({"length": 7}, InvalidValue, "received length=7"),
    ({"f0s": [0.5]}, InvalidValue, "f0s must be fractions of the input rate in (0, 0.5)"),
    ({"f0s": []}, InvalidValue, "f0s must be a non-empty sequence"),
    ({"wave_f0s": "0.1"}, InvalidType, "wave_f0s must be a sequence"),
    ({"amplitudes": [0.8, -1]}, InvalidValue, "amplitudes must be positive finite numbers"),
    ({"waves": ["square"]}, InvalidValue, "waves must be one of 'sine', 'sawtooth', 'triangle'"),
    ({"sample_rate": 0}, InvalidValue, "received sample_rate=0"),
    ({"warmup": -1}, InvalidValue, "received warmup=-1"),
    ({"dtype": "float16"}, InvalidValue, "dtype must be one of 'float32', 'float64'"),
    ({"channels": 0}, InvalidValue, "received channels=0"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, text):
    with pytest.raises(error) as info:
        measure_aliasing(lambda x: x, **kwargs)
    assert text in str(info.value)


def test_bad_modules_raise_clear_errors():
    with pytest.raises(InvalidType, match="module must be a torch.nn.Module or a callable"):
        measure_aliasing(42)
    with pytest.raises(InvalidValue, match="changes the length unexpectedly"):
        measure_aliasing(lambda x: x[:-1])
    with pytest.raises(InvalidValue, match="below 0.25 of the input rate"):
        measure_aliasing(lambda x: x[::2], f0s=[0.3], waves=["sine"])
    with pytest.raises(InvalidValue, match="must be finite"):
        measure_aliasing(lambda x: np.full_like(x, np.nan))
    with pytest.raises(InvalidValue, match=r"must return a tensor \(B, C, T\)"):
        measure_aliasing(nn.Flatten(0))  # (B, C, T) -> (B * C * T,)


def test_audit_reports_aliasing_with_a_verdict():
    from upsamplers.analysis import audit

    stuffed = audit(_zero_stuff, 8000.0, inputs=["aliasing"], seconds=0.5)
    a = stuffed.aliasing
    assert a is not None and a.ratio == (2, 1) and a.sample_rate == 4000.0
    assert [m.f0 for m in a.measures] == [0.05, 0.1, 0.2, 0.3, 0.4]
    assert all(m.image_db == pytest.approx(0.0, abs=1e-9) for m in a.measures)
    assert stuffed.verdicts["aliasing"].status == "warn"
    assert "images 0.0 dB re the signal" in stuffed.verdicts["aliasing"].message
    assert "## Aliasing:" in stuffed.to_markdown()
    assert json.loads(stuffed.to_json())["aliasing"]["summaries"][0]["mean_image_db"] == (
        pytest.approx(0.0, abs=1e-9))
    clean = audit(_fft_upsample(2), 8000.0, inputs=["ones", "aliasing"], seconds=0.5)
    assert clean.verdicts["aliasing"].status == "pass"
    assert "rounding floor" in clean.verdicts["aliasing"].message
    without = audit(_fft_upsample(2), 8000.0, inputs=["ones"], seconds=0.5)
    assert without.aliasing is None and "aliasing" not in without.verdicts
    assert "aliasing" not in json.loads(without.to_json())


def test_audit_aliasing_of_a_model_that_is_not_audio_to_audio():
    from upsamplers.analysis import audit

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(5, 4, 3, padding=1), nn.LeakyReLU(0.1),
                          nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1))
    report = audit(model, 16000.0, inputs=["aliasing"], seconds=0.25)
    a = report.aliasing
    assert a.channels == 5 and a.ratio == (2, 1) and a.steady
    assert a.length == 101  # 2000 input samples / (4 periods x 5 sines) -> next prime
    s = a.summary()
    assert -60 < s.mean_ahr_db < 20 and not s.at_floor  # random weights: strong images
    assert s.mean_image_db is not None and s.mean_image_db > -40
    assert report.verdicts["aliasing"].status == "warn"


# ----------------------------------------------------------------------------- command line


@pytest.fixture
def user_errors_only(monkeypatch):
    """Only UserInputError is the user's error (one line, exit 2); anything else raises."""
    from upsamplers import cli
    from upsamplers._checks import UserInputError

    monkeypatch.setattr(cli, "_USER_ERRORS", (UserInputError,), raising=False)


def test_cli_aliasing_of_an_upsampler_writes_reports(tmp_path, capsys, user_errors_only):
    from upsamplers.cli import main

    out = tmp_path / "alias"
    args = ["aliasing", "upsampler:nearest", "--factor", "4", "--f0", "0.1,0.3",
            "--amplitudes", "0.8", "--waves", "sine", "--length", "257", "--sample-rate",
            "16000", "--out", str(out)]  # the OUTPUT rate: the input rate is 16000 / 4
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "# Aliasing: upsampler:nearest" in text and "Rate ratio 4/1" in text
    data = json.loads((out / "aliasing.json").read_text())
    assert data["ratio"] == [4, 1] and data["sample_rate"] == 4000.0
    assert [m["f0"] for m in data["measures"]] == [0.1, 0.3]
    # nearest x4 (then a random 1-channel conv): images of a zero-order hold, far above -40
    assert all(m["image_db"] > -40 for m in data["measures"])
    assert (out / "aliasing.png").exists() and (out / "aliasing.md").exists()
    assert main(args) == 2
    assert "already exist; pass --force" in capsys.readouterr().err
    assert main(args + ["--force", "--json", "--no-plot"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["measures"] == data["measures"]


def test_cli_aliasing_of_a_factory(tmp_path, capsys, user_errors_only):
    from upsamplers.cli import main

    path = tmp_path / "act.py"
    path.write_text("import torch\n\ndef build():\n    return torch.nn.LeakyReLU(0.01)\n")
    assert main(["aliasing", f"{path}:build", "--f0", "0.4", "--amplitudes", "0.8",
                 "--waves", "sine", "--length", str(N), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ahr = data["measures"][0]["ahr_db"]
    assert ahr == pytest.approx(_reference_ahr(lambda x: np.where(x > 0, x, 0.01 * x), 0.8,
                                               data["measures"][0]["k0"], N), abs=0.01)


@pytest.mark.parametrize(("args", "message"), [
    (["upsampler:bogus"], "TARGET upsampler:KIND takes KIND among transposed, subpixel"),
    (["no_such_thing"], "TARGET must be PATH_OR_MODULE:FACTORY or an activation NAME"),
    (["aa:swish"], "TARGET aa:NAME takes NAME among relu, leaky_relu, tanh, snake"),
    (["torch.nn:ReLU", "--f0", "0.1,x"], "--f0 must be comma-separated numbers"),
    (["torch.nn:ReLU", "--f0", "0.7"], "f0s must be fractions of the input rate in (0, 0.5)"),
    (["torch.nn:ReLU", "--length", "1000"], "length must be a prime number >= 31 (e.g. 1009)"),
    (["torch.nn:ReLU", "--waves", "square"], "waves must be one of"),
    (["torch.nn:ReLU", "--sample-rate", "-1"], "received sample_rate=-1.0"),
    (["upsampler:linear", "--factor", "0"], "factor must be a positive integer"),
])
def test_cli_aliasing_errors_are_one_line(args, message, capsys, user_errors_only):
    from upsamplers.cli import main

    assert main(["aliasing", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_builtin_targets_build_what_they_name():
    from upsamplers.activations import AntiAliasedActivation1d, SnakeBeta1d
    from upsamplers.analysis.targets import load_aliasing_target
    from upsamplers.layers import Upsampler

    plain, label = load_aliasing_target("snakebeta_adaa")
    assert isinstance(plain, SnakeBeta1d) and label == "snakebeta_adaa"
    aa, _ = load_aliasing_target("aa:snake", factor=4)
    assert isinstance(aa, AntiAliasedActivation1d) and aa.ratio == 4
    big, _ = load_aliasing_target("bigvgan:leaky_relu", factor=4)
    assert isinstance(big, AntiAliasedActivation1d) and big.ratio == 2  # the preset's ratio
    state = torch.random.get_rng_state()
    first, _ = load_aliasing_target("upsampler:transposed", factor=3)
    second, _ = load_aliasing_target("upsampler:transposed", factor=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched
    assert isinstance(first, Upsampler) and first.factor == 3 and first.in_channels == 1
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                 second.state_dict().values(), strict=True))


def test_cli_aliasing_of_builtin_activations(capsys, user_errors_only):
    from upsamplers.cli import main

    common = ["--f0", "0.3", "--amplitudes", "0.8", "--waves", "sine", "--length", str(N),
              "--json"]
    assert main(["aliasing", "leaky_relu", *common]) == 0
    plain = json.loads(capsys.readouterr().out)
    m = plain["measures"][0]
    assert plain["module"] == "leaky_relu" and plain["ratio"] == [1, 1]
    assert m["ahr_db"] == pytest.approx(
        _reference_ahr(lambda x: np.where(x > 0, x, 0.01 * x), 0.8, m["k0"], N), abs=0.01)
    assert m["components"][0]["harmonic"] == 2  # 0.6 of the rate folds to 0.4
    assert main(["aliasing", "aa:leaky_relu", *common]) == 0
    anti = json.loads(capsys.readouterr().out)
    # at 2x the second harmonic (0.6 of the input rate) is in band, then filtered out
    assert anti["ratio"] == [1, 1] and anti["measures"][0]["steady"]
    assert anti["measures"][0]["ahr_db"] < m["ahr_db"] - 10


# ----------------------------------------------------------------------------- sizes (issue 22)


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"channels": 100_000}, "received channels=100000, warmup=2, length=4099: 2,459,400,000"),
    ({"warmup": 10**9}, "received channels=1, warmup=1000000000, length=4099:"),
    ({"length": 1_000_000_007}, "received channels=1, warmup=2, length=1000000007:"),
    # a prime this large would take the primality test minutes: bounded first
    ({"length": 10**18 + 3}, "length=1000000000000000003:"),
    ({"length": 999_983, "warmup": 10, "ratio": 8}, "length=999983, rate ratio 8:"),
    ({"length": 100_003, "warmup": 10, "channels": 100},
     "received channels=100, warmup=10, length=100003: 220,006,600 samples"),
])
def test_a_probe_too_large_is_refused_before_any_work(kwargs, text):
    calls = []
    start = time.perf_counter()
    with pytest.raises(InvalidValue) as info:
        measure_aliasing(lambda x: calls.append(x) or x, **kwargs)
    assert time.perf_counter() - start < 1.0 and calls == []
    assert str(info.value).startswith("the aliasing probe must hold at most 134,217,728 "
                                      "samples at its input (channels x (2 x warmup + 2) "
                                      "periods x length) and at its output")
    assert text in str(info.value)


def test_a_rate_ratio_found_by_the_dry_run_bounds_the_probe_before_the_measure():
    calls = []

    def upsample8(x):
        calls.append(x.shape[-1])
        return np.repeat(x, 8, axis=-1)

    with pytest.raises(InvalidValue, match="length=999983, rate ratio 8: 175,997,008 samples"):
        measure_aliasing(upsample8, length=999_983, warmup=10)
    assert calls == [120, 240]  # the short dry run only


def test_the_largest_probe_allowed_runs():
    from upsamplers.analysis._validate import MAX_PROBE_SAMPLES
    from upsamplers.analysis.aliasing import check_probe

    assert check_probe(length=4099, warmup=2, channels=5457) <= MAX_PROBE_SAMPLES
    with pytest.raises(InvalidValue):
        check_probe(length=4099, warmup=2, channels=5458)


@pytest.mark.parametrize(("module", "amplitude", "fits"), [
    (nn.Tanh(), 1e300, False), (nn.Tanh(), 3.5e38, False), (nn.Tanh(), 3.4e38, True),
    (nn.Conv1d(1, 1, 1).to(torch.bfloat16), 3.4e38, False),
    (nn.Conv1d(1, 1, 1).to(torch.bfloat16), 1e38, True),
    (nn.Conv1d(1, 1, 1).double(), 1e300, False), (np.tanh, 1e300, False),
    (np.tanh, 1e100, True), (nn.Conv1d(1, 1, 1).double(), 1e100, True),
])
def test_an_amplitude_the_modules_dtype_cannot_hold_is_refused_without_numpy_warnings(
        module, amplitude, fits):
    import warnings

    options = dict(f0s=[0.1], waves=["sine"], length=N, amplitudes=[0.5, amplitude])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from numpy or torch
        if fits:
            try:
                measure_aliasing(module, **options)
            except InvalidValue as error:  # a gain above 1 may overflow: named, not warned
                assert "module output must be" in str(error), error
                assert f"amplitude 0.5, {amplitude:g}" in str(error)
            return
        with pytest.raises(InvalidValue) as info:
            measure_aliasing(module, **options)
    largest = {torch.bfloat16: "3.38953e+38, the largest bfloat16",
               torch.float32: "3.40282e+38, the largest float32",
               torch.float64: "1e+100: the analysis squares the output in float64"}
    dtype = next(iter(module.parameters())).dtype if isinstance(module, nn.Conv1d) else (
        torch.float32 if isinstance(module, nn.Module) else torch.float64)
    assert f"amplitudes must be at most {largest[dtype]}" in str(info.value)
    assert f"received amplitudes=(0.5, {amplitude!r})" in str(info.value)


@pytest.mark.parametrize(("power", "text"), [
    (4, r"module output must be finite; received .* NaN or infinite samples, on the test "
        r"signals of amplitude 1e\+90"),
    (2, r"module output must be at most 1e\+100 in magnitude \(the analysis squares it in "
        r"float64\); received a peak of 1e\+180 on the test signals of amplitude 1e\+90"),
])
def test_output_too_large_to_measure_names_the_amplitude(power, text):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidValue, match=text):
            measure_aliasing(lambda x: x**power, amplitudes=[1e90], waves=["sine"], f0s=[0.1],
                             length=N)


def test_a_factory_that_needs_an_argument_is_named_not_taken_for_a_model(tmp_path, capsys,
                                                                          user_errors_only):
    from upsamplers.cli import main

    path = tmp_path / "f.py"
    path.write_text("import torch\n\ndef needs_arg(k):\n    return torch.nn.Tanh()\n\n"
                    "def identity(x):\n    return x\n")
    for command in (["aliasing"], ["audit", "--sample-rate", "16000", "--no-plot"], ["lint"]):
        assert main([command[0], f"{path}:needs_arg", *command[1:]]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"upsamplers {command[0]}: error: {path}:needs_arg could not be "
                              "called without arguments: it requires k") and "\n" not in err
        if command[0] != "lint":
            assert "it returned a Tanh, not an array of numbers" in err
    # a function of one argument that maps an array to an array is a model (numpy)
    assert main(["aliasing", f"{path}:identity", "--f0", "0.1", "--amplitudes", "0.8",
                 "--waves", "sine", "--length", str(N), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["measures"][0]["at_floor"]
