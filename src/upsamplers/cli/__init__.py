"""The ``upsamplers`` command: the only place that parses arguments.

Each sub-command lives in a module of this package that provides
``add_subcommand(subparsers)``: it adds its parser and sets ``func`` to a
function ``(args) -> int``. The modules import the job they run (``train``,
``compare``, ``analysis``, ...); nothing below this package imports it.

Errors in what the user gave (:class:`~upsamplers._checks.UserInputError`: bad
arguments, missing or unreadable files, outputs in the way) are printed as one
line on stderr, and the command exits with status 2. Any other exception is a
bug in the library and is shown with its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from .._checks import UserInputError
from . import analysis, bench, compare, evaluate, inference, lines, train

# Sub-command modules, in the order --help lists them.
COMMANDS = (bench, train, evaluate, inference, analysis, lines, compare)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="upsamplers",
        description="Upsampling layers for neural audio synthesis: speed and artifacts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in COMMANDS:
        module.add_subcommand(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserInputError as error:
        message = str(error) or type(error).__name__
        print(f"upsamplers {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"upsamplers {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
