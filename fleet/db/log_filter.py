"""Which events of the global log a read, a count, a subscription or an export takes.

:class:`LogFilter` is the one description of those conditions: the store turns
it into SQL (:mod:`fleet.db.reads`), live subscriptions and exports test events
against it in memory (:meth:`LogFilter.matches`), the HTTP API and the command
line build one from their parameters. Both ways select exactly the same events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from fleet.core import (
    DELETION_TYPE,
    NUL_REFUSED,
    has_nul,
    is_category_name,
    is_event_type_name,
    is_storable_int,
)
from fleet.errors import ValidationError
from fleet.events import Event

__all__ = ["MAX_CORRELATION_ID", "LogFilter", "check_filter"]

MAX_CORRELATION_ID: Final = 128
"""The longest correlation id a filter accepts, in characters."""


class LogFilter(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, repr_omit_defaults=True
):
    """Conditions on the events of the global log; an event must meet every one set.

    A condition left unset (``None``, or no event types) holds for every event,
    so ``LogFilter()`` selects the whole log::

        where = LogFilter(event_types=["OrderPlaced"], stream_prefix="order")
        page = await store.read_all(0, 100, where=where)
        async with store.subscribe(0, where=where) as subscription: ...

    A filter is checked when it is made and cannot change afterwards, so one
    that exists is valid; filters are hashable and equal when their
    conditions are. ``event_types`` is kept as a tuple, in the order given.

    Attributes:
        event_types: only events of these types (empty: every type).
        stream_prefix: only streams of one category (``"order"`` for ``order-…``).
        correlation_id: only events with this correlation id.
        recorded_after: only events recorded at or after this time (epoch ms).
        recorded_before: only events recorded before this time (epoch ms).

    Raises:
        ValidationError: an unknown event type or stream prefix, a correlation
            id that is empty, longer than 128 characters or holds a NUL
            character, a time that is not a whole number of epoch milliseconds
            (0 to 2**63 - 1), or ``recorded_before`` not later than
            ``recorded_after``. Every problem is listed, each under the
            field's name (``event_types[2]`` for the third type).
    """

    event_types: Sequence[str] = ()
    stream_prefix: str | None = None
    correlation_id: str | None = None
    recorded_after: int | None = None
    recorded_before: int | None = None

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            where, why = problems[0]
            raise ValidationError(f"invalid filter: {where}: {why}", problems)
        if type(self.event_types) is not tuple:
            msgspec.structs.force_setattr(self, "event_types", tuple(self.event_types))

    @property
    def matches_all(self) -> bool:
        """Whether no condition is set: every event of the log matches."""
        return (
            not self.event_types
            and self.stream_prefix is None
            and self.correlation_id is None
            and self.recorded_after is None
            and self.recorded_before is None
        )

    def matches(self, event: Event) -> bool:
        """Whether ``event`` meets every condition of the filter."""
        return self.matches_fields(
            event.type, event.stream_id, event.metadata.correlation_id, event.recorded_at
        )

    def matches_fields(
        self, event_type: str, stream_id: str, correlation_id: str | None, recorded_at: int
    ) -> bool:
        """:meth:`matches` for an event given by the fields the conditions test.

        For rows not decoded into :class:`~fleet.events.Event` yet (the store's
        live subscriptions test the rows of each commit this way and decode
        only those that match).
        """
        if self.event_types and event_type not in self.event_types:
            return False
        prefix = self.stream_prefix
        if prefix is not None and not (
            stream_id.startswith(prefix) and stream_id.startswith("-", len(prefix))
        ):
            return False
        if self.correlation_id is not None and correlation_id != self.correlation_id:
            return False
        if self.recorded_after is not None and recorded_at < self.recorded_after:
            return False
        return self.recorded_before is None or recorded_at < self.recorded_before


def _problems(where: LogFilter) -> list[tuple[str, str]]:
    """Every ``(field, why)`` that keeps ``where`` from being a valid filter."""
    problems: list[tuple[str, str]] = []
    types: object = where.event_types
    if isinstance(types, (str, bytes)) or not isinstance(types, Sequence):
        problems.append(("event_types", "must be a list of event type names"))
    else:
        for index, name in enumerate(types):
            if not is_event_type_name(name) and name != DELETION_TYPE:
                problems.append((f"event_types[{index}]", f"not an event type name: {name!r}"))
    prefix = where.stream_prefix
    if prefix is not None and not is_category_name(prefix):
        problems.append(("stream_prefix", f"{prefix!r} is not a stream category name"))
    correlation_id = where.correlation_id
    if correlation_id is not None and (
        not isinstance(correlation_id, str) or not 1 <= len(correlation_id) <= MAX_CORRELATION_ID
    ):
        problems.append(("correlation_id", f"must be 1 to {MAX_CORRELATION_ID} characters"))
    elif correlation_id is not None and has_nul(correlation_id):
        problems.append(("correlation_id", NUL_REFUSED))
    after, before = where.recorded_after, where.recorded_before
    for name, value in (("recorded_after", after), ("recorded_before", before)):
        if value is not None and not is_storable_int(value):
            problems.append((name, f"{value!r} is not a time in epoch milliseconds"))
    if not problems and after is not None and before is not None and after >= before:
        problems.append(("recorded_before", "must be later than recorded_after"))
    return problems


def check_filter(where: object) -> LogFilter:
    """Return the filter a read or subscription was given; ``None`` stands for the whole log.

    Raises:
        ValidationError: ``where`` is neither ``None`` nor a :class:`LogFilter`.
    """
    if where is None:
        return _WHOLE_LOG
    if isinstance(where, LogFilter):
        return where
    raise ValidationError(
        f"invalid where {where!r}: pass a LogFilter", [("where", "not a LogFilter")]
    )


_WHOLE_LOG: Final = LogFilter()
