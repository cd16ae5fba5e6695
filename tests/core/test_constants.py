"""The generic layers' permanent forms: categories, stream keys, event type names."""

import re

import pytest

from fleet.core import constants


def test_version():
    assert constants.FLEETTOOLS_VERSION.count(".") == 2


def test_event_ids_have_their_own_prefix_of_category_form():
    assert constants.EVENT_ID_PREFIX == "evt"
    assert re.fullmatch(constants.CATEGORY_PATTERN, constants.EVENT_ID_PREFIX)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("a", True),
        ("order", True),
        ("snake_case9", True),
        ("m" * 32, True),
        ("m" * 33, False),
        ("", False),
        ("Order", False),
        ("9lives", False),
        ("_x", False),
        ("with-dash", False),
    ],
)
def test_category_pattern(name, ok):
    assert (re.fullmatch(constants.CATEGORY_PATTERN, name, re.ASCII) is not None) is ok


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("1001", True),
        ("7f3A", True),
        ("a.b-c_d", True),
        ("", False),
        ("-a", False),
        (".a", False),
        ("_a", False),
        ("a b", False),
        ("a/b", False),
    ],
)
def test_stream_key_pattern(key, ok):
    assert (re.fullmatch(constants.STREAM_KEY_PATTERN, key, re.ASCII) is not None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("OrderPlaced", True),
        ("order.placed", True),
        ("com.example:Order-Placed_v2", True),
        ("x", True),
        ("x" * constants.MAX_EVENT_TYPE_LENGTH, True),
        ("x" * (constants.MAX_EVENT_TYPE_LENGTH + 1), False),
        ("", False),
        ("1Order", False),
        ("_Order", False),
        ("Order Placed", False),
        ("Order/Placed", False),
    ],
)
def test_event_type_pattern(name, ok):
    assert (re.fullmatch(constants.EVENT_TYPE_PATTERN, name, re.ASCII) is not None) is ok


def test_lengths():
    assert constants.MAX_STREAM_ID_LENGTH == 128
    assert constants.MAX_EVENT_TYPE_LENGTH == 128


def test_no_domain_vocabulary_is_left_in_core():
    for gone in ("ID_PREFIXES", "STREAM_PREFIXES", "PRIORITIES", "MISSION_STATUSES"):
        assert not hasattr(constants, gone)
