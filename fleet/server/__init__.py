"""Fleet's HTTP daemon: the store's API over HTTP, served by hypercorn's trio worker.

::

    async with open_store(config) as store, open_service(store, config.server) as service:
        app = create_app(service, read_models)   # an ASGI application

:func:`serve` is what ``fleet serve`` runs: the store, the application and the
HTTP server from start to a graceful stop. The daemon knows the store and the
projection machinery; read models join it through one extension point, a
:class:`ReadModelApi` (their projections, the tables they prepare, and their
read-only :class:`ReadOperation` s), which adds their operations to the
routes and to the OpenAPI document. The endpoints of the default daemon are
listed in ``fleet/server/openapi.json`` (served at ``/openapi.json``).
"""

from fleet.server._app import create_app
from fleet.server._daemon import hypercorn_config, serve
from fleet.server._openapi import openapi_document, openapi_json
from fleet.server._read_models import (
    ENTRY_POINT_GROUP,
    ReadModelApi,
    ReadOperation,
    installed_read_models,
    merged,
)
from fleet.server._service import KEEPALIVE_S, Service, open_service

__all__ = [
    "ENTRY_POINT_GROUP",
    "KEEPALIVE_S",
    "ReadModelApi",
    "ReadOperation",
    "Service",
    "create_app",
    "hypercorn_config",
    "installed_read_models",
    "merged",
    "open_service",
    "openapi_document",
    "openapi_json",
    "serve",
]
