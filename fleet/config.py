"""Typed configuration: ``config.toml``, then ``FLEET_*`` environment variables.

The configuration is a tree of frozen msgspec Structs. It is loaded once by the
entry point and passed explicitly to whatever needs it; there is no global.

Precedence, lowest first: the defaults below, the TOML file, environment
variables named ``FLEET_<SECTION>_<KEY>`` (for example ``FLEET_DATABASE_URL`` or
``FLEET_STORE_MAX_BATCH_EVENTS``), then command-line flags applied by the caller
with :func:`with_overrides`. An unknown key anywhere is an error that names the
key and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import msgspec

from fleet.errors import ConfigError

__all__ = [
    "DEFAULT_CATALOG",
    "ENV_PREFIX",
    "SERVING_INTERPRETER",
    "Config",
    "DatabaseConfig",
    "LogConfig",
    "ProjectionsConfig",
    "ServerConfig",
    "StoreConfig",
    "for_serving",
    "load_config",
    "with_overrides",
]

ENV_PREFIX: Final = "FLEET_"
"""Environment variables that start with this override settings (``FLEET_STORE_...``)."""

Positive = Annotated[int, msgspec.Meta(gt=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]


DEFAULT_CATALOG: Final = "fleet.vocabulary:CATALOG"
"""Fleet's built-in catalog of missions, work orders and checkpoints."""


class DatabaseConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where events are stored and how the connections behave."""

    url: str = "sqlite:///.fleet/fleet.db"
    """SQLAlchemy URL. A relative SQLite path is relative to the project directory."""
    synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    """SQLite ``synchronous`` pragma. FULL makes every acknowledged commit survive power loss."""
    busy_timeout_ms: Annotated[int, msgspec.Meta(ge=0)] = 5000
    """How long SQLite waits on a lock held by another process before failing."""
    cache_size_kib: Positive = 2048
    """SQLite page cache per connection, in KiB (the operating system caches the file
    too; a larger cache saves system calls on hot reads at the cost of memory)."""
    checkpoint_pages: Positive = 250
    """SQLite ``wal_autocheckpoint``: the commit that takes the write-ahead log past
    this many pages copies them back into the database file before it returns.
    SQLite's default is 1,000; at 250 each such commit copies a quarter as much,
    which cut the p99 append latency at half load by about a quarter without
    costing throughput (``bench append``, ``bench db``)."""
    read_pool_size: Positive = 4
    """Connections kept for reads, beside the one write connection."""
    connect_timeout_s: PositiveFloat = 5.0
    """How long to wait for a PostgreSQL server before reporting it unreachable."""
    auto_migrate: bool = True
    """Upgrade an empty database to the current schema when a store opens it."""


class StoreConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The catalog, write path, actors, snapshots and read limits."""

    catalog: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")] = (
        DEFAULT_CATALOG
    )
    """The stream categories the store accepts: ``"package.module:NAME"`` of a
    :class:`fleet.events.Catalog` (the module is imported when a store opens)."""
    max_batch_events: Positive = 10_000
    """Most events the writer commits in one transaction."""
    mailbox_size: Positive = 1024
    """Requests queued per stream actor before senders wait (backpressure)."""
    max_live_actors: Positive = 1_000
    """Stream actors kept in memory; the least recently used stop first (a stopped
    stream reloads from its snapshot on its next request). About 6 KiB each."""
    idle_timeout_s: PositiveFloat = 30.0
    """A stream actor with no work for this long stops and frees its memory."""
    snapshot_every: Annotated[int, msgspec.Meta(ge=0)] = 100
    """Save a snapshot every N events of a stream (0 turns periodic snapshots off)."""
    snapshot_on_stop: bool = True
    """Save a snapshot when a stream actor stops, if the stream moved enough since the last one."""
    snapshot_on_stop_min_events: Positive = 20
    """Events since the last snapshot below which a stopping actor saves none (short
    streams load as fast from their events as from a snapshot)."""
    snapshot_keep: Positive = 3
    """Newest snapshots kept per stream by cleanup."""
    max_read_limit: Positive = 10_000
    """The largest page a read may ask for."""
    freeze_gc_on_open: bool | None = None
    """Move every object alive when the store opens (imported modules, the schema)
    out of the cyclic garbage collector's reach (``gc.freeze``), so its full
    collections stop rescanning them: this removes most append latency spikes.
    Objects stay reclaimable by reference counting; the freeze is undone when the
    store closes unless something else had frozen objects before. ``None`` (the
    default) is ``false`` for a library and ``true`` under ``fleet serve`` and the
    benchmark (see :data:`SERVING_INTERPRETER`)."""
    gc_threshold: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """While a store is open, run the cyclic garbage collector's youngest generation
    after this many new container objects instead of Python's 700 (``gc.set_threshold``;
    the interpreter's setting comes back when the last open store closes). Every
    append allocates a few dozen short-lived objects, and each young collection
    rescans the thousands still in flight: at 700 that is about a third of the event
    loop's time. 0 leaves the interpreter's setting alone; ``None`` (the default) is
    0 for a library and 50,000 under ``fleet serve`` and the benchmark."""
    switch_interval_ms: Annotated[float, msgspec.Meta(ge=0)] | None = None
    """While a store is open, let threads take the GIL from each other after this
    many milliseconds instead of Python's 5 (``sys.setswitchinterval``; restored
    when the last open store closes). The writer thread gives the GIL up around
    each of its few database calls per commit and, while the event loop is busy,
    waits up to one interval to get it back: at 5 ms, commits spend most of their
    time waiting. 0 leaves the interpreter's setting alone; ``None`` (the default)
    is 0 for a library and 0.5 under ``fleet serve`` and the benchmark."""
    subscriber_buffer: Positive = 4096
    """Live events buffered per subscriber before it falls back to paging."""
    subscriber_buffer_bytes: Positive = 16 * 1024 * 1024
    """Payload bytes of the live events buffered per subscriber before it falls back
    to paging (whichever bound is reached first)."""
    subscription_poll_s: PositiveFloat = 1.0
    """Seconds of silence after which a live subscription looks in the database for
    events appended by other processes sharing it (a safety net: the change check
    finds them sooner)."""
    change_check_ms: PositiveFloat = 10.0
    """SQLite: how often a store with live subscriptions checks whether another process
    committed (``PRAGMA data_version``). PostgreSQL is notified instead."""


class LogConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Logging output."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["console", "json"] = "console"


class ServerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The HTTP daemon (``fleet serve``)."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8420
    token: str = ""
    """Bearer token required on every endpoint but liveness; empty means no token."""
    allow_no_token: bool = False
    """Serve without a token on an address other than loopback (refused unless true)."""
    tls_certificate: str = ""
    """PEM certificate chain file: with ``tls_key``, the daemon speaks HTTPS only."""
    tls_key: str = ""
    """PEM private key file of ``tls_certificate``."""
    max_body_bytes: Positive = 1_048_576
    """Largest request body accepted; a larger one is refused (413) before it is parsed."""
    shutdown_grace_s: PositiveFloat = 10.0
    """On SIGTERM/SIGINT: how long in-flight requests may take to finish before exit."""
    request_timeout_s: PositiveFloat = 10.0
    """Longest a request waits for the store; past it the answer is 503 with ``Retry-After``."""
    body_timeout_s: PositiveFloat = 10.0
    """Longest a request body may take to arrive; a body that stalls is refused (408)."""
    stream_send_timeout_s: PositiveFloat = 30.0
    """Longest one write of a response (a page, a subscription stream's chunk) may wait
    for a client that does not read; past it the connection is aborted (a subscriber
    resumes with ``Last-Event-ID``)."""
    stream_buffer_bytes: Positive = 262_144
    """Most bytes of events a subscription stream holds ready for its client at once,
    and most bytes of payloads in one page its subscription reads from the database."""
    page_bytes: Positive = 4_194_304
    """Most bytes of payloads in one page of ``GET /events`` or ``GET /streams/{id}``:
    a page ends early rather than pass it (holding at least one event), and says where
    to continue (``next_position``, ``next_version``)."""
    memory_trim_s: PositiveFloat = 10.0
    """How often the daemon hands freed heap memory back to the system (glibc)."""


class ProjectionsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The read models kept beside the writer (``fleet.projections``, ``fleet.read_models``)."""

    enabled: bool = True
    """Keep projections live while the store is open; ``fleet serve`` keeps and serves the
    built-in read models only when this is set."""
    batch_events: Positive = 1000
    """Most events a projection applies in one transaction (live and during a rebuild)."""
    gather_ms: NonNegativeFloat = 50.0
    """A live projection, after applying a batch, lets new events gather this long
    before the next one, so that under load it commits a few large batches instead
    of one per append; a caller waiting for a position (``wait_for_position``)
    cuts the wait short. ``0``: apply whatever arrived at once."""
    retry_delay_s: PositiveFloat = 1.0
    """Pause before a projection retries after the database failed it."""


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole configuration."""

    database: DatabaseConfig = DatabaseConfig()
    store: StoreConfig = StoreConfig()
    log: LogConfig = LogConfig()
    server: ServerConfig = ServerConfig()
    projections: ProjectionsConfig = ProjectionsConfig()
    project_dir: str = "."
    """Directory that relative paths (the SQLite file) are resolved against."""


def _sections() -> dict[str, type[msgspec.Struct]]:
    return {f.name: f.type for f in msgspec.structs.fields(Config) if isinstance(f.type, type)}


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    sections = _sections()
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        for section, struct in sections.items():
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                if key not in struct.__struct_fields__:
                    raise ConfigError(f"unknown configuration key {key!r} in environment {name}")
                found.setdefault(section, {})[key] = value
                break
    return found


def _merge(base: dict[str, Any], extra: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    merged = dict(base)
    for section, values in extra.items():
        current = merged.get(section, {})
        if not isinstance(current, dict):
            raise ConfigError(f"configuration section {section!r} must be a table")
        merged[section] = {**current, **values}
    return merged


def _convert(raw: dict[str, Any], source: str) -> Config:
    try:
        return msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid configuration in {source}: {exc}") from exc


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load the configuration.

    Args:
        path: a TOML file. ``None`` reads ``config.toml`` in the current directory if
            it exists, and uses the defaults otherwise. A path that is given must exist.
        environ: environment to read ``FLEET_*`` overrides from (default ``os.environ``).

    Returns:
        The frozen configuration. ``project_dir`` defaults to the file's directory.

    Raises:
        ConfigError: the file is missing or not TOML, a key is unknown, or a value is
            of the wrong type or out of range. The message names the key and source.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    source = "defaults"
    file = Path(path) if path is not None else Path("config.toml")
    if path is not None or file.exists():
        source = str(file)
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {source} does not exist") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read configuration file {source}: {exc}") from exc
        raw.setdefault("project_dir", str(file.resolve().parent))
    _convert(raw, source)
    overrides = _env_overrides(env)
    if overrides:
        source = f"{source} with environment overrides"
    return _convert(_merge(raw, overrides), source)


def with_overrides(config: Config, **sections: Mapping[str, Any]) -> Config:
    """Return ``config`` with some keys replaced, e.g. ``with_overrides(c, server={"port": 0})``.

    Raises:
        ConfigError: a section or key is unknown or a value is invalid.
    """
    raw = msgspec.to_builtins(config)
    for section in sections:
        if section not in raw or not isinstance(raw[section], dict):
            raise ConfigError(f"unknown configuration section {section!r}")
    return _convert(_merge(raw, sections), "overrides")


SERVING_INTERPRETER: Final[dict[str, Any]] = {
    "freeze_gc_on_open": True,
    "gc_threshold": 50_000,
    "switch_interval_ms": 0.5,
}
"""The interpreter settings a process that exists to run Fleet (``fleet serve``, the
benchmark) uses where the configuration leaves them unset. A library leaves the
interpreter alone unless its caller sets them."""


def for_serving(config: Config) -> Config:
    """``config`` with the unset interpreter settings filled from :data:`SERVING_INTERPRETER`.

    For programs that own their process; settings given explicitly are kept.
    """
    unset = {k: v for k, v in SERVING_INTERPRETER.items() if getattr(config.store, k) is None}
    return with_overrides(config, store=unset) if unset else config
