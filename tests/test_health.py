"""Failed training detected and explained: the output-level criterion, dead ReLU
units and non-finite weights (upsamplers.health), and a failed variant in the
compare report (status, cause, not ranked, no artifact verdict)."""

import json
import math

import numpy as np
import pytest
import torch
from test_compare import chord, data, tiny_config  # noqa: F401  (data: a fixture)
from torch import nn

import upsamplers.compare.runs as runs
from upsamplers.compare import compare, reading
from upsamplers.health import (
    FAILED_BELOW_DB,
    OutputLevel,
    dead_relu_units,
    failure_cause,
    nonfinite_parameters,
    pooled_level,
    signal_level,
)
from upsamplers.models import load_model
from upsamplers.train import Task

pytestmark = pytest.mark.usefixtures("one_thread")


def level_of(output, target):
    return pooled_level([signal_level(output, target)])


def test_output_level_criterion_at_30_db_below_the_target():
    target = torch.from_numpy(chord(0.5, 1))[None]  # (C, T)
    assert FAILED_BELOW_DB == 30.0
    for gain_db, failed in ((-40.0, True), (-30.5, True), (-29.5, False), (-20.0, False),
                            (0.0, False), (6.0, False)):
        level = level_of(target * 10 ** (gain_db / 20), target)
        assert level.level_db == pytest.approx(gain_db, abs=1e-6)
        assert (level.failure() is not None) is failed, gain_db
    assert "40.0 dB below" in level_of(0.01 * target, target).failure()
    zero = level_of(torch.zeros_like(target), target)
    assert zero.level_db == -math.inf and zero.failure() == "its output is exactly zero"
    for bad in (math.nan, math.inf):
        output = target.clone()
        output[0, 7] = bad
        level = level_of(output, target)
        assert not level.finite and level.level_db is None
        assert "non-finite" in level.failure()


def test_output_level_is_pooled_over_every_sample_of_every_signal():
    rng = np.random.default_rng(0)
    a, b = (torch.from_numpy(rng.standard_normal((2, n))) for n in (300, 100))
    # the first signal's output is silent, the second's is 3x its target
    level = pooled_level([signal_level(torch.zeros_like(a), a), signal_level(3 * b, b)])
    out_rms = np.sqrt((9 * (b.numpy() ** 2).sum()) / 800)
    ref_rms = np.sqrt(((a.numpy() ** 2).sum() + (b.numpy() ** 2).sum()) / 800)
    assert level.output_rms == pytest.approx(out_rms, rel=1e-12)
    assert level.target_rms == pytest.approx(ref_rms, rel=1e-12)


def known_model():
    """Conv(1 -> 4) -> ReLU -> Conv(4 -> 6) -> ReLU with units dead by construction:
    layer "1": channels 2 and 3 (weight 0, bias -1); channel 1 (weight -1) is dead on
    positive input only; layer "3": channels 0, 2 and 4 (weight 0, bias -1)."""
    model = nn.Sequential(nn.Conv1d(1, 4, 1), nn.ReLU(), nn.Conv1d(4, 6, 1), nn.ReLU())
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, -1.0, 0.0, 0.0]).reshape(4, 1, 1))
        model[0].bias.copy_(torch.tensor([0.0, 0.0, -1.0, -1.0]))
        model[2].weight.fill_(0.0)
        model[2].weight[[1, 3, 5], 0] = 1.0
        model[2].bias.copy_(torch.tensor([-1.0, 0.5, -1.0, 0.5, -1.0, 0.5]))
    return model


def reference_dead(model, inputs):
    """Dead channels per ReLU, by running the layers one by one (no hooks)."""
    seen = {"1": torch.zeros(4), "3": torch.zeros(6)}
    with torch.no_grad():
        for x in inputs:
            h = x
            for index, layer in enumerate(model):
                h = layer(h)
                if str(index) in seen:
                    seen[str(index)] = torch.maximum(seen[str(index)], h.abs().amax(dim=(0, 2)))
    return {name: int((peak == 0).sum()) for name, peak in seen.items()}


def test_dead_relu_fraction_of_a_model_with_known_dead_units():
    model = known_model()
    rng = np.random.default_rng(1)
    positive = torch.from_numpy(rng.uniform(0.1, 1.0, (3, 1, 64)).astype(np.float32))
    mixed = torch.from_numpy(rng.standard_normal((2, 1, 64)).astype(np.float32))
    dead = dead_relu_units(model, [positive])
    assert {n: (d.dead, d.units) for n, d in dead.items()} == {"1": (3, 4), "3": (3, 6)}
    assert dead["1"].fraction == 0.75 and dead["3"].fraction == 0.5
    # a unit alive on one input of several is not dead
    dead = dead_relu_units(model, [positive, mixed])
    assert {n: (d.dead, d.units) for n, d in dead.items()} == {"1": (2, 4), "3": (3, 6)}
    assert {n: d.dead for n, d in dead.items()} == reference_dead(model, [positive, mixed])
    assert not any(m._forward_hooks for m in model.modules())  # the hooks are removed
    cause = failure_cause(model, [positive, mixed])
    assert cause["dead_relu"]["1"] == {"dead": 2, "units": 4, "fraction": 0.5}
    assert cause["nonfinite_parameters"] == []
    assert cause["summary"] == "dead ReLU units: 1 50%, 3 50%"


def test_an_all_dead_layer_and_non_finite_weights_are_named():
    model = known_model()
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.fill_(-1.0)
        model[0].bias[2] = -math.inf  # a dead unit of layer "1" already; now non-finite
    assert nonfinite_parameters(model) == ["0.bias"]
    cause = failure_cause(model, [torch.ones(1, 1, 16)])
    assert cause["dead_relu"]["3"]["fraction"] == 1.0
    assert "non-finite weights in 1 parameter(s) (0.bias)" in cause["summary"]
    assert "every unit dead in ReLU layer(s) 3" in cause["summary"]


def zero_the(kind, monkeypatch):
    """Build every model of upsampler ``kind`` with all its weights zero."""
    build = Task.build_model

    def zeroed(self):
        model = build(self)
        if self.config.upsampler == kind:
            with torch.no_grad():
                for p in model.parameters():
                    p.zero_()
        return model
    monkeypatch.setattr(Task, "build_model", zeroed)


def check_failed_row(row, report, cause_text):
    assert row["status"] == "failed" and row["rank"] is None
    assert row["verdicts"] == {} and row["tones"] is None and row["attenuation_09_db"] is None
    assert row["failed_seeds"] == len(row["seeds"])
    assert any(cause_text in c["failure"] for c in row["causes"])
    saved = report["variants"][row["variant"]]
    assert saved["status"] == "failed" and saved["rank"] is None
    for seed in saved["seeds"]:
        assert seed["status"] == "failed" and seed["cause"] in row["causes"]
        assert seed["trained"]["verdicts"] == {} and seed["trained"]["audit"]["verdicts"] == {}
        assert seed["trained"]["tones"] is None
    assert any(line.startswith("Not ranked: ") and f"{row['variant']} failed with" in line
               for line in report["reading"])
    assert f"{row['variant']} failed with" in report["recommendation"]


def test_a_dead_model_is_failed_unranked_and_has_no_tonal_verdict(data, tmp_path,  # noqa: F811
                                                                  monkeypatch):
    zero_the("nearest", monkeypatch)
    out = tmp_path / "cmp"
    report = compare(tiny_config(data), out, progress=False, echo=lambda m: None)
    rows = {r["variant"]: r for r in report["rows"]}
    dead, healthy = rows["nearest"], rows["subpixel"]
    check_failed_row(dead, report, "its output is exactly zero")
    # every ReLU of the zeroed model is dead (zero in, zero out, zero gradient)
    for cause in dead["causes"]:
        assert cause["dead_relu"] and all(
            layer["fraction"] == 1.0 for layer in cause["dead_relu"].values())
        assert "every unit dead in ReLU layer(s)" in cause["summary"]
    # the healthy variant is not failed and keeps its artifact verdicts; four steps do
    # not beat the baseline (a code of the bottleneck's size), so it is not learned
    assert healthy["status"] == "not learned" and healthy["causes"] == []
    assert healthy["rank"] is None
    assert healthy["verdicts"]["tonal"] in ("pass", "warn", "fail")
    assert report["recommendation"].startswith("No quality verdict")
    assert "On artifacts and speed alone, subpixel" in report["recommendation"]
    assert report["reading"] == reading(report)
    md = (out / "report.md").read_text()
    assert "| nearest | failed | - |" in md and "| subpixel | not learned | - |" in md
    assert "| nearest-naive | - | - |" in md
    assert dead["causes"][0]["summary"] in md
    assert dead["causes"][0]["summary"] in (out / "report.html").read_text()
    assert json.loads((out / "runs" / "nearest" / "seed-0" / "result.json").read_text())[
        "status"] == "failed"


def scaled_copy(gains, monkeypatch):
    """Load every trained model so that its output is ``gain * input`` (its
    target) for the gain of its upsampler kind."""
    load = runs.load_model

    def loaded(path):
        model = load(path)
        gain = gains[model.config["upsampler"]]
        model.register_forward_hook(lambda module, args, output: gain * args[0])
        return model
    monkeypatch.setattr(runs, "load_model", loaded)


def test_a_near_silent_output_is_failed_even_when_its_shape_is_perfect(data, tmp_path,  # noqa: F811
                                                                       monkeypatch):
    scaled_copy({"subpixel": 0.01, "nearest": 0.1}, monkeypatch)  # -40 dB and -20 dB
    report = compare(tiny_config(data), tmp_path / "cmp", progress=False,
                     echo=lambda m: None)
    rows = {r["variant"]: r for r in report["rows"]}
    silent, quiet = rows["subpixel"], rows["nearest"]
    check_failed_row(silent, report, "40.0 dB below the target's")
    for seed in report["variants"]["subpixel"]["seeds"]:
        assert seed["output_level"]["level_db"] == pytest.approx(-40.0, abs=1e-4)
        assert seed["metrics"]["si_sdr"] > 50  # a perfect copy by SI-SDR, yet failed
    assert quiet["status"] == "converged" and quiet["rank"] == 1
    for seed in report["variants"]["nearest"]["seeds"]:
        assert seed["output_level"]["level_db"] == pytest.approx(-20.0, abs=1e-4)


def test_a_healthy_tiny_run_is_converged_and_its_level_is_the_models(data, tmp_path):  # noqa: F811
    out = tmp_path / "cmp"
    report = compare(tiny_config(data, variants=("subpixel",), naive_timing=False, seeds=1),
                     out, progress=False, echo=lambda m: None)
    row = report["rows"][0]
    # healthy (not failed, no cause), though four steps do not beat the baseline
    assert row["status"] == "not learned" and row["causes"] == [] and row["rank"] is None
    assert row["verdicts"]["tonal"] in ("pass", "warn", "fail")
    assert not any("failed" in line for line in report["reading"])
    # the level, recomputed from the saved model on the validation file
    import soundfile as sf

    val, _ = sf.read(data / "validation" / "clip0.wav", dtype="float32")
    x = torch.from_numpy(val)[None].double()
    model = load_model(out / "runs" / "subpixel" / "seed-0" / "model.pt").eval()
    length = x.shape[-1]  # one pass over the whole signal (chunked scoring equals it)
    padded = torch.nn.functional.pad(x.float(), (0, model.valid_length(length) - length))
    with torch.no_grad():
        est = model(padded[None])[0, :, :length].double()
    expected = 20 * math.log10(float(est.pow(2).mean().sqrt() / x.pow(2).mean().sqrt()))
    level = report["variants"]["subpixel"]["seeds"][0]["output_level"]["level_db"]
    assert level == pytest.approx(expected, abs=1e-5) and level > -FAILED_BELOW_DB


def test_output_level_dictionary():
    level = OutputLevel(0.5, 1.0, True)
    assert level.to_dict() == {"output_rms": 0.5, "target_rms": 1.0, "finite": True,
                               "level_db": pytest.approx(20 * math.log10(0.5))}
