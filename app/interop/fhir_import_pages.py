"""The admin page to import a FHIR Questionnaire: upload it, read the report by linkId, download the YAML.

It installs nothing: the YAML is for review, then to be saved into a folder on TELLONCE_INSTRUMENT_PATH.
A Questionnaire whose definition would not load is answered with status 422 and its problems.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from app import web_forms
from app.db import SessionDep
from app.deps import FormAuthDep, WebAuthDep, require_role
from app.errors import InvalidPayload
from app.i18n import _
from app.inputs import checked_json
from app.interop.fhir_import import QuestionnaireImport, QuestionnaireImportReport, import_questionnaire
from app.interop.fhir_subjects import say
from app.models import Role
from app.settings import get_settings
from app.web import render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/instruments/fhir-import"  # ends in /fhir-import: the input guard allows these a larger body
TEMPLATE = "admin/fhir_import.html"
LEVELS = ("possible_concern", "clear_concern")


@router.get(PAGE, response_class=HTMLResponse)
def import_page(request: Request, auth: WebAuthDep) -> Response:
    """The upload form (system admins)."""
    require_role(auth.user, Role.system_admin)
    return render(request, TEMPLATE, auth=auth, form={}, report=None, error=None, errors={})


@router.post(PAGE, response_class=HTMLResponse)
async def import_upload(request: Request, db: SessionDep, auth: FormAuthDep) -> Response:
    """Read the uploaded Questionnaire: the report and the YAML, or (`action=download`) the YAML as a file."""
    require_role(auth.user, Role.system_admin)
    form = await request.form()  # read once already (the CSRF check); its uploaded file is closed below
    try:
        return await _import(request, db, auth, form)
    finally:
        await form.close()


async def _import(request: Request, db: Any, auth: Any, form: Any) -> Response:
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    upload = form.get("file")

    def refuse(message: str, status: int = 422, errors: dict[str, Any] | None = None) -> Response:
        return render(
            request, TEMPLATE, status, auth=auth, form=fields, report=None, error=message, errors=errors or {}
        )

    if not isinstance(upload, UploadFile) or not upload.filename:
        return refuse(_("Choose a FHIR Questionnaire file (JSON) to upload."))
    try:  # the same checks as every JSON body (app.inputs): UTF-8, storable text, finite numbers, nesting depth
        data = checked_json(await upload.read(), get_settings().max_json_depth)
    except InvalidPayload as exc:
        found = exc.detail if isinstance(exc.detail, list) else []
        kinds = {p.get("type") for p in found if isinstance(p, dict)}
        if not found or kinds & {"invalid_json", "invalid_utf8"}:
            return refuse(_("The file is not JSON: upload a FHIR Questionnaire, or a Bundle holding one."))
        return refuse(say(_("The file cannot be read: it {problem}."), problem=found[0].get("msg", "")), 400)
    if not isinstance(data, dict):
        return refuse(_("The file is JSON, but not a FHIR resource."))
    typed = {level: fields.get(level, "").strip() for level in LEVELS}
    thresholds = {level: web_forms.parse_number(raw) for level, raw in typed.items() if raw}
    errors: dict[str, Any] = {level: web_forms.number_message() for level, n in thresholds.items() if n is None}
    posted = {  # into the API's model, so the page and the API refuse the same things
        "questionnaire": data,
        "thresholds": {level: float(n) for level, n in thresholds.items() if n is not None},
        "instrument_id": fields.get("instrument_id", "").strip() or None,
        "version": fields.get("version", "").strip() or None,
    }
    read, problems = web_forms.parse(
        QuestionnaireImport,
        posted,
        {"thresholds": _("A threshold must be a number from -1,000,000,000 to 1,000,000,000, or left empty.")},
        _("Check this field."),
        items="thresholds",
    )
    errors = problems | errors
    if read is None or errors:
        return refuse(_("Check the fields marked below."), errors=errors)
    report = import_questionnaire(db, auth.user, read, page=True)
    if fields.get("action") == "download" and report.loads:
        disposition = f'attachment; filename="{report.file_name}"'
        return Response(report.yaml, media_type="application/yaml", headers={"Content-Disposition": disposition})
    return _rendered(request, auth, fields, report)


def _rendered(request: Request, auth: Any, fields: dict[str, str], report: QuestionnaireImportReport) -> Response:
    status = 200 if report.loads else 422
    return render(request, TEMPLATE, status, auth=auth, form=fields, report=report, error=None, errors={})
