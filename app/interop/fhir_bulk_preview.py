"""What the staff page for a partner's file shows, and how a preview is carried to the import that follows it.

The page (`app.interop.fhir_bulk_pages`) shows `app.interop.fhir_bulk.import_file`'s preview, then imports.
Between the two the file travels in the page itself, sealed: compressed and encrypted with the session's
own associated data, so it cannot be read, changed or replayed by another session, and it expires. Nothing
is kept on the server between the two requests (any server of a deployment can take the import). The seal
also holds the preview's plan (which response would go onto which youth); the import reads the file again,
matches every subject again and imports only when each response it would import is one the plan showed
for the same youth, so a hidden field never decides whom a response is about.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app import access
from app.crypto import KeyRing
from app.errors import DecryptionError, PreviewExpired
from app.i18n import _
from app.interop.fhir_bulk import BulkReport
from app.interop.fhir_responses import ALREADY_IMPORTED, IMPORTED_ELSEWHERE, Earlier, ResponseReport, key_of
from app.interop.fhir_subjects import FileContents, Received, say
from app.models import User, Youth, YouthLink, utcnow
from app.models_sharing import Category
from app.records.service import public_of
from app.texts import text
from instruments.loader import Registry

SEALED = "fhir_bulk_import_page"  # the associated data's "table": a sealed preview opens nowhere else
CHUNK = 40_000  # characters of one hidden field (a form field takes at most 50,000: app.inputs)
VALID_FOR = timedelta(hours=1)
Planned = tuple[int, str, str]  # (entry, response reference, youth id)


def plan_of(report: BulkReport) -> set[Planned]:
    """What a preview says would be imported: each response without problems, and its youth."""
    return {(r.entry, r.reference, s.youth_id) for s in report.subjects for r in s.responses if not r.problems}


def imported_of(report: BulkReport) -> set[Planned]:
    """What an import saved: each saved response, and its youth."""
    return {(r.entry, r.reference, s.youth_id) for s in report.subjects for r in s.responses if r.screening_id}


def seal(keys: KeyRing, session_id: str, user: User, upload: dict[str, Any], plan: set[Planned]) -> list[str]:
    """The file and its preview's plan, sealed for this session, in hidden fields' lengths."""
    payload = {
        "user": user.id,
        "agency": user.agency_id,
        "at": utcnow().isoformat(),
        "name": upload["name"],
        "kind": upload["kind"],
        "partner": upload["partner"],
        "file": base64.b64encode(zlib.compress(upload["body"], 6)).decode("ascii"),
        "plan": sorted(plan),
    }
    sealed = keys.encrypt(json.dumps(payload, separators=(",", ":")), SEALED, "file", session_id)
    return [sealed[i : i + CHUNK] for i in range(0, len(sealed), CHUNK)]


def unseal(keys: KeyRing, session_id: str, user: User, chunks: list[str]) -> tuple[dict[str, Any], set[Planned]]:
    """The upload and the plan a preview of this session sealed; PreviewExpired when it is not one, or too old."""
    expired = PreviewExpired(_("This preview has expired or is not yours. Upload the file again to see a new one."))
    try:
        payload = json.loads(keys.decrypt("".join(chunks), SEALED, "file", session_id))
        at = datetime.fromisoformat(payload["at"])
        body = zlib.decompress(base64.b64decode(payload["file"]))
        plan = {(int(e), str(r), str(y)) for e, r, y in payload["plan"]}
    except (DecryptionError, ValueError, KeyError, TypeError, zlib.error):
        raise expired from None
    if payload["user"] != user.id or payload["agency"] != user.agency_id or not utcnow() - VALID_FOR <= at <= utcnow():
        raise expired
    upload = {"name": payload["name"], "kind": payload["kind"], "partner": payload["partner"], "body": body}
    return upload, plan


@dataclass
class Row:
    """One response of the file as the page lists it."""

    where: str
    reference: str
    instrument: str
    authored: str
    problems: list[str] = field(default_factory=list)
    earlier: str | None = None  # the screening it was imported as before (None: not before, or the user may not see it)
    before: bool = False  # imported before, onto this youth
    elsewhere: bool = False  # imported before, onto another of the agency's youth
    screening_id: str | None = None  # the screening it was imported as now
    level: str | None = None


@dataclass
class Person:
    """One of the agency's youth the file is about, as the youth list shows them, and the file's responses."""

    youth_id: str
    name: str
    case_number: str | None
    rows: list[Row]


@dataclass
class Shown:
    """A preview or an import's outcome, for the page."""

    people: list[Person]
    unmatched: list[Row]
    skipped: list[str]
    ready: int  # responses the import would save
    imported: int


def where(report: ResponseReport) -> str:
    """Where a response was in the file (the same words as the API's messages)."""
    return say(_("line {number}"), number=report.line) if report.line else say(_("entry {number}"), number=report.entry)


def _authored(resource: dict[str, Any]) -> str:
    given = resource.get("authored")
    return str(given)[:25] if isinstance(given, str) else ""


def _instrument(registry: Registry, report: ResponseReport) -> str:
    if report.instrument_id is None or report.instrument_version is None:
        return ""
    compiled = registry.get(report.instrument_id, report.instrument_version)
    title = text(compiled.definition.title) if compiled is not None else report.instrument_id
    return f"{title} {report.instrument_version}"


def names(db: Session, keys: KeyRing, user: User, youth_ids: set[str]) -> dict[str, tuple[str, str | None]]:
    """(name, case number) of each of these youth the user's agency holds, as its youth list shows them."""
    if not youth_ids:
        return {}
    link = aliased(YouthLink, name="own_link")  # the access clause correlates on `youth_link` itself
    rows = db.exec(
        select(Youth, link)
        .join(link, and_(col(link.youth_id) == col(Youth.id), col(link.agency_id) == user.agency_id))
        .where(col(Youth.id).in_(list(youth_ids)), access.youth_readable_clause(user))
    )
    found = {}
    for youth, own in rows:
        shown = public_of(keys, youth, own)
        found[youth.id] = (f"{shown.given_name} {shown.family_name}", shown.case_number)
    return found


def shown(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    found: FileContents,
    report: BulkReport,
    earlier: Earlier,
) -> Shown:
    """The page's view of a report: each youth by name with its responses; what matched no one; what was skipped.

    `earlier` is what the agency had imported before this request: a response already imported, onto this youth
    or another, is said so (with a link to the screening it became when the user may read it), not listed among
    the problems."""
    resources: dict[int, Received] = {r.index: r for r in found.responses}
    known = names(db, keys, user, {s.youth_id for s in report.subjects})
    readable: dict[str, bool] = {}

    def link(screening_id: str) -> str | None:
        if screening_id not in readable:
            readable[screening_id] = access.may_read(db, user, screening_id, Category.result_summary)
        return screening_id if readable[screening_id] else None

    def row(r: ResponseReport, youth_id: str | None) -> Row:
        resource = resources[r.entry].resource if r.entry in resources else {}
        before = earlier.get(key_of(resource)) if youth_id and resource else None
        apart = {ALREADY_IMPORTED, IMPORTED_ELSEWHERE} & {p.code for p in r.problems}  # said by the row itself
        if before is None or not before.screening_id:
            apart = set()
        messages = [
            p.message if not p.link_id else f"{p.link_id}: {p.message}" for p in r.problems if p.code not in apart
        ]
        return Row(
            where=where(r),
            reference=r.reference[:100],
            instrument=_instrument(registry, r),
            authored=_authored(resource),
            problems=messages,
            earlier=link(before.screening_id) if before is not None and apart else None,
            before=ALREADY_IMPORTED in apart,
            elsewhere=IMPORTED_ELSEWHERE in apart,
            screening_id=r.screening_id,
            level=r.overall_level if r.screening_id else None,
        )

    people = []
    for subject in report.subjects:
        if subject.youth_id not in known:  # never so (the matcher matches held youth only); never shown if so
            continue
        name, case_number = known[subject.youth_id]
        rows = [row(r, subject.youth_id) for r in subject.responses]
        people.append(Person(subject.youth_id, name, case_number or subject.case_number, rows))
    unmatched = [row(r, None) for r in report.unmatched]
    return Shown(people, unmatched, report.skipped, len(plan_of(report)), report.imported)
