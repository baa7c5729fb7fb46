"""Tiny training runs and compare jobs, and their command lines, shared by the
tests that train (``test_train``, ``test_compare``, ``test_faults``), plus a
snapshot of a folder's files to show that a refused command changed nothing."""

import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from upsamplers.train import TrainConfig

RATE = 16000

TINY = {
    "autoencoder": {"widths": [4, 8]},
    "demucs": {"width": 4, "depth": 2, "lstm_layers": 1},
    "melgan": {"hidden": 32, "residual_blocks": 1},
}


def tiny(model="autoencoder", **overrides):
    values = dict(model=model, steps=4, batch_size=2, crop=2048, lr=3e-3, checkpoint_every=2,
                  log_every=1, model_options=dict(TINY[model]))
    values.update(overrides)
    return TrainConfig(**values)


def fixed_batch_learning(config, out):
    """Train ``config`` into ``out`` and measure the loss of one fixed batch (the same
    8 crops) before and after: ``(running losses, fixed loss before, fixed loss of
    the saved model, the saved model)``."""
    from upsamplers.models import load_model
    from upsamplers.train import ReconstructionLoss, Task, train

    task = Task(config)
    criterion = ReconstructionLoss(config.stft_weight)
    fixed = task.batch(list(range(8)))

    def fixed_loss(module):
        with torch.no_grad():
            return float(task.loss(module.eval(), fixed, criterion)[0])

    before = fixed_loss(task.build_model())
    result = train(config, out, progress=False)
    rebuilt = load_model(Path(out) / "model.pt")
    return [h["loss"] for h in result.history], before, fixed_loss(rebuilt), rebuilt


def cli_args(config, out):
    """The ``upsamplers train`` arguments of ``config`` (evaluation flags when it
    evaluates), writing into ``out``."""
    args = ["--model", config.model, "--upsampler", config.upsampler, "--steps",
            str(config.steps), "--batch-size", str(config.batch_size), "--crop", str(config.crop),
            "--lr", str(config.lr), "--checkpoint-every", str(config.checkpoint_every),
            "--log-every", str(config.log_every), "--seed", str(config.seed), "--out", str(out),
            "--no-progress"]
    if config.evaluates:
        args += ["--eval-every", str(config.eval_every), "--eval-seconds",
                 str(config.eval_seconds)]
    for key, value in config.model_options.items():
        args += ["--model-option", f"{key}={json.dumps(value)}"]
    return args


# One thread, in this process and in the commands it starts: on a machine whose cores
# are busy, small multi-threaded ops stall; and in-process and subprocess runs must
# use the same thread count for their weights to be bitwise equal.
SUBPROCESS_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


# a tiny compare job: 4 steps, evaluated at every step; plateau_db=1000 makes every run
# converge at its 4th evaluation (a gain below 1000 dB), so the ranking is defined.
# With these widths and lr every seed's output ends above the failure level (narrower
# models, or lr 1e-3, leave some seeds' outputs more than 30 dB below their targets
# after 4 steps)
COMPARE_TINY = dict(variants=("subpixel", "nearest"), steps=4, crop=1024, batch_size=2,
                    timing_steps=2, audit_seconds=2.0, clip_seconds=0.5,
                    model_options={"widths": [8, 8]}, seeds=2, lr=1e-2, eval_every=1,
                    eval_seconds=1.0, min_steps=4, plateau_db=1000.0, jobs=1,
                    task="autoencoder")
COMPARE_ARGS = ["--task", "autoencoder", "--variants", "subpixel", "nearest", "--steps", "4",
                "--crop", "1024", "--batch-size", "2", "--timing-steps", "2", "--audit-seconds",
                "2", "--clip-seconds", "0.5", "--model-option", "widths=[8, 8]", "--lr", "1e-2",
                "--seeds", "2", "--eval-every", "1", "--eval-seconds", "1", "--min-steps", "4",
                "--plateau-db", "1000", "--jobs", "1", "--no-progress"]


def chord(seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(0.2 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(100, 2000, 3))
    return (x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def audio_folder(root):
    """``root`` with ``train/`` (2 chords of 1 s) and ``validation/`` (1)."""
    for split, count in (("train", 2), ("validation", 1)):
        (root / split).mkdir(parents=True)
        for i in range(count):
            sf.write(root / split / f"clip{i}.wav", chord(1.0, i + 10 * count), RATE)
    return root


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and modification time (ns) of every file under ``root``."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}
