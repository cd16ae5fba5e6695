"""Scavenging: removing for good the events that stream retention and deletion released.

Readers never see what :func:`~fleet.db.stream_settings.stream_window` hides,
but the rows stay in the database until :func:`scavenge` removes them. What
one stream releases is decided by :func:`released` from the stream's saved
settings and its head (its highest stored version), and nothing else:

* Only a stream with settings (a row in ``streams``) releases anything. Every
  such stream is examined, in stream id order and a page at a time, so memory
  stays bounded however many there are; one without events is passed over.
* A deleted stream, soft or hard, releases every event but its head, the
  ``$deleted`` record, which stays for good so that the stream's version and
  its deletion outlive the scavenge; and every snapshot.
* A live stream releases the events its window hides -- below
  ``first_version`` (truncation, ``max_count``, a deletion it was started
  again after) or recorded before ``recorded_from`` (``max_age_s``) -- except
  its head: a stream's last event always stays, so that its version is never
  given again. Its snapshots from before a deletion go too.
* A stream of a category with an aggregate (``stateful``) keeps, besides,
  every event after its newest snapshot (after its deletion record when it
  has no snapshot since): its state is folded from them. Snapshot such streams
  before scavenging (:meth:`fleet.store.EventStore.scavenge` does) so that
  what their retention hides can go.
* The event at the log's head position stays, whatever its stream releases:
  the next position is the head's plus one, so removing it would give a
  position twice.

Events go in batches of at most ``batch_size``, each batch in a write
transaction of its own that chooses its events, deletes them and commits.
The write lock is the one appends take, so a scavenge can run beside a store
or a daemon that keeps appending; each batch decides again, under the lock,
from the settings and head as they are at that moment, and the log's head is
read under the same lock.

No record of progress is kept, and none is needed: what is released is worked
out afresh every time. A scavenge stopped at any point (an error, ``kill -9``,
a power cut) leaves every committed batch done and everything else as it was,
and running it again finishes the work; a run that finds nothing released
removes nothing.

Removal is final: raising ``max_count`` or ``max_age_s`` afterwards no longer
brings back what a scavenge removed. SQLite keeps the freed pages inside the
file for reuse (:attr:`ScavengeReport.free_bytes_after`); the file shrinks
only by ``VACUUM``. PostgreSQL reuses the room once the tables are vacuumed
(autovacuum does it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Final, NamedTuple

import msgspec
import sqlalchemy as sa

from fleet.core import LARGEST_STORED_INT, is_storable_int, now_ms
from fleet.db.database import Database, WriteTransaction
from fleet.db.queries import stream_head, stream_heads
from fleet.db.reads import head_position
from fleet.db.schema import events, snapshots, streams
from fleet.db.stream_settings import (
    StreamSettingsRow,
    load_settings_of,
    load_stream_settings,
    stream_window,
    streams_with_settings,
)
from fleet.errors import ValidationError

__all__ = [
    "SCAVENGE_BATCH_SIZE",
    "Release",
    "ScavengeProgress",
    "ScavengeReport",
    "released",
    "scavenge",
]

STREAMS_PER_PAGE: Final = 500
"""Streams with settings read per page."""


class ScavengeProgress(msgspec.Struct, frozen=True):
    """How far a scavenge has got; handed to its ``progress`` callback.

    Attributes:
        streams_done: streams with settings examined so far.
        streams_total: streams with settings when the scavenge started (the
            count ``streams_done`` reaches, unless streams were added since).
        events_removed: events removed so far.
    """

    streams_done: int
    streams_total: int
    events_removed: int


class ScavengeReport(msgspec.Struct, frozen=True):
    """What a scavenge removed, and the room the database takes before and after.

    Attributes:
        streams_examined: streams with settings that were examined.
        events_removed: events removed.
        snapshots_removed: snapshots removed.
        payload_bytes_removed: the payload bytes of the events removed.
        size_before: the database's size before, in bytes (SQLite: the whole
            database; PostgreSQL: ``events`` and ``snapshots``, indexes included).
        size_after: the same, afterwards.
        free_bytes_after: SQLite: room inside the file ready for reuse,
            afterwards; PostgreSQL: ``None``.
        duration_s: how long the scavenge took, in seconds.
    """

    streams_examined: int
    events_removed: int
    snapshots_removed: int
    payload_bytes_removed: int
    size_before: int
    size_after: int
    free_bytes_after: int | None
    duration_s: float


class Release(NamedTuple):
    """What scavenging removes from one stream whose head is ``head``.

    An event goes when its version is below ``below_version``, or when it is
    below ``aged_below`` and was recorded before ``recorded_before`` (epoch
    ms). A snapshot goes when its version is below ``snapshots_below``, or
    always when that is ``None``.
    """

    head: int
    below_version: int
    recorded_before: int | None
    snapshots_below: int | None
    aged_below: int = 0


def released(
    settings: StreamSettingsRow, head: int, now: int, kept_after: int | None = None
) -> Release:
    """What a stream with ``settings`` at version ``head`` releases at time ``now`` (epoch ms).

    ``kept_after``: a stateful stream's newest snapshot version; the events
    after it stay (``None``: the stream is not stateful). The stream's head is
    never released; see the module's rules.
    """
    window = stream_window(settings, head, now)
    if window.deleted is not None:
        return Release(head, head, None, None, head)
    limit = head if kept_after is None else min(head, kept_after + 1)
    before_deletion = (settings.deleted_version or 0) + 1
    return Release(
        head, min(window.first_version, limit), window.recorded_from, before_deletion, limit
    )


class _Removed(NamedTuple):
    events: int
    payload_bytes: int
    snapshots: int
    finished: bool


SCAVENGE_BATCH_SIZE: Final = 1000
"""Events removed per write transaction unless told otherwise."""


def scavenge(
    db: Database,
    *,
    batch_size: int = SCAVENGE_BATCH_SIZE,
    progress: Callable[[ScavengeProgress], None] | None = None,
    now: int | None = None,
    stateful: Collection[str] = (),
) -> ScavengeReport:
    """Remove every event and snapshot that stream retention and deletion released.

    Synchronous: run it in a worker thread or from the command line. Safe
    while stores append to the same database (see the module's rules).

    Args:
        db: the database; it must be writable.
        batch_size: most events removed per write transaction.
        progress: called after each stream examined and each batch committed.
        now: the time (epoch ms) ``max_age_s`` counts back from; default:
            when the scavenge starts.
        stateful: the categories whose streams fold an aggregate's state: each
            keeps the events after its newest snapshot. A mapping from category
            to state schema version counts only snapshots of that version.

    Returns:
        What was removed, and the database's size before and after.

    Raises:
        ValidationError: ``batch_size`` is not a whole number from 1 to
            9223372036854775807.
        StoreReadOnly: ``db`` was opened read-only.
        StoreError: the database failed (what committed before stays removed).
    """
    if not is_storable_int(batch_size, 1):
        raise ValidationError(
            f"the batch size must be a whole number from 1 to {LARGEST_STORED_INT}, "
            f"not {batch_size!r}"
        )
    started = time.monotonic()
    at = now_ms() if now is None else now
    with db.read() as conn:
        size_before = db.backend.storage(conn).size
        total = int(conn.execute(sa.select(sa.func.count()).select_from(streams)).scalar_one())
    examined = removed = payload_bytes = snapshots_removed = 0

    def report_progress() -> None:
        if progress is not None:
            progress(ScavengeProgress(examined, max(total, examined), removed))

    after: str | None = None
    while True:
        with db.read() as conn:
            page = streams_with_settings(conn, after, STREAMS_PER_PAGE)
            pending = _with_work(conn, page, at, stateful)
        if not page:
            break
        after = page[-1]
        for stream_id in page:
            if stream_id in pending:
                while True:
                    with db.write_transaction() as txn:
                        batch = _remove_batch(txn, stream_id, at, batch_size, stateful)
                    removed += batch.events
                    payload_bytes += batch.payload_bytes
                    snapshots_removed += batch.snapshots
                    if batch.finished:
                        break
                    report_progress()
            examined += 1
            report_progress()
    with db.read() as conn:
        storage = db.backend.storage(conn)
    return ScavengeReport(
        streams_examined=examined,
        events_removed=removed,
        snapshots_removed=snapshots_removed,
        payload_bytes_removed=payload_bytes,
        size_before=size_before,
        size_after=storage.size,
        free_bytes_after=storage.free,
        duration_s=time.monotonic() - started,
    )


def _kept_after(
    conn: sa.Connection, stream_id: str, settings: StreamSettingsRow, stateful: Collection[str]
) -> int | None:
    """The version after which a stateful stream keeps its events (``None``: not stateful).

    Only a snapshot of the state schema version ``stateful`` gives for the
    category (any, when it gives none) stands for the events before it.
    """
    category = stream_id.partition("-")[0]
    if category not in stateful:
        return None
    schema = stateful.get(category) if isinstance(stateful, Mapping) else None
    query = sa.select(sa.func.max(snapshots.c.version)).where(snapshots.c.stream_id == stream_id)
    if schema is not None:
        query = query.where(snapshots.c.schema_version == schema)
    newest = conn.execute(query).scalar_one()
    base = settings.deleted_version or 0
    return base if newest is None else max(base, int(newest))


def _with_work(
    conn: sa.Connection, stream_ids: Sequence[str], now: int, stateful: Collection[str]
) -> set[str]:
    """Those of ``stream_ids`` that release anything, as the read's snapshot shows them.

    Only a hint, to spare the write lock: each batch decides again under it.
    """
    settings = load_settings_of(conn, stream_ids)
    heads = stream_heads(conn, stream_ids)
    log_head = head_position(conn)
    found: set[str] = set()
    for stream_id, head in heads.items():
        row = settings.get(stream_id)
        if row is None:
            continue
        release = released(row, head, now, _kept_after(conn, stream_id, row, stateful))
        event = sa.select(events.c.position).where(_events_released(stream_id, release, log_head))
        snapshot = sa.select(snapshots.c.version).where(_snapshots_released(stream_id, release))
        if conn.execute(sa.select(sa.or_(sa.exists(event), sa.exists(snapshot)))).scalar_one():
            found.add(stream_id)
    return found


def _remove_batch(
    txn: WriteTransaction, stream_id: str, now: int, limit: int, stateful: Collection[str]
) -> _Removed:
    """Remove up to ``limit`` released events of one stream, lowest versions first.

    The batch that finds fewer than ``limit`` is the stream's last: it removes
    the released snapshots too.
    """
    conn = txn.connection
    settings = load_stream_settings(conn, stream_id)
    head = stream_head(conn, stream_id)
    if settings is None or head is None:
        return _Removed(0, 0, 0, finished=True)
    release = released(settings, head, now, _kept_after(conn, stream_id, settings, stateful))
    where = _events_released(stream_id, release, txn.head_position)
    chosen = (
        sa.select(events.c.version, sa.func.length(events.c.payload).label("size"))
        .where(where)
        .order_by(events.c.version)
        .limit(limit)
        .subquery()
    )
    total_size = sa.func.coalesce(sa.func.sum(chosen.c.size), 0)
    count, size, last = conn.execute(
        sa.select(sa.func.count(), total_size, sa.func.max(chosen.c.version))
    ).one()
    removed = 0
    if count:
        removed = conn.execute(sa.delete(events).where(where, events.c.version <= last)).rowcount
    if count == limit:
        return _Removed(removed, int(size), 0, finished=False)
    gone = conn.execute(sa.delete(snapshots).where(_snapshots_released(stream_id, release)))
    return _Removed(removed, int(size), gone.rowcount, finished=True)


def _events_released(stream_id: str, release: Release, log_head: int) -> sa.ColumnElement[bool]:
    version = events.c.version
    hidden: sa.ColumnElement[bool] = version < release.below_version
    if release.recorded_before is not None:
        hidden = sa.or_(
            hidden,
            sa.and_(version < release.aged_below, events.c.recorded_at < release.recorded_before),
        )
    return sa.and_(events.c.stream_id == stream_id, hidden, events.c.position != log_head)


def _snapshots_released(stream_id: str, release: Release) -> sa.ColumnElement[bool]:
    of_stream = snapshots.c.stream_id == stream_id
    if release.snapshots_below is None:
        return of_stream
    return sa.and_(of_stream, snapshots.c.version < release.snapshots_below)
