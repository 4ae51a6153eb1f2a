"""The staff page "Import a partner's file": upload a FHIR Bundle or NDJSON, see the preview, then import.

The same users as the API (`POST /api/v1/fhir-import`) use it: any staff member, each response going only onto
one of their own agency's youth (`app.interop.fhir_bulk`, which matches every subject and checks access).
The preview saves nothing; the import carries the previewed file sealed in the page (`fhir_bulk_preview`)
and imports nothing the preview did not show. The file is read and imported in the viewer's language
(`rendering_in`), so each response's problems are listed in it. The path ends in /fhir-import: the input
guard allows such uploads the larger body of imports.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData, UploadFile

from app.crypto import KeyRing
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuth, WebAuthDep
from app.errors import AppError, Conflict, InvalidPayload, NothingToImport, PreviewExpired
from app.i18n import _, rendering_in, staff_language
from app.interop.fhir_bulk import import_file
from app.interop.fhir_bulk_preview import imported_of, plan_of, seal, shown, unseal
from app.interop.fhir_responses import earlier_imports
from app.interop.fhir_subjects import NDJSON_TYPES, FileContents, read_body, say
from app.models import Agency
from app.settings import get_settings
from app.web import render
from instruments.loader import Registry

router = APIRouter(include_in_schema=False)
PAGE = "/imports/fhir-import"
TEMPLATE = "exports/fhir_bulk_import.html"
NDJSON_NAMES = (".ndjson", ".jsonl")
SHOWN_PROBLEMS = 20


def _page(request: Request, db: Session, auth: WebAuth, status: int = 200, **context: Any) -> Response:
    agencies = db.exec(select(Agency).where(Agency.id != auth.user.agency_id).order_by(col(Agency.name))).all()
    context.setdefault("partner", None)
    return render(request, TEMPLATE, status, auth=auth, agencies=agencies, **context)


@router.get(PAGE, response_class=HTMLResponse)
def import_page(request: Request, db: SessionDep, auth: WebAuthDep) -> Response:
    """The upload form."""
    return _page(request, db, auth)


@router.post(PAGE, response_class=HTMLResponse)
async def import_post(
    request: Request, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: FormAuthDep
) -> Response:
    """`action=import`: import the previewed file; otherwise preview the uploaded file (nothing saved)."""
    form = await request.form()  # read once already (the CSRF check); its uploaded file is closed below
    try:
        with rendering_in(staff_language(request, auth.user)):  # the problems found are said in the page's language
            if form.get("action") == "import":
                return _import(request, db, keys, registry, auth, form)
            return await _preview(request, db, keys, registry, auth, form)
    finally:
        await form.close()


def _problems(detail: Any) -> list[str]:
    """An error's problems in words: where in the file (an NDJSON line), and what."""
    found = []
    for item in detail if isinstance(detail, list) else []:
        loc = item.get("loc", []) if isinstance(item, dict) else []
        place = say(_("line {number}"), number=loc[loc.index("line") + 1]) if "line" in loc[:-1] else _("the file")
        found.append(f"{place}: {item.get('msg', '')}")
    if len(found) > SHOWN_PROBLEMS:
        more = say(_("and {count} more"), count=len(found) - SHOWN_PROBLEMS)
        found = [*found[:SHOWN_PROBLEMS], more]
    return found


def _refused(request: Request, db: Session, auth: WebAuth, exc: AppError, upload: dict[str, Any] | None) -> Response:
    """The form again with what is wrong; nothing was saved. A page answers 400 for unreadable input."""
    status = 400 if isinstance(exc, InvalidPayload) else exc.status
    problems = _problems(exc.detail)
    hint = None
    if upload is not None and upload["kind"] == "bundle" and isinstance(exc, InvalidPayload):
        hint = _("A file with one FHIR resource per line (NDJSON) must have a name ending in .ndjson.")
    partner = upload["partner"] if upload else None
    return _page(request, db, auth, status, error=exc.message, problems=problems, hint=hint, partner=partner)


def _read(upload: dict[str, Any]) -> FileContents:
    media = NDJSON_TYPES[0] if upload["kind"] == "ndjson" else "application/json"
    return read_body(upload["body"], media, get_settings().max_json_depth)


async def _preview(
    request: Request, db: Session, keys: KeyRing, registry: Registry, auth: WebAuth, form: FormData
) -> Response:
    file = form.get("file")
    partner = str(form.get("partner") or "").strip() or None
    if not isinstance(file, UploadFile) or not file.filename:
        message = _("Choose the partner's file to upload: a FHIR Bundle (.json) or NDJSON (.ndjson).")
        return _page(request, db, auth, 400, error=message, partner=partner)
    name = file.filename[:200]
    ndjson = name.lower().endswith(NDJSON_NAMES) or (file.content_type or "").split(";")[0] in NDJSON_TYPES
    upload = {"name": name, "kind": "ndjson" if ndjson else "bundle", "partner": partner, "body": await file.read()}
    return _previewed(request, db, keys, registry, auth, upload)


def _previewed(
    request: Request,
    db: Session,
    keys: KeyRing,
    registry: Registry,
    auth: WebAuth,
    upload: dict[str, Any],
    status: int = 200,
    changed: bool = False,
) -> Response:
    """The preview of an upload: per youth what would be imported, what matches no one; nothing saved."""
    try:
        found = _read(upload)
        earlier = earlier_imports(db, auth.user.agency_id)
        report = import_file(db, keys, registry, auth.user, found, partner=upload["partner"], preview=True)
    except AppError as exc:
        if exc.status == 403:
            raise
        return _refused(request, db, auth, exc, upload)
    if not found.responses:
        message = _("The file holds no QuestionnaireResponses, so there is nothing to import.")
        return _refused(request, db, auth, NothingToImport(message), upload)
    plan = plan_of(report)
    sealed = seal(keys, auth.session.id, auth.user, upload, plan) if plan else []
    view = shown(db, keys, registry, auth.user, found, report, earlier)
    return _page(
        request, db, auth, status, stage="preview", view=view, sealed=sealed, upload=upload, changed=changed,
        partner=upload["partner"], partner_name=_agency_name(db, upload["partner"]),
    )  # fmt: skip


def _agency_name(db: Session, agency_id: str | None) -> str | None:
    agency = db.get(Agency, agency_id) if agency_id else None
    return agency.name if agency is not None else None


def _import(
    request: Request, db: Session, keys: KeyRing, registry: Registry, auth: WebAuth, form: FormData
) -> Response:
    """Import what the sealed preview showed: the file is read and every subject matched again; when anything
    would now go onto a youth the preview did not show for it, nothing is saved and a new preview is shown."""
    chunks = [value for value in form.getlist("sealed") if isinstance(value, str)]
    try:
        upload, plan = unseal(keys, auth.session.id, auth.user, chunks)
    except PreviewExpired as exc:
        return _refused(request, db, auth, exc, None)
    try:
        found = _read(upload)
        earlier = earlier_imports(db, auth.user.agency_id)
        again = import_file(  # the preview's checks again, not another preview (that one was audited)
            db, keys, registry, auth.user, found, partner=upload["partner"], preview=True, record_preview=False
        )
    except AppError as exc:
        if exc.status == 403:
            raise
        return _refused(request, db, auth, exc, upload)
    if not plan_of(again) <= plan:
        return _previewed(request, db, keys, registry, auth, upload, status=409, changed=True)
    report = import_file(db, keys, registry, auth.user, found, partner=upload["partner"], preview=False)
    if not imported_of(report) <= plan:  # cannot be (the same checks in the same transaction): never saved if so
        raise Conflict(_("The file changed while it was imported. Nothing was imported: upload it again."))
    view = shown(db, keys, registry, auth.user, found, report, earlier)
    return _page(
        request, db, auth, stage="done", view=view, upload=upload, partner=upload["partner"],
        partner_name=_agency_name(db, upload["partner"]),
    )  # fmt: skip
