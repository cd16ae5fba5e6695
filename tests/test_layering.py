"""Import layering, checked at run time and from the source.

At run time, in fresh interpreters so nothing is preloaded: importing a layer
loads nothing above it (third-party libraries included).

From the source, over every import statement of ``fleet`` and ``actors`` --
those inside functions and under ``if TYPE_CHECKING:`` included -- where a
*unit* is a package directly under ``fleet`` (``fleet.store``), a module
directly under it (``fleet.errors``), or ``actors``:

* a unit reaches another only through what that one exports: the names in the
  ``__all__`` of its ``__init__`` (a module listed there included, imported as
  ``from package import module``) or of the module, or a package inside it;
  never another of its modules, let alone a private (``_x``) one;
* the lower layers never import the upper ones, not even indirectly: in
  particular the generic layers (``fleet.core`` up to ``fleet.server``) never
  reach ``fleet.read_models``, Fleet's built-in read models, which plug into
  them from above;
* the modules of ``fleet.store`` import each other without a cycle.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fleet", "actors")

CHECK = """
import sys
import {module}
bad = sorted(
    m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in {forbidden!r})
)
print(','.join(bad))
"""

UPPER_FLEET = {
    "fleet.store",
    "fleet.projections",
    "fleet.read_models",
    "fleet.server",
    "fleet.cli",
    "fleet.client",
}

DOMAIN = {"fleet.vocabulary", "fleet.read_models"}
"""Fleet's own vocabulary and its read models: a catalog like a user's, above the generic layers."""

GENERIC = (
    "fleet.core",
    "fleet.events",
    "fleet.db",
    "fleet.store",
    "fleet.projections",
    "fleet.server",
)
"""The layers that must serve any domain, so name none."""

CASES = [
    ("fleet.core", {"trio", "anyio", "sqlalchemy", "msgspec", "structlog", *DOMAIN}),
    ("fleet.events", {"trio", "anyio", "sqlalchemy", "structlog", *DOMAIN}),
    ("fleet.db", {"trio", "anyio", *UPPER_FLEET, *DOMAIN}),
    (
        "fleet.store",
        {"fleet.server", "fleet.projections", "fleet.cli", "fleet.client", *DOMAIN},
    ),
    ("fleet.projections", {"fleet.server", "fleet.cli", "fleet.client", *DOMAIN}),
    ("fleet.server", {"fleet.cli", *DOMAIN}),
    ("fleet.read_models", {"fleet.server", "fleet.cli", "starlette", "hypercorn"}),
    ("actors", {"fleet", "sqlalchemy", "msgspec"}),
]


@pytest.mark.parametrize(("module", "forbidden"), CASES)
def test_lower_layers_do_not_import_upper_ones(module, forbidden):
    code = CHECK.format(module=module, forbidden=sorted(forbidden))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


class Import(NamedTuple):
    """One import statement of ``module``: ``from source import names`` (``names`` is
    empty for ``import source``)."""

    module: str
    line: int
    source: str
    names: tuple[str, ...]


@cache
def modules() -> dict[str, Path]:
    """Every module of the checked packages, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def is_package(name: str) -> bool:
    path = modules().get(name)
    return path is not None and path.name == "__init__.py"


def unit_of(name: str) -> str:
    """The package directly under ``fleet`` (or the module) that ``name`` belongs to."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "fleet" else parts[0]


@cache
def exported(name: str) -> frozenset[str] | None:
    """The names in the ``__all__`` of module or package ``name`` (``None``: it has none)."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return None


def imports_of(name: str) -> Iterator[Import]:
    """Every import statement of a module, wherever it stands, with absolute names."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, node.lineno, alias.name, ())
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([source] if source else [])])
            yield Import(name, node.lineno, source, tuple(alias.name for alias in node.names))


@cache
def rebound(package: str) -> frozenset[str]:
    """Names a package's ``__init__`` takes from one of its modules, hiding the submodule
    of the same name (``from fleet.projections.rebuild import rebuild``)."""
    if not is_package(package):
        return frozenset()
    return frozenset(
        name
        for statement in imports_of(package)
        if statement.source != package
        for name in statement.names
    )


def submodule(source: str, imported: str) -> str | None:
    """The module ``from source import imported`` takes, or ``None`` for another name."""
    name = f"{source}.{imported}"
    if name not in modules() or imported in rebound(source):
        return None
    return name


def targets(statement: Import) -> Iterator[str]:
    """The modules a statement loads: a submodule for a name that is one, else its source."""
    if not statement.names:
        yield statement.source
        return
    for imported in statement.names:
        yield submodule(statement.source, imported) or statement.source


def reaches_only_exports(statement: Import) -> list[str]:
    """What ``statement`` takes from another unit that the unit does not export."""
    source = statement.source
    if source not in modules() or unit_of(source) == unit_of(statement.module):
        return []
    if source != unit_of(source) and not is_package(source):
        return [f"{source} (a module of {unit_of(source)})"]
    if any(part.startswith("_") for part in source.split(".")):
        return [f"{source} (private)"]
    public = exported(source)
    wrong: list[str] = []
    for imported in statement.names:
        module = submodule(source, imported)
        if module is not None:
            shared = is_package(module) or module == unit_of(module) or imported in (public or ())
            if not shared or imported.startswith("_"):
                wrong.append(f"{module} (a module of {unit_of(module)})")
        elif public is not None and imported not in public:
            wrong.append(f"{source}.{imported} (not in its __all__)")
    return wrong


def test_units_reach_each_other_only_through_their_exports():
    found = [
        f"{statement.module}:{statement.line} imports {wrong}"
        for name in modules()
        for statement in imports_of(name)
        for wrong in reaches_only_exports(statement)
    ]
    assert found == []


def unit_graph() -> dict[str, set[str]]:
    """Which units each unit imports directly."""
    graph: dict[str, set[str]] = {}
    for name in modules():
        edges = graph.setdefault(unit_of(name), set())
        for statement in imports_of(name):
            edges.update(unit_of(t) for t in targets(statement) if t in modules())
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for unit in graph.get(todo.pop(), ()):
            if unit not in seen:
                seen.add(unit)
                todo.append(unit)
    return seen


LAYERS = [
    (
        "fleet.core",
        {"fleet.events", "fleet.db", "fleet.config", "fleet.errors", *UPPER_FLEET, *DOMAIN},
    ),
    ("fleet.events", {"fleet.db", "fleet.config", *UPPER_FLEET, *DOMAIN}),
    ("fleet.db", UPPER_FLEET | DOMAIN | {"fleet.transfer"}),
    (
        "fleet.store",
        {"fleet.server", "fleet.projections", "fleet.cli", "fleet.client", *DOMAIN},
    ),
    ("fleet.projections", {"fleet.server", "fleet.cli", "fleet.client", *DOMAIN}),
    ("fleet.server", {"fleet.cli", *DOMAIN}),
    ("fleet.vocabulary", {"fleet.db", "fleet.store", *UPPER_FLEET}),
    ("actors", {"fleet"} | {unit_of(name) for name in modules() if name.startswith("fleet")}),
]


@pytest.mark.parametrize(("unit", "forbidden"), LAYERS, ids=[unit for unit, _ in LAYERS])
def test_no_import_of_a_lower_layer_leads_to_an_upper_one(unit, forbidden):
    assert reachable(unit_graph(), unit) & forbidden == set()


def cycles(package: str) -> list[list[str]]:
    """The import cycles among the modules of ``package`` (its ``__init__`` included)."""
    inside = {name for name in modules() if name == package or name.startswith(package + ".")}
    graph = {
        name: {t for statement in imports_of(name) for t in targets(statement) if t in inside}
        for name in sorted(inside)
    }
    found: list[list[str]] = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in sorted(graph[name]):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == name:
                    break
            if len(component) > 1 or name in graph[name]:
                found.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return found


def test_the_store_has_no_import_cycle():
    assert cycles("fleet.store") == []


def test_the_checks_see_what_they_check():
    assert "fleet.store.stream_actor" in modules()
    assert is_package("fleet.db.migrations")
    assert Import("fleet.store.writer", 0, "fleet.store", ("interpreter",)) in {
        statement._replace(line=0) for statement in imports_of("fleet.store.writer")
    }
    assert reaches_only_exports(Import("fleet.cli.read", 0, "fleet.store.reads", ("x",))) == [
        "fleet.store.reads (a module of fleet.store)"
    ]
    assert reaches_only_exports(Import("fleet.client", 0, "fleet.store", ("fetch_log",))) == [
        "fleet.store.fetch_log (not in its __all__)"
    ]
    assert reaches_only_exports(Import("fleet.cli.db", 0, "fleet.server", ("_app",))) == [
        "fleet.server._app (a module of fleet.server)"
    ]
    assert reaches_only_exports(Import("fleet.store.x", 0, "fleet.store", ("interpreter",))) == []
    assert reaches_only_exports(Import("fleet.cli.serve", 0, "fleet.read_models.http", ())) == []
    assert "fleet.read_models" in reachable(unit_graph(), "fleet.cli")
    assert cycles("actors") == []


DOMAIN_WORDS = re.compile(r"mission|work.?order|\b(msn|wo|chk)\b", re.IGNORECASE)


@pytest.mark.parametrize("package", [*GENERIC, "actors"])
def test_the_generic_layers_name_no_domain(package: str) -> None:
    """Not a mission, work order or built-in stream prefix in their code, comments or
    docstrings: the built-in vocabulary reaches them only as a catalog, like a user's."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for name, path in modules().items()
        if name == package or name.startswith(package + ".")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if DOMAIN_WORDS.search(line)
    ]
    assert found == []


def test_the_domain_word_check_sees_the_built_in_vocabulary() -> None:
    text = (ROOT / "fleet" / "vocabulary" / "_catalog.py").read_text(encoding="utf-8")
    assert len(DOMAIN_WORDS.findall(text)) > 10
