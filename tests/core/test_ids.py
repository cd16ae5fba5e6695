import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.core import ids
from fleet.core.time import now_ms


@pytest.mark.parametrize(
    ("generate", "prefix"),
    [
        (ids.generate_mission_id, "msn"),
        (ids.generate_work_order_id, "wo"),
        (ids.generate_checkpoint_id, "chk"),
        (ids.generate_event_id, "evt"),
    ],
)
def test_generated_ids_have_prefix_and_shape(generate, prefix):
    value = generate()
    assert value.startswith(prefix + "-")
    assert ids.is_valid_prefix_id(value, prefix)
    assert ids.extract_prefix(value) == prefix
    assert value == value.lower()
    assert len(value) == len(prefix) + 1 + ids.BODY_LENGTH


def test_ids_sort_by_generation_order():
    values = [ids.generate_id("evt") for _ in range(10_000)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_id_carries_its_creation_time():
    before = now_ms()
    value = ids.generate_mission_id()
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


def _decoded(body: str) -> int:
    number = 0
    for char in body:
        number = (number << 5) | ids._VALUES[char]
    return number


def test_body_spells_time_and_random_part_across_cache_refreshes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids, "now_ms", lambda: 1_800_000_000_123)
    clock = ids._Clock()
    bodies = [clock.next_body()]
    clock._random |= 0x3FE  # the next two ids carry past the low ten bits
    bodies += [clock.next_body() for _ in range(3)]
    for body in bodies:
        assert len(body) == ids.BODY_LENGTH
    assert _decoded(bodies[-1]) == (1_800_000_000_123 << 80) | clock._random
    assert [_decoded(body) for body in bodies[1:]] == [
        (1_800_000_000_123 << 80) | (clock._random - 2 + step) for step in range(3)
    ]
    assert bodies == sorted(bodies)


def test_unknown_prefix_is_refused():
    with pytest.raises(ValueError, match="unknown id prefix 'xyz'"):
        ids.generate_id("xyz")


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
        "foo-01m8cyz5hcazv7we890gq7jd5k",
        "msn_01m8cyz5hcazv7we890gq7jd5k",
        None,
        42,
    ],
)
def test_malformed_ids_are_invalid(value):
    assert not ids.is_valid_prefix_id(value)
    if isinstance(value, str):
        assert ids.extract_prefix(value) is None


def test_prefix_must_match_when_given():
    value = ids.generate_work_order_id()
    assert ids.is_valid_prefix_id(value, "wo")
    assert not ids.is_valid_prefix_id(value, "msn")


@pytest.mark.parametrize(
    ("parse", "good", "kind"),
    [
        (ids.parse_mission_id, ids.generate_mission_id, "mission"),
        (ids.parse_work_order_id, ids.generate_work_order_id, "work order"),
        (ids.parse_checkpoint_id, ids.generate_checkpoint_id, "checkpoint"),
        (ids.parse_event_id, ids.generate_event_id, "event"),
    ],
)
def test_parse_functions_accept_good_and_name_bad(parse, good, kind):
    value = good()
    assert parse(value) == value
    with pytest.raises(ValueError, match=f"invalid {kind} id 'nope'"):
        parse("nope")


def test_parse_stream_id():
    for make in (ids.generate_mission_id, ids.generate_work_order_id, ids.generate_checkpoint_id):
        value = make()
        assert ids.parse_stream_id(value) == value
    with pytest.raises(ValueError, match="invalid stream id"):
        ids.parse_stream_id(ids.generate_event_id())
    with pytest.raises(ValueError, match="invalid stream id"):
        ids.parse_stream_id(12)


def test_id_timestamp_of_garbage_is_refused():
    with pytest.raises(ValueError, match="not a fleet id"):
        ids.id_timestamp_ms("msn-nope")


def well_formed(text: str) -> bool:
    """The documented id form, checked character by character (no regular expression)."""
    prefix, dash, body = text.partition("-")
    return (
        prefix in {"msn", "wo", "chk", "evt"}
        and dash == "-"
        and len(body) == 26
        and body[0] in "0123"
        and all(c in "0123456789abcdefghjkmnpqrstvwxyz" for c in body)
    )


@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            "{}-{}".format,
            st.sampled_from(["msn", "wo", "chk", "evt", "MSN", "ms", "x"]),
            st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyzA\n-", min_size=24, max_size=28),
        ),
        st.builds(
            "{}-{}{}".format,
            st.sampled_from(["msn", "wo", "chk", "evt"]),
            st.sampled_from("0123456789"),
            st.text(alphabet="0123456789abcdefghjkmnpqrstvwxyz", min_size=24, max_size=26),
        ),
    )
)
def test_validation_follows_the_documented_form(text):
    assert ids.is_valid_prefix_id(text) == well_formed(text)
    assert ids.extract_prefix(text) == (text.split("-")[0] if well_formed(text) else None)


def test_ids_unique_across_processes():
    import subprocess
    import sys

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


def test_invalid_id_messages_show_the_form_with_a_valid_example():
    assert ids.is_valid_prefix_id(f"msn-{ids.EXAMPLE_BODY}", "msn")
    with pytest.raises(ValueError, match="invalid stream id") as info:
        ids.parse_stream_id("msn-ridge")
    message = str(info.value)
    assert f"msn-{ids.EXAMPLE_BODY}" in message
    assert "26 characters of lowercase base32" in message
    with pytest.raises(ValueError, match=f"e.g. wo-{ids.EXAMPLE_BODY}"):
        ids.parse_work_order_id("wo-1")
