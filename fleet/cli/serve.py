"""``fleet serve``: run the HTTP daemon until SIGTERM or SIGINT.

Settings come from ``config.toml``, then ``FLEET_SERVER_*`` environment
variables, then the flags. With no configuration at all the daemon serves
the embedded SQLite database ``.fleet/fleet.db`` on ``127.0.0.1:8420``. Once
it listens it prints one line, ``fleet: listening on <url>``, on stdout (with
``--port 0``, the URL carries the port the system chose). The daemon owns its
process, so it tunes the interpreter where the configuration leaves it unset
(:data:`fleet.config.SERVING_INTERPRETER`). With ``projections.enabled`` (the
default) it keeps and serves the built-in read models
(:data:`fleet.read_models.http.BUILTIN_API`), creating their tables if the
database lacks them; otherwise it serves the store's operations only.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from fleet.cli import EXIT_OK, Groups, common_options
from fleet.config import Config, for_serving, with_overrides
from fleet.logging import configure_logging

__all__ = ["add_commands"]


def add_commands(groups: Groups) -> None:
    """Register ``fleet serve``."""
    serve = groups.add_parser(
        "serve",
        help="run the HTTP daemon (the store's API over HTTP)",
        description="Serve the event store over HTTP until SIGTERM or SIGINT; "
        "requests in flight finish and every accepted append commits before exit.",
        parents=[common_options()],
    )
    serve.add_argument("--host", help="address to bind (default: server.host, 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, help="port to bind; 0 picks a free one (default: server.port, 8420)"
    )
    serve.add_argument(
        "--token",
        help="bearer token required on every endpoint but /health/live "
        "(default: server.token or FLEET_SERVER_TOKEN)",
    )
    serve.set_defaults(handler=_serve, help_parser=serve)


def server_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``[server]`` keys given as flags."""
    given = {"host": args.host, "port": args.port, "token": args.token}
    return {key: value for key, value in given.items() if value is not None}


def _serve(args: argparse.Namespace, config: Config) -> int:
    from fleet.cli.target import run
    from fleet.events import load_catalog
    from fleet.read_models import applies_to
    from fleet.read_models.http import BUILTIN_API
    from fleet.server import serve

    overrides = server_overrides(args)
    if overrides:
        config = with_overrides(config, server=overrides)
    config = for_serving(config)
    configure_logging(config.log)

    def ready(url: str) -> None:
        print(f"fleet: listening on {url}", flush=True)

    catalog = load_catalog(config.store.catalog)
    serves_views = config.projections.enabled and applies_to(catalog)
    read_models = BUILTIN_API if serves_views else None
    run(partial(serve, read_models=read_models), config, ready)
    return EXIT_OK
