"""The consent lifecycle as a state machine, checked against a plain restatement of DESIGN §7 after every step;
and revocation and expiry taking effect on the very next HTTP request. [SECURITY.md 1–2; DESIGN §7]

Three agencies, one person: A and B hold records of the person; C's record is linked to it and unlinked
again as the machine goes. Consents are recorded, superseded and revoked; break-glass is opened and closed;
time moves forward through an injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import BindParameter, delete
from sqlalchemy.sql import visitors
from sqlmodel import Session, col, select

from app import access, crypto
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import Role, Screening, User, Youth
from app.models_sharing import BreakGlass, Category, Consent, ConsentMethod, Disclosure, Grantor, Purpose
from app.records import service as records
from app.records.schemas import YouthCreate
from app.sharing import breakglass, consent
from app.sharing.schemas import BreakGlassCreate, ConsentCreate
from tests.app.conftest import World
from tests.app.matrix_support import MISSING_ID, MatrixWorld, build_world

AGENCIES = "ABC"
PURPOSES = (Purpose.care_coordination, Purpose.referral)  # two are enough to tell purposes apart
# Drawn more often: the pair whose records are always linked, and one purpose, so that reads are often allowed.
PAIRS = [("A", "B"), ("B", "A")] * 2 + [(s, t) for s in AGENCIES for t in AGENCIES if s != t]
OFTEN = st.sampled_from([*PURPOSES, Purpose.care_coordination])
CATEGORIES = st.sets(st.sampled_from(list(Category)), min_size=1)
OPENERS = st.sampled_from([Role.supervisor, Role.screener])  # who tries to break the glass
SCREENING = {"instrument_id": "x", "instrument_version": "1", "content_hash": "0", "mode": "self", "language": "en"}
REASON = "Youth arrived in crisis overnight; prior screening needed now."
WHY = "The youth asked the programs to stop sharing."  # why a consent is revoked
KEYS = crypto.get_key_ring


class Clock:
    """The one 'now' of the access function, the consent and break-glass services and the models."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    for where in ("app.access", "app.sharing.consent", "app.sharing.breakglass", "app.models"):
        monkeypatch.setattr(f"{where}.utcnow", clock)
    return clock


def _time_read(clause: object) -> datetime:
    """The earliest moment a clause built by `access` compares consents with, were it run now."""
    moments = [e for e in visitors.iterate(clause) if isinstance(e, BindParameter) and e.key == "access_now"]
    value: datetime = min(moment.effective_value for moment in moments)
    return value


def test_a_clause_built_under_a_frozen_clock_reads_the_time_it_runs_at_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The statements that hold the rule are built once and reused by every later request and test of the
    process. One built while a test's clock (above) was in place went on reading that clock after the test
    ended: a consent given later was "not yet in force", and a referral under it was cancelled at once (a
    failure that came and went with the order the tests ran in)."""
    frozen = datetime(2020, 1, 1, tzinfo=UTC)
    with monkeypatch.context() as patched:
        patched.setattr("app.access.utcnow", lambda: frozen)
        clause = access.consent_in_force()  # as a cached statement is built, during a test that froze time
        assert _time_read(clause) == frozen
    assert _time_read(clause) > datetime.now(UTC) - timedelta(minutes=1)


@dataclass
class People:
    """The agencies' staff, records and screenings the machine works on."""

    session: Session
    staff: dict[tuple[str, Role], User] = field(default_factory=dict)
    youth: dict[str, Youth] = field(default_factory=dict)
    screenings: dict[str, str] = field(default_factory=dict)
    person: str = ""  # the person A and B hold records of
    c_own: str = ""  # C's record's own person id, when it is not linked


def people(world: World) -> People:
    ctx = People(world.session)
    keys, db = crypto.get_key_ring(), world.session
    for letter in AGENCIES:
        agency = world.agency(f"Agency {letter}", "victim_service" if letter == "C" else "youth_program")
        for role in (Role.agency_admin, Role.supervisor, Role.screener):
            ctx.staff[(letter, role)] = world.user(agency, role)
        screener = ctx.staff[(letter, Role.screener)]
        data = YouthCreate(given_name="Avery", family_name="Testcase", birth_date=date(2010, 4, 2), case_number="1")
        youth = ctx.youth[letter] = records.create(db, keys, screener, data)
        screening = Screening(youth_id=youth.id, agency_id=agency.id, started_by=screener.id, **SCREENING)
        db.add(screening)
        ctx.screenings[letter] = screening.id
    ctx.person, ctx.c_own = ctx.youth["A"].person_id, ctx.youth["C"].person_id
    ctx.youth["B"].person_id = ctx.person
    db.add(ctx.youth["B"])
    db.commit()
    return ctx


@dataclass
class ModelConsent:
    id: str
    person: str
    source: str
    to: str
    categories: frozenset[Category]
    purpose: str
    starts: datetime
    ends: datetime
    revoked: bool = False
    superseded: bool = False

    def in_force(self, now: datetime) -> bool:
        return self.starts <= now < self.ends and not self.revoked and not self.superseded


@dataclass
class ModelGlass:
    id: str
    opener: tuple[str, Role]
    person: str
    expires: datetime
    ended: bool = False


class ConsentLifecycle(RuleBasedStateMachine):
    """Consents and break-glass over time, against the rule in plain Python."""

    ctx: People
    clock: Clock

    def __init__(self) -> None:
        super().__init__()
        db = self.ctx.session
        for table in (Disclosure, BreakGlass, Consent):
            db.exec(delete(table))  # type: ignore[call-overload]
        self._set_c_person(self.ctx.c_own)
        self.consents: list[ModelConsent] = []
        self.glasses: list[ModelGlass] = []

    # The reference model: DESIGN §7 restated -------------------------------------------------------------

    def person_of(self, letter: str) -> str:
        return self.ctx.youth[letter].person_id

    def may_read(self, viewer: tuple[str, Role], owner: str, category: Category, purpose: str) -> bool:
        """Its own agency's always; another's only when the viewer's agency holds a record of the same person,
        and an active consent from the owner to it covers the category and purpose (for the referral purpose,
        only what a live referral shares: none here), or the viewer's own break-glass on that person is open."""
        letter, now = viewer[0], self.clock.now
        if letter == owner:
            return True
        person = self.person_of(owner)
        if self.person_of(letter) != person:
            return False
        return any(
            c.person == person and (c.source, c.to) == (owner, letter) and category in c.categories
            for c in self.consents
            if c.purpose == purpose and c.in_force(now) and purpose != Purpose.referral
        ) or any(g.opener == viewer and g.person == person and now < g.expires and not g.ended for g in self.glasses)

    # Rules -----------------------------------------------------------------------------------------------

    def _terms(
        self, source: str, to: str, categories: set[Category], purpose: str, starts: int, days: int
    ) -> ConsentCreate:
        start = self.clock.now + timedelta(days=starts) if starts else None
        return ConsentCreate(
            youth_id=self.ctx.youth[source].id,
            to_agency_id=self.ctx.staff[(to, Role.screener)].agency_id,
            grantor=Grantor.youth,
            authority="Signed release",
            categories=sorted(categories),
            purpose=purpose,  # type: ignore[arg-type]
            starts_at=start,
            ends_at=(start or self.clock.now) + timedelta(days=days),
            method=ConsentMethod.written,
        )

    def _remember(self, row: Consent, source: str, to: str) -> None:
        categories = frozenset(c for c in Category if getattr(row, c.value))
        self.consents.append(
            ModelConsent(row.id, row.person_id, source, to, categories, row.purpose, row.starts_at, row.ends_at)
        )

    @rule(
        pair=st.sampled_from(PAIRS),
        categories=CATEGORIES,
        purpose=OFTEN,
        starts=st.sampled_from([0, 0, 2]),
        days=st.sampled_from([1, 3, 30]),
    )
    def record(self, pair: tuple[str, str], categories: set[Category], purpose: str, starts: int, days: int) -> None:
        source, to = pair
        terms = self._terms(source, to, categories, purpose, starts, days)
        row = consent.record(self.ctx.session, self.ctx.staff[(source, Role.agency_admin)], terms)
        self.ctx.session.commit()
        assert row.person_id == self.person_of(source)
        self._remember(row, source, to)

    @precondition(lambda self: self.consents)
    @rule(data=st.data(), categories=CATEGORIES, purpose=OFTEN)
    def supersede(self, data: st.DataObject, categories: set[Category], purpose: str) -> None:
        old = data.draw(st.sampled_from(self.consents))
        terms = self._terms(old.source, old.to, categories, purpose, 0, 10)
        admin = self.ctx.staff[(old.source, Role.agency_admin)]
        refused = Conflict if old.revoked or old.superseded else None
        if refused is None and old.person != self.person_of(old.source):  # C's record was linked or unlinked since
            refused = InvalidInput  # a change must be about the same person: record a new consent instead
        if refused is not None:
            with pytest.raises(refused):
                consent.supersede(self.ctx.session, admin, old.id, terms)
            self.ctx.session.rollback()
            return
        row = consent.supersede(self.ctx.session, admin, old.id, terms)
        self.ctx.session.commit()
        old.superseded = True
        self._remember(row, old.source, old.to)

    @precondition(lambda self: self.consents)
    @rule(data=st.data(), by_recipient=st.booleans())
    def revoke(self, data: st.DataObject, by_recipient: bool) -> None:
        given = data.draw(st.sampled_from(self.consents))
        if by_recipient:  # only the agency that gave a consent may revoke it; the other learns nothing
            with pytest.raises(NotFound):
                consent.revoke(self.ctx.session, KEYS(), self.ctx.staff[(given.to, Role.agency_admin)], given.id, WHY)
            self.ctx.session.rollback()
            return
        consent.revoke(self.ctx.session, KEYS(), self.ctx.staff[(given.source, Role.agency_admin)], given.id, WHY)
        self.ctx.session.commit()
        given.revoked = True

    @rule(hours=st.sampled_from([1, 12, 24, 72, 24 * 30]))
    def time_passes(self, hours: int) -> None:
        self.clock.now += timedelta(hours=hours)

    @rule(letter=st.sampled_from(AGENCIES), role=OPENERS, hours=st.sampled_from([1, 4, 72]))
    def open_glass(self, letter: str, role: Role, hours: int) -> None:
        user, youth = self.ctx.staff[(letter, role)], self.ctx.youth[letter]
        reason, keys = BreakGlassCreate(reason=REASON, hours=hours), crypto.get_key_ring()
        if role == Role.screener:  # break-glass is a supervisor's
            with pytest.raises(Forbidden):
                breakglass.open_glass(self.ctx.session, keys, user, youth.id, reason)
            self.ctx.session.rollback()
            return
        glass = breakglass.open_glass(self.ctx.session, keys, user, youth.id, reason)
        self.ctx.session.commit()
        self.glasses.append(ModelGlass(glass.id, (letter, role), glass.person_id, glass.expires_at))
        assert glass.person_id == self.person_of(letter)

    @precondition(lambda self: self.glasses)
    @rule(data=st.data())
    def close_glass(self, data: st.DataObject) -> None:
        glass = data.draw(st.sampled_from(self.glasses))
        breakglass.close_glass(self.ctx.session, self.ctx.staff[glass.opener], glass.id)
        self.ctx.session.commit()
        glass.ended = True

    @rule()
    def c_links_or_unlinks(self) -> None:
        """C's record joins the person (as a consented link does) or becomes its own person again (an undo)."""
        self._set_c_person(self.ctx.c_own if self.person_of("C") == self.ctx.person else self.ctx.person)

    def _set_c_person(self, person: str) -> None:
        self.ctx.youth["C"].person_id = person
        self.ctx.session.commit()

    # The invariant ---------------------------------------------------------------------------------------

    @invariant()
    def reads_follow_the_rule(self) -> None:
        """For each viewer, category and purpose, the screenings the access function lets through are the model's;
        where another agency's is let through, the one-record read agrees and names the consent or break-glass."""
        db, owners = self.ctx.session, {sid: letter for letter, sid in self.ctx.screenings.items()}
        for viewer in ((a, r) for a in AGENCIES for r in (Role.supervisor, Role.screener)):
            user = self.ctx.staff[viewer]
            for category, purpose in ((c, p) for c in Category for p in PURPOSES):
                query = select(Screening.id).where(
                    col(Screening.id).in_(owners), access.screening_readable_clause(user, category, purpose)
                )
                readable = set(db.exec(query))
                expected = {sid for sid, owner in owners.items() if self.may_read(viewer, owner, category, purpose)}
                assert readable == expected, (viewer, category, purpose, self.clock.now)
                for sid in owners:  # the one-record gate agrees with the list clause, and names its authority
                    try:
                        read = access.decide(db, user, sid, (category,), purpose, record_denial=False)  # a question
                    except NotFound:
                        assert sid not in expected, (viewer, sid, category, purpose)
                        continue
                    assert sid in expected, (viewer, sid, category, purpose)
                    if not read.own:
                        grant = read.grants[category]
                        assert grant.consent_id or grant.break_glass_id, (viewer, sid)

    @invariant()
    def consents_know_whether_they_are_in_force(self) -> None:
        for model in self.consents:
            row = self.ctx.session.get(Consent, model.id)
            assert row is not None and access.is_in_force(row) == model.in_force(self.clock.now), model


def test_consent_lifecycle_follows_the_rule(world: World, clock: Clock) -> None:
    ConsentLifecycle.ctx, ConsentLifecycle.clock = people(world), clock
    run_state_machine_as_test(
        ConsentLifecycle,
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


# Over HTTP: the next request already knows ---------------------------------------------------------------


def _as(w: MatrixWorld, letter: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {w.api[w.user(letter, role).id]}"}


def _release(client: TestClient, w: MatrixWorld, ends: datetime) -> str:
    """A's admin records, through the API, the youth's release of result summaries to B; returns its id."""
    terms = {"to_agency_id": w.agencies["B"].id, "grantor": "youth", "authority": "Signed release"}
    terms |= {"categories": ["result_summary"], "purpose": "care_coordination", "method": "written"}
    headers = _as(w, "A", Role.agency_admin)
    given = client.post(
        f"/api/v1/youth/{w.ids['youth']}/consents", json=terms | {"ends_at": ends.isoformat()}, headers=headers
    )
    assert given.status_code == 201, given.text
    return str(given.json()["id"])


def test_a_revocation_takes_effect_on_the_very_next_request(client: TestClient, world: World) -> None:
    w = build_world(world)
    screening, reader = w.ids["done"], _as(w, "B", Role.screener)
    result, timeline = f"/api/v1/screenings/{screening}/result", f"/api/v1/youth/{w.ids['youth_b']}/timeline"
    missing = client.get(f"/api/v1/screenings/{MISSING_ID}/result", headers=reader)
    assert client.get(result, headers=reader).status_code == 404

    consent_id = _release(client, w, datetime.now(UTC) + timedelta(days=30))
    assert client.get(result, headers=reader).status_code == 200
    assert screening in [e["screening_id"] for e in client.get(timeline, headers=reader).json()]

    revoked = client.post(
        f"/api/v1/consents/{consent_id}/revoke", headers=_as(w, "A", Role.agency_admin), json={"reason": WHY}
    )
    assert revoked.status_code == 200 and revoked.json()["active"] is False

    denied = client.get(result, headers=reader)
    assert denied.status_code == 404 and denied.text.replace(screening, MISSING_ID) == missing.text
    assert client.get(timeline, headers=reader).json() == []


def test_an_expiry_takes_effect_on_the_very_next_request(client: TestClient, world: World, clock: Clock) -> None:
    w = build_world(world)
    result, reader = f"/api/v1/screenings/{w.ids['done']}/result", _as(w, "B", Role.screener)
    ends = clock.now + timedelta(days=2)
    _release(client, w, ends)
    clock.now = ends - timedelta(seconds=1)
    assert client.get(result, headers=reader).status_code == 200
    clock.now = ends
    assert client.get(result, headers=reader).status_code == 404
