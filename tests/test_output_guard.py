"""One rule for every file a command writes (docs/reliability.md, "Outputs"):
outputs are checked before any compute, an input is never replaced, an existing
file only with --force, and a run folder is held by one run at a time."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from tiny_runs import snapshot

from upsamplers._checks import UserFileError
from upsamplers._io import (
    LOCK,
    NAME_MAX,
    RunLock,
    atomic_write_text,
    check_outputs,
    temporary_path,
)
from upsamplers.cli import main
from upsamplers.compare import CompareConfig, compare
from upsamplers.models import Autoencoder
from upsamplers.train import TrainConfig, train


@pytest.fixture
def place(tmp_path):
    """A checkpoint, a data folder with one recording, a plain file, a folder
    holding a config.json that training did not write, and one with other files."""
    Autoencoder(widths=(4, 8), length=1024).save(tmp_path / "model.pt")
    (tmp_path / "D").mkdir()
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "D" / "clip.wav", 0.1 * rng.standard_normal(4000), 16000)
    (tmp_path / "afile").write_text("a user's file\n")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "config.json").write_text('{"their": "settings"}\n')
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me\n")
    return tmp_path


EVALUATE = ["evaluate", "--checkpoint", "{t}/model.pt", "--data", "{t}/D", "--no-progress"]
ROWS = [
    # (arguments, expected exit code, message substring)
    (EVALUATE + ["--out", "{t}/model.pt", "--force"], 2, "is the input file"),
    (EVALUATE + ["--out", "{t}/D/clip.wav", "--force"], 2, "is the input file"),
    (EVALUATE + ["--out", "{t}/afile"], 2, "already exist; pass --force"),
    (EVALUATE + ["--out", "{t}/afile/report.json"], 2, "is a file"),
    (EVALUATE + ["--out", "{t}/other"], 2, "is a folder"),
    (EVALUATE + ["--out", "{t}/" + "r" * 256], 2, f"longer than {NAME_MAX} bytes"),
    (["reconstruct", "--checkpoint", "{t}/model.pt", "{t}/D/clip.wav", "{t}/model.pt",
      "--force"], 2, "is the input file"),
    (["train", "--steps", "1", "--out", "{t}/afile"], 2, "must be a folder"),
    (["train", "--steps", "1", "--out", "{t}/theirs"], 2, "holds other files (config.json)"),
    (["train", "--steps", "1", "--out", "{t}/other"], 2, "holds other files (notes.txt)"),
    (["figures", "--out", "{t}/afile", "--only", "fig7"], 2, "is a file"),
]


@pytest.mark.parametrize(("args", "code", "message"), ROWS)
def test_refused_before_any_compute_and_nothing_changes(place, capsys, args, code, message):
    before = snapshot(place)
    assert main([a.format(t=place) for a in args]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert snapshot(place) == before


def test_hard_and_symbolic_links_to_an_input_are_the_input(place):
    ckpt = place / "model.pt"
    os.link(ckpt, place / "hard.pt")
    (place / "soft.pt").symlink_to(ckpt)
    for name in ("hard.pt", "soft.pt"):
        with pytest.raises(UserFileError, match="is the input file"):
            check_outputs([place / name], [ckpt], force=True)


def test_outputs_folders_are_created_when_written_and_long_names_fit(tmp_path):
    name = "x" * 235 + ".json"  # 240 characters: legal, its temporary name is shortened
    (out,) = check_outputs([tmp_path / "a" / "b" / name])
    assert not (tmp_path / "a").exists()  # checked, not created: a refused run leaves nothing
    assert len(temporary_path(out).name.encode()) <= NAME_MAX
    atomic_write_text(out, "{}\n")
    assert json.loads(out.read_text()) == {}
    assert [p.name for p in out.parent.iterdir()] == [name]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_run_lock_refuses_a_live_holder_and_takes_over_a_stale_one(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK).write_text(f"{holder.pid}\n")
        with pytest.raises(UserFileError, match=f"process {holder.pid}"):
            RunLock(tmp_path).__enter__()
        assert (tmp_path / LOCK).read_text() == f"{holder.pid}\n"
    finally:
        holder.kill()
        holder.wait()
    (tmp_path / LOCK).write_text(f"{_dead_pid()}\n")
    with RunLock(tmp_path):
        assert (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"
        with pytest.raises(UserFileError, match=f"process {os.getpid()}"):
            RunLock(tmp_path).__enter__()  # a second run in this process too
    assert not (tmp_path / LOCK).exists()


def test_train_and_compare_refuse_a_folder_another_run_holds(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for name in ("run", "cmp"):
            (tmp_path / name).mkdir()
            (tmp_path / name / LOCK).write_text(f"{holder.pid}\n")
        before = snapshot(tmp_path)
        with pytest.raises(UserFileError, match=f"in use by another run \\(process {holder.pid}"):
            train(TrainConfig(steps=1), tmp_path / "run", progress=False)
        with pytest.raises(UserFileError, match=f"process {holder.pid}"):
            compare(CompareConfig(), tmp_path / "cmp", progress=False)
        assert snapshot(tmp_path) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_refused_run_leaves_no_folder_it_created(tmp_path):
    with pytest.raises(RuntimeError), RunLock(tmp_path / "new"):
        raise RuntimeError("refused")
    assert not (tmp_path / "new").exists()
    with RunLock(tmp_path / "kept"):
        (tmp_path / "kept" / "result.json").write_text("{}\n")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["result.json"]


def test_a_lock_being_taken_is_held_and_a_stale_one_goes_to_one_taker(tmp_path):
    """The race of a pid-only lock: a second run that read a lock file whose first
    run had created it but not yet written its id took it for stale, and two runs
    taking over one stale lock could both go ahead. The flock closes both."""
    import fcntl

    (tmp_path / "starting").mkdir()
    with open(tmp_path / "starting" / LOCK, "w") as handle:  # created, id not yet written
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UserFileError, match="in use by another run \\(a process starting"):
            RunLock(tmp_path / "starting").__enter__()
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / LOCK).write_text(f"{_dead_pid()}\n")
    code = ("import sys, time\nfrom upsamplers._io import RunLock\n"
            "while time.time() < float(sys.argv[2]): pass\n"
            "try:\n    lock = RunLock(sys.argv[1]).__enter__()\n"
            "except Exception as error:\n    print('refused', error, flush=True)\n"
            "else:\n    print('took', flush=True)\n    time.sleep(3)\n    lock.__exit__()\n")
    import time

    start = str(time.time() + 3.0)  # every taker tries at the same moment
    takers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "stale"), start],
                               stdout=subprocess.PIPE, text=True) for _ in range(6)]
    outcomes = [t.communicate(timeout=60)[0].split()[0] for t in takers]
    assert sorted(outcomes) == ["refused"] * 5 + ["took"], outcomes
