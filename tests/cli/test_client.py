"""The daemon client and ``fleet ... --url``, against a real ``fleet serve`` subprocess.

One daemon (with a bearer token, on a SQLite file) serves the whole module.
The few conditions a healthy daemon never produces (a stream that ends, an
``error`` event, an answer that is not fleet's) are played by an in-memory
httpx transport instead.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
import trio

from fleet.client import FleetClient, ServerSentEvent, SseParser
from fleet.core.ids import generate_event_id
from fleet.errors import (
    ConcurrencyError,
    ConfigError,
    DuplicateEvent,
    EventNotFound,
    NotFound,
    StoreError,
    StoreUnavailable,
    StreamNotFound,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.events import Event, EventMetadata, NewEvent
from fleet.store import NO_STREAM, CaughtUp, LogFilter, StreamAppend
from fleet.vocabulary import (
    CATALOG,
    MissionActivated,
    MissionAssigned,
    MissionCreated,
    generate_mission_id,
    generate_work_order_id,
)
from fleet.wire import decode_event
from tests.cli.conftest import Fleet, assert_one_line_error

TOKEN = "t0ken"


class Daemon(NamedTuple):
    url: str
    database_url: str


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """``fleet serve --port 0 --token t0ken`` on a fresh SQLite file, until the module ends."""
    directory = tmp_path_factory.mktemp("daemon")
    database_url = f"sqlite:///{directory / 'fleet.db'}"
    out_path, err_path = directory / "out.log", directory / "err.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "fleet.cli", "serve", "--port", "0", "--token", TOKEN,
             "--database-url", database_url],
            stdout=out, stderr=err, cwd=directory,
        )  # fmt: skip
    try:
        url = ""
        deadline = time.monotonic() + 60
        while not url:
            assert process.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, "the daemon did not start"
            for line in out_path.read_text().splitlines():
                if line.startswith("fleet: listening on "):
                    url = line.removeprefix("fleet: listening on ").strip()
            time.sleep(0.05)
        assert httpx.get(f"{url}/health/live").status_code == 200
        yield Daemon(url, database_url)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def client(daemon: Daemon, token: str = TOKEN) -> FleetClient:
    return FleetClient(daemon.url, token)


@pytest.mark.trio
async def test_append_and_read_back(daemon: Daemon) -> None:
    mission = generate_mission_id()
    async with client(daemon) as fleet:
        created = await fleet.append(
            mission,
            [MissionCreated(title="Remote")],
            expected_version=NO_STREAM,
            metadata=EventMetadata(correlation_id="remote-1"),
        )
        assert (created.first_version, created.last_version) == (1, 1)
        explicit = NewEvent(MissionAssigned(assignee="scout"), metadata=EventMetadata(actor="me"))
        activated = NewEvent(MissionActivated())
        more = await fleet.append(mission, [explicit, activated], expected_version=1)
        assert more.versions == range(2, 4)
        assert await fleet.append(mission, [explicit, activated], expected_version=1) == more

        page = await fleet.read_stream(mission)
        assert [e.version for e in page.events] == [1, 2, 3]
        assert page.events[0].metadata.correlation_id == "remote-1"
        assert page.events[1].event_id == explicit.event_id
        assert page.events[1].metadata.actor == "me"
        assert page.next_version is None
        backwards = await fleet.read_stream(mission, from_version=2, direction="backwards", limit=1)
        assert ([e.version for e in backwards.events], backwards.next_version) == ([2], 1)

        log = await fleet.read_all(
            created.first_position - 1,
            10,
            where=LogFilter(correlation_id="remote-1", stream_prefix="msn"),
        )
        assert [e.event_id for e in log.events] == [page.events[0].event_id]
        assert log.end
        typed = await fleet.read_all(
            0,
            where=LogFilter(
                event_types=["MissionActivated"], recorded_after=0, recorded_before=2**62
            ),
        )
        assert page.events[2].event_id in [e.event_id for e in typed.events]
        assert await fleet.get_event(explicit.event_id) == page.events[1]
        assert await fleet.head_position() == more.last_position


@pytest.mark.trio
@pytest.mark.parametrize("multiplex", [True, False], ids=["multiplexed", "one-by-one"])
async def test_errors_come_back_as_fleet_errors(daemon: Daemon, multiplex: bool) -> None:
    mission = generate_mission_id()
    async with FleetClient(daemon.url, TOKEN, multiplex=multiplex) as fleet:
        await fleet.append(mission, [MissionCreated(title="x")])
        with pytest.raises(WrongExpectedVersion) as stale:
            await fleet.append(mission, [MissionActivated()], expected_version=5)
        assert (stale.value.stream_id, stale.value.expected, stale.value.actual) == (mission, 5, 1)
        with pytest.raises(ValidationError) as wrong_kind:
            await fleet.append(generate_work_order_id(), [MissionCreated(title="x")])
        assert wrong_kind.value.problems
        event = NewEvent(MissionCreated(title="first"), event_id=generate_event_id())
        await fleet.append(generate_mission_id(), [event])
        with pytest.raises(DuplicateEvent):
            await fleet.append(
                generate_mission_id(), [NewEvent(MissionCreated(title="other"), event.event_id)]
            )
        with pytest.raises(StreamNotFound, match="does not exist"):
            await fleet.read_stream(generate_mission_id())
        with pytest.raises(EventNotFound):
            await fleet.get_event(generate_event_id())
        with pytest.raises(ValidationError):
            await fleet.read_all(-1)
        with pytest.raises(ValidationError, match="pass a LogFilter"):
            await fleet.read_all(0, where={"event_types": ["MissionCreated"]})  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="expected version"):
            await fleet.append(mission, [MissionActivated()], expected_version="whenever")


@pytest.mark.trio
async def test_atomic_appends_to_several_streams(daemon: Daemon) -> None:
    first, second = generate_mission_id(), generate_mission_id()
    async with client(daemon) as fleet:
        results = await fleet.append_many(
            [
                StreamAppend(first, [MissionCreated(title="a")], NO_STREAM),
                StreamAppend(second, [MissionCreated(title="b")], NO_STREAM),
            ]
        )
        assert [r.stream_id for r in results] == [first, second]
        with pytest.raises(ConcurrencyError):
            await fleet.append_many(
                [
                    StreamAppend(generate_mission_id(), [MissionCreated(title="c")], NO_STREAM),
                    StreamAppend(second, [MissionActivated()], 7),
                ]
            )
        with pytest.raises(WrongExpectedVersion):
            await fleet.append_many([StreamAppend(first, [MissionActivated()], NO_STREAM)])


@pytest.mark.trio
async def test_token_and_reachability(daemon: Daemon) -> None:
    async with client(daemon, token="wrong") as fleet:
        assert await fleet.live()
        with pytest.raises(ConfigError, match="FLEET_SERVER_TOKEN"):
            await fleet.read_all()
    async with FleetClient("http://127.0.0.1:1", timeout=5) as nowhere:
        with pytest.raises(StoreUnavailable, match="cannot reach"):
            await nowhere.read_all()
    for bad in ("ftp://host", "http://", "http://[::1"):
        with pytest.raises(ConfigError, match="invalid daemon URL"):
            FleetClient(bad)


@pytest.mark.trio
async def test_subscribe_catches_up_then_follows_live(daemon: Daemon) -> None:
    mission = generate_mission_id()
    async with client(daemon) as fleet:
        start = await fleet.head_position()
        await fleet.append(mission, [MissionCreated(title="before")])
        seen: list[Event | CaughtUp] = []
        with trio.fail_after(30):
            async with fleet.subscribe(start, where=LogFilter(stream_prefix="msn")) as subscription:
                async for item in subscription:
                    seen.append(item)
                    if isinstance(item, CaughtUp):
                        assert subscription.caught_up
                        await fleet.append(mission, [MissionActivated()])
                    elif len(seen) == 3:
                        break
        assert isinstance(seen[0], Event)
        assert seen[0].stream_id == mission
        assert isinstance(seen[1], CaughtUp)
        assert isinstance(seen[2], Event)
        assert seen[2].type == "MissionActivated"
        assert subscription.position == seen[2].position

        with trio.fail_after(30):
            async with fleet.subscribe(
                start, where=LogFilter(event_types=["MissionActivated"], correlation_id=None)
            ) as subscription:
                async for batch in subscription.batches(max_events=1):
                    assert [e.position for e in batch] == [seen[2].position]
                    break
            # The daemon takes no recording times: the client tests them.
            async with fleet.subscribe(start, where=LogFilter(recorded_before=1)) as subscription:
                assert await subscription.__anext__() == CaughtUp(seen[2].position)
            with pytest.raises(ValidationError, match="pass a LogFilter"):
                async with fleet.subscribe(0, where="MissionCreated"):  # type: ignore[arg-type]
                    pass


def answers(handler: object) -> FleetClient:
    return FleetClient("http://fleet.test", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def sse(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


@pytest.mark.trio
async def test_odd_answers_become_store_errors(daemon: Daemon) -> None:
    async with answers(lambda request: httpx.Response(200, content=b"<html>")) as fleet:
        with pytest.raises(StoreError, match="is it a fleet daemon"):
            await fleet.read_all()
    bad_event = b'{"events": [{"position": 1}], "next_position": 1, "end": true}'
    async with answers(lambda request: httpx.Response(200, content=bad_event)) as fleet:
        with pytest.raises(StoreError, match="sent an invalid event"):
            await fleet.read_all()
    async with answers(lambda request: httpx.Response(503, content=b"{}")) as fleet:
        with pytest.raises(StoreUnavailable, match="unavailable"):
            await fleet.read_all()
    async with answers(lambda request: httpx.Response(405, content=b"not json")) as fleet:
        with pytest.raises(StoreError, match="answered 405"):
            await fleet.read_all()
    async with answers(lambda request: httpx.Response(404)) as fleet:
        with pytest.raises(NotFound):
            await fleet.read_all()

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with answers(slow) as fleet:
        with pytest.raises(StoreUnavailable, match="did not answer in time"):
            await fleet.read_all()


@pytest.mark.trio
async def test_an_event_stream_that_fails_or_ends(daemon: Daemon) -> None:
    error = json.dumps({"error": {"code": "unavailable", "message": "database down"}}).encode()
    failing = answers(lambda request: sse(b"event: error\ndata: " + error + b"\n\n"))
    async with failing as fleet, fleet.subscribe() as subscription:
        with pytest.raises(StoreUnavailable, match="database down"):
            await subscription.__anext__()
    marker = b'id: 9\nevent: caught-up\ndata: {"position": 9}\n\n: keep-alive\n\n'
    ending = answers(lambda request: sse(marker + b"event: other\ndata: x\n\n"))
    async with ending as fleet, fleet.subscribe(3) as subscription:
        assert await subscription.__anext__() == CaughtUp(9)
        with pytest.raises(StoreUnavailable, match="resume after position 9"):
            async for _ in subscription.batches():
                pass
        with pytest.raises(ValueError, match="max_events"):
            subscription.batches(0)


def test_the_sse_parser_follows_the_rules() -> None:
    parser = SseParser()
    chunks = [b": hello\r\nid: 4\r\nevent: ev", b"ent\r\ndata: a\r\ndata:b\r\n\r", b"\ndata: c\n\n"]
    found = [event for chunk in chunks for event in parser.feed_bytes(chunk)]
    assert found == [ServerSentEvent("event", "a\nb", "4"), ServerSentEvent("message", "c", "4")]
    assert parser.feed("") is None
    assert parser.feed("id: a\0b") is None
    assert parser.feed("data") is None
    assert parser.feed("") == ServerSentEvent("message", "", "4")


def test_the_command_line_through_a_daemon(
    fleet: Fleet, daemon: Daemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    remote = ("--url", daemon.url, "--token", TOKEN)
    mission = generate_mission_id()
    created = fleet(
        "append", mission, '{"type": "MissionCreated", "data": {"title": "Over HTTP"}}',
        "--expected-version", "no_stream", "--json", *remote,
    )  # fmt: skip
    assert created.code == 0, created.err
    position = json.loads(created.out)["first_position"]
    conflict = fleet(
        "append",
        mission,
        '{"type": "MissionActivated", "data": {}}',
        "--expected-version",
        "no_stream",
        *remote,
    )
    assert_one_line_error(conflict, "expected version no_stream")

    monkeypatch.setenv("FLEET_SERVER_TOKEN", TOKEN)
    stream = fleet("read", mission, "--json", "--url", daemon.url)
    assert decode_event(stream.out, CATALOG).position == position
    log = fleet("read", "--from", str(position - 1), "--limit", "1", "--url", daemon.url)
    assert mission in log.out
    assert_one_line_error(
        fleet("read", generate_mission_id(), "--url", daemon.url), "does not exist"
    )

    remote_export = fleet("export", "--url", daemon.url)
    local_export = fleet("export", "--database-url", daemon.database_url)
    assert remote_export.code == 0
    assert remote_export.out == local_export.out
    assert len(remote_export.out.splitlines()) == position

    tailed = fleet(
        "tail", "--from", str(position - 1), "--limit", "1", "--json", "--url", daemon.url
    )
    assert decode_event(tailed.out, CATALOG).stream_id == mission
    monkeypatch.delenv("FLEET_SERVER_TOKEN")
    assert_one_line_error(fleet("read", "--url", daemon.url), "--token")
    assert_one_line_error(fleet("read", "--url", "http://127.0.0.1:1"), "cannot reach")
    assert_one_line_error(fleet("tail", "--url", "http://127.0.0.1:1"), "cannot reach")


def test_tail_through_a_daemon_starts_at_the_end(fleet: Fleet, daemon: Daemon) -> None:
    stop = threading.Event()
    appended: list[str] = []

    async def keep_appending() -> None:
        async with client(daemon) as fleet_client:
            while not stop.is_set():
                await trio.sleep(0.2)
                mission = generate_mission_id()
                await fleet_client.append(mission, [MissionCreated(title="late")])
                appended.append(mission)

    thread = threading.Thread(target=trio.run, args=(keep_appending,))
    thread.start()
    try:
        tailed = fleet("tail", "--limit", "1", "--json", "--url", daemon.url, "--token", TOKEN)
    finally:
        stop.set()
        thread.join()
    assert tailed.code == 0, tailed.err
    assert decode_event(tailed.out, CATALOG).stream_id in appended


def test_projections_through_a_daemon(fleet: Fleet, daemon: Daemon) -> None:
    remote = ("--url", daemon.url, "--token", TOKEN)
    mission = generate_mission_id()
    appended = fleet(
        "append", mission, '{"type": "MissionCreated", "data": {"title": "Listed"}}', *remote
    )
    assert appended.code == 0, appended.err
    listed = fleet("projections", "list", "--json", *remote)
    assert listed.code == 0, listed.err
    names = {row["name"] for row in json.loads(listed.out)}
    assert names == {"missions", "work_orders", "checkpoints"}
    rebuilt = fleet("projections", "rebuild", "missions", "--json", *remote)
    assert rebuilt.code == 0, rebuilt.err
    report = json.loads(rebuilt.out)
    assert report["name"] == "missions"
    assert report["events"] >= 1
    assert_one_line_error(fleet("projections", "rebuild", "nope", *remote), "nope")


@pytest.mark.trio
async def test_concurrent_appends_share_few_requests(daemon: Daemon) -> None:
    streams = [generate_mission_id() for _ in range(300)]

    def requests_so_far() -> float:
        text = httpx.get(f"{daemon.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.text.splitlines()
            if line.startswith("fleet_http_requests_total{") and 'route="/appends"' in line
        )

    before = requests_so_far()
    results = {}
    async with client(daemon) as fleet:

        async def one(stream: str) -> None:
            results[stream] = await fleet.append(stream, [MissionCreated(title=stream)])

        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(one, stream)
        with pytest.raises(WrongExpectedVersion) as refused:
            await fleet.append(streams[0], [MissionActivated()], expected_version=NO_STREAM)
        assert refused.value.actual == 1
    assert {stream: (r.first_version, r.stream_id) for stream, r in results.items()} == {
        stream: (1, stream) for stream in streams
    }
    assert len({r.first_position for r in results.values()}) == 300
    sent = requests_so_far() - before
    assert 2 <= sent <= 60, sent
