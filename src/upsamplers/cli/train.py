"""The ``upsamplers train`` sub-command: arguments, settings, and the call of
:func:`upsamplers.train.train`.

Settings come from the defaults of :class:`~upsamplers.train.TrainConfig`, then
the ``--config`` file, then the flags given.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .._checks import InvalidValue, UserFileError
from ..data import one_line_warnings, same_path
from ..models import MODELS
from ..train import CONFIG, TrainConfig, load_config_file, train

# flags that set a TrainConfig field of the same name (dashes for underscores)
FLAG_FIELDS = ("model", "upsampler", "data", "steps", "batch_size", "lr", "seed",
               "checkpoint_every", "log_every", "crop", "sample_rate", "stft_weight",
               "eval_every", "eval_seconds", "plateau_db", "plateau_fraction", "min_steps",
               "loss", "schedule", "warmup", "ema")

_HELP = {
    "upsampler": "upsampler kind (any that make_upsampler knows)",
    "data": "folder of audio or of stems; default: the embedded data set",
    "lr": "Adam learning rate",
    "crop": "samples per item",
    "steps": "the budget: most optimiser steps (fewer if a plateau stops the run)",
    "eval_every": "steps between evaluations of the model's primary metric (dB) on the "
                  "validation audio, also before the first and at the last step; 0: never "
                  "(and no plateau stop)",
    "eval_seconds": "seconds of validation audio scored at each evaluation (the first "
                    "validation signals, the same for the whole run)",
    "plateau_db": "plateau: stop when the last --plateau-fraction of the steps gained less "
                  "than this many dB",
    "plateau_fraction": "the window of the plateau criterion, as a fraction of the steps "
                        "done, in (0, 1]",
    "min_steps": "no plateau stop before this step",
    "loss": "the waveform term of the loss: l1 or si_sdr (plus --stft-weight times the "
            "multi-resolution STFT loss)",
    "schedule": "the learning rate over the steps: constant, or cosine (ends at --steps)",
    "warmup": "linear warm-up over this fraction of the steps, in [0, 0.5]",
    "ema": "decay of an exponential moving average of the weights, evaluated and saved "
           "(0: none)",
}


def key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON when it parses (numbers, lists, true),
    else as a string; dashes in KEY become underscores."""
    if "=" not in text:
        raise InvalidValue(f"options must be KEY=VALUE; received {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip().replace("-", "_"), value


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of :data:`FLAG_FIELDS`, unset (``None``) by default so that
    the ``--config`` file can give it; the help shows the dataclass default."""
    for name in FLAG_FIELDS:
        default = getattr(TrainConfig, name)
        kind = type(default) if isinstance(default, (int, float)) else None
        help_text = _HELP.get(name, "")
        if default is not None:
            help_text = f"{help_text}; default {default}" if help_text else f"default {default}"
        options: dict[str, Any] = {"default": None, "help": help_text}
        if kind is not None:
            options["type"] = kind
        if name == "model":
            options["choices"] = sorted(MODELS)
        parser.add_argument(f"--{name.replace('_', '-')}", **options)


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a reference model (autoencoder, demucs, melgan, unet) with any upsampler",
        description="Train a reference model with Adam on L1 + multi-resolution STFT loss. "
        "Checkpoints are written atomically every --checkpoint-every steps and at the end; "
        "Ctrl-C saves and stops; --resume continues exactly. Runs under torchrun with "
        "DistributedDataParallel. With --eval-every K > 0 the run scores itself on the "
        "validation audio every K steps (log.jsonl 'eval' events) and stops on a plateau: "
        "after an evaluation at step s >= --min-steps, with at least 4 evaluations after "
        "step 0, when the best value at the steps in (s - w, s], w = --plateau-fraction * s, "
        "exceeds the best value at the steps <= s - w by less than --plateau-db dB "
        "(status 'converged'); a run that reaches --steps first is 'improving' if its last "
        "window still gained --plateau-db or more, else 'converged'. "
        "Settings: defaults < --config file < flags.",
    )
    parser.add_argument("--config", type=Path, help="JSON (or TOML) file of settings")
    _add_setting_flags(parser)
    parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                        help="model constructor argument, e.g. widths=[8,16] (repeatable)")
    parser.add_argument("--upsampler-option", action="append", default=[], metavar="KEY=VALUE",
                        help="upsampler argument, e.g. init=icnr (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run saved in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def config_from_args(args: Any) -> TrainConfig:
    """Defaults, then the ``--config`` file, then the flags given."""
    values: dict[str, Any] = {}
    if args.config is not None:
        values.update(load_config_file(args.config))
    for name in FLAG_FIELDS:
        value = getattr(args, name)
        if value is not None:
            values[name] = value
    for flag, name in (("model_option", "model_options"),
                       ("upsampler_option", "upsampler_options")):
        extra = dict(key_value(t) for t in getattr(args, flag))
        if extra:
            values[name] = {**values.get(name, {}), **extra}
    if values.get("data") is not None:
        values["data"] = str(values["data"])
    return TrainConfig.from_dict(values).validate()


def check_config_input(config_file: Path | None, out: Path, config: TrainConfig) -> None:
    """Refuse a ``--config`` file that is the run folder's own ``config.json``
    when the run would rewrite it with other settings (flags, defaults): an
    input of the run is never replaced. The same settings are fine (resuming
    with ``--config OUT/config.json``)."""
    if config_file is None or not same_path(config_file, out / CONFIG):
        return
    written = json.loads(json.dumps(asdict(config)))
    if load_config_file(config_file) != written:
        raise UserFileError(
            f"--config {config_file} is the config.json this run writes in {out}, and the "
            "run's settings differ from it (flags or defaults it lacks): it would be replaced; "
            "pass a copy kept outside the run folder")


def _run(args: Any) -> int:
    config = config_from_args(args)
    check_config_input(args.config, args.out, config)
    with one_line_warnings():
        result = train(config, args.out, resume=args.resume, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result.summary()))
    return 130 if result.interrupted else 0


__all__ = ["FLAG_FIELDS", "add_subcommand", "config_from_args", "key_value"]
