"""Pages: a screening's referral summary (HTML and PDF), and the export form with its streamed downloads."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from app import i18n
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth, WebAuthDep
from app.errors import AppError, InvalidInput
from app.exports import summary, tabular
from app.exports.api import codebook_download, streamed
from app.exports.plan import Plan, require_exporter
from app.models import Agency, utcnow
from app.models_sharing import Category, Purpose
from app.web import _, render
from instruments.loader import Registry

router = APIRouter(include_in_schema=False)
CATEGORY_LABELS = {
    Category.result_summary.value: _("Result summary (levels, domains, reasons)"),
    Category.item_answers.value: _("Answers to each question"),
    Category.notes.value: _("Screener's notes"),
}
FORMAT_LABELS = (
    ("csv", _("CSV, one row per screening (UTF-8, for R, Python and most tools; download the codebook too)")),
    ("csv-excel", _("CSV for Excel: the same, marked as UTF-8 so that Excel shows accents such as 'línea' correctly")),
    ("sav", _("SPSS (.sav), with variable and value labels (up to about 50,000 screenings)")),
    ("dta", _("Stata (.dta), with variable and value labels (up to about 50,000 screenings)")),
    ("json", _("JSON, an array of screenings")),
    ("ndjson", _("NDJSON, one screening per line")),
    ("fhir-bundle", _("FHIR R4 Bundle (JSON), for health record systems")),
    ("fhir-ndjson", _("FHIR R4 NDJSON, one resource per line (bulk data)")),
)


@router.get("/screenings/{screening_id}/summary", response_class=HTMLResponse)
def summary_page(
    request: Request,
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    auth: WebAuthDep,
    purpose: str | None = None,
) -> Response:
    """The readable referral summary: confidentiality header, result, domains, reasons, next steps."""
    built = summary.build(db, keys, registry, auth.user, screening_id, purpose)
    return render(request, summary.PAGE, auth=auth, **summary.page_context(built))


@router.get("/screenings/{screening_id}/summary.pdf")
def summary_pdf(
    screening_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    auth: WebAuthDep,
    purpose: str | None = None,
) -> Response:
    """The referral summary as a PDF, the confidentiality line heading every page."""
    built = summary.build(db, keys, registry, auth.user, screening_id, purpose)
    return summary.pdf_response(built, f"tellonce-summary-{built.screening.id[:8]}.pdf")


def _form_values(form: Any) -> dict[str, Any]:
    return {
        "recipient": str(form.get("recipient") or ""),
        "date_from": str(form.get("from") or ""),
        "date_to": str(form.get("to") or ""),
        "categories": [str(c) for c in form.getlist("categories")],
        "purpose": str(form.get("purpose") or Purpose.care_coordination.value),
        "format": str(form.get("format") or "csv"),
    }


def _page(
    request: Request, db: Session, auth: WebAuth, values: dict[str, Any], error: str | None = None, status: int = 400
) -> Response:
    agencies = db.exec(select(Agency).order_by(col(Agency.name))).all()
    return render(
        request,
        "exports/export.html",
        status_code=status if error else 200,
        auth=auth,
        agencies=agencies,
        values=values,
        categories=CATEGORY_LABELS,
        purposes=[p.value for p in Purpose],
        formats=FORMAT_LABELS,
        error=error,
    )


def _planned(db: Session, registry: Registry, auth: WebAuth, values: dict[str, Any]) -> Plan:
    try:
        date_from, date_to = date.fromisoformat(values["date_from"]), date.fromisoformat(values["date_to"])
    except ValueError as exc:
        raise InvalidInput(_("Enter both dates, like 2025-01-31.")) from exc
    return tabular.prepare(
        db, registry, auth.user, values["recipient"], date_from, date_to, values["categories"], values["purpose"]
    )


@router.get("/exports", response_class=HTMLResponse)
def export_page(request: Request, db: SessionDep, auth: WebAuthDep) -> Response:
    """Choose a recipient, dates, categories, purpose and format."""
    require_exporter(auth.user)
    today = utcnow().date()
    values = {
        "recipient": auth.user.agency_id,
        "date_from": (today - timedelta(days=30)).isoformat(),
        "date_to": today.isoformat(),
        "categories": [Category.result_summary.value],
        "purpose": Purpose.care_coordination.value,
        "format": "csv",
    }
    return _page(request, db, auth, values)


async def _submitted(request: Request) -> dict[str, Any]:
    return _form_values(await request.form())


@router.post("/exports")
async def export_download(
    request: Request, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """The export, streamed as a download (a form post: it writes the ledger, so it carries a CSRF token)."""
    require_exporter(auth.user)
    values = await _submitted(request)
    if values["format"] not in tabular.FORMATS:
        return _page(request, db, auth, values, _("Choose a format."))
    try:
        planned = _planned(db, registry, auth, values)
    except AppError as exc:
        if exc.status == 403:
            raise
        return _page(request, db, auth, values, exc.message)
    try:
        with i18n.rendering_in(i18n.staff_language(request, auth.user)):  # the labels of a .sav or .dta file
            return streamed(planned, values["format"], keys, registry)
    except AppError as exc:  # a .sav or .dta file too large, or that could not be written: nothing was sent
        if exc.status == 403:
            raise
        return _page(request, db, auth, values, exc.message, exc.status)


@router.post("/exports/codebook")
async def export_codebook(request: Request, db: SessionDep, registry: RegistryDep, auth: FormAuthDep) -> Response:
    """The codebook of the export with the chosen terms (for Excel when the CSV for Excel is chosen)."""
    require_exporter(auth.user)
    values = await _submitted(request)
    try:
        planned = _planned(db, registry, auth, values)
    except AppError as exc:
        if exc.status == 403:
            raise
        return _page(request, db, auth, values, exc.message)
    with i18n.rendering_in(i18n.staff_language(request, auth.user)):
        return codebook_download(planned, values["format"])
