"""``python -m fleet.server openapi``: regenerate ``fleet/server/openapi.json``.

The document written is the one for the default catalog (``store.catalog``) and
the installed read models (:func:`~fleet.server.installed_read_models`): what
``fleet serve`` serves by default.
"""

from __future__ import annotations

import sys

from fleet.config import DEFAULT_CATALOG
from fleet.events import load_catalog
from fleet.server._openapi import CHECKED_IN, openapi_json
from fleet.server._read_models import installed_read_models


def main(argv: list[str]) -> int:
    """Regenerate the checked-in OpenAPI document; return the exit status."""
    if argv != ["openapi"]:
        print("usage: python -m fleet.server openapi", file=sys.stderr)
        return 2
    catalog = load_catalog(DEFAULT_CATALOG)
    CHECKED_IN.write_bytes(openapi_json(catalog, installed_read_models()))
    print(f"wrote {CHECKED_IN}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
