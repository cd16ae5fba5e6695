"""``fleet read [STREAM_ID]``: a stream or the global log, as a table or JSON lines.

The table (the default) has one row per event: position, stream, version,
type, recorded time and the start of the payload. ``--json`` prints each
event as one line of :mod:`fleet.wire` JSON, exactly what ``fleet export``
writes and the HTTP API returns. Both are streamed page by page, so a read of
the whole log starts printing at once and holds one page in memory.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Final, TextIO

import msgspec

from fleet.cli import EXIT_OK, Groups, Parser, common_options, remote_options
from fleet.cli.target import Target, open_target, run
from fleet.config import Config
from fleet.core import format_timestamp, parse_timestamp
from fleet.errors import ValidationError
from fleet.events import Event, JsonPayload
from fleet.store import Direction, LogFilter
from fleet.transfer import PAGE_SIZE, iter_log
from fleet.wire import encode_event

__all__ = [
    "EventPrinter",
    "add_commands",
    "add_filter_options",
    "log_filter",
    "parse_time",
    "positive_number",
    "whole_number",
]

_STREAM_WIDTH: Final = 30
_TYPE_WIDTH: Final = 26
"""The type column's width: the longest built-in event type name; longer names widen it."""
_PIPED_DATA_WIDTH: Final = 60


def add_commands(groups: Groups) -> None:
    """Register ``fleet read``."""
    read = groups.add_parser(
        "read",
        help="read a stream or the global log",
        description=(
            "Read one stream (with STREAM_ID) or the global log (without), as a table "
            "or as JSON lines (--json), following pages up to --limit events."
        ),
        parents=[common_options(), remote_options()],
    )
    read.set_defaults(handler=_read, help_parser=read)
    read.add_argument(
        "stream_id",
        nargs="?",
        default=None,
        metavar="STREAM_ID",
        help="the stream to read (default: the global log)",
    )
    read.add_argument(
        "--from",
        dest="start",
        type=whole_number,
        default=None,
        metavar="N",
        help="a stream: the first version to show (default: the first, or the last with "
        "--backwards); the log: show events after position N (default: 0)",
    )
    read.add_argument(
        "--limit",
        type=positive_number,
        default=None,
        metavar="N",
        help="show at most N events (default: all)",
    )
    read.add_argument(
        "--backwards", action="store_true", help="a stream only: newest version first"
    )
    add_filter_options(read, times=True)
    read.add_argument("--json", action="store_true", help="print JSON lines (fleet.wire)")


def add_filter_options(parser: Parser | argparse.ArgumentParser, *, times: bool) -> None:
    """Add the global log's filters (``--type``, ``--prefix``, ``--correlation-id``,
    and with ``times`` ``--since`` and ``--until``) to a command."""
    parser.add_argument(
        "--type",
        dest="types",
        action="append",
        default=None,
        metavar="TYPE",
        help="only events of this type (repeat for several)",
    )
    parser.add_argument(
        "--prefix",
        choices=("msn", "wo", "chk"),
        default=None,
        help="only streams of one kind: missions, work orders or checkpoints",
    )
    parser.add_argument(
        "--correlation-id", default=None, metavar="ID", help="only events with this correlation id"
    )
    if times:
        parser.add_argument(
            "--since",
            type=parse_time,
            default=None,
            metavar="TIME",
            help="only events recorded at or after TIME (ISO-8601 with offset, or epoch ms)",
        )
        parser.add_argument(
            "--until",
            type=parse_time,
            default=None,
            metavar="TIME",
            help="only events recorded before TIME",
        )


def whole_number(text: str) -> int:
    """An argparse type: a whole number (0 or more)."""
    if not text.isdecimal():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def positive_number(text: str) -> int:
    """An argparse type: a number of 1 or more."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def parse_time(text: str) -> int:
    """A time given on the command line: epoch milliseconds or ISO-8601 with an offset."""
    if text.isdecimal():
        return int(text)
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def log_filter(args: argparse.Namespace) -> LogFilter:
    """The filter given to a command registered with :func:`add_filter_options`.

    Raises:
        ValidationError: an unknown event type, or a time range that is not one.
    """
    return LogFilter(
        event_types=args.types or (),
        stream_prefix=args.prefix,
        correlation_id=args.correlation_id,
        recorded_after=getattr(args, "since", None),
        recorded_before=getattr(args, "until", None),
    )


async def _read_stream(
    target: Target, args: argparse.Namespace, where: LogFilter
) -> AsyncIterator[list[Event]]:
    """Yield one stream's matching events a page at a time, up to ``args.limit``."""
    remaining: int | None = args.limit
    version: int | None = args.start
    direction: Direction = "backwards" if args.backwards else "forwards"
    while True:
        page = await target.read_stream(args.stream_id, version, direction, PAGE_SIZE)
        found = [event for event in page.events if where.matches(event)]
        if remaining is not None:
            found = found[:remaining]
            remaining -= len(found)
        if found:
            yield found
        if page.next_version is None or remaining == 0:
            return
        version = page.next_version


class EventPrinter:
    """Writes events to a text stream as table rows or as JSON lines.

    The table's header is written before the first row; the data column is
    cut to the terminal's width (or to 60 characters when not a terminal).
    """

    def __init__(self, out: TextIO, *, json: bool) -> None:
        self._out = out
        self._json = json
        self._header_done = False
        self._data_width = _data_width(out)

    def header(self) -> None:
        """Write the table header (once; nothing in JSON mode)."""
        if self._json or self._header_done:
            return
        self._header_done = True
        self._out.write(
            _row("POSITION", "STREAM", "VERSION", "TYPE", "RECORDED", "DATA").rstrip() + "\n"
        )

    def write(self, events: Sequence[Event]) -> None:
        """Write events, then flush, so a reader at the other end of a pipe sees them."""
        if self._json:
            self._out.write("".join(encode_event(e).decode() + "\n" for e in events))
        else:
            self.header()
            self._out.write("".join(self._table_row(e) for e in events))
        self._out.flush()

    def _table_row(self, event: Event) -> str:
        return _row(
            str(event.position),
            event.stream_id,
            str(event.version),
            event.type,
            format_timestamp(event.recorded_at),
            _short(_payload_text(event), self._data_width),
        )


def _row(position: str, stream: str, version: str, kind: str, recorded: str, data: str) -> str:
    return (
        f"{position:>8}  {stream:<{_STREAM_WIDTH}}  {version:>7}  "
        f"{kind:<{_TYPE_WIDTH}}  {recorded:<24}  {data}\n"
    )


_FIXED_WIDTH: Final = len(_row("", "", "", "", "", "")) - 1


def _data_width(out: TextIO) -> int:
    if not out.isatty():
        return _PIPED_DATA_WIDTH
    columns = shutil.get_terminal_size().columns
    return max(20, columns - _FIXED_WIDTH)


def _payload_text(event: Event) -> str:
    payload = event.payload
    if isinstance(payload, JsonPayload):
        return msgspec.json.encode(payload.data).decode()
    fields = msgspec.to_builtins(payload)
    fields.pop("type", None)
    return msgspec.json.encode(fields).decode()


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _read(args: argparse.Namespace, config: Config) -> int:
    where = log_filter(args)
    if args.stream_id is None and args.backwards:
        raise ValidationError(
            "--backwards needs a STREAM_ID: the global log is read forwards",
            [("backwards", "needs a stream")],
        )
    if args.stream_id is not None and args.prefix is not None:
        raise ValidationError(
            "--prefix filters the global log; it cannot be combined with a STREAM_ID",
            [("prefix", "needs the global log")],
        )
    printer = EventPrinter(sys.stdout, json=args.json)

    async def read() -> None:
        async with open_target(args, config, read_only=True) as target:
            if args.stream_id is None:
                pages = iter_log(target, args.start or 0, where, args.limit)
            else:
                pages = _read_stream(target, args, where)
            async for page in pages:
                printer.write(page)
            printer.header()

    run(read)
    return EXIT_OK
