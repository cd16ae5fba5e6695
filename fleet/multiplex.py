"""Many concurrent requests of one client carried by few HTTP requests.

A :class:`Multiplexer` takes requests from any number of tasks and sends them
in batches through ``send`` (one HTTP request per batch, see
``POST /appends``), with at most ``max_in_flight`` batches on their way at a
time. A task whose request finds a free slot sends at once, together with
whatever else is waiting; the others wait, and whatever gathers while the
slots are busy goes together in the next batch. There is no timer: a lone
request goes out alone, at once, so it costs no latency; under load the
batches grow by themselves, as the store's group commit does.

Each request gets exactly its own outcome. When a batch's request fails as a
whole (the connection broke, the daemon is gone, the sender was cancelled),
every request in it fails with that error; whether the daemon committed them
is then unknown, which is why appends carry their own event ids (a retry with
the same ids returns the original result).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import anyio

from fleet.errors import StoreUnavailable

__all__ = ["Multiplexer"]

Q = TypeVar("Q")
A = TypeVar("A")


class _Waiting(Generic[Q, A]):
    __slots__ = ("answer", "error", "request", "wake")

    def __init__(self, request: Q) -> None:
        self.request = request
        self.answer: A | None = None
        self.error: BaseException | None = None
        self.wake = anyio.Event()

    @property
    def done(self) -> bool:
        return self.answer is not None or self.error is not None


class Multiplexer(Generic[Q, A]):
    """Sends requests in batches; see the module docstring.

    Args:
        send: sends one batch and returns one answer per request, in order
            (an answer may be an exception instance, raised for its request
            alone). An exception it raises is every request's answer.
        max_batch: most requests in one batch.
        max_in_flight: most batches on their way at once.
    """

    def __init__(
        self,
        send: Callable[[Sequence[Q]], Awaitable[Sequence[A | BaseException]]],
        *,
        max_batch: int,
        max_in_flight: int = 4,
    ) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be >= 1")
        self._send = send
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._waiting: list[_Waiting[Q, A]] = []
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Batches on their way now."""
        return self._in_flight

    async def submit(self, request: Q) -> A:
        """Send ``request`` (with whatever else is waiting) and return its answer.

        Raises:
            Exception: the answer, when it is an exception; or the error that
                failed its whole batch.
        """
        item: _Waiting[Q, A] = _Waiting(request)
        self._waiting.append(item)
        try:
            while not item.done:
                if self._in_flight < self._max_in_flight:
                    await self._send_batch()
                else:
                    await item.wake.wait()
                    item.wake = anyio.Event()
        except BaseException:
            if item in self._waiting:
                self._waiting.remove(item)
            raise
        if item.error is not None:
            raise item.error
        assert item.answer is not None
        return item.answer

    async def _send_batch(self) -> None:
        batch = self._waiting[: self._max_batch]
        del self._waiting[: self._max_batch]
        self._in_flight += 1
        try:
            answers = await self._answers(batch)
        except BaseException:
            cancelled = StoreUnavailable(
                "the request carrying this append was cancelled; whether it was "
                "stored is unknown: retry with the same event ids"
            )
            for item in batch:
                item.error = cancelled
                item.wake.set()
            raise
        finally:
            self._in_flight -= 1
            if self._waiting:
                self._waiting[0].wake.set()
        for item, answer in zip(batch, answers, strict=True):
            if isinstance(answer, BaseException):
                item.error = answer
            else:
                item.answer = answer
            item.wake.set()

    async def _answers(self, batch: list[_Waiting[Q, A]]) -> Sequence[A | BaseException]:
        """One answer per request of ``batch``: what ``send`` returned, or the error
        that stands for all of them."""
        try:
            answers = await self._send([item.request for item in batch])
        except Exception as exc:
            return [exc] * len(batch)
        if len(answers) != len(batch):
            lost = StoreUnavailable(
                f"{len(answers)} answers came back for {len(batch)} requests; whether "
                "they were stored is unknown: retry with the same event ids"
            )
            return [lost] * len(batch)
        return answers
