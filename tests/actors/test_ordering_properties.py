"""Property: whatever the interleaving, each request is handled once, in per-key FIFO order.

Small mailboxes force senders into the overflow queue, and a tiny ``max_live`` or a
zero ``idle_timeout`` forces keys through many incarnations, so the property covers
the hand-over between queues and between incarnations too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import Actor, Envelope, MailboxFull, open_actor_system

step = st.tuples(
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=3),
    st.booleans(),
)


class Recorder(Actor[int, tuple[str, int]]):
    def __init__(self, key: str, handled: dict[str, list[int]]) -> None:
        self.key = key
        self.handled = handled

    async def on_start(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def receive(self, batch: Sequence[Envelope[int, tuple[str, int]]]) -> None:
        for _ in range(len(batch) % 3):
            await anyio.lowlevel.checkpoint()
        for envelope in batch:
            self.handled[self.key].append(envelope.message)
            envelope.reply((self.key, envelope.message))


async def run_program(
    program: list[tuple[int, int, bool]], mailbox_size: int, max_live: int | None, idle: bool
) -> None:
    sent: dict[str, list[int]] = defaultdict(list)
    handled: dict[str, list[int]] = defaultdict(list)
    replies: dict[int, Any] = {}

    async def client(index: int, key: str, delay: int, nowait: bool) -> None:
        for _ in range(delay):
            await anyio.lowlevel.checkpoint()
        if nowait:
            try:
                pending = system.ask_nowait(key, index)
            except MailboxFull:
                pass
            else:
                sent[key].append(index)
                replies[index] = await pending
                return
        sent[key].append(index)
        replies[index] = await system.ask(key, index)

    def factory(key: str) -> Recorder:
        return Recorder(key, handled)

    with anyio.fail_after(30):
        async with (
            open_actor_system(
                factory,
                mailbox_size=mailbox_size,
                max_live=max_live,
                idle_timeout=0 if idle else None,
            ) as system,
            anyio.create_task_group() as tg,
        ):
            for index, (key_number, delay, nowait) in enumerate(program):
                tg.start_soon(client, index, f"k{key_number}", delay, nowait)
    assert dict(handled) == dict(sent)
    assert replies == {i: (f"k{key}", i) for i, (key, _, _) in enumerate(program)}


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    program=st.lists(step, max_size=40),
    mailbox_size=st.integers(min_value=1, max_value=4),
    max_live=st.one_of(st.none(), st.integers(min_value=1, max_value=3)),
    idle=st.booleans(),
)
def test_each_request_is_handled_once_in_per_key_fifo_order(
    backend: str,
    program: list[tuple[int, int, bool]],
    mailbox_size: int,
    max_live: int | None,
    idle: bool,
) -> None:
    anyio.run(run_program, program, mailbox_size, max_live, idle, backend=backend)
