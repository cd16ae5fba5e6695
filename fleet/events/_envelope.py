"""The envelope around every payload: what callers append and what readers get back.

A *payload* is the domain fact (``OrderPlaced(order_id=...)``). The envelope adds
what the store needs: an event id, when it happened, correlation metadata, and -
once recorded - the stream, version and global position.

Every concrete payload class of a typed category is a frozen msgspec Struct
tagged with its permanent event type name, so ``msgspec.json.encode(payload)``
writes ``{"type": "<name>", ...}`` and a decoder for the union of a catalog's
payloads picks the class from that tag. An untyped category's events carry a
:class:`JsonPayload`: a type name and a JSON object.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Final

import msgspec

from fleet.core import generate_event_id, now_ms
from fleet.errors import ValidationError

__all__ = ["Event", "EventMetadata", "JsonPayload", "NewEvent", "Payload"]

_Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
"""An opaque reference or name: 1-128 characters."""


class _TagName:
    """The ``event_type`` of a payload class not yet placed in a category: its tag.

    A :class:`~fleet.events.Category` replaces it with a plain class attribute,
    so the lookup on the append and read paths costs nothing extra.
    """

    def __get__(self, instance: object, owner: type[msgspec.Struct]) -> str:
        tag = owner.__struct_config__.tag
        return tag if isinstance(tag, str) else owner.__name__


_TAG_NAME: Final = _TagName()


class Payload(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", gc=False):
    """Base of every typed event payload.

    Concrete subclasses are declared with an explicit, permanent ``tag=`` equal to
    their event type name (``class OrderPlaced(Payload, frozen=True,
    tag="OrderPlaced")``) and are placed in a :class:`~fleet.events.Category`.
    A field may be added to a payload only with a default; a field's type never
    changes within a schema version (raise ``schema_version`` and give the
    category an upcaster instead).

    Attributes:
        event_type: the permanent type name, equal to the class's tag.
        schema_version: the current schema version of this payload type (>= 1).
            Older stored versions are upcast on read.
        nonblank: names of text fields that may not be all whitespace. Checked in
            ``__post_init__`` rather than by a regex ``Meta`` because a pattern
            costs about a microsecond per field on every decode.
    """

    event_type: ClassVar[str] = _TAG_NAME  # type: ignore[assignment]
    schema_version: ClassVar[int] = 1
    nonblank: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass of a class already in a category must not inherit its name.
        cls.event_type = _TAG_NAME  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in self.nonblank:
            value = getattr(self, name)
            if value is None:
                continue
            if type(value) is not str:
                # Only a payload built in Python gets here: decoding checks types first.
                raise ValidationError(
                    f"{type(self).__name__}.{name} must be a string, not {type(value).__name__}",
                    [(name, f"expected a string, got {type(value).__name__}")],
                )
            if value.isspace():
                raise ValueError(f"`{name}` must not be blank")


class JsonPayload(msgspec.Struct, frozen=True, gc=False):
    """The payload of an event in an untyped category: a type name and a JSON object.

    The store checks only its shape and size (see
    :class:`~fleet.events.Category`); what the object means is the caller's
    business. It is stored as the object itself, without the type name.

    Attributes:
        type: the event type name: a letter, then letters, digits, ``_``, ``.``,
            ``:`` or ``-``, at most 128 characters.
        data: the event's JSON object.
    """

    type: str
    data: dict[str, Any]

    schema_version: ClassVar[int] = 1

    @property
    def event_type(self) -> str:
        """The event type name (``type``), as for a typed :class:`Payload`."""
        return self.type


class EventMetadata(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, gc=False
):
    """Who caused an event and what it belongs to; stored beside the payload.

    Attributes:
        correlation_id: groups every event of one logical operation.
        causation_id: the id of the event or command that caused this one.
        actor: the agent or person on whose behalf the event was appended.
    """

    correlation_id: _Ref | None = None
    causation_id: _Ref | None = None
    actor: _Ref | None = None


class NewEvent(msgspec.Struct, frozen=True, gc=False):
    """An event a caller wants to append, before the store assigns its place.

    Constructing one directly does not validate it; :func:`fleet.events.new_event`
    and :func:`fleet.events.validate_new_event` do.

    Attributes:
        payload: the domain fact.
        event_id: unique, time-ordered id; retrying an append with the same ids is
            how a caller makes the append idempotent.
        occurred_at: when the fact happened, epoch milliseconds (UTC).
        metadata: correlation, causation and actor.
    """

    payload: Payload | JsonPayload
    event_id: str = msgspec.field(default_factory=generate_event_id)
    occurred_at: int = msgspec.field(default_factory=now_ms)
    metadata: EventMetadata = msgspec.field(default_factory=EventMetadata)

    @property
    def type(self) -> str:
        """The payload's event type name."""
        return self.payload.event_type


class Event(msgspec.Struct, frozen=True, gc=False):
    """A recorded event, as read back from the store.

    Envelopes, payloads and metadata are immutable and never refer back to
    themselves, so they are declared ``gc=False``: the cyclic garbage collector
    does not track them, which keeps reading and appending many thousands of
    events from triggering collection passes that could find nothing to free.

    Attributes:
        event_id: the id given when it was appended.
        type: the event type name (equal to ``payload.event_type``).
        stream_id: the stream it belongs to (``<category>-<key>``).
        version: its version within the stream, as numbered by the store.
        position: its global, commit-ordered position in the whole log.
        schema_version: the schema version the payload was stored with; ``payload``
            itself is always decoded (upcast if needed) to the current version.
        occurred_at: when the fact happened, epoch milliseconds.
        recorded_at: when the store committed it, epoch milliseconds.
        metadata: correlation, causation and actor.
        payload: the domain fact.
    """

    event_id: str
    type: str
    stream_id: str
    version: int
    position: int
    schema_version: int
    occurred_at: int
    recorded_at: int
    metadata: EventMetadata
    payload: Payload | JsonPayload
