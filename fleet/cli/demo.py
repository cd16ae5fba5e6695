"""``fleet demo``: record a mission's life in the database and read it back."""

from __future__ import annotations

import argparse

from fleet.cli import Groups, common_options
from fleet.config import Config
from fleet.logging import configure_logging

__all__ = ["add_commands"]


def add_commands(groups: Groups) -> None:
    """Register ``fleet demo``."""
    demo = groups.add_parser(
        "demo",
        help="append a mission's events to the database and read them back",
        parents=[common_options()],
    )
    demo.set_defaults(handler=_demo, help_parser=demo)


def _demo(args: argparse.Namespace, config: Config) -> int:
    from fleet.demo import run_demo

    configure_logging(config.log)
    return run_demo(config)
