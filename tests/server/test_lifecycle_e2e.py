"""A real daemon scavenging while a client appends and a subscriber follows the log."""

from __future__ import annotations

import httpx
import pytest
import trio

from fleet.client import FleetClient
from fleet.errors import StreamDeleted, ValidationError
from fleet.events import Event, StreamDeletion
from fleet.store import CaughtUp
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.server.conftest import DaemonFactory


async def _whole_log(client: FleetClient) -> list[Event]:
    events: list[Event] = []
    after = 0
    while True:
        page = await client.read_all(after, 500)
        events.extend(page.events)
        after = page.next_position
        if page.end:
            return events


def test_scavenging_beside_appends_and_a_subscriber(
    database_url: str, daemon_factory: DaemonFactory
) -> None:
    daemon = daemon_factory("--database-url", database_url)
    busy, gone, soft, trimmed = (generate_mission_id() for _ in range(4))

    async def run() -> None:
        async with FleetClient(daemon.url, timeout=30) as client:
            for mission in (busy, gone, soft, trimmed):
                await client.append(mission, [MissionCreated(title=mission)])
                await client.append(mission, [MissionUpdated(description=str(n)) for n in range(4)])
            acknowledged: list[int] = []
            received: list[Event] = []
            appending = True

            async def append_all_along() -> None:
                n = 0
                while appending:
                    result = await client.append(busy, [MissionUpdated(description=f"b{n}")])
                    acknowledged.append(result.first_position)
                    n += 1

            async def follow(cancel: trio.CancelScope) -> None:
                with cancel:
                    async with client.subscribe(0) as subscription:
                        async for item in subscription:
                            if not isinstance(item, CaughtUp):
                                received.append(item)

            cancel = trio.CancelScope()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(follow, cancel)
                nursery.start_soon(append_all_along)
                await client.delete_stream(gone, hard=True)
                await client.delete_stream(soft)
                await client.set_stream_metadata(trimmed, max_count=2)
                first = await client.scavenge(batch_size=2)
                await trio.sleep(0.2)
                appending = False
                await trio.sleep(0.2)
                second = await client.scavenge()
                head = await client.head_position()
                with trio.fail_after(20):
                    while not received or received[-1].position < head:
                        await trio.sleep(0.05)
                cancel.cancel()

            assert first.events_removed == 5 + 5 + 3
            assert second.events_removed == 0
            log = await _whole_log(client)
            by_stream: dict[str, list[int]] = {}
            for event in log:
                by_stream.setdefault(event.stream_id, []).append(event.version)
            # Nothing stays that should go...
            assert by_stream[gone] == [6]
            assert by_stream[soft] == [6]
            assert by_stream[trimmed] == [4, 5]
            assert [e.payload for e in log if e.stream_id in (gone, soft)] == [
                StreamDeletion(hard=True),
                StreamDeletion(hard=False),
            ]
            # ...and nothing goes that should stay: every acknowledged append is there.
            positions = {event.position for event in log}
            assert set(acknowledged) <= positions
            assert by_stream[busy] == list(range(1, len(by_stream[busy]) + 1))
            # The subscriber saw every event that still exists, once, in order.
            seen = [event.position for event in received]
            assert seen == sorted(set(seen))
            assert positions <= set(seen)
            trimmed_state = (await client.read_stream(trimmed)).events
            assert [e.version for e in trimmed_state] == [4, 5]
            metadata = await client.stream_metadata(gone)
            assert (metadata.version, metadata.hard_deleted, metadata.deleted) == (6, True, True)
            for stream, hard in ((gone, True), (soft, False)):
                with pytest.raises(StreamDeleted) as refused:
                    await client.read_stream(stream)
                assert (refused.value.stream_id, refused.value.hard) == (stream, hard)
            with pytest.raises(StreamDeleted):
                await client.append(gone, [MissionCreated(title="again")])

    trio.run(run)
    daemon.stop()
    daemon.finish()


def test_two_daemons_on_one_database_agree_on_deletions(
    database_url: str, daemon_factory: DaemonFactory
) -> None:
    first = daemon_factory("--database-url", database_url)
    second = daemon_factory("--database-url", database_url)
    gone, soft = generate_mission_id(), generate_mission_id()

    async def run() -> None:
        async with FleetClient(first.url) as one, FleetClient(second.url) as two:
            for mission in (gone, soft):
                await one.append(mission, [MissionCreated(title=mission)])
                await one.append(mission, [MissionUpdated(description="cached")])
            # The first daemon's actors hold both streams; the second deletes them.
            await two.delete_stream(gone, hard=True)
            await two.delete_stream(soft)
            with pytest.raises(StreamDeleted) as refused:
                await one.append(gone, [MissionUpdated(description="late")])
            assert refused.value.hard
            # A soft-deleted stream starts again from nothing, on either daemon.
            with pytest.raises(ValidationError, match="not allowed"):
                await one.append(soft, [MissionUpdated(description="late")])
            again = await one.append(soft, [MissionCreated(title="again")])
            assert again.first_version == 4
            for daemon in (first, second):
                async with httpx.AsyncClient(base_url=daemon.url) as http:
                    with trio.fail_after(10):
                        missing = await http.get(f"/missions/{gone}")
                        restarted = await http.get(f"/missions/{soft}")
                    assert missing.status_code == 404
                    assert (restarted.status_code, restarted.json()["title"]) == (200, "again")

    trio.run(run)
    for daemon in (first, second):
        daemon.stop()
        daemon.finish()
