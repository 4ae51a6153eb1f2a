"""Exports for analysts (issue 12 §4): the CSV for Excel (byte-order mark, accents intact), a 0/1 column per
multiple-choice option, a codebook with types, values, ranges, logic, weights and special codes, and SPSS .sav
and Stata .dta files with variable and value labels that hold the CSV's rows and values."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app import i18n
from app.cli import cli
from app.exports import codebook, stats_files, tabular
from app.exports.variables import MISSING, unique_names
from app.models_sharing import Category
from instruments.loader import BUNDLED_DIR, Registry, load
from tests.app.conftest import World, bearer, sign_in
from tests.app.exports_support import ALL, HYPERLINK, MINI, MINI_YAML, Scene, make_scene, parse, today

ANALYST = "analyst-mini"
ANALYST_YAML = """
id: analyst-mini
version: {version}
title: {{en: Analyst mini, es: Mini de análisis}}
description: {{en: 'Written for the analyst export tests', es: 'Escrito para las pruebas de análisis'}}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance: {{validated: false, statement: {{en: Written for tests, es: Escrito para pruebas}}}}
modes: [practitioner, interview]
languages: [en, es]
default_language: en
sections:
  - {{id: only, title: {{en: Only, es: Única}}}}
domains:
  - id: work
    title: {{en: Work, es: Trabajo}}
    indicators:
      - {{id: work.where, text: {{en: Where they work, es: Dónde trabaja}}}}
items:
  - id: where
    section: only
    type: single_choice
    text: {{en: 'Where do you mostly work?', es: '¿Dónde trabajas sobre todo?'}}
    options:
      - {{code: street, label: {{en: On the street, es: En la calle}}, weight: 2}}
      - {{code: online, label: {{en: Online, es: En línea}}, weight: 1}}
      - {{code: home, label: {{en: At home, es: En casa}}, weight: 0}}
    indicates:
      - {{indicator: work.where, level: possible_concern, answers: [street]}}
  - id: channels
    section: only
    type: multiple_choice
    text: {{en: 'How were you first contacted?', es: '¿Cómo te contactaron primero?'}}
    options:
      - {{code: phone, label: {{en: By phone, es: Por teléfono}}, weight: 1}}
      - {{code: app, label: {{en: In an app, es: En una aplicación}}, weight: 2}}
{extra_option}
  - id: hours
    section: only
    type: number
    minimum: 0
    maximum: 80
    show_if: "where in ['street', 'online']"
    text: {{en: 'Hours a week?', es: '¿Horas por semana?'}}
  - {{id: since, section: only, type: date, text: {{en: 'Since when?', es: '¿Desde cuándo?'}}}}
  - {{id: employer, section: only, type: short_text, text: {{en: 'Who for?', es: '¿Para quién?'}}}}
scoring:
  total: {{of: "sum(weights)", label: {{en: Sum of weights, es: Suma de pesos}}}}
  domain:
    - {{level: possible_concern, when: "any(indicators, level='possible_concern')", explain: {{en: A, es: A}}}}
    - {{level: no_concern, explain: {{en: 'Nothing.', es: 'Nada.'}}}}
  overall:
    - {{level: possible_concern, when: "total() >= 2", explain: {{en: 'Two or more.', es: 'Dos o más.'}}}}
    - {{level: no_concern, explain: {{en: 'Nothing.', es: 'Nada.'}}}}
"""
SOCIAL = "      - {code: social, label: {en: '+ Social media', es: '+ Redes sociales'}}"  # added in 2.0.0
ONLINE = "Trabajo en línea, sí"  # Spanish text that Excel garbles without a byte-order mark
COLUMN = f"{ANALYST}.channels"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """The bundled instruments, the export tests' small one (its `employer` item too), and two versions of ours."""
    folder = tmp_path_factory.mktemp("analyst")
    (folder / "mini-1.yaml").write_text(MINI_YAML.format(version="1.0.0", extra="old_question"))
    (folder / "analyst-1.yaml").write_text(ANALYST_YAML.format(version="1.0.0", extra_option=""))
    (folder / "analyst-2.yaml").write_text(ANALYST_YAML.format(version="2.0.0", extra_option=SOCIAL))
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    return loaded


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    return make_scene(world, registry)


def screened(scene: Scene) -> dict[str, str]:
    """Five screenings of the person, by name: chosen options, none chosen, declined, unanswered, another
    instrument's; the first in version 1.0.0 (which does not offer 'social'), the others in 2.0.0."""
    answers: dict[str, tuple[dict[str, Any], str, str]] = {
        "chosen": (
            {"where": "online", "channels": ["phone"], "hours": 12, "since": "2024-02-29", "employer": ONLINE},
            ANALYST,
            "1.0.0",
        ),
        "none": ({"where": "street", "channels": [], "hours": 40, "employer": HYPERLINK}, ANALYST, "2.0.0"),
        "declined": ({"where": "home", "channels": "declined", "hours": "declined"}, ANALYST, "2.0.0"),
        "unanswered": ({"where": "declined"}, ANALYST, "2.0.0"),
        "other": ({"unpaid": "yes", "employer": "Acme"}, MINI, "1.0.0"),
    }
    ids = {name: scene.screen(a, instrument=i, version=v).id for name, (a, i, v) in answers.items()}
    scene.consent(*Category)
    return ids


def by_name(ids: dict[str, str], rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    named = {sid: name for name, sid in ids.items()}
    return {named[r["screening_id"]]: r for r in rows}


def book_of(scene: Scene, fmt: str = "csv") -> str:
    terms = (scene.b.id, today(), today(), ALL, "care_coordination")
    return tabular.codebook(scene.db, scene.registry, scene.supervisor, *terms, excel=fmt == "csv-excel")


def test_the_csv_for_excel_starts_with_a_byte_order_mark_and_keeps_its_accents(scene: Scene) -> None:
    ids = screened(scene)
    excel = scene.export("csv-excel").encode("utf-8")
    plain = scene.export("csv").encode("utf-8")
    assert excel.startswith(b"\xef\xbb\xbf") and not plain.startswith(b"\xef\xbb\xbf")
    assert excel[3:] == plain  # otherwise the same bytes: comma-separated, CRLF line ends
    assert plain.count(b"\r\n") == len(ids) + 1 and b"\n" not in plain.replace(b"\r\n", b"")
    rows = by_name(ids, parse(excel.decode("utf-8-sig")))
    assert rows["chosen"][f"{ANALYST}.employer"] == ONLINE
    assert "person_key" in parse(excel.decode("utf-8-sig"))[0]  # the first header is not "\ufeffperson_key"
    with i18n.rendering_in("es"):  # the codebook for Excel, in Spanish: an option label with an accent
        book = book_of(scene, "csv-excel").encode("utf-8")
    assert book.startswith(b"\xef\xbb\xbf") and not book_of(scene).startswith("\ufeff")
    where = next(e for e in parse(book.decode("utf-8-sig")) if e["column"] == f"{ANALYST}.where")
    assert "online=En línea" in where["values"]


def test_each_multiple_choice_option_has_a_0_1_column_blank_when_there_is_no_answer_to_count(scene: Scene) -> None:
    ids = screened(scene)
    text = scene.export()
    header = next(csv.reader(io.StringIO(text, newline="")))
    at = header.index(COLUMN)
    options = [f"{COLUMN}___{code}" for code in ("phone", "app", "social")]
    assert header[at + 1 : at + 4] == options  # right beside the joined cell, as REDCap names them
    rows = by_name(ids, parse(text))

    def cells(name: str) -> list[str]:
        return [rows[name][COLUMN], *(rows[name][o] for o in options)]

    assert cells("chosen") == ["phone", "1", "0", ""]  # 'social' was not offered in 1.0.0: blank, not 0
    assert cells("none") == ["", "0", "0", "0"]  # answered, nothing chosen: every option is a 0
    assert cells("declined") == ["declined", "", "", ""]  # a special answer is not a 'no'
    assert cells("unanswered") == ["unanswered", "", "", ""]
    assert cells("other") == ["not_in_instrument", "", "", ""]
    only_summary = parse(scene.export(categories=["result_summary"]))
    assert not any(name.startswith(f"{ANALYST}.") for name in only_summary[0])  # no answers, no option columns


def test_the_codebook_gives_type_values_range_logic_weights_special_codes_and_variable_names(scene: Scene) -> None:
    screened(scene)
    book = {e["column"]: e for e in parse(book_of(scene))}
    where, hours, since = (book[f"{ANALYST}.{item}"] for item in ("where", "hours", "since"))
    assert where["type"] == "single_choice" and hours["type"] == "number" and since["type"] == "date"
    assert {"street=On the street", "online=Online", "home=At home"} <= set(where["values"].split("; "))
    assert where["weights"] == "street=2; online=1; home=0"
    assert hours["range"] == "min=0; max=80; whole numbers" and where["range"] == ""
    assert hours["show_if"] == "where in ['street', 'online']" and where["show_if"] == ""
    for entry in (where, hours, since, book[COLUMN]):
        for code in ("declined", "not_enough_info", "not_asked", "unanswered", "not_shared", "not_in_instrument"):
            assert f"{code}=" in entry["special_codes"]
    app = book[f"{COLUMN}___app"]
    assert (app["kind"], app["type"], app["weights"]) == ("option", "0/1", "app=2")
    assert "blank" in app["values"] and "never a 0" in app["description"]
    assert "social=+ Social media" in book[COLUMN]["values"]
    assert book[COLUMN]["type"] == "multiple_choice" and book[COLUMN]["weights"] == "phone=1; app=2"
    # The .sav/.dta side: names, and the numbers codes take there.
    assert (where["variable"], book[f"{COLUMN}___app"]["variable"]) == ("where", "channels___app")
    assert book[f"{ANALYST}.employer"]["variable"] == "employer"
    assert book[f"{MINI}.employer"]["variable"] == "employer_2"  # the same item id in a later instrument
    assert where["stats_codes"].startswith("street=1; online=2; home=3; declined=-91 / .a")
    assert "no_concern=0; possible_concern=1; clear_concern=2" in book["overall_level"]["stats_codes"]
    assert "insufficient_information=-98 / .h" in book["overall_level"]["stats_codes"]
    notes = {e["column"]: e["description"] for e in book.values() if e["kind"] == "note"}
    assert "apostrophe" in notes["note.formula_guard"] and "___" in notes["note.one_hot"]
    cells = [value for e in parse(book_of(scene)) for value in e.values()]
    assert not any(value[:1] in ("=", "+", "-", "@") for value in cells)  # '+ Social media' is guarded too


def _stats_value(value: Any) -> Any:
    """A value read back from .sav or .dta, comparable with the CSV's cell."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_spss_and_stata_files_hold_the_csv_rows_with_variable_and_value_labels(
    scene: Scene, tmp_path: Path, fmt: str
) -> None:
    ids = screened(scene)
    rows = by_name(ids, parse(scene.export()))
    book = {e["column"]: e for e in parse(book_of(scene)) if e["kind"] != "note"}
    path = tmp_path / f"export.{fmt}"
    planned = tabular.prepare(scene.db, scene.registry, scene.supervisor, scene.b.id, today(), today(), ALL, "referral")
    assert tabular.write_file(scene.db, scene.keys, scene.registry, planned, "dta", tmp_path / "x.dta") == 0
    planned = tabular.prepare(
        scene.db, scene.registry, scene.supervisor, scene.b.id, today(), today(), ALL, "care_coordination"
    )
    assert tabular.write_file(scene.db, scene.keys, scene.registry, planned, fmt, path) == len(ids)
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = read(str(path), user_missing=True)
    # SPSS dates are seconds: a special code (-91 ...) in a date variable reads back as a day in 1582 unless raw.
    raw, _meta = read(str(path), user_missing=True, disable_datetime_conversion=True)
    assert list(frame.columns) == [e["variable"] for e in book.values()]
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", name) for name in frame.columns)
    labels, values = meta.column_names_to_labels, meta.variable_value_labels
    assert labels["where"] == "Where do you mostly work?" and labels["channels___app"].startswith("In an app")
    assert labels["overall_level"] and (labels["employer"], labels["employer_2"]) == (
        "Who for?",
        "Who do you work for?",
    )
    missing = {code: (float(n) if fmt == "sav" else letter) for code, (n, letter) in MISSING.items()}
    assert values["where"][2] == "Online" and values["where"][missing["declined"]] == "Declined"
    assert values["overall_level"][1] == "Possible concern"
    assert values["channels___phone"] == values["channels___social"] and values["channels___phone"][1] == "Chosen"
    numbers = {e["variable"]: dict(p.split("=", 1) for p in e["stats_codes"].split("; ") if p) for e in book.values()}
    by_screening = {sid: n for n, sid in enumerate(frame["screening_id"])}
    for name, sid in ids.items():
        read_back = frame.iloc[by_screening[sid]]
        for column, entry in book.items():
            variable, cell = entry["variable"], rows[name][column]
            got = _stats_value(read_back[variable])
            if entry["type"] == "date" and cell in MISSING:
                got = _stats_value(raw.iloc[by_screening[sid]][variable])
            code = numbers[variable]
            if cell in MISSING and entry["type"] not in ("text", "short_text", "multiple_choice"):
                assert got == (MISSING[cell][0] if fmt == "sav" else MISSING[cell][1]), (name, column)
            elif cell in code:  # levels and choices: the number the codebook gives, labelled with the code's words
                assert got == int(code[cell]), (name, column)
            elif entry["type"] == "datetime":
                assert got == datetime.fromisoformat(cell).replace(tzinfo=None, microsecond=0).isoformat(), (
                    name,
                    column,
                )
            elif cell == "" and entry["type"] == "0/1":  # blank in the CSV: the reason, as a missing value
                own = rows[name][column.partition("___")[0]]
                reason = own if own in MISSING else "not_asked_in_version"  # answered, option not offered
                assert got == (MISSING[reason][0] if fmt == "sav" else MISSING[reason][1]), (name, column)
            elif cell == "":
                assert got in (None, ""), (name, column)
            else:  # text, numbers, dates: as the CSV writes them
                assert str(got) == cell, (name, column)
    assert _stats_value(frame.iloc[by_screening[ids["none"]]]["employer"]) == "'" + HYPERLINK  # formula guard
    assert frame.iloc[by_screening[ids["chosen"]]]["employer"] == ONLINE


def test_the_ledger_records_the_excel_spss_and_stata_exports_like_the_others(scene: Scene, tmp_path: Path) -> None:
    ids = screened(scene)
    scene.export("csv-excel")
    planned = tabular.prepare(
        scene.db, scene.registry, scene.supervisor, scene.b.id, today(), today(), ALL, "care_coordination"
    )
    for fmt in ("sav", "dta"):
        tabular.write_file(scene.db, scene.keys, scene.registry, planned, fmt, tmp_path / f"x.{fmt}")
    entries = scene.ledger()
    for fmt in ("csv-excel", "sav", "dta"):
        sent = [e for e in entries if e.detail["format"] == fmt]
        assert sorted(e.screening_id or "" for e in sent) == sorted(ids.values()), fmt
        assert all(e.viewer_agency_id == scene.b.id and e.person_id == scene.youth.person_id for e in sent)


def test_the_api_page_and_cli_offer_the_new_formats(scene: Scene, client: TestClient, tmp_path: Path) -> None:
    client.app.state.registry = scene.registry  # type: ignore[attr-defined]
    ids = screened(scene)
    headers = bearer(client, scene.supervisor)
    query = f"/api/v1/exports?recipient={scene.b.id}&from={today()}&to={today()}&categories=result_summary,item_answers"
    excel = client.get(f"{query}&format=csv-excel", headers=headers)
    assert excel.status_code == 200 and excel.content.startswith(b"\xef\xbb\xbf")
    assert excel.headers["content-disposition"].endswith('.excel.csv"')
    plain = client.get(query, headers=headers)
    assert not plain.content.startswith(b"\xef\xbb\xbf") and "excel" not in plain.headers["content-disposition"]
    book = client.get(query.replace("/exports?", "/exports/codebook?") + "&format=csv-excel", headers=headers)
    assert book.content.startswith(b"\xef\xbb\xbf") and b"stats_codes" in book.content
    sav = client.get(f"{query}&format=sav", headers=headers)
    assert sav.status_code == 200 and sav.headers["content-type"] == "application/x-spss-sav"
    assert sav.headers["content-disposition"].endswith('.sav"')
    (tmp_path / "api.sav").write_bytes(sav.content)
    frame, _meta = pyreadstat.read_sav(str(tmp_path / "api.sav"))
    assert sorted(frame["screening_id"]) == sorted(ids.values())

    csrf = sign_in(client, scene.supervisor)
    page = client.get("/exports")
    assert all(f'value="{fmt}"' in page.text for fmt in ("csv-excel", "sav", "dta"))
    form = {"csrf_token": csrf, "recipient": scene.b.id, "from": str(today()), "to": str(today())}
    form |= {"purpose": "care_coordination", "categories": ["result_summary"]}
    dta = client.post("/exports", data={**form, "format": "dta"})
    assert dta.status_code == 200 and dta.headers["content-disposition"].endswith('.dta"')
    (tmp_path / "page.dta").write_bytes(dta.content)
    assert len(pyreadstat.read_dta(str(tmp_path / "page.dta"))[0]) == len(ids)

    out = tmp_path / "cli.dta"
    args = ["export", "--recipient", scene.b.name, "--from", str(today()), "--to", str(today()), "--format", "dta"]
    done = CliRunner().invoke(cli, [*args, "--as", scene.supervisor.email, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert len(pyreadstat.read_dta(str(out))[0]) == len(ids)
    assert (tmp_path / "cli.codebook.csv").read_text(encoding="utf-8").startswith("column,kind,description,codes")


def test_a_spss_or_stata_export_too_large_for_memory_is_refused_before_it_starts(
    scene: Scene, client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """By the API, the page and the command line alike; the CSV streams at any size."""
    client.app.state.registry = scene.registry  # type: ignore[attr-defined]
    screened(scene)
    monkeypatch.setattr(stats_files, "MAX_CELLS", 50)  # five screenings of dozens of columns
    headers = bearer(client, scene.supervisor)
    query = f"/api/v1/exports?recipient={scene.b.id}&from={today()}&to={today()}"
    refused = client.get(f"{query}&format=sav", headers=headers)
    assert refused.status_code == 400 and "too many for one SPSS or Stata file" in refused.json()["message"]

    csrf = sign_in(client, scene.supervisor)
    form = {"csrf_token": csrf, "recipient": scene.b.id, "from": str(today()), "to": str(today()), "format": "dta"}
    page = client.post("/exports", data={**form, "purpose": "care_coordination", "categories": ["result_summary"]})
    assert page.status_code == 400 and "too many for one SPSS or Stata file" in page.text
    assert "content-disposition" not in page.headers  # the form again, with the message: no download

    out = tmp_path / "cli.sav"
    args = ["export", "--recipient", scene.b.name, "--from", str(today()), "--to", str(today()), "--format", "sav"]
    done = CliRunner().invoke(cli, [*args, "--as", scene.supervisor.email, "--out", str(out)])
    assert done.exit_code == 1 and "too many for one SPSS or Stata file" in done.output
    assert not out.exists()

    assert scene.ledger() == []  # nothing of the refused files was read or recorded
    assert client.get(f"{query}&format=csv", headers=headers).status_code == 200  # the CSV streams at any size
    assert len(scene.ledger()) == 5  # the CSV's rows


def test_variable_names_are_valid_and_distinct_in_spss_and_stata() -> None:
    wanted = ["employer", "Employer", "in", "2nd_try", "a" * 40, "a" * 40, "x-y.z", "str12", "with"]
    names = unique_names(wanted)
    assert names[:2] == ["employer", "Employer_2"]  # SPSS ignores case
    assert names[2] == "in_2" and names[3] == "v2nd_try" and names[6] == "x_y_z" and names[7] == "str12_2"
    assert names[4] == "a" * 28 and names[5] == "a" * 26 + "_2"  # 28: see test_exports_stats_names.py
    assert len({n.lower() for n in names}) == len(names)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,27}", n) for n in names)


def test_the_codebook_has_one_entry_per_column_of_every_plan(scene: Scene) -> None:
    screened(scene)
    planned = tabular.prepare(
        scene.db, scene.registry, scene.supervisor, scene.b.id, today(), today(), ALL, "care_coordination"
    )
    rows = list(csv.reader(io.StringIO(codebook.codebook_csv(planned), newline="")))
    assert rows[0] == list(codebook.HEADER)
    assert [r[0] for r in rows[1:] if r[1] != "note"] == list(planned.columns)
    assert all(len(r) == len(codebook.HEADER) for r in rows)
    # The person key is not called irreversible for everyone: the recipient matches it to its own youth on import.
    [person] = [r for r in rows if r[0] == "person_key"]
    assert "already holds" in person[2] and "cannot be reversed" not in person[2]
    with i18n.rendering_in("es"):
        spanish = list(csv.reader(io.StringIO(codebook.codebook_csv(planned), newline="")))
    assert "jóvenes que esa agencia ya tiene" in next(r[2] for r in spanish if r[0] == "person_key")
