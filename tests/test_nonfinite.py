"""Non-finite data never passes silently: a recording with a NaN or an infinity
is refused by every command that reads it (one line naming the file and the time
of the first bad sample, nothing written), a data set skips it with one warning
line, a checkpoint with non-finite weights is refused at load, and training that
meets a non-finite loss stops naming the cause and keeps the last good checkpoint."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf
import torch

from upsamplers._checks import UserFileError, UserInputError
from upsamplers.cli import main
from upsamplers.data import AudioFileError, AudioFolder, SkippedFileWarning, read_audio
from upsamplers.models import Autoencoder, DemucsLike, load_model, read_checkpoint
from upsamplers.train import NonFiniteTraining, Task, TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_thread")

RATE = 16000


def _damaged(path, bad_frame, value=np.nan, *, seconds=1.0, channels=1, channel=0):
    """A float WAV of noise with ``value`` at ``bad_frame`` of ``channel`` (and in
    every later 1000th frame, so the first one is the one to name)."""
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((int(seconds * RATE), channels))).astype(np.float32)
    audio[bad_frame::1000, channel] = value
    sf.write(path, audio, RATE, subtype="FLOAT")
    return path


def _time(frame):
    return f"{frame / RATE:.3f} s"


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_read_audio_names_the_file_and_the_time_of_the_first_bad_sample(tmp_path, value):
    path = _damaged(tmp_path / "x.wav", 12345, value, channels=2, channel=1)
    with pytest.raises(AudioFileError) as caught:
        read_audio(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: non-finite sample ({float(value)}) at 0.772 s "
                              f"(frame 12345, channel 1)")
    assert _time(12345) == "0.772 s" and "\n" not in message
    assert isinstance(caught.value, UserFileError)
    good = tmp_path / "good.wav"
    sf.write(good, np.zeros((100, 1), np.float32), RATE, subtype="FLOAT")
    assert read_audio(good)[0].shape == (1, 100)


def _one_error_line(capsys, command):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"upsamplers {command}: error: ")
    return lines[0]


def test_reconstruct_and_separate_refuse_a_damaged_recording_and_write_nothing(
        tmp_path, capsys):
    ckpt = Autoencoder(widths=(2, 4), length=1024).save(tmp_path / "ae.pt")
    sep = DemucsLike(width=4, depth=2, sources=2, length=1024).save(tmp_path / "sep.pt")
    source = _damaged(tmp_path / "in.wav", 20000, seconds=1.5)
    out = tmp_path / "out.wav"
    assert main(["reconstruct", "--checkpoint", str(ckpt), str(source), str(out),
                 "--no-progress"]) == 2
    line = _one_error_line(capsys, "reconstruct")
    assert f"{source}: non-finite sample (nan) at {_time(20000)}" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.pt", "in.wav", "sep.pt"]
    assert main(["separate", "--checkpoint", str(sep), str(source), str(tmp_path / "s"),
                 "--no-progress"]) == 2
    assert f"{source}: non-finite sample (nan) at {_time(20000)}" in _one_error_line(
        capsys, "separate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.pt", "in.wav", "sep.pt"]


def test_evaluate_names_a_damaged_file_and_scores_only_the_good_ones(tmp_path, capsys):
    ckpt = Autoencoder(widths=(2, 4), length=1024, sample_rate=RATE).save(tmp_path / "ae.pt")
    data = tmp_path / "data"
    data.mkdir()
    bad = _damaged(data / "bad.wav", 4000)
    sf.write(data / "good.wav", 0.1 * np.random.default_rng(1).standard_normal(RATE), RATE)
    report = tmp_path / "r.json"
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--out",
                 str(report), "--no-progress", "--audit-seconds", "0.25"]) == 0
    warnings = [x for x in capsys.readouterr().err.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1
    assert f"skipping {bad}: non-finite sample (nan) at {_time(4000)}" in warnings[0]
    result = json.loads(report.read_text())
    assert [t["track"] for t in result["tracks"]] == ["good.wav"]
    assert result["skipped"] == [warnings[0].removeprefix("warning: ")]
    assert all(np.isfinite(v) for v in result["mean"].values())
    # only the damaged file: nothing to score, refused in one line, no report
    bad_only = tmp_path / "only"
    bad_only.mkdir()
    _damaged(bad_only / "bad.wav", 4000)
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(bad_only), "--out",
                 str(tmp_path / "r2.json"), "--no-progress"]) == 2
    assert not (tmp_path / "r2.json").exists()


def test_a_data_set_skips_a_file_damaged_anywhere_with_one_warning(tmp_path):
    data = tmp_path / "data" / "train"
    data.mkdir(parents=True)
    rng = np.random.default_rng(2)
    sf.write(data / "good.wav", 0.1 * rng.standard_normal(3 * RATE), RATE, subtype="FLOAT")
    # the old scan decoded only the first and last 4096 frames: damage in the middle
    bad = _damaged(data / "bad.wav", 2 * RATE + 17, seconds=4.0)
    with pytest.warns(SkippedFileWarning) as caught:
        folder = AudioFolder(tmp_path / "data", split="train", sample_rate=RATE, crop=1024)
    messages = [str(w.message) for w in caught if w.category is SkippedFileWarning]
    assert messages == [f"skipping {bad}: non-finite sample (nan) at {_time(2 * RATE + 17)} "
                        f"(frame {2 * RATE + 17}, channel 0); the recording is damaged: "
                        f"re-export or repair it"]
    assert [c.name for c in folder.clips] == ["train/good.wav"]
    assert all(torch.isfinite(folder[i]).all() for i in range(len(folder)))


def _nan_checkpoint(tmp_path, name="1.bias"):
    model = Autoencoder(widths=(2, 4), length=1024)
    path = model.save(tmp_path / "nan.pt")
    payload = torch.load(path, weights_only=True)
    names = list(payload["state_dict"])
    payload["state_dict"][names[3]][0] = float("nan")
    payload["state_dict"][names[5]][0] = float("inf")
    torch.save(payload, path)
    return path, names[3]


def test_a_checkpoint_with_non_finite_weights_is_refused_at_load(tmp_path, capsys):
    path, first = _nan_checkpoint(tmp_path)
    for load in (read_checkpoint, load_model):
        with pytest.raises(UserFileError, match=re.escape(
                f"checkpoint {path} holds non-finite weights (NaN or infinity), first in "
                f"parameter {first!r}")):
            load(path)
    source = tmp_path / "in.wav"
    sf.write(source, 0.1 * np.random.default_rng(3).standard_normal(RATE), RATE)
    assert main(["reconstruct", "--checkpoint", str(path), str(source),
                 str(tmp_path / "out.wav"), "--no-progress"]) == 2
    assert f"holds non-finite weights (NaN or infinity), first in parameter {first!r}" in \
        _one_error_line(capsys, "reconstruct")
    assert not (tmp_path / "out.wav").exists()


def test_checkpoint_errors_never_advise_weights_only_false(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"format": "x", "object": np.random.default_rng(0)}, path)  # not plain values
    with pytest.raises(UserFileError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert "weights_only" not in message.lower() and "\n" not in message
    assert message.startswith(f"checkpoint {path} cannot be read (corrupt or not a checkpoint: "
                              "it holds objects other than tensors and plain values")


def _tiny(**overrides):
    values = dict(model="autoencoder", steps=6, batch_size=2, crop=2048, lr=3e-3,
                  checkpoint_every=2, log_every=1, model_options={"widths": [2, 4]})
    values.update(overrides)
    return TrainConfig(**values)


def _poison_batch_at(monkeypatch, step, batch_size=2):
    """Make the batch of ``step`` (1-based) hold a NaN, as a file damaged after the
    scan would."""
    original = Task.batch

    def batch(self, indices):
        out = original(self, indices)
        if indices and indices[0] == (step - 1) * batch_size:
            out = out.clone() if not isinstance(out, tuple) else tuple(o.clone() for o in out)
            (out[0] if isinstance(out, tuple) else out).view(-1)[7] = float("nan")
        return out

    monkeypatch.setattr(Task, "batch", batch)


def test_training_on_a_non_finite_batch_stops_naming_the_data(tmp_path, monkeypatch):
    _poison_batch_at(monkeypatch, 4)
    out = tmp_path / "run"
    with pytest.raises(NonFiniteTraining) as caught:
        train(_tiny(), out, progress=False)
    message = str(caught.value)
    assert "the loss is not finite at step 4" in message
    assert "the batch's input holds NaN or infinite samples: the data is the cause" in message
    assert f"the last good checkpoint, step 2, is kept in {out / 'checkpoint.pt'}" in message
    assert "lower --lr" not in message and "\n" not in message
    assert isinstance(caught.value, UserInputError)
    state = read_checkpoint(out / "checkpoint.pt")  # finite (read_checkpoint checks it)
    assert state["training"]["step"] == 2
    assert not (out / "model.pt").exists()
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["event"] == "nonfinite" and log[-1]["step"] == 3


def test_training_that_diverges_stops_naming_the_learning_rate(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "autoencoder", "--steps", "6", "--batch-size", "2",
            "--crop", "2048", "--lr", "1e30", "--checkpoint-every", "100",
            "--model-option", "widths=[2,4]", "--out", str(out), "--no-progress"]
    assert main(args) == 2
    line = _one_error_line(capsys, "train")
    assert "training stopped:" in line and "lower --lr (now 1e+30)" in line
    assert "no checkpoint was saved" in line
    assert not (out / "checkpoint.pt").exists() and not (out / "model.pt").exists()


def test_audit_of_a_factory_loading_a_non_finite_checkpoint_is_one_line(tmp_path, capsys):
    path, first = _nan_checkpoint(tmp_path)
    factory = tmp_path / "target.py"
    factory.write_text("from upsamplers.models import load_model\n\n\n"
                       f"def build():\n    return load_model({str(path)!r}).decoder\n")
    out = tmp_path / "audit"
    assert main(["audit", f"{factory}:build", "--sample-rate", "16000", "--out", str(out),
                 "--no-plot"]) == 2
    line = _one_error_line(capsys, "audit")
    assert f"checkpoint {path} holds non-finite weights" in line and repr(first) in line
    assert not out.exists()
