"""The structural checks on request bodies: nesting depth and repeated keys."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.server._errors import Refusal
from fleet.server._json_shape import MAX_DEPTH, check_shape


def refusal(body: bytes) -> str:
    with pytest.raises(Refusal) as refused:
        check_shape(body)
    assert refused.value.status == 400
    return str(refused.value)


def test_depth_up_to_the_bound_passes_and_one_more_is_refused() -> None:
    check_shape(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    check_shape(b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH)
    assert "nested deeper than 32" in refusal(b"[" * (MAX_DEPTH + 1))
    assert "nested deeper than 32" in refusal(b'{"a":' * (MAX_DEPTH + 1))


def test_brackets_and_quotes_inside_strings_are_text() -> None:
    check_shape(json.dumps(["[" * 100, "{" * 100, 'say "[["', "\\[", {"k": "]]]}}}"}]).encode())


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": {"b": 1}, "c": [1, {"d": 1, "d": 2}]}',
        b'[{"x": 1}, {"y": 1, "y": 1}]',
        b'{"a": 1, "\\u0061": 2}',
        b'{"\\u00e9": 1, "\xc3\xa9": 2}',
    ],
)
def test_a_repeated_key_is_refused_at_any_depth(body: bytes) -> None:
    assert "appears twice in one object" in refusal(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "b": {"a": 1}, "c": [{"a": 1}, {"a": 2}]}',
        b'{"a": "a", "b": ["a", "a"]}',
        b'{"a": {}, "b": {}}',
        b'{"\\\\u0061": 1, "a": 2}',
    ],
)
def test_the_same_key_in_different_objects_or_as_a_value_is_fine(body: bytes) -> None:
    check_shape(body)


@pytest.mark.parametrize("body", [b'{"\\x": 1, "\\x": 2}', b"{", b"", b'"unterminated'])
def test_what_is_not_json_is_left_to_the_decoder(body: bytes) -> None:
    check_shape(body)


def test_a_long_key_is_shortened_in_the_message() -> None:
    key = "k" * 500
    message = refusal(json.dumps({key: 1}).replace("}", f', "{key}": 2}}').encode())
    assert len(message) < 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


@given(json_values)
def test_any_document_within_the_depth_bound_passes(value: object) -> None:
    if depth(value) <= MAX_DEPTH:
        check_shape(json.dumps(value).encode())
        check_shape(json.dumps(value, ensure_ascii=False).encode())
