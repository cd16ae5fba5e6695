"""Catalogs: which stream categories a store accepts, and what their events look like.

A :class:`Category` is one kind of stream. Its name is the prefix of its
streams' ids (``order`` for ``order-1001``). It is either

* **typed**: it lists its payload classes (msgspec Structs deriving from
  :class:`~fleet.events.Payload`), with upcasters for their older schema
  versions and, optionally, an :class:`~fleet.events.Aggregate` whose
  transition table every append is checked against; or
* **untyped**: any event type name, with a JSON object as data
  (:class:`~fleet.events.JsonPayload`), checked for shape and size only.

Stream ids are ``<category>-<key>``. A category's ``ids`` rule says which keys
it accepts: ``"keyed"`` (the default) takes any key of the documented safe form
(:func:`fleet.core.stream_id_form`: ``order-1001``, ``cart-7f3a``);
``"ordered"`` takes only fleet's 26-character time-ordered ids
(``ticket-01jd8x7k2m3n4p5q6r7s8t9v0w``), which :meth:`Catalog.new_stream_id` makes.

A :class:`Catalog` is a set of categories; a store serves exactly one. Event
type names are unique among a catalog's typed categories, so a stored event's
type names its class. Everything is checked when the catalog is built: a
declaration mistake is a :class:`~fleet.errors.CatalogError` at import time,
never a surprise at append time.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, Literal, Union

import msgspec

from fleet.core import (
    generate_id,
    id_form,
    is_category_name,
    is_event_type_name,
    is_valid_prefix_id,
    stream_category,
    stream_id_form,
)
from fleet.errors import CatalogError, ValidationError
from fleet.events._aggregate import Aggregate
from fleet.events._codec import (
    JSON_OBJECT,
    check_untyped_name,
    decode_json_object,
    encode_payload,
)
from fleet.events._deletion import DELETION_TYPE, StreamDeletion
from fleet.events._envelope import EventMetadata, JsonPayload, NewEvent, Payload
from fleet.events._problems import validation_error
from fleet.events._upcasting import Upcaster, upcast_chain
from fleet.events._validation import (
    BatchResult,
    build_new_event,
    check_new_event,
    check_wire_items,
)

__all__ = ["DEFAULT_MAX_DATA_BYTES", "Catalog", "Category", "IdRule", "load_catalog"]

IdRule = Literal["keyed", "ordered"]
"""Which stream keys a category accepts: any safe key, or time-ordered ids only."""

DEFAULT_MAX_DATA_BYTES: Final = 65_536
"""The largest JSON object an untyped category accepts per event, unless it says otherwise."""


class Category:
    """One kind of stream: its name, its events and, optionally, its aggregate.

    Args:
        name: the stream-id prefix: a lowercase letter, then up to 31 lowercase
            letters, digits or ``_``.
        events: the payload classes that may be appended to its streams. Omit
            them only with ``untyped=True``.
        aggregate: the rules every append is checked against and the state a
            ``decide`` function sees; ``None`` for a category whose streams are
            plain sequences of events.
        ids: ``"keyed"`` (any safe key) or ``"ordered"`` (fleet's time-ordered ids).
        upcasters: for each ``(type name, old schema version)``, the function that
            lifts a stored object one version up. Every step below each class's
            ``schema_version`` must have one.
        untyped: accept any event type name with a JSON object as data.
        max_data_bytes: the largest encoded JSON object of an untyped event.

    Raises:
        CatalogError: anything above is inconsistent; the message says what.
    """

    __slots__ = (
        "aggregate",
        "classes",
        "event_types",
        "events",
        "ids",
        "max_data_bytes",
        "name",
        "untyped",
        "upcasters",
    )

    def __init__(
        self,
        name: str,
        events: Sequence[type[Payload]] | None = None,
        *,
        aggregate: Aggregate[Any] | None = None,
        ids: IdRule = "keyed",
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
        untyped: bool = False,
        max_data_bytes: int = DEFAULT_MAX_DATA_BYTES,
    ) -> None:
        if not is_category_name(name):
            raise CatalogError(
                f"invalid category name {name!r}: expected a lowercase letter, then up to "
                "31 lowercase letters, digits or _ (it becomes the stream-id prefix)"
            )
        if ids not in ("keyed", "ordered"):
            raise CatalogError(f"category {name!r}: ids must be 'keyed' or 'ordered', not {ids!r}")
        self.name = name
        self.ids: IdRule = ids
        self.untyped = untyped
        self.aggregate = aggregate
        self.max_data_bytes = max_data_bytes
        steps = dict(upcasters or {})
        self.upcasters: Mapping[tuple[str, int], Upcaster] = MappingProxyType(steps)
        if untyped:
            if events or aggregate is not None or steps:
                raise CatalogError(
                    f"category {name!r} is untyped: it takes no event classes, aggregate "
                    "or upcasters"
                )
            if type(max_data_bytes) is not int or max_data_bytes < 2:
                raise CatalogError(f"category {name!r}: max_data_bytes must be an integer >= 2")
            self.events: tuple[type[Payload], ...] = ()
        else:
            if not events:
                raise CatalogError(
                    f"category {name!r} declares no event types: list its payload classes, "
                    "or declare it untyped=True"
                )
            self.events = tuple(_stamped(name, cls) for cls in events)
        self.event_types: Mapping[str, type[Payload]] = MappingProxyType(
            {cls.event_type: cls for cls in self.events}
        )
        if len(self.event_types) != len(self.events):
            raise CatalogError(f"category {name!r} lists an event type twice")
        self.classes: frozenset[type[Payload]] = frozenset(self.events)
        self._check_aggregate()
        self._check_upcasters()

    def __repr__(self) -> str:
        kind = "untyped" if self.untyped else f"{len(self.events)} event types"
        return f"<Category {self.name} ({kind})>"

    def _check_aggregate(self) -> None:
        aggregate = self.aggregate
        if aggregate is None:
            return
        if not isinstance(aggregate, Aggregate):
            raise CatalogError(f"category {self.name!r}: aggregate must be an Aggregate")
        foreign = [cls.__name__ for cls in aggregate.transitions if cls not in self.classes]
        if foreign:
            raise CatalogError(
                f"category {self.name!r}: its aggregate's transition table names "
                f"{', '.join(sorted(foreign))}, which the category does not list"
            )

    def _check_upcasters(self) -> None:
        for type_name, version in self.upcasters:
            cls = self.event_types.get(type_name)
            if cls is None or not 1 <= version < cls.schema_version:
                raise CatalogError(
                    f"category {self.name!r}: an upcaster from {type_name!r} v{version}, "
                    "but no such older schema version exists"
                )
        missing = [
            f"{cls.event_type} v{version}"
            for cls in self.events
            for version in range(1, cls.schema_version)
            if (cls.event_type, version) not in self.upcasters
        ]
        if missing:
            raise CatalogError(
                f"category {self.name!r}: no upcaster for {', '.join(missing)} "
                "(stored events of those versions could not be read)"
            )

    def accepts_key(self, stream_id: str) -> bool:
        """Tell whether a well-formed id of this category follows its ``ids`` rule."""
        return self.ids == "keyed" or is_valid_prefix_id(stream_id, self.name)


def _stamped(category: str, cls: object) -> type[Payload]:
    if not (isinstance(cls, type) and issubclass(cls, Payload)):
        raise CatalogError(
            f"category {category!r}: {cls!r} is not a payload class (derive it from "
            "fleet.events.Payload and give it a tag)"
        )
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise CatalogError(f"category {category!r}: {cls.__name__} has no string tag")
    if not is_event_type_name(tag):
        raise CatalogError(
            f"category {category!r}: {cls.__name__}'s tag {tag!r} is not a valid event type "
            "name (a letter, then letters, digits, _ . : or -, at most 128 characters)"
        )
    cls.event_type = tag
    return cls


_CHECKED_IDS: Final = 8192
"""Most stream ids a catalog remembers as checked; the memory is emptied when full."""


class Catalog:
    """The stream categories one store accepts; see the module docstring.

    Args:
        categories: each kind of stream; names unique, typed event type names
            unique across categories.

    Raises:
        CatalogError: two categories share a name or a typed event type name.
    """

    def __init__(self, *categories: Category) -> None:
        by_name: dict[str, Category] = {}
        types: dict[str, type[Payload]] = {}
        owner: dict[str, Category] = {}
        for category in categories:
            if not isinstance(category, Category):
                raise CatalogError(f"a catalog holds categories, not {category!r}")
            if category.name in by_name:
                raise CatalogError(f"two categories are named {category.name!r}")
            by_name[category.name] = category
            for type_name, cls in category.event_types.items():
                if type_name in owner:
                    raise CatalogError(
                        f"event type {type_name!r} is declared by both categories "
                        f"{owner[type_name].name!r} and {category.name!r}"
                    )
                owner[type_name] = category
                types[type_name] = cls
        if not by_name:
            raise CatalogError("a catalog needs at least one category")
        self._categories: Mapping[str, Category] = MappingProxyType(by_name)
        self._types: Mapping[str, type[Payload]] = MappingProxyType(types)
        self._owner: Mapping[str, Category] = MappingProxyType(owner)
        decodable: dict[str, type[Payload]] = {**types, DELETION_TYPE: StreamDeletion}
        self._decoders: Mapping[str, tuple[int, msgspec.json.Decoder[Any]]] = MappingProxyType(
            {
                name: (cls.schema_version, msgspec.json.Decoder(cls))
                for name, cls in decodable.items()
            }
        )
        self._upcasters: Mapping[tuple[str, int], Upcaster] = MappingProxyType(
            {step: f for category in categories for step, f in category.upcasters.items()}
        )
        classes = (*types.values(), StreamDeletion)
        union: Any = Union[classes]  # noqa: UP007
        self.page_decoder: msgspec.json.Decoder[list[Payload]] | None = (
            msgspec.json.Decoder(list[union]) if types else None
        )
        """Decodes a JSON array of typed payloads (and deletion records), each by its
        ``"type"`` tag, in one call."""
        self._checked: dict[str, Category] = {}
        """Stream ids already checked, and their category (at most ``_CHECKED_IDS``):
        the busy streams of a store skip the id's pattern match on every append."""
        self.untyped_names: frozenset[str] = frozenset(
            name for name, category in by_name.items() if category.untyped
        )
        """The names of the untyped categories."""

    def __repr__(self) -> str:
        return f"<Catalog {', '.join(self._categories)}>"

    def __iter__(self) -> Iterator[Category]:
        return iter(self._categories.values())

    def __len__(self) -> int:
        return len(self._categories)

    def __contains__(self, name: object) -> bool:
        return name in self._categories

    @property
    def categories(self) -> Mapping[str, Category]:
        """Every category by name, in declaration order."""
        return self._categories

    @property
    def event_types(self) -> Mapping[str, type[Payload]]:
        """Every typed payload class by its event type name."""
        return self._types

    def extended(self, *categories: Category) -> Catalog:
        """Return a catalog of this one's categories followed by ``categories``.

        Raises:
            CatalogError: a name or event type name would be declared twice.
        """
        return Catalog(*self._categories.values(), *categories)

    def names(self) -> str:
        """The category names, for messages (``"audit, cart, order"``)."""
        return ", ".join(sorted(self._categories))

    def category(self, name: str) -> Category:
        """Return the category called ``name``.

        Raises:
            ValidationError: the catalog has no such category; the message lists those it has.
        """
        category = self._categories.get(name)
        if category is None:
            why = f"no stream category {name!r} (the catalog has: {self.names()})"
            raise ValidationError(why, [("category", why)])
        return category

    def category_of(self, stream_id: object) -> Category:
        """Return the category of ``stream_id`` after checking the id against it.

        Raises:
            ValidationError: the id is malformed, its category does not exist, or
                its key breaks the category's ``ids`` rule; the message says which
                and what a valid id looks like.
        """
        known = self._checked.get(stream_id) if type(stream_id) is str else None
        if known is not None:
            return known
        name = stream_category(stream_id)
        if name is None:
            why = f"invalid stream id {stream_id!r}: expected {stream_id_form()}"
            raise ValidationError(why, [("stream_id", why)])
        category = self._categories.get(name)
        if category is None:
            why = (
                f"invalid stream id {stream_id!r}: no stream category {name!r} "
                f"(the catalog has: {self.names()})"
            )
            raise ValidationError(why, [("stream_id", why)])
        assert isinstance(stream_id, str)
        if not category.accepts_key(stream_id):
            why = f"invalid stream id {stream_id!r}: expected {id_form(name + '-')}"
            raise ValidationError(why, [("stream_id", why)])
        checked = self._checked
        if len(checked) >= _CHECKED_IDS:
            checked.clear()
        checked[stream_id] = category
        return category

    def check_stream_id(self, stream_id: object) -> str:
        """Return ``stream_id`` if it names a stream this catalog accepts.

        Raises:
            ValidationError: as :meth:`category_of`.
        """
        self.category_of(stream_id)
        assert isinstance(stream_id, str)
        return stream_id

    def aggregate_for(self, stream_id: str) -> Aggregate[Any] | None:
        """Return the aggregate of ``stream_id``'s category (``None``: it has none).

        Raises:
            ValidationError: as :meth:`category_of`.
        """
        return self.category_of(stream_id).aggregate

    def new_stream_id(self, category: str) -> str:
        """Return a new time-ordered stream id of ``category`` (valid under either rule).

        Raises:
            ValidationError: the catalog has no such category.
        """
        return generate_id(self.category(category).name)

    def payload_type(self, type_name: str) -> type[Payload]:
        """Return the typed payload class registered under ``type_name``.

        Raises:
            ValidationError: no typed category has that event type.
        """
        cls = self._types.get(type_name)
        if cls is None:
            raise self.unknown_type(type_name)
        return cls

    def category_of_type(self, type_name: str) -> Category | None:
        """The typed category that declares ``type_name`` (``None``: none does)."""
        return self._owner.get(type_name)

    def knows_type(self, type_name: str) -> bool:
        """Whether ``type_name`` is a typed event type of this catalog or the
        deletion record's (:class:`~fleet.events.StreamDeletion`)."""
        return type_name in self._decoders

    def holds(self, category: Category, type_name: str) -> bool:
        """Whether a stream of ``category`` may hold events of ``type_name``: its
        own types (any, for an untyped category) and deletion records."""
        return category.untyped or type_name in category.event_types or type_name == DELETION_TYPE

    def unknown_type(self, type_name: object, where: str = "type") -> ValidationError:
        """The error reporting ``type_name`` as an event type no typed category declares."""
        why = f"unknown event type {type_name!r} (the catalog's categories: {self.names()})"
        return ValidationError(why, [(where, why)])

    def unregistered(self, payload: object, category: Category | None = None) -> str:
        """Why ``payload`` may not be appended (to a stream of ``category``), for messages."""
        cls = type(payload)
        if category is not None and category.untyped:
            return (
                f"{category.name}- streams are untyped: append JsonPayload(type, data), "
                f"not {cls.__name__}"
            )
        name = getattr(cls, "event_type", "")
        owner = self._owner.get(name)
        if owner is not None and owner.event_types.get(name) is cls:
            return f"{name} belongs in {owner.name}- streams"
        if category is None:
            return (
                f"{cls.__name__} is not an event type of this catalog "
                f"(its categories: {self.names()})"
            )
        known = ", ".join(sorted(category.event_types))
        return (
            f"{cls.__name__} is not an event type of category {category.name!r} "
            f"(its types: {known}; the catalog's categories: {self.names()})"
        )

    def decode_payload(
        self,
        type_name: str,
        schema_version: int,
        data: bytes,
        *,
        stream_id: str | None = None,
        root: str | None = None,
    ) -> Payload | JsonPayload:
        """Decode and validate a stored or incoming payload, upcasting it if it is older.

        Args:
            type_name: the event type it was stored under.
            schema_version: the schema version it was stored with.
            data: the JSON bytes.
            stream_id: its stream, already checked (stored, or through
                :meth:`category_of`): only its category, the part before the
                first ``-``, is looked at. Needed to decode an untyped category's
                events (without it, only typed event types are known).
            root: where problems are reported (the type name by default).

        Returns:
            An instance of the type's class at its current schema version, or a
            :class:`JsonPayload` for a stream of an untyped category.

        Raises:
            ValidationError: unknown type or category, unreadable schema version,
                malformed JSON, or a field that breaks its constraints.
        """
        where = type_name if root is None else root
        if stream_id is not None:
            category = self._categories.get(stream_id.partition("-")[0])
            if category is None:
                category = self.category_of(stream_id)  # raises, naming the categories
            if category.untyped and type_name != DELETION_TYPE:
                check_untyped_name(type_name, "type")
                return decode_json_object(type_name, data, where, category.max_data_bytes)
        entry = self._decoders.get(type_name)
        if entry is None:
            raise self.unknown_type(type_name)
        current, decoder = entry
        try:
            if schema_version == current:
                payload: Payload = decoder.decode(data)
                return payload
            return self._decode_old(type_name, schema_version, current, data)
        except msgspec.DecodeError as exc:
            raise validation_error(f"{type_name} payload", exc, where) from exc

    def _decode_old(
        self, type_name: str, schema_version: int, current: int, data: bytes
    ) -> Payload:
        raw = JSON_OBJECT.decode(data)
        lifted = upcast_chain(type_name, schema_version, current, raw, self._upcasters)
        payload: Payload = msgspec.convert(lifted, self._types[type_name])
        return payload

    def upcast(self, type_name: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Return ``data`` (a stored JSON object) upgraded to the current schema version.

        Raises:
            ValidationError: unknown type, unreadable version, or refused by an upcaster.
        """
        current = self.payload_type(type_name).schema_version
        return upcast_chain(type_name, schema_version, current, data, self._upcasters)

    def validate_payload(
        self,
        payload: Payload | JsonPayload,
        *,
        stream_id: str | None = None,
        root: str | None = None,
    ) -> Payload | JsonPayload:
        """Check a payload built in Python against its type's constraints.

        Constructing a msgspec Struct does not check ``Meta`` constraints; this
        does, by encoding the payload and decoding it again.

        Returns:
            The payload exactly as it will be read back.

        Raises:
            ValidationError: the type is not in the catalog (or not in
                ``stream_id``'s category), or a value is out of bounds or cannot
                be encoded.
        """
        category = None if stream_id is None else self.category_of(stream_id)
        where = root if root is not None else "payload"
        if type(payload) is JsonPayload:
            if category is None or not category.untyped:
                why = "a JsonPayload belongs in a stream of an untyped category"
                raise ValidationError(f"invalid payload: {where}: {why}", [(where, why)])
            check_untyped_name(payload.type, f"{where}.type")
        else:
            name = getattr(type(payload), "event_type", "")
            home = self._owner.get(name)
            if (
                home is None
                or home.event_types[name] is not type(payload)
                or (category is not None and home is not category)
            ):
                why = self.unregistered(payload, category)
                raise ValidationError(f"invalid payload: {where}: {why}", [(where, why)])
        try:
            data = encode_payload(payload)
        except (TypeError, ValueError, OverflowError, RecursionError, msgspec.EncodeError) as exc:
            why = f"cannot be encoded: {exc}"
            raise ValidationError(f"invalid payload: {where}: {why}", [(where, why)]) from exc
        return self.decode_payload(
            payload.event_type, payload.schema_version, data, stream_id=stream_id, root=root
        )

    def new_event(
        self,
        payload: Payload | JsonPayload,
        *,
        stream_id: str | None = None,
        metadata: EventMetadata | None = None,
        event_id: str | None = None,
        occurred_at: int | None = None,
    ) -> NewEvent:
        """Build a validated :class:`NewEvent`, stamping a fresh event id and the time.

        Raises:
            ValidationError: the payload or an envelope field breaks its constraints.
        """
        event = build_new_event(payload, metadata, event_id, occurred_at)
        return self.validate_new_event(event, stream_id=stream_id)

    def validate_new_event(
        self, event: NewEvent, *, where: str = "event", stream_id: str | None = None
    ) -> NewEvent:
        """Check every field of a hand-built event against its constraints.

        Returns:
            An equal event whose payload is exactly what will be read back.

        Raises:
            ValidationError: a field is out of bounds, the payload type is not in
                the catalog, or a value cannot be encoded.
        """
        return check_new_event(self, event, where, stream_id)

    def validate_batch(
        self, items: bytes | Sequence[NewEvent], *, stream_id: str | None = None
    ) -> BatchResult:
        """Validate every item of a batch, reporting each refused item by its index.

        Args:
            items: a JSON array of ``{"type", "data", "event_id"?, "occurred_at"?,
                "metadata"?}`` objects, or events built in Python.
            stream_id: the stream the batch is for; needed for an untyped category.

        Raises:
            ValidationError: ``items`` is bytes but not a JSON array.
        """
        if not isinstance(items, bytes | bytearray | memoryview):
            return BatchResult(
                tuple(
                    _checked(self, event, f"events[{i}]", stream_id)
                    for i, event in enumerate(items)
                )
            )
        return check_wire_items(self, bytes(items), stream_id)

    def decode_new_events(self, data: bytes, *, stream_id: str | None = None) -> list[NewEvent]:
        """Decode a JSON array of events from outside into validated :class:`NewEvent`\\ s.

        Raises:
            ValidationError: not a JSON array, or any item is invalid; ``problems``
                lists every problem of every item (``events[i]…``).
        """
        return self.validate_batch(data, stream_id=stream_id).unwrap()


def _checked(
    catalog: Catalog, event: NewEvent, where: str, stream_id: str | None
) -> NewEvent | ValidationError:
    try:
        return check_new_event(catalog, event, where, stream_id)
    except ValidationError as exc:
        return exc


def load_catalog(spec: str) -> Catalog:
    """Import the catalog named by ``spec``: ``"package.module:NAME"``.

    Raises:
        CatalogError: the spec is malformed, the module cannot be imported, or
            the name is missing or not a :class:`Catalog`.
    """
    module_name, sep, attribute = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    if not sep or not module_name or not attribute:
        raise CatalogError(f"invalid catalog {spec!r}: expected 'package.module:NAME'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CatalogError(f"cannot import catalog module {module_name!r}: {exc}") from exc
    found: object = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
    if not isinstance(found, Catalog):
        raise CatalogError(
            f"{spec!r} is not a catalog: {module_name} has no Catalog named {attribute!r}"
        )
    return found
