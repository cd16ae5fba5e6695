"""How a request that the actor system failed reaches the caller of the store."""

from __future__ import annotations

import pytest

from actors import ActorCrashed, SystemClosed
from fleet.errors import AppendFailed, StoreClosed, StoreUnavailable
from fleet.store import open_store
from fleet.store.store import _ask_failure
from fleet.vocabulary import MissionCreated, generate_mission_id

STREAM = "msn-01jd8x7k2m3n4p5q6r7s8t9v0w"


def test_a_closed_system_means_a_closed_store() -> None:
    closed = SystemClosed("actor system 'streams' is closed")
    error = _ask_failure(STREAM, closed)
    assert isinstance(error, StoreClosed)
    assert "not accepted" in str(error)
    assert error.__cause__ is closed


def test_a_fleet_error_that_crashed_the_actor_reaches_the_caller_as_itself() -> None:
    database_error = ConnectionError("server closed the connection")
    unavailable = StoreUnavailable("the database cannot be reached")
    unavailable.__cause__ = database_error
    error = _ask_failure(STREAM, ActorCrashed(STREAM, unavailable))
    assert error is unavailable
    assert error.__cause__ is database_error


def test_any_other_crash_is_an_append_of_unknown_outcome() -> None:
    bug = KeyError("head")
    error = _ask_failure(STREAM, ActorCrashed(STREAM, bug))
    assert isinstance(error, AppendFailed)
    assert STREAM in str(error)
    assert "retry with the same event ids" in str(error)
    assert error.__cause__ is bug


@pytest.mark.anyio
async def test_execute_on_a_closed_store_is_refused(store_config) -> None:
    async with open_store(store_config) as store:
        pass
    with pytest.raises(StoreClosed) as caught:
        await store.execute(generate_mission_id(), lambda state: [MissionCreated(title="t")])
    assert isinstance(caught.value.__cause__, SystemClosed)
