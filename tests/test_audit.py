"""audit(): probes, verdicts, predicted-vs-measured, reports and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from upsamplers import SubPixel1d, TransposedUpsample1d
from upsamplers._checks import UserInputError
from upsamplers.analysis import ArtifactReport, audit


def nearest2(x: np.ndarray) -> np.ndarray:
    return np.repeat(x, 2, axis=-1)


def test_biased_subpixel_fails_tonal_and_prediction_matches_within_1_db():
    torch.manual_seed(0)
    layer = SubPixel1d(1, 1, 4, bias=True)
    report = audit(layer, 16000.0, seconds=1.0)
    assert isinstance(report, ArtifactReport)
    assert report.factors == (4,) and report.input_rate == 4000.0
    assert report.verdicts["tonal"].status == "fail"
    found = {t.frequency for t in report.probes["silence"].tones.found}
    assert found == {4000.0, 8000.0}  # the bias alone, replicated by unequal phases
    assert report.predicted is not None and len(report.predicted) == 3
    for c in report.predicted:
        assert abs(c.difference_db) <= 1.0, c


def test_icnr_subpixel_without_bias_passes_tonal():
    torch.manual_seed(0)
    layer = SubPixel1d(1, 1, 4, init="icnr")
    report = audit(layer, 16000.0, seconds=1.0)
    assert report.verdicts["tonal"].status == "pass"
    assert all(not p.tones.found for p in report.probes.values())
    assert report.verdicts["offsets"].status == "pass"
    assert abs(report.probes["silence"].dc) == 0.0


def test_callable_nearest_filtering_matches_theory_and_replicas_are_reported():
    report = audit(nearest2, 8000.0, seconds=4.0, inputs=("noise", "tones"))
    f = report.filtering
    assert f is not None and f.frequencies == [1000.0, 1500.0, 1800.0]
    theory = [20 * np.log10(np.cos(np.pi * q / 8000.0)) for q in f.frequencies]
    np.testing.assert_allclose(f.attenuation_db, theory, atol=0.5)
    assert f.notch_frequencies == [4000.0] and f.notch_db[0] < -50.0
    assert report.verdicts["filtering"].status == "warn"  # -2.4 dB at 0.9 Nyquist
    # five sines imaged by the sinc of nearest: the images are strong
    assert report.replicas is not None and report.replicas.total_db > -20.0
    assert report.verdicts["replicas"].status == "fail"
    assert "tonal" in report.verdicts and report.verdicts["tonal"].status == "pass"


def test_stage_offsets_and_factors_from_hooks():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv1d(1, 4, 3, padding=1), torch.nn.ReLU(),
        TransposedUpsample1d(4, 4, 2, bias=True), torch.nn.ReLU(),
        TransposedUpsample1d(4, 1, 4))
    report = audit(model, 16000.0, seconds=1.0, inputs=("silence", "noise"))
    assert report.factors == (2, 4)
    stages = {(o.probe, o.stage) for o in report.offsets}
    assert stages == {("silence", 1), ("silence", 2), ("noise", 1), ("noise", 2)}
    # ReLU of noise has a positive mean: the first stage's output carries a DC offset
    noise1 = next(o for o in report.offsets if o.probe == "noise" and o.stage == 1)
    assert noise1.dc_db > -20.0
    assert noise1.output_rate == 4000.0


def test_report_serialises_and_plots(tmp_path):
    torch.manual_seed(0)
    report = audit(SubPixel1d(1, 1, 2, bias=True), 8000.0, seconds=0.5)
    data = json.loads(report.to_json())
    assert set(data["verdicts"]) == {"tonal", "filtering", "replicas", "offsets", "aliasing"}
    assert data["probes"]["ones"]["tones_found"][0]["frequency_hz"] == 4000.0
    text = report.to_markdown()
    assert "| tonal | **fail** |" in text and "Predicted (phase kernels)" in text
    paths = report.plot(tmp_path)
    assert {p.name for p in paths} >= {"ones_spectrogram.png", "noise_response.png",
                                       "aliasing.png"}
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_multichannel_callable_with_in_channels():
    report = audit(lambda x: np.repeat(x, 2, axis=-1)[:1], 8000.0, in_channels=3,
                   seconds=0.5, inputs=("ones",))
    assert report.in_channels == 3
    assert report.probes["ones"].tones.found == []


@pytest.mark.parametrize(
    ("model", "kwargs", "error", "text"),
    [
        (nearest2, {"sample_rate": 0}, ValueError, "received sample_rate=0"),
        (nearest2, {"sample_rate": -1.0}, ValueError, "received sample_rate=-1.0"),
        (nearest2, {"factors": (3,)}, ValueError, "multiply to 3, but the model upsamples by 2"),
        (nearest2, {"factors": (0,)}, ValueError, "factors must be positive integers"),
        (nearest2, {"inputs": ("bogus",)}, ValueError, "received 'bogus'"),
        (nearest2, {"seconds": 0}, ValueError, "received seconds=0"),
        (lambda x: np.repeat(x, 2)[:-3], {}, ValueError, "changes the length unexpectedly"),
        (lambda x: np.concatenate([np.repeat(x, 2), [0.0] * 5]), {}, ValueError,
         "changes the length unexpectedly"),
        (lambda x: x, {}, ValueError, "does not upsample"),
        (lambda x: np.full(2 * len(x), np.nan), {}, ValueError, "must be finite"),
        (lambda x: np.zeros(0), {}, ValueError, "must not be empty"),
        (42, {}, TypeError, "torch.nn.Module or a callable"),
    ],
)
def test_audit_rejects_bad_input(model, kwargs, error, text):
    args = {"sample_rate": 8000.0, "seconds": 0.5}
    args.update(kwargs)
    with pytest.raises(error, match=text) as raised:
        audit(model, args.pop("sample_rate"), **args)
    assert isinstance(raised.value, UserInputError)  # the command line shows it in one line


def test_module_that_changes_the_length_is_rejected():
    class Bad(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 1, 3)  # no padding: loses 2 samples

        def forward(self, x):
            return F.interpolate(self.conv(x), scale_factor=2)

    with pytest.raises(ValueError, match="changes the length unexpectedly"):
        audit(Bad(), 8000.0, seconds=0.5)


@pytest.mark.parametrize("kind", ["transposed", "subpixel", "nearest", "linear"])
def test_predicted_vs_measured_for_every_kind(kind):
    from upsamplers import make_upsampler

    torch.manual_seed(1)
    layer = make_upsampler(kind, 2, 1, 4, bias=True)
    report = audit(layer, 16000.0, seconds=1.0, inputs=("ones",))
    assert report.predicted, "phase kernels of every kind are readable"
    for c in report.predicted:
        assert abs(c.difference_db) <= 1.0, c
    # interpolation kinds have equal phases: only DC is predicted, and no tone is found
    if kind in ("nearest", "linear"):
        assert [c.frequency for c in report.predicted] == [0.0]
        assert report.probes["ones"].tones.found == []


def test_replicas_of_an_output_too_short_for_its_factor_are_not_a_figure():
    # 0.5 s of a factor 320: the whole band below the input Nyquist (25 Hz) fell in
    # the DC bins, and the replicas read "+2964 dB re in-band"
    from upsamplers.analysis import replica_energy

    y = np.random.default_rng(0).standard_normal(8000)
    with pytest.raises(ValueError, match=r"too short for replicas of a factor 320"):
        replica_energy(y, 16000.0, 320)
    # white noise: 7 kHz above the input Nyquist for 1 kHz in band (DC bins aside)
    assert abs(replica_energy(y, 16000.0, 8).total_db - 10 * np.log10(7)) < 0.6
    layer = torch.nn.ConvTranspose1d(1, 1, 640, 320, padding=160)
    report = audit(layer, 16000.0, inputs=("tones",), seconds=0.5)
    assert report.replicas is None and "replicas" not in report.verdicts
    assert any(n.startswith("replicas not measured: signal is too short") for n in report.notes)
