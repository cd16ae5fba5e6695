"""A domain-free actor runtime on anyio: keyed actors, drained batches, supervision.

Start with ``open_actor_system``; implement ``Actor``; talk to actors with
``ActorSystem.ask`` / ``ask_nowait``.
"""

from ._actor import Actor, StopReason
from ._envelope import Envelope, Pending
from ._errors import ActorCrashed, ActorError, MailboxFull, NoReply, SystemClosed
from ._statistics import ActorStatistics
from ._system import ActorSystem, open_actor_system

__all__ = [
    "Actor",
    "ActorCrashed",
    "ActorError",
    "ActorStatistics",
    "ActorSystem",
    "Envelope",
    "MailboxFull",
    "NoReply",
    "Pending",
    "StopReason",
    "SystemClosed",
    "open_actor_system",
]
