"""find_combs and ``upsamplers lines``: combs of lines at ``k * fs / hop`` found from
audio alone. No comb in any embedded recording (nor in them brought to 44.1 and
24 kHz); the exact hop of look-alike vocoders built here (transposed, subpixel,
ReLU and Snake stacks, at 16 to 48 kHz); a weak comb mixed into music; levels
against a line of known power in white noise; musical harmonics are not combs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import upsamplers
from upsamplers._checks import InvalidType, InvalidValue
from upsamplers.activations import Snake1d
from upsamplers.analysis import CombReport, find_combs
from upsamplers.cli import main
from upsamplers.data import read_audio, resample, write_audio
from upsamplers.layers import make_upsampler

DATASETS = Path(upsamplers.__file__).parent / "datasets"
#: Every embedded recording: train and validation of music, speech and the chorales.
EMBEDDED = sorted(p for p in DATASETS.rglob("*") if p.suffix in (".flac", ".ogg", ".wav")
                  and {"train", "validation"} & set(p.parts))
MUSIC = DATASETS / "music" / "validation" / "wesnoth_loyalists.flac"


def comb(length, sample_rate, hop, level_dbfs, *, ks=None, seed=0):
    """Lines of amplitude ``10 ** (level_dbfs / 20)`` at ``k * fs / hop`` (all ``k``
    below Nyquist, or ``ks``), random phases."""
    rng = np.random.default_rng(seed)
    n = np.arange(length)
    ks = range(1, hop // 2 + 1) if ks is None else ks
    amp = 10 ** (level_dbfs / 20)
    return sum(amp * np.cos(2 * np.pi * k * n / hop + rng.uniform(0, 2 * np.pi)) for k in ks)


def harmonic_tone(sample_rate, seconds, f0, *, harmonics=20, vibrato=0.0, seed=0):
    """A tone of ``harmonics`` harmonics (1/h amplitudes) with ``f0`` Hz (an array:
    one note after another) and a 5.5 Hz vibrato of relative depth ``vibrato``,
    plus white noise 50 dB below it."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    notes = np.atleast_1d(np.asarray(f0, dtype=float))
    f = np.repeat(notes, math.ceil(len(t) / len(notes)))[:len(t)]
    f = f * (1 + vibrato * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sample_rate
    y = sum(np.sin(h * phase) / h for h in range(1, harmonics + 1) if h * f.max() < sample_rate / 2)
    y = 0.3 * y / np.abs(y).max()
    return y + 0.3 * 10 ** -2.5 * np.random.default_rng(seed).standard_normal(len(t))


def vocoder(strides, activation="relu", kind=None, seed=0, channels=32):
    """A vocoder-like stack with random weights: per stride an upsampler
    (``nn.ConvTranspose1d`` with kernel 2 * stride, or ``make_upsampler(kind)``)
    and an activation, then a Conv1d to one channel. ``(1, 32, F) -> (1, 1, F * hop)``."""
    torch.manual_seed(seed)
    layers, c = [], channels
    for i, s in enumerate(strides):
        out = max(channels >> (i + 1), 4)
        if kind is None:
            layers.append(nn.ConvTranspose1d(c, out, 2 * s, stride=s, padding=s // 2 + s % 2,
                                             output_padding=s % 2))
        else:
            layers.append(make_upsampler(kind, c, out, s, bias=True))
        layers.append(nn.ReLU() if activation == "relu" else Snake1d(out))
        c = out
    return nn.Sequential(*layers, nn.Conv1d(c, 1, 7, padding=3))


def mel_like(frames, channels=32):
    """Log band magnitudes of an embedded recording (at its own 16 kHz, ``frames``
    STFT frames): the kind of input a vocoder is fed. ``(1, channels, frames)``."""
    audio, _ = read_audio(MUSIC)
    x = torch.from_numpy(audio[0])
    hop = max(1, len(x) // (frames + 1))
    n_fft = max(4 * hop, 2 * channels)
    spec = torch.stft(x, n_fft=n_fft, hop_length=hop, window=torch.hann_window(n_fft),
                      return_complex=True).abs()[:, :frames]
    bands = torch.stack([b.mean(0) for b in torch.tensor_split(spec, channels, dim=0)])
    return torch.log(bands + 1e-4)[None]


def run(model, x):
    with torch.no_grad():
        y = model(x)[0, 0].double().numpy()
    assert np.isfinite(y).all() and y.std() > 0, "the look-alike's output is degenerate"
    return 0.5 * y / np.abs(y).max()


def only_comb(report: CombReport):
    assert len(report.combs) == 1, report.summary()
    return report.combs[0]


# ----------------------------------------------------------------- clean recordings


def test_no_embedded_recording_has_a_comb():
    assert len(EMBEDDED) >= 100  # 48 chorale stems, 51 music, 41 speech files
    found = []
    for path in EMBEDDED:
        audio, rate = read_audio(path)
        report = find_combs(audio, rate)
        if report.combs:
            found.append(f"{path.relative_to(DATASETS)}: {report.summary()}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("rate", [44100, 24000])
def test_no_comb_in_recordings_brought_to_other_rates(rate):
    # every third validation file (a fixed subset: the resampling is the slow part)
    files = sorted(p for p in EMBEDDED if "validation" in p.parts)[::3]
    assert len(files) >= 8
    for path in files:
        audio, source = read_audio(path)
        report = find_combs(resample(audio, source, rate), rate)
        assert not report.combs, f"{path.name} at {rate} Hz: {report.summary()}"


# ----------------------------------------------------------------- look-alike models

CASES = [
    (44100, (4, 4, 8), "relu", None),
    (44100, (8, 8, 8), "snake", None),
    (24000, (8, 5, 4, 2), "relu", None),  # hop 320: lines between the bins
    (24000, (4, 4, 4, 4), "snake", None),
    (22050, (8, 8, 2, 2), "relu", "transposed"),
    (44100, (4, 4), "relu", "subpixel"),
    (16000, (5, 5, 3, 3), "relu", None),  # hop 225, odd
]


def _random_case(seed):
    rng = np.random.default_rng(seed)
    while True:
        strides = tuple(int(s) for s in rng.choice([2, 3, 4, 5, 6, 8], size=rng.integers(2, 5)))
        if 16 <= math.prod(strides) <= 1024:
            break
    return (int(rng.choice([16000, 22050, 24000, 44100, 48000])), strides,
            str(rng.choice(["relu", "snake"])), None)


@pytest.mark.parametrize("case", CASES + [_random_case(s) for s in range(3)],
                         ids=lambda c: f"{c[0]}-{'x'.join(map(str, c[1]))}-{c[2]}-{c[3]}")
def test_the_hop_of_a_vocoder_fed_mel_frames(case):
    rate, strides, activation, kind = case
    hop = math.prod(strides)
    y = run(vocoder(strides, activation, kind), mel_like(int(10 * rate / hop)))
    report = find_combs(y, rate)
    found = only_comb(report)
    assert found.hop == hop
    assert abs(found.spacing - rate / hop) < rate / report.nperseg  # within a bin
    assert found.fraction == 1.0
    assert found.peak_db >= found.median_db >= report.threshold_db
    assert found.lines_present >= 0.9 * (hop // 2)


def test_a_vocoder_fed_latents_shows_a_comb_of_a_divisor_of_its_hop():
    # zero-mean latents: the first stages' lines may be buried (the lines come from
    # the phases' different gains on a ReLU's mean); what is found is exact
    rate, strides = 44100, (4, 4, 8)
    x = torch.randn(1, 32, int(10 * rate / 128), generator=torch.Generator().manual_seed(1))
    report = find_combs(run(vocoder(strides), x), rate)
    found = only_comb(report)
    assert 128 % found.hop == 0 and found.hop >= 8
    assert abs(found.spacing - rate / found.hop) < rate / report.nperseg


def test_equal_phases_make_no_comb():
    # ICNR: every phase the same kernel, a nearest-neighbour hold: no line
    torch.manual_seed(0)
    model = nn.Sequential(make_upsampler("subpixel", 32, 16, 4, init="icnr"), nn.ReLU(),
                          make_upsampler("subpixel", 16, 1, 4, init="icnr"))
    report = find_combs(run(model, mel_like(int(10 * 44100 / 16))), 44100)
    assert not report.combs, report.summary()


# ----------------------------------------------------------------- mixes and levels


@pytest.mark.parametrize("hop", [512, 300])
def test_a_weak_comb_in_music_is_found_and_the_music_alone_has_none(hop):
    audio, rate = read_audio(MUSIC)
    assert not find_combs(audio, rate).combs
    lines = comb(audio.shape[-1], rate, hop, -60.0)  # -60 dBFS per line
    found = only_comb(find_combs(audio + lines, rate))
    assert found.hop == hop and found.fraction >= 0.8


def test_line_level_above_the_floor_of_white_noise_by_hand():
    rate, hop, sigma, amp = 16000, 256, 0.1, 0.01
    noise = sigma * np.random.default_rng(3).standard_normal(30 * rate)
    report = find_combs(noise + comb(len(noise), rate, hop, 20 * math.log10(amp)), rate)
    found = only_comb(report)
    # a sine of amplitude A on a bin reads A**2; white noise reads sigma**2 times the
    # window's equivalent noise bandwidth (bins) over nperseg, times 4 (one-sided,
    # amplitude scale); the 4-term Blackman-Harris window's ENBW is 2.0044 bins
    expected = 10 * math.log10(amp**2 * report.nperseg / (4 * sigma**2 * 2.0044))
    assert found.hop == hop
    assert found.median_db == pytest.approx(expected, abs=1.0)


def test_nested_combs_are_reported_at_the_largest_hop_whose_lines_are_present():
    rate, n = 16000, 20 * 16000
    noise = 1e-3 * np.random.default_rng(0).standard_normal(n)
    # every line of hop 512 (those of 256, 128, ... among them): hop 512
    assert only_comb(find_combs(noise + comb(n, rate, 512, -50), rate)).hop == 512
    # only the even lines of 512: they are the lines of 256
    even = comb(n, rate, 512, -50, ks=range(2, 257, 2))
    assert only_comb(find_combs(noise + even, rate)).hop == 256
    # two unrelated combs: both
    both = find_combs(noise + comb(n, rate, 256, -50) + comb(n, rate, 375, -50, seed=1), rate)
    assert sorted(c.hop for c in both.combs) == [256, 375]


def test_a_comb_in_half_the_file_is_reported_over_about_half_of_it():
    rate, n = 16000, 30 * 16000
    lines = comb(n, rate, 256, -50)
    lines[n // 2:] = 0
    y = 1e-3 * np.random.default_rng(1).standard_normal(n) + lines
    found = only_comb(find_combs(y, rate))
    assert found.hop == 256 and 0.35 <= found.fraction <= 0.65


def test_a_comb_in_one_channel_of_two_is_found():
    rate, n = 24000, 10 * 24000
    noise = 1e-3 * np.random.default_rng(2).standard_normal((2, n))
    noise[1] += comb(n, rate, 320, -50)
    assert only_comb(find_combs(noise, rate)).hop == 320


# ----------------------------------------------------------------- musical harmonics


@pytest.mark.parametrize("name,rate,tone", [
    ("steady 220 Hz", 44100, dict(f0=220.0)),
    ("steady 440 Hz (13 * 44100 / 1303 within 0.02 Hz)", 44100, dict(f0=440.0)),
    ("220 Hz with vibrato", 44100, dict(f0=220.0, vibrato=0.01)),
    ("a scale", 44100, dict(f0=[220.0, 246.94, 261.63, 293.66, 329.63])),
    ("A 440 at 16 kHz", 16000, dict(f0=440.0)),
    ("a scale at 24 kHz", 24000, dict(f0=[261.63, 329.63, 392.0, 523.25], vibrato=0.005)),
])
def test_musical_harmonics_are_not_a_comb(name, rate, tone):
    report = find_combs(harmonic_tone(rate, 10.0, **tone), rate)
    assert not report.combs, f"{name}: {report.summary()}"


def test_a_steady_tone_exactly_on_fs_over_a_hop_is_a_comb():
    # the documented rule: 220.5 Hz = 44100 / 200 held through the file is, in the
    # spectrum, the comb of hop 200 (its 20 harmonics are 20 of its 100 lines)
    found = only_comb(find_combs(harmonic_tone(44100, 10.0, 220.5), 44100))
    assert found.hop == 200 and found.lines_present == 20


def test_mains_hum_is_named():
    rate, n = 48000, 10 * 48000
    hum = comb(n, rate, 960, -40, ks=range(1, 40))  # 50 Hz and 39 harmonics
    y = hum + 1e-3 * np.random.default_rng(0).standard_normal(n)
    found = only_comb(find_combs(y, rate))
    assert found.hop == 960 and "mains" in found.note


# ----------------------------------------------------------------- edges and bad input


def test_silent_short_and_narrowed_files_say_why():
    assert "silent" in find_combs(np.zeros(5 * 16000), 16000).note
    short = find_combs(np.ones(100), 16000)
    assert not short.combs and "too short" in short.note
    narrowed = find_combs(np.random.default_rng(0).standard_normal(16000), 16000)
    assert narrowed.max_hop < 1600 and "not searched" in narrowed.note


@pytest.mark.parametrize("kwargs,error,names", [
    (dict(audio=np.zeros((1, 2, 100))), InvalidValue, "audio"),
    (dict(audio=np.array([0.0, np.nan] * 5000)), InvalidValue, "audio"),
    (dict(sample_rate=0), InvalidValue, "sample_rate"),
    (dict(threshold_db=0.0), InvalidValue, "threshold_db"),
    (dict(threshold_db=float("nan")), InvalidValue, "threshold_db"),
    (dict(min_hop=1), InvalidValue, "min_hop"),
    (dict(min_hop=2.5), InvalidType, "min_hop"),
    (dict(min_hop=64, max_hop=32), InvalidValue, "max_hop"),
    (dict(max_hop=8193), InvalidValue, "max_hop"),
])
def test_bad_arguments_name_themselves(kwargs, error, names):
    args = dict(audio=np.zeros(16000), sample_rate=16000) | kwargs
    with pytest.raises(error, match=names):
        find_combs(args.pop("audio"), args.pop("sample_rate"), **args)


# ----------------------------------------------------------------- the command


@pytest.fixture
def recordings(tmp_path):
    """A folder with a vocoder-like output (44.1 kHz, hop 512) and a clean
    recording in a sub-folder, both named ``take``."""
    folder = tmp_path / "in"
    (folder / "clean").mkdir(parents=True)
    y = run(vocoder((8, 8, 8), "snake"), mel_like(int(10 * 44100 / 512)))
    write_audio(folder / "take.wav", y[None].astype(np.float32), 44100)
    audio, rate = read_audio(MUSIC)
    write_audio(folder / "clean" / "take.flac", audio, rate)
    return folder


def test_command_on_a_folder_prints_a_line_per_file_and_writes_figures(recordings, capsys):
    out = recordings.parent / "out"
    assert main(["lines", str(recordings), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    by_file = {Path(line.split(": ", 1)[0]).name: line for line in lines if ": " in line}
    assert "no comb" in by_file["take.flac"]
    assert "lines every 86.13 Hz = 44100 / 512" in by_file["take.wav"]
    assert "% of the file" in by_file["take.wav"]
    summary = json.loads((out / "combs.json").read_text())
    assert len(summary) == 2 and [c["hop"] for s in summary for c in s["combs"]] == [512]
    for png in (out / "take.png", out / "clean__take.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_command_json_on_files(recordings, capsys):
    files = [str(recordings / "take.wav"), str(recordings / "clean" / "take.flac")]
    assert main(["lines", *files, "--json", "--max-hop", "1024"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in result] == files
    assert result[0]["combs"][0]["hop"] == 512 and result[0]["max_hop"] == 1024
    assert result[1]["combs"] == []


def test_command_errors_are_one_line(recordings, tmp_path, capsys):
    assert main(["lines", str(tmp_path / "missing.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file" in err[0]
    for option in (["--threshold-db", "-1"], ["--min-hop", "1"], ["--max-hop", "1"]):
        assert main(["lines", str(recordings), *option]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and option[0] in err[0]
    with pytest.raises(SystemExit) as exit_:
        main(["lines", str(recordings), "--min-hop", "two"])
    assert exit_.value.code == 2


def test_command_reports_an_unreadable_file_and_goes_on(recordings, capsys):
    (recordings / "broken.wav").write_bytes(b"RIFF not really a wave file" * 10)
    assert main(["lines", str(recordings)]) == 2
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert [e for e in errors if "broken.wav" in e and "error" in e]
    assert "44100 / 512" in captured.out and "no comb" in captured.out


def test_command_never_overwrites_unasked(recordings, capsys):
    out = recordings.parent / "out"
    out.mkdir()
    (out / "combs.json").write_text("mine")
    assert main(["lines", str(recordings / "take.wav"), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "combs.json").read_text() == "mine" and not (out / "take.png").exists()
    assert main(["lines", str(recordings / "take.wav"), "--out", str(out), "--force"]) == 0
    assert json.loads((out / "combs.json").read_text())[0]["combs"][0]["hop"] == 512


def test_a_comb_too_weak_for_any_segment_says_so():
    from upsamplers.analysis import Comb

    whole = Comb(512, 86.13, 10, 256, 20.0, 10.0, fraction=0.0, log10_p=-20.0, frequencies=())
    assert "whole file's average only" in whole.describe(44100)
    most = Comb(512, 86.13, 10, 256, 20.0, 10.0, fraction=0.97, log10_p=-20.0, frequencies=())
    assert most.describe(44100).startswith("lines every 86.13 Hz = 44100 / 512, up to 20.0 dB "
                                           "above the local floor (median 10.0 dB), in 97 % of")
