"""``fleet projections list|rebuild``: where the read models stand, and replaying one.

``list`` shows each built-in read model's checkpoint, the log's head, its lag
(events it reads that it has not applied yet) and its error count.
``rebuild NAME`` first creates the read models' tables if the database lacks
them (:func:`fleet.read_models.rebuild_read_model`), then empties the read
model and replays the log into it, with a progress bar on stderr when stderr
is a terminal. A rebuild that is
interrupted leaves the read model consistent at its checkpoint; a daemon
running the projection carries on from there.
"""

from __future__ import annotations

import argparse
import sys

import msgspec
from rich.progress import MofNCompleteColumn, TimeRemainingColumn

from fleet.cli import EXIT_OK, Groups, common_options, remote_options
from fleet.cli.target import open_target, run
from fleet.cli.transfer import progress_bar
from fleet.config import Config
from fleet.core import format_timestamp
from fleet.projections import ProjectionStatus, RebuildReport
from fleet.read_models import BUILTIN_PROJECTIONS

__all__ = ["add_commands", "format_status"]


def add_commands(groups: Groups) -> None:
    """Register ``fleet projections list|rebuild``."""
    names = ", ".join(p.name for p in BUILTIN_PROJECTIONS)
    projections = groups.add_parser(
        "projections", help="show the read models' progress, or rebuild one"
    )
    projections.set_defaults(help_parser=projections)
    commands = projections.add_subparsers(dest="command", metavar="SUBCOMMAND")
    common = common_options()
    remote = remote_options()

    listing = commands.add_parser(
        "list",
        help="each projection's checkpoint, lag and errors",
        description="Show each projection's checkpoint, the log's head, the events it "
        "still has to apply (lag) and the events it could not apply (errors).",
        parents=[common, remote],
    )
    listing.set_defaults(handler=_list, help_parser=listing)
    listing.add_argument("--json", action="store_true", help="print a JSON array")

    rebuild = commands.add_parser(
        "rebuild",
        help="empty a read model and replay the log into it",
        description="Empty the read model NAME and replay every event it reads, from the "
        f"start of the log. Projections: {names}. With --url the daemon rebuilds it "
        "(no progress bar: the answer comes when it is done).",
        parents=[common, remote],
    )
    rebuild.set_defaults(handler=_rebuild, help_parser=rebuild)
    rebuild.add_argument("name", metavar="NAME", help=f"one of: {names}")
    rebuild.add_argument("--json", action="store_true", help="print the report as JSON")
    rebuild.add_argument("--quiet", action="store_true", help="no progress bar")


def format_status(rows: list[ProjectionStatus]) -> str:
    """The projections as a table, one row each."""
    width = max([len("NAME"), *(len(row.name) for row in rows)])
    lines = [f"{'NAME':<{width}}  {'POSITION':>9}  {'HEAD':>9}  {'LAG':>9}  {'ERRORS':>7}  UPDATED"]
    for row in rows:
        updated = "never" if row.updated_at is None else format_timestamp(row.updated_at)
        lines.append(
            f"{row.name:<{width}}  {row.position:>9}  {row.head:>9}  {row.lag:>9}  "
            f"{row.errors:>7}  {updated}"
        )
    return "\n".join(lines)


def _list(args: argparse.Namespace, config: Config) -> int:
    from fleet.client import FleetClient
    from fleet.projections import projection_status

    async def status() -> list[ProjectionStatus]:
        async with open_target(args, config, read_only=True) as target:
            if isinstance(target, FleetClient):
                return await target.projection_status()
            return await projection_status(target, BUILTIN_PROJECTIONS)

    rows = run(status)
    print(msgspec.json.encode(rows).decode() if args.json else format_status(rows))
    return EXIT_OK


def _rebuild(args: argparse.Namespace, config: Config) -> int:
    from fleet.client import FleetClient
    from fleet.read_models import rebuild_read_model

    async def replay() -> RebuildReport:
        async with open_target(args, config) as store:
            if isinstance(store, FleetClient):
                return await store.rebuild_projection(args.name)
            with progress_bar(args.quiet, MofNCompleteColumn(), TimeRemainingColumn()) as bar:
                task = bar.add_task(f"rebuilding {args.name}", total=None)

                def advance(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return await rebuild_read_model(store, args.name, progress=advance)

    report = run(replay)
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        refused = (
            f", {report.errors} refused (see the projection's errors)" if report.errors else ""
        )
        print(
            f"rebuilt {report.name}: {report.events} events replayed{refused}; "
            f"checkpoint at position {report.position}",
            file=sys.stdout,
        )
    return EXIT_OK
