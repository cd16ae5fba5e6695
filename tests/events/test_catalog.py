"""Categories and catalogs, exercised with a user's domain declared here.

The domain: ``order-`` streams (typed, any key, no aggregate; ``OrderPlaced`` is
at schema version 2), ``cart-`` streams (typed, with an aggregate), ``ticket-``
streams (typed, time-ordered ids only) and ``note-`` streams (untyped JSON).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec
import pytest

from fleet.core import DELETION_TYPE, EXAMPLE_BODY, generate_event_id, is_valid_prefix_id
from fleet.errors import CatalogError, ConfigError, ValidationError
from fleet.events import (
    DEFAULT_MAX_DATA_BYTES,
    Aggregate,
    Catalog,
    Category,
    EventMetadata,
    JsonPayload,
    NewEvent,
    Payload,
    Transition,
    encode_payload,
    load_catalog,
)
from fleet.vocabulary import CATALOG as BUILT_IN
from fleet.vocabulary import MissionCreated


class OrderPlaced(Payload, frozen=True, tag="OrderPlaced"):
    """v1 called the quantity ``quantity``; v2 calls it ``qty``."""

    schema_version: ClassVar[int] = 2
    nonblank: ClassVar[tuple[str, ...]] = ("sku",)

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    qty: Annotated[int, msgspec.Meta(ge=1)] = 1


class OrderShipped(Payload, frozen=True, tag="OrderShipped"):
    carrier: str = "post"


class ItemAdded(Payload, frozen=True, tag="cart.ItemAdded"):
    sku: str


class CheckedOut(Payload, frozen=True, tag="cart.CheckedOut"):
    pass


class TicketOpened(Payload, frozen=True, tag="TicketOpened"):
    subject: str


class CartState(msgspec.Struct, frozen=True):
    status: Literal["open", "closed"]
    version: int
    items: int = 0


def _create(payload: Payload, version: int, at: int) -> CartState:
    return CartState("open", version, 1)


def _apply(state: CartState, payload: Payload, version: int, at: int) -> CartState:
    if isinstance(payload, CheckedOut):
        return CartState("closed", version, state.items)
    return CartState("open", version, state.items + 1)


CART = Aggregate(
    name="cart",
    prefix="cart",
    state_type=CartState,
    transitions={
        ItemAdded: Transition(frozenset({None, "open"}), "open"),
        CheckedOut: Transition(frozenset({"open"}), "closed"),
    },
    create=_create,
    apply=_apply,
)


def _order_placed_v1(data: dict) -> dict:
    rest = {k: v for k, v in data.items() if k != "quantity"}
    return {**rest, "qty": data.get("quantity", 1)}


ORDERS = Category(
    "order", [OrderPlaced, OrderShipped], upcasters={("OrderPlaced", 1): _order_placed_v1}
)
CARTS = Category("cart", [ItemAdded, CheckedOut], aggregate=CART)
TICKETS = Category("ticket", [TicketOpened], ids="ordered")
NOTES = Category("note", untyped=True, max_data_bytes=64)
CATALOG = Catalog(ORDERS, CARTS, TICKETS, NOTES)
NAMES = "cart, note, order, ticket"


class Specs:
    """Something with a catalog inside, for a dotted ``load_catalog`` attribute."""

    catalog = CATALOG


def body(items: list) -> bytes:
    return msgspec.json.encode(items)


def raises(call, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    return info.value


# --- Category declarations ---------------------------------------------------------


def test_a_category_describes_its_streams():
    assert ORDERS.name == "order"
    assert ORDERS.events == (OrderPlaced, OrderShipped)
    assert dict(ORDERS.event_types) == {"OrderPlaced": OrderPlaced, "OrderShipped": OrderShipped}
    assert ORDERS.classes == frozenset({OrderPlaced, OrderShipped})
    assert ORDERS.ids == "keyed"
    assert ORDERS.aggregate is None
    assert not ORDERS.untyped
    assert set(ORDERS.upcasters) == {("OrderPlaced", 1)}
    assert CARTS.aggregate is CART
    assert TICKETS.ids == "ordered"
    assert NOTES.untyped
    assert NOTES.events == ()
    assert dict(NOTES.event_types) == {}
    assert NOTES.max_data_bytes == 64
    assert Category("misc", untyped=True).max_data_bytes == DEFAULT_MAX_DATA_BYTES


def test_a_category_stamps_each_class_with_its_tag():
    assert ItemAdded.event_type == "cart.ItemAdded"
    assert ItemAdded.__dict__["event_type"] == "cart.ItemAdded"
    assert ItemAdded(sku="a").event_type == "cart.ItemAdded"


def test_reprs():
    assert repr(ORDERS) == "<Category order (2 event types)>"
    assert repr(NOTES) == "<Category note (untyped)>"
    assert repr(CATALOG) == "<Catalog order, cart, ticket, note>"
    assert repr(CART) == "<Aggregate cart (cart-)>"


def test_catalog_error_is_a_config_error():
    assert issubclass(CatalogError, ConfigError)


@pytest.mark.parametrize(
    "name", ["", "Order", "1order", "_order", "or-der", "or der", "o" * 33, "ördér", None, 7]
)
def test_a_category_name_must_be_shaped_like_a_stream_prefix(name):
    with pytest.raises(CatalogError, match="invalid category name") as info:
        Category(name, [OrderPlaced])
    assert "it becomes the stream-id prefix" in str(info.value)


def test_a_category_name_may_be_up_to_32_characters():
    assert Category("o" * 32, untyped=True).name == "o" * 32


@pytest.mark.parametrize("ids", ["random", "", None, "ORDERED"])
def test_the_id_rule_is_keyed_or_ordered(ids):
    with pytest.raises(CatalogError, match="ids must be 'keyed' or 'ordered'"):
        Category("misc", [OrderShipped], ids=ids)


@pytest.mark.parametrize("events", [None, [], ()])
def test_a_typed_category_needs_event_classes(events):
    with pytest.raises(CatalogError, match="'misc' declares no event types") as info:
        Category("misc", events)
    assert "untyped=True" in str(info.value)


@pytest.mark.parametrize(
    "extra",
    [
        {"events": [OrderShipped]},
        {"aggregate": CART},
        {"upcasters": {("OrderPlaced", 1): _order_placed_v1}},
    ],
)
def test_an_untyped_category_takes_no_classes_aggregate_or_upcasters(extra):
    with pytest.raises(CatalogError, match="'misc' is untyped"):
        Category("misc", untyped=True, **extra)


@pytest.mark.parametrize("size", [1, 0, -5, True, 64.0, "64"])
def test_an_untyped_category_needs_a_sensible_size_limit(size):
    with pytest.raises(CatalogError, match="max_data_bytes must be an integer >= 2"):
        Category("misc", untyped=True, max_data_bytes=size)


def test_a_category_refuses_an_event_type_listed_twice():
    class Placed(Payload, frozen=True, tag="OrderPlaced"):
        pass

    with pytest.raises(CatalogError, match="'misc' lists an event type twice"):
        Category("misc", [OrderShipped, OrderShipped])
    with pytest.raises(CatalogError, match="lists an event type twice"):
        Category("misc", [OrderPlaced, Placed], upcasters={("OrderPlaced", 1): _order_placed_v1})


class NotAPayload(msgspec.Struct, frozen=True, tag="NotAPayload"):
    pass


@pytest.mark.parametrize(
    "cls", [NotAPayload, "OrderShipped", OrderShipped(), Payload.__base__, int]
)
def test_a_category_lists_payload_classes_only(cls):
    with pytest.raises(CatalogError, match="is not a payload class") as info:
        Category("misc", [cls])
    assert "derive it from fleet.events.Payload" in str(info.value)


def test_a_payload_class_needs_a_string_tag():
    class Numbered(Payload, frozen=True, tag=7):
        pass

    with pytest.raises(CatalogError, match="Numbered has no string tag"):
        Category("misc", [Numbered])


@pytest.mark.parametrize("tag", ["Order Placed", "1Placed", "_Placed", "Placed/v2", "P" * 129])
def test_a_payload_tag_must_be_a_valid_event_type_name(tag):
    class Odd(Payload, frozen=True, tag=tag):
        pass

    with pytest.raises(CatalogError, match=r"Odd's tag .* is not a valid event type name"):
        Category("misc", [Odd])


def test_an_aggregate_must_be_an_aggregate():
    with pytest.raises(CatalogError, match="'cart': aggregate must be an Aggregate"):
        Category("cart", [ItemAdded, CheckedOut], aggregate=object())  # type: ignore[arg-type]


def test_the_transition_table_may_name_only_listed_classes():
    with pytest.raises(CatalogError) as info:
        Category("cart", [ItemAdded], aggregate=CART)
    assert str(info.value) == (
        "category 'cart': its aggregate's transition table names CheckedOut, "
        "which the category does not list"
    )


def test_a_category_needs_an_upcaster_for_every_old_version():
    with pytest.raises(CatalogError, match=r"'order': no upcaster for OrderPlaced v1"):
        Category("order", [OrderPlaced, OrderShipped])


@pytest.mark.parametrize("step", [("OrderPlaced", 2), ("OrderShipped", 1), ("Nope", 1)])
def test_a_category_refuses_an_upcaster_of_no_older_version(step):
    steps = {("OrderPlaced", 1): _order_placed_v1, step: _order_placed_v1}
    with pytest.raises(CatalogError, match="no such older schema version"):
        Category("order", [OrderPlaced, OrderShipped], upcasters=steps)


# --- Catalog declarations ----------------------------------------------------------


def test_a_catalog_lists_its_categories_in_order():
    assert list(CATALOG.categories) == ["order", "cart", "ticket", "note"]
    assert list(CATALOG) == [ORDERS, CARTS, TICKETS, NOTES]
    assert len(CATALOG) == 4
    assert "cart" in CATALOG
    assert "msn" not in CATALOG
    assert CATALOG.names() == NAMES
    assert CATALOG.category("cart") is CARTS
    assert set(CATALOG.event_types) == {
        "OrderPlaced",
        "OrderShipped",
        "cart.ItemAdded",
        "cart.CheckedOut",
        "TicketOpened",
    }
    assert CATALOG.untyped_names == frozenset({"note"})
    assert Catalog(NOTES, Category("log", untyped=True)).untyped_names == {"note", "log"}


def test_an_unknown_category_name_lists_those_there_are():
    error = raises(CATALOG.category, "msn")
    assert error.problems == (("category", f"no stream category 'msn' (the catalog has: {NAMES})"),)


def test_two_categories_may_not_share_a_name():
    with pytest.raises(CatalogError, match="two categories are named 'order'"):
        Catalog(ORDERS, Category("order", untyped=True))


def test_an_event_type_belongs_to_one_category_only():
    with pytest.raises(CatalogError) as info:
        Catalog(ORDERS, Category("shop", [OrderShipped]))
    assert str(info.value) == (
        "event type 'OrderShipped' is declared by both categories 'order' and 'shop'"
    )


def test_an_untyped_category_may_use_any_name_a_typed_one_declares():
    assert "OrderPlaced" not in NOTES.event_types
    note = CATALOG.decode_payload("OrderPlaced", 1, b'{"free": true}', stream_id="note-1")
    assert note == JsonPayload("OrderPlaced", {"free": True})


def test_a_catalog_holds_at_least_one_category_and_only_categories():
    with pytest.raises(CatalogError, match="needs at least one category"):
        Catalog()
    with pytest.raises(CatalogError, match="a catalog holds categories, not 'order'"):
        Catalog("order")  # type: ignore[arg-type]


def test_extended_adds_categories_and_keeps_the_original():
    bigger = CATALOG.extended(Category("log", untyped=True))
    assert list(bigger.categories) == ["order", "cart", "ticket", "note", "log"]
    assert bigger.category_of("log-1").untyped
    assert "log" not in CATALOG
    assert BUILT_IN.extended(ORDERS).payload_type("OrderPlaced") is OrderPlaced
    with pytest.raises(CatalogError, match="two categories are named 'note'"):
        CATALOG.extended(Category("note", untyped=True))
    with pytest.raises(CatalogError, match="'OrderPlaced' is declared by both"):
        CATALOG.extended(Category("shop", [OrderPlaced], upcasters=ORDERS.upcasters))


# --- Stream ids --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream_id", "category"),
    [
        ("order-1001", ORDERS),
        ("order-A.b_c-9", ORDERS),
        (f"order-{EXAMPLE_BODY}", ORDERS),
        ("cart-7f3a", CARTS),
        (f"ticket-{EXAMPLE_BODY}", TICKETS),
        ("note-2025-01-01", NOTES),
    ],
)
def test_category_of_a_stream(stream_id, category):
    assert CATALOG.category_of(stream_id) is category
    assert CATALOG.check_stream_id(stream_id) == stream_id
    assert CATALOG.aggregate_for(stream_id) is category.aggregate


def test_aggregate_for_only_an_aggregate_s_streams():
    assert CATALOG.aggregate_for("cart-1") is CART
    assert CATALOG.aggregate_for("order-1") is None
    assert CATALOG.aggregate_for("note-1") is None


@pytest.mark.parametrize(
    "bad", ["", "order", "order-", "Order-1", "order_1", "order-/1", "order- 1", 12, None]
)
def test_a_malformed_stream_id_shows_the_form(bad):
    for call in (CATALOG.category_of, CATALOG.check_stream_id, CATALOG.aggregate_for):
        error = raises(call, bad)
        assert error.problems[0][0] == "stream_id"
        assert f"invalid stream id {bad!r}: expected <category>-<key>" in str(error)


def test_an_unknown_category_lists_the_catalog_s_categories():
    error = raises(CATALOG.category_of, "msn-1001")
    why = f"invalid stream id 'msn-1001': no stream category 'msn' (the catalog has: {NAMES})"
    assert error.problems == (("stream_id", why),)
    assert str(error) == why


@pytest.mark.parametrize("key", ["1001", "ridge", EXAMPLE_BODY.upper(), EXAMPLE_BODY + "x"])
def test_an_ordered_category_takes_time_ordered_keys_only(key):
    error = raises(CATALOG.check_stream_id, f"ticket-{key}")
    assert error.problems[0][0] == "stream_id"
    assert "expected ticket- followed by 26 characters of lowercase base32" in str(error)
    assert f"e.g. ticket-{EXAMPLE_BODY}" in str(error)
    assert not TICKETS.accepts_key(f"ticket-{key}")
    assert ORDERS.accepts_key(f"order-{key}")


@pytest.mark.parametrize("name", ["order", "cart", "ticket", "note"])
def test_new_stream_ids_fit_either_rule(name):
    stream_id = CATALOG.new_stream_id(name)
    assert is_valid_prefix_id(stream_id, name)
    assert CATALOG.category_of(stream_id).name == name
    assert CATALOG.new_stream_id(name) > stream_id


def test_new_stream_id_of_an_unknown_category():
    error = raises(CATALOG.new_stream_id, "msn")
    assert error.problems[0][0] == "category"
    assert NAMES in str(error)


# --- Event types -------------------------------------------------------------------


def test_payload_type_by_name():
    assert CATALOG.payload_type("OrderPlaced") is OrderPlaced
    assert CATALOG.payload_type("cart.ItemAdded") is ItemAdded
    assert CATALOG.category_of_type("cart.ItemAdded") is CARTS
    assert CATALOG.category_of_type("Nope") is None


@pytest.mark.parametrize("name", ["Nope", "ItemAdded", "orderplaced", "MissionCreated"])
def test_an_unknown_type_names_itself_and_the_categories(name):
    why = f"unknown event type {name!r} (the catalog's categories: {NAMES})"
    assert raises(CATALOG.payload_type, name).problems == (("type", why),)
    error = CATALOG.unknown_type(name, "events[2].type")
    assert isinstance(error, ValidationError)
    assert error.problems == (("events[2].type", why),)
    assert str(error) == why


def test_page_decoder_decodes_mixed_payloads_by_tag():
    payloads = [OrderPlaced(sku="a", qty=2), ItemAdded(sku="b"), CheckedOut(), TicketOpened("s")]
    assert CATALOG.page_decoder is not None
    decoded = CATALOG.page_decoder.decode(msgspec.json.encode(payloads))
    assert decoded == payloads
    assert [type(p) for p in decoded] == [type(p) for p in payloads]
    with pytest.raises(msgspec.ValidationError):
        CATALOG.page_decoder.decode(b'[{"type": "Nope"}]')


def test_an_all_untyped_catalog_has_no_page_decoder():
    notes = Catalog(NOTES)
    assert notes.page_decoder is None
    assert dict(notes.event_types) == {}


# --- decode_payload ----------------------------------------------------------------


def test_decode_a_typed_payload_at_its_current_version():
    data = encode_payload(OrderPlaced(sku="a", qty=3))
    assert CATALOG.decode_payload("OrderPlaced", 2, data) == OrderPlaced(sku="a", qty=3)
    assert CATALOG.decode_payload("OrderPlaced", 2, data, stream_id="order-1") == OrderPlaced(
        sku="a", qty=3
    )
    assert CATALOG.decode_payload("OrderPlaced", 2, b'{"sku": "a"}') == OrderPlaced(sku="a")


def test_decode_an_old_version_through_the_category_s_upcaster():
    old = CATALOG.decode_payload("OrderPlaced", 1, b'{"sku": "a", "quantity": 4}')
    assert old == OrderPlaced(sku="a", qty=4)
    assert CATALOG.upcast("OrderPlaced", 1, {"sku": "a"}) == {"sku": "a", "qty": 1}
    error = raises(CATALOG.decode_payload, "OrderPlaced", 1, b'{"sku": "a", "quantity": 0}')
    assert error.problems[0][0] == "OrderPlaced.qty"
    error = raises(CATALOG.decode_payload, "OrderPlaced", 3, b'{"sku": "a"}')
    assert error.problems == (("schema_version", "expected 1 to 2, got 3"),)


def test_decode_reports_fields_from_the_given_root():
    data = b'{"sku": "a", "qty": 0}'
    error = raises(CATALOG.decode_payload, "OrderPlaced", 2, data)
    assert error.problems == (("OrderPlaced.qty", "Expected `int` >= 1"),)
    assert isinstance(error.__cause__, msgspec.ValidationError)
    error = raises(CATALOG.decode_payload, "OrderPlaced", 2, data, root="events[0].data")
    assert error.problems == (("events[0].data.qty", "Expected `int` >= 1"),)
    error = raises(CATALOG.decode_payload, "OrderPlaced", 2, b'{"sku": " "}')
    assert error.problems == (("OrderPlaced", "`sku` must not be blank"),)


def test_decode_an_unknown_type_or_stream():
    error = raises(CATALOG.decode_payload, "Nope", 1, b"{}")
    assert error.problems[0] == (
        "type",
        f"unknown event type 'Nope' (the catalog's categories: {NAMES})",
    )
    error = raises(CATALOG.decode_payload, "OrderPlaced", 2, b'{"sku": "a"}', stream_id="msn-1")
    assert error.problems[0][0] == "stream_id"


def test_decode_an_untyped_payload_needs_its_stream():
    data = b'{"text": "hi", "n": [1, 2]}'
    note = CATALOG.decode_payload("noted", 1, data, stream_id="note-1")
    assert note == JsonPayload("noted", {"text": "hi", "n": [1, 2]})
    assert type(note) is JsonPayload
    assert note.event_type == "noted"
    assert encode_payload(note) == data.replace(b" ", b"")
    error = raises(CATALOG.decode_payload, "noted", 1, data)
    assert "unknown event type 'noted'" in str(error)


@pytest.mark.parametrize("data", [b"[1]", b'"text"', b"3", b"null", b"true"])
def test_an_untyped_payload_must_be_a_json_object(data):
    error = raises(CATALOG.decode_payload, "noted", 1, data, stream_id="note-1")
    assert error.problems == (("noted", "expected a JSON object"),)
    error = raises(CATALOG.decode_payload, "noted", 1, data, stream_id="note-1", root="x.data")
    assert error.problems == (("x.data", "expected a JSON object"),)


def test_an_untyped_payload_must_be_json():
    error = raises(CATALOG.decode_payload, "noted", 1, b'{"a": ', stream_id="note-1")
    assert error.problems[0][0] == "noted"
    assert error.problems[0][1].startswith("malformed JSON")


def test_an_untyped_payload_is_bounded_by_its_category():
    exactly = b'{"t": "' + b"x" * 55 + b'"}'
    assert len(exactly) == 64
    assert CATALOG.decode_payload("noted", 1, exactly, stream_id="note-1").data == {"t": "x" * 55}
    larger = b'{"t": "' + b"x" * 56 + b'"}'
    error = raises(CATALOG.decode_payload, "noted", 1, larger, stream_id="note-1")
    assert error.problems == (
        ("noted", "65 bytes is more than the 64 an event of this category may hold"),
    )


def test_an_untyped_payload_nested_too_deeply_is_refused():
    deep = Catalog(Category("log", untyped=True))
    data = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    error = raises(deep.decode_payload, "noted", 1, data, stream_id="log-1")
    assert error.problems[0][0] == "noted"


@pytest.mark.parametrize("name", ["", "1st", "_x", "a b", "a/b", "x" * 129])
def test_an_untyped_event_type_name_must_be_well_formed(name):
    error = raises(CATALOG.decode_payload, name, 1, b"{}", stream_id="note-1")
    assert error.problems[0][0] == "type"
    assert f"invalid event type {name!r}" in error.problems[0][1]


# --- validate_payload --------------------------------------------------------------


def test_validate_payload_returns_what_will_be_read_back():
    assert CATALOG.validate_payload(OrderPlaced(sku="a")) == OrderPlaced(sku="a")
    assert CATALOG.validate_payload(OrderPlaced(sku="a"), stream_id="order-9") == OrderPlaced(
        sku="a"
    )
    note = JsonPayload("noted", {"x": float("nan")})
    assert CATALOG.validate_payload(note, stream_id="note-1") == JsonPayload("noted", {"x": None})
    error = raises(CATALOG.validate_payload, OrderPlaced(sku="a", qty=0), root="p")
    assert error.problems == (("p.qty", "Expected `int` >= 1"),)


class Rogue(Payload, frozen=True, tag="Rogue"):
    pass


def test_an_unregistered_class_names_itself_its_stream_s_types_and_the_categories():
    error = raises(CATALOG.validate_payload, Rogue(), stream_id="order-1")
    why = (
        "Rogue is not an event type of category 'order' "
        f"(its types: OrderPlaced, OrderShipped; the catalog's categories: {NAMES})"
    )
    assert str(error) == f"invalid payload: payload: {why}"
    assert error.problems == (("payload", why),)


def test_a_class_with_a_registered_tag_is_still_not_registered():
    class Impostor(Payload, frozen=True, tag="OrderShipped"):
        pass

    error = raises(CATALOG.validate_payload, Impostor(), stream_id="order-1")
    assert "Impostor is not an event type of category 'order'" in str(error)


def test_an_unregistered_class_without_a_stream_is_refused():
    error = raises(CATALOG.validate_payload, Rogue())
    assert error.problems == (
        ("payload", f"Rogue is not an event type of this catalog (its categories: {NAMES})"),
    )


def test_an_unregistered_class_without_a_stream_names_the_categories():
    error = raises(CATALOG.validate_payload, Rogue())
    assert "nowhere" not in str(error)
    assert NAMES in str(error)


def test_a_class_of_another_category_says_where_it_belongs():
    error = raises(CATALOG.validate_payload, ItemAdded(sku="a"), stream_id="order-1")
    assert error.problems == (("payload", "cart.ItemAdded belongs in cart- streams"),)
    error = raises(CATALOG.validate_payload, TicketOpened("s"), stream_id="cart-1")
    assert "TicketOpened belongs in ticket- streams" in str(error)


def test_a_typed_payload_in_an_untyped_stream_is_refused():
    error = raises(CATALOG.validate_payload, OrderPlaced(sku="a"), stream_id="note-1")
    assert error.problems == (
        ("payload", "note- streams are untyped: append JsonPayload(type, data), not OrderPlaced"),
    )


@pytest.mark.parametrize("stream_id", [None, "order-1", "cart-1"])
def test_a_json_payload_belongs_in_an_untyped_stream(stream_id):
    error = raises(CATALOG.validate_payload, JsonPayload("noted", {}), stream_id=stream_id)
    assert error.problems == (
        ("payload", "a JsonPayload belongs in a stream of an untyped category"),
    )


def test_a_json_payload_is_checked_for_name_size_and_encodability():
    error = raises(CATALOG.validate_payload, JsonPayload("a b", {}), stream_id="note-1")
    assert "invalid event type 'a b'" in str(error)
    error = raises(
        CATALOG.validate_payload, JsonPayload("noted", {"t": "x" * 100}), stream_id="note-1"
    )
    assert "more than the 64" in str(error)
    unencodable = JsonPayload("noted", {"t": object()})
    with pytest.raises(ValidationError, match="cannot be encoded"):
        CATALOG.validate_payload(unencodable, stream_id="note-1")


def test_validate_payload_checks_the_stream_id():
    error = raises(CATALOG.validate_payload, OrderPlaced(sku="a"), stream_id="ticket-1")
    assert error.problems[0][0] == "stream_id"


# --- new_event ---------------------------------------------------------------------


def test_new_event_in_a_typed_and_an_untyped_stream():
    event = CATALOG.new_event(ItemAdded(sku="a"), stream_id="cart-1")
    assert is_valid_prefix_id(event.event_id, "evt")
    assert event.type == "cart.ItemAdded"
    assert event.metadata == EventMetadata()
    event_id = generate_event_id()
    note = CATALOG.new_event(
        JsonPayload("noted", {"a": 1}),
        stream_id="note-1",
        metadata=EventMetadata(actor="me"),
        event_id=event_id,
        occurred_at=7,
    )
    assert (note.payload, note.event_id, note.occurred_at) == (
        JsonPayload("noted", {"a": 1}),
        event_id,
        7,
    )
    assert note.metadata.actor == "me"


def test_new_event_refuses_what_validate_payload_refuses():
    error = raises(CATALOG.new_event, ItemAdded(sku="a"), stream_id="order-1")
    assert "belongs in cart- streams" in str(error)
    error = raises(CATALOG.new_event, JsonPayload("noted", {}))
    assert "untyped category" in str(error)
    error = raises(CATALOG.new_event, OrderPlaced(sku="a", qty=0), stream_id="order-1")
    assert error.problems == (("event.payload.qty", "Expected `int` >= 1"),)


def test_validate_new_event_refuses_what_is_not_an_event():
    error = raises(CATALOG.validate_new_event, OrderPlaced(sku="a"), where="events[3]")
    assert error.problems == (("events[3]", "not an event: OrderPlaced"),)


# --- validate_batch and decode_new_events ------------------------------------------


def test_a_typed_batch_without_a_stream_takes_any_category_s_types():
    items = [
        {"type": "OrderPlaced", "data": {"sku": "a", "qty": 2}},
        {"type": "cart.ItemAdded", "data": {"sku": "b"}},
        {"type": "TicketOpened", "data": {"type": "TicketOpened", "subject": "s"}},
    ]
    events = CATALOG.decode_new_events(body(items))
    assert [e.payload for e in events] == [
        OrderPlaced(sku="a", qty=2),
        ItemAdded(sku="b"),
        TicketOpened("s"),
    ]


def test_a_typed_batch_for_a_stream_takes_its_category_s_types_only():
    items = [
        {"type": "OrderPlaced", "data": {"sku": "a"}},
        {"type": "cart.ItemAdded", "data": {"sku": "b"}},
        {"type": "noted", "data": {}},
        {"type": "OrderPlaced", "data": {"sku": "a", "qty": 0}},
        {"type": "OrderShipped", "data": {}, "colour": "red"},
        {"type": "OrderShipped", "data": {"type": "OrderPlaced"}},
    ]
    result = CATALOG.validate_batch(body(items), stream_id="order-1")
    assert result.events[0].payload == OrderPlaced(sku="a")
    problems = {i: e.problems[0] for i, e in result.errors.items()}
    assert problems == {
        1: ("events[1].type", "cart.ItemAdded belongs in cart- streams, not 'order-1'"),
        2: ("events[2].type", f"unknown event type 'noted' (the catalog's categories: {NAMES})"),
        3: ("events[3].data.qty", "Expected `int` >= 1"),
        4: ("events[4]", "Object contains unknown field `colour`"),
        5: ("events[5].data.type", "Invalid value 'OrderPlaced'"),
    }


def test_an_untyped_batch_for_its_stream():
    items = [
        {"type": "noted", "data": {"text": "hi"}},
        {"type": "OrderPlaced", "data": {"type": "anything", "sku": 3}},
        {"type": "1st", "data": {}},
        {"type": "noted", "data": [1]},
        {"type": "noted", "data": {"t": "x" * 100}},
        {"type": "noted"},
        {"type": "noted", "data": {}, "event_id": "evt-nope"},
    ]
    result = CATALOG.validate_batch(body(items), stream_id="note-1")
    assert [e.payload for e in result.events] == [
        JsonPayload("noted", {"text": "hi"}),
        JsonPayload("OrderPlaced", {"type": "anything", "sku": 3}),
    ]
    wheres = {i: e.problems[0][0] for i, e in result.errors.items()}
    assert wheres == {
        2: "events[2].type",
        3: "events[3].data",
        4: "events[4].data",
        5: "events[5]",
        6: "events[6].event_id",
    }
    assert result.errors[3].problems[0][1] == "expected a JSON object"
    assert "more than the 64" in result.errors[4].problems[0][1]
    assert "invalid event type '1st'" in result.errors[2].problems[0][1]


def test_an_untyped_batch_without_its_stream_knows_no_types():
    result = CATALOG.validate_batch(body([{"type": "noted", "data": {}}]))
    assert result.errors[0].problems == (
        ("events[0].type", f"unknown event type 'noted' (the catalog's categories: {NAMES})"),
    )


def test_decode_new_events_raises_every_problem_of_every_item():
    items = [
        {"type": "noted", "data": {}},
        {"type": "1st", "data": {}},
        {"type": "noted", "data": "text"},
    ]
    with pytest.raises(ValidationError, match="2 of 3 events are invalid") as info:
        CATALOG.decode_new_events(body(items), stream_id="note-1")
    assert [where for where, _ in info.value.problems] == ["events[1].type", "events[2].data"]
    events = CATALOG.decode_new_events(body(items[:1]), stream_id="note-1")
    assert [e.payload for e in events] == [JsonPayload("noted", {})]


@pytest.mark.parametrize("stream_id", ["msn-1", "ticket-1", "nope"])
def test_a_batch_for_a_stream_the_catalog_refuses(stream_id):
    error = raises(CATALOG.validate_batch, b"[]", stream_id=stream_id)
    assert error.problems[0][0] == "stream_id"
    error = raises(CATALOG.decode_new_events, b"[]", stream_id=stream_id)
    assert error.problems[0][0] == "stream_id"
    result = CATALOG.validate_batch([NewEvent(OrderShipped())], stream_id=stream_id)
    assert result.errors[0].problems[0][0] == "stream_id"


def test_a_batch_of_built_events_for_typed_and_untyped_streams():
    typed = [NewEvent(OrderPlaced(sku="a")), NewEvent(OrderShipped())]
    assert CATALOG.validate_batch(typed, stream_id="order-1").unwrap() == typed
    assert CATALOG.validate_batch(typed).ok
    notes = [NewEvent(JsonPayload("noted", {"a": 1}))]
    assert CATALOG.validate_batch(notes, stream_id="note-1").unwrap() == notes
    result = CATALOG.validate_batch(notes + typed, stream_id="note-1")
    assert list(result.errors) == [1, 2]
    assert "note- streams are untyped" in str(result.errors[1])
    result = CATALOG.validate_batch([*typed, NewEvent(OrderPlaced(sku="a", qty=0))])
    assert result.errors[2].problems == (("events[2].payload.qty", "Expected `int` >= 1"),)
    result = CATALOG.validate_batch(notes)
    assert "untyped category" in str(result.errors[0])


def test_a_batch_of_built_events_reports_every_problem_by_index():
    events = [
        NewEvent(OrderPlaced(sku="a")),
        NewEvent(ItemAdded(sku="a")),
        NewEvent(Rogue()),
        NewEvent(JsonPayload("noted", {})),
    ]
    result = CATALOG.validate_batch(events, stream_id="order-1")
    wheres = {i: e.problems[0][0] for i, e in result.errors.items()}
    assert wheres == {1: "events[1].payload", 2: "events[2].payload", 3: "events[3].payload"}


def test_an_event_id_with_a_trailing_newline_is_refused():
    items = [{"type": "noted", "data": {}, "event_id": generate_event_id() + "\n"}]
    result = CATALOG.validate_batch(body(items), stream_id="note-1")
    assert list(result.errors) == [0]


# --- load_catalog ------------------------------------------------------------------


def test_load_catalog_imports_a_named_catalog():
    assert load_catalog("tests.events.test_catalog:CATALOG") is CATALOG
    assert load_catalog("tests.events.test_catalog:Specs.catalog") is CATALOG
    assert load_catalog("fleet.vocabulary:CATALOG") is BUILT_IN


@pytest.mark.parametrize(
    "spec",
    ["", "tests.events.test_catalog", ":CATALOG", "tests.events.test_catalog:", None, 3],
)
def test_load_catalog_refuses_a_malformed_spec(spec):
    with pytest.raises(CatalogError, match=r"expected 'package\.module:NAME'"):
        load_catalog(spec)  # type: ignore[arg-type]


def test_load_catalog_of_a_missing_module():
    with pytest.raises(
        CatalogError, match=r"cannot import catalog module 'no_such_pkg\.cat'"
    ) as info:
        load_catalog("no_such_pkg.cat:CATALOG")
    assert isinstance(info.value.__cause__, ImportError)


@pytest.mark.parametrize(
    ("attribute", "what"),
    [
        ("NOPE", "missing"),
        ("Specs.nope", "missing"),
        ("ORDERS", "a category"),
        ("Specs", "a class"),
    ],
)
def test_load_catalog_of_something_that_is_not_a_catalog(attribute, what):
    spec = f"tests.events.test_catalog:{attribute}"
    with pytest.raises(CatalogError) as info:
        load_catalog(spec)
    assert str(info.value) == (
        f"{spec!r} is not a catalog: tests.events.test_catalog has no Catalog named {attribute!r}"
    )


# --- the built-in vocabulary, seen through the same API ----------------------------


def test_a_built_in_payload_built_with_a_wrong_type_names_the_field():
    with pytest.raises(ValidationError, match=r"MissionCreated\.title must be a string") as info:
        MissionCreated(title=123)  # type: ignore[arg-type]
    assert info.value.problems == (("title", "expected a string, got int"),)


def test_checked_stream_ids_are_remembered_within_a_bound() -> None:
    from fleet.events._catalog import _CHECKED_IDS

    catalog = Catalog(Category("order", [OrderShipped]))
    ids = [f"order-{n}" for n in range(_CHECKED_IDS + 10)]
    for stream_id in ids:
        assert catalog.category_of(stream_id).name == "order"
    assert len(catalog._checked) <= _CHECKED_IDS
    # Remembered or not, every id is answered the same way.
    for stream_id in (ids[0], ids[-1], ids[-1]):
        assert catalog.check_stream_id(stream_id) == stream_id
    for bad in ("order-", "order-a b", "cart-1", 5, "order-" + "x" * 200):
        with pytest.raises(ValidationError):
            catalog.category_of(bad)


def test_which_types_a_catalog_knows_and_a_category_holds() -> None:
    orders = Category("order", [OrderShipped])
    audit = Category("audit", untyped=True)
    catalog = Catalog(orders, audit)
    assert catalog.knows_type("OrderShipped")
    assert catalog.knows_type(DELETION_TYPE)
    assert not catalog.knows_type("Seen")
    assert catalog.holds(orders, "OrderShipped")
    assert catalog.holds(orders, DELETION_TYPE)
    assert not catalog.holds(orders, "Seen")
    assert catalog.holds(audit, "Seen")
