"""Keeping the built-in read models live, and rebuilding one, with their tables ready.

Both bring the views' tables to the code's revision
(:func:`~fleet.read_models.upgrade_read_models`) before applying an event,
and hand over to the generic machinery of :mod:`fleet.projections` with
:data:`~fleet.read_models.BUILTIN_PROJECTIONS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio.to_thread

from fleet.projections import Progress, ProjectionRunner, RebuildReport, open_projections, rebuild
from fleet.read_models.aggregate_views import BUILTIN_PROJECTIONS
from fleet.read_models.migrations import upgrade_read_models
from fleet.vocabulary import CATALOG as BUILTIN

if TYPE_CHECKING:
    from fleet.events import Catalog
    from fleet.store import EventStore

__all__ = ["applies_to", "open_read_models", "prepare_read_models", "rebuild_read_model"]


def applies_to(catalog: Catalog) -> bool:
    """Tell whether the built-in read models fit a store of ``catalog``: it holds the
    built-in mission, work-order and checkpoint categories (a user's catalog that
    extends :data:`fleet.vocabulary.CATALOG` does)."""
    return all(catalog.categories.get(category.name) is category for category in BUILTIN)


async def prepare_read_models(store: EventStore) -> None:
    """Make sure the views' tables exist (see :func:`~fleet.read_models.upgrade_read_models`).

    Raises:
        StoreReadOnly: the tables need creating and the store is read-only.
        SchemaTooNew: the read models' branch is at a revision this code does not know.
        StoreUnavailable: the database cannot be written.
    """
    await anyio.to_thread.run_sync(upgrade_read_models, store.database)


@asynccontextmanager
async def open_read_models(store: EventStore) -> AsyncIterator[ProjectionRunner]:
    """Keep the built-in read models live while the block runs, their tables prepared first.

    See :func:`fleet.projections.open_projections`; open it inside the store's
    block. The tables are created before the lanes first read their
    checkpoints (and before a rebuild through the runner); while the database
    cannot be written, the lanes wait and try again.
    """
    prepare = (upgrade_read_models,)
    async with open_projections(store, BUILTIN_PROJECTIONS, prepare=prepare) as runner:
        yield runner


async def rebuild_read_model(
    store: EventStore, name: str, *, progress: Progress | None = None
) -> RebuildReport:
    """Prepare the views' tables, then rebuild the built-in read model ``name``.

    See :func:`fleet.projections.rebuild`.

    Raises:
        ProjectionNotFound: no built-in read model has that name.
        StoreUnavailable, StoreClosed: the database failed.
    """
    await prepare_read_models(store)
    return await rebuild(store, name, projections=BUILTIN_PROJECTIONS, progress=progress)
