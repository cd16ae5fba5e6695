from fleet.core import constants
from fleet.events import EVENT_TYPES, FAMILIES


def test_event_type_names_match_the_registry():
    declared = [name for names in constants.EVENT_TYPE_NAMES.values() for name in names]
    assert len(declared) == len(set(declared)) == 30
    assert set(declared) == set(EVENT_TYPES)
    assert [len(v) for v in constants.EVENT_TYPE_NAMES.values()] == [12, 10, 8]


def test_families_use_the_declared_prefixes():
    assert set(constants.EVENT_TYPE_NAMES) == {"mission", "work_order", "checkpoint"}
    assert {
        constants.ID_PREFIXES[k] for k in constants.EVENT_TYPE_NAMES
    } == constants.STREAM_PREFIXES
    assert FAMILIES


def test_vocabularies():
    assert constants.FLEETTOOLS_VERSION.count(".") == 2
    assert constants.PRIORITIES == ("low", "medium", "high", "critical")
    assert "active" in constants.MISSION_STATUSES
    assert "in_progress" in constants.WORK_ORDER_STATUSES
    assert "verified" in constants.CHECKPOINT_STATUSES
