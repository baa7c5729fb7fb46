"""What ``audit``, ``aliasing`` and ``lint`` feed a foreign model (issue 23, items 2,
3 and 7): the factory file as the user wrote it, the input channels its layers
imply (or the user gives), and probes bounded by what is really allocated.

The models are look-alikes built here: a hybrid separator whose spectrogram branch
(a ``Conv2d`` over real and imaginary parts) comes first, a codec decoder whose
``channels`` attribute means its audio channels while it takes 128 latent
channels, a 1024-channel latent decoder with a hop of 512.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time

import pytest
import torch
from torch import nn

from upsamplers import cli
from upsamplers._checks import InvalidValue, UserInputError
from upsamplers.analysis import audit, measure_aliasing
from upsamplers.analysis.channels import settle_in_channels
from upsamplers.cli import main

ALIASING_QUICK = ["--f0", "0.1", "--amplitudes", "0.5", "--waves", "sine", "--length", "101"]
AUDIT_QUICK = ["--inputs", "silence", "--seconds", "0.25", "--no-plot"]


@pytest.fixture
def user_errors_only(monkeypatch):
    """Only UserInputError is the user's error (one line, exit 2); anything else raises."""
    monkeypatch.setattr(cli, "_USER_ERRORS", (UserInputError,), raising=False)


@pytest.fixture
def clean_sys_path(monkeypatch):
    """``sys.path`` and ``sys.modules`` restored after the test (the user's code
    under test changes them, as it would in a real run)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))


# ----------------------------------------------------------------- item 7: the loader


def _factory_with_own_lib(tmp_path, tag: str):
    """A factory file that puts its own ``lib`` folder first on ``sys.path`` at import
    time and imports from it (and from a neighbour file) only inside the factory."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / f"mylib_{tag}.py").write_text(textwrap.dedent("""
        import torch

        def make():
            torch.manual_seed(0)
            return torch.nn.ConvTranspose1d(1, 1, 4, stride=2, padding=1, bias=False)
        """))
    (tmp_path / f"neighbour_{tag}.py").write_text("SCALE = 1.0\n")
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(f"""
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).parent / "lib"))

        def build():
            import mylib_{tag}
            import neighbour_{tag}

            assert neighbour_{tag}.SCALE == 1.0
            return mylib_{tag}.make()
        """))
    return path


@pytest.mark.parametrize("command", ["lint", "audit", "aliasing"])
def test_a_factory_that_puts_its_own_lib_folder_on_sys_path_loads(
        command, tmp_path, capsys, clean_sys_path, user_errors_only):
    path = _factory_with_own_lib(tmp_path, command)
    args = {"lint": [], "aliasing": ALIASING_QUICK,
            "audit": ["--sample-rate", "16000", "--out", str(tmp_path / "out"), *AUDIT_QUICK]}
    before = list(sys.path)
    code = main([command, f"{path}:build", *args[command]])
    err = capsys.readouterr().err
    assert "ModuleNotFoundError" not in err
    assert code in ((0, 1) if command == "audit" else (0,)), err  # audit: 1 = a verdict failed
    if command == "audit":
        assert json.loads((tmp_path / "out" / "audit.json").read_text())["factors"] == [2]
    # what the user's code did stays; the loader's own entry is gone
    assert sys.path[0] == str(tmp_path / "lib") and sys.path[1:] == before
    assert str(tmp_path) not in sys.path


# ------------------------------------------------------ item 2: the input channels


class HybridSeparator(nn.Module):
    """Stereo in and out; a spectrogram branch (``Conv2d`` over the real and imaginary
    parts of both channels: 4 in) registered and run before the waveform branch."""

    def __init__(self) -> None:
        super().__init__()
        self.spec = nn.Conv2d(4, 4, 1)
        self.wave = nn.Sequential(nn.Conv1d(2, 8, 3, padding=1),
                                  nn.ConvTranspose1d(8, 2, 4, stride=2, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 2, T) -> (B, 2, 2T)
        b, c, t = x.shape
        s = torch.stft(x.reshape(b * c, t), 16, hop_length=4, window=torch.hann_window(16),
                       return_complex=True)
        s = torch.view_as_real(s)  # (B*C, F, N, 2)
        s = s.reshape(b, c, *s.shape[1:]).permute(0, 1, 4, 2, 3).reshape(b, 2 * c, *s.shape[1:3])
        gate = torch.sigmoid(self.spec(s).mean())
        return self.wave(x) * gate


class LatentDecoder(nn.Module):
    """A codec decoder: ``channels`` is its audio channels (1); it takes ``latent``
    channels (registered after a layer that carries its own ``channels``)."""

    def __init__(self, latent: int = 128, hop: int = 4) -> None:
        super().__init__()
        self.channels = 1
        self.net = nn.Sequential(nn.Conv1d(latent, 16, 3, padding=1), nn.ELU(),
                                 nn.ConvTranspose1d(16, 1, 2 * hop, stride=hop, padding=hop // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, latent, T) -> (B, 1, T * hop)
        return self.net(x)


def _factory_file(tmp_path, expression: str):
    path = tmp_path / "models.py"
    path.write_text(textwrap.dedent(f"""
        import torch
        from test_model_inputs import HybridSeparator, LatentDecoder, NoGuessFits

        def build():
            torch.manual_seed(0)
            return {expression}
        """))
    return path


@pytest.fixture
def importable_here(monkeypatch):
    """The factory files written here import the models of this test module."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent))


@pytest.mark.parametrize(("expression", "channels"), [("HybridSeparator()", 2),
                                                      ("LatentDecoder(128)", 128),
                                                      ("LatentDecoder(24)", 24)])
def test_audit_and_aliasing_guess_the_same_input_channels(
        expression, channels, tmp_path, capsys, importable_here, user_errors_only):
    path = _factory_file(tmp_path, expression)
    out = tmp_path / "out"
    code = main(["audit", f"{path}:build", "--sample-rate", "16000", "--out", str(out),
                 *AUDIT_QUICK])
    assert code in (0, 1), capsys.readouterr().err  # 1: a verdict failed, not an error
    assert json.loads((out / "audit.json").read_text())["in_channels"] == channels
    capsys.readouterr()
    assert main(["aliasing", f"{path}:build", "--json", *ALIASING_QUICK]) == 0
    assert json.loads(capsys.readouterr().out)["channels"] == channels


@pytest.mark.parametrize("option", ["--in-channels", "--channels"])
def test_a_given_channel_count_wins_and_a_wrong_one_is_one_line(
        option, tmp_path, capsys, importable_here, user_errors_only):
    path = _factory_file(tmp_path, "HybridSeparator()")
    capsys.readouterr()
    given = ["--in-channels", "2"] if option == "--in-channels" else []
    assert main(["audit", f"{path}:build", "--sample-rate", "16000", *given,
                 *AUDIT_QUICK]) in (0, 1)
    assert main(["aliasing", f"{path}:build", option, "2", *ALIASING_QUICK]) == 0
    capsys.readouterr()
    for command, rest in (("audit", ["--sample-rate", "16000", "--in-channels", "3",
                                     *AUDIT_QUICK]),
                          ("aliasing", [option, "3", *ALIASING_QUICK])):
        assert main([command, f"{path}:build", *rest]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "(--in-channels) must be the model's input channels: the model failed on 3" in err
        assert "expected input" in err and "channels=3" in err  # the model's error, condensed


class NoGuessFits(nn.Module):
    """Runs on 6 channels only, which none of its layers names."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(3, 1, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x[:, :3] + x[:, 3:6])


def test_a_wrong_guess_ends_in_one_line_naming_in_channels(tmp_path, capsys, importable_here,
                                                           user_errors_only):
    path = _factory_file(tmp_path, "NoGuessFits()")
    for command, rest in (("audit", ["--sample-rate", "16000", *AUDIT_QUICK]),
                          ("aliasing", ALIASING_QUICK)):
        assert main([command, f"{path}:build", *rest]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "could not run the model on the input channels guessed from its layers (3, 1)" \
            in err and "(--in-channels)" in err
    assert main(["audit", f"{path}:build", "--sample-rate", "16000", "--in-channels", "6",
                 "--out", str(tmp_path / "o"), *AUDIT_QUICK]) in (0, 1)
    assert json.loads((tmp_path / "o" / "audit.json").read_text())["in_channels"] == 6


def test_the_guess_follows_the_layer_the_input_reaches_first():
    """Registered first: three inner convolutions; reached first: the input's (3 in).
    After one failed guess, the pre-hook's record sends the next try to 3."""
    class Inner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.post = nn.ModuleList([nn.Conv1d(c, c, 1) for c in (64, 32, 16)])
            self.first = nn.Conv1d(3, 64, 1)
            self.up = nn.ConvTranspose1d(64, 1, 4, stride=2, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.up(self.post[0](self.first(x)))

    model, tried = Inner(), []

    def run(channels: int) -> torch.Tensor:
        tried.append(channels)
        with torch.no_grad():
            return model(torch.zeros(1, channels, 16))

    channels, y = settle_in_channels(model, None, run)
    assert channels == 3 and tried == [64, 3] and y.shape == (1, 1, 32)


def test_the_library_api_settles_channels_like_the_command():
    torch.manual_seed(0)
    assert audit(HybridSeparator(), 16000.0, inputs=("silence",), seconds=0.25).in_channels == 2
    a = measure_aliasing(LatentDecoder(), f0s=(0.1,), amplitudes=(0.5,), waves=("sine",),
                         length=101)
    assert a.channels == 128 and a.ratio == (4, 1)
    with pytest.raises(InvalidValue, match=r"^channels \(--in-channels\) must be the model's "
                       r"input channels: the model failed on 1: RuntimeError: .*; received "
                       r"channels=1$"):
        measure_aliasing(LatentDecoder(), channels=1, length=101)


# ------------------------------------------------------- item 3: the probe's size


def _latent_decoder_file(tmp_path):
    path = tmp_path / "latent.py"
    path.write_text(textwrap.dedent("""
        import torch

        def build():  # 1024 latent channels at 44100 / 512 Hz -> 1 channel at 44100 Hz
            torch.manual_seed(0)
            return torch.nn.ConvTranspose1d(1024, 1, 1024, stride=512, padding=256)
        """))
    return path


def test_the_probe_bound_counts_input_and_output_samples(tmp_path, capsys, user_errors_only):
    path = _latent_decoder_file(tmp_path)
    out = tmp_path / "out"
    code = main(["audit", f"{path}:build", "--sample-rate", "44100", "--inputs", "silence",
                 "--no-plot", "--out", str(out)])  # the default --seconds (4)
    assert code in (0, 1), capsys.readouterr().err
    data = json.loads((out / "audit.json").read_text())
    assert data["in_channels"] == 1024 and data["factors"] == [512]
    # 2000 s: output 8.82e7 samples (fits), input 2000 x 86.13 x 1024 = 1.76e8 (does not)
    start = time.perf_counter()
    assert main(["audit", f"{path}:build", "--sample-rate", "44100", "--seconds", "2000",
                 "--no-plot"]) == 2
    assert time.perf_counter() - start < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    most = 2**27 / (44100 / 512 * 1024)
    assert f"seconds must be at most {most:.6g} s" in err
    assert "received seconds=2000.0: input 1.76e+08 samples (86.1328 Hz x 1024 channels), " \
           "output 8.82e+07 samples (44100 Hz x 1 channels)" in err


def test_the_probe_bound_counts_output_channels():
    torch.manual_seed(0)
    wide = nn.ConvTranspose1d(1, 64, 4, stride=2, padding=1)  # 1 channel in, 64 out
    most = 2**27 / (16000 * 64)
    with pytest.raises(InvalidValue, match=rf"^seconds must be at most {most:.6g} s: .* "
                       r"output 1\.02e\+09 samples \(16000 Hz x 64 channels\)$"):
        audit(wide, 16000.0, seconds=1000.0)
    assert audit(wide, 16000.0, inputs=("silence",), seconds=0.25).in_channels == 1


def test_a_margin_too_large_for_the_probe_is_refused_before_it_runs():
    torch.manual_seed(0)
    start = time.perf_counter()
    with pytest.raises(InvalidValue, match=r"^margin must be at most \d+ input samples .*; "
                       r"received margin=1000000000$"):
        audit(nn.ConvTranspose1d(1, 1, 4, stride=2, padding=1), 16000.0, margin=10**9)
    assert time.perf_counter() - start < 5


def test_an_output_refused_after_the_forward_is_not_taken_for_a_channel_error():
    """The model ran (its forward returned): refusing what it returned is not a
    wrong channel count, so no other count is tried and the refusal is kept."""
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose1d(2, 1, 4, stride=2, padding=1)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            y = self.up(x)
            return y, y

    with pytest.raises(TypeError, match=r"^the model must return a tensor \(B, C, T\); "
                       r"received tuple$"):
        audit(Pair(), 16000.0, inputs=("silence",), seconds=0.25)
    with pytest.raises(ValueError, match=r"^the module must return a tensor \(B, C, T\) \(or "
                       r"\(B, T\), or \(B, sources, C, T\)\) with B=1; received tuple$"):
        measure_aliasing(Pair(), length=101)


@pytest.mark.parametrize("command", ["audit", "aliasing"])
def test_in_channels_has_help(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--in-channels N" in text
    assert "the model's input channels" in text and "its first Conv1d first" in text


def test_tone_measures_settles_channels_and_bounds_the_probe_like_audit():
    # tone_measures (the compare job's line measures) guessed from the first layer
    # without a run and bounded output rate x input channels: a hybrid model got
    # the spectrogram branch's 4 channels, and a latent decoder's default refused
    from upsamplers.analysis import tone_measures

    torch.manual_seed(0)
    measures = tone_measures(HybridSeparator().eval(), 16000, 2, seconds=0.5)  # ran on 2
    assert measures.hop == 2 and measures.sample_rate == 16000
    decoder = nn.ConvTranspose1d(1024, 1, 1024, stride=512, padding=256)
    measures = tone_measures(decoder, 44100, 512, seconds=4.0)  # input 345 x 1024 a second
    assert measures.hop == 512
    with pytest.raises(InvalidValue, match=r"^seconds must be at most .* received seconds=2000"
                                           r".0: input 1.76e\+08 samples"):
        tone_measures(decoder, 44100, 512, seconds=2000.0)
    with pytest.raises(InvalidValue, match=r"in_channels \(--in-channels\) must be the model's "
                                           r"input channels: the model failed on 3"):
        tone_measures(LatentDecoder(), 16000, 4, seconds=0.5, in_channels=3)
