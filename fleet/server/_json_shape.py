"""Checks on a JSON body's structure before it is decoded.

A JSON parser accepts two things Fleet refuses at the edge:

* **nesting without bound** -- a body of ten thousand ``[`` would exhaust the
  decoder's recursion; no request of the API nests deeper than
  :data:`MAX_DEPTH` levels;
* **repeated keys** -- ``{"title": 1, "title": "ok"}`` would keep only the
  last value, silently dropping the first; an object may name a key once.

:func:`check_shape` scans the body's strings and brackets once, without
building any value. It assumes nothing about whether the rest of the body is
well-formed JSON: the decoder that runs next reports that.
"""

from __future__ import annotations

import json
import re
from typing import Final

from fleet.server._errors import Refusal

__all__ = ["MAX_DEPTH", "check_shape"]

MAX_DEPTH: Final = 32
"""The deepest nesting of objects and arrays a request body may have."""

_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]', re.DOTALL)
_OPENING: Final = frozenset(b"[{")
_CLOSING: Final = frozenset(b"]}")
_BRACE: Final = ord("{")
_QUOTE: Final = ord('"')


def check_shape(body: bytes, where: str = "body") -> None:
    """Refuse a body nested deeper than :data:`MAX_DEPTH` or with a repeated key.

    Raises:
        Refusal: 400 ``malformed_json`` naming the problem and where it is.
    """
    # Each open container: the keys seen so far (objects) or None (arrays).
    open_containers: list[set[bytes] | None] = []
    expect_key = False
    for match in _TOKENS.finditer(body):
        token = match.group()
        first = token[0]
        if first == _QUOTE:
            keys = open_containers[-1] if open_containers else None
            if expect_key and keys is not None:
                key = _normal_key(token)
                if key in keys:
                    _refuse(f"{where}: the key {_shown(token)} appears twice in one object")
                keys.add(key)
            expect_key = False
        elif first in _OPENING:
            if len(open_containers) == MAX_DEPTH:
                _refuse(f"{where}: nested deeper than {MAX_DEPTH} levels")
            open_containers.append(set() if first == _BRACE else None)
            expect_key = first == _BRACE
        elif first in _CLOSING:
            if open_containers:
                open_containers.pop()
            expect_key = False
        else:  # a comma: the next string of an object is a key
            expect_key = bool(open_containers) and open_containers[-1] is not None


def _normal_key(token: bytes) -> bytes:
    """The key's text, so that ``"a"`` and ``"\\u0061"`` are the same key."""
    if b"\\" not in token:
        return token[1:-1]
    try:
        decoded: str = json.loads(token)
    except ValueError:
        return token
    return decoded.encode("utf-8", "surrogatepass")


def _shown(token: bytes) -> str:
    text = token.decode(errors="replace")
    return text if len(text) <= 66 else text[:64] + '…"'


def _refuse(why: str) -> None:
    raise Refusal(400, "malformed_json", f"the request body is refused: {why}", [("body", why)])
