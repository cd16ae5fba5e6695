"""One request and its one-shot reply slot.

An ``Envelope`` is what the actor sees: the message plus ``reply``/``fail``. The
caller sees the same object through the narrower ``Pending`` interface. Using one
object for both keeps a request to a single allocation plus one native event.

Lifecycle: *pending* → *replied* or *failed*, exactly once, optionally through
*deferred*: an actor that hands the work on (to a writer, say) calls ``defer()``
and answers later, after its ``receive`` returned; the runtime then leaves the
envelope alone. A caller that stops waiting (cancelled) marks the envelope
*abandoned*; resolving it afterwards is harmless and the value is dropped.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Generic, TypeVar, cast

import anyio

from ._backend import Event

M = TypeVar("M")
R = TypeVar("R")

_PENDING = 0
_REPLIED = 1
_FAILED = 2
_DEFERRED = 3


class Pending(Generic[R]):
    """The caller's handle on a queued request: await it for the reply.

    Obtained from ``ActorSystem.ask_nowait``; not constructed directly.

    ``await pending`` and ``await pending.wait()`` are the same. Either returns
    the value the actor replied with or raises the error it failed with. Several
    tasks may wait on one handle.
    """

    __slots__ = ("_abandoned", "_error", "_event", "_state", "_value")

    _state: int
    _value: R | None
    _error: BaseException | None
    _event: Event
    _abandoned: bool

    def done(self) -> bool:
        """Return True once the request has been answered or failed."""
        return self._state == _REPLIED or self._state == _FAILED

    async def wait(self) -> R:
        """Wait for the answer.

        Returns:
            The value passed to ``Envelope.reply``.

        Raises:
            Exception: Whatever the actor passed to ``Envelope.fail``, or the
                runtime's ``ActorCrashed``, ``NoReply`` or ``SystemClosed``.
        """
        if self._state == _PENDING or self._state == _DEFERRED:
            try:
                await self._event.wait()
            except BaseException:
                self._abandoned = True
                raise
        else:
            await anyio.lowlevel.checkpoint()
        if self._state == _FAILED:
            raise cast(BaseException, self._error)
        return cast(R, self._value)

    def __await__(self) -> Generator[Any, None, R]:
        return self.wait().__await__()


class Envelope(Pending[R], Generic[M, R]):
    """A request as the actor receives it.

    The actor must call exactly one of ``reply`` or ``fail`` for each envelope in
    a batch before ``receive`` returns; the runtime fails any it leaves unanswered
    with ``NoReply``.

    Attributes:
        message: The message passed to ``ask``.
    """

    __slots__ = ("message",)

    def __init__(self, message: M, event: Event) -> None:
        self._state = _PENDING
        self._value = None
        self._error = None
        self._event = event
        self._abandoned = False
        self.message = message

    @property
    def abandoned(self) -> bool:
        """True when the caller was cancelled while waiting for the answer.

        The actor may skip the work; answering is still allowed and ignored.
        """
        return self._abandoned

    def defer(self) -> None:
        """Promise to answer after ``receive`` returns; the runtime will not fail it.

        The actor becomes responsible for calling ``reply`` or ``fail`` exactly
        once, even if it crashes or is stopped later. Deferring again is allowed.

        Raises:
            RuntimeError: The envelope was already answered or failed.
        """
        if self._state != _PENDING and self._state != _DEFERRED:
            raise RuntimeError("envelope already resolved")
        self._state = _DEFERRED

    def reply(self, value: R) -> None:
        """Answer the request with ``value``.

        Raises:
            RuntimeError: The envelope was already answered or failed.
        """
        if self._state != _PENDING and self._state != _DEFERRED:
            raise RuntimeError("envelope already resolved")
        self._value = value
        self._state = _REPLIED
        self._event.set()

    def fail(self, error: BaseException) -> None:
        """Answer the request by raising ``error`` in the caller.

        Raises:
            RuntimeError: The envelope was already answered or failed.
        """
        if self._state != _PENDING and self._state != _DEFERRED:
            raise RuntimeError("envelope already resolved")
        self._error = error
        self._state = _FAILED
        self._event.set()
