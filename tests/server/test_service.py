"""Store calls under a deadline: database trouble is a 503 with a retry hint, never a hang."""

from __future__ import annotations

import sqlite3

import pytest
import trio

from fleet.config import Config, with_overrides
from fleet.core.ids import generate_event_id
from fleet.errors import StoreClosed, StoreUnavailable
from fleet.server import open_service
from fleet.store import open_store
from fleet.vocabulary import generate_mission_id
from tests.server.conftest import created, open_api

pytestmark = pytest.mark.trio


async def test_a_call_past_the_deadline_is_unavailable_and_finishes_in_the_background(
    server_config: Config,
) -> None:
    config = with_overrides(server_config, server={"request_timeout_s": 0.05})
    finished = trio.Event()

    async def slow() -> int:
        await trio.sleep(0.2)
        finished.set()
        return 1

    async with open_store(config) as store, open_service(store, config.server) as service:
        with pytest.raises(StoreUnavailable, match=r"did not answer within 0\.05 s"):
            await service.call(slow)
        assert service.pending_calls == 1
        assert service.metrics.registry.get_sample_value("fleet_store_timeouts_total") == 1
        await service.wait_idle()
        assert finished.is_set()

        async def quick() -> int:
            return 2

        assert await service.call(quick) == 2


async def test_errors_of_the_call_are_raised_to_the_request(server_config: Config) -> None:
    async def failing() -> None:
        raise KeyError("x")

    async with (
        open_store(server_config) as store,
        open_service(store, server_config.server) as service,
    ):
        with pytest.raises(KeyError):
            await service.call(failing)
        assert service.pending_calls == 0


async def test_closing_the_service_cancels_calls_after_the_grace_period(
    server_config: Config,
) -> None:
    config = with_overrides(server_config, server={"shutdown_grace_s": 0.05})
    outcome: list[BaseException] = []

    async with open_store(config) as store, trio.open_nursery() as nursery:
        async with open_service(store, config.server) as service:

            async def request() -> None:
                try:
                    await service.call(trio.sleep_forever)
                except StoreClosed as exc:
                    outcome.append(exc)

            nursery.start_soon(request)
            await trio.sleep(0.01)
            assert service.grace_left() == 0.05
        assert service.closing.is_set()
        assert service.grace_left() == 0.0
    assert isinstance(outcome[0], StoreClosed)


async def test_a_locked_database_answers_503_then_the_retry_finds_the_append(
    server_config: Config,
) -> None:
    config = with_overrides(
        server_config,
        server={"request_timeout_s": 0.2},
        database={"busy_timeout_ms": 3000},
    )
    mission = generate_mission_id()
    events = [created(event_id=generate_event_id())]
    async with open_api(config) as api:
        path = api.store.database.sqlite_file
        assert path is not None
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            with trio.fail_after(2):
                refused = await api.client.post(
                    f"/streams/{mission}/events", json={"events": events}
                )
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["error"]["code"] == "unavailable"
            assert "retry with the same event ids" in refused.json()["error"]["message"]
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        await api.service.wait_idle()
        retried = await api.client.post(f"/streams/{mission}/events", json={"events": events})
        assert retried.status_code == 200
        assert retried.json()["last_version"] == 1
        metrics = (await api.client.get("/metrics")).text
        assert "fleet_store_timeouts_total 1.0" in metrics.splitlines()


async def test_the_database_refusing_a_commit_is_503(server_config: Config) -> None:
    config = with_overrides(server_config, database={"busy_timeout_ms": 50})
    async with open_api(config) as api:
        path = api.store.database.sqlite_file
        assert path is not None
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            refused = await api.client.post(
                f"/streams/{generate_mission_id()}/events", json={"events": [created()]}
            )
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert (await api.client.get("/events")).json()["events"] == []
