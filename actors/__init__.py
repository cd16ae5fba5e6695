"""A domain-free actor runtime on anyio: keyed actors, drained batches, supervision.

Start with ``open_actor_system``; implement ``Actor``; talk to actors with
``ActorSystem.ask`` / ``ask_nowait``; an actor that can also take a message
in the sender's task implements ``ReceivesNow``.
"""

from ._actor import Actor, ReceivesNow, StopReason
from ._envelope import Envelope, Pending
from ._errors import ActorCrashed, ActorError, MailboxFull, NoReply, SystemClosed
from ._open import open_actor_system
from ._statistics import ActorStatistics
from ._system import ActorSystem

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
    "ReceivesNow",
    "StopReason",
    "SystemClosed",
    "open_actor_system",
]
