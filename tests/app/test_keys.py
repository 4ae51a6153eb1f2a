"""Keys an operator can run: production refuses to invent keys; rotate, re-encrypt (resumable), status, retire.

The rotation test seeds the demo data, rotates, re-encrypts, then scans every string column of every
table: a value left under the old key (a column missing from app.crypto.ENCRYPTED_COLUMNS) fails it.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import demo, keys
from app.cli import cli
from app.crypto import ENCRYPTED_COLUMNS, get_key_ring
from app.errors import StartupRefused
from app.main import create_app, loaded_instruments
from app.models import Screening, User, metadata
from app.models_sharing import Consent
from app.sharing import consent
from tests.app.ops_support import Env, env, stored_ciphertexts

__all__ = ["env"]
RIVERBEND_SCREENER = "screener@riverbend.example.org"
REVOKE_REASON = "The youth asked to stop sharing."


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _seed(session: Session) -> None:
    """The demo data, plus a revoked consent (its reason is encrypted too)."""
    assert demo.seed(session, get_key_ring(), loaded_instruments())
    session.commit()
    given = session.exec(select(Consent).where(Consent.purpose == "care_coordination")).one()
    revoker = session.get(User, given.recorded_by)
    assert revoker is not None
    consent.revoke(session, get_key_ring(), revoker, given.id, REVOKE_REASON)
    session.commit()


def _bearer(client: TestClient) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": RIVERBEND_SCREENER, "password": demo.DEMO_PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_every_encrypted_column_of_the_models_is_listed_once() -> None:
    listed = [(c.table, c.db_column) for c in ENCRYPTED_COLUMNS]
    in_models = {(t.name, c.name) for t in metadata.sorted_tables for c in t.columns if c.name.endswith("_enc")}
    assert len(listed) == len(set(listed)) and set(listed) == in_models
    for spec in ENCRYPTED_COLUMNS:  # the row id is the table's primary key, in order
        assert [c.name for c in metadata.tables[spec.table].primary_key.columns] == list(spec.row_id)


# production refuses the suite's cheap password hashes (tests/app/conftest.py), so say production's own
PRODUCTION_HASHING = {"TELLONCE_PASSWORD_HASH_TIME_COST": "3", "TELLONCE_PASSWORD_HASH_MEMORY_KIB": "65536"}


def test_production_refuses_to_start_without_keys_and_says_how_to_make_them(
    session: Session, tmp_path: Path, env: Env
) -> None:
    key_file = tmp_path / "secrets" / "keys.json"
    env(
        TELLONCE_ENVIRONMENT="production",
        TELLONCE_KEY_FILE=str(key_file),
        TELLONCE_BASE_URL="https://tellonce.example.org",  # production needs its public address too
        **PRODUCTION_HASHING,
    )
    with pytest.raises(StartupRefused) as refused, TestClient(create_app(upgrade_database=False)):
        pass  # the lifespan refuses before the first request
    message = str(refused.value)
    assert str(key_file) in message and "tellonce keys create --file" in message and "--env" in message
    assert not key_file.exists(), "production never makes its own key file"
    serve = CliRunner().invoke(cli, ["serve"])  # refused before the server listens
    assert serve.exit_code == 1 and "TellOnce cannot start" in serve.output and "tellonce keys create" in serve.output

    assert "readable by its owner only" in _run("keys", "create", "--file", str(key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    before = key_file.read_bytes()
    again = CliRunner().invoke(cli, ["keys", "create", "--file", str(key_file)])
    assert again.exit_code == 1 and "already exists" in again.output and key_file.read_bytes() == before
    env()
    with TestClient(create_app(upgrade_database=False)) as client:
        assert client.get("/login").status_code == 200

    printed = dict(line.split("=", 1) for line in _run("keys", "create", "--env").splitlines() if "=" in line)
    env(TELLONCE_KEY_FILE=str(tmp_path / "absent.json"), **printed)
    assert set(printed) == {"TELLONCE_ENCRYPTION_KEYS", "TELLONCE_INDEX_KEY"}
    with TestClient(create_app(upgrade_database=False)) as client:
        assert client.get("/login").status_code == 200
    assert get_key_ring().current == printed["TELLONCE_ENCRYPTION_KEYS"].split(":")[0]
    assert not (tmp_path / "absent.json").exists()


def test_development_still_makes_its_key_file_on_first_run(session: Session, tmp_path: Path, env: Env) -> None:
    key_file = tmp_path / "dev" / "keys.json"
    env(TELLONCE_ENVIRONMENT="development", TELLONCE_KEY_FILE=str(key_file))
    with TestClient(create_app(upgrade_database=False)):
        pass
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_servers_starting_together_on_a_fresh_machine_share_one_key_file(tmp_path: Path) -> None:
    """The first requests of a new deployment race to make the key file: every one must end with the same keys
    (once, one of them failed with FileExistsError, and two could have read a half-written file)."""
    from concurrent.futures import ThreadPoolExecutor

    from app.crypto import load_key_ring
    from app.settings import Settings

    settings = Settings(environment="development", key_file=tmp_path / "fresh" / "keys.json")
    with ThreadPoolExecutor(max_workers=8) as pool:
        rings = list(pool.map(lambda _: load_key_ring(settings), range(32)))
    assert {ring.current for ring in rings} == {rings[0].current}
    assert {ring.index_key for ring in rings} == {rings[0].index_key}
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == ["keys.json"]  # no temporary file left behind


def test_rotate_then_reencrypt_leaves_no_value_under_the_old_key(
    session: Session, engine: Engine, client: TestClient, tmp_path: Path, env: Env
) -> None:
    key_file = tmp_path / "keys.json"
    env(TELLONCE_KEY_FILE=str(key_file))
    _seed(session)
    old = get_key_ring().current
    before = stored_ciphertexts(engine)
    assert {k for _, _, k in before} == {old}
    assert ("consent", "revoke_reason_enc", old) in before

    rotated = _run("keys", "rotate")
    env()  # every app server restarts with the new key file
    ring = get_key_ring()
    assert ring.current != old and set(ring.keys) == {old, ring.current}
    assert f"Added key {ring.current}" in rotated and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"key {old}: {sum(before.values())} value(s)" in _run("keys", "status")

    output = _run("keys", "reencrypt", "--batch-size", "7")
    assert f"youth.given_name_enc: {before[('youth', 'given_name_enc', old)]}/" in output
    assert "Values under older keys: 0" in output

    after = stored_ciphertexts(engine)
    assert {k for _, _, k in after} == {ring.current}, "every encrypted value of every table is under the new key"
    assert sum(after.values()) == sum(before.values())
    assert keys.unreadable(engine, ring) == {}
    assert f"key {ring.current} (current): {sum(before.values())} value(s)" in _run("keys", "status")
    assert "Re-encrypted 0 value(s)" in _run("keys", "reencrypt")  # a rerun has nothing to do

    headers = _bearer(client)
    screening = session.exec(select(Screening).where(Screening.status == "completed")).first()
    assert screening is not None
    youth = client.get(f"/api/v1/youth/{screening.youth_id}", headers=headers)
    assert youth.status_code == 200 and youth.json()["given_name"] == "Avery"
    result = client.get(f"/api/v1/screenings/{screening.id}/result", headers=headers)
    assert result.status_code == 200 and result.json()["overall"] and result.json()["domains"]

    refused = CliRunner().invoke(cli, ["keys", "retire", ring.current, "--yes"])
    assert refused.exit_code == 1 and "current key" in refused.output
    assert f"Removed key {old}" in _run("keys", "retire", old, "--yes")
    env()
    assert set(get_key_ring().keys) == {ring.current} and keys.unreadable(engine, get_key_ring()) == {}


def test_an_interrupted_reencryption_continues_where_it_stopped(
    session: Session, engine: Engine, tmp_path: Path, env: Env
) -> None:
    env(TELLONCE_KEY_FILE=str(tmp_path / "keys.json"))
    _seed(session)
    old = get_key_ring().current
    total = sum(stored_ciphertexts(engine).values())
    _run("keys", "rotate")
    env()
    ring = get_key_ring()
    batches: list[keys.Progress] = []

    def stop_after_three(step: keys.Progress) -> None:
        batches.append(step)
        if len(batches) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        keys.reencrypt(engine, ring, batch_size=1, progress=stop_after_three)
    counts = keys.status(engine).per_key
    assert counts == {ring.current: 3, old: total - 3}, "each batch of one value was committed on its own"
    assert keys.unreadable(engine, ring) == {}, "a half-done run leaves every value readable"
    first = batches[0].column
    assert [b.done for b in batches] == [1, 2, 3] and {b.column for b in batches} == {first}

    output = _run("keys", "reencrypt", "--batch-size", "2")
    assert output.splitlines()[1].startswith(f"{first}: {min(5, batches[0].total)}/{batches[0].total}")
    assert f"Re-encrypted {total - 3} value(s)" in output and "Values under older keys: 0" in output
    assert keys.status(engine).per_key == {ring.current: total}


def test_rotating_keys_given_in_the_environment_prints_the_value_to_set(
    session: Session, engine: Engine, env: Env
) -> None:
    old_value = f"old1:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"
    index = base64.urlsafe_b64encode(os.urandom(32)).decode()
    env(TELLONCE_ENCRYPTION_KEYS=old_value, TELLONCE_INDEX_KEY=index)
    _seed(session)
    output = _run("keys", "rotate")
    new_value = next(
        line.split("=", 1)[1] for line in output.splitlines() if line.startswith("TELLONCE_ENCRYPTION_KEYS=")
    )
    assert new_value.endswith("," + old_value) and "cannot change" in output
    env(TELLONCE_ENCRYPTION_KEYS=new_value)
    assert "Values under older keys: 0" in _run("keys", "reencrypt")
    retired = _run("keys", "retire", "old1", "--yes")
    assert f"TELLONCE_ENCRYPTION_KEYS={new_value.split(',')[0]}" in retired
    env(TELLONCE_ENCRYPTION_KEYS=new_value.split(",")[0])
    assert keys.unreadable(engine, get_key_ring()) == {}


def test_a_running_server_reads_values_re_encrypted_after_a_rotation_without_a_restart(
    session: Session, engine: Engine, client: TestClient, tmp_path: Path, env: Env
) -> None:
    """Once, a server started before `keys rotate` answered 500 on every read after `keys reencrypt`."""
    from app.crypto import load_key_ring
    from app.settings import get_settings

    key_file = tmp_path / "keys.json"
    env(TELLONCE_KEY_FILE=str(key_file))
    _seed(session)
    old = get_key_ring().current
    headers = _bearer(client)  # the server is running with the old key set
    screening = session.exec(select(Screening).where(Screening.status == "completed")).first()
    assert screening is not None
    assert client.get(f"/api/v1/youth/{screening.youth_id}", headers=headers).status_code == 200

    _run("keys", "rotate")  # the operator's commands run in another process: their own key ring
    operator = load_key_ring(get_settings())
    assert keys.reencrypt(engine, operator).remaining == 0
    assert {k for _, _, k in stored_ciphertexts(engine)} == {operator.current}

    youth = client.get(f"/api/v1/youth/{screening.youth_id}", headers=headers)
    assert youth.status_code == 200, youth.text
    assert youth.json()["given_name"] == "Avery"
    result = client.get(f"/api/v1/screenings/{screening.id}/result", headers=headers)
    assert result.status_code == 200 and result.json()["domains"]
    assert get_key_ring().current == operator.current  # and new values are written under the new key

    keys.retire(get_settings(), engine, operator, old)
    assert client.get(f"/api/v1/youth/{screening.youth_id}", headers=headers).status_code == 200
    assert set(get_key_ring().keys) == {operator.current}


def test_a_value_under_a_key_the_server_lacks_answers_a_clear_503_not_a_traceback(
    session: Session, client: TestClient, env: Env
) -> None:
    index = base64.urlsafe_b64encode(os.urandom(32)).decode()
    env(TELLONCE_ENCRYPTION_KEYS=f"old1:{base64.urlsafe_b64encode(os.urandom(32)).decode()}", TELLONCE_INDEX_KEY=index)
    _seed(session)
    screening = session.exec(select(Screening).where(Screening.status == "completed")).first()
    assert screening is not None
    # keys in the environment cannot change under a running process: this server never got key old1
    env(TELLONCE_ENCRYPTION_KEYS=f"new1:{base64.urlsafe_b64encode(os.urandom(32)).decode()}")
    answered = client.get(f"/api/v1/youth/{screening.youth_id}", headers=_bearer(client))
    assert answered.status_code == 503 and answered.json()["error"] == "keys_unavailable"
    assert "encryption key this server does not have" in answered.json()["detail"]
    signed_in = client.post(
        "/login",
        data={"email": RIVERBEND_SCREENER, "password": demo.DEMO_PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    page = client.get(f"/youth/{screening.youth_id}")
    assert page.status_code == 503 and "Nothing was lost" in page.text and "Traceback" not in page.text


def test_retiring_a_key_warns_that_older_backups_still_need_it(session: Session, tmp_path: Path, env: Env) -> None:
    env(TELLONCE_KEY_FILE=str(tmp_path / "keys.json"))
    old = get_key_ring().current
    _run("keys", "rotate")
    declined = CliRunner().invoke(cli, ["keys", "retire", old], input="n\n")
    assert declined.exit_code == 1 and "Backups made before the re-encryption still need key" in declined.output
    env()
    assert old in get_key_ring().keys, "nothing is retired without a yes"
    retired = _run("keys", "retire", old, "--yes")
    assert "still need key" in retired and f"Removed key {old}" in retired
