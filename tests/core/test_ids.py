"""Ids: time-ordered prefixed ids, event ids and the generic stream-id form."""

import re
import subprocess
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.core import ids
from fleet.core.constants import CATEGORY_PATTERN, MAX_STREAM_ID_LENGTH
from fleet.core.time import now_ms

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


@pytest.mark.parametrize("prefix", ["order", "cart", "a", "x1", "snake_case", "m" * 32, "evt"])
def test_generated_ids_have_prefix_and_shape(prefix):
    value = ids.generate_id(prefix)
    assert value.startswith(prefix + "-")
    assert ids.is_valid_prefix_id(value, prefix)
    assert ids.extract_prefix(value) == prefix
    assert value == value.lower()
    assert len(value) == len(prefix) + 1 + ids.BODY_LENGTH


def test_event_ids_have_the_event_prefix():
    value = ids.generate_event_id()
    assert value.startswith(f"{ids.EVENT_ID_PREFIX}-")
    assert ids.is_valid_prefix_id(value, "evt")
    assert ids.parse_event_id(value) == value


@pytest.mark.parametrize(
    "prefix", ["", "Order", "1order", "_x", "or-der", "or der", "m" * 33, "ördér", None, 7]
)
def test_prefixes_not_shaped_like_a_category_are_refused(prefix):
    with pytest.raises(ValueError, match="invalid id prefix") as info:
        ids.generate_id(prefix)
    assert "lowercase letter" in str(info.value)


def test_ids_sort_by_generation_order():
    values = [ids.generate_id("evt") for _ in range(10_000)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_id_carries_its_creation_time():
    before = now_ms()
    value = ids.generate_id("order")
    after = now_ms()
    assert before <= ids.id_timestamp_ms(value) <= after + 1


def test_ids_unique_across_threads():
    results: list[list[str]] = [[] for _ in range(8)]

    def work(slot: list[str]) -> None:
        slot.extend(ids.generate_event_id() for _ in range(5_000))

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [v for r in results for v in r]
    assert len(set(everything)) == len(everything)
    for r in results:
        assert r == sorted(r)


def test_random_part_overflow_moves_to_next_millisecond():
    clock = ids._Clock()
    first = clock.next_value()
    clock._random = ids._MAX_RANDOM
    second = clock.next_value()
    assert second > first
    assert second & ids._MAX_RANDOM == 0 or (second >> 80) > (first >> 80)


def test_an_event_id_made_at_a_given_time_spells_it_and_stays_ordered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids, "_clock", ids._Clock())
    at = ids.now_ms() + 60_000  # ahead of the real clock
    first = ids.generate_event_id(at)
    assert ids.id_timestamp_ms(first) == at
    earlier = ids.generate_event_id(at - 5_000)  # a caller's older clock read
    also = ids.generate_event_id()  # the real clock, also behind
    assert first < earlier < also
    assert ids.id_timestamp_ms(earlier) == ids.id_timestamp_ms(also) == at  # never goes back


def _decoded(body: str) -> int:
    number = 0
    for char in body:
        number = (number << 5) | ids._VALUES[char]
    return number


def test_body_spells_time_and_random_part_across_cache_refreshes() -> None:
    clock = ids._Clock()
    bodies = [clock.next_body(1_800_000_000_123)]
    clock._random |= 0x3FE  # the next two ids carry past the low ten bits
    bodies += [clock.next_body(1_800_000_000_123) for _ in range(3)]
    for body in bodies:
        assert len(body) == ids.BODY_LENGTH
    assert _decoded(bodies[-1]) == (1_800_000_000_123 << 80) | clock._random
    assert [_decoded(body) for body in bodies[1:]] == [
        (1_800_000_000_123 << 80) | (clock._random - 2 + step) for step in range(3)
    ]
    assert bodies == sorted(bodies)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "msn",
        "msn-",
        "MSN-01m8cyz5hcazv7we890gq7jd5k",
        "msn-01M8CYZ5HCAZV7WE890GQ7JD5K",
        "msn-01m8cyz5hcazv7we890gq7jd5",
        "msn-01m8cyz5hcazv7we890gq7jd5kk",
        "msn-41m8cyz5hcazv7we890gq7jd5k",
        "msn-01m8cyz5hcazv7we890gq7jd5u",
        "msn_01m8cyz5hcazv7we890gq7jd5k",
        "-01m8cyz5hcazv7we890gq7jd5k",
        "1x-01m8cyz5hcazv7we890gq7jd5k",
        None,
        42,
    ],
)
def test_malformed_ids_are_invalid(value):
    assert not ids.is_valid_prefix_id(value)
    if isinstance(value, str):
        assert ids.extract_prefix(value) is None


def test_any_category_shaped_prefix_makes_a_valid_id():
    assert ids.extract_prefix("foo-01m8cyz5hcazv7we890gq7jd5k") == "foo"
    assert ids.is_valid_prefix_id("foo-01m8cyz5hcazv7we890gq7jd5k")


def test_prefix_must_match_when_given():
    value = ids.generate_id("wo")
    assert ids.is_valid_prefix_id(value, "wo")
    assert not ids.is_valid_prefix_id(value, "w")
    assert not ids.is_valid_prefix_id(value, "msn")


def test_parse_prefixed_id_accepts_good_and_names_bad():
    value = ids.generate_id("cart")
    assert ids.parse_prefixed_id(value, "cart", "cart") == value
    with pytest.raises(ValueError, match="invalid shopping cart id 'nope'") as info:
        ids.parse_prefixed_id("nope", "cart", "shopping cart")
    assert f"e.g. cart-{ids.EXAMPLE_BODY}" in str(info.value)
    with pytest.raises(ValueError, match="invalid cart id"):
        ids.parse_prefixed_id(ids.generate_id("order"), "cart", "cart")
    with pytest.raises(ValueError, match="invalid event id 'nope'") as event:
        ids.parse_event_id("nope")
    assert str(event.value) == ids.invalid_id_message("nope", "evt", "event")


def test_invalid_id_message_names_the_value_and_shows_the_form():
    assert ids.invalid_id_message("wo-1", "wo", "work order") == (
        "invalid work order id 'wo-1': expected wo- followed by 26 characters of lowercase "
        "base32 (0-9 and a-z without i, l, o, u; the first 0-3), "
        f"e.g. wo-{ids.EXAMPLE_BODY}; `fleet id wo` prints a new one"
    )


@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("order-1001", "order"),
        ("cart-7f3a", "cart"),
        ("a-b", "a"),
        ("snake_case-X", "snake_case"),
        ("order-1001-2.v3_x", "order"),
        ("order-A", "order"),
        (f"msn-{ids.EXAMPLE_BODY}", "msn"),
        ("o-" + "k" * (MAX_STREAM_ID_LENGTH - 2), "o"),
    ],
)
def test_stream_ids_of_the_generic_form(value, category):
    assert ids.stream_category(value) == category
    assert ids.parse_stream_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "order",
        "order-",
        "-1001",
        "Order-1001",
        "1order-1001",
        "order_1001",
        "order--1001",
        "order-.1001",
        "order-_1001",
        "order-10 01",
        "order-10/01",
        "order-1001\n",
        "ordér-1001",
        "order-1001é",
        "m" * 33 + "-1",
        "o-" + "k" * (MAX_STREAM_ID_LENGTH - 1),
        None,
        12,
        b"order-1001",
    ],
)
def test_anything_else_is_not_a_stream_id(value):
    assert ids.stream_category(value) is None
    with pytest.raises(ValueError, match="invalid stream id") as info:
        ids.parse_stream_id(value)
    assert "<category>-<key>" in str(info.value)


def test_stream_id_form_describes_the_form_with_examples():
    form = ids.stream_id_form()
    assert "<category>-<key>" in form
    assert f"at most {MAX_STREAM_ID_LENGTH} characters" in form
    for example in re.findall(r"\b[a-z]+-[0-9a-z]+\b", form.split("e.g.")[1]):
        assert ids.stream_category(example) is not None


def test_id_form_shows_the_prefix_and_a_valid_example():
    form = ids.id_form("order-")
    assert form.startswith("order- followed by 26 characters of lowercase base32")
    assert f"e.g. order-{ids.EXAMPLE_BODY}" in form
    assert "`fleet id order`" in form
    assert ids.is_valid_prefix_id(f"order-{ids.EXAMPLE_BODY}", "order")


def test_id_timestamp_of_garbage_is_refused():
    with pytest.raises(ValueError, match="not a fleet id"):
        ids.id_timestamp_ms("msn-nope")


def well_formed(text: str) -> bool:
    """The documented id form, checked character by character (no regular expression)."""
    prefix, dash, body = text.partition("-")
    return (
        1 <= len(prefix) <= 32
        and prefix[0] in "abcdefghijklmnopqrstuvwxyz"
        and all(c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in prefix)
        and dash == "-"
        and len(body) == 26
        and body[0] in "0123"
        and all(c in ALPHABET for c in body)
    )


@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            "{}-{}".format,
            st.sampled_from(["msn", "wo", "order", "evt", "MSN", "x", "_a", "a_1", "1a"]),
            st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyzA\n-", min_size=24, max_size=28),
        ),
        st.builds(
            "{}-{}{}".format,
            st.from_regex(r"\A[a-z][a-z0-9_]{0,31}\Z"),
            st.sampled_from("0123456789"),
            st.text(alphabet=ALPHABET, min_size=24, max_size=26),
        ),
    )
)
def test_validation_follows_the_documented_form(text):
    assert ids.is_valid_prefix_id(text) == well_formed(text)
    assert ids.extract_prefix(text) == (text.split("-")[0] if well_formed(text) else None)


def stream_well_formed(text: str) -> bool:
    """The documented stream-id form, checked character by character."""
    category, dash, key = text.partition("-")
    key_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return (
        re.fullmatch(CATEGORY_PATTERN, category, re.ASCII) is not None
        and dash == "-"
        and key != ""
        and key[0] in key_chars
        and all(c in key_chars + "_.-" for c in key)
        and len(text) <= MAX_STREAM_ID_LENGTH
    )


@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            "{}-{}".format,
            st.sampled_from(["order", "cart", "Order", "a_b", "1a", ""]),
            st.text(alphabet="aZ09_.-/ é\n", max_size=140),
        ),
    )
)
def test_stream_ids_follow_the_documented_form(text):
    expected = text.partition("-")[0] if stream_well_formed(text) else None
    assert ids.stream_category(text) == expected


def test_ids_unique_across_processes():
    code = (
        "from fleet.core.ids import generate_event_id as g; "
        "print(' '.join(g() for _ in range(20000)))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    everything = [v for out in outputs for v in out]
    assert len(everything) == 60000
    assert len(set(everything)) == len(everything)
