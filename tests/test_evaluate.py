"""``upsamplers evaluate --data FOLDER``: every file of a plain folder scored whole
(any length, channel count and rate), checked against an independent computation;
unreadable files skipped with one line; the length of a file is what decodes."""

import json
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

from upsamplers._checks import InvalidValue, UserFileError
from upsamplers.cli import main
from upsamplers.data import SkippedFileWarning
from upsamplers.evaluate import evaluate
from upsamplers.metrics import sdr
from upsamplers.models import Autoencoder

pytestmark = pytest.mark.usefixtures("one_thread")

RATE = 16000  # the model's
CHUNK = 1024  # the model's length: the chunk of process_long

# name: (seconds, rate, channels)
FILES = {
    "stereo/a.wav": (0.30, 44100, 2),
    "stereo/b.flac": (0.12, 44100, 2),
    "mono_8k.wav": (0.25, 8000, 1),
    "short_8k.wav": (0.02, 8000, 1),  # 320 samples at 16 kHz: shorter than one chunk
}


def _tone_and_noise(frames, rate, channels, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / rate
    audio = [0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.05 * rng.standard_normal(frames)
             for c in range(channels)]
    return np.stack(audio, axis=1)  # (T, C)


def _folder(root):
    for i, (name, (seconds, rate, channels)) in enumerate(FILES.items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, _tone_and_noise(int(seconds * rate), rate, channels, i), rate)
    (root / "broken.wav").write_bytes(b"RIFF not really a wave file")
    (root / "notes.txt").write_text("not audio\n")
    return root


def _model(tmp_path, channels=1):
    torch.manual_seed(0)
    model = Autoencoder(widths=(4, 8), length=CHUNK, sample_rate=RATE, audio_channels=channels)
    return model, model.save(tmp_path / f"ae{channels}.pt")


def _expected(model, path):
    """SI-SDR and SDR of ``model`` on ``path``, computed without ``upsamplers.evaluate``:
    soundfile, scipy's resampler, the model run on each channel on its own in one
    forward pass over the whole channel (zero-padded to a valid length; evaluate's
    chunked processing equals it, tests/test_chunking.py), torchmetrics' SI-SDR."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    ratio = Fraction(RATE, rate)
    x = resample_poly(data.T, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)
    outputs = []
    with torch.no_grad():
        for channel in torch.from_numpy(x):  # (T,): one pass over the whole channel
            length = channel.shape[-1]
            padded = torch.nn.functional.pad(channel, (0, model.valid_length(length) - length))
            outputs.append(model(padded[None, None])[0, 0, :length])
    estimate = torch.stack(outputs).double()
    reference = torch.from_numpy(x).double()
    si = scale_invariant_signal_distortion_ratio(estimate, reference, zero_mean=False)
    return float(si.mean()), float(np.mean(sdr(estimate, reference))), x.shape[-1]


def test_every_file_of_a_plain_folder_is_scored_against_an_independent_computation(tmp_path):
    root = _folder(tmp_path / "folder")
    model, ckpt = _model(tmp_path)
    with pytest.warns(SkippedFileWarning, match="broken.wav") as caught:
        result = evaluate(ckpt, data=root, audit_seconds=0.25)
    assert len([w for w in caught if "skipping" in str(w.message)]) == 1
    assert result["scored"] == "every file" and result["sample_rate"] == RATE
    tracks = {t["track"]: t for t in result["tracks"]}
    assert set(tracks) == set(FILES)  # every usable file, no hashed validation share
    assert len(result["skipped"]) == 1 and "broken.wav" in result["skipped"][0]
    for name, (seconds, rate, channels) in FILES.items():
        track = tracks[name]
        assert (track["sample_rate"], track["channels"], track["samples"]) == (
            rate, channels, int(seconds * rate))
        si, sd, length = _expected(model.eval(), root / name)
        assert np.isfinite(track["si_sdr"]) and np.isfinite(track["sdr"])
        assert track["si_sdr"] == pytest.approx(si, abs=1e-3), name
        assert track["sdr"] == pytest.approx(sd, abs=1e-3), name
    assert length < CHUNK  # the last file, short_8k.wav, is shorter than one chunk
    for metric in ("si_sdr", "sdr"):
        assert result["mean"][metric] == pytest.approx(
            np.mean([t[metric] for t in result["tracks"]]), abs=1e-9)


def test_a_stereo_model_skips_the_files_it_cannot_take(tmp_path):
    root = _folder(tmp_path / "folder")
    _, ckpt = _model(tmp_path, channels=2)
    with pytest.warns(SkippedFileWarning) as caught:
        result = evaluate(ckpt, data=root, audit_seconds=0.25)
    assert {t["track"] for t in result["tracks"]} == {"stereo/a.wav", "stereo/b.flac"}
    assert result["skipped"] == [str(w.message) for w in caught]
    assert sorted(m.split(": ")[0] for m in result["skipped"]) == [
        f"skipping {root / name}" for name in ("broken.wav", "mono_8k.wav", "short_8k.wav")]
    assert "mono_8k.wav: has 1 channel(s); the model takes 2" in result["skipped"][1]


def test_split_validation_scores_only_the_validation_files(tmp_path):
    root = tmp_path / "split"
    for i, name in enumerate(["train/x.wav", "validation/y.wav"]):
        (root / name).parent.mkdir(parents=True)
        sf.write(root / name, _tone_and_noise(3000, RATE, 1, i), RATE)
    _, ckpt = _model(tmp_path)
    every = evaluate(ckpt, data=root, audit_seconds=0.25)
    assert [t["track"] for t in every["tracks"]] == ["train/x.wav", "validation/y.wav"]
    only = evaluate(ckpt, data=root, split="validation", audit_seconds=0.25)
    assert only["scored"] == "validation split"
    assert [t["track"] for t in only["tracks"]] == ["validation/y.wav"]
    assert only["tracks"][0]["si_sdr"] == pytest.approx(every["tracks"][1]["si_sdr"], abs=1e-9)


def test_cli_prints_each_file_and_the_mean_and_a_folder_with_nothing_usable_is_an_error(
        tmp_path, capsys):
    root = _folder(tmp_path / "folder")
    _, ckpt = _model(tmp_path)
    report = tmp_path / "report.json"
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(root), "--out",
                 str(report), "--audit-seconds", "0.25", "--no-progress"]) == 0
    captured = capsys.readouterr()
    warned = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert warned == [line for line in warned if "broken.wav" in line] and len(warned) == 1
    result = json.loads(report.read_text())
    assert "mean SI-SDR" in captured.out and "every file of" in captured.out
    for track in result["tracks"]:
        assert f"  {track['track']} ({track['sample_rate']} Hz, {track['channels']} ch" in (
            captured.out)
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "bad.flac").write_bytes(b"fLaC broken")
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(empty),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bad.flac" in err and "no usable audio file" in err
    (empty / "bad.flac").unlink()
    with pytest.raises(UserFileError, match="no audio files"):
        evaluate(ckpt, data=empty, audit_seconds=0.25)


# ------------------------------------------------------------- decoded length


def test_the_length_of_a_vorbis_file_is_what_decodes(tmp_path, monkeypatch):
    """A header that claims 104 frames more than decode, as some Vorbis files do:
    the report gives the decoded length (tests/test_data.py checks the readers)."""
    frames, real = 5000, sf.info

    def info(path, *args, **kwargs):
        found = real(path, *args, **kwargs)
        found.frames += 104
        return found

    monkeypatch.setattr(sf, "info", info)
    source = tmp_path / "data" / "clip.ogg"
    source.parent.mkdir()
    sf.write(source, _tone_and_noise(frames, RATE, 1, 7), RATE, format="OGG", subtype="VORBIS")
    assert sf.info(source).frames == frames + 104  # the stub is in place
    _, ckpt = _model(tmp_path)
    result = evaluate(ckpt, data=source.parent, audit_seconds=0.25)
    assert result["tracks"][0]["samples"] == frames


# ---- files and tracks that give no figure (issue 22): skipped, named, listed, left out


@pytest.mark.parametrize("bad", [
    ("one.wav", np.array([0.3])), ("two.wav", np.array([0.3, -0.2])),
    ("short.wav", 0.1 * np.ones(255)), ("silent.wav", np.zeros(4000)),
    ("silent_stereo.wav", np.zeros((4000, 2))),
], ids=lambda b: b[0])
def test_a_file_that_gives_no_figure_is_skipped_and_the_mean_is_over_the_others(
        tmp_path, capsys, bad):
    name, audio = bad
    root = tmp_path / "D"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        sf.write(root / f"f{i}.wav", 0.1 * rng.standard_normal(4000), RATE)
    _, path = _model(tmp_path)
    clean = evaluate(path, data=root, audit_seconds=0.25)
    sf.write(root / name, audio, RATE)
    out = tmp_path / "report.json"
    assert main(["evaluate", "--checkpoint", str(path), "--data", str(root), "--no-progress",
                 "--audit-seconds", "0.25", "--out", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("warning: ")]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: skipping {name}: ")
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON: every figure finite
    report = json.loads(text)
    assert report["skipped"] == [warnings[0].removeprefix("warning: ")]
    assert [t["track"] for t in report["tracks"]] == ["f0.wav", "f1.wav", "f2.wav"]
    assert report["mean"] == pytest.approx(clean["mean"])  # the file moved nothing
    assert report["baseline"]["mean"] == pytest.approx(clean["baseline"]["mean"])


def _stems(root, tracks):
    """``tracks``: name -> {stem: samples}; each stem noise at 16 kHz."""
    rng = np.random.default_rng(1)
    for track, stems in tracks.items():
        (root / track).mkdir(parents=True)
        for stem, n in stems.items():
            sf.write(root / track / f"{stem}.wav", 0.1 * rng.standard_normal(n), RATE)
    return root


def _separator(tmp_path):
    from upsamplers.models import DemucsLike

    torch.manual_seed(0)
    return DemucsLike(width=4, depth=2, lstm_layers=0, sources=2, source_names=["a", "b"],
                      sample_rate=RATE).save(tmp_path / "sep.pt")


@pytest.mark.parametrize("lacking", [1, 2, 3])
def test_a_separator_skips_each_track_missing_a_stem_naming_it(tmp_path, capsys, lacking):
    # more tracks lacking a stem than holding both: no longer a stem folder by the
    # majority rule, still one by the model's stems
    tracks = {"t0": {"a": 4000, "b": 4000}}
    tracks.update({f"x{i}": {"a": 4000} for i in range(lacking)})
    root = _stems(tmp_path / "S", tracks)
    out = tmp_path / "r.json"
    assert main(["evaluate", "--checkpoint", str(_separator(tmp_path)), "--data", str(root),
                 "--split", "all", "--no-progress", "--audit-seconds", "0.25", "--out",
                 str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("warning: ")]
    assert warnings == [f"warning: skipping {root / f'x{i}'}: missing stem(s) b (expected a, b)"
                        for i in range(lacking)]
    report = json.loads(out.read_text())
    assert [t["track"] for t in report["tracks"]] == ["t0"]
    assert report["skipped"] == [w.removeprefix("warning: ") for w in warnings]


def test_a_separator_on_a_folder_without_its_stems_names_them(tmp_path):
    root = _stems(tmp_path / "S", {"t0": {"x": 4000}, "t1": {"y": 4000}})
    with pytest.raises(InvalidValue, match=r"a separator is evaluated on a stem folder \(track "
                                        r"folders holding a, b\); .*S is not one"):
        evaluate(_separator(tmp_path), data=root, split="all", audit_seconds=0.25)


def test_stems_of_different_lengths_are_cut_to_the_shortest_with_a_warning(tmp_path, capsys):
    root = _stems(tmp_path / "S", {"t0": {"a": 4000, "b": 3000}, "t1": {"a": 4000, "b": 4000}})
    assert main(["evaluate", "--checkpoint", str(_separator(tmp_path)), "--data", str(root),
                 "--split", "all", "--no-progress", "--audit-seconds", "0.25"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("warning: ")]
    assert warnings == [f"warning: {root / 't0'}: its stems differ in length (a 4000, b 3000 "
                        "samples at 16000 Hz); each is cut to the shortest, 3000"]
