"""Writes to a client end in bounded time, on real sockets (the daemon's use: test_slow_clients)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from fleet.server._connections import Writes

pytestmark = pytest.mark.trio

LARGE = b"x" * 50_000_000
"""More than any socket buffer takes from a peer that does not read."""


async def test_a_write_the_client_takes_is_done() -> None:
    ours, theirs = trio.socket.socketpair()
    with theirs:
        async with trio.SocketStream(ours) as stream:
            assert await Writes(10).write(stream, b"hello") is None
            assert await theirs.recv(5) == b"hello"


async def test_a_write_the_client_leaves_unread_gives_up_after_the_timeout() -> None:
    ours, theirs = trio.socket.socketpair()
    with theirs, trio.fail_after(10):
        async with trio.SocketStream(ours) as stream:
            started = trio.current_time()
            why = await Writes(0.2).write(stream, LARGE)
            assert trio.current_time() - started >= 0.2
    assert why == "the client read nothing for 0.2 s (server.stream_send_timeout_s)"


async def test_the_end_of_the_grace_period_ends_waiting_writes_and_later_ones() -> None:
    writes = Writes(3600)
    ours, theirs = trio.socket.socketpair()
    reasons: list[str | None] = []
    with theirs, trio.fail_after(10):
        async with trio.SocketStream(ours) as stream:
            async with trio.open_nursery() as nursery:

                async def write() -> None:
                    reasons.append(await writes.write(stream, LARGE))

                nursery.start_soon(write)
                await trio.testing.wait_all_tasks_blocked()
                writes.end_by(trio.current_time() + 0.1)
            reasons.append(await writes.write(stream, b"more"))
    ended = "the grace period of the shutdown (server.shutdown_grace_s) ended"
    assert reasons == [ended, ended]


async def test_a_write_outlives_the_cancellation_of_its_request() -> None:
    ours, theirs = trio.socket.socketpair()
    data = b"y" * 5_000_000
    received = bytearray()
    with theirs, trio.fail_after(10):
        async with trio.SocketStream(ours) as stream, trio.open_nursery() as nursery:
            outcome: list[str | None] = []

            async def request() -> None:
                with trio.CancelScope() as scope:
                    scope.cancel()
                    outcome.append(await Writes(10).write(stream, data))

            nursery.start_soon(request)
            while len(received) < len(data):
                received += await theirs.recv(1 << 16)
    assert outcome == [None]
    assert received == data


async def test_a_write_that_meets_the_shutdown_of_a_closed_connection_ends_quietly() -> None:
    """Another task holds the socket's sending side, as hypercorn's shutdown of a
    connection the client closed does: trio refuses a second sender, and the write
    reports the connection over rather than failing the request."""
    ours, theirs = trio.socket.socketpair()
    with theirs:
        async with trio.SocketStream(ours) as stream, trio.open_nursery() as nursery:
            nursery.start_soon(stream.send_all, LARGE)
            await trio.testing.wait_all_tasks_blocked()
            assert await Writes(10).write(stream, b"end") == ""
            nursery.cancel_scope.cancel()
