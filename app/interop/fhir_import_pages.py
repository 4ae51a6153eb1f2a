"""The admin page to import a FHIR Questionnaire: upload it, read the report by linkId, download the YAML.

It installs nothing: the YAML is for review, then to be saved into a folder on TELLONCE_INSTRUMENT_PATH.
A Questionnaire whose definition would not load is answered with status 422 and its problems.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from app import audit
from app.db import SessionDep
from app.deps import FormAuthDep, WebAuthDep, require_role
from app.errors import InvalidPayload
from app.i18n import _
from app.inputs import checked_json
from app.interop.fhir_import import QuestionnaireImportReport, import_fhir
from app.interop.fhir_subjects import say
from app.models import Role
from app.settings import get_settings
from app.web import render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/instruments/fhir-import"  # ends in /fhir-import: the input guard allows these a larger body
TEMPLATE = "admin/fhir_import.html"
LEVELS = ("possible_concern", "clear_concern")


def _number(value: Any) -> float | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None
    number = float(text)  # ValueError for anything else: the caller says which field
    if not math.isfinite(number) or abs(number) > 1e9:
        raise ValueError(text)
    return number


@router.get(PAGE, response_class=HTMLResponse)
def import_page(request: Request, auth: WebAuthDep) -> Response:
    """The upload form (system admins)."""
    require_role(auth.user, Role.system_admin)
    return render(request, TEMPLATE, auth=auth, form={}, report=None, error=None)


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

    def refuse(message: str, status: int = 422) -> Response:
        return render(request, TEMPLATE, status, auth=auth, form=fields, report=None, error=message)

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
    thresholds: dict[str, float] = {}
    for level in LEVELS:
        try:
            number = _number(fields.get(level))
        except ValueError:
            return refuse(_("A threshold must be a number, or left empty."))
        if number is not None:
            thresholds[level] = number
    report = import_fhir(
        data, thresholds, fields.get("instrument_id", "").strip() or None, fields.get("version", "").strip() or None
    )
    audit.record(
        db,
        "instrument.import_fhir",
        actor_id=auth.user.id,
        agency_id=auth.user.agency_id,
        object_type="instrument",
        object_id=report.instrument_id,
        detail={"version": report.version, "loads": report.loads, "problems": len(report.problems), "page": True},
    )
    if fields.get("action") == "download" and report.loads:
        disposition = f'attachment; filename="{report.file_name}"'
        return Response(report.yaml, media_type="application/yaml", headers={"Content-Disposition": disposition})
    return _rendered(request, auth, fields, report)


def _rendered(request: Request, auth: Any, fields: dict[str, str], report: QuestionnaireImportReport) -> Response:
    return render(request, TEMPLATE, 200 if report.loads else 422, auth=auth, form=fields, report=report, error=None)
