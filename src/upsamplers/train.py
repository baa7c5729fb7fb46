"""Training of the reference models: Adam, L1 + multi-resolution STFT loss,
atomic checkpoints, exact resume, clean Ctrl-C, DistributedDataParallel.

Determinism: batch ``s`` is made of dataset items ``s * batch_size + j``
(``j < batch_size``), each a crop that is a pure function of ``(seed, index)``
(see :mod:`upsamplers.data`). Training state (weights, Adam, step, torch RNG) is
saved in ``OUT/checkpoint.pt``; resuming from it reproduces the run that was
not interrupted, so ``N`` steps, resume, ``N`` steps give the weights of ``2N``
steps.

Distributed: under ``torchrun --nproc_per_node=P`` every process takes the items
``j`` with ``j % P == rank`` of every batch (``batch_size`` must be a multiple
of ``P``) and DistributedDataParallel averages the gradients, which makes the
update that of the whole batch. Only rank 0 writes checkpoints and logs.

Files in ``OUT``: ``checkpoint.pt`` (the latest state: a model checkpoint
with a ``training`` entry, loadable by :func:`upsamplers.models.load_model`),
``model.pt`` (the final model), ``log.jsonl`` (one JSON object per logged step,
plus ``start``, ``checkpoint``, ``interrupted`` and ``end`` events) and
``config.json``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from ._checks import InvalidValue, check_choice, check_positive_int
from .models import (
    MODELS,
    ReferenceModel,
    atomic_torch_save,
    build_model,
    model_class,
    read_checkpoint,
)
from .models.base import model_from_checkpoint

CHECKPOINT = "checkpoint.pt"
FINAL = "model.pt"
LOG = "log.jsonl"
CONFIG = "config.json"
# settings that must not change when a run is resumed
RESUME_FIXED = ("model", "upsampler", "data", "batch_size", "lr", "seed", "crop", "sample_rate",
                "model_options", "upsampler_options", "stft_weight")


@dataclass
class TrainConfig:
    """Everything that defines a training run (the command's flags).

    ``data=None`` is the embedded data set. ``model_options`` are constructor
    arguments of the model (e.g. ``{"channels": 8, "depth": 3}`` for Demucs);
    ``upsampler_options`` those of its upsamplers (e.g. ``{"init": "icnr"}``).
    """

    model: str = "autoencoder"
    upsampler: str = "transposed"
    data: str | None = None
    steps: int = 1000
    batch_size: int = 8
    lr: float = 3e-4
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10
    crop: int = 16384
    sample_rate: int = 16000
    stft_weight: float = 1.0
    model_options: dict[str, Any] = field(default_factory=dict)
    upsampler_options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> TrainConfig:
        """Check every field; ``TypeError``/``ValueError`` naming the field."""
        check_choice("model", self.model, MODELS)
        from .layers import upsampler_kinds

        check_choice("upsampler", self.upsampler, upsampler_kinds())
        for name in ("steps", "batch_size", "checkpoint_every", "log_every", "crop",
                     "sample_rate"):
            check_positive_int(name, getattr(self, name))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0; received seed={self.seed!r}")
        for name in ("lr", "stft_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value) and value >= 0) or (name == "lr" and value == 0):
                allowed = "> 0" if name == "lr" else ">= 0"
                raise ValueError(f"{name} must be a finite number {allowed}; "
                                 f"received {name}={value!r}")
        for name in ("model_options", "upsampler_options"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name} must be a dict; received {name}="
                                f"{getattr(self, name)!r}")
        if self.data is not None and not Path(self.data).is_dir():
            raise ValueError(f"data must be a folder of audio; received data={self.data!r} "
                             "(no such folder)")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known))}")
        return cls(**values)


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Settings from a JSON or TOML file (keys as :class:`TrainConfig` fields,
    ``-`` or ``_``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".toml":
            import tomllib  # Python >= 3.11

            values = tomllib.loads(text)
        else:
            values = json.loads(text)
    except ImportError:  # pragma: no cover - Python 3.10
        raise ValueError("TOML config files need Python >= 3.11; use JSON") from None
    except ValueError as error:
        raise ValueError(f"config file {path} is not valid "
                         f"{'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {error}"
                         ) from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path} must hold a table/object of settings")
    return {k.replace("-", "_"): v for k, v in values.items()}


# --------------------------------------------------------------------------- losses


class MultiResolutionSTFTLoss(torch.nn.Module):
    """Multi-resolution STFT loss (Yamamoto et al., 2020): for every resolution,
    spectral convergence ``|Y - X|_F / |Y|_F`` plus the mean absolute difference
    of log magnitudes, averaged over resolutions. The same formulas and defaults
    as ``auraloss.freq.MultiResolutionSTFTLoss`` (magnitudes ``sqrt(max(|S|^2,
    1e-8))``, Hann windows, centred frames), except that the spectral convergence
    is taken per signal and then averaged, so that the loss of a batch is the mean
    of its signals' losses (which DistributedDataParallel needs to reproduce a
    single process). With one signal it equals auraloss' value.

    Resolutions whose FFT is longer than the signal are left out.

    Shape: ``(N, 1, T), (N, 1, T) -> ()``.
    """

    def __init__(self, fft_sizes: tuple[int, ...] = (512, 1024, 2048),
                 hop_sizes: tuple[int, ...] = (50, 120, 240),
                 win_lengths: tuple[int, ...] = (240, 600, 1200), eps: float = 1e-8) -> None:
        super().__init__()
        self.resolutions = list(zip(fft_sizes, hop_sizes, win_lengths, strict=True))
        self.eps = eps
        for n_fft, _, win in self.resolutions:
            self.register_buffer(f"window_{n_fft}", torch.hann_window(win), persistent=False)

    def _magnitude(self, x: torch.Tensor, n_fft: int, hop: int, win: int) -> torch.Tensor:
        spec = torch.stft(x, n_fft, hop, win, getattr(self, f"window_{n_fft}"),
                          return_complex=True)
        return torch.sqrt(torch.clamp(spec.real ** 2 + spec.imag ** 2, min=self.eps))

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n = estimate.shape[-1]
        x, y = estimate.reshape(-1, n), target.reshape(-1, n)  # (N, 1, T) -> (N, T)
        used = [r for r in self.resolutions if r[0] <= n]
        if not used:
            raise ValueError(f"signals must have at least {min(r[0] for r in self.resolutions)} "
                             f"samples for the STFT loss; received {n}")
        total = estimate.new_zeros(())
        for n_fft, hop, win in used:
            xm, ym = self._magnitude(x, n_fft, hop, win), self._magnitude(y, n_fft, hop, win)
            sc = (ym - xm).flatten(1).norm(dim=1) / ym.flatten(1).norm(dim=1)
            log_mag = (torch.log(xm) - torch.log(ym)).abs().mean()
            total = total + sc.mean() + log_mag
        return total / len(used)


class ReconstructionLoss(torch.nn.Module):
    """``L1 + stft_weight * multi-resolution STFT loss`` (FFT sizes 512, 1024,
    2048; see :class:`MultiResolutionSTFTLoss`), both means over the signals of
    the batch, so that a batch's loss is the mean of its items'.

    Shape: ``(B, ..., T), (B, ..., T) -> ()``; the dimensions other than time are
    flattened into ``(N, 1, T)`` for the STFT term.
    """

    def __init__(self, stft_weight: float = 1.0) -> None:
        super().__init__()
        self.stft_weight = float(stft_weight)
        self.stft = MultiResolutionSTFTLoss()

    def forward(self, estimate: torch.Tensor, target: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, float]]:
        l1 = (estimate - target).abs().mean()
        total = l1
        parts = {"l1": float(l1.detach())}
        if self.stft_weight:
            n = estimate.shape[-1]
            stft = self.stft(estimate.reshape(-1, 1, n), target.reshape(-1, 1, n))
            total = total + self.stft_weight * stft
            parts["stft"] = float(stft.detach())
        return total, parts


# --------------------------------------------------------------------------- tasks


class Task:
    """What a model learns from a batch: builds the model and its data, and
    computes the loss of one batch. Everything model-specific is asked of the
    model class (:class:`~upsamplers.models.ReferenceModel`)."""

    def __init__(self, config: TrainConfig) -> None:
        from .data import default_data_dir, open_dataset

        self.config = config
        self.model_class = model_class(config.model)
        root = Path(config.data) if config.data is not None else default_data_dir()
        options = self.model_class.upgrade_config(config.model_options)
        self.channels = self.model_class.audio_channels_of(options)
        self.dataset: Any = open_dataset(
            self.model_class.dataset_kind, root, split="train", sample_rate=config.sample_rate,
            channels=self.channels, crop=config.crop, seed=config.seed)
        options = self.model_class.options_for_data(dict(config.model_options), self.dataset)
        options.setdefault("length", config.crop)
        options.setdefault("sample_rate", config.sample_rate)
        if options["sample_rate"] != config.sample_rate:
            raise InvalidValue(f"model_options sample_rate={options['sample_rate']} differs "
                               f"from sample_rate={config.sample_rate}")
        if config.upsampler_options:
            options["upsampler_options"] = dict(config.upsampler_options)
        self.model_options = options

    def build_model(self) -> ReferenceModel:
        """The model, built after checking that ``crop`` fits it."""
        probe = dict(self.model_options)
        probe.pop("length", None)
        shape = build_model(self.config.model, self.config.upsampler, **probe)
        shape.check_multiple_of_hop("crop", self.config.crop)
        torch.manual_seed(self.config.seed)
        return build_model(self.config.model, self.config.upsampler, **self.model_options)

    def batch(self, indices: list[int]) -> Any:
        items = [self.dataset[i] for i in indices]
        if isinstance(items[0], tuple):
            return tuple(torch.stack(parts) for parts in zip(*items, strict=True))
        return torch.stack(items)

    def loss(self, model: torch.nn.Module, batch: Any, criterion: ReconstructionLoss
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """``criterion(model(inputs), targets)`` for the batch's
        :meth:`~upsamplers.models.ReferenceModel.training_pair`; ``model`` may be
        wrapped (DistributedDataParallel)."""
        core = model.module if hasattr(model, "module") else model
        inputs, targets = core.training_pair(batch)
        return criterion(model(inputs), targets)


# --------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed() -> Distributed:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return Distributed(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", "0")))


def _device(dist_info: Distributed) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", dist_info.local_rank)
    return torch.device("cpu")


# --------------------------------------------------------------------------- interruption


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop stops after the step in progress."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.signal is not None:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.signal = signum


@contextmanager
def _catch_signals(flag: _StopFlag) -> Iterator[None]:
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, flag) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# --------------------------------------------------------------------------- the loop


def _log_line(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()


def _truncate_log(path: Path, step: int) -> None:
    """Keep the log lines of steps ``<= step`` (what a resumed run continues from)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if record.get("step", 0) <= step:
            kept.append(line)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(k + "\n" for k in kept))
    os.replace(tmp, path)


def _remove_stale_temporaries(out: Path) -> None:
    for tmp in out.glob(f".{CHECKPOINT}.*.tmp"):
        tmp.unlink()


def training_state(model: ReferenceModel, optimizer: torch.optim.Optimizer, step: int,
                   config: TrainConfig, seconds: float) -> dict[str, Any]:
    return model.checkpoint(training={
        "step": step,
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "config": asdict(config),
        "seconds": seconds,
    })


@dataclass
class TrainResult:
    """What :func:`train` returns (rank 0's view)."""

    out: Path
    step: int
    steps: int
    interrupted: bool
    first_loss: float | None
    last_loss: float | None
    samples_per_second: float
    seconds: float
    checkpoint: Path
    history: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("history")
        d["out"], d["checkpoint"] = str(self.out), str(self.checkpoint)
        return d


def train(
    config: TrainConfig,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``config.model`` for ``config.steps`` steps, writing into ``out``.

    Args:
        config: the run's settings (validated here).
        out: output folder; it must not hold a checkpoint unless ``resume``.
        resume: continue from ``out/checkpoint.pt`` (its settings must match
            ``config``, except ``steps``, ``checkpoint_every`` and ``log_every``).
        progress: show a tqdm progress bar (rank 0).
        echo: where to print messages (rank 0); default: stderr.

    Returns:
        a :class:`TrainResult`. Ctrl-C (SIGINT) or SIGTERM stops after the step in
        progress, saves a checkpoint and returns with ``interrupted=True``.
    """
    config.validate()
    out = Path(out)
    dist_info = _init_distributed()
    say = echo or (lambda message: print(message, file=sys.stderr, flush=True))
    if config.batch_size % dist_info.world:
        raise ValueError(f"batch_size must be a multiple of the number of processes "
                         f"({dist_info.world}); received batch_size={config.batch_size}")
    ckpt_path = out / CHECKPOINT
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a folder; received out={str(out)!r} (a file)")
    if resume and not ckpt_path.is_file():
        raise ValueError(f"cannot resume: {ckpt_path} does not exist")
    if not resume and (ckpt_path.exists() or (out / FINAL).exists()):
        raise ValueError(f"{out} already holds a training run; pass --resume to continue it "
                         "or choose another --out")

    torch.manual_seed(config.seed)
    task = Task(config)
    model = task.build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    step = 0
    seconds_before = 0.0
    if resume:
        payload = read_checkpoint(ckpt_path)
        state = payload.get("training")
        if not isinstance(state, dict):
            raise ValueError(f"{ckpt_path} is a model checkpoint without training state")
        saved = TrainConfig.from_dict(state["config"])
        changed = [k for k in RESUME_FIXED if getattr(saved, k) != getattr(config, k)]
        if changed:
            raise ValueError("cannot resume with changed settings: " + ", ".join(
                f"{k}={getattr(config, k)!r} (checkpoint: {getattr(saved, k)!r})"
                for k in changed))
        model = model_from_checkpoint(payload)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        step = int(state["step"])
        seconds_before = float(state.get("seconds", 0.0))
        if step > config.steps:
            raise ValueError(f"the checkpoint is at step {step}, past steps={config.steps}")

    device = _device(dist_info)
    model.to(device)
    if device.type != "cpu":  # move Adam's state along
        for value in optimizer.state.values():
            for k, v in value.items():
                if isinstance(v, torch.Tensor) and k != "step":
                    value[k] = v.to(device)
    net: torch.nn.Module = model
    if dist_info.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            model, device_ids=[dist_info.local_rank] if device.type == "cuda" else None)
    criterion = ReconstructionLoss(config.stft_weight).to(device)

    log_path = out / LOG
    if dist_info.main:
        out.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(out)
        if resume:
            _truncate_log(log_path, step)
        (out / CONFIG).write_text(json.dumps(asdict(config), indent=2) + "\n")
        _log_line(log_path, {"event": "resume" if resume else "start", "step": step,
                             "config": asdict(config), "world_size": dist_info.world,
                             "device": str(device),
                             "parameters": model.num_parameters()})

    def save(at_step: int, elapsed: float) -> None:
        if dist_info.main:
            atomic_torch_save(training_state(model, optimizer, at_step, config, elapsed),
                              ckpt_path)
            _log_line(log_path, {"event": "checkpoint", "step": at_step})

    bar = None
    if progress and dist_info.main:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, initial=step, unit="step", dynamic_ncols=True,
                   desc=f"{config.model}/{config.upsampler}")
    flag = _StopFlag()
    history: list[dict[str, Any]] = []
    first_loss = last_loss = None
    samples = 0
    start = time.perf_counter()
    interrupted = False
    net.train()
    per_rank = config.batch_size // dist_info.world
    try:
        with _catch_signals(flag):
            while step < config.steps:
                base = step * config.batch_size
                indices = [base + j for j in range(config.batch_size)
                           if j % dist_info.world == dist_info.rank]
                batch = task.batch(indices)
                batch = tuple(b.to(device) for b in batch) if isinstance(batch, tuple) \
                    else batch.to(device)
                optimizer.zero_grad(set_to_none=True)
                loss, parts = task.loss(net, batch, criterion)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"the loss is not finite at step {step + 1} "
                                             f"({float(loss)}); lower --lr")
                loss.backward()
                optimizer.step()
                step += 1
                samples += per_rank * dist_info.world
                value = float(loss.detach())
                if dist_info.world > 1:  # the losses of the whole batch, for the log
                    import torch.distributed as dist

                    names = sorted(parts)
                    reduced = torch.tensor([value] + [parts[k] for k in names], device=device)
                    dist.all_reduce(reduced)
                    reduced = (reduced / dist_info.world).tolist()
                    value = reduced[0]
                    parts = dict(zip(names, reduced[1:], strict=True))
                first_loss = value if first_loss is None else first_loss
                last_loss = value
                elapsed = time.perf_counter() - start
                rate = samples / elapsed if elapsed > 0 else 0.0
                if dist_info.main:
                    record = {"step": step, "loss": value, **parts,
                              "samples_per_s": round(rate, 2),
                              "seconds": round(seconds_before + elapsed, 3)}
                    history.append(record)
                    if step % config.log_every == 0 or step == config.steps:
                        _log_line(log_path, record)
                    if bar is not None:
                        bar.set_postfix(loss=f"{value:.4f}", samples_s=f"{rate:.1f}")
                        bar.update(1)
                if step % config.checkpoint_every == 0 and step < config.steps:
                    save(step, seconds_before + elapsed)
                stop = flag.signal is not None
                if dist_info.world > 1:  # every rank stops at the same step
                    import torch.distributed as dist

                    vote = torch.tensor([1.0 if stop else 0.0], device=device)
                    dist.all_reduce(vote)
                    stop = bool(vote.item() > 0)
                if stop and step < config.steps:
                    interrupted = True
                    break
        elapsed = seconds_before + time.perf_counter() - start
        save(step, elapsed)
        if dist_info.main:
            if interrupted:
                _log_line(log_path, {"event": "interrupted", "step": step})
                say(f"interrupted: saved step {step} to {ckpt_path}; continue with --resume")
            else:
                model.save(out / FINAL)
    finally:
        if bar is not None:
            bar.close()
    run_seconds = time.perf_counter() - start
    result = TrainResult(
        out=out, step=step, steps=config.steps, interrupted=interrupted, first_loss=first_loss,
        last_loss=last_loss, samples_per_second=samples / run_seconds if run_seconds else 0.0,
        seconds=elapsed, checkpoint=ckpt_path, history=history)
    if dist_info.main:
        _log_line(log_path, {"event": "end", **result.summary()})
    if dist_info.world > 1:
        import torch.distributed as dist

        dist.barrier()
    return result


# --------------------------------------------------------------------------- command line


def _key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON when it parses (numbers, lists, true),
    else as a string."""
    if "=" not in text:
        raise ValueError(f"options must be KEY=VALUE; received {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip().replace("-", "_"), value


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a reference model (autoencoder, demucs, melgan) with any upsampler",
        description="Train a reference model with Adam on L1 + multi-resolution STFT loss. "
        "Checkpoints are written atomically every --checkpoint-every steps and at the end; "
        "Ctrl-C saves and stops; --resume continues exactly. Runs under torchrun with "
        "DistributedDataParallel. Settings: defaults < --config file < flags.",
    )
    parser.add_argument("--config", type=Path, help="JSON (or TOML) file of settings")
    parser.add_argument("--model", choices=sorted(MODELS), default=None,
                        help="default: autoencoder")
    parser.add_argument("--upsampler", default=None,
                        help="upsampler kind (any that make_upsampler knows); default transposed")
    parser.add_argument("--data", default=None,
                        help="folder of audio or of stems; default: the embedded data set")
    parser.add_argument("--steps", type=int, default=None, help="default 1000")
    parser.add_argument("--batch-size", type=int, default=None, help="default 8")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate, default 3e-4")
    parser.add_argument("--seed", type=int, default=None, help="default 0")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="default 100")
    parser.add_argument("--log-every", type=int, default=None, help="default 10")
    parser.add_argument("--crop", type=int, default=None, help="samples per item, default 16384")
    parser.add_argument("--sample-rate", type=int, default=None, help="default 16000")
    parser.add_argument("--stft-weight", type=float, default=None, help="default 1.0")
    parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                        help="model constructor argument, e.g. channels=8 (repeatable)")
    parser.add_argument("--upsampler-option", action="append", default=[], metavar="KEY=VALUE",
                        help="upsampler argument, e.g. init=icnr (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run saved in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_cli)


FLAG_FIELDS = ("model", "upsampler", "data", "steps", "batch_size", "lr", "seed",
               "checkpoint_every", "log_every", "crop", "sample_rate", "stft_weight")


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
        extra = dict(_key_value(t) for t in getattr(args, flag))
        if extra:
            values[name] = {**values.get(name, {}), **extra}
    if values.get("data") is not None:
        values["data"] = str(values["data"])
    return TrainConfig.from_dict(values).validate()


def _run_cli(args: Any) -> int:
    from .data import one_line_warnings

    config = config_from_args(args)
    with one_line_warnings():
        result = train(config, args.out, resume=args.resume, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result.summary()))
    return 130 if result.interrupted else 0
