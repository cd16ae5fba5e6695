"""Fixed values of the generic layers: version, id and name forms.

Values here are permanent: they are written into stored events and ids, so a
value may be added but never renamed or removed.
"""

from __future__ import annotations

from typing import Final

FLEETTOOLS_VERSION: Final = "0.1.0"

EVENT_ID_PREFIX: Final = "evt"
"""The prefix of every event id, without the ``-`` separator."""

CATEGORY_PATTERN: Final = "[a-z][a-z0-9_]{0,31}"
"""A stream category's name: a lowercase letter, then up to 31 lowercase letters,
digits or ``_``. It is the prefix of its streams' ids, so it never contains ``-``."""

STREAM_KEY_PATTERN: Final = "[A-Za-z0-9][A-Za-z0-9_.-]*"
"""What follows ``<category>-`` in a stream id: a letter or digit, then letters,
digits, ``_``, ``.`` or ``-``."""

MAX_STREAM_ID_LENGTH: Final = 128
"""The longest stream id, category and dash included."""

MAX_EVENT_TYPE_LENGTH: Final = 128
"""The longest event type name."""

EVENT_TYPE_PATTERN: Final = f"[A-Za-z][A-Za-z0-9_.:-]{{0,{MAX_EVENT_TYPE_LENGTH - 1}}}"
"""An event type name: a letter, then letters, digits, ``_``, ``.``, ``:`` or ``-``."""

DELETION_TYPE: Final = "$deleted"
"""The event type of the record a stream's deletion leaves in the log. It starts
with ``$``, which :data:`EVENT_TYPE_PATTERN` never allows, so no catalog's type
can collide with it."""
