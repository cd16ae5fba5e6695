from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.core import time as ftime


def test_now_is_utc_milliseconds():
    dt = ftime.utc_now()
    assert dt.tzinfo is UTC
    assert dt.microsecond % 1000 == 0


def test_format_known_value():
    assert ftime.format_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert ftime.format_timestamp(1_795_731_461_676) == "2026-11-26T22:17:41.676Z"


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_round_trip(ms):
    assert ftime.parse_timestamp(ftime.format_timestamp(ms)) == ms


def test_offsets_are_honoured():
    assert ftime.parse_timestamp("1970-01-01T01:00:00.000+01:00") == 0


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", ""])
def test_garbage_is_refused(text):
    with pytest.raises(ValueError, match="not an ISO-8601 timestamp"):
        ftime.parse_timestamp(text)


def test_naive_timestamp_is_refused():
    with pytest.raises(ValueError, match="no UTC offset"):
        ftime.parse_timestamp(datetime(2026, 1, 1).isoformat())
