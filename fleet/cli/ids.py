"""``fleet id CATEGORY``: print fresh time-ordered ids of one stream category, or event ids."""

from __future__ import annotations

import argparse

from fleet.cli import EXIT_OK, Groups
from fleet.config import Config
from fleet.core import EVENT_ID_PREFIX, generate_id
from fleet.errors import ValidationError
from fleet.events import load_catalog

__all__ = ["add_commands"]


def add_commands(groups: Groups) -> None:
    """Register ``fleet id``."""
    command = groups.add_parser(
        "id",
        help="print a fresh id (a stream id to append to, or an event id)",
        description="Print fresh, time-ordered ids. KIND is a stream category of the "
        "configured catalog (store.catalog; the built-in one has msn, wo and chk) or evt "
        "for event ids. Nothing is stored.",
    )
    command.add_argument("kind", metavar="KIND", help="a stream category, or evt")
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
    kind: str = args.kind
    if kind != EVENT_ID_PREFIX:
        catalog = load_catalog(config.store.catalog)
        if kind not in catalog:
            why = (
                f"no stream category {kind!r}: use one of {catalog.names()}, "
                f"or {EVENT_ID_PREFIX} for event ids"
            )
            raise ValidationError(why, [("kind", why)])
    print("\n".join(generate_id(kind) for _ in range(args.count)))
    return EXIT_OK
