"""The daemon: the store, the API and hypercorn's trio worker, from start to a clean stop.

:func:`serve` opens the store, prepares the read models it is given (a
:class:`~fleet.server.ReadModelApi`) and keeps them live beside it
(``projections.enabled``), starts hypercorn on the configured address and
calls ``ready(url)`` with the address it actually listens on (so ``port = 0``
can be used). It returns after SIGTERM or SIGINT (or ``stop`` being set), in
this order:

1. readiness starts failing and live subscriptions end;
2. hypercorn stops accepting connections and lets requests in flight finish,
   for at most ``server.shutdown_grace_s``; a connection still being written
   to then is aborted;
3. store calls still running get the rest of the grace period, then are cancelled;
4. the read models stop (a batch being written commits or rolls back);
5. the store closes: every append it accepted is committed first.

An append acknowledged before the signal was committed before it was acknowledged.

No client holds the daemon up: a write that a client leaves unread for
``server.stream_send_timeout_s``, or that is still waiting when the grace
period ends, aborts its connection (see :mod:`fleet.server._connections`).

While it serves, the daemon returns freed heap memory to the system every
``server.memory_trim_s`` seconds (see :mod:`fleet.server._memory`), and
requests that are not valid HTTP/1.1 are answered with the documented error
body (see :mod:`fleet.server._http11`).
"""

from __future__ import annotations

import ipaddress
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Final, cast

import hypercorn.config
import hypercorn.trio
import hypercorn.typing
import trio

from fleet.compiled import compiled_modules
from fleet.config import Config, ServerConfig
from fleet.errors import ConfigError, FleetError, ListenFailed
from fleet.logging import get_logger
from fleet.projections import open_projections
from fleet.server._app import create_app
from fleet.server._connections import bounded_writes
from fleet.server._http11 import error_bodies
from fleet.server._memory import trim_periodically
from fleet.server._read_models import ReadModelApi
from fleet.server._service import KEEPALIVE_S, open_service
from fleet.store import EventStore, open_store

__all__ = ["check_exposure", "hypercorn_config", "serve"]

_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)


def check_exposure(server: ServerConfig) -> None:
    """Refuse settings that would expose the store by mistake.

    Raises:
        ConfigError: an address beyond loopback without a token (unless
            ``server.allow_no_token``), or only one of the two TLS files.
    """
    if bool(server.tls_certificate) != bool(server.tls_key):
        raise ConfigError(
            "HTTPS needs both server.tls_certificate and server.tls_key; only one is set"
        )
    if server.token or server.allow_no_token or _is_loopback(server.host):
        return
    raise ConfigError(
        f"refusing to serve on {server.host} without a token: set server.token "
        "(or FLEET_SERVER_TOKEN), or server.allow_no_token = true to serve anyone who connects"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def hypercorn_config(server: ServerConfig) -> hypercorn.config.Config:
    """Hypercorn's settings for the ``[server]`` section (HTTP/1.1 and HTTP/2; HTTPS when
    the TLS files are given)."""
    config = hypercorn.config.Config()
    if server.tls_certificate:
        config.certfile = server.tls_certificate
        config.keyfile = server.tls_key
    host = f"[{server.host}]" if ":" in server.host else server.host
    config.bind = [f"{host}:{server.port}"]
    config.graceful_timeout = server.shutdown_grace_s
    config.backlog = 1024
    config.accesslog = None
    errors = logging.getLogger("fleet.hypercorn")
    errors.setLevel(logging.WARNING)
    config.errorlog = errors
    config.include_server_header = False
    return config


async def _start_listening(
    nursery: trio.Nursery, run: Callable[..., Awaitable[None]], server: ServerConfig
) -> list[str]:
    """Start hypercorn in ``nursery`` and return the URLs it listens on.

    Raises:
        ListenFailed: binding the address failed (the operating system's error is the cause).
    """
    try:
        binds: list[str] = await nursery.start(run)
    except* OSError as group:
        first = _first_leaf(group)
        reason = first.strerror or str(first) if isinstance(first, OSError) else str(first)
        raise ListenFailed(f"{server.host}:{server.port}", reason) from first
    return binds


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


@asynccontextmanager
async def _prepared(store: EventStore, read_models: ReadModelApi) -> AsyncIterator[None]:
    """Make the read models' tables exist before the block, if the database can be written now.

    A database that cannot be written (yet) does not keep the daemon from
    starting: the projection lanes prepare the tables once it can.
    """
    try:
        for prepare in read_models.prepare:
            await trio.to_thread.run_sync(prepare, store.database)
    except FleetError as exc:
        get_logger("server").warning("read models not prepared yet", error=str(exc))
    yield


async def serve(
    config: Config,
    ready: Callable[[str], None],
    *,
    stop: trio.Event | None = None,
    keepalive_s: float = KEEPALIVE_S,
    read_models: ReadModelApi | None = None,
) -> None:
    """Serve the HTTP API until SIGTERM, SIGINT or ``stop``; see the module docstring.

    Args:
        config: the whole configuration (database, store, server).
        ready: called once with the URL the daemon listens on.
        stop: set it to shut down as a signal would.
        keepalive_s: silence before a subscription stream's keep-alive comment.
        read_models: the read models to prepare, keep live and serve (none by
            default: the store's operations only).

    Raises:
        ConfigError: settings that would expose the store by mistake
            (see :func:`check_exposure`).
        StoreUnavailable: the database cannot be opened.
        ListenFailed: the address cannot be bound (nothing was served).
    """
    check_exposure(config.server)
    read_models = read_models or ReadModelApi()
    log = get_logger("server")
    with trio.open_signal_receiver(*_SIGNALS) as signals:
        async with (
            open_store(config) as store,
            _prepared(store, read_models),
            open_projections(store, read_models.projections, prepare=read_models.prepare) as runner,
            open_service(
                store, config.server, keepalive_s=keepalive_s, projections=runner
            ) as service,
        ):

            async def shutdown_trigger() -> None:
                async with trio.open_nursery() as nursery:

                    async def on_signal() -> None:
                        async for number in signals:
                            log.info("shutting down", signal=signal.Signals(number).name)
                            break
                        nursery.cancel_scope.cancel()

                    async def on_stop() -> None:
                        if stop is not None:
                            await stop.wait()
                            log.info("shutting down", signal=None)
                            nursery.cancel_scope.cancel()

                    nursery.start_soon(on_signal)
                    nursery.start_soon(on_stop)
                service.begin_shutdown()
                writes.end_by(trio.current_time() + service.grace_left())

            app = create_app(service, read_models)
            settings = hypercorn_config(config.server)
            run = partial(
                hypercorn.trio.serve,
                cast(hypercorn.typing.ASGIFramework, app),
                settings,
                shutdown_trigger=shutdown_trigger,
            )
            timeout = config.server.stream_send_timeout_s
            with error_bodies(), bounded_writes(settings, timeout) as writes:
                async with trio.open_nursery() as background:
                    background.start_soon(trim_periodically, config.server.memory_trim_s)
                    async with trio.open_nursery() as nursery:
                        binds: list[str] = await _start_listening(nursery, run, config.server)
                        log.info(
                            "listening",
                            url=binds[0],
                            database=store.database.dialect,
                            compiled=",".join(compiled_modules()) or "none",
                        )
                        ready(binds[0])
                    background.cancel_scope.cancel()
            log.info("drained", pending_store_calls=service.pending_calls)
    log.info("stopped")
