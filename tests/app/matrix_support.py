"""The authorization matrix's helpers: every route the app serves, a world of three agencies, consent states,
and one way to call a route as anybody. The matrix itself is in `test_authorization_matrix.py`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx2 as httpx  # the test client's HTTP library (starlette now uses httpx2)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, func, select

from app import crypto
from app.accounts import sessions
from app.deps import cookie_name
from app.evaluation import outcomes
from app.evaluation.schemas import OutcomeCreate
from app.main import loaded_instruments
from app.models import Agency, AuthSession, Role, Screening, User, Youth, utcnow
from app.models_sharing import BreakGlass, Category, Consent, ConsentMethod, Disclosure, Grantor, Purpose, RecordLink
from app.portal import service as portal
from app.portal.pages import COOKIE as YOUTH_COOKIE
from app.records import identifiers
from app.records import service as records
from app.records.identifiers import IdentifierCreate
from app.records.schemas import YouthCreate
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from app.settings import get_settings
from app.sharing import breakglass, consent
from app.sharing.schemas import BreakGlassCreate, ConsentCreate
from tests.app.conftest import World

ROLES = (Role.system_admin, Role.agency_admin, Role.supervisor, Role.evaluator, Role.screener)
PRACTITIONER = "tellonce-practitioner-indicators"
NOTES_CANARY = "Canary note 5c1f: met at the bus station"  # never shown to another agency without a notes consent
MISSING_ID = "0" * 32
DENIED = {401, 403, 404}


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, included routers expanded; a mount is ("MOUNT", path).

    FastAPI may keep included routers lazily (`app.router.routes` then holds wrappers, not routes), so
    this asks FastAPI's own iterator where there is one; older versions flatten routes at include time.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover
        contexts: Iterator[Any] = iter(app.router.routes)
    else:
        contexts = iter_route_contexts(app.router.routes)
    found: set[tuple[str, str]] = set()
    for route in contexts:
        methods = getattr(route, "methods", None)
        if methods is None:  # a mount: static files or a sub-application
            found.add(("MOUNT", route.path))
        else:
            found.update((m, route.path) for m in methods if m != "HEAD" or "GET" not in methods)
    return found


def openapi_operations(app: FastAPI) -> set[tuple[str, str]]:
    """The (method, path) of every operation in the app's OpenAPI document."""
    verbs = {"get", "post", "put", "patch", "delete"}
    return {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops if m in verbs}


@dataclass
class MatrixWorld:
    """Agency A holds a person's records; B holds its own record of the same person; C is not linked."""

    session: Session
    agencies: dict[str, Agency] = field(default_factory=dict)
    users: dict[tuple[str, Role], User] = field(default_factory=dict)
    web: dict[str, tuple[str, str]] = field(default_factory=dict)  # user id -> (cookie token, CSRF token)
    api: dict[str, str] = field(default_factory=dict)  # user id -> bearer token
    ids: dict[str, str] = field(default_factory=dict)
    youth_cookie: tuple[str, str] = ("", "")  # a youth's session on A's self-administered screening

    def user(self, agency: str, role: Role) -> User:
        return self.users[(agency, role)]

    def viewers(self, few: bool = False) -> list[tuple[str, User]]:
        """(agency letter, user): every role at A and B, and C's screener; `few` (for slow routes): the screeners
        and B's supervisor, who may break the glass."""
        everyone = [(letter, user) for (letter, _role), user in self.users.items()]
        return [(a, u) for a, u in everyone if not few or u.role == Role.screener or (a, u.role) == ("B", "supervisor")]

    def own_youth(self, user: User) -> str:
        """The viewer's own agency's record of the person (C's is not linked to it)."""
        letter = next(a for a, u in self.viewers() if u.id == user.id)
        return self.ids[{"A": "youth", "B": "youth_b", "C": "youth_c"}[letter]]

    def version(self, screening_id: str) -> int:
        """The screening's version now (the session's read ends, so the next one sees later commits)."""
        version = self.session.exec(select(Screening.version).where(Screening.id == screening_id)).first()
        self.session.commit()
        return version or 1


PARTNER_SYSTEM = "https://partner.example.org/client-number"  # a partner's identifier system (A maps one)


def _youth(w: MatrixWorld, user: User, case_number: str) -> Youth:
    data = YouthCreate(given_name="Avery", family_name="Testcase", birth_date=date(2010, 4, 2), case_number=case_number)
    return records.create(w.session, crypto.get_key_ring(), user, data)


def build_world(world: World) -> MatrixWorld:
    """Agencies, a user of each role with a session and a token, youth records, A's screenings, a consent, a link."""
    w = MatrixWorld(world.session)
    db, keys, registry, settings = w.session, crypto.get_key_ring(), loaded_instruments(), get_settings()
    agencies = {"A": ("Northside Youth Services", "youth_program"), "B": ("Eastside Child Welfare", "child_welfare")}
    agencies["C"] = ("Harbor Safe Shelter", "victim_service")
    for letter, (name, kind) in agencies.items():
        w.agencies[letter] = world.agency(name, kind)
        for role in ROLES if letter != "C" else (Role.screener,):
            user = w.users[(letter, role)] = world.user(w.agencies[letter], role)
            token = sessions.start(db, user, "web", settings)
            record = db.get(AuthSession, hashlib.sha256(token.encode()).hexdigest())
            w.web[user.id] = (token, sessions.csrf_token(record))  # type: ignore[arg-type]
            w.api[user.id] = sessions.start(db, user, "api", settings)
    screener = w.user("A", Role.screener)
    youth = _youth(w, screener, "A-0001")
    other_record = _youth(w, screener, "A-0002")  # a possible match of A's record, so A's linking routes have one
    youth_b = _youth(w, w.user("B", Role.screener), "B-0001")
    youth_b.person_id = youth.person_id  # B's record is linked to the same person (as a consented link does)
    db.add(youth_b)
    youth_c = _youth(w, w.user("C", Role.screener), "C-0001")

    def start(mode: str, instrument: str = PRACTITIONER) -> str:
        data = ScreeningCreate(youth_id=youth.id, instrument_id=instrument, mode=mode)  # type: ignore[arg-type]
        return screenings.start(db, keys, registry, screener, data).id

    done, open_, own_self = start("practitioner"), start("practitioner"), start("self", "tellonce-youth-self-report")
    answers = {"rate_coercion_debt": "clear_concern", "rate_housing_unstable": "possible_concern"}
    screenings.save_answers(db, keys, registry, screener, done, AnswersSave(version=1, answers=answers))
    screenings.save_answers(db, keys, registry, screener, done, AnswersSave(version=2, notes=NOTES_CANARY))
    screenings.complete(db, keys, registry, screener, done, 3)
    issued = portal.issue(db, keys, registry, screener, own_self, "link", settings)
    youth_session, youth_token = portal.start_session(db, issued.access, db.get(Screening, own_self))  # type: ignore[arg-type]
    w.youth_cookie = (youth_token, portal.csrf_token(youth_session))
    link = RecordLink(
        youth_id=youth.id, previous_person_id=youth.person_id, person_id=youth.person_id, linked_by=screener.id
    )
    db.add(link)
    w.ids.update(youth=youth.id, youth_a2=other_record.id, youth_b=youth_b.id, youth_c=youth_c.id, done=done)
    w.ids.update(open=open_, self=own_self, self_access=issued.access.id, user=screener.id, link=link.id)
    w.ids.update(agency=w.agencies["A"].id, case_number="A-0001")
    w.ids["consent"] = _consent(w, to="C").id  # A's release to C (C holds no record of the person: it grants nothing)
    learned = OutcomeCreate(kind="confirmed", source="later_assessment", learned_on=utcnow().date(), note=NOTES_CANARY)
    w.ids["outcome"] = outcomes.record(db, keys, w.user("A", Role.supervisor), youth.id, learned).id
    mapped = IdentifierCreate(system=PARTNER_SYSTEM, value="A-77")
    w.ids["identifier"] = identifiers.add(db, keys, screener, youth.id, mapped).id
    db.commit()
    return w


# Consent states: what exists between A and B when B's users try to read A's screening.
SHARED_STATES = (
    "none",
    "active",
    "expired",
    "not_started",
    "revoked",
    "superseded",
    "other_categories",
    "wrong_purpose",
    "wrong_recipient",
    "wrong_direction",
    "break_glass",
    "break_glass_expired",
    "break_glass_ended",
)
FEW_STATES = ("none", "active", "other_categories", "break_glass")  # for slow routes
GLASS_ROLES = (Role.supervisor, Role.agency_admin)  # break-glass is a supervisor's (or agency admin's), per user
# The categories an active consent from A to B covers for care coordination, in each state.
B_HOLDS = {
    "active": {Category.result_summary},
    "superseded": {Category.item_answers},
    "other_categories": {Category.item_answers, Category.notes},
}


def may_read(letter: str, role: Role, state: str, category: Category, glass: bool = True) -> bool:
    """DESIGN §7 here: A reads its own; B only under an active consent covering the category, or its own
    break-glass (where the route honours one); C holds no record of the person, whatever it was given."""
    if letter != "B":
        return letter == "A"
    return category in B_HOLDS.get(state, ()) or (glass and state == "break_glass" and role in GLASS_ROLES)


def _consent(w: MatrixWorld, source: str = "A", to: str = "B", old: Consent | None = None, **terms: Any) -> Consent:
    """A release (of result summaries, for care coordination, for 30 days, unless `terms` say otherwise)
    recorded, or changed from `old`, through the consent service by the disclosing agency's admin."""
    terms = {"categories": [Category.result_summary], "purpose": Purpose.care_coordination} | terms
    youth = w.ids["youth"] if source == "A" else w.ids["youth_b"]
    data = ConsentCreate(
        youth_id=youth,
        to_agency_id=w.agencies[to].id,
        grantor=Grantor.youth,
        authority="Signed release of information",
        ends_at=utcnow() + timedelta(days=30),
        method=ConsentMethod.written,
        **terms,
    )
    admin = w.user(source, Role.agency_admin)
    return consent.supersede(w.session, admin, old.id, data) if old else consent.record(w.session, admin, data)


def apply_state(w: MatrixWorld, state: str) -> None:
    """Remove every consent (but the world's own), break-glass and disclosure; then create one state's rows."""
    db = w.session
    db.exec(delete(Disclosure))  # type: ignore[call-overload]
    db.exec(delete(BreakGlass))  # type: ignore[call-overload]
    db.exec(delete(Consent).where(col(Consent.id) != w.ids["consent"]))  # type: ignore[call-overload]
    if state in ("active", "expired", "revoked", "superseded"):
        given = _consent(w)
        if state == "expired":
            given.starts_at, given.ends_at = utcnow() - timedelta(days=10), utcnow() - timedelta(minutes=1)
            db.add(given)
        elif state == "revoked":
            consent.revoke(db, crypto.get_key_ring(), w.user("A", Role.agency_admin), given.id, "Youth asked to stop.")
        elif state == "superseded":  # replaced by a release of item answers only
            _consent(w, old=given, categories=[Category.item_answers])
    elif state == "not_started":
        _consent(w, starts_at=utcnow() + timedelta(days=1))
    elif state == "other_categories":
        _consent(w, categories=[Category.item_answers, Category.notes])
    elif state == "wrong_purpose":
        _consent(w, purpose=Purpose.referral)
    elif state == "wrong_recipient":
        _consent(w, to="C")  # C may not read either: it holds no record of the person
    elif state == "wrong_direction":
        _consent(w, source="B", to="A", categories=list(Category))
    elif state == "everything":  # every category for every purpose, and B's break-glass: still never a write
        for purpose in Purpose:
            _consent(w, categories=list(Category), purpose=purpose)
    if state.startswith("break_glass") or state == "everything":
        reason = BreakGlassCreate(reason="Youth arrived in crisis overnight; prior screening needed now.", hours=4)
        for role in GLASS_ROLES:
            glass = breakglass.open_glass(db, crypto.get_key_ring(), w.user("B", role), w.ids["youth_b"], reason)
            if state == "break_glass_expired":
                glass.expires_at = utcnow() - timedelta(minutes=1)
                db.add(glass)
            elif state == "break_glass_ended":
                breakglass.close_glass(db, w.user("B", role), glass.id)
    db.commit()


_DISCLOSURES = select(func.count()).select_from(Disclosure).where(col(Disclosure.viewer_id) == bindparam("viewer"))


def disclosures(w: MatrixWorld, viewer: User) -> int:
    """How many ledger entries record this viewer seeing another agency's data (asked around every request: the
    statement is built once)."""
    with w.session.get_bind().connect() as fresh:  # a read of its own, seeing the app's latest commits
        return int(fresh.execute(_DISCLOSURES, {"viewer": viewer.id}).scalar_one())


Body = Callable[[MatrixWorld, str, "User | None"], dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    """Who may use one route; `targets` are the world's objects its id parameters (or body) name, each tried."""

    kind: str
    targets: tuple[str, ...] = ()
    body: Body | None = None  # form fields for pages (the CSRF token is added), JSON for the API
    ok: frozenset[int] | None = None  # statuses an allowed caller gets (default: none of DENIED, no 5xx)
    roles: frozenset[Role] | None = None  # only these roles; others 403, whichever agency
    reset: Callable[[MatrixWorld], None] | None = None  # undo what an allowed call changed, before each call
    category: Category = Category.result_summary  # what a shared read of another agency's data needs
    glass: bool = True  # whether a break-glass opens it too (an export never)
    few: bool = False  # a slow route (a PDF, a full page): fewer consent states and viewers

    def refuses(self, user: User) -> bool:
        return self.roles is not None and user.role not in self.roles


PARAMS = {
    "consent": ("youth", "consent"),
    "identifier": ("youth", "identifier"),
    "referral_screening": ("referral", "done"),
}  # several path parameters
CONSTANTS = {
    "number": "1",
    "link_token": "not-a-real-link",
    "instrument_id": PRACTITIONER,
    "version": "1.0.0",
    "questionnaire_id": PRACTITIONER,  # /fhir/Questionnaire/{questionnaire_id}: an instrument's canonical URL
}
API = ("/api/", "/fhir/")  # bearer-token routes (/fhir/: the canonical URLs of the Questionnaires)


def target_ids(w: MatrixWorld, target: str | None, user: User | None) -> dict[str, str]:
    """Path parameter -> id for a target ("own_youth" is the caller's own record of the person)."""
    if target is None:
        return {}
    if target == "own_youth":
        return {"youth_id": w.own_youth(user)} if user else {}
    names = PARAMS.get(target, (target,))
    key = {"done": "screening", "open": "screening", "self": "screening", "self_access": "access"}
    # An object some tests make themselves (a referral) is named by a missing id where it does not exist.
    return {f"{key.get(n, n)}_id": w.ids.get(n, MISSING_ID) for n in names}


def fill(path: str, ids: dict[str, str]) -> str:
    """The path with its id parameters set (MISSING_ID where not given), and the others set to constants."""
    return re.sub(r"\{(\w+)\}", lambda m: CONSTANTS.get(m.group(1)) or ids.get(m.group(1), MISSING_ID), path)


def call(
    client: TestClient,
    w: MatrixWorld,
    key: tuple[str, str],
    entry: Entry,
    user: User | None,
    target: str | None = None,
    *,
    youth: bool = False,
    missing: bool = False,
) -> httpx.Response:
    """One request to a route as `user` (or as the youth, or signed out), naming `target` (or ids that do not exist)."""
    method, route = key
    ids = target_ids(w, target, user)
    if missing:
        ids = dict.fromkeys(ids, MISSING_ID)
    object_id = MISSING_ID if missing else w.ids.get(target or "", "")
    path = "/static/app.css" if method == "MOUNT" else fill(route, ids)
    if entry.reset is not None:
        entry.reset(w)
    body = entry.body(w, object_id, user) if entry.body else {}
    headers: dict[str, str] = {}
    if youth:
        headers["Cookie"] = f"{YOUTH_COOKIE}={w.youth_cookie[0]}"
        body["csrf_token"] = w.youth_cookie[1]
    elif user is not None and path.startswith(API):
        headers["Authorization"] = f"Bearer {w.api[user.id]}"
    elif user is not None:
        headers["Cookie"] = f"{cookie_name(get_settings())}={w.web[user.id][0]}"
        body["csrf_token"] = w.web[user.id][1]
    client.cookies.clear()
    if method in ("GET", "MOUNT"):
        body.pop("csrf_token", None)
        return client.get(path, headers=headers, params=body, follow_redirects=False)
    if path.startswith("/api/") and path != "/api/v1/auth/token":
        return client.request(method, path, headers=headers, json=body, follow_redirects=False)
    return client.request(method, path, headers=headers, data=body, follow_redirects=False)


def allowed(entry: Entry, response: httpx.Response) -> bool:
    if entry.ok is not None:
        return response.status_code in entry.ok
    return response.status_code not in DENIED and response.status_code < 500


def same_as_missing(response: httpx.Response, missing: httpx.Response, ids: dict[str, str]) -> bool:
    """A denied answer is word for word the answer about ids that do not exist: a 404 with no count, no hint."""
    text = response.text
    for real in ids.values():
        text = text.replace(real, MISSING_ID)
    return response.status_code == 404 and text == missing.text
