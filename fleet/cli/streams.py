"""``fleet stream STREAM_ID`` and ``fleet delete STREAM_ID``: a stream's settings and deletion."""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from fleet.cli import EXIT_OK, Groups, common_options, remote_options
from fleet.cli.append import parse_expected_version
from fleet.cli.target import open_target, run
from fleet.config import Config
from fleet.errors import ValidationError
from fleet.events import load_catalog
from fleet.store import DeleteResult, StreamMetadata

__all__ = ["add_commands"]

_SETTINGS = (
    ("max_count", "--max-count", "N", "keep only the newest N events visible"),
    ("max_age_s", "--max-age", "SECONDS", "keep only events recorded in the last SECONDS"),
    ("truncate_before", "--truncate-before", "VERSION", "hide the events below VERSION"),
)


def add_commands(groups: Groups) -> None:
    """Register ``fleet stream`` and ``fleet delete``."""
    stream = groups.add_parser(
        "stream",
        help="show a stream's version and settings, or change its retention",
        description=(
            "Show a stream's version and settings. With a retention option, save it first: "
            "it holds at once for every read of the stream ('none' removes a limit); "
            "`fleet db scavenge` later removes what it hides."
        ),
        parents=[common_options(), remote_options()],
    )
    stream.set_defaults(handler=_stream, help_parser=stream)
    stream.add_argument("stream_id", metavar="STREAM_ID")
    for _, flag, metavar, text in _SETTINGS:
        stream.add_argument(flag, metavar=f"{metavar}|none", help=text)
    stream.add_argument("--json", action="store_true", help="print the settings as JSON")

    delete = groups.add_parser(
        "delete",
        help="delete a stream (soft, or --hard for good)",
        description=(
            "Delete a stream. Soft (the default): reads say it was deleted until an append "
            "starts it again. --hard: it can never be read or written again. Its events "
            "stay in the log until `fleet db scavenge` removes them."
        ),
        parents=[common_options(), remote_options()],
    )
    delete.set_defaults(handler=_delete, help_parser=delete)
    delete.add_argument("stream_id", metavar="STREAM_ID")
    delete.add_argument("--hard", action="store_true", help="delete it for good (a tombstone)")
    delete.add_argument(
        "--expected-version",
        default="any",
        metavar="any|N",
        help="refuse unless the stream is at this version (default: any)",
    )
    delete.add_argument("--json", action="store_true", help="print the result as JSON")


def _limit(name: str, text: str) -> int | None:
    if text == "none":
        return None
    if not text.isdecimal() or int(text) < 1:
        why = "must be a whole number from 1 up, or none"
        raise ValidationError(f"invalid {name}: {text!r} {why}", [(name, why)])
    return int(text)


def _describe(found: StreamMetadata) -> str:
    state = "hard-deleted" if found.hard_deleted else "deleted" if found.deleted else "live"
    lines = [
        f"stream: {found.stream_id}",
        f"version: {found.version if found.version is not None else 'none'}",
        f"state: {state}",
    ]
    for name, _, _, _ in _SETTINGS:
        value = getattr(found, name)
        lines.append(f"{name}: {value if value is not None else 'none'}")
    return "\n".join(lines)


def _stream(args: argparse.Namespace, config: Config) -> int:
    stream_id = load_catalog(config.store.catalog).check_stream_id(args.stream_id)
    given: dict[str, Any] = {
        name: _limit(name, text)
        for name, flag, _, _ in _SETTINGS
        if (text := getattr(args, flag.removeprefix("--").replace("-", "_"))) is not None
    }

    async def show() -> StreamMetadata:
        async with open_target(args, config, read_only=not given) as target:
            if given:
                return await target.set_stream_metadata(stream_id, **given)
            return await target.stream_metadata(stream_id)

    found = run(show)
    print(msgspec.json.encode(found).decode() if args.json else _describe(found))
    return EXIT_OK


def _delete(args: argparse.Namespace, config: Config) -> int:
    stream_id = load_catalog(config.store.catalog).check_stream_id(args.stream_id)
    expected = parse_expected_version(args.expected_version)

    async def delete() -> DeleteResult:
        async with open_target(args, config) as target:
            return await target.delete_stream(stream_id, hard=args.hard, expected_version=expected)

    result = run(delete)
    if args.json:
        print(msgspec.json.encode(result).decode())
    else:
        how = "for good" if result.hard else "(an append starts it again)"
        print(
            f"deleted {result.stream_id} {how}: its deletion is version {result.version}, "
            f"position {result.position}"
        )
    return EXIT_OK
