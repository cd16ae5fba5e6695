"""Projection bookkeeping through the store: async, checked, capped by configuration.

Each function runs its query in a worker thread on a connection from the read
pool, so it sees committed rows only. ``limit`` defaults to, and may not
exceed, ``store.max_read_limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fleet.projections.projection import Projection, find_projection
from fleet.projections.queries import fetch_projection_errors, fetch_projection_status
from fleet.projections.views import ProjectionErrorList, ProjectionStatus

if TYPE_CHECKING:
    from fleet.store import EventStore

__all__ = ["list_projection_errors", "projection_status"]


async def projection_status(
    store: EventStore, projections: Sequence[Projection]
) -> list[ProjectionStatus]:
    """Name, checkpoint, head, lag and error count of each projection, in the order given.

    ``state`` is ``None``: the database alone cannot tell whether a runner is
    live; :meth:`~fleet.projections.ProjectionRunner.status` can.
    """
    return await store.read_tables(fetch_projection_status, projections)


async def list_projection_errors(
    store: EventStore,
    name: str,
    *,
    after: int | None = None,
    limit: int | None = None,
    projections: Sequence[Projection],
) -> ProjectionErrorList:
    """A page of the events projection ``name`` could not apply, in position order.

    Raises:
        ProjectionNotFound: no projection of that name.
        ValidationError: a bad cursor or limit.
    """
    find_projection(projections, name)
    size = store.page_size(limit)
    return await store.read_tables(fetch_projection_errors, name, after=after, limit=size)
