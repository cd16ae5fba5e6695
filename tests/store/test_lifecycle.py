"""Deleting streams (soft and hard), against the contract of :mod:`fleet.store.deletion`.

Soft: readers are told the stream was deleted until an append starts it
again. Hard: nothing is ever written to the stream again, from this store,
from another store on the same database, or after a restart. Either way the
``$deleted`` record stays in the global log, in log order, for subscribers.

Every test runs on SQLite and PostgreSQL (under trio only: the actor and
writer code is the same under asyncio, and each PostgreSQL database costs a
second to create).
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from examples.cart.catalog import CATALOG as CART_CATALOG
from examples.cart.catalog import CartOpened, CartState, ItemAdded
from fleet.config import Config
from fleet.errors import (
    InvalidTransition,
    StoreReadOnly,
    StreamDeleted,
    StreamNotFound,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.events import DELETION_TYPE, Category, Event, JsonPayload, Payload, StreamDeletion
from fleet.store import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    CaughtUp,
    DeleteResult,
    EventStore,
    LogFilter,
    StreamAppend,
    StreamSummary,
    open_store,
)
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.store.test_append import stored_rows

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


class Posted(Payload, frozen=True, tag="Posted"):
    """An event of a typed category without an aggregate."""

    text: str


LEDGER = Category("ledger", [Posted])
MIXED = CART_CATALOG.extended(LEDGER)


async def _mission(store: EventStore, updates: int = 1) -> str:
    """A new mission stream: ``MissionCreated`` then ``updates`` updates."""
    mission = generate_mission_id()
    events: list[Payload] = [MissionCreated(title="old")]
    events += [MissionUpdated(description=f"u{n}") for n in range(updates)]
    await store.append(mission, events, expected_version=NO_STREAM)
    return mission


async def _log(store: EventStore) -> list[Event]:
    return (await store.read_all()).events


def _deleted_error(raised: pytest.ExceptionInfo[StreamDeleted], stream_id: str, hard: bool) -> None:
    assert type(raised.value) is StreamDeleted
    assert (raised.value.stream_id, raised.value.hard) == (stream_id, hard)


# -- soft deletion --------------------------------------------------------------------------


async def test_a_soft_deleted_stream_is_gone_for_its_readers_but_not_from_the_log(
    store_config: Config,
) -> None:
    async with open_store(store_config) as store:
        other = await _mission(store, 0)
        mission = await _mission(store, 1)
        deleted = await store.delete_stream(mission)
        assert deleted == DeleteResult(mission, 3, 4, False)

        with pytest.raises(StreamNotFound) as raised:
            await store.read_stream(mission)
        _deleted_error(raised, mission, hard=False)
        with pytest.raises(StreamDeleted) as raised:
            await store.read_stream(mission, direction="backwards", limit=1)
        _deleted_error(raised, mission, hard=False)
        assert await store.stream_version(mission) == 3
        meta = await store.stream_metadata(mission)
        # The deletion is its record's version; truncation is the user's, untouched.
        assert (meta.version, meta.deleted, meta.hard_deleted) == (3, True, False)
        assert (meta.deleted_version, meta.truncate_before) == (3, None)
        assert (await store.list_streams()).streams == [StreamSummary(other, 1)]
        assert (await store.list_streams(prefix="msn")).streams == [StreamSummary(other, 1)]
        assert await store.aggregate_state(mission) is None

        log = await _log(store)
        assert [(e.stream_id, e.version, e.position, e.type) for e in log] == [
            (other, 1, 1, "MissionCreated"),
            (mission, 1, 2, "MissionCreated"),
            (mission, 2, 3, "MissionUpdated"),
            (mission, 3, 4, DELETION_TYPE),
        ]
        assert log[-1].payload == StreamDeletion(hard=False)
        assert await store.count() == 4

        # Deleting it softly again changes nothing and says so with the same result.
        assert await store.delete_stream(mission) == deleted
        assert await store.delete_stream(mission, expected_version=3) == deleted
        assert await store.count() == 4
    async with open_store(store_config) as store:
        with pytest.raises(StreamDeleted) as raised:
            await store.read_stream(mission)
        _deleted_error(raised, mission, hard=False)
        assert await store.delete_stream(mission) == deleted
        assert (await store.list_streams()).streams == [StreamSummary(other, 1)]
    assert [row[1:3] for row in stored_rows(store_config)] == [(1, 1), (1, 2), (2, 3), (3, 4)]


async def _restart_each(store: EventStore, missions: list[str], expectations: list[object]) -> None:
    """Start each soft-deleted mission (at version 3) again, appending with an expectation."""
    for mission, expected in zip(missions, expectations, strict=True):
        with pytest.raises(WrongExpectedVersion):
            await store.append(mission, [MissionCreated(title="x")], expected_version=STREAM_EXISTS)
        with pytest.raises(WrongExpectedVersion) as wrong:
            await store.append(mission, [MissionCreated(title="x")], expected_version=2)
        assert wrong.value.actual == 3
        # The state starts from nothing: a mission must be created again.
        with pytest.raises(InvalidTransition):
            await store.append(mission, [MissionUpdated(title="x")], expected_version=ANY)
        done = await store.append(mission, [MissionCreated(title="new")], expected_version=expected)
        assert (done.first_version, done.last_version) == (4, 4), expected
        page = await store.read_stream(mission)
        assert [(e.version, e.type) for e in page.events] == [(4, "MissionCreated")]
        assert page.next_version is None
        back = await store.read_stream(mission, direction="backwards")
        assert [e.version for e in back.events] == [4]
        meta = await store.stream_metadata(mission)
        assert (meta.version, meta.deleted, meta.hard_deleted) == (4, False, False)
        assert (meta.deleted_version, meta.truncate_before) == (3, None)
        state = await store.aggregate_state(mission)
        assert (state.version, state.status, state.title) == (4, "pending", "new")


async def test_an_append_starts_a_soft_deleted_stream_afresh(store_config: Config) -> None:
    """Half the streams start again in the store that deleted them, half after a restart."""
    expectations: list[object] = [NO_STREAM, 0, 3, ANY, "no_stream", "any", 3, NO_STREAM]
    async with open_store(store_config) as store:
        missions = [await _mission(store, 1) for _ in expectations]
        for mission in missions:
            assert (await store.delete_stream(mission)).version == 3
        await _restart_each(store, missions[:4], expectations[:4])
    async with open_store(store_config) as store:
        await _restart_each(store, missions[4:], expectations[4:])
        listed = (await store.list_streams()).streams
        assert listed == sorted(StreamSummary(m, 4) for m in missions)
    async with open_store(store_config) as store:
        for mission in missions:
            state = await store.aggregate_state(mission)
            assert (state.version, state.status, state.title) == (4, "pending", "new")
            await store.append(mission, [MissionUpdated(title="newer")], expected_version=4)
            page = await store.read_stream(mission)
            assert [e.version for e in page.events] == [4, 5]


async def test_a_restarted_stream_can_be_deleted_again_and_then_hard_deleted(
    store_config: Config,
) -> None:
    async with open_store(store_config) as store:
        mission = await _mission(store, 0)
        assert await store.delete_stream(mission) == DeleteResult(mission, 2, 2, False)
        await store.append(mission, [MissionCreated(title="again")])
        assert await store.delete_stream(mission, expected_version=3) == DeleteResult(
            mission, 4, 4, False
        )
        again = await store.stream_metadata(mission)
        assert (again.deleted_version, again.truncate_before) == (4, None)
        hard = await store.delete_stream(mission, hard=True, expected_version=4)
        assert hard == DeleteResult(mission, 5, 5, True)
        with pytest.raises(StreamDeleted) as raised:
            await store.read_stream(mission)
        _deleted_error(raised, mission, hard=True)
        meta = await store.stream_metadata(mission)
        assert (meta.version, meta.deleted, meta.hard_deleted) == (5, True, True)
        assert (meta.deleted_version, meta.truncate_before) == (5, None)
        log = await _log(store)
        assert [(e.version, e.type) for e in log] == [
            (1, "MissionCreated"),
            (2, DELETION_TYPE),
            (3, "MissionCreated"),
            (4, DELETION_TYPE),
            (5, DELETION_TYPE),
        ]
        assert [e.payload for e in log if e.type == DELETION_TYPE] == [
            StreamDeletion(hard=False),
            StreamDeletion(hard=False),
            StreamDeletion(hard=True),
        ]


async def test_set_stream_metadata_deleted_soft_deletes_and_cannot_undelete(
    store_config: Config,
) -> None:
    async with open_store(store_config) as store:
        mission = await _mission(store, 0)
        live = await store.set_stream_metadata(mission, deleted=False)
        assert (live.version, live.deleted) == (1, False)
        meta = await store.set_stream_metadata(mission, deleted=True, metadata={"k": 1})
        assert (meta.version, meta.deleted, meta.hard_deleted, meta.metadata) == (
            2,
            True,
            False,
            {"k": 1},
        )
        with pytest.raises(StreamDeleted) as raised:
            await store.read_stream(mission)
        _deleted_error(raised, mission, hard=False)
        assert [e.type for e in await _log(store)] == ["MissionCreated", DELETION_TYPE]
        again = await store.set_stream_metadata(mission, deleted=True)
        assert (again.version, again.deleted) == (2, True)
        with pytest.raises(ValidationError, match="cannot be undeleted"):
            await store.set_stream_metadata(mission, deleted=False)
        assert (await store.stream_metadata(mission)).deleted is True
        with pytest.raises(StreamNotFound) as missing:
            await store.set_stream_metadata(generate_mission_id(), deleted=True)
        assert type(missing.value) is StreamNotFound
        assert await store.count() == 2


# -- hard deletion --------------------------------------------------------------------------


async def _every_write_is_refused(store: EventStore, mission: str, bystander: str) -> None:
    """Every way of writing ``mission`` fails with StreamDeleted(hard=True)."""
    attempts = [
        store.append(mission, [MissionCreated(title="x")], expected_version=NO_STREAM),
        store.append(mission, [MissionCreated(title="x")], expected_version=ANY),
        store.append(mission, [MissionUpdated(title="x")], expected_version=STREAM_EXISTS),
        store.execute(mission, lambda state: [MissionCreated(title="x")]),
        store.set_stream_metadata(mission, metadata={"k": 1}),
        store.set_stream_metadata(mission, max_count=1),
        store.set_stream_metadata(mission, deleted=True),
        store.delete_stream(mission),
        store.delete_stream(mission, hard=True),
    ]
    for attempt in attempts:
        with pytest.raises(StreamDeleted) as raised:
            await attempt
        _deleted_error(raised, mission, hard=True)
    with pytest.raises(StreamDeleted) as raised:
        await store.append_many(
            [
                StreamAppend(bystander, [MissionUpdated(title="y")]),
                StreamAppend(mission, [MissionCreated(title="x")]),
            ]
        )
    _deleted_error(raised, mission, hard=True)
    with pytest.raises(StreamDeleted) as raised:
        await store.read_stream(mission)
    _deleted_error(raised, mission, hard=True)


async def test_a_hard_deleted_stream_is_never_written_again(store_config: Config) -> None:
    async with open_store(store_config) as store:
        bystander = await _mission(store, 0)
        mission = await _mission(store, 1)
        assert await store.delete_stream(mission, hard=True) == DeleteResult(mission, 3, 4, True)
        meta = await store.stream_metadata(mission)
        assert (meta.version, meta.deleted, meta.hard_deleted) == (3, True, True)
        assert (meta.deleted_version, meta.truncate_before) == (3, None)
        assert (await store.list_streams()).streams == [StreamSummary(bystander, 1)]
        await _every_write_is_refused(store, mission, bystander)
    async with open_store(store_config) as store:
        await _every_write_is_refused(store, mission, bystander)
        assert await store.stream_version(bystander) == 1
        assert await store.stream_version(mission) == 3
    rows = stored_rows(store_config)
    assert [(row[0] == mission, row[1], row[2], row[4]) for row in rows] == [
        (False, 1, 1, "MissionCreated"),
        (True, 1, 2, "MissionCreated"),
        (True, 2, 3, "MissionUpdated"),
        (True, 3, 4, DELETION_TYPE),
    ]


async def test_a_hard_deletion_by_another_store_is_seen_at_the_next_write(
    store_config: Config,
) -> None:
    async with open_store(store_config) as a, open_store(store_config) as b:
        bystander = await _mission(a, 0)
        mission = await _mission(a, 1)
        assert (await a.aggregate_state(mission)).version == 2
        assert await b.delete_stream(mission, hard=True) == DeleteResult(mission, 3, 4, True)
        with pytest.raises(StreamDeleted) as raised:
            await a.append(mission, [MissionUpdated(title="a")], expected_version=ANY)
        _deleted_error(raised, mission, hard=True)
        await _every_write_is_refused(a, mission, bystander)
        assert await b.stream_version(mission) == 3
    rows = stored_rows(store_config, mission)
    assert [(row[1], row[4]) for row in rows] == [
        (1, "MissionCreated"),
        (2, "MissionUpdated"),
        (3, DELETION_TYPE),
    ]


async def test_a_hard_deletion_by_another_store_refuses_each_kind_of_write(
    store_config: Config,
) -> None:
    """A stale actor of each stream learns of the deletion through its first write."""
    async with open_store(store_config) as a, open_store(store_config) as b:
        bystander = await _mission(a, 0)
        missions = [await _mission(a, 1) for _ in range(3)]
        for mission in missions:
            await b.delete_stream(mission, hard=True)
        writes = [
            a.append(missions[0], [MissionUpdated(title="a")]),
            a.execute(missions[1], lambda state: [MissionUpdated(title="a")]),
            a.append_many(
                [
                    StreamAppend(bystander, [MissionUpdated(title="y")]),
                    StreamAppend(missions[2], [MissionUpdated(title="a")]),
                ]
            ),
        ]
        for write, mission in zip(writes, missions, strict=True):
            with pytest.raises(StreamDeleted) as raised:
                await write
            _deleted_error(raised, mission, hard=True)
        assert await a.stream_version(bystander) == 1
    for mission in missions:
        assert [row[1] for row in stored_rows(store_config, mission)] == [1, 2, 3]


# -- soft deletion seen from another store --------------------------------------------------


async def test_a_soft_deletion_by_another_store_restarts_the_stream_for_a_stale_actor(
    store_config: Config,
) -> None:
    async with open_store(store_config) as a, open_store(store_config) as b:
        mission = await _mission(a, 0)
        assert (await a.aggregate_state(mission)).status == "pending"
        assert await b.delete_stream(mission) == DeleteResult(mission, 2, 2, False)
        with pytest.raises(InvalidTransition):
            await a.append(mission, [MissionUpdated(title="a")], expected_version=ANY)
        with pytest.raises(WrongExpectedVersion) as wrong:
            await a.append(mission, [MissionCreated(title="a")], expected_version=1)
        assert wrong.value.actual == 2
        done = await a.append(mission, [MissionCreated(title="a")], expected_version=ANY)
        assert (done.first_version, done.last_version) == (3, 3)
        page = await b.read_stream(mission)
        assert [(e.version, e.type) for e in page.events] == [(3, "MissionCreated")]
        assert (await b.aggregate_state(mission)).title == "a"


async def test_a_stale_actor_executes_on_the_state_a_soft_deletion_left(
    store_config: Config,
) -> None:
    seen: list[object] = []

    def create_if_new(state: object) -> list[Payload]:
        seen.append(state)
        return [MissionCreated(title="fresh")] if state is None else []

    async with open_store(store_config) as a, open_store(store_config) as b:
        mission = await _mission(a, 0)
        assert await a.execute(mission, create_if_new) is None
        await b.delete_stream(mission)
        done = await a.execute(mission, create_if_new)
        assert done is not None
        assert (done.first_version, done.last_version) == (3, 3)
        assert seen[-1] is None


# -- the global log and subscriptions -------------------------------------------------------


async def _take(subscription, count: int) -> list[Event | CaughtUp]:
    """The next ``count`` items of a subscription (fails after 10 s)."""
    items: list[Event | CaughtUp] = []
    with anyio.fail_after(10):
        async for item in subscription:
            items.append(item)
            if len(items) == count:
                break
    return items


async def test_every_catalog_shows_deletions_in_log_order(store_config: Config) -> None:
    """Typed with an aggregate (cart), typed without (ledger), untyped (audit)."""
    cart, ledger, audit = "cart-c1", "ledger-l1", "audit-a1"
    async with open_store(store_config, catalog=MIXED) as store, store.subscribe() as live:
        assert await _take(live, 1) == [CaughtUp(0)]
        await store.append(cart, [CartOpened(customer="ada")], expected_version=NO_STREAM)
        await store.append(ledger, [Posted(text="p")])
        await store.append(audit, [JsonPayload("Seen", {"n": 1})])
        assert await store.delete_stream(cart) == DeleteResult(cart, 2, 4, False)
        assert await store.delete_stream(ledger, hard=True) == DeleteResult(ledger, 2, 5, True)
        assert await store.delete_stream(audit) == DeleteResult(audit, 2, 6, False)
        # A soft-deleted stream of each kind starts again.
        with pytest.raises(InvalidTransition):
            await store.append(cart, [ItemAdded(sku="tea", quantity=1, unit_price_cents=5)])
        await store.append(cart, [CartOpened(customer="bob")], expected_version=NO_STREAM)
        await store.append(audit, [JsonPayload("Seen", {"n": 2})], expected_version=NO_STREAM)
        with pytest.raises(StreamDeleted):
            await store.append(ledger, [Posted(text="q")])
        delivered = await _take(live, 8)

        expected = [
            (1, cart, 1, "CartOpened", CartOpened(customer="ada")),
            (2, ledger, 1, "Posted", Posted(text="p")),
            (3, audit, 1, "Seen", JsonPayload("Seen", {"n": 1})),
            (4, cart, 2, DELETION_TYPE, StreamDeletion(hard=False)),
            (5, ledger, 2, DELETION_TYPE, StreamDeletion(hard=True)),
            (6, audit, 2, DELETION_TYPE, StreamDeletion(hard=False)),
            (7, cart, 3, "CartOpened", CartOpened(customer="bob")),
            (8, audit, 3, "Seen", JsonPayload("Seen", {"n": 2})),
        ]

        def described(events: Sequence[Event | CaughtUp]) -> list[tuple[object, ...]]:
            return [
                (e.position, e.stream_id, e.version, e.type, e.payload)
                for e in events
                if isinstance(e, Event)
            ]

        assert described(delivered) == expected
        assert described((await store.read_all()).events) == expected
        assert described((await store.read_all(limit=3, from_position=3)).events) == (expected[3:6])
        async with store.subscribe() as catching_up:
            assert described(await _take(catching_up, 8)) == expected
        assert await store.count() == 8
        assert (await store.aggregate_state(cart)) == CartState("open", 3, "bob")
        audit_page = await store.read_stream(audit)
        assert [e.payload for e in audit_page.events] == [JsonPayload("Seen", {"n": 2})]
        assert [s.stream_id for s in (await store.list_streams()).streams] == [audit, cart]
    # The built-in catalog decodes its own streams' records in the same way.
    async with open_store(store_config) as store:
        mission = generate_mission_id()
        await store.append(mission, [MissionCreated(title="t")])
        await store.delete_stream(mission, hard=True)
        events = (await store.read_all(8)).events
        assert [(e.position, e.type, e.payload) for e in events] == [
            (9, "MissionCreated", MissionCreated(title="t")),
            (10, DELETION_TYPE, StreamDeletion(hard=True)),
        ]


async def test_a_log_filter_sees_deletions_of_its_category(store_config: Config) -> None:
    async with open_store(store_config) as store:
        mission = await _mission(store, 0)
        await store.delete_stream(mission)
        by_prefix = (await store.read_all(where=LogFilter(stream_prefix="msn"))).events
        assert [e.type for e in by_prefix] == ["MissionCreated", DELETION_TYPE]
        assert await store.count(where=LogFilter(stream_prefix="msn")) == 2
        assert await store.count(where=LogFilter(stream_prefix="wo")) == 0


# -- deletion while appends are in flight ---------------------------------------------------


@pytest.mark.parametrize("hard", [True, False], ids=["hard", "soft"])
async def test_appends_in_flight_land_before_the_deletion_or_are_refused(
    store_config: Config, hard: bool
) -> None:
    acknowledged: list[int] = []
    refused: list[BaseException] = []
    async with open_store(store_config) as store:
        mission = await _mission(store, 0)
        deletion: list[DeleteResult] = []

        async def update(n: int) -> None:
            try:
                done = await store.append(mission, [MissionUpdated(description=str(n))])
            except (StreamDeleted, InvalidTransition) as exc:
                refused.append(exc)
            else:
                acknowledged.append(done.first_version)

        async def delete() -> None:
            await anyio.sleep(0)
            deletion.append(await store.delete_stream(mission, hard=hard))

        async with anyio.create_task_group() as tasks:
            for n in range(30):
                tasks.start_soon(update, n)
                if n == 10:
                    tasks.start_soon(delete)
        (result,) = deletion
        assert len(acknowledged) + len(refused) == 30
        assert sorted(acknowledged) == list(range(2, result.version))
        for error in refused:
            if hard:
                assert isinstance(error, StreamDeleted)
                assert (error.stream_id, error.hard) == (mission, True)
            else:
                # A soft-deleted mission must be created again before it is updated.
                assert type(error) is InvalidTransition
        log = [e for e in (await store.read_all()).events if e.stream_id == mission]
        assert [e.version for e in log] == list(range(1, result.version + 1))
        assert log[-1].type == DELETION_TYPE
        assert log[-1].position == result.position
        assert [e.position for e in (await store.read_all()).events] == list(
            range(1, result.position + 1)
        )


# -- bad input and read-only stores ---------------------------------------------------------


async def test_bad_deletions_are_refused_and_change_nothing(store_config: Config) -> None:
    async with open_store(store_config) as store:
        mission = await _mission(store, 1)
        for bad in ({"hard": "yes"}, {"hard": 1}, {"hard": None}):
            with pytest.raises(ValidationError, match="invalid hard"):
                await store.delete_stream(mission, **bad)  # type: ignore[arg-type]
        for expected in ("nope", -1, 1.5, True, None):
            with pytest.raises(ValidationError, match="invalid expected version"):
                await store.delete_stream(mission, expected_version=expected)  # type: ignore[arg-type]
        for stream_id in ("nope", "msn-", "", "zzz-abc", 7):
            with pytest.raises(ValidationError):
                await store.delete_stream(stream_id)  # type: ignore[arg-type]
        for wrong_version in (1, 3, NO_STREAM, 0):
            with pytest.raises(WrongExpectedVersion) as wrong:
                await store.delete_stream(mission, expected_version=wrong_version)
            assert wrong.value.actual == 2
        missing = generate_mission_id()
        with pytest.raises(StreamNotFound) as not_found:
            await store.delete_stream(missing)
        assert type(not_found.value) is StreamNotFound
        with pytest.raises(StreamNotFound) as not_found:
            await store.delete_stream(missing, hard=True)
        assert type(not_found.value) is StreamNotFound
        assert await store.count() == 2
        assert [e.version for e in (await store.read_stream(mission)).events] == [1, 2]
        assert await store.delete_stream(mission, expected_version=2) == DeleteResult(
            mission, 3, 3, False
        )
        assert await store.delete_stream(mission, hard=True, expected_version=STREAM_EXISTS) == (
            DeleteResult(mission, 4, 4, True)
        )


async def test_a_read_only_store_reads_deletions_and_deletes_nothing(
    store_config: Config,
) -> None:
    async with open_store(store_config) as store:
        soft, hard, live = [await _mission(store, 0) for _ in range(3)]
        await store.delete_stream(soft)
        await store.delete_stream(hard, hard=True)
    async with open_store(store_config, read_only=True) as store:
        for stream_id, is_hard in ((soft, False), (hard, True)):
            with pytest.raises(StreamDeleted) as raised:
                await store.read_stream(stream_id)
            _deleted_error(raised, stream_id, hard=is_hard)
        writes = [
            store.delete_stream(live),
            store.delete_stream(live, hard=True),
            store.delete_stream(soft, hard=True),
            store.delete_stream(hard),
            store.set_stream_metadata(live, deleted=True),
            store.set_stream_metadata(live, max_count=1),
            store.set_stream_metadata(soft, truncate_before=1),
            store.append(soft, [MissionCreated(title="x")]),
        ]
        for write in writes:
            with pytest.raises(StoreReadOnly):
                await write
        assert [s.stream_id for s in (await store.list_streams()).streams] == [live]
        assert await store.count() == 5
    assert len(stored_rows(store_config)) == 5
