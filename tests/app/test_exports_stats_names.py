"""SPSS and Stata exports of instruments with long item ids (issue 12, probe: a form imported from the LHC Form
Builder has UUID linkIds, and its .dta export failed with "A provided name is too long for the file format"),
and a .sav or .dta file that cannot be written: an error status with a message, nothing sent, nothing in the
disclosure ledger."""

from __future__ import annotations

import re
from pathlib import Path

import pyreadstat
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select
from typer.testing import CliRunner

from app.cli import cli
from app.exports.variables import MAX_NAME, STATA_NAME, unique_names
from app.models import AuditEvent
from app.models_sharing import Category
from instruments.loader import BUNDLED_DIR, Registry, load
from tests.app.conftest import World, bearer, sign_in
from tests.app.exports_support import Scene, make_scene, parse, today

FORM = "long-ids-form"
UUID_ID = "q_83d5c1a6_5dc3_44d0_9d9e_d687c72e143e"  # how a UUID linkId is imported
SHARED = "q_where_did_the_person_first_meet_them_x"  # 40 characters that two ids share
assert len(SHARED) == 40
FIRST = (SHARED + "in_person_at_a_place_they_both_went_to_often_enough_to_know_by_name")[:99]
SECOND = (SHARED + "in_person_at_a_place_they_both_went_to_often_enough_to_know_by_sight")[:100]
MANY = "q_" + "which_of_these_ways_did_they_use_to_stay_in_touch_" * 2  # a multiple choice: 0/1 columns
HOW_MANY = "q_" + "how_many_times_did_they_meet_in_the_last_month_" * 2
LONG_YAML = f"""
id: {FORM}
version: 1.0.0
title: {{en: Long ids form}}
description: {{en: 'Made up for the long-id export tests, shaped like an imported FHIR form'}}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance: {{validated: false, statement: {{en: Written for tests}}}}
modes: [practitioner, interview]
languages: [en]
default_language: en
sections:
  - {{id: only, title: {{en: Only}}}}
items:
  - id: {UUID_ID}
    section: only
    type: single_choice
    text: {{en: 'How did they get there?'}}
    options:
      - {{code: walked, label: {{en: On foot}}}}
      - {{code: bus, label: {{en: By bus}}}}
  - id: {FIRST}
    section: only
    type: single_choice
    text: {{en: 'Where first (place)?'}}
    options:
      - {{code: school, label: {{en: At school}}}}
      - {{code: park, label: {{en: In a park}}}}
  - id: {SECOND}
    section: only
    type: yes_no
    text: {{en: 'Did they recognise each other?'}}
  - id: {MANY[:100]}
    section: only
    type: multiple_choice
    text: {{en: 'How did they keep in touch?'}}
    options:
      - {{code: letters, label: {{en: By letter}}}}
      - {{code: calls, label: {{en: By phone call}}}}
  - id: {HOW_MANY[:100]}
    section: only
    type: number
    minimum: 0
    maximum: 31
    text: {{en: 'How many times last month?'}}
"""
ANSWERS = {
    UUID_ID: "bus",
    FIRST: "park",
    SECOND: "no",
    MANY[:100]: ["calls"],
    HOW_MANY[:100]: "declined",
}
STATA_NAME_RULE = re.compile(rf"[A-Za-z][A-Za-z0-9_]{{0,{MAX_NAME - 1}}}")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("long-ids")
    (folder / "long-ids.yaml").write_text(LONG_YAML)
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    assert all(len(item) >= 38 for item in ANSWERS) and max(len(item) for item in ANSWERS) == 100
    return loaded


@pytest.fixture
def scene(world: World, registry: Registry, client: TestClient) -> Scene:
    client.app.state.registry = registry  # type: ignore[attr-defined]
    made = make_scene(world, registry)
    made.screen(dict(ANSWERS), instrument=FORM, version="1.0.0")
    made.consent(*Category)
    return made


def query(scene: Scene, fmt: str) -> str:
    return (
        f"/api/v1/exports?recipient={scene.b.id}&from={today()}&to={today()}"
        f"&categories=result_summary,item_answers&format={fmt}"
    )


def exports_audited(scene: Scene) -> int:
    scene.db.expire_all()
    return len(
        scene.db.exec(select(AuditEvent).order_by(col(AuditEvent.seq)).where(AuditEvent.action == "export")).all()
    )


@pytest.mark.parametrize("fmt", ["dta", "sav"])
def test_an_instrument_with_long_item_ids_exports_to_stata_and_spss_with_its_labels(
    scene: Scene, client: TestClient, tmp_path: Path, fmt: str
) -> None:
    headers = bearer(client, scene.supervisor)
    got = client.get(query(scene, fmt), headers=headers)
    assert got.status_code == 200, got.text
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(got.content)
    frame, meta = (pyreadstat.read_dta if fmt == "dta" else pyreadstat.read_sav)(str(path), user_missing=True)
    book_query = query(scene, fmt).replace("/exports?", "/exports/codebook?")
    book = {e["column"]: e for e in parse(client.get(book_query, headers=headers).text) if e["kind"] != "note"}

    # The codebook maps every CSV column to the file's variable, in order; names fit and differ.
    assert list(frame.columns) == [e["variable"] for e in book.values()]
    assert all(STATA_NAME_RULE.fullmatch(name) for name in frame.columns), list(frame.columns)
    assert len({name.lower() for name in frame.columns}) == len(frame.columns)
    name = {item: book[f"{FORM}.{item}"]["variable"] for item in ANSWERS}
    assert name[UUID_ID] == UUID_ID[:MAX_NAME]
    assert name[FIRST] == SHARED[:MAX_NAME] and name[SECOND] == SHARED[: MAX_NAME - 2] + "_2"  # the later gives way
    calls = book[f"{FORM}.{MANY[:100]}___calls"]["variable"]

    # Variable labels, value labels and values, as the codebook numbers them.
    labels, values = meta.column_names_to_labels, meta.variable_value_labels
    assert (
        labels[name[UUID_ID]] == "How did they get there?" and labels[name[SECOND]] == "Did they recognise each other?"
    )
    assert (values[name[UUID_ID]][1], values[name[UUID_ID]][2]) == ("On foot", "By bus")
    assert values[name[FIRST]][2] == "In a park" and values[name[SECOND]][0] == "No"
    assert values[calls][1] == "Chosen" and labels[calls].startswith("By phone call")
    row = frame.iloc[0]
    stats = {item: book[f"{FORM}.{item}"]["stats_codes"] for item in (UUID_ID, FIRST, SECOND)}
    assert f"bus={int(row[name[UUID_ID]])}" in stats[UUID_ID] and f"park={int(row[name[FIRST]])}" in stats[FIRST]
    assert f"no={int(row[name[SECOND]])}" in stats[SECOND] and row[calls] == 1
    declined = -91 if fmt == "sav" else "a"  # a code that is not an answer: a labelled missing value
    assert row[name[HOW_MANY[:100]]] == declined and values[name[HOW_MANY[:100]]][declined] == "Declined"
    assert row["overall_level"] == (-90 if fmt == "sav" else "j")  # an unscored form, like an imported one

    if fmt == "dta":  # each labelled variable's value-label set: its name, then its count; fits and differs
        sets = list(meta.variable_to_label.items())
        assert [label for _variable, label in sets] == [f"{v}{n}" for n, (v, _label) in enumerate(sets)]
        assert all(len(label) <= STATA_NAME for _variable, label in sets)
        assert len({label.lower() for _variable, label in sets}) == len(sets)
    assert len(scene.ledger()) == 1  # delivered, so recorded


def test_value_label_set_names_fit_stata_and_differ_however_many_variables_there_are() -> None:
    # pyreadstat names a labelled variable's value-label set after it, followed by its count among them:
    # `q11` counted 2nd and `q1` counted 12th would both name `q112`. The later gives way.
    wanted = ["a", "b", "q11", *(f"x{n}_" for n in range(9)), "q1"]
    names = unique_names(wanted, [True] * len(wanted))
    assert names[2] == "q11" and names[-1] == "q1_2"
    sets = [f"{name}{n}" for n, name in enumerate(names)]
    assert len({s.lower() for s in sets}) == len(sets)
    # Past 10,000 labelled variables the count takes five digits: a long name is cut shorter there.
    many = unique_names([f"v{n}_" + "z" * 40 for n in range(10_001)], [True] * 10_001)
    assert len(many[9_999]) == MAX_NAME and len(many[10_000]) == STATA_NAME - 5
    assert all(len(f"{name}{n}") <= STATA_NAME for n, name in enumerate(many))
    assert len({name.lower() for name in many}) == len(many)
    # Without value labels the same name keeps its 28 characters.
    assert unique_names(["z" * 40]) == ["z" * MAX_NAME]


@pytest.mark.parametrize("fmt", ["dta", "sav"])
def test_a_file_that_cannot_be_written_is_an_error_with_a_message_and_is_not_in_the_ledger(
    scene: Scene, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise pyreadstat.ReadstatError("A provided name is too long for the file format")

    monkeypatch.setattr(pyreadstat, "write_dta" if fmt == "dta" else "write_sav", broken)
    events_before = exports_audited(scene)
    failed = client.get(query(scene, fmt), headers=bearer(client, scene.supervisor))
    assert failed.status_code == 500 and failed.json()["error"] == "export_failed"
    assert "could not be written" in failed.json()["message"] and "CSV" in failed.json()["message"]
    assert "content-disposition" not in failed.headers

    csrf = sign_in(client, scene.supervisor)
    form = {"csrf_token": csrf, "recipient": scene.b.id, "from": str(today()), "to": str(today()), "format": fmt}
    form |= {"purpose": "care_coordination", "categories": ["result_summary", "item_answers"]}
    page = client.post("/exports", data=form)
    assert page.status_code == 500 and "could not be written" in page.text
    assert "content-disposition" not in page.headers

    out = tmp_path / f"cli.{fmt}"
    args = ["export", "--recipient", scene.b.name, "--from", str(today()), "--to", str(today()), "--format", fmt]
    args += ["--categories", "result_summary,item_answers", "--as", scene.supervisor.email, "--out", str(out)]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 1 and "could not be written" in done.output and not out.exists()

    assert scene.ledger() == []  # nothing was delivered, so nothing is recorded as disclosed
    assert exports_audited(scene) == events_before  # the attempt's audit event went with its rollback
    monkeypatch.undo()
    assert client.get(query(scene, fmt), headers=bearer(client, scene.supervisor)).status_code == 200
    assert len(scene.ledger()) == 1  # the same export, once it can be written: delivered and recorded
