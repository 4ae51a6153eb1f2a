"""The app's commands: audit verify names the first broken link; demo data tells the whole story."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.crypto import get_key_ring
from app.models import Answer, Screening, User, Youth
from app.models_sharing import Consent, Disclosure, RecordLink
from app.sharing import consent
from tests.app.conftest import World


def test_audit_verify_passes_then_names_the_tampered_event(session: Session, world: World) -> None:
    runner = CliRunner()
    world.user(world.agency())  # a few audited actions happen through the services below
    from app import audit

    for action in ("one", "two", "three"):
        audit.record(session, f"test.{action}")
    session.commit()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    second = session.exec(select(audit.AuditEvent).where(audit.AuditEvent.action == "test.two")).one()
    session.execute(text("UPDATE audit_event SET action = 'test.edited' WHERE seq = :seq"), {"seq": second.seq})
    session.commit()
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"broken at event {second.seq}" in broken.output


def test_demo_data_shows_the_tell_once_story(session: Session) -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "screener@harbor.example.org" in result.output
    # A release for care coordination (what carries) and one for referrals (so Riverbend can refer Avery).
    assert sorted(c.purpose for c in session.exec(select(Consent))) == ["care_coordination", "referral"]
    link = session.exec(select(RecordLink)).one()
    linked = session.get(Youth, link.youth_id)
    assert linked is not None and linked.person_id == link.person_id
    drafts = {s.mode: s for s in session.exec(select(Screening).where(Screening.status == "in_progress"))}
    assert set(drafts) == {"self", "practitioner"}  # Harbor's check-in and its own rating
    carried = session.exec(select(Answer).where(Answer.screening_id == drafts["self"].id)).all()
    # What Avery told Riverbend waits for Avery's "still true?"; the present-state question does not carry.
    assert carried and {(a.source, a.confirmed_at) for a in carried} == {("carried", None)}
    assert "unsafe_at_home" not in {a.item_id for a in carried}
    # Riverbend staff's ratings are never carried into Harbor's rating (they are context on its form).
    assert session.exec(select(Answer).where(Answer.screening_id == drafts["practitioner"].id)).all() == []
    assert [d.kind for d in session.exec(select(Disclosure))] == ["carry_forward"]
    # Riverbend revokes: nothing Avery has not confirmed stays in Harbor's open check-in.
    given = session.exec(select(Consent).where(Consent.purpose == "care_coordination")).one()
    consent.revoke(session, get_key_ring(), session.get(User, given.recorded_by), given.id, "The youth asked to stop.")
    session.commit()
    assert session.exec(select(Answer).where(Answer.screening_id == drafts["self"].id)).all() == []
    again = CliRunner().invoke(cli, ["demo"])
    assert "already there" in again.output
