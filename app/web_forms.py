"""The one form layer every page uses: read a posted form into the API's Pydantic model, put its errors on
the fields one way, read a number one way, and roll back a failed write in one place before the page shows
the form again.

Why one place for the rollback: the request's session commits when a route returns, also when it returns
a page of errors; whatever a failed service call flushed before it failed must not be committed with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sqlmodel import Session

from app.errors import AppError
from app.i18n import _
from instruments.model import DECLINED, NOT_ENOUGH_INFO, Item

Model = TypeVar("Model", bound=BaseModel)
# A field's message: fixed words, or words chosen from the error (its type, say).
Message = Any | Callable[[ErrorDetails], Any]
WHOLE_FORM = "form"  # the key of an error that belongs to no one field

# One rule for numbers typed into any form, the practitioner's or the youth's, in English or Spanish:
# digits, optionally grouped in threes by commas, optionally a decimal point ("1,000", "1,000.5", "12").
# Spanish speakers in the United States and Mexico write numbers this way too; "1,00" is refused, not
# read as 100, because a comma that does not group thousands may have meant a decimal. ASCII digits only
# (int() would read "١٢" or "１２" too), and at most MAX_DIGITS of them: int() refuses a very long number
# with an error, and no answer or threshold needs one.
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$", re.ASCII)
MAX_DIGITS = 30


def parse_number(raw: str) -> int | float | None:
    """A typed number (an int when it has no decimals), or None when it is not one."""
    cleaned = raw.strip()
    if not _NUMBER.match(cleaned) or sum(c.isdigit() for c in cleaned) > MAX_DIGITS:
        return None
    cleaned = cleaned.replace(",", "")
    return float(cleaned) if "." in cleaned else int(cleaned)


def answer_refused(error: ErrorDetails) -> Any:
    """What a page of answers says of an answer the API's model refuses: a text is refused only for its length."""
    if isinstance(error.get("input"), str):
        return _("This answer is too long: shorten it, or leave it out.")
    return _("Check this answer.")


def number_message() -> str:
    """What every form says when a number field holds something else: staff's and the youth's pages alike, so
    its Spanish is neither formal nor familiar ("hace falta un número")."""
    return _("Enter a number, for example 12.")


def typed_value(item: Item, raw: str) -> tuple[Any, str | None]:
    """A typed answer (number, date, text) as its value (None when empty), or as typed with why it is not one:
    the one reading of a typed answer, for the practitioner's, the correction and the youth's pages."""
    value = raw.strip()
    if not value:
        return None, None
    if item.type != "number":
        return value, None
    number = parse_number(value)
    return (value, number_message()) if number is None else (number, None)


SPECIAL_ANSWERS = (DECLINED, NOT_ENOUGH_INFO)  # in this order: "prefer not to answer" wins over the rest
TYPED_TYPES = frozenset({"number", "date", "short_text", "long_text"})


def item_answer(item: Item, posted: Sequence[str]) -> tuple[Any, str | None]:
    """The answer one item gets from what a page posted for it (the boxes ticked, the text typed, the special
    answer chosen), or as typed with why it is not one: the one reading of an answer, for the practitioner's,
    the correction and the youth's pages. A special answer wins over anything else posted beside it, without
    an error: "prefer not to answer" is never overruled by a stray tick or a half-typed word."""
    typed = item.type in TYPED_TYPES
    given = [value.strip() if typed else value for value in posted if isinstance(value, str)]
    given = [value for value in given if value]
    special = next((code for code in SPECIAL_ANSWERS if code in given), None)
    if special is not None:
        return special, None
    if item.type == "multiple_choice":
        return given or None, None
    if typed:
        return typed_value(item, given[0] if given else "")
    return (given[0] if given else None), None


def field_errors(
    exc: ValidationError,
    messages: Mapping[str, Message] | None = None,
    default: Message = None,
    whole_form: str = WHOLE_FORM,
    items: str | None = None,
) -> dict[str, Any]:
    """A validation error as one message per form field (the first of each), under the field's name, or
    under "form" when it belongs to no field. A field's message comes from `messages` (words, or a function
    of the error), else from `default`, else "Check this field.". With `items`, an error inside that field (a
    page's answers, say) goes under the key it names (the item), with the message `messages` gives `items`."""
    errors: dict[str, Any] = {}
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else whole_form
        name = str(loc[1]) if items is not None and field == items and len(loc) > 1 else field
        if name in errors:
            continue
        message = (messages or {}).get(field, default)
        if callable(message):
            message = message(error)
        errors[name] = message if message is not None else _("Check this field.")
    return errors


def parse(
    model: type[Model],
    data: Mapping[str, Any],
    messages: Mapping[str, Message] | None = None,
    default: Message = None,
    *,
    items: str | None = None,
) -> tuple[Model | None, dict[str, Any]]:
    """A posted form read into the API's model: (the model, {}) or (None, one message per field; with
    `items`, one per item of that field, as `field_errors` reads them)."""
    try:
        return model.model_validate(dict(data)), {}
    except ValidationError as exc:
        return None, field_errors(exc, messages, default, items=items)


def refused_errors(
    error: Exception | None, fields: Collection[str] = (), *, items: str | None = None, whole_form: str = WHOLE_FORM
) -> dict[str, Any]:
    """A service's refusal as form errors, read one way: the per-item messages its detail holds under `items`,
    else its message on the field its detail names (when the form has it), else on the whole form."""
    if not isinstance(error, AppError):
        return {whole_form: _("Check this form.")}
    detail = error.detail if isinstance(error.detail, dict) else {}
    per_item = detail.get(items) if items else None
    if isinstance(per_item, dict):
        return dict(per_item)
    field = detail.get("field")
    return {field if isinstance(field, str) and field in fields else whole_form: error.message}


@dataclass
class Attempt:
    """The outcome of a write a page tried: `error` is what stopped it (its writes are rolled back)."""

    error: Exception | None = None

    @property
    def failed(self) -> bool:
        """Whether the write failed and the form is to be shown again."""
        return self.error is not None


@contextmanager
def attempt(db: Session, *expected: type[Exception]) -> Iterator[Attempt]:
    """`with attempt(db, Conflict) as tried: service.save(...)`, then `if tried.failed:` show the form again.

    An expected error rolls back everything the request wrote (unless it says to keep it, as the session
    dependency does) and is kept on the attempt; any other error is raised as before (the session dependency
    rolls back and the error page answers). Denied reads recorded before the rollback are still written."""
    outcome = Attempt()
    try:
        yield outcome
    except expected as exc:
        if not (isinstance(exc, AppError) and exc.keep_writes):  # the session dependency's rule, in one place too
            db.rollback()
        outcome.error = exc
