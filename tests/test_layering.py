"""Import layering, checked in fresh interpreters so nothing is preloaded."""

import subprocess
import sys

import pytest

CHECK = """
import sys
import {module}
bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})
print(','.join(bad))
"""

CASES = [
    ("fleet.core", {"trio", "anyio", "sqlalchemy", "msgspec", "structlog"}),
    ("fleet.events", {"trio", "anyio", "sqlalchemy", "structlog"}),
    ("fleet.db", {"trio", "anyio"}),
    ("actors", {"fleet", "sqlalchemy", "msgspec"}),
]


@pytest.mark.parametrize(("module", "forbidden"), CASES)
def test_lower_layers_do_not_import_upper_ones(module, forbidden):
    code = CHECK.format(module=module, forbidden=sorted(forbidden))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"
