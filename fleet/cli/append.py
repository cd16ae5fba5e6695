"""``fleet append STREAM_ID [EVENTS_JSON | -]``: append events to one stream."""

from __future__ import annotations

import argparse
import sys

import msgspec

from fleet.cli import EXIT_OK, Groups, common_options, remote_options
from fleet.cli.target import open_target, run
from fleet.config import Config
from fleet.errors import ValidationError
from fleet.events import Catalog, NewEvent, load_catalog
from fleet.store import AppendResult, ExpectedVersion, validate_expected_version

__all__ = ["add_commands", "parse_events", "parse_expected_version"]

_EXAMPLE = """\
events are a JSON array (or one object) of
  {"type": "MissionCreated", "data": {...}, "event_id"?: "evt-...",
   "occurred_at"?: <epoch ms>, "metadata"?: {"correlation_id", "causation_id", "actor"}}

examples:
  fleet append msn-... '{"type": "MissionCreated", "data": {"title": "Survey"}}' \\
      --expected-version no_stream
  cat events.json | fleet append wo-... - --expected-version 3 --json
"""


def add_commands(groups: Groups) -> None:
    """Register ``fleet append``."""
    append = groups.add_parser(
        "append",
        help="append events (JSON) to one stream",
        description="Append events to one stream, atomically, and print where they went.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options(), remote_options()],
    )
    append.set_defaults(handler=_append, help_parser=append)
    append.add_argument("stream_id", metavar="STREAM_ID", help="msn-..., wo-... or chk-...")
    append.add_argument(
        "events",
        nargs="?",
        default="-",
        metavar="EVENTS_JSON",
        help="the events as JSON, or - (the default) to read them from stdin",
    )
    append.add_argument(
        "--expected-version",
        default="any",
        metavar="any|no_stream|stream_exists|N",
        help="refuse the append unless the stream is in this state (default: any)",
    )
    append.add_argument("--json", action="store_true", help="print the result as JSON")


def parse_expected_version(text: str) -> ExpectedVersion:
    """The expected version written on the command line (a word or a version number).

    Raises:
        ValidationError: neither a known word nor a whole number.
    """
    value: object = int(text) if text.isdecimal() else text
    return validate_expected_version(value)


def parse_events(data: bytes, catalog: Catalog, stream_id: str) -> list[NewEvent]:
    """Decode events for ``stream_id`` given as a JSON array, or as one JSON object.

    Raises:
        ValidationError: malformed JSON or an invalid event; the problem names it.
    """
    text = data.strip()
    if not text:
        raise ValidationError("no events given: pass a JSON array of events", [("events", "empty")])
    if text.startswith(b"{"):
        try:
            msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            why = f"malformed JSON: {exc}"
            raise ValidationError(f"invalid event: {why}", [("event", why)]) from exc
        text = b"[" + text + b"]"
    return catalog.decode_new_events(text, stream_id=stream_id)


def _read_events(source: str) -> bytes:
    if source != "-":
        return source.encode()
    if sys.stdin.isatty():
        raise ValidationError(
            "no events given: pass them as an argument or pipe them to stdin",
            [("events", "missing")],
        )
    return sys.stdin.buffer.read()


def _describe(result: AppendResult) -> str:
    count = result.last_version - result.first_version + 1
    noun = "event" if count == 1 else "events"
    if count == 1:
        where = f"version {result.first_version}, position {result.first_position}"
    else:
        where = (
            f"versions {result.first_version}-{result.last_version}, "
            f"positions {result.first_position}-{result.last_position}"
        )
    return f"appended {count} {noun} to {result.stream_id}: {where}"


def _append(args: argparse.Namespace, config: Config) -> int:
    expected = parse_expected_version(args.expected_version)
    catalog = load_catalog(config.store.catalog)
    stream_id = catalog.check_stream_id(args.stream_id)
    events = parse_events(_read_events(args.events), catalog, stream_id)

    async def append() -> AppendResult:
        async with open_target(args, config) as target:
            return await target.append(stream_id, events, expected)

    result = run(append)
    print(msgspec.json.encode(result).decode() if args.json else _describe(result))
    return EXIT_OK
