"""Timing on a shared machine: wall-clock runs after warm-up, several functions
timed round-robin (one run of each per round, so a change of load hits them
alike), and a description of the machine a figure was measured on.

This is the one timing loop of the package: ``bench``, ``compare`` and the
benchmarks use it.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch


def measure(fn: Callable[[], object], *, repeats: int, warmup: int) -> list[float]:
    """Wall-clock seconds of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure_round_robin(fns: Sequence[Callable[[], object]], *, repeats: int, warmup: int,
                        on_run: Callable[[int], object] | None = None) -> list[list[float]]:
    """Like :func:`measure` for several functions, one run of each per round.

    ``on_run(i)``, when given, is called after every run of ``fns[i]`` (warm-up
    runs included, outside the timed span), e.g. to advance a progress bar.
    """
    for index, fn in enumerate(fns):
        for _ in range(warmup):
            fn()
            if on_run is not None:
                on_run(index)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for index, (fn, out) in enumerate(zip(fns, times, strict=True)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
            if on_run is not None:
                on_run(index)
    return times


def machine_description() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": cpu_name(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
