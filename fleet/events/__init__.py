"""Typed events for any domain: payloads, envelopes, catalogs, codec, aggregates.

A :class:`Catalog` of :class:`Category` declarations says which streams a store
accepts and what their events look like; :class:`Payload` is the base of every
typed event, :class:`JsonPayload` the payload of an untyped category's events,
:class:`Aggregate` the rules and state of a kind of stream.

Imports only the standard library, msgspec, :mod:`fleet.core` and
:mod:`fleet.errors`, and names no domain: Fleet's own vocabulary is a catalog
like any other.
Implementation modules are private; everything public is re-exported here.
"""

from fleet.events._aggregate import Aggregate, Transition
from fleet.events._catalog import DEFAULT_MAX_DATA_BYTES, Catalog, Category, IdRule, load_catalog
from fleet.events._codec import decode_metadata, encode_metadata, encode_payload
from fleet.events._deletion import DELETION_TYPE, StreamDeletion
from fleet.events._envelope import Event, EventMetadata, JsonPayload, NewEvent, Payload
from fleet.events._fields import MAX_INT, EpochMs, EventIdField
from fleet.events._upcasting import Upcaster
from fleet.events._validation import BatchResult

__all__ = [
    "DEFAULT_MAX_DATA_BYTES",
    "DELETION_TYPE",
    "MAX_INT",
    "Aggregate",
    "BatchResult",
    "Catalog",
    "Category",
    "EpochMs",
    "Event",
    "EventIdField",
    "EventMetadata",
    "IdRule",
    "JsonPayload",
    "NewEvent",
    "Payload",
    "StreamDeletion",
    "Transition",
    "Upcaster",
    "decode_metadata",
    "encode_metadata",
    "encode_payload",
    "load_catalog",
]
