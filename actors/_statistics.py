"""Counters kept by a running system and the frozen record it reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ActorStatistics:
    """A snapshot of an actor system, returned by ``ActorSystem.statistics()``.

    Attributes:
        live_actors: Actors currently bound to a key (receiving new messages).
        stopping_actors: Actors unbound from their key that are finishing their
            mailbox or running ``on_stop``.
        mailbox_depth: Messages queued across all live actors.
        max_mailbox_depth: The deepest single mailbox right now.
        blocked_senders: ``ask`` calls waiting for mailbox space.
        messages_processed: Messages handed to ``receive`` since the system opened.
        batches: Calls to ``receive`` since the system opened.
        spawned: Actors started since the system opened (one per incarnation).
        crashes: Exceptions raised by ``on_start``, ``receive`` or ``on_stop``.
        passivations: Actors stopped for being idle longer than ``idle_timeout``.
        evictions: Idle actors stopped to keep within ``max_live``.
    """

    live_actors: int
    stopping_actors: int
    mailbox_depth: int
    max_mailbox_depth: int
    blocked_senders: int
    messages_processed: int
    batches: int
    spawned: int
    crashes: int
    passivations: int
    evictions: int


class Counters:
    """Mutable running totals, bumped once per batch rather than per message."""

    __slots__ = ("batches", "crashes", "evictions", "messages", "passivations", "spawned")

    def __init__(self) -> None:
        self.messages = 0
        self.batches = 0
        self.spawned = 0
        self.crashes = 0
        self.passivations = 0
        self.evictions = 0
