"""What every backend can store: the NUL scan of JSON text."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from fleet.core.storable import has_nul, json_has_nul


def test_escaped_nul_is_found_and_escaped_backslashes_are_not() -> None:
    assert json_has_nul(b'{"a":"\\u0000"}')
    assert json_has_nul(b'{"\\u0000":1}')
    assert json_has_nul(b'["\\\\\\u0000"]')  # a backslash, then NUL
    assert not json_has_nul(b'["\\\\u0000"]')  # the text \u0000
    assert not json_has_nul(b'["\\\\\\\\u0000"]')  # two backslashes, then u0000
    assert not json_has_nul(b'{"a":"u0000"}')
    assert has_nul("a\x00")
    assert not has_nul("a\\x00")


def holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    return False


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_the_scan_agrees_with_the_decoded_value(value: object) -> None:
    for encoded in (msgspec.json.encode(value), json.dumps(value).encode()):
        assert json_has_nul(encoded) == holds_nul(value)
