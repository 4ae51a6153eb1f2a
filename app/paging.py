"""Keyset pagination: long lists are read a page at a time, each page one query whatever the list's length.

A list is ordered newest first by a time column and then by id (the tie-breaker, so no row is skipped or
shown twice when rows share a time). The link to the next page carries `after`, an opaque token of the
last row's (time, id); the next page is the rows strictly after it, found by the index on those columns
with a row comparison rather than by OFFSET (which reads and throws away every earlier row, and shifts
when rows are added). A row added while someone reads appears at the top, never as a duplicate below.
A list ordered by a time that changes (the referrals, by their last change of status) moves a row that
changes while someone reads to the top too: it is then on the first page, not on the later one.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, bindparam, tuple_
from sqlalchemy.sql.expression import literal
from starlette.datastructures import URL, QueryParams

from app.errors import InvalidInput
from app.i18n import _
from app.models import UTCDateTime

T = TypeVar("T")
PAGE_SIZE = 50
_SEPARATOR = "|"
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the ids TellOnce makes (hex); never a NUL or a separator


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (time, id) of its last row."""

    at: datetime
    id: str

    @property
    def token(self) -> str:
        """The cursor as a URL-safe token."""
        raw = f"{self.at.astimezone(UTC).isoformat()}{_SEPARATOR}{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse(token: str | None, field: str = "after") -> Cursor | None:
    """The cursor of a token from a page link, or None for the first page; a broken token is refused (400)
    with a message naming the field (a hand-edited or truncated link)."""
    token = (token or "").strip()
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, separator, row_id = raw.partition(_SEPARATOR)
        moment = datetime.fromisoformat(at)
        if not separator or not _ID.fullmatch(row_id) or moment.tzinfo is None:
            raise ValueError(raw)
        return Cursor(moment.astimezone(UTC), row_id)  # a moment in year 1 or 9999 may not fit in UTC
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            _("This link to a further page is not valid. Start again from the first page."), {"field": field}
        ) from None


def older_than(at: Any, row_id: Any, cursor: Cursor | None) -> ColumnElement[bool] | None:
    """The WHERE clause for the rows after `cursor` in newest-first order (None on the first page)."""
    if cursor is None:
        return None
    return tuple_(at, row_id) < tuple_(literal(cursor.at, UTCDateTime()), literal(cursor.id))


def older_than_parameters(at: Any, row_id: Any) -> ColumnElement[bool]:
    """As `older_than`, for a statement built once: the cursor goes in as `after_parameters(cursor)`."""
    return tuple_(at, row_id) < tuple_(bindparam("after_at", type_=UTCDateTime()), bindparam("after_id"))


def after_parameters(cursor: Cursor | None) -> dict[str, Any]:
    """The parameters of `older_than_parameters` (none on the first page)."""
    return {"after_at": cursor.at, "after_id": cursor.id} if cursor is not None else {}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next page (None on the last)."""

    items: list[T]
    next: Cursor | None

    @property
    def next_token(self) -> str | None:
        return self.next.token if self.next else None


def page_of(rows: Sequence[T], size: int, key: Callable[[T], tuple[datetime, str]]) -> Page[T]:
    """A page from up to `size + 1` rows read in order (the extra row only says whether there is a next page)."""
    items = list(rows[:size])
    more = len(rows) > size and bool(items)
    return Page(items, Cursor(*key(items[-1])) if more else None)


def links(url: URL, page: Page[Any]) -> dict[str, str | None]:
    """The page's links to the next (older) page and back to the first, keeping the list's other filters."""

    def relative(to: URL) -> str:
        return f"{to.path}?{to.query}" if to.query else to.path

    return {
        "older": relative(url.include_query_params(after=page.next.token)) if page.next else None,
        "newest": relative(url.remove_query_params("after")) if "after" in QueryParams(url.query) else None,
    }
