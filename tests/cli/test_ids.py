"""``fleet id``: fresh ids of each kind, usable at once."""

from __future__ import annotations

import pytest

from fleet.core.ids import extract_prefix, is_valid_prefix_id
from tests.cli.conftest import Fleet, assert_one_line_error


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [
        ("msn", "msn"),
        ("wo", "wo"),
        ("chk", "chk"),
        ("evt", "evt"),
    ],
)
def test_prints_one_fresh_id_of_the_kind(fleet: Fleet, kind: str, prefix: str) -> None:
    result = fleet("id", kind)
    assert result.code == 0
    assert result.err == ""
    (line,) = result.out.splitlines()
    assert is_valid_prefix_id(line, prefix)
    assert extract_prefix(line) == prefix


def test_many_ids_are_distinct_and_time_ordered(fleet: Fleet) -> None:
    lines = fleet("id", "evt", "-n", "50").out.splitlines()
    assert len(lines) == 50
    assert len(set(lines)) == 50
    assert lines == sorted(lines)


def test_the_id_it_prints_names_a_stream_append_accepts(fleet: Fleet) -> None:
    stream = fleet("id", "msn").out.strip()
    appended = fleet("append", stream, '{"type": "MissionCreated", "data": {"title": "t"}}')
    assert appended.code == 0, appended.err
    assert fleet("read", stream).code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("id", "msn", "-n", "0"), "invalid count"),
        (("id", "msn", "-n", "x"), "invalid count"),
        (("id",), "KIND"),
    ],
)
def test_mistakes_are_usage_errors(fleet: Fleet, args: tuple[str, ...], needle: str) -> None:
    assert_one_line_error(fleet(*args), needle, code=2)


def test_a_category_the_catalog_lacks_is_refused_naming_those_it_has(fleet: Fleet) -> None:
    assert_one_line_error(fleet("id", "order"), "no stream category 'order'", "chk, msn, wo")


def test_the_categories_are_those_of_the_configured_catalog(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_STORE_CATALOG", "examples.cart.catalog:CATALOG")
    (line,) = fleet("id", "cart").out.splitlines()
    assert is_valid_prefix_id(line, "cart")
    assert_one_line_error(fleet("id", "msn"), "no stream category 'msn'", "audit, cart")


def test_an_invalid_stream_id_is_refused_with_the_form_and_an_example(fleet: Fleet) -> None:
    result = fleet("append", "msn-ridge", '{"type": "MissionCreated", "data": {"title": "t"}}')
    assert_one_line_error(
        result, "invalid stream id 'msn-ridge'", "msn-01jd8x7k2m3n4p5q6r7s8t9v0w", "fleet id msn"
    )
    assert_one_line_error(fleet("append", "order-1", "[]"), "no stream category 'order'")


def test_an_invalid_event_id_is_refused_with_the_form_and_an_example(fleet: Fleet) -> None:
    stream = fleet("id", "msn").out.strip()
    event = '{"type": "MissionCreated", "data": {"title": "t"}, "event_id": "evt-bad"}'
    assert_one_line_error(
        fleet("append", stream, event),
        "invalid event id 'evt-bad'",
        "evt-01jd8x7k2m3n4p5q6r7s8t9v0w",
        "fleet id evt",
    )
