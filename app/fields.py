"""Field types for request schemas that take nothing loosely: no `true` as 1, no number as a date.

Pydantic's lax mode turns JSON `true` into the integer 1 and a number (or a string of digits) into a
date counted from 1970. These types refuse both with a located 422, yet still read what a page's form
posts (every form value is a string: "12", "2010-04-02"). Integers are bounded so that they fit a
32-bit database column; text is bounded by the caller's `max_length`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

MAX_INT = 2**31 - 1  # the largest value of a 32-bit integer column, on SQLite and PostgreSQL
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?")


def no_control(value: str | None) -> str | None:
    """Text people type: no NUL or other control characters (line breaks and tabs are fine)."""
    if value is not None and CONTROL.search(value):
        raise ValueError("contains a control character (such as NUL); remove it")
    return value


def whole_number(value: Any) -> Any:
    """A whole number, or a form's string of digits; never a boolean or a fraction."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    if isinstance(value, float):
        raise ValueError("must be a whole number")
    if isinstance(value, str) and not re.fullmatch(r"-?\d{1,12}", value.strip()):
        raise ValueError("must be a whole number")
    return value


def _iso_date(value: Any) -> Any:
    """A date written YYYY-MM-DD (a date object from Python code passes as it is)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("must be a date written YYYY-MM-DD")


def _iso_datetime(value: Any) -> Any:
    """A date and time written the ISO 8601 way, e.g. 2026-01-31T17:00:00Z (or a date alone)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and ISO_DATETIME.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("must be a date and time written YYYY-MM-DDTHH:MM (ISO 8601)")


WholeNumber = Annotated[int, BeforeValidator(whole_number), Field(ge=0, le=MAX_INT)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
Id = Annotated[str, StringConstraints(max_length=64)]  # the ids of records (uuid4 strings) and opaque handles
Code = Annotated[str, StringConstraints(max_length=100)]  # instrument ids, versions, languages, option codes
