"""Which aggregate owns a stream, decided by the stream id's prefix."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from fleet.core import extract_prefix
from fleet.errors import ValidationError
from fleet.events._aggregate import Aggregate
from fleet.events._checkpoint import CHECKPOINT
from fleet.events._mission import MISSION
from fleet.events._work_order import WORK_ORDER

__all__ = ["AGGREGATES", "aggregate_for_stream"]

AGGREGATES: Final[Mapping[str, Aggregate[Any]]] = MappingProxyType(
    {aggregate.prefix: aggregate for aggregate in (MISSION, WORK_ORDER, CHECKPOINT)}
)
"""Every aggregate by its stream-id prefix (``msn``, ``wo``, ``chk``)."""


def aggregate_for_stream(stream_id: str) -> Aggregate[Any]:
    """Return the aggregate whose streams are named like ``stream_id``.

    Raises:
        ValidationError: ``stream_id`` is not a well-formed mission, work-order or
            checkpoint id.
    """
    prefix = extract_prefix(stream_id) if isinstance(stream_id, str) else None
    aggregate = AGGREGATES.get(prefix) if prefix is not None else None
    if aggregate is None:
        why = "expected a mission (msn-…), work-order (wo-…) or checkpoint (chk-…) id"
        raise ValidationError(f"invalid stream id {stream_id!r}: {why}", [("stream_id", why)])
    return aggregate
