"""audit(): tone levels in calibrated units (issue 23, item 6).

On silence a tone is read in dBFS, on a constant in dB re the output RMS, on
noise in dB above a real floor; never "dB above the floor" where the floor is
float rounding (it read 148 dB on silence). Each level is checked against an
independent FFT of the model's output."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch

from upsamplers import SubPixel1d, TransposedUpsample1d
from upsamplers.analysis import audit, tone_measures
from upsamplers.cli import main


def _offset_then(upsampler: torch.nn.Module, bias: float) -> torch.nn.Module:
    """A 1x1 convolution adding ``bias`` before ``upsampler``: silence becomes an offset
    that unequal phases turn into lines."""
    offset = torch.nn.Conv1d(1, 1, 1)
    with torch.no_grad():
        offset.weight.fill_(1.0)
        offset.bias.fill_(bias)
    return torch.nn.Sequential(offset, upsampler)


def _models() -> list[tuple[str, torch.nn.Module, float, int]]:
    torch.manual_seed(0)
    return [
        ("transposed x4", _offset_then(TransposedUpsample1d(1, 1, 4), 0.5), 16000.0, 4),
        ("subpixel x3 bias", SubPixel1d(1, 1, 3, bias=True), 12000.0, 3),
        ("two stages x2 x3", torch.nn.Sequential(
            _offset_then(TransposedUpsample1d(1, 1, 2), 0.3), torch.nn.Tanh(),
            TransposedUpsample1d(1, 1, 3)), 24000.0, 6),
    ]


def _fft_line_powers(model: torch.nn.Module, x: np.ndarray, total: int) -> tuple[dict, float]:
    """Power of every line ``k * fs / total`` of the model's output on ``x`` ``(1, T)``
    (middle of the output, a whole number of periods), from one plain FFT, and the
    output's mean square there."""
    with torch.no_grad():
        y = model(torch.as_tensor(x[None], dtype=torch.float32))[0, 0].double().numpy()
    margin = total * 64
    y = y[margin: margin + (len(y) - 2 * margin) // total * total]
    n = len(y)
    spectrum = np.fft.rfft(y) / n
    powers = {}
    for k in range(1, total // 2 + 1):
        c = spectrum[k * n // total]
        powers[k] = abs(c) ** 2 * (1.0 if 2 * k == total else 2.0)
    return powers, float(np.mean(y * y))


@pytest.mark.parametrize("case", range(3))
def test_silence_tones_are_dbfs_and_constant_tones_db_re_rms_matching_an_fft(case):
    name, model, fs, total = _models()[case]
    report = audit(model, fs, seconds=1.0, inputs=("ones", "silence"))
    assert report.verdicts["tonal"].status == "fail", name  # the verdict is unchanged
    data = json.loads(report.to_json())
    n_in = 4096
    for probe, x, unit in (("silence", np.zeros((1, n_in)), "dBFS"),
                           ("ones", np.ones((1, n_in)), "dB re output RMS")):
        powers, mean_square = _fft_line_powers(model, x, total)
        found = data["probes"][probe]["tones_found"]
        assert found, (name, probe)
        assert data["probes"][probe]["level_unit"] == unit
        for tone in found:
            k = round(tone["frequency_hz"] * total / fs)
            reference = 0.5 if probe == "silence" else mean_square
            expected = 10 * math.log10(powers[k] / reference)
            assert tone["level_unit"] == unit
            assert tone["level_db"] == pytest.approx(expected, abs=1.0), (name, probe, tone)
            # an exactly periodic output has no real floor: no "dB above the floor"
            assert tone["level_db_above_floor"] is None, (name, probe, tone)
            assert tone["level_db"] < 120.0
    text = report.to_markdown()
    silence = text.split("## Probe `silence`")[1].split("## ")[0]
    assert "level (dBFS)" in silence and "above floor" not in silence
    assert "above the floor" not in report.verdicts["tonal"].message
    assert " dBFS" in report.verdicts["tonal"].message or "re output RMS" in \
        report.verdicts["tonal"].message


def test_noise_tones_are_db_above_a_real_floor():
    name, model, fs, total = _models()[0]
    report = audit(model, fs, seconds=1.0, inputs=("noise",))
    probe = report.probes["noise"]
    assert probe.unit == "dB above floor"
    assert probe.tones.found, name
    for tone in probe.tones.found:
        level = probe.level_of(tone)
        assert level is not None and tone.found
        # a real floor (the output's noise): the same reading as the verdict's, far
        # below what a rounding floor gives
        assert level == pytest.approx(tone.level_db) and 10.0 <= level < 60.0
    assert "dB above the floor" in report.verdicts["tonal"].message


class _IgnoresInput(torch.nn.Module):
    """Upsamples by 4 in length but outputs a fixed period of 4 samples."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        period = torch.tensor([0.5, -0.25, 0.1, 0.0], dtype=x.dtype)
        return period.repeat(x.shape[-1])[None, None].expand(x.shape[0], 1, -1)


def test_noise_tones_of_an_output_that_ignores_its_input_have_no_floor_figure():
    report = audit(_IgnoresInput(), 16000.0, factors=(4,), seconds=1.0,
                   inputs=("silence", "noise"), in_channels=1)
    assert report.verdicts["tonal"].status == "fail"  # found as before
    data = json.loads(report.to_json())
    noise = data["probes"]["noise"]["tones_found"]
    assert noise and all(t["level_db"] is None and t["level_db_above_floor"] is None
                         for t in noise)
    # the same lines on silence are in dBFS: 4000 Hz has amplitude |c_1| * 2
    c = np.fft.rfft([0.5, -0.25, 0.1, 0.0]) / 4
    silence = {t["frequency_hz"]: t["level_db"] for t in data["probes"]["silence"]["tones_found"]}
    assert silence[4000.0] == pytest.approx(10 * math.log10(2 * abs(c[1]) ** 2 / 0.5), abs=1.0)
    assert silence[8000.0] == pytest.approx(10 * math.log10(abs(c[2]) ** 2 / 0.5), abs=1.0)
    noise_text = report.to_markdown().split("## Probe `noise`")[1].split("## ")[0]
    assert "float rounding" in noise_text


def test_cli_audit_prints_dbfs_on_silence(tmp_path, capsys):
    factory = tmp_path / "offset_model.py"
    factory.write_text(
        "import torch\nfrom upsamplers import TransposedUpsample1d\n\n"
        "def build():\n    torch.manual_seed(0)\n    offset = torch.nn.Conv1d(1, 1, 1)\n"
        "    with torch.no_grad():\n        offset.weight.fill_(1.0)\n"
        "        offset.bias.fill_(0.5)\n"
        "    return torch.nn.Sequential(offset, TransposedUpsample1d(1, 1, 4))\n")
    code = main(["audit", f"{factory}:build", "--sample-rate", "16000", "--inputs",
                 "silence", "--seconds", "1", "--out", str(tmp_path / "out"), "--no-plot"])
    assert code == 1
    out = capsys.readouterr().out
    assert re.search(r"strongest silence: \d+ Hz at -\d+\.\d dBFS", out), out
    assert "above the floor" not in out and "level (dBFS)" in out
    data = json.loads((tmp_path / "out" / "audit.json").read_text())
    top = max(data["probes"]["silence"]["tones_found"], key=lambda t: t["level_db"])
    assert top["level_unit"] == "dBFS" and -40.0 < top["level_db"] < 0.0


@pytest.mark.parametrize("case", range(3))
def test_audit_and_compare_give_the_same_strongest_line(case):
    """The audit's levels are the compare report's (``tone_measures``) units: its
    strongest silence and constant lines read the same figures."""
    name, model, fs, total = _models()[case]
    report = audit(model, fs, seconds=1.0, inputs=("ones", "silence"))
    measures = tone_measures(model, fs, total, seconds=1.0)
    for probe, line in (("silence", measures.silence_dbfs),
                        ("ones", measures.constant_db_re_rms)):
        p = report.probes[probe]
        top = max(p.tones.found, key=lambda t: t.power)
        assert top.frequency == line.frequency_hz, (name, probe)
        assert p.level_of(top) == pytest.approx(line.db, abs=1e-3), (name, probe)
