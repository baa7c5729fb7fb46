"""The command line turns a user's error into one line and exit status 2, and
shows a library bug as a bug (its traceback), never as a usage error."""

from __future__ import annotations

import pytest

from upsamplers import InvalidType, InvalidValue, UserFileError, UserInputError
from upsamplers.cli import COMMANDS, main


def _command(monkeypatch, error: BaseException) -> None:
    """Make ``upsamplers bench`` raise ``error`` instead of running."""
    from upsamplers.cli import bench

    original = bench.add_subcommand

    def add_failing(subparsers):
        original(subparsers)
        subparsers.choices["bench"].set_defaults(func=lambda args: (_ for _ in ()).throw(error))

    monkeypatch.setattr(bench, "add_subcommand", add_failing)


@pytest.mark.parametrize("error", [InvalidValue("factor must be ...; received factor=0"),
                                   InvalidType("x must be ...; received str"),
                                   UserFileError("clip.wav does not exist")])
def test_user_errors_are_one_line_and_exit_2(monkeypatch, capsys, error):
    _command(monkeypatch, error)
    assert main(["bench"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"upsamplers bench: error: {error}"]


@pytest.mark.parametrize("error", [ValueError("a bug"), TypeError("a bug"), KeyError("bug"),
                                   OSError("a bug"), RuntimeError("a bug")])
def test_other_errors_are_bugs_and_propagate(monkeypatch, error):
    _command(monkeypatch, error)
    with pytest.raises(type(error)):
        main(["bench"])


def test_user_error_types_are_value_and_type_errors():
    assert issubclass(InvalidValue, ValueError) and issubclass(InvalidValue, UserInputError)
    assert issubclass(InvalidType, TypeError) and issubclass(InvalidType, UserInputError)
    assert issubclass(UserFileError, UserInputError)
    assert not issubclass(UserFileError, (ValueError, TypeError))


def test_every_command_module_adds_its_parser():
    assert all(callable(module.add_subcommand) for module in COMMANDS)
