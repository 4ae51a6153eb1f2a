"""The referral summary of one screening: a readable page and a PDF, with only what the viewer may see.

The agency that holds the screening sees all of it. Another agency sees what its consent covers right
now (the result summary; the answers and the notes only when the consent names them) and each such
view goes in the disclosure ledger. Without a consent the screening is "not found".

Who the youth is, as the consent allows: the holding agency reads its own record; another agency reads
its own record of the same person, if it holds one (it already knows who they are), and never the case
number of any other agency; a referral carries the identity its consent shares. Otherwise the summary
says plainly that the identity is not shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Response
from sqlmodel import Session, col, select

from app import access, audit
from app.crypto import KeyRing
from app.errors import InvalidInput, NotFound
from app.i18n import _, content_language, rendering_in, staff_language
from app.models import (
    Agency,
    Screening,
    ScreeningResult,
    ScreeningRevision,
    ScreeningStatus,
    User,
    Youth,
    YouthLink,
    utcnow,
)
from app.models_sharing import Category, Purpose
from app.records import service as records
from app.referrals.facts import Identity, ReferralFacts
from app.referrals.labels import STATUS_LABELS, URGENCY_LABELS
from app.screenings import service, views
from app.screenings.disclosed import without_items
from app.templating import templates
from instruments.loader import Registry

CONFIDENTIAL = _(
    "Confidential: contains information about a young person, shared under their consent. Do not redisclose."
)
CATEGORY_LABELS = {
    Category.result_summary.value: _("Result summary"),
    Category.item_answers.value: _("Answers to each question"),
    Category.notes.value: _("Screener's notes"),
}
# How the screening was taken, in words a partner reads without knowing TellOnce's modes.
HOW_TAKEN = {
    "self": _("Answered by the young person on their own, on a tablet or phone"),
    "interview": _("Asked by staff in an interview"),
    "practitioner": _("Rated by staff from what they know; the questions were not read to the young person"),
}


@dataclass
class Summary:
    """Everything the summary page and PDF show."""

    screening: Screening
    view: views.ResultView
    owner: str  # the agency that holds the screening
    viewer: str  # the agency of the person reading it
    own: bool
    purpose: str
    categories: list[str]
    notice: str | None = None  # the holding agency's own confidentiality notice, if it wrote one
    answers: list[views.ReviewSection] = field(default_factory=list)
    notes: str | None = None
    generated_at: datetime = field(default_factory=utcnow)
    generated_by: str = ""
    language: str = "en"  # the reader's
    content_language: str = "en"  # of the instrument's words: the reader's, when the instrument has it
    identity: Identity | None = None  # who the youth is, as the consent allows the reader to know; None: not shared
    referral: ReferralFacts | None = None  # the referral this summary goes with, if any
    preparer: str = ""  # who prepared it (a referral's preparer, or the person who completed the screening)
    preparer_agency: str = ""
    preparer_contact: str | None = None  # only a referral records one: nothing is made up

    @property
    def category_labels(self) -> list[str]:
        return [CATEGORY_LABELS[c] for c in self.categories]

    @property
    def how_taken(self) -> str:
        return HOW_TAKEN.get(self.screening.mode, self.screening.mode)

    @property
    def case_numbers(self) -> list[tuple[str, str]]:
        """(agency, case number) of each case number the reader may see: the sender's, then the recipient's."""
        if self.identity is None:
            return []
        sender = self.referral.sender if self.referral else self.owner
        recipient = self.referral.recipient if self.referral else self.viewer
        refs = ((sender, self.identity.sender_case_ref), (recipient, self.identity.recipient_case_ref))
        return [(agency, ref) for agency, ref in refs if ref]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.referral.status, self.referral.status) if self.referral else ""

    @property
    def urgency_label(self) -> str:
        return URGENCY_LABELS.get(self.referral.urgency, self.referral.urgency) if self.referral else ""


def _notice(agency: Agency | None, language: str) -> str | None:
    notice: Any = (agency.confidentiality_notice or {}) if agency else {}
    value = notice.get(language) or notice.get("en") if isinstance(notice, dict) else None
    return str(value) if value else None


def identity_for(db: Session, keys: KeyRing, user: User, read: access.Read) -> Identity | None:
    """Who the youth is, as the reader may know: its own agency's record of the person, with its own case number
    (as the sender's for the holding agency, as the recipient's for another); None when it holds none."""
    if read.own:
        youth = db.get(Youth, read.screening.youth_id)
    else:
        youth = db.exec(
            select(Youth)
            .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
            .where(col(Youth.person_id) == read.person_id, col(YouthLink.agency_id) == user.agency_id)
            .order_by(col(YouthLink.created_at), col(YouthLink.id))
        ).first()
    if youth is None:
        return None
    record = records.public(db, keys, user, youth)  # the case number of the reader's agency, and no other
    own_ref = record.case_number
    return Identity(
        record.given_name,
        record.family_name,
        record.birth_date,
        sender_case_ref=own_ref if read.own else None,
        recipient_case_ref=None if read.own else own_ref,
    )


def _preparer(db: Session, screening: Screening) -> tuple[str, str]:
    """The person who completed the screening (or started it, when the youth finished it alone), and their agency."""
    author = db.exec(
        select(ScreeningRevision.author_id).where(
            ScreeningRevision.screening_id == screening.id, ScreeningRevision.number == 1
        )
    ).first()
    person = db.get(User, author or screening.started_by)
    agency = db.get(Agency, person.agency_id) if person else None
    return (person.display_name if person else ""), (agency.name if agency else "")


def build(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    screening_id: str,
    purpose: str | None = None,
    *,
    referral: ReferralFacts | None = None,
) -> Summary:
    """The summary of a completed screening the user may read; a view by another agency is disclosed.

    With `referral` (built for this reader by the referral service), the summary goes with that referral:
    it shows the referral and the identity the referral shares.
    """
    purpose = purpose or access.DEFAULT_PURPOSE.value
    if purpose not in {p.value for p in Purpose}:
        raise InvalidInput(_("Unknown purpose '%(purpose)s'.") % {"purpose": purpose}, {"field": "purpose"})
    wanted: tuple[Category, ...] = (Category.result_summary, Category.item_answers, Category.notes)
    if referral is not None:  # a referral's reader sees what it shares, never more (even if a consent would allow)
        wanted = tuple(c for c in wanted if c.value in referral.categories)
    if referral is not None and screening_id not in referral.screening_ids:
        # A referral's identity is of its own youth: never print it on a screening it does not share.
        raise ValueError(f"referral {referral.id} does not share screening {screening_id}")
    shown = access.open_screening(db, user, screening_id, wanted, purpose)  # another agency's read: in the ledger
    screening, own = shown.screening, shown.own
    result_row = db.get(ScreeningResult, screening.id)
    if screening.status != ScreeningStatus.completed or result_row is None:
        raise NotFound(_("This screening has no result yet; complete it first."))  # rolls the ledger entry back
    instrument = service.instrument_of(registry, screening)
    categories = [c.value for c in wanted if shown.covers(c)]
    with_answers = shown.covers(Category.item_answers)
    result = keys.decrypt_json(result_row.result_enc, "screening_result", "result", screening.id)
    every = service.stored_answers(db, keys, screening) if with_answers else {}
    stored = service.shown_answers(db, user, shown, every)
    result = without_items(result, set(every) - set(stored))
    language = staff_language(None, user)  # the reader's language, not the youth's
    content = content_language(instrument, language)
    view = views.result_view(instrument, result, content, registry, mode=screening.mode, with_answers=with_answers)
    owner, viewer = db.get(Agency, screening.agency_id), db.get(Agency, user.agency_id)
    if referral is not None:
        preparer, preparer_agency, contact = referral.preparer, referral.sender, referral.preparer_contact
    else:
        (preparer, preparer_agency), contact = _preparer(db, screening), None
    summary = Summary(
        screening=screening,
        view=view,
        owner=owner.name if owner else "",
        viewer=viewer.name if viewer else "",
        own=own,
        purpose=purpose,
        categories=categories,
        notice=_notice(owner, language),
        language=language,
        content_language=content,
        generated_by=user.display_name,
        identity=referral.identity if referral is not None else identity_for(db, keys, user, shown),
        referral=referral,
        preparer=preparer,
        preparer_agency=preparer_agency,
        preparer_contact=contact,
    )
    if with_answers:
        values, sources = {k: a.value for k, a in stored.items()}, {k: a.source for k, a in stored.items()}
        summary.answers = views.review(instrument, values, content, sources, mode=screening.mode)
    if Category.notes.value in categories and screening.notes_enc:
        summary.notes = keys.decrypt(screening.notes_enc, "screening", "notes", screening.id)
    audit.screening_viewed(
        db, user, screening.id, page="summary", categories=categories, identity=summary.identity is not None
    )
    return summary


def html(summary: Summary, *, pdf: bool, **context: Any) -> str:
    """The summary rendered as a standalone document (for the PDF) or a page body context, in the reader's language."""
    template = templates.env.get_template("exports/summary.html")
    with rendering_in(summary.language):
        return template.render(s=summary, confidential=CONFIDENTIAL, pdf=pdf, lang=summary.language, **context)


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The PDF renderer fetches nothing: no file, no network (everything it needs is inline)."""
    raise ValueError("external resources are not loaded")


PAGE = "exports/summary.html"


def page_context(summary: Summary, pdf_href: str | None = None) -> dict[str, Any]:
    """What the summary's page (`PAGE`, rendered by the caller as a page of the app) needs, in the reader's
    language; `pdf_href` is where its PDF is."""
    return {"lang": summary.language, "s": summary, "confidential": CONFIDENTIAL, "pdf": False, "pdf_href": pdf_href}


def pdf_response(summary: Summary, filename: str) -> Response:
    """The summary as a PDF download, never cached."""
    return Response(
        pdf_bytes(summary),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def pdf_bytes(summary: Summary) -> bytes:
    """The summary as a PDF (WeasyPrint), with the confidentiality header on every page."""
    from weasyprint import HTML  # imported here: it loads Pango, needed only for PDFs

    document: bytes = HTML(string=html(summary, pdf=True), url_fetcher=_no_fetch).write_pdf()
    return document
