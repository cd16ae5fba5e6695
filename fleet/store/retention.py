"""Snapshots that let a scavenge release what retention hides from aggregate streams.

An aggregate's state is folded from its newest snapshot and the stored events
after it, whatever the stream's retention settings (see
:mod:`fleet.store.stream_loading`), so scavenging keeps every event after an
aggregate stream's newest snapshot. :func:`snapshot_for_scavenge` takes a
snapshot at the head of every live aggregate stream that has settings, built
from the database's own events: correct whatever other processes do, and
replaced harmlessly if one is taken at the same version again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from fleet.db import save_snapshot, streams_with_settings
from fleet.errors import StreamCorrupt
from fleet.store.snapshots import build_snapshot
from fleet.store.stream_loading import load_streams

if TYPE_CHECKING:
    from fleet.db import Database, SnapshotRow
    from fleet.events import Aggregate, Catalog

__all__ = ["snapshot_for_scavenge", "stateful_categories"]

_PAGE: Final = 200


def stateful_categories(catalog: Catalog) -> dict[str, int]:
    """The catalog's categories whose streams fold an aggregate, each with the
    state schema version a snapshot must have to stand for the events before it."""
    return {
        name: category.aggregate.state_schema_version
        for name, category in catalog.categories.items()
        if category.aggregate is not None
    }


def snapshot_for_scavenge(db: Database, catalog: Catalog) -> int:
    """Snapshot every live aggregate stream with settings at its head (worker thread).

    A stream whose events no longer fold (:class:`~fleet.errors.StreamCorrupt`)
    is passed over: without a snapshot, scavenging keeps its events.

    Returns:
        How many snapshots were taken.
    """
    taken = 0
    after: str | None = None
    while True:
        with db.read() as conn:
            page = streams_with_settings(conn, after, _PAGE)
        if not page:
            return taken
        after = page[-1]
        wanted: list[tuple[str, Aggregate[Any] | None]] = []
        for stream_id in page:
            category = catalog.categories.get(stream_id.partition("-")[0])
            if category is not None and category.aggregate is not None:
                wanted.append((stream_id, category.aggregate))
        rows: list[SnapshotRow] = []
        for (stream_id, aggregate), loaded in zip(
            wanted, load_streams(db, catalog, wanted), strict=True
        ):
            if isinstance(loaded, StreamCorrupt) or aggregate is None:
                continue
            if loaded.deleted is not None or loaded.head is None or loaded.state is None:
                continue
            if loaded.snapshot_version != loaded.head:
                rows.append(build_snapshot(stream_id, loaded.head, aggregate, loaded.state))
        if rows:
            with db.write_transaction() as txn:
                for row in rows:
                    save_snapshot(txn.connection, row)
            taken += len(rows)
