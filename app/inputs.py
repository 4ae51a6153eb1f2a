"""What every request must be before any route reads it: a bounded body, text without NUL characters or
lone surrogates, valid UTF-8, JSON neither too deep nor holding numbers that no type can carry.

`InputGuard` is pure ASGI (not `BaseHTTPMiddleware`): it reads and checks the request body, then hands
the same bytes on; responses, streamed ones included, pass through untouched. A refused request never
reaches a route, so nothing is written. Bodies are decoded and walked only when they are JSON or a form.

Why each rule: PostgreSQL cannot store NUL in text (the driver raises), a lone surrogate cannot be
encoded as UTF-8 (encryption and the database need bytes), `json.loads` turns `1e400` into infinity and
accepts `NaN` (which no JSON response can carry back), and deep nesting makes recursive readers overflow.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError, InvalidPayload, PayloadTooLarge
from app.i18n import _

Problem = dict[str, Any]
Respond = Callable[[Request, AppError], Awaitable[Response]]
JSON_TYPES = ("application/json",)
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
IMPORT_SUFFIXES = ("/fhir-import",)  # the FHIR upload routes, allowed a larger body
LOC_PART = 64  # characters of a key kept in an error's location
FIELD_CHARACTERS = 50_000  # a form field longer than this is refused; the longest any form takes is 20,000 (notes)
NUMBER_BOUND = 1e15  # larger JSON numbers are refused here; fields set their own, smaller bounds


def problem(loc: list[str | int], msg: str, kind: str) -> Problem:
    """One entry of an `invalid_payload` error: where, what, and a stable type."""
    return {"loc": [part[:LOC_PART] if isinstance(part, str) else part for part in loc], "msg": msg, "type": kind}


def text_problem(value: str, loc: list[str | int]) -> Problem | None:
    """Why a piece of text cannot be stored (a NUL character, a lone surrogate), or None."""
    if "\x00" in value:
        return problem(loc, _("contains a NUL character (\\u0000), which text cannot hold"), "nul_character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return problem(
            loc, _("contains a lone surrogate (half of a \\uD800-\\uDFFF pair), which is not text"), "surrogate"
        )
    return None


def too_long(loc: list[str | int]) -> Problem:
    """A form field longer than any field takes (so a page that shows the form again echoes little)."""
    message = _("is longer than {count} characters, more than any field takes").format(count=FIELD_CHARACTERS)
    return problem(loc, message, "too_long")


def decoded_part(raw: bytes, loc: list[str | int]) -> tuple[str, Problem | None]:
    """Percent-decoded bytes as UTF-8 text, or why they are not."""
    try:
        value = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return "", problem(loc, _("is not valid UTF-8"), "invalid_utf8")
    return value, text_problem(value, loc)


def pairs_problems(raw: bytes, where: str) -> Iterator[Problem]:
    """Problems of a query string or URL-encoded form, field by field (name and value)."""
    for index, pair in enumerate(raw.split(b"&")):
        if not pair:
            continue
        raw_name, _sep, raw_value = pair.replace(b"+", b" ").partition(b"=")
        name, wrong = decoded_part(raw_name, [where, index])
        if wrong is not None:
            yield wrong
            continue
        value, wrong = decoded_part(raw_value, [where, name])
        if wrong is None and len(value) > FIELD_CHARACTERS:
            wrong = too_long([where, name])
        if wrong is not None:
            yield wrong


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(name)


def json_text(body: bytes) -> tuple[str, Problem | None]:
    """A JSON body as text, decoded as every reader behind the guard will decode it, or why it cannot be.

    JSON between systems is UTF-8 (RFC 8259 §8.1). `json.loads(bytes)`, which the routes use, would also
    read UTF-16 and UTF-32 and skip a byte-order mark, so the guard must read exactly what they read:
    a UTF-8 byte-order mark is skipped here too, and any other encoding is refused.
    """
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
        return "", problem(["body"], _("is not UTF-8 (JSON must be sent as UTF-8)"), "invalid_utf8")
    try:
        return body.removeprefix(codecs.BOM_UTF8).decode("utf-8"), None
    except UnicodeDecodeError:
        return "", problem(["body"], _("is not valid UTF-8"), "invalid_utf8")


def json_problems(text: str, max_depth: int) -> Iterator[Problem]:
    """Problems of a JSON document: not JSON at all, strings (and keys) that are not storable text,
    non-finite or out-of-range numbers, nesting deeper than `max_depth`."""
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except _NotANumber as exc:
        yield problem(["body"], _("holds {name}, which is not a JSON number").format(name=str(exc)), "not_a_number")
        return
    except RecursionError:
        yield problem(["body"], _("is nested deeper than {depth} levels").format(depth=max_depth), "too_deep")
        return
    except json.JSONDecodeError as exc:
        where = _("is not valid JSON: {problem} (line {line}, column {column})")
        yield problem(["body"], where.format(problem=exc.msg, line=exc.lineno, column=exc.colno), "invalid_json")
        return
    except ValueError:  # an integer of more than 4300 digits
        yield problem(["body"], _("holds a number with too many digits"), "number_too_large")
        return
    yield from document_problems(document, max_depth)


def document_problems(document: Any, max_depth: int) -> Iterator[Problem]:
    """Problems of parsed JSON (see `json_problems`), found without recursion (an explicit stack)."""
    stack: list[tuple[Any, list[str | int]]] = [(document, ["body"])]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str):
            wrong = text_problem(value, loc)
            if wrong is not None:
                yield wrong
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, (int, float)):
            if not abs(value) <= NUMBER_BOUND:  # also catches inf and nan
                yield problem(loc, _("is a number out of range"), "number_too_large")
        elif len(loc) > max_depth:
            yield problem(
                loc[: max_depth + 1], _("is nested deeper than {depth} levels").format(depth=max_depth), "too_deep"
            )
        elif isinstance(value, dict):
            for key, inner in value.items():
                wrong = text_problem(key, [*loc, "(key)"])
                if wrong is not None:
                    yield wrong
                    continue
                stack.append((inner, [*loc, key]))
        elif isinstance(value, list):
            stack.extend((inner, [*loc, index]) for index, inner in enumerate(value))


def checked_json(body: bytes, max_depth: int) -> Any:
    """A JSON body for a route that reads it itself: the same checks as the guard, as an `InvalidPayload`."""
    text, wrong = json_text(body)
    problems = [wrong] if wrong is not None else list(json_problems(text, max_depth))
    if problems:
        raise InvalidPayload(_("Some of what was sent is not valid."), problems)
    return json.loads(text)


def media_type(scope: Scope) -> str:
    """The request's media type, lowercase, without parameters ("" when it names none)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return str(value.decode("latin-1")).split(";")[0].strip().lower()
    return ""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _is_json(kind: str) -> bool:
    return kind in JSON_TYPES or kind.endswith("+json") or not kind


class InputGuard:
    """Refuses oversized bodies (413) and unreadable input (422 for the API, a 400 page otherwise)."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_import_body: int, max_depth: int, respond: Respond) -> None:
        self.app = app
        self.max_body = max_body
        self.max_import_body = max_import_body
        self.max_depth = max_depth
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems = self.url_problems(scope)
        if problems:
            await self.refuse(scope, receive, send, InvalidPayload(_("Some of what was sent is not valid."), problems))
            return
        limit = self.max_import_body if scope["path"].endswith(IMPORT_SUFFIXES) else self.max_body
        declared = _content_length(scope)
        body = None if declared is not None and declared > limit else await self.read_body(receive, limit)
        if body is None:
            too_large = _("The request is larger than this server accepts ({size} bytes at most).")
            await self.refuse(scope, receive, send, PayloadTooLarge(too_large.format(size=limit)))
            return
        replay = self.replay(body, receive)
        problems = await self.body_problems(scope, body, replay)
        if problems:
            await self.refuse(scope, receive, send, InvalidPayload(_("Some of what was sent is not valid."), problems))
            return
        await self.app(scope, self.replay(body, receive), send)

    def url_problems(self, scope: Scope) -> list[Problem]:
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
        _path, wrong = decoded_part(raw_path, ["path"])
        found = [wrong] if wrong is not None else []
        found.extend(pairs_problems(scope.get("query_string", b""), "query"))
        return found

    async def read_body(self, receive: Receive, limit: int) -> bytes | None:
        """The whole body, or None as soon as it passes `limit` bytes (counted as it streams in)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def replay(body: bytes, receive: Receive) -> Receive:
        """A `receive` that gives the body read already, then whatever comes next (a disconnect)."""
        sent = False

        async def replayed() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replayed

    async def body_problems(self, scope: Scope, body: bytes, receive: Receive) -> list[Problem]:
        if not body:
            return []
        kind = media_type(scope)
        if kind == FORM:
            return list(pairs_problems(body, "body"))
        if kind == MULTIPART:
            return await self.multipart_problems(scope, receive)
        if _is_json(kind):
            text, wrong = json_text(body)
            return [wrong] if wrong is not None else list(json_problems(text, self.max_depth))
        return []

    async def multipart_problems(self, scope: Scope, receive: Receive) -> list[Problem]:
        found: list[Problem] = []
        try:
            async with Request(dict(scope), receive).form() as form:
                for name, value in form.multi_items():
                    wrong = text_problem(name, ["body", "(name)"])
                    if wrong is None and not isinstance(value, UploadFile):
                        wrong = text_problem(value, ["body", name])
                        if wrong is None and len(value) > FIELD_CHARACTERS:
                            wrong = too_long(["body", name])
                    if wrong is not None:
                        found.append(wrong)
        except Exception:
            found.append(problem(["body"], _("is not a readable form"), "invalid_form"))
        return found

    async def refuse(self, scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
        response = await self.respond(Request(scope, receive), error)
        await response(scope, receive, send)
