"""fleet.events is generic: no I/O framework, and no domain (not even fleet's own)."""

import subprocess
import sys

LOADED = (
    "import sys, {module}; "
    "print(','.join(sorted(m for m in sys.modules if m == 'fleet' or m.startswith('fleet.'))))"
    "; print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
    "{{'trio', 'anyio', 'sqlalchemy', 'structlog', 'actors'}})))"
)


def loaded(module: str) -> tuple[set[str], set[str]]:
    """The fleet modules and the I/O frameworks that importing ``module`` loads."""
    out = subprocess.run(
        [sys.executable, "-c", LOADED.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    fleet, frameworks = out.stdout.split("\n")[:2]
    return set(filter(None, fleet.split(","))), set(filter(None, frameworks.split(",")))


def test_fleet_events_imports_no_io_framework_and_no_vocabulary():
    fleet, frameworks = loaded("fleet.events")
    assert frameworks == set()
    units = {".".join(name.split(".")[:2]) for name in fleet}
    assert units == {"fleet", "fleet.core", "fleet.errors", "fleet.events"}


def test_fleet_vocabulary_is_built_on_the_generic_layers_only():
    fleet, frameworks = loaded("fleet.vocabulary")
    assert frameworks == set()
    units = {".".join(name.split(".")[:2]) for name in fleet}
    assert units == {"fleet", "fleet.core", "fleet.errors", "fleet.events", "fleet.vocabulary"}
