"""``fleet tail``: follow the log live, as a table or JSON lines, until Ctrl-C.

By default the tail starts at the end of the log as it is when the command
starts, so only new events are shown; ``--from N`` first replays the events
after position N (``--from 0``: the whole log), then follows live. Either way
nothing is missed or repeated at the switch from the backlog to live events
(see :meth:`fleet.store.EventStore.subscribe`).

Ctrl-C (SIGINT) or SIGTERM stops the tail cleanly with exit status 0, as does
reaching ``--limit``. Against a daemon (``--url``) a dropped connection is an
error naming the position to resume after with ``--from``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

import trio

from fleet.cli import EXIT_OK, Groups, common_options, remote_options
from fleet.cli.read import (
    EventPrinter,
    add_filter_options,
    log_filter,
    positive_number,
    whole_number,
)
from fleet.cli.target import Target, open_target, run
from fleet.config import Config

__all__ = ["add_commands"]


def add_commands(groups: Groups) -> None:
    """Register ``fleet tail``."""
    tail = groups.add_parser(
        "tail",
        help="follow the log live (Ctrl-C stops)",
        description=(
            "Print events as they are recorded, until Ctrl-C (exit status 0). By default "
            "only events recorded from now on; --from N first replays the events after "
            "position N."
        ),
        parents=[common_options(), remote_options()],
    )
    tail.set_defaults(handler=_tail, help_parser=tail)
    tail.add_argument(
        "--from",
        dest="start",
        type=whole_number,
        default=None,
        metavar="N",
        help="replay the events after position N first (0: the whole log; "
        "default: start at the end)",
    )
    tail.add_argument(
        "--limit",
        type=positive_number,
        default=None,
        metavar="N",
        help="stop after N events (default: follow until interrupted)",
    )
    add_filter_options(tail, times=False)
    tail.add_argument("--json", action="store_true", help="print JSON lines (fleet.wire)")


async def _head(target: Target) -> int:
    """The position of the newest event: where a tail with no ``--from`` starts."""
    return await target.head_position()


async def _stop_on_signal(
    scope: trio.CancelScope, *, task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            scope.cancel()
            return


def _tail(args: argparse.Namespace, config: Config) -> int:
    where = log_filter(args)
    printer = EventPrinter(sys.stdout, json=args.json)
    remaining: int | None = args.limit

    async def follow(target: Target, stop: trio.CancelScope) -> None:
        nonlocal remaining
        start = args.start if args.start is not None else await _head(target)
        if sys.stderr.isatty():
            print(f"following the log after position {start} (Ctrl-C to stop)", file=sys.stderr)
        async with target.subscribe(start, where=where) as subscription:
            printer.header()
            with stop:
                async for batch in subscription.batches(1000):
                    if remaining is not None:
                        batch = batch[:remaining]
                        remaining -= len(batch)
                    printer.write(batch)
                    if remaining == 0:
                        return

    async def tail() -> None:
        async with trio.open_nursery() as nursery:
            stop = trio.CancelScope()
            await nursery.start(_stop_on_signal, stop)
            async with open_target(args, config, read_only=True) as target:
                await follow(target, stop)
            nursery.cancel_scope.cancel()

    try:
        run(tail)
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK
