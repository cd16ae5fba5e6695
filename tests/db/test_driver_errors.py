"""Translation of driver errors that the contract tests cannot provoke on demand.

The errors are real driver exception classes (psycopg looks them up by SQLSTATE);
nothing here stands in for a database.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from fleet.db.driver_errors import translate, translating
from fleet.errors import (
    AppendFailed,
    ConfigError,
    FleetError,
    StoreError,
    StoreUnavailable,
)


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("57P01", StoreUnavailable),
        ("53100", StoreUnavailable),
        ("25006", StoreUnavailable),
        ("40P01", StoreUnavailable),
        ("23503", AppendFailed),
        ("42601", StoreError),
    ],
)
def test_psycopg_errors_by_sqlstate(sqlstate: str, expected: type[FleetError]) -> None:
    error = psycopg.errors.lookup(sqlstate)("server said no")
    translated = translate(error)
    assert type(translated) is expected
    assert "server said no" in str(translated)


def test_sqlite_error_without_code_uses_the_default() -> None:
    translated = translate(sqlite3.InterfaceError("bad parameter"), AppendFailed)
    assert type(translated) is AppendFailed


def test_invalidated_connection_is_store_unavailable() -> None:
    cause = Exception("gone")
    wrapped = sa.exc.OperationalError("SELECT 1", {}, cause, connection_invalidated=True)
    assert isinstance(translate(wrapped), StoreUnavailable)


def test_pool_timeout_is_store_unavailable() -> None:
    assert isinstance(translate(sa.exc.TimeoutError("pool exhausted")), StoreUnavailable)


def test_os_error_is_store_unavailable() -> None:
    wrapped = sa.exc.OperationalError("connect", {}, ConnectionRefusedError("refused"))
    assert isinstance(translate(wrapped), StoreUnavailable)


def test_unknown_error_uses_the_default_and_fleet_errors_pass_through() -> None:
    assert type(translate(sa.exc.ArgumentError("odd"))) is StoreError
    original = ConfigError("mine")
    assert translate(original) is original


def test_translating_keeps_the_cause_and_passes_other_errors() -> None:
    error = sqlite3.OperationalError("database is locked")
    with pytest.raises(StoreError) as caught, translating():
        raise error
    assert caught.value.__cause__ is error
    with pytest.raises(KeyError), translating():
        raise KeyError("not a database error")
