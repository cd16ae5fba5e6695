"""Run the cart example in process: ``python -m examples.cart [DATABASE_URL]``.

Opens a store with the cart catalog, fills a cart and checks it out, writes an
untyped audit event, shows that the cart's rules hold (an empty cart cannot be
checked out, an unknown event type is refused), and reads everything back.
"""

from __future__ import annotations

import sys

import trio

from examples.cart.catalog import (
    CATALOG,
    CartCheckedOut,
    CartOpened,
    ItemAdded,
    describe,
)
from fleet.config import load_config, with_overrides
from fleet.errors import InvalidTransition
from fleet.events import JsonPayload
from fleet.store import NO_STREAM, open_store


async def main(url: str) -> None:
    config = with_overrides(load_config(), database={"url": url})
    async with open_store(config, catalog=CATALOG) as store:
        cart = CATALOG.new_stream_id("cart")
        await store.append(cart, [CartOpened(customer="ada")], expected_version=NO_STREAM)
        try:
            await store.append(cart, [CartCheckedOut(total_cents=0)])
        except InvalidTransition as refused:
            print("refused:", refused)
        await store.append(
            cart,
            [
                ItemAdded(sku="tea", quantity=2, unit_price_cents=450),
                ItemAdded(sku="mug", quantity=1, unit_price_cents=1200),
            ],
        )
        state = await store.aggregate_state(cart)
        await store.append(cart, [CartCheckedOut(total_cents=state.total_cents)])
        await store.append(
            "audit-checkout",
            [JsonPayload("CheckoutSeen", {"cart": cart, "by": "web", "ms": 42})],
        )
        print(cart, describe(await store.aggregate_state(cart)))
        for event in (await store.read_all(0, 100)).events:
            print(event.position, event.stream_id, event.type)


if __name__ == "__main__":
    trio.run(main, sys.argv[1] if len(sys.argv) > 1 else "sqlite:///.fleet/cart.db")
