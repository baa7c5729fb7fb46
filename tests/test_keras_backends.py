"""Run the Keras suite (tests/keras_suite/check_*.py) once per Keras backend,
each in a fresh process with KERAS_BACKEND set, as Keras selects its backend at
import time. A missing backend makes its run fail, not skip."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).parent / "keras_suite"


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_keras_suite_passes_on_backend(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2",
           "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "-q", "-p", "no:cacheprovider",
         "-o", "python_files=check_*.py", "-o", "addopts=", "-W",
         "ignore::DeprecationWarning"],
        capture_output=True, text=True, env=env, timeout=900,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, (
        f"Keras suite failed on backend {backend}:\n{result.stdout[-6000:]}\n"
        f"{result.stderr[-3000:]}")
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, \
        summary
