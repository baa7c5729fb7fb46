"""The benchmark's bookkeeping (never its speed): arithmetic floors, ratios,
goals, and the command's outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from upsamplers import cli
from upsamplers._checks import UserInputError
from upsamplers.bench import (
    Case,
    Shape,
    default_cases,
    floor_flops,
    goals,
    phase_taps,
    run_benchmark,
    to_markdown,
)
from upsamplers.cli import main
from upsamplers.layers import make_upsampler

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def user_errors_only(monkeypatch):
    """The command line as it is meant to be: only UserInputError is reported as the
    user's error (one line, exit 2); anything else is a bug and raises."""
    monkeypatch.setattr(cli, "_USER_ERRORS", (UserInputError,), raising=False)



def _measured_support(module, time: int = 64) -> int:
    """Phase-kernel taps measured from impulse responses: the number of input
    samples that reach output phase i, summed over i (away from the ends)."""
    torch.manual_seed(0)
    with torch.no_grad():
        module.conv.weight.uniform_(0.5, 1.5)  # positive: no accidental cancellation
        x = torch.zeros(1, 1, time, dtype=torch.float64)
        x[..., time // 2] = 1.0
        y = module.double()(x)[0, 0].numpy()
    r = module.factor
    phases = y.reshape(time, r)  # [s, i] = y[s * r + i]
    return int(sum(np.count_nonzero(np.abs(phases[:, i]) > 1e-14) for i in range(r)))


@pytest.mark.parametrize("kind", ["nearest", "linear", "sinc"])
@pytest.mark.parametrize(("factor", "kernel_size"), [(2, 5), (4, 9), (4, 3), (3, 4), (1, 3)])
def test_phase_taps_of_interpolation_match_impulse_responses(kind, factor, kernel_size):
    module = make_upsampler(kind, 1, 1, factor, kernel_size=kernel_size)
    assert phase_taps(module) == _measured_support(module)


def test_phase_taps_by_hand():
    # subpixel: r kernels of K taps; transposed: each of the K taps is in one phase
    assert phase_taps(make_upsampler("subpixel", 2, 2, 4, kernel_size=3)) == 12
    assert phase_taps(make_upsampler("transposed", 2, 2, 4)) == 8
    # nearest, K = 2r + 1: every phase spans 3 input samples
    assert phase_taps(make_upsampler("nearest", 2, 2, 4)) == 12
    # linear, r = 4, K = 9: every phase spans 4 input samples (see test_polyphase)
    assert phase_taps(make_upsampler("linear", 2, 2, 4)) == 16
    # naive and polyphase are the same function: same floor
    assert phase_taps(make_upsampler("linear", 2, 2, 4, impl="naive")) == 16
    with pytest.raises(TypeError, match="received Conv1d"):
        phase_taps(torch.nn.Conv1d(2, 2, 3))


def test_floor_flops_arithmetic():
    # 3 (forward + two backward products) * 2 (multiply + add) * B T macs
    assert floor_flops(Shape(2, 3, 5, 2), 3 * 3 * 6) == 3 * 2 * 2 * 5 * 3 * 3 * 6
    assert floor_flops(Shape(8, 64, 4096, 4), 64 * 64 * 12) == 6 * 8 * 4096 * 64 * 64 * 12


def test_the_floor_of_interpolation_is_its_cheapest_exact_form():
    """C C phase_taps where folding is cheapest (nearest, linear); for sinc the
    interpolation as r filters of D taps per channel, then the high-rate kernel."""
    for kind in ("nearest", "linear"):
        module = make_upsampler(kind, 8, 8, 4, kernel_size=9)
        assert module.macs_per_input_sample() == 8 * 8 * phase_taps(module)
    module = make_upsampler("sinc", 8, 8, 4, kernel_size=3)
    depth = module.phases.taps.shape[1]
    assert module.macs_per_input_sample() == 8 * 4 * depth + 8 * 8 * 4 * 3
    assert module.macs_per_input_sample() < 8 * 8 * phase_taps(module)
    naive = make_upsampler("sinc", 8, 8, 4, kernel_size=3, impl="naive")
    assert naive.macs_per_input_sample() == module.macs_per_input_sample()


def test_run_benchmark_rows_are_consistent():
    shape = Shape(1, 3, 16, 2)
    cases = [Case("subpixel", "subpixel"), Case("linear", "linear"),
             Case("linear (naive)", "linear", {"impl": "naive"})]
    details: dict = {}
    rows = run_benchmark([shape], cases, repeats=2, warmup=0, details=details)
    assert [r["label"] for r in rows] == ["subpixel", "linear", "linear (naive)"]
    by_label = {r["label"]: r for r in rows}
    for row in rows:
        assert len(row["times_ms"]) == 2
        assert row["median_ms"] == pytest.approx(float(np.median(row["times_ms"])))
        flops = floor_flops(shape, row["macs"])
        assert row["floor_ms"] == pytest.approx(1e3 * flops / (row["gflops"] * 1e9))
        assert row["vs_floor"] == pytest.approx(row["median_ms"] / row["floor_ms"])
        assert row["vs_subpixel"] == pytest.approx(
            row["median_ms"] / by_label["subpixel"]["median_ms"])
    assert by_label["linear"]["speedup"] == pytest.approx(
        by_label["linear (naive)"]["median_ms"] / by_label["linear"]["median_ms"])
    assert "speedup" not in by_label["linear (naive)"]
    (shuffle,) = details["shuffle"]
    assert shuffle["overhead"] == pytest.approx(shuffle["fused_ms"] / shuffle["conv_ms"] - 1)
    assert shuffle["overhead_unfused"] == pytest.approx(
        shuffle["conv_shuffle_ms"] / shuffle["conv_ms"] - 1)
    table = to_markdown(rows, None, details["shuffle"])
    form = rows[1]["form"]
    assert form == make_upsampler("linear", 3, 3, 2).form_for(1, 16)
    assert f"| B=1 C=3 T=16 x2 | linear | polyphase | {form} | 5 | 8 |" in table
    assert "fused polyphase_conv" in table


def _row(label, kind, impl, kernel, median, *, speedup=None, vs_floor=1.0, options=None):
    row = {"shape": {"batch": 1, "channels": 1, "time": 1, "factor": 4}, "label": label,
           "kind": kind, "impl": impl, "kernel_size": kernel, "median_ms": median,
           "vs_floor": vs_floor, "options": options if options is not None else {}}
    if speedup is not None:
        row["speedup"] = speedup
    return row


def test_goals_report_met_and_missed_with_figures():
    main = {"batch": 8, "channels": 64, "time": 4096, "factor": 4}
    rows = [_row("nearest", "nearest", "polyphase", 9, 1.0, speedup=2.5, vs_floor=1.4),
            _row("linear", "linear", "polyphase", 9, 1.0, speedup=1.9, vs_floor=2.1),
            _row("nearest k=3", "nearest", "polyphase", 3, 1.0, speedup=0.96,
                 options={"kernel_size": 3})]
    for row in rows[:2]:
        row["shape"] = main
    shuffles = [{"shape": rows[0]["shape"], "overhead": 0.12}]
    lines = goals(rows, shuffles)
    assert "at least 0.95x as fast as its naive" in lines[0]
    assert "nearest k=3 0.96x (B=1 C=1 T=1 x4)" in lines[0] and lines[0].endswith("met")
    assert "within 1.5x of its floor on B=8 C=64 T=4096 x4" in lines[1]
    assert "nearest 1.40x, linear 2.10x" in lines[1] and lines[1].endswith("MISSED")
    assert "+12%" in lines[2] and lines[2].endswith("MISSED")
    rows[2]["speedup"] = 0.94
    assert goals(rows, [])[0].endswith("MISSED")
    # a case the engine runs as the composition itself: reported as noise, apart
    rows[2]["form"] = "naive"
    line = goals(rows, [])[0]
    assert "1 more run the naive composition itself" in line and "0.94x-0.94x" in line
    assert line.endswith("met")


def test_default_cases_cover_every_kind_both_ways():
    labels = {c.label for c in default_cases()}
    for kind in ("nearest", "linear", "sinc"):
        assert {kind, f"{kind} (naive)"} <= labels
    assert {"transposed", "subpixel", "nearest k=3", "linear k=3 (naive)", "sinc k=3",
            "resample"} <= labels


def test_command_writes_markdown_and_json(tmp_path, capsys):
    code = main(["bench", "--shape", "1,2,8,2", "--repeats", "1", "--warmup", "0",
                 "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    assert {"machine", "rows", "shuffle", "goals"} <= set(data)
    assert {r["kind"] for r in data["rows"]} == {"transposed", "subpixel", "nearest", "linear",
                                                  "sinc", "resample"}
    table = (tmp_path / "bench.md").read_text()
    assert "Goals:" in table and "vs floor" in table
    assert "sinc (naive)" in capsys.readouterr().out


def test_command_errors_are_the_users(tmp_path, capsys, user_errors_only):
    (tmp_path / "bench.json").write_text("mine")
    assert main(["bench", "--shape", "1,2,8,2", "--out", str(tmp_path)]) == 2
    assert "bench.json already exist; pass --force" in capsys.readouterr().err
    assert (tmp_path / "bench.json").read_text() == "mine"
    assert main(["bench", "--shape", "1,2,8,2", "--repeats", "0"]) == 2
    assert "repeats must be a positive integer; received repeats=0" in capsys.readouterr().err
    with pytest.raises(UserInputError, match="shape factor must be a positive integer"):
        Shape.parse("1,2,3,0")
    with pytest.raises(UserInputError, match="received Conv1d"):
        phase_taps(torch.nn.Conv1d(2, 2, 3))
