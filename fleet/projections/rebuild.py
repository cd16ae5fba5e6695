"""Rebuilding a read model: empty it, then replay the log from position 0.

The reset (rows, errors and checkpoint to 0) is one transaction; the replay
reads the log in pages of the projection's event types (``read_all``) and
applies each page with :func:`~fleet.projections.batch.apply_batch`, so the
checkpoint moves with every page. A rebuild that stops half-way (crash,
cancellation) leaves a consistent read model at its checkpoint: a runner, or
another rebuild, goes on from there.

While a rebuild runs, readers see the read model as far as it got. Inside a
process that runs a :class:`~fleet.projections.ProjectionRunner`, call
:meth:`~fleet.projections.ProjectionRunner.rebuild`, which pauses that
projection's live updates for the duration; a runner in another process does
not corrupt the rebuild (the checkpoint check of ``apply_batch`` makes every
event apply once) but shares the replay with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import anyio.to_thread

from fleet.projections.batch import apply_batch, reset_projection
from fleet.projections.projection import Projection, find_projection, wanted_events
from fleet.projections.views import RebuildReport

if TYPE_CHECKING:
    from fleet.store import EventStore

__all__ = ["Progress", "rebuild", "rebuild_projection"]

Progress = Callable[[int, int], object]
"""Called as ``progress(done, total)`` after each page: events replayed so far and
how many there are (``total`` grows if events are appended during the rebuild)."""


async def rebuild(
    store: EventStore,
    name: str,
    *,
    projections: Sequence[Projection],
    progress: Progress | None = None,
) -> RebuildReport:
    """Reset the projection called ``name`` and replay every event it wants.

    Args:
        store: the open store.
        name: the projection.
        progress: called in the event loop with ``(done, total)``: once before
            the first page (``done`` 0) and after each page; what it raises
            stops the rebuild.
        projections: where to look ``name`` up.

    Returns:
        How many events were replayed and refused, and the final checkpoint.

    Raises:
        ProjectionNotFound: no projection has that name.
        StoreUnavailable, StoreClosed: the database failed; the read model is
            consistent up to its checkpoint, and rebuilding again starts over.
    """
    return await rebuild_projection(store, find_projection(projections, name), progress=progress)


async def rebuild_projection(
    store: EventStore, projection: Projection, *, progress: Progress | None = None
) -> RebuildReport:
    """:func:`rebuild` for a projection object rather than a name."""
    db = store.database
    where = wanted_events(projection)
    size = min(store.config.projections.batch_events, store.config.store.max_read_limit)
    total = await store.count(where=where)
    await anyio.to_thread.run_sync(reset_projection, db, projection)
    position = done = errors = 0
    if progress is not None:
        progress(done, total)
    while True:
        page = await store.read_all(position, size, where=where)
        if page.events:
            apply = partial(apply_batch, db, projection, page.events, after=position)
            outcome = await anyio.to_thread.run_sync(apply)
            position = outcome.checkpoint
            if outcome.moved:
                continue
            done += len(page.events)
            errors += outcome.failed
            total = max(total, done)
            if progress is not None:
                progress(done, total)
        if page.end:
            break
    return RebuildReport(name=projection.name, events=done, errors=errors, position=position)
