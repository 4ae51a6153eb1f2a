"""The bundled instruments, loaded once per test process.

Loading parses and compiles every definition file (about a second of CPU); a dozen test modules read the
same bundled versions, so they share one load instead of each paying for its own at import.
"""

from __future__ import annotations

from functools import cache

import instruments
from instruments.loader import BUNDLED_DIR, Registry


@cache
def bundled_registry() -> Registry:
    """The bundled instrument versions, through the real loader. Shared: read it, never add to it."""
    return instruments.load([BUNDLED_DIR]).or_raise()
