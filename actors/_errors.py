"""The runtime's errors: one root, four leaves, each with one meaning.

::

    ActorError
    ├── ActorCrashed    the actor raised while handling this request (cause in __cause__)
    ├── NoReply         receive() returned without answering this request
    ├── MailboxFull     ask_nowait() found the actor's mailbox full (also an anyio.WouldBlock)
    └── SystemClosed    the system no longer accepts requests, or stopped before answering

Errors an actor hands to ``Envelope.fail`` reach the caller unchanged; only the
runtime's own verdicts use these classes.
"""

from __future__ import annotations

from collections.abc import Hashable

import anyio


class ActorError(Exception):
    """Root of every error the actor runtime raises itself."""


class ActorCrashed(ActorError):
    """The actor handling the request raised, in ``on_start`` or ``receive``.

    The original exception is attached as ``__cause__``. The incarnation that
    raised is discarded; the key's next batch starts a fresh one.

    Attributes:
        key: The key of the actor that crashed.
    """

    def __init__(self, key: Hashable, error: BaseException) -> None:
        super().__init__(f"actor {key!r} crashed: {error!r}")
        self.key = key
        self.__cause__ = error


class NoReply(ActorError):
    """``receive`` returned without calling ``reply`` or ``fail`` on this request.

    Attributes:
        key: The key of the actor that left the request unanswered.
    """

    def __init__(self, key: Hashable) -> None:
        super().__init__(f"actor {key!r} returned from receive() without answering the request")
        self.key = key


class MailboxFull(ActorError, anyio.WouldBlock):
    """``ask_nowait`` found the actor's mailbox at capacity; nothing was queued."""


class SystemClosed(ActorError):
    """The actor system is shutting down or gone.

    Raised by ``ask``/``ask_nowait`` once the system's ``async with`` block has
    been left, and delivered to requests that were still unanswered when the
    system was cancelled.
    """
