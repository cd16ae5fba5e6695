"""The generic aggregate: a status-transition table plus a pure fold.

Each aggregate supplies:

* a frozen state Struct with at least ``status`` and ``version`` (the stream
  version of the last event folded in);
* a transition table mapping each of its payload classes to the statuses it may
  be applied in (``None`` meaning "the stream does not exist yet") and the status
  it leads to (``None`` meaning "unchanged");
* ``create`` and ``apply`` functions that build the next state.

:meth:`Aggregate.evolve` consults the table *before* calling ``apply``, so an
illegal event raises :class:`~fleet.errors.InvalidTransition` without any state
being built, and the same check (:meth:`Aggregate.check`) can run on a new
event before it is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

import msgspec

from fleet.errors import InvalidTransition
from fleet.events._envelope import Event, JsonPayload, NewEvent, Payload
from fleet.events._problems import validation_error

__all__ = ["Aggregate", "Transition"]

T = TypeVar("T", bound=str)


class _State(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def version(self) -> int: ...


S = TypeVar("S", bound=_State)


@dataclass(frozen=True, slots=True)
class Transition(Generic[T]):
    """One row of a transition table.

    Attributes:
        sources: the statuses the event may be applied in; ``None`` is "no stream yet".
        target: the status after the event, or ``None`` if the status is unchanged
            (or, for an explicit status-change event, chosen by its payload).
    """

    sources: frozenset[T | None]
    target: T | None = None


class Aggregate(Generic[S]):
    """The rules of one kind of stream, given to its :class:`~fleet.events.Category`.

    Attributes:
        name: what its streams are called in messages (``"order"``).
        prefix: the category it is meant for, shown by ``repr`` (may be empty).
        state_type: the frozen state Struct.
        state_schema_version: version of the state's encoding, for snapshots; a
            snapshot with another version must be discarded and rebuilt.
        transitions: the table, by payload class.
    """

    def __init__(
        self,
        *,
        name: str,
        prefix: str = "",
        state_type: type[S],
        transitions: Mapping[type[Payload], Transition[Any]],
        create: Callable[[Payload, int, int], S],
        apply: Callable[[S, Payload, int, int], S],
        state_schema_version: int = 1,
    ) -> None:
        self.name = name
        self.prefix = prefix
        self.state_type = state_type
        self.state_schema_version = state_schema_version
        self.transitions = transitions
        self._create = create
        self._apply = apply
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(state_type)

    def __repr__(self) -> str:
        return f"<Aggregate {self.name} ({self.prefix}-)>"

    @property
    def event_types(self) -> frozenset[str]:
        """The names of every event type that may be appended to this aggregate."""
        return frozenset(cls.event_type for cls in self.transitions)

    def allows(self, status: str | None, event_type: str) -> bool:
        """Tell whether the table permits ``event_type`` in ``status`` (``None``: no stream)."""
        return any(
            cls.event_type == event_type and status in rule.sources
            for cls, rule in self.transitions.items()
        )

    def check(self, state: S | None, payload: Payload | JsonPayload) -> None:
        """Raise if ``payload`` may not be applied to ``state``; otherwise do nothing.

        Raises:
            InvalidTransition: the table forbids the event in the current status,
                or the event belongs to another aggregate.
        """
        status = None if state is None else state.status
        rule = self.transitions.get(type(payload))  # type: ignore[arg-type]
        if rule is None or status not in rule.sources:
            raise InvalidTransition(self.name, status, payload.event_type)

    def evolve(self, state: S | None, event: Event) -> S:
        """Return the state after a recorded event. Pure: ``state`` is not changed.

        Raises:
            InvalidTransition: the event is illegal in the current state.
        """
        return self.apply(state, event.payload, event.version, event.occurred_at)

    def evolve_new(self, state: S | None, event: NewEvent, version: int) -> S:
        """Return the state after an event that is about to be stored at ``version``.

        Lets a writer check a whole append (``Created`` then ``Activated``, say)
        against the state each earlier event leads to, before storing any of it.

        Raises:
            InvalidTransition: the event is illegal in the current state.
        """
        return self.apply(state, event.payload, version, event.occurred_at)

    def fold(self, events: Iterable[Event], state: S | None = None) -> S | None:
        """Return the state after every event in order, starting from ``state``.

        Raises:
            InvalidTransition: an event is illegal where it stands.
        """
        for event in events:
            state = self.apply(state, event.payload, event.version, event.occurred_at)
        return state

    def apply(
        self, state: S | None, payload: Payload | JsonPayload, version: int, occurred_at: int
    ) -> S:
        """Return the state after ``payload`` became event ``version`` at ``occurred_at``.

        The same step as :meth:`evolve`, for callers that have the parts of an
        event but no :class:`Event` (a writer checking an append before storing it).

        Raises:
            InvalidTransition: the event is illegal in the current state.
        """
        self.check(state, payload)
        typed = cast(Payload, payload)  # the table holds payload classes only
        if state is None:
            return self._create(typed, version, occurred_at)
        return self._apply(state, typed, version, occurred_at)

    def encode_state(self, state: S) -> bytes:
        """Return the state as JSON bytes for a snapshot."""
        return self._encoder.encode(state)

    def decode_state(self, data: bytes) -> S:
        """Decode a snapshot written by :meth:`encode_state` of the same state version.

        Raises:
            ValidationError: the bytes are not a valid state of this aggregate.
        """
        try:
            return self._decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise validation_error(f"{self.name} state", exc, self.name) from exc
