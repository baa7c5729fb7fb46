"""A full disk, a quota, a file size limit (docs/reliability.md, "Disk space"):
free space is estimated before any compute, and a write that fails anyway is
one clear line, keeps every earlier file as it was and leaves no partial file.

Failures are made two ways: an injected writer (``upsamplers._io.open``
replaced by one whose writes fail with a chosen ``errno`` after some bytes),
and the kernel's own per-process file size limit (``RLIMIT_FSIZE``), which
makes real writes fail with ``EFBIG`` without a special file system."""

import builtins
import errno
import json
import os
import resource
import signal
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from test_output_guard import place  # noqa: F401  (a fixture)
from tiny_runs import SUBPROCESS_ENV, assert_same_weights, cli_args, snapshot, tiny, weights

import upsamplers._io as io_module
from upsamplers._checks import UserFileError
from upsamplers._io import (
    SPACE_MARGIN,
    append_text,
    atomic_torch_save,
    atomic_write_text,
    check_space,
)
from upsamplers.analysis.plots import pyplot, save_figure
from upsamplers.cli import main
from upsamplers.data import write_audio
from upsamplers.models import Autoencoder, DemucsLike
from upsamplers.train import CHECKPOINT, TrainConfig, estimated_bytes, train

pytestmark = pytest.mark.usefixtures("one_thread")

REASONS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
           errno.EFBIG: "file size limit", errno.EROFS: "read-only"}


class _FailingFile:
    """A real open file whose writes fail with ``code`` once ``room`` bytes
    (or characters) are written; everything else is the file's."""

    def __init__(self, handle, code, room):
        self._handle, self._code, self._room = handle, code, room

    def write(self, data):
        if len(data) > self._room:
            raise OSError(self._code, os.strerror(self._code))
        self._room -= len(data)
        return self._handle.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()

    def __getattr__(self, name):
        return getattr(self._handle, name)


def inject(monkeypatch, code=errno.ENOSPC, room=0, when=lambda path: True):
    """Make the files ``upsamplers._io`` opens for writing fail with ``code``
    after ``room`` bytes, for the paths ``when`` accepts."""
    def failing_open(path, mode="r", *args, **kwargs):
        handle = builtins.open(path, mode, *args, **kwargs)
        if any(m in mode for m in "wa") and when(Path(path)):
            return _FailingFile(handle, code, room)
        return handle

    monkeypatch.setattr(io_module, "open", failing_open, raising=False)


def _png(path):
    plt = pyplot()
    fig = plt.figure()
    plt.imshow(np.random.default_rng(0).random((200, 200)))
    return save_figure(fig, path)


WRITERS = {
    "text": lambda p: atomic_write_text(p, "x" * 100_000),
    "checkpoint": lambda p: atomic_torch_save({"w": torch.zeros(50_000)}, p),
    "audio": lambda p: write_audio(p, np.zeros((1, 50_000)), 16000, force=True),
    "png": _png,
    "append": lambda p: append_text(p, "x" * 100_000),
}
SUFFIX = {"text": ".json", "checkpoint": ".pt", "audio": ".wav", "png": ".png",
          "append": ".jsonl"}


@pytest.mark.parametrize("code", sorted(REASONS))
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_failed_write_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch, writer, code):
    path = tmp_path / f"out{SUFFIX[writer]}"
    path.write_bytes(b"what the user had\n")
    inject(monkeypatch, code, room=1000)  # fails part way, not at the first byte
    with pytest.raises(UserFileError) as caught:
        WRITERS[writer](path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and REASONS[code] in message
    assert path.read_bytes() == b"what the user had\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


def test_other_write_errors_are_bugs_and_propagate(tmp_path, monkeypatch):
    inject(monkeypatch, errno.EBADF)
    with pytest.raises(OSError) as caught:
        atomic_write_text(tmp_path / "a.json", "{}")
    assert not isinstance(caught.value, UserFileError) and caught.value.errno == errno.EBADF
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- free space

Usage = namedtuple("Usage", "total used free")


def _free(monkeypatch, nbytes):
    monkeypatch.setattr(io_module.shutil, "disk_usage", lambda path: Usage(2**40, 0, nbytes))


def test_check_space_names_what_is_needed_and_what_is_free(tmp_path, monkeypatch):
    _free(monkeypatch, SPACE_MARGIN + 10 * 2**20)
    check_space(tmp_path, 10 * 2**20)  # exactly enough
    with pytest.raises(UserFileError, match=r"about 10\.0 MiB needed \(\+16\.0 MiB margin\), "
                                            r"26\.0 MiB free"):
        check_space(tmp_path / "not" / "yet", 10 * 2**20 + 1)


@pytest.fixture
def separator(place):  # noqa: F811
    """``place`` with a separator checkpoint and a second clip (so that training
    has a validation split)."""
    DemucsLike(width=4, depth=2, lstm_layers=0, length=1024).save(place / "sep.pt")
    rng = np.random.default_rng(1)
    sf.write(place / "D" / "other.wav", 0.1 * rng.standard_normal(4000), 16000)
    return place


EVALUATE = ["evaluate", "--checkpoint", "{t}/model.pt", "--data", "{t}/D", "--no-progress"]
TRAIN = ["train", "--model", "autoencoder", "--model-option", "widths=[4, 8]", "--steps", "2",
         "--batch-size", "2", "--crop", "2048", "--data", "{t}/D", "--no-progress"]
COMMANDS = [
    EVALUATE + ["--out", "{t}/report.json"],
    ["reconstruct", "--checkpoint", "{t}/model.pt", "{t}/D/clip.wav", "{t}/out.wav"],
    ["separate", "--checkpoint", "{t}/sep.pt", "{t}/D/clip.wav", "{t}/sources"],
    ["audit", "--sample-rate", "16000", "--seconds", "1", "--out", "{t}/audit", "{t}/model.pt"],
    ["figures", "--only", "fig7", "--out", "{t}/figures"],
    ["bench", "--quick", "--out", "{t}/bench"],
    TRAIN + ["--out", "{t}/run"],
    ["compare", "--task", "autoencoder", "--data", "{t}/D", "--steps", "2", "--seeds", "1",
     "--crop", "2048", "--out", "{t}/cmp", "--no-progress"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_every_command_checks_free_space_before_any_compute(separator, monkeypatch, capsys,
                                                             args):
    _free(monkeypatch, SPACE_MARGIN // 2)
    before = snapshot(separator)
    assert main([a.format(t=separator) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not enough free space" in err[0], err
    assert snapshot(separator) == before  # nothing written, no folder left behind


def _hold(folder):
    """A process holding ``folder`` with a :class:`RunLock` until killed."""
    code = ("import sys, time\nfrom upsamplers._io import RunLock\n"
            "with RunLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)],
                              stdout=subprocess.PIPE, text=True, env=SUBPROCESS_ENV)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_collect_checks_free_space_holds_its_folder_and_never_writes_into_a_run(
        separator, monkeypatch, capsys):
    run = separator / "run"
    assert main([a.format(t=separator) for a in TRAIN + ["--out", str(run)]]) == 0
    holder = _hold(separator / "held")
    try:
        before = snapshot(separator)
        collect = ["compare", "--collect", str(run), "--data", str(separator / "D"),
                   "--no-progress"]
        for out, message in ((run, "which collect only reads"),
                             (run / "report", "which collect only reads"),
                             (separator / "held", f"in use by another run (process {holder.pid}")):
            assert main([*collect, "--out", str(out)]) == 2
            assert message in capsys.readouterr().err
        _free(monkeypatch, SPACE_MARGIN // 2)
        assert main([*collect, "--out", str(separator / "cmp")]) == 2
        assert "not enough free space" in capsys.readouterr().err
        assert snapshot(separator) == before
    finally:
        holder.kill()
        holder.wait()


def _disk_use(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_the_estimates_cover_what_the_commands_write(separator):
    """The estimates are upper bounds, and not wildly above (a refusal must be
    believable): training, a few times its files (two checkpoints at once);
    reconstruct, its 16-bit output."""
    root = separator
    config = TrainConfig(model="autoencoder", steps=6, batch_size=2, crop=2048,
                         checkpoint_every=2, log_every=1, data=str(root / "D"),
                         model_options={"widths": [4, 8]})
    train(config, root / "run", progress=False)
    used = _disk_use(root / "run")
    checkpoint = (root / "run" / CHECKPOINT).stat().st_size
    parameters = Autoencoder(widths=(4, 8), length=2048).num_parameters()
    estimate = estimated_bytes(parameters, config)
    assert used + checkpoint <= estimate <= 4 * (used + checkpoint) + 2**20
    assert main(["reconstruct", "--checkpoint", str(root / "model.pt"),
                 str(root / "D" / "clip.wav"), str(root / "out.wav")]) == 0
    frames = sf.info(str(root / "D" / "clip.wav")).frames
    assert (root / "out.wav").stat().st_size <= frames * 2 + 2**16


# --------------------------------------------------------------------- training


def test_training_stopped_by_a_full_disk_keeps_its_checkpoint_and_resumes_exactly(
        tmp_path, monkeypatch, capsys):
    """The disk fills at the third checkpoint: one line, exit 2, the second
    checkpoint intact; freed, the run resumes to the weights of a run that never
    failed."""
    config = tiny(steps=8, checkpoint_every=2)
    train(config, tmp_path / "reference", progress=False)
    out = tmp_path / "run"
    written = []

    def third_checkpoint(path):
        if path.name.startswith(f".{CHECKPOINT}."):
            written.append(path)
        return len(written) >= 3

    inject(monkeypatch, errno.ENOSPC, room=4096, when=third_checkpoint)
    args = cli_args(config, out)
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the disk is full" in err[0] and CHECKPOINT in err[0], err
    saved = torch.load(out / CHECKPOINT, weights_only=True)
    assert saved["training"]["step"] == 4
    assert not list(out.glob(".*tmp*")) and not (out / "model.pt").exists()
    monkeypatch.undo()
    assert main(["train", *args, "--resume"]) == 0
    assert_same_weights(weights(tmp_path / "reference" / "model.pt"), weights(out / "model.pt"))


def _file_size_limit(nbytes):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def test_a_real_file_size_limit_stops_training_with_one_line(tmp_path):
    """The kernel refuses the checkpoint (larger than the process may write):
    one line, exit 2, no partial file; the folder then trains normally."""
    config = tiny(steps=4, checkpoint_every=2)
    train(config, tmp_path / "reference", progress=False)
    checkpoint = (tmp_path / "reference" / CHECKPOINT).stat().st_size
    out = tmp_path / "run"
    command = [sys.executable, "-m", "upsamplers", "train", *cli_args(config, out)]
    proc = subprocess.run(command, capture_output=True, text=True, env=SUBPROCESS_ENV,
                          preexec_fn=_file_size_limit(checkpoint // 2), timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "file size limit" in lines[-1], proc.stderr
    assert not (out / CHECKPOINT).exists() and not list(out.glob(".*tmp*"))
    for line in (out / "log.jsonl").read_text().splitlines():
        json.loads(line)  # every log line whole
    proc = subprocess.run(command, capture_output=True, text=True, env=SUBPROCESS_ENV,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert_same_weights(weights(tmp_path / "reference" / "model.pt"), weights(out / "model.pt"))
