"""Fleet's one error hierarchy.

Every error fleet raises on purpose is a :class:`FleetError`. Errors from the
database driver, msgspec or the actor runtime are translated at one boundary
each and chained with ``raise ... from exc``, so ``__cause__`` always holds the
original.

::

    FleetError
    ├── ConfigError               configuration file, environment or flag is wrong
    │   └── CatalogError          a catalog or category declaration is invalid
    ├── ListenFailed              fleet serve cannot listen on its address
    ├── ValidationError           input was refused before anything was stored
    │   └── InvalidTransition     an event is illegal in the aggregate's current status
    ├── ConcurrencyError          the stream moved under the caller
    │   └── WrongExpectedVersion  expected-version check failed (stream, expected, actual)
    ├── DuplicateEvent            event ids overlap events already stored, but not exactly
    ├── NotFound
    │   ├── StreamNotFound
    │   │   └── StreamDeleted     the stream was deleted (soft: it comes back when appended
    │   │                         to; hard: it can never be written again)
    │   ├── EventNotFound
    │   ├── ViewNotFound          no read-model row for this id
    │   └── ProjectionNotFound    no projection of this name
    └── StoreError
        ├── StoreUnavailable      the database is locked, full, read-only or unreachable
        │   └── DatabaseCorrupt   the database file is damaged; writes are refused
        ├── StoreClosed           the store was closed by its owner
        ├── StoreReadOnly         the store was opened read-only; nothing was written
        ├── DatabaseMissing       a read-only open found no database to read
        ├── CommitUnknown         the connection failed during COMMIT and the outcome could
        │                         not be learned; a retry with the same event ids is safe
        ├── AppendFailed          a commit failed for a reason other than the above
        │   └── Superseded        not written: an earlier append to the stream failed
        ├── StreamCorrupt         a stream's stored events no longer decode or fold
        └── SchemaError           the database schema does not match the code
            ├── SchemaOutOfDate   database is behind the code: run `fleet db upgrade`
            └── SchemaTooNew      database is ahead of the code: upgrade fleet
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AppendFailed",
    "CatalogError",
    "CommitUnknown",
    "ConcurrencyError",
    "ConfigError",
    "DatabaseCorrupt",
    "DatabaseMissing",
    "DuplicateEvent",
    "EventNotFound",
    "FleetError",
    "InvalidTransition",
    "ListenFailed",
    "NotFound",
    "ProjectionNotFound",
    "SchemaError",
    "SchemaOutOfDate",
    "SchemaTooNew",
    "StoreClosed",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "StreamCorrupt",
    "StreamDeleted",
    "StreamNotFound",
    "Superseded",
    "ValidationError",
    "ViewNotFound",
    "WrongExpectedVersion",
]


class FleetError(Exception):
    """Root of every error fleet raises on purpose."""


class ConfigError(FleetError):
    """The configuration (file, environment variable or flag) is invalid."""


class CatalogError(ConfigError):
    """A catalog or one of its categories is declared wrongly, or ``store.catalog``
    names nothing that can be imported as a catalog."""


class ListenFailed(FleetError):
    """The daemon cannot listen on its address: in use, not this machine's, or not permitted.

    ``address`` is the ``host:port`` it tried; the operating system's error is
    in ``__cause__``.
    """

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"cannot listen on {address}: {reason}")
        self.address = address


class ValidationError(FleetError):
    """Input was refused before anything was stored.

    ``problems`` lists ``(where, why)`` pairs: ``where`` is a path such as
    ``"events[3].title"`` and ``why`` a human sentence. ``str(error)`` joins them.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)


class InvalidTransition(ValidationError):
    """An event may not be applied in the aggregate's current status."""

    def __init__(self, aggregate: str, status: str | None, event_type: str) -> None:
        shown = status if status is not None else "(no stream)"
        super().__init__(f"{event_type} is not allowed for a {aggregate} in status {shown!r}")
        self.aggregate = aggregate
        self.status = status
        self.event_type = event_type


class ConcurrencyError(FleetError):
    """The stream changed between the caller's read and its write."""


class WrongExpectedVersion(ConcurrencyError):
    """The stream's version did not match the caller's expected version.

    ``expected`` is the caller's expectation as written (an int, ``"any"``,
    ``"no_stream"`` or ``"stream_exists"``); ``actual`` is the stream's current
    version, or ``None`` when the stream does not exist.
    """

    def __init__(self, stream_id: str, expected: int | str, actual: int | None) -> None:
        shown = "no stream" if actual is None else f"version {actual}"
        super().__init__(f"stream {stream_id!r}: expected version {expected}, stream is at {shown}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEvent(FleetError):
    """Event ids of an append are already stored, but not as exactly this append."""

    def __init__(self, message: str, event_ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.event_ids: tuple[str, ...] = tuple(event_ids)


class NotFound(FleetError):
    """A named thing does not exist."""


class StreamNotFound(NotFound):
    """The stream has no events."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(f"stream {stream_id!r} does not exist")
        self.stream_id = stream_id


class StreamDeleted(StreamNotFound):
    """The stream was deleted.

    Attributes:
        hard: ``True`` for a tombstoned stream, which can never be written
            again; ``False`` for a soft-deleted one, which an append recreates.
    """

    def __init__(self, stream_id: str, *, hard: bool) -> None:
        NotFound.__init__(
            self,
            f"stream {stream_id!r} was deleted permanently and cannot be written again"
            if hard
            else f"stream {stream_id!r} was deleted; appending to it starts it again",
        )
        self.stream_id = stream_id
        self.hard = hard


class EventNotFound(NotFound):
    """No event has this id."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event {event_id!r} does not exist")
        self.event_id = event_id


class ViewNotFound(NotFound):
    """A read model has no row for this id (the aggregate is unknown or not projected yet)."""

    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(f"{kind} {item_id!r} does not exist")
        self.kind = kind
        self.item_id = item_id


class ProjectionNotFound(NotFound):
    """No projection has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"projection {name!r} does not exist")
        self.name = name


class StoreError(FleetError):
    """The store could not do what was asked; the cause is in ``__cause__``."""


class StoreUnavailable(StoreError):
    """The database is locked, full, read-only or unreachable. Retrying later may work."""


class DatabaseCorrupt(StoreUnavailable):
    """The database file is damaged (a SQLite page failed to decode or check).

    Once a store has seen it, it refuses every write with this error, so
    nothing more goes into a file that needs repair; restore a backup.
    """


class StoreClosed(StoreError):
    """The store (or the part of it that was called) has been closed by its owner."""


class StoreReadOnly(StoreError):
    """The store (or database) was opened read-only; the write was refused and nothing stored."""


class DatabaseMissing(StoreError):
    """A read-only open found no database: the SQLite file does not exist.

    Opening for reading never creates a database; ``fleet db upgrade`` (or
    any command that writes) creates it.
    """


class CommitUnknown(StoreError):
    """The connection failed while the commit was on its way, and fleet could not learn
    whether it happened: the events may or may not be stored.

    Retrying the append with the same event ids is safe: if the first attempt
    was stored, the retry returns its original result instead of appending
    again. (Fleet first reconnects and looks the events up itself, once the
    commit has ended on the server; this error means the database could not be
    reached to do so, or the commit had not ended within five seconds.) A
    deletion or a change of stream settings of unknown outcome is safe to
    retry too: done again, it changes nothing more.
    """


class AppendFailed(StoreError):
    """A commit failed; the events of the failed append were not stored."""


class Superseded(AppendFailed):
    """An append was not written because an earlier append to the same stream failed.

    Its versions followed the failed append's, so they no longer fit the stream.
    The store redoes such an append itself after reloading the stream; when the
    stream keeps moving, the caller gets :class:`ConcurrencyError` instead.
    """


class StreamCorrupt(StoreError):
    """A stream's stored events no longer decode or fold into its aggregate.

    Only that stream is affected; the cause names the event and the field.
    """

    def __init__(self, stream_id: str, reason: str) -> None:
        super().__init__(f"stream {stream_id!r} cannot be loaded: {reason}")
        self.stream_id = stream_id


class SchemaError(StoreError):
    """The database schema does not match this version of fleet."""


class SchemaOutOfDate(SchemaError):
    """The database is behind the code; ``fleet db upgrade`` brings it to head."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer fleet than this one."""
