import subprocess
import sys


def test_fleet_events_imports_no_io_framework():
    code = (
        "import sys, fleet.events; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'trio', 'anyio', 'sqlalchemy', 'structlog', 'actors'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
