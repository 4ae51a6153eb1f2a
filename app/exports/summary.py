"""The referral summary of one screening: a readable page and a PDF, with only what the viewer may see.

The agency that holds the screening sees all of it. Another agency sees what its consent covers right
now (the result summary; the answers and the notes only when the consent names them) and each such
view goes in the disclosure ledger. Without a consent the screening is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app import access, audit
from app.crypto import KeyRing
from app.errors import InvalidInput, NotFound
from app.i18n import _, content_language, rendering_in, staff_language
from app.models import Agency, Screening, ScreeningResult, ScreeningStatus, User, utcnow
from app.models_sharing import Category, Purpose
from app.screenings import service, views
from app.screenings.disclosed import without_items
from app.web import templates
from instruments.loader import Registry

CONFIDENTIAL = _(
    "Confidential: contains information about a young person, shared under their consent. Do not redisclose."
)
CATEGORY_LABELS = {
    Category.result_summary.value: _("Result summary"),
    Category.item_answers.value: _("Answers to each question"),
    Category.notes.value: _("Screener's notes"),
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

    @property
    def category_labels(self) -> list[str]:
        return [CATEGORY_LABELS[c] for c in self.categories]


def _notice(agency: Agency | None, language: str) -> str | None:
    notice: Any = (agency.confidentiality_notice or {}) if agency else {}
    value = notice.get(language) or notice.get("en") if isinstance(notice, dict) else None
    return str(value) if value else None


def build(
    db: Session, keys: KeyRing, registry: Registry, user: User, screening_id: str, purpose: str | None = None
) -> Summary:
    """The summary of a completed screening the user may read; a view by another agency is disclosed."""
    purpose = purpose or access.DEFAULT_PURPOSE.value
    if purpose not in {p.value for p in Purpose}:
        raise InvalidInput(_("Unknown purpose '%(purpose)s'.") % {"purpose": purpose}, {"field": "purpose"})
    wanted = (Category.result_summary, Category.item_answers, Category.notes)
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
    view = views.result_view(instrument, result, content, registry, with_answers=with_answers)
    owner, viewer = db.get(Agency, screening.agency_id), db.get(Agency, user.agency_id)
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
    )
    if with_answers:
        values, sources = {k: a.value for k, a in stored.items()}, {k: a.source for k, a in stored.items()}
        summary.answers = views.review(instrument, values, content, sources)
    if Category.notes.value in categories and screening.notes_enc:
        summary.notes = keys.decrypt(screening.notes_enc, "screening", "notes", screening.id)
    audit.record(
        db,
        "screening.view",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"page": "summary", "categories": categories},
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


def pdf_bytes(summary: Summary) -> bytes:
    """The summary as a PDF (WeasyPrint), with the confidentiality header on every page."""
    from weasyprint import HTML  # imported here: it loads Pango, needed only for PDFs

    document: bytes = HTML(string=html(summary, pdf=True), url_fetcher=_no_fetch).write_pdf()
    return document
