"""Running a command's coroutine: the one fleet error comes out of any exception group."""

from __future__ import annotations

import pytest
import trio

from fleet.cli.target import run
from fleet.errors import StreamNotFound


async def fail_in_nested_groups(error: BaseException, *others: BaseException) -> None:
    async def raise_it(exc: BaseException) -> None:
        raise exc

    async with trio.open_nursery() as outer, trio.open_nursery() as inner:
        inner.start_soon(raise_it, error)
        for other in others:
            outer.start_soon(raise_it, other)
        await trio.sleep_forever()


def test_a_fleet_error_comes_out_alone_with_its_cause() -> None:
    cause = KeyError("row")
    error = StreamNotFound("msn-1")
    error.__cause__ = cause
    with pytest.raises(StreamNotFound) as raised:
        run(fail_in_nested_groups, error)
    assert raised.value.__cause__ is cause


def test_a_fleet_error_wins_over_other_failures() -> None:
    with pytest.raises(StreamNotFound):
        run(fail_in_nested_groups, RuntimeError("bug"), StreamNotFound("msn-1"))


def test_other_errors_come_out_as_the_first_leaf() -> None:
    with pytest.raises(RuntimeError, match="bug"):
        run(fail_in_nested_groups, RuntimeError("bug"))


def test_results_and_plain_errors_pass_through() -> None:
    async def answer(value: int) -> int:
        await trio.lowlevel.checkpoint()
        return value

    assert run(answer, 42) == 42
