"""One error type for expected failures, rendered as JSON for the API and as a page for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from app.i18n import _


class AppError(Exception):
    """An expected failure with a stable code, a plain message and an HTTP status."""

    status = 400
    code = "bad_request"
    redirect: str | None = None  # pages answer with a redirect there instead of an error page
    page: str | None = None  # pages answer with this template (given the error) instead of the error page

    def __init__(self, message: str, detail: Any = None, *, keep_writes: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        # Writes made before the error that must persist anyway (a failed sign-in's audit event and
        # rate-limit count); everything else is rolled back.
        self.keep_writes = keep_writes


class NotFound(AppError):
    """The thing does not exist, or the user may not know that it exists."""

    status = 404
    code = "not_found"


class NotAuthenticated(AppError):
    status = 401
    code = "not_authenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class SharingEnded(Forbidden):
    """Another agency's screening that this agency could read until that agency's consent to it ended."""

    code = "consent_ended"
    page = "sharing/access_ended.html"


class Conflict(AppError):
    """A stale write: someone else changed the record since it was read."""

    status = 409
    code = "conflict"


class Gone(AppError):
    """The thing existed and was deliberately ended (a discarded draft); it cannot be used again."""

    status = 410
    code = "gone"


class InvalidInput(AppError):
    """Input that is well-formed but wrong (e.g. an answer not offered); changes nothing."""

    status = 400
    code = "invalid_input"


class InvalidPayload(AppError):
    """A request that cannot be read as the operation's input (wrong types, NUL characters, too deep);
    `detail` lists where and what: `[{"loc": [...], "msg": ..., "type": ...}]`. Pages answer 400."""

    status = 422
    code = "invalid_payload"


class NothingToImport(InvalidInput):
    """A partner's file that was read but holds no QuestionnaireResponses: nothing to import."""

    status = 422
    code = "nothing_to_import"


class PreviewExpired(InvalidInput):
    """A sealed import preview that is unreadable, another session's, or too old: the file must be uploaded again."""

    code = "preview_expired"


class SubjectsRefused(InvalidInput):
    """A file posted for one youth holds responses about someone else, or no one known: nothing is saved.
    `detail` lists each such response (`loc`, `msg`, `type`), as `invalid_payload` does."""

    status = 422
    code = "wrong_subject"


class ExportFailed(AppError):
    """A .sav or .dta file could not be written: nothing of it was sent (and its ledger entries are not kept)."""

    status = 500
    code = "export_failed"


class PayloadTooLarge(AppError):
    """A request body over the configured size limit; nothing of it was read past the limit."""

    status = 413
    code = "payload_too_large"


class TooManyAttempts(AppError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retry_after_seconds": retry_after}, keep_writes=True)
        self.retry_after = retry_after


class ServerBusy(TooManyAttempts):
    """Every password-hashing slot stayed taken while the request waited: try again shortly (Retry-After)."""

    status = 503
    code = "busy"


class LoginRequired(AppError):
    """A page needs a signed-in user; the HTML handler redirects to the sign-in page."""

    status = 401
    code = "not_authenticated"


class DeviceLocked(AppError):
    """Staff pages stay closed while a youth has the device; the staff password reopens them."""

    status = 423
    code = "device_locked"
    redirect = "/unlock"


class SessionEnded(AppError):
    """The youth's session is over (exit, pause, idle, revoked): back to the neutral code page."""

    status = 401
    code = "youth_session_ended"
    redirect = "/go?ended=1"


class DecryptionError(Exception):
    """A stored value could not be decrypted (wrong key, row or column, or tampering)."""


class UnknownKey(DecryptionError, AppError):
    """A value is under a key this process does not have (a rotation it has not picked up): answered 503,
    with a page that says so, not a traceback. Key files are re-read when they change (`get_key_ring`);
    keys given in the environment need a restart."""

    status = 503
    code = "keys_unavailable"

    def __init__(self, table: str, column: str, key_id: str) -> None:
        AppError.__init__(
            self,
            _(
                "This record was saved with an encryption key this server does not have yet. "
                "Nothing was lost: ask an administrator to give this server the current keys and restart it."
            ),
        )
        self.args = (f"cannot decrypt {table}.{column}: unknown format or key (key id {key_id!r} is not configured)",)

    def __str__(self) -> str:
        return str(self.args[0])


# Operational errors: raised to the command line or at start-up, never answered over HTTP.


class KeyConfigurationError(ValueError):
    """The configured keys cannot be used (an index key missing, a key that is not 32 bytes of base64)."""


class MissingKeys(Exception):
    """No keys are configured where TellOnce must not make its own (production)."""


class KeyCommandError(Exception):
    """A key operation that cannot be done as asked; the message says why and what to do."""


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why and what to do."""


class StartupRefused(Exception):
    """The server must not start; the message says why and what to do."""


class InstrumentChanged(Exception):
    """A loaded instrument file differs from the version screenings were taken under."""


class UngrantedDisclosure(RuntimeError):
    """A disclosure of another agency's data with neither a consent nor a break-glass: a bug, never written."""


class ErrorBody(BaseModel):
    """Every API error: a stable code, what is wrong (a text, or a list of problems with their location)."""

    error: str = Field(description="a stable code, e.g. not_found, invalid_payload, conflict")
    detail: Any = Field(description="what is wrong: a text, or for invalid_payload a list of {loc, msg, type}")
    message: str | None = Field(default=None, description="a plain sentence, when detail is structured")
    omitted: int | None = Field(default=None, description="how many more problems there were than are listed")


# What any API route can answer: no or an expired token; a role or an agency that may not; a request that cannot
# be read (the input guard, or the route's own parameters); a body over the limit; a value under a key this
# server does not have (most routes read an encrypted field).
EVERY_ROUTE: tuple[type[AppError], ...] = (NotAuthenticated, Forbidden, InvalidPayload, PayloadTooLarge, UnknownKey)


def responses(
    *raised: type[AppError], also: Mapping[int, tuple[type[BaseModel], str]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of an API route from the error classes it raises (besides EVERY_ROUTE's): one entry per
    status, naming the codes, with the ErrorBody schema. The one place a route declares how it can fail.

    `also`: a status at which the route answers a body of its own too (a report of problems), besides ErrorBody.
    """
    codes: dict[int, list[str]] = {}
    for cls in (*EVERY_ROUTE, *raised):
        named = codes.setdefault(cls.status, [])
        if cls.code not in named:
            named.append(cls.code)
    declared: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": ", ".join(named)} for status, named in sorted(codes.items())
    }
    for status, (model, description) in (also or {}).items():
        either = [{"$ref": f"#/components/schemas/{name}"} for name in (model.__name__, ErrorBody.__name__)]
        listed = ", ".join(codes.get(status, []))
        declared[status] = {
            "description": f"{description}; or {listed}" if listed else description,
            "content": {"application/json": {"schema": {"anyOf": either}}},
        }
    return declared
