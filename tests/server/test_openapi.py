"""The OpenAPI document: checked in, complete, and in step with the router and the decoders."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from examples.cart.catalog import CATALOG as CART_CATALOG
from fleet.read_models.http import BUILTIN_API
from fleet.server import (
    ReadModelApi,
    ReadOperation,
    installed_read_models,
    openapi_document,
    openapi_json,
)
from fleet.server._openapi import CHECKED_IN
from fleet.server._operations import OPERATIONS, NoQuery
from fleet.server._schemas import (
    AppendManyBody,
    AppendManyDoc,
    AppendShare,
    AppendShareDoc,
    AppendToStreamBody,
    AppendToStreamDoc,
)
from fleet.vocabulary import CATALOG, EVENT_TYPES

REGENERATE = ".venv/bin/python -m fleet.server openapi"


def test_the_checked_in_document_is_what_the_code_generates() -> None:
    assert CHECKED_IN.read_bytes() == openapi_json(CATALOG, BUILTIN_API), (
        f"fleet/server/openapi.json is out of date; regenerate it with: {REGENERATE}"
    )


def test_the_installed_read_models_are_the_built_in_ones() -> None:
    installed = installed_read_models()
    assert installed.projections == BUILTIN_API.projections
    assert installed.operations == BUILTIN_API.operations
    assert openapi_json(CATALOG, installed) == CHECKED_IN.read_bytes()


def test_every_operation_is_documented_once() -> None:
    document = openapi_document(CATALOG, BUILTIN_API)
    assert document["openapi"] == "3.1.0"
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    served = [*OPERATIONS, *(op.operation() for op in BUILTIN_API.operations)]
    assert documented == {(op.method, op.path) for op in served}
    names = [op.name for op in served]
    assert len(names) == len(set(names))


def test_without_read_models_only_the_store_is_documented() -> None:
    document = openapi_document(CATALOG)
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == {(op.method, op.path) for op in OPERATIONS}
    name = document["paths"]["/projections/{name}/errors"]["get"]["parameters"][0]
    assert name["schema"] == {"type": "string"}
    schemas = document["components"]["schemas"]
    assert not any("Mission" in key and "View" in key for key in schemas)


class Tally(msgspec.Struct, frozen=True):
    """How many there are."""

    count: int


async def read_tally(store: object, path: object, query: object) -> Tally:
    return Tally(0)


def test_a_read_operation_is_documented_with_its_parameters_and_errors() -> None:
    api = ReadModelApi(
        operations=(
            ReadOperation(
                "get_tally",
                "/tallies/{tally_id}",
                "One tally.",
                Tally,
                read_tally,
                parameters={"tally_id": {"type": "string", "pattern": "^t-"}},
                not_found=True,
            ),
        )
    )
    document = openapi_document(CATALOG, api)
    operation = document["paths"]["/tallies/{tally_id}"]["get"]
    assert operation["operationId"] == "get_tally"
    assert operation["parameters"] == [
        {
            "name": "tally_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^t-"},
        }
    ]
    assert set(operation["responses"]) == {"200", "401", "404", "422", "503"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Tally"
    }
    paths = list(document["paths"])
    assert paths.index("/tallies/{tally_id}") < paths.index("/projections")


@pytest.mark.parametrize(
    "operation",
    [
        ReadOperation("read_stream", "/tallies", "Taken name.", Tally, read_tally),
        ReadOperation("tallies", "/streams", "Taken route.", Tally, read_tally),
        ReadOperation("tally", "/tallies/{tally_id}", "No schema.", Tally, read_tally),
        ReadOperation(
            "tally",
            "/tallies/{stream_id}",
            "Another stream id.",
            Tally,
            read_tally,
            parameters={"stream_id": {"type": "string"}},
        ),
    ],
)
def test_a_read_operation_that_clashes_is_refused(operation: ReadOperation) -> None:
    with pytest.raises(ValueError):
        openapi_document(CATALOG, ReadModelApi(operations=(operation,)))
    assert operation.query is NoQuery


def test_schemas_resolve() -> None:
    document = openapi_document(CATALOG, BUILTIN_API)
    schemas = document["components"]["schemas"]
    text = msgspec.json.encode(document).decode()
    for ref in set(text.split('"$ref":"')[1:]):
        name = ref.split('"')[0].removeprefix("#/components/schemas/")
        assert name in schemas, name


def test_append_bodies_document_every_event_type() -> None:
    schemas = openapi_document(CATALOG, BUILTIN_API)["components"]["schemas"]
    items = schemas["AppendToStreamDoc"]["properties"]["events"]["items"]
    assert items == {"$ref": "#/components/schemas/NewEventDoc"}
    assert len(schemas["NewEventDoc"]["anyOf"]) == len(EVENT_TYPES)
    assert "NewUntypedEvent" not in schemas
    created = schemas["NewMissionCreated"]
    assert created["properties"]["type"] == {"enum": ["MissionCreated"]}
    assert "type" not in schemas["MissionCreated"]["required"]
    assert "title" in schemas["MissionCreated"]["required"]
    wire = schemas["WireEvent"]["properties"]["data"]
    assert len(wire["anyOf"]) == len(EVENT_TYPES)


def test_the_document_spells_out_the_catalog_in_effect() -> None:
    document = openapi_document(CART_CATALOG)
    schemas = document["components"]["schemas"]
    members = [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["NewEventDoc"]["anyOf"]]
    assert members == [f"New{name}" for name in CART_CATALOG.event_types] + ["NewUntypedEvent"]
    assert schemas["NewUntypedEvent"]["properties"]["type"]["pattern"].startswith("^[A-Za-z]")
    assert "MissionCreated" not in schemas
    assert "/missions" not in document["paths"]
    data = schemas["WireEvent"]["properties"]["data"]["anyOf"]
    assert data[-1]["type"] == "object"
    assert "- `audit`: untyped" in document["info"]["description"]
    assert "- `cart`: `CartOpened`" in document["info"]["description"]
    builtin = openapi_document(CATALOG)["info"]["description"]
    assert "- `msn` (time-ordered keys): `MissionCreated`" in builtin


@pytest.mark.parametrize(
    ("decoded", "documented"),
    [
        (AppendToStreamBody, AppendToStreamDoc),
        (AppendShare, AppendShareDoc),
        (AppendManyBody, AppendManyDoc),
    ],
)
def test_documented_bodies_have_the_decoded_fields(
    decoded: type[msgspec.Struct], documented: type[msgspec.Struct]
) -> None:
    assert decoded.__struct_fields__ == documented.__struct_fields__
    assert decoded.__struct_defaults__ == documented.__struct_defaults__


def test_parameters_and_security() -> None:
    paths = openapi_document(CATALOG)["paths"]
    read = paths["/streams/{stream_id}"]["get"]
    names = [(p["name"], p["in"]) for p in read["parameters"]]
    assert names == [
        ("stream_id", "path"),
        ("from_version", "query"),
        ("direction", "query"),
        ("limit", "query"),
    ]
    assert read["parameters"][2]["schema"] == {
        "enum": ["backwards", "forwards"],
        "default": "forwards",
    }
    assert paths["/health/live"]["get"]["security"] == []
    assert "security" not in read
    subscribe = paths["/subscribe"]["get"]
    assert "text/event-stream" in subscribe["responses"]["200"]["content"]
    assert ("Last-Event-ID", "header") in [(p["name"], p["in"]) for p in subscribe["parameters"]]
    ready = paths["/health/ready"]["get"]["responses"]["503"]
    assert ready["content"]["application/json"]["schema"]["$ref"].endswith("HealthBody")
    assert "Retry-After" in ready["headers"]
    conflict = paths["/streams/{stream_id}/events"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")


def test_regenerate_command(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from fleet.server import __main__ as command

    target = tmp_path / "openapi.json"
    monkeypatch.setattr(command, "CHECKED_IN", target)
    assert command.main(["openapi"]) == 0
    assert target.read_bytes() == openapi_json(CATALOG, BUILTIN_API)
    assert command.main([]) == 2
    assert "usage: python -m fleet.server openapi" in capsys.readouterr().err


def _as_in_a_class_body(text: str, indented: list[str]) -> str:
    """``text`` as older msgspec releases gave a docstring: indented as written."""
    indented.append(text)
    lines = [f"    {line}" if line else "" for line in text.splitlines()]
    return "\n" + "\n".join(lines) + "\n    "


def _indent_descriptions(node: Any, indented: list[str]) -> Any:
    if isinstance(node, dict):
        return {
            key: _as_in_a_class_body(value, indented)
            if key == "description" and isinstance(value, str)
            else _indent_descriptions(value, indented)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_indent_descriptions(item, indented) for item in node]
    return node


def test_descriptions_are_normalised_whatever_msgspec_does_with_docstrings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate = msgspec.json.schema_components
    indented: list[str] = []

    def as_older_msgspec(*args: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        refs, components = generate(*args, **kwargs)
        return refs, _indent_descriptions(components, indented)

    monkeypatch.setattr(msgspec.json, "schema_components", as_older_msgspec)
    assert openapi_json(CATALOG, BUILTIN_API) == CHECKED_IN.read_bytes()
    assert len(indented) > 50
    assert any("\n" in text for text in indented)
