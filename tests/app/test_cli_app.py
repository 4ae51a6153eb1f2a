"""The app's commands: audit verify names the first broken link; demo data tells the whole story."""

from __future__ import annotations

import base64
import getpass
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import db
from app.cli import cli, main
from app.crypto import get_key_ring
from app.errors import StartupRefused
from app.main import create_app
from app.models import Answer, Screening, User, Youth
from app.models_sharing import Consent, Disclosure, RecordLink
from app.settings import get_settings
from app.sharing import consent
from tests.app.conftest import World
from tests.app.ops_support import Env, env

__all__ = ["env"]


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


def test_users_create_makes_the_first_admin_and_says_so(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once, it created the user and then crashed (DetachedInstanceError); run again, it said "already exists"."""
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "a long enough passphrase 42")
    made = CliRunner().invoke(
        cli, ["users", "create", "--admin", "--email", "first.admin@example.org", "--name", "First Admin"]
    )
    assert made.exit_code == 0, made.output
    assert "Created system_admin first.admin@example.org in Administration." in made.output
    user = session.exec(select(User).where(User.email == "first.admin@example.org")).one()
    assert user.role == "system_admin" and user.display_name == "First Admin"
    screener = CliRunner().invoke(
        cli, ["users", "create", "--email", "s@example.org", "--name", "S", "--agency", "Administration"]
    )
    assert screener.exit_code == 0 and "Created screener s@example.org" in screener.output
    again = CliRunner().invoke(cli, ["users", "create", "--email", "s@example.org", "--name", "S"])
    assert again.exit_code == 1 and "Not created" in again.output


def test_audit_verify_without_a_database_says_so_and_creates_nothing(
    session: Session, tmp_path: Path, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once, it made an empty ./data/tellonce.sqlite3 and printed a long traceback (no such table)."""
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env(TELLONCE_DATABASE_URL=None, TELLONCE_DATA_DIR=str(empty / "data"))
    monkeypatch.setattr(db, "get_engine", lambda: db.make_engine(get_settings().resolved_database_url))
    for command in (["audit", "verify"], ["keys", "status"]):
        missing = CliRunner().invoke(cli, command)
        assert missing.exit_code == 1 and "There is no TellOnce database at" in missing.output, missing.output
        assert missing.exception is None or isinstance(missing.exception, SystemExit)
        assert list(empty.iterdir()) == [], "nothing was created"
    (empty / "data").mkdir()
    db.make_engine(get_settings().resolved_database_url).dispose()  # an empty SQLite file
    sqlite3.connect(empty / "data" / "tellonce.sqlite3").execute("CREATE TABLE other (x)").connection.close()
    unmigrated = CliRunner().invoke(cli, ["audit", "verify"])
    assert (
        unmigrated.exit_code == 1 and "not migrated" in unmigrated.output and "tellonce db upgrade" in unmigrated.output
    )


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the `tellonce` console script as an operator would (main(), not the bare Typer app)."""
    monkeypatch.setattr(sys, "argv", ["tellonce", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    printed = capsys.readouterr()
    return int(ended.value.code or 0), printed.out + printed.err


PRODUCTION_HASHING = {"TELLONCE_PASSWORD_HASH_TIME_COST": "3", "TELLONCE_PASSWORD_HASH_MEMORY_KIB": "65536"}


def test_configuration_mistakes_are_told_plainly_not_as_tracebacks(
    session: Session, env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configured = {name: os.environ[name] for name in ("TELLONCE_DATA_DIR", "TELLONCE_DATABASE_URL")}
    env(TELLONCE_ENVIRONMENT="production", TELLONCE_DATABASE_URL=None, TELLONCE_DATA_DIR="data", **PRODUCTION_HASHING)
    status, output = _main(monkeypatch, capsys, "audit", "verify")
    assert status == 1 and "absolute TELLONCE_DATA_DIR" in output and "Traceback" not in output
    env(TELLONCE_ENVIRONMENT="test", **configured)
    env(TELLONCE_ENCRYPTION_KEYS=f"k1:{base64.urlsafe_b64encode(os.urandom(32)).decode()}", TELLONCE_INDEX_KEY=None)
    status, output = _main(monkeypatch, capsys, "keys", "status")
    assert status == 1 and "TELLONCE_INDEX_KEY is required" in output and "Traceback" not in output


def test_production_without_keys_refuses_before_making_a_database(
    tmp_path: Path, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "prod"
    env(
        TELLONCE_ENVIRONMENT="production",
        TELLONCE_DATABASE_URL=None,
        TELLONCE_DATA_DIR=str(data),
        TELLONCE_KEY_FILE=None,
        **PRODUCTION_HASHING,
    )
    monkeypatch.setattr(db, "get_engine", lambda: db.make_engine(get_settings().resolved_database_url))
    refused = CliRunner().invoke(cli, ["serve"])
    assert (
        refused.exit_code == 1
        and "TellOnce cannot start" in refused.output
        and "tellonce keys create" in refused.output
    )
    with pytest.raises(StartupRefused), TestClient(create_app()):
        pass
    assert not data.exists(), "no database was created or migrated for a server that cannot start"


def test_python_m_app_cli_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "backup" in done.stdout and "restore" in done.stdout
