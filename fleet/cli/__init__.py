"""The ``fleet`` command.

Usage::

    fleet [--config PATH] [--database-url URL] serve [--host H] [--port P] [--token T]
    fleet db status                 show the schema revision of the database
    fleet db upgrade [REV]          apply migrations (default: to the newest)
    fleet db downgrade REV          revert migrations ("base" removes every table)
    fleet db history                list migrations, newest first
    fleet db health [--json]        check the database; exit status 1 when unhealthy
    fleet db scavenge               remove the events retention and deletion released
    fleet append STREAM [JSON|-]    append events (--expected-version, --json)
    fleet read [STREAM]             a stream or the global log (filters, --json)
    fleet tail [--from N]           follow the log live until Ctrl-C
    fleet stream STREAM             a stream's settings (--max-count, --max-age, ...)
    fleet delete STREAM [--hard]    delete a stream (soft, or for good)
    fleet projections list|rebuild  read models: lag and errors; replay one
    fleet export [FILE|-]           the log as JSON lines (fleet.wire)
    fleet import [FILE|-]           restore an export into an empty database
    fleet config show [--json]      the effective configuration, secrets hidden
    fleet id KIND [-n N]            print fresh ids (msn, wo, chk, evt)
    fleet bench SCENARIO [ARGS]     run the benchmark harness
    fleet demo                      record a mission's life and read it back

``append``, ``read``, ``tail``, ``stream``, ``delete`` and ``export`` take ``--url URL`` (and
``--token``) to work through a running daemon instead of the database.

Each command group lives in its own module of this package with one
``add_commands(groups)`` function that registers its subcommands, each with a
handler ``(args, config) -> exit status``; :data:`COMMANDS` says which module
adds each command.

Exit status: 0 success, 1 a fleet error or an unhealthy database, 2 a usage
mistake, 130 interrupted (Ctrl-C). A reader that closes the output early
(``| head``) ends the command quietly with status 0. Errors print one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeAlias

from fleet.config import Config, load_config, with_overrides
from fleet.errors import FleetError

__all__ = [
    "COMMANDS",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "GROUPS",
    "Groups",
    "Handler",
    "build_parser",
    "common_options",
    "main",
    "remote_options",
]

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "run the HTTP daemon (the store's API over HTTP)"),
    "db": ("db", "manage the database schema and check its health"),
    "append": ("append", "append events (JSON) to one stream"),
    "read": ("read", "read a stream or the global log"),
    "tail": ("tail", "follow the log live (Ctrl-C stops)"),
    "stream": ("streams", "show a stream's version and settings, or change its retention"),
    "delete": ("streams", "delete a stream (soft, or --hard for good)"),
    "projections": ("projections", "show the read models' progress, or rebuild one"),
    "export": ("transfer", "write the log as JSON lines (a backup, or to move databases)"),
    "import": ("transfer", "restore JSON lines written by fleet export"),
    "config": ("config", "show the effective configuration"),
    "id": ("ids", "print a fresh id (a stream id to append to, or an event id)"),
    "bench": ("bench", "run a benchmark scenario (python -m bench)"),
    "demo": ("demo", "append a mission's events to the database and read them back"),
}
"""Each top-level command, in ``fleet --help`` order: the module of this package
that adds it, and its one-line help. Only the module of the command being run is
imported, so ``fleet --help`` and remote commands start quickly."""
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))
"""Modules of :mod:`fleet.cli` that each add one command group."""

Handler = Callable[[argparse.Namespace, Config], int]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """A command line that cannot be parsed."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line and an exception, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


Groups: TypeAlias = "argparse._SubParsersAction[Parser]"
"""The subcommand registry every group module adds its commands to."""


def common_options(defaults: bool = False) -> Parser:
    """Options every command accepts (``--config``, ``--database-url``).

    The top-level parser sets the defaults; subcommands suppress them so an
    option given before the command is not reset by the subcommand's parser.
    """
    common = Parser(add_help=False)
    suppress = None if defaults else argparse.SUPPRESS
    common.add_argument(
        "--config",
        metavar="PATH",
        default=suppress,
        help="configuration file (default: ./config.toml when it exists)",
    )
    common.add_argument(
        "--database-url",
        metavar="URL",
        default=suppress,
        help="database URL, overriding the configuration",
    )
    return common


def remote_options() -> Parser:
    """Options of the commands that can talk to a running daemon (``--url``, ``--token``).

    Without ``--url`` those commands open the configured database themselves.
    """
    remote = Parser(add_help=False)
    remote.add_argument(
        "--url",
        metavar="URL",
        default=None,
        help="talk to the fleet daemon at URL (e.g. http://127.0.0.1:8420) "
        "instead of opening the database",
    )
    remote.add_argument(
        "--token",
        metavar="TOKEN",
        default=None,
        help="bearer token for --url (default: server.token, env FLEET_SERVER_TOKEN)",
    )
    return remote


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the parser for the ``fleet`` command line ``argv``.

    The modules of the commands named in ``argv`` add their full parsers; every
    other command is listed with its help line only. Without ``argv``, every
    module adds its full parser.
    """
    parser = Parser(
        prog="fleet",
        description="Fleet: an append-only event store.",
        parents=[common_options(defaults=True)],
    )
    parser.set_defaults(help_parser=parser)
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    wanted = set(GROUPS) if argv is None else {COMMANDS[a][0] for a in argv if a in COMMANDS}
    loaded: set[str] = set()
    for command, (module, help_text) in COMMANDS.items():
        if module not in wanted:
            groups.add_parser(command, help=help_text)
        elif module not in loaded:
            importlib.import_module(f"fleet.cli.{module}").add_commands(groups)
            loaded.add(module)
    return parser


def _load_config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    if args.database_url is not None:
        config = with_overrides(config, database={"url": args.database_url})
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fleet`` command and return its exit status.

    A reader that closes the output early (``fleet read --json | head``) ends
    the command quietly, with the status of success.
    """
    try:
        status = _run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_closed()
    return status


def _stdout_closed() -> int:
    """Point stdout at the null device, so the interpreter's final flush does not fail
    again, and return the status of success."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_OK


def _run(argv: Sequence[str] | None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser(arguments).parse_args(arguments)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fleet: interrupted", file=sys.stderr)
        return 130
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        print(args.help_parser.format_help(), end="")
        return EXIT_USAGE
    try:
        return handler(args, _load_config(args))
    except FleetError as exc:
        print(f"fleet: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("fleet: interrupted", file=sys.stderr)
        return 130
