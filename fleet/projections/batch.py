"""Applying a batch of events to a projection: rows, errors and checkpoint in one transaction.

:func:`apply_batch` is the only way events reach a projection. In one write
transaction it reads the projection's checkpoint, hands the projection the
events after it, records the events the projection refused in
``projection_errors`` and moves the checkpoint. Guarantees:

* Rows, error rows and checkpoint commit together: after a crash or a database
  failure either all of a batch is stored or none of it, and the checkpoint says
  which.
* Each event is applied at most once per reset, even when two runners (in one
  process or several) feed the same projection: the stored checkpoint is
  compared with the position the caller continues from, like an expected
  version. A batch that starts beyond the stored checkpoint is not applied
  (the caller must resume from the stored checkpoint); events at or before
  the stored checkpoint are skipped.
* A handler that raises for some events does not stop the projection: the batch
  is rolled back and applied again one event at a time, each in a savepoint, and
  the events that raise are recorded as errors. Database trouble
  (:class:`~fleet.errors.StoreUnavailable`, :class:`~fleet.errors.StoreClosed`)
  is not the events' fault: it propagates, and nothing of the batch is stored.

Everything here is synchronous; the async runner calls it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

import sqlalchemy as sa

from fleet.core import now_ms
from fleet.db import Database, WriteTransaction, load_checkpoint, save_checkpoint, schema
from fleet.errors import StoreClosed, StoreUnavailable
from fleet.events import Event
from fleet.projections.projection import EventFailure, Projection, checkpoint_name

__all__ = [
    "BatchOutcome",
    "apply_batch",
    "read_position",
    "reset_projection",
    "stored_position",
]

MAX_MESSAGE: Final = 2000
"""Longest error message stored in ``projection_errors``."""

_TRANSIENT: Final = (StoreUnavailable, StoreClosed)


class BatchOutcome(NamedTuple):
    """What :func:`apply_batch` did.

    Attributes:
        checkpoint: the stored checkpoint after the call.
        applied: events handed to the projection (refused ones included).
        failed: events recorded as projection errors.
        moved: the stored checkpoint was behind the caller's ``after``:
            nothing was done, resume from ``checkpoint``.
        one_by_one: handing the projection the batch at once raised, so the
            batch was applied again one event at a time, each in a savepoint.
    """

    checkpoint: int
    applied: int
    failed: int
    moved: bool = False
    one_by_one: bool = False


def read_position(conn: sa.Connection, name: str) -> int:
    """The projection ``name``'s stored checkpoint (0 when it has none)."""
    return load_checkpoint(conn, checkpoint_name(name)) or 0


def stored_position(db: Database, name: str) -> int:
    """:func:`read_position` through the read pool (worker thread)."""
    with db.read() as conn:
        return read_position(conn, name)


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if type(exc).__module__ != "fleet.errors":
        text = f"{type(exc).__name__}: {text}"
    return text[:MAX_MESSAGE]


def _record(conn: sa.Connection, name: str, failures: Sequence[EventFailure]) -> None:
    if not failures:
        return
    at = now_ms()
    conn.execute(
        sa.insert(schema.projection_errors),
        [
            {
                "projection": name,
                "position": failure.event.position,
                "stream_id": failure.event.stream_id,
                "event_id": failure.event.event_id,
                "event_type": failure.event.type,
                "message": " ".join(failure.message.split())[:MAX_MESSAGE],
                "recorded_at": at,
            }
            for failure in failures
        ],
    )


def _handle_one_by_one(
    tx: WriteTransaction, projection: Projection, events: Sequence[Event]
) -> list[EventFailure]:
    failures: list[EventFailure] = []
    for event in events:
        try:
            with tx.savepoint():
                failures.extend(projection.handle(tx.connection, [event]))
        except _TRANSIENT:
            raise
        except Exception as exc:
            failures.append(EventFailure(event, _message(exc)))
    return failures


def _apply(
    db: Database,
    projection: Projection,
    events: Sequence[Event],
    after: int,
    through: int | None,
    *,
    one_by_one: bool,
) -> BatchOutcome:
    wanted = projection.event_types
    with db.write_transaction() as tx:
        conn = tx.connection
        stored = read_position(conn, projection.name)
        if stored < after:
            return BatchOutcome(stored, 0, 0, moved=True)
        todo = [
            event
            for event in events
            if event.position > stored and (wanted is None or event.type in wanted)
        ]
        end = max(stored, events[-1].position if events else 0, through or 0)
        if todo and one_by_one:
            failures: Sequence[EventFailure] = _handle_one_by_one(tx, projection, todo)
        elif todo:
            failures = projection.handle(conn, todo)
        else:
            failures = ()
        _record(conn, projection.name, failures)
        if end != stored:
            save_checkpoint(conn, checkpoint_name(projection.name), end, now_ms())
        return BatchOutcome(end, len(todo), len(failures), one_by_one=one_by_one)


def apply_batch(
    db: Database,
    projection: Projection,
    events: Sequence[Event],
    *,
    after: int,
    through: int | None = None,
) -> BatchOutcome:
    """Apply a batch to ``projection`` and move its checkpoint, in one transaction.

    Args:
        db: the store's database.
        projection: the projection.
        events: events in position order: every event the projection wants
            with a position in ``(after, last]`` (events of other types may be
            among them; they are skipped).
        after: the position the batch continues from (the checkpoint the
            caller last saw).
        through: the batch also covers every position up to this one (events
            a filter skipped); the checkpoint moves at least this far.

    Returns:
        What was done; ``moved`` when the stored checkpoint is behind ``after``.

    Raises:
        StoreUnavailable, StoreClosed: the database failed; nothing was stored.
        StoreError: recording the errors or the checkpoint failed; nothing was stored.
    """
    try:
        return _apply(db, projection, events, after, through, one_by_one=False)
    except _TRANSIENT:
        raise
    except Exception:
        return _apply(db, projection, events, after, through, one_by_one=True)


def reset_projection(db: Database, projection: Projection) -> None:
    """Empty the read model, forget its errors and set its checkpoint to 0, atomically."""
    with db.write_transaction() as tx:
        conn = tx.connection
        projection.reset(conn)
        conn.execute(
            sa.delete(schema.projection_errors).where(
                schema.projection_errors.c.projection == projection.name
            )
        )
        save_checkpoint(conn, checkpoint_name(projection.name), 0, now_ms())
