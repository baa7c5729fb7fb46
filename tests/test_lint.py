"""lint() and the audit / lint / figures command lines."""

from __future__ import annotations

import importlib
import json
import math
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from upsamplers import InterpUpsample1d, PeriodicShuffle1d, SubPixel1d, TransposedUpsample1d, cli
from upsamplers._checks import UserInputError
from upsamplers.activations.snake import Snake1d, SnakeBeta1d
from upsamplers.analysis import lint
from upsamplers.cli import main


class UsesInterpolate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 1, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2))


def test_lint_finds_every_kind_with_rates_and_advice():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(1, 8, 3, padding=1), nn.ReLU(),
        nn.ConvTranspose1d(8, 8, 3, stride=2, padding=1, output_padding=1),  # x2, partial
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv1d(8, 8, 3, padding=1),
        nn.Conv1d(8, 8, 3, padding=1), PeriodicShuffle1d(2),  # subpixel x2 (8 -> 4)
        SubPixel1d(4, 4, 2, init="icnr"),
        TransposedUpsample1d(4, 4, 2),
        InterpUpsample1d(4, 4, 2, mode="linear"),
        UsesInterpolate())
    report = lint(model, 44100.0)
    kinds = [(f.kind, f.factor) for f in report.findings]
    assert kinds == [("transposed", 2), ("nearest", 2), ("subpixel", 2), ("subpixel", 2),
                     ("transposed", 2), ("linear", 2), ("interpolate", None)]
    partial = report.findings[0]
    assert partial.overlap == "partial" and partial.activation_before == "ReLU"
    assert "partial overlap: kernel 3 with stride 2; use kernel 4" in partial.advice
    assert partial.bias
    assert any("ReLU before it" in a for a in partial.advice)
    icnr = report.findings[3]
    assert icnr.phase_spread_db == float("-inf")
    assert not any("unequal DC gains" in a for a in icnr.advice)
    assert report.findings[4].overlap == "full"
    assert any("unequal DC gains" in a for a in report.findings[4].advice)
    assert any("calls F.interpolate" in a for a in report.findings[-1].advice)
    assert report.total_factor is None  # the interpolate call's factor is unknown
    text = report.to_markdown()
    assert "| 1 |" in text and "use kernel 4" in text


def test_lint_tone_frequencies_follow_the_stage_rates():
    model = nn.Sequential(*[nn.ConvTranspose1d(1, 1, 16 if s == 8 else 4, stride=s,
                                               padding=s // 2) for s in (8, 8, 2, 2)])
    report = lint(model, 22050.0)
    assert report.factors == (8, 8, 2, 2)
    spacings = [f.tone_spacing for f in report.findings]
    assert spacings == pytest.approx([22050 / 256, 22050 / 32, 22050 / 4, 22050 / 2])
    assert report.findings[2].tone_frequencies == [5512.5]
    assert report.findings[3].tone_frequencies == [11025.0]
    assert json.loads(report.to_json())["total_factor"] == 256


def test_lint_rejects_a_non_module():
    with pytest.raises(TypeError, match="received function"):
        lint(lambda x: x)
    with pytest.raises(ValueError, match="received sample_rate=-5"):
        lint(nn.Identity(), -5)


@pytest.fixture
def user_errors_only(monkeypatch):
    """The command line as it is meant to be: only UserInputError is reported as the
    user's error (one line, exit 2); anything else is a bug and raises."""
    monkeypatch.setattr(cli, "_USER_ERRORS", (UserInputError,), raising=False)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(textwrap.dedent("""
        import torch
        from upsamplers import SubPixel1d

        def build():
            torch.manual_seed(0)
            return SubPixel1d(1, 1, 2, bias=True)

        def broken():
            raise RuntimeError("no weights here")
    """))
    return path


def test_cli_lint_and_audit_write_reports(model_file, tmp_path, capsys, user_errors_only):
    assert main(["lint", f"{model_file}:build", "--sample-rate", "8000"]) == 0
    assert "unequal DC gains" in capsys.readouterr().out
    out = tmp_path / "audit"
    code = main(["audit", f"{model_file}:build", "--sample-rate", "8000", "--seconds", "0.5",
                 "--out", str(out)])
    assert code == 1  # the tonal verdict fails
    data = json.loads((out / "audit.json").read_text())
    assert data["verdicts"]["tonal"]["status"] == "fail"
    assert (out / "audit.md").exists() and (out / "ones_spectrogram.png").exists()
    assert main(["audit", f"{model_file}:build", "--sample-rate", "8000", "--out",
                 str(out)]) == 2
    assert "already exist; pass --force" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "extra", "message"),
    [
        ("{file}:missing", [], "does not define 'missing'; it defines: SubPixel1d, broken, build"),
        ("{file}:broken", [], "broken() failed: RuntimeError: no weights here"),
        ("{dir}/nope.py:build", [], "nope.py: no such file"),
        ("{file}", [], "TARGET must be PATH_OR_MODULE:FACTORY"),
        ("no_such_module_xyz:build", [], "cannot import no_such_module_xyz"),
        ("{file}:build", ["--sample-rate", "-1"], "received sample_rate=-1.0"),
        ("{file}:build", ["--factors", "3"], "multiply to 3, but the model upsamples by 2"),
        ("{file}:build", ["--inputs", "bogus"], "inputs must be among"),
        ("{file}:build", ["--seconds", "0"], "received seconds=0.0"),
        ("os:getcwd", [], "model must be a torch.nn.Module; received str"),
        ("{file}:torch", [], "my_model.py:torch is a module, not a model factory"),
    ],
)
def test_cli_errors_are_one_line(model_file, target, extra, message, capsys, user_errors_only):
    target = target.format(file=model_file, dir=model_file.parent)
    command = "lint" if not extra else "audit"
    args = [command, target] + (extra if command == "audit" else [])
    if command == "audit" and "--sample-rate" not in extra:
        args += ["--sample-rate", "8000"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_deprecated_commands_module_still_loads_targets_and_warns(model_file):
    sys.modules.pop("upsamplers.analysis.commands", None)
    with pytest.warns(FutureWarning, match="upsamplers.analysis.commands is deprecated"):
        commands = importlib.import_module("upsamplers.analysis.commands")
    assert isinstance(commands.load_target(f"{model_file}:build"), SubPixel1d)


class UserSnake(nn.Module):
    """A Snake as user code writes it (not this package's): x + sin^2(alpha x) / alpha."""

    def __init__(self, channels: int, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.full((1, channels, 1), alpha))

    def forward(self, x):
        return x + 1.0 / (self.alpha + 1e-9) * torch.sin(self.alpha * x) ** 2


class UpBlock(nn.Module):
    """activation -> weight-normed ConvTranspose1d -> a residual placeholder."""

    def __init__(self, activation: nn.Module, channels: int, factor: int) -> None:
        super().__init__()
        self.act = activation
        self.up = nn.utils.parametrizations.weight_norm(nn.ConvTranspose1d(
            channels, channels // 2, 2 * factor, stride=factor, padding=factor // 2))
        self.res = nn.Identity()

    def forward(self, x):
        return self.res(self.up(self.act(x)))


def _decoder(make_activation, factors=(4, 2, 2)) -> nn.Module:
    blocks, channels = [], 32
    for factor in factors:
        blocks.append(UpBlock(make_activation(channels), channels, factor))
        channels //= 2
    return nn.Sequential(nn.Conv1d(8, 32, 7, padding=3), *blocks)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_lint_flags_a_user_defined_snake_with_its_measured_mean(alpha):
    torch.manual_seed(0)
    report = lint(_decoder(lambda c: UserSnake(c, alpha)), 24000.0)
    assert len(report.findings) == 3
    for f in report.findings:
        # E[sin^2(a x) / a] on unit noise: (1 - exp(-2 a^2)) / (2 a)
        expected = (1 - math.exp(-2 * alpha ** 2)) / (2 * alpha)
        assert f.activation_before == "UserSnake"
        assert f.activation_mean == pytest.approx(expected, abs=0.03)
        assert f.activation_adds_offset is True
        assert any(a.startswith("UserSnake before it outputs a mean of") and "tones" in a
                   for a in f.advice)
    assert "UserSnake (mean" in report.to_markdown()


@pytest.mark.parametrize("make", [lambda c: Snake1d(c), lambda c: SnakeBeta1d(c, alpha=2.0),
                                  lambda c: Snake1d(c, adaa=True)],
                         ids=["Snake1d", "SnakeBeta1d", "Snake1d-adaa"])
def test_lint_flags_this_packages_snakes(make):
    report = lint(_decoder(make))
    for f in report.findings:
        assert f.activation_adds_offset is True and f.activation_mean > 0.1
        assert any("before it outputs a mean of" in a for a in f.advice)


class SameRateBlock(nn.Module):
    def __init__(self, activation: nn.Module) -> None:
        super().__init__()
        self.act = activation
        self.up = nn.ConvTranspose1d(32, 32, 4, stride=2, padding=1)
        self.res = nn.Identity()

    def forward(self, x):
        return self.res(self.up(self.act(x)))


@pytest.mark.parametrize("make", [lambda: nn.LeakyReLU(0.1), lambda: UserSnake(32)],
                         ids=["LeakyReLU", "UserSnake"])
def test_lint_reports_a_shared_activation_at_every_use(make):
    shared = make()  # one instance, registered in three blocks
    report = lint(nn.Sequential(*[SameRateBlock(shared) for _ in range(3)]))
    name = type(shared).__name__
    assert [f.activation_before for f in report.findings] == [name] * 3
    assert all(f.activation_adds_offset for f in report.findings)
    assert any(f"one {name} instance is registered at 3 places (0.act, 1.act, 2.act)" in n
               for n in report.notes)
    assert "Identity" not in report.to_markdown()


def test_lint_counts_an_upsampler_registered_twice_once():
    up = nn.ConvTranspose1d(4, 4, 4, stride=2, padding=1)
    model = nn.Sequential(nn.ReLU(), up)
    model.alias = up  # the same layer under a second name is not a second stage
    assert lint(model).factors == (2,)


@pytest.mark.parametrize("make", [lambda c: nn.Tanh(), lambda c: nn.Softsign(),
                                  lambda c: nn.SELU()], ids=["Tanh", "Softsign", "SELU"])
def test_lint_does_not_flag_activations_without_an_offset(make):
    report = lint(_decoder(make))
    for f in report.findings:
        assert f.activation_before is not None and f.activation_adds_offset is False
        assert not any("before it outputs" in a for a in f.advice)


def test_lint_reads_norms_and_convolutions_as_no_activation():
    model = nn.Sequential(nn.Conv1d(4, 8, 3, padding=1), nn.BatchNorm1d(8),
                          nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1),
                          nn.Conv1d(8, 8, 1), nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1))
    report = lint(model)
    assert [f.activation_before for f in report.findings] == [None, None]


class FilterUp2(nn.Module):
    """x2 by zero-stuffing and a fixed triangle filter (a buffer), per channel."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("taps", torch.tensor([[[0.5, 1.0, 0.5]]]))

    def forward(self, x):
        c = x.shape[1]
        return F.conv_transpose1d(x, self.taps.expand(c, 1, 3), stride=2, padding=1,
                                  output_padding=1, groups=c)


class FilterDown2(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("taps", torch.tensor([[[0.25, 0.5, 0.25]]]))

    def forward(self, x):
        c = x.shape[1]
        return F.conv1d(x, self.taps.expand(c, 1, 3), stride=2, padding=1, groups=c)


class OversampledSnake(nn.Module):
    """An anti-aliased activation as user code writes it: up, Snake, down; its last
    registered leaf is the down-sampling filter, not the Snake."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.up = FilterUp2()
        self.act = UserSnake(channels)
        self.down = FilterDown2()

    def forward(self, x):
        return self.down(self.act(self.up(x)))


def test_lint_flags_an_oversampled_activation_whose_last_leaf_is_a_filter():
    report = lint(_decoder(OversampledSnake))
    assert [f.activation_before for f in report.findings] == ["OversampledSnake"] * 3
    for f in report.findings:
        assert f.activation_adds_offset and f.activation_mean > 0.2
