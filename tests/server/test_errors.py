"""The one table from exception to HTTP status, code and body."""

from __future__ import annotations

import msgspec
import pytest

from fleet.errors import (
    AppendFailed,
    ConcurrencyError,
    ConfigError,
    DuplicateEvent,
    EventNotFound,
    InvalidTransition,
    SchemaOutOfDate,
    StoreClosed,
    StoreUnavailable,
    StreamCorrupt,
    StreamNotFound,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.server._errors import Refusal, error_reply, problem_from_decode_error
from fleet.server._schemas import Problem


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (WrongExpectedVersion("msn-1", 3, 4), 409, "wrong_expected_version"),
        (ConcurrencyError("kept moving"), 409, "conflict"),
        (DuplicateEvent("dup", ["evt-1"]), 409, "duplicate_event"),
        (InvalidTransition("mission", "completed", "MissionActivated"), 422, "invalid_transition"),
        (ValidationError("bad", [("events[0].type", "unknown")]), 422, "validation_failed"),
        (StreamNotFound("msn-1"), 404, "not_found"),
        (EventNotFound("evt-1"), 404, "not_found"),
        (StoreUnavailable("locked"), 503, "unavailable"),
        (StoreClosed("closed"), 503, "unavailable"),
        (AppendFailed("failed"), 503, "unavailable"),
        (SchemaOutOfDate("old"), 503, "unavailable"),
        (StreamCorrupt("msn-1", "bad row"), 500, "internal_error"),
        (ConfigError("oops"), 500, "internal_error"),
        (RuntimeError("secret detail"), 500, "internal_error"),
        (Refusal(413, "body_too_large", "too\nlarge", [("body", "big")]), 413, "body_too_large"),
    ],
)
def test_status_and_code(exc: Exception, status: int, code: str) -> None:
    reply = error_reply(exc)
    assert (reply.status, reply.code) == (status, code)
    assert "\n" not in reply.body.error.message
    assert "secret" not in reply.body.error.message
    assert ("Retry-After" in reply.headers) == (status == 503)


def test_wrong_expected_version_carries_expected_and_actual() -> None:
    body = msgspec.json.decode(
        msgspec.json.encode(error_reply(WrongExpectedVersion("m", "no_stream", 2)).body)
    )
    assert body["error"]["expected"] == "no_stream"
    assert body["error"]["actual"] == 2
    absent = msgspec.json.decode(
        msgspec.json.encode(error_reply(WrongExpectedVersion("m", 1, None)).body)
    )
    assert absent["error"]["actual"] is None
    other = msgspec.json.decode(msgspec.json.encode(error_reply(StreamNotFound("m")).body))
    assert set(other["error"]) == {"code", "message", "problems"}


def test_problems_are_kept_or_made_up() -> None:
    assert error_reply(ValidationError("bad", [("a", "b")])).body.error.problems == [
        Problem("a", "b")
    ]
    assert error_reply(ValidationError("bad")).body.error.problems == [Problem("request", "bad")]
    assert error_reply(Refusal(401, "unauthorized", "", headers={"X": "y"})).headers == {"X": "y"}


class Shape(msgspec.Struct, forbid_unknown_fields=True):
    items: list[int]


@pytest.mark.parametrize(
    ("data", "root", "expected"),
    [
        (b'{"items": ["x"]}', "", ("items[0]", "Expected `int`, got `str`")),
        (b'{"items": ["x"]}', "appends[1]", ("appends[1].items[0]", "Expected `int`, got `str`")),
        (b"[]", "", ("body", "Expected `object`, got `array`")),
        (b"[]", "share", ("share", "Expected `object`, got `array`")),
    ],
)
def test_problem_paths_from_msgspec(data: bytes, root: str, expected: tuple[str, str]) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(data, type=Shape)
    assert problem_from_decode_error(info.value, root) == expected


def test_a_list_at_the_root_is_indexed_under_the_root() -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(b'[1, "x"]', type=list[int])
    assert problem_from_decode_error(info.value, "events")[0] == "events[1]"


def test_a_message_without_location_is_the_whole_body() -> None:
    assert problem_from_decode_error(msgspec.ValidationError("odd")) == ("body", "odd")


def test_a_500_names_the_request_id_it_was_logged_under() -> None:
    reply = error_reply(RuntimeError("secret"), "req-7")
    assert reply.body.error.request_id == "req-7"
    assert "req-7" in reply.body.error.message
    assert error_reply(RuntimeError("secret")).body.error.request_id is msgspec.UNSET
