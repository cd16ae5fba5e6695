"""The ``fleet`` command.

Usage::

    fleet [--config PATH] [--database-url URL] db status
    fleet db upgrade [REV]          apply migrations (default: to the newest)
    fleet db downgrade REV          revert migrations ("base" removes every table)
    fleet db history                list migrations, newest first
    fleet db health [--json]        check the database; exit status 1 when unhealthy
    fleet demo                      record a mission's life and read it back

Each command group is added by one ``_add_<group>_commands`` function that
registers its subcommands with a handler ``(args, config) -> exit status``; a
new group (``serve``, ``append``, ...) is one more such function.

Exit status: 0 success, 1 a fleet error or an unhealthy database, 2 a usage
mistake. Errors print one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

import msgspec

from fleet.config import Config, load_config, with_overrides
from fleet.db import Database, HealthReport, health_report, migrations
from fleet.db.engine import admin_connection, resolve_url
from fleet.errors import FleetError
from fleet.logging import configure_logging

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace, Config], int]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """A command line that cannot be parsed."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line and an exception, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _common_options(defaults: bool) -> _Parser:
    common = _Parser(add_help=False)
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


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for the whole ``fleet`` command."""
    parser = _Parser(
        prog="fleet",
        description="Fleet: an append-only event store.",
        parents=[_common_options(defaults=True)],
    )
    parser.set_defaults(help_parser=parser)
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    _add_db_commands(groups)
    _add_demo_command(groups)
    return parser


def _add_demo_command(groups: argparse._SubParsersAction[_Parser]) -> None:
    demo = groups.add_parser(
        "demo",
        help="append a mission's events to the database and read them back",
        parents=[_common_options(defaults=False)],
    )
    demo.set_defaults(handler=_demo, help_parser=demo)


def _demo(args: argparse.Namespace, config: Config) -> int:
    from fleet.demo import run_demo

    configure_logging(config.log)
    return run_demo(config)


def _add_db_commands(groups: argparse._SubParsersAction[_Parser]) -> None:
    common = _common_options(defaults=False)
    db = groups.add_parser("db", help="manage the database schema and check its health")
    db.set_defaults(help_parser=db)
    commands = db.add_subparsers(dest="command", metavar="SUBCOMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    add("status", _db_status, "show the schema revision of the database")
    upgrade = add("upgrade", _db_upgrade, "apply migrations")
    upgrade.add_argument("rev", nargs="?", default="head", metavar="REV", help="default: head")
    downgrade = add("downgrade", _db_downgrade, "revert migrations")
    downgrade.add_argument("rev", metavar="REV", help='target revision ("base" for none)')
    add("history", _db_history, "list migrations, newest first")
    health = add("health", _db_health, "check connectivity, schema, integrity and size")
    health.add_argument("--json", action="store_true", help="print the report as JSON")


def _shown_url(config: Config) -> str:
    return resolve_url(config).render_as_string(hide_password=True)


def _describe(found: migrations.MigrationStatus) -> str:
    current = found.current or "none"
    lines = [f"revision: {current} (head: {found.head})", f"state: {found.state}"]
    if found.pending:
        lines.append("pending: " + ", ".join(found.pending))
    return "\n".join(lines)


def _db_status(args: argparse.Namespace, config: Config) -> int:
    with admin_connection(config) as conn:
        found = migrations.status(conn)
    print(f"database: {_shown_url(config)}")
    print(_describe(found))
    return EXIT_OK


def _db_upgrade(args: argparse.Namespace, config: Config) -> int:
    return _migrate(config, migrations.upgrade, args.rev)


def _db_downgrade(args: argparse.Namespace, config: Config) -> int:
    return _migrate(config, migrations.downgrade, args.rev)


def _migrate(
    config: Config,
    step: Callable[..., migrations.MigrationStatus],
    rev: str,
) -> int:
    with admin_connection(config) as conn:
        before = migrations.status(conn)
        after = step(conn, rev)
    if after.current == before.current:
        print(f"nothing to do: the database is at revision {after.current or 'none'}")
    else:
        print(f"migrated: {before.current or 'none'} -> {after.current or 'none'}")
    print(_describe(after))
    return EXIT_OK


def _db_history(args: argparse.Namespace, config: Config) -> int:
    with admin_connection(config) as conn:
        revisions = migrations.history(conn)
    for info in revisions:
        marks = [m for m, on in (("head", info.is_head), ("current", info.is_current)) if on]
        shown = f" ({', '.join(marks)})" if marks else ""
        print(f"{info.revision}{shown}  {info.description}")
    return EXIT_OK


def _db_health(args: argparse.Namespace, config: Config) -> int:
    with Database.open(config, check_schema=False) as db:
        report = health_report(db)
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        print(_format_health(report))
    return EXIT_OK if report.ok else EXIT_ERROR


def _format_health(report: HealthReport) -> str:
    def size(value: int | None) -> str:
        return "n/a" if value is None else f"{value:,} bytes"

    latency = "n/a" if report.latency_ms is None else f"{report.latency_ms:.2f} ms"
    pool = report.pool
    lines = [
        f"status: {'ok' if report.ok else 'UNHEALTHY'}",
        f"database: {report.url} ({report.dialect})",
        f"connected: {'yes' if report.connected else 'no'}",
        f"latency: {latency}",
        f"schema: {report.revision or 'none'} (head: {report.head_revision}, "
        f"{report.schema_state})",
        f"size: {size(report.database_size_bytes)}",
        f"wal: {size(report.wal_size_bytes)}",
        f"integrity: {report.integrity or 'n/a'}",
        f"read pool: {pool.checked_out} of {pool.size} in use, {pool.idle} idle; "
        f"writer {'busy' if pool.writer_busy else 'idle'}",
    ]
    lines.extend(f"problem: {problem}" for problem in report.problems)
    return "\n".join(lines)


def _load_config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    if args.database_url is not None:
        config = with_overrides(config, database={"url": args.database_url})
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fleet`` command and return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
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


if __name__ == "__main__":
    sys.exit(main())
