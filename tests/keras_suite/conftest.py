"""The Keras tests run once per backend, each in its own process started by
tests/test_keras_backends.py with KERAS_BACKEND set. They are not collected by
the main run (their files are named check_*.py)."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _backend_is_the_requested_one():
    import keras

    requested = os.environ.get("KERAS_BACKEND")
    assert requested, "run the Keras suite with KERAS_BACKEND set"
    assert keras.backend.backend() == requested
