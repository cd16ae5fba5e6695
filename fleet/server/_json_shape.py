"""Checks on a JSON body's structure before it is decoded.

A JSON parser accepts two things Fleet refuses at the edge:

* **nesting without bound** -- a body of ten thousand ``[`` would exhaust the
  decoder's recursion; no request of the API nests deeper than
  :data:`MAX_DEPTH` levels;
* **repeated keys** -- ``{"title": 1, "title": "ok"}`` would keep only the
  last value, silently dropping the first; an object may name a key once.

:func:`check_shape` counts the brackets outside strings first, so that no
parser ever meets a deeper document, then parses the body with the standard
library's C parser, which reports every object's keys in order, to find a
repeated one. It assumes nothing about whether the body is well-formed JSON:
the decoder that runs next reports that.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from fleet.server._errors import Refusal

__all__ = ["MAX_DEPTH", "check_shape"]

MAX_DEPTH: Final = 32
"""The deepest nesting of objects and arrays a request body may have."""

_STRINGS: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS: Final = bytes(range(256)).translate(None, b"[]{}")
_OPENING: Final = frozenset(b"[{")


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def check_shape(body: bytes, where: str = "body") -> None:
    """Refuse a body nested deeper than :data:`MAX_DEPTH` or with a repeated key.

    Raises:
        Refusal: 400 ``malformed_json`` naming the problem and where it is.
    """
    if _depth(body) > MAX_DEPTH:
        _refuse(f"{where}: nested deeper than {MAX_DEPTH} levels")
    try:
        json.loads(body, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as repeated:
        _refuse(f"{where}: the key {_shown(repeated.key)} appears twice in one object")
    except ValueError:
        return  # not JSON: the decoder that runs next says what is wrong


def _depth(body: bytes) -> int:
    """The deepest nesting of brackets outside strings (unbalanced input counts high)."""
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for bracket in brackets:
        if bracket in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> None:
    if len(pairs) > 1:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)


def _shown(key: str) -> str:
    text = json.dumps(key, ensure_ascii=False)
    return text if len(text) <= 66 else text[:64] + '…"'


def _refuse(why: str) -> None:
    raise Refusal(400, "malformed_json", f"the request body is refused: {why}", [("body", why)])
