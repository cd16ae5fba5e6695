"""Fleet's HTTP daemon: the store's API over HTTP, served by hypercorn's trio worker.

::

    async with open_store(config) as store, open_service(store, config.server) as service:
        app = create_app(service)          # an ASGI application

:func:`serve` is what ``fleet serve`` runs: the store, the application and the
HTTP server from start to a graceful stop. The endpoints are listed in
``fleet/server/openapi.json`` (served at ``/openapi.json``).
"""

from fleet.server._app import create_app
from fleet.server._daemon import hypercorn_config, serve
from fleet.server._openapi import openapi_document, openapi_json
from fleet.server._service import KEEPALIVE_S, Service, open_service

__all__ = [
    "KEEPALIVE_S",
    "Service",
    "create_app",
    "hypercorn_config",
    "open_service",
    "openapi_document",
    "openapi_json",
    "serve",
]
