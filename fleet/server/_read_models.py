"""The extension point for read models: their projections and their read-only operations.

The daemon itself knows only the event store and the projection machinery. A
set of read models is added to it as a :class:`ReadModelApi`::

    api = ReadModelApi(
        projections=(ORDERS,),
        operations=(
            ReadOperation(
                "get_order", "/orders/{order_id}", "One order.", OrderView, read_order,
                parameters={"order_id": {"type": "string", "pattern": "^ord-"}},
                not_found=True,
            ),
        ),
        prepare=(create_order_tables,),
    )
    app = create_app(service, api)                 # the routes
    document = openapi_document(api)               # the same operations, documented
    await serve(config, ready, read_models=api)    # prepare, keep live, serve

What the daemon guarantees for each :class:`ReadOperation`:

* it is routed as ``GET`` on its path, behind the same authentication, limits,
  request log and metrics as every other operation, and documented in the
  OpenAPI document with its query parameters, its response and its errors
  (``401``, ``422``, ``503``, and ``404`` when ``not_found``);
* the query string is decoded into the operation's query Struct (unknown,
  repeated or ill-typed parameters are ``422``) before ``read`` is called;
* ``read`` runs as a store call of the service: within the request deadline,
  its result encoded as the ``200`` body, a :class:`~fleet.errors.FleetError`
  it raises answered with the error body like any other
  (:class:`~fleet.errors.ValidationError` is ``422``,
  :class:`~fleet.errors.ViewNotFound` is ``404``).

The projections are the ones ``GET /projections``, ``/projections/{name}/errors``
and ``/projections/{name}/rebuild`` know by name, and those the daemon keeps
live (``projections.enabled``) after calling every ``prepare`` function.

Packages that want the checked-in document (``python -m fleet.server
openapi``) to include their operations name their :class:`ReadModelApi` in
the ``fleet.read_models`` entry-point group (see :func:`installed_read_models`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Final

import msgspec

from fleet.db import Database
from fleet.projections import Projection
from fleet.server._operations import NoQuery, Operation
from fleet.store import EventStore

__all__ = [
    "ENTRY_POINT_GROUP",
    "ReadModelApi",
    "ReadOperation",
    "installed_read_models",
    "merged",
]

ENTRY_POINT_GROUP: Final = "fleet.read_models"
"""The entry-point group whose objects are :class:`ReadModelApi` instances."""

Read = Callable[[EventStore, Mapping[str, str], Any], Awaitable[msgspec.Struct]]
"""``read(store, path_parameters, query)``: the response body of one request."""

_READ_ERRORS: Final = (401, 422, 503)


@dataclass(frozen=True, slots=True)
class ReadOperation:
    """One read-only ``GET`` over a read model.

    Attributes:
        name: the handler's name and the OpenAPI ``operationId``; unique in the API.
        path: a Starlette path template (``/orders/{order_id}``).
        summary: one line for the document.
        response: the 200 body's type, a msgspec Struct.
        read: called as ``read(store, path_parameters, query)`` with the decoded
            query Struct; returns the body.
        query: the query parameters' Struct (decoded with its own rules;
            declare it with ``forbid_unknown_fields=True``).
        parameters: the JSON schema of each path parameter, as documented; one
            of the store's own (``stream_id``, ``event_id``) may be left out to
            be documented as the store documents it.
        not_found: true when ``read`` can raise :class:`~fleet.errors.ViewNotFound`.
    """

    name: str
    path: str
    summary: str
    response: type[msgspec.Struct]
    read: Read
    query: type[msgspec.Struct] = NoQuery
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    not_found: bool = False

    def operation(self) -> Operation:
        """The operation as the router and the document see it."""
        errors = (404, *_READ_ERRORS) if self.not_found else _READ_ERRORS
        return Operation(
            self.name,
            "GET",
            self.path,
            self.summary,
            query=self.query,
            response=self.response,
            errors=errors,
        )


@dataclass(frozen=True, slots=True)
class ReadModelApi:
    """Read models a daemon keeps live and serves.

    Attributes:
        projections: the projections, in the order ``GET /projections`` reports them.
        operations: the read-only operations over their rows.
        prepare: called (in a worker thread, in order) with the open database
            before the projections start; each makes the tables it needs
            exist and must be safe to call again.
    """

    projections: tuple[Projection, ...] = ()
    operations: tuple[ReadOperation, ...] = ()
    prepare: tuple[Callable[[Database], None], ...] = ()

    def path_parameters(self) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
        """The schema of every path parameter its operations describe, by name, and the
        names of those used in a path without a schema.

        Raises:
            ValueError: two operations describe one parameter differently.
        """
        found: dict[str, Mapping[str, Any]] = {}
        undescribed: set[str] = set()
        for op in self.operations:
            undescribed.update(name for name in path_names(op.path) if name not in op.parameters)
            for name, schema in op.parameters.items():
                if found.setdefault(name, schema) != schema:
                    raise ValueError(f"path parameter {name!r} is described in two ways")
        return found, undescribed - set(found)


def path_names(path: str) -> list[str]:
    """The parameters of a path template (``/a/{x}/b/{y}`` → ``["x", "y"]``)."""
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def merged(apis: Sequence[ReadModelApi]) -> ReadModelApi:
    """One :class:`ReadModelApi` holding everything of ``apis``, in the order given."""
    return ReadModelApi(
        projections=tuple(p for api in apis for p in api.projections),
        operations=tuple(op for api in apis for op in api.operations),
        prepare=tuple(prepare for api in apis for prepare in api.prepare),
    )


def installed_read_models() -> ReadModelApi:
    """Every :class:`ReadModelApi` named in the ``fleet.read_models`` entry-point group.

    Entry points are taken in name order; the result is what ``python -m
    fleet.server openapi`` documents.

    Raises:
        TypeError: an entry point names something else than a :class:`ReadModelApi`.
    """
    found: list[ReadModelApi] = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        api = point.load()
        if not isinstance(api, ReadModelApi):
            raise TypeError(f"entry point {point.name!r} is not a ReadModelApi: {api!r}")
        found.append(api)
    return merged(found)
