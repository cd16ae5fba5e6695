"""A scriptable actor whose every hook call is logged, for driving the runtime in tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import anyio

from actors import Actor, Envelope, StopReason

CRASH = "crash"
IGNORE = "ignore"


class Probe:
    """Shared state of all incarnations of ``ProbeActor``: log, gates and failure switches.

    Messages: ``CRASH`` makes ``receive`` raise ``RuntimeError``, ``IGNORE`` is left
    unanswered, an exception instance is passed to ``fail``, anything else is
    answered with ``(key, incarnation, message)``.
    """

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.incarnations: Counter[Any] = Counter()
        self.holds: dict[Any, anyio.Event] = {}
        self.entered: dict[Any, anyio.Event] = {}
        self.stop_holds: dict[Any, anyio.Event] = {}
        self.stopped: dict[Any, anyio.Event] = {}
        self.failing_starts: set[Any] = set()
        self.failing_stops: set[Any] = set()
        self.abandoned: list[Any] = []

    def factory(self, key: Any) -> ProbeActor:
        self.incarnations[key] += 1
        return ProbeActor(self, key, self.incarnations[key])

    def hold(self, key: Any) -> tuple[anyio.Event, anyio.Event]:
        """Make the key's next batch wait; return (entered, release) events."""
        self.entered[key] = entered = anyio.Event()
        self.holds[key] = release = anyio.Event()
        return entered, release

    def watch_stop(self, key: Any) -> anyio.Event:
        self.stopped[key] = event = anyio.Event()
        return event

    def batches(self, key: Any) -> list[list[Any]]:
        return [entry[3] for entry in self.log if entry[0] == "batch" and entry[1] == key]

    def kinds(self, key: Any) -> list[tuple[str, int]]:
        return [(entry[0], entry[2]) for entry in self.log if entry[1] == key]


class ProbeActor(Actor[Any, Any]):
    def __init__(self, probe: Probe, key: Any, incarnation: int) -> None:
        self.probe = probe
        self.key = key
        self.incarnation = incarnation

    async def on_start(self) -> None:
        self.probe.log.append(("start", self.key, self.incarnation))
        await anyio.lowlevel.checkpoint()
        if self.key in self.probe.failing_starts:
            raise ValueError(f"cannot load {self.key!r}")

    async def receive(self, batch: Sequence[Envelope[Any, Any]]) -> None:
        probe = self.probe
        probe.log.append(("batch", self.key, self.incarnation, [e.message for e in batch]))
        entered = probe.entered.pop(self.key, None)
        if entered is not None:
            entered.set()
        release = probe.holds.pop(self.key, None)
        if release is not None:
            await release.wait()
        for envelope in batch:
            message = envelope.message
            if envelope.abandoned:
                probe.abandoned.append(message)
            if message == CRASH:
                raise RuntimeError("boom")
            if message == IGNORE:
                continue
            if isinstance(message, Exception):
                envelope.fail(message)
            else:
                envelope.reply((self.key, self.incarnation, message))

    async def on_stop(self, reason: StopReason) -> None:
        self.probe.log.append(("stop", self.key, self.incarnation, reason))
        release = self.probe.stop_holds.pop(self.key, None)
        if release is not None:
            await release.wait()
        stopped = self.probe.stopped.pop(self.key, None)
        if stopped is not None:
            stopped.set()
        if self.key in self.probe.failing_stops:
            raise OSError("cannot save")
