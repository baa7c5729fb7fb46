"""Training to a plateau: the criterion on hand-made curves, runs that evaluate
themselves and stop, evaluation that leaves training untouched, exact resume of
the curve, the log and the command line."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from tiny_runs import assert_same_weights, weights

import upsamplers.train as train_module
from upsamplers._checks import InvalidValue, UserFileError
from upsamplers.cli import main
from upsamplers.models import build_model
from upsamplers.scoring import primary_metric, primary_score, score_model
from upsamplers.train import (
    MIN_EVALUATIONS,
    TrainConfig,
    final_status,
    learning_curve,
    plateau_reached,
    run_status,
    train,
    window_gain,
)

pytestmark = pytest.mark.usefixtures("one_thread")

SUBPROCESS_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TINY = {"autoencoder": {"widths": [4, 8]},
        "demucs": {"width": 4, "depth": 2, "lstm_layers": 1}}


def tiny(model="autoencoder", **overrides):
    values = dict(model=model, steps=30, batch_size=2, crop=2048, lr=3e-3, checkpoint_every=10,
                  log_every=1, model_options=dict(TINY[model]), eval_every=5, eval_seconds=1.0)
    values.update(overrides)
    return TrainConfig(**values)


def events(folder, kind):
    lines = (folder / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("event") == kind]




# --------------------------------------------------------------------- the criterion

RISING = [(0, -10.0), (10, -5.0), (20, -2.0), (30, 0.0), (40, 1.0), (50, 2.0)]
FLAT = [(0, 0.0), (10, 5.0), (20, 5.0), (30, 5.25), (40, 5.25), (50, 5.25)]
DEAD = [(0, None), (10, None), (20, None), (30, None), (40, None)]
REVIVED = [(0, None), (10, None), (20, float("nan")), (30, None), (40, -3.0)]
COLLAPSED = [(0, 1.0), (10, 2.0), (20, 3.0), (30, 4.0), (40, None)]
SLOW = [(0, 0.0), (10, 1.0), (20, 2.0), (30, 3.0), (40, 3.0625)]


@pytest.mark.parametrize(("curve", "fraction", "gain"), [
    (RISING, 0.2, 1.0),      # window (40, 50]: 2; before: best 1
    (RISING, 0.5, 4.0),      # window (25, 50]: 2; before (<= 25): best -2
    (FLAT, 0.2, 0.0),
    (FLAT, 0.5, 0.25),       # window (25, 50]: 5.25; before: 5
    (SLOW, 0.2, 0.0625),     # window (32, 40]
    (SLOW, 0.5, 1.0625),     # window (20, 40]: 3.0625; before: 2
    (SLOW, 1.0, 3.0625),     # window (0, 40]; before: step 0
    (DEAD, 0.2, 0.0),        # -inf throughout: flat
    (REVIVED, 0.2, math.inf),
    (COLLAPSED, 0.2, -math.inf),
    ([(0, 1.0)], 0.2, None),           # nothing after step 0
    ([(10, 1.0)], 0.2, None),          # nothing at or before 8
    ([(10, 1.0), (20, 2.0)], 0.2, 1.0),  # window (16, 20]; before: step 10
    ([], 0.2, None),
])
def test_window_gain_on_hand_made_curves(curve, fraction, gain):
    assert window_gain(curve, fraction) == gain


@pytest.mark.parametrize(("curve", "fraction", "db", "min_steps", "reached", "status"), [
    (RISING, 0.2, 0.1, 0, False, "improving"),
    (FLAT, 0.2, 0.1, 0, True, "converged"),
    (FLAT, 0.5, 0.1, 0, False, "improving"),    # a longer window still holds a gain
    (FLAT, 0.5, 0.5, 0, True, "converged"),
    (FLAT, 0.2, 0.1, 60, False, "converged"),   # no stop before min_steps; flat at the end
    (FLAT, 0.2, 0.1, 50, True, "converged"),
    (FLAT[:4], 0.2, 0.1, 0, False, "improving"),  # 3 evaluations after step 0: too few
    (SLOW, 0.2, 0.0625, 0, False, "improving"),  # a gain of exactly db is still a gain
    (SLOW, 0.2, 0.0626, 0, True, "converged"),
    (SLOW, 0.5, 0.1, 0, False, "improving"),
    (DEAD, 0.2, 0.1, 0, True, "converged"),     # flat at -inf (health marks it failed)
    (REVIVED, 0.2, 0.1, 0, False, "improving"),
    (COLLAPSED, 0.2, 0.1, 0, True, "converged"),  # got worse: no gain
    ([(0, 1.0), (10, 1.0)], 0.2, 0.1, 0, False, "converged"),
])
def test_plateau_reached_and_final_status_on_hand_made_curves(curve, fraction, db, min_steps,
                                                              reached, status):
    assert plateau_reached(curve, fraction, db, min_steps) is reached
    assert final_status(curve, fraction, db) == status


def test_the_criterion_needs_min_evaluations_after_step_zero():
    flat = [(step, 1.0) for step in range(0, 10 * MIN_EVALUATIONS + 1, 10)]
    assert plateau_reached(flat, 0.2, 0.1, 0)
    assert not plateau_reached(flat[:-1], 0.2, 0.1, 0)
    assert plateau_reached(flat[1:], 0.2, 0.1, 0)  # no step-0 evaluation: the same count


@pytest.mark.parametrize(("curve", "fraction", "message"), [
    ([(10, 1.0), (10, 2.0)], 0.2, "steps must be >= 0 and increasing"),
    ([(20, 1.0), (10, 2.0)], 0.2, "steps must be >= 0 and increasing"),
    ([(-1, 1.0)], 0.2, "steps must be >= 0 and increasing"),
    (FLAT, 0.0, r"fraction must be in \(0, 1\]"),
    (FLAT, 1.5, r"fraction must be in \(0, 1\]"),
])
def test_the_criterion_rejects_bad_curves(curve, fraction, message):
    with pytest.raises(InvalidValue, match=message):
        plateau_reached(curve, fraction, 0.1, 0)


# --------------------------------------------------------------------- scoring


def test_primary_score_is_the_track_mean_of_the_primary_metric_and_none_when_dead():
    torch.manual_seed(0)
    model = build_model("autoencoder", "nearest", widths=[4, 8]).eval()
    noise = 0.1 * np.random.default_rng(0).standard_normal((2, 1, 3000)).astype(np.float32)
    signals = [(f"s{i}", x, x[None]) for i, x in enumerate(torch.from_numpy(noise))]
    assert primary_metric(model) == "si_sdr"
    with torch.no_grad():
        value = primary_score(model, signals)
        assert value == score_model(model, signals).track_mean("si_sdr")
        assert math.isfinite(value)
        for parameter in model.parameters():
            parameter.zero_()
        assert primary_score(model, signals) is None  # all-zero output: no finite score


# --------------------------------------------------------------------- runs


@pytest.mark.parametrize(("min_steps", "stop"), [(0, 20), (28, 30)])
def test_a_run_that_cannot_improve_stops_converged_before_its_budget(tmp_path, min_steps, stop):
    # lr 1e-9: the weights barely move, the curve is flat; with 4 evaluations after
    # step 0 (5, 10, 15, 20) the window (16, 20] gained nothing: converged at 20
    config = tiny(steps=60, lr=1e-9, min_steps=min_steps)
    result = train(config, tmp_path, progress=False)
    assert (result.status, result.stopped_at, result.step) == ("converged", stop, stop)
    assert [s for s, _ in result.curve] == list(range(0, stop + 1, 5))
    values = [v for _, v in result.curve]
    assert all(math.isfinite(v) for v in values)
    assert max(values) - min(values) < 1e-3  # flat indeed
    assert (tmp_path / "model.pt").is_file()
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["training"]["step"] == stop
    assert learning_curve(tmp_path) == result.curve
    assert run_status(tmp_path) == "converged"
    evals = events(tmp_path, "eval")
    assert [e["metric"] for e in evals] == ["si_sdr"] * len(evals)
    assert all(e["seconds"] >= 0 for e in evals)
    end = events(tmp_path, "end")[-1]
    assert (end["status"], end["stopped_at"], end["step"]) == ("converged", stop, stop)
    losses = [r["step"] for r in map(json.loads, (tmp_path / "log.jsonl").read_text()
                                     .splitlines()) if "loss" in r]
    assert losses == list(range(1, stop + 1))  # no step trained after the stop


def test_a_run_that_reaches_its_budget_gets_the_status_of_its_last_window(tmp_path):
    config = tiny(steps=14, min_steps=14)  # evaluations at 0, 5, 10 and the last step
    result = train(config, tmp_path, progress=False)
    assert [s for s, _ in result.curve] == [0, 5, 10, 14]
    assert result.stopped_at == result.step == 14
    assert result.status == final_status(result.curve, 0.2, 0.1) == run_status(tmp_path)
    assert result.status == "improving"  # lr 3e-3 from a fresh model: still rising at 14
    assert json.loads(json.dumps(result.summary()))["status"] == "improving"


def test_a_run_without_evaluation_has_no_curve_and_no_status(tmp_path):
    result = train(tiny(steps=3, eval_every=0), tmp_path, progress=False)
    assert (result.status, result.stopped_at, result.curve) == (None, 3, [])
    assert learning_curve(tmp_path) == [] and run_status(tmp_path) is None
    assert not events(tmp_path, "eval")
    with pytest.raises(UserFileError, match="holds no training run"):
        run_status(tmp_path / "nothing")


def _assert_evaluation_changes_nothing(tmp_path, model):
    steps = 6
    plain = train(tiny(model, steps=steps, eval_every=0), tmp_path / "plain", progress=False)
    evaluated = train(tiny(model, steps=steps, eval_every=2, min_steps=steps),
                      tmp_path / "eval", progress=False)
    assert [s for s, _ in evaluated.curve] == [0, 2, 4, 6]
    assert [h["loss"] for h in plain.history] == [h["loss"] for h in evaluated.history]
    assert_same_weights(weights(tmp_path / "plain" / "model.pt"),
                        weights(tmp_path / "eval" / "model.pt"))
    a, b = (torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)["training"]
            for name in ("plain", "eval"))
    assert torch.equal(a["torch_rng"], b["torch_rng"])
    for key, state in a["optimizer"]["state"].items():
        assert_same_weights(state, b["optimizer"]["state"][key])


@pytest.mark.parametrize("model", ["autoencoder", "demucs"])
def test_evaluation_does_not_change_the_trained_weights(tmp_path, model):
    _assert_evaluation_changes_nothing(tmp_path, model)


def test_evaluation_runs_without_gradients_in_eval_mode_and_keeps_the_random_state(
        tmp_path, monkeypatch):
    seen = []

    def drawing_score(model, signals, device=None):  # a metric that draws random numbers
        seen.append((model.training, torch.is_grad_enabled()))
        torch.rand(1000)
        return primary_score(model, signals, device)

    monkeypatch.setattr(train_module, "primary_score", drawing_score)
    _assert_evaluation_changes_nothing(tmp_path, "autoencoder")
    assert seen == [(False, False)] * 4


class _StopAfter(train_module._StopFlag):
    """Ctrl-C as the loop looks for it after step ``AT``."""

    AT = 12

    def __init__(self):
        self.reads = 0

    @property
    def signal(self):
        self.reads += 1
        return signal.SIGINT if self.reads >= self.AT else None

    @signal.setter
    def signal(self, value):
        pass


def test_resume_reproduces_the_curve_and_the_stop(tmp_path, monkeypatch):
    config = tiny(steps=60, lr=1e-9)
    reference = train(config, tmp_path / "whole", progress=False)
    assert reference.stopped_at == 20

    out = tmp_path / "split"
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "_StopFlag", _StopAfter)
        first = train(config, out, progress=False, echo=lambda message: None)
    assert first.interrupted and first.step == 12
    assert (first.status, first.stopped_at) == (None, None) and run_status(out) is None
    assert [s for s, _ in learning_curve(out)] == [0, 5, 10]
    saved = out / "saved.pt"
    shutil.copy(out / "checkpoint.pt", saved)

    resumed = train(config, out, resume=True, progress=False)
    assert (resumed.status, resumed.stopped_at) == ("converged", 20)
    assert resumed.curve == reference.curve == learning_curve(out)
    assert_same_weights(weights(tmp_path / "whole" / "model.pt"), weights(out / "model.pt"))

    # killed after the evaluations of steps 15 and 20 were logged, before any later
    # checkpoint than step 12: resuming drops and recomputes them, once each
    shutil.copy(saved, out / "checkpoint.pt")
    (out / "model.pt").unlink()
    again = train(config, out, resume=True, progress=False)
    assert again.curve == reference.curve == learning_curve(out)
    assert [e["step"] for e in events(out, "eval")] == [0, 5, 10, 15, 20]
    assert run_status(out) == "converged"

    # a finished, converged run resumed trains no more
    final = train(config, out, resume=True, progress=False)
    assert (final.status, final.stopped_at, final.step) == ("converged", 20, 20)
    assert_same_weights(weights(tmp_path / "whole" / "model.pt"), weights(out / "model.pt"))


def test_resume_refuses_a_changed_evaluation(tmp_path):
    train(tiny(steps=5), tmp_path, progress=False)
    with pytest.raises(InvalidValue, match=r"changed settings: eval_every=3 \(checkpoint: 5\)"):
        train(tiny(steps=10, eval_every=3), tmp_path, resume=True, progress=False)


def test_evaluation_needs_validation_audio(tmp_path):
    import soundfile as sf

    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    noise = 0.1 * np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    sf.write(data / "train" / "a.wav", noise, 16000)
    with pytest.raises(InvalidValue, match="eval_every needs validation audio: no usable audio"):
        train(tiny(data=str(data), steps=2), tmp_path / "o", progress=False)
    assert not (tmp_path / "o" / "checkpoint.pt").exists()


# --------------------------------------------------------------------- command line


def test_the_flags_set_the_criterion_and_the_summary_reports_the_status(tmp_path, capsys):
    out = tmp_path / "o"
    args = ["train", "--steps", "40", "--batch-size", "2", "--crop", "2048", "--lr", "1e-9",
            "--model-option", "widths=[4,8]", "--eval-every", "4", "--eval-seconds", "0.5",
            "--plateau-db", "0.01", "--plateau-fraction", "0.5", "--min-steps", "24",
            "--out", str(out), "--no-progress"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["status"], summary["stopped_at"]) == ("converged", 24)
    saved = json.loads((out / "config.json").read_text())
    assert {k: saved[k] for k in ("eval_every", "eval_seconds", "plateau_db",
                                  "plateau_fraction", "min_steps")} == {
        "eval_every": 4, "eval_seconds": 0.5, "plateau_db": 0.01, "plateau_fraction": 0.5,
        "min_steps": 24}
    assert [s for s, _ in learning_curve(out)] == list(range(0, 25, 4))


def test_help_states_the_criterion(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--eval-every", "--eval-seconds", "--plateau-db", "--plateau-fraction",
                 "--min-steps"):
        assert flag in text
    assert "(s - w, s], w = --plateau-fraction * s" in text
    assert "'improving'" in text and "'converged'" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--eval-every", "-1"], "eval_every must be an integer >= 0; received eval_every=-1"),
    (["--min-steps", "-2"], "min_steps must be an integer >= 0; received min_steps=-2"),
    (["--eval-seconds", "0"], r"eval_seconds must be in (0, inf); received eval_seconds=0.0"),
    (["--plateau-db", "-0.1"], "plateau_db must be in [0, inf); received plateau_db=-0.1"),
    (["--plateau-fraction", "0"], "plateau_fraction must be in (0, 1]; received"),
    (["--plateau-fraction", "1.5"], "plateau_fraction must be in (0, 1]; received"),
])
def test_bad_plateau_settings_are_one_line(tmp_path, capsys, args, message):
    base = ["train", "--out", str(tmp_path / "o"), "--steps", "1", "--no-progress",
            "--model-option", "widths=[2,2]"]
    assert main(base + args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------- distributed


def test_torchrun_two_processes_give_the_curve_of_one(tmp_path):
    config = tiny(steps=4, batch_size=4, eval_every=2, checkpoint_every=100)
    single = train(config, tmp_path / "single", progress=False)
    env = {k: v for k, v in SUBPROCESS_ENV.items() if k not in ("RANK", "WORLD_SIZE")}
    args = ["--steps", "4", "--batch-size", "4", "--crop", "2048", "--lr", "0.003",
            "--model-option", "widths=[4,8]", "--eval-every", "2", "--eval-seconds", "1",
            "--checkpoint-every", "100", "--out", str(tmp_path / "ddp"), "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "upsamplers", "train", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:  # never leave the workers behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, stderr[-3000:]
    summaries = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    assert len(summaries) == 1 and summaries[0]["status"] == single.status
    curve = learning_curve(tmp_path / "ddp")
    assert [s for s, _ in curve] == [s for s, _ in single.curve] == [0, 2, 4]
    assert len(events(tmp_path / "ddp", "eval")) == 3  # one writer
    np.testing.assert_allclose([v for _, v in curve], [v for _, v in single.curve],
                               rtol=0, atol=1e-3)
