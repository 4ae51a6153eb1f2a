"""CSV/JSON/NDJSON exports for a recipient agency: consent filtering, formula-safe cells, versions, codebook,
the ledger, streaming in batches with flat memory, and the pages, API and CLI that offer them."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.audit import AuditEvent
from app.cli import cli
from app.exports import tabular, writers
from app.models_sharing import Category, Disclosure, Purpose
from app.sharing import consent as consents
from instruments.loader import Registry
from tests.app.conftest import World, bearer, sign_in
from tests.app.exports_support import (
    ALL,
    HYPERLINK,
    MINI,
    PRACTITIONER,
    Scene,
    bulk,
    make_scene,
    mini_registry,
    parse,
    practitioner,
    today,
)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return mini_registry(tmp_path_factory)


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    return make_scene(world, registry)


def test_without_consent_another_agency_gets_no_rows_and_nothing_is_disclosed(scene: Scene) -> None:
    scene.screen({"unpaid": "yes"})
    scene.consent(Category.result_summary, to="c")  # to another agency: B still has nothing
    scene.consent(Category.result_summary, purpose=Purpose.referral)  # another purpose: not this export's
    text = scene.export()
    assert parse(text) == []
    assert text.startswith("person_key,screening_id,agency,instrument_id,instrument_version")
    assert scene.ledger() == []


def test_a_result_summary_consent_exports_levels_but_no_answers_notes_or_evidence(scene: Scene) -> None:
    done = scene.screen({"unpaid": "yes", "employer": "Acme"}, notes="Canary note: met at the bus station")
    scene.consent(Category.result_summary)
    text = scene.export()
    [row] = parse(text)
    assert row["screening_id"] == done.id and row["overall_level"] == "clear_concern"
    assert row["domain.work"] == "clear_concern"
    assert not any(name.startswith(f"{MINI}.") for name in row) and "notes" not in row
    assert "Acme" not in text and "Canary" not in text
    [obj] = [json.loads(line) for line in scene.export("ndjson").splitlines()]
    assert "answers" not in obj and "notes" not in obj and obj["categories"] == ["result_summary"]
    assert all("evidence" not in i for i in obj["result"]["indicators"])  # evidence quotes answers
    assert "Acme" not in json.dumps(obj)
    assert [o["screening_id"] for o in json.loads(scene.export("json"))] == [done.id]  # a JSON array


def test_a_revoked_consent_exports_nothing_on_the_next_export(scene: Scene) -> None:
    scene.screen({"unpaid": "no"})
    given = scene.consent(Category.result_summary, Category.item_answers)
    assert len(parse(scene.export())) == 1
    consents.revoke(scene.db, scene.keys, scene.admin, given.id, "The youth asked to stop sharing.")
    scene.db.commit()
    assert parse(scene.export()) == []
    assert json.loads(scene.export("json")) == []


def test_the_date_range_is_inclusive_and_respected(scene: Scene) -> None:
    dates = {"old": today() - timedelta(days=10), "first": today() - timedelta(days=3), "last": today()}
    ids = {}
    for name, day in dates.items():
        done = scene.screen({"unpaid": "no"})
        done.completed_at = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        scene.db.add(done)
        ids[name] = done.id
    scene.db.commit()
    planned = tabular.prepare(
        scene.db, scene.registry, scene.supervisor, scene.a.id, dates["first"], today(), ["result_summary"], "referral"
    )
    text = "".join(tabular.stream(scene.db, scene.keys, scene.registry, planned, "csv"))
    assert sorted(r["screening_id"] for r in parse(text)) == sorted([ids["first"], ids["last"]])


def test_item_columns_span_versions_with_not_asked_in_version_and_cells_are_formula_safe(scene: Scene) -> None:
    first = scene.screen({"unpaid": "yes", "old_question": "no", "employer": HYPERLINK})
    second = scene.screen({"unpaid": "no", "new_question": "yes", "employer": "+1 555 0100"}, version="2.0.0")
    scene.consent(Category.result_summary, Category.item_answers)
    rows = {r["screening_id"]: r for r in parse(scene.export(categories=["result_summary", "item_answers"]))}
    one, two = rows[first.id], rows[second.id]
    assert (one["instrument_version"], two["instrument_version"]) == ("1.0.0", "2.0.0")
    assert one[f"{MINI}.old_question"] == "no" and one[f"{MINI}.new_question"] == "not_asked_in_version"
    assert two[f"{MINI}.new_question"] == "yes" and two[f"{MINI}.old_question"] == "not_asked_in_version"
    assert one[f"{MINI}.employer"] == "'" + HYPERLINK  # a formula is text, never run
    assert two[f"{MINI}.employer"] == "'+1 555 0100"
    assert writers.safe("@SUM(A1)") == "'@SUM(A1)" and writers.safe("\t=1") == "'\t=1" and writers.safe("ok") == "ok"
    assert all(value[:1] not in "=+-@\t\r" or value == "" for r in rows.values() for value in r.values())


def test_every_row_carries_its_instrument_version_and_the_codebook_every_column(scene: Scene) -> None:
    scene.screen({"unpaid": "yes", "old_question": "no", "employer": "x"})
    scene.screen({"unpaid": "no"}, version="2.0.0")
    scene.screen({}, instrument=PRACTITIONER, version=None)
    scene.consent(*Category)
    text = scene.export()
    header = next(csv.reader(io.StringIO(text)))
    rows = parse(text)
    assert len(rows) == 3 and all(r["instrument_version"] and r["content_hash"] for r in rows)
    assert next(r for r in rows if r["instrument_id"] == PRACTITIONER)[f"{MINI}.unpaid"] == "not_in_instrument"
    terms = (scene.b.id, today(), today(), ALL, "care_coordination")
    book = parse(tabular.codebook(scene.db, scene.registry, scene.supervisor, *terms))
    assert [entry["column"] for entry in book if entry["kind"] != "note"] == header
    assert {e["column"] for e in book if e["kind"] == "note"} >= {"note.formula_guard", "note.stats_files"}
    assert all(entry["description"] for entry in book)
    employer = next(e for e in book if e["column"] == f"{MINI}.employer")
    for code in ("declined", "not_asked", "unanswered", "not_asked_in_version", "not_shared", "not_in_instrument"):
        assert f"{code}=" in employer["codes"]
    assert "yes=Yes" in next(e for e in book if e["column"] == f"{MINI}.unpaid")["codes"]
    assert "clear_concern=" in next(e for e in book if e["column"] == "overall_level")["codes"]


def test_the_ledger_gets_one_export_entry_per_screening_with_its_consent(scene: Scene) -> None:
    done = [scene.screen({"unpaid": "no"}) for _ in range(3)]
    given = scene.consent(Category.result_summary)
    scene.export("ndjson", categories=ALL)
    entries = scene.ledger()
    assert sorted(e.screening_id or "" for e in entries) == sorted(s.id for s in done)
    for entry in entries:
        assert entry.consent_id == given.id and entry.categories == ["result_summary"]
        assert (entry.viewer_id, entry.viewer_agency_id) == (scene.supervisor.id, scene.b.id)  # to B, by the user
        assert entry.owner_agency_id == scene.a.id and entry.person_id == scene.youth.person_id
        assert entry.purpose == "care_coordination" and entry.detail["format"] == "ndjson"
    audit = scene.db.exec(select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "export")).one()
    assert audit.object_id == scene.b.id and "Avery" not in json.dumps(audit.detail)


def test_an_agency_exporting_to_itself_needs_no_consent_and_discloses_nothing(scene: Scene) -> None:
    scene.screen({"unpaid": "yes", "employer": "Acme"}, notes="Seen at intake")
    [row] = parse(scene.export(to="a"))
    assert row[f"{MINI}.employer"] == "Acme" and row["notes"] == "Seen at intake"
    assert scene.ledger() == []


def test_a_screener_may_not_export(scene: Scene) -> None:
    from app.errors import Forbidden

    with pytest.raises(Forbidden):
        tabular.prepare(scene.db, scene.registry, scene.screener, scene.a.id, today(), today(), ALL, "referral")


def test_the_export_reads_in_batches_and_records_each_batch_before_releasing_it(scene: Scene) -> None:
    bulk(scene, 12)
    scene.consent(*Category)
    queries: list[str] = []
    engine = scene.db.get_bind()

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "screening_result" in statement:
            queries.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        planned = tabular.prepare(
            scene.db, scene.registry, scene.supervisor, scene.b.id, today(), today(), ALL, "care_coordination"
        )
        rows = tabular.export_rows(scene.db, scene.keys, scene.registry, planned, batch_size=5)
        first = next(rows)
        assert len(queries) == 1 and first["answers"]["employer"] == "Acme"
        with Session(engine) as other:  # the first batch is already in the ledger, committed
            assert other.exec(select(func.count()).select_from(Disclosure)).one() == 5
        assert len(list(rows)) == 11
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(queries) == 3  # 5 + 5 + 2
    assert len(scene.ledger()) == 12


def test_memory_stays_flat_while_5000_screenings_stream(scene: Scene) -> None:
    bulk(scene, 5000)
    scene.consent(*Category)
    planned = tabular.prepare(
        scene.db, scene.registry, scene.supervisor, scene.b.id, today(), today(), ALL, "care_coordination"
    )
    samples: list[int] = []
    tracemalloc.start()
    try:
        lines = tabular.stream(
            scene.db,
            scene.keys,
            scene.registry,
            planned,
            "csv",
            progress=lambda n: samples.append(tracemalloc.get_traced_memory()[0]),
        )
        total = sum(1 for _ in lines)
    finally:
        tracemalloc.stop()
    assert total == 5001  # the header and every screening
    assert len(samples) == 10
    growth = max(samples[2:]) - samples[1]
    assert growth < 2_000_000, f"memory grew by {growth} bytes over 4,000 rows"  # 5,000 rows held would be far more


def test_the_api_streams_an_export_as_an_attachment(scene: Scene, client: TestClient) -> None:
    done, _ = practitioner(scene, client)
    headers = bearer(client, scene.supervisor)
    query = f"recipient={scene.b.id}&from={today()}&to={today()}&categories=result_summary,item_answers"
    response = client.get(f"/api/v1/exports?{query}&format=ndjson", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    assert [json.loads(line)["screening_id"] for line in response.text.splitlines()] == [done.id]
    csv_text = client.get(f"/api/v1/exports?{query}", headers=headers)
    assert csv_text.headers["content-type"].startswith("text/csv") and len(parse(csv_text.text)) == 1
    book = client.get(f"/api/v1/exports/codebook?{query}", headers=headers)
    assert book.status_code == 200 and "overall_level" in book.text
    assert client.get(f"/api/v1/exports?{query}", headers=bearer(client, scene.screener)).status_code == 403
    bad = client.get(f"/api/v1/exports?{query}&format=xlsx", headers=headers)
    assert bad.status_code == 422
    assert len(scene.ledger()) == 2  # the NDJSON and the CSV export: one entry each for the one screening
    widest = f"recipient={scene.b.id}&from=0001-01-01&to=9999-12-31&format=json"
    assert [o["screening_id"] for o in client.get(f"/api/v1/exports?{widest}", headers=headers).json()] == [done.id]


def test_the_export_page_offers_the_form_the_download_and_the_codebook(scene: Scene, client: TestClient) -> None:
    practitioner(scene, client)
    csrf = sign_in(client, scene.supervisor)
    page = client.get("/exports")
    assert page.status_code == 200 and "Eastside Child Welfare" in page.text
    form = {
        "csrf_token": csrf,
        "recipient": scene.b.id,
        "from": str(today()),
        "to": str(today()),
        "purpose": "care_coordination",
    }
    download = client.post("/exports", data={**form, "format": "csv", "categories": ["result_summary"]})
    assert download.status_code == 200 and download.headers["content-disposition"].startswith("attachment;")
    assert len(parse(download.text)) == 1
    book = client.post("/exports/codebook", data={**form, "categories": ["result_summary"]})
    assert book.status_code == 200 and parse(book.text)[0]["column"] == "person_key"
    wrong = client.post("/exports", data={**form, "to": "yesterday", "format": "csv"})
    assert wrong.status_code == 400 and "Enter both dates" in wrong.text
    assert client.post("/exports", data={**form, "format": "csv", "csrf_token": "x"}).status_code == 403


def test_a_screener_sees_no_export_page(scene: Scene, client: TestClient) -> None:
    sign_in(client, scene.screener)
    assert client.get("/exports").status_code == 403


def test_the_cli_exports_as_a_named_user_with_a_codebook_beside(
    scene: Scene, client: TestClient, tmp_path: Path
) -> None:
    practitioner(scene, client)
    out = tmp_path / "export.csv"
    args = ["export", "--recipient", scene.b.name, "--from", str(today()), "--to", str(today())]
    args += ["--as", scene.supervisor.email, "--out", str(out), "--categories", "result_summary,item_answers"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Exported 1 screening(s) to Eastside Child Welfare" in result.output
    assert len(parse(out.read_text(encoding="utf-8"))) == 1
    assert (tmp_path / "export.codebook.csv").read_text(encoding="utf-8").startswith("column,kind,description,codes")
    assert [e.viewer_id for e in scene.ledger()] == [scene.supervisor.id]
    refused = CliRunner().invoke(cli, [*args[:-4], "--as", scene.screener.email, "--out", str(out)])
    assert refused.exit_code == 1 and "supervisor" in refused.output
