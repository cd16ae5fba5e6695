"""``fleet stream`` and ``fleet delete``: a stream's settings and deletion from the command line."""

from __future__ import annotations

import json

from tests.cli.conftest import Fleet, assert_one_line_error

CREATED = '{"type": "MissionCreated", "data": {"title": "t"}}'
UPDATED = '{"type": "MissionUpdated", "data": {"description": "d"}}'


def _mission(fleet: Fleet, url: str, events: int) -> str:
    stream = fleet("id", "msn").out.strip()
    assert fleet("append", stream, CREATED, "--database-url", url).code == 0
    for _ in range(events - 1):
        assert fleet("append", stream, UPDATED, "--database-url", url).code == 0
    return stream


def test_retention_is_set_shown_and_cleared(fleet: Fleet, sqlite_url: str) -> None:
    stream = _mission(fleet, sqlite_url, 4)
    shown = fleet("stream", stream, "--max-count", "2", "--database-url", sqlite_url)
    assert shown.code == 0, shown
    assert shown.out.splitlines() == [
        f"stream: {stream}",
        "version: 4",
        "state: live",
        "max_count: 2",
        "max_age_s: none",
        "truncate_before: none",
    ]
    read = fleet("read", stream, "--json", "--database-url", sqlite_url)
    assert [json.loads(line)["version"] for line in read.out.splitlines()] == [3, 4]
    cleared = fleet(
        "stream", stream, "--max-count", "none", "--truncate-before", "2", "--json",
        "--database-url", sqlite_url,
    )  # fmt: skip
    settings = json.loads(cleared.out)
    assert (settings["max_count"], settings["truncate_before"]) == (None, 2)
    read = fleet("read", stream, "--json", "--database-url", sqlite_url)
    assert [json.loads(line)["version"] for line in read.out.splitlines()] == [2, 3, 4]


def test_delete_soft_then_hard(fleet: Fleet, sqlite_url: str) -> None:
    stream = _mission(fleet, sqlite_url, 2)
    wrong = fleet("delete", stream, "--expected-version", "5", "--database-url", sqlite_url)
    assert_one_line_error(wrong, "expected version 5")
    soft = fleet("delete", stream, "--expected-version", "2", "--database-url", sqlite_url)
    assert soft.out.strip() == (
        f"deleted {stream} (an append starts it again): its deletion is version 3, position 3"
    )
    assert_one_line_error(fleet("read", stream, "--database-url", sqlite_url), "was deleted")
    state = fleet("stream", stream, "--database-url", sqlite_url).out.splitlines()
    assert state[1:3] == ["version: 3", "state: deleted"]
    hard = fleet("delete", stream, "--hard", "--json", "--database-url", sqlite_url)
    assert json.loads(hard.out) == {
        "stream_id": stream,
        "version": 4,
        "position": 4,
        "hard": True,
    }
    refused = fleet("append", stream, CREATED, "--database-url", sqlite_url)
    assert_one_line_error(refused, "deleted permanently")


def test_bad_arguments_are_one_line_errors(fleet: Fleet, sqlite_url: str) -> None:
    stream = _mission(fleet, sqlite_url, 1)
    bad = fleet("stream", stream, "--max-count", "0", "--database-url", sqlite_url)
    assert_one_line_error(bad, "invalid max_count: '0'")
    missing = fleet("delete", "msn-nope", "--database-url", sqlite_url)
    assert_one_line_error(missing, "invalid stream id")
    nothing = fleet("delete", fleet("id", "msn").out.strip(), "--database-url", sqlite_url)
    assert_one_line_error(nothing, "does not exist")
