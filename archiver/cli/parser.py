"""The argument parser's shared machinery: errors as one line, "did you mean" for a mistyped command,
and the global options (``-w/--workspace``, ``--json``) accepted before or after the command name."""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterator
from typing import Any, NoReturn

from ..core.errors import EXIT_CODES, UsageError

PROGRAM = "archiver"
WORKSPACE_HELP = "workspace folder (default: $ARCHIVER_WORKSPACE or the current folder)"
_INVALID_CHOICE = re.compile(r"invalid choice: '(.*?)'")


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a UsageError (one line on stderr, exit 2) that names the
    command without repeating the program's name, and that suggests the command meant."""

    commands: argparse._SubParsersAction | None = None

    def add_subparsers(self, **kwargs: Any) -> Any:
        self.commands = super().add_subparsers(**kwargs)
        return self.commands

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix(PROGRAM).strip()
        found = _INVALID_CHOICE.search(message)
        if found and self.commands is not None and message.startswith(f"argument {self.commands.metavar}"):
            names = sorted(self.commands.choices)
            close = difflib.get_close_matches(found.group(1), names, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"choose from {', '.join(names)}"
            message = f"{found.group(1)!r} is not a command; {hint}"
        raise UsageError(f"{where}: {message}" if where else message)


def exit_codes_text() -> str:
    """The exit code table, for ``archiver --help``."""
    return "exit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())


def add_global_options(parser: CommandParser) -> CommandParser:
    """Accept ``-w/--workspace`` after every command name too, and ``--json`` before the command name
    (refused later for a command without it). A value after the command wins over one before it."""
    parser.add_argument("--json", action="store_true", dest="global_json", default=False,
                        help="print as JSON (commands that have --json; the same as giving it after the command)")
    for command in _command_parsers(parser):
        command.add_argument("-w", "--workspace", default=argparse.SUPPRESS, help=WORKSPACE_HELP)
    return parser


def apply_global_options(args: argparse.Namespace) -> argparse.Namespace:
    """A ``--json`` given before the command name: the command's own --json, or a UsageError."""
    if getattr(args, "global_json", False):
        if not hasattr(args, "json"):
            command = " ".join(str(getattr(args, k)) for k in ("command", "action", "format") if getattr(args, k, None))
            raise UsageError(f"{command}: has no --json")
        args.json = True
    return args


def _command_parsers(parser: CommandParser) -> Iterator[CommandParser]:
    """Every command's and sub-command's parser (schedule, schedule list, export, export wacz...)."""
    if parser.commands is None:
        return
    for command in dict.fromkeys(parser.commands.choices.values()):   # aliases once
        if isinstance(command, CommandParser):
            yield command
            yield from _command_parsers(command)
