"""Fleet's built-in vocabulary: its catalog, stream ids, id helpers and fixed values."""

import msgspec
import pytest

from fleet.core import ids
from fleet.errors import ValidationError
from fleet.events import Catalog, Payload, load_catalog
from fleet.vocabulary import (
    AGGREGATES,
    CATALOG,
    CHECKPOINT,
    CHECKPOINT_STATUSES,
    CHECKPOINTS,
    EVENT_TYPES,
    FAMILIES,
    MISSION,
    MISSION_STATUSES,
    MISSIONS,
    PRIORITIES,
    WORK_ORDER,
    WORK_ORDER_STATUSES,
    WORK_ORDERS,
    CheckpointPayload,
    CheckpointVerified,
    MissionCreated,
    MissionPayload,
    WorkOrderFailed,
    WorkOrderPayload,
    generate_checkpoint_id,
    generate_mission_id,
    generate_work_order_id,
    parse_checkpoint_id,
    parse_mission_id,
    parse_work_order_id,
)
from tests.events.samples import SAMPLES

EXPECTED_COUNTS = {"mission": 12, "work_order": 10, "checkpoint": 8}
CATEGORY_OF_FAMILY = {"mission": MISSIONS, "work_order": WORK_ORDERS, "checkpoint": CHECKPOINTS}
BASE_OF_FAMILY = {
    "mission": MissionPayload,
    "work_order": WorkOrderPayload,
    "checkpoint": CheckpointPayload,
}


def test_the_catalog_holds_three_ordered_categories_with_their_aggregates():
    assert list(CATALOG.categories) == ["msn", "wo", "chk"]
    assert list(CATALOG) == [MISSIONS, WORK_ORDERS, CHECKPOINTS]
    assert [c.aggregate for c in CATALOG] == [MISSION, WORK_ORDER, CHECKPOINT]
    assert {c.ids for c in CATALOG} == {"ordered"}
    assert not any(c.untyped for c in CATALOG)
    assert CATALOG.untyped_names == frozenset()
    assert dict(AGGREGATES) == {"msn": MISSION, "wo": WORK_ORDER, "chk": CHECKPOINT}
    assert repr(CATALOG) == "<Catalog msn, wo, chk>"
    assert repr(MISSIONS) == "<Category msn (12 event types)>"
    assert repr(MISSION) == "<Aggregate mission (msn-)>"


def test_the_default_catalog_spec_loads_it():
    assert load_catalog("fleet.vocabulary:CATALOG") is CATALOG
    assert isinstance(CATALOG, Catalog)


def test_families_hold_the_issue_s_event_counts():
    assert {name: len(classes) for name, classes in FAMILIES.items()} == EXPECTED_COUNTS
    assert len(EVENT_TYPES) == 30
    assert CATALOG.event_types == EVENT_TYPES
    for family, classes in FAMILIES.items():
        assert CATEGORY_OF_FAMILY[family].events == classes


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()), ids=lambda c: c.event_type)
def test_each_type_is_tagged_with_its_permanent_name(cls):
    assert cls.__struct_config__.tag == cls.event_type == cls.__name__
    assert cls.__struct_config__.frozen
    assert cls.__struct_config__.forbid_unknown_fields
    assert cls.schema_version >= 1
    assert CATALOG.payload_type(cls.event_type) is cls
    home = CATALOG.category_of_type(cls.event_type)
    family = next(f for f, category in CATEGORY_OF_FAMILY.items() if category is home)
    assert issubclass(cls, BASE_OF_FAMILY[family])
    assert cls in home.aggregate.transitions


def test_unknown_type_is_a_validation_error_naming_it_and_the_categories():
    with pytest.raises(ValidationError, match="'Nope'") as info:
        CATALOG.payload_type("Nope")
    why = "unknown event type 'Nope' (the catalog's categories: chk, msn, wo)"
    assert info.value.problems == (("type", why),)
    assert CATALOG.category_of_type("Nope") is None
    assert CATALOG.category_of_type("missioncreated") is None


def test_page_decoder_decodes_every_family_by_tag():
    payloads = [SAMPLES[MissionCreated], SAMPLES[WorkOrderFailed], SAMPLES[CheckpointVerified]]
    assert CATALOG.page_decoder is not None
    assert CATALOG.page_decoder.decode(msgspec.json.encode(payloads)) == payloads
    everything = list(SAMPLES.values())
    assert CATALOG.page_decoder.decode(msgspec.json.encode(everything)) == everything


@pytest.mark.parametrize(
    ("make", "category", "aggregate"),
    [
        (generate_mission_id, MISSIONS, MISSION),
        (generate_work_order_id, WORK_ORDERS, WORK_ORDER),
        (generate_checkpoint_id, CHECKPOINTS, CHECKPOINT),
    ],
)
def test_stream_ids_find_their_category_and_aggregate(make, category, aggregate):
    stream_id = make()
    assert CATALOG.category_of(stream_id) is category
    assert CATALOG.aggregate_for(stream_id) is aggregate
    assert CATALOG.check_stream_id(stream_id) == stream_id
    fresh = CATALOG.new_stream_id(category.name)
    assert CATALOG.category_of(fresh) is category


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "expected <category>-<key>"),
        ("msn-", "expected <category>-<key>"),
        (3, "expected <category>-<key>"),
        ("msn-xyz", f"expected msn- followed by 26 characters; e.g. msn-{ids.EXAMPLE_BODY}"),
        ("msn-ridge", "expected msn- followed by 26 characters"),
        ("wo-1001", "expected wo- followed by 26 characters"),
        (f"evt-{ids.EXAMPLE_BODY}", "no stream category 'evt' (the catalog has: chk, msn, wo)"),
        ("order-1001", "no stream category 'order' (the catalog has: chk, msn, wo)"),
    ],
)
def test_anything_else_is_refused(bad, why):
    with pytest.raises(ValidationError, match="invalid stream id") as info:
        CATALOG.aggregate_for(bad)
    assert info.value.problems[0][0] == "stream_id"
    for part in why.split("; "):
        assert part in str(info.value)


@pytest.mark.parametrize(
    ("generate", "parse", "prefix", "kind"),
    [
        (generate_mission_id, parse_mission_id, "msn", "mission"),
        (generate_work_order_id, parse_work_order_id, "wo", "work order"),
        (generate_checkpoint_id, parse_checkpoint_id, "chk", "checkpoint"),
    ],
)
def test_id_helpers_make_and_check_their_kind(generate, parse, prefix, kind):
    value = generate()
    assert ids.is_valid_prefix_id(value, prefix)
    assert ids.extract_prefix(value) == prefix
    assert len(value) == len(prefix) + 1 + ids.BODY_LENGTH
    assert parse(value) == value
    with pytest.raises(ValueError, match=f"invalid {kind} id 'nope'") as info:
        parse("nope")
    assert f"e.g. {prefix}-{ids.EXAMPLE_BODY}" in str(info.value)
    other = generate_work_order_id() if prefix != "wo" else generate_mission_id()
    with pytest.raises(ValueError, match=f"invalid {kind} id"):
        parse(other)


def test_fixed_values():
    assert PRIORITIES == ("low", "medium", "high", "critical")
    assert "active" in MISSION_STATUSES
    assert "in_progress" in WORK_ORDER_STATUSES
    assert "verified" in CHECKPOINT_STATUSES
    for aggregate, values in [
        (MISSION, MISSION_STATUSES),
        (WORK_ORDER, WORK_ORDER_STATUSES),
        (CHECKPOINT, CHECKPOINT_STATUSES),
    ]:
        status = msgspec.inspect.type_info(aggregate.state_type).fields[1]
        assert status.name == "status"
        assert set(status.type.values) == set(values)


def test_payloads_of_the_vocabulary_derive_from_the_generic_base():
    assert all(issubclass(cls, Payload) for cls in EVENT_TYPES.values())
