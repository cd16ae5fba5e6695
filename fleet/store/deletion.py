"""Deleting a stream: the rules, and the one transaction that carries them out.

A deletion stores a ``$deleted`` record (:class:`~fleet.events.StreamDeletion`)
as the stream's next version and, in the same transaction, the stream's new
settings. The record is what makes a deletion hold across processes: a stream
actor in another process that still believes the stream live writes its next
event at the version the record took, the database refuses it, and the actor
reloads the stream and learns of the deletion. It is also how readers of the
global log and read models learn of it, in log order.

* **Soft** (``hard=False``): readers are told the stream was deleted. The
  next append starts it again: its versions continue after the record, and
  readers see only the events appended after it (the record's version is kept
  as ``deleted_version``; retention settings never reach below it). For
  expected versions, a soft-deleted stream is a stream that does not exist
  (``NO_STREAM`` is met) whose version is the record's (an exact expected
  version is compared with it). Deleting it again changes nothing.
* **Hard** (``hard=True``): a tombstone. Reads and appends are refused for
  good; the stream id can never be used again. A soft-deleted stream may be
  hard-deleted.

A stream with no events cannot be deleted (:class:`~fleet.errors.StreamNotFound`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from fleet.core import generate_event_id, now_ms
from fleet.db import (
    deleted_settings,
    load_stream_settings,
    position_of,
    save_stream_settings,
    stream_head,
    stream_window,
)
from fleet.errors import StreamDeleted, StreamNotFound
from fleet.events import DELETION_TYPE, StreamDeletion
from fleet.store.expected_version import ANY, ExpectedVersion, check_expected_version

if TYPE_CHECKING:
    from fleet.db import Database, PendingTuple

__all__ = ["DeleteResult", "delete_stream_rows"]


class DeleteResult(msgspec.Struct, frozen=True):
    """A deletion as stored.

    Attributes:
        stream_id: the stream.
        version: the version of its ``$deleted`` record (the stream's version now).
        position: the record's position in the global log.
        hard: whether the stream can never be written again.
    """

    stream_id: str
    version: int
    position: int
    hard: bool


def delete_stream_rows(
    db: Database, stream_id: str, hard: bool, expected: ExpectedVersion = ANY
) -> tuple[DeleteResult, PendingTuple | None]:
    """Delete ``stream_id`` in one write transaction (worker thread).

    Returns:
        The deletion, and the ``$deleted`` row it stored (``None`` when the
        stream was soft-deleted already and a soft deletion changed nothing).

    Raises:
        StreamNotFound: the stream has no events.
        StreamDeleted: it was hard-deleted already.
        WrongExpectedVersion: its version is not ``expected``.
        StoreUnavailable, AppendFailed: the database refused; nothing changed.
    """
    now = now_ms()
    with db.write_transaction() as txn:
        conn = txn.connection
        head = stream_head(conn, stream_id)
        if head is None:
            raise StreamNotFound(stream_id)
        settings = load_stream_settings(conn, stream_id)
        deleted = stream_window(settings, head, now).deleted
        if deleted == "hard":
            raise StreamDeleted(stream_id, hard=True)
        check_expected_version(stream_id, expected, head)
        if deleted == "soft" and not hard:
            position = position_of(conn, stream_id, head)
            return DeleteResult(stream_id, head, position or 0, False), None
        version = head + 1
        row: PendingTuple = (
            generate_event_id(),
            stream_id,
            version,
            DELETION_TYPE,
            StreamDeletion.schema_version,
            msgspec.json.encode(StreamDeletion(hard=hard)),
            None,
            None,
            None,
            now,
            now,
        )
        position = txn.head_position + 1
        txn.insert_events([(position, *row)])
        save_stream_settings(conn, deleted_settings(stream_id, settings, version, hard, now))
    return DeleteResult(stream_id, version, position, hard), row
