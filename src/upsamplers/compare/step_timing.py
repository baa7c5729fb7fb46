"""Speed: one training step of every variant, timed round-robin on the same batch
before any training, so that a change of load on a shared machine hits every
variant alike."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

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


def _training_step(task: Task, model: torch.nn.Module, batch: Any,
                   criterion: ReconstructionLoss, lr: float,
                   device: torch.device) -> Callable[[], None]:
    """One Adam step of ``model`` on ``batch``, waiting for the device."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def step() -> None:
        sync(device)  # nothing queued may run inside the timed span
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
    steps, parameters = [], {}
    batch = None
    criterion = make_criterion(config.training()).to(device)
    for name in names:
        task = Task(config.variant_training(VARIANTS[name], 1, root))
        model = task.build_model().to(device).train()
        if batch is None:
            batch = _to(task.batch(list(range(config.batch_size))), device)
        steps.append(_training_step(task, model, batch, criterion, config.lr, device))
        parameters[name] = model.num_parameters()
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
               f"steps per variant, batch {config.batch_size} x {config.crop} samples",
        device=str(device), threads=torch.get_num_threads(),
        median_s={n: statistics.median(t) for n, t in zip(names, times, strict=True)},
        min_s={n: min(t) for n, t in zip(names, times, strict=True)},
        parameters=parameters)
