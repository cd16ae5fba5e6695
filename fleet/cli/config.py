"""``fleet config show``: the effective configuration, secrets hidden.

The configuration is what every other command would use: the defaults, then
the TOML file, then ``FLEET_<SECTION>_<KEY>`` environment variables, then
flags. The human form is TOML (a valid ``config.toml``, with a comment naming
the sources); ``--json`` prints the same tree as JSON. The bearer token and
any password in the database URL are replaced by ``***``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from fleet.cli import EXIT_OK, Groups, common_options
from fleet.config import ENV_PREFIX, Config

__all__ = ["HIDDEN", "add_commands", "shown_config", "to_toml"]

HIDDEN: Final = "***"
"""What a secret is shown as."""


def add_commands(groups: Groups) -> None:
    """Register ``fleet config show``."""
    config = groups.add_parser("config", help="show the effective configuration")
    config.set_defaults(help_parser=config)
    commands = config.add_subparsers(dest="command", metavar="SUBCOMMAND")
    show = commands.add_parser(
        "show",
        help="print the configuration in effect (file, then environment, then flags)",
        description=(
            "Print the configuration every command would use: defaults, then the TOML "
            "file, then FLEET_<SECTION>_<KEY> environment variables, then flags. "
            "Secrets are shown as ***."
        ),
        parents=[common_options()],
    )
    show.set_defaults(handler=_show, help_parser=show)
    show.add_argument("--json", action="store_true", help="print the configuration as JSON")


def _hide_password(url: str) -> str:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return url
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def shown_config(config: Config) -> dict[str, Any]:
    """The configuration as plain data, with the token and database password hidden."""
    tree: dict[str, Any] = msgspec.to_builtins(config)
    if tree["server"]["token"]:
        tree["server"]["token"] = HIDDEN
    tree["database"]["url"] = _hide_password(tree["database"]["url"])
    return tree


def _sources(args: argparse.Namespace) -> list[str]:
    sources = ["defaults"]
    if args.config is not None:
        sources.append(str(args.config))
    elif Path("config.toml").exists():
        sources.append("config.toml")
    names = sorted(name for name in os.environ if name.startswith(ENV_PREFIX) and _is_key(name))
    if names:
        sources.append("environment (" + ", ".join(names) + ")")
    if args.database_url is not None:
        sources.append("flags (--database-url)")
    return sources


def _is_key(name: str) -> bool:
    rest = name[len(ENV_PREFIX) :].lower()
    section, _, key = rest.partition("_")
    fields = {f.name: f.type for f in msgspec.structs.fields(Config)}
    struct = fields.get(section)
    return isinstance(struct, type) and key in getattr(struct, "__struct_fields__", ())


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def _toml_line(key: str, value: object) -> str:
    # TOML has no null: an unset key is shown commented out.
    return f"# {key} is unset" if value is None else f"{key} = {_toml_value(value)}"


def to_toml(tree: dict[str, Any]) -> str:
    """Write a two-level configuration tree as TOML: top-level keys, then one table per section."""
    lines = [_toml_line(key, value) for key, value in tree.items() if not isinstance(value, dict)]
    for section, values in tree.items():
        if isinstance(values, dict):
            lines.append("")
            lines.append(f"[{section}]")
            lines.extend(_toml_line(key, value) for key, value in values.items())
    return "\n".join(lines) + "\n"


def _show(args: argparse.Namespace, config: Config) -> int:
    tree = shown_config(config)
    if args.json:
        print(json.dumps(tree, indent=2))
    else:
        print("# sources, later ones win: " + ", then ".join(_sources(args)))
        print(to_toml(tree), end="")
    return EXIT_OK
