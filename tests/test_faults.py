"""The fault suite of issue 12 (docs/reliability.md, "Faults"): ``kill -9`` at
moments of ``train`` and ``compare`` drawn from a seeded generator, concurrent
runs on one folder, and checkpoints whose pickle would run code.

Each killed command is a real ``upsamplers`` process (its ``main`` with the
command's arguments); moments too short to hit by timing (half a checkpoint
written, an evaluation, half a log line) are reached through ``fault_child.py``,
which runs the same command and pauses there until the test kills it, and which
forks the killed ``train`` commands from one process that imported the package
once (a torch import costs seconds on a shared CI machine). Resumes run the same
command in this process, on one thread like the killed runs, so that weights
are compared bit for bit."""

import json
import os
import pickle
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import soundfile as sf
import torch
from tiny_runs import (
    COMPARE_ARGS,
    COMPARE_TINY,
    SUBPROCESS_ENV,
    assert_same_weights,
    audio_folder,
    cli_args,
    snapshot,
    tiny,
    weights,
)

from upsamplers._checks import UserFileError
from upsamplers._io import LOCK, plain
from upsamplers.cli import main
from upsamplers.compare import CompareConfig, compare
from upsamplers.models import Autoencoder, load_model, read_checkpoint
from upsamplers.train import learning_curve, train

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]

CHILD = str(Path(__file__).with_name("fault_child.py"))
# the temporary files of atomic writes (upsamplers._io.temporary_path)
TEMPORARY = re.compile(r"^\..+\.\d+\.tmp(\.\w+)?$")
# what a training run writes: checkpoints, its settings, its log
RUN_FILES = ("checkpoint.pt", "model.pt", "config.json", "log.jsonl", LOCK)
TIMING_KEYS = ("seconds", "samples_per_s", "samples_per_second", "out", "checkpoint")


def command(*args):
    return [sys.executable, "-m", "upsamplers", *args]


def paused(point, n, marker, *args):
    """The command ``upsamplers ARGS`` pausing at ``point`` (see fault_child.py)."""
    return [sys.executable, CHILD, point, str(n), str(marker), *args]


def start(argv):
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=SUBPROCESS_ENV)


def wait_for(condition, what, proc=None, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.005)


def kill(proc):
    """``kill -9`` ``proc``; its pipes are closed unread (a process it left behind
    may hold them open). Returns its process id."""
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    proc.stdout.close()
    proc.stderr.close()
    return proc.pid


def log_records(folder):
    """The complete lines of ``folder``'s log (the last one may be cut by a kill)."""
    lines = (folder / "log.jsonl").read_text().split("\n")
    return [json.loads(line) for line in lines[:-1]]


# --------------------------------------------------------------------- kill -9 during train


def assert_nothing_corrupt(folder, pid):
    """Every file a killed run left loads, or is a documented temporary."""
    for path in folder.iterdir() if folder.exists() else ():
        name = path.name
        if TEMPORARY.match(name):
            assert name.split(".tmp")[0].rsplit(".", 1)[0][1:] in RUN_FILES, name
        elif name == LOCK:
            assert path.read_text() == f"{pid}\n"
        elif name.endswith(".pt"):
            read_checkpoint(path)
        elif name == "config.json":
            assert json.loads(path.read_text())["model"] == "autoencoder"
        else:
            assert name == "log.jsonl", name
            log_records(folder)


def comparable_log(folder):
    """The log without its start/resume lines and measured times: what a resumed
    run must write exactly as an uninterrupted one."""
    return [{k: v for k, v in record.items() if k not in TIMING_KEYS}
            for record in log_records(folder) if record.get("event") not in ("start", "resume")]


def assert_same_run(reference, folder):
    """``folder`` holds the run of ``reference`` bit for bit: the final weights,
    Adam's state and the checkpoint's step and curve, the log and the learning
    curve; no temporary file, no lock."""
    assert_same_weights(weights(reference / "model.pt"), weights(folder / "model.pt"))
    a, b = (torch.load(f / "checkpoint.pt", weights_only=True) for f in (reference, folder))
    assert_same_weights(a["state_dict"], b["state_dict"])
    a, b = a["training"], b["training"]
    assert (a["step"], a["curve"]) == (b["step"], b["curve"])
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    for key, state in a["optimizer"]["state"].items():
        assert state.keys() == b["optimizer"]["state"][key].keys()
        for name, value in state.items():
            torch.testing.assert_close(value, b["optimizer"]["state"][key][name], rtol=0,
                                       atol=0, msg=name)
    assert comparable_log(folder) == comparable_log(reference)
    assert learning_curve(folder) == learning_curve(reference)
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "config.json",
                                                       "log.jsonl", "model.pt"]


def train_kill_moments(rng):
    """(name, how): ``("after", seconds)`` kills that long after the start,
    ``("step", k)`` as soon as the log holds step k, ``(POINT, n)`` at the n-th
    time the run reaches POINT (fault_child.py). The run: 16 steps, checkpoints
    at 4, 8, 12 and 16, evaluations at 0, 5, 10, 15 and 16."""
    return [("import", ("after", rng.uniform(0.2, 2.0))),
            ("config.json written", ("config-write", 1)),
            ("an evaluation", ("eval", rng.randint(1, 5))),
            ("a step's log line, half written", ("log-line", rng.randint(1, 16))),
            ("a running step", ("step", rng.randint(1, 13))),
            ("checkpoint.pt half written", ("checkpoint-write", rng.randint(1, 4))),
            ("model.pt half written, just before the end", ("model-write", 1))]


def reached(point, n, out, marker):
    """Whether a run started now has reached the moment ``(point, n)`` (see
    :func:`train_kill_moments`)."""
    begun = time.monotonic()
    if point == "after":
        return lambda: time.monotonic() - begun > n
    if point == "step":
        return lambda: (out / "log.jsonl").exists() and any(
            r.get("step") == n and "loss" in r for r in log_records(out))
    return marker.exists


def start_killable(tmp_path, moments, commands):
    """Start each command: the process that forks all but the first, and
    ``[(kill, pid)]`` per command (``kill()`` kills it with SIGKILL and returns
    its pid). The first (killed during its import) is a process of its own; the
    others are forked from one process that imported the package once
    (fault_child.py --fork), each with its pause point."""
    specs = [{"point": "none" if point == "step" else point, "n": n, "args": args,
              "marker": str(tmp_path / f"paused{i}"), "pid": str(tmp_path / f"pid{i}")}
             for i, ((_, (point, n)), args) in enumerate(zip(moments, commands, strict=True))]
    (tmp_path / "specs.json").write_text(json.dumps(specs[1:]))
    forks = start([sys.executable, CHILD, "--fork", str(tmp_path / "specs.json")])

    def kill_fork(pid_file):
        pid = int(Path(pid_file).read_text())
        os.kill(pid, signal.SIGKILL)
        status = Path(pid_file + ".status")
        wait_for(status.exists, "the killed command's end", forks)
        assert os.waitstatus_to_exitcode(int(status.read_text())) == -signal.SIGKILL
        return pid

    for spec in specs[1:]:
        wait_for(Path(spec["pid"]).exists, "the forked commands", forks)
    first = start(command(*commands[0]))  # last: its moment is timed from now
    return forks, [(lambda: kill(first), first.pid)] + [
        (lambda f=spec["pid"]: kill_fork(f), int(Path(spec["pid"]).read_text()))
        for spec in specs[1:]]


def test_kill_9_at_any_moment_of_train_resumes_bit_identically(tmp_path, capsys):
    config = tiny(steps=16, checkpoint_every=4, eval_every=5, eval_seconds=0.5)
    reference = tmp_path / "reference"
    train(config, reference, progress=False)
    moments = train_kill_moments(random.Random(12))
    outs = [tmp_path / f"run{i}" for i in range(len(moments))]
    forks, killers = start_killable(tmp_path, moments, [["train", *cli_args(config, out)]
                                                        for out in outs])
    pending = {i: (killer, reached(point, n, outs[i], tmp_path / f"paused{i}"))
               for i, (killer, (_, (point, n))) in enumerate(zip(killers, moments, strict=True))}
    deadline = time.monotonic() + 120
    while pending:  # kill each command at its moment
        for i, ((killer, pid), at_moment) in list(pending.items()):
            if at_moment():
                assert killer() == pid
                assert_nothing_corrupt(outs[i], pid)
                del pending[i]
            elif time.monotonic() > deadline:
                raise AssertionError(f"{moments[i][0]}: not reached")
        time.sleep(0.005)
    forks.communicate(timeout=60)
    assert forks.returncode == 0
    for (name, _), out in zip(moments, outs, strict=True):
        resume = ["--resume"] if (out / "checkpoint.pt").exists() else []
        assert main(["train", *cli_args(config, out), *resume]) == 0, (name, capsys.readouterr())
        assert_same_run(reference, out)


# --------------------------------------------------------------------- kill -9 during compare


def descendants(pid):
    """The live (not zombie) descendants of ``pid`` (psutil: every platform)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c.pid for c in children if alive(c.pid)]


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_worker(pid):
    try:
        return any("spawn_main" in part for part in psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


SPEEDS = ("elapsed_s", "train_seconds", "wall_seconds", "real_time_factor", "step_ms",
          "step_ratio")


def figures(value):
    """``value`` (a report, or part of one) without measured times and speeds."""
    if isinstance(value, dict):
        return {k: figures(v) for k, v in value.items() if k not in SPEEDS}
    if isinstance(value, list):
        return [figures(v) for v in value]
    return value


def kill_compare_with_workers(argv, out, moment, since):
    """Start ``argv``, wait until a worker has written into a run folder after
    ``since`` (time.time()), then ``moment`` seconds; kill -9 it and check that
    none of its processes (workers, resource tracker) outlives it by more than
    3 s. Returns the workers it had when killed."""
    proc = start(argv)

    def working():
        return any(p.stat().st_mtime > since for p in out.glob("runs/*/*/*"))

    wait_for(working, "a worker writing", proc)
    time.sleep(moment)
    family = descendants(proc.pid)
    workers = [p for p in family if is_worker(p)]
    kill(proc)
    wait_for(lambda: not any(alive(p) for p in family), "the end of every worker", timeout=3)
    return workers


def test_kill_9_of_compare_leaves_no_worker_and_the_same_command_resumes(tmp_path, capsys):
    data = audio_folder(tmp_path / "audio")
    tiny_compare = dict(COMPARE_TINY, seeds=1, naive_timing=False, data=str(data))
    reference = compare(CompareConfig(**tiny_compare), tmp_path / "reference", progress=False,
                        echo=lambda message: None)
    out = tmp_path / "cmp"
    args = ["compare", "--data", str(data), "--out", str(out), *COMPARE_ARGS, "--seeds", "1",
            "--no-naive-timing", "--jobs", "2"]
    rng = random.Random(5)
    workers = kill_compare_with_workers(command(*args), out, rng.uniform(0, 1.5), time.time())
    assert len(workers) == 2  # both alive when their parent was killed
    assert main(args) == 0, capsys.readouterr().err
    resumed = json.loads((out / "report.json").read_text())
    for key in ("variants", "rows"):  # every run's figures, and the table's
        assert figures(resumed[key]) == figures(reference[key])
    assert not [p for p in out.rglob(".*") if TEMPORARY.match(p.name)]
    assert not (out / LOCK).exists()


# --------------------------------------------------------------------- concurrent runs


def race(tmp_path, out, commands):
    """Start ``commands`` (argument lists of ``upsamplers``; each pauses in its first
    evaluation, holding the folder), release them at the same moment, and wait
    until one holds ``out``: its index and process (paused), and the others'
    standard error and exit status (ended)."""
    procs = [start(paused("eval", 1, tmp_path / f"holder{i}", "--barrier",
                          tmp_path / f"ready{i}", *args)) for i, args in enumerate(commands)]
    for i, proc in enumerate(procs):
        wait_for((tmp_path / f"ready{i}").exists, "the barrier", proc)
    for i in range(len(procs)):
        (tmp_path / f"ready{i}.go").touch()
    wait_for(lambda: any((tmp_path / f"holder{i}").exists() for i in range(len(procs))),
             "a run holding the folder", timeout=180)
    assert (out / LOCK).exists()
    holder = [i for i in range(len(procs)) if (tmp_path / f"holder{i}").exists()]
    assert len(holder) == 1
    others = [(p.communicate(timeout=120)[1], p.returncode)
              for i, p in enumerate(procs) if i != holder[0]]
    return holder[0], procs[holder[0]], others


def assert_refused_naming(code, stderr, command, pid):
    """One line, exit status 2, naming the process that holds the folder."""
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith(f"upsamplers {command}: error: ") and f"(process {pid}," in stderr


def test_two_trains_on_one_folder_one_runs_the_others_are_refused(tmp_path, capsys):
    out = tmp_path / "run"
    configs = [tiny(steps=6, eval_every=3, eval_seconds=0.5, seed=seed) for seed in (1, 2)]
    winner, holder, [loser] = race(tmp_path, out, [["train", *cli_args(c, out)]
                                                   for c in configs])
    assert_refused_naming(loser[1], loser[0], "train", holder.pid)
    # a third, started while the holder runs: refused the same way (not a race)
    assert main(["train", *cli_args(configs[1 - winner], out)]) == 2
    assert_refused_naming(2, capsys.readouterr().err, "train", holder.pid)
    (tmp_path / f"holder{winner}.go").touch()
    assert holder.communicate(timeout=120)[0] and holder.returncode == 0
    seed = configs[winner].seed  # one run in the folder: the holder's
    assert json.loads((out / "config.json").read_text())["seed"] == seed
    assert torch.load(out / "checkpoint.pt", weights_only=True)["training"]["config"][
        "seed"] == seed
    records = log_records(out)
    assert [r["config"]["seed"] for r in records if "config" in r] == [seed]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "config.json",
                                                    "log.jsonl", "model.pt"]


def test_two_compares_on_one_folder_one_runs_the_others_are_refused(tmp_path, capsys):
    data = audio_folder(tmp_path / "audio")
    out = tmp_path / "cmp"
    commands = [["compare", "--data", str(data), "--out", str(out), *COMPARE_ARGS, "--seeds",
                 "1", "--variants", "nearest", "--no-naive-timing", "--seed", str(seed)]
                for seed in (0, 3)]
    winner, holder, [loser] = race(tmp_path, out, commands)
    assert_refused_naming(loser[1], loser[0], "compare", holder.pid)
    assert main(commands[1 - winner]) == 2
    assert_refused_naming(2, capsys.readouterr().err, "compare", holder.pid)
    (tmp_path / f"holder{winner}.go").touch()
    holder.communicate(timeout=180)
    assert holder.returncode == 0
    seed = (0, 3)[winner]  # one run in the folder: the holder's
    assert json.loads((out / "compare.json").read_text())["seed"] == seed
    assert [p.name for p in (out / "runs" / "nearest").iterdir()] == [f"seed-{seed}"]
    report = json.loads((out / "report.json").read_text())
    assert [s["seed"] for s in report["variants"]["nearest"]["seeds"]] == [seed]
    assert not (out / LOCK).exists()


# --------------------------------------------------------------------- malicious pickles


class Payload:
    """Unpickling this runs ``touch MARKER``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def malicious(path, marker, how):
    """A ``.pt`` whose pickle runs code: a checkpoint (torch's zip format) with the
    payload among its weights, or a bare pickle of the payload."""
    if how == "checkpoint":
        payload = Autoencoder(widths=(4, 8), length=1024).checkpoint()
        payload["state_dict"]["extra"] = Payload(marker)
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker)))
    assert not marker.exists()
    return path


def place_checkpoint_readers(root, evil, data):
    """The commands that read a checkpoint, each given ``evil``."""
    run = root / "run"  # a training run to resume
    train(tiny(steps=2), run, progress=False)
    shutil.copy(evil, run / "checkpoint.pt")
    (run / "model.pt").unlink()
    cmp = root / "cmp"  # a compare run to resume, and runs to collect
    config = CompareConfig(**dict(COMPARE_TINY, seeds=1, variants=("nearest",), data=str(data),
                                  naive_timing=False))
    cmp.mkdir()
    (cmp / "compare.json").write_text(json.dumps(plain(config.settings())))
    shutil.copytree(run, cmp / "runs" / "nearest" / "seed-0")
    collected = root / "trained"
    train(tiny(steps=2), collected, progress=False)
    shutil.copy(evil, collected / "model.pt")
    (root / "factory.py").write_text(f"from upsamplers.models import load_model\n\n"
                                     f"def build():\n    return load_model({str(evil)!r})\n")
    rng = np.random.default_rng(0)
    sf.write(root / "clip.wav", 0.1 * rng.standard_normal(4000).astype(np.float32), 16000)
    clip, compare_args = str(root / "clip.wav"), [*COMPARE_ARGS, "--seeds", "1", "--variants",
                                                   "nearest", "--no-naive-timing"]
    return [
        ["evaluate", "--checkpoint", str(evil), "--data", str(data), "--out",
         str(root / "scores.json"), "--no-progress"],
        ["reconstruct", "--checkpoint", str(evil), clip, str(root / "out.wav"), "--no-progress"],
        ["separate", "--checkpoint", str(evil), clip, str(root / "sources"), "--no-progress"],
        ["audit", f"{root / 'factory.py'}:build", "--sample-rate", "16000", "--out",
         str(root / "audit")],
        ["train", *cli_args(tiny(steps=2), run), "--resume"],
        ["compare", "--data", str(data), "--out", str(cmp), *compare_args],
        ["compare", "--collect", str(collected), "--data", str(data), "--out",
         str(root / "collected"), *compare_args],
    ]


@pytest.mark.parametrize("how", ["checkpoint", "bare pickle"])
def test_a_checkpoint_whose_pickle_runs_code_is_refused_everywhere(tmp_path, capsys, how):
    marker = tmp_path / "marker"
    evil = malicious(tmp_path / "evil.pt", marker, how)
    data = audio_folder(tmp_path / "audio")
    commands = place_checkpoint_readers(tmp_path, evil, data)
    for args in commands:
        before = snapshot(tmp_path)
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith(f"upsamplers {args[0]}: error: ") and err.count("\n") == 1, err
        assert "cannot be read" in err and "weights_only" not in err, err
        assert not marker.exists(), args
        assert snapshot(tmp_path) == before, args
    with pytest.raises(UserFileError, match="cannot be read") as refused:
        load_model(evil)
    assert "weights_only" not in str(refused.value) and not marker.exists()
