"""Property-based fuzzing of a real ``fleet serve`` from its own OpenAPI document (schemathesis).

Every operation is called with generated valid and invalid input, then in
stateful sequences; no answer may be a 5xx, and every answer must match the
document: its status, content type, headers and body schema. Each backend gets
a fixed time budget, so the run is bounded in CI.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.server.conftest import DaemonFactory

BUDGET_S = 40
MIN_CASES = 300
"""Fewest generated cases a run must reach in its budget; the suite runs in two worker
processes, so a run gets about one core (500-1,000 cases on the development machine)."""
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(
    daemon_factory: DaemonFactory, database_url: str, tmp_path: Path
) -> None:
    # At warning, the log of thousands of requests cannot fill the unread stderr pipe.
    daemon = daemon_factory(
        "--database-url", database_url, "--token", "fuzz", env={"FLEET_LOG_LEVEL": "warning"}
    )
    st = Path(sys.executable).with_name("st")
    run = subprocess.run(
        [
            str(st),
            "run",
            f"{daemon.url}/openapi.json",
            "--header",
            "Authorization: Bearer fuzz",
            "--checks",
            CHECKS,
            "--max-time",
            str(BUDGET_S),
            "--workers",
            "1",
            "--seed",
            "20261206",
            "--generation-database",
            "none",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=BUDGET_S * 3,
        check=False,
    )
    summary = run.stdout[run.stdout.find("SUMMARY") :]
    print(f"\nschemathesis on {database_url.split(':')[0]}:\n{summary}", file=sys.stderr)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert generated is not None, summary
    assert int(generated.group(1)) >= MIN_CASES
    assert generated.group(1) == generated.group(2)
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.stderr()
