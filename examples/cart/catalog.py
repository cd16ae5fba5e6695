"""The cart domain as a catalog: what ``store.catalog = "examples.cart.catalog:CATALOG"`` loads.

* ``cart-<key>`` streams hold typed events, checked against the cart's transition
  table: a cart is opened, items are added and removed while it is open, and it is
  checked out once (not while empty) or abandoned.
* ``audit-<key>`` streams are untyped: any event type name with a JSON object,
  checked for shape and size only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

import msgspec

from fleet.errors import InvalidTransition
from fleet.events import Aggregate, Catalog, Category, Payload, Transition

__all__ = [
    "AUDIT",
    "CART",
    "CARTS",
    "CATALOG",
    "CartAbandoned",
    "CartCheckedOut",
    "CartOpened",
    "CartState",
    "ItemAdded",
    "ItemRemoved",
]

Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1_000)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
CartStatus = Literal["open", "checked_out", "abandoned"]


class CartOpened(Payload, frozen=True, tag="CartOpened"):
    """A customer opened a cart; always the first event of its stream."""

    customer: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class ItemAdded(Payload, frozen=True, tag="ItemAdded"):
    """Some of one product went into the cart."""

    sku: Sku
    quantity: Quantity
    unit_price_cents: Cents


class ItemRemoved(Payload, frozen=True, tag="ItemRemoved"):
    """All of one product left the cart."""

    sku: Sku


class CartCheckedOut(Payload, frozen=True, tag="CartCheckedOut"):
    """The customer paid for what was in the cart."""

    total_cents: Cents


class CartAbandoned(Payload, frozen=True, tag="CartAbandoned"):
    """The cart was left open too long and given up."""


class CartState(msgspec.Struct, frozen=True):
    """A cart after its events: who owns it, what is in it, and its total."""

    status: CartStatus
    version: int
    customer: str
    items: dict[str, int] = {}
    total_cents: int = 0


_OPEN: Final[frozenset[CartStatus | None]] = frozenset({"open"})

TRANSITIONS: Final[Mapping[type[Payload], Transition[CartStatus]]] = {
    CartOpened: Transition(frozenset({None}), "open"),
    ItemAdded: Transition(_OPEN),
    ItemRemoved: Transition(_OPEN),
    CartCheckedOut: Transition(_OPEN, "checked_out"),
    CartAbandoned: Transition(_OPEN, "abandoned"),
}
"""Which event may follow which status, and the status it leads to."""


def _create(payload: Payload, version: int, occurred_at: int) -> CartState:
    assert isinstance(payload, CartOpened)
    return CartState(status="open", version=version, customer=payload.customer)


def _apply(state: CartState, payload: Payload, version: int, occurred_at: int) -> CartState:
    items = state.items
    total = state.total_cents
    status: CartStatus = state.status
    if isinstance(payload, ItemAdded):
        items = {**items, payload.sku: items.get(payload.sku, 0) + payload.quantity}
        total += payload.quantity * payload.unit_price_cents
    elif isinstance(payload, ItemRemoved):
        if payload.sku not in items:
            raise InvalidTransition("cart", state.status, "ItemRemoved")
        items = {sku: n for sku, n in items.items() if sku != payload.sku}
    elif isinstance(payload, CartCheckedOut):
        if not items:
            raise InvalidTransition("cart", state.status, "CartCheckedOut")
        status = "checked_out"
    elif isinstance(payload, CartAbandoned):
        status = "abandoned"
    return msgspec.structs.replace(
        state, status=status, version=version, items=items, total_cents=total
    )


CART: Final[Aggregate[CartState]] = Aggregate(
    name="cart",
    prefix="cart",
    state_type=CartState,
    transitions=TRANSITIONS,
    create=_create,
    apply=_apply,
)
"""The cart aggregate."""

CARTS: Final = Category(
    "cart", [CartOpened, ItemAdded, ItemRemoved, CartCheckedOut, CartAbandoned], aggregate=CART
)
"""Cart streams: ``cart-<any safe key>`` (``cart-7f3a``, ``cart-2026-12-07.1``)."""

AUDIT: Final = Category("audit", untyped=True, max_data_bytes=16_384)
"""Audit streams: any event type, a JSON object of at most 16 KiB each."""

CATALOG: Final = Catalog(CARTS, AUDIT)
"""The cart domain's catalog."""


def describe(state: Any) -> str:
    """One line about a cart state, for the example's output."""
    assert isinstance(state, CartState)
    return f"{state.status}, {sum(state.items.values())} items, {state.total_cents / 100:.2f}"
