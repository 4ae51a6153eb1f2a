"""Data protection: encryption at rest, key rotation, the audit chain, canaries, durability settings."""

from __future__ import annotations

import base64
import json
import logging
import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from app import audit, db
from app.crypto import KeyRing, get_key_ring, load_key_ring
from app.errors import DecryptionError
from app.models import Answer, AuditEvent, Screening, Youth, YouthLink
from app.settings import Settings
from tests.app.accounts_support import (
    CANARY,
    CANARY_NOTES,
    create_youth,
    dump_database,
    dump_table,
    login,
    reload,
    screening_with_answers,
    token_request,
)
from tests.app.conftest import World, bearer

WRONG_PASSWORD = "Canary-Password-Never-Stored-81"  # noqa: S105 (synthetic)
ANSWER_CODES = ("not_enough_info", "possible_concern")


def _canaries() -> list[str]:
    birth = CANARY["birth_date"]
    year, month, day = birth.split("-")
    return [
        CANARY["given_name"],
        CANARY["family_name"],
        CANARY["given_name"].lower(),
        CANARY["family_name"].lower(),
        birth,
        f"{month}/{day}/{year}",
        f"{year}{month}{day}",
        CANARY["case_number"],
        CANARY["case_number"].lower(),
        CANARY_NOTES,
        "Zebulon-Canary",
        WRONG_PASSWORD,
    ]


def _flow(client: TestClient, world: World) -> tuple[dict[str, str], dict[str, object], dict[str, object]]:
    """A screener adds the canary youth and screens them; someone also fails to sign in."""
    user = world.user(world.agency())
    assert token_request(client, user.email, WRONG_PASSWORD).status_code == 401
    assert login(client, "canary.unknown@example.org", WRONG_PASSWORD).status_code == 401
    auth = bearer(client, user)
    youth = create_youth(client, auth)
    screening = screening_with_answers(client, auth, youth["id"])
    assert client.get(f"/api/v1/youth/{youth['id']}", headers=auth).json()["given_name"] == CANARY["given_name"]
    assert client.get(f"/api/v1/screenings/{screening['id']}", headers=auth).json()["notes"] == CANARY_NOTES
    assert client.get(f"/api/v1/screenings/{screening['id']}/result", headers=auth).status_code == 200
    return auth, youth, screening


# --- encryption at rest ---------------------------------------------------------------------------


def test_identifiers_answers_and_notes_are_encrypted_at_rest(
    client: TestClient, world: World, session: Session
) -> None:
    _auth, youth, screening = _flow(client, world)
    reload(session)
    raw_youth = session.execute(text("SELECT * FROM youth")).mappings().one()
    for column in ("given_name_enc", "family_name_enc", "birth_date_enc"):
        assert raw_youth[column].startswith("v1."), column
    everything = dump_database(session)
    for table, content in everything.items():
        for canary in _canaries():
            assert canary not in content, f"{canary!r} stored in clear in {table}"
    assert "Quillonius" not in dump_table(session, "youth") and "2009-07-14" not in dump_table(session, "youth")
    assert CANARY["case_number"] not in dump_table(session, "youth_link")

    keys = get_key_ring()
    answers = session.exec(select(Answer).where(Answer.screening_id == screening["id"])).all()
    assert {a.item_id for a in answers} == {"rate_coercion_debt", "rate_housing_unstable"}
    for answer in answers:
        for code in ANSWER_CODES:
            assert code not in answer.value_enc
        assert answer.value_enc.startswith(f"v1.{keys.current}.")
        row_id = f"{answer.screening_id}:{answer.item_id}"
        assert keys.decrypt_json(answer.value_enc, "answer", "value", row_id) in ANSWER_CODES
    stored = session.get(Screening, screening["id"])
    assert stored is not None and stored.notes_enc is not None and "Zebulon" not in stored.notes_enc
    assert keys.decrypt(stored.notes_enc, "screening", "notes", stored.id) == CANARY_NOTES
    assert youth["id"] in dump_table(session, "youth")


def test_a_ciphertext_does_not_decrypt_in_another_row_or_column(
    client: TestClient, world: World, session: Session
) -> None:
    auth = bearer(client, world.user(world.agency()))
    first = create_youth(client, auth)
    second = create_youth(client, auth, given_name="Other", case_number="OTHER-2")
    keys = get_key_ring()
    reload(session)
    one, two = session.get(Youth, first["id"]), session.get(Youth, second["id"])
    assert one is not None and two is not None
    assert keys.decrypt(one.given_name_enc, "youth", "given_name", one.id) == CANARY["given_name"]
    with pytest.raises(DecryptionError):
        keys.decrypt(one.given_name_enc, "youth", "given_name", two.id)  # another row
    with pytest.raises(DecryptionError):
        keys.decrypt(one.given_name_enc, "youth", "family_name", one.id)  # another column
    with pytest.raises(DecryptionError):
        keys.decrypt(one.given_name_enc, "youth_link", "given_name", one.id)  # another table
    # copied in the database, the value is refused where it was pasted
    session.execute(
        text("UPDATE youth SET given_name_enc = :value WHERE id = :id"), {"value": one.given_name_enc, "id": two.id}
    )
    session.commit()
    reload(session)
    pasted = session.get(Youth, two.id)
    assert pasted is not None
    with pytest.raises(DecryptionError):
        keys.decrypt(pasted.given_name_enc, "youth", "given_name", pasted.id)
    link = session.exec(select(YouthLink).where(YouthLink.youth_id == one.id)).one()
    with pytest.raises(DecryptionError):
        keys.decrypt(link.case_number_enc, "youth_link", "case_number", pasted.id)
    # a flipped bit is refused too
    version, kid, payload = one.family_name_enc.split(".", 2)
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 1
    tampered = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError):
        keys.decrypt(tampered, "youth", "family_name", one.id)
    with pytest.raises(DecryptionError):
        keys.decrypt(f"v1.unknown-key.{payload}", "youth", "family_name", one.id)


def key_id_of(stored: str) -> str:
    """The id of the key a stored value ("v1.<key id>.<data>") was encrypted with."""
    return stored.split(".", 2)[1]


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def test_a_newer_key_still_decrypts_values_made_with_the_old_one(
    client: TestClient, world: World, session: Session
) -> None:
    auth = bearer(client, world.user(world.agency()))
    youth = create_youth(client, auth)
    app_keys = get_key_ring()
    reload(session)
    stored = session.get(Youth, youth["id"])
    assert stored is not None
    newer = os.urandom(32)
    rotated = KeyRing({"k2026": newer, **app_keys.keys}, "k2026", app_keys.index_key)
    assert rotated.decrypt(stored.given_name_enc, "youth", "given_name", stored.id) == CANARY["given_name"]
    assert key_id_of(stored.given_name_enc) == app_keys.current
    # re-encrypting moves the value to the new key; the old ring cannot read it, the new one can
    again = rotated.encrypt(CANARY["given_name"], "youth", "given_name", stored.id)
    assert key_id_of(again) == "k2026"
    assert rotated.decrypt(again, "youth", "given_name", stored.id) == CANARY["given_name"]
    with pytest.raises(DecryptionError):
        app_keys.decrypt(again, "youth", "given_name", stored.id)
    # the blind index key is separate and unchanged, so lookups keep working
    assert rotated.blind_index("name", "x") == app_keys.blind_index("name", "x")

    # the same through the environment: first key is current, the others still decrypt
    old_key, index = os.urandom(32), os.urandom(32)
    old_ring = load_key_ring(Settings(encryption_keys=f"old:{_b64(old_key)}", index_key=_b64(index)))
    made_with_old = old_ring.encrypt_json({"a": 1}, "answer", "value", "s:i")
    env = f"new:{_b64(newer)},old:{_b64(old_key)}"
    new_ring = load_key_ring(Settings(encryption_keys=env, index_key=_b64(index)))
    assert new_ring.current == "new"
    assert new_ring.decrypt_json(made_with_old, "answer", "value", "s:i") == {"a": 1}
    assert key_id_of(new_ring.encrypt("x", "t", "c", "r")) == "new"


# --- audit ----------------------------------------------------------------------------------------


def test_audit_chain_verifies_and_finds_tampering(client: TestClient, world: World, session: Session) -> None:
    _flow(client, world)
    reload(session)
    assert audit.verify(session) is None
    events = list(audit.events(session))
    actions = [e.action for e in events]
    assert actions.count("login") >= 3 and "youth.create" in actions and "screening.complete" in actions
    assert [e.outcome for e in events if e.action == "login"][:2] == ["failed", "failed"]
    target = events[len(events) // 2]
    assert target.seq is not None
    session.execute(
        text("UPDATE audit_event SET detail = :detail WHERE seq = :seq"),
        {"detail": json.dumps({"forged": True}), "seq": target.seq},
    )
    session.commit()
    reload(session)
    broken = audit.verify(session)
    assert broken is not None and (broken.chain, broken.seq) == (target.chain, target.seq)


def test_removing_an_audit_event_breaks_the_chain(client: TestClient, world: World, session: Session) -> None:
    _flow(client, world)
    reload(session)
    events = list(audit.events(session))
    chain, position, seq = events[2].chain, events[2].position, events[2].seq
    after = [e.seq for e in events if e.chain == chain and e.position > position]
    session.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": seq})
    session.commit()
    reload(session)
    broken = audit.verify(session)
    # The break is the next event of the same chain (or, had it been the last, the chain's head).
    assert broken is not None and broken.chain == chain
    assert broken.seq == (after[0] if after else None)


def test_canaries_never_reach_the_audit_log_or_the_logs(
    client: TestClient, world: World, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        _flow(client, world)
    reload(session)
    rows = session.execute(text("SELECT * FROM audit_event ORDER BY seq")).all()
    assert rows
    serialized = "\n".join(json.dumps([str(v) for v in row]) for row in rows)
    details = json.dumps([e.detail for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))])
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for canary in [*_canaries(), "canary.unknown@example.org"]:
        assert canary not in serialized, canary
        assert canary not in details, canary
        assert canary not in logged, canary
    for code in ANSWER_CODES:
        assert code not in serialized and code not in details


# --- durability -----------------------------------------------------------------------------------


def test_database_durability_settings(engine: Engine) -> None:
    app_engine = db.get_engine()
    assert app_engine is engine  # the app's connections are the ones checked
    with app_engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        else:
            assert connection.execute(text("SHOW fsync")).scalar() == "on"
            assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
            assert connection.execute(text("SHOW full_page_writes")).scalar() == "on"


def test_foreign_keys_are_enforced(session: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO youth_link (id, youth_id, agency_id, case_number_enc, case_number_index, created_at,"
                " created_by) VALUES ('l1', 'missing', 'missing', 'x', 'x', CURRENT_TIMESTAMP, 'missing')"
            )
        )
        session.flush()
    session.rollback()
