"""The authorization matrix, generated from the route table: a route without an entry here fails the suite.

Every entry says who may use the route. Youth data of another agency is read only under an active
consent (or the viewer's own break-glass); a denied read answers 404 with the very body of a record
that does not exist, never 403, never a count; sharing never grants a write. [SECURITY.md 1–3; DESIGN §7]
The one exception: a page that the recipient of a consent now revoked or expired opens says so (403),
for that agency already knew of the consent (issue 10 §4).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import crypto
from app.interop.fhir_referral import REFERRAL_SYSTEM
from app.models import Role, Screening, User
from app.models_referrals import Referral
from app.models_sharing import Category, RecordLink, YouthIdentifier
from app.records import identifiers
from app.referrals import service as referral_service
from app.referrals.schemas import ReferralCreate
from app.sharing import consent
from app.sharing.views import handle
from tests.app.conftest import PASSWORD, World
from tests.app.matrix_support import (
    API,
    FEW_STATES,
    NOTES_CANARY,
    PARTNER_SYSTEM,
    PRACTITIONER,
    SHARED_STATES,
    Entry,
    MatrixWorld,
    allowed,
    apply_state,
    build_world,
    call,
    disclosures,
    may_read,
    openapi_operations,
    same_as_missing,
    served_routes,
    target_ids,
)
from tests.app.sharing_support import pdf_texts

PUBLIC, YOUTH, STAFF, OWN, ADMIN, SYSTEM_ADMIN, SHARED = (
    "public",  # anyone: sign-in, the youth's code page, quick exit, static files, API docs
    "youth",  # the youth's own session on one self-administered screening
    "staff",  # any signed-in staff member (or the listed roles); lists show the own agency's records only
    "own",  # an object of the user's own agency: any other agency gets 404, whatever is shared with it
    "admin",  # agency or system admins; others 403 (another agency's object: 404)
    "system_admin",  # system admins only; others 403
    "shared",  # youth data another agency reads under consent or its break-glass; otherwise a plain 404
)
PARTIES = "parties"  # a referral: its sender, and the partner it was sent to (youth data only under consent); else 404
SENDER = "sender"  # a referral's sending agency alone (its FHIR export, its partner's Task coming back); else 404
SCREENINGS = ("done", "open", "self")
GLASS = frozenset({Role.supervisor, Role.agency_admin})
EXPORTERS = frozenset({Role.system_admin, Role.agency_admin, Role.supervisor})
REPORTS = EXPORTERS | {Role.evaluator}  # de-identified: evaluators read them, and never export
WRONG, NOBODY = "not the password", "nobody@example.org"
BUNDLE = {"resourceType": "Bundle", "type": "collection", "entry": []}
QUESTIONNAIRE = {"questionnaire": {"resourceType": "Questionnaire"}, "thresholds": {}, "instrument_id": "x"}
NEW_USER = {"email": "new.user@example.org", "display_name": "New", "role": "screener", "password": PASSWORD}
NEW_YOUTH = {"given_name": "Sam", "family_name": "Example", "birth_date": "2011-01-01", "case_number": "N-9"}
REASON = "Youth arrived in crisis overnight; prior screening needed now."
WHY = "The youth asked the programs to stop sharing."  # why a consent is revoked
RECORDERS = frozenset({Role.supervisor, Role.evaluator, Role.agency_admin})  # of outcomes
OUTCOME = {"kind": "lost_to_follow_up", "source": "service_record", "learned_on": "2026-01-15"}


def _version(w: MatrixWorld, target: str, user: User | None) -> dict[str, Any]:
    return {"version": w.version(target)}


def _terms(w: MatrixWorld, target: str, user: User | None, *, form: bool = False) -> dict[str, Any]:
    ends, categories = (datetime.now(UTC) + timedelta(days=30)).isoformat(), ["result_summary"]
    terms = {"to_agency_id": w.agencies["B"].id, "grantor": "youth", "authority": "Signed release", "method": "written"}
    return terms | {"purpose": "care_coordination", "ends_at": ends[:10] if form else ends, "categories": categories}


def _candidate(w: MatrixWorld, target: str, user: User | None) -> dict[str, Any]:
    """A's other record, as the opaque handle the caller would have been shown."""
    return {"candidate": handle(crypto.get_key_ring(), user, target, w.ids["youth_a2"]) if user else "x"}


def _export(w: MatrixWorld, target: str, user: User | None) -> dict[str, Any]:
    """The caller's agency's completed screenings of the last month, for the caller's own agency."""
    today = datetime.now(UTC).date()
    span = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    return {"recipient": user.agency_id if user else "", "format": "csv", "categories": "result_summary"} | span


def _relink(w: MatrixWorld) -> None:
    link = w.session.get(RecordLink, w.ids["link"])
    assert link is not None
    link.undone_at = link.undone_by = None
    w.session.commit()


def _reidentify(w: MatrixWorld) -> None:
    """Put back A's mapped identifier that an allowed DELETE removed."""
    if w.session.get(YouthIdentifier, w.ids["identifier"]) is None:
        row = YouthIdentifier(
            id=w.ids["identifier"],
            agency_id=w.agencies["A"].id,
            youth_id=w.ids["youth"],
            system=PARTNER_SYSTEM,
            value_index=identifiers.value_index(crypto.get_key_ring(), w.agencies["A"].id, PARTNER_SYSTEM, "A-77"),
            recorded_by=w.ids["user"],
        )
        w.session.add(row)
        w.session.commit()


def _amendment(w: MatrixWorld, target: str, user: User | None, *, form: bool = False) -> dict[str, Any]:
    """A correction of one rating, with a reason (a page posts it as form fields, the API as JSON)."""
    fields = {"version": w.version(target), "reason": "Rated the wrong line by mistake."}
    if form:
        return fields | {"answer.rate_housing_unstable": "no_concern"}
    return fields | {"answers": {"rate_housing_unstable": "no_concern"}}


def _undiscard(w: MatrixWorld) -> None:
    """Bring back the draft an allowed discard took away, so every caller tries the same draft."""
    draft = w.session.get(Screening, w.ids["open"])
    assert draft is not None
    w.session.refresh(draft)
    draft.status, draft.discarded_at, draft.discarded_by, draft.discard_reason_enc = "in_progress", None, None, None
    w.session.add(draft)
    w.session.commit()


def _discarding(w: MatrixWorld, target: str, user: User | None) -> dict[str, Any]:
    return {"version": w.version(target), "reason": "Started for the wrong youth."}


def _referral(w: MatrixWorld, target: str, user: User | None, *, form: bool = False) -> dict[str, Any]:
    """A referral of A's youth to C, under A's release to C (result summary, care coordination)."""
    fields = {"to_agency_id": w.agencies["C"].id, "purpose": "care_coordination", "reason": "Needs a safe bed tonight."}
    fields |= {"preparer_contact": "555-0100", "categories": ["result_summary"]}
    if form:
        return fields | {"screening_ids": w.ids["done"]}
    return fields | {"screening_ids": [w.ids["done"]], "youth_id": target}


def _move(w: MatrixWorld, user: User | None) -> dict[str, Any]:
    """The sender cancels (with a reason); the partner marks it received."""
    if user is not None and user.agency_id == w.agencies["A"].id:
        return {"status": "cancelled", "reason": "Sent by mistake."}
    return {"status": "received"}


def _unmoved(w: MatrixWorld) -> None:
    """Put the world's referral back to 'requested' before each call."""
    referral = w.session.get(Referral, w.ids.get("referral", ""))
    if referral is not None:
        w.session.refresh(referral)
        referral.status, referral.version = "requested", 1
        w.session.add(referral)
        w.session.commit()


def _task(w: MatrixWorld, target: str, user: User | None) -> dict[str, Any]:
    """A partner's system sends the referral's Task back cancelled (the sender's one move for a partner inside
    TellOnce), naming the referral in the path."""
    fields = {"resourceType": "Task", "status": "cancelled", "intent": "order", "statusReason": {"text": WHY}}
    return fields | {"identifier": [{"system": REFERRAL_SYSTEM, "value": target}]}


def _body(**fields: Any) -> Any:
    return lambda w, target, user: dict(fields)


MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/openapi.json"): Entry(PUBLIC),
    ("GET", "/docs"): Entry(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Entry(PUBLIC),
    ("MOUNT", "/static"): Entry(PUBLIC),
    ("GET", "/login"): Entry(PUBLIC),
    ("POST", "/login"): Entry(PUBLIC, body=_body(email=NOBODY, password=WRONG), ok=frozenset({401})),
    ("POST", "/api/v1/auth/token"): Entry(PUBLIC, body=_body(username=NOBODY, password=WRONG), ok=frozenset({401})),
    ("GET", "/go"): Entry(PUBLIC),
    ("GET", "/go/{link_token}"): Entry(PUBLIC),
    ("POST", "/go"): Entry(PUBLIC, body=_body(code="ABCD-2345"), ok=frozenset({400, 401, 404})),
    ("GET", "/exit"): Entry(PUBLIC, ok=frozenset({303})),
    ("POST", "/exit"): Entry(PUBLIC, ok=frozenset({303})),
    ("GET", "/s/done"): Entry(PUBLIC),
    ("GET", "/s/handback"): Entry(PUBLIC),  # "please give the device back": shows nothing of the youth's
    ("GET", "/unlock"): Entry(PUBLIC),
    ("GET", "/s/0"): Entry(YOUTH),
    ("POST", "/s/language"): Entry(YOUTH, body=_body(lang="es")),
    ("GET", "/s/told"): Entry(YOUTH),
    ("POST", "/s/told"): Entry(YOUTH, body=_body(action="next")),
    ("GET", "/s/{number}"): Entry(YOUTH),
    ("POST", "/s/{number}"): Entry(YOUTH, body=_body(action="next")),
    ("GET", "/"): Entry(STAFF),
    ("GET", "/youth"): Entry(STAFF),
    ("POST", "/youth/find"): Entry(STAFF, body=_body(q="Avery")),  # the own agency's youth only (search keys)
    ("GET", "/youth/new"): Entry(STAFF),
    ("POST", "/youth"): Entry(STAFF, body=_body(given_name="")),
    ("POST", "/unlock"): Entry(STAFF, body=_body(password=PASSWORD), ok=frozenset({303})),
    ("POST", "/logout"): Entry(STAFF, ok=frozenset({303})),
    ("POST", "/api/v1/auth/logout"): Entry(STAFF, ok=frozenset({204})),
    ("GET", "/api/v1/me"): Entry(STAFF),
    ("PATCH", "/api/v1/me"): Entry(STAFF, body=_body(language="en")),  # one's own preferences, nobody else's
    ("POST", "/account/language"): Entry(STAFF, body=_body(language="en", next="/"), ok=frozenset({303})),
    ("GET", "/api/v1/agencies"): Entry(STAFF),
    ("GET", "/api/v1/instruments"): Entry(STAFF),
    ("GET", "/api/v1/instruments/{instrument_id}/{version}"): Entry(STAFF),
    ("POST", "/api/v1/youth"): Entry(STAFF, body=_body(**NEW_YOUTH)),
    ("GET", "/reports"): Entry(STAFF, roles=REPORTS),
    ("GET", "/reports.csv"): Entry(STAFF, roles=REPORTS),
    ("GET", "/reports.json"): Entry(STAFF, roles=REPORTS),
    ("GET", "/api/v1/reports/aggregate"): Entry(STAFF, roles=REPORTS),
    ("GET", "/reports/performance"): Entry(STAFF, roles=REPORTS),
    ("GET", "/reports/performance.csv"): Entry(STAFF, roles=REPORTS),
    ("GET", "/reports/performance.json"): Entry(STAFF, roles=REPORTS),
    ("GET", "/api/v1/reports/performance"): Entry(STAFF, roles=REPORTS),
    ("GET", "/exports"): Entry(STAFF, roles=EXPORTERS),
    ("POST", "/exports"): Entry(STAFF, body=_export, roles=EXPORTERS),
    ("POST", "/exports/codebook"): Entry(STAFF, body=_export, roles=EXPORTERS),
    ("GET", "/api/v1/exports"): Entry(STAFF, body=_export, roles=EXPORTERS),
    ("GET", "/api/v1/exports/codebook"): Entry(STAFF, body=_export, roles=EXPORTERS),
    ("GET", "/api/v1/instruments/{instrument_id}/{version}/fhir"): Entry(STAFF),
    ("GET", "/fhir/Questionnaire/{questionnaire_id}"): Entry(STAFF),  # the canonical URL of a Questionnaire
    ("GET", "/fhir/Questionnaire"): Entry(STAFF),  # FHIR's search by canonical URL
    ("GET", "/youth/{youth_id}"): Entry(OWN, ("youth",)),
    ("POST", "/youth/{youth_id}/screenings"): Entry(
        OWN, ("youth",), _body(instrument=f"{PRACTITIONER}|1.0.0|practitioner", language="en")
    ),
    ("GET", "/screenings/{screening_id}"): Entry(OWN, SCREENINGS),
    ("POST", "/screenings/{screening_id}"): Entry(
        OWN,
        SCREENINGS,
        lambda w, t, u: _version(w, t, u) | {"action": "stay", "answer.rate_housing_unstable": "no_concern"},
    ),
    ("GET", "/screenings/{screening_id}/review"): Entry(OWN, SCREENINGS),
    ("POST", "/screenings/{screening_id}/complete"): Entry(OWN, SCREENINGS, _version),
    ("GET", "/screenings/{screening_id}/self"): Entry(OWN, SCREENINGS),
    ("POST", "/screenings/{screening_id}/self/link"): Entry(OWN, SCREENINGS),
    # The slip needs a link and code that still work, which no fixed body can carry: every caller here gets 404
    # (nothing is shown), and tests/app/test_invitation.py covers the slip with a real link and code.
    ("POST", "/screenings/{screening_id}/self/slip"): Entry(OWN, SCREENINGS, ok=frozenset({404})),
    ("POST", "/screenings/{screening_id}/self/handoff"): Entry(OWN, ("done", "open")),  # not "self": it locks
    ("POST", "/self-access/{access_id}/revoke"): Entry(OWN, ("self_access",)),
    ("GET", "/api/v1/youth/{youth_id}"): Entry(OWN, ("youth",)),
    # Outcomes: recorded on the agency's own record; another agency sees them on its own record of the person
    # under a notes consent (the record page in the consent states below; tests/app/test_evaluation_outcomes.py).
    ("GET", "/api/v1/youth/{youth_id}/outcomes"): Entry(OWN, ("youth",)),
    ("POST", "/api/v1/youth/{youth_id}/outcomes"): Entry(OWN, ("youth",), _body(**OUTCOME), roles=RECORDERS),
    ("POST", "/youth/{youth_id}/outcomes"): Entry(
        OWN, ("youth",), _body(**OUTCOME), roles=RECORDERS, ok=frozenset({303})
    ),
    ("POST", "/api/v1/outcomes/{outcome_id}/withdraw"): Entry(OWN, ("outcome",), _body(reason=WHY), roles=RECORDERS),
    ("POST", "/outcomes/{outcome_id}/withdraw"): Entry(
        OWN, ("outcome",), _body(reason=WHY), roles=RECORDERS, ok=frozenset({303})
    ),
    ("POST", "/api/v1/youth/search"): Entry(OWN, ("case_number",), lambda w, t, u: {"case_number": t}),
    ("POST", "/api/v1/youth/find"): Entry(STAFF, body=_body(q="Avery")),
    ("POST", "/api/v1/screenings"): Entry(
        OWN, ("youth",), lambda w, t, u: {"youth_id": t, "instrument_id": PRACTITIONER, "mode": "practitioner"}
    ),
    ("GET", "/api/v1/screenings/{screening_id}"): Entry(OWN, SCREENINGS),  # the working copy: answers and notes
    ("PUT", "/api/v1/screenings/{screening_id}/answers"): Entry(
        OWN, SCREENINGS, lambda w, t, u: _version(w, t, u) | {"answers": {"rate_housing_unstable": "no_concern"}}
    ),
    ("POST", "/api/v1/screenings/{screening_id}/complete"): Entry(OWN, SCREENINGS, _version),
    # Corrections: amending a completed screening and discarding a draft are the owning agency's alone.
    ("GET", "/screenings/{screening_id}/amend"): Entry(OWN, SCREENINGS),
    ("POST", "/screenings/{screening_id}/amend"): Entry(
        OWN, SCREENINGS, lambda w, t, u: _amendment(w, t, u, form=True)
    ),
    ("GET", "/screenings/{screening_id}/discard"): Entry(OWN, SCREENINGS),
    ("POST", "/screenings/{screening_id}/discard"): Entry(OWN, ("open",), _discarding, reset=_undiscard),
    ("POST", "/api/v1/screenings/{screening_id}/revisions"): Entry(OWN, SCREENINGS, _amendment),
    ("GET", "/api/v1/screenings/{screening_id}/revisions"): Entry(OWN, ("done",)),  # with who amended it and why
    ("POST", "/api/v1/screenings/{screening_id}/discard"): Entry(OWN, ("open",), _discarding, reset=_undiscard),
    # Sharing: consents, links and break-glass are the disclosing (or linking) agency's own business.
    ("POST", "/youth/{youth_id}/consents"): Entry(OWN, ("youth",), lambda w, t, u: _terms(w, t, u, form=True)),
    ("GET", "/youth/{youth_id}/consents/{consent_id}/change"): Entry(OWN, ("consent",)),
    ("POST", "/youth/{youth_id}/consents/{consent_id}/supersede"): Entry(
        OWN, ("consent",), lambda w, t, u: _terms(w, t, u, form=True)
    ),
    ("GET", "/youth/{youth_id}/consents/{consent_id}/revoke"): Entry(OWN, ("consent",)),
    ("POST", "/youth/{youth_id}/consents/{consent_id}/revoke"): Entry(OWN, ("consent",), _body(reason=WHY)),
    ("GET", "/youth/{youth_id}/consent-form"): Entry(OWN, ("youth",)),
    ("GET", "/youth/{youth_id}/disclosures"): Entry(OWN, ("youth",)),
    ("POST", "/youth/{youth_id}/links"): Entry(OWN, ("youth",), _candidate),
    ("POST", "/links/{link_id}/undo"): Entry(OWN, ("link",), reset=_relink),
    ("POST", "/youth/{youth_id}/break-glass"): Entry(OWN, ("youth",), _body(reason=REASON, hours="2"), roles=GLASS),
    ("GET", "/api/v1/youth/{youth_id}/consents"): Entry(OWN, ("youth",)),
    ("POST", "/api/v1/youth/{youth_id}/consents"): Entry(OWN, ("youth",), _terms),
    ("POST", "/api/v1/consents/{consent_id}/revoke"): Entry(OWN, ("consent",), _body(reason=WHY)),
    ("POST", "/api/v1/consents/{consent_id}/supersede"): Entry(
        OWN, ("consent",), lambda w, t, u: _terms(w, t, u) | {"youth_id": w.ids["youth"]}
    ),
    ("GET", "/api/v1/youth/{youth_id}/candidates"): Entry(OWN, ("youth",)),
    ("POST", "/api/v1/youth/{youth_id}/links"): Entry(OWN, ("youth",), _candidate),
    ("POST", "/api/v1/links/{link_id}/undo"): Entry(OWN, ("link",), reset=_relink),
    ("GET", "/api/v1/youth/{youth_id}/disclosures"): Entry(OWN, ("youth",)),
    ("POST", "/api/v1/youth/{youth_id}/fhir-import"): Entry(OWN, ("youth",), _body(**BUNDLE)),
    ("POST", "/api/v1/fhir-import"): Entry(STAFF, body=_body(**BUNDLE)),  # onto the own agency's youth only
    ("GET", "/api/v1/youth/{youth_id}/identifiers"): Entry(OWN, ("youth",)),
    ("POST", "/api/v1/youth/{youth_id}/identifiers"): Entry(
        OWN, ("youth",), _body(system=PARTNER_SYSTEM, value="A-78")
    ),
    ("DELETE", "/api/v1/youth/{youth_id}/identifiers/{identifier_id}"): Entry(OWN, ("identifier",), reset=_reidentify),
    ("GET", "/imports/fhir-import"): Entry(STAFF),  # the page of POST /api/v1/fhir-import: the same users
    ("POST", "/imports/fhir-import"): Entry(STAFF, body=_body(action="preview"), ok=frozenset({400})),  # no file
    ("POST", "/youth/{youth_id}/identifiers"): Entry(
        OWN, ("youth",), _body(system=PARTNER_SYSTEM, value="A-79"), ok=frozenset({303})
    ),
    ("POST", "/youth/{youth_id}/identifiers/{identifier_id}/remove"): Entry(
        OWN, ("identifier",), reset=_reidentify, ok=frozenset({303})
    ),
    ("POST", "/api/v1/youth/{youth_id}/break-glass"): Entry(
        OWN, ("youth",), _body(reason=REASON, hours=2), roles=GLASS
    ),
    ("GET", "/admin/users"): Entry(ADMIN),
    ("POST", "/admin/users"): Entry(ADMIN, body=_body(email="")),
    ("POST", "/admin/users/{user_id}"): Entry(ADMIN, ("user",), _body(version="999")),
    ("GET", "/admin/break-glass"): Entry(ADMIN),
    ("GET", "/admin/denials"): Entry(ADMIN),
    ("GET", "/api/v1/users"): Entry(ADMIN),
    ("POST", "/api/v1/users"): Entry(ADMIN, ("agency",), lambda w, t, u: NEW_USER | {"agency_id": t}),
    ("PATCH", "/api/v1/users/{user_id}"): Entry(ADMIN, ("user",), _body(version=999)),
    ("GET", "/admin/agencies"): Entry(SYSTEM_ADMIN),
    ("POST", "/admin/agencies"): Entry(SYSTEM_ADMIN, body=_body(name="")),
    ("POST", "/api/v1/agencies"): Entry(SYSTEM_ADMIN, body=_body(name="Westside Health", kind="health")),
    # A questionnaire without items would not load: the allowed caller gets 422 with the problems.
    ("POST", "/api/v1/instruments/fhir-import"): Entry(SYSTEM_ADMIN, body=_body(**QUESTIONNAIRE), ok=frozenset({422})),
    ("GET", "/admin/instruments/fhir-import"): Entry(SYSTEM_ADMIN),
    ("POST", "/admin/instruments/fhir-import"): Entry(SYSTEM_ADMIN, body=_body(instrument_id="x"), ok=frozenset({422})),
    ("GET", "/screenings/{screening_id}/result"): Entry(SHARED, ("done",), ok=frozenset({200})),
    ("GET", "/api/v1/screenings/{screening_id}/result"): Entry(SHARED, ("done",), ok=frozenset({200})),
    ("GET", "/screenings/{screening_id}/revisions/{number}"): Entry(SHARED, ("done",), ok=frozenset({200})),
    ("GET", "/api/v1/screenings/{screening_id}/revisions/{number}"): Entry(SHARED, ("done",), ok=frozenset({200})),
    ("GET", "/api/v1/youth/{youth_id}/timeline"): Entry(
        SHARED, ("own_youth",), ok=frozenset({200})
    ),  # filtered by consent
    ("GET", "/screenings/{screening_id}/summary"): Entry(SHARED, ("done",), ok=frozenset({200})),
    ("GET", "/screenings/{screening_id}/summary.pdf"): Entry(SHARED, ("done",), ok=frozenset({200}), few=True),
    ("GET", "/api/v1/screenings/{screening_id}/fhir"): Entry(  # the answers themselves, and an export: no break-glass
        SHARED, ("done",), ok=frozenset({200}), category=Category.item_answers, glass=False
    ),
    # Referrals: only the sending agency sends; the sender and the partner it sent to read and move a referral.
    ("GET", "/youth/{youth_id}/referrals/new"): Entry(OWN, ("youth",)),
    ("POST", "/youth/{youth_id}/referrals"): Entry(OWN, ("youth",), lambda w, t, u: _referral(w, t, u, form=True)),
    ("POST", "/api/v1/referrals"): Entry(OWN, ("youth",), _referral),
    ("GET", "/referrals"): Entry(STAFF),
    ("GET", "/api/v1/referrals"): Entry(STAFF),
    ("GET", "/api/v1/referrals/partners"): Entry(STAFF),  # agencies, never youth data
    ("GET", "/referrals/{referral_id}"): Entry(PARTIES, ("referral",)),
    ("GET", "/api/v1/referrals/{referral_id}"): Entry(PARTIES, ("referral",)),
    ("POST", "/referrals/{referral_id}/status"): Entry(
        PARTIES, ("referral",), lambda w, t, u: _move(w, u), ok=frozenset({303}), reset=_unmoved
    ),
    ("POST", "/api/v1/referrals/{referral_id}/status"): Entry(
        PARTIES, ("referral",), lambda w, t, u: _move(w, u), reset=_unmoved
    ),
    ("GET", "/referrals/{referral_id}/screenings/{screening_id}/summary"): Entry(PARTIES, ("referral_screening",)),
    ("GET", "/referrals/{referral_id}/screenings/{screening_id}/summary.pdf"): Entry(
        PARTIES, ("referral_screening",), few=True
    ),
    # A referral as FHIR goes out from its sender (an export to the partner); the partner's Task comes back to it.
    ("GET", "/referrals/{referral_id}/fhir"): Entry(SENDER, ("referral",), reset=_unmoved),
    ("GET", "/api/v1/referrals/{referral_id}/fhir"): Entry(SENDER, ("referral",), reset=_unmoved),
    ("POST", "/api/v1/referrals/{referral_id}/fhir/task"): Entry(SENDER, ("referral",), _task, reset=_unmoved),
}
SHARED_LISTS = {("GET", "/youth/{youth_id}"): Entry(SHARED, ("own_youth",), ok=frozenset({200}), few=True)}
PENDING: set[tuple[str, str]] = set()  # entries written for routes another change is still adding


def _told_it_ended(key: tuple[str, str], state: str, letter: str) -> bool:
    """B received A's consent, which was revoked or expired: A's screening's pages (not the API) tell B so."""
    return letter == "B" and state in ("expired", "revoked") and not key[1].startswith("/api/")


def _of(*kinds: str) -> list[tuple[str, str]]:
    return [key for key, entry in MATRIX.items() if entry.kind in kinds]


def test_every_route_has_an_entry(client: TestClient) -> None:
    served = served_routes(client.app)  # type: ignore[arg-type]
    missing = sorted(served - MATRIX.keys())
    assert not missing, "\n".join(f"route {m} {p} has no entry in the authorization matrix" for m, p in missing)
    stale = sorted(MATRIX.keys() - served - PENDING)
    assert not stale, f"matrix entries for routes the app does not serve: {stale}"


def test_the_route_walk_finds_every_api_operation(client: TestClient) -> None:
    served = served_routes(client.app)  # type: ignore[arg-type]
    assert openapi_operations(client.app) <= served and ("MOUNT", "/static") in served  # type: ignore[arg-type]


@pytest.fixture
def w(world: World) -> MatrixWorld:
    return build_world(world)


def test_signed_out(client: TestClient, w: MatrixWorld) -> None:
    """Pages send a signed-out visitor to sign in, the API answers 401, the youth's pages go to the code page."""
    served = served_routes(client.app)  # type: ignore[arg-type]
    for key, entry in MATRIX.items():
        if key not in served:
            continue
        response = call(client, w, key, entry, None, entry.targets[0] if entry.targets else None)
        status, where = response.status_code, response.headers.get("location", "")
        if entry.kind == PUBLIC:
            assert (allowed(entry, response) if entry.ok else status < 400) and not where.startswith("/login"), key
        elif entry.kind == YOUTH:
            assert (status, where) == (303, "/go?ended=1"), key
        elif key[1].startswith(API):
            assert status == 401 and response.headers["www-authenticate"] == "Bearer", (key, status)
        else:
            assert status == 303 and where.startswith("/login"), (key, status, where)


def test_youth_pages_open_only_with_the_youth_session(client: TestClient, w: MatrixWorld) -> None:
    for key in _of(YOUTH):
        assert allowed(MATRIX[key], call(client, w, key, MATRIX[key], None, youth=True)), key
        refused = call(client, w, key, MATRIX[key], w.user("A", Role.screener))  # a staff sign-in is not enough
        assert (refused.status_code, refused.headers.get("location")) == (303, "/go?ended=1"), key


def test_staff_routes_show_only_the_own_agency(client: TestClient, w: MatrixWorld) -> None:
    """With everything shared and break-glass open, another agency's lists still hold none of A's records."""
    apply_state(w, "everything")
    hidden = [w.ids[k] for k in ("done", "open", "youth", "youth_a2")] + [NOTES_CANARY]
    for key in sorted(_of(STAFF), key=lambda k: "logout" in k[1]):  # signing out last
        entry = MATRIX[key]
        viewers = w.viewers() if key != ("POST", "/unlock") else w.viewers()[::4]  # a password check takes 0.3 s
        for letter, user in viewers:
            response = call(client, w, key, entry, user)
            where = (key, user.role, letter, response.status_code, response.text[:200])
            if entry.refuses(user):
                assert response.status_code == 403, where
                continue
            assert allowed(entry, response), where
            if letter != "A":
                assert not [h for h in hidden if h in response.text], where


def test_admin_routes(client: TestClient, w: MatrixWorld) -> None:
    """Admins only (403 for the others); an agency admin gets 404 for another agency's user or agency."""
    for key in _of(ADMIN, SYSTEM_ADMIN):
        entry = MATRIX[key]
        admins = {Role.system_admin} if entry.kind == SYSTEM_ADMIN else {Role.system_admin, Role.agency_admin}
        target = entry.targets[0] if entry.targets else None
        for letter, user in w.viewers():
            response = call(client, w, key, entry, user, target)
            where = (key, user.role, letter, response.status_code, response.text[:200])
            if user.role not in admins:
                assert response.status_code == 403, where
            elif target and letter != "A" and user.role != Role.system_admin:
                assert response.status_code == 404, where
            else:
                assert allowed(entry, response), where


def test_own_agency_routes_refuse_every_other_agency(client: TestClient, w: MatrixWorld, subtests: Any) -> None:
    """Every consent for every purpose and B's break-glass in force, and still 404 for B and C: sharing never writes."""
    apply_state(w, "everything")
    others = [(a, u) for a, u in w.viewers() if a != "A"]
    owners = [("A", w.user("A", Role.screener)), ("A", w.user("A", Role.supervisor))]
    for key in _of(OWN):
        entry = MATRIX[key]
        with subtests.test(route=" ".join(key)):
            missing = {u.id: call(client, w, key, entry, u, entry.targets[0], missing=True) for _a, u in others}
            for target, (letter, user) in product(entry.targets, others + owners):  # owners last: they may write
                response = call(client, w, key, entry, user, target)
                where = (key, target, letter, user.role, response.status_code, response.text[:200])
                if entry.refuses(user):
                    assert response.status_code == 403, where
                elif letter == "A":
                    assert allowed(entry, response), where
                else:
                    assert same_as_missing(response, missing[user.id], target_ids(w, target, user)), where


def _said(response: Any) -> str:
    """What a response says: its text, or a PDF's text as its fonts decode it (its bytes are compressed)."""
    if response.headers.get("content-type", "").startswith("application/pdf"):
        return " ".join(pdf_texts(response.content))
    return str(response.text)


def test_shared_reads_follow_consent(client: TestClient, w: MatrixWorld, subtests: Any) -> None:
    """Every role at A, B and C × every consent state: allowed exactly as DESIGN §7 says, in the ledger, else 404."""
    shared = {k: e for k, e in MATRIX.items() if e.kind == SHARED} | SHARED_LISTS
    missing = {
        (k, u.id): call(client, w, k, e, u, e.targets[0], missing=True)
        for k, e in shared.items()
        for _, u in w.viewers(e.few)
        if e.targets != ("own_youth",)  # a list of the caller's own record is compared with itself instead
    }
    unshared: dict[tuple[tuple[str, str], str], Any] = {}
    for state in SHARED_STATES:
        apply_state(w, state)
        for key, entry in shared.items():
            if entry.few and state not in FEW_STATES:
                continue
            with subtests.test(route=" ".join(key), state=state):
                for letter, user in w.viewers(entry.few):
                    expected = may_read(letter, Role(user.role), state, entry.category, entry.glass)
                    before = disclosures(w, user)
                    response = call(client, w, key, entry, user, entry.targets[0])
                    where = (key, state, letter, user.role, response.status_code, response.text[:200])
                    own_list = entry.targets[0] == "own_youth"
                    if own_list:  # the caller's own record lists A's screening if shared
                        assert response.status_code == 200 and (w.ids["done"] in response.text) == expected, where
                        if key[1].startswith("/api/") and not expected:  # no count, no trace: as if none existed
                            assert response.json() == unshared.setdefault((key, user.id), response.json()), where
                    elif expected:
                        assert allowed(entry, response), where
                    elif _told_it_ended(key, state, letter):
                        assert response.status_code == 403 and "stopped sharing on" in response.text, where
                    else:
                        ids = target_ids(w, entry.targets[0], user)
                        assert same_as_missing(response, missing[(key, user.id)], ids), where
                    notes = may_read(letter, Role(user.role), state, Category.notes, entry.glass)
                    said = _said(response)
                    assert notes or NOTES_CANARY not in said, ("notes need a notes consent", *where)
                    if response.headers.get("content-type", "").startswith("application/pdf"):  # a summary
                        assert (NOTES_CANARY in said) == notes, ("a PDF has notes just under a notes consent", *where)
                    # A's outcome (its note is the canary) shows on B's own record under a notes consent, never a
                    # break-glass: outcomes are never needed for care.
                    record_page = key == ("GET", "/youth/{youth_id}")
                    consented = letter == "B" and may_read(letter, Role(user.role), state, Category.notes, False)
                    outcome = record_page and (letter == "A" or consented)
                    if record_page:
                        assert (NOTES_CANARY in response.text) == outcome, ("A's outcome", *where)
                    seen = disclosures(w, user) - before
                    shown = expected or (record_page and consented)
                    assert seen > 0 if shown and letter != "A" else seen == 0, ("the ledger", seen, *where)


def test_referrals_open_to_their_two_agencies_only(client: TestClient, w: MatrixWorld, subtests: Any) -> None:
    """A refers its youth to C. A and C read and move the referral; B, which holds a linked record of the same
    person and every consent from A, gets the answer about a referral that does not exist. Only A exports it as
    FHIR and imports its partner's Task: C, like B, gets that same answer. When A's release to C is revoked,
    the referral is cancelled, A exports it no more, and C keeps only its status: no name, no reason, no
    screening."""
    apply_state(w, "everything")
    sender = w.user("A", Role.screener)
    data = ReferralCreate.model_validate(_referral(w, w.ids["youth"], sender))
    w.ids["referral"] = referral_service.send(w.session, crypto.get_key_ring(), sender, data).id
    w.session.commit()
    for key in _of(PARTIES, SENDER):
        entry = MATRIX[key]
        with subtests.test(route=" ".join(key)):
            viewers = w.viewers(entry.few)
            missing = {u.id: call(client, w, key, entry, u, entry.targets[0], missing=True) for _a, u in viewers}
            for letter, user in viewers:
                response = call(client, w, key, entry, user, entry.targets[0])
                where = (key, letter, user.role, response.status_code, response.text[:200])
                if letter in (("A", "C") if entry.kind == PARTIES else ("A",)):
                    assert allowed(entry, response), where
                else:
                    ids = target_ids(w, entry.targets[0], user)
                    assert same_as_missing(response, missing[user.id], ids), where
    _unmoved(w)
    consent.revoke(w.session, crypto.get_key_ring(), w.user("A", Role.agency_admin), w.ids["consent"], WHY)
    w.session.commit()
    partner = w.user("C", Role.screener)
    page = call(
        client, w, ("GET", "/referrals/{referral_id}"), MATRIX[("GET", "/referrals/{referral_id}")], partner, "referral"
    )
    assert page.status_code == 200 and "Cancelled" in page.text and "Needs a safe bed" not in page.text
    key = ("GET", "/api/v1/referrals/{referral_id}/fhir")
    assert call(client, w, key, Entry(SENDER, ("referral",)), w.user("A", Role.screener), "referral").status_code == 410
    key = ("GET", "/referrals/{referral_id}/screenings/{screening_id}/summary")
    assert call(client, w, key, MATRIX[key], partner, "referral_screening").status_code == 404
