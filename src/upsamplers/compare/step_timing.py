"""Speed: one training step of every variant, timed round-robin on the same batch
before any training, so that a change of load on a shared machine hits every
variant alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..scoring import primary_score
from ..timing import measure_round_robin
from ..train import ReconstructionLoss, Task, make_criterion
from .config import CompareConfig
from .results import StepTiming
from .variants import VARIANTS


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (so that wall-clock time measures it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _to(batch: Any, device: torch.device) -> Any:
    return tuple(b.to(device) for b in batch) if isinstance(batch, tuple) else batch.to(device)


def _training_step(task: Task, model: torch.nn.Module, batch_size: int,
                   criterion: ReconstructionLoss, lr: float,
                   device: torch.device) -> Callable[[], None]:
    """One Adam step of ``model`` on the next batch of ``task``'s data (made inside
    the timed span, as training makes it: crops read, mixed and stacked), waiting
    for the device."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    count = [0]

    def step() -> None:
        sync(device)  # nothing queued may run inside the timed span
        first = count[0] * batch_size
        count[0] += 1
        batch = _to(task.batch(list(range(first, first + batch_size))), device)
        optimizer.zero_grad(set_to_none=True)
        loss, _ = task.loss(model, batch, criterion)
        loss.backward()
        optimizer.step()
        sync(device)
    return step


def time_training_steps(config: CompareConfig, root: Path, names: Sequence[str],
                        device: torch.device, *, progress: bool = False) -> StepTiming:
    """Median seconds of one training step of every variant in ``names``, timed
    round-robin (``timing_warmup`` untimed steps of each first, then one step of
    each in turn) on the first training batch, from the seeded initial weights."""
    steps, parameters, models = [], {}, {}
    criterion = make_criterion(config.training()).to(device)
    for name in names:
        task = Task(config.variant_training(VARIANTS[name], 1, root))
        model = task.build_model().to(device).train()
        steps.append(_training_step(task, model, config.batch_size, criterion, config.lr,
                                    device))
        parameters[name] = model.num_parameters()
        models[name] = (task, model)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=(config.timing_warmup + config.timing_steps) * len(steps), unit="step",
                   desc="timing steps", leave=False, dynamic_ncols=True)

    def advance(index: int) -> None:
        if bar is not None:
            bar.set_postfix_str(names[index])
            bar.update(1)
    try:
        times = measure_round_robin(steps, repeats=config.timing_steps,
                                    warmup=config.timing_warmup, on_run=advance)
    finally:
        if bar is not None:
            bar.close()
    return StepTiming(
        method=f"round-robin, {config.timing_warmup} warm-up + {config.timing_steps} timed "
               f"steps per variant, batch {config.batch_size} x {config.crop} samples, each "
               "step's batch made inside its time",
        device=str(device), threads=torch.get_num_threads(),
        median_s={n: statistics.median(t) for n, t in zip(names, times, strict=True)},
        min_s={n: min(t) for n, t in zip(names, times, strict=True)},
        parameters=parameters,
        eval_s={n: _evaluation_seconds(*models[n], config, device) for n in config.variants})


def _evaluation_seconds(task: Task, model: Any, config: CompareConfig, device: torch.device
                        ) -> float:
    """Seconds of one evaluation of ``model`` during training (its primary metric on
    the first ``eval_seconds`` of validation audio), timed once."""
    signals = task.validation_signals(model, float(config.eval_seconds))
    model.eval()
    sync(device)
    begun = time.perf_counter()
    with torch.no_grad():
        primary_score(model, signals, device)
    sync(device)
    return time.perf_counter() - begun
