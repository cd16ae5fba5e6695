"""A catalog for events of hundreds of kilobytes: one untyped category, ``blob``.

A daemon is given it by configuration (``FLEET_STORE_CATALOG`` and
``PYTHONPATH``), as a user's catalog would be.
"""

from __future__ import annotations

from typing import Final

from fleet.events import Catalog, Category

__all__ = ["CATALOG", "SETTINGS"]

CATALOG: Final = Catalog(Category("blob", untyped=True, max_data_bytes=1_048_576))
"""``blob-<key>`` streams: any event type, a JSON object of at most 1 MiB."""

SETTINGS: Final = "tests.server.large_events:CATALOG"
"""The catalog as ``store.catalog`` names it."""
