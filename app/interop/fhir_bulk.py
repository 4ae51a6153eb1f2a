"""Importing a partner's file about several youth: each QuestionnaireResponse onto the youth its subject is.

A preview (the default) says, per matched youth (its id and the agency's case number for it), which responses
would be imported, each with its instrument version, its level and its problems, and which responses match
no one (no subject, an unknown or an ambiguous one); it saves nothing. An import then saves each matched
response without problems onto its own youth, exactly as the per-youth import does
(`app.interop.fhir_responses`: all or nothing per response, each in a savepoint of its own, audited, never the
same response twice, onto whichever youth). A preview is audited (who looked up which youth a file is about);
the re-check a page makes just before importing what its preview showed is not a preview of its own.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app import access, audit
from app.crypto import KeyRing
from app.interop.fhir_import import ImportProblem
from app.interop.fhir_responses import (
    Before,
    Earlier,
    ResponseReport,
    check,
    earlier_imports,
    key_of,
    partner_agency,
    report_of,
    save_one,
)
from app.interop.fhir_subjects import FileContents, Matcher, subject_of
from app.models import User, YouthLink
from instruments.loader import Registry

PREVIEW_ACTION = "fhir_import.preview"


class SubjectReport(BaseModel):
    """One of the agency's youth that responses of the file are about, and those responses."""

    youth_id: str
    case_number: str | None = Field(description="your agency's case number for the youth")
    responses: list[ResponseReport] = Field(default_factory=list)


class BulkReport(BaseModel):
    """What a file would bring (a preview), or brought, to each youth; and what matched no one."""

    preview: bool
    subjects: list[SubjectReport] = Field(default_factory=list)
    unmatched: list[ResponseReport] = Field(
        default_factory=list, description="responses without a subject, or whose subject is none (or several)"
    )
    skipped: list[str] = Field(default_factory=list)
    imported: int = Field(default=0, description="responses saved (0 in a preview)")


def _case_numbers(db: Session, keys: KeyRing, agency_id: str, youth_ids: set[str]) -> dict[str, str]:
    links = db.exec(
        select(YouthLink).where(YouthLink.agency_id == agency_id, col(YouthLink.youth_id).in_(list(youth_ids)))
    )
    return {link.youth_id: keys.decrypt(link.case_number_enc, "youth_link", "case_number", link.id) for link in links}


def import_file(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    found: FileContents,
    *,
    partner: str | None = None,
    preview: bool = True,
    record_preview: bool = True,
) -> BulkReport:
    """Preview or import a file's responses, each onto the agency's youth its own subject is.

    `record_preview=False`: a preview that only re-checks, just before the import, what a preview recorded a
    moment ago showed (the staff page's import): it is not audited as another preview."""
    matcher = Matcher(db, keys, user.agency_id, partner_agency(db, partner))
    matches = matcher.match_all([subject_of(r, found) for r in found.responses])
    report = BulkReport(preview=preview, skipped=found.skipped)
    earlier: Earlier = earlier_imports(db, user.agency_id)
    by_youth: dict[str, list[ResponseReport]] = {}
    for received, match in zip(found.responses, matches, strict=True):
        outcome = report_of(received)
        if match.youth_id is None:
            outcome.problems.append(ImportProblem(link_id=None, message=str(match.problem), code=match.kind))
            report.unmatched.append(outcome)
            continue
        outcome.youth_id = match.youth_id
        by_youth.setdefault(match.youth_id, []).append(outcome)
        checked = check(registry, match.youth_id, received.resource, outcome, earlier)
        if checked is None:
            outcome.overall_level = None
        elif preview:
            earlier.setdefault(key_of(received.resource), Before("", match.youth_id))  # a second copy: reported so
        else:
            youth = access.readable_youth(db, user, match.youth_id)  # the same check as the per-youth import
            if save_one(db, keys, registry, user, youth, received, outcome, checked, earlier) is not None:
                report.imported += 1
    if preview and record_preview:  # who looked up which of the agency's youth a file's subjects are
        audit.record(
            db,
            PREVIEW_ACTION,
            actor_id=user.id,
            agency_id=user.agency_id,
            object_type="fhir_file",
            detail={
                "partner": partner,
                "responses": len(found.responses),
                "youth": sorted(by_youth),
                "unmatched": len(report.unmatched),
            },
        )
    cases = _case_numbers(db, keys, user.agency_id, set(by_youth))
    report.subjects = [
        SubjectReport(youth_id=youth_id, case_number=cases.get(youth_id), responses=responses)
        for youth_id, responses in by_youth.items()
    ]
    return report
