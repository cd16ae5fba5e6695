"""``fleet export`` and ``fleet import``: the log as JSON lines, with progress on stderr.

``fleet export backup.jsonl`` then ``fleet --database-url postgresql+psycopg://...
import backup.jsonl`` moves a log from SQLite to PostgreSQL: the target gets the
same positions, ids, versions and times, and exporting it gives the same bytes.
See :mod:`fleet.transfer` for the rules an import enforces.

The progress bar is drawn on stderr only when stderr is a terminal (and not
with ``--quiet``), so piped and logged runs stay clean.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from fleet.cli import EXIT_OK, Groups, common_options, remote_options
from fleet.cli.read import (
    add_filter_options,
    log_filter,
    positive_number,
    whole_number,
)
from fleet.cli.target import open_target, run
from fleet.config import Config
from fleet.db import Database
from fleet.errors import ConfigError
from fleet.events import Catalog, load_catalog
from fleet.store import EventStore
from fleet.transfer import ExportSummary, ImportSummary, export_events, import_events

__all__ = ["add_commands", "progress_bar", "progress_console"]


def add_commands(groups: Groups) -> None:
    """Register ``fleet export`` and ``fleet import``."""
    export = groups.add_parser(
        "export",
        help="write the log as JSON lines (a backup, or to move databases)",
        description=(
            "Write recorded events as JSON lines (fleet.wire), in position order. A whole, "
            "unfiltered export imports into an empty database with everything preserved. "
            "With filters it is for reading only: its positions have gaps."
        ),
        parents=[common_options(), remote_options()],
    )
    export.set_defaults(handler=_export, help_parser=export)
    export.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="where to write (default: - for stdout); written whole or not at all",
    )
    export.add_argument(
        "--from",
        dest="start",
        type=whole_number,
        default=0,
        metavar="N",
        help="only events after position N (an incremental export)",
    )
    add_filter_options(export, times=True)
    export.add_argument("--quiet", action="store_true", help="no progress bar")

    restore = groups.add_parser(
        "import",
        help="restore JSON lines written by fleet export",
        description=(
            "Restore events written by `fleet export` into the configured database, keeping "
            "positions, ids, versions and times. The database must be empty, or hold "
            "exactly the events before the file's first position. Each line is validated; "
            "a bad line stops the import with its line number, and nothing of its batch "
            "is stored."
        ),
        parents=[common_options()],
    )
    restore.set_defaults(handler=_import, help_parser=restore)
    restore.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help="what to read (default: - for stdin)"
    )
    restore.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted import of the same file: events the database "
        "already holds are checked and skipped",
    )
    restore.add_argument(
        "--gaps",
        action="store_true",
        help="accept gaps in positions and versions, as the export of a scavenged log has "
        "(they must still increase)",
    )
    restore.add_argument(
        "--batch",
        type=positive_number,
        default=None,
        metavar="N",
        help="events per transaction (default: store.max_batch_events)",
    )
    restore.add_argument("--quiet", action="store_true", help="no progress bar")


def progress_console() -> Console:
    """The console progress bars are drawn on: stderr."""
    return Console(stderr=True)


def progress_bar(quiet: bool, *columns: ProgressColumn) -> Progress:
    """A progress bar on stderr with ``columns`` between the bar and the elapsed time;
    drawn only when stderr is a terminal and ``quiet`` is false."""
    console = progress_console()
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        *columns,
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )


@contextlib.contextmanager
def _output(path: str) -> Iterator[BinaryIO]:
    """The export's destination; a file appears under its name only when complete."""
    if path == "-":
        sys.stdout.flush()
        yield sys.stdout.buffer
        return
    final = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(
            dir=final.parent, prefix=f".{final.name}.", suffix=".partial"
        )
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _export(args: argparse.Namespace, config: Config) -> int:
    where = log_filter(args)

    async def export(out: BinaryIO) -> ExportSummary:
        async with open_target(args, config, read_only=True) as target:
            total: int | None = None
            if isinstance(target, EventStore) and (where.matches_all or not args.start):
                total = await target.count(where=where)
                total = max(0, total - args.start)
            with progress_bar(args.quiet, MofNCompleteColumn()) as bar:
                task = bar.add_task("exporting", total=total)

                def advance(events: int) -> None:
                    bar.advance(task, events)

                return await export_events(
                    target, out, after=args.start, where=where, progress=advance
                )

    with _output(args.file) as out:
        summary = run(export, out)
    if args.file != "-":
        print(f"exported {summary.events} events to {args.file}", file=sys.stderr)
    return EXIT_OK


@contextlib.contextmanager
def _input(path: str) -> Iterator[tuple[BinaryIO, int | None]]:
    if path == "-":
        yield sys.stdin.buffer, None
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        yield handle, os.fstat(handle.fileno()).st_size


def _import(args: argparse.Namespace, config: Config) -> int:
    batch = args.batch if args.batch is not None else config.store.max_batch_events
    catalog = load_catalog(config.store.catalog)
    with _input(args.file) as (source, size), Database.open(config) as db:
        summary = _run_import(db, catalog, source, size, batch, args)
    done = f"imported {summary.imported} events"
    if summary.skipped:
        done += f" ({summary.skipped} already present, skipped)"
    print(f"{done}; the log ends at position {summary.last_position}")
    return EXIT_OK


def _run_import(
    db: Database,
    catalog: Catalog,
    source: BinaryIO,
    size: int | None,
    batch: int,
    args: argparse.Namespace,
) -> ImportSummary:
    with progress_bar(
        args.quiet,
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[events]:,} events"),
    ) as bar:
        task: TaskID = bar.add_task("importing", total=size, events=0)
        events = 0

        def advance(count: int, consumed: int) -> None:
            nonlocal events
            events += count
            bar.update(task, advance=consumed, events=events)

        return import_events(
            db,
            source,
            catalog,
            batch_events=batch,
            resume=args.resume,
            progress=advance,
            gaps=args.gaps,
        )
