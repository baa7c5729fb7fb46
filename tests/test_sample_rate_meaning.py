"""--sample-rate has one meaning in audit, lint and aliasing: the model's OUTPUT
rate (issue 23, item 5). aliasing converts it to the input rate by the measured
rate ratio; a rate the found factors make implausible gets one warning line."""

from __future__ import annotations

import json

import pytest
import torch

from upsamplers.analysis import measure_aliasing
from upsamplers.analysis._validate import implausible_rate
from upsamplers.cli import main
from upsamplers.cli.analysis import SAMPLE_RATE_HELP

BUILD = '''import torch
def build():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3, padding=1),
                               torch.nn.ConvTranspose1d(1, 1, {k}, stride={r}, padding={p}))
'''


def _model_file(tmp_path, factor: int):
    path = tmp_path / f"model{factor}.py"
    path.write_text(BUILD.format(k=2 * factor, r=factor, p=factor // 2))
    return f"{path}:build"


ALIASING_QUICK = ["--f0", "0.1", "--amplitudes", "0.8", "--waves", "sine", "--length", "257",
                  "--json"]


@pytest.mark.parametrize("factor, output_rate", [(4, 16000.0), (8, 44100.0), (2, 22050.0)])
def test_aliasing_reads_the_output_rate_and_labels_input_hz(tmp_path, capsys, factor,
                                                            output_rate):
    target = _model_file(tmp_path, factor)
    assert main(["aliasing", target, "--sample-rate", f"{output_rate:g}",
                 *ALIASING_QUICK]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["ratio"] == [factor, 1]
    assert data["sample_rate"] == pytest.approx(output_rate / factor)  # the input rate
    # the strongest alias of a 0.1 x input-rate sine is labelled in input-rate Hz,
    # below the output Nyquist
    components = [c for m in data["measures"] for c in m["components"]]
    assert components
    for c in components:
        assert c["frequency_hz"] == pytest.approx(c["frequency"] * output_rate)
        assert c["frequency_hz"] <= output_rate / 2 + 1e-6
    assert "warning:" not in err


def test_the_python_api_takes_either_rate_not_both() -> None:
    up = torch.nn.Upsample(scale_factor=4, mode="nearest")
    a = measure_aliasing(up, output_rate=16000.0, f0s=[0.1], amplitudes=[0.8],
                         waves=["sine"], length=257, channels=1)
    b = measure_aliasing(up, sample_rate=4000.0, f0s=[0.1], amplitudes=[0.8],
                         waves=["sine"], length=257, channels=1)
    assert a.sample_rate == b.sample_rate == 4000.0
    with pytest.raises(ValueError, match="not both"):
        measure_aliasing(up, sample_rate=4000.0, output_rate=16000.0)


def test_every_command_names_the_rate_identically(capsys) -> None:
    for command in ("audit", "lint", "aliasing"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert " ".join(SAMPLE_RATE_HELP.split()) in text, command
    assert "OUTPUT" in SAMPLE_RATE_HELP


@pytest.mark.parametrize("rate, ratio, bad", [
    (44100.0, 512.0, False), (75.0, 1.0, False), (24000.0, 320.0, False),
    (4.0, 8.0, True), (100.0, 512.0, True), (20e6, 2.0, True), (0.5, 1.0, True)])
def test_implausible_rate_bounds(rate, ratio, bad) -> None:
    why = implausible_rate(rate, ratio)
    assert (why is not None) == bad
    if bad:
        assert why.startswith(f"--sample-rate {rate:g} is the model's OUTPUT rate")


@pytest.mark.parametrize("command", ["lint", "aliasing", "audit"])
def test_an_implausible_rate_gets_one_warning_line(tmp_path, capsys, command) -> None:
    target = _model_file(tmp_path, 8)
    extra = {"lint": [], "aliasing": ALIASING_QUICK,
             "audit": ["--inputs", "ones", "--seconds", "2", "--no-plot"]}[command]
    main([command, target, "--sample-rate", "4", *extra])  # x8 at 4 Hz: input 0.5 Hz
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert "OUTPUT rate" in warnings[0] and "0.5 Hz" in warnings[0]
    main([command, target, "--sample-rate", "16000", *extra])
    assert "warning:" not in capsys.readouterr().err
