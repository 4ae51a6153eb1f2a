"""Practitioner pages for youth records: the list and search, the add form, and one youth's record."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic_core import ErrorDetails

from app import paging, web_forms
from app.db import SessionDep
from app.deps import FormAuthDep, KeysDep, RegistryDep, WebAuthDep
from app.errors import InvalidInput, NotFound
from app.records import service as records
from app.records.record_page import youth_page
from app.records.schemas import YouthCreate, YouthSearch
from app.web import _, render

router = APIRouter(include_in_schema=False)

FIELDS = {
    "given_name": _("Given name"),
    "family_name": _("Family name"),
    "birth_date": _("Date of birth"),
    "case_number": _("Case number"),
}
REQUIRED = {
    "given_name": _("Enter the given name."),
    "family_name": _("Enter the family name."),
    "birth_date": _("Enter the date of birth."),
    "case_number": _("Enter the case number."),
}


@router.get("/youth", response_class=HTMLResponse)
def youth_list(
    request: Request, db: SessionDep, keys: KeysDep, auth: WebAuthDep, case_number: str | None = None
) -> Response:
    """The agency's youth; `?case_number=` (a whole case number, as links carry it) opens the record it finds."""
    searched = (case_number or "").strip()
    if searched:
        try:
            youth = records.find_by_case_number(db, keys, auth.user, searched)
        except NotFound:
            pass
        else:
            return RedirectResponse(f"/youth/{youth.id}", status_code=303)
    page = records.list_for(db, keys, auth.user, paging.parse(request.query_params.get("after")))
    return render(
        request,
        "youth/list.html",
        auth=auth,
        youth=page.items,
        pages=paging.links(request.url.remove_query_params("case_number"), page),  # a miss is said once
        query=searched,
        case_number=searched,
        not_found=bool(searched),
    )


@router.post("/youth/find", response_class=HTMLResponse)
async def youth_find(request: Request, db: SessionDep, keys: KeysDep, auth: FormAuthDep) -> Response:
    """The agency's youth matching a name or part of a case number.

    Posted, not a GET query: names stay out of URLs, server logs and the browser's history, which a youth
    handed this device could see (SECURITY.md 13).
    """
    form = await request.form()
    query = str(form.get("q") or "").strip()
    search, errors = web_forms.parse(YouthSearch, {"q": query}, default=_("Search with fewer words."))
    error = next(iter(errors.values()), None)
    if search is not None:
        try:
            found = records.search(db, keys, auth.user, search)
        except InvalidInput as exc:
            error = exc.message
        else:
            return render(
                request, "youth/list.html", auth=auth, youth=found.youth, more=found.more, query=query, searched=True
            )
    return render(
        request, "youth/list.html", status_code=400, auth=auth, youth=[], query=query, searched=True, error=error
    )


@router.get("/youth/new", response_class=HTMLResponse)
def youth_new(request: Request, auth: WebAuthDep) -> Response:
    """The form to add a youth."""
    return render(request, "youth/new.html", auth=auth, values={}, errors={}, summary=[], labels=FIELDS)


@router.post("/youth")
async def youth_create(request: Request, db: SessionDep, keys: KeysDep, auth: FormAuthDep) -> Response:
    """Add a youth; bad input shows the form again with the values kept, and changes nothing."""
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    data, errors = web_forms.parse(YouthCreate, values, default=_field_message)
    if data is not None:
        with web_forms.attempt(db, InvalidInput) as tried:
            youth = records.create(db, keys, auth.user, data)
        if not tried.failed:
            return RedirectResponse(f"/youth/{youth.id}", status_code=303)
        errors = web_forms.refused_errors(tried.error, FIELDS)
    summary = [(field if field in FIELDS else "main", message) for field, message in errors.items()]
    return render(
        request,
        "youth/new.html",
        status_code=400,
        auth=auth,
        values=values,
        errors=errors,
        summary=summary,
        labels=FIELDS,
    )


def _field_message(error: ErrorDetails) -> str:
    """A validation error of the youth form as a plain message for its field."""
    field = str(error["loc"][0]) if error["loc"] else "form"
    label = FIELDS.get(field, field)
    kind = error["type"]
    if kind in ("string_too_short", "missing"):
        return REQUIRED.get(field, _("Fill in this field."))
    if kind == "string_too_long":
        return _("%s is too long.") % label
    if field == "birth_date":
        return _("Enter the date of birth as a real date, for example 2010-04-02.")
    return _("%s is not valid.") % label


@router.get("/youth/{youth_id}", response_class=HTMLResponse)
def youth_detail(
    request: Request,
    youth_id: str,
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    auth: WebAuthDep,
    instrument: str | None = None,
) -> Response:
    """One youth's record (an audited view), their screenings, and the form to start one."""
    return youth_page(request, db, keys, registry, auth, youth_id, chosen_instrument=instrument)
