"""A store serves whatever catalog it is given: a user's typed categories with and
without an aggregate, untyped categories, and Fleet's built-in catalog by default.

Every test runs on SQLite and PostgreSQL, under trio and asyncio.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from examples.cart.catalog import (
    CATALOG as CART_CATALOG,
)
from examples.cart.catalog import (
    CartCheckedOut,
    CartOpened,
    CartState,
    ItemAdded,
    ItemRemoved,
)
from fleet.config import Config, with_overrides
from fleet.db import Database, admin_connection, migrations
from fleet.errors import CatalogError, InvalidTransition, ValidationError, WrongExpectedVersion
from fleet.events import Catalog, Category, JsonPayload, NewEvent, Payload
from fleet.store import NO_STREAM, CaughtUp, LogFilter, open_store
from fleet.transfer import export_events, import_events
from fleet.vocabulary import CATALOG, MissionCreated, MissionState, MissionUpdated

pytestmark = pytest.mark.anyio

DATA = Path(__file__).resolve().parents[1] / "data"


class Posted(Payload, frozen=True, tag="Posted"):
    """An event of a typed category without an aggregate."""

    text: str


LEDGER = Category("ledger", [Posted])
MIXED = CART_CATALOG.extended(LEDGER)


async def test_a_user_category_with_an_aggregate_is_checked_and_folded(store_config) -> None:
    async with open_store(store_config, catalog=CART_CATALOG) as store:
        cart = "cart-7f3a"
        await store.append(cart, [CartOpened(customer="ada")], expected_version=NO_STREAM)
        with pytest.raises(InvalidTransition, match="CartCheckedOut"):
            await store.append(cart, [CartCheckedOut(total_cents=0)])
        await store.append(
            cart, [ItemAdded(sku="tea", quantity=2, unit_price_cents=450)], expected_version=1
        )
        with pytest.raises(WrongExpectedVersion):
            await store.append(cart, [ItemRemoved(sku="tea")], expected_version=1)
        state = await store.aggregate_state(cart)
        assert state == CartState("open", 2, "ada", {"tea": 2}, 900)
        decided = await store.execute(cart, lambda s: [CartCheckedOut(total_cents=s.total_cents)])
        assert decided is not None
        assert decided.last_version == 3
        page = await store.read_stream(cart)
    assert [event.type for event in page.events] == ["CartOpened", "ItemAdded", "CartCheckedOut"]
    assert page.events[2].payload == CartCheckedOut(total_cents=900)
    async with open_store(store_config, catalog=CART_CATALOG) as again:
        assert (await again.aggregate_state(cart)).status == "checked_out"


async def test_an_untyped_category_takes_any_type_with_a_json_object(store_config) -> None:
    async with open_store(store_config, catalog=CART_CATALOG) as store:
        seen = JsonPayload(
            "Page.Viewed", {"path": "/", "n": [1, 2.5, None, True], "deep": {"a": {}}}
        )
        first = await store.append("audit-web.1", [seen, JsonPayload("X", {})])
        assert (first.first_version, first.last_version) == (1, 2)
        await store.append(
            "audit-web.1", [NewEvent(JsonPayload("Y", {"k": "v"}))], expected_version=2
        )
        assert await store.stream_version("audit-web.1") == 3
        assert await store.aggregate_state("audit-web.1") is None
        events = (await store.read_stream("audit-web.1")).events
        assert [e.payload for e in events] == [
            seen,
            JsonPayload("X", {}),
            JsonPayload("Y", {"k": "v"}),
        ]
        assert [e.schema_version for e in events] == [1, 1, 1]
        problems = [
            ([CartOpened(customer="ada")], "untyped"),
            ([JsonPayload("1bad", {})], "invalid event type '1bad'"),
            ([JsonPayload("Big", {"x": "y" * 20_000})], "more than the 16384"),
            ([JsonPayload("Nul", {"x": "a\x00b"})], "NUL"),
        ]
        for events_, why in problems:
            with pytest.raises(ValidationError, match=why):
                await store.append("audit-web.1", events_)
        with pytest.raises(ValidationError, match="JsonPayload"):
            await store.append("cart-1", [JsonPayload("CartOpened", {"customer": "ada"})])
        assert await store.stream_version("audit-web.1") == 3
    async with open_store(store_config, catalog=CART_CATALOG) as again:
        assert (await again.append("audit-web.1", [seen], expected_version=3)).last_version == 4


async def test_a_typed_category_without_an_aggregate_just_orders_its_events(store_config) -> None:
    config = with_overrides(store_config, store={"snapshot_every": 2})
    async with open_store(config, catalog=MIXED) as store:
        for n in range(5):
            await store.append(
                "ledger-2026", [Posted(text=f"line {n}")], expected_version=n or NO_STREAM
            )
        assert await store.aggregate_state("ledger-2026") is None
        assert await store.prune_snapshots(1) == 0
    async with open_store(config, catalog=MIXED) as again:
        result = await again.append("ledger-2026", [Posted(text="after")], expected_version=5)
    assert result.last_version == 6


async def test_reads_and_subscriptions_decode_every_category_of_a_mixed_log(store_config) -> None:
    async with open_store(store_config, catalog=MIXED) as store:
        await store.append("cart-1", [CartOpened(customer="ada")])
        await store.append("audit-1", [JsonPayload("Seen", {"n": 1})])
        await store.append("ledger-1", [Posted(text="t")])
        await store.append("cart-1", [ItemAdded(sku="mug", quantity=1, unit_price_cents=1)])
        log = (await store.read_all(0, 10)).events
        assert [e.type for e in log] == ["CartOpened", "Seen", "Posted", "ItemAdded"]
        assert isinstance(log[1].payload, JsonPayload)
        assert await store.count(where=LogFilter(stream_prefix="audit")) == 1
        assert await store.count(where=LogFilter(event_types=["Seen", "Posted"])) == 2
        only = (await store.read_all(0, 10, where=LogFilter(stream_prefix="cart"))).events
        assert [e.position for e in only] == [1, 4]
        assert (await store.get_event(log[1].event_id)).payload == JsonPayload("Seen", {"n": 1})
        got = []
        async with store.subscribe(0) as subscription:
            async for item in subscription:
                if isinstance(item, CaughtUp):
                    await store.append("audit-1", [JsonPayload("Live", {})])
                    continue
                got.append(item)
                if len(got) == 5:
                    break
    assert [e.type for e in got] == ["CartOpened", "Seen", "Posted", "ItemAdded", "Live"]
    assert got[4].payload == JsonPayload("Live", {})


async def test_streams_outside_the_catalog_are_refused_naming_the_categories(store_config) -> None:
    async with open_store(store_config, catalog=CART_CATALOG) as store:
        cases = [
            ("order-1001", "no stream category 'order' (the catalog has: audit, cart)"),
            ("cart-", "expected <category>-<key>"),
            ("cart-../x", "expected <category>-<key>"),
            ("msn-01jd8x7k2m3n4p5q6r7s8t9v0w", "no stream category 'msn'"),
        ]
        for stream_id, why in cases:
            with pytest.raises(ValidationError, match=why.replace("(", r"\(").replace(")", r"\)")):
                await store.append(stream_id, [JsonPayload("X", {})])
            with pytest.raises(ValidationError):
                await store.read_stream(stream_id)
        with pytest.raises(ValidationError, match="'msn' is not one of audit, cart"):
            await store.read_all(0, 10, where=LogFilter(stream_prefix="msn"))
        # An untyped category may hold any event type, so any type name may be asked for.
        assert await store.count(where=LogFilter(event_types=["MissionCreated"])) == 0
        with pytest.raises(ValidationError, match="MissionCreated is not an event type of"):
            await store.append("cart-1", [MissionCreated(title="t")])


async def test_a_store_named_by_configuration_loads_its_catalog(store_config) -> None:
    config = with_overrides(store_config, store={"catalog": "examples.cart.catalog:CATALOG"})
    async with open_store(config) as store:
        assert store.catalog is CART_CATALOG
        await store.append("cart-9", [CartOpened(customer="ada")])
    async with open_store(store_config) as default:
        assert default.catalog is CATALOG
    with pytest.raises(CatalogError, match="no Catalog named 'NOPE'"):
        async with open_store(
            with_overrides(store_config, store={"catalog": "examples.cart.catalog:NOPE"})
        ):
            pass
    with pytest.raises(CatalogError, match=r"must be a fleet\.events\.Catalog"):
        async with open_store(store_config, catalog=LEDGER):  # type: ignore[arg-type]
            pass


async def test_a_database_written_by_another_catalog_is_refused_on_read(store_config) -> None:
    async with open_store(store_config, catalog=CART_CATALOG) as store:
        await store.append("cart-1", [CartOpened(customer="ada")])
    async with open_store(store_config, catalog=Catalog(LEDGER)) as other:
        with pytest.raises(ValidationError, match="no stream category 'cart'"):
            await other.read_all(0, 10)
        assert (await other.read_all(0, 10, where=LogFilter(stream_prefix="ledger"))).events == []


async def test_an_old_database_opens_reads_and_takes_appends(tmp_path: Path) -> None:
    """A SQLite file written before catalogs existed (tests/data/before-catalog.db),
    brought to the current schema as `fleet db upgrade` does."""
    path = tmp_path / "old.db"
    shutil.copy(DATA / "before-catalog.db", path)
    config = with_overrides(
        Config(project_dir=str(tmp_path)), database={"url": f"sqlite:///{path}"}
    )
    with admin_connection(config) as conn:
        assert migrations.upgrade(conn).state == "current"
    await _check_old_log(config)


async def test_an_old_export_imports_and_takes_appends(store_config) -> None:
    """The JSON lines ``fleet export`` wrote before catalogs existed, on either backend."""
    with Database.open(store_config) as db, (DATA / "before-catalog.jsonl").open("rb") as lines:
        summary = import_events(db, lines, CATALOG)
    assert summary.imported == 11
    await _check_old_log(store_config)


async def _check_old_log(config: Config) -> None:
    mission = "msn-01jd8x7k2m3n4p5q6r7s8t9v0w"
    async with open_store(config) as store:
        log = (await store.read_all(0, 100)).events
        assert len(log) == 11
        assert log[0].payload == MissionCreated(title="Survey the ridge", priority="high")
        assert log[0].metadata.correlation_id == "old"
        state = await store.aggregate_state(mission)
        assert isinstance(state, MissionState)
        assert (state.status, state.version) == ("active", 8)
        result = await store.append(
            mission, [MissionUpdated(description="new")], expected_version=8
        )
        assert (result.first_version, result.first_position) == (9, 12)
        assert (await store.aggregate_state(mission)).version == 9


async def test_a_mixed_log_exports_and_imports_byte_for_byte(store_config, tmp_path: Path) -> None:
    async with open_store(store_config, catalog=MIXED) as store:
        await store.append("cart-1", [CartOpened(customer="ada")])
        await store.append("audit-1", [JsonPayload("Seen", {"n": [1, {"x": None}]})])
        await store.append("ledger-1", [Posted(text="t")])
        exported = io.BytesIO()
        await export_events(store, exported)
        before = (await store.read_all(0, 10)).events
    target = with_overrides(
        Config(project_dir=str(tmp_path)),
        database={"url": f"sqlite:///{tmp_path / 'copy.db'}"},
    )
    with Database.open(target) as db:
        summary = import_events(db, io.BytesIO(exported.getvalue()), MIXED)
    assert summary.imported == 3
    async with open_store(target, catalog=MIXED) as copy:
        assert (await copy.read_all(0, 10)).events == before
        again = io.BytesIO()
        await export_events(copy, again)
    assert again.getvalue() == exported.getvalue()
    other = with_overrides(target, database={"url": f"sqlite:///{tmp_path / 'other.db'}"})
    with Database.open(other) as db, pytest.raises(ValidationError, match=r"line 1: .*'cart'"):
        import_events(db, io.BytesIO(exported.getvalue()), CATALOG)
