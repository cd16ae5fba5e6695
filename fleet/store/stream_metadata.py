"""Stream metadata: what the store knows about one stream besides its events.

The settings are enforced on every read of the stream (see
:func:`fleet.db.stream_window`): ``max_count`` keeps only the newest events
visible, ``max_age_s`` only those recorded recently enough, ``truncate_before``
hides the events below a version. Hidden events are gone for the stream's
readers; the stream's version does not change, an aggregate's state is still
that of the whole stream (see :mod:`fleet.store.stream_loading`), and they stay
in the global log until ``fleet db scavenge`` removes them. ``deleted`` is set
by deleting the stream (:mod:`fleet.store.deletion`); the free-form
``metadata`` object is stored and returned exactly as saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from fleet.core import LARGEST_STORED_INT, NUL_REFUSED, is_storable_int, json_has_nul, now_ms
from fleet.db import (
    StreamSettingsRow,
    load_stream_settings,
    save_stream_settings,
    stream_head,
    stream_window,
)
from fleet.errors import StreamDeleted, StreamNotFound, ValidationError

if TYPE_CHECKING:
    from fleet.db import Database

__all__ = [
    "MAX_METADATA_BYTES",
    "UNSET",
    "StreamMetadata",
    "check_settings",
    "fetch_metadata",
    "store_metadata",
]

MAX_METADATA_BYTES: Final = 65_536
"""The largest metadata document accepted, encoded as JSON."""

UNSET: Final[Any] = object()
"""Marks a setting that :func:`store_metadata` leaves as it is."""


class StreamMetadata(msgspec.Struct, frozen=True):
    """A stream's version and settings.

    Attributes:
        stream_id: the stream.
        version: its current version (``None``: no events yet); retention never
            changes it, and a deletion's record counts.
        deleted: the stream is deleted (soft or hard): readers are told so.
        max_count: only the newest this many events are visible.
        max_age_s: only events recorded in the last this many seconds are visible.
        metadata: the free-form JSON object saved for it.
        created_at: when settings were first saved (epoch ms), ``None`` if never.
        updated_at: when settings were last saved (epoch ms), ``None`` if never.
        truncate_before: events below this version are not visible.
        hard_deleted: the stream was deleted for good and can never be written again.
        deleted_version: the version of its last deletion's record (``None``: never
            deleted); events up to it are not visible, whatever the other settings.
    """

    stream_id: str
    version: int | None
    deleted: bool = False
    max_count: int | None = None
    max_age_s: int | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: int | None = None
    updated_at: int | None = None
    truncate_before: int | None = None
    hard_deleted: bool = False
    deleted_version: int | None = None


def _describe(stream_id: str, version: int | None, row: StreamSettingsRow | None) -> StreamMetadata:
    if row is None:
        return StreamMetadata(stream_id, version)
    deleted = stream_window(row, version, now_ms()).deleted
    return StreamMetadata(
        stream_id,
        version,
        deleted is not None,
        row.max_count,
        row.max_age_s,
        dict(row.metadata or {}),
        row.created_at,
        row.updated_at,
        row.truncate_before,
        row.hard_deleted,
        row.deleted_version,
    )


def fetch_metadata(db: Database, stream_id: str) -> StreamMetadata:
    """Read a stream's metadata (worker thread).

    Raises:
        StreamNotFound: the stream has neither events nor saved settings.
    """
    with db.read() as conn:
        version = stream_head(conn, stream_id)
        row = load_stream_settings(conn, stream_id)
    if version is None and row is None:
        raise StreamNotFound(stream_id)
    return _describe(stream_id, version, row)


def check_settings(
    metadata: Any, deleted: Any, max_count: Any, max_age_s: Any, truncate_before: Any = UNSET
) -> list[tuple[str, str]]:
    """Problems with new settings (empty when they are fine); unset values are skipped."""
    problems: list[tuple[str, str]] = []
    if metadata is not UNSET:
        if not isinstance(metadata, dict):
            problems.append(("metadata", "must be a JSON object"))
        else:
            try:
                encoded = msgspec.json.encode(metadata)
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                problems.append(("metadata", f"cannot be encoded as JSON: {exc}"))
            else:
                if len(encoded) > MAX_METADATA_BYTES:
                    problems.append(
                        (
                            "metadata",
                            f"is {len(encoded)} bytes of JSON; the limit is {MAX_METADATA_BYTES}",
                        )
                    )
                elif json_has_nul(encoded):
                    problems.append(("metadata", NUL_REFUSED))
    if deleted is not UNSET and not isinstance(deleted, bool):
        problems.append(("deleted", "must be true or false"))
    limits = {"max_count": max_count, "max_age_s": max_age_s, "truncate_before": truncate_before}
    for name, value in limits.items():
        if value is UNSET or value is None:
            continue
        if not is_storable_int(value, 1):
            problems.append(
                (name, f"must be a whole number from 1 to {LARGEST_STORED_INT}, or null")
            )
    return problems


def store_metadata(
    db: Database,
    stream_id: str,
    metadata: Any = UNSET,
    deleted: Any = UNSET,
    max_count: Any = UNSET,
    max_age_s: Any = UNSET,
    truncate_before: Any = UNSET,
) -> StreamMetadata:
    """Save the given settings of a stream, keeping the others (worker thread).

    The settings must have passed :func:`check_settings`. ``deleted`` is only
    compared with the stream's state here: ``True`` must already hold (the
    stream was deleted through the store), and ``False`` cannot undo a deletion
    (a soft-deleted stream comes back when an event is appended to it).

    Raises:
        ValidationError: ``deleted`` contradicts the stream's state; nothing was saved.
        StreamDeleted: the stream was deleted for good; nothing was saved.
    """
    now = now_ms()
    with db.write_transaction() as txn:
        conn = txn.connection
        version = stream_head(conn, stream_id)
        old = load_stream_settings(conn, stream_id)
        current = _describe(stream_id, version, old)
        if current.hard_deleted:
            raise StreamDeleted(stream_id, hard=True)
        if deleted is False and current.deleted:
            raise ValidationError(
                f"stream {stream_id!r} is deleted: it cannot be undeleted, but appending "
                "to it starts it again",
                [("deleted", "a deletion cannot be undone")],
            )
        if deleted is True and not current.deleted:
            raise ValidationError(
                f"stream {stream_id!r} is not deleted: delete it through the store",
                [("deleted", "set by deleting the stream")],
            )
        given = {
            "metadata": metadata,
            "max_count": max_count,
            "max_age_s": max_age_s,
            "truncate_before": truncate_before,
        }
        base = old or StreamSettingsRow(stream_id, None, None, None, now, now)
        row = base._replace(
            updated_at=now, **{name: value for name, value in given.items() if value is not UNSET}
        )
        save_stream_settings(conn, row)
    return _describe(stream_id, version, row)
