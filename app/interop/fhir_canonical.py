"""The canonical URLs of TellOnce's Questionnaires answer: `<base>/fhir/Questionnaire/...`.

A Questionnaire's `url` is `<base_url>/fhir/Questionnaire/<instrument id>` (`app.interop.fhir.canonical`),
so a partner holding a response can fetch the form it answers. Read with the same bearer token as the
API (`/api/v1/instruments/{id}/{version}/fhir`), as `application/fhir+json`:

- `GET /fhir/Questionnaire/<instrument id>`: the newest loaded version; `?version=1.2.0` that version
  (the canonical `url|version` of a response says which);
- `GET /fhir/Questionnaire/<instrument id>-<version>`: by the resource id a Bundle's `fullUrl` names;
- `GET /fhir/Questionnaire?url=<canonical>[&version=...]`: FHIR's search by canonical, a `searchset` Bundle.

Errors are JSON, as under /api/ (`app.main`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from app.deps import ApiUserDep, RegistryDep
from app.errors import NotFound, responses
from app.i18n import _
from app.interop import fhir
from app.interop.fhir import FHIR_BODY, FHIR_JSON
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry

router = APIRouter(prefix="/fhir", tags=["fhir"])
Version = Annotated[str | None, Query(max_length=100, description="an instrument version, e.g. 1.2.0")]


def find(registry: Registry, questionnaire_id: str, version: str | None) -> CompiledInstrument | None:
    """The instrument version a Questionnaire address names: an instrument id (newest, or `version`), or the
    resource id of one version (`<instrument id>-<version>`; a `.` never occurs in an instrument id)."""
    found = registry.get(questionnaire_id, version)
    if found is not None or "." not in questionnaire_id:
        return found
    by_id = [c for c in registry.all() if fhir.questionnaire_id(c.id, c.version) == questionnaire_id]
    return next((c for c in by_id if version in (None, c.version)), None)


@router.get("/Questionnaire/{questionnaire_id}", response_class=JSONResponse, responses=FHIR_BODY | responses(NotFound))
def read_questionnaire(
    questionnaire_id: str, registry: RegistryDep, user: ApiUserDep, version: Version = None
) -> Response:
    """A Questionnaire by its canonical URL (an instrument id, with `?version=`) or its resource id."""
    compiled = find(registry, questionnaire_id, version)
    if compiled is None:
        raise NotFound(_("No such instrument version."))
    return JSONResponse(fhir.sourced(fhir.questionnaire(compiled)), media_type=FHIR_JSON)


@router.get("/Questionnaire", response_class=JSONResponse, responses=FHIR_BODY | responses())
def search_questionnaires(
    registry: RegistryDep,
    user: ApiUserDep,
    url: Annotated[str | None, Query(max_length=2000, description="a Questionnaire's canonical URL")] = None,
    version: Version = None,
) -> Response:
    """Questionnaires by canonical URL (`url`, optionally `url|version`) and version, as a `searchset` Bundle."""
    if url is not None and "|" in url:
        url, _sep, version = url.partition("|")
    matches = [
        c
        for c in registry.all()
        if (url is None or fhir.canonical(c.id) == url) and (version is None or c.version == version)
    ]
    bundle = fhir.bundle(fhir.sourced(fhir.questionnaire(c)) for c in matches)
    bundle["type"] = "searchset"
    bundle["total"] = len(matches)
    for entry in bundle.get("entry", ()):
        entry["search"] = {"mode": "match"}
    return JSONResponse(bundle, media_type=FHIR_JSON)
