"""LogFilter: checked when made, and the database and memory select the same events."""

from __future__ import annotations

import msgspec
import pytest

from fleet.core.storable import LARGEST_STORED_INT, NUL_REFUSED
from fleet.errors import ValidationError
from fleet.events import EventMetadata
from fleet.store import LogFilter, open_store
from fleet.vocabulary import (
    MissionCreated,
    MissionUpdated,
    WorkOrderCreated,
    generate_mission_id,
    generate_work_order_id,
)


@pytest.mark.parametrize(
    ("conditions", "problems"),
    [
        (
            {"event_types": ["no such event"]},
            [("event_types[0]", "not an event type name: 'no such event'")],
        ),
        (
            {"event_types": ["MissionCreated", 7]},
            [("event_types[1]", "not an event type name: 7")],
        ),
        (
            {"event_types": "MissionCreated"},
            [("event_types", "must be a list of event type names")],
        ),
        ({"event_types": None}, [("event_types", "must be a list of event type names")]),
        ({"stream_prefix": "Msn"}, [("stream_prefix", "'Msn' is not a stream category name")]),
        ({"stream_prefix": "msn-"}, [("stream_prefix", "'msn-' is not a stream category name")]),
        ({"correlation_id": ""}, [("correlation_id", "must be 1 to 128 characters")]),
        ({"correlation_id": "c" * 129}, [("correlation_id", "must be 1 to 128 characters")]),
        ({"correlation_id": 5}, [("correlation_id", "must be 1 to 128 characters")]),
        ({"correlation_id": "a\x00b"}, [("correlation_id", NUL_REFUSED)]),
        ({"recorded_after": -3}, [("recorded_after", "-3 is not a time in epoch milliseconds")]),
        (
            {"recorded_before": LARGEST_STORED_INT + 1},
            [("recorded_before", f"{LARGEST_STORED_INT + 1} is not a time in epoch milliseconds")],
        ),
        (
            {"recorded_after": True},
            [("recorded_after", "True is not a time in epoch milliseconds")],
        ),
        (
            {"recorded_after": 10, "recorded_before": 10},
            [("recorded_before", "must be later than recorded_after")],
        ),
        (
            {"event_types": ["1Nope"], "stream_prefix": "x y", "recorded_after": -1},
            [
                ("event_types[0]", "not an event type name: '1Nope'"),
                ("stream_prefix", "'x y' is not a stream category name"),
                ("recorded_after", "-1 is not a time in epoch milliseconds"),
            ],
        ),
    ],
)
def test_a_filter_is_checked_when_made(conditions, problems) -> None:
    with pytest.raises(ValidationError) as refused:
        LogFilter(**conditions)
    assert refused.value.problems == tuple(problems)
    where, why = problems[0]
    assert str(refused.value) == f"invalid filter: {where}: {why}"


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        (
            LogFilter(event_types=["Nope"]),
            (
                "event_types[0]",
                "unknown event type 'Nope' (the catalog's categories: chk, msn, wo)",
            ),
        ),
        (LogFilter(stream_prefix="order"), ("stream_prefix", "'order' is not one of chk, msn, wo")),
    ],
)
@pytest.mark.trio
async def test_a_store_refuses_a_filter_naming_what_its_catalog_cannot_hold(
    store_config, where, problem
) -> None:
    async with open_store(store_config) as store:
        for read in (
            lambda: store.read_all(0, 10, where=where),
            lambda: store.count(where=where),
        ):
            with pytest.raises(ValidationError) as refused:
                await read()
            assert refused.value.problems == (problem,)
        with pytest.raises(ValidationError):
            store.subscribe(0, where=where)


def test_a_filter_is_also_checked_when_replaced_or_decoded() -> None:
    with pytest.raises(ValidationError, match="stream_prefix"):
        msgspec.structs.replace(LogFilter(), stream_prefix="-evt")
    with pytest.raises(ValidationError, match="event_types"):
        msgspec.json.decode(b'{"event_types": ["No pe"]}', type=LogFilter)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(b'{"types": []}', type=LogFilter)


def test_a_filter_is_a_value() -> None:
    where = LogFilter(event_types=["MissionCreated", "MissionUpdated"], stream_prefix="msn")
    assert where.event_types == ("MissionCreated", "MissionUpdated")
    assert where == LogFilter(event_types=("MissionCreated", "MissionUpdated"), stream_prefix="msn")
    assert hash(where) == hash(msgspec.structs.replace(where))
    assert repr(LogFilter(stream_prefix="wo")) == "LogFilter(stream_prefix='wo')"
    with pytest.raises(AttributeError):
        where.stream_prefix = "wo"  # type: ignore[misc]
    with pytest.raises(TypeError):
        LogFilter(["MissionCreated"])  # type: ignore[call-arg]
    assert LogFilter().matches_all
    assert LogFilter(event_types=[]).matches_all
    assert not LogFilter(recorded_before=1).matches_all


@pytest.mark.parametrize(
    ("where", "fields", "expected"),
    [
        (LogFilter(), ("MissionCreated", "msn-1", None, 5), True),
        (LogFilter(event_types=["MissionCreated"]), ("MissionCreated", "msn-1", None, 5), True),
        (LogFilter(event_types=["MissionCreated"]), ("MissionUpdated", "msn-1", None, 5), False),
        (LogFilter(stream_prefix="msn"), ("MissionCreated", "msn-1", None, 5), True),
        (LogFilter(stream_prefix="msn"), ("WorkOrderCreated", "wo-1", None, 5), False),
        (LogFilter(stream_prefix="msn"), ("MissionCreated", "msnx-1", None, 5), False),
        (LogFilter(stream_prefix="msn"), ("MissionCreated", "msn", None, 5), False),
        (LogFilter(correlation_id="c"), ("MissionCreated", "msn-1", "c", 5), True),
        (LogFilter(correlation_id="c"), ("MissionCreated", "msn-1", None, 5), False),
        (LogFilter(correlation_id="c"), ("MissionCreated", "msn-1", "d", 5), False),
        (LogFilter(recorded_after=5), ("MissionCreated", "msn-1", None, 5), True),
        (LogFilter(recorded_after=6), ("MissionCreated", "msn-1", None, 5), False),
        (LogFilter(recorded_before=6), ("MissionCreated", "msn-1", None, 5), True),
        (LogFilter(recorded_before=5), ("MissionCreated", "msn-1", None, 5), False),
    ],
)
def test_matching_fields(where, fields, expected) -> None:
    assert where.matches_fields(*fields) is expected


@pytest.mark.anyio
async def test_the_database_and_memory_select_the_same_events(store_config) -> None:
    mission, order = generate_mission_id(), generate_work_order_id()
    async with open_store(store_config) as store:
        first = await store.append(mission, [MissionCreated(title="t")])
        await store.append(
            mission,
            [MissionUpdated(description="d")],
            metadata=EventMetadata(correlation_id="req-1"),
        )
        await store.append(
            order,
            [WorkOrderCreated(mission_id=mission, title="w")],
            metadata=EventMetadata(correlation_id="req-1"),
        )
        log = (await store.read_all()).events
        at = log[1].recorded_at
        filters = [
            LogFilter(),
            LogFilter(event_types=["MissionCreated", "WorkOrderCreated"]),
            LogFilter(stream_prefix="wo"),
            LogFilter(correlation_id="req-1"),
            LogFilter(correlation_id="req-1", stream_prefix="msn"),
            LogFilter(recorded_after=at),
            LogFilter(recorded_before=at),
            LogFilter(recorded_after=at, recorded_before=at + 1),
        ]
        for where in filters:
            page = await store.read_all(first.first_position - 1, where=where)
            assert page.events == [event for event in log if where.matches(event)], where
            assert await store.count(where=where) == len(page.events)
