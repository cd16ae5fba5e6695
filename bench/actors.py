"""Throughput and memory of the actor runtime, on trio and on asyncio.

``python -m bench actors [--keys N] [--rounds N] [--hot-callers N] [--hot-asks N]
[--touch N] [--max-live N|None] [--repeat N] [--no-json]``

Throughput figures are the best of ``--repeat`` runs.

* ``fan-out``: one caller per key, each asking its own key ``--rounds`` times
  (every round is ``--keys`` concurrent single-message asks).
* ``hot key``: ``--hot-callers`` callers asking one key; the drained batch size
  shows how a burst to one key becomes one unit of work.
* ``baseline``: the fan-out shape on a naive runtime built from anyio memory
  object streams and one ``anyio.Event`` per reply, measured in the same run.
* ``memory``: in a fresh interpreter each, ``--touch`` distinct keys asked once
  with ``max_live=--max-live`` and with no cap; peak RSS shows eviction at work.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import anyio

from actors import Actor, Envelope, open_actor_system
from bench.report import peak_rss_mb, print_table, write_json

BACKENDS = ("trio", "asyncio")


class Echo(Actor[int, int]):
    async def receive(self, batch: Sequence[Envelope[int, int]]) -> None:
        for envelope in batch:
            envelope.reply(envelope.message)


def echo(key: object) -> Echo:
    return Echo()


async def fan_out(keys: int, rounds: int) -> dict[str, Any]:
    async def caller(key: int) -> None:
        for n in range(rounds):
            await system.ask(key, n)

    async with open_actor_system(echo, idle_timeout=None, max_live=None) as system:
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for key in range(keys):
                tg.start_soon(caller, key)
        elapsed = time.perf_counter() - started
        stats = system.statistics()
    return {
        "asks_per_s": keys * rounds / elapsed,
        "mean_batch": stats.messages_processed / stats.batches,
    }


async def hot_key(callers: int, asks: int) -> dict[str, Any]:
    per_caller = asks // callers

    async def caller() -> None:
        for n in range(per_caller):
            await system.ask("hot", n)

    async with open_actor_system(echo, idle_timeout=None) as system:
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(callers):
                tg.start_soon(caller)
        elapsed = time.perf_counter() - started
        stats = system.statistics()
    return {
        "asks_per_s": callers * per_caller / elapsed,
        "mean_batch": stats.messages_processed / stats.batches,
    }


async def stream_baseline(keys: int, rounds: int) -> dict[str, Any]:
    """The fan-out shape on memory object streams, one actor task per key."""

    async def actor(receive: Any) -> None:
        async with receive:
            async for message, done, slot in receive:
                slot.append(message)
                done.set()

    async with anyio.create_task_group() as actors_tg:
        sends = []
        for _ in range(keys):
            send, receive = anyio.create_memory_object_stream[Any](1024)
            sends.append(send)
            actors_tg.start_soon(actor, receive)

        async def caller(key: int) -> None:
            for n in range(rounds):
                done, slot = anyio.Event(), []
                await sends[key].send((n, done, slot))
                await done.wait()

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for key in range(keys):
                tg.start_soon(caller, key)
        elapsed = time.perf_counter() - started
        for send in sends:
            await send.aclose()
    return {"asks_per_s": keys * rounds / elapsed, "mean_batch": 1.0}


async def touch(keys: int, max_live: int | None, concurrency: int = 100) -> dict[str, Any]:
    async def caller(start: int) -> None:
        for key in range(start, keys, concurrency):
            await system.ask(key, key)

    async with open_actor_system(echo, idle_timeout=None, max_live=max_live) as system:
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for start in range(concurrency):
                tg.start_soon(caller, start)
        elapsed = time.perf_counter() - started
        stats = system.statistics()
    return {
        "keys": keys,
        "max_live": max_live,
        "asks_per_s": keys / elapsed,
        "live_at_end": stats.live_actors,
        "evictions": stats.evictions,
        "peak_rss_mb": peak_rss_mb(),
    }


def memory_in_child(backend: str, keys: int, max_live: int | None) -> dict[str, Any]:
    argv = ["--memory-child", backend, "--touch", str(keys), "--max-live", str(max_live)]
    code = "import sys; from bench.actors import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def cap(text: str) -> int | None:
    return None if text.lower() == "none" else int(text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench actors", description=__doc__)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--hot-callers", type=int, default=100)
    parser.add_argument("--hot-asks", type=int, default=50_000)
    parser.add_argument("--touch", type=int, default=100_000)
    parser.add_argument("--max-live", type=cap, default=10_000, help="a number or 'None'")
    parser.add_argument("--repeat", type=int, default=3, help="keep the best of N runs")
    parser.add_argument("--no-json", action="store_true")
    parser.add_argument("--memory-child", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        result = anyio.run(touch, args.touch, args.max_live, backend=args.memory_child)
        print(json.dumps(result))
        return 0

    throughput = []
    for backend in BACKENDS:
        shapes = [
            (f"fan-out {args.keys} keys", fan_out, (args.keys, args.rounds)),
            (f"hot key x{args.hot_callers}", hot_key, (args.hot_callers, args.hot_asks)),
            (f"baseline streams {args.keys} keys", stream_baseline, (args.keys, args.rounds)),
        ]
        for label, scenario, params in shapes:
            runs = [anyio.run(scenario, *params, backend=backend) for _ in range(args.repeat)]
            best = max(runs, key=lambda row: row["asks_per_s"])
            throughput.append({"backend": backend, "shape": label, **best})
    print_table("actors: asks per second", throughput)

    memory = [
        {"backend": backend, **memory_in_child(backend, args.touch, cap)}
        for backend in BACKENDS
        for cap in (args.max_live, None)
    ]
    print_table(f"actors: {args.touch:,} distinct keys, fresh interpreter each", memory)

    if not args.no_json:
        data = {"args": vars(args), "throughput": throughput, "memory": memory}
        path = write_json("actors", data)
        print(f"\nwrote {path}")
    return 0
