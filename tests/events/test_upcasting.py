"""Schema evolution: a category's upcasters lift stored objects to the current version."""

from typing import ClassVar

import pytest

from fleet.errors import CatalogError, ValidationError
from fleet.events import Catalog, Category, Payload, encode_payload
from fleet.vocabulary import CATALOG, MISSIONS, MissionCreated


class ParcelShipped(Payload, frozen=True, tag="ParcelShipped"):
    """v1 ``{"kg": int}``; v2 ``{"grams": int}``; v3 adds ``carrier`` (was always "post")."""

    schema_version: ClassVar[int] = 3

    grams: int
    carrier: str


def _v1(data):
    if data.get("kg", 0) < 0:
        raise ValidationError("negative weight", [("ParcelShipped.kg", "must not be negative")])
    rest = {k: v for k, v in data.items() if k != "kg"}
    return {**rest, "grams": data["kg"] * 1000}


def _v2(data):
    return {**data, "carrier": "post"}


PARCELS = Catalog(
    Category(
        "parcel", [ParcelShipped], upcasters={("ParcelShipped", 1): _v1, ("ParcelShipped", 2): _v2}
    )
)


def test_every_old_built_in_version_has_an_upcaster():
    assert MissionCreated.schema_version == 2
    assert set(MISSIONS.upcasters) == {("MissionCreated", 1)}
    for category in CATALOG:
        for cls in category.events:
            for version in range(1, cls.schema_version):
                assert (cls.event_type, version) in category.upcasters


@pytest.mark.parametrize(
    ("stored", "priority"), [(1, "low"), (2, "medium"), (3, "high"), (4, "critical")]
)
def test_mission_created_v1_integer_priority_is_read_as_its_name(stored, priority):
    data = b'{"title": "Old mission", "description": "from v1", "priority": %d}' % stored
    payload = CATALOG.decode_payload("MissionCreated", 1, data)
    assert payload == MissionCreated(title="Old mission", description="from v1", priority=priority)
    assert CATALOG.decode_payload("MissionCreated", 2, encode_payload(payload)) == payload


def test_v1_without_priority_gets_the_v1_default():
    payload = CATALOG.decode_payload("MissionCreated", 1, b'{"title": "x"}')
    assert isinstance(payload, MissionCreated)
    assert payload.priority == "medium"
    assert payload.tags == ()


@pytest.mark.parametrize("bad", ["0", "5", "true", '"high"', "null", "2.5"])
def test_v1_priority_out_of_range_is_refused(bad):
    data = b'{"title": "x", "priority": %s}' % bad.encode()
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("MissionCreated", 1, data)
    assert info.value.problems[0] == (
        "MissionCreated.priority",
        "a v1 priority must be an integer from 1 to 4",
    )


def test_upcast_result_still_meets_current_constraints():
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("MissionCreated", 1, b'{"title": "", "priority": 1}')
    assert info.value.problems[0][0] == "MissionCreated.title"


def test_upcast_needs_a_json_object():
    with pytest.raises(ValidationError):
        CATALOG.decode_payload("MissionCreated", 1, b"[1]")


@pytest.mark.parametrize("version", [0, 3, -1])
def test_unreadable_versions_are_refused(version):
    with pytest.raises(ValidationError, match="not readable") as info:
        CATALOG.decode_payload("MissionCreated", version, b'{"title": "x"}')
    assert info.value.problems == (("schema_version", f"expected 1 to 2, got {version}"),)


def test_upcast_leaves_current_data_alone():
    data = {"title": "x"}
    assert CATALOG.upcast("MissionCreated", 2, data) is data


def test_upcast_lifts_v1_data_without_mutating_it():
    data = {"title": "x", "priority": 4}
    assert CATALOG.upcast("MissionCreated", 1, data) == {"title": "x", "priority": "critical"}
    assert data == {"title": "x", "priority": 4}


def test_upcast_of_an_unknown_type_names_it():
    with pytest.raises(ValidationError, match="unknown event type 'Nope'"):
        CATALOG.upcast("Nope", 1, {})


def test_the_chain_runs_every_step_in_order():
    assert PARCELS.upcast("ParcelShipped", 1, {"kg": 2}) == {"grams": 2000, "carrier": "post"}
    assert PARCELS.upcast("ParcelShipped", 2, {"grams": 5}) == {"grams": 5, "carrier": "post"}
    old = PARCELS.decode_payload("ParcelShipped", 1, b'{"kg": 3}')
    assert old == ParcelShipped(grams=3000, carrier="post")
    current = PARCELS.decode_payload("ParcelShipped", 3, b'{"grams": 1, "carrier": "ups"}')
    assert current == ParcelShipped(grams=1, carrier="ups")


def test_an_upcaster_s_refusal_reaches_the_reader():
    with pytest.raises(ValidationError, match="negative weight") as info:
        PARCELS.decode_payload("ParcelShipped", 1, b'{"kg": -1}')
    assert info.value.problems == (("ParcelShipped.kg", "must not be negative"),)


def test_upcast_output_is_checked_against_the_current_class():
    with pytest.raises(ValidationError):
        PARCELS.decode_payload("ParcelShipped", 2, b'{"grams": "heavy"}')
    with pytest.raises(ValidationError):
        PARCELS.decode_payload("ParcelShipped", 1, b'{"kg": 1, "colour": "red"}')


def test_a_category_refuses_a_gap_in_the_chain():
    with pytest.raises(CatalogError, match=r"no upcaster for ParcelShipped v2"):
        Category("parcel", [ParcelShipped], upcasters={("ParcelShipped", 1): _v1})
    with pytest.raises(CatalogError, match=r"no upcaster for ParcelShipped v1, ParcelShipped v2"):
        Category("parcel", [ParcelShipped])


@pytest.mark.parametrize(
    "step", [("ParcelShipped", 0), ("ParcelShipped", 3), ("ParcelShipped", 4), ("Nope", 1)]
)
def test_a_category_refuses_an_upcaster_for_no_older_version(step):
    steps = {("ParcelShipped", 1): _v1, ("ParcelShipped", 2): _v2, step: _v2}
    with pytest.raises(CatalogError, match="no such older schema version") as info:
        Category("parcel", [ParcelShipped], upcasters=steps)
    assert f"{step[0]!r} v{step[1]}" in str(info.value)
