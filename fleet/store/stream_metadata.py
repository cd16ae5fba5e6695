"""Stream metadata: what the store knows about one stream besides its events.

The settings (``deleted``, ``max_count``, ``max_age_s`` and a free-form JSON
``metadata`` object) are stored and returned exactly as saved, for the
applications and operators that use them; the store itself does not act on
them: a stream marked deleted still reads and appends, and retention limits do
not remove events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from fleet.core import LARGEST_STORED_INT, NUL_REFUSED, is_storable_int, json_has_nul, now_ms
from fleet.db import StreamSettingsRow, load_stream_settings, save_stream_settings, stream_head
from fleet.errors import StreamNotFound, ValidationError

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
        version: its current version (``None``: no events yet).
        deleted: marked deleted by an application (advisory).
        max_count: retention limit in events wanted by an application (advisory).
        max_age_s: retention limit in seconds wanted by an application (advisory).
        metadata: the free-form JSON object saved for it.
        created_at: when settings were first saved (epoch ms), ``None`` if never.
        updated_at: when settings were last saved (epoch ms), ``None`` if never.
    """

    stream_id: str
    version: int | None
    deleted: bool = False
    max_count: int | None = None
    max_age_s: int | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: int | None = None
    updated_at: int | None = None


def _describe(stream_id: str, version: int | None, row: StreamSettingsRow | None) -> StreamMetadata:
    if row is None:
        return StreamMetadata(stream_id, version)
    return StreamMetadata(
        stream_id,
        version,
        row.deleted,
        row.max_count,
        row.max_age_s,
        dict(row.metadata or {}),
        row.created_at,
        row.updated_at,
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
    metadata: Any, deleted: Any, max_count: Any, max_age_s: Any
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
    for name, value in (("max_count", max_count), ("max_age_s", max_age_s)):
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
) -> StreamMetadata:
    """Save the given settings of a stream, keeping the others (worker thread).

    Raises:
        ValidationError: a setting is invalid; nothing was saved.
    """
    problems = check_settings(metadata, deleted, max_count, max_age_s)
    if problems:
        where, why = problems[0]
        raise ValidationError(f"invalid stream metadata: {where} {why}", problems)
    now = now_ms()
    with db.write_transaction() as txn:
        conn = txn.connection
        version = stream_head(conn, stream_id)
        old = load_stream_settings(conn, stream_id)
        current = _describe(stream_id, version, old)
        row = StreamSettingsRow(
            stream_id,
            current.deleted if deleted is UNSET else deleted,
            current.max_count if max_count is UNSET else max_count,
            current.max_age_s if max_age_s is UNSET else max_age_s,
            current.metadata if metadata is UNSET else metadata,
            now if old is None else old.created_at,
            now,
        )
        save_stream_settings(conn, row)
    return _describe(stream_id, version, row)
