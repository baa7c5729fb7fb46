"""The runs of a compare job, several at once: each in a worker process of its own
(``spawn``ed, so that no torch state is shared), with one torch thread by
default.

A run's result depends only on its spec (its seed fixes the weights and every
batch; :mod:`upsamplers.train` is deterministic on one thread), not on the number
of workers nor on which worker runs it, so ``jobs=1`` and ``jobs=4`` give the
same report figures (speeds aside).

A worker never outlives the process that started it (:func:`_die_with_parent`):
killed with ``kill -9``, a compare leaves no worker training on into its run
folders while the same command, run again, resumes them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .runs import RunSpec, execute

Done = Callable[[RunSpec, dict[str, Any]], None]


def run_all(specs: Sequence[RunSpec], jobs: int, *, done: Done | None = None
            ) -> list[dict[str, Any]]:
    """Every spec's result, in the order of ``specs``; ``jobs`` worker processes
    (``jobs=1``: in this process). ``done(spec, result)`` is called as each run
    finishes. ``KeyboardInterrupt`` when a run was interrupted (its checkpoint
    lets the same command resume it)."""
    if jobs <= 1 or len(specs) <= 1:
        results = []
        for spec in specs:
            results.append(_checked(spec, execute(spec)))
            if done is not None:
                done(spec, results[-1])
        return results
    context = multiprocessing.get_context("spawn")
    out: dict[int, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=context,
                             initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        pending: dict[Future[dict[str, Any] | None], int] = {
            pool.submit(execute, spec): index for index, spec in enumerate(specs)}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    out[index] = _checked(specs[index], future.result())
                    if done is not None:
                        done(specs[index], out[index])
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return [out[i] for i in range(len(specs))]


PR_SET_PDEATHSIG = 1  # linux/prctl.h
POLL_SECONDS = 0.5  # how often the fallback looks for the parent


def _die_with_parent(parent: int) -> None:
    """Tie this worker's life to ``parent``'s (a worker initializer): on Linux the
    kernel sends SIGKILL to the worker when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread polls
    :func:`os.getppid` every :data:`POLL_SECONDS` and ends the worker once the
    parent is gone (it then has another parent: init or a subreaper)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _checked(spec: RunSpec, result: dict[str, Any] | None) -> dict[str, Any]:
    if result is None:
        raise KeyboardInterrupt(f"interrupted while training {spec.variant} (seed {spec.seed}); "
                                "run the same command again to resume")
    return result
