"""``fleet read``: a stream or the global log, table or JSON lines, filters and paging."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.cli.read import EventPrinter, parse_time
from fleet.config import Config
from fleet.core.time import format_timestamp
from fleet.vocabulary import CATALOG
from fleet.wire import decode_event
from tests.cli.conftest import Fleet, assert_one_line_error, seed, seed_bulk


def positions(out: str) -> list[int]:
    return [decode_event(line, CATALOG).position for line in out.splitlines()]


def test_the_log_as_a_table(fleet: Fleet, sqlite_url: str, sqlite_config: Config) -> None:
    seeded = seed(sqlite_config)
    result = fleet("read", "--database-url", sqlite_url)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["POSITION", "STREAM", "VERSION", "TYPE", "RECORDED", "DATA"]
    assert len(lines) == 1 + seeded.events
    first = lines[1].split(maxsplit=5)
    assert first[:4] == ["1", seeded.missions[0], "1", "MissionCreated"]
    assert first[5].startswith('{"title":"Mission 0"')
    assert "…" in first[5]
    assert len(first[5]) == 60


def test_the_log_as_json_lines_pages_through_everything(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, small_pages: int
) -> None:
    seeded = seed(sqlite_config)
    result = fleet("read", "--json", "--database-url", sqlite_url)
    assert positions(result.out) == list(range(1, seeded.events + 1))
    limited = fleet("read", "--json", "--from", "2", "--limit", "5", "--database-url", sqlite_url)
    assert positions(limited.out) == [3, 4, 5, 6, 7]


def test_a_stream_forwards_backwards_and_from_a_version(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, small_pages: int
) -> None:
    seeded = seed(sqlite_config)
    mission = seeded.missions[1]
    url = ("--database-url", sqlite_url)

    def versions(*args: str) -> list[int]:
        result = fleet("read", mission, "--json", *args, *url)
        assert result.code == 0, result.err
        events = [decode_event(line, CATALOG) for line in result.out.splitlines()]
        assert {e.stream_id for e in events} <= {mission}
        return [e.version for e in events]

    assert versions() == [1, 2, 3]
    assert versions("--backwards") == [3, 2, 1]
    assert versions("--backwards", "--limit", "2") == [3, 2]
    assert versions("--from", "2") == [2, 3]
    assert versions("--from", "2", "--backwards") == [2, 1]
    assert versions("--type", "MissionAssigned") == [2]
    assert versions("--correlation-id", "corr-1") == [1]
    assert versions("--limit", "1", "--type", "MissionActivated") == [3]

    table = fleet("read", mission, *url)
    assert [line.split()[2] for line in table.out.splitlines()[1:]] == ["1", "2", "3"]


def test_log_filters(fleet: Fleet, sqlite_url: str, sqlite_config: Config) -> None:
    seeded = seed(sqlite_config)
    url = ("--database-url", sqlite_url)

    def found(*args: str) -> list[str]:
        result = fleet("read", "--json", *args, *url)
        assert result.code == 0, result.err
        return [decode_event(line, CATALOG).type for line in result.out.splitlines()]

    assert found("--prefix", "wo") == ["WorkOrderCreated"] * len(seeded.work_orders)
    both = found("--type", "MissionAssigned", "--type", "WorkOrderCreated")
    assert sorted(set(both)) == ["MissionAssigned", "WorkOrderCreated"]
    assert found("--correlation-id", "corr-2") == ["MissionCreated"]
    assert found("--correlation-id", "nobody") == []
    assert len(found("--since", "0")) == seeded.events
    assert found("--until", "1970-01-01T00:00:01+00:00") == []
    assert len(found("--since", format_timestamp(0))) == seeded.events


def test_an_empty_result_still_has_a_header(fleet: Fleet, sqlite_url: str) -> None:
    assert fleet("db", "upgrade", "--database-url", sqlite_url).code == 0
    result = fleet("read", "--database-url", sqlite_url)
    assert (result.code, result.err) == (0, "")
    assert result.out.split() == ["POSITION", "STREAM", "VERSION", "TYPE", "RECORDED", "DATA"]
    assert fleet("read", "--json", "--database-url", sqlite_url).out == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("msn-01m8d83e3z652qk3zddhspwh5e",), "does not exist"),
        (("--backwards",), "--backwards needs a STREAM_ID"),
        (("msn-01m8d83e3z652qk3zddhspwh5e", "--prefix", "msn"), "cannot be combined"),
        (("x-1",), "invalid stream id"),
        (("--type", "Nope"), "Nope"),
    ],
)
def test_mistakes_are_one_line(
    fleet: Fleet, sqlite_url: str, args: tuple[str, ...], needle: str
) -> None:
    assert fleet("db", "upgrade", "--database-url", sqlite_url).code == 0
    assert_one_line_error(fleet("read", *args, "--database-url", sqlite_url), needle)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--limit", "0"), "expected a number >= 1"),
        (("--limit", "many"), "expected a whole number"),
        (("--from", "-1"), "expected a whole number"),
        (("--since", "yesterday"), "not an ISO-8601 timestamp"),
        (("--since", "2026-01-01T00:00:00"), "no UTC offset"),
        (("--prefix", "xyz"), "invalid choice"),
    ],
)
def test_bad_flags_are_usage_errors(fleet: Fleet, args: tuple[str, ...], needle: str) -> None:
    assert_one_line_error(fleet("read", *args), needle, code=2)


def test_parse_time_takes_epoch_ms_or_iso() -> None:
    assert parse_time("1500") == 1500
    assert parse_time("1970-01-01T00:00:01.5+00:00") == 1500


def test_the_data_column_follows_the_terminal_width(
    sqlite_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import shutil

    import trio

    from fleet.store import open_store

    seed(sqlite_config, missions=1, work_orders=0)

    async def first_event():
        async with open_store(sqlite_config) as store:
            return (await store.read_all(0, 1)).events

    events = trio.run(first_event)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(shutil, "get_terminal_size", lambda: os.terminal_size((140, 40)))
    out = Terminal()
    EventPrinter(out, json=False).write(events)
    rows = out.getvalue().splitlines()
    assert len(rows[1]) == 140
    assert rows[1].endswith("…")


def test_a_closed_pipe_ends_the_read_quietly(
    sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    seed_bulk(sqlite_config, 400)
    with subprocess.Popen(
        [sys.executable, "-m", "fleet.cli", "read", "--json", "--database-url", sqlite_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    ) as reader:
        assert reader.stdout is not None
        assert reader.stderr is not None
        first = reader.stdout.readline()
        reader.stdout.close()
        err = reader.stderr.read()
        assert reader.wait(timeout=60) == 0, err
    assert err == b""
    assert decode_event(first, CATALOG).position == 1
