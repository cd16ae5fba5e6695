import pytest

from fleet.db.rows import StoredEventRef as StoredRef
from fleet.errors import DuplicateEvent
from fleet.store.idempotency import classify_retry
from fleet.store.results import AppendResult


def refs(stream, ids, first_version, first_position):
    return [StoredRef(e, stream, first_version + i, first_position + i) for i, e in enumerate(ids)]


def test_nothing_stored_is_a_new_append():
    assert classify_retry("msn-a", ["e1", "e2"], []) is None


def test_exact_retry_returns_original_result_whatever_order_refs_come_in():
    stored = list(reversed(refs("msn-a", ["e1", "e2", "e3"], 4, 100)))
    result = classify_retry("msn-a", ["e1", "e2", "e3"], stored)
    assert result == AppendResult("msn-a", 4, 6, 100, 102)
    assert list(result.versions) == [4, 5, 6]
    assert list(result.positions) == [100, 101, 102]


@pytest.mark.parametrize(
    ("ids", "stored"),
    [
        (["e1", "e2"], refs("msn-a", ["e1"], 1, 1)),
        (["e1", "e2"], refs("msn-b", ["e1", "e2"], 1, 1)),
        (["e2", "e1"], refs("msn-a", ["e1", "e2"], 1, 1)),
        (["e1", "e2"], [StoredRef("e1", "msn-a", 1, 1), StoredRef("e2", "msn-a", 3, 2)]),
        (["e1", "e2"], [StoredRef("e1", "msn-a", 1, 1), StoredRef("e2", "msn-a", 2, 7)]),
        (["x", "e1"], refs("msn-a", ["e1"], 1, 1)),
    ],
    ids=["partial", "other-stream", "other-order", "version-gap", "position-gap", "new-first"],
)
def test_anything_but_an_exact_retry_is_a_duplicate(ids, stored):
    with pytest.raises(DuplicateEvent, match="not an exact retry") as info:
        classify_retry("msn-a", ids, stored)
    assert set(info.value.event_ids) <= set(ids)
    assert info.value.event_ids
