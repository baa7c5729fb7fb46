"""The ``upsamplers`` command.

Each sub-command lives in its own module, which provides
``add_subcommand(subparsers)``: it adds its parser and sets ``func`` to a
function ``(args) -> int``. Heavy imports stay inside those functions.

Errors meant for the user (bad arguments, unreadable files) are printed as one
line on stderr, and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that provide a sub-command, in the order they are listed in --help.
COMMAND_MODULES = (
    "upsamplers.bench", "upsamplers.train", "upsamplers.evaluate", "upsamplers.inference",
    "upsamplers.analysis.commands", "upsamplers.compare",
)


class CommandError(Exception):
    """An error to report to the command-line user as one line, without traceback."""


def get_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="upsamplers",
        description="Upsampling layers for neural audio synthesis: speed and artifacts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_subcommand(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, TypeError, OSError) as error:
        message = str(error) or type(error).__name__
        print(f"upsamplers {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"upsamplers {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
