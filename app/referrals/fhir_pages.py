"""Page: download a referral the agency sent as a FHIR Bundle, for a partner's record system."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import Response

from app.db import SessionDep
from app.deps import KeysDep, RegistryDep, WebAuthDep
from app.interop import fhir, fhir_referral
from app.interop.fhir import FHIR_JSON

router = APIRouter(include_in_schema=False)


@router.get("/referrals/{referral_id}/fhir")
def referral_fhir_download(
    referral_id: str, db: SessionDep, keys: KeysDep, registry: RegistryDep, auth: WebAuthDep
) -> Response:
    """The Bundle as a file (the sender's only; written in the disclosure ledger as an export to the partner)."""
    resources = fhir_referral.referral_resources(db, keys, registry, auth.user, referral_id)
    body = json.dumps(fhir.bundle(resources), ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type=FHIR_JSON,
        headers={
            "Content-Disposition": f'attachment; filename="tellonce-referral-{referral_id[:8]}.fhir.json"',
            "Cache-Control": "no-store",
        },
    )
