import pytest

from fleet.errors import ValidationError, WrongExpectedVersion
from fleet.store.expected_version import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    check_expected_version,
    describe_expected,
    validate_expected_version,
)

# (expected, actual stream version, allowed?)
TABLE = [
    (ANY, None, True),
    (ANY, 1, True),
    (ANY, 42, True),
    (NO_STREAM, None, True),
    (NO_STREAM, 1, False),
    (STREAM_EXISTS, None, False),
    (STREAM_EXISTS, 1, True),
    (STREAM_EXISTS, 9, True),
    (0, None, True),
    (0, 1, False),
    (1, None, False),
    (1, 1, True),
    (1, 2, False),
    (5, 4, False),
    (5, 5, True),
    (5, 6, False),
]


@pytest.mark.parametrize(("expected", "actual", "allowed"), TABLE)
def test_expected_version_table(expected, actual, allowed):
    if allowed:
        check_expected_version("msn-x", expected, actual)
    else:
        with pytest.raises(WrongExpectedVersion) as info:
            check_expected_version("msn-x", expected, actual)
        assert info.value.stream_id == "msn-x"
        assert info.value.expected == describe_expected(expected)
        assert info.value.actual == actual


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("any", ANY),
        ("no_stream", NO_STREAM),
        ("stream_exists", STREAM_EXISTS),
        (ANY, ANY),
        (0, 0),
        (12, 12),
    ],
)
def test_validate_accepts(raw, parsed):
    assert validate_expected_version(raw) == parsed


@pytest.mark.parametrize("raw", [-1, "sometimes", True, 1.5, None, [1]])
def test_validate_refuses(raw):
    with pytest.raises(ValidationError, match="invalid expected version"):
        validate_expected_version(raw)


def test_describe():
    assert describe_expected(ANY) == "any"
    assert describe_expected(7) == 7


# A soft-deleted stream at version 3 (its deletion record): it does not exist,
# but an exact expectation is compared with its version.
DELETED_TABLE = [
    (ANY, True),
    (NO_STREAM, True),
    (0, True),
    (STREAM_EXISTS, False),
    (3, True),
    (2, False),
    (4, False),
]


@pytest.mark.parametrize(("expected", "allowed"), DELETED_TABLE)
def test_a_soft_deleted_stream_does_not_exist_but_keeps_its_version(expected, allowed):
    if allowed:
        check_expected_version("msn-x", expected, 3, deleted=True)
    else:
        with pytest.raises(WrongExpectedVersion) as info:
            check_expected_version("msn-x", expected, 3, deleted=True)
        assert info.value.actual == 3
