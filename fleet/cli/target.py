"""Where the event commands work: the configured database, or a daemon given by ``--url``.

:func:`open_target` yields either an :class:`~fleet.store.EventStore` or a
:class:`~fleet.client.FleetClient`; both answer ``append``, ``read_stream``,
``read_all`` and ``subscribe`` with the same types, so each command is written
once. :func:`run` runs a command's coroutine on trio and hands back the one
fleet error that stopped it, out of any exception group, so the command line
still prints one line.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeAlias, TypeVar, TypeVarTuple

import trio

from fleet.config import Config
from fleet.errors import FleetError
from fleet.events import load_catalog

if TYPE_CHECKING:
    from fleet.client import FleetClient
    from fleet.store import EventStore

__all__ = ["Target", "open_target", "run"]

Target: TypeAlias = "EventStore | FleetClient"
"""The store itself, or a client of a daemon that serves it."""

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


@asynccontextmanager
async def open_target(
    args: argparse.Namespace, config: Config, *, read_only: bool = False
) -> AsyncIterator[Target]:
    """Open the daemon at ``args.url`` when given, else the configured store.

    The bearer token is ``args.token``, else ``server.token`` of the
    configuration (which ``FLEET_SERVER_TOKEN`` sets). A command that only
    reads passes ``read_only``: the store then never creates, migrates or
    changes the database.

    Both use the catalog ``store.catalog`` names.

    Raises:
        ConfigError: the URL is not a daemon URL.
        CatalogError: ``store.catalog`` names no importable catalog.
        StoreUnavailable: the database cannot be opened.
        DatabaseMissing: ``read_only`` and there is no database yet.
    """
    url: str | None = getattr(args, "url", None)
    catalog = load_catalog(config.store.catalog)
    if url is not None:
        from fleet.client import FleetClient

        token = args.token if args.token is not None else config.server.token
        async with FleetClient(url, token, catalog=catalog) as client:
            yield client
        return
    from fleet.store import open_store

    async with open_store(config, read_only=read_only, catalog=catalog) as store:
        yield store


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The exception worth reporting from a group (never empty): the first fleet error or
    interrupt, else the first leaf."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        item = pending.pop(0)
        if isinstance(item, BaseExceptionGroup):
            pending[:0] = item.exceptions
        else:
            leaves.append(item)
    for leaf in leaves:
        if isinstance(leaf, FleetError | KeyboardInterrupt):
            return leaf
    return leaves[0]


def run(main: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
    """Run ``main(*args)`` on trio; a fleet error inside task groups comes out alone.

    Raises:
        FleetError: the first one raised, unwrapped from its exception groups.
    """
    try:
        return trio.run(main, *args)
    except BaseExceptionGroup as group:
        leaf = _leaf(group)
        raise leaf from leaf.__cause__
