"""The `tapkit` command: one subcommand per module under tapkit/commands/.

Each command module defines HELP, add_arguments(parser) and run(args) -> exit code,
and imports the heavy passes inside run() so `tapkit --help` stays fast.
Exit codes: 0 success, 1 the input has errors, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMANDS = ["parse", "index", "ptype", "funcs", "check", "gen", "run", "lsp"]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """only: build just that subcommand (what main does when argv names one: keeps startup short)."""
    parser = argparse.ArgumentParser(prog="tapkit", description="SystemTap toolkit and language server",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"tapkit {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else [only]:
        try:
            module = importlib.import_module(f"tapkit.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tapkit.commands.{name}":
                raise
            continue  # not built yet
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP, formatter_class=_HelpFormatter)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own, sized as shutil.get_terminal_size would without importing shutil (~3 ms per start)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _version() -> str:
    from tapkit import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args._run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
