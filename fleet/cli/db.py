"""``fleet db ...``: schema migrations, the health report, backups and scavenging.

The migrations are fleet's own chain; the built-in read models' branch is
applied when they are used (see :mod:`fleet.read_models`), and ``fleet db
downgrade base`` reverts it too, so that no fleet table is left.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import msgspec
from rich.progress import MofNCompleteColumn

from fleet.cli import EXIT_ERROR, EXIT_OK, Groups, Handler, common_options
from fleet.config import Config, with_overrides
from fleet.db import (
    Database,
    HealthReport,
    ScavengeProgress,
    ScavengeReport,
    admin_connection,
    backup_sqlite,
    health_report,
    migrations,
    resolve_url,
)
from fleet.errors import SchemaError, ValidationError

__all__ = ["add_commands"]


def add_commands(groups: Groups) -> None:
    """Register ``fleet db status|upgrade|downgrade|history|health|backup|scavenge``."""
    common = common_options()
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
    backup = add(
        "backup",
        _db_backup,
        "copy the SQLite database while it is in use, then verify the copy",
    )
    backup.add_argument("path", metavar="PATH", help="where the copy goes (must not exist)")
    backup.add_argument("--quiet", action="store_true", help="no progress bar")
    scavenger = add(
        "scavenge",
        _db_scavenge,
        "remove for good the events that stream retention and deletion released",
    )
    scavenger.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        metavar="N",
        help="most events removed per transaction (default: 1000)",
    )
    scavenger.add_argument("--json", action="store_true", help="print the report as JSON")
    scavenger.add_argument("--quiet", action="store_true", help="no progress bar")


def _shown_url(config: Config) -> str:
    return resolve_url(config).render_as_string(hide_password=True)


def _describe(found: migrations.MigrationStatus) -> str:
    current = found.current or "none"
    lines = [f"revision: {current} (head: {found.head})", f"state: {found.state}"]
    if found.pending:
        lines.append("pending: " + ", ".join(found.pending))
    return "\n".join(lines)


def _db_status(args: argparse.Namespace, config: Config) -> int:
    with admin_connection(config, read_only=True) as conn:
        found = migrations.status(conn)
    print(f"database: {_shown_url(config)}")
    print(_describe(found))
    return EXIT_OK


def _db_upgrade(args: argparse.Namespace, config: Config) -> int:
    return _migrate(config, migrations.upgrade, args.rev)


def _db_downgrade(args: argparse.Namespace, config: Config) -> int:
    # Only reads until there is a fleet schema to revert: a database that is not
    # there is refused (not created), one of someone else's tables is refused
    # and one without tables is left as it is, before anything opens it to write.
    with admin_connection(config, read_only=True) as conn:
        found = migrations.status(conn)
    if found.state == "foreign":
        raise SchemaError(migrations.FOREIGN_REFUSAL)
    if found.state == "empty":
        if args.rev != "base":
            raise ValidationError(
                f"cannot migrate to revision {args.rev!r}: the database has no fleet schema"
            )
        return _report(found, found)
    if args.rev == "base":
        from fleet.read_models import MIGRATIONS

        with admin_connection(config) as conn:
            migrations.downgrade_branch(conn, MIGRATIONS, "base")
    return _migrate(config, migrations.downgrade, args.rev)


def _migrate(
    config: Config,
    step: Callable[..., migrations.MigrationStatus],
    rev: str,
) -> int:
    with admin_connection(config) as conn:
        before = migrations.status(conn)
        after = step(conn, rev)
    return _report(before, after)


def _report(before: migrations.MigrationStatus, after: migrations.MigrationStatus) -> int:
    if after.current == before.current:
        print(f"nothing to do: the database is at revision {after.current or 'none'}")
    else:
        print(f"migrated: {before.current or 'none'} -> {after.current or 'none'}")
    print(_describe(after))
    return EXIT_OK


def _db_history(args: argparse.Namespace, config: Config) -> int:
    with admin_connection(config, read_only=True) as conn:
        revisions = migrations.history(conn)
    for info in revisions:
        marks = [m for m, on in (("head", info.is_head), ("current", info.is_current)) if on]
        shown = f" ({', '.join(marks)})" if marks else ""
        print(f"{info.revision}{shown}  {info.description}")
    return EXIT_OK


def _db_health(args: argparse.Namespace, config: Config) -> int:
    with Database.open(config, check_schema=False, read_only=True) as db:
        report = health_report(db)
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        print(_format_health(report))
    return EXIT_OK if report.ok else EXIT_ERROR


def _db_backup(args: argparse.Namespace, config: Config) -> int:
    from fleet.cli.transfer import progress_bar

    with progress_bar(args.quiet, MofNCompleteColumn()) as bar:
        task = bar.add_task("backing up", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = backup_sqlite(config, args.path, advance)
    megabytes = report.bytes / 1_048_576
    print(
        f"backed up {report.pages} pages ({megabytes:.1f} MB) to {report.path} "
        f"in {report.seconds:.1f} s; the copy verifies"
    )
    return EXIT_OK


def _db_scavenge(args: argparse.Namespace, config: Config) -> int:
    from fleet.cli.target import run
    from fleet.cli.transfer import progress_bar
    from fleet.events import load_catalog
    from fleet.store import open_store

    # A read-only open refuses a database that is missing or not at the
    # code's schema without creating or changing anything.
    Database.open(config, read_only=True).close()
    writable = with_overrides(config, database={"auto_migrate": False})
    catalog = load_catalog(config.store.catalog)
    with progress_bar(args.quiet, MofNCompleteColumn()) as bar:
        task = bar.add_task("scavenging streams", total=None)

        def advance(progress: ScavengeProgress) -> None:
            bar.update(task, completed=progress.streams_done, total=progress.streams_total)

        async def remove() -> ScavengeReport:
            async with open_store(writable, catalog=catalog) as store:
                return await store.scavenge(batch_size=args.batch_size, progress=advance)

        report = run(remove)
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        print(_format_scavenge(report))
    return EXIT_OK


def _format_scavenge(report: ScavengeReport) -> str:
    free = (
        ""
        if report.free_bytes_after is None
        else f"; {report.free_bytes_after:,} bytes free for reuse"
    )
    return "\n".join(
        [
            f"examined {report.streams_examined:,} streams with settings "
            f"in {report.duration_s:.1f} s",
            f"removed {report.events_removed:,} events "
            f"({report.payload_bytes_removed:,} payload bytes) "
            f"and {report.snapshots_removed:,} snapshots",
            f"size: {report.size_before:,} bytes before, {report.size_after:,} after{free}",
        ]
    )


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
