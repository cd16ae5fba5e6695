"""``fleet id KIND``: print fresh ids of one kind (``msn``, ``wo``, ``chk`` or ``evt``)."""

from __future__ import annotations

import argparse

from fleet.cli import EXIT_OK, Groups
from fleet.config import Config
from fleet.core import ID_PREFIXES, generate_id

__all__ = ["add_commands"]

_KINDS = {**{prefix: prefix for prefix in ID_PREFIXES.values()}, **ID_PREFIXES}


def add_commands(groups: Groups) -> None:
    """Register ``fleet id``."""
    command = groups.add_parser(
        "id",
        help="print a fresh id (a stream id to append to, or an event id)",
        description="Print fresh, time-ordered ids. KIND is a prefix (msn, wo, chk, evt) "
        "or its name (mission, work_order, checkpoint, event). Nothing is stored.",
    )
    command.add_argument("kind", metavar="KIND", choices=sorted(_KINDS), help="msn, wo, chk or evt")
    command.add_argument(
        "-n", "--count", type=_positive, default=1, metavar="N", help="how many (default: 1)"
    )
    command.set_defaults(handler=_print_ids, help_parser=command)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: a whole number 1-1000000")
    return value


def _print_ids(args: argparse.Namespace, config: Config) -> int:
    prefix = _KINDS[args.kind]
    print("\n".join(generate_id(prefix) for _ in range(args.count)))
    return EXIT_OK
