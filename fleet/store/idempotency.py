"""Deciding what a re-sent append means.

A caller that timed out does not know whether its append was stored, so it
sends the same events (same event ids) again. :func:`classify_retry` compares
the ids of an append with what is already stored under those ids:

* none stored: a new append; go on;
* all stored, in this stream, in this order, at consecutive versions and
  positions: the exact append was committed before; return its original result;
* anything else (some stored, another stream, another order): ``DuplicateEvent``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fleet.db import StoredEventRef
from fleet.errors import DuplicateEvent
from fleet.store.results import AppendResult

__all__ = ["classify_retry"]


def classify_retry(
    stream_id: str, event_ids: Sequence[str], stored: Sequence[StoredEventRef]
) -> AppendResult | None:
    """Classify an append whose ids may already be stored.

    Args:
        stream_id: the stream the append is for.
        event_ids: the append's event ids, in order (unique within the append).
        stored: the stored events having any of those ids, in any order.

    Returns:
        ``None`` when none of the ids is stored, or the original result of an
        exact earlier append.

    Raises:
        DuplicateEvent: the ids overlap stored events but are not exactly an earlier append.
    """
    if not stored:
        return None
    by_id = {ref.event_id: ref for ref in stored}
    refs = [by_id.get(event_id) for event_id in event_ids]
    if all(ref is not None for ref in refs):
        present = [ref for ref in refs if ref is not None]
        first = present[0]
        exact = all(
            ref.stream_id == stream_id
            and ref.version == first.version + i
            and ref.position == first.position + i
            for i, ref in enumerate(present)
        )
        if exact:
            last = present[-1]
            return AppendResult(
                stream_id, first.version, last.version, first.position, last.position
            )
    overlapping = [event_id for event_id in event_ids if event_id in by_id]
    raise DuplicateEvent(
        f"append to {stream_id!r} reuses {len(overlapping)} stored event id(s) "
        f"(first {overlapping[0]!r}) but is not an exact retry of an earlier append",
        overlapping,
    )
