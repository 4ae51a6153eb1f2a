"""Synthetic demo data: two agencies, a user of every role in each, a few youth and screenings.

Every person here is invented. The demo password is printed on purpose: demo data is for trying
TellOnce, never for a real deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.schemas import AgencyCreate, UserCreate
from app.crypto import KeyRing
from app.models import Agency, AgencyKind, Role, User, utcnow
from app.models_sharing import Category, ConsentMethod, Grantor, Purpose
from app.records import service as records
from app.records.schemas import YouthCreate
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from app.sharing import consent, links
from app.sharing.schemas import ConsentCreate
from instruments.loader import Registry

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (printed for the demo; demo data only)
AGENCIES = [
    ("Riverbend Youth Services", AgencyKind.youth_program, "riverbend"),
    ("Harbor County Probation", AgencyKind.probation, "harbor"),
]
# Two more programs hold the evaluation cohort (`seed_cohort`), so Riverbend's and Harbor's lists keep the
# tell-once story readable; each has a screener (who screened them), an evaluator (who recorded what was later
# learned) and a supervisor.
EVALUATION_AGENCIES = [
    ("Cedar Hill Youth Shelter", AgencyKind.shelter, "cedarhill"),
    ("Lakeview County Child Welfare", AgencyKind.child_welfare, "lakeview"),
]
EVALUATION_ROLES = (Role.supervisor, Role.evaluator, Role.screener)
RESOURCES = {
    "en": [
        "Riverbend drop-in center: 412 Alder Street, open every day 10am-8pm (synthetic demo address)",
        "988 Suicide & Crisis Lifeline: call or text 988",
    ],
    "es": [
        "Centro de Riverbend: 412 Alder Street, abierto todos los días de 10 a 20 h (dirección ficticia)",
        "Línea 988 de Prevención del Suicidio y Crisis: llama o envía un texto al 988",
    ],
}
YOUTH = [
    ("Avery", "Lindqvist", date(2009, 3, 14), "RB-1001"),
    ("Jordan", "Okafor-Reyes", date(2010, 11, 2), "RB-1002"),
    ("Camila", "Duarte", date(2008, 6, 21), "RB-1003"),
]


def _resources_of(agency_name: str) -> dict[str, list[str]]:
    """The demo resources, with each agency's own (synthetic) place instead of Riverbend's."""
    place = agency_name.split()[0]
    if place == "Riverbend":
        return RESOURCES
    return {
        language: [line.replace("Riverbend", place).replace("412 Alder Street", "90 Pier Road") for line in lines]
        for language, lines in RESOURCES.items()
    }


def logins() -> list[tuple[str, str, str]]:
    """(agency, role, email) of every demo account."""
    roles = {slug: list(Role) for _name, _kind, slug in AGENCIES} | {
        s: EVALUATION_ROLES for *_, s in EVALUATION_AGENCIES
    }
    return [
        (name, role.value, f"{role.value.replace('_', '.')}@{slug}.example.org")
        for name, _kind, slug in AGENCIES + EVALUATION_AGENCIES
        for role in roles[slug]
        if role != Role.system_admin or slug == "riverbend"
    ]


def seed(db: Session, keys: KeyRing, registry: Registry) -> bool:
    """Create the demo data unless it is there already; returns whether anything was created."""
    if db.exec(select(Agency).where(Agency.name == AGENCIES[0][0])).first() is not None:
        return False
    agencies: dict[str, Agency] = {}
    for name, kind, _slug in AGENCIES + EVALUATION_AGENCIES:
        agency = accounts.create_agency(db, AgencyCreate(name=name, kind=kind), None)
        agency.resources = _resources_of(name)
        db.add(agency)
        agencies[name] = agency
    users: dict[tuple[str, str], User] = {}
    for agency_name, role, email in logins():
        data = UserCreate(
            agency_id=agencies[agency_name].id,
            email=email,
            role=Role(role),
            password=DEMO_PASSWORD,
            display_name=f"{role.replace('_', ' ').title()} ({agency_name.split()[0]})",
        )
        # synthetic people sharing the printed demo password, which the policy refuses for anyone else
        users[(agency_name, role)] = accounts.create_user(db, data, None, enforce_password_policy=False)
    screener = users[(AGENCIES[0][0], "screener")]
    for given, family, born, case in YOUTH:
        records.create(
            db, keys, screener, YouthCreate(given_name=given, family_name=family, birth_date=born, case_number=case)
        )
    youth = records.find_by_case_number(db, keys, screener, "RB-1001")
    _completed_screening(db, keys, registry, screener, youth.id)
    _shared_story(db, keys, registry, users, youth.id)
    db.flush()
    return True


def _shared_story(
    db: Session, keys: KeyRing, registry: Registry, users: dict[tuple[str, str], User], youth_id: str
) -> None:
    """Tell once, in the demo: the youth agrees that Riverbend shares with Harbor; Harbor adds the youth
    (spelled a little differently) and links the record under that consent. Harbor's check-in holds what the
    youth told Riverbend, waiting for the youth to say whether it is still true; Harbor's own rating starts
    empty, with Riverbend staff's ratings beside it as context only. A second release lets Riverbend refer
    Avery to Harbor. Revoking and referring are left to the person trying it."""
    riverbend, harbor = AGENCIES[0][0], AGENCIES[1][0]
    sharer, receiver = users[(riverbend, "supervisor")], users[(harbor, "screener")]
    for purpose in (Purpose.care_coordination, Purpose.referral):  # what carries; and so Riverbend can refer Avery
        consent.record(
            db,
            sharer,
            ConsentCreate(
                youth_id=youth_id,
                to_agency_id=receiver.agency_id,
                grantor=Grantor.youth,
                authority="Youth aged 17, signed the release in person",
                purpose=purpose,
                categories=[Category.result_summary, Category.item_answers],
                method=ConsentMethod.written,
                ends_at=utcnow() + timedelta(days=90),
            ),
        )
    own = records.create(
        db,
        keys,
        receiver,
        YouthCreate(given_name="Avery", family_name="Lindquist", birth_date=date(2009, 3, 14), case_number="HC-2001"),
    )
    match = links.candidates(db, keys, receiver, own.id)
    if match:
        links.link(db, keys, receiver, own.id, match[0].id)
    for instrument, mode in ((SELF_REPORT, "self"), (PRACTITIONER, "practitioner")):
        screenings.start(
            db, keys, registry, receiver, ScreeningCreate(youth_id=own.id, instrument_id=instrument, mode=mode)
        )


PRACTITIONER, SELF_REPORT = "tellonce-practitioner-indicators", "tellonce-youth-self-report"

# What Avery told Riverbend in a check-in with a staff member (synthetic): past events carry to Harbor,
# present-state questions ("do you feel unsafe where you live now?") never do.
CHECK_IN = {
    "hurt_by_caregiver": "yes",
    "saw_violence": "yes",
    "stayed_away": "yes",
    "older_partner": "yes",
    "gifts": "not_sure",
    "owes_money": "no",
    "unsafe_at_home": "no",
}

RATINGS = {
    "rate_housing_unstable": "possible_concern",
    "rate_coercion_debt": "clear_concern",
    "rate_relationships_older_partner": "possible_concern",
    "rate_trauma_sexual_abuse": "not_enough_info",
    "rate_signs_fear": "no_concern",
    "rate_health_injuries": "no_concern",
}


def _completed_screening(db: Session, keys: KeyRing, registry: Registry, user: User, youth_id: str) -> None:
    """Riverbend's check-in with Avery (the youth's words) and its staff's rating (their judgement)."""
    for instrument, mode, answers in ((SELF_REPORT, "interview", CHECK_IN), (PRACTITIONER, "practitioner", RATINGS)):
        screening = screenings.start(
            db, keys, registry, user, ScreeningCreate(youth_id=youth_id, instrument_id=instrument, mode=mode)
        )
        saved = screenings.save_answers(
            db, keys, registry, user, screening.id, AnswersSave(version=screening.version, answers=answers)
        )
        screenings.complete(db, keys, registry, user, screening.id, saved.version)


def seed_screenings(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add Riverbend's and Harbor's check-ins of two years (`app.demo_screenings`) where they are missing;
    returns how many were added (none the second time). Not part of `seed`: `tellonce serve --demo` adds them
    to a fresh demo (TELLONCE_DEMO_CHECKINS), and the tests that want them ask for them."""
    from app import demo_screenings  # builds on the demo's agencies and staff

    screeners = [
        db.exec(select(User).where(User.email == f"screener@{slug}.example.org")).one() for *_, slug in AGENCIES
    ]
    return demo_screenings.seed(db, registry, keys, screeners, SELF_REPORT, today, progress)


def seed_cohort(db: Session, keys: KeyRing, registry: Registry, people: int, today: date | None = None) -> int:
    """Add the evaluation cohort (`app.evaluation.demo_cohort`) at the evaluation agencies; returns how many people."""
    from app.evaluation import demo_cohort  # evaluation builds on the demo's agencies and staff

    staff = []
    for _name, _kind, slug in EVALUATION_AGENCIES:
        by_role = {
            role: db.exec(select(User).where(User.email == f"{role}@{slug}.example.org")).one()
            for role in ("screener", "evaluator")
        }
        staff.append((by_role["screener"], by_role["evaluator"]))
    return len(demo_cohort.seed(db, keys, registry, staff, people, today))
