"""The fast paths of ``measure_aliasing`` (issue 23, item 4): the short dry run, a
given rate ratio (``--ratio``), batches, the shortest steady context, the default
period of a module that raises the rate a lot, and progress. Each measures the
same numbers as the exhaustive layout (whole warm-up periods, one signal a call)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from lookalikes import hifigan_decoder
from scipy import signal as sps
from torch import nn

from upsamplers.activations import AntiAliasedActivation1d, Snake1d
from upsamplers.analysis import aliasing_run, measure_aliasing
from upsamplers.analysis.aliasing import signal_list
from upsamplers.layers import make_upsampler

N = 257
#: The most a settled context may move an AHR: 20 log10(1 + 10**(-40 / 20)) dB.
TOLERANCE_DB = 20 * math.log10(1.01)


class Counted(nn.Module):
    """``module``, recording the input length of every call."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.lengths: list[int] = []
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.lengths.append(x.shape[-1])
        self.batches.append(x.shape[0])
        return self.module(x)


def _decoder(factors=(2, 2), seed=0):
    """A small look-alike of a Snake HiFi-GAN decoder, in float64 (8 latents)."""
    return hifigan_decoder(in_channels=8, channels=16, factors=factors, kernels=(3,),
                           seed=seed).double()


def _modules():
    torch.manual_seed(1)
    up = make_upsampler("transposed", 1, 1, 4).double()
    return {
        "tanh": nn.Tanh().double(),
        "leaky_relu": nn.LeakyReLU(0.01).double(),
        "snake x2 anti-aliased": AntiAliasedActivation1d(Snake1d(1), 2).double(),
        "transposed x4": up,
        "decoder x4": _decoder(),
        "decimator": lambda x: np.tanh(3 * x)[::2],
    }


def _random_f0s(rng, count, top=0.45):
    return sorted(float(f) for f in rng.uniform(0.03, top, count))


@pytest.mark.parametrize("name", list(_modules()))
def test_the_shortest_steady_context_measures_what_whole_periods_measure(name):
    module = _modules()[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    top = 0.24 if name == "decimator" else 0.45
    options = dict(f0s=_random_f0s(rng, 4, top), wave_f0s=_random_f0s(rng, 1, top),
                   amplitudes=[0.3, 0.8], length=N)
    fast = measure_aliasing(module, **options)
    full = measure_aliasing(module, layout="periods", **options)
    lead = 2 * N  # whole periods: 2 warm-up periods before the window (q <= 2)
    assert all(m.context < lead for m in fast.measures)  # less was fed
    assert all(m.context == lead for m in full.measures)
    for a, b in zip(fast.measures, full.measures, strict=True):
        assert (a.wave, a.f0, a.k0, a.amplitude) == (b.wave, b.f0, b.k0, b.amplitude)
        assert a.at_floor == b.at_floor and a.steady and b.steady
        if not b.at_floor:  # the change one window later 40 dB down: within 0.09 dB
            assert abs(a.ahr_db - b.ahr_db) <= TOLERANCE_DB
            assert a.harmonic_power == pytest.approx(b.harmonic_power, rel=0.03)
        if b.image_db is not None:
            assert abs(a.image_db - b.image_db) <= TOLERANCE_DB
            assert [c.bin for c in a.components[:1]] == [c.bin for c in b.components[:1]]
    if name in ("tanh", "leaky_relu"):  # memoryless: the same samples
        assert [a.ahr_db for a in fast.measures] == [b.ahr_db for b in full.measures]


def _slow(x):
    """tanh after a one-pole filter of memory ~100 samples per e-fold."""
    return np.tanh(2 * sps.lfilter([0.05], [1.0, -0.99], x))


def test_a_steady_module_stops_at_the_first_context_a_slow_one_goes_on():
    torch.manual_seed(0)
    fir = Counted(nn.Sequential(nn.Conv1d(1, 1, 9, padding=4, bias=False), nn.Tanh()).double())
    options = dict(f0s=[0.1, 0.3], amplitudes=[0.8], waves=["sine"], length=N, warmup=8,
                   channels=1, ratio=1)
    report = measure_aliasing(fir, **options)
    first = aliasing_run.FIRST_CONTEXT
    assert [m.context for m in report.measures] == [first, first]  # its memory: 4 samples
    assert fir.lengths == [N + 3 * first] * 2  # the first signal, then the other
    calls = []
    slow = measure_aliasing(lambda x: calls.append(len(x)) or _slow(x), **options)
    contexts = [m.context for m in slow.measures]
    assert min(contexts) >= 256 and all(m.steady for m in slow.measures)
    assert len(calls) > 4  # 4, 8, 16, ... until the transient has died out
    full = measure_aliasing(_slow, layout="periods", **options)
    for a, b in zip(slow.measures, full.measures, strict=True):
        assert abs(a.ahr_db - b.ahr_db) <= TOLERANCE_DB


def test_a_module_that_never_settles_is_measured_with_whole_periods_as_before():
    ramp = lambda x: x * (1 + np.arange(len(x)) / len(x))  # noqa: E731
    report = measure_aliasing(ramp, f0s=[0.2], amplitudes=[0.5], waves=["sine"], length=N)
    assert not report.steady and report.measures[0].context == 2 * N
    assert "not steady" in report.notes[0]


def test_batches_give_what_single_signals_give(monkeypatch):
    decoder = Counted(_decoder())
    options = dict(f0s=[0.07, 0.19, 0.33], wave_f0s=[0.11], amplitudes=[0.2, 0.7],
                   length=N, channels=8, ratio=4)
    batched = measure_aliasing(decoder, **options)
    assert decoder.batches[0] == 1 and max(decoder.batches) == 9  # the first, then the 9
    monkeypatch.setattr(aliasing_run, "MAX_BATCH_OUTPUT", 1)
    decoder.batches.clear()
    single = measure_aliasing(decoder, **options)
    assert set(decoder.batches) == {1} and len(decoder.batches) >= 10
    for a, b in zip(batched.measures, single.measures, strict=True):
        assert a.ahr_db == pytest.approx(b.ahr_db, abs=1e-9)
        assert a.steady_db == pytest.approx(b.steady_db, abs=1e-6) or a.steady_db < -250


def test_a_given_ratio_skips_the_rate_dry_run():
    decoder = Counted(_decoder(factors=(2, 2)))
    options = dict(f0s=[0.1], amplitudes=[0.5], waves=["sine"], length=N)
    found = measure_aliasing(decoder, **options)
    short = aliasing_run.SHORT_DRY_RUN_LENGTH
    assert decoder.lengths[:2] == [short, 2 * short]  # channels, then the ratio
    measured = decoder.lengths[2:]
    decoder.lengths.clear()
    given = measure_aliasing(decoder, ratio=4, **options)
    assert decoder.lengths == [short, *measured]  # the channels only
    decoder.lengths.clear()
    both = measure_aliasing(decoder, ratio=4, channels=8, **options)
    assert decoder.lengths == measured  # no dry run at all
    assert found.ratio == given.ratio == both.ratio == (4, 1)
    assert found.measures[0].ahr_db == given.measures[0].ahr_db == both.measures[0].ahr_db


def test_a_wrong_given_ratio_is_named():
    with pytest.raises(ValueError, match=r"ratio must be the module's rate ratio .* 120 "
                       r"input samples gave 480, not 120 x 3 = 360; received ratio=3"):
        measure_aliasing(_decoder(), ratio=3, length=N)
    with pytest.raises(ValueError, match=r"gave \d+, not \d+ as the rate ratio 3 \(given\)"):
        measure_aliasing(_decoder(), ratio=3, channels=8, length=N)


def test_a_period_too_short_for_the_rate_ratio_is_noted():
    """A decoder by 64: with k0 < 32 its images m N +- k0 for m = k0 land on harmonic
    bins; the note says so, and an image-only upsampler shows why it matters."""
    decoder = _decoder(factors=(8, 8))
    short = measure_aliasing(decoder, f0s=[0.1], amplitudes=[0.5], waves=["sine"],
                             length=N)  # k0 = 26
    assert short.ratio == (64, 1) and short.measures[0].k0 == 26
    assert any("at most half the rate ratio 64" in n and "k0 = 26" in n
               for n in short.notes)
    fine = measure_aliasing(decoder, f0s=[0.3], amplitudes=[0.5], waves=["sine"], length=N)
    assert fine.measures[0].k0 == 77 and not any("rate ratio 64" in n for n in fine.notes)
    def stuff(x):  # zero stuffing by 64: 63 images below the Nyquist, as loud as x
        y = np.zeros(64 * len(x))
        y[::64] = 64 * x
        return y

    low = measure_aliasing(stuff, f0s=[0.1], amplitudes=[0.5], waves=["sine"], length=N)
    high = measure_aliasing(stuff, f0s=[0.1], amplitudes=[0.5], waves=["sine"], length=4099)
    assert high.measures[0].k0 > 32 and not any("rate ratio" in n for n in high.notes)
    assert high.measures[0].ahr_db == pytest.approx(10 * math.log10(63), abs=1e-6)
    # images 26 N +- 26 = 26 (N +- 1) sit on harmonic bins: 61 aliased, 3 harmonic
    assert low.measures[0].ahr_db == pytest.approx(10 * math.log10(61 / 3), abs=1e-6)
    # k0 = 32 = p / 2 exactly is still too few: the image 32 (N - 1) is below the
    # output Nyquist 32 N, on a harmonic bin (62 aliased, 2 harmonic)
    edge = measure_aliasing(stuff, f0s=[32 / N], amplitudes=[0.5], waves=["sine"], length=N)
    assert edge.measures[0].k0 == 32 and any("k0 = 32" in n for n in edge.notes)
    assert edge.measures[0].ahr_db == pytest.approx(10 * math.log10(62 / 2), abs=1e-6)


def test_progress_is_called_once_then_once_per_signal():
    said = []
    options = dict(f0s=[0.1, 0.2], wave_f0s=[0.1], amplitudes=[0.3, 0.6], length=N)
    report = measure_aliasing(nn.Tanh(), progress=said.append, **options)
    count = len(signal_list(("sine", "sawtooth", "triangle"), options["f0s"],
                            options["wave_f0s"], options["amplitudes"]))
    assert count == len(report.measures) == 8 and len(said) == 1 + count
    assert said[0] == f"{count} signals, period {N}, rate ratio 1"
    named = sorted(said[1:])
    assert named == sorted(f"{m.wave} f0={m.f0:g} amplitude {m.amplitude:g}: AHR "
                           f"{m.ahr_db:.1f} dB" for m in report.measures)


@pytest.fixture
def user_errors_only(monkeypatch):
    from upsamplers import cli
    from upsamplers._checks import UserInputError

    monkeypatch.setattr(cli, "_USER_ERRORS", (UserInputError,), raising=False)


def _factory(tmp_path):
    """A factory file whose decoder (x4) appends every input length to a log file."""
    log = tmp_path / "calls.txt"
    path = tmp_path / "dec.py"
    here = Path(__file__).parent
    path.write_text(
        f"import sys\nsys.path.insert(0, {str(here)!r})\n"
        "from lookalikes import hifigan_decoder\n\n"
        "def build():\n"
        "    model = hifigan_decoder(in_channels=8, channels=16, factors=(2, 2), "
        "kernels=(3,))\n"
        f"    model.register_forward_pre_hook(lambda m, x: open({str(log)!r}, 'a').write("
        "f'{x[0].shape[-1]}\\n') and None)\n"
        "    return model\n")
    return path, log


def test_cli_ratio_skips_the_dry_run_and_shows_progress(tmp_path, capsys, user_errors_only):
    from upsamplers.cli import main

    path, log = _factory(tmp_path)
    common = [f"{path}:build", "--f0", "0.1,0.3", "--amplitudes", "0.8", "--waves", "sine",
              "--length", str(N), "--json"]
    assert main(["aliasing", *common]) == 0
    found = json.loads(capsys.readouterr().out)
    lengths = [int(v) for v in log.read_text().split()]
    assert lengths[:2] == [120, 240]
    log.unlink()
    assert main(["aliasing", *common, "--ratio", "4", "--in-channels", "8"]) == 0
    captured = capsys.readouterr()
    given = json.loads(captured.out)
    assert [int(v) for v in log.read_text().split()] == lengths[2:]  # no dry run
    assert given["ratio"] == found["ratio"] == [4, 1]
    assert given["measures"] == found["measures"]
    assert "2/2" in captured.err  # the bar: one step per signal


@pytest.mark.parametrize("text", ["0", "-4", "abc", "1/9", "1/0", "2.5.1", ""])
def test_cli_a_bad_ratio_is_one_line(text, tmp_path, capsys, user_errors_only):
    from upsamplers.cli import main

    path, log = _factory(tmp_path)
    assert main(["aliasing", f"{path}:build", "--ratio", text]) == 2
    err = capsys.readouterr().err
    assert "--ratio must be the model's output samples per input sample, P or P/Q" in err
    assert f"received --ratio {text!r}" in err and err.count("\n") == 1
    assert not log.exists()  # refused before the model ran


def test_cli_a_wrong_ratio_is_one_line(tmp_path, capsys, user_errors_only):
    from upsamplers.cli import main

    path, _ = _factory(tmp_path)
    assert main(["aliasing", f"{path}:build", "--ratio", "3", "--length", str(N)]) == 2
    err = capsys.readouterr().err
    assert "ratio must be the module's rate ratio" in err and err.count("\n") == 1


class SlowDecoder(nn.Module):
    """A decoder by 64 (nearest, then a tanh) that seems to cost ``cost`` seconds per
    output sample: it sleeps that long on the dry runs' short inputs (what the
    estimate reads), not on the measures (so that the test stays fast)."""

    def __init__(self, cost: float) -> None:
        super().__init__()
        self.cost = cost

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] <= 2 * 840:
            time.sleep(self.cost * x.shape[0] * x.shape[-1] * 64)
        return torch.tanh(2 * x.repeat_interleave(64, dim=-1))


def test_the_default_sweep_of_a_slow_decoder_is_the_quick_one():
    from upsamplers.analysis.aliasing_sweep import QUICK_F0S, SWEEP_BUDGET_S

    report = measure_aliasing(SlowDecoder(2e-6))
    # the default sweep: 63 signals x 2 x 4099 x 64 samples x 2 us = 66 s > budget
    assert SWEEP_BUDGET_S < 66
    assert [(m.wave, round(m.f0, 1), m.amplitude) for m in report.measures] == [
        ("sine", f, 0.8) for f in QUICK_F0S]
    assert report.length == 163 and all(m.k0 > 32 for m in report.measures)
    assert any(n.startswith("quick sweep: the default sweep (63 signals, period 4099)")
               for n in report.notes)
    assert not any("at most half the rate ratio" in n for n in report.notes)


@pytest.mark.parametrize("options", [dict(sweep="full", waves=["sine"], amplitudes=[0.8]),
                                     dict(f0s=[0.1, 0.2]), dict(length=211)])
def test_signals_the_caller_chose_are_never_replaced(options):
    report = measure_aliasing(SlowDecoder(2e-6), **options)
    assert not any("quick sweep" in n for n in report.notes)
    assert len(report.measures) > 3 or report.length == 211


def test_a_fast_module_gets_the_full_default_sweep():
    report = measure_aliasing(nn.Tanh())
    assert len(report.measures) == 63 and report.length == 4099
    assert not any("quick sweep" in n for n in report.notes)


def test_a_bad_sweep_is_one_line():
    with pytest.raises(ValueError, match=r"sweep must be one of 'auto', 'full'; received"):
        measure_aliasing(nn.Tanh(), sweep="fast")


def test_the_probe_bound_counts_a_decoders_output_channels_not_its_latent_ones():
    # 128 latent channels to 1 output channel by 256: 2**27 samples allow the default
    # period on the output side; the old bound multiplied 128 by the output length
    from upsamplers.analysis.aliasing import check_probe

    assert check_probe(length=4099, warmup=2, channels=128, ratio=256, out_channels=1) == \
        6 * 4099 * 256
    with pytest.raises(ValueError, match="at its input .* and at its output"):
        check_probe(length=4099, warmup=2, channels=128, ratio=256)
