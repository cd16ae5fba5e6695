"""The OpenAPI 3.1 document of the HTTP API, generated from the operation table and msgspec types.

Schemas come from :func:`msgspec.json.schema_components` over the operations'
body, response and query types, with two adjustments that make them say
what the API accepts:

* a payload's ``type`` property is optional inside an event's ``data`` (the
  event's own ``type`` names it), so it is dropped from ``required``;
* a recorded event's ``data`` is one of the payloads, not any JSON value;
* every description is normalised with :func:`inspect.cleandoc`, so the
  document does not depend on how a msgspec release trims docstrings.

The document depends on the read models a daemon serves (see
:mod:`fleet.server._read_models`). The one for the installed read models (what
``fleet serve`` serves by default) is checked in at
``fleet/server/openapi.json``; regenerate it with ``python -m fleet.server
openapi``. A test fails when the file and the code differ.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import msgspec

from fleet.core import (
    ALPHABET,
    BODY_LENGTH,
    CATEGORY_PATTERN,
    LARGEST_STORED_INT,
    MAX_STREAM_ID_LENGTH,
    STREAM_KEY_PATTERN,
)
from fleet.events import Catalog
from fleet.server._operations import NoQuery, Operation, with_operations
from fleet.server._read_models import ReadModelApi
from fleet.server._schemas import ErrorBody, NewEventDoc, new_event_doc_types

__all__ = ["CHECKED_IN", "VERSION", "openapi_document", "openapi_json"]

VERSION: Final = "0.1.0"
CHECKED_IN: Final = Path(__file__).with_name("openapi.json")
_REF: Final = "#/components/schemas/{name}"
_PATH_PARAM: Final = re.compile(r"{(\w+)}")

_STATUS_TEXT: Final = {
    400: "Malformed JSON (`malformed_json`: not JSON, nested deeper than 32 levels, or a key "
    "named twice in one object) or a malformed request (`bad_request`).",
    401: "The bearer token is missing or wrong (`unauthorized`).",
    404: "No such stream or event (`not_found`), or a soft-deleted stream (`stream_deleted`).",
    408: "The body did not arrive within `server.body_timeout_s` (`body_timeout`).",
    409: "Wrong expected version (`wrong_expected_version`, with `expected` and `actual`), "
    "event ids that are already stored (`duplicate_event`), or a stream that other "
    "writers kept moving under an append (`conflict`; nothing was stored), or a scavenge "
    "that is running already (`scavenge_running`).",
    410: "The stream was deleted for good (`stream_deleted`): it can never be read or "
    "written again.",
    413: "The body is larger than `server.max_body_bytes` (`body_too_large`).",
    422: "The request is invalid (`validation_failed`, `invalid_transition`); "
    "`problems` names every offending field.",
    503: "The database is unavailable or the daemon is stopping (`unavailable`); "
    "retry after `Retry-After` seconds.",
}

_DESCRIPTION: Final = """\
Fleet's event store over HTTP. Bodies are JSON. Recorded events have one shape
everywhere (`WireEvent`). Every error answers
`{"error": {"code", "message", "problems": [{"path", "message"}]}}`; an unknown
route is `404 not_found`, a wrong method `405 method_not_allowed`.

When the daemon is configured with a token (`server.token` or
`FLEET_SERVER_TOKEN`), every operation except `GET /health/live` requires
`Authorization: Bearer <token>`.

Appends are idempotent when the client chooses the event ids: sending the same
events with the same ids again returns the original result.
"""


def _schemas(
    operations: Iterable[Operation], catalog: Catalog
) -> tuple[dict[Any, Any], dict[str, Any]]:
    types: list[Any] = [ErrorBody]
    for op in operations:
        for kind in (op.body, op.response, op.query):
            if kind is not None and not isinstance(kind, str) and kind not in types:
                types.append(kind)
    members = new_event_doc_types(catalog)
    payloads = list(catalog.event_types.values())
    refs, components = msgspec.json.schema_components(
        [*types, *members, *payloads], ref_template=_REF
    )
    by_type = dict(zip(types, refs, strict=False))
    for name in catalog.event_types:
        schema = components[name]
        schema["required"] = [key for key in schema.get("required", []) if key != "type"]
    if NewEventDoc.__name__ in components:
        components[NewEventDoc.__name__] = {
            "title": "NewEventDoc",
            "description": "One event to append, of a type the stream's category accepts.",
            "anyOf": [{"$ref": _REF.format(name=member.__name__)} for member in members],
        }
    wire = components.get("WireEvent")
    if wire is not None:
        data: list[dict[str, Any]] = [
            {"$ref": _REF.format(name=name)} for name in catalog.event_types
        ]
        if catalog.untyped_names:
            data.append({"type": "object", "description": "an untyped category's JSON object"})
        wire["properties"]["data"] = {
            "description": "the payload at its current schema version (a typed one with its "
            "`type`)",
            "anyOf": data,
        }
    return by_type, components


def _categories(catalog: Catalog) -> str:
    """The catalog in a few lines of the document's description."""
    lines = ["", "Stream categories of this daemon (stream ids are `<category>-<key>`):", ""]
    for category in catalog:
        if category.untyped:
            kind = "untyped: any event type, a JSON object as data"
        else:
            kind = ", ".join(f"`{name}`" for name in category.event_types)
        key = " (time-ordered keys)" if category.ids == "ordered" else ""
        lines.append(f"- `{category.name}`{key}: {kind}")
    return "\n".join(lines)


def _parameter_schema(schema: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in schema.items() if k != "description"}
    if shown.get("default", 0) is None:
        del shown["default"]
    options = [s for s in shown.pop("anyOf", []) if s != {"type": "null"}]
    if len(options) == 1:
        shown.update(options[0])
    elif options:
        shown["anyOf"] = options
    return shown


def _id_pattern(*prefixes: str) -> dict[str, Any]:
    either = prefixes[0] if len(prefixes) == 1 else f"({'|'.join(prefixes)})"
    return {"type": "string", "pattern": f"^{either}-[0-3][{ALPHABET}]{{{BODY_LENGTH - 1}}}$"}


_PATH_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "stream_id": {
        "type": "string",
        "pattern": f"^{CATEGORY_PATTERN}-{STREAM_KEY_PATTERN}$",
        "maxLength": MAX_STREAM_ID_LENGTH,
    },
    "event_id": _id_pattern("evt"),
}
"""What each path parameter of the store's operations must look like (anything else is
refused with 422 or 404)."""


def _path_schemas(read_models: ReadModelApi) -> dict[str, Any]:
    """The schema of every path parameter, the read models' included.

    Raises:
        ValueError: a read-model operation describes a parameter of the store's
            differently, or uses one that nothing describes.
    """
    names = [p.name for p in read_models.projections]
    projection: dict[str, Any] = {"type": "string", "enum": names} if names else {"type": "string"}
    found: dict[str, Any] = {**_PATH_SCHEMAS, "name": projection}
    described, undescribed = read_models.path_parameters()
    for name, schema in described.items():
        if found.setdefault(name, dict(schema)) != schema:
            raise ValueError(f"path parameter {name!r} is already described in another way")
    missing = sorted(undescribed - set(found))
    if missing:
        raise ValueError(f"no schema for path parameters {', '.join(missing)}")
    return found


_SSE_EVENT: Final = {
    "type": "object",
    "description": "One Server-Sent Event; `data` is JSON: a `WireEvent`, "
    '`{"position": n}` for `caught-up`, or an `ErrorBody` for `error`.',
    "properties": {
        "event": {"type": "string", "enum": ["event", "caught-up", "error"]},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {"type": "string"},
    },
    "required": ["event", "data"],
}


def _parameters(
    op: Operation, components: dict[str, Any], path_schemas: dict[str, Any]
) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": path_schemas[name]}
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not NoQuery:
        query = components.pop(op.query.__name__)
        required = set(query.get("required", []))
        for name, schema in query["properties"].items():
            parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            if "description" in schema:
                parameter["description"] = schema["description"]
            parameter["schema"] = _parameter_schema(schema)
            parameters.append(parameter)
    if op.name == "subscribe":
        parameters.append(
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "resume after this position (overrides `from_position`); "
                "one past the head of the log is refused (400)",
                "schema": {"type": "integer", "minimum": 0, "maximum": LARGEST_STORED_INT},
            }
        )
    return parameters


def _content(kind: Any, refs: dict[Any, Any]) -> dict[str, Any]:
    if isinstance(kind, str):
        schema: dict[str, Any] = {"type": "string"} if kind.startswith("text/") else {}
        if kind == "application/json":
            schema = {"type": "object"}
        elif kind == "text/event-stream":
            schema = _SSE_EVENT
        return {kind: {"schema": schema}}
    return {"application/json": {"schema": refs[kind]}}


_SAME_STREAM: Final = {"stream_id": "$request.path.stream_id"}
_LINKS: Final[dict[str, dict[str, Any]]] = {
    "append_to_stream": {
        "ReadTheStream": {"operationId": "read_stream", "parameters": _SAME_STREAM},
        "ItsMetadata": {"operationId": "stream_metadata", "parameters": _SAME_STREAM},
    },
    "set_stream_metadata": {
        "ReadTheMetadata": {"operationId": "stream_metadata", "parameters": _SAME_STREAM},
    },
}
"""What a client can call next with what an operation answered (OpenAPI links)."""


def _responses(op: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": op.summary, "content": _content(op.response, refs)}
    }
    if op.name in _LINKS:
        responses["200"]["links"] = _LINKS[op.name]
    error = {"application/json": {"schema": refs[ErrorBody]}}
    for status in op.errors:
        if status == 503 and op.response is not None and op.name == "health_ready":
            content = _content(op.response, refs)
        else:
            content = error
        response: dict[str, Any] = {"description": _STATUS_TEXT[status], "content": content}
        if status == 503:
            response["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
        responses[str(status)] = response
    return responses


def openapi_document(catalog: Catalog, read_models: ReadModelApi | None = None) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document as plain data.

    Args:
        catalog: the daemon's catalog: its categories are described and its
            event types spelled out in the append bodies and recorded events.
        read_models: the read models whose operations the daemon serves besides
            the store's (none by default); their projections' names are the
            values of ``{name}`` in the ``/projections`` paths.

    Raises:
        ValueError: two operations share a name or a route, or describe one path
            parameter in two ways.
    """
    read_models = read_models or ReadModelApi()
    operations = with_operations([op.operation() for op in read_models.operations])
    path_schemas = _path_schemas(read_models)
    refs, components = _schemas(operations, catalog)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        operation: dict[str, Any] = {
            "operationId": op.name,
            "summary": op.summary,
            "parameters": _parameters(op, components, path_schemas),
        }
        if not operation["parameters"]:
            del operation["parameters"]
        if op.body is not None:
            operation["requestBody"] = {"required": True, "content": _content(op.body, refs)}
        operation["responses"] = _responses(op, refs)
        if op.public:
            operation["security"] = []
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    document: dict[str, Any] = _cleaned(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Fleet event store",
                "version": VERSION,
                "description": _DESCRIPTION + _categories(catalog),
            },
            "servers": [{"url": "http://127.0.0.1:8420"}],
            "security": [{"bearer": []}],
            "paths": paths,
            "components": {
                "schemas": components,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }
    )
    return document


def _cleaned(node: Any) -> Any:
    """Return ``node`` with every ``description`` text passed through :func:`inspect.cleandoc`."""
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else _cleaned(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_cleaned(item) for item in node]
    return node


def openapi_json(catalog: Catalog, read_models: ReadModelApi | None = None) -> bytes:
    """The document as bytes (for the default catalog and the installed read models,
    the bytes checked in at ``fleet/server/openapi.json``); see :func:`openapi_document`."""
    text = json.dumps(openapi_document(catalog, read_models), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
