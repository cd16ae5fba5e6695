"""Export and import of the event log as JSON lines: backups, and moving between databases.

An export is one :mod:`fleet.wire` recorded event per line, in position order.
Importing a whole export into an empty database and exporting again gives the
same bytes: positions, event ids, versions, times and metadata are kept as
they were. This is how a log moves from SQLite to PostgreSQL (or back).

:func:`import_events` is a bulk restore, not an append. It writes straight
into the ``events`` table through :meth:`fleet.db.Database.write_transaction`,
one large transaction per batch, and guarantees:

* every line is decoded and validated (:func:`fleet.wire.decode_event`); a bad
  line is refused with its line number, and nothing of its batch is stored;
* positions continue the target's log exactly: the first imported event is
  at the target's head position + 1, and each line's position is its
  predecessor's + 1 (so a filtered export, which has gaps, is refused);
* versions are consecutive per stream, continuing what the target holds;
* event ids are unique;
* a stream's deletion comes back with its ``$deleted`` record: the stream is
  deleted in the target as it was in the source (other stream settings, such
  as retention limits, are not part of the log and are not exported);
* memory stays bounded by one batch, whatever the size of the input.

A log that ``fleet db scavenge`` has thinned has gaps in its positions and
versions. ``gaps=True`` imports it: positions and versions must then only
increase (and start after the target's head and each stream's head), so the
copy still has every position and version of the source. In either mode an
import stops when another writer moved the target's head between two of its
batches, even into a gap of the log.

A failed import leaves the batches committed before the failure. Running the
same import again with ``resume=True`` checks that those events are the ones
stored (by event id at each position), skips them, and carries on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import BinaryIO, Final, Protocol

import msgspec

from fleet.core import DELETION_TYPE
from fleet.db import (
    Database,
    EventRow,
    LogFilter,
    WriteTransaction,
    deleted_settings,
    event_ids_between,
    head_position,
    load_settings_of,
    save_stream_settings,
    stream_heads,
)
from fleet.errors import ConcurrencyError, DuplicateEvent, ValidationError
from fleet.events import Catalog, Event, StreamDeletion, encode_payload
from fleet.store import LogPage
from fleet.wire import decode_event, encode_event

__all__ = [
    "DEFAULT_BATCH_EVENTS",
    "PAGE_SIZE",
    "ExportSummary",
    "ImportSummary",
    "LogSource",
    "export_events",
    "import_events",
    "iter_log",
]

DEFAULT_BATCH_EVENTS: Final = 10_000
"""Events written per import transaction."""

PAGE_SIZE: Final = 1000
"""Events asked for per read (below the smallest ``store.max_read_limit`` in use)."""


class LogSource(Protocol):
    """Anything that reads the global log like :meth:`fleet.store.EventStore.read_all`
    (the store itself, or :class:`fleet.client.FleetClient`)."""

    async def read_all(
        self, from_position: int = 0, limit: int | None = None, *, where: LogFilter | None = None
    ) -> LogPage: ...


async def iter_log(
    source: LogSource,
    after: int = 0,
    where: LogFilter | None = None,
    limit: int | None = None,
) -> AsyncIterator[list[Event]]:
    """Yield the log's events after position ``after`` that ``where`` matches (default:
    every event), one non-empty page at a time.

    Stops at the end of the log as it is when the last page is read, or once
    ``limit`` events were yielded. Positions are gap-free and commit-ordered,
    so paging "after the last position seen" never skips an event.
    """
    remaining = limit
    position = after
    while remaining is None or remaining > 0:
        size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
        page = await source.read_all(position, size, where=where)
        if page.events:
            yield page.events
        if remaining is not None:
            remaining -= len(page.events)
        if page.end or not page.events:
            return
        position = page.next_position


class ExportSummary(msgspec.Struct, frozen=True):
    """What an export wrote."""

    events: int
    last_position: int | None
    """The position of the last event written (``None``: none was)."""


async def export_events(
    source: LogSource,
    out: BinaryIO,
    *,
    after: int = 0,
    where: LogFilter | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write the log's events after position ``after`` as JSON lines to ``out``.

    Args:
        source: the store or a daemon client.
        out: a binary stream; one :func:`fleet.wire.encode_event` line per event.
        after: start after this position (0: the whole log).
        where: only the events this filter matches (default: every event); a
            filtered export has gaps in positions and cannot be imported.
        progress: called with the number of events written in each page.
    """
    count = 0
    last: int | None = None
    async for page in iter_log(source, after, where):
        out.write(b"".join(encode_event(event) + b"\n" for event in page))
        count += len(page)
        last = page[-1].position
        if progress is not None:
            progress(len(page))
    out.flush()
    return ExportSummary(count, last)


class ImportSummary(msgspec.Struct, frozen=True):
    """What an import did."""

    imported: int
    """Events written."""
    skipped: int
    """Events already present, checked and skipped (``resume=True``)."""
    last_position: int
    """The target's head position afterwards."""


class _Position(msgspec.Struct, frozen=True):
    position: int
    event_id: str


_POSITION_DECODER: Final = msgspec.json.Decoder(_Position)


def _refused(line: int, why: str) -> ValidationError:
    return ValidationError(f"line {line}: {why}", [(f"line {line}", why)])


class _Batch:
    """Rows decoded from consecutive lines, checked among themselves, not yet written."""

    def __init__(self, gaps: bool = False) -> None:
        self.gaps = gaps
        self.rows: list[EventRow] = []
        self.lines: list[int] = []
        self.bytes = 0
        self.first_seen: dict[str, int] = {}
        """For each stream in the batch: the index of its first row."""
        self._last_version: dict[str, int] = {}
        self._event_ids: set[str] = set()

    def add(self, event: Event, line: int, size: int) -> None:
        last = self._last_version.get(event.stream_id)
        if last is not None and (event.version <= last if self.gaps else event.version != last + 1):
            rule = "must increase" if self.gaps else "must be consecutive"
            raise _refused(
                line,
                f"stream {event.stream_id!r} goes from version {last} to {event.version}: "
                f"versions {rule}",
            )
        if event.event_id in self._event_ids:
            raise _refused(line, f"event id {event.event_id!r} appears twice")
        if last is None:
            self.first_seen[event.stream_id] = len(self.rows)
        self._last_version[event.stream_id] = event.version
        self._event_ids.add(event.event_id)
        metadata = event.metadata
        self.rows.append(
            EventRow(
                position=event.position,
                event_id=event.event_id,
                stream_id=event.stream_id,
                version=event.version,
                type=event.type,
                schema_version=event.payload.schema_version,
                payload=encode_payload(event.payload),
                correlation_id=metadata.correlation_id,
                causation_id=metadata.causation_id,
                actor=metadata.actor,
                occurred_at=event.occurred_at,
                recorded_at=event.recorded_at,
            )
        )
        self.lines.append(line)
        self.bytes += size


def _head_position(db: Database) -> int:
    with db.read() as conn:
        return head_position(conn)


class _Importer:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        batch_events: int,
        resume_below: int,
        progress: Callable[[int, int], None] | None,
        gaps: bool = False,
    ) -> None:
        self._db = db
        self._gaps = gaps
        self._catalog = catalog
        self._batch_events = batch_events
        self._resume_below = resume_below
        self._progress = progress
        self.imported = 0
        self.skipped = 0
        self.head: int | None = None
        self._next_position: int | None = None
        self._batch = _Batch(gaps)
        self._skipping: list[tuple[int, _Position]] = []
        self._skipped_bytes = 0

    def line(self, number: int, raw: bytes) -> None:
        text = raw.strip()
        if not text:
            self._batch.bytes += len(raw)
            return
        if self._resume_below:
            marker = self._peek(number, text)
            if marker.position <= self._resume_below:
                self._follow(number, marker.position)
                self._skip(number, marker, len(raw))
                return
            self._resume_below = 0
            self._flush_skipped()
        try:
            event = decode_event(text, self._catalog)
        except ValidationError as exc:
            raise _refused(number, str(exc)) from exc
        self._follow(number, event.position)
        self._batch.add(event, number, len(raw))
        if len(self._batch.rows) >= self._batch_events:
            self.flush()

    def _follow(self, number: int, position: int) -> None:
        expected = self._next_position
        if expected is not None and (position < expected if self._gaps else position != expected):
            raise _refused(
                number,
                f"position {position} does not follow position {expected - 1}: "
                + (
                    "positions must increase"
                    if self._gaps
                    else "an import needs a complete, unfiltered export (a scavenged log "
                    "has gaps: import it with gaps allowed)"
                ),
            )
        self._next_position = position + 1

    def _peek(self, number: int, text: bytes) -> _Position:
        try:
            return _POSITION_DECODER.decode(text)
        except msgspec.DecodeError as exc:
            raise _refused(number, f"invalid recorded event: {exc}") from exc

    def _skip(self, number: int, marker: _Position, size: int) -> None:
        self._skipping.append((number, marker))
        self._skipped_bytes += size
        if len(self._skipping) >= self._batch_events:
            self._flush_skipped()

    def _flush_skipped(self) -> None:
        if not self._skipping:
            return
        first, last = self._skipping[0][1].position, self._skipping[-1][1].position
        with self._db.read() as conn:
            stored = event_ids_between(conn, first, last)
        for number, marker in self._skipping:
            if stored.get(marker.position) != marker.event_id:
                raise _refused(
                    number,
                    f"event {marker.event_id!r} at position {marker.position} is not the one "
                    "stored there: this is not the export the database was restored from",
                )
        self.skipped += len(self._skipping)
        self._skipping = []
        self._report(self._skipped_bytes)
        self._skipped_bytes = 0

    def flush(self) -> None:
        self._flush_skipped()
        batch, self._batch = self._batch, _Batch(self._gaps)
        if not batch.rows:
            self._report(batch.bytes)
            return
        with self._db.write_transaction() as txn:
            self._check_head(txn, batch)
            self._check_versions(txn, batch)
            try:
                txn.insert_events(batch.rows)
            except (ConcurrencyError, DuplicateEvent) as exc:
                lines = f"lines {batch.lines[0]}-{batch.lines[-1]}"
                raise ValidationError(
                    f"{lines}: {exc}; nothing of these lines was stored", [(lines, str(exc))]
                ) from exc
            _restore_deletions(txn, batch.rows)
        self.imported += len(batch.rows)
        self.head = batch.rows[-1].position
        self._report(batch.bytes, len(batch.rows))

    def _report(self, size: int, count: int = 0) -> None:
        if self._progress is not None:
            self._progress(count, size)

    def _check_head(self, txn: WriteTransaction, batch: _Batch) -> None:
        head = txn.head_position
        first = batch.rows[0].position
        if self.head in (None, head) and (first == head + 1 or (self._gaps and first > head)):
            return
        line = batch.lines[0]
        if self.head is not None:
            raise _refused(
                line,
                f"the database changed during the import: its head is now position {head} "
                f"(another writer?); nothing of this batch was stored",
            )
        if head == 0:
            raise _refused(
                line,
                f"the log starts at position {first}, but an empty database needs it from "
                "position 1 (a scavenged log has gaps: import it with gaps allowed)",
            )
        raise _refused(
            line,
            f"the database already holds events up to position {head}; an import must "
            f"continue at position {head + 1}, not {first} (import into an empty database, "
            f"export with --from {head}, or resume an interrupted import)",
        )

    def _check_versions(self, txn: WriteTransaction, batch: _Batch) -> None:
        streams = list(batch.first_seen)
        heads = stream_heads(txn.connection, streams) if txn.head_position else {}
        for stream_id in streams:
            index = batch.first_seen[stream_id]
            row = batch.rows[index]
            stored = heads.get(stream_id, 0)
            if row.version == stored + 1 or (self._gaps and row.version > stored):
                continue
            if stored:
                at = f"stream {stream_id!r} is stored up to version {stored}"
            else:
                at = f"stream {stream_id!r} has no events yet"
            raise _refused(
                batch.lines[index],
                f"version {row.version} does not continue the stream: {at}, so the next "
                f"version is {stored + 1}",
            )


def _restore_deletions(txn: WriteTransaction, rows: list[EventRow]) -> None:
    """Delete the streams whose ``$deleted`` records ``rows`` hold, as their source had them."""
    records = [row for row in rows if row.type == DELETION_TYPE]
    if not records:
        return
    conn = txn.connection
    saved = load_settings_of(conn, [row.stream_id for row in records])
    for row in records:
        hard = msgspec.json.decode(row.payload, type=StreamDeletion).hard
        old = saved.get(row.stream_id)
        settings = deleted_settings(row.stream_id, old, row.version, hard, row.recorded_at)
        save_stream_settings(conn, settings)
        saved[row.stream_id] = settings


def import_events(
    db: Database,
    lines: Iterable[bytes],
    catalog: Catalog,
    *,
    batch_events: int = DEFAULT_BATCH_EVENTS,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    gaps: bool = False,
) -> ImportSummary:
    """Restore exported events (JSON lines) into a database; see the module docstring.

    Args:
        db: the target database (empty, or holding exactly the log's beginning).
        lines: the export's lines (bytes, as a binary file iterates); blank
            lines are ignored.
        catalog: the catalog every event is checked against (its stream's
            category, its type and its payload).
        batch_events: events per transaction.
        resume: skip lines whose position the target already holds, after
            checking that the stored event there has the same id.
        progress: called as ``progress(events, bytes)`` with the events just
            committed and the input bytes consumed since the previous call.
        gaps: accept gaps in positions and versions (the export of a scavenged
            log); they must still increase.

    Returns:
        How many events were imported and skipped, and the head position after.

    Raises:
        ValidationError: a line is not a recorded event, or breaks the rules
            of positions, versions or ids. The message starts with its line
            number; nothing of its batch was stored.
        StoreUnavailable: the database could not be written.
    """
    if batch_events < 1:
        raise ValueError("batch_events must be >= 1")
    importer = _Importer(
        db, catalog, batch_events, _head_position(db) if resume else 0, progress, gaps
    )
    for number, raw in enumerate(lines, start=1):
        importer.line(number, raw)
    importer.flush()
    head = importer.head if importer.head is not None else _head_position(db)
    return ImportSummary(importer.imported, importer.skipped, head)
