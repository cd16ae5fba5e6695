"""The event store's async API (trio by default, asyncio through anyio).

Besides the store itself (:func:`open_store`, :class:`EventStore` and the types
its methods take and return), the package exports the checks and decoders that
the HTTP API, the daemon client and the projections share with it:
:func:`check_limit`, :func:`validate_expected_version`,
:func:`describe_expected`, :func:`row_to_event` and :func:`rows_to_events`.
"""

from fleet.db import LogFilter, StreamSummary
from fleet.store.decoding import row_to_event, rows_to_events
from fleet.store.deletion import DeleteResult
from fleet.store.expected_version import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    ExpectedVersion,
    describe_expected,
    validate_expected_version,
)
from fleet.store.reads import Direction, LogPage, StreamList, StreamPage, check_limit
from fleet.store.results import AppendResult
from fleet.store.retry import retry_on_conflict
from fleet.store.store import EventStore, StreamAppend, open_store
from fleet.store.stream_metadata import StreamMetadata
from fleet.store.subscriptions import CaughtUp, Subscription

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AppendResult",
    "CaughtUp",
    "DeleteResult",
    "Direction",
    "EventStore",
    "ExpectedVersion",
    "LogFilter",
    "LogPage",
    "StreamAppend",
    "StreamList",
    "StreamMetadata",
    "StreamPage",
    "StreamSummary",
    "Subscription",
    "check_limit",
    "describe_expected",
    "open_store",
    "retry_on_conflict",
    "row_to_event",
    "rows_to_events",
    "validate_expected_version",
]
