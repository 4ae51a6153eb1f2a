"""The optimistic-locking version a client sends back: a whole number a database integer can hold."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from app.errors import InvalidInput
from app.fields import whole_number
from app.i18n import _

MAX_VERSION = 2**31 - 1  # the largest value of a 32-bit integer column, on SQLite and PostgreSQL
Version = Annotated[
    int,
    BeforeValidator(whole_number),  # never JSON true as 1
    Field(ge=0, le=MAX_VERSION, description="The version you last read (409 if stale)"),
]


def form_version(value: Any) -> int:
    """The `version` field of a posted form; a clear error (never a 500) when it is missing or out of range."""
    try:
        version = int(value if isinstance(value, str) else "")
    except ValueError:
        version = -1
    if not 0 <= version <= MAX_VERSION:
        raise InvalidInput(_("This form is missing its version. Reload the page and try again."))
    return version
