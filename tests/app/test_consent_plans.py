"""The sharing checks find a person's consents, and a screening's referrals, in one probe of an index, on both
engines (migration 0019; `access._live_to`).

Before, SQLite (with no statistics: TellOnce never runs ANALYZE there) read every consent to the agency for each
row it checked (the check that cancels lapsed referrals, run before every page that lists referrals, took 0.5 s
at an agency with 2,000 referrals and 4,000 consents), and every referral to the agency for each screening read.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import access
from app.errors import NotFound
from app.models import utcnow
from app.models_sharing import Consent
from app.referrals import service as referrals
from tests.app.conftest import World
from tests.app.plans_support import captured
from tests.app.test_record_plans import as_deployed
from tests.app.test_report_indexes import explain

BY_PERSON = "ix_consent_person_to_from"


def test_the_referral_check_and_the_consent_lookup_probe_the_person_s_consents(world: World) -> None:
    db = world.session
    sender, partner = world.agency(), world.agency("Harbor County Probation", "probation")
    screener = world.user(partner)
    for n in range(30):  # consents to the partner about 30 people
        person = f"person{n:026d}"
        db.add(
            Consent(
                person_id=person,
                from_agency_id=sender.id,
                to_agency_id=partner.id,
                grantor="youth",
                authority="Signed release",
                purpose="care_coordination",
                result_summary=True,
                starts_at=utcnow() - timedelta(days=1),
                ends_at=utcnow() + timedelta(days=30),
                method="written",
                recorded_by=screener.id,
            )
        )
    db.commit()
    engine = db.get_bind()
    as_deployed(engine)  # PostgreSQL analyzed, as autovacuum keeps it; SQLite with no statistics, as it runs
    with captured(engine, lambda s: "FROM consent" in s) as seen:
        referrals.settle_lapsed(db, screener)
    with captured(engine, lambda s: "FROM consent" in s) as looked_up:
        access.consents_in_force(db, "person" + "0" * 26, partner.id, [sender.id])
    assert len(seen) == 1 and "FROM referral" in seen[0][0] and len(looked_up) == 1
    for statement, parameters in (seen[0], looked_up[0]):
        plan = explain(engine, statement, parameters)
        assert BY_PERSON in plan.indexes, plan.text


def test_a_screening_read_finds_its_referrals_by_the_screening(world: World) -> None:
    """Whether a live referral to the reader's agency shares a screening: asked by the screening, in one probe of
    `referral_screening`, never by reading every referral to the agency (or every live one) for each screening.
    Asked in the access decision of a screening read, and for the categories a referral shares."""
    db = world.session
    partner = world.agency("Harbor County Probation", "probation")
    reader = world.user(partner)
    engine = db.get_bind()
    as_deployed(engine)
    with captured(engine, lambda s: "referral_screening" in s) as seen:
        assert access._referred_categories(db, reader, "0" * 32, None) == set()
        with pytest.raises(NotFound):
            access.decide(db, reader, "0" * 32, record_denial=False)
    assert len(seen) == 2, seen
    for statement, parameters in seen:
        plan = explain(engine, statement, parameters)
        assert plan.indexes & {"ix_referral_screening_screening_id", "pk_referral_screening"}, plan.text
        assert not plan.indexes & {"ix_referral_to_changed", "ix_referral_status"}, plan.text
